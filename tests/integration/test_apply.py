#!/usr/bin/env python3
"""`xeci apply` against real git repositories, with `git format-patch` making
the series and `git am` as the oracle for commits (tree, author, message).

Cases whose input is data (hand-written mboxes: refused paths, malformed
diffs, missing files) live in tests/data/apply/NAME.mbox with NAME.json
beside it, and are applied to a repository made by pi.make_repo."""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pi  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("XECI_BIN", os.path.join(HERE, "../../build"))
XECI = os.path.join(BIN, "xeci")
DATA = os.path.join(os.environ.get("XECI_SRC", os.path.join(HERE, "../..")), "tests/data/apply")

COMMITTER = {"GIT_COMMITTER_NAME": "C O Mitter", "GIT_COMMITTER_EMAIL": "committer@xeci.test"}


def run_apply(repo, mbox, *extra):
    r = subprocess.run([XECI, "apply", "--repo", repo, "--mbox", mbox, *extra],
                       capture_output=True, text=True, timeout=300)
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    if r.returncode != 2:
        assert len(lines) == 1, f"want one JSON object, got:\n{r.stdout}\n{r.stderr}"
    return r.returncode, (json.loads(lines[0]) if lines else None), r.stderr


def write_file(path, data, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as fh:
        fh.write(data)


def commit_all(repo, msg, env=None):
    pi.git(repo, "add", "-A")
    subprocess.run(["git", "-C", repo, "commit", "-q", "-m", msg], check=True,
                   env=dict(os.environ, **(env or {})))
    return pi.git(repo, "rev-parse", "HEAD")


def format_patch(repo, rev_range, outdir, *args):
    """git format-patch into outdir; returns the files, cover letter first."""
    pi.git(repo, "format-patch", "-q", "--thread", "-o", outdir, *args, rev_range)
    return sorted(glob.glob(os.path.join(outdir, "*.patch")))


def cat(files, out):
    with open(out, "wb") as o:
        for f in files:
            with open(f, "rb") as fh:
                o.write(fh.read())
    return out


def raw_commit(repo, rev):
    """Author line and message of a commit, as git stores them."""
    text = pi.git(repo, "cat-file", "commit", rev)
    head, _, msg = text.partition("\n\n")
    author = [l for l in head.splitlines() if l.startswith("author ")]
    extra = [l for l in head.splitlines() if l.split(" ")[0] not in ("tree", "parent", "author", "committer")]
    return author, extra, msg


def ref_exists(repo, ref):
    return subprocess.run(["git", "-C", repo, "rev-parse", "-q", "--verify", ref],
                          capture_output=True).returncode == 0


class ApplyTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="xeci-apply-")
        self.src = os.path.join(self.tmp, "src")
        self.base = pi.make_repo(self.src, ncommits=0)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, *p):
        return os.path.join(self.tmp, *p)

    def clone(self, name, bare=True, rev=None):
        dst = self.path(name)
        pi.git(self.tmp, "clone", "-q", *(["--bare"] if bare else []), self.src, dst)
        if rev:
            pi.git(dst, "update-ref", "refs/heads/master", rev)
        return dst

    def xe(self, f):
        return os.path.join(self.src, "drivers/gpu/drm/xe", f)

    # --- base-commit, and git am as the oracle --------------------------

    def test_base_commit_matches_git_am(self):
        # authors with a zone and a non-ASCII name; one patch by someone other
        # than the sender (format-patch --from puts an in-body From:)
        env1 = {"GIT_AUTHOR_NAME": "Jürgen Ölé", "GIT_AUTHOR_EMAIL": "jo@xeci.test",
                "GIT_AUTHOR_DATE": "2025-03-04 10:11:12 +0530"}
        env2 = {"GIT_AUTHOR_DATE": "2025-03-05 01:02:03 -0700"}
        with open(self.xe("xe_vm.c"), "a") as fh:
            fh.write("int vm_fault;\n")
        c1 = commit_all(self.src, "drm/xe: add vm_fault\n\nThe fault path needs it.\n\n\n"
                        "Trailing blank lines above collapse.   \n\n"
                        "Reviewed-by: R <r@xeci.test>\nSigned-off-by: Jürgen Ölé <jo@xeci.test>", env1)
        with open(self.xe("xe_hmm.c"), "a") as fh:
            fh.write("int hmm_range;\n")
        write_file(self.xe("xe_new.c"), "// SPDX-License-Identifier: MIT\nint new_file;\n")
        c2 = commit_all(self.src, "drm/xe: two files\n\nSigned-off-by: A U Thor <author@xeci.test>", env2)
        os.remove(self.xe("xe_gt_pagefault.c"))
        c3 = commit_all(self.src, "drm/xe: drop the pagefault file")
        files = format_patch(self.src, f"{self.base}..HEAD", self.path("fp"), "--cover-letter",
                             f"--base={self.base}", "--from=Sender Person <sender@xeci.test>")
        mbox = cat(files, self.path("series.mbox"))

        target = self.clone("target.git", rev=self.base)
        rc, out, err = run_apply(target, mbox, "--ref", "refs/xeci/series/1/v1")
        self.assertEqual(rc, 0, err)
        self.assertTrue(out["applied"])
        self.assertEqual(out["base_method"], "base-commit")
        self.assertEqual(out["base"], self.base)
        self.assertEqual([p["index"] for p in out["patches"]], [1, 2, 3])
        self.assertTrue(all(p["applied"] for p in out["patches"]))
        self.assertEqual(out["patches"][1]["subject"], "drm/xe: two files")
        self.assertEqual(pi.git(target, "rev-parse", "refs/xeci/series/1/v1"), out["commit"])
        # the resulting commits are a chain on the base
        ours = pi.git(target, "rev-list", "--reverse", f"{self.base}..{out['commit']}").split()
        self.assertEqual(ours, [p["commit"] for p in out["patches"]])
        for mine, orig in zip(ours, (c1, c2, c3)):
            self.assertEqual(pi.git(target, "rev-parse", mine + "^{tree}"),
                             pi.git(self.src, "rev-parse", orig + "^{tree}"))
        # git am of the same patches (the cover letter is not a patch)
        am = self.clone("am", bare=False, rev=None)
        pi.git(am, "checkout", "-q", self.base)
        subprocess.run(["git", "-C", am, "am", "-q", *files[1:]], check=True,
                       env=dict(os.environ, **COMMITTER), capture_output=True)
        theirs = pi.git(am, "rev-list", "--reverse", f"{self.base}..HEAD").split()
        self.assertEqual(len(theirs), 3)
        for mine, their in zip(ours, theirs):
            self.assertEqual(raw_commit(target, mine), raw_commit(am, their))
        # the in-body From won
        self.assertIn("author Jürgen Ölé <jo@xeci.test> 1741063272 +0530", raw_commit(target, ours[0])[0][0])

    def test_non_bare_and_default_branch(self):
        pi.add_commits(self.src, 2)
        files = format_patch(self.src, f"{self.base}..HEAD", self.path("fp"), "--cover-letter",
                             f"--base={self.base}")
        target = self.clone("work", bare=False)
        pi.git(target, "reset", "-q", "--hard", self.base)
        rc, out, err = run_apply(target, cat(files, self.path("s.mbox")))
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["base_method"], "base-commit")
        self.assertTrue(out["ref"].startswith("refs/xeci/series/"))
        self.assertEqual(pi.git(target, "rev-parse", out["ref"]), out["commit"])
        # in memory: the work tree and HEAD are untouched
        self.assertEqual(pi.git(target, "rev-parse", "HEAD"), self.base)
        self.assertEqual(pi.git(target, "status", "--porcelain"), "")

    def test_newest_complete_version_is_picked(self):
        pi.add_commits(self.src, 2)
        v1 = pi.format_series(self.src, base=self.base, version=1)
        pi.git(self.src, "commit", "-q", "--amend", "-m", "drm/xe: change 1 reworked")
        v2 = pi.format_series(self.src, base=self.base, version=2)
        v3 = pi.format_series(self.src, base=self.base, version=3)[:-1]  # incomplete
        mbox = self.path("all.mbox")
        with open(mbox, "wb") as fh:
            for m in v1 + v2 + v3:
                fh.write(b"From xeci@z Thu Jan  1 00:00:00 1970\n" + m + b"\n")
        rc, out, err = run_apply(self.clone("t.git", rev=self.base), mbox)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["version"], 2)
        self.assertEqual(out["patches"][1]["subject"], "drm/xe: change 1 reworked")

    # --- base detection fallbacks ---------------------------------------

    def test_missing_base_commit_falls_back_to_blobs(self):
        # the target: base X, then Y touching the file the series touches
        # (the branch moved on), then Z elsewhere
        target = self.clone("target.git")
        work = self.clone("twork", bare=False)
        with open(os.path.join(work, "drivers/gpu/drm/xe/xe_vm.c"), "a") as fh:
            fh.write("/* later upstream change */\n")
        y = commit_all(work, "drm/xe: upstream touches xe_vm.c")
        write_file(os.path.join(work, "drivers/gpu/drm/xe/xe_other.c"), "int other;\n")
        commit_all(work, "drm/xe: upstream adds a file")
        pi.git(work, "push", "-q", target, "HEAD:master")
        # the author: an extra commit the target never sees (its base-commit),
        # not touching xe_vm.c, then the series on xe_vm.c
        write_file(os.path.join(self.src, "Documentation/local.txt"), "local only\n")
        local = commit_all(self.src, "docs: local")
        with open(self.xe("xe_vm.c"), "r+") as fh:
            text = fh.read()
            fh.seek(0)
            fh.write(text.replace("int x;", "int x = 1;"))
        commit_all(self.src, "drm/xe: initialise x")
        files = format_patch(self.src, f"{local}..HEAD", self.path("fp"), "--cover-letter",
                             f"--base={local}")
        rc, out, err = run_apply(target, cat(files, self.path("s.mbox")))
        self.assertEqual(out["base_method"], "blobs", out)
        self.assertEqual(out["base"], self.base)  # not Y, not the head
        self.assertNotEqual(out["base"], y)
        self.assertEqual(out["blob_mismatches"], 0)
        self.assertEqual(rc, 0, err)
        self.assertTrue(out["applied"])

    def test_partial_blob_match_that_applies(self):
        # two files: xe_vm.c's pre-image is the base's blob (the target moved
        # on past it), xe_long.c's pre-image exists only in the author's tree;
        # the base matches one of two, the head none, and the series applies
        # on the base
        write_file(self.xe("xe_long.c"), "".join(f"int line{i};\n" for i in range(30)))
        base = commit_all(self.src, "drm/xe: long file")
        target = self.clone("target.git")
        work = self.clone("twork", bare=False)
        with open(os.path.join(work, "drivers/gpu/drm/xe/xe_vm.c"), "a") as fh:
            fh.write("/* upstream */\n")
        commit_all(work, "drm/xe: upstream vm change")
        pi.git(work, "push", "-q", target, "HEAD:master")
        with open(self.xe("xe_long.c"), "a") as fh:
            fh.write("int author_only;\n")
        local = commit_all(self.src, "drm/xe: local tail")
        for f, old, new in (("xe_vm.c", "int x;", "int x = 1;"), ("xe_long.c", "int line0;", "int line0 = 0;")):
            with open(self.xe(f), "r+") as fh:
                text = fh.read()
                fh.seek(0)
                fh.write(text.replace(old, new))
        commit_all(self.src, "drm/xe: initialise both")
        files = format_patch(self.src, f"{local}..HEAD", self.path("fp"), "--no-base")
        rc, out, err = run_apply(target, cat(files, self.path("s.mbox")))
        self.assertEqual(out["base_method"], "blobs", out)
        self.assertEqual(out["base"], base)
        self.assertEqual(out["blob_mismatches"], 1)
        self.assertEqual(rc, 0, err)

    def test_no_base_no_blobs_is_branch_head(self):
        # a long file, so a change at its top applies wherever its tail is
        lines = "".join(f"int line{i};\n" for i in range(30))
        write_file(self.xe("xe_long.c"), lines)
        commit_all(self.src, "drm/xe: long file")
        target = self.clone("target.git")
        head = pi.git(target, "rev-parse", "HEAD")
        # the author's tree has a tail change the target never had, so no
        # commit of the target has the pre-image blob
        with open(self.xe("xe_long.c"), "a") as fh:
            fh.write("int author_only;\n")
        local = commit_all(self.src, "drm/xe: local tail")
        with open(self.xe("xe_long.c"), "r+") as fh:
            text = fh.read()
            fh.seek(0)
            fh.write(text.replace("int line0;", "int line0 = 0;"))
        commit_all(self.src, "drm/xe: initialise line0")
        for base_arg, name in ((["--no-base"], "nobase"), ([f"--base={local}"], "absent")):
            files = format_patch(self.src, f"{local}..HEAD", self.path("fp-" + name), *base_arg)
            rc, out, err = run_apply(target, cat(files, self.path(name + ".mbox")))
            self.assertEqual(out["base_method"], "branch-head", out)
            self.assertEqual(out["base"], head)
            self.assertEqual(rc, 0, err)
            self.assertTrue(out["applied"])

    def test_branch_option(self):
        pi.add_commits(self.src, 1)
        files = format_patch(self.src, f"{self.base}..HEAD", self.path("fp"), "--no-base")
        target = self.clone("t.git", rev=self.base)
        pi.git(target, "branch", "other", self.base)
        rc, out, _ = run_apply(target, cat(files, self.path("s.mbox")), "--branch", "other")
        self.assertEqual(rc, 0)
        self.assertEqual(out["base"], self.base)
        rc, out, _ = run_apply(target, self.path("s.mbox"), "--branch", "no-such-branch")
        self.assertEqual(rc, 1)
        self.assertFalse(out["applied"])
        self.assertIn("no-such-branch", out["error"])

    # --- failures ---------------------------------------------------------

    def test_broken_hunk_names_patch_and_file(self):
        pi.add_commits(self.src, 3)
        files = format_patch(self.src, f"{self.base}..HEAD", self.path("fp"), "--cover-letter",
                             f"--base={self.base}")
        # patch 2 (xe_hmm.c): a context line the tree does not have
        with open(files[2]) as fh:
            text = fh.read()
        self.assertIn(" int x;\n", text)
        with open(files[2], "w") as fh:
            fh.write(text.replace(" int x;\n", " int not_there;\n", 1))
        target = self.clone("t.git", rev=self.base)
        rc, out, err = run_apply(target, cat(files, self.path("s.mbox")), "--ref", "refs/xeci/series/9/v1")
        self.assertEqual(rc, 1)
        self.assertFalse(out["applied"])
        self.assertNotIn("commit", out)
        self.assertEqual(out["failed_index"], 2)
        self.assertEqual(out["failed_file"], "drivers/gpu/drm/xe/xe_hmm.c")
        self.assertEqual(out.get("failed_hunk"), 1)
        self.assertTrue(out["error"])
        self.assertEqual([p["applied"] for p in out["patches"]], [True, False, False])
        self.assertFalse(ref_exists(target, "refs/xeci/series/9/v1"))
        # git am agrees that patch 2 is where it breaks
        am = self.clone("am", bare=False)
        pi.git(am, "checkout", "-q", self.base)
        r = subprocess.run(["git", "-C", am, "am", *files[1:]], capture_output=True, text=True,
                           env=dict(os.environ, **COMMITTER))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Applying: drm/xe: change 1", r.stdout)
        self.assertEqual(pi.git(am, "rev-list", "--count", f"{self.base}..HEAD"), "1")

    def test_binary_patch(self):
        blob = bytes(range(256)) * 4
        write_file(self.xe("fw.bin"), blob, "wb")
        c1 = commit_all(self.src, "drm/xe: add firmware blob")
        write_file(self.xe("fw.bin"), blob[::-1] + b"\0tail", "wb")
        c2 = commit_all(self.src, "drm/xe: update firmware blob")
        target = self.clone("t.git", rev=self.base)
        files = format_patch(self.src, f"{self.base}..HEAD", self.path("fp"), "--binary",
                             f"--base={self.base}")
        rc, out, err = run_apply(target, cat(files, self.path("bin.mbox")))
        self.assertEqual(rc, 0, err)
        self.assertEqual(pi.git(target, "rev-parse", out["commit"] + "^{tree}"),
                         pi.git(self.src, "rev-parse", c2 + "^{tree}"))
        self.assertEqual(pi.git(target, "rev-parse", out["patches"][0]["commit"] + "^{tree}"),
                         pi.git(self.src, "rev-parse", c1 + "^{tree}"))
        # without --binary the patch says only "Binary files differ": a clear failure
        files = format_patch(self.src, f"{self.base}..HEAD", self.path("fp-nobin"), "--no-binary",
                             f"--base={self.base}")
        rc, out, err = run_apply(target, cat(files, self.path("nobin.mbox")), "--ref", "refs/xeci/nobin")
        self.assertEqual(rc, 1, out)
        self.assertEqual(out["failed_index"], 1)
        self.assertEqual(out["failed_file"], "drivers/gpu/drm/xe/fw.bin")
        self.assertTrue(out["error"])
        self.assertFalse(ref_exists(target, "refs/xeci/nobin"))

    def test_usage(self):
        for args in ([], ["--repo", self.src], ["--mbox", "x"], ["--repo", self.src, "--mbox"],
                     ["--repo", self.src, "--mbox", "x", "--bogus"]):
            r = subprocess.run([XECI, "apply", *args], capture_output=True, text=True)
            self.assertEqual(r.returncode, 2, args)
        rc, out, _ = run_apply(self.path("nope"), os.path.join(DATA, "missing-file.mbox"))
        self.assertEqual(rc, 1)
        self.assertFalse(out["applied"])

    # --- data-driven: hand-written mboxes -----------------------------------

    def test_data_cases(self):
        cases = sorted(glob.glob(os.path.join(DATA, "*.mbox")))
        self.assertGreater(len(cases), 5)
        target = self.clone("t.git")
        for mbox in cases:
            name = os.path.basename(mbox)[:-5]
            with self.subTest(case=name):
                with open(mbox[:-5] + ".json") as fh:
                    want = json.load(fh)
                ref = f"refs/xeci/case/{name}"
                rc, out, err = run_apply(target, mbox, "--ref", ref)
                self.assertEqual(rc, 0 if want["applied"] else 1, (out, err))
                self.assertEqual(out["applied"], want["applied"])
                for key in ("failed_index", "failed_file", "base_method"):
                    if key in want:
                        self.assertEqual(out[key], want[key], out)
                if "error_contains" in want:
                    self.assertIn(want["error_contains"], out["error"])
                self.assertEqual(ref_exists(target, ref), want["applied"])
        # nothing escaped the repository
        self.assertFalse(os.path.exists(self.path("x")))
        self.assertFalse(os.path.exists(os.path.join(target, "..", "x")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
