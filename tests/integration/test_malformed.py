#!/usr/bin/python3
"""Hostile packets: FORMERR to garbage behind a readable header, silence to packets shorter than a
header, and the daemon keeps answering afterwards."""
import os
import random
import socket
import struct
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.rcode  # noqa: E402

import harness as h  # noqa: E402

# ID 0x4242, flags 0x0100 (query, RD), QDCOUNT 1, no other records ...
GARBAGE_HEADER = struct.pack("!6H", 0x4242, 0x0100, 1, 0, 0, 0)
# ... then a label of length 63 with only 10 bytes behind it: the question cannot be parsed.
GARBAGE = GARBAGE_HEADER + b"\x3f" + b"\xff" * 10


class MalformedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack().start()
        cls.addClassCleanup(cls.stack.close)
        cls.port = cls.stack.port

    def assert_still_answers(self):
        r = h.dig("127.0.0.1", self.port, h.svc_name(1, 9), "A")
        self.assertEqual(r.status, "NOERROR", str(r))
        self.assertEqual([a.rdata for a in r.answer], [h.svc_ipv4(1, 9)], str(r))
        self.assertTrue(self.stack.holdfast.process.running(), "holdfast died")

    def test_garbage_after_a_readable_header_gets_formerr_with_the_same_id(self):
        reply = h.raw_udp("127.0.0.1", self.port, GARBAGE)
        self.assertIsNotNone(reply, "no reply to garbage with a valid header")
        head = h.header(reply)
        self.assertEqual(head["id"], 0x4242)
        self.assertTrue(head["qr"])
        self.assertEqual(head["rcode"], dns.rcode.FORMERR)

    def test_daemon_answers_after_garbage(self):
        h.raw_udp("127.0.0.1", self.port, GARBAGE, timeout=0.5)
        self.assert_still_answers()

    def test_packet_shorter_than_a_header_gets_no_answer(self):
        self.assertIsNone(h.raw_udp("127.0.0.1", self.port, b"\x12\x34\x01\x00\x00", timeout=1.0))
        self.assert_still_answers()

    def test_empty_datagram_gets_no_answer(self):
        self.assertIsNone(h.raw_udp("127.0.0.1", self.port, b"", timeout=0.5))
        self.assert_still_answers()

    def test_garbage_over_tcp_does_not_stop_the_daemon(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(struct.pack("!H", len(GARBAGE)) + GARBAGE)
            s.settimeout(1)
            try:
                s.recv(4096)  # FORMERR or a close: either is fine, as long as the daemon lives
            except OSError:
                pass
        self.assert_still_answers()

    def test_daemon_survives_a_burst_of_random_packets(self):
        rng = random.Random(20240611)
        for i in range(300):
            length = rng.choice([0, 1, 11, 12, 13, 17, 40, 100, 512, 1500])
            packet = bytes(rng.getrandbits(8) for _ in range(length))
            if i % 2 and length >= 12:  # half of them with a plausible query header
                packet = struct.pack("!6H", i, 0x0100, 1, 0, 0, 0) + packet[12:]
            h.raw_udp("127.0.0.1", self.port, packet, timeout=0.01)
        self.assert_still_answers()


if __name__ == "__main__":
    h.main()
