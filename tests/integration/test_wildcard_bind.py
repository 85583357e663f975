#!/usr/bin/python3
"""A Corefile without `bind` listens on 0.0.0.0 and [::]; a query to any local address must get
its reply from that address (IP_PKTINFO / IPV6_PKTINFO), or the client drops it. 127.0.0.9 and
127.0.0.1 are both loopback addresses here; the IPv6 case runs in a network namespace of its own
(fd00::9 on its loopback) when the test may create one."""
import os
import shutil
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

QNAME = h.svc_name(4, 2)


class WildcardBindTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack(make_corefile=lambda port, up: (
            f".:{port} {{\n    forward . 127.0.0.1:{up}\n    cache 30\n}}\n")).start()
        cls.addClassCleanup(cls.stack.close)
        cls.port = cls.stack.port

    def test_each_local_address_answers_from_itself(self):
        for address in ("127.0.0.1", "127.0.0.9", "127.1.2.3", "::1"):
            with self.subTest(address=address):
                # dnspython checks that the reply comes from the address it asked.
                reply = h.udp(address, self.port, QNAME, "A", timeout=2.0)
                self.assertEqual(reply.rcode(), 0)
                self.assertEqual(h.tcp(address, self.port, QNAME, "A").rcode(), 0)

    def test_dig_to_a_secondary_loopback_address(self):
        r = h.dig("127.0.0.9", self.port, QNAME, "A")
        self.assertEqual((r.returncode, r.status), (0, "NOERROR"), str(r))

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare"), "needs root for a netns")
    def test_ipv6_secondary_address_in_a_namespace(self):
        script = (
            "set -e; ip link set lo up; ip addr add fd00::9/128 dev lo; "
            f"printf '.:53 {{\\n    forward . 127.0.0.1:1\\n}}\\n' > $T/Corefile; "
            f"{h.holdfast_bin()} -conf $T/Corefile --state-dir $T/state >$T/log 2>&1 & "
            "for i in $(seq 50); do dig -p 53 @::1 +time=1 +tries=1 example. A >/dev/null 2>&1 && break; "
            "sleep 0.1; done; "
            "dig -p 53 @fd00::9 +time=2 +tries=1 example. A | grep -q 'status: SERVFAIL'; "
            "kill $!; wait")
        tmp = self.stack.tmp / "v6"
        tmp.mkdir(exist_ok=True)
        r = subprocess.run(["unshare", "-n", "sh", "-c", script], env={**os.environ, "T": str(tmp)},
                           capture_output=True, text=True, timeout=60)
        log = (tmp / "log").read_text() if (tmp / "log").exists() else ""
        self.assertEqual(r.returncode, 0, f"{r.stdout}{r.stderr}\n{log}")


if __name__ == "__main__":
    h.main()
