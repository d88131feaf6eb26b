#!/usr/bin/env python3
"""`xeci build` and kernel/build.sh's sandbox, on a toy tree.

The toy tree answers the make targets build.sh runs (defconfig,
olddefconfig, bzImage, modules, modules_install, kernelrelease) from a
Makefile, and each case's scenario.mk is what a hostile or broken patch
would put in a kernel Makefile: reach the network, write to $HOME, to the
source, to /root, read a host file, never end, print without end. The real
kernel goes through the same script in test_build.py; here each case takes
a second, so every escape is tried on every run."""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pi  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("XECI_SRC", os.path.join(HERE, "../.."))
BIN = os.environ.get("XECI_BIN", os.path.join(SRC, "build"))
XECI = os.path.join(BIN, "xeci")

MAKEFILE = """\
# a toy stand-in for the kernel's top Makefile
include $(CURDIR)/scenario.mk
defconfig:
\techo CONFIG_MODULES=y > $(O)/.config
olddefconfig:
\tsed -i '/CONFIG_TOY/d' $(O)/.config  # as Kconfig drops an option it cannot grant
modules_install:
\tmkdir -p $(INSTALL_MOD_PATH)/lib/modules/6.12.0-toy
\techo ko > $(INSTALL_MOD_PATH)/lib/modules/6.12.0-toy/toy.ko
kernelrelease:
\t@echo 6.12.0-toy
"""

GOOD = """\
bzImage:
\t@echo "  CC      init/main.o"
\tmkdir -p $(O)/arch/x86/boot && echo kernel > $(O)/arch/x86/boot/bzImage
\techo map > $(O)/System.map && cp /bin/true $(O)/vmlinux
modules:
\t@echo "  CC [M]  drivers/toy/toy.o"
\t@echo "drivers/toy/toy.c:3:5: warning: unused variable 'x' [-Wunused-variable]"
"""

TOY_CONFIG = """\
# xeci-base: defconfig
CONFIG_MODULES=y
CONFIG_TOY=y
"""


def sha256(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


class ToyBuild(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="xeci-build-sandbox-")
        # kernel/ copied (not linked: the sandbox binds this directory and
        # nothing else of the host) with a toy config beside the real ones
        cls.kdir = os.path.join(cls.tmp, "kernel")
        os.makedirs(os.path.join(cls.kdir, "configs"))
        for f in ("build.sh", "sandbox.sh", "checkpatch.sh"):
            shutil.copy(os.path.join(SRC, "kernel", f), cls.kdir)
        with open(os.path.join(cls.kdir, "configs/toy.config"), "w") as fh:
            fh.write(TOY_CONFIG)
        cls.repo = os.path.join(cls.tmp, "toy")
        os.makedirs(cls.repo)
        pi.git(cls.repo, "init", "-q", "-b", "master")
        cls.commit("Makefile", MAKEFILE)
        cls.good = cls.commit("scenario.mk", GOOD)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def commit(cls, name, text):
        with open(os.path.join(cls.repo, name), "w") as fh:
            fh.write(text)
        pi.git(cls.repo, "add", "-A")
        pi.git(cls.repo, "-c", "user.name=T", "-c", "user.email=t@xeci.test", "commit", "-q", "-m", name)
        return pi.git(cls.repo, "rev-parse", "HEAD")

    def build(self, rev, out, *extra, timeout=120):
        env = dict(os.environ, XECI_KERNEL_DIR=self.kdir)
        t0 = time.monotonic()
        r = subprocess.run([XECI, "build", "--repo", self.repo, "--rev", rev, "--config", "toy",
                            "--out", out, "--work", os.path.join(self.tmp, "work"), "--jobs", "2", *extra],
                           capture_output=True, text=True, timeout=timeout, env=env)
        lines = [l for l in r.stdout.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, f"want one JSON summary:\n{r.stdout}\n{r.stderr}")
        return r.returncode, json.loads(lines[0]), r.stderr, time.monotonic() - t0

    def log(self, out):
        with open(os.path.join(out, "build.log"), errors="replace") as fh:
            return fh.read()

    def test_good_build_artifacts(self):
        out = os.path.join(self.tmp, "out-good")
        rc, j, err, _ = self.build(self.good, out)
        self.assertEqual(rc, 0, err)
        self.assertEqual(j["status"], "ok")
        self.assertEqual(j["commit"], self.good)
        self.assertEqual(j["files_compiled"], 2)
        self.assertEqual(j["warnings"], 1)
        names = {a["name"]: a for a in j["artifacts"]}
        self.assertEqual(set(names), {"bzImage", "System.map", "config", "kernelrelease", "modules.tar.gz",
                                      "build-id"})
        for a in j["artifacts"]:
            self.assertEqual(a["sha256"], sha256(a["path"]), a["name"])
            self.assertEqual(a["size"], os.path.getsize(a["path"]))
        with open(names["kernelrelease"]["path"]) as fh:
            self.assertEqual(fh.read().strip(), "6.12.0-toy")
        listing = subprocess.run(["tar", "-tzf", names["modules.tar.gz"]["path"]], capture_output=True,
                                 text=True, check=True).stdout
        self.assertIn("lib/modules/6.12.0-toy/toy.ko", listing)
        # the config asked for CONFIG_TOY, Kconfig (here: the toy) did not grant it
        self.assertIn("CONFIG_TOY requested y, got n", err)
        self.assertNotIn("CONFIG_MODULES requested", err)
        self.assertIn("xeci-step: package", self.log(out))

    def test_network_is_unreachable(self):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(5)
        srv.settimeout(0.5)
        port = srv.getsockname()[1]
        accepted = []

        def accept():
            end = time.monotonic() + 60
            while time.monotonic() < end and not accepted:
                try:
                    accepted.append(srv.accept())
                except socket.timeout:
                    pass
        th = threading.Thread(target=accept, daemon=True)
        th.start()
        rev = self.commit("scenario.mk", f"""\
bzImage:
\tpython3 -c "import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3)" || \\
\t  {{ echo "toy: the network is unreachable"; exit 1; }}
modules:
\t@true
""")
        out = os.path.join(self.tmp, "out-net")
        rc, j, err, _ = self.build(rev, out)
        accepted.append(None)
        th.join()
        srv.close()
        self.assertEqual(accepted[0], None, "the sandboxed build reached a host port")
        self.assertNotEqual(rc, 0)
        self.assertEqual(j["status"], "build-failed")
        self.assertIn("toy: the network is unreachable", self.log(out))

    def test_writes_outside_output_fail_and_change_nothing(self):
        home = os.path.expanduser("~")
        secret = os.path.join(self.tmp, "host-secret")
        with open(secret, "w") as fh:
            fh.write("xeci-host-secret-3141\n")
        victims = [os.path.join(home, "xeci-pwned-home"), "/root/xeci-pwned-root",
                   os.path.join(self.tmp, "xeci-pwned-tmpdir"), "/var/tmp/xeci-pwned"]
        for v in victims:
            if os.path.exists(v):
                os.unlink(v)
        rev = self.commit("scenario.mk", f"""\
bzImage:
\t-echo pwned > $(HOME)/xeci-pwned-private
\t-cat {secret}
""" + "".join(f"\t-echo pwned > {v}\n" for v in victims) + """\
\ttouch $(CURDIR)/xeci-pwned-src
modules:
\t@true
""")
        out = os.path.join(self.tmp, "out-escape")
        src_before = sorted(os.listdir(os.path.join(self.tmp, "work/toy/src"))) \
            if os.path.isdir(os.path.join(self.tmp, "work/toy/src")) else None
        rc, j, err, _ = self.build(rev, out)
        self.assertNotEqual(rc, 0)
        self.assertEqual(j["status"], "build-failed")
        for v in victims:
            self.assertFalse(os.path.exists(v), f"{v} was written from the sandbox")
        src = os.path.join(self.tmp, "work/toy/src")
        self.assertFalse(os.path.exists(os.path.join(src, "xeci-pwned-src")))
        if src_before is not None:
            self.assertEqual(sorted(os.listdir(src)), src_before)
        log = self.log(out)
        self.assertNotIn("xeci-host-secret-3141", log, "a host file was readable in the sandbox")
        self.assertIn("xeci-pwned-src", log)  # the failing step is named

    def test_timeout_kills_the_whole_build(self):
        marker = f"sleep 7{os.getpid() % 1000:03d}"
        rev = self.commit("scenario.mk", f"""\
bzImage:
\t{marker} & {marker}
modules:
\t@true
""")
        out = os.path.join(self.tmp, "out-timeout")
        rc, j, err, took = self.build(rev, out, "--timeout", "3")
        self.assertNotEqual(rc, 0)
        self.assertEqual(j["status"], "timeout")
        self.assertLess(took, 60)
        time.sleep(0.5)
        left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout
        self.assertEqual(left.strip(), "", "processes of the killed build are still running")
        self.assertIn("killed after 3s", self.log(out))

    def test_build_dies_with_its_caller(self):
        # xecid killed -9 must not leave a build running on in the kbuild
        # dir the next daemon reuses
        marker = f"sleep 8{os.getpid() % 1000:03d}"
        rev = self.commit("scenario.mk", f"""\
bzImage:
\t{marker}
modules:
\t@true
""")
        env = dict(os.environ, XECI_KERNEL_DIR=self.kdir)
        p = subprocess.Popen([XECI, "build", "--repo", self.repo, "--rev", rev, "--config", "toy", "--out",
                              os.path.join(self.tmp, "out-orphan"), "--work", os.path.join(self.tmp, "work")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        end = time.monotonic() + 30
        while time.monotonic() < end and not subprocess.run(["pgrep", "-f", marker],
                                                            capture_output=True).stdout:
            time.sleep(0.2)
        self.assertTrue(subprocess.run(["pgrep", "-f", marker], capture_output=True).stdout, "never started")
        p.kill()
        p.wait()
        end = time.monotonic() + 15
        while time.monotonic() < end and subprocess.run(["pgrep", "-f", marker], capture_output=True).stdout:
            time.sleep(0.5)
        left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout
        self.assertEqual(left.strip(), "", "the build outlived the process that started it")

    def test_log_is_capped(self):
        rev = self.commit("scenario.mk", """\
bzImage:
\tyes "a line of a build that never stops talking" | head -n 100000
\tmkdir -p $(O)/arch/x86/boot && echo kernel > $(O)/arch/x86/boot/bzImage
\techo map > $(O)/System.map && cp /bin/true $(O)/vmlinux
modules:
\t@true
""")
        out = os.path.join(self.tmp, "out-cap")
        rc, j, err, _ = self.build(rev, out, "--log-max", "20000")
        self.assertEqual(rc, 0, err)  # the cap cuts the log, not the build
        size = os.path.getsize(os.path.join(out, "build.log"))
        self.assertLessEqual(size, 20000 + 100)
        self.assertIn("[xeci: log cut at 20000 bytes]", self.log(out))

    def test_usage_errors(self):
        r = subprocess.run([XECI, "build", "--repo", self.repo], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        rc, j, err, _ = self.build("no-such-rev", os.path.join(self.tmp, "out-bad"))
        self.assertEqual(rc, 1)
        self.assertEqual(j["status"], "error")
        r = subprocess.run([XECI, "build", "--repo", self.repo, "--rev", "HEAD", "--config", "../etc/passwd",
                            "--out", os.path.join(self.tmp, "o"), "--work", os.path.join(self.tmp, "w")],
                           capture_output=True, text=True, env=dict(os.environ, XECI_KERNEL_DIR=self.kdir))
        self.assertEqual(r.returncode, 1)
        self.assertIn("config name", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
