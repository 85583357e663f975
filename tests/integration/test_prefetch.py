#!/usr/bin/python3
"""`cache { prefetch AMOUNT DURATION PERCENT% }`: a name asked often is refreshed upstream while
its answer is still fresh, so clients never wait for (or see the expiry of) a popular name."""
import os
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

TTL = 8  # the zone's TTL; the cache keeps it as is (minimum TTL 1)
# The cache counts time in whole wall-clock seconds: an answer stored late in a second expires up
# to one second early, and its remaining TTL is known to the second.
GRAIN = 1.1


def corefile(prefetch: bool):
    def make(port: int, upstream_port: int) -> str:
        rules = "        prefetch 2 10s 50%\n" if prefetch else ""
        return (f"cluster.local:{port} {{\n"
                f"    bind 127.0.0.1\n"
                f"    forward . 127.0.0.1:{upstream_port}\n"
                f"    cache {{\n"
                f"        success 9984 30 1\n"
                f"        denial 9984 5 1\n"
                f"{rules}"
                f"    }}\n"
                f"}}\n")
    return make


class PrefetchTest(unittest.TestCase):
    def ask_for(self, stack, name: str, seconds: float) -> list[float]:
        """Asks `name` every 0.25 s for `seconds`; returns when (after the first upstream query)
        each upstream query for it arrived."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            r = h.udp("127.0.0.1", stack.port, name, "A", timeout=2)
            self.assertEqual(r.rcode(), 0)
            time.sleep(0.25)
        times = [s.at for s in stack.proxy.seen() if s.qname == name]
        return [t - times[0] for t in times]

    def test_popular_name_is_refreshed_before_it_expires(self):
        name = h.svc_name(11, 2)
        with h.Stack(ttl=TTL, make_corefile=corefile(prefetch=True)) as stack:
            upstream = self.ask_for(stack, name, 7.0)
        self.assertGreaterEqual(len(upstream), 2, upstream)
        # Refreshed once at most 50 % of the 8 s TTL was left (4 s in, give or take the grain),
        # and well before it expired.
        self.assertGreaterEqual(upstream[1], TTL / 2 - GRAIN, upstream)
        self.assertLess(upstream[1], TTL - GRAIN - 0.5, f"refreshed only at expiry: {upstream}")

    def test_without_prefetch_the_name_is_asked_again_only_after_it_expires(self):
        name = h.svc_name(12, 2)
        with h.Stack(ttl=TTL, make_corefile=corefile(prefetch=False)) as stack:
            upstream = self.ask_for(stack, name, 9.0)
        self.assertGreaterEqual(len(upstream), 2, upstream)
        self.assertGreaterEqual(upstream[1], TTL - GRAIN, upstream)


if __name__ == "__main__":
    h.main()
