#!/usr/bin/python3
"""A pod's view, end to end: a "pod" network namespace joined to the "node" namespace by a TUN
relay (tunrelay.py; this kernel has no veth), the pod's resolv.conf as Kubernetes writes it for
node-local-dns (nameserver 169.254.20.10, the cluster search path, ndots:5), holdfast in
node-cache mode on the node in front of dnsfault in front of NSD. getent resolves short service
names through the search path, and keeps resolving them once the upstream is blackholed past every
TTL (serve-stale)."""
import os
import shutil
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultstack as fs  # noqa: E402
import harness as h  # noqa: E402
import nodens as n  # noqa: E402
from tunrelay import TunRelay  # noqa: E402

POD_IPV4 = "10.244.0.5"
POD_IPV6 = "fd00:10:244::5"
ZONE_TTL = 1          # the cache keeps it (`success 9984 30 1`)
EXPIRY_WAIT = 2.2     # past every TTL of the warm-up
# Service names as a pod writes them: relative, resolved through the search path. svc-40 has an
# AAAA record too (zonegen: every fourth service).
SERVICES = [(40, 5), (41, 5), (42, 6)]


class Pod:
    """The pod namespace, its TUN link to the node namespace, routes both ways, and
    /etc/netns/POD/resolv.conf (bind-mounted over /etc/resolv.conf by `ip netns exec`)."""

    def __init__(self, node_ns: str):
        self.name = node_ns.replace("hf-node", "hf-pod")
        self.relay = None
        self.etc = Path("/etc/netns") / self.name
        n.run("ip", "netns", "add", self.name)
        try:
            n.run("ip", "-n", self.name, "link", "set", "lo", "up")
            self.relay = TunRelay(self.name, "eth0", node_ns, "hfpod0")
            pod = ["ip", "-n", self.name]
            n.run(*pod, "link", "set", "eth0", "up")
            n.run(*pod, "addr", "add", f"{POD_IPV4}/32", "dev", "eth0")
            n.run(*pod, "addr", "add", f"{POD_IPV6}/128", "dev", "eth0", "nodad")
            n.run(*pod, "route", "add", "default", "dev", "eth0", "src", POD_IPV4)
            n.run(*pod, "-6", "route", "add", "default", "dev", "eth0", "src", POD_IPV6)
            node = ["ip", "-n", node_ns]
            n.run(*node, "link", "set", "hfpod0", "up")
            n.run(*node, "route", "add", f"{POD_IPV4}/32", "dev", "hfpod0")
            n.run(*node, "-6", "route", "add", f"{POD_IPV6}/128", "dev", "hfpod0")
            self.etc.mkdir(parents=True, exist_ok=True)
            (self.etc / "resolv.conf").write_text(
                "nameserver 169.254.20.10\n"
                "search default.svc.cluster.local svc.cluster.local cluster.local\n"
                "options ndots:5 timeout:2 attempts:2\n")
        except Exception:
            self.close()
            raise

    def run(self, *argv: str):
        return n.run("ip", "netns", "exec", self.name, *argv, check=False)

    def close(self) -> None:
        if self.relay is not None:
            self.relay.stop()
        shutil.rmtree(self.etc, ignore_errors=True)
        n.run("ip", "netns", "del", self.name, check=False)


class PodEndToEnd(n.NodeTestCase):
    NSD_TTL = ZONE_TTL

    def setUp(self):
        super().setUp()
        self.fault = fs.FaultProxy(self.work, self.nsd.port).start()
        self.addCleanup(self.fault.stop)
        self.node = self.daemon(corefile_text=n.node_corefile(self.fault.port, ttl_floor=1,
                                                              stale=True))
        self.node.wait_installed()
        self.pod = Pod(self.ns.name)
        self.addCleanup(self.pod.close)

    def resolve_all(self) -> list[str]:
        """getent hosts and ahosts in the pod for each service; the problems found."""
        problems = []
        for num, ns in SERVICES:
            short = f"svc-{num}.ns-{ns}"
            fqdn = h.svc_name(num, ns).rstrip(".")
            want = {h.svc_ipv4(num, ns)} | ({h.svc_ipv6(num, ns)} if h.has_aaaa(num) else set())
            r = self.pod.run("getent", "hosts", short)
            fields = r.stdout.split()
            if r.returncode != 0 or len(fields) < 2 or fields[0] not in want or fields[1] != fqdn:
                problems.append(f"getent hosts {short}: {r.returncode} {r.stdout!r} {r.stderr!r}")
            r = self.pod.run("getent", "ahosts", short)
            got = {line.split()[0] for line in r.stdout.splitlines() if line.strip()}
            if r.returncode != 0 or h.svc_ipv4(num, ns) not in got or not got <= want:
                problems.append(f"getent ahosts {short}: {r.returncode} {r.stdout!r}")
        return problems

    def test_a_pod_resolves_service_names_and_keeps_resolving_them_with_the_upstream_blackholed(self):
        self.assertEqual(self.resolve_all(), [])
        # Both families through the TUN link, straight to the other local IPs as well.
        for server in ("10.96.0.10", "fd00::a"):
            r = self.pod.run("dig", "+short", "+time=2", "+tries=1", f"@{server}",
                             h.svc_name(1, 1), "A")
            self.assertEqual(r.stdout.split(), [h.svc_ipv4(1, 1)], f"{server}: {r}")
        time.sleep(EXPIRY_WAIT)  # every answer (and every NXDOMAIN of the search path) expired
        self.fault.set_rules("blackhole")
        began = time.monotonic()
        self.assertEqual(self.resolve_all(), [], self.node.log()[-3000:])
        print(f"\npod: {len(SERVICES)} names × (hosts, ahosts) resolved stale through the search "
              f"path in {time.monotonic() - began:.2f} s with the upstream blackholed",
              file=sys.stderr)
        self.assertGreater(self.pod.relay.packets, 0)


if __name__ == "__main__":
    h.main()
