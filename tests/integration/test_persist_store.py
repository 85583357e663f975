#!/usr/bin/python3
"""The LMDB store under stress: filled far past its `size` it evicts, stays under the size and
the daemon keeps serving; a damaged data file is moved aside (DIR/corrupt-<time>/) with an error
logged and the daemon starts on an empty store; `kill -9` in the middle of a write burst leaves a
store that opens cleanly with everything flushed before the kill. One NSD (TTL 30) is shared;
every test runs its own dnsfault and holdfasts on its own store."""
import contextlib
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time
import unittest
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.rcode  # noqa: E402

import faultstack as fs  # noqa: E402
import harness as h  # noqa: E402

STORE_SIZE = 2 * 1024 * 1024  # `size 2MiB`: room for about 7,500 NXDOMAIN answers
FILL_COUNT = 20_000
BURST_COUNT = 8000            # 2 s of writes at FILL_RATE; the kill comes at 0.7 s
# Misses per second, bounded: 500 at once overflow socket buffers on loopback, and the upstream
# timeouts that follow would open the circuit.
FILL_RATE = 4000
FLUSHED_WAIT = 0.5            # `flush 100ms`: well past one batch
# A flood of misses is what this file is about, not upstream_limits.
OPEN_LIMITS = {"max_inflight": 2000, "qps": 1_000_000, "burst": 1_000_000}


def fill_names(prefix: str, count: int) -> list[tuple[str, str]]:
    return [(f"{prefix}-{i}.ns-{i % 10}.svc.cluster.local.", "A") for i in range(count)]


def send_at_rate(port: int, wires: list[bytes], rate: float, stop: threading.Event) -> None:
    """Sends `wires` to 127.0.0.1:port at `rate` a second, ignoring the replies, until done or
    `stop` is set (the daemon was killed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("127.0.0.1", port))
        start = time.monotonic()
        for i, wire in enumerate(wires):
            if stop.is_set():
                return
            time.sleep(max(0.0, start + i / rate - time.monotonic()))
            with contextlib.suppress(OSError):
                s.send(wire)


class PersistStoreTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        exit_stack = contextlib.ExitStack()
        cls.addClassCleanup(exit_stack.close)
        cls.tmp = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="holdfast-persist-")))
        cls.nsd = exit_stack.enter_context(fs.Nsd(cls.tmp))

    def setUp(self):
        self.fault = fs.FaultProxy(self.tmp, self.nsd.port,
                                   name=f"dnsfault-{self._testMethodName}").start()
        self.addCleanup(self.fault.stop)
        self.store = self.tmp / f"store-{self._testMethodName}"

    def holdfast(self, label: str, size: str = "1GiB",
                 persist_extra: str = "") -> tuple[h.Holdfast, int]:
        port = h.free_port(("127.0.0.1",))
        corefile = fs.stale_corefile(
            port, self.fault.port, limits=OPEN_LIMITS,
            persist=f"{self.store} {{\n        size {size}\n        flush 100ms\n"
                    f"{persist_extra}    }}")
        daemon = fs.start_holdfast(self.tmp, corefile, port,
                                   name=f"holdfast-{self._testMethodName}-{label}")
        self.addCleanup(daemon.stop)
        return daemon, port

    def assert_answered(self, port: int, questions, rcode=dns.rcode.NOERROR) -> None:
        replies = fs.ask_all(port, questions, rate=fs.WARM_RATE)
        bad = [f"{r.qname}: {fs.rcode_text(r)}" for r in replies if r.rcode != rcode]
        self.assertEqual(bad[:10], [], f"{len(bad)} of {len(replies)}")

    # --- size -------------------------------------------------------------------------------------
    def test_a_store_filled_far_past_its_size_stays_under_it_and_the_daemon_keeps_serving(self):
        daemon, port = self.holdfast("fill", size="2MiB")
        replies = fs.ask_all(port, fill_names("fill", FILL_COUNT), rate=FILL_RATE, timeout=3.0)
        answered = sum(1 for r in replies if r.rcode == dns.rcode.NXDOMAIN)
        time.sleep(FLUSHED_WAIT)
        data = (self.store / "data.mdb").stat().st_size
        print(f"\n  store fill: {answered} of {FILL_COUNT} answers into a {STORE_SIZE // 1024} KiB "
              f"store; data.mdb {data // 1024} KiB; holdfast RSS {fs.rss_kib(daemon.pid) // 1024} MiB",
              file=sys.stderr)
        self.assertGreater(answered, FILL_COUNT * 0.99)
        self.assertLessEqual(data, STORE_SIZE)
        self.assertTrue(daemon.process.running())
        self.assert_answered(port, fs.all_services()[:200])
        self.assertNotIn("memory-only", daemon.log())

    def test_after_a_fill_past_its_size_the_newest_answers_are_still_in_the_store(self):
        # The fill is NXDOMAINs: `negative_max 100%` lifts their budget (10 % by default) so that
        # what is measured is eviction, which keeps the newest.
        no_budget = "        negative_max 100%\n"
        first, port = self.holdfast("fill", size="2MiB", persist_extra=no_budget)
        names = fill_names("newest", FILL_COUNT)
        fs.ask_all(port, names, rate=FILL_RATE, timeout=3.0)
        time.sleep(FLUSHED_WAIT)
        self.assertEqual(first.stop(), 0)
        self.fault.set_rules("blackhole")  # only the store can answer now
        second, port = self.holdfast("reopened", size="2MiB", persist_extra=no_budget)
        self.assert_answered(port, names[-500:], dns.rcode.NXDOMAIN)
        log = second.log()
        self.assertNotIn("moved it aside", log)
        kept = re.search(r"persist .*: (\d+) entries, (\d+) KiB of (\d+) KiB used", log)
        self.assertIsNotNone(kept, log)
        print(f"\n  reopened after a fill of {FILL_COUNT}: {kept.group(1)} entries, "
              f"{kept.group(2)} KiB of {kept.group(3)} KiB", file=sys.stderr)
        self.assertLess(int(kept.group(1)), FILL_COUNT // 2, "far more than fit must have been asked")

    # --- negative budget --------------------------------------------------------------------------
    def test_a_flood_of_random_nxdomains_stays_under_negative_max_and_keeps_every_positive(self):
        # Water torture: the names that matter first, then 20,000 random names under the real zone
        # (each NXDOMAIN) against `negative_max 512KiB`; the store is reopened with the upstream
        # gone, so every answer comes from the store.
        first, port = self.holdfast("flood", size="64MiB",
                                    persist_extra="        negative_max 512KiB\n")
        positives = fs.all_services()[:500]
        self.assert_answered(port, positives)
        time.sleep(FLUSHED_WAIT)
        replies = fs.ask_all(port, fill_names("junk", FILL_COUNT), rate=FILL_RATE, timeout=3.0)
        nxdomains = sum(1 for r in replies if r.rcode == dns.rcode.NXDOMAIN)
        time.sleep(FLUSHED_WAIT)
        self.assertEqual(first.stop(), 0)
        self.assertIn("negative answers reached negative_max (512 KiB)", first.log())
        self.fault.set_rules("blackhole")
        second, port = self.holdfast("reopened", size="64MiB",
                                     persist_extra="        negative_max 512KiB\n")
        self.assert_answered(port, positives)
        kept = re.search(r"persist .*: (\d+) entries, (\d+) KiB of (\d+) KiB used "
                         r"\((\d+) KiB by negative answers\)", second.log())
        self.assertIsNotNone(kept, second.log())
        entries, negative_kib = int(kept.group(1)), int(kept.group(4))
        print(f"\n  negative_max 512KiB after {nxdomains} NXDOMAIN answers: {entries} entries "
              f"(500 positive), {negative_kib} KiB negative, {kept.group(2)} KiB of "
              f"{kept.group(3)} KiB used", file=sys.stderr)
        self.assertGreater(nxdomains, FILL_COUNT * 0.99)
        self.assertLessEqual(negative_kib, 512)
        self.assertGreater(negative_kib, 256)  # the budget is used, not refused from the start
        self.assertLess(entries, 500 + FILL_COUNT // 4)

    # --- damage -----------------------------------------------------------------------------------
    def test_a_corrupted_data_file_is_moved_aside_logged_and_the_daemon_starts_empty(self):
        first, port = self.holdfast("first")
        warmed = fs.all_services()[:100]
        self.assert_answered(port, warmed)
        self.assertEqual(first.stop(), 0)
        data_file = self.store / "data.mdb"
        blob = bytearray(data_file.read_bytes())
        target = fs.name_wire(warmed[5][0])  # in its key and in its stored answer
        hits = 0
        at = blob.find(target)
        while at >= 0:
            blob[at + 1:at + len(target) - 1] = b"\xff" * (len(target) - 2)
            hits += 1
            at = blob.find(target, at + 1)
        self.assertGreaterEqual(hits, 1, "the name is not in data.mdb")
        data_file.write_bytes(bytes(blob))

        second, port = self.holdfast("second")  # started and answering: that is the first check
        aside = sorted(self.store.glob("corrupt-*"))
        self.assertEqual(len(aside), 1, f"nothing moved aside in {list(self.store.iterdir())}")
        self.assertTrue((aside[0] / "data.mdb").exists())
        self.assertIn("moved it aside", second.log())
        self.assertRegex(second.log(), r"error .*persist .*moved it aside to .*corrupt-\d+")
        self.assertRegex(second.log(), r"persist .*: 0 entries")
        self.fault.set_rules("blackhole")
        # SERVFAIL after 2 s, or 4 s when the timeout is taken for a lost datagram and the
        # question sent once more (README, "Upstream protection").
        r = h.udp("127.0.0.1", port, h.svc_name(6, 6), "A", timeout=6.0)
        self.assertEqual(r.rcode(), dns.rcode.SERVFAIL, "the new store must start empty")

    def test_a_read_only_state_dir_serves_what_the_store_holds(self):
        """The store's directory mounted read-only (a mount namespace of the daemon's own): the
        daemon opens the store read-only, says so in the log, /ready and the metrics, and with the
        upstream down answers every name the store holds."""
        first, port = self.holdfast("first")
        warmed = fs.all_services()[:50]
        self.assert_answered(port, warmed)
        self.assertEqual(first.stop(), 0)
        self.fault.set_rules("blackhole")

        port = h.free_port(("127.0.0.1",))
        metrics = h.free_port(("127.0.0.1",))
        corefile = fs.stale_corefile(
            port, self.fault.port, limits=OPEN_LIMITS,
            persist=f"{self.store} {{\n        flush 100ms\n    }}").replace(
                "    errors\n", f"    errors\n    prometheus 127.0.0.1:{metrics}\n")
        daemon = h.Holdfast(self.tmp, corefile, name="holdfast-read-only", log_level="info")
        self.addCleanup(daemon.stop)
        store = str(self.store)
        daemon.process.argv = [
            "unshare", "-m", "sh", "-c",
            f"mount --make-rprivate / && mount --bind {store} {store} && "
            f"mount -o remount,bind,ro {store} && exec \"$@\"", "sh", *daemon.process.argv]
        daemon.start("127.0.0.1", port, fs.LOCAL_PROBE)
        replies = fs.ask_all(port, warmed)
        answered = [r for r in replies if r.rcode == dns.rcode.NOERROR and r.msg.answer]
        self.assertEqual(len(answered), len(warmed), "names held by the read-only store not served")
        self.assertRegex(daemon.log(), r"error .*persist .*read-only.*serving the 50 answers it "
                                       r"holds, writing nothing")
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=5) as r:
            text = r.read().decode()
        self.assertIn('holdfast_store_state{state="read_only"} 1', text)
        self.assertEqual(daemon.stop(), 0)

    def test_kill_9_during_a_write_burst_leaves_a_store_that_opens_with_what_was_flushed(self):
        first, port = self.holdfast("first")
        flushed = fs.all_services()
        self.assert_answered(port, flushed)
        time.sleep(FLUSHED_WAIT)
        burst = [h.make_query(q, t).to_wire() for q, t in fill_names("burst", BURST_COUNT)]
        stop = threading.Event()
        sender = threading.Thread(target=send_at_rate, args=(port, burst, FILL_RATE, stop),
                                  daemon=True)
        sender.start()
        time.sleep(0.7)  # the writer is committing batches of the burst
        first.process.signal(signal.SIGKILL)
        self.assertEqual(first.process.wait(5), -signal.SIGKILL)
        stop.set()
        sender.join(5)
        self.fault.set_rules("blackhole")
        second, port = self.holdfast("second")
        log = second.log()
        self.assertNotIn("moved it aside", log)
        self.assertNotIn("memory-only", log)
        kept = re.search(r"persist .*: (\d+) entries", log)
        self.assertIsNotNone(kept, log)
        print(f"\n  kill -9 mid-burst: the store reopened with {kept.group(1)} entries "
              f"({len(flushed)} flushed before the burst)", file=sys.stderr)
        # Part of the burst was committed, not all of it: the kill landed in the middle of it.
        self.assertGreater(int(kept.group(1)), len(flushed), log)
        self.assertLess(int(kept.group(1)), len(flushed) + BURST_COUNT, log)
        self.assert_answered(port, flushed)

if __name__ == "__main__":
    h.main()
