#!/usr/bin/python3
"""Recovery after an outage (RFC 8767 with a circuit breaker): 300 names are cached and expire,
the upstream is blackholed under continuous load until the circuit opens (the `circuit open:` log
line), then comes back. The next timed probe (every probe_interval, 1 s ±20 %) finds it and closes
the circuit; from then on every name a client asks is refreshed on demand (verify mode: the client
waits for the fresh answer), so every name is fresh (full TTL, no EDE) within about one
probe_interval of the restore, with one upstream query per name and never more than
`upstream_limits { qps }` in any second as dnsfault counts them; the circuit closes once and
stays closed (one `circuit open:` and one `circuit closed:` line per outage). Names that were
served stale during the outage and that nobody asks again are refreshed in the background,
spread over `recheck`. One NSD (TTL 30) is shared; dnsfault gives the warm-up answers a TTL of 1 s (`ttl 1`)
so they expire at once, and the answers after recovery are told apart by their TTL. Every test
runs its own dnsfault and holdfast."""
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
PROBE_INTERVAL = 1.0   # upstream_limits { probe_interval }: timed probes every 1 s ±20 %
PROBES = 2
NAMES = fs.all_services()[:300]
ASK_RATE = 900  # every name three times a second
# Recovery on demand: the first timed probe after the restore (at most probe_interval × 1.2
# later) closes the circuit, and every name is asked again within 1/3 s.
FRESH_WITHIN = PROBE_INTERVAL * 1.2 + 1.0
# The upstream as it comes back, with its answer to the health check (`. IN NS`, which NSD
# refuses anyway: it is not authoritative for the root) given by dnsfault itself, so that
# dnsfault's forwarded count is the refreshes alone and the probes show up as `rcode` actions.
RESTORED = "rcode REFUSED --qtype NS"


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
        limits = {"qps": qps, "burst": qps, "probe_interval": f"{int(PROBE_INTERVAL * 1000)}ms",
                  "probes": PROBES}
        corefile = fs.stale_corefile(self.port, self.fault.port, recheck=f"{RECHECK_SECONDS}s",
                                     max_fails=2, limits=limits)
        self.daemon = fs.start_holdfast(self.tmp, corefile, self.port, name=f"holdfast-{name}")
        self.addCleanup(self.daemon.stop)

    def warm(self) -> None:
        """Caches every name with a 1 s TTL at qps (misses over the limit wait in the admission
        queue; any that still fail are asked again), then lets them expire."""
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

    def blackhole_until_open(self, asker: fs.ContinuousAsker, outage: float,
                             stay_open: float) -> float:
        """With the upstream blackholed since `outage` and the asker started after that, waits for
        the `circuit open:` line and keeps the circuit open for `stay_open` seconds, checking that
        every answer was stale and, once open, immediate. Returns when the opening was seen
        (time.monotonic())."""
        self.assertTrue(fs.wait_for_log(self.daemon, fs.CIRCUIT_OPEN, 5.0), "the circuit never opened")
        opened = time.monotonic()
        time.sleep(stay_open)
        during = asker.seen(since=outage)
        self.assertTrue(during, "no replies during the outage")
        not_stale = [(s.qname, dns.rcode.to_text(s.rcode), s.ede, s.ttl) for s in during
                     if s.ede != [fs.EDE_STALE]]
        self.assertEqual(not_stale[:5], [], f"{len(not_stale)} answers during the outage not stale")
        self.assertLess(max(s.seconds for s in asker.seen(since=opened + 0.05)), 0.1,
                        "the circuit is open: stale answers at once")
        return opened

    def outage_then_recovery(self, restored_rules: str, settle_seconds: float):
        """Blackholes the upstream, asks continuously until the circuit has been open for 1.5
        probe intervals, restores the upstream (`restored_rules`), waits for the `circuit closed:`
        line and watches for `settle_seconds` after it. Returns (asker, restore time, close time
        (when its line was seen), queries forwarded upstream since the restore)."""
        self.warm()
        self.fault.set_rules("blackhole")
        outage = time.monotonic()
        with fs.ContinuousAsker(self.port, NAMES, ASK_RATE) as asker:
            self.blackhole_until_open(asker, outage, 1.5 * PROBE_INTERVAL)
            forwarded = self.fault.stats()["forwarded_upstream"]  # none pass the blackhole
            restored = time.monotonic()
            self.fault.set_rules(restored_rules)
            self.assertTrue(fs.wait_for_log(self.daemon, fs.CIRCUIT_CLOSED, PROBE_INTERVAL * 1.2 + 1),
                            "no probe closed the circuit after the restore")
            closed = time.monotonic()
            time.sleep(settle_seconds)
        forwarded = self.fault.stats()["forwarded_upstream"] - forwarded
        return asker, restored, closed, forwarded

    def first_fresh(self, asker: fs.ContinuousAsker, since: float) -> dict[str, float]:
        fresh: dict[str, float] = {}
        for s in asker.seen(since):
            if is_fresh(s):
                fresh.setdefault(s.qname, s.at)
        return fresh

    def test_every_stale_name_is_fresh_again_about_one_probe_interval_after_the_restore(self):
        self.start(qps=2000)
        # Watch past the background refreshes' recheck window: none may ask a name again.
        asker, restored, closed, forwarded = self.outage_then_recovery(RESTORED, RECHECK_SECONDS + 0.5)
        fresh = self.first_fresh(asker, restored)
        late = [q for q, _ in NAMES if q not in fresh]
        self.assertEqual(late[:5], [], f"{len(late)} names never fresh again")
        last = max(fresh.values())
        rate = fs.upstream_rate_since(self.fault, restored)
        print(f"\n  recovery: circuit closed {closed - restored:.2f} s after the restore; every name "
              f"fresh {last - restored:.2f} s after the restore; {forwarded} queries upstream for "
              f"{len(NAMES)} names, per second since the restore {[n for _, n in rate]}, and "
              f"{self.fault.stats()['actions']['rcode']} probes answered", file=sys.stderr)
        self.assertLessEqual(last - restored, FRESH_WITHIN)
        # One upstream query per name, none repeated by a background refresh of a name a client
        # has already refreshed, none lost.
        self.assertEqual(forwarded, len(NAMES), rate)

    def test_the_circuit_closes_once_when_the_upstream_returns_and_stays_closed(self):
        self.start(qps=2000)
        self.outage_then_recovery("pass", PROBE_INTERVAL * 2 + 0.5)
        opened = fs.log_lines(self.daemon, fs.CIRCUIT_OPEN)
        closed = fs.log_lines(self.daemon, fs.CIRCUIT_CLOSED)
        print(f"\n  circuit lines: {len(opened)} open, {len(closed)} closed", file=sys.stderr)
        # One outage: one line each. The upstream answers everything after the restore, so
        # nothing it failed to answer before (queries sent into the blackhole, timing out now)
        # may open the circuit again.
        self.assertEqual((len(opened), len(closed)), (1, 1), "\n".join(opened + closed))

    def test_refreshes_after_the_outage_never_exceed_qps_in_any_second(self):
        self.start(qps=50)
        # 300 refreshes at 50 qps take 6 s at best. Every query counts here, probes too.
        asker, restored, closed, forwarded = self.outage_then_recovery("pass", len(NAMES) / 50 + 2)
        rate = fs.upstream_rate_since(self.fault, restored)
        fresh = self.first_fresh(asker, restored)
        last = max(fresh.values()) if fresh else float("nan")
        print(f"\n  recovery at qps 50: upstream per second since the restore "
              f"{[n for _, n in rate]} ({forwarded} in all); {len(fresh)} of {len(NAMES)} names "
              f"fresh, the last {last - closed:.2f} s after the circuit closed", file=sys.stderr)
        self.assertLessEqual(max(n for _, n in rate), 50, rate)
        self.assertEqual(len(fresh), len(NAMES), "every name must be refreshed in the end")

    def test_stale_names_nobody_asks_again_are_refreshed_in_the_background_over_recheck(self):
        self.start(qps=2000)
        self.warm()
        self.fault.set_rules("blackhole")
        outage = time.monotonic()
        with fs.ContinuousAsker(self.port, NAMES, ASK_RATE) as asker:
            # Open long enough that the flights sent before the opening have timed out (2 s) and
            # every name has been served stale since.
            opened = self.blackhole_until_open(asker, outage, 2.8)
        stale_while_open = {s.qname for s in asker.seen(since=opened + 2.1)}
        self.assertEqual(len(stale_while_open), len(NAMES))
        with fs.StatsSampler(self.fault) as sampler:
            forwarded = self.fault.stats()["forwarded_upstream"]
            restored = time.monotonic()
            self.fault.set_rules(RESTORED)
            self.assertTrue(fs.wait_for_log(self.daemon, fs.CIRCUIT_CLOSED, PROBE_INTERVAL * 1.2 + 1),
                            "no probe closed the circuit")
            closed = time.monotonic()
            time.sleep(RECHECK_SECONDS + 0.5)
        forwarded = self.fault.stats()["forwarded_upstream"] - forwarded
        rate = fs.upstream_rate_since(self.fault, restored)
        # When the sampler last saw dnsfault forward a query.
        last = max(at for (_, before), (at, after) in zip(sampler.forwarded, sampler.forwarded[1:])
                   if after > before)
        print(f"\n  background refresh: circuit closed {closed - restored:.2f} s after the restore; "
              f"{forwarded} queries upstream for {len(NAMES)} names, per second since the restore "
              f"{[n for _, n in rate]}, the last {last - closed:.2f} s after the closing",
              file=sys.stderr)
        # Every name once, spread over recheck: not all in one second, the last neither before
        # half of recheck nor after it.
        self.assertEqual(forwarded, len(NAMES))
        self.assertLess(max(n for _, n in rate), len(NAMES) * 0.6, rate)
        self.assertGreater(last - closed, RECHECK_SECONDS * 0.5)
        self.assertLess(last - closed, RECHECK_SECONDS + 0.3)
        # Now fresh in the cache: answered at once without asking the upstream.
        before = self.fault.stats()["forwarded_upstream"]
        replies = fs.timed_sequential(self.port, NAMES)
        stale = [r.qname for r in replies if r.rcode != dns.rcode.NOERROR or fs.ede_codes(r.msg)
                 or r.msg.answer[0].ttl <= ZONE_TTL - RECHECK_SECONDS - 3]
        self.assertEqual(stale[:5], [], f"{len(stale)} names not refreshed in the background")
        self.assertEqual(self.fault.stats()["forwarded_upstream"], before)


if __name__ == "__main__":
    h.main()
