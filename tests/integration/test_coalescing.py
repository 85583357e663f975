#!/usr/bin/python3
"""Concurrent identical questions share one upstream query (one flight per question), while
different questions are not merged. The counting proxy delays each upstream answer by 300 ms so
all clients ask while the first query is in flight."""
import os
import sys
import threading
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.rcode  # noqa: E402

import harness as h  # noqa: E402

UPSTREAM_DELAY_SECONDS = 0.3


def ask_all_at_once(port: int, questions: list[tuple[str, str]]) -> list:
    """Sends every (name, type) from its own thread at the same instant; returns replies or errors."""
    barrier = threading.Barrier(len(questions))
    results: list = [None] * len(questions)

    def ask(i: int, qname: str, rdtype: str) -> None:
        barrier.wait()
        try:
            results[i] = h.udp("127.0.0.1", port, qname, rdtype, timeout=3)
        except Exception as e:  # noqa: BLE001 - reported by the test
            results[i] = e

    threads = [threading.Thread(target=ask, args=(i, *q)) for i, q in enumerate(questions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results


class CoalescingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack(proxy_delay=UPSTREAM_DELAY_SECONDS).start()
        cls.addClassCleanup(cls.stack.close)

    def test_fifty_concurrent_identical_queries_make_one_upstream_query(self):
        name = h.svc_name(7, 7)
        results = ask_all_at_once(self.stack.port, [(name, "A")] * 50)
        for r in results:
            self.assertNotIsInstance(r, Exception, repr(r))
            self.assertEqual(r.rcode(), dns.rcode.NOERROR)
            self.assertEqual([rd.to_text() for rrset in r.answer for rd in rrset], [h.svc_ipv4(7, 7)])
        self.assertEqual(self.stack.proxy.count(name, "A"), 1,
                         f"upstream saw: {[s for s in self.stack.proxy.seen() if s.qname == name]}")

    def test_concurrent_queries_for_different_types_are_not_merged(self):
        name = h.svc_name(8, 7)
        results = ask_all_at_once(self.stack.port, [(name, "A"), (name, "AAAA")] * 10)
        for i, r in enumerate(results):
            self.assertNotIsInstance(r, Exception, repr(r))
            expected = h.svc_ipv4(8, 7) if i % 2 == 0 else h.svc_ipv6(8, 7)
            self.assertEqual([rd.to_text() for rrset in r.answer for rd in rrset], [expected])
        self.assertEqual(self.stack.proxy.count(name, "A"), 1)
        self.assertEqual(self.stack.proxy.count(name, "AAAA"), 1)

    def test_each_client_gets_its_own_id_from_a_shared_flight(self):
        name = h.svc_name(9, 7)
        barrier = threading.Barrier(20)
        replies: dict[int, object] = {}

        def ask(qid: int) -> None:
            barrier.wait()
            reply = h.raw_udp("127.0.0.1", self.stack.port, h.make_query(name, "A", qid=qid).to_wire(), 3)
            replies[qid] = reply

        threads = [threading.Thread(target=ask, args=(0x2000 + i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        for qid, reply in replies.items():
            self.assertIsNotNone(reply, f"no reply for id {qid:#x}")
            self.assertEqual(h.header(reply)["id"], qid)
        self.assertEqual(len(replies), 20)


if __name__ == "__main__":
    h.main()
