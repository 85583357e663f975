#!/usr/bin/python3
"""The break-glass admin socket, driven with holdfastctl against a running daemon with a real
upstream (NSD behind dnsfault): stats, lookup, dump and flush; a pin survives eviction, expiry
and a restart; `stale-mode force` sends zero upstream queries for cached names (counted at
dnsfault) and survives a restart; `upstream down|up` by hand; a snapshot exported from one daemon
and imported into a fresh one lets it answer every name with its upstream down, while a
truncated or corrupted snapshot is refused whole; a caller with another uid is refused."""
import contextlib
import json
import os
import subprocess
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

NAMES = fs.all_services()[:100]


def ctl_bin() -> str:
    return str(Path(h.holdfast_bin()).with_name("holdfastctl"))


class AdminCtlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        exit_stack = contextlib.ExitStack()
        cls.addClassCleanup(exit_stack.close)
        cls.tmp = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="holdfast-ctl-")))
        cls.nsd = exit_stack.enter_context(fs.Nsd(cls.tmp))

    def setUp(self):
        name = self._testMethodName
        self.fault = fs.FaultProxy(self.tmp, self.nsd.port, name=f"dnsfault-{name}").start()
        self.addCleanup(self.fault.stop)

    def start(self, name: str = "", success: str = "9984 30 1", serve_stale: str = "72h verify"):
        # Short: the admin socket lives under the state dir, and a socket path has 107 bytes.
        name = name or "hf-" + "".join(w[0] for w in self._testMethodName.split("_")[1:])
        port = h.free_port(("127.0.0.1",))
        corefile = fs.stale_corefile(port, self.fault.port, success=success, serve_stale=serve_stale)
        daemon = h.Holdfast(self.tmp, corefile, name=name, log_level="info")
        self.addCleanup(daemon.stop)
        daemon.start("127.0.0.1", port, fs.LOCAL_PROBE)
        daemon.dns_port = port
        return daemon

    def restart(self, daemon):
        daemon.stop()
        again = h.Holdfast(self.tmp, daemon.conf.read_text(), name=daemon.dir.name, log_level="info")
        self.addCleanup(again.stop)
        again.start("127.0.0.1", daemon.dns_port, fs.LOCAL_PROBE)
        again.dns_port = daemon.dns_port
        return again

    def ctl(self, daemon, *args, check=True, user=None) -> subprocess.CompletedProcess:
        argv = [ctl_bin(), "--state-dir", str(daemon.state_dir), *args]
        if user:
            argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        if check:
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def ctl_json(self, daemon, *args) -> dict:
        return json.loads(self.ctl(daemon, "--json", *args).stdout)

    def test_stats_lookup_dump_and_flush_show_and_change_what_the_cache_holds(self):
        d = self.start()
        replies = fs.ask_all(d.dns_port, NAMES)
        self.assertTrue(all(r.rcode == dns.rcode.NOERROR for r in replies))
        time.sleep(0.5)  # the store's batches
        stats = self.ctl_json(d, "stats")
        self.assertEqual(stats["queries_total"], len(NAMES) + 1)  # + the readiness probe
        self.assertEqual(stats["blocks"][0]["cache_entries"], len(NAMES))
        self.assertEqual(stats["blocks"][0]["upstreams"][0]["state"], "up")
        table = self.ctl(d, "stats").stdout
        self.assertIn("stale mode auto", table)
        qname = NAMES[0][0]
        found = self.ctl_json(d, "lookup", qname, "A")
        self.assertEqual(len(found["entries"]), 1, found)
        entry = found["entries"][0]
        self.assertEqual((entry["source"], entry["state"]), ("memory", "fresh"))
        self.assertIn(f"{qname} 30 IN A {fs.svc_address(qname)}", entry["records"])
        dump = self.ctl_json(d, "dump", "--zone", "ns-0.svc.cluster.local")
        self.assertEqual(len(dump["entries"]), sum(1 for q, _ in NAMES if ".ns-0." in q))
        flushed = self.ctl_json(d, "flush", qname)
        self.assertEqual((flushed["removed"], flushed["removed_stored"]), (1, 1))
        time.sleep(0.5)  # the store deletes at its next batch
        self.assertEqual(self.ctl_json(d, "lookup", qname, "A")["entries"], [])
        self.assertEqual(self.ctl_json(d, "lookup", NAMES[1][0], "A")["entries"][0]["source"],
                         "memory", "only that name")
        flushed = self.ctl_json(d, "flush", "--all")
        self.assertEqual(flushed["removed"], len(NAMES) - 1)
        time.sleep(0.5)
        self.assertEqual(self.ctl_json(d, "lookup", NAMES[1][0], "A")["entries"], [])
        before = self.fault.stats()["queries_received"]
        r = fs.timed_sequential(d.dns_port, [NAMES[0]])[0]
        self.assertEqual(r.rcode, dns.rcode.NOERROR)
        self.assertEqual(self.fault.stats()["queries_received"], before + 1, "flushed: asked again")

    def test_a_pin_survives_eviction_expiry_and_a_restart(self):
        # A tiny cache, a 1 s TTL and 2 s of serve_stale: without the pin the name is gone.
        d = self.start(success="64 30 1", serve_stale="2s verify")
        pinned = NAMES[0]
        self.fault.set_rules("ttl 1")
        self.ctl(d, "pin", pinned[0], "A")
        self.assertEqual(fs.timed_sequential(d.dns_port, [pinned])[0].rcode, dns.rcode.NOERROR)
        fs.ask_all(d.dns_port, [(h.wild_name(f"evict-{i}"), "A") for i in range(500)])
        self.assertEqual(self.ctl_json(d, "lookup", pinned[0])["entries"][0]["source"], "memory")
        self.assertTrue(self.ctl_json(d, "lookup", pinned[0])["entries"][0]["pinned"])
        self.fault.set_rules("blackhole")
        time.sleep(4.0)  # past TTL (1 s) + max stale (2 s)
        r = fs.timed_sequential(d.dns_port, [pinned], timeout=3.0)[0]
        self.assertEqual(r.rcode, dns.rcode.NOERROR, "pinned: served past max stale")
        self.assertEqual(fs.rdatas(r.msg), [fs.svc_address(pinned[0])])
        other = fs.timed_sequential(d.dns_port, [NAMES[1]], timeout=3.0)[0]
        self.assertNotEqual(other.rcode, dns.rcode.NOERROR, "an unpinned name is gone")
        d = self.restart(d)
        r = fs.timed_sequential(d.dns_port, [pinned], timeout=3.0)[0]
        print(f"\n  pin after eviction, expiry and a restart with the upstream down: "
              f"{fs.rcode_text(r)} EDE {fs.ede_codes(r.msg)}", file=sys.stderr)
        self.assertEqual(r.rcode, dns.rcode.NOERROR)
        self.assertEqual(fs.rdatas(r.msg), [fs.svc_address(pinned[0])])
        self.assertTrue(self.ctl_json(d, "lookup", pinned[0])["entries"][0]["pinned"])
        self.assertFalse(self.ctl_json(d, "unpin", pinned[0], "A")["pinned"])
        self.assertFalse(self.ctl_json(d, "lookup", pinned[0])["entries"][0]["pinned"])
        self.assertEqual((d.state_dir / "pins").read_text(), "", "unpinned: gone from the file")

    def test_force_mode_sends_nothing_upstream_for_cached_names_and_survives_a_restart(self):
        d = self.start()
        self.fault.set_rules("ttl 1")
        fs.ask_all(d.dns_port, NAMES)
        time.sleep(2.2)
        self.fault.set_rules("pass")
        self.assertEqual(self.ctl_json(d, "stale-mode", "force")["mode"], "force")
        before = self.fault.stats()["queries_received"]
        replies = fs.ask_all(d.dns_port, NAMES)
        time.sleep(0.5)
        sent = self.fault.stats()["queries_received"] - before
        print(f"\n  force mode: {len(replies)} expired cached names answered, {sent} upstream "
              f"queries", file=sys.stderr)
        self.assertEqual(sent, 0)
        self.assertTrue(all(fs.ede_codes(r.msg) == [fs.EDE_STALE] for r in replies))
        miss = fs.timed_sequential(d.dns_port, [(h.wild_name("force-miss"), "A")])[0]
        self.assertEqual(miss.rcode, dns.rcode.NOERROR, "misses still go upstream")
        d = self.restart(d)
        self.assertEqual(self.ctl_json(d, "stale-mode")["mode"], "force")
        self.assertIn("force", self.ctl(d, "stats").stdout)
        self.assertEqual(self.ctl_json(d, "stale-mode", "auto")["mode"], "auto")

    def test_upstream_down_by_hand_serves_stale_and_up_brings_it_back(self):
        d = self.start()
        self.fault.set_rules("ttl 1")
        fs.ask_all(d.dns_port, NAMES[:10])
        time.sleep(2.2)
        self.fault.set_rules("pass")
        address = f"127.0.0.1:{self.fault.port}"
        listing = self.ctl_json(d, "upstream", "down", address)["upstreams"]
        self.assertEqual((listing[0]["state"], listing[0]["circuit"]), ("forced-down", "open"))
        before = self.fault.stats()["queries_received"]
        replies = fs.ask_all(d.dns_port, NAMES[:10])
        self.assertTrue(all(fs.ede_codes(r.msg) == [fs.EDE_STALE] for r in replies))
        time.sleep(1.5)
        self.assertEqual(self.fault.stats()["queries_received"], before, "nothing goes to it")
        self.assertEqual(self.ctl(d, "upstream", "down", "10.0.0.1:53", check=False).returncode, 1)
        self.assertEqual(self.ctl_json(d, "upstream", "up", address)["upstreams"][0]["state"], "up")
        r = fs.timed_sequential(d.dns_port, [NAMES[0]])[0]
        self.assertEqual(fs.ede_codes(r.msg), [], "fresh again")

    def test_a_snapshot_prewarms_a_fresh_daemon_and_a_damaged_one_is_refused_whole(self):
        source = self.start(name="hf-snap-src")
        fs.ask_all(source.dns_port, NAMES)
        time.sleep(0.5)  # the store's batches
        snap = self.tmp / "node.snap"
        exported = self.ctl_json(source, "snapshot", "export", str(snap))
        self.assertEqual(exported["entries"], len(NAMES))
        fresh = self.start(name="hf-snap-dst")
        data = snap.read_bytes()
        for label, damaged in (("truncated", data[: len(data) // 2]),
                               ("corrupted", data[:100] + bytes([data[100] ^ 0x40]) + data[101:])):
            bad = self.tmp / f"{label}.snap"
            bad.write_bytes(damaged)
            r = self.ctl(fresh, "snapshot", "import", str(bad), check=False)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("snapshot", r.stderr)
            self.assertEqual(self.ctl_json(fresh, "dump")["entries"], [])
        imported = self.ctl_json(fresh, "snapshot", "import", str(snap))
        self.assertEqual(imported["imported"], len(NAMES))
        self.fault.set_rules("blackhole")
        replies = fs.ask_all(fresh.dns_port, NAMES, timeout=3.0)
        ok = [r for r in replies if r.rcode == dns.rcode.NOERROR
              and fs.rdatas(r.msg) == [fs.svc_address(r.qname)]]
        print(f"\n  snapshot of {exported['entries']} entries ({exported['bytes']} bytes): "
              f"imported {imported['imported']}; {len(ok)} of {len(NAMES)} answered with the "
              f"upstream down", file=sys.stderr)
        self.assertEqual(len(ok), len(NAMES))

    def test_a_caller_with_another_uid_is_refused(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to run holdfastctl as another user")
        d = self.start()
        os.chmod(d.state_dir, 0o755)  # let nobody reach the socket file: the daemon must say no
        sock = d.state_dir / "admin.sock"
        os.chmod(sock, 0o666)
        r = self.ctl(d, "stats", check=False, user="65534")
        print(f"\n  uid 65534: exit {r.returncode}: {r.stderr.strip()}", file=sys.stderr)
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)


if __name__ == "__main__":
    h.main()
