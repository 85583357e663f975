"""Processes and ports for the integration tests: free loopback ports reserved across parallel
test processes, and child processes that are always stopped by PID, pass or fail."""
from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, Optional

SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"

# ------------------------------------------------------------------------------------------------
# Free ports
# ------------------------------------------------------------------------------------------------
# Ports come from below the kernel's ephemeral range, so that no client socket (dig, c-ares, the
# proxy's upstream sockets) can be handed the same number between our check and the daemon's
# bind; each is reserved across processes with an flock on /tmp/holdfast-test-ports/PORT.lock
# that lives as long as this process (released by the kernel even on SIGKILL), so test files that
# ctest runs in parallel never pick the same port, even though the daemons may use SO_REUSEPORT.

_port_locks: list[int] = []
_LOOPBACKS = ("127.0.0.1", "::1")


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int, hosts: Iterable[str]) -> bool:
    socks = []
    try:
        for host in hosts:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(family, kind)
                socks.append(s)
                if family == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def free_port(hosts: Iterable[str] = _LOOPBACKS) -> int:
    """A port free for UDP and TCP on every host in `hosts`, reserved for this process."""
    hosts = tuple(hosts)
    lock_dir = Path(tempfile.gettempdir()) / "holdfast-test-ports"
    lock_dir.mkdir(exist_ok=True)
    low, high = 20000, max(20001, _ephemeral_low() - 1)
    for _ in range(500):
        port = random.randint(low, high)
        fd = os.open(lock_dir / f"{port}.lock", os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        if _bindable(port, hosts):
            _port_locks.append(fd)
            return port
        os.close(fd)
    raise RuntimeError("no free port found")


# ------------------------------------------------------------------------------------------------
# Processes
# ------------------------------------------------------------------------------------------------
_live: dict[int, "ManagedProcess"] = {}
_finished_logs: list[tuple[str, str]] = []  # (label, text) of every stopped process, for failures


class ManagedProcess:
    """A child started with setsid + parent-death SIGKILL, output to a log file, stopped by PID."""

    def __init__(self, label: str, argv: list[str], log_path: Path, cwd: Optional[Path] = None):
        self.label = label
        self.argv = argv
        self.log_path = log_path
        self.cwd = cwd
        self.proc: Optional[subprocess.Popen] = None
        self.returncode: Optional[int] = None
        self.stop_seconds: Optional[float] = None
        self.log_text = ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> "ManagedProcess":
        assert threading.current_thread() is threading.main_thread(), \
            "start processes from the main thread (the parent-death signal follows the thread)"
        log = open(self.log_path, "wb")
        try:
            # setpriv execs in place: the PID we hold is the daemon's own.
            self.proc = subprocess.Popen([SETPRIV, "--pdeathsig", "KILL", "--", *self.argv],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         cwd=self.cwd, start_new_session=True)
        finally:
            log.close()
        _live[self.proc.pid] = self
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def read_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return self.log_text

    def signal(self, sig: int) -> None:
        if self.running():
            os.kill(self.pid, sig)

    def wait(self, timeout: float) -> Optional[int]:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, term_timeout: float = 5.0) -> Optional[int]:
        """SIGTERM, wait, then SIGKILL the process group. Returns the exit code (negative = signal)."""
        if self.proc is None:
            return None
        if self.returncode is None:
            start = time.monotonic()
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(term_timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(5)
            self.stop_seconds = time.monotonic() - start
            self.returncode = self.proc.returncode
            # Children the daemon forked (NSD's xfrd and server processes) share its group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            wait_until(lambda: not _group_alive(self.proc.pid), 2.0)
            self.log_text = self.read_log()
            _finished_logs.append((f"{self.label} (pid {self.proc.pid}, exit {self.returncode})",
                                   self.log_text))
            _live.pop(self.proc.pid, None)
        return self.returncode


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _stop_all_live() -> None:
    for proc in list(_live.values()):
        with contextlib.suppress(Exception):
            proc.stop(term_timeout=2)


atexit.register(_stop_all_live)


def _stop_and_exit(signum, frame):
    # SIGTERM (a user, or a test driver's timeout): stop what we started, by PID, and leave at
    # once. Raising SystemExit instead would be caught by unittest as one test's error.
    _stop_all_live()
    os._exit(128 + signum)


if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGTERM, _stop_and_exit)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
