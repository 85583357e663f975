#!/usr/bin/python3
"""upstream_limits under a flood of misses: 5,000 distinct uncached names at 2,500 queries a
second, against an upstream slowed to 400 ms by dnsfault (below the 2 s attempt timeout), with
`max_inflight 100` and `queue 100`. What dnsfault holds in flight never exceeds max_inflight; a
miss over the limit waits its turn in the FIFO admission queue and is answered; only the misses
that find the queue full too get SERVFAIL with EDE 22, at once; the log says once per saturation
that the queue is full (`upstream queue full (100 waiting`) and when it has drained; holdfast's
memory stays bounded. One NSD is shared; every test runs its own dnsfault and holdfast."""
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

MAX_INFLIGHT = 100
QUEUE = 100
UPSTREAM_DELAY_MS = 400
FLOOD_RATE = 2500
RSS_BOUND_KIB = 200 * 1024


def flood_names(test_index: int) -> list[tuple[str, str]]:
    """5,000 names nobody has asked before (NXDOMAIN upstream), distinct per test."""
    return [(f"flood-{test_index}-{i}.ns-{i % 10}.svc.cluster.local.", "A") for i in range(5000)]


class UpstreamLimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        exit_stack = contextlib.ExitStack()
        cls.addClassCleanup(exit_stack.close)
        cls.tmp = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="holdfast-stale-")))
        cls.nsd = exit_stack.enter_context(fs.Nsd(cls.tmp))

    def setUp(self):
        name = self._testMethodName
        self.fault = fs.FaultProxy(self.tmp, self.nsd.port, name=f"dnsfault-{name}").start()
        self.addCleanup(self.fault.stop)
        self.fault.set_rules(f"delay {UPSTREAM_DELAY_MS}")
        self.port = h.free_port(("127.0.0.1",))
        corefile = fs.stale_corefile(
            self.port, self.fault.port,
            limits={"max_inflight": MAX_INFLIGHT, "queue": QUEUE, "qps": 100_000, "burst": 100_000})
        self.daemon = fs.start_holdfast(self.tmp, corefile, self.port, name=f"holdfast-{name}")
        self.addCleanup(self.daemon.stop)

    def flood(self, test_index: int) -> list[fs.Reply]:
        return fs.ask_all(self.port, flood_names(test_index), rate=FLOOD_RATE, window=2000,
                          timeout=4.0)

    def test_upstream_queries_in_flight_never_exceed_max_inflight(self):
        with fs.StatsSampler(self.fault, interval=0.005) as sampler:
            replies = self.flood(1)
            time.sleep(UPSTREAM_DELAY_MS / 1000 + 0.2)
        stats = self.fault.stats()
        answered = sum(1 for r in replies if r.rcode == dns.rcode.NXDOMAIN)
        limited = [r for r in replies if r.rcode == dns.rcode.SERVFAIL]
        print(f"\n  flood: max in flight at dnsfault {sampler.max_inflight} (limit {MAX_INFLIGHT}, "
              f"{sampler.samples} samples); {answered} answered, {len(limited)} SERVFAIL, "
              f"{sum(1 for r in replies if r.msg is None)} unanswered; "
              f"{stats['forwarded_upstream']} forwarded upstream", file=sys.stderr)
        self.assertGreater(sampler.samples, 100)
        self.assertLessEqual(sampler.max_inflight, MAX_INFLIGHT)
        self.assertGreaterEqual(sampler.max_inflight, MAX_INFLIGHT // 2, "the limit was never reached")
        self.assertEqual(stats["inflight_full"], 0)
        self.assertEqual(sum(1 for r in replies if r.msg is None), 0, "every query gets an answer")
        # At least what fits in flight and in the queue at the start is answered, not refused.
        self.assertGreaterEqual(answered, MAX_INFLIGHT + QUEUE)
        self.assertEqual(answered + len(limited), len(replies))

    def test_misses_over_max_inflight_queue_and_only_a_full_queue_gets_servfail_ede_22_at_once(self):
        replies = self.flood(2)
        limited = [r for r in replies if r.rcode == dns.rcode.SERVFAIL]
        answered = [r for r in replies if r.rcode == dns.rcode.NXDOMAIN]
        waits = sorted(r.seconds for r in answered)
        queued = sum(1 for t in waits if t > UPSTREAM_DELAY_MS / 1000 + 0.1)
        slow = [r.seconds for r in limited if r.seconds > 0.1]
        print(f"\n  flood with queue {QUEUE}: {len(answered)} answered ({queued} of them after "
              f"waiting in the queue; p50 {fs.percentile(waits, 0.5):.2f} s, max {waits[-1]:.2f} s), "
              f"{len(limited)} SERVFAIL ({len(slow)} slower than 100 ms); log: "
              f"{fs.log_lines(self.daemon, 'upstream queue')}", file=sys.stderr)
        # Every query answered: NXDOMAIN from the upstream, or SERVFAIL + EDE 22 for the overflow.
        self.assertEqual(len(answered) + len(limited), len(replies))
        self.assertEqual(len(replies), 5000)
        # The overflow beyond max_inflight + queue is most of the flood (the upstream does 250/s).
        self.assertGreater(len(limited), len(replies) // 2)
        self.assertEqual({tuple(fs.ede_codes(r.msg)) for r in limited}, {(fs.EDE_NO_REACHABLE,)})
        # ... and it is refused at once, not after a wait in the queue.
        self.assertLessEqual(len(slow), len(limited) // 100, f"{len(slow)} of {len(limited)} waited")
        # Misses over max_inflight waited in the queue and were answered, within queue_wait (3 s).
        self.assertGreaterEqual(len(answered), MAX_INFLIGHT + QUEUE)
        self.assertGreaterEqual(queued, QUEUE, "no miss waited in the queue")
        self.assertLess(waits[-1], 3.0 + UPSTREAM_DELAY_MS / 1000 + 0.2)
        # One log line per saturation, and each is followed by one saying the queue drained.
        self.assertTrue(fs.wait_for_log(self.daemon, "upstream queue drained", 5.0),
                        fs.log_lines(self.daemon, "upstream queue"))
        full = fs.log_lines(self.daemon, f"upstream queue full ({QUEUE} waiting")
        drained = fs.log_lines(self.daemon, "upstream queue drained")
        self.assertGreaterEqual(len(full), 1)
        self.assertEqual(len(full), len(drained), full + drained)
        self.assertLess(len(full), 50, "a log line per rejected miss, not per saturation")

    def test_holdfast_memory_stays_bounded_under_the_flood(self):
        before = fs.rss_kib(self.daemon.pid)
        replies = self.flood(3)
        time.sleep(UPSTREAM_DELAY_MS / 1000 + 0.2)
        after = fs.rss_kib(self.daemon.pid)
        print(f"\n  RSS of holdfast: {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB after "
              f"{len(replies)} queries", file=sys.stderr)
        self.assertTrue(self.daemon.process.running())
        self.assertLess(after, RSS_BOUND_KIB)


if __name__ == "__main__":
    h.main()
