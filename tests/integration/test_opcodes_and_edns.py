#!/usr/bin/python3
"""Queries the daemon answers without asking the upstream: NOTIMP to opcodes other than QUERY,
BADVERS to EDNS versions above 0 (RFC 6891 §6.1.3), FORMERR to two questions, REFUSED to zone
transfers, and silence to packets that are responses."""
import os
import socket
import struct
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.message  # noqa: E402
import dns.opcode  # noqa: E402
import dns.rcode  # noqa: E402

import harness as h  # noqa: E402

BADVERS = 16  # RFC 6891 §9: extended rcode 1 in the OPT TTL, rcode 0 in the header


def question(qname: str, qtype: int = 1) -> bytes:
    """An uncompressed question: name, QTYPE, QCLASS IN."""
    wire = b"".join(bytes([len(label)]) + label.encode() for label in qname.rstrip(".").split("."))
    return wire + b"\x00" + struct.pack("!HH", qtype, 1)


def edns_version_1_query(qname: str, qid: int) -> bytes:
    q = h.make_query(qname, "A", qid=qid)
    q.use_edns(1)  # make_query(use_edns=1) writes version 0 in dnspython 2.3
    wire = q.to_wire()
    assert wire[-5] == 1, "the OPT TTL's second byte (before RDLENGTH 0) is the version"
    return wire


def tcp_exchange(port: int, query: bytes) -> bytes:
    """One framed query on a fresh TCP connection; the framed reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(struct.pack("!H", len(query)) + query)
        (length,) = struct.unpack("!H", h._recv_exact(s, 2))
        return h._recv_exact(s, length)


class OpcodesAndEdnsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack().start()
        cls.addClassCleanup(cls.stack.close)
        cls.port = cls.stack.port
        cls.proxy = cls.stack.proxy

    def assert_still_answers(self):
        r = h.dig("127.0.0.1", self.port, h.svc_name(2, 8), "A")
        self.assertEqual(r.status, "NOERROR", str(r))
        self.assertEqual([a.rdata for a in r.answer], [h.svc_ipv4(2, 8)], str(r))
        self.assertTrue(self.stack.holdfast.process.running(), "holdfast died")

    def assert_notimp(self, opcode: int, qid: int, qname: str):
        q = h.make_query(qname, "A", qid=qid)
        q.set_opcode(opcode)
        reply = h.raw_udp("127.0.0.1", self.port, q.to_wire())
        self.assertIsNotNone(reply, f"no reply to opcode {dns.opcode.to_text(opcode)}")
        head = h.header(reply)
        self.assertEqual(head["id"], qid)
        self.assertTrue(head["qr"])
        self.assertEqual(head["opcode"], opcode, "the opcode is copied into the reply")
        self.assertEqual(head["rcode"], dns.rcode.NOTIMP)
        self.assertEqual(self.proxy.count(qname), 0, "must be answered without the upstream")

    def test_notify_gets_notimp_with_the_same_id(self):
        self.assert_notimp(dns.opcode.NOTIFY, 0x4e01, h.svc_name(40, 8))

    def test_status_gets_notimp_with_the_same_id(self):
        self.assert_notimp(dns.opcode.STATUS, 0x5302, h.svc_name(41, 8))

    def test_iquery_gets_notimp_with_the_same_id(self):
        self.assert_notimp(dns.opcode.IQUERY, 0x4903, h.svc_name(42, 8))

    def test_edns_version_1_gets_badvers_with_an_opt_in_the_reply(self):
        qname = h.svc_name(43, 8)
        reply = h.raw_udp("127.0.0.1", self.port, edns_version_1_query(qname, 0xbad1))
        self.assertIsNotNone(reply, "no reply to EDNS version 1")
        head = h.header(reply)
        self.assertEqual(head["id"], 0xbad1)
        self.assertEqual(head["rcode"], 0, "BADVERS is 16: its low four bits, 0, go in the header")
        self.assertEqual(head["ancount"], 0)
        m = dns.message.from_wire(reply)
        self.assertIsNotNone(m.opt, "BADVERS must come with an OPT record")
        self.assertEqual(m.opt.ttl >> 24, BADVERS >> 4, "OPT TTL's first byte: extended rcode 1")
        self.assertEqual((m.opt.ttl >> 16) & 0xff, 0, "the reply speaks EDNS version 0")
        self.assertEqual(m.rcode(), BADVERS)

    def test_edns_version_1_query_is_not_sent_upstream(self):
        qname = h.svc_name(44, 8)
        self.assertIsNotNone(h.raw_udp("127.0.0.1", self.port, edns_version_1_query(qname, 0xbad2)))
        self.assertEqual(self.proxy.count(qname), 0)

    def test_two_questions_get_formerr_with_the_same_id(self):
        # ID 0x2222, flags 0x0100 (query, RD), QDCOUNT 2, then two well-formed questions.
        packet = (struct.pack("!6H", 0x2222, 0x0100, 2, 0, 0, 0) +
                  question(h.svc_name(45, 8)) + question(h.svc_name(46, 8)))
        reply = h.raw_udp("127.0.0.1", self.port, packet)
        self.assertIsNotNone(reply, "no reply to QDCOUNT=2")
        head = h.header(reply)
        self.assertEqual(head["id"], 0x2222)
        self.assertTrue(head["qr"])
        self.assertEqual(head["rcode"], dns.rcode.FORMERR)
        self.assertEqual(self.proxy.count(h.svc_name(45, 8)), 0)

    def test_response_packet_gets_no_answer_and_the_daemon_still_answers(self):
        # A well-formed reply (QR=1) to nothing: answering it could start a reflection loop.
        q = h.make_query(h.svc_name(47, 8), "A", qid=0x5151)
        response = dns.message.make_response(q).to_wire()
        self.assertTrue(h.header(response)["qr"])
        self.assertIsNone(h.raw_udp("127.0.0.1", self.port, response, timeout=1.0))
        self.assertEqual(self.proxy.count(h.svc_name(47, 8)), 0)
        self.assert_still_answers()

    def test_axfr_over_tcp_is_refused(self):
        q = h.make_query("cluster.local.", "AXFR", edns=False, qid=0xaf01).to_wire()
        head = h.header(tcp_exchange(self.port, q))
        self.assertEqual(head["id"], 0xaf01)
        self.assertEqual(head["rcode"], dns.rcode.REFUSED)
        self.assertEqual(head["ancount"], 0)
        self.assertEqual(self.proxy.count("cluster.local.", "AXFR"), 0)

    def test_ixfr_over_tcp_is_refused(self):
        q = h.make_query("cluster.local.", "IXFR", edns=False, qid=0x1f02).to_wire()
        head = h.header(tcp_exchange(self.port, q))
        self.assertEqual(head["id"], 0x1f02)
        self.assertEqual(head["rcode"], dns.rcode.REFUSED)
        self.assertEqual(self.proxy.count("cluster.local.", "IXFR"), 0)


if __name__ == "__main__":
    h.main()
