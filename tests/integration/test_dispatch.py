#!/usr/bin/env python3
"""Dispatch through xecid's HTTP API, with agents played by this test over
real HTTP (urllib) against a real xecid on loopback: tokens, register,
long-poll leases, heartbeats, results, stale leases (409), lease expiry and
requeue, "incomplete: machine lost", quarantine, no double lease under
concurrent requests, kill -9 of xecid mid-dispatch, bad requests, artifact
download with sha256 and Range resume.

The builds the jobs test are rows of a real database made by xecid's own
migrations; their artifacts are files written here (the build stage's own
path to them is test_build.py's)."""
import hashlib
import json
import os
import socket
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
XECI, XECID = os.path.join(BIN, "xeci"), os.path.join(BIN, "xecid")


class Xecid:
    def __init__(self, d, lease_s=300, attempts=3):
        self.d = d
        self.db = os.path.join(d, "xeci.db")
        self.port = pi.free_port()
        self.conf = os.path.join(d, "xeci.conf")
        with open(self.conf, "w") as fh:
            fh.write(f"[database]\n\tpath = {self.db}\n[data]\n\tdir = {d}/data\n"
                     f"[http]\n\tlisten = 127.0.0.1:{self.port}\n"
                     f"[dispatch]\n\tleaseSeconds = {lease_s}\n\tmaxAttempts = {attempts}\n"
                     f'[testplan "qemu"]\n\tsuites = kunit:xe ktap:hmm-tests\n\tplatforms = qemu\n'
                     f'[testplan "fault"]\n\tsuites = igt:xe-fault-bat.testlist\n\tplatforms = bmg\n'
                     f"\tshards = 2\n\tcapabilities = fault-mode\n")
        self.log = open(os.path.join(d, "xecid.log"), "a")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([XECID, "--config", self.conf], stderr=self.log)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/health", timeout=2).read()
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        raise RuntimeError("xecid did not listen")

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.log.close()

    def xeci(self, *args):
        return subprocess.run([XECI, *args, "--db", self.db], capture_output=True, text=True)

    def sql(self, q, *args):
        con = sqlite3.connect(self.db, timeout=10)
        try:
            cur = con.execute(q, args)
            rows = cur.fetchall()
            con.commit()
            return rows
        finally:
            con.close()

    def add_agent(self, name, platform="qemu"):
        r = self.xeci("agent", "add", name, "--platform", platform)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def add_build(self, artifacts=b"kernel image bytes " * 1000):
        """A passed build with one artifact: what the scheduler makes jobs of."""
        out = os.path.join(self.d, "data", "builds", f"b{time.monotonic_ns()}")
        os.makedirs(out)
        path = os.path.join(out, "bzImage")
        with open(path, "wb") as fh:
            fh.write(artifacts)
        self.sql("INSERT INTO builds(tree, config, state, priority, out_dir) VALUES ('linux', 'qemu-kunit', "
                 "'passed', ?, ?)", int(time.time()), out)
        bid = self.sql("SELECT max(id) FROM builds")[0][0]
        self.sql("INSERT INTO build_artifacts(build_id, name, path, size, sha256) VALUES (?, 'bzImage', ?, ?, ?)",
                 bid, path, len(artifacts), hashlib.sha256(artifacts).hexdigest())
        return bid


def call(port, method, path, token=None, body=None, raw=None, headers=None, timeout=40):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            payload = r.read()
            return r.status, payload, dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def jbody(payload):
    return json.loads(payload) if payload else None


class Dispatch(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="xeci-dispatch-")
        self.x = None

    def tearDown(self):
        if self.x:
            self.x.stop()
        subprocess.run(["rm", "-rf", self.tmp])

    def daemon(self, **kw):
        self.x = Xecid(self.tmp, **kw)
        self.x.start()
        return self.x

    def lease(self, token, wait=5):
        st, body, _ = call(self.x.port, "POST", "/api/v1/agent/lease", token, {"wait_s": wait})
        return st, jbody(body)

    def wait_jobs(self, n, state="queued"):
        end = time.monotonic() + 30
        while time.monotonic() < end:
            if self.x.sql("SELECT count(*) FROM jobs WHERE state = ?", state)[0][0] >= n:
                return
            time.sleep(0.2)
        self.fail(f"never {n} {state} jobs")

    def test_tokens_and_register(self):
        x = self.daemon()
        tok = x.add_agent("q1")
        self.assertRegex(tok, r"^[0-9a-f]{64}$")
        self.assertEqual(x.sql("SELECT count(*) FROM agents WHERE token_sha256 = ?", tok), [(0,)])
        for bad in (None, "nope", "0" * 64):
            st, _, _ = call(x.port, "POST", "/api/v1/agent/register", bad, {"facts": {"hostname": "evil"}})
            self.assertEqual(st, 401, bad)
        self.assertEqual(x.sql("SELECT facts FROM agents"), [(None,)])
        st, body, _ = call(x.port, "POST", "/api/v1/agent/register", tok,
                           {"facts": {"hostname": "dut1", "gpu_count": 0}, "capabilities": []})
        self.assertEqual(st, 200, body)
        self.assertEqual(json.loads(x.sql("SELECT facts FROM agents")[0][0])["hostname"], "dut1")
        st, _, _ = call(x.port, "POST", "/api/v1/agent/register", tok, raw=b"{not json")
        self.assertEqual(st, 400)
        st, _, _ = call(x.port, "POST", "/api/v1/agent/register", tok, raw=b"x" * (9 << 20))
        self.assertEqual(st, 413)
        self.assertEqual(json.loads(x.sql("SELECT facts FROM agents")[0][0])["hostname"], "dut1")
        r = x.xeci("agent", "remove", "q1")
        self.assertEqual(r.returncode, 0, r.stderr)
        st, _, _ = call(x.port, "POST", "/api/v1/agent/register", tok, {})
        self.assertEqual(st, 401)

    def test_long_poll_lease_heartbeat_results(self):
        x = self.daemon()
        tok = x.add_agent("q1")
        t0 = time.monotonic()
        st, _ = self.lease(tok, wait=2)
        self.assertEqual(st, 204)
        self.assertGreaterEqual(time.monotonic() - t0, 1.5, "the lease did not wait")
        got = {}

        def poll():
            got["t"] = time.monotonic()
            got["r"] = self.lease(tok, wait=30)
            got["t"] = time.monotonic() - got["t"]
        th = threading.Thread(target=poll)
        th.start()
        time.sleep(1)
        bid = x.add_build()
        th.join(60)
        st, lease = got["r"]
        self.assertEqual(st, 200)
        self.assertLess(got["t"], 20, "a parked lease was not woken by the new job")
        job = lease["job"]
        self.assertEqual(job["build"], bid)
        self.assertEqual(job["platform"], "qemu")
        self.assertEqual(job["suites"], ["kunit:xe", "ktap:hmm-tests"])
        self.assertEqual([a["name"] for a in job["artifacts"]], ["bzImage"])
        # the bmg jobs need fault-mode: a qemu agent never gets them, nor does a bmg agent without it
        self.assertEqual(x.sql("SELECT count(*) FROM jobs WHERE platform = 'bmg'"), [(2,)])
        bmg = x.add_agent("b1", "bmg")
        self.assertEqual(self.lease(bmg, wait=0)[0], 204)
        call(x.port, "POST", "/api/v1/agent/register", bmg, {"capabilities": ["fault-mode"]})
        self.assertEqual(self.lease(bmg, wait=0)[0], 200)
        jid, lid = job["id"], job["lease"]
        st, body, _ = call(x.port, "POST", f"/api/v1/jobs/{jid}/heartbeat", tok,
                           {"lease": lid, "current_test": "xe_pci", "done": 1, "total": 3})
        self.assertEqual(st, 200, body)
        self.assertEqual(x.sql("SELECT current_test, tests_done FROM jobs WHERE id = ?", jid), [("xe_pci", 1)])
        results = [{"test": "xe_pci.fake_read_gmdid", "suite": "kunit:xe", "status": "pass", "duration_ms": 3},
                   {"test": "hmm.hmm_device_private.exclusive", "suite": "ktap:hmm-tests", "status": "fail",
                    "out": "x" * 10000, "dmesg": "EBUSY"}]
        st, body, _ = call(x.port, "POST", f"/api/v1/jobs/{jid}/results", tok,
                           {"lease": lid, "final": False, "results": [{"test": "t", "suite": "igt:nope",
                                                                       "status": "pass"}]})
        self.assertEqual(st, 422, body)
        for _ in range(2):  # idempotent under the same lease
            st, body, _ = call(x.port, "POST", f"/api/v1/jobs/{jid}/results", tok,
                               {"lease": lid, "final": False, "results": results})
            self.assertEqual(st, 200, body)
        self.assertEqual(x.sql("SELECT count(*) FROM job_results WHERE job_id = ?", jid), [(2,)])
        st, body, _ = call(x.port, "POST", f"/api/v1/jobs/{jid}/results", tok,
                           {"lease": lid, "final": True, "results": []})
        self.assertEqual(st, 200, body)
        self.assertEqual(x.sql("SELECT state, result FROM jobs WHERE id = ?", jid), [("done", "fail")])
        show = json.loads(x.xeci("job", "show", str(jid), "--json").stdout)
        by = {r["test"]: r for r in show["results"]}
        self.assertEqual(by["xe_pci.fake_read_gmdid"]["status"], "pass")
        self.assertLessEqual(len(by["hmm.hmm_device_private.exclusive"]["out_excerpt"]), 2048)
        with open(by["hmm.hmm_device_private.exclusive"]["log_path"]) as fh:
            self.assertIn("x" * 10000, fh.read())  # the full log is a file

    def test_artifact_sha256_and_range(self):
        x = self.daemon()
        tok = x.add_agent("q1")
        data = os.urandom(300000)
        bid = x.add_build(data)
        st, lease = self.lease(tok, wait=20)
        art = lease["job"]["artifacts"][0]
        self.assertEqual(art["sha256"], hashlib.sha256(data).hexdigest())
        st, first, _ = call(x.port, "GET", art["url"], tok, headers={"Range": "bytes=0-99999"})
        self.assertEqual(st, 206)
        st, rest, h = call(x.port, "GET", art["url"], tok, headers={"Range": "bytes=100000-"})
        self.assertEqual(st, 206)
        self.assertEqual(h.get("Content-Range"), f"bytes 100000-299999/300000")
        self.assertEqual(hashlib.sha256(first + rest).hexdigest(), art["sha256"])
        self.assertEqual(call(x.port, "GET", art["url"], None)[0], 401)
        self.assertEqual(call(x.port, "GET", f"/api/v1/builds/{bid}/artifacts/nope", tok)[0], 404)

    def test_expiry_requeue_stale_upload_and_quarantine(self):
        x = self.daemon(lease_s=2, attempts=3)
        a1, a2 = x.add_agent("q1"), x.add_agent("q2")
        x.add_build()
        self.wait_jobs(1)
        st, l1 = self.lease(a1, wait=10)
        self.assertEqual(st, 200)
        jid = l1["job"]["id"]
        time.sleep(5)  # no heartbeat: the lease expires and the job is queued again
        st, l2 = self.lease(a2, wait=10)
        self.assertEqual(st, 200)
        self.assertEqual(l2["job"]["id"], jid)
        self.assertNotEqual(l2["job"]["lease"], l1["job"]["lease"])
        before = x.sql("SELECT state, lease_id, agent_id FROM jobs WHERE id = ?", jid)
        for path, body in (("results", {"lease": l1["job"]["lease"], "final": True, "results": [
                {"test": "a", "suite": "kunit:xe", "status": "pass"}]}),
                           ("heartbeat", {"lease": l1["job"]["lease"]})):
            st, _, _ = call(x.port, "POST", f"/api/v1/jobs/{jid}/{path}", a1, body)
            self.assertEqual(st, 409, path)
        self.assertEqual(x.sql("SELECT state, lease_id, agent_id FROM jobs WHERE id = ?", jid), before)
        self.assertEqual(x.sql("SELECT count(*) FROM job_results"), [(0,)])
        # q2 loses it too, then q1 again: the third expiry is the last attempt
        time.sleep(5)
        st, l3 = self.lease(a1, wait=10)
        self.assertEqual(l3["job"]["id"], jid)
        end = time.monotonic() + 20
        while time.monotonic() < end and x.sql("SELECT state FROM jobs WHERE id = ?", jid)[0][0] != "incomplete":
            time.sleep(0.5)
        state, reason = x.sql("SELECT state, reason FROM jobs WHERE id = ?", jid)[0]
        self.assertEqual(state, "incomplete")
        self.assertIn("machine lost", reason)
        self.assertEqual(x.sql("SELECT count(*) FROM leases WHERE job_id = ? AND state = 'expired'", jid), [(3,)])
        # q1 lost two leases; one more infrastructure failure quarantines it
        x.add_build()
        self.wait_jobs(1)
        st, l4 = self.lease(a1, wait=10)
        st, _, _ = call(x.port, "POST", f"/api/v1/jobs/{l4['job']['id']}/fail", a1,
                        {"lease": l4["job"]["lease"], "reason": "the DUT did not come back", "infra": True})
        self.assertEqual(st, 200)
        self.assertEqual(x.sql("SELECT state FROM agents WHERE name = 'q1'"), [("quarantined",)])
        self.assertEqual(self.lease(a1, wait=0)[0], 204)
        r = x.xeci("agent", "release", "q1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.lease(a1, wait=5)[0], 200)

    def test_no_double_lease_and_kill9(self):
        x = self.daemon()
        tokens = [x.add_agent(f"q{i}") for i in range(12)]
        for _ in range(8):
            x.add_build()
        self.wait_jobs(8)
        got = []
        lock = threading.Lock()

        def one(tok):
            st, l = self.lease(tok, wait=3)
            with lock:
                got.append((st, l))
        ths = [threading.Thread(target=one, args=(t,)) for t in tokens]
        for t in ths:
            t.start()
        for t in ths:
            t.join(60)
        leased = [l["job"]["id"] for st, l in got if st == 200]
        self.assertEqual(len(leased), 8)
        self.assertEqual(len(set(leased)), 8, "a job was leased twice")
        self.assertEqual(sum(1 for st, _ in got if st == 204), 4)
        # kill -9 mid-dispatch: the leases survive, results under them still land
        held = [(l["job"]["id"], l["job"]["lease"]) for st, l in got if st == 200]
        x.kill9()
        x.start()
        self.assertEqual(x.sql("SELECT count(*) FROM jobs WHERE state = 'leased'"), [(8,)])
        self.assertEqual(x.sql("SELECT count(*) FROM leases WHERE state = 'active'"), [(8,)])
        for jid, lid in held:
            tok = [t for t in tokens if call(x.port, "POST", f"/api/v1/jobs/{jid}/heartbeat", t,
                                             {"lease": lid})[0] == 200]
            self.assertEqual(len(tok), 1, f"job {jid}: not exactly one holder")
            st, _, _ = call(x.port, "POST", f"/api/v1/jobs/{jid}/results", tok[0], {
                "lease": lid, "final": True, "results": [{"test": "a", "suite": "kunit:xe", "status": "pass"}]})
            self.assertEqual(st, 200)
        self.assertEqual(x.sql("SELECT count(*) FROM jobs WHERE state = 'done'"), [(8,)])

    def burst(self, tokens, wait, before=None):
        """Every token asks for a lease at once (threads behind a barrier)."""
        got, lock, go = [], threading.Lock(), threading.Barrier(len(tokens))

        def one(tok):
            go.wait()
            st, l = self.lease(tok, wait=wait)
            with lock:
                got.append((st, l))
        ths = [threading.Thread(target=one, args=(t,)) for t in tokens]
        for t in ths:
            t.start()
        if before:
            before()
        for t in ths:
            t.join(60)
        return got

    def test_group_leases_distinct(self):
        """Many lease requests at once share write transactions (group
        commit): still distinct jobs, one lease row each."""
        x = self.daemon()
        tokens = [x.add_agent(f"g{i}") for i in range(30)]

        def add_builds():  # the long-polls are parked: the tick wakes them all at once
            time.sleep(0.5)
            for _ in range(20):
                x.add_build()
        got = self.burst(tokens, 8, add_builds)
        leased = [l["job"]["id"] for st, l in got if st == 200]
        self.assertEqual(len(leased), 20)
        self.assertEqual(len(set(leased)), 20, "a job was leased twice")
        self.assertEqual(sum(1 for st, _ in got if st == 204), 10)
        for _ in range(15):
            x.add_build()
        end = time.monotonic() + 30  # 15 qemu jobs (the bmg ones wait for a bmg agent)
        while x.sql("SELECT count(*) FROM jobs WHERE state = 'queued' AND platform = 'qemu'")[0][0] < 15:
            self.assertLess(time.monotonic(), end, "never 15 queued qemu jobs")
            time.sleep(0.2)
        got = self.burst(tokens[:25], 0)  # no waiting: 25 at once for 15 jobs
        again = [l["job"]["id"] for st, l in got if st == 200]
        self.assertEqual(len(again), 15)
        self.assertEqual(len(set(again) | set(leased)), 35, "a job was leased twice")
        self.assertEqual(sorted(st for st, _ in got), [200] * 15 + [204] * 10)
        self.assertEqual(x.sql("SELECT count(*), count(DISTINCT job_id) FROM leases WHERE state = 'active'"),
                         [(35, 35)])
        self.assertEqual(x.sql("SELECT count(*) FROM jobs j WHERE state = 'leased' AND attempts = 1 AND "
                               "lease_id = (SELECT id FROM leases l WHERE l.job_id = j.id)"), [(35,)])


if __name__ == "__main__":
    unittest.main(verbosity=2)
