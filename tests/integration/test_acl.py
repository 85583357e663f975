#!/usr/bin/python3
"""The acl directive (CoreDNS syntax) decides by client network and query type, first match wins:
allowed clients get answers, blocked ones REFUSED with EDE 18, filtered ones an empty NOERROR with
EDE 17, dropped ones nothing; none of the refused, filtered or dropped queries reach the upstream,
and coredns_acl_*_requests_total count each. Clients differ by source address (127.0.0.1-4)."""
import os
import socket
import sys
import unittest
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.message  # noqa: E402
import dns.rcode  # noqa: E402

import harness as h  # noqa: E402

QNAME = h.svc_name(5, 1)


def acl_corefile(port: int, up: int, metrics: int) -> str:
    return (f"cluster.local:{port} {{\n    bind 127.0.0.1\n    forward . 127.0.0.1:{up}\n"
            f"    cache 30\n    prometheus 127.0.0.1:{metrics}\n"
            "    acl {\n"
            "        block type ANY\n"
            "        allow net 127.0.0.1/32\n"
            "        block net 127.0.0.2\n"
            "        filter net 127.0.0.3\n"
            "        drop\n"
            "    }\n}\n")


def ask_from(source: str, port: int, qname: str = QNAME, rdtype: str = "A"):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        s.settimeout(1.0)
        s.sendto(h.make_query(qname, rdtype).to_wire(), ("127.0.0.1", port))
        try:
            return dns.message.from_wire(s.recv(4096))
        except socket.timeout:
            return None


def ede(msg) -> list[int]:
    return [o.code for o in msg.options if o.otype == 15]


class AclTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.metrics = h.free_port(("127.0.0.1",))
        cls.stack = h.Stack(make_corefile=lambda port, up: acl_corefile(port, up, cls.metrics))
        cls.stack.start()
        cls.addClassCleanup(cls.stack.close)

    def setUp(self):
        self.stack.proxy.reset()

    def test_each_action_from_its_network(self):
        allowed = ask_from("127.0.0.1", self.stack.port)
        self.assertEqual(allowed.rcode(), dns.rcode.NOERROR)
        self.assertEqual(len(allowed.answer), 1)
        blocked = ask_from("127.0.0.2", self.stack.port)
        self.assertEqual(blocked.rcode(), dns.rcode.REFUSED)
        self.assertEqual(ede(blocked), [18])
        filtered = ask_from("127.0.0.3", self.stack.port, h.svc_name(6, 1))
        self.assertEqual(filtered.rcode(), dns.rcode.NOERROR)
        self.assertEqual(filtered.answer, [])
        self.assertEqual(ede(filtered), [17])
        self.assertIsNone(ask_from("127.0.0.4", self.stack.port, h.svc_name(7, 1)))
        # ANY is blocked for everyone, before the allow rule.
        self.assertEqual(ask_from("127.0.0.1", self.stack.port, QNAME, "ANY").rcode(),
                         dns.rcode.REFUSED)
        self.assertEqual(self.stack.proxy.count(h.svc_name(6, 1)), 0)
        self.assertEqual(self.stack.proxy.count(h.svc_name(7, 1)), 0)
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics}/metrics", timeout=5) as r:
            text = r.read().decode()
        for family in ("allowed", "blocked", "filtered", "dropped"):
            line = [l for l in text.splitlines()
                    if l.startswith(f"coredns_acl_{family}_requests_total{{")]
            self.assertEqual(len(line), 1, family)
            self.assertGreaterEqual(float(line[0].split()[-1]), 1, line[0])


if __name__ == "__main__":
    h.main()
