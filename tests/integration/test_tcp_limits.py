#!/usr/bin/python3
"""TCP connection handling (RFC 7766): the idle timeout (`--tcp-idle-timeout`), which never cuts
a connection that is still owed an answer; the connection limit (`--tcp-max-connections`), which
closes the oldest idle connection to serve a new client; the per-client limit
(`--tcp-max-connections-per-client`); the whole-frame deadline that a slowloris client dribbling
one byte a second cannot extend; pipelined answers sent as they are ready, out of order; frames
that arrive a byte at a time."""
import contextlib
import os
import socket
import struct
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.message  # noqa: E402
import dns.rcode  # noqa: E402

import harness as h  # noqa: E402

IDLE_TIMEOUT_MS = 500
SLOW_SECONDS = 1.0  # longer than the idle timeout


def send_frame(s: socket.socket, wire: bytes) -> None:
    s.sendall(struct.pack("!H", len(wire)) + wire)


def recv_frame(s: socket.socket) -> dns.message.Message:
    (length,) = struct.unpack("!H", h._recv_exact(s, 2))
    return dns.message.from_wire(h._recv_exact(s, length))


def addresses(reply: dns.message.Message) -> list[str]:
    return [rd.to_text() for rrset in reply.answer for rd in rrset]


def closed_by_peer(s: socket.socket) -> bool:
    """True when the peer has closed: recv returns b'' (FIN) or the connection was reset."""
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


class TcpLimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        exit_stack = contextlib.ExitStack()
        cls.addClassCleanup(exit_stack.close)
        cls.tmp = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="holdfast-it-")))
        nsd = exit_stack.enter_context(h.Nsd(cls.tmp))
        cls.proxy = exit_stack.enter_context(h.CountingProxy(nsd.port))

        def daemon(name, *extra_args) -> int:
            port = h.free_port(("127.0.0.1",))
            corefile = h.corefile(port, cls.proxy.port, bind=("127.0.0.1",))
            hf = exit_stack.enter_context(h.Holdfast(cls.tmp, corefile, name=name,
                                                     extra_args=extra_args))
            hf.start("127.0.0.1", port)
            return port

        cls.idle_port = daemon("holdfast-idle", "--tcp-idle-timeout", str(IDLE_TIMEOUT_MS))
        cls.limited_port = daemon("holdfast-limited", "--tcp-max-connections", "2")
        cls.plain_port = daemon("holdfast-plain")
        cls.slowloris_port = daemon("holdfast-slowloris", "--tcp-max-connections", "20",
                                    "--tcp-max-connections-per-client", "10")

    def setUp(self):
        self.proxy.delay_names = {}

    def tearDown(self):
        self.proxy.delay_names = {}

    def connect(self, port: int, timeout: float = 3.0, source: str = "127.0.0.1") -> socket.socket:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                     source_address=(source, 0))
        self.addCleanup(s.close)
        return s

    def assert_answers(self, s: socket.socket, n: int, m: int, qid: int) -> None:
        send_frame(s, h.make_query(h.svc_name(n, m), "A", qid=qid).to_wire())
        reply = recv_frame(s)
        self.assertEqual(reply.id, qid)
        self.assertEqual(addresses(reply), [h.svc_ipv4(n, m)])

    # --- --tcp-idle-timeout --------------------------------------------------------------------
    def test_idle_connection_is_closed_by_the_server_after_the_idle_timeout(self):
        s = self.connect(self.idle_port)
        start = time.monotonic()
        self.assertTrue(closed_by_peer(s), "the server sent data instead of closing")
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 0.3, f"closed after {elapsed:.2f} s: too early")
        self.assertLessEqual(elapsed, 1.5, f"closed after {elapsed:.2f} s: too late")

    def test_connection_is_closed_after_the_idle_timeout_that_follows_an_answer(self):
        s = self.connect(self.idle_port)
        self.assert_answers(s, 1, 2, 0x1d01)
        start = time.monotonic()
        self.assertTrue(closed_by_peer(s))
        self.assertLessEqual(time.monotonic() - start, 1.5)

    def test_connection_owed_an_answer_is_not_closed_by_the_idle_timeout(self):
        qname = h.svc_name(2, 2)
        self.proxy.delay_names = {qname: SLOW_SECONDS}
        s = self.connect(self.idle_port)
        start = time.monotonic()
        send_frame(s, h.make_query(qname, "A", qid=0x1d02).to_wire())
        reply = recv_frame(s)
        elapsed = time.monotonic() - start
        self.assertEqual(reply.id, 0x1d02)
        self.assertEqual(addresses(reply), [h.svc_ipv4(2, 2)])
        self.assertGreaterEqual(elapsed, SLOW_SECONDS * 0.9,
                                "the answer came before the upstream delay: not a pending query")

    # --- --tcp-max-connections -----------------------------------------------------------------
    def test_full_listener_closes_the_oldest_idle_connection_for_a_new_client(self):
        first = self.connect(self.limited_port)
        second = self.connect(self.limited_port)
        # An answer on each proves the daemon has accepted both before the third arrives.
        self.assert_answers(first, 3, 2, 0x3c01)
        self.assert_answers(second, 4, 2, 0x3c02)
        third = self.connect(self.limited_port, timeout=1.0)
        self.assert_answers(third, 5, 2, 0x3c03)
        self.assertTrue(closed_by_peer(first), "the oldest idle connection was kept")
        self.assert_answers(second, 6, 2, 0x3c04)

    def test_full_listener_of_busy_connections_closes_a_new_one_at_once(self):
        slow = [h.svc_name(20, 3), h.svc_name(21, 3)]
        self.proxy.delay_names = {name: SLOW_SECONDS for name in slow}
        busy = [self.connect(self.limited_port) for _ in slow]
        for s, name, qid in zip(busy, slow, (0x4d01, 0x4d02)):
            send_frame(s, h.make_query(name, "A", qid=qid).to_wire())
        time.sleep(0.2)  # both accepted and owed an answer
        third = self.connect(self.limited_port, timeout=1.0)
        start = time.monotonic()
        self.assertTrue(closed_by_peer(third), "the third connection got data")
        self.assertLess(time.monotonic() - start, 1.0)
        for s, qid in zip(busy, (0x4d01, 0x4d02)):
            self.assertEqual(recv_frame(s).id, qid)

    # --- slowloris -------------------------------------------------------------------------------
    def test_slowloris_cannot_hold_the_listener(self):
        """One client opens as many connections as it may (10 of 20, the per-client cap) and
        dribbles one byte a second into each; the frame deadline (3 s, not extended by bytes)
        closes them. Meanwhile another client (127.0.0.2) gets every TCP answer."""
        stop = threading.Event()
        dribblers: list[socket.socket] = []
        for _ in range(20):
            s = self.connect(self.slowloris_port)
            dribblers.append(s)
        closed_at: dict[int, float] = {}
        start = time.monotonic()

        def dribble():
            wire = struct.pack("!H", 40) + b"\x00" * 40
            for i in range(len(wire)):
                if stop.is_set():
                    return
                for n, s in enumerate(dribblers):
                    if n in closed_at:
                        continue
                    try:
                        s.send(wire[i:i + 1])
                    except OSError:
                        closed_at[n] = time.monotonic() - start
                stop.wait(1.0)

        thread = threading.Thread(target=dribble, daemon=True)
        thread.start()
        self.addCleanup(stop.set)
        answered = 0
        for n in range(8):
            legit = self.connect(self.slowloris_port, timeout=2.0, source="127.0.0.2")
            self.assert_answers(legit, 30 + n, 4, 0x5e00 + n)
            answered += 1
            legit.close()
            time.sleep(0.5)
        # Every dribbler is gone by now: refused at once (over the per-client cap) or cut by the
        # frame deadline, whatever it still sends.
        for n, s in enumerate(dribblers):
            s.settimeout(3.0)
            if closed_by_peer(s):
                closed_at.setdefault(n, time.monotonic() - start)
        stop.set()
        thread.join(5)
        late = sorted(t for t in closed_at.values())
        print(f"\nslowloris: legitimate answers {answered}/8; 20 dribbling connections all closed, "
              f"the last {late[-1]:.1f} s after the start", file=sys.stderr)
        self.assertEqual(answered, 8)
        self.assertEqual(len(closed_at), 20)
        self.assertLess(late[-1], 8.0, "a dribbling connection outlived the frame deadline")

    # --- pipelining and framing ----------------------------------------------------------------
    def test_pipelined_fast_answer_overtakes_a_slow_one_sent_before_it(self):
        slow, fast = h.svc_name(7, 2), h.svc_name(8, 2)
        h.udp("127.0.0.1", self.plain_port, fast, "A")  # cached now
        self.proxy.delay_names = {slow: SLOW_SECONDS}
        queries = [h.make_query(slow, "A", qid=0x51).to_wire(),
                   h.make_query(fast, "A", qid=0xfa).to_wire()]
        replies = [dns.message.from_wire(w) for w in h.tcp_pipeline("127.0.0.1", self.plain_port,
                                                                    queries)]
        self.assertEqual([r.id for r in replies], [0xfa, 0x51],
                         "the cached answer must not wait behind the slow one")
        self.assertEqual(addresses(replies[0]), [h.svc_ipv4(8, 2)])
        self.assertEqual(addresses(replies[1]), [h.svc_ipv4(7, 2)])

    def test_frame_sent_one_byte_at_a_time_is_answered(self):
        s = self.connect(self.plain_port)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        wire = h.make_query(h.svc_name(9, 2), "A", qid=0xb1).to_wire()
        for byte in struct.pack("!H", len(wire)) + wire:
            s.send(bytes([byte]))
            time.sleep(0.005)  # separate segments, so the daemon reads them separately
        reply = recv_frame(s)
        self.assertEqual(reply.id, 0xb1)
        self.assertEqual(reply.rcode(), dns.rcode.NOERROR)
        self.assertEqual(addresses(reply), [h.svc_ipv4(9, 2)])

    def test_two_frames_split_across_sends_at_odd_offsets_are_both_answered(self):
        s = self.connect(self.plain_port)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stream = b"".join(struct.pack("!H", len(w)) + w for w in
                          (h.make_query(h.svc_name(10, 2), "A", qid=0xb2).to_wire(),
                           h.make_query(h.svc_name(11, 2), "A", qid=0xb3).to_wire()))
        # Cuts inside the first length prefix, inside a body, and across the frame boundary.
        cuts = [1, 20, len(stream) // 2 + 1, len(stream) - 3, len(stream)]
        previous = 0
        for cut in cuts:
            s.send(stream[previous:cut])
            previous = cut
            time.sleep(0.02)
        replies = {r.id: r for r in (recv_frame(s), recv_frame(s))}
        self.assertEqual(set(replies), {0xb2, 0xb3})
        self.assertEqual(addresses(replies[0xb2]), [h.svc_ipv4(10, 2)])
        self.assertEqual(addresses(replies[0xb3]), [h.svc_ipv4(11, 2)])


if __name__ == "__main__":
    h.main()
