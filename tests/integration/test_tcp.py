#!/usr/bin/python3
"""TCP: answers with dig and kdig, pipelined queries on one connection, and big answers that are
truncated over UDP (EDNS payload honoured up to 1232 bytes) but whole over TCP."""
import os
import socket
import struct
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.message  # noqa: E402
import dns.rcode  # noqa: E402

import harness as h  # noqa: E402


class TcpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack().start()
        cls.addClassCleanup(cls.stack.close)
        cls.port = cls.stack.port

    def test_answer_over_tcp_via_dig(self):
        r = h.dig("127.0.0.1", self.port, h.svc_name(20, 1), "A", "+tcp")
        self.assertEqual(r.status, "NOERROR", str(r))
        self.assertEqual([a.rdata for a in r.answer], [h.svc_ipv4(20, 1)], str(r))

    def test_answer_over_tcp_via_kdig(self):
        r = h.kdig("127.0.0.1", self.port, h.srv_name(21, 1), "SRV", "+tcp")
        self.assertEqual(r.status, "NOERROR", str(r))
        self.assertEqual([a.rdata for a in r.answer], [f"0 100 80 {h.svc_name(21, 1)}"], str(r))

    def test_pipelined_queries_on_one_connection_are_all_answered(self):
        # Misses and hits mixed: the first three names are queried once beforehand.
        for n in range(3):
            h.udp("127.0.0.1", self.port, h.svc_name(n, 7), "A")
        queries = {0x7000 + n: h.make_query(h.svc_name(n, 7), "A", qid=0x7000 + n)
                   for n in range(10)}
        replies = h.tcp_pipeline("127.0.0.1", self.port, [q.to_wire() for q in queries.values()])
        by_id = {}
        for wire in replies:
            reply = dns.message.from_wire(wire)
            self.assertNotIn(reply.id, by_id, "two replies with the same ID")
            by_id[reply.id] = reply
        self.assertEqual(set(by_id), set(queries))
        for qid, reply in by_id.items():
            n = qid - 0x7000
            self.assertEqual(reply.rcode(), dns.rcode.NOERROR)
            self.assertEqual(reply.question, queries[qid].question)
            self.assertEqual([rd.to_text() for rrset in reply.answer for rd in rrset],
                             [h.svc_ipv4(n, 7)])

    def test_tcp_connection_serves_queries_one_after_another(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=3) as s:
            for n in range(3):
                q = h.make_query(h.svc_name(30 + n, 2), "A", qid=0x100 + n).to_wire()
                s.sendall(struct.pack("!H", len(q)) + q)
                (length,) = struct.unpack("!H", h._recv_exact(s, 2))
                reply = dns.message.from_wire(h._recv_exact(s, length))
                self.assertEqual(reply.id, 0x100 + n)
                self.assertEqual([rd.to_text() for rrset in reply.answer for rd in rrset],
                                 [h.svc_ipv4(30 + n, 2)])

    def test_big_answer_is_truncated_over_udp_without_edns(self):
        r = h.dig("127.0.0.1", self.port, "big.cluster.local.", "A", "+ignore", "+noedns")
        self.assertEqual(r.returncode, 0, str(r))
        self.assertIn("tc", r.flags, str(r))

    def test_big_answer_is_truncated_over_udp_with_edns_1232(self):
        r = h.dig("127.0.0.1", self.port, "big.cluster.local.", "A", "+ignore", "+bufsize=1232")
        self.assertEqual(r.returncode, 0, str(r))
        self.assertIn("tc", r.flags, str(r))

    def test_big_answer_is_whole_over_tcp(self):
        r = h.dig("127.0.0.1", self.port, "big.cluster.local.", "A", "+tcp")
        self.assertEqual(r.status, "NOERROR", str(r))
        self.assertNotIn("tc", r.flags, str(r))
        self.assertEqual(len(r.answer), h.BIG_A_COUNT, str(r))

    def test_dig_retries_truncated_answer_over_tcp_and_gets_it_whole(self):
        r = h.dig("127.0.0.1", self.port, "big.cluster.local.", "A")
        self.assertEqual(r.status, "NOERROR", str(r))
        self.assertEqual(len(r.answer), h.BIG_A_COUNT, str(r))

    def test_udp_reply_never_exceeds_1232_bytes_even_if_the_client_offers_more(self):
        query = h.make_query("big.cluster.local.", "A", payload=4096).to_wire()
        reply = h.raw_udp("127.0.0.1", self.port, query)
        self.assertIsNotNone(reply)
        self.assertLessEqual(len(reply), 1232)
        self.assertTrue(h.header(reply)["tc"])

    def test_medium_answer_fits_with_edns_1232(self):
        r = h.udp("127.0.0.1", self.port, "medium.cluster.local.", "A", payload=1232)
        self.assertFalse(r.flags & 0x0200, "no TC expected for ~850 bytes with EDNS 1232")
        self.assertEqual(sum(len(rrset) for rrset in r.answer), h.MEDIUM_A_COUNT)

    def test_medium_answer_is_truncated_to_512_bytes_without_edns(self):
        query = h.make_query("medium.cluster.local.", "A", edns=False).to_wire()
        reply = h.raw_udp("127.0.0.1", self.port, query)
        self.assertIsNotNone(reply)
        self.assertLessEqual(len(reply), 512)
        self.assertTrue(h.header(reply)["tc"])

    def test_edns_payload_below_1232_is_honoured(self):
        query = h.make_query("medium.cluster.local.", "A", payload=600).to_wire()
        reply = h.raw_udp("127.0.0.1", self.port, query)
        self.assertIsNotNone(reply)
        self.assertLessEqual(len(reply), 600)
        self.assertTrue(h.header(reply)["tc"])


if __name__ == "__main__":
    h.main()
