#!/usr/bin/python3
"""`dnsfault drill`: two 20 s drills run side by side, one straight at the upstream (NSD) and one
through the fault proxy with an outage in its schedule and a baseline; their reports add up,
the SVG parses as XML, and the markdown has the summary. Also the dec-2024 scenario and bad
options."""
import json
import sys
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fault_fixtures as ff  # noqa: E402
from fault_fixtures import h  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"
RATE = 40
DURATION = 20
OUTAGE = (6, 12)


def check_counts_add_up(test: unittest.TestCase, series: dict) -> None:
    for second in series["seconds"]:
        test.assertEqual(second["sent"], second["answered"] + second["failed"] + second["timeouts"], second)
    totals = series["totals"]
    test.assertEqual(totals["sent"], totals["answered"] + totals["failed"] + totals["timeouts"], totals)
    test.assertEqual(totals["sent"], sum(s["sent"] for s in series["seconds"]))


class DrillTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = ff.temp_dir(cls, "dnsfault-drill-")
        cls.nsd = h.Nsd(cls.tmp).start()
        cls.addClassCleanup(cls.nsd.stop)
        cls.proxy = ff.FaultProxy(cls.tmp, cls.nsd.port).start()
        cls.addClassCleanup(cls.proxy.stop)
        cls.names = cls.tmp / "names.txt"
        cls.names.write_text("# every kind of name in the test zones\n" + "\n".join(h.bench_queries()[:300]) + "\n")
        cls.schedule = cls.tmp / "schedule.txt"
        cls.schedule.write_text(f"at 0s pass\nat {OUTAGE[0]}s outage: blackhole\nat {OUTAGE[1]}s pass\n")
        nsd = f"127.0.0.1:{cls.nsd.port}"
        common = ["--names", str(cls.names), "--rate", str(RATE), "--duration", str(DURATION)]
        direct = h.ManagedProcess("drill-direct", [ff.dnsfault_bin(), "drill", "--target", nsd, *common,
                                                   "--out", str(cls.tmp / "direct")], cls.tmp / "direct.log")
        faulty = h.ManagedProcess("drill-faulty", [ff.dnsfault_bin(), "drill", "--target", f"127.0.0.1:{cls.proxy.port}",
                                                   *common, "--schedule", str(cls.schedule), "--proxy-control",
                                                   cls.proxy.control, "--baseline", nsd,
                                                   "--out", str(cls.tmp / "faulty")], cls.tmp / "faulty.log")
        cls.addClassCleanup(direct.stop)
        cls.addClassCleanup(faulty.stop)
        direct.start()
        faulty.start()
        cls.direct_status = direct.wait(DURATION + 20)
        cls.faulty_status = faulty.wait(10)
        cls.direct_log = direct.read_log()
        cls.faulty_log = faulty.read_log()

    def load(self, name: str) -> dict:
        return json.loads((self.tmp / name / "report.json").read_text())

    def test_a_drill_straight_at_the_upstream_adds_up(self):
        self.assertEqual(self.direct_status, 0, self.direct_log)
        report = self.load("direct")
        target = report["target"]
        check_counts_add_up(self, target)
        self.assertEqual(len(target["seconds"]), DURATION)
        self.assertEqual(target["totals"]["sent"], RATE * DURATION)
        self.assertGreaterEqual(target["availability_pct"], 99.0)
        self.assertGreater(target["totals"]["noerror_data"], 0.9 * RATE * DURATION)
        self.assertIsNone(report["baseline"])
        self.assertEqual(report["phases"], [])
        for second in target["seconds"][1:-1]:
            self.assertLessEqual(abs(second["sent"] - RATE), 2, second)
        print(f"\n  direct drill: {target['totals']}, p99 {target['latency']['p99_ms']} ms", file=sys.stderr)

    def test_the_outage_shows_for_the_target_and_not_for_the_baseline(self):
        self.assertEqual(self.faulty_status, 0, self.faulty_log)
        report = self.load("faulty")
        target, baseline = report["target"], report["baseline"]
        check_counts_add_up(self, target)
        check_counts_add_up(self, baseline)
        self.assertEqual(baseline["totals"]["timeouts"], 0)
        self.assertGreaterEqual(baseline["availability_pct"], 99.0)
        seconds = target["seconds"]
        for k in range(OUTAGE[0] + 1, OUTAGE[1] - 1):  # whole seconds inside the outage
            self.assertEqual(seconds[k]["timeouts"], seconds[k]["sent"], seconds[k])
        for k in list(range(0, OUTAGE[0] - 1)) + list(range(OUTAGE[1] + 1, DURATION)):
            self.assertEqual(seconds[k]["timeouts"], 0, seconds[k])
        self.assertEqual(target["worst_second"]["availability_pct"], 0.0)
        self.assertEqual(target["outage_latency"]["p99_ms"], 2000.0)  # timeouts count as 2 s
        self.assertEqual([p["label"] for p in report["phases"]], ["pass", "outage", "pass"])
        self.assertEqual(len(report["switches"]), 3)
        for switch in report["switches"]:
            self.assertIsNone(switch["error"])
            self.assertLessEqual(switch["actual_ms"] - switch["planned_ms"], 200, switch)
        upstream = [u["from_target"] for u in report["upstream"]]
        self.assertGreaterEqual(sum(u is not None for u in upstream), DURATION - 2, upstream)
        self.assertTrue(all(abs(u - RATE) <= 3 for u in upstream if u is not None), upstream)
        self.assertEqual(report["recovery"]["start_ms"], OUTAGE[1] * 1000)
        self.assertIsNotNone(report["recovery"]["peak_upstream_qps"])
        self.assertEqual(self.proxy.request("GET", "/rules")[1], [])  # back to pass-through
        print(f"\n  faulty drill: target {target['availability_pct']} % available, baseline "
              f"{baseline['availability_pct']} %, switch lag "
              f"{[s['actual_ms'] - s['planned_ms'] for s in report['switches']]} ms", file=sys.stderr)

    def test_the_svg_is_valid_and_readable(self):
        for name, panels in (("direct", 1), ("faulty", 2)):
            with self.subTest(report=name):
                root = ET.parse(self.tmp / name / "timeline.svg").getroot()
                self.assertEqual(root.tag, f"{SVG}svg")
                texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
                for label in ("answered (incl. stale)", "stale (EDE 3/19)", "failed + timed out",
                              "time since start (s)", "queries per second"):
                    self.assertIn(label, texts)
                self.assertEqual(texts.count("availability"), panels)
                self.assertGreaterEqual(len(list(root.iter(f"{SVG}polyline"))), 4 * panels)
        root = ET.parse(self.tmp / "faulty" / "timeline.svg").getroot()
        texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
        self.assertIn("upstream queries per second", texts)
        self.assertIn("outage", texts)

    def test_the_markdown_has_the_summary_table(self):
        md = (self.tmp / "faulty" / "report.md").read_text()
        for needle in ("| | with Holdfast (target) | without Holdfast (baseline) |", "**availability**",
                       "stale answers", "worst second", "p99 latency during the outage",
                       "peak upstream rate during recovery", "![per-second", "| outage (fault) |"):
            self.assertIn(needle, md)

    def test_the_dec_2024_scenario_plays_on_the_proxy(self):
        out = self.tmp / "scenario"
        r = ff.run_dnsfault(["drill", "--target", f"127.0.0.1:{self.proxy.port}", "--names", str(self.names),
                             "--rate", "20", "--scenario", "dec-2024", "--duration", "2",
                             "--proxy-control", self.proxy.control, "--out", str(out)], timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        report = json.loads((out / "report.json").read_text())
        self.assertEqual(report["config"]["schedule"], "dec-2024")
        self.assertIn("15:40 full impact", report["config"]["scenario_description"])
        self.assertEqual(report["phases"][0]["label"], "healthy")
        check_counts_add_up(self, report["target"])

    def test_bad_options_exit_2_with_a_message(self):
        base = ["drill", "--target", f"127.0.0.1:{self.proxy.port}", "--names", str(self.names)]
        for args, message in ((["--rate", "10"], "--duration is required"),
                              (["--rate", "10", "--duration", "1", "--schedule", str(self.schedule)],
                               "--proxy-control"),
                              (["--rate", "0", "--duration", "1"], "--rate must be"),
                              (["--rate", "10", "--duration", "1", "--scenario", "dec-2025",
                                "--proxy-control", self.proxy.control], "unknown scenario")):
            with self.subTest(args=args):
                r = ff.run_dnsfault([*base, *args, "--out", str(self.tmp / "bad")])
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(message, r.stderr)
        bad_names = self.tmp / "bad-names.txt"
        bad_names.write_text("svc-1.ns-1.svc.cluster.local\nsvc-2.ns-1.svc.cluster.local BOGUS\n")
        r = ff.run_dnsfault(["drill", "--target", "127.0.0.1:9", "--names", str(bad_names), "--rate", "1",
                             "--duration", "1", "--out", str(self.tmp / "bad")])
        self.assertEqual(r.returncode, 2)
        self.assertIn(f"{bad_names}:2: unknown type 'BOGUS'", r.stderr)


if __name__ == "__main__":
    h.main()
