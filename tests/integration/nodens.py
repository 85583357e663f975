"""Fixtures for the node setup tests (holdfast in node-cache mode creating an interface and
iptables rules): a network namespace per test that this process enters (so every process it starts
and every socket it opens is inside, never on the host's network), holdfast started with
node-cache's flags, node-cache's expected rules as iptables-save prints them, and readers of the
interface and the rules. Needs root; tests skip with a clear message otherwise."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
from pathlib import Path
from typing import Iterable, Optional

import harness as h
from tunrelay import setns

LOCAL_IPS = ["169.254.20.10", "10.96.0.10", "fd00::a"]
INTERFACE = "nodelocaldns"
HEALTH_PORT = 8080
SKIP = "NodeLocal DNS Cache: skip conntrack"
ALLOW = "NodeLocal DNS Cache: allow DNS traffic"


def skip_unless_root() -> None:
    if os.geteuid() != 0:
        raise unittest.SkipTest("node setup tests need root (network namespaces, iptables)")
    for tool in ("ip", "iptables-nft", "iptables-legacy", "ip6tables-nft", "ip6tables-legacy"):
        if shutil.which(tool, path="/usr/sbin:/sbin:/usr/bin:/bin") is None:
            raise unittest.SkipTest(f"{tool} is not installed (Debian package iptables/iproute2)")


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check, timeout=20)


class NetNs:
    """`ip netns add NAME`; enter() moves this process's main thread (and what it starts) in,
    close() moves it back and deletes the namespace (and with it the interface and the rules)."""

    def __init__(self, prefix: str = "hf-node"):
        self.name = f"{prefix}-{os.getpid()}-{int(time.monotonic() * 1000) % 100000}"
        self._home: Optional[int] = None
        run("ip", "netns", "add", self.name)
        run("ip", "-n", self.name, "link", "set", "lo", "up")

    def enter(self) -> "NetNs":
        self._home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            setns(target)
        finally:
            os.close(target)
        return self

    def close(self) -> None:
        if self._home is not None:
            setns(self._home)
            os.close(self._home)
            self._home = None
        run("ip", "netns", "del", self.name, check=False)


def node_corefile(upstream_port: int, *, port: int = 53, bind: Iterable[str] = LOCAL_IPS,
                  ttl_floor: int = 0, stale: bool = False) -> str:
    """node-local-dns's "." block, bound to the local IPs, forwarding to 127.0.0.1:upstream_port."""
    floor = f" {ttl_floor}" if ttl_floor else ""
    stale_text = ("        serve_stale 72h verify {\n"
                  "            ttl 7s\n"
                  "            client_timeout 400ms\n"
                  "        }\n") if stale else ""
    return (f".:{port} {{\n"
            f"    bind {' '.join(bind)}\n"
            f"    forward . 127.0.0.1:{upstream_port}\n"
            f"    cache {{\n"
            f"        success 9984 30{floor}\n"
            f"        denial 9984 5{floor}\n"
            f"{stale_text}"
            f"    }}\n"
            f"    errors\n"
            f"}}\n")


def expected_rules(ips: Iterable[str] = LOCAL_IPS, dns_port: int = 53,
                   health_port: int = HEALTH_PORT) -> dict[int, list[str]]:
    """node-cache's twelve rules per IP (cmd/node-cache/app/cache_app.go) as `iptables-save`
    prints them, "table: -A ..." per line, sorted, by family (4, 6)."""
    out: dict[int, list[str]] = {4: [], 6: []}
    for ip in ips:
        family = 6 if ":" in ip else 4
        prefix = f"{ip}/{128 if family == 6 else 32}"

        def line(table, chain, proto, direction, port, target, comment):
            addr = "-d" if direction == "dst" else "-s"
            port_flag = "--dport" if direction == "dst" else "--sport"
            out[family].append(f'{table}: -A {chain} {addr} {prefix} -p {proto} -m {proto} '
                               f'{port_flag} {port} -m comment --comment "{comment}" -j {target}')

        for proto in ("tcp", "udp"):
            line("raw", "PREROUTING", proto, "dst", dns_port, "NOTRACK", SKIP)
            line("filter", "INPUT", proto, "dst", dns_port, "ACCEPT", ALLOW)
            line("raw", "OUTPUT", proto, "src", dns_port, "NOTRACK", SKIP)
            line("filter", "OUTPUT", proto, "src", dns_port, "ACCEPT", ALLOW)
            line("raw", "OUTPUT", proto, "dst", dns_port, "NOTRACK", SKIP)
        line("raw", "OUTPUT", "tcp", "dst", health_port, "NOTRACK", SKIP)
        line("raw", "OUTPUT", "tcp", "src", health_port, "NOTRACK", SKIP)
    return {family: sorted(lines) for family, lines in out.items()}


def saved_rules(mode: str) -> dict[int, list[str]]:
    """node-cache's rules (by their comments) in `iptables-MODE-save` and `ip6tables-MODE-save`."""
    out: dict[int, list[str]] = {}
    for family, tool in ((4, "iptables"), (6, "ip6tables")):
        text = run(f"{tool}-{mode}-save").stdout
        table, lines = "", []
        for raw_line in text.splitlines():
            if raw_line.startswith("*"):
                table = raw_line[1:]
            elif raw_line.startswith("-A") and "NodeLocal DNS Cache" in raw_line:
                lines.append(f"{table}: {raw_line}")
        out[family] = sorted(lines)
    return out


def no_rules() -> dict[int, list[str]]:
    return {4: [], 6: []}


def interface_state(name: str = INTERFACE) -> Optional[dict]:
    """{"up": bool, "kind": str, "addresses": set of IPs (no link-local)} or None when absent."""
    r = run("ip", "-d", "-j", "addr", "show", "dev", name, check=False)
    if r.returncode != 0:
        return None
    link = json.loads(r.stdout)[0]
    return {
        "up": "UP" in link.get("flags", []),
        "kind": link.get("linkinfo", {}).get("info_kind", ""),
        "addresses": {a["local"] for a in link.get("addr_info", [])
                      if not a["local"].startswith("fe80:")},
    }


def answers(ip: str, port: int = 53, qname: str = h.svc_name(1, 1), timeout: float = 1.0) -> bool:
    try:
        r = h.udp(ip, port, qname, "A", timeout=timeout)
        return [rr.to_text() for rrset in r.answer for rr in rrset] == [h.svc_ipv4(1, 1)]
    except Exception:
        return False


class NodeHoldfast:
    """holdfast with node-cache's flags (setup of the interface and rules on, -syncinterval 1),
    running `corefile_text` from -conf (the -basecorefile is absent, so it runs as written).
    `process.pid` is the guardian; daemon_pid() is the daemon (its child)."""

    def __init__(self, workdir: Path, corefile_text: str, *, mode: str, state_dir: Path,
                 metrics_port: int, name: str = "holdfast", extra: Iterable[str] = ()):
        self.dir = Path(workdir) / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.mode = mode
        conf = self.dir / "Corefile"
        conf.write_text(corefile_text)
        self.metrics_port = metrics_port
        self.argv = [h.holdfast_bin(), "-localip", ",".join(LOCAL_IPS), "-setupinterface=true",
                     "-setupiptables=true", "-syncinterval", "1", "-conf", str(conf),
                     "-basecorefile", str(self.dir / "absent.Corefile.base"),
                     "-metrics-listen-address", f"127.0.0.1:{metrics_port}",
                     "-health-port", str(HEALTH_PORT),
                     "--state-dir", str(state_dir), "--log-level", "debug", *extra]
        self.process = h.ManagedProcess(name, self.argv, self.dir / "stderr.log", cwd=self.dir)
        self.started_at = 0.0

    def start(self) -> "NodeHoldfast":
        os.environ["HOLDFAST_IPTABLES_MODE"] = self.mode
        self.started_at = time.monotonic()
        self.process.start()
        return self

    def daemon_pid(self, timeout: float = 5.0) -> int:
        pid = self.process.pid
        children: list[int] = []

        def found() -> bool:
            try:
                text = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                return False
            children[:] = [int(c) for c in text]
            return bool(children)

        if not h.wait_until(found, timeout):
            raise AssertionError(f"holdfast's guardian {pid} has no daemon child:\n{self.log()}")
        return children[0]

    def wait_installed(self, timeout: float = 10.0) -> None:
        """Until the interface, every rule, and an answer on each IPv4 local IP are there."""
        want = expected_rules()

        def ready() -> bool:
            if not self.process.running():
                raise AssertionError(f"holdfast exited:\n{self.log()}")
            state = interface_state()
            return (state is not None and state["addresses"] == set(LOCAL_IPS)
                    and saved_rules(self.mode) == want and answers(LOCAL_IPS[0]))

        if not h.wait_until(ready, timeout, interval=0.1):
            raise AssertionError(f"node setup not complete after {timeout}s: interface "
                                 f"{interface_state()}, rules {saved_rules(self.mode)}\n{self.log()}")

    def log(self) -> str:
        return self.process.read_log()

    def stop(self, term_timeout: float = 8.0) -> Optional[int]:
        return self.process.stop(term_timeout)


def metric_values(port: int) -> dict[str, float]:
    """coredns_nodecache_setup_errors_total by errortype, from 127.0.0.1:port/metrics ({} while
    nothing answers there)."""
    import urllib.request
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return {}  # not serving yet
    return {m.group(1): float(m.group(2)) for m in re.finditer(
        r'^coredns_nodecache_setup_errors_total\{errortype="([a-z_]+)"\} (\S+)$', text, re.M)}


class NodeTestCase(unittest.TestCase):
    """Each test: a fresh namespace (entered), a work dir, NSD on loopback inside it."""
    MODE = "nft"
    NSD_TTL = 30

    @classmethod
    def setUpClass(cls):
        skip_unless_root()

    def setUp(self):
        self.ns = NetNs()
        self.addCleanup(self.ns.close)
        self.ns.enter()
        self.work = Path(tempfile.mkdtemp(prefix="hf-node-"))
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        self.nsd = h.Nsd(self.work, ttl=self.NSD_TTL, negative_ttl=self.NSD_TTL).start()
        self.addCleanup(self.nsd.stop)
        self.state_dir = self.work / "state"

    def daemon(self, *, name: str = "holdfast", corefile_text: Optional[str] = None,
               extra: Iterable[str] = (), mode: Optional[str] = None,
               metrics_port: Optional[int] = None) -> NodeHoldfast:
        d = NodeHoldfast(self.work, corefile_text or node_corefile(self.nsd.port),
                         mode=mode or self.MODE, state_dir=self.state_dir,
                         metrics_port=metrics_port or h.free_port(("127.0.0.1",)), name=name,
                         extra=extra)
        self.addCleanup(d.stop, 3.0)
        return d.start()
