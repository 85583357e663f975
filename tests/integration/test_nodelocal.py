#!/usr/bin/python3
"""The node-local-dns ConfigMap's shape runs unchanged: four server blocks (cluster.local,
in-addr.arpa, ip6.arpa, .) on one port, force_tcp to the cluster DNS for the first three, and
each block answers its own names; its `prometheus` and `health` addresses serve metrics and
health."""
import os
import urllib.request
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def node_local_corefile(port: int, upstream_port: int, metrics_port: int, health_port: int) -> str:
    # As kubernetes/dns cluster/addons/dns/nodelocaldns/nodelocaldns.yaml, with the __PILLAR__
    # values filled in: LOCAL_DNS=127.0.0.1, CLUSTER_DNS and UPSTREAM_SERVERS = the proxy.
    cluster_dns = f"127.0.0.1:{upstream_port}"
    reverse = "\n".join(f"""{zone}:{port} {{
    errors
    cache 30
    reload
    loop
    bind 127.0.0.1
    forward . {cluster_dns} {{
            force_tcp
    }}
    prometheus 127.0.0.1:{metrics_port}
    }}""" for zone in ("in-addr.arpa", "ip6.arpa"))
    return f"""cluster.local:{port} {{
    errors
    cache {{
            success 9984 30
            denial 9984 5
    }}
    reload
    loop
    bind 127.0.0.1
    forward . {cluster_dns} {{
            force_tcp
    }}
    prometheus 127.0.0.1:{metrics_port}
    health 127.0.0.1:{health_port}
    }}
{reverse}
.:{port} {{
    errors
    cache 30
    reload
    loop
    bind 127.0.0.1
    forward . {cluster_dns}
    prometheus 127.0.0.1:{metrics_port}
    }}
"""


class NodeLocalDnsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        metrics_port = h.free_port(("127.0.0.1",))
        health_port = h.free_port(("127.0.0.1",))
        cls.metrics_port, cls.health_port = metrics_port, health_port
        cls.stack = h.Stack(make_corefile=lambda port, up: node_local_corefile(
            port, up, metrics_port, health_port)).start()
        cls.addClassCleanup(cls.stack.close)
        cls.port = cls.stack.port

    def dig(self, qname, rdtype):
        r = h.dig("127.0.0.1", self.port, qname, rdtype)
        self.assertEqual(r.returncode, 0, str(r))
        self.assertEqual(r.status, "NOERROR", str(r))
        return r

    def test_cluster_local_block_answers(self):
        r = self.dig(h.svc_name(40, 5), "A")
        self.assertEqual([a.rdata for a in r.answer], [h.svc_ipv4(40, 5)], str(r))

    def test_in_addr_arpa_block_answers(self):
        r = self.dig(h.ptr_name(41, 5), "PTR")
        self.assertEqual([a.rdata for a in r.answer], [h.svc_name(41, 5)], str(r))

    def test_ip6_arpa_block_answers(self):
        r = self.dig(h.ptr6_name(44, 5), "PTR")
        self.assertEqual([a.rdata for a in r.answer], [h.svc_name(44, 5)], str(r))

    def test_root_block_answers_other_names(self):
        r = self.dig("www.example.", "A")
        self.assertEqual([a.rdata for a in r.answer], [h.EXAMPLE_A], str(r))

    def test_force_tcp_blocks_reach_the_upstream_over_tcp(self):
        name = h.svc_name(48, 5)
        self.dig(name, "A")
        self.assertEqual(self.stack.proxy.count(name, "A", transport="tcp"), 1)
        self.assertEqual(self.stack.proxy.count(name, "A", transport="udp"), 0)

    def test_root_block_reaches_the_upstream_over_udp(self):
        self.dig("www.example.", "TXT")  # NODATA, but forwarded by the "." block
        self.assertEqual(self.stack.proxy.count("www.example.", "TXT", transport="udp"), 1)

    def test_prometheus_and_health_are_served_on_the_addresses_the_corefile_names(self):
        self.dig(h.svc_name(49, 5), "A")
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
            metrics = r.read().decode()
        self.assertIn('coredns_dns_requests_total{server="dns://127.0.0.1:', metrics)
        self.assertIn('zone="cluster.local."', metrics)
        for path in ("/health", "/ready"):
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}{path}", timeout=5) as r:
                self.assertEqual((r.status, r.read()), (200, b"OK"), path)


class CoreDnsFlagsTest(unittest.TestCase):
    """CoreDNS's -dns.port (the port of every server block key without one) and -pidfile (written
    once the listeners are bound, removed at a clean exit), which node-cache passes through."""

    def test_dns_port_and_pidfile(self):
        with h.Stack() as stack:
            port = h.free_port(("127.0.0.1",))
            pidfile = stack.tmp / "holdfast.pid"
            text = (f"cluster.local {{\n    bind 127.0.0.1\n"
                    f"    forward . 127.0.0.1:{stack.proxy.port}\n}}\n")
            daemon = h.Holdfast(stack.tmp, text, name="portless",
                                extra_args=["-dns.port", str(port), "-pidfile", str(pidfile)])
            with daemon:
                daemon.start("127.0.0.1", port)
                self.assertEqual(h.udp("127.0.0.1", port, h.svc_name(3, 1), "A").rcode(), 0)
                self.assertEqual(pidfile.read_text(), f"{daemon.pid}\n")
                self.assertEqual(daemon.stop(), 0)
            self.assertFalse(pidfile.exists(), "the pid file outlived a clean exit")


if __name__ == "__main__":
    h.main()
