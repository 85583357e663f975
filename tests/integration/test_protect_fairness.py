#!/usr/bin/python3
"""One client's flood of new names cannot starve another client's misses (issue 11, hostile
clients). The upstream budget is small (qps 100, a queue of 400 that may wait 3 s); client A
(127.0.0.2) floods random names under cluster.local with dnsperf at 3,000 q/s for 8 s; meanwhile
client B (127.0.0.1) asks 100 services never seen before, 20 a second. Misses take turns between
clients in the admission queue, and a full queue sheds the flooder's newest first: every one of
B's names is answered NOERROR, quickly, while the flood gets what is left."""
import os
import random
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.rcode  # noqa: E402

import faultstack as fs  # noqa: E402
import harness as h  # noqa: E402

FLOOD_QPS = 3000
FLOOD_SECONDS = 8
LIMITS = {"qps": 100, "burst": 20, "max_inflight": 50, "queue": 400, "queue_wait": "3s"}


class FairnessTest(unittest.TestCase):
    def test_a_flooding_client_cannot_starve_another_clients_misses(self):
        with tempfile.TemporaryDirectory(prefix="holdfast-fair-") as tmp_text, \
                fs.Nsd(Path(tmp_text)) as nsd:
            tmp = Path(tmp_text)
            port = h.free_port(("127.0.0.1",))
            daemon = fs.start_holdfast(
                tmp, fs.stale_corefile(port, nsd.port, limits=LIMITS, persist="off"), port)
            self.addCleanup(daemon.stop)
            rng = random.Random(7)
            flood = tmp / "flood.txt"
            flood.write_text("".join(
                f"x{rng.getrandbits(48):012x}.ns-{i % 10}.svc.cluster.local. A\n"
                for i in range(FLOOD_QPS * FLOOD_SECONDS)))
            flooder = subprocess.Popen(
                ["dnsperf", "-a", "127.0.0.2", "-s", "127.0.0.1", "-p", str(port), "-d", str(flood),
                 "-n", "1", "-Q", str(FLOOD_QPS), "-l", str(FLOOD_SECONDS + 2), "-c", "4",
                 "-t", "4", "-q", "2000"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            time.sleep(1.5)  # the queue is full of the flood by now
            names = [(h.svc_name(n, m), "A") for m in range(10) for n in range(10)]
            replies = fs.ask_all(port, names, rate=20)
            out, _ = flooder.communicate(timeout=60)
            noerror = [r for r in replies if r.rcode == dns.rcode.NOERROR]
            slowest = max(r.seconds for r in replies)
            flood_done = [line.strip() for line in out.splitlines()
                          if "Queries completed" in line or "Response codes" in line]
            print(f"\nduring a {FLOOD_QPS} q/s random-name flood from another client: "
                  f"{len(noerror)}/{len(replies)} NOERROR, slowest {slowest * 1000:.0f} ms; "
                  f"flood: {'; '.join(flood_done)}", file=sys.stderr)
            self.assertEqual(len(noerror), len(names),
                             [f"{r.qname}: {fs.rcode_text(r)}" for r in replies
                              if r.rcode != dns.rcode.NOERROR][:10])
            self.assertLess(slowest, 1.5)


if __name__ == "__main__":
    h.main()
