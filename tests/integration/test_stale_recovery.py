#!/usr/bin/python3
"""Recovery after an outage (RFC 8767 with a circuit breaker): 300 names are asked continuously
while the upstream is blackholed until the circuit opens, then the upstream comes back. The first
probe closes the circuit; refreshes of the stale names are spread over `recheck` and bounded by
`upstream_limits { qps }` as dnsfault counts them, and every name is fresh again (full TTL, no
EDE) within recheck + 1 s of the probe. One NSD (TTL 30) is shared; dnsfault gives the warm-up
answers a TTL of 1 s (`ttl 1`) so they expire at once, and the answers after recovery are told
apart by their TTL. Every test runs its own dnsfault and holdfast."""
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
RECHECK_SECONDS = 3
NAMES = fs.all_services()[:300]
ASK_RATE = 900  # every name three times a second


def is_fresh(seen: fs.Seen) -> bool:
    return (seen.rcode == dns.rcode.NOERROR and seen.ede == [] and seen.ttl is not None
            and seen.ttl > ZONE_TTL - 5)


class StaleRecoveryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        exit_stack = contextlib.ExitStack()
        cls.addClassCleanup(exit_stack.close)
        cls.tmp = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="holdfast-stale-")))
        cls.nsd = exit_stack.enter_context(fs.Nsd(cls.tmp, ttl=ZONE_TTL))

    def start(self, qps: int) -> None:
        name = self._testMethodName
        self.qps = qps
        self.fault = fs.FaultProxy(self.tmp, self.nsd.port, name=f"dnsfault-{name}").start()
        self.addCleanup(self.fault.stop)
        self.port = h.free_port(("127.0.0.1",))
        corefile = fs.stale_corefile(self.port, self.fault.port, recheck=f"{RECHECK_SECONDS}s",
                                     max_fails=2, limits={"qps": qps, "burst": qps})
        self.daemon = fs.start_holdfast(self.tmp, corefile, self.port, name=f"holdfast-{name}")
        self.addCleanup(self.daemon.stop)

    def warm(self) -> None:
        """Caches every name with a 1 s TTL, a second's worth of qps at a time (misses over the
        limit get SERVFAIL and are asked again), then lets them expire."""
        self.fault.set_rules("ttl 1")
        missing = list(NAMES)
        deadline = time.monotonic() + len(NAMES) / self.qps + 10
        while missing and time.monotonic() < deadline:
            replies = fs.ask_all(self.port, missing, rate=self.qps)
            missing = [(r.qname, r.rdtype) for r in replies if r.rcode != dns.rcode.NOERROR]
            if missing:
                time.sleep(0.5)
        self.assertEqual(missing, [], "not every name could be warmed")
        time.sleep(2.2)

    def outage_then_recovery(self, settle_seconds: float):
        """Blackholes the upstream under continuous load until the circuit is open, restores it,
        and watches for `settle_seconds` after the first probe. Returns (asker, probe time,
        restore time)."""
        self.warm()
        with fs.StatsSampler(self.fault) as sampler, \
                fs.ContinuousAsker(self.port, NAMES, ASK_RATE) as asker:
            self.fault.set_rules("blackhole")
            outage = time.monotonic()
            # Verify-mode flights time out after 2 s; max_fails 2 of them open the circuit, and
            # the first probe goes out recheck (±20 %) later: restore the upstream in between.
            time.sleep(3.0)
            open_replies = asker.seen(since=outage + 2.5)
            self.assertTrue(open_replies, "no replies during the outage")
            self.assertTrue(all(s.ede == [fs.EDE_STALE] for s in open_replies),
                            "every answer during the outage must be stale")
            self.assertLess(max(s.seconds for s in asker.seen(since=outage + 2.6)), 0.1,
                            "the circuit should be open: stale answers at once")
            restored = time.monotonic()
            self.fault.set_rules("pass")
            self.assertTrue(h.wait_until(lambda: sampler.first_forward_after(restored) is not None,
                                         RECHECK_SECONDS * 1.2 + 2), "no probe after the outage")
            probe = sampler.first_forward_after(restored)
            time.sleep(max(0.0, probe + settle_seconds - time.monotonic()))
        return asker, probe, restored

    def first_fresh(self, asker: fs.ContinuousAsker, since: float) -> dict[str, float]:
        fresh: dict[str, float] = {}
        for s in asker.seen(since):
            if is_fresh(s):
                fresh.setdefault(s.qname, s.at)
        return fresh

    def test_every_stale_name_is_fresh_again_within_recheck_plus_1_s_of_the_probe(self):
        self.start(qps=2000)
        asker, probe, restored = self.outage_then_recovery(RECHECK_SECONDS + 1.5)
        fresh = self.first_fresh(asker, restored)
        late = [q for q, _ in NAMES if q not in fresh]
        self.assertEqual(late[:5], [], f"{len(late)} names never fresh again")
        last = max(fresh.values())
        rate = fs.upstream_rate_since(self.fault, restored)
        print(f"\n  recovery: probe {probe - restored:.2f} s after the restore; every name fresh "
              f"{last - probe:.2f} s after the probe ({last - restored:.2f} s after the restore); "
              f"upstream per second since the restore {[n for _, n in rate]}", file=sys.stderr)
        self.assertLessEqual(last - probe, RECHECK_SECONDS + 1.0)
        # Spread over recheck, not all at once: no second carries most of the refreshes.
        self.assertLess(max(n for _, n in rate), len(NAMES) * 0.6, rate)

    def test_refreshes_after_the_outage_never_exceed_qps_in_any_second(self):
        self.start(qps=50)
        # 300 refreshes at 50 qps take 6 s at best.
        asker, probe, restored = self.outage_then_recovery(len(NAMES) / 50 + 2.5)
        rate = fs.upstream_rate_since(self.fault, restored)
        fresh = self.first_fresh(asker, restored)
        last = max(fresh.values()) if fresh else float("nan")
        print(f"\n  recovery at qps 50: upstream per second since the restore "
              f"{[n for _, n in rate]}; {len(fresh)} of {len(NAMES)} names fresh, the last "
              f"{last - probe:.2f} s after the probe", file=sys.stderr)
        self.assertLessEqual(max(n for _, n in rate), 50, rate)
        self.assertEqual(len(fresh), len(NAMES), "every name must be refreshed in the end")


if __name__ == "__main__":
    h.main()
