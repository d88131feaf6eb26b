#!/usr/bin/env python3
"""Ingest against a real public-inbox: public-inbox-mda delivers, public-inbox-httpd
serves on loopback, xeci (and xecid) fetch over git and Atom, and the database is
checked through `xeci series list|show --json` and `xeci mail list`."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pi  # noqa: E402

BIN = os.environ.get("XECI_BIN", os.path.join(os.path.dirname(__file__), "../../build"))
XECI = os.path.join(BIN, "xeci")
XECID = os.path.join(BIN, "xecid")


def xeci(*args, check=True):
    r = subprocess.run([XECI, *args], capture_output=True, text=True, timeout=300)
    if check and r.returncode != 0:
        raise AssertionError(f"xeci {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def fetched(out):
    """The `fetched: N messages (...)` figure of an ingest summary."""
    for line in out.splitlines():
        if line.startswith("fetched:"):
            return int(line.split()[1])
    raise AssertionError(f"no summary in:\n{out}")


def series_list(db):
    return [json.loads(l) for l in xeci("series", "list", "--json", "--db", db).stdout.splitlines() if l]


def series_show(db, sid):
    return json.loads(xeci("series", "show", str(sid), "--json", "--db", db).stdout)


class IngestTest(unittest.TestCase):
    def setUp(self):
        self.s = pi.Scratch()
        self.ib = self.s.inbox("xe")
        self.db = self.s.path("xeci.db")
        self.repo = self.s.path("linux")
        self.base = pi.make_repo(self.repo, ncommits=3)

    def tearDown(self):
        self.s.close()

    def post_all(self, mails):
        for m in mails:
            self.ib.post(m)

    def ingest(self, url, *extra):
        return xeci("ingest", "--inbox", url, "--name", "xe", "--db", self.db, *extra)

    def only_series(self):
        lst = series_list(self.db)
        self.assertEqual(len(lst), 1, lst)
        return series_show(self.db, lst[0]["id"])

    def check_v1_complete(self, show):
        v1 = [v for v in show["versions"] if v["version"] == 1]
        self.assertEqual(len(v1), 1)
        self.assertEqual(v1[0]["total"], 3)
        self.assertEqual(v1[0]["state"], "complete")
        self.assertEqual([p["index"] for p in v1[0]["patches"]], [1, 2, 3])
        self.assertEqual(v1[0]["base_commit"], self.base)
        return v1[0]

    def test_git_over_http_incremental_review_and_v2(self):
        v1 = pi.format_series(self.repo, base=self.base, version=1, to=self.ib.address)
        self.post_all(v1)
        with self.s.httpd() as h:
            url = h.url("xe")
            r = self.ingest(url)
            self.assertEqual(fetched(r.stdout), 4)
            self.check_v1_complete(self.only_series())

            # nothing new: nothing fetched
            self.assertEqual(fetched(self.ingest(url).stdout), 0)

            # a review of the cover letter applies to every patch (b4's rule)
            self.ib.post(pi.review_reply(v1[0], "Reviewed-by", "Re Viewer <rv@xeci.test>"))
            self.assertEqual(fetched(self.ingest(url).stdout), 1)
            v = self.check_v1_complete(self.only_series())
            for p in v["patches"]:
                self.assertIn({"name": "Reviewed-by", "value": "Re Viewer <rv@xeci.test>"}, p["trailers"])

            # v2 of the same series supersedes v1
            pi.git(self.repo, "commit", "-q", "--amend", "-m",
                   "drm/xe: change 2 in xe_vm.c, reworked\n\nSigned-off-by: A U Thor <author@xeci.test>")
            v2 = pi.format_series(self.repo, base=self.base, version=2, to=self.ib.address)
            self.post_all(v2)
            self.assertEqual(fetched(self.ingest(url).stdout), 4)
            show = self.only_series()
            states = {v["version"]: v["state"] for v in show["versions"]}
            self.assertEqual(states, {1: "superseded", 2: "complete"})

    def test_local_inbox_directory(self):
        self.post_all(pi.format_series(self.repo, base=self.base, version=1, to=self.ib.address))
        r = self.ingest(self.ib.dir)
        self.assertEqual(fetched(r.stdout), 4)
        self.check_v1_complete(self.only_series())
        self.assertEqual(fetched(self.ingest(self.ib.dir).stdout), 0)

    def test_atom_transport(self):
        v1 = pi.format_series(self.repo, base=self.base, version=1, to=self.ib.address)
        self.post_all(v1)
        with self.s.httpd() as h:
            url = h.url("xe")
            r = self.ingest(url, "--transport", "atom")
            self.assertEqual(fetched(r.stdout), 4)
            self.check_v1_complete(self.only_series())
            self.ib.post(pi.review_reply(v1[2], "Acked-by", "Ack Er <ack@xeci.test>"))
            r = self.ingest(url, "--transport", "atom")
            self.assertEqual(fetched(r.stdout), 1, r.stdout)
            v = self.check_v1_complete(self.only_series())
            acked = [p["index"] for p in v["patches"]
                     if {"name": "Acked-by", "value": "Ack Er <ack@xeci.test>"} in p["trailers"]]
            self.assertEqual(acked, [2])

    def test_out_of_order_completes_once(self):
        mails = pi.format_series(self.repo, base=self.base, version=1, to=self.ib.address)
        order = [mails[3], mails[1], mails[0], mails[2]]  # patch 3, patch 1, cover, patch 2
        for i, m in enumerate(order):
            self.ib.post(m)
            self.ingest(self.ib.dir)
            if i < len(order) - 1:
                states = [v["state"] for s in series_list(self.db) for v in series_show(self.db, s["id"])["versions"]]
                self.assertNotIn("complete", states)
        v = self.check_v1_complete(self.only_series())
        self.assertIsNotNone(v["completed_at"])
        con = sqlite3.connect(self.db)
        n = con.execute("SELECT count(*) FROM series_versions WHERE completed_at IS NOT NULL").fetchone()[0]
        self.assertEqual(n, 1)

    def test_bad_mail_is_kept_with_its_reason(self):
        good = pi.format_series(self.repo, base=self.base, version=1, to=self.ib.address)
        mbox = self.s.path("bad.mbox")
        with open(mbox, "wb") as fh:
            def put(m):
                if m.startswith(b"From "):  # format-patch's own "From <sha> ..." line
                    m = m.split(b"\n", 1)[1]
                fh.write(b"From mboxrd@z Thu Jan  1 00:00:00 1970\n" + m.rstrip(b"\n") + b"\n\n")
            put(good[0])
            put(b"Subject: no id here\nFrom: x@y\n\nbody\n")
            put(good[1])
            dup = good[2].replace(b"Because it helps.", b"Because it hurts.")
            put(good[2])
            put(dup)
            put(good[3])
        r = xeci("ingest", "--mbox", mbox, "--db", self.db)
        self.assertIn("6 messages (4 new, 0 duplicates, 2 errors", r.stdout)
        errs = [json.loads(l) for l in xeci("mail", "list", "--errors", "--json", "--db", self.db).stdout.splitlines()]
        reasons = sorted(e["error"] for e in errs)
        self.assertEqual(len(reasons), 2, errs)
        self.assertTrue(reasons[0].startswith("duplicate Message-ID"), reasons)
        self.assertEqual(reasons[1], "no Message-ID")
        self.check_v1_complete(self.only_series())
        # the same mbox again: every message recognised, nothing new
        r = xeci("ingest", "--mbox", mbox, "--db", self.db)
        self.assertIn("6 messages (0 new, 6 duplicates, 0 errors", r.stdout)

    def test_maildir_and_size_limit(self):
        mails = pi.format_series(self.repo, base=self.base, version=1, to=self.ib.address)
        md = self.s.path("Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, sub))
        big = mails[2] + b"\n" + b"x" * 4096 + b"\n"  # patch 2, over the limit below
        for i, m in enumerate([mails[0], mails[1], big, mails[3]]):
            with open(os.path.join(md, "new" if i % 2 else "cur", f"{i:04d}.xeci:2,S"), "wb") as fh:
                fh.write(m)
        conf = self.s.path("small.conf")
        with open(conf, "w") as fh:
            fh.write("[ingest]\n\tmaxMessageSize = 4000\n")
        r = xeci("ingest", "--maildir", md, "--db", self.db, "--config", conf)
        self.assertIn("4 messages (3 new, 0 duplicates, 1 errors", r.stdout)
        errs = [json.loads(l) for l in xeci("mail", "list", "--errors", "--json", "--db", self.db).stdout.splitlines()]
        self.assertEqual(len(errs), 1)
        self.assertIn("over the size limit", errs[0]["error"])
        self.assertGreater(errs[0]["size"], 4000)
        v = self.only_series()["versions"][0]
        self.assertEqual((v["state"], v["missing"]), ("incomplete", [2]))

    def test_server_errors_are_reported(self):
        state = self.s.path("fake")
        base = pi.start_supervised(state, "fake", watch=os.getpid())
        try:
            for path in ("error/", "notfound/", "garbage/"):
                r = xeci("ingest", "--inbox", base + path, "--name", "bad", "--db", self.db, check=False)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn(base + path.rstrip("/"), r.stderr)
            con = sqlite3.connect(self.db)
            self.assertEqual(con.execute("SELECT count(*) FROM fetch_errors").fetchone()[0], 3)
        finally:
            pi.stop_supervised(state)


def fast_import_inbox(epoch_dir, n, prefix):
    """Writes n small mails as public-inbox v2 commits (blob m) with git fast-import:
    public-inbox-mda takes ~5 ms a mail, too slow to make enough mail to kill a daemon mid-way."""
    cmds = []
    for i in range(1, n + 1):
        body = (f"From: Po Ster <p{i % 7}@xeci.test>\nSubject: [PATCH] {prefix} change {i}\n"
                f"Message-ID: <{prefix}-{i}@xeci.test>\nDate: Tue, 1 Oct 2024 10:00:00 +0000\n\n"
                f"Change {i}.\n\nSigned-off-by: Po Ster <p{i % 7}@xeci.test>\n---\n"
                f"diff --git a/f{i % 50}.c b/f{i % 50}.c\n--- a/f{i % 50}.c\n+++ b/f{i % 50}.c\n"
                f"@@ -1 +1 @@\n-a\n+b{i}\n").encode()
        msg = f"{prefix} {i}\n".encode()
        cmds.append(b"commit refs/heads/master\n")
        cmds.append(b"committer x <x@x> 1727776800 +0000\n")
        cmds.append(b"data %d\n%s" % (len(msg), msg))
        cmds.append(b"M 100644 inline m\n")
        cmds.append(b"data %d\n%s\n" % (len(body), body))
    subprocess.run(["git", "--git-dir", epoch_dir, "fast-import", "--quiet", "--force"],
                   input=b"".join(cmds), check=True)


class DaemonTest(unittest.TestCase):
    """xecid: each inbox on its own timer; kill -9 in the middle of an ingest."""

    def test_broken_inbox_does_not_stop_the_others(self):
        with pi.Scratch() as s:
            ib = s.inbox("good")
            repo = s.path("linux")
            base = pi.make_repo(repo, ncommits=2)
            for m in pi.format_series(repo, base=base, version=1, to=ib.address):
                ib.post(m)
            fake = s.path("fake")
            bad = pi.start_supervised(fake, "fake", watch=os.getpid())
            db, conf = s.path("xeci.db"), s.path("xeci.conf")
            with open(conf, "w") as fh:
                fh.write(f'[database]\n\tpath = {db}\n'
                         f'[inbox "broken"]\n\turl = {bad}error/\n\tpollInterval = 1\n'
                         f'[inbox "good"]\n\turl = {ib.dir}\n\tpollInterval = 1\n')
            proc = subprocess.Popen([XECID, "--config", conf], stderr=subprocess.PIPE, text=True)
            try:
                deadline = time.monotonic() + 60
                versions, errors = [], 0
                while time.monotonic() < deadline:
                    time.sleep(0.5)
                    try:
                        con = sqlite3.connect(db, timeout=10)
                        versions = con.execute("SELECT state FROM series_versions").fetchall()
                        errors = con.execute("SELECT count(*) FROM fetch_errors").fetchone()[0]
                        con.close()
                    except sqlite3.OperationalError:
                        continue
                    if versions and errors >= 2:
                        break
                self.assertEqual(versions, [("complete",)])
                self.assertGreaterEqual(errors, 2, "the broken inbox is retried")
            finally:
                proc.terminate()
                _, err = proc.communicate(timeout=30)
                pi.stop_supervised(fake)
            self.assertEqual(proc.returncode, 0, err[-3000:])
            self.assertIn("inbox broken: fetch failed", err)
            self.assertIn("next try in", err)

    def test_kill9_mid_ingest(self):
        with tempfile.TemporaryDirectory(prefix="xeci-kill-") as d:
            inbox = os.path.join(d, "inbox")
            os.makedirs(os.path.join(inbox, "git"))
            epoch = os.path.join(inbox, "git", "0.git")
            subprocess.run(["git", "init", "-q", "--bare", epoch], check=True)
            n = 30000
            fast_import_inbox(epoch, n, "k")
            db = os.path.join(d, "xeci.db")
            conf = os.path.join(d, "xeci.conf")
            with open(conf, "w") as fh:
                fh.write(f'[database]\n\tpath = {db}\n[data]\n\tdir = {d}/data\n'
                         f'[inbox "kill"]\n\turl = {inbox}\n\tpollInterval = 1\n')

            def count():
                try:
                    con = sqlite3.connect(db, timeout=10)
                    try:
                        return con.execute("SELECT count(*), count(DISTINCT message_id) FROM messages").fetchone()
                    finally:
                        con.close()
                except sqlite3.OperationalError:
                    return (0, 0)

            kills = 0
            for attempt in range(3):
                before = count()[0]
                proc = subprocess.Popen([XECID, "--config", conf], stderr=subprocess.DEVNULL)
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and count()[0] <= before:
                    time.sleep(0.01)
                got = count()[0]
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                if got < n:
                    kills += 1
            self.assertGreaterEqual(kills, 1, "the ingest finished before any kill: make n larger")
            proc = subprocess.Popen([XECID, "--config", conf], stderr=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline and count()[0] < n:
                    time.sleep(0.2)
            finally:
                proc.terminate()
                proc.wait(30)
            total, distinct = count()
            self.assertEqual((total, distinct), (n, n))
            con = sqlite3.connect(db)
            self.assertEqual(con.execute("SELECT count(*) FROM messages WHERE status != 'ok'").fetchone()[0], 0)
            versions = con.execute("SELECT count(*) FROM series_versions").fetchone()[0]
            self.assertEqual(versions, n)


if __name__ == "__main__":
    unittest.main(verbosity=2)
