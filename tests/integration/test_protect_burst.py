#!/usr/bin/python3
"""Admission shapes bursts instead of refusing them (upstream protection, issue 7 test 1).

A node asks 10,000 names it has never seen, as fast as one client socket can send them, with the
shipped upstream_limits: the misses over qps/burst wait their turn in the admission queue and go
upstream as tokens come, so at least 99.9 % are answered NOERROR within 5 s, while dnsfault never
sees more than max_inflight queries in flight. With a small queue (100) in front of a slow upstream
(delay 500 ms), the overflow gets SERVFAIL + EDE 22 at once and no more than max_inflight + 100
are ever answered from the upstream: the queue never holds more than 100."""
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

BURST_NAMES = 10_000
DEFAULT_MAX_INFLIGHT = 256


class ColdBurstTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        exit_stack = contextlib.ExitStack()
        cls.addClassCleanup(exit_stack.close)
        cls.tmp = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="holdfast-burst-")))
        cls.nsd = exit_stack.enter_context(fs.Nsd(cls.tmp))

    def start(self, limits=None, rules: str = "pass") -> None:
        name = self._testMethodName
        self.fault = fs.FaultProxy(self.tmp, self.nsd.port, name=f"dnsfault-{name}").start()
        self.addCleanup(self.fault.stop)
        self.fault.set_rules(rules)
        self.port = h.free_port(("127.0.0.1",))
        corefile = fs.stale_corefile(self.port, self.fault.port, success="20000 30 1",
                                     limits=limits)
        self.daemon = fs.start_holdfast(self.tmp, corefile, self.port, name=f"holdfast-{name}")
        self.addCleanup(self.daemon.stop)

    def test_a_cold_burst_of_10000_names_is_answered_with_the_default_limits(self):
        self.start()  # no upstream_limits: the shipped defaults
        names = [h.wild_name(f"cold-{i}") for i in range(BURST_NAMES)]
        with fs.StatsSampler(self.fault, interval=0.005) as sampler:
            start = time.monotonic()
            replies, lost = fs.dnsperf_burst(self.port, names, self.tmp)
            elapsed = time.monotonic() - start
        noerror = [r for r in replies if r.rcode == "NOERROR"]
        latest = max(r.seconds for r in noerror)
        stats = self.fault.stats()
        print(f"\n  cold burst (dnsperf, 50k q/s): {len(noerror)} of {BURST_NAMES} NOERROR "
              f"({100 * len(noerror) / BURST_NAMES:.2f} %), {lost} lost, in {elapsed:.2f} s; "
              f"p50 {fs.percentile([r.seconds for r in noerror], 0.5) * 1000:.0f} ms, slowest "
              f"{latest:.2f} s; dnsfault in flight max {sampler.max_inflight}; "
              f"{stats['forwarded_upstream']} forwarded upstream", file=sys.stderr)
        self.assertGreaterEqual(len(noerror), BURST_NAMES * 999 // 1000,
                                {r.rcode for r in replies if r.rcode != "NOERROR"})
        self.assertLess(latest, 5.0)
        self.assertLessEqual(sampler.max_inflight, DEFAULT_MAX_INFLIGHT)
        self.assertGreater(sampler.samples, 50)
        self.assertLessEqual(stats["forwarded_upstream"], BURST_NAMES + 20,
                             "one upstream query per name (plus a few probes at most)")

    def test_a_full_queue_answers_the_overflow_at_once_and_never_holds_more_than_its_size(self):
        max_inflight, queue = 20, 100
        self.start(limits={"max_inflight": max_inflight, "queue": queue}, rules="delay 500")
        names = [h.wild_name(f"overflow-{i}") for i in range(1000)]
        with fs.StatsSampler(self.fault, interval=0.005) as sampler:
            burst = fs.dnsperf_burst(self.port, names, self.tmp, background=True)
            # While the queue is full, a client's new name is turned away at once, saying why.
            time.sleep(0.3)
            probe = fs.timed_sequential(self.port, [(h.wild_name("one-more"), "A")])[0]
            replies, lost = fs.parse_dnsperf(burst.communicate(timeout=60)[0])
        answered = [r for r in replies if r.rcode == "NOERROR"]
        rejected = [r for r in replies if r.rcode == "SERVFAIL"]
        at_once = [r for r in rejected if r.seconds < 0.1]
        print(f"\n  queue {queue}, max_inflight {max_inflight}, upstream delay 500 ms: "
              f"{len(answered)} NOERROR, {len(rejected)} SERVFAIL ({len(at_once)} within 100 ms), "
              f"{lost} lost; dnsfault in flight max {sampler.max_inflight}", file=sys.stderr)
        self.assertEqual(lost, 0, "every query is answered")
        self.assertEqual(len(answered) + len(rejected), len(names))
        # Only what was in flight or waiting in the queue can ever be answered from upstream.
        self.assertLessEqual(len(answered), max_inflight + queue)
        self.assertGreaterEqual(len(answered), max_inflight, "the queue let nothing through")
        self.assertGreaterEqual(len(at_once), len(names) - max_inflight - queue - 5)
        self.assertEqual(fs.rcode_text(probe), "SERVFAIL", str(probe.msg))
        self.assertEqual(fs.ede_codes(probe.msg), [fs.EDE_NO_REACHABLE])
        self.assertLess(probe.seconds, 0.1)
        self.assertLessEqual(sampler.max_inflight, max_inflight)
        full = fs.log_lines(self.daemon, "upstream queue full")
        self.assertEqual(len(full), 1, full)
        self.assertIn(f"({queue} waiting", full[0])
        self.assertTrue(fs.wait_for_log(self.daemon, "upstream queue drained", 5.0))


if __name__ == "__main__":
    h.main()
