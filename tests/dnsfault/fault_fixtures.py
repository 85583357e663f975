#!/usr/bin/python3
"""Fixtures for dnsfault's integration tests: the `dnsfault` binary run as a proxy in front of a
real NSD (from the shared library in tests/integration/, which is read, never changed), its
control API, and `dnsfault ctl` / `dnsfault drill` run to completion. Standard library +
dnspython; run with /usr/bin/python3. Every process is started from the main thread and stopped by
PID (harness.ManagedProcess), pass or fail."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import harness as h  # noqa: E402  (free_port, Nsd, ManagedProcess, dig, kdig, udp, tcp, ...)

LOOPBACK = ("127.0.0.1",)


def dnsfault_bin() -> str:
    """The binary under test: $DNSFAULT_BIN, else build/bin/dnsfault."""
    return os.path.abspath(os.environ.get("DNSFAULT_BIN") or str(REPO / "build" / "bin" / "dnsfault"))


def run_dnsfault(args: list[str], timeout: float = 20.0) -> subprocess.CompletedProcess:
    """Runs dnsfault to completion (ctl, drill, bad start-ups)."""
    return subprocess.run([dnsfault_bin(), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


class FaultProxy:
    """`dnsfault proxy` on 127.0.0.1:port (UDP+TCP) in front of `upstream_port`, with its control
    API on 127.0.0.1:control_port. Use as a context manager."""

    def __init__(self, workdir: Path, upstream_port: int, *, seed: Optional[int] = 1,
                 rules_text: Optional[str] = None, schedule_text: Optional[str] = None,
                 name: str = "dnsfault", extra_args: tuple[str, ...] = ()):
        self.dir = Path(workdir) / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = h.free_port(LOOPBACK)
        self.control_port = h.free_port(LOOPBACK)
        self.control = f"127.0.0.1:{self.control_port}"
        argv = [dnsfault_bin(), "--log-level", "debug", "proxy", "--listen", f"127.0.0.1:{self.port}",
                "--upstream", f"127.0.0.1:{upstream_port}", "--control", self.control, *extra_args]
        if seed is not None:
            argv += ["--seed", str(seed)]
        if rules_text is not None:
            (self.dir / "rules.txt").write_text(rules_text)
            argv += ["--rules", str(self.dir / "rules.txt")]
        if schedule_text is not None:
            (self.dir / "schedule.txt").write_text(schedule_text)
            argv += ["--schedule", str(self.dir / "schedule.txt")]
        self.process = h.ManagedProcess(name, argv, self.dir / "stderr.log", cwd=self.dir)

    def start(self, timeout: float = 10.0) -> "FaultProxy":
        if not os.access(dnsfault_bin(), os.X_OK):
            raise RuntimeError(f"dnsfault binary not found: {dnsfault_bin()}")
        self.process.start()

        def ready() -> bool:
            if not self.process.running():
                raise RuntimeError(f"dnsfault exited early:\n{self.process.read_log()}")
            try:
                self.stats()
                return True
            except OSError:
                return False

        if not h.wait_until(ready, timeout):
            self.stop()
            raise RuntimeError(f"dnsfault control API not up after {timeout}s:\n{self.log()}")
        return self

    # --- control API --------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Optional[bytes] = None,
                content_type: str = "application/json") -> tuple[int, object]:
        req = urllib.request.Request(f"http://{self.control}{path}", data=body, method=method,
                                     headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def stats(self) -> dict:
        status, body = self.request("GET", "/stats")
        assert status == 200, body
        return body

    def set_rules(self, text: str) -> None:
        """Replaces the rules (rule grammar, as `dnsfault ctl set` takes it)."""
        status, body = self.request("PUT", "/rules", text.encode(), "text/plain")
        assert status == 200, body

    def ctl(self, *args: str) -> subprocess.CompletedProcess:
        return run_dnsfault(["ctl", "--control", self.control, *args])

    def log(self) -> str:
        return self.process.read_log()

    def stop(self) -> Optional[int]:
        return self.process.stop()

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def wait_for_answer(port: int, timeout: float = 5.0) -> None:
    """Polls until the proxy answers a query at all."""
    def ok() -> bool:
        try:
            h.udp("127.0.0.1", port, "cluster.local.", "SOA", timeout=0.3)
            return True
        except Exception:
            return False
    if not h.wait_until(ok, timeout):
        raise RuntimeError(f"nothing answers on 127.0.0.1:{port}")


def temp_dir(test_class, prefix: str) -> Path:
    """A temporary directory removed when the test class is done (after its processes stop:
    class cleanups run last-in, first-out, so call this first)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    test_class.addClassCleanup(shutil.rmtree, path, ignore_errors=True)
    return path


def monotonic_ms() -> float:
    return time.monotonic() * 1000.0
