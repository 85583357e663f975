#!/usr/bin/python3
"""Cache poisoning: what an upstream path an attacker can write to must never get into the cache.
A scripted upstream (dnspython, on loopback) answers per question:
  wrongid.test.    a reply with another DNS ID (and the poison address), nothing else
  wrongq.test.     the right ID but the question of another name
  spoofsrc.test.   the right reply, but sent from another port
  race.test.       first a wrong-ID reply with the poison, then the genuine one
  extra.test.      the genuine A plus, in the answer and additional sections, A records of
                   victim.test. (a name outside the question's chain)
  victim.test.     the genuine A (asked only when the cache has nothing for it)
Each poisoned reply must be dropped (the client gets the genuine answer or SERVFAIL, never the
poison), and victim.test. must be asked upstream rather than served from extra.test.'s records."""
import os
import socket
import sys
import tempfile
import threading
import unittest
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.message  # noqa: E402
import dns.rrset  # noqa: E402

import harness as h  # noqa: E402
from processes import free_port  # noqa: E402

POISON = "6.6.6.6"
GENUINE = {"race.test.": "192.0.2.10", "extra.test.": "192.0.2.11", "victim.test.": "192.0.2.12",
           "spoofsrc.test.": "192.0.2.13", "wrongid.test.": "192.0.2.14",
           "wrongq.test.": "192.0.2.15"}


class HostileUpstream:
    def __init__(self):
        self.port = free_port()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.settimeout(0.2)
        self.other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.other.bind(("127.0.0.1", 0))
        self.asked = {}
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def close(self):
        self.stop_flag.set()
        self.thread.join(timeout=2)
        self.sock.close()
        self.other.close()

    def reply(self, query, name, address, ttl=300):
        r = dns.message.make_response(query)
        r.answer.append(dns.rrset.from_text(name, ttl, "IN", "A", address))
        return r

    def loop(self):
        while not self.stop_flag.is_set():
            try:
                data, client = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                query = dns.message.from_wire(data)
            except Exception:
                continue
            qname = query.question[0].name.to_text().lower()
            self.asked[qname] = self.asked.get(qname, 0) + 1
            if qname == "wrongid.test.":
                bad = self.reply(query, qname, POISON)
                bad.id = (query.id + 1) & 0xFFFF
                self.sock.sendto(bad.to_wire(), client)
            elif qname == "wrongq.test.":
                other = dns.message.make_query("victim.test.", "A")
                other.id = query.id
                bad = self.reply(other, "victim.test.", POISON)
                self.sock.sendto(bad.to_wire(), client)
            elif qname == "spoofsrc.test.":
                self.other.sendto(self.reply(query, qname, POISON).to_wire(), client)
            elif qname == "race.test.":
                bad = self.reply(query, qname, POISON)
                bad.id = (query.id + 1) & 0xFFFF
                self.sock.sendto(bad.to_wire(), client)
                self.sock.sendto(self.reply(query, qname, GENUINE[qname]).to_wire(), client)
            elif qname == "extra.test.":
                r = self.reply(query, qname, GENUINE[qname])
                r.answer.append(dns.rrset.from_text("victim.test.", 3600, "IN", "A", POISON))
                r.additional.append(dns.rrset.from_text("victim.test.", 3600, "IN", "A", POISON))
                self.sock.sendto(r.to_wire(), client)
            elif qname in GENUINE:
                self.sock.sendto(self.reply(query, qname, GENUINE[qname]).to_wire(), client)


class PoisoningTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="holdfast-poison-")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.upstream = HostileUpstream()
        cls.addClassCleanup(cls.upstream.close)
        cls.port = free_port()
        cls.metrics_port = free_port()
        corefile = (f"test:{cls.port} {{\n    bind 127.0.0.1\n"
                    f"    forward . 127.0.0.1:{cls.upstream.port}\n    cache 300\n"
                    f"    prometheus 127.0.0.1:{cls.metrics_port}\n}}\n")
        cls.daemon = h.Holdfast(Path(cls.tmp.name), corefile).start(
            ready_port=cls.port, probe=("race.test.", "A"))
        cls.addClassCleanup(cls.daemon.stop)

    def addresses(self, name):
        reply = h.udp("127.0.0.1", self.port, name, "A", timeout=5.0)
        return reply.rcode(), sorted(rd.address for rrset in reply.answer for rd in rrset
                                     if rrset.rdtype == 1)

    def mismatched(self):
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            text = r.read().decode()
        return h.sample(text, "holdfast_upstream_mismatched_responses_total")

    def test_a_reply_with_another_id_is_dropped(self):
        before = self.mismatched()
        rcode, addresses = self.addresses("wrongid.test.")
        self.assertNotIn(POISON, addresses)
        self.assertEqual(rcode, 2, "only a SERVFAIL is possible: the upstream never answered right")
        self.assertGreaterEqual(self.mismatched(), before + 1, "the forged reply is counted")

    def test_a_reply_for_another_question_is_dropped(self):
        before = self.mismatched()
        rcode, addresses = self.addresses("wrongq.test.")
        self.assertNotIn(POISON, addresses)
        self.assertEqual(rcode, 2)
        self.assertGreaterEqual(self.mismatched(), before + 1, "the forged reply is counted")

    def test_a_reply_from_another_port_is_dropped(self):
        # Not counted: the kernel drops it (c-ares's UDP sockets are connected to the server).
        rcode, addresses = self.addresses("spoofsrc.test.")
        self.assertNotIn(POISON, addresses)
        self.assertEqual(rcode, 2)

    def test_the_genuine_reply_wins_a_race_with_a_forged_one(self):
        for _ in range(3):  # the first from upstream, then from the cache
            self.assertEqual(self.addresses("race.test."), (0, [GENUINE["race.test."]]))

    def test_records_outside_the_question_are_not_cached_as_their_own_names(self):
        rcode, addresses = self.addresses("extra.test.")
        self.assertEqual(rcode, 0)
        self.assertIn(GENUINE["extra.test."], addresses)
        before = self.upstream.asked.get("victim.test.", 0)
        self.assertEqual(self.addresses("victim.test."), (0, [GENUINE["victim.test."]]))
        self.assertEqual(self.upstream.asked.get("victim.test.", 0), before + 1,
                         "victim.test. must be asked upstream, not answered from extra.test.")


if __name__ == "__main__":
    h.main()
