#!/usr/bin/env python3
"""The build stage end to end, on a real kernel: Debian's linux-source-6.12
as a git tree (kernel/linux-source-git.sh, cached under /var/cache/xeci),
series made with git format-patch from real changes in drivers/gpu/drm/xe,
posted to a real public-inbox and ingested by xecid, which applies them,
builds them in the sandbox with kernel/configs/qemu-kunit.config and
records everything; the built kernel then boots in QEMU and runs the Xe
KUnit suites.

The kbuild dir is shared with every run on the machine
(/var/cache/xeci/test-work): the first run on a new machine builds the
kernel cold (about 15 minutes on 2 cores), later runs are incremental.

One xecid run takes five series at once:
  good       2 patches with a stale base-commit: blob matching finds the
             base; builds; adds one compiler warning; boots.
  applyfail  patch 2 of 2 does not apply: named, never built.
  broken     a patch that does not compile: the build fails, the error named.
  sandbox    a Makefile that reaches for the network and writes to $HOME
             and /root: fails, nothing outside the output dir changes.
and xecid is killed -9 mid-build once: the build runs again after the
restart, and no build process outlives the daemon.

Then the loop goes on to dispatch: the passed builds (the good series' and
its base's) become jobs of a [testplan "qemu"], and a real xeci-agent with
the qemu back-end leases them, boots each kernel with an initramfs, runs
the Xe KUnit suites and the HMM selftests, and uploads the results."""
import glob
import hashlib
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pi  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.environ.get("XECI_SRC", os.path.join(HERE, "../..")))
BIN = os.environ.get("XECI_BIN", os.path.join(SRC, "build"))
XECI, XECID = os.path.join(BIN, "xeci"), os.path.join(BIN, "xecid")
AGENT = os.path.join(BIN, "xeci-agent")
CACHE = os.environ.get("XECI_CACHE", "/var/cache/xeci")
WORK = os.path.join(CACHE, "test-work")
FINAL = {"passed", "failed", "apply-failed", "cancelled", "error"}
STALE_BASE = "1234567890abcdef1234567890abcdef12345678"
XE = "drivers/gpu/drm/xe"


def kernel_repo():
    r = subprocess.run([os.path.join(SRC, "kernel/linux-source-git.sh")], capture_output=True, text=True,
                       timeout=1800)
    if r.returncode:
        raise RuntimeError(r.stderr)
    return r.stdout.strip()


def edit(path, fn):
    with open(path) as fh:
        text = fh.read()
    new = fn(text)
    assert new != text, path
    with open(path, "w") as fh:
        fh.write(new)


def after_includes(text, line):
    """text with line inserted after its last #include."""
    last = max(m.end() for m in re.finditer(r"^#include .*$", text, re.M))
    return text[:last] + "\n" + line + text[last:]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Listener:
    """A loopback port that records whether anything connected to it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.connected = []
        self.stop = False
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def run(self):
        while not self.stop:
            try:
                self.connected.append(self.sock.accept()[1])
            except (socket.timeout, OSError):
                pass

    def close(self):
        self.stop = True
        self.th.join()
        self.sock.close()


class BuildStage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repo = kernel_repo()
        cls.base = pi.git(cls.repo, "rev-parse", "master")
        cls.s = pi.Scratch()
        cls.ib = cls.s.inbox("xe")
        cls.listener = Listener()
        cls.victims = ["/root/xeci-pwned-kbuild", os.path.expanduser("~/xeci-pwned-kbuild-home")]
        for v in cls.victims:
            if os.path.exists(v):
                os.unlink(v)
        cls.make_series()
        cls.data = cls.s.path("data")
        cls.db = cls.s.path("xeci.db")
        cls.conf = cls.s.path("xeci.conf")
        cls.port = pi.free_port()
        # The mirror starts as a --shared clone of the cached tree: libgit2's
        # first fetch of 280 MB over its local transport takes minutes, and
        # xecid's own fetch into this mirror is still what brings the branch.
        subprocess.run(["git", "clone", "-q", "--bare", "--shared", cls.repo,
                        os.path.join(cls.data, "trees/linux.git")], check=True)
        pi.git(os.path.join(cls.data, "trees/linux.git"), "update-ref", "-d", "refs/heads/master")
        with open(cls.conf, "w") as fh:
            fh.write(f'[database]\n\tpath = {cls.db}\n[data]\n\tdir = {cls.data}\n'
                     f'[inbox "xe"]\n\turl = {cls.ib.dir}\n\tpollInterval = 2\n\ttree = linux\n'
                     f'[tree "linux"]\n\turl = {cls.repo}\n\tbranch = master\n'
                     f'[build]\n\tworkDir = {WORK}\n\tconfig = qemu-kunit\n\tjobs = 1\n'
                     f'\ttimeout = 3600\n\tmakeJobs = 2\n\tperPatch = true\n'
                     f'[http]\n\tlisten = 127.0.0.1:{cls.port}\n'
                     f'[testplan "qemu"]\n\tsuites = kunit:xe ktap:hmm-tests\n\tplatforms = qemu\n')
        cls.run_daemon()

    @classmethod
    def tearDownClass(cls):
        cls.listener.close()
        cls.s.close()

    # --- the series ---------------------------------------------------------

    @classmethod
    def make_series(cls):
        dev = cls.s.path("dev")
        subprocess.run(["git", "clone", "-q", "--no-checkout", "--shared", cls.repo, dev], check=True)
        pi.git(dev, "sparse-checkout", "set", XE)
        pi.git(dev, "checkout", "-q", "master")
        pi.git(dev, "config", "user.name", "A U Thor")
        pi.git(dev, "config", "user.email", f"author@{pi.DOMAIN}")
        x = lambda f: os.path.join(dev, XE, f)  # noqa: E731

        def commit(msg):
            pi.git(dev, "commit", "-q", "-a", "-m", f"{msg}\n\nSigned-off-by: A U Thor <author@{pi.DOMAIN}>")

        def series(name, subject, changes):
            pi.git(dev, "checkout", "-q", "-B", name, "master")
            for msg, fn in changes:
                fn()
                commit(msg)
            return pi.format_series(dev, base=cls.base, to=cls.ib.address, subject=subject)

        good = series("good", "drm/xe: hmm comments", [
            ("drm/xe/hmm: say what the notifier sequence is for",
             lambda: edit(x("xe_hmm.c"), lambda t: after_includes(t, "/* xeci: the notifier sequence orders faults */"))),
            ("drm/xe/hmm: count faults",
             lambda: edit(x("xe_hmm.c"), lambda t: after_includes(t, "static int xeci_fault_count;"))),
        ])
        # a base-commit the tree does not have: blob matching must find the base
        good = [m.replace(f"base-commit: {cls.base}".encode(), f"base-commit: {STALE_BASE}".encode())
                for m in good]
        applyfail = series("applyfail", "drm/xe: vm and bo tweaks", [
            ("drm/xe/vm: comment", lambda: edit(x("xe_vm.c"), lambda t: after_includes(t, "/* xeci: vm */"))),
            ("drm/xe/bo: comment", lambda: edit(x("xe_bo.c"), lambda t: after_includes(t, "/* xeci: bo */"))),
        ])
        # patch 2's context no longer matches the tree
        applyfail[2] = re.sub(rb"(\n )#include ", rb"\1#include_not_there ", applyfail[2], count=1)
        broken = series("broken", "drm/xe: broken", [
            ("drm/xe/hmm: does not compile",
             lambda: edit(x("xe_hmm.c"), lambda t: after_includes(t, "int xeci_broken = ;"))),
        ])
        port = cls.listener.port
        sandbox = series("sandbox", "drm/xe: kbuild tries its luck", [
            ("drm/xe: build tries the network and writes outside",
             lambda: edit(x("Makefile"), lambda t: t + (
                 f"\n$(shell touch {cls.victims[0]} {cls.victims[1]} $(HOME)/xeci-private 2>/dev/null)\n"
                 f"ifeq ($(shell python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), "
                 f"timeout=3)\" 2>/dev/null && echo reached),)\n"
                 f"$(error xe: the network is unreachable)\nendif\n"))),
        ])
        cls.mails = {"good": good, "applyfail": applyfail, "broken": broken, "sandbox": sandbox}
        for mails in cls.mails.values():
            for m in mails:
                cls.ib.post(m)

    # --- the daemon -----------------------------------------------------------

    @classmethod
    def rows(cls):
        try:
            con = sqlite3.connect(cls.db, timeout=10)
            con.row_factory = sqlite3.Row
            try:
                return [dict(r) for r in con.execute(
                    "SELECT b.*, v.subject FROM builds b LEFT JOIN series_versions v ON v.id = b.version_id")]
            finally:
                con.close()
        except sqlite3.OperationalError:
            return []

    @classmethod
    def run_daemon(cls):
        log = open(cls.s.path("xecid.log"), "w")
        proc = subprocess.Popen([XECID, "--config", cls.conf], stderr=log)
        # kill -9 once, mid-build: the row must be run again, not left "building"
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline and not any(r["state"] == "building" for r in cls.rows()):
            time.sleep(1)
        time.sleep(5)
        proc.kill()
        proc.wait()
        cls.killed = [r["id"] for r in cls.rows() if r["state"] == "building" and r["version_id"]]
        # the build does not outlive the daemon (build.sh's watchdog)
        end = time.monotonic() + 30
        while time.monotonic() < end and cls.build_procs(cls.data):
            time.sleep(1)
        cls.orphans = cls.build_procs(cls.data)
        proc = subprocess.Popen([XECID, "--config", cls.conf], stderr=log)
        try:
            deadline = time.monotonic() + 3000
            while time.monotonic() < deadline:
                rows = [r for r in cls.rows() if r["version_id"]]
                if len(rows) >= 4 and all(r["state"] in FINAL for r in rows):
                    break
                if proc.poll() is not None:
                    break
                time.sleep(3)
            cls.run_agent(proc)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
            log.close()
        cls.by_subject = {r["subject"]: r for r in cls.rows() if r["version_id"]}
        with open(cls.s.path("xecid.log")) as fh:
            cls.daemon_log = fh.read()

    @classmethod
    def jobs(cls):
        try:
            con = sqlite3.connect(cls.db, timeout=10)
            con.row_factory = sqlite3.Row
            try:
                return [dict(r) for r in con.execute("SELECT * FROM jobs ORDER BY id")]
            finally:
                con.close()
        except sqlite3.OperationalError:
            return []

    @classmethod
    def run_agent(cls, xecid):
        """A qemu agent leases the jobs of the passed builds and runs them."""
        token = subprocess.run([XECI, "agent", "add", "qemu1", "--platform", "qemu", "--db", cls.db],
                               capture_output=True, text=True, check=True).stdout.strip()
        conf = cls.s.path("agent.conf")
        with open(conf, "w") as fh:
            fh.write(f"[agent]\n\tserver = http://127.0.0.1:{cls.port}\n\ttoken = {token}\n"
                     f"\tbackend = qemu\n\tplatform = qemu\n\tworkDir = {cls.s.path('agent')}\n"
                     f"[qemu]\n\tmemory = 2048\n\tcpus = 2\n\tbootTimeout = 300\n\truntimeout = 900\n")
        alog = open(cls.s.path("agent.log"), "w")
        agent = subprocess.Popen([AGENT, "--config", conf], stderr=alog, stdout=alog)
        try:
            deadline = time.monotonic() + 1800
            while time.monotonic() < deadline and xecid.poll() is None:
                jobs = cls.jobs()
                if jobs and all(j["state"] in ("done", "incomplete", "cancelled") for j in jobs):
                    break
                time.sleep(3)
        finally:
            agent.terminate()
            try:
                agent.wait(timeout=60)
            except subprocess.TimeoutExpired:
                agent.kill()
            alog.close()

    @staticmethod
    def build_procs(data):
        """This test's builds (their --out is under its data dir), not a bench's."""
        out = subprocess.run(["pgrep", "-f", f"kernel/build.sh .*{data}/builds"], capture_output=True,
                             text=True).stdout
        return out.split()

    def row(self, subject):
        r = self.by_subject.get(subject)
        self.assertIsNotNone(r, f"no build of '{subject}': {list(self.by_subject)}\n{self.daemon_log[-3000:]}")
        return r

    def xeci_json(self, *args):
        out = subprocess.run([XECI, *args, "--db", self.db, "--json"], capture_output=True, text=True,
                             check=True).stdout
        return json.loads(out)

    # --- the cases --------------------------------------------------------------

    def test_kill9_mid_build_runs_it_again(self):
        self.assertEqual(self.orphans, [], "a build outlived xecid killed -9")
        self.assertTrue(self.killed, "xecid was not killed while a series was building")
        for r in self.rows():
            self.assertIn(r["state"], FINAL, r)
        for bid in self.killed:
            r = [r for r in self.rows() if r["id"] == bid][0]
            self.assertEqual(r["attempts"], 2, r)

    def test_good_series_builds_with_blob_base(self):
        r = self.row("drm/xe: hmm comments")
        self.assertEqual(r["state"], "passed", r)
        self.assertEqual(r["base_method"], "blobs")
        self.assertEqual(r["base_commit"], self.base)
        mirror = os.path.join(self.data, "trees/linux.git")
        self.assertEqual(pi.git(mirror, "rev-parse", r["ref"]), r["commit_id"])
        self.assertRegex(r["ref"], r"^refs/xeci/series/\d+/v1$")
        show = self.xeci_json("build", "show", str(r["id"]))
        arts = {a["name"]: a for a in show["artifacts"]}
        for name in ("bzImage", "modules.tar.gz", "config", "System.map", "hmm-tests", "kernelrelease"):
            self.assertIn(name, arts)
            self.assertEqual(arts[name]["sha256"], sha256(arts[name]["path"]), name)
        # the one warning the series adds, and only it
        self.assertEqual(r["new_warnings"], 1, r)
        checks = {(c["kind"], c["patch"]): c for c in show["checks"]}
        w = checks[("warnings", 0)]
        self.assertEqual(w["result"], "warn")
        self.assertIn("xeci_fault_count", w["text"])
        self.assertIn("xe_hmm.c", w["text"])
        self.assertIn(("checkpatch", 1), checks)
        self.assertIn(("checkpatch", 2), checks)
        for i in (1, 2):
            c = checks[("checkpatch", i)]
            self.assertIn(c["result"], ("pass", "warn", "fail"), c)
            self.assertRegex(c["summary"], r"^\d+ errors, \d+ warnings, \d+ checks$")
            self.assertIn("total:", c["text"])
        # perPatch: the series without its last patch builds too
        self.assertEqual(checks[("per-patch", 1)]["result"], "pass", checks[("per-patch", 1)])
        self.assertNotIn(("per-patch", 2), checks)
        # the base was built once for this config, on the same commit
        bases = [b for b in self.rows() if not b["version_id"] and b["commit_id"] == self.base]
        self.assertTrue(any(b["state"] == "passed" for b in bases), bases)

    def test_good_kernel_boots_and_runs_xe_kunit(self):
        r = self.row("drm/xe: hmm comments")
        self.assertEqual(r["state"], "passed")
        bz = os.path.join(r["out_dir"], "bzImage")
        out = subprocess.run(["qemu-system-x86_64", "-nodefaults", "-m", "1024", "-kernel", bz, "-append",
                              "console=ttyS0 kunit.enable=1 panic=-1", "-no-reboot", "-nographic",
                              "-serial", "stdio"], capture_output=True, text=True, timeout=600,
                             errors="replace").stdout
        suites = {name: st for st, name in re.findall(r"^(ok|not ok) \d+ (\w+)", out, re.M)}
        self.assertIn("xe_pci", suites, out[-3000:])
        self.assertEqual(suites["xe_pci"], "ok")
        self.assertEqual(suites.get("xe_rtp"), "ok")
        self.assertIn("KTAP version 1", out)

    def test_apply_failure_is_named_and_never_built(self):
        r = self.row("drm/xe: vm and bo tweaks")
        self.assertEqual(r["state"], "apply-failed", r)
        self.assertEqual(r["apply_failed_index"], 2)
        self.assertEqual(r["apply_failed_file"], f"{XE}/xe_bo.c")
        self.assertIsNone(r["status"])
        self.assertFalse(glob.glob(os.path.join(self.data, "builds", str(r["id"]), "build.log")))
        log = subprocess.run([XECI, "build", "log", str(r["id"]), "--db", self.db], capture_output=True,
                             text=True)
        self.assertEqual(log.returncode, 1)
        self.assertIn("apply-failed", log.stderr)

    def test_compile_error_fails_the_build_naming_it(self):
        r = self.row("drm/xe: broken")
        self.assertEqual(r["state"], "failed", r)
        self.assertEqual(r["status"], "build-failed")
        self.assertIn(f"{XE}/xe_hmm.c", r["error"])
        self.assertNotIn(("per-patch", 1), {(c["kind"], c["patch"]) for c in
                                            self.xeci_json("build", "show", str(r["id"]))["checks"]})
        self.assertIn("error", r["error"])
        log = subprocess.run([XECI, "build", "log", str(r["id"]), "--db", self.db], capture_output=True,
                             text=True, check=True).stdout
        self.assertIn("xeci_broken", log)
        self.assertIn("error:", log)

    def test_sandbox_keeps_the_build_in(self):
        r = self.row("drm/xe: kbuild tries its luck")
        self.assertEqual(r["state"], "failed", r)
        self.assertIn("xe: the network is unreachable", r["error"])  # make's reason to stop
        with open(os.path.join(r["out_dir"], "build.log"), errors="replace") as fh:
            self.assertIn("xe: the network is unreachable", fh.read())
        self.assertEqual(self.listener.connected, [], "the build reached a host port")
        for v in self.victims:
            self.assertFalse(os.path.exists(v), f"the build wrote {v}")

    def test_full_loop_qemu_agent_runs_kunit_and_hmm(self):
        r = self.row("drm/xe: hmm comments")
        self.assertEqual(r["state"], "passed")
        jobs = {j["build_id"]: j for j in self.jobs()}
        self.assertIn(r["id"], jobs, "no job for the passed series build")
        job = jobs[r["id"]]
        with open(self.s.path("agent.log"), errors="replace") as fh:
            alog = fh.read()
        self.assertEqual(job["state"], "done", f"{job}\n{alog[-3000:]}")
        show = self.xeci_json("job", "show", str(job["id"]))
        res = {(x["suite"], x["test"]): x["status"] for x in show["results"]}
        kunit = {t: st for (suite, t), st in res.items() if suite == "kunit:xe"}
        hmm = {t: st for (suite, t), st in res.items() if suite == "ktap:hmm-tests"}
        # what the console says, read by xeci's own KTAP parser from a boot of the same kernel
        bz = os.path.join(r["out_dir"], "bzImage")
        out = subprocess.run(["qemu-system-x86_64", "-nodefaults", "-m", "1024", "-kernel", bz, "-append",
                              "console=ttyS0 kunit.enable=1 panic=-1", "-no-reboot", "-nographic",
                              "-serial", "stdio"], capture_output=True, timeout=600).stdout
        console = self.s.path("console.log")
        with open(console, "wb") as fh:
            fh.write(out)
        parsed = subprocess.run([XECI, "results", "parse", "--format", "ktap", console], capture_output=True,
                                text=True, check=True).stdout
        want = {}
        for line in parsed.splitlines():
            o = json.loads(line)
            want[o["path"]] = o["status"]
        xe = {p: st for p, st in want.items() if p.startswith("xe_pci.")}
        self.assertTrue(xe, "the console has no xe_pci results")
        for p, st in xe.items():
            self.assertEqual(kunit.get(p), st, f"{p}: job says {kunit.get(p)}, the console {st}")
        # the HMM selftests ran in the guest: passes and the known -EBUSY failures of 6.12
        self.assertIn("pass", hmm.values(), hmm)
        self.assertTrue(any("exclusive" in t for t, st in hmm.items() if st == "fail"), hmm)
        # the base's build was tested too (the baseline the verdict compares with)
        bases = [j for j in self.jobs() if j["version_id"] is None]
        self.assertTrue(any(j["state"] == "done" for j in bases), bases)

    def test_queue_commands(self):
        rows = self.xeci_json("builds")
        self.assertGreaterEqual(len(rows), 5)
        ids = [r["id"] for r in rows]
        self.assertEqual(ids, sorted(ids, reverse=True))
        passed = self.xeci_json("builds", "--state", "passed")
        self.assertTrue(passed)
        self.assertTrue(all(r["state"] == "passed" for r in passed))


if __name__ == "__main__":
    unittest.main(verbosity=2)
