#!/usr/bin/python3
"""node-cache mode reloads as node-cache does: the -basecorefile is re-read every 10 s and a
changed template is filled, written and reloaded, without losing cached answers; with
-reloadwithsignal the reload goes through SIGUSR1 to the daemon itself."""
import contextlib
import os
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import reload_support as rs  # noqa: E402

TTL = 300


def base_block(port: int, upstream_port: int, zone: str = "cluster.local") -> str:
    return rs.cache_block(port, upstream_port, TTL, bind="__PILLAR__LOCAL__DNS__", zone=zone)


class NodeCacheReloadTest(unittest.TestCase):
    def setUp(self):
        exit_stack = contextlib.ExitStack()
        self.addCleanup(exit_stack.close)
        self.tmp = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="holdfast-nc-")))
        nsd = exit_stack.enter_context(h.Nsd(self.tmp, ttl=TTL, negative_ttl=TTL))
        self.proxy1 = exit_stack.enter_context(h.CountingProxy(nsd.port))
        self.proxy2 = exit_stack.enter_context(h.CountingProxy(nsd.port))
        self.port = h.free_port(("127.0.0.1",))
        self.port2 = h.free_port(("127.0.0.1",))
        self.base = self.tmp / "Corefile.base"
        self.base.write_text(base_block(self.port, self.proxy1.port))
        (self.tmp / "kube-dns").mkdir()

    def run_node_cache(self, *extra: str) -> h.Holdfast:
        daemon = h.Holdfast(self.tmp, "", name="node-cache", log_level="info", extra_args=[
            "-localip", "127.0.0.1", "-basecorefile", str(self.base),
            "-kubednscm", str(self.tmp / "kube-dns"), "-setupinterface=false",
            "-setupiptables=false", *extra])
        self.addCleanup(daemon.stop)
        daemon.start("127.0.0.1", self.port)
        return daemon

    def change_base_and_wait(self, daemon: h.Holdfast) -> float:
        """Warms the cache, changes the template (new forward target, a second port), and
        returns how long the new config took to be live. Cached names stay cached."""
        names = [h.svc_name(n, 1) for n in range(50)]
        for name in names:
            self.assertTrue(rs.answers(self.port, name), name)
        upstream = self.proxy1.count()
        self.base.write_text(base_block(self.port, self.proxy2.port) +
                             base_block(self.port2, self.proxy2.port, zone="example.test"))
        changed = time.monotonic()
        self.assertTrue(h.wait_until(lambda: self.listening(self.port2), 14), daemon.log())
        took = time.monotonic() - changed
        self.assertIn("bind 127.0.0.1", daemon.conf.read_text())
        self.assertIn(f"127.0.0.1:{self.proxy2.port}", daemon.conf.read_text())
        for name in names:
            self.assertTrue(rs.answers(self.port, name), name)
        self.assertEqual(self.proxy1.count(), upstream, "a cached answer was asked again")
        self.assertEqual(sum(self.proxy2.count(n) for n in names), 0,
                         "a cached answer was asked again")
        miss = "fresh-after-reload.cluster.local."
        h.udp("127.0.0.1", self.port, miss, "A")
        self.assertEqual(self.proxy2.count(miss), 1, "the new forward target is not used")
        self.assertEqual(len(rs.reload_lines(daemon)), 1, daemon.log())
        return took

    def listening(self, port: int) -> bool:
        try:
            h.udp("127.0.0.1", port, "a.example.test.", "A", timeout=0.2)
            return True
        except Exception:
            return False

    def test_a_changed_basecorefile_is_live_within_eleven_seconds(self):
        daemon = self.run_node_cache()
        took = self.change_base_and_wait(daemon)
        print(f"\nnode-cache: live {took:.2f} s after the template changed", file=sys.stderr)
        self.assertLessEqual(took, 11.5)
        self.assertFalse(rs.log_lines(daemon, "sending SIGUSR1"))
        self.assertEqual(daemon.stop(), 0, "not a clean exit")

    def test_reloadwithsignal_reloads_through_sigusr1(self):
        daemon = self.run_node_cache("-reloadwithsignal")
        took = self.change_base_and_wait(daemon)
        print(f"\nnode-cache -reloadwithsignal: live {took:.2f} s after the template changed",
              file=sys.stderr)
        self.assertLessEqual(took, 11.5)
        self.assertTrue(rs.log_lines(daemon, "sending SIGUSR1"), daemon.log())
        self.assertTrue(rs.log_lines(daemon, "SIGUSR1: reloading"), daemon.log())
        self.assertEqual(daemon.stop(), 0, "not a clean exit")


if __name__ == "__main__":
    h.main()
