#!/usr/bin/env python3
"""xecid keeps a bare mirror of each [tree] under DATA/trees/NAME.git: the
mirror appears after start with the configured branch, follows new commits
upstream, and a broken tree is logged and retried without stopping the others."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("XECI_BIN", os.path.join(os.path.dirname(__file__), "../../build"))
XECID = os.path.join(BIN, "xecid")
GIT = ["git", "-c", "user.name=T", "-c", "user.email=t@example.org"]


def git(repo, *args):
    return subprocess.run([*GIT, "-C", repo, *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def commit(repo, msg):
    git(repo, "commit", "-q", "--allow-empty", "-m", msg)
    return git(repo, "rev-parse", "HEAD")


def mirror_head(mirror, branch):
    r = subprocess.run(["git", "-C", mirror, "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


class TreeDaemonTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="xeci-tree-")
        self.src = os.path.join(self.dir, "src")
        os.makedirs(self.src)
        git(self.src, "init", "-q", "-b", "drm-xe-next")
        self.data = os.path.join(self.dir, "data")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def wait_for(self, mirror, branch, want, proc):
        """Until the mirror's branch is `want` (a deadline only against a hang)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if mirror_head(mirror, branch) == want:
                return
            self.assertIsNone(proc.poll(), "xecid exited")
            time.sleep(0.2)
        self.fail(f"{mirror}: {branch} is {mirror_head(mirror, branch)}, not {want}")

    def test_mirror_appears_and_follows_upstream(self):
        c1 = commit(self.src, "one")
        conf = os.path.join(self.dir, "xeci.conf")
        with open(conf, "w") as fh:
            fh.write(f'[database]\n\tpath = {self.dir}/xeci.db\n[data]\n\tdir = {self.data}\n'
                     f'[tree "broken"]\n\turl = {self.dir}/no-such-repo\n\tfetchInterval = 1\n'
                     f'[tree "xe"]\n\turl = {self.src}\n\tbranch = drm-xe-next\n'
                     f'\tfetchInterval = 1\n\tprefix = drm-xe-next\n')
        proc = subprocess.Popen([XECID, "--config", conf], stderr=subprocess.PIPE, text=True)
        mirror = os.path.join(self.data, "trees", "xe.git")
        try:
            self.wait_for(mirror, "drm-xe-next", c1, proc)
            self.assertEqual(git(mirror, "rev-parse", "--is-bare-repository"), "true")
            c2 = commit(self.src, "two")
            self.wait_for(mirror, "drm-xe-next", c2, proc)
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, err[-3000:])
        self.assertIn(f"tree xe: drm-xe-next at {c1}", err)
        self.assertIn("tree broken: sync failed", err)
        self.assertIn("no-such-repo", err)
        self.assertIn("next try in", err)


if __name__ == "__main__":
    unittest.main()
