#!/usr/bin/python3
"""Serve-stale policy (RFC 8767): stale NXDOMAIN carries EDE 19; past MAX_STALE there is nothing
to serve (SERVFAIL, EDE 22); `verify` waits client_timeout for the upstream, `immediate` answers
stale at once and refreshes behind it; `serve_stale off` means SERVFAIL when the upstream is down.
While the circuit is open, misses are the probes: `probes` of them (default 2) may go upstream per
`probe_interval` (default 1 s; a probe times out after probe_interval, at least 1 s, at most the
2 s attempt), and the rest wait in the admission queue at most probe_interval: every one gets
SERVFAIL + EDE 22, none at once, none after more than probe_interval + the probe timeout (2 s).
NSD (TTL 30) is shared; dnsfault shortens TTLs to 1 s while warming (`ttl 1`), so fresh answers
after a refresh are easy to tell apart. Every test runs its own dnsfault and holdfast."""
import contextlib
import math
import os
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

import faultstack as fs  # noqa: E402
import harness as h  # noqa: E402

ZONE_TTL = 30
STALE_TTL = 7
EXPIRY_WAIT = 2.2  # past the 1 s TTL dnsfault gave the warm-up answers
NAMES = [(h.svc_name(n, 8), "A") for n in range(20)]
MISSING = [(f"gone-{n}.ns-8.svc.cluster.local.", "A") for n in range(20)]
PROBES = 2              # upstream_limits defaults
PROBE_INTERVAL = 1.0
ATTEMPT_TIMEOUT = 2.0   # one upstream attempt
PROBE_TIMEOUT = min(ATTEMPT_TIMEOUT, max(PROBE_INTERVAL, 1.0))  # one probe's attempt


class StalePolicyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        exit_stack = contextlib.ExitStack()
        cls.addClassCleanup(exit_stack.close)
        cls.tmp = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="holdfast-stale-")))
        cls.nsd = exit_stack.enter_context(fs.Nsd(cls.tmp, ttl=ZONE_TTL, negative_ttl=ZONE_TTL))

    def start(self, **corefile_options) -> None:
        name = self._testMethodName
        self.fault = fs.FaultProxy(self.tmp, self.nsd.port, name=f"dnsfault-{name}").start()
        self.addCleanup(self.fault.stop)
        self.port = h.free_port(("127.0.0.1",))
        corefile_options.setdefault("stale_ttl", f"{STALE_TTL}s")
        self.daemon = fs.start_holdfast(
            self.tmp, fs.stale_corefile(self.port, self.fault.port, **corefile_options), self.port,
            name=f"holdfast-{name}", log_level="debug")
        self.addCleanup(self.daemon.stop)

    def warm(self, questions, rcode=dns.rcode.NOERROR) -> None:
        """Caches `questions` with 1 s TTLs, then waits until they have all expired."""
        self.fault.set_rules("ttl 1")
        replies = fs.ask_all(self.port, questions, rate=fs.WARM_RATE)
        self.assertEqual([fs.rcode_text(r) for r in replies],
                         [dns.rcode.to_text(rcode)] * len(questions))
        time.sleep(EXPIRY_WAIT)

    def timed(self, qname: str, rdtype: str = "A", timeout: float = 5.0) -> fs.Reply:
        return fs.timed_sequential(self.port, [(qname, rdtype)], timeout=timeout)[0]

    # --- what is served ---------------------------------------------------------------------------
    def test_cached_nxdomain_is_answered_stale_with_ede_19_and_its_soa(self):
        self.start()
        self.warm(MISSING, dns.rcode.NXDOMAIN)
        self.fault.set_rules("blackhole")
        replies = fs.ask_all(self.port, MISSING)
        for r in replies:
            self.assertEqual(fs.rcode_text(r), "NXDOMAIN", r.qname)
            self.assertEqual(fs.ede_codes(r.msg), [fs.EDE_STALE_NXDOMAIN], r.qname)
            self.assertEqual([(rrset.rdtype, rrset.ttl) for rrset in r.msg.authority],
                             [(dns.rdatatype.SOA, STALE_TTL)], str(r.msg))
        r = h.dig("127.0.0.1", self.port, MISSING[0][0], "A")
        self.assertEqual(r.status, "NXDOMAIN", str(r))
        self.assertIn("; EDE: 19 (Stale NXDOMAIN Answer)", r.stdout, str(r))

    def test_past_max_stale_an_expired_name_gets_servfail_with_ede_22(self):
        self.start(serve_stale="3s verify")
        self.warm(NAMES[:5])
        self.fault.set_rules("blackhole")
        within = self.timed(NAMES[0][0])  # expired 1-2 s ago: inside the 3 s
        self.assertEqual(fs.ede_codes(within.msg), [fs.EDE_STALE], str(within.msg))
        time.sleep(3.0)  # now more than 1 s + 3 s past the answers' store time
        for qname, rdtype in NAMES[1:5]:
            r = self.timed(qname, rdtype)
            self.assertEqual(fs.rcode_text(r), "SERVFAIL", str(r.msg))
            self.assertEqual(r.msg.answer, [], str(r.msg))
            self.assertEqual(fs.ede_codes(r.msg), [fs.EDE_NO_REACHABLE], str(r.msg))

    # --- verify and immediate -----------------------------------------------------------------------
    def test_verify_mode_waits_client_timeout_for_a_slow_upstream_then_answers_stale(self):
        self.start(serve_stale="72h verify", client_timeout="400ms")
        self.warm(NAMES[:1])
        self.fault.set_rules("delay 1200")  # slower than client_timeout, faster than the 2 s attempt
        stale = self.timed(NAMES[0][0])
        self.assertEqual(fs.ede_codes(stale.msg), [fs.EDE_STALE], str(stale.msg))
        self.assertGreaterEqual(stale.seconds, 0.38)
        self.assertLess(stale.seconds, 0.8)
        time.sleep(1.2)  # the refresh that kept going lands in the cache
        fresh = self.timed(NAMES[0][0])
        self.assertEqual(fs.ede_codes(fresh.msg), [], str(fresh.msg))
        self.assertGreater(fresh.msg.answer[0].ttl, ZONE_TTL - 5, str(fresh.msg))
        self.assertLess(fresh.seconds, 0.1)

    def test_immediate_mode_answers_stale_at_once_and_refreshes_in_the_background(self):
        self.start(serve_stale="72h immediate")
        self.warm(NAMES[:1])
        self.fault.set_rules("delay 300")  # the upstream works, slowly, with the zone's TTL
        forwarded = self.fault.stats()["forwarded_upstream"]
        stale = self.timed(NAMES[0][0])
        self.assertEqual(fs.ede_codes(stale.msg), [fs.EDE_STALE], str(stale.msg))
        self.assertEqual([rrset.ttl for rrset in stale.msg.answer], [STALE_TTL])
        self.assertLess(stale.seconds, 0.1, "immediate mode must not wait for the upstream")
        self.assertTrue(h.wait_until(
            lambda: self.fault.stats()["forwarded_upstream"] > forwarded, 2.0), "no refresh sent")
        time.sleep(0.6)  # the 300 ms refresh completes
        fresh = self.timed(NAMES[0][0])
        self.assertEqual(fs.rcode_text(fresh), "NOERROR")
        self.assertEqual(fs.ede_codes(fresh.msg), [], str(fresh.msg))
        self.assertEqual(fs.rdatas(fresh.msg), [fs.svc_address(NAMES[0][0])])
        self.assertGreater(fresh.msg.answer[0].ttl, ZONE_TTL - 5, str(fresh.msg))
        self.assertLess(fresh.seconds, 0.1, "the fresh answer must come from the cache")

    def test_serve_stale_off_gives_servfail_when_the_upstream_is_down(self):
        self.start(serve_stale="off")
        self.warm(NAMES[:3])
        self.fault.set_rules("blackhole")
        for qname, rdtype in NAMES[:3]:
            r = self.timed(qname, rdtype)
            self.assertEqual(fs.rcode_text(r), "SERVFAIL", str(r.msg))
            self.assertEqual(r.msg.answer, [], str(r.msg))
            self.assertNotIn(fs.EDE_STALE, fs.ede_codes(r.msg), str(r.msg))

    # --- the circuit breaker ------------------------------------------------------------------------
    def test_circuit_open_misses_over_the_probe_budget_wait_probe_interval_then_servfail_ede_22(self):
        self.start(max_fails=2, limits={"probe_interval": f"{int(PROBE_INTERVAL * 1000)}ms",
                                        "probes": PROBES})
        self.fault.set_rules("blackhole")
        # No round trips measured yet (no silence detection): max_fails timed-out flights (2 s
        # each, in parallel) open the circuit. The first to time out is sent once more (to the
        # daemon it looks like a lost datagram), the second opens the circuit: its client has
        # SERVFAIL at 2 s, the first's when the second copy times out, 4 s in.
        first: list = []
        opener = threading.Thread(target=lambda: first.extend(
            fs.ask_all(self.port, MISSING[:2], timeout=6.0)))
        opener.start()
        self.assertTrue(fs.wait_for_log(self.daemon, fs.CIRCUIT_OPEN, 4.0),
                        "the circuit never opened")
        # 20 misses at once, right after the circuit opened: every probe slot is free (the first
        # timed probe is due 0.8-1.2 s after the opening) and each slot is held probe_interval.
        misses = [(h.wild_name(f"open-{i}"), "A") for i in range(20)]
        counted_from = time.monotonic()
        received = self.fault.stats()["queries_received"]
        replies: list = []
        asker = threading.Thread(target=lambda: replies.extend(
            fs.ask_all(self.port, misses, timeout=PROBE_INTERVAL + ATTEMPT_TIMEOUT + 2.0)))
        began = time.monotonic()
        asker.start()
        time.sleep(max(0.0, began + PROBE_INTERVAL * 0.7 - time.monotonic()))
        in_first_interval = self.fault.stats()["queries_received"] - received
        asker.join(15)
        elapsed = time.monotonic() - began
        upstream = self.fault.stats()["queries_received"] - received
        counted_for = time.monotonic() - counted_from  # the span the two counter readings cover
        seconds = sorted(r.seconds for r in replies)
        print(f"\n  circuit open, 20 misses: {in_first_interval} reached the upstream within "
              f"{PROBE_INTERVAL * 0.7:.1f} s, {upstream} within {elapsed:.2f} s; replies after "
              f"{[round(t, 2) for t in seconds]} s", file=sys.stderr)
        self.assertFalse(asker.is_alive())
        opener.join(10)
        self.assertEqual([fs.rcode_text(r) for r in first], ["SERVFAIL"] * 2)
        at = sorted(r.seconds for r in first)
        self.assertTrue(1.8 < at[0] < 3.0 and 3.8 < at[1] < 5.5, f"SERVFAIL after {at} s")
        # Every miss: SERVFAIL + EDE 22, none unanswered.
        self.assertEqual(len(replies), len(misses))
        self.assertEqual([(fs.rcode_text(r), r.msg and fs.ede_codes(r.msg)) for r in replies],
                         [("SERVFAIL", [fs.EDE_NO_REACHABLE])] * len(misses))
        # Misses are the probes, within the budget: exactly `probes` went out in the first
        # interval, and never more than `probes` per probe_interval.
        self.assertEqual(in_first_interval, PROBES)
        # (A slot is held probe_interval, so in a span of S seconds each is taken at most
        # floor(S / probe_interval) + 1 times.)
        self.assertLessEqual(upstream, PROBES * (math.floor(counted_for / PROBE_INTERVAL) + 1))
        # A miss that found no probe slot waited in the queue probe_interval (no SERVFAIL at
        # once: the queue is far from full); one sent as a probe waited out the probe timeout.
        # Either way SERVFAIL within probe_interval + the probe timeout, not a 2 s attempt more.
        self.assertGreaterEqual(min(seconds), min(PROBE_INTERVAL, PROBE_TIMEOUT) * 0.9,
                                "a miss got SERVFAIL before its wait ran out")
        self.assertLess(max(seconds), PROBE_INTERVAL + PROBE_TIMEOUT + 0.3, seconds)


if __name__ == "__main__":
    h.main()
