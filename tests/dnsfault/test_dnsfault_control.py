#!/usr/bin/python3
"""The control API (GET/PUT/POST/DELETE /rules, GET /stats), `dnsfault ctl` in the exact form the
issue gives, and bad input everywhere: invalid rules and schedules name their line, bad JSON gets
HTTP 400, and the proxy keeps running through all of it."""
import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fault_fixtures as ff  # noqa: E402
from fault_fixtures import h  # noqa: E402

HOST = "127.0.0.1"
NS1 = h.svc_name(1, 1)


class ControlApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = ff.temp_dir(cls, "dnsfault-control-")
        cls.nsd = h.Nsd(cls.tmp).start()
        cls.addClassCleanup(cls.nsd.stop)
        cls.proxy = ff.FaultProxy(cls.tmp, cls.nsd.port).start()
        cls.addClassCleanup(cls.proxy.stop)

    def setUp(self):
        self.proxy.request("DELETE", "/rules")

    def put(self, body, method="PUT"):
        return self.proxy.request(method, "/rules", json.dumps(body).encode())

    def test_rules_round_trip_in_one_json_shape(self):
        rule = {"match": "*.ns-1.svc.cluster.local", "qtype": ["A", "AAAA"], "transport": "udp",
                "action": "delay", "args": ["800", "200"], "probability": 0.5}
        status, body = self.put([rule])
        self.assertEqual(status, 200, body)
        self.assertEqual(body["rules"], [rule])
        status, body = self.proxy.request("GET", "/rules")
        self.assertEqual((status, body), (200, [rule]))
        status, body = self.put([{"action": "rcode", "args": ["SERVFAIL"]}], method="POST")
        self.assertEqual(status, 200, body)
        self.assertEqual([r["action"] for r in body["rules"]], ["delay", "rcode"])
        self.assertEqual(body["rules"][1], {"match": "*", "qtype": [], "transport": "any",
                                            "action": "rcode", "args": ["SERVFAIL"], "probability": 1.0})
        status, body = self.proxy.request("DELETE", "/rules")
        self.assertEqual((status, body["rules"]), (200, []))

    def test_text_bodies_use_the_rule_grammar(self):
        status, body = self.proxy.request("PUT", "/rules", b"rcode NXDOMAIN --match .ns-1.svc.cluster.local; delay 5",
                                          "text/plain")
        self.assertEqual(status, 200, body)
        self.assertEqual([r["action"] for r in body["rules"]], ["rcode", "delay"])
        self.assertEqual(h.dig(HOST, self.proxy.port, NS1).status, "NXDOMAIN")

    def test_bad_input_gets_400_with_a_message_and_changes_nothing(self):
        self.put([{"action": "blackhole", "qtype": "AAAA"}])
        for body, expected in ((b"{not json", "not valid JSON"),
                               (b'[{"action": "explode"}]', "unknown action 'explode'"),
                               (b'[{"action": "delay", "args": ["soon"]}]', "delay expects MS"),
                               (b'[{"action": "pass", "mtach": "*"}]', 'unknown field "mtach"'),
                               (b'"blackhole"', "expected a JSON array")):
            with self.subTest(body=body):
                status, reply = self.proxy.request("PUT", "/rules", body)
                self.assertEqual(status, 400, reply)
                self.assertIn(expected, reply["error"])
        status, reply = self.proxy.request("PUT", "/rules", b"delay", "text/plain")
        self.assertEqual(status, 400, reply)
        status, rules = self.proxy.request("GET", "/rules")
        self.assertEqual([r["action"] for r in rules], ["blackhole"])
        status, reply = self.proxy.request("GET", "/nope")
        self.assertEqual(status, 404, reply)
        self.assertIn("no such endpoint", reply["error"])
        self.assertTrue(self.proxy.process.running())
        self.assertEqual(h.dig(HOST, self.proxy.port, NS1).status, "NOERROR")

    def test_stats_count_actions_and_the_upstream_rate(self):
        before = self.proxy.stats()
        self.proxy.set_rules("rcode REFUSED --match '*.ns-2.svc.cluster.local'")
        for n in range(5):
            h.udp(HOST, self.proxy.port, h.svc_name(n, 1), "A")
        for n in range(3):
            h.udp(HOST, self.proxy.port, h.svc_name(n, 2), "A")
        after = self.proxy.stats()
        self.assertEqual(after["queries_received"] - before["queries_received"], 8)
        self.assertEqual(after["forwarded_upstream"] - before["forwarded_upstream"], 5)
        self.assertEqual(after["actions"]["pass"] - before["actions"]["pass"], 5)
        self.assertEqual(after["actions"]["rcode"] - before["actions"]["rcode"], 3)
        self.assertEqual(len(after["upstream_rate_per_second"]), 60)
        self.assertEqual(after["listen"], f"127.0.0.1:{self.proxy.port}")
        h.wait_until(lambda: sum(self.proxy.stats()["upstream_rate_per_second"]) >=
                     after["forwarded_upstream"], 2.5)
        self.assertEqual(sum(self.proxy.stats()["upstream_rate_per_second"]),
                         self.proxy.stats()["forwarded_upstream"])
        # Received, counted per second too: every query, refused ones included.
        self.assertEqual(len(after["received_rate_per_second"]), 60)
        h.wait_until(lambda: sum(self.proxy.stats()["received_rate_per_second"]) >=
                     after["queries_received"], 2.5)
        self.assertEqual(sum(self.proxy.stats()["received_rate_per_second"]),
                         self.proxy.stats()["queries_received"])


class CtlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = ff.temp_dir(cls, "dnsfault-ctl-")
        cls.nsd = h.Nsd(cls.tmp).start()
        cls.addClassCleanup(cls.nsd.stop)
        cls.proxy = ff.FaultProxy(cls.tmp, cls.nsd.port).start()
        cls.addClassCleanup(cls.proxy.stop)

    def ctl(self, *args):
        r = self.proxy.ctl(*args)
        self.assertEqual(r.returncode, 0, f"{args}: {r.stdout}{r.stderr}")
        return r.stdout

    def rules(self):
        return [r["action"] for r in self.proxy.request("GET", "/rules")[1]]

    def test_the_issue_examples_work_as_written(self):
        self.assertIn("blackhole", self.ctl("set", "blackhole"))
        self.assertEqual(self.rules(), ["blackhole"])
        self.ctl("set", "rcode", "SERVFAIL")
        self.assertEqual(h.dig(HOST, self.proxy.port, NS1).status, "SERVFAIL")
        out = self.ctl("set", "rcode", "NXDOMAIN", "--match", "*.ns-1.svc.cluster.local")
        self.assertIn("rcode NXDOMAIN --match '*.ns-1.svc.cluster.local'", out)
        self.assertEqual(h.dig(HOST, self.proxy.port, NS1).status, "NXDOMAIN")
        self.assertEqual(h.dig(HOST, self.proxy.port, h.svc_name(1, 2)).status, "NOERROR")
        self.ctl("set", "delay", "800", "200")
        self.assertEqual(self.proxy.request("GET", "/rules")[1][0]["args"], ["800", "200"])
        self.ctl("add", "blackhole", "--qtype", "AAAA", "--probability", "0.5")
        self.assertEqual(self.rules(), ["delay", "blackhole"])
        self.assertIn("pass", self.ctl("clear"))
        self.assertEqual(self.rules(), [])
        self.assertEqual(self.ctl("rules").strip(), "pass")

    def test_stats_prints_the_counters(self):
        h.udp(HOST, self.proxy.port, NS1, "A")
        out = self.ctl("stats")
        self.assertRegex(out, r"queries_received\s+\d+")
        self.assertRegex(out, r"forwarded_upstream\s+\d+")
        self.assertRegex(out, r"action blackhole\s+\d+")
        self.assertIn("upstream_rate_last_60s", out)
        self.assertIn("received_rate_last_60s", out)

    def test_failures_exit_non_zero_with_a_message(self):
        r = self.proxy.ctl("set", "explode")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("unknown action 'explode'", r.stderr)
        r = self.proxy.ctl("set")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("needs a rule", r.stderr)
        dead = h.free_port(ff.LOOPBACK)
        r = ff.run_dnsfault(["ctl", "--control", f"127.0.0.1:{dead}", "stats"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cannot reach the control API", r.stderr)
        r = ff.run_dnsfault(["ctl", "--control", "nowhere", "clear"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("bad address", r.stderr)
        self.assertTrue(self.proxy.process.running())


class StartupErrorsTest(unittest.TestCase):
    def start_fails(self, *args):
        r = ff.run_dnsfault(["proxy", "--listen", f"127.0.0.1:{h.free_port(ff.LOOPBACK)}",
                             "--upstream", "127.0.0.1:9", *args])
        self.assertNotEqual(r.returncode, 0, r.stderr)
        return r.stderr

    def test_invalid_rules_and_schedules_name_the_line(self):
        with tempfile.TemporaryDirectory(prefix="dnsfault-start-") as tmp:
            rules = Path(tmp) / "rules.txt"
            rules.write_text("# ok\nblackhole --qtype AAAA\ndelay later\n")
            err = self.start_fails("--rules", str(rules))
            self.assertIn(f"{rules}:3: ", err)
            self.assertIn("delay expects MS", err)
            schedule = Path(tmp) / "schedule.txt"
            schedule.write_text("at 0s pass\nat 10s blackhole\nat 5s pass\n")
            err = self.start_fails("--schedule", str(schedule))
            self.assertIn(f"{schedule}:3: offset 5s is not after", err)
            err = self.start_fails("--rules", str(Path(tmp) / "missing.txt"))
            self.assertIn("cannot read", err)
        self.assertIn("only listens on loopback", self.start_fails("--control", "0.0.0.0:8080"))
        self.assertIn("bad address", self.start_fails("--control", "localhost:8080"))


if __name__ == "__main__":
    h.main()
