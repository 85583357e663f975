#!/usr/bin/python3
"""Answers come from the cache with aged TTLs while the upstream is silent: positive answers,
NXDOMAIN and NODATA (RFC 2308: cached with the SOA in the authority section)."""
import os
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

TTL = 30
NEGATIVE_TTL = 10
AGE_SECONDS = 2.2


def cache_corefile(port: int, upstream_port: int) -> str:
    return h.corefile(port, upstream_port, success=(9984, 60), denial=(9984, 60))


class CacheTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack(ttl=TTL, negative_ttl=NEGATIVE_TTL, make_corefile=cache_corefile).start()
        cls.addClassCleanup(cls.stack.close)
        cls.port = cls.stack.port
        cls.proxy = cls.stack.proxy

    def setUp(self):
        self.proxy.drop = False

    def tearDown(self):
        self.proxy.drop = False

    def dig(self, qname, rdtype):
        r = h.dig("127.0.0.1", self.port, qname, rdtype)
        self.assertEqual(r.returncode, 0, str(r))
        return r

    def test_positive_answer_served_from_cache_with_aged_ttl_while_upstream_is_silent(self):
        name = h.svc_name(3, 3)
        first = self.dig(name, "A")
        self.assertEqual(first.status, "NOERROR", str(first))
        self.assertEqual([a.rdata for a in first.answer], [h.svc_ipv4(3, 3)], str(first))
        ttl1 = first.answer[0].ttl
        self.assertGreater(ttl1, TTL - 2, str(first))
        upstream_queries = self.proxy.count(name)
        time.sleep(AGE_SECONDS)
        self.proxy.drop = True
        second = self.dig(name, "A")
        self.assertEqual(second.status, "NOERROR", str(second))
        self.assertEqual([a.rdata for a in second.answer], [h.svc_ipv4(3, 3)], str(second))
        self.assertEqual(self.proxy.count(name), upstream_queries, "must be a cache hit")
        ttl2 = second.answer[0].ttl
        self.assertLessEqual(ttl2, ttl1 - 2, f"TTL not aged: {ttl1} then {ttl2}")
        self.assertGreaterEqual(ttl2, ttl1 - 4, f"TTL aged too much: {ttl1} then {ttl2}")

    def test_every_ttl_of_a_cached_answer_is_aged_in_every_section(self):
        name = h.srv_name(6, 3)
        first = h.udp("127.0.0.1", self.port, name, "SRV")
        ttls1 = [rrset.ttl for section in (first.answer, first.authority, first.additional)
                 for rrset in section]
        self.assertGreaterEqual(len(ttls1), 2, f"expected records beyond the answer:\n{first}")
        time.sleep(AGE_SECONDS)
        self.proxy.drop = True
        second = h.udp("127.0.0.1", self.port, name, "SRV")
        ttls2 = [rrset.ttl for section in (second.answer, second.authority, second.additional)
                 for rrset in section]
        self.assertEqual(len(ttls2), len(ttls1), f"{first}\n---\n{second}")
        for before, after in zip(ttls1, ttls2):
            self.assertLessEqual(after, before - 2, f"TTLs {ttls1} then {ttls2}")

    def assert_negative_cached(self, qname, rdtype, status):
        first = self.dig(qname, rdtype)
        self.assertEqual(first.status, status, str(first))
        self.assertEqual(first.answer, [], str(first))
        soa1 = [rr for rr in first.authority if rr.rdtype == "SOA"]
        self.assertEqual(len(soa1), 1, f"SOA in authority expected:\n{first}")
        self.assertLessEqual(soa1[0].ttl, NEGATIVE_TTL, str(first))
        upstream_queries = self.proxy.count(qname)
        time.sleep(AGE_SECONDS)
        self.proxy.drop = True
        second = self.dig(qname, rdtype)
        self.assertEqual(second.status, status, str(second))
        self.assertEqual(self.proxy.count(qname), upstream_queries, "must be a cache hit")
        soa2 = [rr for rr in second.authority if rr.rdtype == "SOA"]
        self.assertEqual(len(soa2), 1, f"SOA in authority expected on the cached answer:\n{second}")
        self.assertEqual(soa2[0].name, "cluster.local.")
        self.assertLessEqual(soa2[0].ttl, soa1[0].ttl - 2, f"SOA TTL not aged:\n{first}\n{second}")
        self.assertGreater(soa2[0].ttl, 0, str(second))

    def test_nxdomain_served_from_cache_with_soa_and_aged_ttl(self):
        self.assert_negative_cached("no-such-svc.ns-1.svc.cluster.local.", "A", "NXDOMAIN")

    def test_nodata_served_from_cache_with_soa_and_aged_ttl(self):
        self.assert_negative_cached(h.svc_name(1, 4), "MX", "NOERROR")

    def test_nodata_for_one_type_does_not_hide_other_types(self):
        name = h.svc_name(5, 4)
        self.assertEqual(self.dig(name, "MX").status, "NOERROR")
        r = self.dig(name, "A")
        self.assertEqual([a.rdata for a in r.answer], [h.svc_ipv4(5, 4)], str(r))


if __name__ == "__main__":
    h.main()
