/* IGT results directories (what igt_runner leaves: metadata.txt, joblist.txt,
 * N/journal.txt, N/out.txt, N/err.txt, N/dmesg.txt, aborted.txt) read into
 * per-test results, as igt_resultgen would make results.json of them.
 *
 * The raw directory is read rather than results.json because a machine that
 * dies mid-run leaves no results.json; the rules (journal, out/err markers,
 * kernel log levels and filters, prune modes, notrun/incomplete/abort) are
 * those of IGT's runner/resultgen.c, so the names and results agree with
 * igt_resultgen's on the same directory. Newer runners' socket dumps
 * ("comms") are read as resultgen reads them; attachments are not read. */
#ifndef XECI_RESULTS_IGT_H
#define XECI_RESULTS_IGT_H

#include <stddef.h>
#include <stdio.h>

typedef struct xeci_igt_results xeci_igt_results;
typedef struct xeci_igt_test xeci_igt_test;

/* Parses the results directory `dir`. Fails (XECI_ENOTFOUND) only when
 * metadata.txt or joblist.txt cannot be read, as igt_resultgen does; any
 * other file may be missing, truncated or garbage. */
int xeci_igt_results_parse(xeci_igt_results **out, const char *dir);
void xeci_igt_results_free(xeci_igt_results *r);

/* Tests in the order igt_resultgen first met them. */
size_t xeci_igt_results_count(const xeci_igt_results *r);
const xeci_igt_test *xeci_igt_results_get(const xeci_igt_results *r, size_t i);
/* By name ("igt@binary@subtest[@dynamic]"); NULL when there is none. */
const xeci_igt_test *xeci_igt_results_find(const xeci_igt_results *r, const char *name);
/* The run's start and end (starttime.txt, endtime.txt; seconds since the
 * epoch); XECI_ENOTFOUND when the file is missing. */
int xeci_igt_results_start(double *out, const xeci_igt_results *r);
int xeci_igt_results_end(double *out, const xeci_igt_results *r);
/* How many jobs were read from a socket dump ("comms": newer runners talk
 * to the test over a socket) rather than from the text files; resultgen
 * reads a job from the dump alone when the test used it. */
size_t xeci_igt_results_comms_jobs(const xeci_igt_results *r);

/* "igt@binary", "igt@binary@subtest", "igt@binary@subtest@dynamic", or
 * "igt@runner@aborted" (result "fail", out = aborted.txt) for an aborted run. */
const char *xeci_igt_test_name(const xeci_igt_test *t);
/* pass, fail, skip, crash, timeout, incomplete, abort, dmesg-warn,
 * dmesg-fail, warn or notrun; NULL in the rare case igt_resultgen leaves a
 * test without a result (a subtest seen only in the kernel log, a job
 * without journal.txt). */
const char *xeci_igt_test_result(const xeci_igt_test *t);
/* Run time in seconds (resultgen's time.end); XECI_ENOTFOUND when unknown
 * (never started, or died before printing a result). */
int xeci_igt_test_duration(double *out, const xeci_igt_test *t);
/* The test's slices of out.txt, err.txt and the formatted kernel log
 * ("<level> [sec.usec] message" lines), and the kernel log lines that made it
 * dmesg-warn/dmesg-fail. Raw bytes (not UTF-8 checked), never NULL ("" when
 * absent); `len` may be NULL. */
const char *xeci_igt_test_out(const xeci_igt_test *t, size_t *len);
const char *xeci_igt_test_err(const xeci_igt_test *t, size_t *len);
const char *xeci_igt_test_dmesg(const xeci_igt_test *t, size_t *len);
const char *xeci_igt_test_dmesg_warnings(const xeci_igt_test *t, size_t *len);

/* One JSON object a line: {"name": ..., "result": ..., "duration": seconds
 * or null}; a test without a result is written as "incomplete". Strings are
 * made valid UTF-8 as igt_resultgen makes them (bytes >= 0x80 as Latin-1). */
int xeci_igt_results_write_jsonl(FILE *out, const xeci_igt_results *r);

#endif
