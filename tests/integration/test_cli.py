#!/usr/bin/python3
"""The command line: config errors exit 2 with FILE:LINE:COL, --check-config, --version, both
spellings of the config flag, and a clean exit 0 within 2 s of SIGTERM."""
import os
import re
import signal
import socket
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

LOCATION = re.compile(r"(?m)^(?:.*\s)?(?P<file>\S*Corefile):(?P<line>\d+):(?P<col>\d+): \S")


class ConfigFileTest(unittest.TestCase):
    """No daemon runs here: the binary checks a file and exits."""

    def setUp(self):
        tmp = tempfile.TemporaryDirectory(prefix="holdfast-cli-")
        self.addCleanup(tmp.cleanup)
        self.dir = Path(tmp.name)
        self.port = h.free_port()

    def write(self, text: str) -> Path:
        path = self.dir / "Corefile"
        path.write_text(text)
        return path

    def assert_config_error(self, result, path: Path, line: int, col=None):
        self.assertEqual(result.returncode, 2, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        m = LOCATION.search(result.stderr)
        self.assertIsNotNone(m, f"no FILE:LINE:COL: message on stderr:\n{result.stderr}")
        self.assertTrue(str(path).endswith(m["file"]) or m["file"] == str(path), m.group(0))
        self.assertEqual(int(m["line"]), line, m.group(0))
        if col is not None:
            self.assertEqual(int(m["col"]), col, m.group(0))

    def test_unknown_directive_exits_2_with_file_line_col(self):
        path = self.write(f"cluster.local:{self.port} {{\n"
                          f"    bind 127.0.0.1\n"
                          f"    frobnicate yes\n"
                          f"}}\n")
        self.assert_config_error(h.run_holdfast(["-conf", str(path)]), path, 3, 5)

    def test_bad_forward_target_exits_2_with_file_line_col(self):
        path = self.write(f"cluster.local:{self.port} {{\n"
                          f"    bind 127.0.0.1\n"
                          f"    forward . not-an-address!\n"
                          f"}}\n")
        self.assert_config_error(h.run_holdfast(["-conf", str(path)]), path, 3)

    def test_unclosed_block_exits_2_with_file_line_col(self):
        path = self.write(f"cluster.local:{self.port} {{\n"
                          f"    bind 127.0.0.1\n"
                          f"    forward . 127.0.0.1:1\n")
        result = h.run_holdfast(["-conf", str(path)])
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertRegex(result.stderr, LOCATION)

    def test_missing_config_file_fails(self):
        result = h.run_holdfast(["-conf", str(self.dir / "absent")])
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("absent", result.stderr)

    def test_check_config_accepts_a_good_file(self):
        path = self.write(h.corefile(self.port, 1))
        result = h.run_holdfast(["-conf", str(path), "--check-config"])
        self.assertEqual(result.returncode, 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")

    def test_check_config_rejects_a_bad_file_with_exit_2(self):
        path = self.write(f"cluster.local:{self.port} {{\n    cache {{\n        success many\n    }}\n}}\n")
        self.assert_config_error(h.run_holdfast(["-conf", str(path), "--check-config"]), path, 3)

    def test_version_prints_and_exits_0(self):
        result = h.run_holdfast(["--version"])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout + result.stderr, r"\d+\.\d+\.\d+")


class LifecycleTest(unittest.TestCase):
    """A daemon per test, in front of NSD, stopped with signals."""

    @classmethod
    def setUpClass(cls):
        tmp = tempfile.TemporaryDirectory(prefix="holdfast-cli-")
        cls.addClassCleanup(tmp.cleanup)
        cls.dir = Path(tmp.name)
        cls.nsd = h.Nsd(cls.dir).start()
        cls.addClassCleanup(cls.nsd.stop)

    def start(self, name: str, conf_flag: str = "-conf") -> tuple[h.Holdfast, int]:
        port = h.free_port()
        daemon = h.Holdfast(self.dir, h.corefile(port, self.nsd.port), name=name, conf_flag=conf_flag)
        self.addCleanup(daemon.stop)
        daemon.start("127.0.0.1", port)
        return daemon, port

    def test_sigterm_exits_0_within_2_seconds(self):
        daemon, port = self.start("sigterm")
        self.assertEqual(h.dig("127.0.0.1", port, h.svc_name(1, 1)).status, "NOERROR")
        started = time.monotonic()
        daemon.process.signal(signal.SIGTERM)
        code = daemon.process.wait(2.0)
        elapsed = time.monotonic() - started
        self.assertIsNotNone(code, "still running 2 s after SIGTERM")
        self.assertEqual(code, 0, daemon.log())
        self.assertLess(elapsed, 2.0)

    def test_sigterm_with_a_query_in_flight_exits_0(self):
        daemon, port = self.start("sigterm-busy")
        # An idle open TCP connection and a query just sent must not hold up the exit.
        conn = socket.create_connection(("127.0.0.1", port), timeout=2)
        self.addCleanup(conn.close)
        h.raw_udp("127.0.0.1", port, h.make_query("nonexistent.ns-1.svc.cluster.local.").to_wire(), 0.01)
        daemon.process.signal(signal.SIGTERM)
        code = daemon.process.wait(2.0)
        self.assertIsNotNone(code, "still running 2 s after SIGTERM")
        self.assertEqual(code, 0, daemon.log())

    def test_long_conf_flag_is_accepted(self):
        daemon, port = self.start("long-flag", conf_flag="--conf")
        r = h.dig("127.0.0.1", port, h.svc_name(2, 2))
        self.assertEqual([a.rdata for a in r.answer], [h.svc_ipv4(2, 2)], str(r))

    def test_startup_logs_each_listener_and_forwarder(self):
        daemon, port = self.start("startup-log")
        log = daemon.log()
        for needle in (f"127.0.0.1:{port}", f"[::1]:{port}", f"127.0.0.1:{self.nsd.port}"):
            self.assertTrue(needle in log or needle.replace("[::1]", "::1") in log,
                            f"{needle!r} not in start-up log:\n{log}")


if __name__ == "__main__":
    h.main()
