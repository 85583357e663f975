#!/usr/bin/python3
"""Hand-over and address ownership (the DaemonSet's maxSurge rollout, an upgrade on bare metal).

- A foreign socket cannot take Holdfast's address: a process of another user with SO_REUSEADDR or
  SO_REUSEPORT gets EADDRINUSE, and Holdfast keeps receiving every query.
- Holdfast refuses to start on a UDP port another program holds, and an accidental second start
  (no --takeover) exits with a clear error while the first keeps serving.
- Zero-drop hand-over: under 20 s of steady load at 5,000 q/s, a second Holdfast starts with
  --takeover on the same address and store, takes the traffic, the first gets SIGTERM: no query
  is lost, and the second answers the cached names from the store without asking the upstream.
- A rollback (the new instance stopped first) gives the traffic back without a loss.
- kill -9 and an immediate restart: the loss is measured and reported, the restart answers from
  the warm store within a second."""
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
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

LOAD_QPS = 5000
HANDOVER_SECONDS = 20
READY_PROBE = ("cluster.local.", "SOA")


def bind_as(user: str, kind: str, option: str, port: int) -> int:
    """Tries to bind 127.0.0.1:port (kind udp/tcp) with `option` (reuseaddr/reuseport/none) as
    `user`; returns 0 when the bind succeeded, else the errno."""
    script = (
        "import errno, socket, sys\n"
        f"s = socket.socket(socket.AF_INET, socket.SOCK_{'DGRAM' if kind == 'udp' else 'STREAM'})\n"
        f"opt = {{'reuseaddr': socket.SO_REUSEADDR, 'reuseport': socket.SO_REUSEPORT}}.get('{option}')\n"
        "if opt is not None: s.setsockopt(socket.SOL_SOCKET, opt, 1)\n"
        "try:\n"
        f"    s.bind(('127.0.0.1', {port}))\n"
        f"    {'s.listen(1)' if kind == 'tcp' else 'pass'}\n"
        "    print(0)\n"
        "except OSError as e:\n"
        "    print(e.errno)\n")
    argv = ["/usr/bin/python3", "-c", script]
    if user != "root":
        argv = [h.SETPRIV, f"--reuid={user}", f"--regid={user if user != 'nobody' else 'nogroup'}",
                "--clear-groups", "--", *argv]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=True).stdout
    return int(out.strip())


def corefile(port: int, upstream_port: int, store: Path) -> str:
    text = h.corefile(port, upstream_port, bind=["127.0.0.1"], success=(9984, 3600),
                      extra=f"    persist {store} {{\n        flush 100ms\n    }}\n")
    return text.replace("    log\n", "")  # 100,000 query lines would drown the logs


def dnsperf(port: int, names_file: Path, *, qps: int, seconds: int) -> subprocess.Popen:
    """Bounded steady load: `qps` for `seconds` over the names, each query waiting at most 2 s."""
    argv = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(names_file),
            "-l", str(seconds), "-Q", str(qps), "-c", "8", "-q", "500", "-t", "2"]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def perf_counts(out: str) -> tuple[int, int, int]:
    """(sent, completed, lost) from dnsperf's summary."""
    sent = int(re.search(r"Queries sent:\s+(\d+)", out).group(1))
    completed = int(re.search(r"Queries completed:\s+(\d+)", out).group(1))
    lost = int(re.search(r"Queries lost:\s+(\d+)", out).group(1))
    return sent, completed, lost


class HandoverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        cls.tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="holdfast-handover-")))
        cls.nsd = stack.enter_context(h.Nsd(cls.tmp))
        cls.names = [h.svc_name(n, m) for m in range(h.NAMESPACES) for n in range(h.SERVICES)]
        cls.names_file = cls.tmp / "names.txt"
        cls.names_file.write_text("".join(f"{q} A\n" for q in cls.names))

    def setUp(self):
        self.proxy = h.CountingProxy(self.nsd.port).start()
        self.addCleanup(self.proxy.stop)
        self.port = h.free_port(("127.0.0.1",))
        self.store = self.tmp / f"store-{self._testMethodName}"
        self.conf = corefile(self.port, self.proxy.port, self.store)

    def daemon(self, label: str, *extra: str) -> h.Holdfast:
        d = h.Holdfast(self.tmp, self.conf, name=f"hf-{self._testMethodName[5:20]}-{label}",
                       log_level="info", extra_args=extra)
        self.addCleanup(d.stop)
        return d

    def warm(self) -> None:
        """Every name cached and flushed to the store."""
        for start in range(0, len(self.names), 200):
            for name in self.names[start:start + 200]:
                self.assertEqual(h.udp("127.0.0.1", self.port, name, "A").rcode(), 0, name)
        time.sleep(0.5)

    def wait_log(self, daemon: h.Holdfast, text: str, timeout: float = 10.0) -> None:
        self.assertTrue(h.wait_until(lambda: text in daemon.log(), timeout),
                        f"no '{text}' in the log:\n{daemon.log()}")

    # --- ownership of the address ---------------------------------------------------------------
    def test_foreign_socket_cannot_take_the_address(self):
        a = self.daemon("a").start("127.0.0.1", self.port, READY_PROBE)
        for kind in ("udp", "tcp"):
            for option in ("reuseaddr", "reuseport"):
                with self.subTest(kind=kind, option=option):
                    self.assertEqual(bind_as("nobody", kind, option, self.port), 98,
                                     f"nobody bound {kind} {option} on Holdfast's port")
        # Root without SO_REUSEPORT cannot join either (no SO_REUSEADDR sharing on UDP).
        self.assertEqual(bind_as("root", "udp", "reuseaddr", self.port), 98)
        answered = sum(1 for i in range(200)
                       if h.udp("127.0.0.1", self.port, self.names[i], "A").rcode() == 0)
        self.assertEqual(answered, 200)
        self.assertTrue(a.process.running())

    def test_start_on_a_udp_port_another_program_holds_fails(self):
        holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(holder.close)
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", self.port))
        d = self.daemon("held")
        d.start()
        self.assertTrue(h.wait_until(lambda: not d.process.running(), 10), "holdfast kept running")
        self.assertNotEqual(d.process.proc.returncode, 0)
        self.assertIn(f"cannot listen on udp 127.0.0.1:{self.port}: the address is in use", d.log())

    def test_accidental_second_start_exits_with_a_clear_error(self):
        a = self.daemon("a").start("127.0.0.1", self.port, READY_PROBE)
        b = self.daemon("b")
        b.start()
        self.assertTrue(h.wait_until(lambda: not b.process.running(), 10), "second start kept running")
        self.assertNotEqual(b.process.proc.returncode, 0)
        self.assertIn("the address is in use", b.log())
        self.assertIn("--takeover", b.log())
        self.assertTrue(a.process.running())
        self.assertEqual(h.udp("127.0.0.1", self.port, self.names[0], "A").rcode(), 0)

    # --- hand-over --------------------------------------------------------------------------------
    def test_handover_under_load_loses_nothing(self):
        a = self.daemon("a").start("127.0.0.1", self.port, READY_PROBE)
        self.warm()
        self.proxy.reset()
        load = dnsperf(self.port, self.names_file, qps=LOAD_QPS, seconds=HANDOVER_SECONDS)
        time.sleep(5)
        b = self.daemon("b", "--takeover")
        b_started = time.monotonic()
        b.start()
        self.wait_log(b, "hand-over: new queries now come to this instance on udp")
        took_over = time.monotonic() - b_started
        time.sleep(3)
        a.process.signal(signal.SIGTERM)
        self.assertTrue(h.wait_until(lambda: not a.process.running(), 10), "old instance kept running")
        out, _ = load.communicate(timeout=HANDOVER_SECONDS + 30)
        sent, completed, lost = perf_counts(out)
        print(f"\nhand-over under {LOAD_QPS} q/s for {HANDOVER_SECONDS} s: sent {sent}, completed "
              f"{completed}, lost {lost}; the new instance took the traffic {took_over:.2f} s "
              f"after its start; upstream queries during the run: {self.proxy.count()}",
              file=sys.stderr)
        self.assertGreater(sent, LOAD_QPS * HANDOVER_SECONDS * 0.9)
        self.assertEqual(lost, 0, out)
        # The second instance answered the cached names from the shared store.
        self.assertEqual(self.proxy.count(), 0)
        self.assertTrue(b.process.running())
        self.assertEqual(h.udp("127.0.0.1", self.port, self.names[1], "A").rcode(), 0)
        self.assertEqual(h.tcp("127.0.0.1", self.port, self.names[2], "A").rcode(), 0)

    def test_rollback_gives_the_traffic_back(self):
        a = self.daemon("a").start("127.0.0.1", self.port, READY_PROBE)
        self.warm()
        load = dnsperf(self.port, self.names_file, qps=2000, seconds=8)
        time.sleep(2)
        b = self.daemon("b", "--takeover")
        b.start()
        self.wait_log(b, "hand-over: new queries now come to this instance on udp")
        time.sleep(2)
        b.process.signal(signal.SIGTERM)
        self.assertTrue(h.wait_until(lambda: not b.process.running(), 10))
        self.assertIn("hand-over: new queries go back to the older instance on udp", b.log())
        out, _ = load.communicate(timeout=40)
        sent, completed, lost = perf_counts(out)
        print(f"\nrollback under 2000 q/s: sent {sent}, lost {lost}", file=sys.stderr)
        self.assertEqual(lost, 0, out)
        self.assertTrue(a.process.running())

    def test_kill9_and_restart_answers_from_the_store_within_a_second(self):
        a = self.daemon("a").start("127.0.0.1", self.port, READY_PROBE)
        self.warm()
        self.proxy.reset()
        load = dnsperf(self.port, self.names_file, qps=LOAD_QPS, seconds=10)
        time.sleep(3)
        a.process.signal(signal.SIGKILL)
        self.assertTrue(h.wait_until(lambda: not a.process.running(), 5))
        killed = time.monotonic()
        b = self.daemon("b")
        b.start()

        def answers() -> bool:
            try:
                return h.udp("127.0.0.1", self.port, self.names[7], "A", timeout=0.05).rcode() == 0
            except Exception:
                return False

        self.assertTrue(h.wait_until(answers, 5, interval=0.01))
        first_answer = time.monotonic() - killed
        out, _ = load.communicate(timeout=40)
        sent, completed, lost = perf_counts(out)
        print(f"\nkill -9 + restart under {LOAD_QPS} q/s: first answer {first_answer * 1000:.0f} ms "
              f"after the kill; sent {sent}, lost {lost} ({100.0 * lost / sent:.2f} %); upstream "
              f"queries: {self.proxy.count()}", file=sys.stderr)
        self.assertLess(first_answer, 1.0)
        self.assertLess(lost, LOAD_QPS * 1.0, "more than a second of queries lost")
        self.assertLess(self.proxy.count(), 50, "the restart did not answer from the store")


if __name__ == "__main__":
    h.main()
