#!/usr/bin/python3
"""Holdfast answers the usual record types correctly, on IPv4 and IPv6 listeners, keeps the client's
ID and question case, mirrors EDNS, and refuses names outside its zones."""
import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.rcode  # noqa: E402

import harness as h  # noqa: E402


def two_blocks(port: int, upstream_port: int) -> str:
    return (h.corefile(port, upstream_port, zone="cluster.local")
            + h.corefile(port, upstream_port, zone="in-addr.arpa"))


class AnswersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack(make_corefile=two_blocks).start()
        cls.addClassCleanup(cls.stack.close)
        cls.port = cls.stack.port

    def dig(self, qname, rdtype="A", *options, host="127.0.0.1"):
        r = h.dig(host, self.port, qname, rdtype, *options)
        self.assertEqual(r.returncode, 0, str(r))
        return r

    def test_a_record_via_dig(self):
        r = self.dig(h.svc_name(1, 1), "A")
        self.assertEqual(r.status, "NOERROR", str(r))
        self.assertEqual([(a.rdtype, a.rdata) for a in r.answer], [("A", h.svc_ipv4(1, 1))], str(r))
        self.assertLessEqual(r.answer[0].ttl, 30, str(r))

    def test_aaaa_record_via_dig(self):
        r = self.dig(h.svc_name(4, 2), "AAAA")
        self.assertEqual(r.status, "NOERROR", str(r))
        self.assertEqual([(a.rdtype, a.rdata) for a in r.answer], [("AAAA", h.svc_ipv6(4, 2))], str(r))

    def test_srv_record_via_dig(self):
        r = self.dig(h.srv_name(3, 2), "SRV")
        self.assertEqual(r.status, "NOERROR", str(r))
        self.assertEqual([(a.rdtype, a.rdata) for a in r.answer],
                         [("SRV", f"0 100 80 {h.svc_name(3, 2)}")], str(r))

    def test_txt_record_via_dig(self):
        r = self.dig(h.svc_name(10, 2), "TXT")
        self.assertEqual(r.status, "NOERROR", str(r))
        self.assertEqual([(a.rdtype, a.rdata) for a in r.answer],
                         [("TXT", '"svc=svc-10" "ns=ns-2"')], str(r))

    def test_ptr_record_via_dig(self):
        r = self.dig(h.ptr_name(5, 6), "PTR")
        self.assertEqual(r.status, "NOERROR", str(r))
        self.assertEqual([(a.name, a.rdtype, a.rdata) for a in r.answer],
                         [(h.ptr_name(5, 6), "PTR", h.svc_name(5, 6))], str(r))

    def test_a_record_via_kdig(self):
        r = h.kdig("127.0.0.1", self.port, h.svc_name(8, 8), "A")
        self.assertEqual(r.returncode, 0, str(r))
        self.assertEqual(r.status, "NOERROR", str(r))
        self.assertEqual([a.rdata for a in r.answer], [h.svc_ipv4(8, 8)], str(r))

    def test_ipv6_listener_answers(self):
        r = self.dig(h.svc_name(9, 3), "A", host="::1")
        self.assertEqual(r.status, "NOERROR", str(r))
        self.assertEqual([a.rdata for a in r.answer], [h.svc_ipv4(9, 3)], str(r))

    def test_ipv6_listener_answers_over_tcp(self):
        r = self.dig(h.svc_name(9, 4), "A", "+tcp", host="::1")
        self.assertEqual(r.status, "NOERROR", str(r))
        self.assertEqual([a.rdata for a in r.answer], [h.svc_ipv4(9, 4)], str(r))

    def assert_id_and_question_kept(self, qname, qid):
        query = h.make_query(qname, "A", qid=qid).to_wire()
        reply = h.raw_udp("127.0.0.1", self.port, query)
        self.assertIsNotNone(reply, f"no reply to {qname}")
        head = h.header(reply)
        self.assertEqual(head["id"], qid)
        self.assertTrue(head["qr"])
        self.assertEqual(head["rcode"], dns.rcode.NOERROR)
        self.assertEqual(head["qdcount"], 1)
        self.assertEqual(h.question_wire(reply), h.question_wire(query),
                         "question section must be returned byte for byte (case preserved)")

    def test_reply_keeps_client_id_and_question_case_on_a_miss(self):
        self.assert_id_and_question_kept("SvC-1.Ns-1.svc.CLUSTER.local.", 0xBEEF)

    def test_reply_keeps_client_id_and_question_case_on_a_cache_hit(self):
        name = h.svc_name(2, 1)
        self.assert_id_and_question_kept("SvC-2.Ns-1.svc.CLUSTER.local.", 0x1234)
        before = self.stack.proxy.count(name, "A")
        self.assert_id_and_question_kept("sVc-2.nS-1.SVC.cluster.LOCAL.", 0xABCD)
        self.assertEqual(self.stack.proxy.count(name, "A"), before,
                         "the second query, differing only in case, must be a cache hit")

    def test_reply_has_opt_when_query_had_one(self):
        r = h.udp("127.0.0.1", self.port, h.svc_name(11, 1), "A", edns=True)
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertGreaterEqual(r.edns, 0, "reply to an EDNS query must carry an OPT record")
        self.assertTrue(self.dig(h.svc_name(11, 1), "A").has_opt)

    def test_reply_has_no_opt_when_query_had_none(self):
        r = h.udp("127.0.0.1", self.port, h.svc_name(12, 1), "A", edns=False)
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertEqual(r.edns, -1, "reply to a query without EDNS must not carry an OPT record")
        self.assertFalse(self.dig(h.svc_name(12, 1), "A", "+noedns").has_opt)

    def test_query_outside_configured_zones_is_refused(self):
        before = len(self.stack.proxy.seen())
        r = self.dig("www.example.", "A")
        self.assertEqual(r.status, "REFUSED", str(r))
        self.assertEqual(len(self.stack.proxy.seen()), before, "a refused query must not go upstream")


if __name__ == "__main__":
    h.main()
