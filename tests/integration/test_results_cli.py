#!/usr/bin/env python3
"""`xeci results parse` on the real corpora, the command line itself (the
parsers' own comparisons are unit tests): every IGT case gives the
(name -> result) igt_resultgen wrote in reference.json, every KTAP log the
(path -> status) kunit.py wrote, and bad input gives a clear error."""
import glob
import json
import os
import re
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.environ.get("XECI_SRC", os.path.join(HERE, "../..")))
BIN = os.environ.get("XECI_BIN", os.path.join(SRC, "build"))
XECI = os.path.join(BIN, "xeci")
CORPUS = os.environ.get("XECI_CORPUS", os.path.join(SRC, "../shared/corpus"))


def parse(fmt, path):
    r = subprocess.run([XECI, "results", "parse", "--format", fmt, path], capture_output=True, text=True,
                       timeout=60)
    return r.returncode, [json.loads(line) for line in r.stdout.splitlines() if line.strip()], r.stderr


class ResultsCli(unittest.TestCase):
    def test_igt_corpus(self):
        cases = sorted(d for d in glob.glob(os.path.join(CORPUS, "igt", "*")) if os.path.isdir(d))
        self.assertGreaterEqual(len(cases), 10)
        compared = 0
        for d in cases:
            with open(os.path.join(d, "reference.json")) as fh:
                ref = json.loads(re.sub(r",(\s*[}\]])", r"\1", fh.read()))  # json-c's trailing commas
            want = {name: t.get("result", "incomplete") for name, t in ref["tests"].items()}
            rc, lines, err = parse("igt", d)
            self.assertEqual(rc, 0, f"{d}: {err}")
            got = {o["name"]: o["result"] for o in lines}
            self.assertEqual(got, want, d)
            compared += len(want)
        self.assertGreater(compared, 50)

    def test_ktap_corpus(self):
        logs = sorted(glob.glob(os.path.join(CORPUS, "ktap", "*.log")))
        self.assertGreaterEqual(len(logs), 10)
        for log in logs:
            with open(log[:-4] + ".expected.jsonl") as fh:
                want = [json.loads(line) for line in fh if line.strip()]
            rc, got, err = parse("ktap", log)
            self.assertEqual(rc, 0, f"{log}: {err}")
            # kunit.py's PASS/FAIL/SKIP/CRASHED are xeci's pass/fail/skip/crash
            status = {"PASS": "pass", "FAIL": "fail", "SKIP": "skip", "CRASHED": "crash"}
            self.assertEqual([(o["path"], o["status"]) for o in got],
                             [(o["path"], status.get(o["status"], o["status"])) for o in want], log)

    def test_bad_input(self):
        with tempfile.TemporaryDirectory() as d:
            rc, lines, err = parse("igt", d)  # no joblist.txt, no metadata.txt
            self.assertEqual(rc, 1)
            self.assertEqual(lines, [])
            self.assertIn(d, err)
            rc, _, err = parse("ktap", os.path.join(d, "missing.log"))
            self.assertEqual(rc, 1)
            self.assertIn("missing.log", err)
            cut = os.path.join(d, "cut.log")
            with open(cut, "w") as fh:  # a console cut off by a panic mid-suite
                fh.write("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: xe_pci\n    1..3\n"
                         "    ok 1 fake_read_gmdid\n    Kernel panic - not syncing\n")
            rc, got, err = parse("ktap", cut)
            self.assertEqual(rc, 0, err)
            st = {o["path"]: o["status"] for o in got}
            self.assertEqual(st.get("xe_pci.fake_read_gmdid"), "pass")
            self.assertIn("crash", st.values())
        r = subprocess.run([XECI, "results", "parse", "--format", "junit", "x"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
