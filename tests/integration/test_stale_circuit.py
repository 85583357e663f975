#!/usr/bin/python3
"""The circuit breaker through a long outage: the upstream is blackholed for 20 s (every query
into it times out after its 2 s attempt) while 300 cached, expired names are asked continuously
and 20 new names a second (misses: nothing to serve) are asked too. Once the circuit opens (one
`circuit open:` log line), the upstream sees only the probe budget: timed `. IN NS` health checks
every probe_interval (1 s ±20 %) and misses used as probes, together at most `probes` (2) per
probe_interval, each slot held for probe_interval whatever its probe's fate; probing never stops;
the circuit does not close before an answer has come. Stale answers stay immediate; a miss gets
SERVFAIL + EDE 22 after at most probe_interval in the queue plus, if it went out as a probe, the
probe timeout (probe_interval, at least 1 s, at most the 2 s attempt). When the upstream passes
again, the next probe closes the circuit (a `circuit closed:` line).

dnsfault counts per second only what it forwards, and a blackhole forwards nothing, so a thread
polls its `queries_received` counter every 10 ms: each query reached dnsfault between two polls.
The budget is checked as it is defined — no `probes` + 1 queries within less than probe_interval —
with each query placed where it favours the daemon within its polling bracket, less 20 ms for
the daemon's millisecond clock and loopback delivery. A per-second tally would wrongly count a
slot that turns over at a second boundary twice in one second; it is printed, not asserted."""
import collections
import contextlib
import os
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.rcode  # noqa: E402

import faultstack as fs  # noqa: E402
import harness as h  # noqa: E402

PROBE_INTERVAL = 1.0
PROBES = 2
ATTEMPT_TIMEOUT = 2.0    # one upstream attempt
PROBE_TIMEOUT = min(ATTEMPT_TIMEOUT, max(PROBE_INTERVAL, 1.0))  # one probe's attempt
OUTAGE_SECONDS = 20
SLACK = 0.02             # the daemon's ms clock and loopback delivery, in the daemon's favour
NAMES = fs.all_services()[:300]
MISSES = [(h.wild_name(f"miss-{i}"), "A") for i in range(1000)]  # never cached: always misses
MISS_RATE = 20


class ArrivalSampler:
    """Polls a FaultProxy's `queries_received` from a thread of its own; arrivals() gives, for
    every query counted, the bracket (earliest, latest) of time.monotonic() in which it arrived.
    Use as a context manager."""

    def __init__(self, proxy: fs.FaultProxy, interval: float = 0.01):
        self.proxy = proxy
        self.interval = interval
        self.polls: list[tuple[float, float, int]] = []  # (asked at, answered at, count)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            asked = time.monotonic()
            try:
                count = int(self.proxy.stats()["queries_received"])
            except Exception:
                count = None
            if count is not None:
                self.polls.append((asked, time.monotonic(), count))
            self._stop.wait(self.interval)

    def arrivals(self, since: float, until: float) -> list[tuple[float, float]]:
        """The brackets of the queries that certainly arrived within [since, until]."""
        out = []
        for (asked0, _, n0), (_, got1, n1) in zip(self.polls, self.polls[1:]):
            # Not yet counted when poll 0 read the counter, counted when poll 1 read it.
            if asked0 >= since and got1 <= until:
                out += [(asked0, got1)] * (n1 - n0)
        return out

    def __enter__(self) -> "ArrivalSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)


class StaleCircuitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        exit_stack = contextlib.ExitStack()
        cls.addClassCleanup(exit_stack.close)
        cls.tmp = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="holdfast-stale-")))
        cls.nsd = exit_stack.enter_context(fs.Nsd(cls.tmp, ttl=30))
        cls.fault = exit_stack.enter_context(fs.FaultProxy(cls.tmp, cls.nsd.port))
        cls.port = h.free_port(("127.0.0.1",))
        limits = {"probe_interval": f"{int(PROBE_INTERVAL * 1000)}ms", "probes": PROBES}
        cls.daemon = exit_stack.enter_context(fs.start_holdfast(
            cls.tmp, fs.stale_corefile(cls.port, cls.fault.port, max_fails=2, limits=limits),
            cls.port))

    def test_a_long_outage_costs_the_upstream_only_the_probe_budget_and_stale_stays_immediate(self):
        self.fault.set_rules("ttl 1")
        warm = fs.ask_all(self.port, NAMES, rate=fs.WARM_RATE)
        self.assertEqual([r.qname for r in warm if r.rcode != dns.rcode.NOERROR], [])
        time.sleep(2.2)
        with ArrivalSampler(self.fault) as sampler:
            self.fault.set_rules("blackhole")
            outage = time.monotonic()
            with fs.ContinuousAsker(self.port, NAMES, 300) as asker, \
                    fs.ContinuousAsker(self.port, MISSES, MISS_RATE) as misser:
                self.assertTrue(fs.wait_for_log(self.daemon, fs.CIRCUIT_OPEN, 5.0),
                                "the circuit never opened")
                opened = time.monotonic() + 0.05  # past the flights sent before the opening
                time.sleep(max(0.0, outage + OUTAGE_SECONDS - time.monotonic()))
                ended = time.monotonic()
                closed_during_outage = fs.log_lines(self.daemon, fs.CIRCUIT_CLOSED)
            restored = time.monotonic()
            self.fault.set_rules("pass")
            closed = fs.wait_for_log(self.daemon, fs.CIRCUIT_CLOSED, PROBE_INTERVAL * 1.2 + 1.0)
            closed_after = time.monotonic() - restored
        arrivals = sampler.arrivals(opened, ended)
        # How close together the queries came, taking each where it favours the daemon.
        tight = [(round(arrivals[j][0] - outage, 3), round(arrivals[j + PROBES][1] - outage, 3))
                 for j in range(len(arrivals) - PROBES)
                 if arrivals[j + PROBES][1] - arrivals[j][0] < PROBE_INTERVAL - SLACK]
        gaps = [later[0] - earlier[1] for earlier, later in zip(arrivals, arrivals[1:])]
        per_second = collections.Counter(int((lo + hi) / 2 - outage) for lo, hi in arrivals)
        stale = asker.seen(since=opened)
        waited = collections.Counter(int(s.at - outage) for s in stale if s.seconds > 0.1)
        misses = [s for s in misser.seen(since=opened) if s.at - s.seconds >= opened + 0.1]
        # Answered after more than probe_interval: waited in the queue, then went out as a probe.
        late = [s for s in misses if s.seconds > PROBE_INTERVAL + 0.25]
        waits = sorted(s.seconds for s in misses) or [0.0]
        print(f"\n  long outage: circuit open {opened - outage:.2f} s in; {len(arrivals)} queries "
              f"upstream in {ended - opened:.1f} s open, by second "
              f"{[per_second.get(s, 0) for s in range(int(opened - outage), OUTAGE_SECONDS)]}, "
              f"longest certain gap {max(gaps, default=0):.2f} s; stale answers that waited "
              f"> 100 ms, by second: {dict(sorted(waited.items()))}; {len(misses)} misses: "
              f"SERVFAIL after {fs.percentile(waits, 0.5):.2f} s (p50), {waits[-1]:.2f} s (max), "
              f"{len(late)} after more than probe_interval; circuit closed {closed_after:.2f} s "
              f"after the restore", file=sys.stderr)
        self.assertGreater(len(sampler.polls), OUTAGE_SECONDS * 20, "the sampler fell behind")
        # One opening, no closing while blackholed; closed by the first probe after the restore.
        self.assertEqual(len(fs.log_lines(self.daemon, fs.CIRCUIT_OPEN)), 1)
        self.assertEqual(closed_during_outage, [], "the circuit closed without an answer")
        self.assertTrue(closed, "the circuit did not close once the upstream passed again")
        # The probe budget: never probes + 1 queries within less than probe_interval...
        self.assertEqual(tight[:5], [], f"{len(tight)} times more than {PROBES} queries within "
                                        f"{PROBE_INTERVAL} s (seconds into the outage)")
        # ... used, by the misses as well as the timed health checks, and probing never stops.
        self.assertGreaterEqual(len(arrivals), 1.5 * (ended - opened), dict(per_second))
        self.assertLessEqual(max(gaps), PROBE_INTERVAL * 1.2 + 0.1)
        # Stale answers at once, all through the outage.
        self.assertTrue(stale and all(s.ede == [fs.EDE_STALE] for s in stale))
        self.assertEqual(sum(waited.values()), 0, "stale answers waited for the upstream while "
                                                  f"the circuit was open: {waited}")
        # Every miss: SERVFAIL + EDE 22, within probe_interval in the queue and the probe timeout
        # if it went out as a probe; only probes wait longer than probe_interval.
        self.assertGreaterEqual(len(misses), MISS_RATE * (ended - opened - ATTEMPT_TIMEOUT) * 0.9)
        self.assertEqual({(dns.rcode.to_text(s.rcode), tuple(s.ede)) for s in misses},
                         {("SERVFAIL", (fs.EDE_NO_REACHABLE,))})
        self.assertLessEqual(max(s.seconds for s in misses), PROBE_INTERVAL + PROBE_TIMEOUT + 0.3)
        self.assertLessEqual(len(late), len(arrivals))


if __name__ == "__main__":
    h.main()
