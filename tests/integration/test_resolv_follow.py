#!/usr/bin/python3
"""`forward . FILE` follows its resolv.conf: when the file changes (a DHCP lease, a VPN coming up),
the new nameservers are used within 2 s, without a restart and without losing the cache. Two
upstreams answer every A question with their own address (127.0.0.2 → 10.0.0.2, 127.0.0.3 →
10.0.0.3) on port 53, which resolv.conf cannot change; so the test runs in a network namespace of
its own (re-executing itself under `unshare -n` as root)."""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

if os.geteuid() == 0 and os.environ.get("HOLDFAST_IN_NETNS") != "1":
    os.environ["HOLDFAST_IN_NETNS"] = "1"
    os.execvp("unshare", ["unshare", "-n", sys.executable, *sys.argv])

import dns.rcode  # noqa: E402

import harness as h  # noqa: E402


def responder(address: str, answer_ip: str, stop: threading.Event) -> threading.Thread:
    """Answers every query on address:53 with one A record `answer_ip`, TTL 1."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 53))
    sock.settimeout(0.1)

    def run():
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(512)
            except socket.timeout:
                continue
            end = 12
            while data[end] != 0:
                end += 1 + data[end]
            end += 5
            reply = bytearray(data[:end])
            reply[2] |= 0x80
            reply[3] = 0x80
            reply[6:12] = b"\x00\x01\x00\x00\x00\x00"
            reply += b"\xc0\x0c\x00\x01\x00\x01" + struct.pack("!IH", 1, 4) + socket.inet_aton(answer_ip)
            sock.sendto(bytes(reply), peer)
        sock.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def address_of(port: int, qname: str) -> str:
    reply = h.udp("127.0.0.1", port, qname, "A", timeout=2.0)
    return [rd.to_text() for rrset in reply.answer for rd in rrset][0]


@unittest.skipUnless(os.environ.get("HOLDFAST_IN_NETNS") == "1", "needs root (a network namespace)")
class ResolvFollowTest(unittest.TestCase):
    def test_a_changed_resolv_conf_is_followed_within_2_s_keeping_the_cache(self):
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        stop = threading.Event()
        self.addCleanup(stop.set)
        responder("127.0.0.2", "10.0.0.2", stop)
        responder("127.0.0.3", "10.0.0.3", stop)
        tmp = Path(tempfile.mkdtemp(prefix="holdfast-resolv-"))
        resolv = tmp / "resolv.conf"
        resolv.write_text("nameserver 127.0.0.2\n")
        port = 53  # the namespace's own port 53: a resolv.conf naming 127.0.0.1 points back here
        text = (f".:{port} {{\n    bind 127.0.0.1\n    forward . {resolv}\n"
                f"    cache {{\n        success 9984 3600 60\n    }}\n}}\n")
        daemon = h.Holdfast(tmp, text, name="follow", log_level="info")
        self.addCleanup(daemon.stop)
        daemon.start("127.0.0.1", port)
        self.assertEqual(address_of(port, "before.example."), "10.0.0.2")
        # The network manager rewrites the file (a new one renamed over it, as they do).
        fresh = tmp / "resolv.conf.new"
        fresh.write_text("# generated\nnameserver 127.0.0.3\n")
        os.rename(fresh, resolv)
        changed = time.monotonic()
        followed = h.wait_until(lambda: address_of(port, f"after-{time.monotonic_ns()}.example.")
                                == "10.0.0.3", 5.0, interval=0.1)
        seconds = time.monotonic() - changed
        self.assertTrue(followed, daemon.log())
        print(f"\nforwarders followed the new resolv.conf {seconds:.2f} s after the change",
              file=sys.stderr)
        self.assertLess(seconds, 2.0)
        self.assertIn(f"forward: {resolv} changed", daemon.log())
        # The cache stayed: the first name is still answered from it (min TTL 60 s).
        self.assertEqual(address_of(port, "before.example."), "10.0.0.2")
        # A resolv.conf that points back at Holdfast itself (systemd-resolved told to use it) is
        # refused with the reason; the running configuration stays.
        fresh.write_text("nameserver 127.0.0.1\n")
        os.rename(fresh, resolv)
        self.assertTrue(h.wait_until(lambda: "the running configuration stays" in daemon.log(), 3.0),
                        daemon.log())
        refused = [line for line in daemon.log().splitlines() if "running configuration stays" in line]
        self.assertIn("127.0.0.1:53", refused[-1])
        self.assertEqual(address_of(port, f"still-{time.monotonic_ns()}.example."), "10.0.0.3")

    def test_a_resolv_conf_naming_holdfast_itself_is_refused_at_start(self):
        tmp = Path(tempfile.mkdtemp(prefix="holdfast-resolv-"))
        resolv = tmp / "resolv.conf"
        resolv.write_text("nameserver 127.0.0.1\n")
        conf = tmp / "Corefile"
        conf.write_text(f".:53 {{\n    bind 127.0.0.1\n    forward . {resolv}\n}}\n")
        r = h.run_holdfast(["-conf", str(conf), "--check-config"])
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(f"{conf}:3:", r.stderr)
        self.assertIn("127.0.0.1:53", r.stderr)


if __name__ == "__main__":
    h.main()
