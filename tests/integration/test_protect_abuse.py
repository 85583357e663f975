#!/usr/bin/python3
"""No single client can move shared upstream state (upstream protection, issue 7 test 7).

For 40 s one client sends 3 queries a second that the upstream answers with an error — REFUSED
(`. NS`, names outside its zones), SERVFAIL and NOTIMP (dnsfault rules on two subzones), and a
CHAOS `version.bind` — while another client asks a name never seen before every 0.2 s. Answers,
whatever their rcode, prove the upstream alive: the breaker never opens, and 100 % of the new
names are answered NOERROR."""
import contextlib
import os
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rdataclass  # noqa: E402
import dns.rcode  # noqa: E402

import faultstack as fs  # noqa: E402
import harness as h  # noqa: E402

SECONDS = 40


class BreakerAbuseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        exit_stack = contextlib.ExitStack()
        cls.addClassCleanup(exit_stack.close)
        cls.tmp = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="holdfast-abuse-")))
        cls.nsd = exit_stack.enter_context(fs.Nsd(cls.tmp))
        cls.fault = exit_stack.enter_context(fs.FaultProxy(cls.tmp, cls.nsd.port))
        cls.fault.set_rules("rcode SERVFAIL --match .servfail.cluster.local")
        status, body = cls.fault.request("POST", "/rules",
                                         b"rcode NOTIMP --match .notimp.cluster.local", "text/plain")
        assert status == 200, body
        cls.port = h.free_port(("127.0.0.1",))
        # `forward .`, as node-local-dns's catch-all block does: everything goes upstream.
        cls.daemon = exit_stack.enter_context(fs.start_holdfast(
            cls.tmp, fs.stale_corefile(cls.port, cls.fault.port, zone="."), cls.port))

    def abuse(self, stop: threading.Event, rcodes: dict) -> None:
        """3 error-provoking queries a second, each name new so no cache absorbs them."""
        i = 0
        start = time.monotonic()
        while not stop.is_set() and i < SECONDS * 3 + 10:
            kind = i % 5
            if kind == 0:
                q = dns.message.make_query(".", "NS")
            elif kind == 1:
                q = dns.message.make_query(f"abuse-{i}.not-served-here.", "A")
            elif kind == 2:
                q = dns.message.make_query(f"abuse-{i}.servfail.cluster.local.", "A")
            elif kind == 3:
                q = dns.message.make_query(f"abuse-{i}.notimp.cluster.local.", "A")
            else:
                q = dns.message.make_query("version.bind.", "TXT", rdclass=dns.rdataclass.CH)
            try:
                r = dns.query.udp(q, "127.0.0.1", port=self.port, timeout=3.0)
                rcodes[dns.rcode.to_text(r.rcode())] = rcodes.get(dns.rcode.to_text(r.rcode()), 0) + 1
            except Exception:
                rcodes["timeout"] = rcodes.get("timeout", 0) + 1
            i += 1
            stop.wait(max(0.0, start + i / 3 - time.monotonic()))

    def test_error_answers_from_one_client_never_open_the_breaker_for_the_others(self):
        stop = threading.Event()
        abuse_rcodes: dict[str, int] = {}
        abuser = threading.Thread(target=self.abuse, args=(stop, abuse_rcodes), daemon=True)
        abuser.start()
        replies = []
        start = time.monotonic()
        try:
            for i in range(SECONDS * 5):
                time.sleep(max(0.0, start + i * 0.2 - time.monotonic()))
                replies += fs.timed_sequential(self.port, [(h.wild_name(f"legit-{i}"), "A")],
                                               timeout=3.0)
        finally:
            stop.set()
            abuser.join(10)
        ok = [r for r in replies if r.rcode == dns.rcode.NOERROR and fs.rdatas(r.msg) == [h.WILD_A]]
        slowest = max(r.seconds for r in replies)
        print(f"\n  breaker abuse for {SECONDS} s: abusive answers {abuse_rcodes}; new names "
              f"{len(ok)} of {len(replies)} NOERROR, slowest {slowest * 1000:.0f} ms", file=sys.stderr)
        self.assertGreaterEqual(sum(abuse_rcodes.values()), SECONDS * 3 - 3)
        self.assertGreater(abuse_rcodes.get("REFUSED", 0), 0)
        self.assertGreater(abuse_rcodes.get("SERVFAIL", 0), 0)
        self.assertEqual(len(ok), len(replies), [fs.rcode_text(r) for r in replies if r not in ok][:5])
        self.assertEqual(fs.log_lines(self.daemon, fs.CIRCUIT_OPEN), [])


if __name__ == "__main__":
    h.main()
