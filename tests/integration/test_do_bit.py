#!/usr/bin/python3
"""The DNSSEC OK bit (RFC 3225): carried upstream exactly when the client set it, echoed in the
reply's OPT, and part of the cache key, so DO and non-DO answers are cached apart."""
import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402

import harness as h  # noqa: E402


class DoBitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack().start()
        cls.addClassCleanup(cls.stack.close)
        cls.port = cls.stack.port
        cls.proxy = cls.stack.proxy

    def query(self, qname: str, *, do: bool, edns: bool = True) -> dns.message.Message:
        q = h.make_query(qname, "A", edns=edns)
        if do:
            q.want_dnssec(True)
        reply = dns.query.udp(q, "127.0.0.1", port=self.port, timeout=2)
        self.assertEqual(reply.rcode(), dns.rcode.NOERROR, str(reply))
        self.assertEqual([rd.to_text() for rrset in reply.answer for rd in rrset],
                         [h.svc_ipv4(*self.svc_of(qname))], str(reply))
        return reply

    @staticmethod
    def svc_of(qname: str) -> tuple[int, int]:
        svc, ns = qname.split(".")[:2]
        return int(svc.removeprefix("svc-")), int(ns.removeprefix("ns-"))

    def upstream_queries(self, qname: str) -> list[dns.message.Message]:
        want = qname.lower()
        return [dns.message.from_wire(s.wire) for s in self.proxy.seen() if s.qname == want]

    def test_do_bit_is_carried_upstream_when_the_client_sets_it(self):
        qname = h.svc_name(1, 5)
        self.query(qname, do=True)
        sent = self.upstream_queries(qname)
        self.assertEqual(len(sent), 1)
        self.assertGreaterEqual(sent[0].edns, 0, "the upstream query must carry an OPT")
        self.assertTrue(sent[0].ednsflags & dns.flags.DO, f"DO not set upstream:\n{sent[0]}")

    def test_do_bit_is_not_set_upstream_when_the_client_did_not_set_it(self):
        qname = h.svc_name(2, 5)
        self.query(qname, do=False)
        sent = self.upstream_queries(qname)
        self.assertEqual(len(sent), 1)
        self.assertFalse(sent[0].ednsflags & dns.flags.DO, f"DO set upstream:\n{sent[0]}")

    def test_do_bit_is_not_set_upstream_for_a_client_without_edns(self):
        qname = h.svc_name(3, 5)
        self.query(qname, do=False, edns=False)
        sent = self.upstream_queries(qname)
        self.assertEqual(len(sent), 1)
        self.assertFalse(sent[0].ednsflags & dns.flags.DO, f"DO set upstream:\n{sent[0]}")

    def test_do_bit_is_echoed_in_the_reply_opt(self):
        reply = self.query(h.svc_name(4, 5), do=True)
        self.assertGreaterEqual(reply.edns, 0, "reply without OPT")
        self.assertTrue(reply.ednsflags & dns.flags.DO, str(reply))

    def test_do_bit_is_echoed_on_a_cache_hit_too(self):
        qname = h.svc_name(5, 5)
        self.query(qname, do=True)
        reply = self.query(qname, do=True)
        self.assertEqual(len(self.upstream_queries(qname)), 1, "second query must be a hit")
        self.assertTrue(reply.ednsflags & dns.flags.DO, str(reply))

    def test_reply_to_a_query_without_do_has_no_do_bit(self):
        reply = self.query(h.svc_name(6, 5), do=False)
        self.assertGreaterEqual(reply.edns, 0, "reply without OPT")
        self.assertFalse(reply.ednsflags & dns.flags.DO, str(reply))

    def test_do_query_after_a_non_do_query_for_the_same_name_goes_upstream_again(self):
        qname = h.svc_name(7, 5)
        self.query(qname, do=False)
        self.assertEqual(len(self.upstream_queries(qname)), 1)
        self.query(qname, do=True)
        sent = self.upstream_queries(qname)
        self.assertEqual(len(sent), 2, "DO is part of the cache key: a non-DO answer must not do")
        self.assertTrue(sent[1].ednsflags & dns.flags.DO)

    def test_non_do_query_after_a_do_query_for_the_same_name_goes_upstream_again(self):
        qname = h.svc_name(8, 5)
        self.query(qname, do=True)
        self.query(qname, do=False)
        sent = self.upstream_queries(qname)
        self.assertEqual(len(sent), 2, "DO is part of the cache key: a DO answer must not do")
        self.assertFalse(sent[1].ednsflags & dns.flags.DO)

    def test_repeats_of_do_and_non_do_queries_are_answered_from_cache(self):
        qname = h.svc_name(9, 5)
        self.query(qname, do=False)
        self.query(qname, do=True)
        self.assertEqual(len(self.upstream_queries(qname)), 2)
        for _ in range(3):
            self.assertFalse(self.query(qname, do=False).ednsflags & dns.flags.DO)
            self.assertTrue(self.query(qname, do=True).ednsflags & dns.flags.DO)
        self.assertEqual(len(self.upstream_queries(qname)), 2, "repeats must be cache hits")

    def test_dig_dnssec_is_cached_apart_from_plain_dig(self):
        qname = h.svc_name(10, 5)
        plain = h.dig("127.0.0.1", self.port, qname, "A")
        self.assertEqual(plain.status, "NOERROR", str(plain))
        self.assertNotIn(" do;", plain.stdout, str(plain))
        self.assertEqual(self.proxy.count(qname), 1)
        dnssec = h.dig("127.0.0.1", self.port, qname, "A", "+dnssec")
        self.assertEqual(dnssec.status, "NOERROR", str(dnssec))
        self.assertRegex(dnssec.stdout, r"; EDNS: version: 0, flags: do;", str(dnssec))
        self.assertEqual(self.proxy.count(qname), 2, "dig +dnssec must miss the plain entry")
        for options in ((), ("+dnssec",)):
            again = h.dig("127.0.0.1", self.port, qname, "A", *options)
            self.assertEqual([a.rdata for a in again.answer], [h.svc_ipv4(10, 5)], str(again))
        self.assertEqual(self.proxy.count(qname), 2, "repeats must be cache hits")


if __name__ == "__main__":
    h.main()
