#!/usr/bin/python3
"""Every dnsfault action through the proxy, with a real upstream (NSD) and real clients (dig,
kdig; dnspython for the statistical ones): pass, blackhole, refuse-connection, delay, rcode,
nodata, truncate, loss, burst-loss, ttl, garble, and the match options."""
import math
import os
import re
import socket
import statistics
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import dns.message  # noqa: E402
import dns.rcode  # noqa: E402

import fault_fixtures as ff  # noqa: E402
from fault_fixtures import h  # noqa: E402

HOST = "127.0.0.1"
NS1 = h.svc_name(1, 1)   # svc-1.ns-1.svc.cluster.local.
NS2 = h.svc_name(1, 2)   # svc-1.ns-2.svc.cluster.local.


def query_time_ms(result: h.DigResult) -> float:
    """The round trip as dig ("Query time: 801 msec") or kdig ("... in 801.3 ms") reports it."""
    m = re.search(r"Query time: (\d+) msec", result.stdout) or \
        re.search(r";; From .* in ([\d.]+) ms", result.stdout)
    assert m, str(result)
    return float(m.group(1))


def blast(port: int, count: int, *, spacing: float = 0.002, wait: float = 1.5,
          first_id: int = 1000) -> set[int]:
    """Sends `count` queries (IDs first_id..) over one UDP socket, in order, then collects answers
    for `wait` seconds. Returns the IDs answered. Bounded in count and time."""
    answered: set[int] = set()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((HOST, port))
        s.setblocking(False)
        for i in range(count):
            s.send(h.make_query(h.svc_name(i % 100, 3), "A", qid=first_id + i).to_wire())
            time.sleep(spacing)
            # Read as we go: answers left waiting would overflow the socket's receive buffer.
            while True:
                try:
                    answered.add(h.header(s.recv(4096))["id"])
                except BlockingIOError:
                    break
        s.settimeout(0.05)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and len(answered) < count:
            try:
                answered.add(h.header(s.recv(4096))["id"])
            except socket.timeout:
                continue
    return answered


class ActionsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = ff.temp_dir(cls, "dnsfault-actions-")
        cls.nsd = h.Nsd(cls.tmp).start()
        cls.addClassCleanup(cls.nsd.stop)
        cls.proxy = ff.FaultProxy(cls.tmp, cls.nsd.port, seed=1234).start()
        cls.addClassCleanup(cls.proxy.stop)
        cls.port = cls.proxy.port

    def setUp(self):
        self.proxy.set_rules("pass")

    def dig(self, name, rdtype="A", *opts):
        return h.dig(HOST, self.port, name, rdtype, *opts)

    def test_pass_answers_like_the_upstream(self):
        r = self.dig(NS1)
        self.assertEqual(r.status, "NOERROR", str(r))
        self.assertEqual([a.rdata for a in r.answer], [h.svc_ipv4(1, 1)])
        r = h.kdig(HOST, self.port, h.srv_name(2, 2), "SRV", "+tcp")
        self.assertEqual(r.status, "NOERROR", str(r))
        self.assertEqual([a.rdata for a in r.answer], [f"0 100 80 {h.svc_name(2, 2)}"])

    def test_blackhole_times_out_over_udp_and_tcp(self):
        self.proxy.set_rules("blackhole")
        before = self.proxy.stats()
        start = time.monotonic()
        r = h.dig(HOST, self.port, NS1, "A", "+time=1")
        self.assertIsNone(r.status, str(r))
        self.assertIn("timed out", r.stdout + r.stderr)
        self.assertGreaterEqual(time.monotonic() - start, 0.9)
        r = h.kdig(HOST, self.port, NS1, "A", "+tcp", "+time=1")
        self.assertIsNone(r.status, str(r))
        after = self.proxy.stats()
        self.assertEqual(after["actions"]["blackhole"] - before["actions"]["blackhole"], 2)
        self.assertEqual(after["forwarded_upstream"], before["forwarded_upstream"])

    def test_refuse_connection_is_an_icmp_error_over_udp_and_a_reset_over_tcp(self):
        if os.geteuid() != 0:
            self.skipTest("the ICMP error needs a raw socket (root or CAP_NET_RAW)")
        self.proxy.set_rules("refuse-connection")
        start = time.monotonic()
        r = self.dig(NS1)
        self.assertIn("connection refused", r.stdout + r.stderr, str(r))
        self.assertLess(time.monotonic() - start, 1.5)  # at once, not after a timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((HOST, self.port))
            s.settimeout(2)
            s.send(h.make_query(NS1, "A").to_wire())
            with self.assertRaises(ConnectionRefusedError):
                s.recv(512)
        with self.assertRaises((ConnectionResetError, ConnectionError)):
            h.tcp(HOST, self.port, NS1, "A", timeout=2)
        self.assertGreaterEqual(self.proxy.stats()["icmp_sent"], 2)

    def test_delay_adds_the_configured_latency(self):
        self.proxy.set_rules("delay 800 200")
        times = [query_time_ms(self.dig(NS2)) for _ in range(5)]
        for t in times:
            self.assertGreaterEqual(t, 600 - 20, times)
            self.assertLessEqual(t, 1000 + 60, times)
        self.proxy.set_rules("delay 300")
        tcp_times = [query_time_ms(h.kdig(HOST, self.port, NS2, "A", "+tcp")) for _ in range(3)]
        for t in tcp_times:
            self.assertGreaterEqual(t, 300 - 5, tcp_times)
            self.assertLessEqual(t, 300 + 60, tcp_times)
        print(f"\n  delay 800 200 via dig: {times} ms; delay 300 via kdig +tcp: {tcp_times} ms",
              file=sys.stderr)

    def test_rcode_injection_hits_matching_names_only(self):
        for rcode in ("SERVFAIL", "REFUSED", "NXDOMAIN", "FORMERR", "NOTIMP"):
            with self.subTest(rcode=rcode):
                r = self.proxy.ctl("set", "rcode", rcode, "--match", "*.ns-1.svc.cluster.local")
                self.assertEqual(r.returncode, 0, r.stderr)
                hit = self.dig(NS1)
                self.assertEqual(hit.status, rcode, str(hit))
                self.assertEqual(hit.answer, [])
                miss = self.dig(NS2)
                self.assertEqual(miss.status, "NOERROR", str(miss))
                self.assertEqual([a.rdata for a in miss.answer], [h.svc_ipv4(1, 2)])
        r = h.kdig(HOST, self.port, NS1, "A", "+tcp")
        self.assertEqual(r.status, "NOTIMPL", str(r))  # kdig's name for NOTIMP, over TCP too

    def test_nodata_is_an_empty_noerror(self):
        self.proxy.set_rules("nodata --qtype AAAA")
        r = self.dig(h.svc_name(0, 1), "AAAA")
        self.assertEqual(r.status, "NOERROR", str(r))
        self.assertEqual(r.answer, [])
        self.assertEqual(self.dig(h.svc_name(0, 1), "A").answer[0].rdata, h.svc_ipv4(0, 1))

    def test_truncate_sets_tc_and_the_retry_over_tcp_succeeds(self):
        self.proxy.set_rules("truncate")
        before = self.proxy.stats()
        r = self.dig(NS1, "A", "+ignore")
        self.assertIn("tc", r.flags, str(r))
        self.assertEqual(r.answer, [])
        r = self.dig(NS1)
        self.assertIn("Truncated, retrying in TCP mode", r.stdout, str(r))
        self.assertEqual(r.status, "NOERROR", str(r))
        self.assertEqual([a.rdata for a in r.answer], [h.svc_ipv4(1, 1)])
        after = self.proxy.stats()
        self.assertEqual(after["actions"]["truncate"] - before["actions"]["truncate"], 2)
        self.assertEqual(after["queries_received_tcp"] - before["queries_received_tcp"], 1)

    def test_ttl_rewrites_every_ttl_of_passing_answers(self):
        self.proxy.set_rules("ttl 7")
        r = self.dig(NS1)
        self.assertEqual([a.ttl for a in r.answer + r.authority], [7] * (len(r.answer) + len(r.authority)))
        self.assertTrue(r.answer)
        r = h.kdig(HOST, self.port, NS1, "A", "+tcp")
        self.assertEqual([a.ttl for a in r.answer], [7])

    def test_garble_spoils_id_question_or_length(self):
        q = h.make_query(NS1, "A", qid=0x4242)
        self.proxy.set_rules("garble id")
        reply = h.raw_udp(HOST, self.port, q.to_wire())
        self.assertIsNotNone(reply)
        self.assertNotEqual(h.header(reply)["id"], 0x4242)
        self.proxy.set_rules("garble question")
        reply = h.raw_udp(HOST, self.port, q.to_wire())
        self.assertEqual(h.header(reply)["id"], 0x4242)
        self.assertNotEqual(h.question_wire(reply).lower(), h.question_wire(q.to_wire()).lower())
        self.proxy.set_rules("garble short")
        reply = h.raw_udp(HOST, self.port, q.to_wire())
        with self.assertRaises(Exception):
            dns.message.from_wire(reply)
        # dig notices each one and says why.
        for mode, complaint in (("id", "ID mismatch"), ("question", "Question section mismatch"),
                                ("short", "malformed")):
            self.proxy.set_rules(f"garble {mode}")
            r = self.dig(NS1, "A", "+time=1")
            self.assertIn(complaint, r.stdout + r.stderr, str(r))

    def test_loss_at_50_percent_over_400_queries_is_within_bounds_and_seeded(self):
        self.proxy.set_rules("loss 50")
        answered = blast(self.port, 400)
        lost = 400 - len(answered)
        # Binomial(400, 0.5): mean 200, sigma 10; 4 sigma either way.
        self.assertGreaterEqual(lost, 160, lost)
        self.assertLessEqual(lost, 240, lost)
        # The same seed and the same query order lose the same queries.
        with ff.FaultProxy(self.tmp, self.nsd.port, seed=99, name="seeded-a") as a:
            a.set_rules("loss 50")
            first = blast(a.port, 200)
        with ff.FaultProxy(self.tmp, self.nsd.port, seed=99, name="seeded-b") as b:
            b.set_rules("loss 50")
            second = blast(b.port, 200)
        self.assertEqual(first, second)
        print(f"\n  loss 50 over 400 queries (seed 1234): {lost} lost ({lost / 4:.1f} %)", file=sys.stderr)

    def test_burst_loss_follows_the_gilbert_elliott_parameters(self):
        self.proxy.set_rules("burst-loss 10 30")  # mean loss 10/(10+30) = 25 %, bursts of ~3.3
        count = 1200
        answered = blast(self.port, count, spacing=0.001, first_id=5000)
        lost_ids = [i for i in range(5000, 5000 + count) if i not in answered]
        loss = len(lost_ids) / count
        bursts = sum(1 for i in lost_ids if i - 1 not in lost_ids)
        self.assertGreater(loss, 0.15, loss)
        self.assertLess(loss, 0.35, loss)
        self.assertGreater(len(lost_ids) / bursts, 2.0)  # clustered, unlike independent 25 % loss (1.33)
        print(f"\n  burst-loss 10 30: {loss * 100:.1f} % lost, mean burst {len(lost_ids) / bursts:.2f}",
              file=sys.stderr)

    def test_match_by_qtype_transport_and_probability(self):
        self.proxy.set_rules("rcode REFUSED --transport tcp; rcode NXDOMAIN --qtype AAAA")
        self.assertEqual(self.dig(NS1).status, "NOERROR")
        self.assertEqual(self.dig(NS1, "A", "+tcp").status, "REFUSED")
        self.assertEqual(self.dig(h.svc_name(0, 1), "AAAA").status, "NXDOMAIN")
        self.proxy.set_rules("rcode SERVFAIL --probability 0.3")
        rcodes = [h.udp(HOST, self.port, NS2, "A").rcode() for _ in range(300)]
        servfail = rcodes.count(dns.rcode.SERVFAIL)
        self.assertLess(abs(servfail - 90), 4 * math.sqrt(300 * 0.3 * 0.7), servfail)
        self.assertEqual(servfail + rcodes.count(dns.rcode.NOERROR), 300)

    def test_malformed_and_invalid_packets_are_counted_and_survived(self):
        before = self.proxy.stats()
        h.raw_udp(HOST, self.port, b"\x00\x01\x02", timeout=0.3)             # no header: dropped
        response = h.make_query(NS1, "A").to_wire()
        response = response[:2] + bytes([response[2] | 0x80]) + response[3:]
        h.raw_udp(HOST, self.port, response, timeout=0.3)                    # a response: dropped
        bad = h.make_query(NS1, "A").to_wire()[:-3]                          # cut: passed through
        reply = h.raw_udp(HOST, self.port, bad, timeout=2)
        self.assertIsNotNone(reply)
        self.assertEqual(h.header(reply)["rcode"], dns.rcode.FORMERR)
        after = self.proxy.stats()
        self.assertEqual(after["dropped_invalid"] - before["dropped_invalid"], 2)
        self.assertEqual(after["unparseable"] - before["unparseable"], 1)
        self.assertEqual(self.dig(NS1).status, "NOERROR")


if __name__ == "__main__":
    h.main()
