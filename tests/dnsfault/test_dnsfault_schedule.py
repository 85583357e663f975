#!/usr/bin/python3
"""Schedules on the proxy: rule sets switch at their offsets (within 200 ms, seen by a client
probing every 20 ms), `repeat` flaps, every switch is logged with a timestamp and recorded in
/stats."""
import re
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import dns.rcode  # noqa: E402

import fault_fixtures as ff  # noqa: E402
from fault_fixtures import h  # noqa: E402

HOST = "127.0.0.1"
TOLERANCE_MS = 200
PROBE_INTERVAL_S = 0.02


def probe(port: int, seconds: float) -> list[tuple[float, str]]:
    """(wall-clock ms, rcode text or "timeout") every PROBE_INTERVAL_S for `seconds`."""
    out = []
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline and n < 10_000:
        n += 1
        sent = time.time() * 1000.0
        try:
            rcode = dns.rcode.to_text(h.udp(HOST, port, h.svc_name(n % 100, 4), "A", timeout=0.15).rcode())
        except Exception:
            rcode = "timeout"
        out.append((sent, rcode))
        time.sleep(PROBE_INTERVAL_S)
    return out


def transitions(samples: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """Where the observed state changes: (midpoint between the last old and first new probe, new)."""
    out = []
    for (t0, a), (t1, b) in zip(samples, samples[1:]):
        if a != b:
            out.append(((t0 + t1) / 2.0, b))
    return out


class ScheduleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = ff.temp_dir(cls, "dnsfault-schedule-")
        cls.nsd = h.Nsd(cls.tmp).start()
        cls.addClassCleanup(cls.nsd.stop)

    def check_offsets(self, proxy, observed, planned):
        started = proxy.stats()["schedule"]["started_unix_ms"]
        self.assertEqual([state for _, state in observed], [state for _, state in planned],
                         f"observed {observed}")
        report = []
        for (seen, state), (offset_ms, _) in zip(observed, planned):
            error_ms = seen - (started + offset_ms)
            report.append(f"{state}@{offset_ms}:{error_ms:+.0f}ms")
            self.assertLessEqual(abs(error_ms), TOLERANCE_MS, report)
        print(f"\n  switch offsets seen by the client: {' '.join(report)}", file=sys.stderr)

    def test_switches_happen_at_their_offsets_and_are_logged(self):
        schedule = ("at 0s pass\nat 1500ms refused: rcode REFUSED\nat 3s rcode NXDOMAIN\n"
                    "at 4500ms pass\n")
        with ff.FaultProxy(self.tmp, self.nsd.port, schedule_text=schedule, name="timeline") as proxy:
            samples = probe(proxy.port, 5.2)
            self.check_offsets(proxy, transitions(samples),
                               [(1500, "REFUSED"), (3000, "NXDOMAIN"), (4500, "NOERROR")])
            stats = proxy.stats()["schedule"]
            self.assertEqual(stats["switch_count"], 4)
            for switch in stats["switches"]:
                self.assertLessEqual(switch["actual_ms"] - switch["planned_ms"], 50, stats)
                self.assertGreaterEqual(switch["actual_ms"], switch["planned_ms"], stats)
            log = proxy.log()
        lines = [l for l in log.splitlines() if "schedule: t=+" in l]
        self.assertEqual(len(lines), 4, log)
        self.assertRegex(lines[1], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} info schedule: t=\+1\.5\d\ds "
                                   r"\(planned \+1\.5s, line 2\) -> refused: rcode REFUSED$")
        self.assertIn("-> rcode NXDOMAIN", lines[2])

    def test_repeat_flaps_up_and_down(self):
        schedule = "at 0s up: pass\nat 500ms down: rcode SERVFAIL\nrepeat every 1s\n"
        with ff.FaultProxy(self.tmp, self.nsd.port, schedule_text=schedule, name="flapping") as proxy:
            samples = probe(proxy.port, 3.8)
            observed = transitions(samples)
            planned = []
            for k in range(4):
                planned += [(k * 1000 + 500, "SERVFAIL"), ((k + 1) * 1000, "NOERROR")]
            started = proxy.stats()["schedule"]["started_unix_ms"]
            first_probe = samples[0][0] - started
            planned = [p for p in planned if first_probe < p[0] < samples[-1][0] - started - 50]
            observed = [o for o in observed if o[0] - started > first_probe]
            self.check_offsets(proxy, observed, planned)
            self.assertTrue(proxy.stats()["schedule"]["endless"])

    def test_a_fault_in_the_schedule_really_faults(self):
        schedule = "at 0s pass\nat 300ms outage: blackhole\nat 1300ms pass\n"
        with ff.FaultProxy(self.tmp, self.nsd.port, schedule_text=schedule, name="outage") as proxy:
            samples = probe(proxy.port, 1.8)
            states = [s for _, s in samples]
            self.assertIn("timeout", states)
            self.assertEqual(states[-1], "NOERROR")
            self.assertGreater(proxy.stats()["actions"]["blackhole"], 0)
            self.assertTrue(re.search(r"schedule: finished", proxy.log()))


if __name__ == "__main__":
    h.main()
