"""DNS clients for the integration tests: dnspython queries over UDP and TCP, raw packets,
pipelined TCP, header decoding, and dig/kdig runs with their output parsed."""
from __future__ import annotations

import dataclasses
import re
import socket
import struct
import subprocess
from typing import Optional

import dns.flags
import dns.message
import dns.query

# ------------------------------------------------------------------------------------------------
# Query helpers
# ------------------------------------------------------------------------------------------------
def make_query(qname: str, rdtype: str = "A", *, edns: bool = True, payload: int = 1232,
               qid: Optional[int] = None, rd: bool = True) -> dns.message.QueryMessage:
    q = dns.message.make_query(qname, rdtype, use_edns=0 if edns else False, payload=payload)
    if not rd:
        q.flags &= ~dns.flags.RD
    if qid is not None:
        q.id = qid
    return q


def udp(host: str, port: int, qname: str, rdtype: str = "A", *, timeout: float = 2.0,
        **kw) -> dns.message.Message:
    """One UDP query with dnspython; raises dns.exception.Timeout when nothing comes back."""
    return dns.query.udp(make_query(qname, rdtype, **kw), host, port=port, timeout=timeout,
                         ignore_unexpected=True)


def tcp(host: str, port: int, qname: str, rdtype: str = "A", *, timeout: float = 2.0,
        **kw) -> dns.message.Message:
    return dns.query.tcp(make_query(qname, rdtype, **kw), host, port=port, timeout=timeout)


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def big_receive_buffer(sock: socket.socket, size: int = 4 << 20) -> None:
    """A receive buffer of `size` for a test's own UDP socket that one Python thread reads. On a
    busy machine (the suite runs three tests at once on two cores) that thread can be off the CPU
    for tens of milliseconds, and the default buffer (~270 small datagrams) overflows: the kernel
    drops what the server did answer (UdpRcvbufErrors), and the test blames the server.
    SO_RCVBUFFORCE passes net.core.rmem_max as root; plain SO_RCVBUF otherwise (capped)."""
    for option in (getattr(socket, "SO_RCVBUFFORCE", 33), socket.SO_RCVBUF):
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, size)
            return
        except OSError:
            continue


def raw_udp(host: str, port: int, packet: bytes, timeout: float = 2.0) -> Optional[bytes]:
    """Sends raw bytes; returns the first datagram back, or None after `timeout`."""
    with socket.socket(_family(host), socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, (host, port))
        try:
            return s.recv(65535)
        except socket.timeout:
            return None


def _recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def tcp_pipeline(host: str, port: int, packets: list[bytes], timeout: float = 5.0) -> list[bytes]:
    """Writes every packet on one TCP connection before reading, then reads as many replies.
    Replies are returned in arrival order (which may differ from query order)."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(b"".join(struct.pack("!H", len(p)) + p for p in packets))
        replies = []
        for _ in packets:
            (length,) = struct.unpack("!H", _recv_exact(s, 2))
            replies.append(_recv_exact(s, length))
        return replies


def header(packet: bytes) -> dict:
    """The fixed 12-byte DNS header of a wire message, decoded."""
    qid, flags, qd, an, ns, ar = struct.unpack("!6H", packet[:12])
    return {"id": qid, "qr": bool(flags & 0x8000), "opcode": (flags >> 11) & 0xF,
            "aa": bool(flags & 0x0400), "tc": bool(flags & 0x0200), "rd": bool(flags & 0x0100),
            "ra": bool(flags & 0x0080), "rcode": flags & 0xF,
            "qdcount": qd, "ancount": an, "nscount": ns, "arcount": ar}


def question_wire(packet: bytes) -> bytes:
    """The raw bytes of the first question (uncompressed name + type + class)."""
    pos = 12
    while packet[pos] != 0:
        pos += 1 + packet[pos]
    return packet[12:pos + 1 + 4]


@dataclasses.dataclass
class RR:
    name: str
    ttl: int
    rdclass: str
    rdtype: str
    rdata: str


@dataclasses.dataclass
class DigResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    def _search(self, pattern: str) -> Optional[str]:
        m = re.search(pattern, self.stdout)
        return m.group(1) if m else None

    @property
    def status(self) -> Optional[str]:
        return self._search(r"status: ([A-Z]+)")

    @property
    def id(self) -> Optional[int]:
        v = self._search(r"id: (\d+)")
        return int(v) if v is not None else None

    @property
    def flags(self) -> set[str]:
        v = self._search(r";; [Ff]lags:\s*([a-z ]*);")
        return set(v.split()) if v is not None else set()

    @property
    def has_opt(self) -> bool:
        # dig: "OPT PSEUDOSECTION", kdig: "EDNS PSEUDOSECTION"
        return "OPT PSEUDOSECTION" in self.stdout or "EDNS PSEUDOSECTION" in self.stdout

    def section(self, name: str) -> list[RR]:
        """Records of ANSWER, AUTHORITY or ADDITIONAL, as printed by dig or kdig."""
        out, inside = [], False
        for line in self.stdout.splitlines():
            if line.startswith(";; ") and "SECTION" in line:
                inside = line.startswith(f";; {name} SECTION")
                continue
            if inside:
                if not line.strip():
                    inside = False
                    continue
                if line.startswith(";"):
                    continue
                parts = line.split(None, 4)
                if len(parts) >= 4 and parts[1].isdigit():
                    out.append(RR(parts[0], int(parts[1]), parts[2], parts[3],
                                  parts[4] if len(parts) > 4 else ""))
        return out

    @property
    def answer(self) -> list[RR]:
        return self.section("ANSWER")

    @property
    def authority(self) -> list[RR]:
        return self.section("AUTHORITY")

    def __str__(self) -> str:
        return f"$ {' '.join(self.argv)}\n{self.stdout}{self.stderr}"


def _run_client(argv: list[str], timeout: float) -> DigResult:
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        return DigResult(argv, p.returncode, p.stdout, p.stderr)
    except subprocess.TimeoutExpired as e:
        return DigResult(argv, -1, (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes)
                         else (e.stdout or ""), "timed out")


def dig(host: str, port: int, qname: str, rdtype: str = "A", *options: str,
        timeout: float = 10.0) -> DigResult:
    """Runs dig with one try and a 2 s wait, plus `options` (e.g. "+tcp", "+ignore", "+noedns")."""
    argv = ["dig", f"@{host}", "-p", str(port), qname, rdtype, "+time=2", "+tries=1", *options]
    return _run_client(argv, timeout)


def kdig(host: str, port: int, qname: str, rdtype: str = "A", *options: str,
         timeout: float = 10.0) -> DigResult:
    argv = ["kdig", f"@{host}", "-p", str(port), qname, rdtype, "+time=2", "+retry=0", *options]
    return _run_client(argv, timeout)
