#!/usr/bin/python3
"""What happens to the node setup when holdfast does not exit cleanly, in a network namespace per
test. A SIGKILLed (OOM-killed) daemon: its guardian (the parent process) removes node-cache's
rules and the interface's addresses once no instance holds STATE_DIR/node.lock, so DNS to the
local IPs falls back to kube-dns instead of being black-holed (node-local-dns issue #438). A
restarted instance adopts what a dead one left and answers at once. Two instances sharing a state
dir (a rolling update with maxSurge 1): the one that stops first leaves everything in place."""
import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import nodens as n  # noqa: E402


class NodeGuardian(n.NodeTestCase):
    MODE = "nft"

    def test_kill_9_of_the_daemon_makes_the_guardian_remove_rules_and_addresses(self):
        d = self.daemon()
        d.wait_installed()
        daemon = d.daemon_pid()
        os.kill(daemon, signal.SIGKILL)
        killed = time.monotonic()
        gone = h.wait_until(lambda: n.saved_rules(self.MODE) == n.no_rules()
                            and not (n.interface_state() or {"addresses": set()})["addresses"],
                            5.0)
        seconds = time.monotonic() - killed
        self.assertTrue(gone, f"still there 5 s after kill -9: {n.interface_state()}, "
                              f"{n.saved_rules(self.MODE)}\n{d.log()}")
        print(f"\n[{self.MODE}] guardian removed rules and addresses {seconds:.2f} s after "
              f"kill -9 (1 s of it is the grace period)", file=sys.stderr)
        self.assertLess(seconds, 3.0)
        self.assertEqual(d.process.wait(5), 128 + signal.SIGKILL)
        self.assertIn(f"holdfast (pid {daemon}) was killed by signal 9", d.log())
        self.assertIn("guardian: the daemon died without teardown and no holdfast runs", d.log())
        # One iptables-restore and one -save per family, not -C/-D/-C for each of 36 rules (1.2 s
        # on an idle machine, 2 s on a busy one).
        removal_ms = int(re.search(r"removed 36 iptables rules \((?:nft|legacy)\) and the addresses "
                                   r"of \S+ in (\d+) ms", d.log()).group(1))
        print(f"[{self.MODE}] the guardian's own removal took {removal_ms} ms", file=sys.stderr)
        self.assertLess(removal_ms, 400)
        self.assertFalse(n.answers("10.96.0.10", timeout=0.3))

    def test_kill_9_removes_a_rule_that_was_added_twice(self):
        """Two instances starting at once may both find a rule missing and both add it: the
        guardian's one restore deletes one copy, sees the other in iptables-save, and deletes
        rule by rule until -C finds none."""
        d = self.daemon()
        d.wait_installed()
        for tool, ip in (("iptables", "169.254.20.10"), ("ip6tables", "fd00::a")):
            n.run(f"{tool}-{self.MODE}", "-t", "raw", "-I", "PREROUTING", "-p", "udp", "-d", ip,
                  "--dport", "53", "-j", "NOTRACK", "-m", "comment", "--comment",
                  "NodeLocal DNS Cache: skip conntrack")
        self.assertEqual(len(n.saved_rules(self.MODE)[4]), 25)
        os.kill(d.daemon_pid(), signal.SIGKILL)
        self.assertTrue(h.wait_until(lambda: n.saved_rules(self.MODE) == n.no_rules(), 8.0),
                        f"{n.saved_rules(self.MODE)}\n{d.log()}")
        self.assertEqual(d.process.wait(5), 128 + signal.SIGKILL)
        self.assertNotIn("guardian: delete rule", d.log())

    def test_kill_9_then_an_immediate_restart_adopts_and_answers_from_the_warm_store(self):
        first = self.daemon(name="first")
        first.wait_installed()  # svc-1.ns-1 answered, so in the store
        time.sleep(0.5)  # the store's write-behind (flush 100 ms)
        self.nsd.stop()  # the upstream is gone too: only the warm store can answer
        os.kill(first.daemon_pid(), signal.SIGKILL)
        second = self.daemon(name="second")
        started = second.started_at
        answered = h.wait_until(lambda: n.answers(n.LOCAL_IPS[0], timeout=0.03), 5.0,
                                interval=0.005)
        seconds = time.monotonic() - started
        self.assertTrue(answered, second.log())
        print(f"\nrestart after kill -9 (upstream down): first answer on {n.LOCAL_IPS[0]} "
              f"{seconds * 1000:.0f} ms after the new process started", file=sys.stderr)
        self.assertIn("a previous holdfast died without teardown: adopting the interface and rules",
                      second.log())
        # The first one's guardian saw the new instance's lock and left everything in place.
        self.assertEqual(first.process.wait(5), 128 + signal.SIGKILL)
        self.assertIn("guardian: another holdfast holds", first.log())
        time.sleep(1.5)  # past a sync interval: still whole
        self.assertEqual(n.saved_rules(self.MODE), n.expected_rules())
        self.assertEqual(n.interface_state()["addresses"], set(n.LOCAL_IPS))

    def test_two_instances_sharing_a_state_dir_the_first_to_stop_leaves_everything(self):
        """The DaemonSet's surge rollout on one node: the new pod (--takeover) binds the same
        addresses and port as the old one, takes the traffic, the old one gets SIGTERM and
        leaves the interface and rules to it; a steady dnsperf load through the local IP loses
        nothing. The last one out tears down."""
        a = self.daemon(name="a")
        a.wait_installed()
        names = self.work / "names.txt"
        names.write_text("".join(f"{h.svc_name(i % 50, i // 50)} A\n" for i in range(500)))
        for i in range(500):  # warm: the load measures the hand-over, not the upstream
            n.answers(n.LOCAL_IPS[0], qname=h.svc_name(i % 50, i // 50))
        load = subprocess.Popen(
            ["dnsperf", "-s", n.LOCAL_IPS[0], "-p", "53", "-d", str(names), "-l", "8", "-Q", "2000",
             "-c", "4", "-t", "2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(2)
        b = self.daemon(name="b", extra=("--takeover",), metrics_port=a.metrics_port)
        self.assertTrue(h.wait_until(
            lambda: "hand-over: new queries now come to this instance on udp" in b.log(), 5.0),
            b.log())
        self.assertIn("another holdfast runs on this node: sharing its interface and rules",
                      b.log())
        self.assertIn("setup errors are counted, and served once the address is free", b.log())
        time.sleep(1)
        self.assertEqual(a.stop(), 0)
        out, _ = load.communicate(timeout=30)
        lost = int(re.search(r"Queries lost:\s+(\d+)", out).group(1))
        sent = int(re.search(r"Queries sent:\s+(\d+)", out).group(1))
        print(f"\n[{self.MODE}] node hand-over under 2000 q/s: sent {sent}, lost {lost}",
              file=sys.stderr)
        self.assertEqual(lost, 0, out)
        self.assertTrue(h.wait_until(lambda: n.metric_values(a.metrics_port), 2.5), b.log())
        self.assertIn("serving coredns_nodecache_setup_errors_total on 127.0.0.1:", b.log())
        self.assertIn("another holdfast still runs on this node: leaving the interface and rules "
                      "in place", a.process.log_text)
        self.assertEqual(n.saved_rules(self.MODE), n.expected_rules())
        self.assertEqual(n.interface_state()["addresses"], set(n.LOCAL_IPS))
        self.assertTrue(n.answers(n.LOCAL_IPS[2]))
        # The last one out tears down.
        self.assertEqual(b.stop(), 0)
        self.assertIsNone(n.interface_state())
        self.assertEqual(n.saved_rules(self.MODE), n.no_rules())


class NodeGuardianLegacy(n.NodeTestCase):
    MODE = "legacy"
    test_kill_9_of_the_daemon_makes_the_guardian_remove_rules_and_addresses = \
        NodeGuardian.test_kill_9_of_the_daemon_makes_the_guardian_remove_rules_and_addresses


if __name__ == "__main__":
    h.main()
