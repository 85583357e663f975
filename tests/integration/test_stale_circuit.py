#!/usr/bin/python3
"""The circuit breaker through a long outage: once max_fails flights have failed, the upstream
gets one probe per recheck interval and nothing else, and stale answers go out at once, for as
long as the upstream stays down (here 6 recheck intervals of 5 s, blackholed: every probe times
out after 2 s). 300 names are asked continuously. The open period and the probe spacing are both
jittered (±20 %); the circuit must not close, letting every stale name through at once, before a
probe has succeeded."""
import collections
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

RECHECK_SECONDS = 5
OUTAGE_SECONDS = 32
OPENED_BY = 3.5  # seconds into the outage: the first flights time out at 2 s (max_fails 2)
NAMES = fs.all_services()[:300]


class StaleCircuitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        exit_stack = contextlib.ExitStack()
        cls.addClassCleanup(exit_stack.close)
        cls.tmp = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="holdfast-stale-")))
        cls.nsd = exit_stack.enter_context(fs.Nsd(cls.tmp, ttl=30))
        cls.fault = exit_stack.enter_context(fs.FaultProxy(cls.tmp, cls.nsd.port))
        cls.port = h.free_port(("127.0.0.1",))
        cls.daemon = exit_stack.enter_context(fs.start_holdfast(
            cls.tmp, fs.stale_corefile(cls.port, cls.fault.port, recheck=f"{RECHECK_SECONDS}s",
                                       max_fails=2), cls.port))

    def test_a_long_outage_sends_one_probe_per_recheck_and_stale_answers_stay_immediate(self):
        self.fault.set_rules("ttl 1")
        warm = fs.ask_all(self.port, NAMES, rate=fs.WARM_RATE)
        self.assertEqual([r.qname for r in warm if r.rcode != dns.rcode.NOERROR], [])
        time.sleep(2.2)
        with fs.ContinuousAsker(self.port, NAMES, 300) as asker:
            self.fault.set_rules("blackhole")
            outage = time.monotonic()
            received = [self.fault.stats()["queries_received"]]
            for second in range(1, OUTAGE_SECONDS + 1):
                time.sleep(max(0.0, outage + second - time.monotonic()))
                received.append(self.fault.stats()["queries_received"])
        per_second = [b - a for a, b in zip(received, received[1:])]
        opened = asker.seen(since=outage + OPENED_BY)
        waited = collections.Counter(int(s.at - outage) for s in opened if s.seconds > 0.1)
        print(f"\n  long outage: upstream queries per second {per_second}; stale answers that "
              f"waited > 100 ms, by second: {dict(sorted(waited.items()))}", file=sys.stderr)
        self.assertTrue(opened and all(s.ede == [fs.EDE_STALE] for s in opened))
        after_open = per_second[int(OPENED_BY):]
        self.assertLessEqual(max(after_open), 2, f"more than a probe went upstream: {per_second}")
        self.assertLessEqual(sum(after_open), OUTAGE_SECONDS // (RECHECK_SECONDS * 0.8) + 1,
                             f"more than one probe per recheck: {per_second}")
        self.assertEqual(sum(waited.values()), 0, "stale answers waited for the upstream while "
                                                  f"the circuit should have been open: {waited}")


if __name__ == "__main__":
    h.main()
