#!/usr/bin/python3
"""Question case (RFC 4343; the "0x20" defence of draft-vixie-dnsext-dns0x20): a question in
random mixed case gets its exact bytes back, on a miss and on a cache hit stored under another
spelling, over UDP and TCP, with the same answer records as the lower-case name."""
import os
import random
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402

import harness as h  # noqa: E402

NAMES_PER_TEST = 50
SEED = int(os.environ.get("HOLDFAST_TEST_SEED", "20"))  # fixed by default: failures reproduce


def random_case(rng: random.Random, name: str) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in name)


def pick(rng: random.Random, namespaces: range) -> list[tuple[str, str, list[str]]]:
    """NAMES_PER_TEST distinct (qname, qtype, expected rdata) from the zones, in `namespaces`."""
    chosen = rng.sample([(n, m) for n in range(h.SERVICES) for m in namespaces], NAMES_PER_TEST)
    out = []
    for i, (n, m) in enumerate(chosen):
        kind = i % 3
        if kind == 0:
            out.append((h.svc_name(n, m), "A", [h.svc_ipv4(n, m)]))
        elif kind == 1:
            out.append((h.srv_name(n, m), "SRV", [f"0 100 80 {h.svc_name(n, m)}"]))
        else:
            out.append((h.ptr_name(n, m), "PTR", [h.svc_name(n, m)]))
    return out


def two_blocks(port: int, upstream_port: int) -> str:
    return (h.corefile(port, upstream_port, zone="cluster.local")
            + h.corefile(port, upstream_port, zone="in-addr.arpa"))


class CaseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack(make_corefile=two_blocks).start()
        cls.addClassCleanup(cls.stack.close)
        cls.port = cls.stack.port
        cls.proxy = cls.stack.proxy

    def setUp(self):
        # One generator per test, so each test's names and spellings do not depend on the others.
        self.rng = random.Random(f"{SEED}-{self._testMethodName}")

    def ask(self, spelled: str, qtype: str, *, transport: str = "udp") -> dns.message.Message:
        q = h.make_query(spelled, qtype)
        if transport == "udp":
            wire = h.raw_udp("127.0.0.1", self.port, q.to_wire())
            self.assertIsNotNone(wire, f"no answer to {spelled} {qtype}")
        else:
            (wire,) = h.tcp_pipeline("127.0.0.1", self.port, [q.to_wire()])
        self.assertEqual(h.question_wire(wire), h.question_wire(q.to_wire()),
                         f"question case not preserved for {spelled} {qtype} (seed {SEED})")
        return dns.message.from_wire(wire)

    def assert_answer(self, reply: dns.message.Message, qname: str, expected: list[str]) -> None:
        self.assertEqual(reply.rcode(), dns.rcode.NOERROR, str(reply))
        rrsets = [rrset for rrset in reply.answer]
        self.assertEqual(len(rrsets), 1, str(reply))
        self.assertEqual(rrsets[0].name, dns.name.from_text(qname), str(reply))  # ignores case
        self.assertEqual(sorted(rd.to_text() for rd in rrsets[0]), sorted(expected), str(reply))

    def test_mixed_case_question_is_echoed_exactly_on_a_miss(self):
        for qname, qtype, expected in pick(self.rng, range(0, 3)):
            reply = self.ask(random_case(self.rng, qname), qtype)
            self.assert_answer(reply, qname, expected)
            self.assertEqual(self.proxy.count(qname, qtype), 1, f"{qname} must have been a miss")

    def test_mixed_case_question_is_echoed_exactly_on_a_hit_stored_under_another_spelling(self):
        names = pick(self.rng, range(3, 6))
        for qname, qtype, expected in names:
            self.ask(random_case(self.rng, qname), qtype)
        for qname, qtype, expected in names:
            reply = self.ask(random_case(self.rng, qname), qtype)
            self.assert_answer(reply, qname, expected)
            self.assertEqual(self.proxy.count(qname, qtype), 1, f"{qname} must have been a hit")

    def test_upper_case_question_is_echoed_exactly_on_a_hit_stored_in_lower_case(self):
        for qname, qtype, expected in pick(self.rng, range(6, 8)):
            self.ask(qname, qtype)
            reply = self.ask(qname.upper(), qtype)
            self.assert_answer(reply, qname, expected)
            self.assertEqual(self.proxy.count(qname, qtype), 1, f"{qname} must have been a hit")

    def test_mixed_case_question_is_echoed_exactly_over_tcp_on_a_miss_and_a_hit(self):
        for qname, qtype, expected in pick(self.rng, range(8, 10)):
            miss = self.ask(random_case(self.rng, qname), qtype, transport="tcp")
            self.assert_answer(miss, qname, expected)
            hit = self.ask(random_case(self.rng, qname), qtype, transport="tcp")
            self.assert_answer(hit, qname, expected)
            self.assertEqual(self.proxy.count(qname, qtype), 1, f"{qname} must have been a hit")


if __name__ == "__main__":
    h.main()
