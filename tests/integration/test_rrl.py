#!/usr/bin/python3
"""Response rate limiting (`rrl`, the CoreDNS plugin's syntax) against a hostile client: one
client prefix (127.0.1.0/24) floods one name while a legitimate client from another prefix
(127.0.2.0/24) keeps asking at a human rate. The legitimate client gets every answer; the hostile
one gets its allowance, then drops and, every slip-ratio-th limited response, an empty reply with
TC=1; the TCP retry of a slipped query is answered (TCP is never limited). Under report-only
nothing is limited, only counted. The figures measured are printed."""
import os
import select
import socket
import sys
import threading
import time
import unittest
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402

import harness as h  # noqa: E402

QNAME = h.svc_name(5, 1)
HOSTILE = "127.0.1.9"
LEGITIMATE = "127.0.2.9"
HOSTILE_TCP_TEST = "127.0.3.9"  # its own prefix: accounts outlive a test by `window`
ALLOWANCE = 20       # responses-per-second
SLIP_RATIO = 2
FLOOD_RATE = 1000    # queries a second from the hostile prefix
FLOOD_SECONDS = 3.0
LEGIT_RATE = 10      # queries a second from the legitimate prefix, half the allowance


def rrl_corefile(port: int, up: int, metrics: int, report_only: bool) -> str:
    return (f"cluster.local:{port} {{\n    bind 127.0.0.1\n    forward . 127.0.0.1:{up}\n"
            f"    cache 30\n    prometheus 127.0.0.1:{metrics}\n"
            "    rrl {\n"
            f"        responses-per-second {ALLOWANCE}\n"
            f"        slip-ratio {SLIP_RATIO}\n"
            "        window 2\n"
            + ("        report-only\n" if report_only else "") +
            "    }\n}\n")


class Flood:
    """Sends `count` queries for QNAME from `source` at `rate` a second on one UDP socket and
    records every reply: answered (answers, TC=0), slipped (TC=1, no answers)."""

    def __init__(self, source: str, port: int, rate: float, seconds: float):
        self.source, self.port, self.rate = source, port, rate
        self.count = int(rate * seconds)
        self.answered = self.slipped = self.other = 0
        self.malformed_slips = 0  # a slip must carry the question and the client's EDNS
        self.slipped_ids: list[int] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "Flood":
        self.thread.start()
        return self

    def join(self) -> None:
        self.thread.join()

    @property
    def dropped(self) -> int:
        return self.count - self.answered - self.slipped - self.other

    def _read(self, sock: socket.socket) -> None:
        while True:
            try:
                reply = dns.message.from_wire(sock.recv(4096))
            except BlockingIOError:
                return
            if reply.flags & dns.flags.TC and not reply.answer:
                self.slipped += 1
                self.slipped_ids.append(reply.id)
                if (len(reply.question) != 1 or str(reply.question[0].name) != QNAME
                        or reply.authority or reply.edns != 0):
                    self.malformed_slips += 1
            elif reply.rcode() == dns.rcode.NOERROR and reply.answer:
                self.answered += 1
            else:
                self.other += 1

    def _run(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
            s.bind((self.source, 0))
            s.setblocking(False)
            start = time.monotonic()
            for i in range(self.count):
                delay = start + i / self.rate - time.monotonic()
                if delay > 0:
                    select.select([s], [], [], delay)
                self._read(s)
                s.sendto(h.make_query(QNAME, qid=i % 65536).to_wire(), ("127.0.0.1", self.port))
            end = time.monotonic() + 1.0  # late replies
            while time.monotonic() < end:
                select.select([s], [], [], 0.05)
                self._read(s)


def ask_steadily(source: str, port: int, rate: float, seconds: float) -> tuple[int, int]:
    """(asked, answered): one query for QNAME at a time from `source`, `rate` a second, each
    waiting up to 1 s for its answer."""
    asked = answered = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        s.settimeout(1.0)
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            asked += 1
            s.sendto(h.make_query(QNAME, qid=asked).to_wire(), ("127.0.0.1", port))
            try:
                reply = dns.message.from_wire(s.recv(4096))
                if (reply.id == asked and reply.rcode() == dns.rcode.NOERROR and reply.answer
                        and not reply.flags & dns.flags.TC):
                    answered += 1
            except socket.timeout:
                pass
            time.sleep(max(0.0, start + asked / rate - time.monotonic()))
    return asked, answered


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


class RrlBase(unittest.TestCase):
    REPORT_ONLY = False

    @classmethod
    def setUpClass(cls):
        cls.metrics = h.free_port(("127.0.0.1",))
        cls.stack = h.Stack(make_corefile=lambda port, up: rrl_corefile(
            port, up, cls.metrics, cls.REPORT_ONLY))
        cls.stack.start()
        cls.addClassCleanup(cls.stack.close)
        # The name is cached before the flood: what is measured is the limiter, not the upstream.
        assert dns.query.udp(h.make_query(QNAME), "127.0.0.1", port=cls.stack.port,
                             timeout=2).answer

    def flood_with_a_legitimate_client(self) -> tuple[Flood, int, int]:
        flood = Flood(HOSTILE, self.stack.port, FLOOD_RATE, FLOOD_SECONDS).start()
        asked, answered = ask_steadily(LEGITIMATE, self.stack.port, LEGIT_RATE, FLOOD_SECONDS)
        flood.join()
        mode = "report-only" if self.REPORT_ONLY else "enforcing"
        print(f"\n  rrl {mode} ({ALLOWANCE}/s, slip-ratio {SLIP_RATIO}, window 2): legitimate "
              f"{LEGITIMATE} {answered}/{asked} answered ({100.0 * answered / asked:.1f} %); "
              f"hostile {HOSTILE} sent {flood.count}: {flood.answered} answered, "
              f"{flood.slipped} slipped (TC=1), {flood.dropped} dropped, {flood.other} other",
              file=sys.stderr)
        return flood, asked, answered


class RrlTest(RrlBase):
    def test_the_flooding_prefix_is_limited_and_the_other_prefix_is_not(self):
        before = scrape(self.metrics)
        flood, asked, answered = self.flood_with_a_legitimate_client()
        self.assertEqual(answered, asked)
        self.assertEqual(flood.other, 0)
        self.assertEqual(flood.malformed_slips, 0)
        # The first second's allowance, a little of the next as the credit trickles back, then
        # nothing but slips and drops while the flood lasts.
        self.assertGreaterEqual(flood.answered, ALLOWANCE)
        self.assertLess(flood.answered, 3 * ALLOWANCE)
        limited = flood.count - flood.answered
        self.assertAlmostEqual(flood.slipped, limited / SLIP_RATIO, delta=limited * 0.05)
        self.assertAlmostEqual(flood.dropped, limited - limited / SLIP_RATIO, delta=limited * 0.05)
        text = scrape(self.metrics)

        def grew(name: str, **labels) -> float:
            return h.sample(text, name, **labels) - h.sample(before, name, **labels)

        dropped = grew("holdfast_rrl_responses_limited_total", action="dropped")
        slipped = grew("holdfast_rrl_responses_limited_total", action="slipped")
        self.assertEqual(slipped, flood.slipped)
        self.assertEqual(dropped, flood.dropped)
        self.assertEqual(grew("coredns_rrl_responses_exceeded_total"), dropped + slipped)
        self.assertEqual(grew("holdfast_rrl_responses_limited_total", action="reported"), 0)

    def test_a_slipped_query_retried_over_tcp_is_answered(self):
        flood = Flood(HOSTILE_TCP_TEST, self.stack.port, FLOOD_RATE, 0.5).start()
        flood.join()
        self.assertGreater(flood.slipped, 0)
        # The same question from the same (limited) address, as a stub resolver retries on TC=1.
        reply = dns.query.tcp(h.make_query(QNAME), "127.0.0.1", port=self.stack.port, timeout=2,
                              source=HOSTILE_TCP_TEST)
        self.assertEqual(reply.rcode(), dns.rcode.NOERROR)
        self.assertFalse(reply.flags & dns.flags.TC)
        self.assertTrue(reply.answer)
        # While UDP from that prefix is still limited.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((HOSTILE_TCP_TEST, 0))
            s.settimeout(0.5)
            limited = 0
            for qid in range(4):
                s.sendto(h.make_query(QNAME, qid=qid).to_wire(), ("127.0.0.1", self.stack.port))
                try:
                    msg = dns.message.from_wire(s.recv(4096))
                    limited += 1 if msg.flags & dns.flags.TC else 0
                except socket.timeout:
                    limited += 1
            self.assertEqual(limited, 4)


class RrlReportOnlyTest(RrlBase):
    REPORT_ONLY = True

    def test_report_only_answers_everything_and_counts_what_it_would_limit(self):
        flood, asked, answered = self.flood_with_a_legitimate_client()
        self.assertEqual(answered, asked)
        self.assertEqual(flood.slipped, 0)
        self.assertGreater(flood.answered, flood.count * 0.95)
        text = scrape(self.metrics)
        reported = h.sample(text, "holdfast_rrl_responses_limited_total", action="reported")
        self.assertGreater(reported, flood.count * 0.9)
        self.assertEqual(h.sample(text, "holdfast_rrl_responses_limited_total", action="dropped"),
                         0)


if __name__ == "__main__":
    h.main()
