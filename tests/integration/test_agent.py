#!/usr/bin/env python3
"""xeci-agent against a real xecid on loopback.

sim back-end (scripted outcomes): register facts, lease, heartbeats,
results rows in SQLite; an artifact download cut in the middle resumes with
Range, one served with a flipped byte is fetched again (a recording proxy
between agent and xecid does the cutting); a lease taken away (xeci
requeue) stops the job without an upload; SIGTERM mid-job gives the job back
at once; an agent that crashes mid-job, restarted, gets the job again once
the lease expires; a hung agent's job ends "incomplete" after its attempts.

qemu back-end: the real Xe KUnit kernel built by the build stage
(`xeci build`, incremental in the cached kbuild dir) boots in QEMU with the
initramfs of kernel/initramfs.sh; the results in SQLite match what the
console showed (the kernel's own reading of it: `xeci results parse`),
xe_pci passes, hmm-tests gives 24 pass / 31 skip / 3 fail (REFERENCE.md §1);
a kernel that does not boot in time fails the job as "kernel did not boot",
not as an infrastructure failure."""
import hashlib
import http.client
import http.server
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pi  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.environ.get("XECI_SRC", os.path.join(HERE, "../..")))
BIN = os.environ.get("XECI_BIN", os.path.join(SRC, "build"))
XECI, XECID, AGENT = (os.path.join(BIN, n) for n in ("xeci", "xecid", "xeci-agent"))
CACHE = os.environ.get("XECI_CACHE", "/var/cache/xeci")
WORK = os.path.join(CACHE, "test-work")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class Xecid:
    """xecid with its own database, data dir and [http] port."""

    def __init__(self, d, plans, lease_s=300, attempts=3):
        self.d = d
        self.db = os.path.join(d, "xeci.db")
        self.port = pi.free_port()
        self.conf = os.path.join(d, "xeci.conf")
        with open(self.conf, "w") as fh:
            fh.write(f"[database]\n\tpath = {self.db}\n[data]\n\tdir = {d}/data\n"
                     f"[http]\n\tlisten = 127.0.0.1:{self.port}\n"
                     f"[dispatch]\n\tleaseSeconds = {lease_s}\n\tmaxAttempts = {attempts}\n")
            for name, (suites, platform) in plans.items():
                fh.write(f'[testplan "{name}"]\n\tsuites = {suites}\n\tplatforms = {platform}\n')
        self.log = open(os.path.join(d, "xecid.log"), "a")
        self.proc = subprocess.Popen([XECID, "--config", self.conf], stderr=self.log)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/health", timeout=2).read()
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        raise RuntimeError("xecid did not listen")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.log.close()

    def sql(self, q, *args):
        con = sqlite3.connect(self.db, timeout=10)
        try:
            rows = con.execute(q, args).fetchall()
            con.commit()
            return rows
        finally:
            con.close()

    def xeci(self, *args):
        return subprocess.run([XECI, *args, "--db", self.db], capture_output=True, text=True)

    def add_agent(self, name, platform):
        r = self.xeci("agent", "add", name, "--platform", platform)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def add_build(self, files):
        """A passed build whose artifacts are files {name: path}."""
        self.sql("INSERT INTO builds(tree, config, state, priority, out_dir) VALUES ('linux', 'qemu-kunit', "
                 "'passed', ?, ?)", int(time.time()), self.d)
        bid = self.sql("SELECT max(id) FROM builds")[0][0]
        for name, path in files.items():
            with open(path, "rb") as fh:
                data = fh.read()
            self.sql("INSERT INTO build_artifacts(build_id, name, path, size, sha256) VALUES (?, ?, ?, ?, ?)",
                     bid, name, path, len(data), sha256(data))
        return bid

    def job(self, build):
        rows = self.sql("SELECT id, state, result, reason, attempts, agent_id FROM jobs WHERE build_id = ?", build)
        return dict(zip(("id", "state", "result", "reason", "attempts", "agent_id"), rows[0])) if rows else None

    def wait_job(self, build, states, timeout=120):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            j = self.job(build)
            if j and j["state"] in states:
                return j
            time.sleep(0.3)
        raise AssertionError(f"job of build {build} never {states}: {self.job(build)}")

    def results(self, job):
        return {t: (s, st) for t, s, st in self.sql("SELECT test, suite, status FROM job_results WHERE job_id = ?",
                                                   job)}


class Proxy:
    """Forwards HTTP to xecid, recording each request; `cut` names artifacts
    whose first download is cut after half its bytes, `corrupt` ones whose
    first download has a byte flipped."""

    def __init__(self, port, cut=(), corrupt=()):
        self.seen = []
        self.cut, self.corrupt = set(cut), set(corrupt)
        proxy = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def forward(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                proxy.seen.append((self.command, self.path, self.headers.get("Range")))
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=90)
                hdrs = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "range",
                                                                               "content-type")}
                c.request(self.command, self.path, body=body, headers=hdrs)
                r = c.getresponse()
                data = r.read()
                c.close()
                name = self.path.rsplit("/", 1)[-1] if "/artifacts/" in self.path else None
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() in ("content-type", "content-range", "accept-ranges"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if name in proxy.cut and r.status == 200:
                    proxy.cut.discard(name)
                    self.wfile.write(data[:len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if name in proxy.corrupt and r.status == 200:
                    proxy.corrupt.discard(name)
                    data = bytes([data[0] ^ 0xff]) + data[1:]
                self.wfile.write(data)

            def handle_one_request(self):
                try:
                    super().handle_one_request()
                except (BrokenPipeError, ConnectionResetError):  # an agent stopped mid-call
                    self.close_connection = True

            do_GET = do_POST = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Agent:
    def __init__(self, d, name, port, token, backend, extra=""):
        self.conf = os.path.join(d, f"{name}.conf")
        self.work = os.path.join(d, f"{name}-work")
        self.logpath = os.path.join(d, f"{name}.log")
        with open(self.conf, "w") as fh:
            fh.write(f"[agent]\n\tserver = http://127.0.0.1:{port}\n\ttoken = {token}\n\tbackend = {backend}\n"
                     f"\tworkDir = {self.work}\n{extra}")
        self.proc = None

    def start(self):
        self.log = open(self.logpath, "a")
        self.proc = subprocess.Popen([AGENT, "--config", self.conf], stderr=self.log)
        return self

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None

    def text(self):
        with open(self.logpath) as fh:
            return fh.read()


class Base(unittest.TestCase):
    plans = {"sim": ("kunit:xe ktap:hmm-tests", "sim")}

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="xeci-agent-")
        self.x = None
        self.agents = []
        self.proxy = None

    def tearDown(self):
        for a in self.agents:
            a.stop(signal.SIGKILL)
        if self.proxy:
            self.proxy.close()
        if self.x:
            self.x.stop()
        subprocess.run(["rm", "-rf", self.tmp])

    def daemon(self, **kw):
        self.x = Xecid(self.tmp, self.plans, **kw)
        return self.x

    def agent(self, name, backend, extra="", port=None, token=None, platform="sim"):
        token = token or self.x.add_agent(name, platform)
        a = Agent(self.tmp, name, port or self.x.port, token, backend, extra)
        self.agents.append(a)
        return a

    def script(self, name, text):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as fh:
            fh.write(text)
        return f"[sim]\n\tscript = {p}\n"

    def artifact(self, name, size):
        p = os.path.join(self.tmp, name)
        with open(p, "wb") as fh:
            fh.write(os.urandom(size))
        return p


class Sim(Base):
    def test_register_lease_results_and_resumed_downloads(self):
        x = self.daemon()
        big, small = self.artifact("bzImage", 3 << 20), self.artifact("hmm-tests", 200000)
        self.proxy = Proxy(x.port, cut={"bzImage"}, corrupt={"hmm-tests"})
        a = self.agent("s1", "sim", self.script("s1.sim", "xe_pci.one pass\nxe_pci.two fail\n# a comment\n"
                                                 "sleep 1\nxe_pci.three skip\n"),
                       port=self.proxy.port).start()
        bid = x.add_build({"bzImage": big, "hmm-tests": small})
        j = x.wait_job(bid, ("done", "incomplete"), timeout=60)
        self.assertEqual(j["state"], "done", a.text())
        self.assertEqual(j["result"], "fail")  # one test failed
        self.assertEqual(x.results(j["id"]), {"xe_pci.one": ("kunit:xe", "pass"),
                                              "xe_pci.two": ("kunit:xe", "fail"),
                                              "xe_pci.three": ("kunit:xe", "skip")})
        facts = json.loads(x.sql("SELECT facts FROM agents WHERE name = 's1'")[0][0])
        self.assertEqual(facts["platform"], "sim")
        self.assertEqual(facts["kernel"], os.uname().release)
        self.assertEqual(facts["hostname"], os.uname().nodename)
        # the cut download resumed where it stopped, with a Range
        gets = [(p, r) for m, p, r in self.proxy.seen if m == "GET" and p.endswith("/bzImage")]
        self.assertEqual(len(gets), 2, gets)
        self.assertIsNone(gets[0][1])
        self.assertEqual(gets[1][1], f"bytes={(3 << 20) // 2}-")
        # the corrupted one was fetched again whole
        gets = [(p, r) for m, p, r in self.proxy.seen if m == "GET" and p.endswith("/hmm-tests")]
        self.assertEqual(len(gets), 2, gets)
        self.assertEqual([r for _, r in gets], [None, None])
        for name, src in (("bzImage", big), ("hmm-tests", small)):
            with open(src, "rb") as f1, open(os.path.join(a.work, "artifacts", str(bid), name), "rb") as f2:
                self.assertEqual(f1.read(), f2.read(), name)
        self.assertFalse([m for m, p, r in self.proxy.seen if p.endswith("/fail")])
        self.assertEqual(a.stop(), 0)
        self.assertIn("3 results uploaded", a.text())

    def test_large_results_go_in_batches(self):
        # 200 tests with 60 KB of output each: 12 MB, over xecid's 8 MiB body limit
        x = self.daemon()
        self.proxy = Proxy(x.port)
        a = self.agent("s1", "sim", self.script("big.sim", "".join(f"t{i} pass 60000\n" for i in range(200))),
                       port=self.proxy.port).start()
        bid = x.add_build({"bzImage": self.artifact("bzImage", 1000)})
        j = x.wait_job(bid, ("done", "incomplete"), timeout=120)
        self.assertEqual(j["state"], "done", a.text()[-2000:])
        self.assertEqual(len(x.results(j["id"])), 200)
        posts = [p for m, p, r in self.proxy.seen if p.endswith("/results")]
        self.assertGreaterEqual(len(posts), 3, posts)
        self.assertEqual(a.stop(), 0)

    def test_lease_taken_away_stops_the_job_without_upload(self):
        x = self.daemon()
        a = self.agent("s1", "sim", "\theartbeat = 1\n" + self.script("s1.sim", "t1 pass\nnever-return\n")).start()
        bid = x.add_build({"bzImage": self.artifact("bzImage", 1000)})
        j = x.wait_job(bid, ("leased",))
        first = x.sql("SELECT lease_id FROM jobs WHERE id = ?", j["id"])[0][0]
        time.sleep(1.5)  # it runs and heartbeats
        r = x.xeci("requeue", str(j["id"]))
        self.assertEqual(r.returncode, 0, r.stderr)
        end = time.monotonic() + 20
        while time.monotonic() < end and "the lease went to another agent" not in a.text():
            time.sleep(0.2)
        self.assertIn("the lease went to another agent", a.text())
        # the agent leases the job again under a new lease; the old one sent nothing
        j = x.wait_job(bid, ("leased",))
        self.assertNotEqual(x.sql("SELECT lease_id FROM jobs WHERE id = ?", j["id"])[0][0], first)
        self.assertEqual(x.sql("SELECT count(*) FROM job_results"), [(0,)])
        self.assertEqual(a.stop(), 0)

    def test_sigterm_mid_job_gives_the_job_back(self):
        x = self.daemon()
        a = self.agent("s1", "sim", self.script("s1.sim", "t1 pass\nsleep 120\nt2 pass\n")).start()
        bid = x.add_build({"bzImage": self.artifact("bzImage", 1000)})
        j = x.wait_job(bid, ("leased",))
        time.sleep(1)
        t0 = time.monotonic()
        self.assertEqual(a.stop(signal.SIGTERM, timeout=20), 0)
        self.assertLess(time.monotonic() - t0, 10)
        j = x.job(bid)
        self.assertEqual(j["state"], "queued", j)  # back in the queue now, not at lease expiry
        self.assertEqual(x.sql("SELECT count(*) FROM job_results"), [(0,)])  # no half job
        self.assertIn("stopped mid-job", a.text())

    def test_crashed_agent_restarts_and_gets_the_job_after_expiry(self):
        x = self.daemon(lease_s=3)
        token = x.add_agent("s1", "sim")
        a = self.agent("s1", "sim", self.script("crash.sim", "t1 pass\ncrash\n"), token=token).start()
        bid = x.add_build({"bzImage": self.artifact("bzImage", 1000)})
        x.wait_job(bid, ("leased",))
        a.proc.wait(timeout=30)
        self.assertEqual(a.proc.returncode, 3)  # the scripted crash
        self.assertEqual(x.sql("SELECT count(*) FROM job_results"), [(0,)])
        b = self.agent("s1b", "sim", self.script("ok.sim", "t1 pass\nt2 pass\n"), token=token).start()
        j = x.wait_job(bid, ("done",), timeout=60)
        self.assertEqual(j["attempts"], 2, j)
        self.assertEqual(j["result"], "pass")
        self.assertEqual(set(x.results(j["id"])), {"t1", "t2"})
        self.assertEqual(b.stop(), 0)

    def test_hung_agent_job_ends_incomplete(self):
        x = self.daemon(lease_s=3, attempts=1)
        self.agent("s1", "sim", "\theartbeat = 1\n" + self.script("s1.sim", "t1 pass\nhang\n")).start()
        bid = x.add_build({"bzImage": self.artifact("bzImage", 1000)})
        j = x.wait_job(bid, ("incomplete",), timeout=60)
        self.assertIn("machine lost", j["reason"] or "")
        self.assertEqual(x.sql("SELECT count(*) FROM job_results"), [(0,)])

    def test_wrong_token_exits(self):
        self.daemon()
        a = self.agent("s1", "sim", self.script("s1.sim", "t1 pass\n"), token="0" * 64).start()
        self.assertEqual(a.proc.wait(timeout=30), 1)
        self.assertIn("401", a.text())


CORPUS = os.environ.get("XECI_CORPUS", os.path.join(SRC, "../shared/corpus"))


class Host(Base):
    """The host back-end's state machine across "reboots": the machine is
    played by commands (install, boot, reboot) that log what they were asked
    and kill the agent as a reboot would, XECI_AGENT_UNAME_R stands for the
    kernel the machine runs, and igt_runner is a script that leaves one of
    the IGT corpus's real results directories (normal-run: 2 pass, 1 fail,
    2 skip)."""
    plans = {"xe": ("igt:xe-bat.testlist igt:xe-full.testlist", "bmg")}
    GOOD, TEST = "6.1.0-18-amd64", "6.12.117-xeci-test"

    def setUp(self):
        super().setUp()
        self.machine = os.path.join(self.tmp, "machine.log")
        lists = os.path.join(self.tmp, "testlists")
        os.makedirs(lists)
        with open(os.path.join(lists, "xe-bat.testlist"), "w") as fh:
            fh.write("# BAT\nigt@successtest@first-subtest\nigt@successtest@second-subtest\nigt@no-subtests\n"
                     "igt@skippers@skip-one\nigt@skippers@skip-two\n")
        with open(os.path.join(lists, "xe-full.testlist"), "w") as fh:
            fh.write("igt@xe_exec_fault_mode@once-basic\nigt@xe_exec_fault_mode@twice-basic\n")
        runner = os.path.join(self.tmp, "igt_runner")
        with open(runner, "w") as fh:
            fh.write("#!/bin/sh\n"
                     'if [ "$1" = --version ]; then echo "IGT-Version: 1.29-gxeci (x86_64)"; exit 0; fi\n'
                     f'echo "runner $*" >> {self.machine}\n'
                     'for last; do :; done\n'
                     f'mkdir -p "$last" && cp -r {CORPUS}/igt/normal-run/. "$last"/\n')
        os.chmod(runner, 0o755)
        # the agent goes down with the machine (&&: a ';' would start a git-config comment)
        self.kill = "kill -9 $PPID"
        self.extra = (f"[host]\n\tknownGood = {self.GOOD}\n\trunner = {runner}\n\ttestlists = {lists}\n"
                      f'\tinstallCommand = echo "install $XECI_RELEASE" >> {self.machine}\n'
                      f'\tbootCommand = echo "boot $XECI_RELEASE" >> {self.machine} && {self.kill}\n'
                      f'\trebootCommand = echo reboot >> {self.machine} && {self.kill}\n')

    def files(self):
        rel = os.path.join(self.tmp, "kernelrelease")
        with open(rel, "w") as fh:
            fh.write(self.TEST + "\n")
        return {"bzImage": self.artifact("bzImage", 5000), "modules.tar.gz": self.artifact("modules.tar.gz", 500),
                "kernelrelease": rel}

    def boot_as(self, token, release):
        """The agent starting on the machine booted into `release` (one
        machine: the same config, work dir and log each time)."""
        os.environ["XECI_AGENT_UNAME_R"] = release
        try:
            return self.agent("h1", "host", self.extra, token=token).start()
        finally:
            del os.environ["XECI_AGENT_UNAME_R"]

    def machine_log(self):
        with open(self.machine) as fh:
            return fh.read().splitlines()

    def test_boot_test_and_return(self):
        x = self.daemon()
        token = x.add_agent("h1", "bmg")
        bid = x.add_build(self.files())
        a = self.boot_as(token, self.GOOD)
        a.proc.wait(timeout=60)  # "rebooted" into the kernel under test
        state = os.path.join(a.work, "host-state")
        with open(state) as fh:
            st = json.load(fh)
        self.assertEqual((st["phase"], st["release"]), ("booting", self.TEST))
        self.assertEqual(x.job(bid)["state"], "leased")
        b = self.boot_as(token, self.TEST)
        b.proc.wait(timeout=60)  # tested, uploaded, "rebooted" back
        j = x.job(bid)
        self.assertEqual(j["state"], "done", b.text())
        res = x.results(j["id"])
        with open(os.path.join(CORPUS, "igt/normal-run/reference.json")) as fh:
            ref = {t: v["result"] for t, v in json.load(fh)["tests"].items()}
        for t, r in ref.items():
            self.assertEqual(res[t], ("igt:xe-bat.testlist", r), t)
        # a BAT failure (second-subtest): the full list is not run
        self.assertEqual(res["igt@xe_exec_fault_mode@once-basic"], ("igt:xe-full.testlist", "notrun"))
        self.assertEqual(j["result"], "fail")
        with open(state) as fh:
            self.assertEqual(json.load(fh)["phase"], "returning")
        facts = json.loads(x.sql("SELECT facts FROM agents WHERE name = 'h1'")[0][0])
        self.assertEqual(facts["igt_version"], "IGT-Version: 1.29-gxeci (x86_64)")
        c = self.boot_as(token, self.GOOD)
        end = time.monotonic() + 20
        while time.monotonic() < end and os.path.exists(state):
            time.sleep(0.2)
        self.assertFalse(os.path.exists(state))
        self.assertEqual(c.stop(), 0)
        log = self.machine_log()
        self.assertEqual([line.split()[0] for line in log], ["install", "boot", "runner", "reboot"], log)
        self.assertIn(f"install {self.TEST}", log)
        self.assertIn("--test-list", log[2])
        self.assertIn("--per-test-timeout", log[2])

    def test_kernel_that_never_came_up(self):
        x = self.daemon()
        token = x.add_agent("h1", "bmg")
        bid = x.add_build(self.files())
        a = self.boot_as(token, self.GOOD)
        a.proc.wait(timeout=60)
        # the watchdog brought the machine back on the known-good kernel
        b = self.boot_as(token, self.GOOD)
        j = x.wait_job(bid, ("incomplete",), timeout=30)
        self.assertIn("kernel did not boot", j["reason"])
        self.assertEqual(x.sql("SELECT infra_failures FROM agents WHERE name = 'h1'"), [(0,)])
        self.assertFalse(os.path.exists(os.path.join(a.work, "host-state")))
        self.assertEqual(b.stop(), 0)
        self.assertNotIn("runner", " ".join(self.machine_log()))


def kernel_build(out):
    """The qemu-kunit kernel's artifacts (bzImage, modules.tar.gz, hmm-tests)
    from the build stage: $XECI_AGENT_KERNEL names a ready out dir, else
    `xeci build` makes one (incremental in the cached kbuild dir)."""
    ready = os.environ.get("XECI_AGENT_KERNEL")
    if ready:
        return ready
    repo = subprocess.run([os.path.join(SRC, "kernel/linux-source-git.sh")], capture_output=True, text=True,
                          timeout=1800, check=True).stdout.strip()
    # xeci build names the checkout and kbuild dir under WORK after the
    # repository: "linux", test_build.py's, so a CI run builds the kernel
    # cold once, not twice (about 16 minutes each on 2 cores). The two must
    # not run at once: CTest runs them one after the other (RESOURCE_LOCK
    # kbuild in tests/CMakeLists.txt); by hand, run one at a time.
    link = os.path.join(os.path.dirname(out), "linux.git")
    os.symlink(repo, link)
    r = subprocess.run([XECI, "build", "--repo", link, "--rev", "master", "--config", "qemu-kunit", "--out", out,
                        "--work", WORK], capture_output=True, text=True, timeout=3000)
    if r.returncode:
        raise RuntimeError(f"xeci build failed: {r.stdout[-2000:]}{r.stderr[-2000:]}")
    return out


class Qemu(Base):
    plans = {"qemu": ("kunit:xe ktap:hmm-tests", "qemu")}

    @classmethod
    def setUpClass(cls):
        cls.kdir = tempfile.mkdtemp(prefix="xeci-agent-kernel-")
        cls.out = kernel_build(os.path.join(cls.kdir, "out"))

    @classmethod
    def tearDownClass(cls):
        subprocess.run(["rm", "-rf", cls.kdir])

    def files(self):
        return {n: os.path.join(self.out, n) for n in ("bzImage", "modules.tar.gz", "hmm-tests", "kernelrelease")}

    def qemu_agent(self, extra=""):
        return self.agent("q1", "qemu", f"[qemu]\n\tinitramfs = {SRC}/kernel/initramfs.sh\n{extra}",
                          platform="qemu")

    def test_real_kernel_kunit_and_hmm_tests(self):
        x = self.daemon()
        a = self.qemu_agent().start()
        bid = x.add_build(self.files())
        j = x.wait_job(bid, ("done", "incomplete"), timeout=500)
        self.assertEqual(j["state"], "done", (j, a.text()[-3000:]))
        res = x.results(j["id"])
        console = os.path.join(a.work, "jobs", str(j["id"]), "console.log")
        with open(console, errors="replace") as fh:
            text = fh.read()
        # KUnit: every case the kernel's KTAP has, with its status
        kunit_text = text[:text.index("xeci-init: start")]
        kpath = os.path.join(self.tmp, "kunit.log")
        with open(kpath, "w") as fh:
            fh.write(kunit_text)
        parsed = [json.loads(line) for line in
                  subprocess.run([XECI, "results", "parse", "--format", "ktap", kpath], capture_output=True,
                                 text=True, check=True).stdout.splitlines()]
        seen = {}
        for p in parsed:
            seen[p["path"]] = seen.get(p["path"], 0) + 1
            name = p["path"] if seen[p["path"]] == 1 else f"{p['path']} #{seen[p['path']]}"
            self.assertEqual(res.get(name), ("kunit:xe", p["status"]), name)
        kunit = {t: st for t, (s, st) in res.items() if s == "kunit:xe"}
        self.assertEqual(len(kunit), len(parsed))
        self.assertGreaterEqual(len(kunit), 100)
        xe_pci = {t: st for t, st in kunit.items() if t.startswith("xe_pci.")}
        self.assertTrue(xe_pci)
        self.assertEqual(set(xe_pci.values()), {"pass"}, xe_pci)
        # hmm-tests: every case as the console's own TAP line says
        hmm = {t: st for t, (s, st) in res.items() if s == "ktap:hmm-tests"}
        region = text[text.index("xeci-suite-begin: ktap:hmm-tests"):text.index("xeci-suite-end: ktap:hmm-tests")]
        tap = {m[2]: ("skip" if m[3] else "pass" if m[0] == "ok" else "fail")
               for m in re.findall(r"^(ok|not ok) (\d+) (\S+)( # SKIP.*)?\r?$", region, re.M)}
        self.assertEqual(hmm, tap)
        # REFERENCE.md §1: 58 cases, 31 skip (no device coherent memory,
        # hugetlb pages, gup_test), and the 3 exclusive tests fail (-EBUSY) on
        # the unpatched kernel; 24 pass here, though a timing-sensitive case
        # may fail on a loaded machine: named in the message when it does
        counts = {st: list(hmm.values()).count(st) for st in set(hmm.values())}
        self.assertEqual(len(hmm), 58, counts)
        self.assertEqual(counts.get("skip"), 31, counts)
        for t in ("hmm.hmm_device_private.exclusive", "hmm.hmm_device_private.exclusive_mprotect",
                  "hmm.hmm_device_private.exclusive_cow"):
            self.assertEqual(hmm.get(t), "fail", t)
        others = sorted(t for t, st in hmm.items() if st == "fail" and "exclusive" not in t)
        self.assertLessEqual(len(others), 1, others)
        if others:
            print(f"note: hmm-tests also failed {others} (expected 24 pass / 3 fail)", file=sys.stderr)
        self.assertEqual(hmm["hmm.hmm_device_private.open_close"], "pass")
        self.assertEqual(j["result"], "fail")  # the 3 pre-existing hmm failures
        self.assertEqual(a.stop(), 0)

    def test_sigterm_mid_boot_kills_qemu_and_gives_the_job_back(self):
        x = self.daemon()
        a = self.qemu_agent().start()
        bid = x.add_build(self.files())
        j = x.wait_job(bid, ("leased",), timeout=60)
        console = os.path.join(a.work, "jobs", str(j["id"]), "console.log")
        end = time.monotonic() + 120
        while time.monotonic() < end and not (os.path.exists(console) and os.path.getsize(console) > 0):
            time.sleep(0.2)
        self.assertTrue(os.path.exists(console), a.text())
        t0 = time.monotonic()
        self.assertEqual(a.stop(signal.SIGTERM, timeout=30), 0)
        self.assertLess(time.monotonic() - t0, 10)
        left = subprocess.run(["pgrep", "-f", f"serial file:{console}"], capture_output=True, text=True).stdout
        self.assertEqual(left, "", "qemu outlived the agent")
        self.assertEqual(x.job(bid)["state"], "queued")
        self.assertEqual(x.sql("SELECT count(*) FROM job_results"), [(0,)])

    def test_panic_after_kunit_keeps_its_results(self):
        # no init in the initramfs: KUnit runs, then the kernel panics at the
        # root mount and QEMU exits (panic=-1, -no-reboot)
        x = self.daemon()
        a = self.qemu_agent("\tappend = rdinit=/xeci-no-such-init\n").start()
        bid = x.add_build(self.files())
        j = x.wait_job(bid, ("done", "incomplete"), timeout=300)
        self.assertEqual(j["state"], "done", (j, a.text()[-2000:]))
        res = x.results(j["id"])
        kunit = {t: st for t, (s, st) in res.items() if s == "kunit:xe"}
        self.assertGreaterEqual(len(kunit), 100)
        self.assertEqual(res["hmm-tests"], ("ktap:hmm-tests", "notrun"))
        dmesg = x.sql("SELECT dmesg_excerpt FROM job_results WHERE job_id = ? AND test = 'hmm-tests'", j["id"])
        self.assertIn("Kernel panic", dmesg[0][0])
        self.assertEqual(a.stop(), 0)

    def test_kernel_that_does_not_boot_in_time(self):
        x = self.daemon()
        a = self.qemu_agent("\tbootTimeout = 1\n").start()
        bid = x.add_build(self.files())
        j = x.wait_job(bid, ("done", "incomplete"), timeout=120)
        self.assertEqual(j["state"], "incomplete", j)
        self.assertIn("kernel did not boot", j["reason"])
        # the kernel's fault, not the machine's
        self.assertEqual(x.sql("SELECT infra_failures FROM agents WHERE name = 'q1'"), [(0,)])
        self.assertTrue(os.path.exists(os.path.join(a.work, "jobs", str(j["id"]), "console.log")))
        self.assertEqual(a.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
