#!/usr/bin/python3
"""Fresh again within seconds of an outage, without a herd (upstream protection, issue 7 test 4).

10,000 names are cached with a 1 s TTL and expire; clients ask them round-robin at 2,000 q/s
(every name every 5 s) while the upstream is blackholed (stale answers) and after it returns.
Once a probe finds the upstream back, each stale name is refreshed as a client asks it (one
flight per name, under qps), so at least 99 % of the answers are fresh within 5 s of the return,
and no second sends the upstream more than qps (the default, 5,000) — the peak is about the
clients' own rate, not the number of stale names."""
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

ZONE_TTL = 30
DEFAULT_QPS = 5000
NAMES = [(h.wild_name(f"rec-{i}"), "A") for i in range(10_000)]
ASK_RATE = 2000
OUTAGE_SECONDS = 8
WATCH_SECONDS = 8


def is_fresh(seen: fs.Seen) -> bool:
    """An answer from data the upstream gave after its return: no EDE (stale answers carry EDE 3
    and the stale TTL, 7 s) and a TTL from the zone's 30 s, aged by at most the watch."""
    return (seen.rcode == dns.rcode.NOERROR and seen.ede == [] and seen.ttl is not None
            and seen.ttl > ZONE_TTL - WATCH_SECONDS - 2)


class RecoveryFreshnessTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        exit_stack = contextlib.ExitStack()
        cls.addClassCleanup(exit_stack.close)
        cls.tmp = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="holdfast-rec-")))
        cls.nsd = exit_stack.enter_context(fs.Nsd(cls.tmp, ttl=ZONE_TTL))
        cls.fault = exit_stack.enter_context(fs.FaultProxy(cls.tmp, cls.nsd.port))
        cls.port = h.free_port(("127.0.0.1",))
        cls.daemon = exit_stack.enter_context(fs.start_holdfast(
            cls.tmp, fs.stale_corefile(cls.port, cls.fault.port, success="20000 30 1"), cls.port))

    def test_after_an_outage_99_percent_of_answers_are_fresh_within_5_s_and_no_second_exceeds_qps(self):
        self.fault.set_rules("ttl 1")
        warm = fs.ask_all(self.port, NAMES, window=500, timeout=5.0)
        self.assertEqual(sum(1 for r in warm if r.rcode != dns.rcode.NOERROR), 0)
        time.sleep(2.2)
        with fs.ContinuousAsker(self.port, NAMES, ASK_RATE, forget_after=5.0) as asker:
            self.fault.set_rules("blackhole")
            time.sleep(OUTAGE_SECONDS)
            restored = time.monotonic()
            self.fault.set_rules("pass")
            time.sleep(WATCH_SECONDS)
        during = asker.seen(since=restored - OUTAGE_SECONDS + 1)
        during = [s for s in during if s.at < restored]
        after = asker.seen(since=restored)
        # Fresh share of the answers, per half second since the return.
        bins: dict[int, list[bool]] = {}
        for s in after:
            bins.setdefault(int((s.at - restored) * 2), []).append(is_fresh(s))
        share = [sum(b) / len(b) for _, b in sorted(bins.items())]
        fresh_from = next((i / 2 for i in range(len(share))
                           if all(x >= 0.99 for x in share[i:])), None)
        rate = fs.upstream_rate_since(self.fault, restored)
        print(f"\n  recovery, 10,000 names at {ASK_RATE} q/s: fresh share per 0.5 s since the return "
              f"{[round(x, 3) for x in share]}; >= 99 % fresh from {fresh_from} s on; upstream "
              f"per second since the return {[n for _, n in rate]}; {asker.sent} asked, "
              f"{len(asker.seen())} answered", file=sys.stderr)
        self.assertTrue(during and all(s.ede == [fs.EDE_STALE] for s in during[len(during) // 2:]),
                        "answers during the outage are stale")
        self.assertIsNotNone(fresh_from)
        self.assertLessEqual(fresh_from, 5.0)
        self.assertLessEqual(max(n for _, n in rate), DEFAULT_QPS, rate)
        self.assertGreaterEqual(len(asker.seen()), asker.sent * 0.99, "answers were lost")


if __name__ == "__main__":
    h.main()
