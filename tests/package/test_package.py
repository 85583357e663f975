#!/usr/bin/env python3
"""The Debian package and the systemd service (tools/package/).

Builds the .deb from this build tree with cpack (once, in setUpModule), then checks:
  - `cmake --install` with DESTDIR puts every file where the Debian layout wants it;
  - the .deb's files, its control fields (Depends from dpkg-shlibdeps, conffiles, section);
  - lintian reports no error and no warning;
  - the unit file passes `systemd-analyze verify` and scores <= 2.0 in `systemd-analyze security`;
  - as root: dpkg -i creates the holdfast user and /var/lib/holdfast, enables the unit without
    starting it; the daemon, run as the unit runs it (holdfast user, only CAP_NET_BIND_SERVICE),
    sends READY=1/STATUS=, WATCHDOG=1, RELOADING=1 on SIGHUP and STOPPING=1 on SIGTERM to a fake
    NOTIFY_SOCKET; dpkg -r then dpkg -P leave nothing behind.
Tests that need root, or a tool this machine lacks, skip with the reason.
"""
import glob
import os
import pwd
import grp
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

BUILD = os.environ.get("HOLDFAST_BUILD_DIR", "build")
SOURCE = os.environ.get("HOLDFAST_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
UNIT = os.path.join(SOURCE, "tools/package/holdfast.service")
COREFILE = os.path.join(SOURCE, "tools/package/Corefile")

EXPECTED_FILES = [
    "./usr/sbin/holdfast",
    "./usr/bin/holdfastctl",
    "./usr/bin/dnsfault",
    "./etc/holdfast/Corefile",
    "./lib/systemd/system/holdfast.service",
    "./usr/share/man/man8/holdfast.8.gz",
    "./usr/share/man/man8/holdfastctl.8.gz",
    "./usr/share/man/man1/dnsfault.1.gz",
    "./usr/share/man/man5/holdfast-corefile.5.gz",
    "./usr/share/bash-completion/completions/holdfast",
    "./usr/share/bash-completion/completions/holdfastctl",
    "./usr/share/doc/holdfast/copyright",
    "./usr/share/doc/holdfast/changelog.Debian.gz",
    "./usr/share/lintian/overrides/holdfast",
]

_work = None
_deb = None


def run(*args, check=True, **kwargs):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kwargs)


def setUpModule():
    global _work, _deb
    _work = tempfile.mkdtemp(prefix="holdfast-package-")
    if shutil.which("cpack") is None or shutil.which("dpkg-deb") is None:
        return
    out = os.path.join(_work, "deb")
    # The generated config belongs to this build tree: the binaries the other tests ran.
    result = run("cpack", "-G", "DEB", "--config", os.path.join(BUILD, "CPackConfig.cmake"),
                 "-B", out, check=False)
    if result.returncode != 0:
        raise RuntimeError("cpack failed:\n" + result.stdout + result.stderr)
    debs = glob.glob(os.path.join(out, "holdfast_*.deb"))
    if len(debs) != 1:
        raise RuntimeError(f"cpack made {debs!r}")
    _deb = debs[0]


def tearDownModule():
    if _work:
        shutil.rmtree(_work, ignore_errors=True)


def need_deb(test):
    if _deb is None:
        test.skipTest("cpack or dpkg-deb is not installed (tools/dev deps)")


class InstallTree(unittest.TestCase):
    def test_cmake_install_puts_the_debian_layout_under_destdir(self):
        root = os.path.join(_work, "destdir")
        env = dict(os.environ, DESTDIR=root)
        run("cmake", "--install", BUILD, "--prefix", "/usr", env=env)
        for path in EXPECTED_FILES:
            if path.startswith("./usr/share/lintian"):
                continue
            with self.subTest(path=path):
                self.assertTrue(os.path.isfile(os.path.join(root, path)), path)
        self.assertTrue(os.access(os.path.join(root, "usr/sbin/holdfast"), os.X_OK))


class DebianPackage(unittest.TestCase):
    def test_package_holds_binaries_unit_corefile_man_pages_and_completions(self):
        need_deb(self)
        listing = run("dpkg-deb", "-c", _deb).stdout
        paths = {line.split()[-1] if " -> " not in line else line.split()[-3]
                 for line in listing.splitlines()}
        for path in EXPECTED_FILES:
            with self.subTest(path=path):
                self.assertIn(path, paths)
        # Everything root-owned; the state folder is made by postinst, not shipped.
        for line in listing.splitlines():
            self.assertIn("root/root", line)
        self.assertNotIn("./var/lib/holdfast/", paths)

    def test_control_has_shlib_depends_conffiles_and_descriptions(self):
        need_deb(self)
        info = run("dpkg-deb", "-I", _deb).stdout
        fields = dict(re.findall(r"^ (\w[\w-]*): (.*)$", info, re.M))
        self.assertEqual(fields.get("Package"), "holdfast")
        self.assertEqual(fields.get("Section"), "net")
        self.assertEqual(fields.get("Priority"), "optional")
        depends = fields.get("Depends", "")
        for library in ("libuv1", "libc-ares2", "liblmdb0", "libspdlog1", "libsystemd0", "libc6",
                        "adduser"):
            with self.subTest(library=library):
                self.assertIn(library, depends)
        self.assertEqual(fields.get("Description"), "node-local resilient DNS cache")
        self.assertIn("serves expired", info)  # the long description
        for script in ("postinst", "prerm", "postrm", "conffiles"):
            self.assertRegex(info, rf"\b{script}\b")
        with tempfile.TemporaryDirectory() as control:
            run("dpkg-deb", "-e", _deb, control)
            with open(os.path.join(control, "conffiles")) as f:
                self.assertEqual(f.read().split(), ["/etc/holdfast/Corefile"])

    def test_lintian_reports_no_error_and_no_warning(self):
        need_deb(self)
        if shutil.which("lintian") is None:
            self.skipTest("lintian is not installed (tools/dev deps)")
        result = run("lintian", "--allow-root", "--tag-display-limit", "0", _deb, check=False)
        bad = [line for line in result.stdout.splitlines() if re.match(r"^[EW]: ", line)]
        self.assertEqual(bad, [], result.stdout + result.stderr)


class Unit(unittest.TestCase):
    def test_unit_is_notify_with_watchdog_and_sandbox(self):
        with open(UNIT) as f:
            text = f.read()
        for line in ("Type=notify", "WatchdogSec=30s", "User=holdfast",
                     "AmbientCapabilities=CAP_NET_BIND_SERVICE",
                     "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "ProtectSystem=strict",
                     "StateDirectory=holdfast", "RuntimeDirectory=holdfast",
                     "ExecReload=/bin/kill -HUP $MAINPID",
                     "ExecStartPre=/usr/sbin/holdfast -conf /etc/holdfast/Corefile --check-config"):
            with self.subTest(line=line):
                self.assertIn("\n" + line + "\n", text)

    def test_security_exposure_is_at_most_2(self):
        if shutil.which("systemd-analyze") is None:
            self.skipTest("systemd-analyze is not installed")
        result = run("systemd-analyze", "security", "--offline=yes", "--no-pager", UNIT,
                     check=False)
        match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
        self.assertIsNotNone(match, result.stdout + result.stderr)
        self.assertLessEqual(float(match.group(1)), 2.0, result.stdout)

    def test_default_corefile_checks_once_its_resolv_conf_exists(self):
        holdfast = os.path.join(BUILD, "bin/holdfast")
        with tempfile.TemporaryDirectory() as tmp:
            resolv = os.path.join(tmp, "resolv.conf")
            with open(resolv, "w") as f:
                f.write("nameserver 192.0.2.53\n")
            with open(COREFILE) as f:
                text = f.read()
            self.assertIn("forward . /run/systemd/resolve/resolv.conf", text)
            corefile = os.path.join(tmp, "Corefile")
            with open(corefile, "w") as f:
                f.write(text.replace("/run/systemd/resolve/resolv.conf", resolv))
            result = run(holdfast, "-conf", corefile, "--check-config", check=False)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            for expected in ("127.0.0.1", "::1", "192.0.2.53", "/var/lib/holdfast",
                             "/run/holdfast/admin.sock"):
                self.assertIn(expected, result.stdout)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Installed(unittest.TestCase):
    """dpkg -i, the service as its unit runs it, dpkg -r, dpkg -P. Root only."""

    def setUp(self):
        need_deb(self)
        if os.geteuid() != 0:
            self.skipTest("needs root: dpkg -i/-r/-P of the package on this machine")
        status = run("dpkg-query", "-W", "-f=${Status}", "holdfast", check=False).stdout
        if "installed" in status and "not-installed" not in status:
            self.skipTest("a holdfast package is already installed here; not touching it")

    def tearDown(self):
        run("dpkg", "-P", "holdfast", check=False)

    def notify_socket(self, tmp):
        path = os.path.join(tmp, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        os.chmod(path, 0o777)
        self.addCleanup(sock.close)
        return sock, path

    @staticmethod
    def receive_until(sock, wanted, timeout_s=10.0):
        """Datagrams until one contains `wanted`; all of them, in order."""
        seen = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                message = sock.recv(4096).decode()
            except socket.timeout:
                break
            seen.append(message)
            if wanted in message:
                return seen
        raise AssertionError(f"no {wanted!r} within {timeout_s} s; got {seen!r}")

    def test_install_run_as_the_unit_and_purge(self):
        result = run("dpkg", "-i", _deb, check=False)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

        # The user, its state folder, the unit enabled but not started.
        user = pwd.getpwnam("holdfast")
        self.assertEqual(grp.getgrgid(user.pw_gid).gr_name, "holdfast")
        self.assertEqual(user.pw_dir, "/var/lib/holdfast")
        self.assertLess(user.pw_uid, 1000)  # a system user
        state = os.stat("/var/lib/holdfast")
        self.assertEqual((state.st_uid, state.st_gid), (user.pw_uid, user.pw_gid))
        self.assertEqual(state.st_mode & 0o777, 0o750)
        self.assertEqual(os.path.realpath(
            "/etc/systemd/system/multi-user.target.wants/holdfast.service"),
            os.path.realpath("/lib/systemd/system/holdfast.service"))  # merged /usr
        self.assertEqual(run("pgrep", "-x", "holdfast", "-u", "holdfast", check=False).stdout, "")
        if os.path.isdir("/run/systemd/system"):
            self.assertEqual(run("systemctl", "is-enabled", "holdfast", check=False).stdout.strip(),
                             "enabled")
            self.assertNotEqual(
                run("systemctl", "is-active", "holdfast", check=False).stdout.strip(), "active")

        if shutil.which("systemd-analyze"):
            verify = run("systemd-analyze", "verify", "/lib/systemd/system/holdfast.service",
                         check=False)
            self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)
            self.assertEqual(verify.stderr.strip(), "", verify.stderr)

        self.run_as_the_unit_would(user)
        self.binds_port_53_with_only_the_units_capability()

        # dpkg -r: the files go, the conffile and the state stay; -P: everything goes.
        result = run("dpkg", "-r", "holdfast", check=False)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertFalse(os.path.exists("/usr/sbin/holdfast"))
        self.assertFalse(os.path.exists("/lib/systemd/system/holdfast.service"))
        self.assertTrue(os.path.exists("/etc/holdfast/Corefile"))
        self.assertTrue(os.path.isdir("/var/lib/holdfast"))
        result = run("dpkg", "-P", "holdfast", check=False)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for path in ("/etc/holdfast", "/var/lib/holdfast", "/usr/bin/holdfastctl",
                     "/usr/share/man/man8/holdfast.8.gz",
                     "/etc/systemd/system/multi-user.target.wants/holdfast.service",
                     "/etc/systemd/system/holdfast.service"):
            with self.subTest(path=path):
                self.assertFalse(os.path.lexists(path), path)
        status = run("dpkg-query", "-W", "-f=${db:Status-Status}", "holdfast", check=False)
        self.assertIn(status.stdout.strip(), ("", "not-installed"))

    def binds_port_53_with_only_the_units_capability(self):
        """127.0.0.1:53 as the holdfast user, in a network namespace of its own (53 may be taken
        on the host): CAP_NET_BIND_SERVICE, ambient as AmbientCapabilities= makes it, suffices."""
        if shutil.which("unshare") is None or shutil.which("ip") is None:
            return
        tmp = tempfile.mkdtemp(prefix="holdfast-unit53-", dir="/tmp")
        self.addCleanup(shutil.rmtree, tmp, True)
        os.chmod(tmp, 0o755)
        corefile = os.path.join(tmp, "Corefile")
        with open(corefile, "w") as f:
            f.write(".:53 {\n    bind 127.0.0.1\n    forward . 192.0.2.1\n    persist off\n}\n")
        os.chmod(corefile, 0o644)
        sock, path = self.notify_socket(tmp)
        script = ("ip link set lo up && exec setpriv --reuid=holdfast --regid=holdfast "
                  "--init-groups --inh-caps=-all,+net_bind_service "
                  "--ambient-caps=-all,+net_bind_service --bounding-set=-all,+net_bind_service "
                  f"--no-new-privs /usr/sbin/holdfast -conf {corefile} --state-dir {tmp}")
        daemon = subprocess.Popen(["unshare", "-n", "sh", "-c", script],
                                  env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                                       "NOTIFY_SOCKET": path},
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

        def stop():
            if daemon.poll() is None:
                daemon.kill()
            daemon.communicate()
        self.addCleanup(stop)
        try:
            ready = self.receive_until(sock, "READY=1")[-1]
        except AssertionError as error:
            daemon.kill()
            raise AssertionError(f"{error}\n{daemon.communicate()[0]}") from None
        self.assertIn("127.0.0.1:53", ready)
        daemon.send_signal(signal.SIGTERM)
        self.assertEqual(daemon.wait(timeout=10), 0)

    def run_as_the_unit_would(self, user):
        tmp = tempfile.mkdtemp(prefix="holdfast-unit-", dir="/tmp")
        self.addCleanup(shutil.rmtree, tmp, True)
        os.chmod(tmp, 0o755)
        runtime = os.path.join(tmp, "run")  # RuntimeDirectory=
        os.mkdir(runtime, 0o750)
        os.chown(runtime, user.pw_uid, user.pw_gid)
        port = free_port()
        corefile = os.path.join(tmp, "Corefile")
        with open(corefile, "w") as f:
            f.write(f""".:{port} {{
    bind 127.0.0.1
    forward . 127.0.0.1:{free_port()}
    cache {{
        serve_stale 72h verify
    }}
    persist /var/lib/holdfast
    admin unix:{runtime}/admin.sock
}}
""")
        os.chmod(corefile, 0o644)
        sock, path = self.notify_socket(tmp)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "NOTIFY_SOCKET": path,
               "WATCHDOG_USEC": "400000"}
        # The unit's ExecStartPre, then its ExecStart: the holdfast user with only
        # CAP_NET_BIND_SERVICE (ambient), no new privileges.
        as_unit = ["setpriv", "--reuid=holdfast", "--regid=holdfast", "--init-groups",
                   "--inh-caps=-all,+net_bind_service", "--ambient-caps=-all,+net_bind_service",
                   "--bounding-set=-all,+net_bind_service", "--no-new-privs"]
        check = run(*as_unit, "/usr/sbin/holdfast", "-conf", corefile, "--check-config", env=env,
                    check=False)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        log_path = os.path.join(tmp, "holdfast.log")
        with open(log_path, "w") as log:
            daemon = subprocess.Popen(
                as_unit + ["/usr/sbin/holdfast", "-conf", corefile, "--state-dir",
                           "/var/lib/holdfast"], env=env, stdout=log, stderr=log)

        def stop():
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
        self.addCleanup(stop)

        def log_text():
            with open(log_path) as f:
                return f.read()

        try:
            messages = self.receive_until(sock, "READY=1")
            ready = messages[-1]
            self.assertIn("STATUS=", ready)
            status = ready.split("STATUS=", 1)[1]
            self.assertIn(f"127.0.0.1:{port}", status)
            self.assertIn("store /var/lib/holdfast", status)
            self.assertNotIn("\n", status)
            # The watchdog: every WATCHDOG_USEC/2 from the loop.
            self.receive_until(sock, "WATCHDOG=1", timeout_s=2)
            # The store is the holdfast user's.
            store_files = os.listdir("/var/lib/holdfast")
            self.assertTrue(store_files, "no store in /var/lib/holdfast")
            for name in store_files:
                self.assertEqual(os.stat(os.path.join("/var/lib/holdfast", name)).st_uid,
                                 user.pw_uid, name)
            # holdfastctl as root through the admin socket.
            ctl = run("/usr/bin/holdfastctl", "--socket", f"{runtime}/admin.sock", "stats",
                      check=False)
            self.assertEqual(ctl.returncode, 0, ctl.stdout + ctl.stderr)
            # systemctl reload: RELOADING=1 ... READY=1.
            daemon.send_signal(signal.SIGHUP)
            self.receive_until(sock, "RELOADING=1")
            self.assertIn("STATUS=", self.receive_until(sock, "READY=1")[-1])
            daemon.send_signal(signal.SIGTERM)
            self.receive_until(sock, "STOPPING=1")
            self.assertEqual(daemon.wait(timeout=10), 0)
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- daemon log ---\n{log_text()}") from None


if __name__ == "__main__":
    unittest.main(verbosity=2)
