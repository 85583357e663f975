#!/usr/bin/python3
"""Reloading in-process: SIGHUP under steady load loses no query and no cached answer while the
forward target changes and a listener comes and goes; a broken file keeps the old config running
with its file:line:col in the log; the `reload` directive picks up a change within ~3 s; SIGUSR2
and SIGALRM are logged and ignored."""
import contextlib
import os
import signal
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import reload_support as rs  # noqa: E402

TTL = 300  # nothing expires during a test: every miss after the warm-up is a lost cache entry


def block(port: int, upstream_port: int, *, zone: str = "cluster.local", extra: str = "") -> str:
    return rs.cache_block(port, upstream_port, TTL, bind="127.0.0.1", zone=zone, extra=extra)


class ReloadTest(unittest.TestCase):
    def setUp(self):
        exit_stack = contextlib.ExitStack()
        self.addCleanup(exit_stack.close)
        self.tmp = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="holdfast-rl-")))
        nsd = exit_stack.enter_context(h.Nsd(self.tmp, ttl=TTL, negative_ttl=TTL))
        # Two ways to the same NSD: a reload that changes the forward target is seen by which
        # proxy the next miss goes through.
        self.proxy1 = exit_stack.enter_context(h.CountingProxy(nsd.port))
        self.proxy2 = exit_stack.enter_context(h.CountingProxy(nsd.port))
        self.port = h.free_port(("127.0.0.1",))
        self.metrics_port = h.free_port(("127.0.0.1",))
        self.extra = f"    prometheus 127.0.0.1:{self.metrics_port}\n"

    def run_daemon(self, corefile: str, *, args=()) -> h.Holdfast:
        daemon = h.Holdfast(self.tmp, corefile, name=f"hf-{self._testMethodName[5:20]}",
                            log_level="info", extra_args=args)
        self.addCleanup(daemon.stop)
        daemon.start("127.0.0.1", self.port)
        return daemon

    def rewrite(self, daemon: h.Holdfast, corefile: str) -> None:
        daemon.conf.write_text(corefile)

    def test_sighup_under_load_loses_no_query_and_no_cached_answer(self):
        up1, up2 = self.proxy1.port, self.proxy2.port
        base = block(self.port, up1, extra=self.extra)
        daemon = self.run_daemon(base)
        names = rs.warm_names()
        warm = rs.warm(self.port, names, self.tmp)
        self.assertEqual(warm["noerror"], len(names), warm["output"])
        # Before: 2 s of the same load without reloads.
        hits0, misses0 = rs.cache_counts(self.metrics_port)
        before = rs.perf_result(rs.dnsperf(self.port, names, self.tmp, seconds=2, qps=5000))
        hits1, misses1 = rs.cache_counts(self.metrics_port)
        rate_before = (hits1 - hits0) / max(1.0, (hits1 - hits0) + (misses1 - misses0))
        def upstream() -> int:  # questions for the load's names that went upstream
            return sum(p.count(n) for p in (self.proxy1, self.proxy2) for n in names)

        upstream_before = upstream()

        port2 = h.free_port(("127.0.0.1",))
        forward2 = block(self.port, up2, extra=self.extra)
        with_port2 = forward2 + block(port2, up2, zone="example.test")
        load = rs.dnsperf(self.port, names, self.tmp, seconds=10, qps=5000)
        started = time.monotonic()
        steps = [(1.5, forward2), (3.5, with_port2), (6.0, forward2), (8.0, forward2)]
        port2_answered = port2_stopped = False
        for i, (at, text) in enumerate(steps):
            time.sleep(max(0.0, started + at - time.monotonic()))
            self.rewrite(daemon, text)
            daemon.process.signal(signal.SIGHUP)
            self.assertTrue(rs.wait_for_reloads(daemon, i + 1, 3), daemon.log()[-3000:])
            if text is with_port2:
                # example.test is no zone NSD serves: whatever the rcode, an answer means a listener.
                port2_answered = h.wait_until(
                    lambda: self.try_answer(port2), 2)
            elif i == 2:
                port2_stopped = h.wait_until(lambda: not self.try_answer(port2), 2)
        during = rs.perf_result(load, timeout=40)
        hits2, misses2 = rs.cache_counts(self.metrics_port)
        rate_during = (hits2 - hits1) / max(1.0, (hits2 - hits1) + (misses2 - misses1))
        durations = [rs.reload_ms(line) for line in rs.reload_lines(daemon)]
        print(f"\nSIGHUP under load: sent {during['sent']}, completed {during['completed']}, "
              f"lost {during['lost']}; hit rate before {rate_before:.4f}, during "
              f"{rate_during:.4f}; {len(durations)} reloads took {durations} ms",
              file=sys.stderr)

        self.assertGreater(before["completed"], 5000, before["output"])
        self.assertEqual(during["lost"], 0, during["output"])
        self.assertGreater(during["sent"], 40_000, during["output"])
        self.assertEqual(during["noerror"], during["completed"], during["output"])
        self.assertEqual(misses2 - misses1, 0, "a reload lost cached answers")
        self.assertGreaterEqual(rate_during, rate_before)
        self.assertEqual(upstream(), upstream_before,
                         "cached names went upstream again")
        self.assertTrue(port2_answered, "the added listener did not answer")
        self.assertTrue(port2_stopped, "the removed listener still answers")
        # The new forward target is the one asked for a name not cached yet.
        miss = "nope-reload.cluster.local."
        before1, before2 = self.proxy1.count(miss), self.proxy2.count(miss)
        h.udp("127.0.0.1", self.port, miss, "A")
        self.assertEqual(self.proxy1.count(miss), before1)
        self.assertGreater(self.proxy2.count(miss), before2)
        self.assertEqual(daemon.stop(), 0, "not a clean exit")

    def try_answer(self, port: int) -> bool:
        try:
            h.udp("127.0.0.1", port, "a.example.test.", "A", timeout=0.3)
            return True
        except Exception:
            return False

    def test_a_broken_file_keeps_the_old_config_and_logs_where(self):
        daemon = self.run_daemon(block(self.port, self.proxy1.port))
        name = h.svc_name(1, 1)
        self.assertTrue(rs.answers(self.port, name))
        self.rewrite(daemon, "cluster.local:%d {\n    bind 127.0.0.1\n    forward . nowhere:53\n}\n"
                     % self.port)
        daemon.process.signal(signal.SIGHUP)
        where = f"{daemon.conf}:3:15:"
        self.assertTrue(h.wait_until(lambda: rs.log_lines(daemon, where), 3), daemon.log())
        self.assertTrue(rs.log_lines(daemon, "the running configuration stays"), daemon.log())
        self.assertEqual(rs.reload_lines(daemon), [])
        self.assertTrue(daemon.process.running())
        self.assertTrue(rs.answers(self.port, name))
        self.assertTrue(rs.answers(self.port, h.svc_name(2, 2)))
        self.assertEqual(daemon.stop(), 0, "not a clean exit")

    def test_the_reload_directive_picks_up_a_change_within_three_seconds(self):
        port2 = h.free_port(("127.0.0.1",))
        directive = "    reload 2s 1s\n"
        daemon = self.run_daemon(block(self.port, self.proxy1.port, extra=directive))
        self.assertTrue(rs.answers(self.port, h.svc_name(1, 1)))
        time.sleep(0.5)
        self.rewrite(daemon, block(self.port, self.proxy1.port, extra=directive) +
                     block(port2, self.proxy1.port, extra=directive))
        changed = time.monotonic()
        self.assertTrue(h.wait_until(lambda: rs.answers(port2, h.svc_name(1, 1), 0.2), 6),
                        daemon.log())
        took = time.monotonic() - changed
        print(f"\nreload directive: live after {took:.2f} s", file=sys.stderr)
        self.assertLessEqual(took, 3.5)
        self.assertEqual(len(rs.reload_lines(daemon)), 1)
        # An unchanged file is not reloaded again.
        time.sleep(3.2)
        self.assertEqual(len(rs.reload_lines(daemon)), 1, daemon.log())
        self.assertEqual(daemon.stop(), 0, "not a clean exit")

    def test_a_new_prometheus_address_serves_metrics_after_sighup(self):
        daemon = self.run_daemon(block(self.port, self.proxy1.port, extra=self.extra))
        self.assertTrue(rs.answers(self.port, h.svc_name(1, 1)))
        self.assertIn("coredns_cache_hits_total", rs.scrape(self.metrics_port))
        new_port = h.free_port(("127.0.0.1",))
        self.rewrite(daemon, block(self.port, self.proxy1.port,
                                   extra=f"    prometheus 127.0.0.1:{new_port}\n"))
        daemon.process.signal(signal.SIGHUP)
        self.assertTrue(rs.wait_for_reloads(daemon, 1, 3), daemon.log())
        self.assertTrue(h.wait_until(lambda: self.scrapes(new_port), 3), daemon.log())
        self.assertFalse(self.scrapes(self.metrics_port))
        # Stopping the old endpoint (seconds: it joins its threads) does not stall the loop.
        self.assertLess(rs.reload_ms(rs.reload_lines(daemon)[0]), 100, daemon.log())
        # The request counters of the kept zone went on across the reload.
        requests = h.sample(rs.scrape(new_port), "coredns_dns_requests_total")
        self.assertGreaterEqual(requests, 2, rs.scrape(new_port))
        self.assertEqual(daemon.stop(), 0, "not a clean exit")

    def scrapes(self, port: int) -> bool:
        try:
            return "coredns_build_info" in rs.scrape(port)
        except Exception:
            return False

    def test_no_catchable_signal_kills_the_daemon_by_surprise(self):
        daemon = self.run_daemon(block(self.port, self.proxy1.port))
        # Every signal whose default action ends a process, except SIGTERM/SIGINT/SIGQUIT (stop)
        # and SIGHUP/SIGUSR1 (reload): logged and ignored. SIGPIPE is ignored silently.
        ignored = (signal.SIGUSR2, signal.SIGALRM, signal.SIGPWR, signal.SIGVTALRM,
                   signal.SIGPROF, signal.SIGIO, signal.SIGXFSZ, signal.SIGXCPU, signal.SIGSTKFLT)
        for sig in (*ignored, signal.SIGPIPE):
            daemon.process.signal(sig)
            time.sleep(0.05)
        for sig in ignored:
            name = "SIGPOLL" if sig == signal.SIGIO else sig.name  # glibc's name for 29
            self.assertTrue(
                h.wait_until(lambda: rs.log_lines(daemon, f"received {name}; ignored"), 3),
                f"{name}:\n{daemon.log()}")
        self.assertTrue(daemon.process.running())
        self.assertTrue(rs.answers(self.port, h.svc_name(1, 1)))
        # SIGUSR1 reloads (the same file: everything kept).
        daemon.process.signal(signal.SIGUSR1)
        self.assertTrue(rs.wait_for_reloads(daemon, 1, 3), daemon.log())
        self.assertIn("zones +0 -0 =1", rs.reload_lines(daemon)[0])
        self.assertTrue(daemon.process.running())
        self.assertEqual(daemon.stop(), 0)

    def test_sigquit_stops_cleanly_like_sigterm(self):
        daemon = self.run_daemon(block(self.port, self.proxy1.port))
        self.assertTrue(rs.answers(self.port, h.svc_name(2, 1)))
        daemon.process.signal(signal.SIGQUIT)
        self.assertEqual(daemon.process.wait(10), 0, daemon.log())
        self.assertIn("received SIGQUIT, shutting down", daemon.log())


if __name__ == "__main__":
    h.main()
