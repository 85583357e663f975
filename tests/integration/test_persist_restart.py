#!/usr/bin/python3
"""Answers outlive the process: 1,000 names are cached (and written to LMDB in batches), the
upstream goes down, holdfast is restarted on the same `persist DIR` (after SIGTERM, and after
`kill -9`), and every name is answered stale from the store. Two processes on one store: the
second answers what the first wrote. One NSD (TTL 1: the answers are stale by the restart) is
shared; every test runs its own dnsfault and holdfasts."""
import contextlib
import os
import re
import signal
import sys
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.rcode  # noqa: E402

import faultstack as fs  # noqa: E402
import harness as h  # noqa: E402

ZONE_TTL = 1
STALE_TTL = 7
FLUSHED_WAIT = 0.5   # `persist { flush 100ms }`: well past one batch
EXPIRY_WAIT = 2.2


class PersistRestartTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        exit_stack = contextlib.ExitStack()
        cls.addClassCleanup(exit_stack.close)
        cls.tmp = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="holdfast-persist-")))
        cls.nsd = exit_stack.enter_context(fs.Nsd(cls.tmp, ttl=ZONE_TTL, negative_ttl=ZONE_TTL))
        cls.names = fs.all_services()

    def setUp(self):
        self.fault = fs.FaultProxy(self.tmp, self.nsd.port,
                                   name=f"dnsfault-{self._testMethodName}").start()
        self.addCleanup(self.fault.stop)
        self.store = self.tmp / f"store-{self._testMethodName}"

    def holdfast(self, label: str, metrics_port: int = 0) -> tuple[h.Holdfast, int]:
        """A holdfast on the test's store, started and answering; stopped at cleanup."""
        port = h.free_port(("127.0.0.1",))
        corefile = fs.stale_corefile(port, self.fault.port, stale_ttl=f"{STALE_TTL}s",
                                     persist=f"{self.store} {{\n        flush 100ms\n    }}")
        if metrics_port:
            corefile = corefile.replace(
                "    errors\n", f"    errors\n    prometheus 127.0.0.1:{metrics_port}\n")
        daemon = fs.start_holdfast(self.tmp, corefile, port,
                                   name=f"holdfast-{self._testMethodName}-{label}")
        self.addCleanup(daemon.stop)
        return daemon, port

    def warm(self, port: int) -> None:
        replies = fs.ask_all(port, self.names, rate=fs.WARM_RATE)
        self.assertEqual([r.qname for r in replies if r.rcode != dns.rcode.NOERROR], [])
        time.sleep(FLUSHED_WAIT)

    def assert_every_name_answered_with_data(self, port: int, *, stale: bool) -> None:
        replies = fs.ask_all(port, self.names)
        problems = []
        for r in replies:
            if r.msg is None or r.rcode != dns.rcode.NOERROR:
                problems.append(f"{r.qname}: {fs.rcode_text(r)}")
            elif fs.rdatas(r.msg) != [fs.svc_address(r.qname)]:
                problems.append(f"{r.qname}: {fs.rdatas(r.msg)}")
            elif stale and (fs.ede_codes(r.msg) != [fs.EDE_STALE] or
                            [rrset.ttl for rrset in r.msg.answer] != [STALE_TTL]):
                problems.append(f"{r.qname}: EDE {fs.ede_codes(r.msg)} TTL {fs.ttls(r.msg)}")
        self.assertEqual(len(replies), len(self.names))
        self.assertEqual(problems[:10], [], f"{len(problems)} of {len(replies)} names not answered")

    def restart_after(self, how: signal.Signals) -> None:
        first, port = self.holdfast("first")
        self.warm(port)
        self.fault.set_rules("blackhole")
        if how == signal.SIGKILL:
            first.process.signal(signal.SIGKILL)
            first.process.wait(5)
            self.assertEqual(first.stop(), -signal.SIGKILL)
        else:
            self.assertEqual(first.stop(), 0)
        time.sleep(EXPIRY_WAIT)
        second, port = self.holdfast("second")
        self.assert_every_name_answered_with_data(port, stale=True)
        self.assertNotIn("moved it aside", second.log())

    def test_after_sigterm_and_restart_every_cached_name_is_answered_stale_from_the_store(self):
        self.restart_after(signal.SIGTERM)

    def test_after_kill_9_and_restart_every_flushed_name_is_answered_stale_from_the_store(self):
        self.restart_after(signal.SIGKILL)

    def test_a_restart_promotes_the_store_into_memory_at_start(self):
        """The start-up thread fills the memory cache from the store: within a second of the
        restart the log says so, and the names are answered from memory (no store read on the
        loop: holdfast_store_promotions_total, the on-demand promotions, stays at 0)."""
        first, port = self.holdfast("first")
        self.warm(port)
        self.assertEqual(first.stop(), 0)
        self.fault.set_rules("blackhole")
        metrics_port = h.free_port(("127.0.0.1",))
        second, port = self.holdfast("second", metrics_port)
        self.assertTrue(fs.wait_for_log(second, "stored answers promoted into memory", 1.0),
                        second.log())
        line = fs.log_lines(second, "stored answers promoted into memory")[0]
        promoted = int(re.search(r"(\d+) of (\d+) stored answers", line).group(1))
        self.assertGreaterEqual(promoted, len(self.names))
        self.assert_every_name_answered_with_data(port, stale=False)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
            metrics = r.read().decode()
        self.assertIn("holdfast_store_promotions_total 0", metrics)
        print(f"\n  {line.split(' info ')[-1]}", file=sys.stderr)

    def test_a_second_process_on_the_same_store_answers_what_the_first_wrote(self):
        first, first_port = self.holdfast("first")
        second, second_port = self.holdfast("second")
        self.warm(first_port)
        self.fault.set_rules("blackhole")
        received = self.fault.stats()["queries_received"]
        replies = fs.ask_all(second_port, self.names)
        problems = [f"{r.qname}: {fs.rcode_text(r)} {fs.rdatas(r.msg) if r.msg else ''}"
                    for r in replies
                    if r.rcode != dns.rcode.NOERROR or fs.rdatas(r.msg) != [fs.svc_address(r.qname)]]
        self.assertEqual(problems[:10], [], f"{len(problems)} of {len(replies)} not answered with data")
        print(f"\n  second process: {sum(1 for r in replies if fs.ede_codes(r.msg) == [fs.EDE_STALE])} "
              f"of {len(replies)} stale, {self.fault.stats()['queries_received'] - received} "
              f"queries upstream", file=sys.stderr)


if __name__ == "__main__":
    h.main()
