#!/usr/bin/python3
"""A full disk under the store (issue 11): the daemon keeps answering from memory, says so in its
log and in `holdfast_store_state`, and resumes writing by itself once there is room again.

The state directory is a 4 MiB tmpfs mounted by the test (root only; skipped with the reason when
the kernel refuses the mount) and unmounted at cleanup. A filler file takes every free byte, so
the store's next commits fail with ENOSPC. New names are still answered (and answered again from
memory with the upstream blackholed), the store state goes to `read_only` (what it holds is still
served, nothing is written). Then space comes back
— the filler is deleted, or the tmpfs is grown with `mount -o remount,size=` — and without any
signal or restart the store is `open` again and new answers are written: a restart with the
upstream blackholed answers them from the store."""
import contextlib
import errno
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path
from typing import Callable

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.rcode  # noqa: E402

import faultstack as fs  # noqa: E402
import harness as h  # noqa: E402

TMPFS_SIZE = "4m"
GROWN_SIZE = "16m"
FLUSH_MS = 50
RESUME_TIMEOUT_S = 15.0   # the store checks for room again every 5 s
FULL_TIMEOUT_S = 10.0


def mount_tmpfs(path: Path, size: str) -> str:
    """Mounts a tmpfs of `size` on `path`; returns why not ("" when mounted)."""
    if os.geteuid() != 0:
        return "needs root to mount a tmpfs"
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                          capture_output=True, text=True, timeout=10)
    return "" if done.returncode == 0 else f"mount -t tmpfs failed: {done.stderr.strip()}"


def unmount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True, timeout=10).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=10)


def fill(directory: Path) -> int:
    """Writes a filler file until the file system is full; returns its size in bytes."""
    chunk = b"\0" * 65536
    written = 0
    with open(directory / "filler", "wb", buffering=0) as f:
        for _ in range(100_000):  # bounded: 6 GiB at most
            try:
                written += f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
    return written


class StoreFullDiskTest(unittest.TestCase):
    def setUp(self):
        exit_stack = contextlib.ExitStack()
        self.addCleanup(exit_stack.close)
        self.tmp = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="holdfast-full-")))
        self.state = self.tmp / "state"
        self.state.mkdir()
        why = mount_tmpfs(self.state, TMPFS_SIZE)
        if why:
            self.skipTest(why)
        exit_stack.callback(unmount, self.state)  # after the daemons (cleanups run last-in first-out)
        self.nsd = exit_stack.enter_context(fs.Nsd(self.tmp))
        self.fault = exit_stack.enter_context(fs.FaultProxy(self.tmp, self.nsd.port))
        self.port = h.free_port(("127.0.0.1",))
        self.metrics_port = h.free_port(("127.0.0.1",))
        self.corefile = fs.stale_corefile(
            self.port, self.fault.port,
            persist=f"{self.state / 'store'} {{\n        flush {FLUSH_MS}ms\n    }}").replace(
                "    errors\n", f"    errors\n    prometheus 127.0.0.1:{self.metrics_port}\n")

    def start(self, label: str) -> h.Holdfast:
        daemon = fs.start_holdfast(self.tmp, self.corefile, self.port, name=f"holdfast-{label}")
        self.addCleanup(daemon.stop)
        return daemon

    def metric(self, name: str, **labels) -> float:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
            return h.sample(r.read().decode(), name, **labels)

    def ctl_stats(self, daemon: h.Holdfast) -> dict:
        ctl = str(Path(h.holdfast_bin()).with_name("holdfastctl"))
        r = subprocess.run([ctl, "--state-dir", str(daemon.state_dir), "--json", "stats"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def store_state(self) -> str:
        for state in ("open", "read_only", "memory_only", "closed"):
            if self.metric("holdfast_store_state", state=state) == 1:
                return state
        return "none"

    def assert_answered(self, qnames: list[str], what: str) -> None:
        replies = fs.ask_all(self.port, [(q, "A") for q in qnames], rate=fs.WARM_RATE)
        bad = [f"{r.qname}: {fs.rcode_text(r)}" for r in replies
               if r.rcode != dns.rcode.NOERROR or fs.rdatas(r.msg) != [h.WILD_A]]
        self.assertEqual(len(replies), len(qnames))
        self.assertEqual(bad[:10], [], f"{what}: {len(bad)} of {len(qnames)} not answered")

    def full_then_room_again(self, make_room: Callable[[], str]) -> None:
        daemon = self.start("first")
        before = [h.wild_name(f"before-{i}") for i in range(300)]
        self.assert_answered(before, "before the disk fills")
        self.assertTrue(h.wait_until(lambda: self.metric("holdfast_store_entries") >= len(before), 5))
        self.assertEqual(self.store_state(), "open")

        filler = fill(self.state)
        during = [h.wild_name(f"during-{i}") for i in range(3000)]
        self.assert_answered(during, "while the disk is full")
        self.assertTrue(h.wait_until(lambda: self.store_state() == "read_only", FULL_TIMEOUT_S),
                        f"store state {self.store_state()}\n{daemon.log()}")
        full = fs.log_lines(daemon, "the disk is full")
        self.assertEqual(len(full), 1, daemon.log())
        # ENOSPC, or EIO: LMDB's report of a write the full disk cut short (which of the two
        # depends on how much room the last write found). Either way the filesystem says how
        # little is left.
        self.assertRegex(full[0], r"write failed \((No space left on device|Input/output error); "
                                  r"\d+ KiB free\)")
        free_kib = int(re.search(r"; (\d+) KiB free", full[0]).group(1))
        self.assertLess(free_kib, 1024, full[0])
        self.assertGreaterEqual(self.metric("holdfast_store_errors_total", kind="write"), 1)
        # The operator's view agrees, and still counts what the store holds.
        stats = self.ctl_stats(daemon)
        self.assertEqual(stats["store"]["state"], "read_only", stats)
        self.assertGreaterEqual(stats["store"]["entries"], len(before), stats)
        self.fault.set_rules("blackhole")
        self.assert_answered(during[-500:], "from memory, upstream blackholed, disk full")
        self.fault.set_rules("pass")

        how = make_room()
        made_room = time.monotonic()
        self.assertTrue(h.wait_until(lambda: self.store_state() == "open", RESUME_TIMEOUT_S),
                        f"store state {self.store_state()} {RESUME_TIMEOUT_S} s after {how}\n"
                        f"{daemon.log()}")
        resumed_after = time.monotonic() - made_room
        self.assertEqual(len(fs.log_lines(daemon, "persistence is back")), 1, daemon.log())
        written = self.metric("holdfast_store_writes_total")
        after = [h.wild_name(f"after-{i}") for i in range(300)]
        self.assert_answered(after, "after the disk has room again")
        self.assertTrue(h.wait_until(
            lambda: self.metric("holdfast_store_writes_total") >= written + len(after), 5))
        self.assertEqual(daemon.stop(), 0)

        self.fault.set_rules("blackhole")
        restarted = self.start("restarted")
        self.assert_answered(before + after, "after a restart, from the store only")
        self.assertEqual(fs.log_lines(restarted, "moved it aside"), [])
        print(f"\n  {TMPFS_SIZE} tmpfs, filler {filler / 1048576:.1f} MiB: 3000 answers while full, "
              f"store read_only; {how}: open again {resumed_after:.1f} s later; "
              f"{len(before) + len(after)} names answered from the store after a restart",
              file=sys.stderr)

    def test_store_resumes_by_itself_when_the_filler_file_is_deleted(self):
        def delete_filler() -> str:
            (self.state / "filler").unlink()
            return "filler deleted"
        self.full_then_room_again(delete_filler)

    def test_store_resumes_by_itself_when_the_tmpfs_is_grown(self):
        def grow() -> str:
            subprocess.run(["mount", "-o", f"remount,size={GROWN_SIZE}", str(self.state)],
                           check=True, capture_output=True, timeout=10)
            return f"tmpfs grown to {GROWN_SIZE}"
        self.full_then_room_again(grow)


if __name__ == "__main__":
    h.main()
