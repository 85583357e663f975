"""The upstream side of the integration tests: a real NSD serving the generated zones, and a
counting, slowable, silenceable DNS proxy to put between holdfast and NSD."""
from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import os
import socket
import struct
import threading
import time
from pathlib import Path
from typing import Optional

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from dnsclient import _family, _recv_exact, big_receive_buffer, udp
from processes import ManagedProcess, free_port, wait_until
from zonegen import write_zones

NSD_BIN = os.environ.get("NSD_BIN", "/usr/sbin/nsd")

# ------------------------------------------------------------------------------------------------
# NSD
# ------------------------------------------------------------------------------------------------
class Nsd:
    """A real NSD serving the generated zones on 127.0.0.1:port and [::1]:port, in its own temp dir.
    Use as a context manager; stop() is idempotent."""

    def __init__(self, workdir: Path, *, port: Optional[int] = None, ttl: int = 30,
                 negative_ttl: int = 5):
        self.dir = Path(workdir) / "nsd"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.process: Optional[ManagedProcess] = None

    def _write_config(self) -> Path:
        zones = write_zones(self.dir, self.ttl, self.negative_ttl)
        d = self.dir
        lines = [
            "server:",
            f"    ip-address: 127.0.0.1@{self.port}",
            f"    ip-address: ::1@{self.port}",
            "    server-count: 1",
            "    reuseport: no",
            '    database: ""',
            '    username: ""',
            '    chroot: ""',
            f'    zonesdir: "{d}"',
            f'    zonelistfile: "{d}/zone.list"',
            f'    xfrdfile: "{d}/xfrd.state"',
            f'    xfrdir: "{d}"',
            f'    pidfile: "{d}/nsd.pid"',
            f'    cookie-secret-file: "{d}/cookiesecrets.txt"',
            "    verbosity: 1",
            "    hide-version: yes",
            "    tcp-count: 256",
            "    refuse-any: no",
            # Debian's NSD rate-limits responses (RRL, ~200/s per bucket): floods of NXDOMAIN
            # would be dropped or truncated, which holdfast would rightly see as timeouts.
            "    rrl-ratelimit: 0",
            "    rrl-whitelist-ratelimit: 0",
            "remote-control:",
            "    control-enable: no",
        ]
        for zone, file_name in zones.items():
            lines += ["zone:", f"    name: {zone}", f'    zonefile: "{d}/{file_name}"']
        conf = d / "nsd.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self, timeout: float = 15.0) -> "Nsd":
        conf = self._write_config()
        self.process = ManagedProcess("nsd", [NSD_BIN, "-d", "-c", str(conf)],
                                      self.dir / "nsd.log", cwd=self.dir).start()

        def ready() -> bool:
            if not self.process.running():
                raise RuntimeError(f"nsd exited ({self.process.proc.returncode}):\n"
                                   f"{self.process.read_log()}")
            try:
                r = udp("127.0.0.1", self.port, "cluster.local.", "SOA", timeout=0.3)
                return r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1
            except Exception:
                return False

        if not wait_until(ready, timeout):
            log = self.process.read_log()
            self.stop()
            raise RuntimeError(f"nsd not ready on port {self.port} after {timeout}s:\n{log}")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def __enter__(self) -> "Nsd":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# ------------------------------------------------------------------------------------------------
# Counting proxy
# ------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Seen:
    transport: str   # "udp" or "tcp"
    qname: str       # lower-case, absolute; "" when the query did not parse
    qtype: str
    at: float        # time.monotonic()
    dropped: bool
    wire: bytes = b""  # the query as received


class CountingProxy:
    """A DNS proxy on 127.0.0.1:port (UDP and TCP) in front of an upstream, that records every
    query it receives, can delay each one (`delay_seconds`, or per name: `delay_names`), can stop
    answering (`drop = True`: the upstream looks dead, queries time out) and can answer SERVFAIL
    itself (`servfail = True`: the upstream looks broken) without touching the upstream itself;
    `drop_first` loses the first queries for chosen names, as a network loses a datagram.
    Threads are bounded: at most `max_inflight` queries are handled at once, the rest dropped."""

    def __init__(self, upstream_port: int, *, upstream_host: str = "127.0.0.1",
                 listen_host: str = "127.0.0.1", port: Optional[int] = None,
                 delay_seconds: float = 0.0, max_inflight: int = 128):
        self.upstream = (upstream_host, upstream_port)
        self.listen_host = listen_host
        self.port = port or free_port()
        self.delay_seconds = delay_seconds
        # {name: seconds}: these names wait this long instead of `delay_seconds`.
        self.delay_names: dict[str, float] = {}
        # {name: n}: the next n queries for this name are dropped (lost datagrams), then it passes.
        self.drop_first: dict[str, int] = {}
        self.drop = False
        self.servfail = False
        self._slots = threading.BoundedSemaphore(max_inflight)
        self._lock = threading.Lock()
        self._seen: list[Seen] = []
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=max_inflight,
                                                           thread_name_prefix="proxy")
        self._udp: Optional[socket.socket] = None
        self._tcp: Optional[socket.socket] = None
        self._tcp_conns: set[socket.socket] = set()

    # --- inspection -----------------------------------------------------------------------------
    def seen(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    def count(self, qname: Optional[str] = None, qtype: Optional[str] = None,
              transport: Optional[str] = None) -> int:
        """Queries received (dropped ones included) matching every given filter."""
        want = dns.name.from_text(qname).to_text().lower() if qname else None
        return sum(1 for s in self.seen()
                   if (want is None or s.qname == want) and (qtype is None or s.qtype == qtype)
                   and (transport is None or s.transport == transport))

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()

    # --- life cycle -----------------------------------------------------------------------------
    def start(self) -> "CountingProxy":
        family = _family(self.listen_host)
        self._udp = socket.socket(family, socket.SOCK_DGRAM)
        # A cold burst (Holdfast sends up to max_inflight 256 at once) overflowed the default
        # buffer on a busy machine: each query dropped here became a SERVFAIL.
        big_receive_buffer(self._udp)
        self._udp.bind((self.listen_host, self.port))
        self._udp.settimeout(0.1)
        self._tcp = socket.socket(family, socket.SOCK_STREAM)
        self._tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._tcp.bind((self.listen_host, self.port))
        self._tcp.listen(128)
        self._tcp.settimeout(0.1)
        for target in (self._udp_loop, self._tcp_accept_loop):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        for t in self._threads:
            t.join(2)
        with self._lock:
            conns = list(self._tcp_conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
        self._pool.shutdown(wait=True, cancel_futures=True)
        for s in (self._udp, self._tcp):
            if s is not None:
                s.close()

    def __enter__(self) -> "CountingProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- internals ------------------------------------------------------------------------------
    def _record(self, transport: str, wire: bytes) -> Seen:
        qname, qtype = "", ""
        with contextlib.suppress(Exception):
            m = dns.message.from_wire(wire, ignore_trailing=True)
            if m.question:
                qname = m.question[0].name.to_text().lower()
                qtype = dns.rdatatype.to_text(m.question[0].rdtype)
        with self._lock:
            dropped = self.drop
            for name, left in list(self.drop_first.items()):
                if left > 0 and dns.name.from_text(name).to_text().lower() == qname:
                    self.drop_first[name] = left - 1
                    dropped = True
            s = Seen(transport, qname, qtype, time.monotonic(), dropped, wire)
            self._seen.append(s)
        return s

    def _delay_for(self, qname: str) -> float:
        for name, seconds in list(self.delay_names.items()):
            if dns.name.from_text(name).to_text().lower() == qname:
                return seconds
        return self.delay_seconds

    def _servfail_reply(self, query: bytes) -> Optional[bytes]:
        """SERVFAIL to `query` when `servfail` is set (and the query parses), else None."""
        if not self.servfail:
            return None
        with contextlib.suppress(Exception):
            reply = dns.message.make_response(dns.message.from_wire(query, ignore_trailing=True))
            reply.set_rcode(dns.rcode.SERVFAIL)
            return reply.to_wire()
        return None

    def _submit(self, fn, *args) -> None:
        if not self._slots.acquire(blocking=False):
            return  # over the bound: drop, as a busy server would

        def run():
            try:
                fn(*args)
            except Exception:
                pass
            finally:
                self._slots.release()
        try:
            self._pool.submit(run)
        except RuntimeError:  # pool shut down
            self._slots.release()

    def _udp_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                data, client = self._udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            self._submit(self._udp_one, data, client)

    def _udp_one(self, data: bytes, client) -> None:
        seen = self._record("udp", data)
        if seen.dropped:
            return
        if delay := self._delay_for(seen.qname):
            time.sleep(delay)
        reply = self._servfail_reply(data)
        if reply is None:
            with socket.socket(_family(self.upstream[0]), socket.SOCK_DGRAM) as up:
                up.settimeout(3)
                up.connect(self.upstream)
                up.send(data)
                reply = up.recv(65535)
        if not self._stopping.is_set():
            self._udp.sendto(reply, client)

    def _tcp_accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._tcp_conn, args=(conn,), daemon=True)
            t.start()

    def _tcp_conn(self, conn: socket.socket) -> None:
        write_lock = threading.Lock()
        with self._lock:
            self._tcp_conns.add(conn)
        try:
            conn.settimeout(None)
            while not self._stopping.is_set():
                try:
                    (length,) = struct.unpack("!H", _recv_exact(conn, 2))
                    data = _recv_exact(conn, length)
                except (ConnectionError, OSError, struct.error):
                    return
                # Each message on its own worker: pipelined queries are answered as they finish.
                self._submit(self._tcp_one, conn, write_lock, data)
        finally:
            with self._lock:
                self._tcp_conns.discard(conn)
            # Let in-flight answers on this connection finish before closing it.
            time.sleep(self.delay_seconds)
            conn.close()

    def _tcp_one(self, conn: socket.socket, write_lock: threading.Lock, data: bytes) -> None:
        seen = self._record("tcp", data)
        if seen.dropped:
            return
        if delay := self._delay_for(seen.qname):
            time.sleep(delay)
        reply = self._servfail_reply(data)
        if reply is None:
            with socket.create_connection(self.upstream, timeout=3) as up:
                up.sendall(struct.pack("!H", len(data)) + data)
                (length,) = struct.unpack("!H", _recv_exact(up, 2))
                reply = _recv_exact(up, length)
        with write_lock:
            conn.sendall(struct.pack("!H", len(reply)) + reply)
