#!/usr/bin/python3
"""Metrics, health and readiness over HTTP, against a running daemon with a real upstream (NSD
behind dnsfault).

A scrape is valid Prometheus text (`promtool check metrics`) with CoreDNS's names and labels, and
its values move as queries, stale answers and upstream failures happen. /health answers 200 while
the loop turns and fails while it is stalled (a test hook stalls it); /ready is 503 while the
store cannot open and 200 once it can; on SIGTERM with `lameduck`, /ready fails at once while
queries are still answered and /health stays 200 (CoreDNS's semantics)."""
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.rcode  # noqa: E402

import faultstack as fs  # noqa: E402
import harness as h  # noqa: E402


def get(port: int, path: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class ObserveHttpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        exit_stack = contextlib.ExitStack()
        cls.addClassCleanup(exit_stack.close)
        cls.tmp = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="holdfast-obs-")))
        cls.nsd = exit_stack.enter_context(fs.Nsd(cls.tmp))

    def start(self, *, persist: str | None = None, lameduck: str = "0s",
              extra_args: tuple[str, ...] = (), log_queries: bool = False) -> None:
        name = self._testMethodName
        self.fault = fs.FaultProxy(self.tmp, self.nsd.port, name=f"dnsfault-{name}").start()
        self.addCleanup(self.fault.stop)
        self.port = h.free_port(("127.0.0.1",))
        self.metrics_port = h.free_port(("127.0.0.1",))
        self.health_port = h.free_port(("127.0.0.1",))
        corefile = fs.stale_corefile(self.port, self.fault.port, persist=persist)
        if log_queries:
            corefile = corefile.replace("    errors\n", "    errors\n    log\n")
        corefile = corefile.replace("    errors\n", f"    errors\n    prometheus 127.0.0.1:{self.metrics_port}\n"
                                    f"    health 127.0.0.1:{self.health_port} {{\n"
                                    f"        lameduck {lameduck}\n    }}\n")
        self.daemon = h.Holdfast(self.tmp, corefile, name=f"holdfast-{name}", log_level="info",
                                 extra_args=["--test-hooks", *extra_args])
        self.addCleanup(self.daemon.stop)
        self.daemon.start("127.0.0.1", self.port, fs.LOCAL_PROBE)

    def scrape(self) -> str:
        status, body = get(self.metrics_port, "/metrics")
        self.assertEqual(status, 200)
        return body

    def test_a_scrape_is_valid_and_its_values_move_with_queries_stale_answers_and_failures(self):
        self.start()
        before = self.scrape()
        names = fs.all_services()[:50]
        self.fault.set_rules("ttl 1")
        self.assertTrue(all(r.rcode == dns.rcode.NOERROR for r in fs.ask_all(self.port, names)))
        fs.ask_all(self.port, names)  # hits
        time.sleep(2.2)
        self.fault.set_rules("blackhole")
        stale = fs.ask_all(self.port, names, timeout=3.0)
        self.assertTrue(all(fs.ede_codes(r.msg) == [fs.EDE_STALE] for r in stale))
        # Silence (no answer for 100 ms with queries outstanding) opens the circuit.
        self.assertTrue(h.wait_until(
            lambda: h.sample(self.scrape(), "holdfast_upstream_circuit_open") == 1, 3.0))
        # Two datagrams larger than any query (a receive slot is 4096 bytes): dropped, counted.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for size in (5000, 4097):
                s.sendto(b"\x42" * size, ("127.0.0.1", self.port))
        oversize = dict(loop="0", reason="oversize")
        self.assertTrue(h.wait_until(
            lambda: h.sample(self.scrape(), "holdfast_udp_dropped_total", **oversize) == 2, 3.0))
        after = self.scrape()
        check = subprocess.run(["promtool", "check", "metrics"], input=after, text=True,
                               capture_output=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        server = f"dns://127.0.0.1:{self.port}"
        labels = dict(server=server, zone="cluster.local.", proto="udp", family="1", type="A")
        moved = h.sample(after, "coredns_dns_requests_total", **labels) - \
            h.sample(before, "coredns_dns_requests_total", **labels)
        print(f"\n  scrape: {len(after.splitlines())} lines; requests +{moved:.0f}; stale "
              f"{h.sample(after, 'holdfast_stale_answers_total'):.0f}; circuit open "
              f"{h.sample(after, 'holdfast_upstream_circuit_open'):.0f}", file=sys.stderr)
        self.assertEqual(moved, 150)
        self.assertEqual(h.sample(after, "coredns_dns_responses_total", server=server,
                                rcode="NOERROR", plugin="forward"), 50)
        self.assertGreaterEqual(h.sample(after, "coredns_cache_hits_total", type="success"), 50)
        self.assertEqual(h.sample(after, "coredns_cache_served_stale_total"), 50)
        self.assertEqual(h.sample(after, "holdfast_stale_answers_total"), 50)
        self.assertGreater(h.sample(after, "holdfast_stale_answer_oldest_seconds"), 0)
        to = f"127.0.0.1:{self.fault.port}"
        self.assertGreaterEqual(h.sample(after, "coredns_forward_requests_total", to=to), 100)
        self.assertEqual(h.sample(after, "coredns_forward_responses_total", to=to, rcode="NOERROR"), 50)
        self.assertGreater(h.sample(after, "coredns_forward_request_duration_seconds_count", to=to), 0)
        self.assertEqual(h.sample(after, "holdfast_upstream_circuit_open"), 1)
        self.assertEqual(h.sample(after, "coredns_forward_healthcheck_broken_total"), 1)
        self.assertEqual(h.sample(after, "holdfast_store_state", state="open"), 1)
        self.assertGreater(h.sample(after, "holdfast_store_entries"), 0)
        self.assertEqual(h.sample(after, "coredns_build_info"), 1)
        self.assertIn('holdfast_udp_dropped_total{loop="0",reason="backlog_full"} 0', after)
        self.assertIn('holdfast_udp_send_errors_total{loop="0"} 0', after)
        self.assertIn('holdfast_udp_busy_entries_total{loop="0"}', after)

    def test_health_fails_while_the_loop_is_stalled_and_recovers(self):
        self.start()
        self.assertEqual(get(self.health_port, "/health"), (200, "OK"))
        os.kill(self.daemon.pid, signal.SIGUSR2)  # --test-hooks: the loop sleeps 3 s
        time.sleep(0.2)
        status, body = get(self.health_port, "/health")
        self.assertEqual((status, body), (503, "loop stalled"))
        self.assertTrue(h.wait_until(lambda: get(self.health_port, "/health")[0] == 200, 6.0))

    def test_ready_is_503_while_the_store_cannot_open_and_200_once_it_can(self):
        blocked = self.tmp / "blocked-store"
        blocked.write_text("a file where the store's directory should be\n")
        self.start(persist=str(blocked))
        status, body = get(self.health_port, "/ready")
        self.assertEqual(status, 503)
        self.assertIn("cannot be used", body)
        self.assertEqual(get(self.health_port, "/health")[0], 200, "alive while not ready")
        r = fs.timed_sequential(self.port, [fs.all_services()[0]])[0]
        self.assertEqual(r.rcode, dns.rcode.NOERROR, "it answers, memory-only")
        blocked.unlink()
        self.assertTrue(h.wait_until(lambda: get(self.health_port, "/ready")[0] == 200, 8.0),
                        "ready once the store could open")
        self.assertTrue(fs.log_lines(self.daemon, "the store opened after all"))

    def test_lameduck_fails_ready_but_keeps_answering_and_health_ok(self):
        self.start(lameduck="2s")
        self.assertEqual(get(self.health_port, "/ready"), (200, "OK"))
        os.kill(self.daemon.pid, signal.SIGTERM)
        time.sleep(0.3)
        self.assertEqual(get(self.health_port, "/ready"), (503, "lameduck"))
        self.assertEqual(get(self.health_port, "/health"), (200, "OK"))
        r = fs.timed_sequential(self.port, [fs.all_services()[1]])[0]
        self.assertEqual(r.rcode, dns.rcode.NOERROR, "still answering in lameduck")
        self.assertTrue(h.wait_until(lambda: not self.daemon.process.running(), 5.0))

    def test_json_logs_are_one_object_per_line_with_coredns_query_lines_and_limited_errors(self):
        self.start(extra_args=("--log-format", "json"), log_queries=True)
        self.fault.set_rules("rcode SERVFAIL")
        fs.ask_all(self.port, [(h.wild_name(f"err-{i}"), "A") for i in range(20)])
        self.fault.set_rules("pass")
        fs.timed_sequential(self.port, [fs.all_services()[3]])
        self.daemon.stop()
        import json
        lines = (self.daemon.dir / "stderr.log").read_text().splitlines()
        objects = [json.loads(line) for line in lines]  # every line is one JSON object
        self.assertTrue(all(set(o) == {"time", "level", "msg"} for o in objects))
        query_lines = [o["msg"] for o in objects if '"A IN ' in o["msg"]]
        self.assertTrue(any(re.search(r' - \d+ "A IN svc-\S+ udp \d+ false 1232" NOERROR qr,rd,ra '
                                      r'\d+ \d+\.\d{6}s$', m) for m in query_lines), query_lines[-3:])
        errors = [o["msg"] for o in objects if "upstream query for" in o["msg"]]
        print(f"\n  20 SERVFAILs in well under a second: {len(errors)} error line(s)", file=sys.stderr)
        self.assertLessEqual(len(errors), 2, errors)


if __name__ == "__main__":
    h.main()
