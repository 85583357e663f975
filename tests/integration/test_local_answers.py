#!/usr/bin/python3
"""Answers that never reach the upstream: CHAOS-class questions (version.bind and friends) are
refused unless the block has `chaos`, and then answered from it; `ANY` gets one synthesized
HINFO (RFC 8482). The counting proxy in front of NSD sees none of these queries."""
import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def two_blocks(port: int, up: int) -> str:
    # cluster.local with `chaos`, and `.` (where version.bind routes) without it, on two ports.
    return (f"cluster.local:{port} {{\n    bind 127.0.0.1\n    forward . 127.0.0.1:{up}\n"
            f"    cache 30\n}}\n")


class LocalAnswersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack(make_corefile=two_blocks).start()
        cls.addClassCleanup(cls.stack.close)
        cls.chaos_port = h.free_port(("127.0.0.1",))
        text = (f".:{cls.chaos_port} {{\n    bind 127.0.0.1\n"
                f"    forward . 127.0.0.1:{cls.stack.proxy.port}\n"
                f"    chaos my-resolver-1.0 alice bob\n}}\n")
        cls.chaos = h.Holdfast(cls.stack.tmp, text, name="chaos").start("127.0.0.1", cls.chaos_port)
        cls.addClassCleanup(cls.chaos.stop)
        cls.plain_port = h.free_port(("127.0.0.1",))
        text = (f".:{cls.plain_port} {{\n    bind 127.0.0.1\n"
                f"    forward . 127.0.0.1:{cls.stack.proxy.port}\n}}\n")
        cls.plain = h.Holdfast(cls.stack.tmp, text, name="plain").start("127.0.0.1", cls.plain_port)
        cls.addClassCleanup(cls.plain.stop)

    def setUp(self):
        self.stack.proxy.reset()

    def dig(self, port: int, *args: str) -> str:
        import subprocess
        r = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+time=2", "+tries=1", *args],
                           capture_output=True, text=True, timeout=10)
        return r.stdout

    def test_version_bind_is_refused_and_never_forwarded_without_chaos(self):
        for name in ("version.bind", "hostname.bind", "id.server", "version.server"):
            out = self.dig(self.plain_port, "CH", "TXT", name)
            self.assertIn("status: REFUSED", out, name)
        self.assertEqual(self.stack.proxy.count(), 0, "a CHAOS query reached the upstream")

    def test_chaos_directive_answers_version_and_authors(self):
        out = self.dig(self.chaos_port, "CH", "TXT", "version.bind")
        self.assertIn("status: NOERROR", out)
        self.assertIn('"my-resolver-1.0"', out)
        out = self.dig(self.chaos_port, "CH", "TXT", "authors.bind")
        self.assertIn('"alice" "bob"', out)
        out = self.dig(self.chaos_port, "CH", "TXT", "hostname.bind")
        self.assertIn(os.uname().nodename, out)
        self.assertEqual(self.stack.proxy.count(), 0)

    def test_any_gets_one_hinfo_and_never_reaches_the_upstream(self):
        for transport in ("+notcp", "+tcp"):
            out = self.dig(self.stack.port, transport, "ANY", h.svc_name(3, 3))
            self.assertIn("status: NOERROR", out)
            self.assertIn('HINFO\t"RFC8482" ""', out)
            self.assertIn("ANSWER: 1,", out)
        self.assertEqual(self.stack.proxy.count(), 0)


if __name__ == "__main__":
    h.main()
