"""Fixtures for the serve-stale and persistence tests: NSD (response-rate limiting off) behind
`dnsfault` (the FaultProxy of tests/dnsfault/fault_fixtures.py, reused as is) behind holdfast; a
Corefile with the serve_stale, upstream_limits and persist knobs; bulk UDP queries with per-query
latency, and a client asking continuously from a thread; a sampler of dnsfault's /stats
(in-flight peak, when queries went upstream, per-second upstream rate); a process's RSS.
Standard library + dnspython only; run with /usr/bin/python3. Processes are started from the main
thread and stopped by PID (harness.ManagedProcess), pass or fail."""
from __future__ import annotations

import dataclasses
import selectors
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterable, Optional, Sequence

import dns.edns
import dns.message
import dns.rcode

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "dnsfault"))
from fault_fixtures import FaultProxy, dnsfault_bin  # noqa: E402,F401  (imports harness too)

import harness as h  # noqa: E402

# Outside every block's zone: answered REFUSED at once, never sent upstream, so readiness checks
# neither wait for a broken upstream nor count as upstream failures.
LOCAL_PROBE = ("ready.invalid.", "A")

EDE_STALE = 3             # RFC 8914: Stale Answer
EDE_STALE_NXDOMAIN = 19   # Stale NXDOMAIN Answer
EDE_NO_REACHABLE = 22     # No Reachable Authority

# Misses per second when warming the cache. Faster, the default upstream_limits (burst 500,
# qps 2000) would answer part of the warm-up SERVFAIL.
WARM_RATE = 1000


# ------------------------------------------------------------------------------------------------
# The upstream
# ------------------------------------------------------------------------------------------------
Nsd = h.Nsd  # response-rate limiting is off in the harness's NSD


# ------------------------------------------------------------------------------------------------
# Corefile
# ------------------------------------------------------------------------------------------------
def stale_corefile(port: int, upstream_port: int, *, serve_stale: str = "72h verify",
                   stale_ttl: str = "7s", client_timeout: str = "400ms", recheck: str = "30s",
                   max_fails: int = 2, success: str = "9984 30 1", denial: str = "9984 5 1",
                   limits: Optional[dict[str, object]] = None, persist: Optional[str] = None,
                   zone: str = "cluster.local") -> str:
    """One `zone` block (cluster.local) on 127.0.0.1:port forwarding to 127.0.0.1:upstream_port, with
    minimum TTLs of 1 s (so short zone TTLs expire quickly). `serve_stale="off"` disables serving
    stale; `persist` is a directory, "off", or a whole `DIR { ... }` clause."""
    if serve_stale == "off":
        stale = "        serve_stale off\n"
    else:
        stale = (f"        serve_stale {serve_stale} {{\n"
                 f"            ttl {stale_ttl}\n"
                 f"            client_timeout {client_timeout}\n"
                 f"            recheck {recheck}\n"
                 f"        }}\n")
    limits_text = ""
    if limits:
        limits_text = ("    upstream_limits {\n" +
                       "".join(f"        {k} {v}\n" for k, v in limits.items()) + "    }\n")
    persist_text = f"    persist {persist}\n" if persist else ""
    return (f"{zone}:{port} {{\n"
            f"    bind 127.0.0.1\n"
            f"    forward . 127.0.0.1:{upstream_port} {{\n"
            f"        max_fails {max_fails}\n"
            f"    }}\n"
            f"    cache {{\n"
            f"        success {success}\n"
            f"        denial {denial}\n"
            f"{stale}"
            f"    }}\n"
            f"{limits_text}"
            f"{persist_text}"
            f"    errors\n"
            f"}}\n")


def start_holdfast(workdir: Path, corefile_text: str, port: int, *, name: str = "holdfast",
                   log_level: str = "info") -> h.Holdfast:
    """A holdfast started and answering (LOCAL_PROBE) on 127.0.0.1:port. The caller stops it."""
    daemon = h.Holdfast(workdir, corefile_text, name=name, log_level=log_level)
    daemon.start("127.0.0.1", port, LOCAL_PROBE)
    return daemon


# ------------------------------------------------------------------------------------------------
# Replies
# ------------------------------------------------------------------------------------------------
def ede_codes(msg: dns.message.Message) -> list[int]:
    return [o.code for o in msg.options if isinstance(o, dns.edns.EDEOption)]


def rdatas(msg: dns.message.Message) -> list[str]:
    return [rd.to_text() for rrset in msg.answer for rd in rrset]


def ttls(msg: dns.message.Message) -> list[int]:
    return [rrset.ttl for section in (msg.answer, msg.authority) for rrset in section]


@dataclasses.dataclass
class Reply:
    qname: str
    rdtype: str
    msg: Optional[dns.message.Message]  # None: no answer within the timeout
    seconds: float                      # from send to receive (the timeout when unanswered)

    @property
    def rcode(self) -> Optional[int]:
        return None if self.msg is None else self.msg.rcode()


def ask_all(port: int, questions: Sequence[tuple[str, str]], *, window: int = 200,
            timeout: float = 3.0, rate: Optional[float] = None, edns: bool = True,
            host: str = "127.0.0.1") -> list[Reply]:
    """Sends every (qname, rdtype) over one UDP socket, keeping at most `window` unanswered (and
    sending at most `rate` per second when given); returns the replies in question order. Bounded:
    each query waits at most `timeout`."""
    wires = [h.make_query(q, t, edns=edns, qid=i % 65536).to_wire() for i, (q, t) in enumerate(questions)]
    replies: list[Optional[Reply]] = [None] * len(questions)
    received: dict[int, tuple[bytes, float]] = {}  # index -> (reply, seconds waited)
    outstanding: dict[int, tuple[int, float]] = {}  # qid -> (index, sent at)
    window = min(window, 65536)
    sel = selectors.DefaultSelector()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        h.big_receive_buffer(s)
        s.connect((host, port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        start = time.monotonic()
        next_index = 0
        while next_index < len(wires) or outstanding:
            now = time.monotonic()
            while (next_index < len(wires) and len(outstanding) < window
                   and (rate is None or next_index < (now - start) * rate + 1)):
                qid = next_index % 65536
                if qid in outstanding:
                    break
                try:
                    s.send(wires[next_index])
                except BlockingIOError:
                    break
                except ConnectionRefusedError:
                    pass  # an ICMP error from an earlier query (the daemon is gone): time it out
                outstanding[qid] = (next_index, time.monotonic())
                next_index += 1
            for qid, (index, sent) in list(outstanding.items()):
                if now - sent >= timeout:
                    replies[index] = Reply(*questions[index], None, timeout)
                    del outstanding[qid]
            wait = 0.002 if rate is not None and next_index < len(wires) else 0.05
            if sel.select(wait):
                while True:
                    try:
                        data = s.recv(65535)
                    except (BlockingIOError, ConnectionRefusedError):
                        break
                    got = time.monotonic()
                    qid = int.from_bytes(data[:2], "big") if len(data) >= 12 else -1
                    if qid not in outstanding:
                        continue
                    index, sent = outstanding.pop(qid)
                    received[index] = (data, got - sent)
    sel.close()
    # Parsed after the last reply: parsing one takes dnspython ~0.1 ms, and doing it between two
    # reads would add that to the measured wait of every reply still queued in the socket.
    for index, (data, seconds) in received.items():
        try:
            msg = dns.message.from_wire(data)
        except Exception:
            msg = None
        replies[index] = Reply(*questions[index], msg, seconds)
    return [r for r in replies if r is not None]


def timed_sequential(port: int, questions: Iterable[tuple[str, str]],
                     timeout: float = 2.0) -> list[Reply]:
    """One query at a time over one socket, each timed alone (for latency percentiles)."""
    out = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("127.0.0.1", port))
        s.settimeout(timeout)
        for i, (q, t) in enumerate(questions):
            wire = h.make_query(q, t, qid=i % 65536).to_wire()
            start = time.perf_counter()
            s.send(wire)
            try:
                while True:
                    data = s.recv(65535)
                    if h.header(data)["id"] == i % 65536:
                        break
                elapsed = time.perf_counter() - start
                out.append(Reply(q, t, dns.message.from_wire(data), elapsed))
            except socket.timeout:
                out.append(Reply(q, t, None, timeout))
    return out


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def all_services() -> list[tuple[str, str]]:
    """The 1,000 A questions of the generated zone, with their addresses."""
    return [(h.svc_name(n, m), "A") for m in range(h.NAMESPACES) for n in range(h.SERVICES)]


def svc_address(qname: str) -> str:
    """The A record of svc-N.ns-M.svc.cluster.local. (inverse of h.svc_name)."""
    labels = qname.split(".")
    return h.svc_ipv4(int(labels[0][4:]), int(labels[1][3:]))


@dataclasses.dataclass
class Seen:
    at: float            # time.monotonic() when the reply arrived
    qname: str
    rcode: int
    ede: list[int]
    ttl: Optional[int]   # of the first answer RRset; None when the answer section is empty
    seconds: float


class ContinuousAsker:
    """Asks `questions` round-robin at `rate` per second from a thread of its own (one UDP
    socket, replies matched by ID, unanswered ones forgotten after `forget_after` s) until
    stopped, recording every reply. Use as a context manager."""

    def __init__(self, port: int, questions: Sequence[tuple[str, str]], rate: float,
                 forget_after: float = 3.0):
        self.forget_after = forget_after
        self.port = port
        self.wires = [h.make_query(q, t).to_wire() for q, t in questions]
        self.names = [q for q, _ in questions]
        self.rate = rate
        self.sent = 0
        self._seen: list[Seen] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._quiet = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def stop_sending(self) -> None:
        """Sends nothing more but keeps receiving (so every query sent can be answered)."""
        self._quiet.set()

    def seen(self, since: float = 0.0) -> list[Seen]:
        with self._lock:
            return [s for s in self._seen if s.at >= since]

    def _run(self) -> None:
        outstanding: dict[int, tuple[int, float]] = {}  # qid -> (question index, sent at)
        sel = selectors.DefaultSelector()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            # 2,000 answers a second parsed by one Python thread: on a busy machine the default
            # buffer overflowed and 1-5 % of the answers "were lost" in the client's kernel.
            h.big_receive_buffer(s)
            s.connect(("127.0.0.1", self.port))
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            start = time.monotonic()
            while not self._stop.is_set():
                now = time.monotonic()
                while not self._quiet.is_set() and self.sent < (now - start) * self.rate:
                    qid = self.sent % 65536
                    index = self.sent % len(self.wires)
                    wire = bytearray(self.wires[index])
                    wire[0:2] = qid.to_bytes(2, "big")
                    try:
                        s.send(bytes(wire))
                        outstanding[qid] = (index, time.monotonic())
                    except (BlockingIOError, ConnectionRefusedError):
                        pass
                    self.sent += 1
                for qid, (_, sent_at) in list(outstanding.items()):
                    if now - sent_at > self.forget_after:
                        del outstanding[qid]
                if not sel.select(0.002):
                    continue
                batch = []  # read the socket dry first, parse after: see ask_all
                while True:
                    try:
                        data = s.recv(65535)
                    except (BlockingIOError, ConnectionRefusedError):
                        break
                    got = time.monotonic()
                    qid = int.from_bytes(data[:2], "big") if len(data) >= 12 else -1
                    if qid not in outstanding:
                        continue
                    index, sent_at = outstanding.pop(qid)
                    batch.append((data, got, index, sent_at))
                for data, got, index, sent_at in batch:
                    try:
                        msg = dns.message.from_wire(data)
                    except Exception:
                        continue
                    ttl = msg.answer[0].ttl if msg.answer else None
                    with self._lock:
                        self._seen.append(Seen(got, self.names[index], msg.rcode(), ede_codes(msg),
                                               ttl, got - sent_at))
        sel.close()

    def __enter__(self) -> "ContinuousAsker":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)


# ------------------------------------------------------------------------------------------------
# dnsfault's /stats, sampled
# ------------------------------------------------------------------------------------------------
class StatsSampler:
    """Polls a FaultProxy's /stats every `interval` seconds on a thread of its own, keeping the
    peak of its in-flight gauge and the last document. Use as a context manager."""

    def __init__(self, proxy: FaultProxy, interval: float = 0.01):
        self.proxy = proxy
        self.interval = interval
        self.max_inflight = 0
        self.samples = 0
        self.last: dict = {}
        # (time.monotonic() when the reply came, forwarded_upstream) of every sample
        self.forwarded: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def first_forward_after(self, since: float) -> Optional[float]:
        """When the sampler first saw dnsfault forward a query upstream after `since`."""
        before = [n for at, n in self.forwarded if at <= since]
        base = before[-1] if before else 0
        return next((at for at, n in self.forwarded if at > since and n > base), None)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                stats = self.proxy.stats()
            except Exception:
                stats = None
            if stats is not None:
                self.last = stats
                self.samples += 1
                self.max_inflight = max(self.max_inflight, int(stats["inflight"]))
                self.forwarded.append((time.monotonic(), int(stats["forwarded_upstream"])))
            self._stop.wait(self.interval)

    def __enter__(self) -> "StatsSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)


def upstream_rate_since(proxy: FaultProxy, since: float,
                        key: str = "upstream_rate_per_second") -> list[tuple[int, int]]:
    """(second, queries forwarded to the real upstream in it) for every whole second from the one
    holding `since` (time.monotonic()) to the last complete one. dnsfault counts seconds of
    CLOCK_MONOTONIC, the clock of time.monotonic() on Linux. With key="received_rate_per_second":
    the queries dnsfault received (whatever its rules then did with them)."""
    while True:  # read within one second, so that the mapping to seconds is exact
        before = int(time.monotonic())
        stats = proxy.stats()
        now_second = int(time.monotonic())  # the incomplete second dnsfault leaves out
        if now_second == before:
            break
    rates = [int(n) for n in stats[key]]
    first = now_second - len(rates)
    return [(first + i, n) for i, n in enumerate(rates) if first + i >= int(since)]


# ------------------------------------------------------------------------------------------------
# Processes and files
# ------------------------------------------------------------------------------------------------
def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def name_wire(qname: str) -> bytes:
    """The uncompressed wire form of a name (length-prefixed labels), as LMDB stores it."""
    out = b""
    for label in qname.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


@dataclasses.dataclass
class PerfReply:
    qname: str
    rcode: str        # "NOERROR", "SERVFAIL", ... as dnsperf prints it
    seconds: float


def dnsperf_burst(port: int, qnames: Sequence[str], workdir: Path, *, qps: int = 50_000,
                  outstanding: int = 10_000, timeout: float = 5.0,
                  background: bool = False):
    """Sends every name (type A) once with dnsperf at up to `qps` (a burst: 10,000 names at
    50k q/s take 0.2 s), at most `outstanding` unanswered, each waiting at most `timeout`.
    Returns (replies in answer order, number lost), or with `background` the Popen whose
    communicate() output parse_dnsperf() reads."""
    names = Path(workdir) / f"burst-{qnames[0].split('.')[0]}-{len(qnames)}.txt"
    names.write_text("".join(f"{q} A\n" for q in qnames))
    argv = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(names), "-n", "1",
            "-c", "4", "-q", str(outstanding), "-Q", str(qps), "-t", str(timeout), "-b", "4096",
            "-v"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if background:
        return proc
    out, _ = proc.communicate(timeout=timeout + 60)
    return parse_dnsperf(out)


def parse_dnsperf(out: str) -> tuple[list[PerfReply], int]:
    replies = []
    lost = 0
    for line in out.splitlines():
        if line.startswith("> "):
            parts = line[2:].split()
            if len(parts) >= 4 and parts[0] != "T":
                replies.append(PerfReply(parts[1], parts[0], float(parts[-1])))
        elif line.strip().startswith("Queries lost:"):
            lost = int(line.split()[2])
    return replies, lost


def log_lines(daemon: h.Holdfast, text: str) -> list[str]:
    """The lines of the daemon's log (stderr) that contain `text`."""
    path = daemon.dir / "stderr.log"
    if not path.exists():
        return []
    return [line for line in path.read_text(errors="replace").splitlines() if text in line]


def wait_for_log(daemon: h.Holdfast, text: str, timeout: float, count: int = 1) -> bool:
    """Polls the daemon's log until `count` lines contain `text` (bounded by `timeout`)."""
    return h.wait_until(lambda: len(log_lines(daemon, text)) >= count, timeout, interval=0.05)


CIRCUIT_OPEN = "circuit open:"
CIRCUIT_CLOSED = "circuit closed:"


def rcode_text(reply: Reply) -> str:
    return "timeout" if reply.msg is None else dns.rcode.to_text(reply.msg.rcode())
