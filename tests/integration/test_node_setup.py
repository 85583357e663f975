#!/usr/bin/python3
"""node-cache's node setup, in a network namespace per test: holdfast with -setupinterface and
-setupiptables creates the `nodelocaldns` interface with every -localip (IPv4 and IPv6 in one
process; a port-less bridge where the kernel has no dummy driver), installs exactly node-cache's
rules with node-cache's comments (iptables-nft or iptables-legacy, HOLDFAST_IPTABLES_MODE), answers
on each local IP, puts back a deleted rule or address within one -syncinterval, serves
coredns_nodecache_setup_errors_total on -metrics-listen-address, and removes everything at
SIGTERM unless -skipteardown."""
import fcntl
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import nodens as n  # noqa: E402


class NodeSetupNft(n.NodeTestCase):
    MODE = "nft"
    OTHER = "legacy"

    def test_installs_interface_and_rules_answers_on_every_ip_and_sigterm_removes_them(self):
        d = self.daemon()
        d.wait_installed()
        state = n.interface_state()
        self.assertTrue(state["up"], state)
        self.assertIn(state["kind"], ("dummy", "bridge"), state)
        self.assertEqual(n.saved_rules(self.MODE), n.expected_rules())
        self.assertEqual(n.saved_rules(self.OTHER), n.no_rules(), "rules in the other mode")
        for ip in n.LOCAL_IPS:
            self.assertTrue(n.answers(ip), f"no answer on {ip}")
            r = h.tcp(ip, 53, h.svc_name(1, 1), "A")
            self.assertEqual(r.answer[0][0].to_text(), h.svc_ipv4(1, 1), ip)
        self.assertIn(f"iptables mode {self.MODE} (HOLDFAST_IPTABLES_MODE)", d.log())
        if state["kind"] == "bridge":
            self.assertIn("kernel has no dummy driver; using a bridge without ports instead",
                          d.log())
        self.assertEqual(d.stop(), 0)
        self.assertIsNone(n.interface_state(), "the interface outlived SIGTERM")
        self.assertEqual(n.saved_rules(self.MODE), n.no_rules(), "rules outlived SIGTERM")
        self.assertIn("tearing down the node setup", d.process.log_text)

    def test_a_deleted_rule_and_a_deleted_address_come_back_within_one_sync_interval(self):
        d = self.daemon()
        d.wait_installed()
        rule = ["-t", "raw", "-D", "PREROUTING", "-p", "udp", "-d", "169.254.20.10", "--dport",
                "53", "-j", "NOTRACK", "-m", "comment", "--comment", n.SKIP]
        n.run(f"iptables-{self.MODE}", "-w", *rule)
        n.run(f"ip6tables-{self.MODE}", "-w", "-t", "filter", "-D", "INPUT", "-p", "tcp", "-d",
              "fd00::a", "--dport", "53", "-j", "ACCEPT", "-m", "comment", "--comment", n.ALLOW)
        n.run("ip", "addr", "del", "10.96.0.10/32", "dev", n.INTERFACE)
        deleted = time.monotonic()
        self.assertNotEqual(n.saved_rules(self.MODE), n.expected_rules())
        back = h.wait_until(lambda: n.saved_rules(self.MODE) == n.expected_rules()
                            and n.interface_state()["addresses"] == set(n.LOCAL_IPS), 5.0)
        seconds = time.monotonic() - deleted
        self.assertTrue(back, f"not restored after 5 s: {n.interface_state()}\n{d.log()}")
        print(f"\n[{self.MODE}] deleted rules and address restored after {seconds:.2f} s "
              f"(-syncinterval 1)", file=sys.stderr)
        self.assertLess(seconds, 2.5)
        self.assertTrue(n.answers("10.96.0.10"))
        self.assertIn("added address 10.96.0.10 to nodelocaldns", d.log())
        # The setup error metric: every node-cache label value, all zero on a healthy node.
        self.assertEqual(n.metric_values(d.metrics_port), {
            "iptables": 0, "iptables_lock": 0, "interface_add": 0, "interface_check": 0,
            "configmap": 0})

    def test_a_predecessor_tearing_down_after_the_start_is_undone_within_seconds(self):
        """The first switch from node-cache: its SIGTERM teardown (interface and rules gone) can
        come just after Holdfast started. With the default -syncinterval (60 s) the first
        re-checks come after 1, 2, 4 ... s, so the node is whole again within seconds."""
        d = self.daemon(extra=("-syncinterval", "60"))
        d.wait_installed()
        n.run("ip", "link", "del", n.INTERFACE)
        n.run(f"iptables-{self.MODE}", "-w", "-t", "raw", "-F", "PREROUTING")
        gone = time.monotonic()
        back = h.wait_until(lambda: n.saved_rules(self.MODE) == n.expected_rules()
                            and (n.interface_state() or {}).get("addresses") == set(n.LOCAL_IPS),
                            10.0)
        seconds = time.monotonic() - gone
        self.assertTrue(back, f"not restored after 10 s: {n.interface_state()}\n{d.log()}")
        print(f"\n[{self.MODE}] interface and rules removed by a predecessor, restored after "
              f"{seconds:.2f} s (-syncinterval 60)", file=sys.stderr)
        self.assertTrue(h.wait_until(lambda: n.answers(n.LOCAL_IPS[0]), 2.0))

    def test_skipteardown_leaves_the_interface_and_rules(self):
        d = self.daemon(extra=["-skipteardown=true"])
        d.wait_installed()
        self.assertEqual(d.stop(), 0)
        self.assertEqual(n.interface_state()["addresses"], set(n.LOCAL_IPS))
        self.assertEqual(n.saved_rules(self.MODE), n.expected_rules())
        self.assertIn("-skipteardown: leaving the interface and rules in place",
                      d.process.log_text)


    def test_a_holdfast_that_cannot_start_never_installs_rules(self):
        # 192.0.2.53 is on no interface: the bind fails, after the interface was set up.
        d = self.daemon(corefile_text=n.node_corefile(self.nsd.port,
                                                      bind=[*n.LOCAL_IPS, "192.0.2.53"]))
        self.assertEqual(d.process.wait(10), 1, d.log())
        self.assertEqual(n.saved_rules(self.MODE), n.no_rules())
        # Its guardian takes the addresses away too: nothing is left that captures traffic.
        self.assertTrue(h.wait_until(lambda: not n.interface_state()["addresses"], 3.0),
                        n.interface_state())
        self.assertIn("exited with 1 without teardown", d.log())


class NodeSetupLegacy(NodeSetupNft):
    MODE = "legacy"
    OTHER = "nft"

    # Once is enough (nft): neither depends on the mode.
    test_skipteardown_leaves_the_interface_and_rules = None
    test_a_holdfast_that_cannot_start_never_installs_rules = None


class NodeSetupErrors(n.NodeTestCase):
    """Setup failures the kernel or iptables really produce: counted by errortype, logged, and
    DNS keeps being served (the Corefile binds the IPv4 local IPs only)."""
    IPV4_IPS = n.LOCAL_IPS[:2]

    def test_an_address_the_kernel_refuses_counts_as_interface_check_and_dns_keeps_answering(self):
        # An existing link is adopted; with IPv6 disabled on it, the kernel refuses fd00::a.
        n.run("ip", "link", "add", n.INTERFACE, "type", "bridge")
        n.run("sysctl", "-qw", f"net.ipv6.conf.{n.INTERFACE}.disable_ipv6=1")
        d = self.daemon(corefile_text=n.node_corefile(self.nsd.port, bind=self.IPV4_IPS))
        self.assertTrue(h.wait_until(lambda: n.metric_values(d.metrics_port)
                                     .get("interface_check", 0) >= 2, 6.0), d.log())
        self.assertEqual(n.interface_state()["addresses"], set(self.IPV4_IPS))
        for ip in self.IPV4_IPS:
            self.assertTrue(n.answers(ip), ip)
        self.assertEqual(n.saved_rules(self.MODE), n.expected_rules())
        self.assertIn("node setup (interface_check): add address fd00::a to nodelocaldns: "
                      "Permission denied", d.log())

    def test_a_held_xtables_lock_counts_as_iptables_lock_and_never_blocks_dns(self):
        # iptables-legacy waits 5 s (-w 5) for the xtables lock, then gives up. The lock file is
        # this test's own (XTABLES_LOCKFILE), so no other iptables user on the machine waits.
        lock_path = self.work / "xtables.lock"
        lock = open(lock_path, "w")
        self.addCleanup(lock.close)
        fcntl.flock(lock, fcntl.LOCK_EX)
        os.environ["XTABLES_LOCKFILE"] = str(lock_path)
        self.addCleanup(os.environ.pop, "XTABLES_LOCKFILE", None)
        d = self.daemon(mode="legacy")
        # The loop answers while the sync waits on the lock in its worker.
        self.assertTrue(h.wait_until(lambda: n.answers(n.LOCAL_IPS[0]), 3.0), d.log())
        self.assertTrue(h.wait_until(
            lambda: n.metric_values(d.metrics_port).get("iptables_lock", 0) >= 1, 10.0), d.log())
        self.assertEqual(n.metric_values(d.metrics_port)["iptables"], 0)
        self.assertTrue(n.answers(n.LOCAL_IPS[1]))
        fcntl.flock(lock, fcntl.LOCK_UN)
        self.assertTrue(h.wait_until(lambda: n.saved_rules("legacy") == n.expected_rules(), 8.0),
                        d.log())
        self.assertIn("node setup (iptables_lock)", d.log())


if __name__ == "__main__":
    h.main()
