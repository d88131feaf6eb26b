#!/usr/bin/env python3
"""kernel/testlists/xe-fault-{bat,full}.testlist, the two suites of
[testplan "xe-fault"] (BAT first; a failing BAT stops the full suite):

- every line is an IGT testlist entry igt@BINARY@SUBTEST or a '#' comment;
- the BAT list is exactly the xe_exec_fault_mode entries of IGT's
  tests/intel-ci/xe.fast-feedback.testlist, in its order: 34 of them, not the
  33 the issue says (33 sit in the list's "Move fault_mode tests at the end"
  block, igt@xe_exec_fault_mode@invalid-va sits earlier in the same file);
- no entry appears twice, within a list or across the two;
- BAT and the full list's xe_exec_fault_mode entries together are exactly the
  subtests xe_exec_fault_mode.c registers (expanded again here from its section
  table), and the full list holds the xe_exec_compute_mode and xe_vm subtests;
- the headers name the IGT files and commits the entries came from.
File checks only; nothing is built or run."""
import os
import re
import unittest

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../..")
DIR = os.path.join(TOP, "kernel/testlists")
BAT = os.path.join(DIR, "xe-fault-bat.testlist")
FULL = os.path.join(DIR, "xe-fault-full.testlist")
ENTRY = re.compile(r"^igt@[a-z0-9_]+@[a-z0-9\-_]+$")

# xe.fast-feedback.testlist, in file order: invalid-va, then the 33 at the end
FAST_FEEDBACK_FAULT_MODE = ["invalid-va"] + [
    "twice-basic", "many-basic"] + [
    f"twice-{s}{suffix}"
    for suffix in ("", "-imm", "-prefetch")
    for s in (["userptr"] if suffix == "" else ["basic", "userptr"]) + [
        "rebind", "userptr-rebind", "userptr-invalidate", "bindexecqueue",
        "bindexecqueue-userptr", "bindexecqueue-rebind", "bindexecqueue-userptr-rebind",
        "bindexecqueue-userptr-invalidate"]
] + ["twice-invalid-fault", "twice-invalid-userptr-fault"]
EXPECTED_BAT = 34


def fault_mode_subtests():
    """What igt_main of tests/intel/xe_exec_fault_mode.c registers."""
    stems = ["basic", "userptr", "rebind", "userptr-rebind", "userptr-invalidate",
             "userptr-invalidate-race", "bindexecqueue", "bindexecqueue-userptr",
             "bindexecqueue-rebind", "bindexecqueue-userptr-rebind",
             "bindexecqueue-userptr-invalidate", "bindexecqueue-userptr-invalidate-race",
             "multi-queue", "multi-queue-userptr", "multi-queue-rebind",
             "multi-queue-userptr-rebind", "multi-queue-userptr-invalidate",
             "multi-queue-userptr-invalidate-race"]
    sections = [s + suffix for suffix in ("", "-imm", "-prefetch") for s in stems]
    sections += ["invalid-fault", "invalid-userptr-fault", "multi-queue-invalid-fault",
                 "multi-queue-invalid-userptr-fault"]
    names = [f"{p}-{s}" for s in sections for p in ("once", "twice", "many", "many-execqueues")]
    return names + ["invalid-va", "invalid-va-scratch-nopagefault", "atomic-once",
                    "atomic-once-wait", "atomic-many", "atomic-many-wait"]


def read(path):
    """(entries, header comment text, bad lines) of one testlist."""
    entries, header, bad = [], [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("#"):
                if not entries:
                    header.append(line)
            elif line.strip() == "":
                continue
            elif ENTRY.match(line):
                entries.append(line)
            else:
                bad.append(f"{os.path.basename(path)}:{n}: {line!r}")
    return entries, "\n".join(header), bad


def by_binary(entries, binary):
    return [e.split("@", 2)[2] for e in entries if e.split("@")[1] == binary]


class TestlistTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bat, cls.bat_header, bad_bat = read(BAT)
        cls.full, cls.full_header, bad_full = read(FULL)
        cls.bad = bad_bat + bad_full

    def test_lines_are_entries_or_comments(self):
        self.assertEqual(self.bad, [])
        self.assertTrue(self.bat and self.full)

    def test_bat_is_fast_feedback_fault_mode(self):
        self.assertEqual(len(FAST_FEEDBACK_FAULT_MODE), EXPECTED_BAT)
        self.assertEqual(len(self.bat), EXPECTED_BAT)
        self.assertEqual(by_binary(self.bat, "xe_exec_fault_mode"), FAST_FEEDBACK_FAULT_MODE)
        self.assertEqual(len(by_binary(self.bat, "xe_exec_fault_mode")), len(self.bat))

    def test_no_duplicates(self):
        for name, entries in (("bat", self.bat), ("full", self.full)):
            dups = sorted({e for e in entries if entries.count(e) > 1})
            self.assertEqual(dups, [], name)
        self.assertEqual(sorted(set(self.bat) & set(self.full)), [])

    def test_bat_and_full_cover_every_fault_mode_subtest(self):
        every = fault_mode_subtests()
        self.assertEqual(len(every), len(set(every)))
        self.assertEqual(len(every), 238)
        bat = by_binary(self.bat, "xe_exec_fault_mode")
        full = by_binary(self.full, "xe_exec_fault_mode")
        self.assertLessEqual(set(bat), set(every))
        self.assertLessEqual(set(bat), set(full) | set(bat))
        self.assertEqual(set(bat) | set(full), set(every))
        self.assertEqual(len(full), len(every) - EXPECTED_BAT)
        # the full list keeps IGT's registration order
        self.assertEqual(full, [s for s in every if s not in set(bat)])

    def test_full_has_compute_mode_and_vm(self):
        binaries = {e.split("@")[1] for e in self.full}
        self.assertEqual(binaries, {"xe_exec_fault_mode", "xe_exec_compute_mode", "xe_vm"})
        cm = by_binary(self.full, "xe_exec_compute_mode")
        vm = by_binary(self.full, "xe_vm")
        self.assertEqual(len(cm), 59)
        self.assertEqual(len(vm), 191)
        # compute mode: no many-execqueues for the race sections; non-blocking is blocklisted
        self.assertIn("many-execqueues-bindexecqueue-userptr-invalidate", cm)
        self.assertNotIn("many-execqueues-userptr-invalidate-race", cm)
        self.assertNotIn("non-blocking", cm)
        # xe_vm: the bind_size loop runs 2^21..2^31, mixed sizes 3 MiB and 1.5 GiB + 1 MiB
        for n in range(21, 32):
            self.assertIn(f"large-userptr-split-misaligned-binds-{1 << n}", vm)
        self.assertNotIn(f"large-binds-{1 << 32}", vm)
        self.assertIn("mixed-userptr-misaligned-binds-1611661312", vm)
        self.assertIn("munmap-style-unbind-userptr-inval-many-front", vm)
        self.assertIn("overcommit-fault-vram-lr-no-overcommit", vm)

    def test_headers_name_the_igt_source(self):
        self.assertIn("tests/intel-ci/xe.fast-feedback.testlist", self.bat_header)
        for header in (self.bat_header, self.full_header):
            self.assertRegex(header, r"\b[0-9a-f]{40}\b")
        for src in ("xe_exec_fault_mode.c", "xe_exec_compute_mode.c", "xe_vm.c"):
            self.assertIn(src, self.full_header)
        self.assertRegex(self.full_header, r"(?i)after the bat suite")


if __name__ == "__main__":
    unittest.main()
