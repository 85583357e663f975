#!/usr/bin/python3
"""Serve-stale (RFC 8767) through every kind of upstream outage: 1,000 names are cached, they
expire, the upstream breaks (dnsfault: blackhole, rcode SERVFAIL, rcode REFUSED,
refuse-connection, or dnsfault stopped so its port is closed), and every one of them is still
answered with its data, the stale TTL and EDE 3. Health is judged by transport alone: a
blackhole, refused connections or a closed port open the circuit (one `circuit open:` line in
the log), an upstream that answers SERVFAIL or REFUSED is alive and the circuit stays closed.
Once the circuit is open, stale answers go out at once and the upstream sees only the probe
budget (`probes` per `probe_interval`, defaults 2 per 1 s), not the clients' questions. One NSD
is shared; every test runs its own dnsfault and holdfast."""
import contextlib
import os
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.rcode  # noqa: E402

import faultstack as fs  # noqa: E402
import harness as h  # noqa: E402

ZONE_TTL = 1            # seconds; the cache keeps it (`success 9984 30 1`)
STALE_TTL = 7           # `serve_stale ... { ttl 7s }`: distinct from every TTL in the zone
EXPIRY_WAIT = 2.2       # past every TTL of the warm-up
PROBES = 2              # upstream_limits defaults: at most 2 probes per probe_interval
PROBE_INTERVAL = 1.0


class StaleOutageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        exit_stack = contextlib.ExitStack()
        cls.addClassCleanup(exit_stack.close)
        cls.tmp = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="holdfast-stale-")))
        cls.nsd = exit_stack.enter_context(fs.Nsd(cls.tmp, ttl=ZONE_TTL, negative_ttl=ZONE_TTL))
        cls.names = fs.all_services()

    def setUp(self):
        name = self._testMethodName
        self.fault = fs.FaultProxy(self.tmp, self.nsd.port, name=f"dnsfault-{name}").start()
        self.addCleanup(self.fault.stop)
        self.port = h.free_port(("127.0.0.1",))
        self.daemon = fs.start_holdfast(
            self.tmp, fs.stale_corefile(self.port, self.fault.port, stale_ttl=f"{STALE_TTL}s"),
            self.port, name=f"holdfast-{name}")
        self.addCleanup(self.daemon.stop)

    # --- helpers --------------------------------------------------------------------------------
    def warm_then_expire(self) -> None:
        replies = fs.ask_all(self.port, self.names, rate=fs.WARM_RATE)
        bad = [r for r in replies if r.rcode != dns.rcode.NOERROR]
        self.assertEqual(len(replies), len(self.names))
        self.assertEqual(bad, [], f"{len(bad)} names not warmed")
        time.sleep(EXPIRY_WAIT)  # the daemon's clock cannot be injected

    def assert_every_name_answered_stale(self, replies: list) -> None:
        self.assertEqual(len(replies), len(self.names))
        problems = []
        for r in replies:
            if r.msg is None:
                problems.append(f"{r.qname}: no answer")
            elif r.rcode != dns.rcode.NOERROR:
                problems.append(f"{r.qname}: {fs.rcode_text(r)} EDE {fs.ede_codes(r.msg)}")
            elif fs.rdatas(r.msg) != [fs.svc_address(r.qname)]:
                problems.append(f"{r.qname}: data {fs.rdatas(r.msg)}")
            elif [rrset.ttl for rrset in r.msg.answer] != [STALE_TTL]:
                problems.append(f"{r.qname}: TTL {[rrset.ttl for rrset in r.msg.answer]}")
            elif fs.ede_codes(r.msg) != [fs.EDE_STALE]:
                problems.append(f"{r.qname}: EDE {fs.ede_codes(r.msg)}")
        self.assertEqual(problems[:10], [], f"{len(problems)} of {len(replies)} not answered stale")

    def wait_for_open_circuit(self, timeout: float = 8.0) -> float:
        """Waits for the daemon's one `circuit open:` log line (the upstream has failed, or been
        silent, long enough); returns when it was seen (time.monotonic())."""
        self.assertTrue(fs.wait_for_log(self.daemon, fs.CIRCUIT_OPEN, timeout),
                        "the circuit never opened")
        return time.monotonic()

    def check_outage(self, rule: str, *, opens: bool) -> float:
        """Warm, expire, break the upstream with `rule`, check every name is answered stale and
        that the circuit opened (a transport failure) or stayed closed (an upstream that answers,
        whatever its rcode, is alive); returns when the upstream broke (time.monotonic())."""
        self.warm_then_expire()
        self.fault.set_rules(rule)
        began = time.monotonic()
        self.assert_every_name_answered_stale(fs.ask_all(self.port, self.names))
        if opens:
            self.wait_for_open_circuit()
        else:
            self.assertEqual(fs.log_lines(self.daemon, fs.CIRCUIT_OPEN), [],
                             f"an upstream answering ({rule}) was taken for a dead one")
        return began

    # --- one kind of outage each ------------------------------------------------------------------
    def test_blackholed_upstream_every_expired_name_is_answered_stale_with_ede_3(self):
        self.check_outage("blackhole", opens=True)
        r = h.dig("127.0.0.1", self.port, h.svc_name(7, 7), "A")
        self.assertEqual(r.status, "NOERROR", str(r))
        self.assertIn("; EDE: 3 (Stale Answer)", r.stdout, str(r))
        self.assertEqual([(a.rdata, a.ttl) for a in r.answer], [(h.svc_ipv4(7, 7), STALE_TTL)])

    def test_once_the_circuit_is_open_stale_answers_come_back_within_10_ms(self):
        self.check_outage("blackhole", opens=True)
        received = self.fault.stats()["queries_received"]
        began = time.monotonic()
        replies = fs.timed_sequential(self.port, self.names)
        elapsed = time.monotonic() - began
        upstream = self.fault.stats()["queries_received"] - received
        self.assert_every_name_answered_stale(replies)
        ms = [r.seconds * 1000 for r in replies]
        p50, p99 = fs.percentile(ms, 0.50), fs.percentile(ms, 0.99)
        slow = sum(1 for t in ms if t >= 10.0)
        print(f"\n  circuit open: stale p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {max(ms):.2f} ms, "
              f"{slow} of {len(ms)} names >= 10 ms; {upstream} queries reached the upstream in "
              f"those {elapsed:.2f} s", file=sys.stderr)
        self.assertLess(p99, 10.0)
        # The clients' questions stay home: only probes go out, `probes` per probe_interval.
        self.assertLessEqual(upstream, PROBES * (int(elapsed / PROBE_INTERVAL) + 1))
        self.assertEqual(len(fs.log_lines(self.daemon, fs.CIRCUIT_OPEN)), 1)
        self.assertEqual(fs.log_lines(self.daemon, fs.CIRCUIT_CLOSED), [],
                         "the circuit closed while the upstream was still blackholed")

    def test_upstream_answering_servfail_every_expired_name_is_answered_stale(self):
        self.check_outage("rcode SERVFAIL", opens=False)

    def test_upstream_answering_refused_every_expired_name_is_answered_stale(self):
        self.check_outage("rcode REFUSED", opens=False)

    def test_upstream_refusing_connections_every_expired_name_is_answered_stale(self):
        if os.geteuid() != 0:
            self.skipTest("dnsfault's ICMP port-unreachable needs a raw socket (root)")
        self.check_outage("refuse-connection", opens=True)
        self.assertGreater(self.fault.stats()["icmp_sent"], 0)

    def test_upstream_port_closed_every_expired_name_is_answered_stale(self):
        self.warm_then_expire()
        self.fault.stop()  # nothing listens on the upstream port any more
        self.assert_every_name_answered_stale(fs.ask_all(self.port, self.names))
        self.wait_for_open_circuit()


if __name__ == "__main__":
    h.main()
