/* KTAP / TAP results (KUnit, kselftest) from a raw console log, read as the
 * kernel's own parser (tools/testing/kunit/kunit_parser.py, 6.12) reads
 * them, and flattened as `kunit.py parse --json` groups them.
 *
 * Reading, as kunit.py:
 *  - the text is decoded as Python reads it (invalid UTF-8 bytes become the
 *    four characters "\xNN"; lines end as str.splitlines() ends them: at
 *    "\n", "\r\n", "\r", and also \v \f \x1c-\x1e U+0085 U+2028 U+2029;
 *    trailing whitespace dropped);
 *  - results start at the first line holding "KTAP version N" or
 *    "TAP version N"; whatever precedes that text on the line (a kernel log
 *    prefix "[    1.234] ") is cut, by length, from every following line;
 *    "List of all partitions:", "Kernel panic - not syncing: VFS:" and
 *    "reboot: System halted" end them;
 *  - `1..N` plans, `ok|not ok N [- ]name [# directive]`, `# SKIP`
 *    (skipped even on "not ok"), nested subtests with a "KTAP version" and/or
 *    "# Subtest: name" header, their own plan and a result line that closes
 *    them;
 *  - a test a plan announced that never reported is crashed (kunit.py:
 *    a nameless CRASHED test).
 *
 * Where xeci reads more than kunit.py (documented differences):
 *  - after the first document (its top-level plan satisfied, or an end
 *    line), the rest of the log is searched for further documents, each with
 *    its own prefix: a userspace program's kselftest TAP (hmm-tests:
 *    "TAP version 13", `ok 1 hmm.hmm_device_private.open_close`) printed on
 *    the console after the kernel's KTAP is read as a second document.
 *    Every document gives paths the same way (its top level has no name),
 *    so hmm-tests cases keep the harness names
 *    ("hmm.hmm_device_private.open_close"); `document` tells them apart;
 *  - a test without a name (the ones a plan announced and never came)
 *    is named "#N" after its number in its parent: the first missing one
 *    of a parent is "crash" (it was running when the output stopped), the
 *    ones after it are "incomplete" (they never started); kunit.py calls
 *    them all CRASHED with an empty name;
 *  - where kunit.py loops forever (a line that is neither a result, header
 *    nor diagnostic where no plan bounds the tests) the line is read as a
 *    diagnostic; past 256 levels of nesting headers are diagnostics too;
 *    at most 100,000 tests are kept per log, and at most 1,000 missing
 *    ones per parent.
 *
 * Statuses: pass, fail, skip, crash (kunit.py CRASHED, JSON "ERROR"),
 * incomplete (see above); a test announced as a parent (header) that ran no
 * subtest is "fail" (kunit.py NO_TESTS, JSON "FAIL"). */
#ifndef XECI_RESULTS_KTAP_H
#define XECI_RESULTS_KTAP_H

#include <stddef.h>
#include <stdio.h>

typedef enum xeci_ktap_status {
	XECI_KTAP_PASS,
	XECI_KTAP_FAIL,
	XECI_KTAP_SKIP,
	XECI_KTAP_CRASH,
	XECI_KTAP_INCOMPLETE,
} xeci_ktap_status;

/* One test case (a test without subtests). Strings are views into the
 * results object's own decoded copy of the log: valid UTF-8, not
 * NUL-terminated (a log may hold NUL bytes); they live until
 * xeci_ktap_results_free(). */
typedef struct xeci_ktap_result {
	const char *path; /* "suite[.sub].case", the names joined by '.' */
	size_t path_len;
	xeci_ktap_status status;
	const char *directive; /* after " # " on the result line ("SKIP why"), or NULL */
	size_t directive_len;
	const char *log; /* the test's lines: preceding diagnostics to its result line */
	size_t log_len;
	unsigned document; /* 0: the first KTAP/TAP document of the log, 1: the next... */
} xeci_ktap_result;

typedef struct xeci_ktap_results xeci_ktap_results;

/* Parses any bytes; never fails on content (a log without KTAP has no
 * results). Cases come in kunit.py's JSON order: in each suite its cases
 * first, then its sub-suites. */
int xeci_ktap_parse(xeci_ktap_results **out, const char *text, size_t len);
size_t xeci_ktap_results_count(const xeci_ktap_results *r);
/* NULL when i is out of range. */
const xeci_ktap_result *xeci_ktap_results_get(const xeci_ktap_results *r, size_t i);
/* "pass", "fail", "skip", "crash", "incomplete". */
const char *xeci_ktap_status_name(xeci_ktap_status s);
/* One line per case: {"path": "...", "status": "..."} (Python's json.dumps
 * spelling, ASCII only). Returns XECI_EIO when writing fails. */
int xeci_ktap_write_jsonl(FILE *out, const xeci_ktap_results *r);
void xeci_ktap_results_free(xeci_ktap_results *r);

#endif
