#!/usr/bin/python3
"""A Corefile block with neither `bind` nor `acl` listens on the wildcard addresses but answers
only loopback and the node's own subnets, so a host with a public address is never an open
resolver by accident. Run in a network namespace of its own: `ip route add local 203.0.113.0/24
dev lo` makes 203.0.113.0/24 deliverable here without it being an interface address (AnyIP), so
`dig -b 203.0.113.5` is a client from outside the node's subnets. The same query from loopback is
answered, and a block with an explicit wildcard `bind` or an `acl` answers the outsider too."""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

# Three daemons in one namespace: no bind/acl (local only), explicit wildcard bind, and an acl.
SCRIPT = r"""
set -e
ip link set lo up
ip route add local 203.0.113.0/24 dev lo
ip addr add 10.77.0.1/24 dev lo
printf '.:5301 {\n    forward . 127.0.0.1:1\n    chaos Holdfast\n}\n' > $T/local.Corefile
printf '.:5302 {\n    bind 0.0.0.0\n    forward . 127.0.0.1:1\n    chaos Holdfast\n}\n' > $T/bind.Corefile
printf '.:5303 {\n    acl {\n        allow net 0.0.0.0/0\n    }\n    forward . 127.0.0.1:1\n    chaos Holdfast\n}\n' > $T/acl.Corefile
pids=""
trap 'kill $pids 2>/dev/null; wait' EXIT
for n in local bind acl; do
  $HOLDFAST -conf $T/$n.Corefile --state-dir $T/state-$n >$T/$n.log 2>&1 &
  pids="$pids $!"
done
for port in 5301 5302 5303; do
  for i in $(seq 100); do
    dig -p $port @127.0.0.1 +time=1 +tries=1 CH TXT version.bind >/dev/null 2>&1 && break
    sleep 0.1
  done
done
q() { dig -p $1 @127.0.0.1 $2 +time=2 +tries=1 CH TXT version.bind | grep -o 'status: [A-Z]*' || echo 'status: TIMEOUT'; }
echo "local-from-loopback $(q 5301)"
echo "local-from-subnet $(q 5301 '-b 10.77.0.9')"
echo "local-from-outside $(q 5301 '-b 203.0.113.5')"
echo "local-outside-ede $(dig -p 5301 @127.0.0.1 -b 203.0.113.5 +time=2 +tries=1 CH TXT version.bind | grep -c 'EDE: 18' || true)"
echo "bind-from-outside $(q 5302 '-b 203.0.113.5')"
echo "acl-from-outside $(q 5303 '-b 203.0.113.5')"
"""


class DefaultBindTest(unittest.TestCase):
    @classmethod
    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare"), "needs root for a netns")
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="holdfast-default-bind-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        r = subprocess.run(["unshare", "-n", "sh", "-c", SCRIPT],
                           env={**os.environ, "T": cls.tmp, "HOLDFAST": h.holdfast_bin()},
                           capture_output=True, text=True, timeout=90)
        cls.out = r.stdout
        logs = [pathlib.Path(cls.tmp, f"{n}.log") for n in ("local", "bind", "acl")]
        cls.logs = "".join(f"--- {p.name}\n{p.read_text()}" for p in logs if p.exists())
        cls.results = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
        if r.returncode != 0:
            raise AssertionError(f"namespace script failed ({r.returncode}):\n{r.stdout}{r.stderr}")

    def result(self, key):
        self.assertIn(key, self.results, f"{self.out}\n{self.logs}")
        return self.results[key]

    def test_loopback_and_the_nodes_subnets_are_answered(self):
        self.assertEqual(self.result("local-from-loopback"), "status: NOERROR")
        self.assertEqual(self.result("local-from-subnet"), "status: NOERROR")

    def test_a_client_outside_the_nodes_subnets_is_refused_and_logged(self):
        self.assertEqual(self.result("local-from-outside"), "status: REFUSED")
        self.assertEqual(self.result("local-outside-ede"), "1", "EDE 18 (Prohibited) expected")
        self.assertIn("refused a query from 203.0.113.5", self.logs)

    def test_an_explicit_wildcard_bind_or_an_acl_serves_everyone(self):
        self.assertEqual(self.result("bind-from-outside"), "status: NOERROR")
        self.assertEqual(self.result("acl-from-outside"), "status: NOERROR")


if __name__ == "__main__":
    h.main()
