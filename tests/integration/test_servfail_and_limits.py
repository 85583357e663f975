#!/usr/bin/python3
"""When the upstream fails: SERVFAIL cached briefly (`cache { servfail }`, 5 s by default),
REFUSED passed along, a silent upstream turned into SERVFAIL in bounded time, a lost datagram
sent again once instead of costing a SERVFAIL, `max_concurrent`
refusing at once, and `policy sequential` failing over, with `max_fails` marking a dead server
down. One NSD and its proxies are shared; every test runs its own holdfast with its own Corefile."""
import concurrent.futures
import contextlib
import os
import select
import socket
import sys
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.message  # noqa: E402
import dns.rcode  # noqa: E402

import faultstack as fs  # noqa: E402
import harness as h  # noqa: E402

# Outside every test block's zone: answered REFUSED at once, without an upstream query.
LOCAL_PROBE = ("ready.invalid.", "A")


def block(port: int, upstreams: list[int], *, zone: str = "cluster.local",
          forward_options: tuple[str, ...] = (), cache_options: tuple[str, ...] = (),
          limits: tuple[str, ...] = (), success_ttl: int = 30) -> str:
    """One server block forwarding to 127.0.0.1 at each of `upstreams`, in order; `limits` are
    upstream_limits lines; answers are kept fresh at most `success_ttl` seconds."""
    to = " ".join(f"127.0.0.1:{p}" for p in upstreams)
    forward = f"    forward . {to}\n"
    if forward_options:
        forward = (f"    forward . {to} {{\n" +
                   "".join(f"        {o}\n" for o in forward_options) + "    }\n")
    return (f"{zone}:{port} {{\n"
            f"    bind 127.0.0.1\n"
            f"{forward}"
            f"    cache {{\n"
            f"        success 9984 {success_ttl}\n"
            f"        denial 9984 5\n" +
            "".join(f"        {o}\n" for o in cache_options) +
            f"    }}\n" +
            ("    upstream_limits {\n" + "".join(f"        {o}\n" for o in limits) + "    }\n"
             if limits else "") +
            f"    errors\n"
            f"    log\n"
            f"}}\n")


class ServfailAndLimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        exit_stack = contextlib.ExitStack()
        cls.addClassCleanup(exit_stack.close)
        cls.tmp = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="holdfast-it-")))
        cls.nsd = exit_stack.enter_context(h.Nsd(cls.tmp))
        cls.proxy = exit_stack.enter_context(h.CountingProxy(cls.nsd.port))
        # A server that receives and never answers: every query to it times out.
        cls.silent = exit_stack.enter_context(h.CountingProxy(cls.nsd.port))
        cls.silent.drop = True
        # Reserved and never bound: queries to it meet a closed port.
        cls.closed_port = h.free_port(("127.0.0.1",))

    def setUp(self):
        self.proxy.reset()
        self.silent.reset()
        self.proxy.drop = False
        self.proxy.servfail = False
        self.proxy.delay_names = {}
        self.proxy.drop_first = {}

    def tearDown(self):
        self.proxy.servfail = False
        self.proxy.drop = False
        self.proxy.delay_names = {}

    def daemon(self, make_corefile, probe=LOCAL_PROBE) -> int:
        """Starts a holdfast for this test alone with make_corefile(port); returns the port."""
        port = h.free_port(("127.0.0.1",))
        daemon = h.Holdfast(self.tmp, make_corefile(port), name=f"holdfast-{self._testMethodName}")
        self.addCleanup(daemon.stop)
        daemon.start("127.0.0.1", port, probe)
        self.holdfast = daemon
        return port

    def warm_latency(self, port: int, first: int) -> None:
        """Asks 20 new names one at a time: enough answers for a round-trip p99, which silence
        detection needs (LatencyTracker::kMinSamples)."""
        for n in range(first, first + 20):
            self.assertEqual(h.udp("127.0.0.1", port, h.svc_name(n, 9), "A").rcode(),
                             dns.rcode.NOERROR)

    def timed_udp(self, port: int, qname: str, timeout: float = 8.0):
        start = time.monotonic()
        reply = h.udp("127.0.0.1", port, qname, "A", timeout=timeout)
        return reply, time.monotonic() - start

    # --- SERVFAIL and REFUSED from the upstream ------------------------------------------------
    def test_upstream_servfail_is_answered_from_cache_within_the_servfail_ttl(self):
        port = self.daemon(lambda p: block(p, [self.proxy.port], cache_options=("servfail 2s",)))
        self.proxy.servfail = True
        qname = h.svc_name(1, 6)
        first = h.udp("127.0.0.1", port, qname, "A")
        self.assertEqual(first.rcode(), dns.rcode.SERVFAIL, str(first))
        self.assertEqual(self.proxy.count(qname), 1)
        q = h.make_query(qname, "A", qid=0x5f5f)
        again = dns.message.from_wire(h.raw_udp("127.0.0.1", port, q.to_wire()))
        self.assertEqual(again.id, 0x5f5f)
        self.assertEqual(again.rcode(), dns.rcode.SERVFAIL, str(again))
        self.assertEqual(again.question, q.question)
        self.assertEqual(self.proxy.count(qname), 1, "a repeat within 2 s must not go upstream")

    def test_upstream_servfail_is_asked_again_after_the_servfail_ttl(self):
        port = self.daemon(lambda p: block(p, [self.proxy.port], cache_options=("servfail 2s",)))
        self.proxy.servfail = True
        qname = h.svc_name(2, 6)
        self.assertEqual(h.udp("127.0.0.1", port, qname, "A").rcode(), dns.rcode.SERVFAIL)
        self.assertEqual(self.proxy.count(qname), 1)
        time.sleep(3.0)  # the daemon's clock cannot be injected
        self.proxy.servfail = False
        r = h.udp("127.0.0.1", port, qname, "A")
        self.assertEqual(self.proxy.count(qname), 2, "the SERVFAIL must have expired after 3 s")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR, str(r))
        self.assertEqual([rd.to_text() for rrset in r.answer for rd in rrset], [h.svc_ipv4(2, 6)])

    def test_upstream_servfail_is_cached_for_at_most_5_seconds_by_default(self):
        port = self.daemon(lambda p: block(p, [self.proxy.port]))
        self.proxy.servfail = True
        qname = h.svc_name(3, 6)
        start = time.monotonic()
        self.assertEqual(h.udp("127.0.0.1", port, qname, "A").rcode(), dns.rcode.SERVFAIL)

        def asked_again() -> bool:
            h.udp("127.0.0.1", port, qname, "A")
            return self.proxy.count(qname) >= 2

        self.assertTrue(h.wait_until(asked_again, 7.0, interval=0.2),
                        "SERVFAIL still cached after 7 s")
        elapsed = time.monotonic() - start
        self.assertLessEqual(elapsed, 5.6, "SERVFAIL cached longer than 5 s")
        self.assertGreaterEqual(elapsed, 3.9, "SERVFAIL not cached for its 5 s")

    def test_upstream_refused_is_passed_along_at_once(self):
        # NSD serves no zone above these names and answers REFUSED.
        port = self.daemon(lambda p: block(p, [self.proxy.port], zone="."),
                           probe=("cluster.local.", "SOA"))
        reply, elapsed = self.timed_udp(port, "www.not-served-here.")
        self.assertEqual(self.proxy.count("www.not-served-here."), 1)
        self.assertIn(reply.rcode(), (dns.rcode.REFUSED, dns.rcode.SERVFAIL), str(reply))
        self.assertLess(elapsed, 1.0, "an upstream REFUSED must not wait for a timeout")

    # --- a silent upstream -----------------------------------------------------------------------
    def test_silent_upstream_gives_servfail_within_5_seconds(self):
        port = self.daemon(lambda p: block(p, [self.proxy.port]))
        self.proxy.drop = True
        qname = h.svc_name(4, 6)
        reply, elapsed = self.timed_udp(port, qname)
        self.assertEqual(reply.rcode(), dns.rcode.SERVFAIL, str(reply))
        self.assertLessEqual(elapsed, 5.0, "the client was left waiting past 5 s")
        # Asked again once at most: the resend's 2 s fit in 5 s, a third's would not.
        self.assertIn(self.proxy.count(qname), (1, 2))

    # --- a lost datagram -------------------------------------------------------------------------
    def test_a_lost_datagram_costs_the_client_a_timeout_not_a_servfail(self):
        # One upstream (node-local-dns forwarding to the kube-dns IP): its answer to the first
        # query is lost on the way; the question goes again and the client gets the answer. A
        # fresh daemon has no round trip measured, so no early copy: it goes after the timeout.
        port = self.daemon(lambda p: block(p, [self.proxy.port]))
        qname = h.svc_name(5, 6)
        self.proxy.drop_first = {qname: 1}
        reply, elapsed = self.timed_udp(port, qname)
        self.assertEqual(reply.rcode(), dns.rcode.NOERROR, str(reply))
        self.assertEqual([rd.to_text() for rrset in reply.answer for rd in rrset],
                         [h.svc_ipv4(5, 6)])
        self.assertEqual(self.proxy.count(qname), 2, "sent once, lost, and sent once more")
        self.assertGreater(elapsed, 1.5, "the second copy goes after the 2 s attempt timeout")
        self.assertLess(elapsed, 4.5, f"answered after {elapsed:.1f} s")

    def test_a_quiet_nodes_one_lost_datagram_does_not_open_the_circuit(self):
        # A quiet node asks one question at a time. Its one outstanding query lost, nothing
        # answers for 100 ms (silence's floor): that is a lost datagram, not a dead upstream. An
        # open circuit would answer expired names stale at once (EDE 3) instead of asking, for
        # the second until a probe closes it, and tell the operator every upstream is down.
        port = self.daemon(lambda p: block(p, [self.proxy.port], success_ttl=1))
        self.warm_latency(port, 0)
        expired = h.svc_name(8, 6)
        self.assertEqual(h.udp("127.0.0.1", port, expired, "A").rcode(), dns.rcode.NOERROR)
        time.sleep(1.5)  # its 1-s TTL runs out: stale from now on
        lost = h.svc_name(7, 6)
        self.proxy.drop_first = {lost: 1}
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(self.timed_udp, port, lost)
            time.sleep(0.15)  # the lost query has gone unanswered for 150 ms: silence's 100 ms
            again = h.udp("127.0.0.1", port, expired, "A")
            reply, elapsed = waiting.result()
        self.assertEqual(again.rcode(), dns.rcode.NOERROR, str(again))
        self.assertEqual(fs.ede_codes(again), [], f"answered stale: {again}")
        self.assertEqual(self.proxy.count(expired), 2, "the expired name was not asked again")
        self.assertEqual(reply.rcode(), dns.rcode.NOERROR, str(reply))
        self.assertEqual(self.proxy.count(lost), 2, "sent once, lost, and sent once more")
        log = self.holdfast.process.read_log()
        self.assertNotIn("circuit open", log)
        self.assertNotIn("no answer for", log)

    def test_three_unanswered_queries_are_silence(self):
        # The other side: an upstream that stops answering while a node asks is found silent
        # ~100 ms after its third unanswered query, long before their 2-s timeouts.
        port = self.daemon(lambda p: block(p, [self.proxy.port]))
        self.warm_latency(port, 20)
        names = [h.svc_name(n, 9) for n in range(40, 43)]
        self.proxy.drop_first = {name: 1 for name in names}
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            start = time.monotonic()
            for name in names:
                client.sendto(h.make_query(name, "A").to_wire(), ("127.0.0.1", port))
            opened = None
            while opened is None and time.monotonic() - start < 1.5:
                if "circuit open" in self.holdfast.process.read_log():
                    opened = time.monotonic() - start
                time.sleep(0.01)
        self.assertIsNotNone(opened, "three unanswered queries did not open the circuit in 1.5 s")
        self.assertRegex(self.holdfast.process.read_log(), r"no answer for \d+ ms")

    def test_once_round_trips_are_known_a_lost_datagram_costs_200_ms(self):
        # With a p99 round trip measured (~1 ms here), a question unanswered for 200 ms (or 20 ×
        # the p99) was lost: a second copy goes then, not after the 2-s attempt timeout.
        port = self.daemon(lambda p: block(p, [self.proxy.port]))
        self.warm_latency(port, 60)
        qname = h.svc_name(9, 6)
        self.proxy.drop_first = {qname: 1}
        reply, elapsed = self.timed_udp(port, qname)
        self.assertEqual(reply.rcode(), dns.rcode.NOERROR, str(reply))
        self.assertEqual(self.proxy.count(qname), 2, "sent once, lost, and sent once more")
        self.assertGreater(elapsed, 0.15, "the early copy goes after 200 ms")
        self.assertLess(elapsed, 1.0, f"answered after {elapsed:.2f} s")
        self.assertNotIn("circuit open", self.holdfast.process.read_log())

    def test_an_early_copy_is_the_questions_one_extra(self):
        # Both copies lost: SERVFAIL when the second's attempt ends (~2.2 s), and no third copy.
        port = self.daemon(lambda p: block(p, [self.proxy.port]))
        self.warm_latency(port, 80)
        qname = h.svc_name(10, 6)
        self.proxy.drop_first = {qname: 5}
        reply, elapsed = self.timed_udp(port, qname)
        self.assertEqual(reply.rcode(), dns.rcode.SERVFAIL, str(reply))
        self.assertLess(elapsed, 3.0, f"answered after {elapsed:.2f} s")
        time.sleep(2.5)  # a third copy would have gone by now
        self.assertEqual(self.proxy.count(qname), 2)

    def test_a_copy_sent_after_a_timeout_gets_no_early_copy(self):
        # The credit spent (eleven lost questions in a row), X's first copy is lost and goes
        # again after the 2-s timeout; then ten other questions earn the credit back. X's copy
        # after the timeout is its second: lost too, it must not be copied early a third time.
        port = self.daemon(lambda p: block(p, [self.proxy.port]))
        self.warm_latency(port, 0)
        spend = [h.svc_name(n, 5) for n in range(11)]
        self.proxy.drop_first = {name: 1 for name in spend}
        for name in spend:
            self.assertEqual(self.timed_udp(port, name)[0].rcode(), dns.rcode.NOERROR)
        x = h.svc_name(11, 5)
        self.proxy.drop_first = {x: 5}
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(self.timed_udp, port, x)
            time.sleep(2.3)  # X was sent again at 2 s; that copy's own timeout comes at 4 s
            for n in range(12, 22):  # +1 credit each: 10, one early copy's worth
                self.assertEqual(h.udp("127.0.0.1", port, h.svc_name(n, 5), "A").rcode(),
                                 dns.rcode.NOERROR)
            reply, elapsed = waiting.result()
        self.assertEqual(reply.rcode(), dns.rcode.SERVFAIL, str(reply))
        self.assertGreater(elapsed, 3.5, "sent again after the timeout, and that copy timed out")
        time.sleep(0.5)  # an early copy of the second copy would have gone by now
        self.assertEqual(self.proxy.count(x), 2, "a third copy")

    def test_over_tcp_a_slow_answer_gets_no_early_copy(self):
        # force_tcp: TCP loses nothing on the way, so a question unanswered for 200 ms is slow,
        # not lost, and the one server would answer a copy no sooner.
        port = self.daemon(lambda p: block(p, [self.proxy.port], forward_options=("force_tcp",)))
        self.warm_latency(port, 0)
        qname = h.svc_name(11, 6)
        self.proxy.delay_names = {qname: 0.5}
        reply, elapsed = self.timed_udp(port, qname)
        self.assertEqual(reply.rcode(), dns.rcode.NOERROR, str(reply))
        self.assertGreater(elapsed, 0.45)
        self.assertEqual(self.proxy.count(qname, transport="tcp"), 1, "an early copy over TCP")
        self.assertEqual(self.proxy.count(qname, transport="udp"), 0)

    def test_early_copies_stay_within_their_budget(self):
        # Early copies are earned at one per ten questions sent, with ten in hand: whatever the
        # upstream's latency does, they add at most ~10 % to its queries. Fourteen questions in
        # a row, each one's first copy lost: ten in hand plus one earned go early, the other
        # three wait for the attempt timeout and go then (Forwarder::hedge).
        metrics_port = h.free_port(("127.0.0.1",))
        port = self.daemon(lambda p: block(p, [self.proxy.port]).replace(
            "    errors\n", f"    errors\n    prometheus 127.0.0.1:{metrics_port}\n"))
        self.warm_latency(port, 40)
        names = [h.svc_name(n, 8) for n in range(20, 34)]
        self.proxy.drop_first = {name: 1 for name in names}
        seconds = []
        for name in names:
            reply, elapsed = self.timed_udp(port, name)
            self.assertEqual(reply.rcode(), dns.rcode.NOERROR, f"{name}: {reply}")
            seconds.append(round(elapsed, 2))
        self.assertEqual([self.proxy.count(name) for name in names], [2] * len(names))
        early = [t for t in seconds if t < 1.5]
        self.assertEqual(len(early), 11, f"seconds per question: {seconds}")
        self.assertEqual(seconds[:11], early, f"seconds per question: {seconds}")
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
            metrics = r.read().decode()
        retries = "holdfast_upstream_retries_total"
        self.assertEqual(h.sample(metrics, retries, kind="early"), 11)
        self.assertEqual(h.sample(metrics, retries, kind="timeout"), 3)

    def test_a_question_lost_twice_is_not_sent_a_third_time(self):
        port = self.daemon(lambda p: block(p, [self.proxy.port]))
        qname = h.svc_name(6, 6)
        self.proxy.drop_first = {qname: 5}
        reply, elapsed = self.timed_udp(port, qname)
        self.assertEqual(reply.rcode(), dns.rcode.SERVFAIL, str(reply))
        self.assertLessEqual(elapsed, 5.0, "the client was left waiting past 5 s")
        time.sleep(2.5)  # a third copy would have gone by now
        self.assertEqual(self.proxy.count(qname), 2)

    def test_a_question_that_waited_in_the_queue_gets_no_second_copy_past_5_s(self):
        # qps 1: the third miss waits ~2 s in the admission queue, is sent, and is lost. A second
        # copy would end ~6 s after the client asked, past glibc's 5 s: the budget counts from
        # the moment the forwarder was handed the question, its wait included.
        port = self.daemon(lambda p: block(p, [self.proxy.port], limits=("qps 1", "burst 1")))
        names = [h.svc_name(n, 8) for n in range(3)]
        self.proxy.drop_first = {names[2]: 1}
        got = fs.ask_all(port, [(name, "A") for name in names], timeout=8.0)
        summary = [(fs.rcode_text(r), round(r.seconds, 2)) for r in got]
        self.assertEqual([r.rcode for r in got], [dns.rcode.NOERROR] * 2 + [dns.rcode.SERVFAIL],
                         str(summary))
        self.assertLess(got[2].seconds, 5.0, str(summary))
        self.assertEqual(self.proxy.count(names[2]), 1, "a second copy went past the 5 s budget")

    def test_a_dead_upstream_is_not_sent_second_copies(self):
        # 40 new names at once to an upstream that answers nothing. Their timeouts come together:
        # the first (1 failure in a row, under `max_fails 2`) is sent again, the second marks
        # the server down and opens the circuit, and no other is.
        port = self.daemon(lambda p: block(p, [self.silent.port]))
        names = [h.svc_name(n, 7) for n in range(40)]
        replies = fs.ask_all(port, [(name, "A") for name in names], timeout=6.0)
        self.assertEqual([r.rcode for r in replies], [dns.rcode.SERVFAIL] * len(names))
        time.sleep(2.5)  # a second copy would have gone by now
        sent = sum(self.silent.count(name) for name in names)
        self.assertEqual(sent, len(names) + 1, "second copies to a dead upstream: max_fails - 1")

    # --- max_concurrent --------------------------------------------------------------------------
    def test_max_concurrent_refuses_questions_over_the_limit_at_once(self):
        port = self.daemon(lambda p: block(p, [self.proxy.port],
                                           forward_options=("max_concurrent 1",)))
        names = [h.svc_name(n, 6) for n in range(10, 15)]
        self.proxy.delay_names = {name: 1.0 for name in names}
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in names]
        try:
            start = time.monotonic()
            for s, name in zip(socks, names):
                s.sendto(h.make_query(name, "A").to_wire(), ("127.0.0.1", port))
            replies = {}  # name -> (rcode, seconds after the first send)
            deadline = start + 4.0
            while len(replies) < len(names) and time.monotonic() < deadline:
                waiting = [s for s, name in zip(socks, names) if name not in replies]
                ready, _, _ = select.select(waiting, [], [], max(0.0, deadline - time.monotonic()))
                for s in ready:
                    reply = dns.message.from_wire(s.recv(65535))
                    replies[names[socks.index(s)]] = (reply.rcode(), time.monotonic() - start)
        finally:
            for s in socks:
                s.close()
        self.assertEqual(len(replies), len(names), f"unanswered: {set(names) - set(replies)}")
        refused = [name for name, (rcode, at) in replies.items()
                   if rcode == dns.rcode.REFUSED and at < 0.5]
        answered = [name for name, (rcode, _) in replies.items() if rcode == dns.rcode.NOERROR]
        self.assertGreaterEqual(len(refused), 1, f"no quick REFUSED: {replies}")
        self.assertGreaterEqual(len(answered), 1, f"nothing admitted: {replies}")
        for name in refused:
            self.assertEqual(self.proxy.count(name), 0, f"{name} was refused yet sent upstream")

    # --- policy sequential and max_fails ---------------------------------------------------------
    def test_sequential_policy_fails_over_from_a_closed_port_to_a_working_upstream(self):
        port = self.daemon(lambda p: block(p, [self.closed_port, self.proxy.port],
                                           forward_options=("policy sequential",)))
        for n in range(20, 23):
            qname = h.svc_name(n, 6)
            reply, elapsed = self.timed_udp(port, qname)
            self.assertEqual(reply.rcode(), dns.rcode.NOERROR, str(reply))
            self.assertEqual([rd.to_text() for rrset in reply.answer for rd in rrset],
                             [h.svc_ipv4(n, 6)])
            self.assertLess(elapsed, 4.5, f"failover for {qname} took {elapsed:.1f} s")
            self.assertEqual(self.proxy.count(qname), 1)

    def test_max_fails_marks_a_silent_upstream_down_so_the_next_query_skips_it(self):
        port = self.daemon(lambda p: block(p, [self.silent.port, self.proxy.port],
                                           forward_options=("policy sequential", "max_fails 1",
                                                            "health_check 10s")))
        first, first_seconds = self.timed_udp(port, h.svc_name(30, 6))
        self.assertEqual(first.rcode(), dns.rcode.NOERROR, str(first))
        self.assertEqual(self.silent.count(h.svc_name(30, 6)), 1, "sequential: the first is asked")
        self.assertGreater(first_seconds, 0.5, "the first query should have waited for a timeout")
        second, second_seconds = self.timed_udp(port, h.svc_name(31, 6))
        self.assertEqual(second.rcode(), dns.rcode.NOERROR, str(second))
        self.assertEqual(self.silent.count(h.svc_name(31, 6)), 0, "the down server was asked")
        self.assertLess(second_seconds, first_seconds / 2,
                        f"first {first_seconds:.2f} s, second {second_seconds:.2f} s")


if __name__ == "__main__":
    h.main()
