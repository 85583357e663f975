#!/usr/bin/python3
"""Fixtures for Holdfast's integration tests: free ports, generated zones, a real NSD upstream, a
counting (and slowable) DNS proxy, the holdfast daemon itself, and query helpers (dnspython, dig,
kdig, raw sockets). Standard library + dnspython only; run with /usr/bin/python3.

Every process started here is started from the main thread with a parent-death signal, is
registered until it is stopped, and is stopped by PID (SIGTERM, then SIGKILL of its process group)
by the fixture's context manager, or at exit, pass or fail.

Command line (used by bench/run):
  harness.py serve-upstream --port N [--ttl S] [--negative-ttl S] [--names-out FILE]
      runs NSD with the generated zones on 127.0.0.1:N and [::1]:N until SIGTERM/SIGINT.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import unittest
from pathlib import Path
from typing import Callable, Iterable, Optional

# The fixture library is split by topic; tests import everything from here as `harness`.
from dnsclient import *  # noqa: F401,F403
from dnsclient import _recv_exact, udp  # noqa: F401
from processes import *  # noqa: F401,F403
from processes import _LOOPBACKS, _finished_logs, _stop_all_live
from upstream import *  # noqa: F401,F403
from zonegen import *  # noqa: F401,F403

REPO = Path(__file__).resolve().parents[2]


def holdfast_bin() -> str:
    """The daemon under test: $HOLDFAST_BIN, else the repo's build/bin/holdfast."""
    return os.environ.get("HOLDFAST_BIN") or str(REPO / "build" / "bin" / "holdfast")


# ------------------------------------------------------------------------------------------------
# Holdfast
# ------------------------------------------------------------------------------------------------
def corefile(port: int, upstream_port: int, *, zone: str = "cluster.local",
             bind: Iterable[str] = _LOOPBACKS, success: tuple[int, int] = (9984, 30),
             denial: tuple[int, int] = (9984, 5), extra: str = "") -> str:
    """A one-block Corefile: `zone:port`, bound to `bind`, forwarding to 127.0.0.1:upstream_port."""
    return (f"{zone}:{port} {{\n"
            f"    bind {' '.join(bind)}\n"
            f"    forward . 127.0.0.1:{upstream_port}\n"
            f"    cache {{\n"
            f"        success {success[0]} {success[1]}\n"
            f"        denial {denial[0]} {denial[1]}\n"
            f"    }}\n"
            f"    errors\n"
            f"    log\n"
            f"{extra}"
            f"}}\n")


def sample(metrics: str, name: str, **labels) -> float:
    """The sum of every sample of `name` in Prometheus text `metrics` whose labels include
    `labels`."""
    total = 0.0
    for line in metrics.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(m.group(4))
    return total


class Holdfast:
    """The daemon under test, run with a Corefile written into `workdir`."""

    def __init__(self, workdir: Path, corefile_text: str, *, name: str = "holdfast",
                 conf_flag: str = "-conf", log_level: str = "debug",
                 extra_args: Iterable[str] = ()):
        self.dir = Path(workdir) / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conf = self.dir / "Corefile"
        self.conf.write_text(corefile_text)
        # Each daemon gets a store of its own (persistence is on by default and would otherwise
        # share /var/lib/holdfast between tests running in parallel).
        self.state_dir = self.dir / "state"
        self.argv = [holdfast_bin(), conf_flag, str(self.conf), "--log-level", log_level,
                     "--state-dir", str(self.state_dir), *extra_args]
        self.process = ManagedProcess(name, self.argv, self.dir / "stderr.log", cwd=self.dir)

    def start(self, ready_host: str = "127.0.0.1", ready_port: Optional[int] = None,
              probe: tuple[str, str] = ("cluster.local.", "SOA"), timeout: float = 10.0) -> "Holdfast":
        """Starts the daemon and, when `ready_port` is given, waits until a query to it gets any
        answer at all (even SERVFAIL or REFUSED)."""
        if not os.access(self.argv[0], os.X_OK):
            raise RuntimeError(f"holdfast binary not found or not executable: {self.argv[0]}")
        self.process.start()
        if ready_port is None:
            return self

        def ready() -> bool:
            if not self.process.running():
                raise RuntimeError(f"holdfast exited ({self.process.proc.returncode}) before ready:\n"
                                   f"{self.process.read_log()}")
            try:
                udp(ready_host, ready_port, probe[0], probe[1], timeout=0.25)
                return True
            except Exception:
                return False

        if not wait_until(ready, timeout):
            log = self.process.read_log()
            self.stop()
            raise RuntimeError(f"holdfast not answering on {ready_host}:{ready_port} "
                               f"after {timeout}s:\n{log}")
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.process.read_log()

    def stop(self, term_timeout: float = 5.0) -> Optional[int]:
        return self.process.stop(term_timeout)

    def __enter__(self) -> "Holdfast":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def run_holdfast(args: list[str], timeout: float = 10.0) -> subprocess.CompletedProcess:
    """Runs holdfast to completion (for --check-config, --version, config errors)."""
    return subprocess.run([holdfast_bin(), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


# ------------------------------------------------------------------------------------------------
# The usual stack: NSD <- counting proxy <- holdfast
# ------------------------------------------------------------------------------------------------
class Stack:
    """NSD, a counting proxy in front of it, and holdfast forwarding to the proxy, in one temp dir.
    `make_corefile(port, upstream_port)` overrides the default one-block Corefile."""

    def __init__(self, *, ttl: int = 30, negative_ttl: int = 5, proxy_delay: float = 0.0,
                 make_corefile: Optional[Callable[[int, int], str]] = None,
                 probe: tuple[str, str] = ("cluster.local.", "SOA")):
        self.ttl, self.negative_ttl = ttl, negative_ttl
        self.proxy_delay = proxy_delay
        self.make_corefile = make_corefile or (lambda port, up: corefile(port, up))
        self.probe = probe
        self._exit = contextlib.ExitStack()
        self.tmp: Optional[Path] = None
        self.nsd: Optional[Nsd] = None
        self.proxy: Optional[CountingProxy] = None
        self.holdfast: Optional[Holdfast] = None
        self.port = 0

    def start(self) -> "Stack":
        try:
            self.tmp = Path(self._exit.enter_context(
                tempfile.TemporaryDirectory(prefix="holdfast-it-")))
            self.nsd = self._exit.enter_context(
                Nsd(self.tmp, ttl=self.ttl, negative_ttl=self.negative_ttl))
            self.proxy = self._exit.enter_context(
                CountingProxy(self.nsd.port, delay_seconds=self.proxy_delay))
            self.port = free_port()
            self.holdfast = Holdfast(self.tmp, self.make_corefile(self.port, self.proxy.port))
            self._exit.enter_context(self.holdfast)
            self.holdfast.start("127.0.0.1", self.port, self.probe)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        self._exit.close()

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


# ------------------------------------------------------------------------------------------------
# Test entry point
# ------------------------------------------------------------------------------------------------
def main() -> None:
    """unittest.main() that, when anything failed, prints the logs of every process it stopped
    (holdfast's stderr above all) and stops whatever is still running."""
    prog = unittest.main(exit=False, verbosity=2)
    ok = prog.result.wasSuccessful()
    _stop_all_live()
    if not ok:
        for label, text in _finished_logs:
            lines = text.splitlines()
            tail = lines[-150:]
            print(f"\n===== log of {label}: last {len(tail)} of {len(lines)} lines =====",
                  file=sys.stderr)
            print("\n".join(tail), file=sys.stderr)
    sys.exit(0 if ok else 1)


def _serve_upstream(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="harness.py serve-upstream",
                                description="Run NSD with the generated test zones until stopped.")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ttl", type=int, default=30)
    p.add_argument("--negative-ttl", type=int, default=5)
    p.add_argument("--names-out", help="write every name once as dnsperf input to this file")
    args = p.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.names_out:
        Path(args.names_out).write_text("\n".join(bench_queries()) + "\n")
    with tempfile.TemporaryDirectory(prefix="holdfast-upstream-") as tmp:
        with Nsd(Path(tmp), port=args.port, ttl=args.ttl, negative_ttl=args.negative_ttl) as nsd:
            print(f"ready nsd pid {nsd.process.pid} port {nsd.port}", flush=True)
            while not stop.wait(0.5):
                if not nsd.process.running():
                    print(nsd.process.read_log(), file=sys.stderr)
                    return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve-upstream":
        sys.exit(_serve_upstream(sys.argv[2:]))
    print(__doc__)
    sys.exit(2)
