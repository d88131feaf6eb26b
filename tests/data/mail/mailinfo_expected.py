#!/usr/bin/env python3
"""Adds to each NAME.json beside NAME.eml what real git makes of the mail:
`git mailsplit -b` then `git mailinfo [--scissors] MSG PATCH` (author_name,
author_email, subject_clean, date_raw, has_patch, patch_sha256, message,
mailinfo_error). Keys written by hand (trailers, tags, ...) are kept; a
NAME.json with "_error": true (not a mail) gets no mailinfo keys.
usage: mailinfo_expected.py [DIR]"""
import glob, hashlib, json, os, subprocess, sys, tempfile

d = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=tempfile.mkdtemp())
for eml in sorted(glob.glob(os.path.join(d, "*.eml"))):
    jpath = eml[:-4] + ".json"
    exp = json.load(open(jpath)) if os.path.exists(jpath) else {}
    if exp.get("_error"):
        continue
    t = tempfile.mkdtemp()
    subprocess.run(["git", "mailsplit", "-b", "-o" + t, eml], check=True, capture_output=True, env=env)
    opts = ["--scissors"] if exp.get("_options", {}).get("scissors") else []
    with open(os.path.join(t, "0001"), "rb") as f:
        r = subprocess.run(["git", "mailinfo", *opts, t + "/msg", t + "/patch"], stdin=f, capture_output=True, env=env)
    info = {}
    for line in r.stdout.decode("utf-8", "replace").split("\n"):
        k, _, v = line.partition(": ")
        info[k] = v
    patch = open(t + "/patch", "rb").read()
    exp.update({"author_name": info.get("Author"), "author_email": info.get("Email"),
                "subject_clean": info.get("Subject"), "date_raw": info.get("Date"),
                "has_patch": len(patch) > 0,
                "patch_sha256": hashlib.sha256(patch).hexdigest() if patch else None,
                "message": open(t + "/msg", "rb").read().decode("utf-8", "replace"),
                "mailinfo_error": r.returncode != 0})
    with open(jpath, "w") as o:
        json.dump(exp, o, ensure_ascii=False, indent=1)
        o.write("\n")
