/* IGT on a real Xe machine (the host back-end): the job's igt:LIST suites
 * run with igt_runner, one results directory each, read with
 * common/results_igt (which works from the raw directory a dead machine
 * leaves). */
#ifndef XECI_AGENT_IGT_H
#define XECI_AGENT_IGT_H

#include <stddef.h>

#include "run.h"

/* The tests of a test list (`igt@binary@subtest` lines, `#` comments)
 * that fall to this shard: the i-th test goes to shard i % shards. */
int xeci_igt_testlist_shard(char ***tests, size_t *n, const char *text, int shard, int shards);
void xeci_igt_tests_free(char **tests, size_t n);

/* Runs every igt: suite of the run's job, adding the results. A failure in
 * a BAT suite (its name has "bat") leaves the later igt suites not run, as
 * Intel CI does. XECI_ESTALE when cancelled; < 0 with xeci_run_fail()
 * when IGT cannot run at all. */
int xeci_igt_run_suites(xeci_run *r);

/* After the machine went down mid-run: the results of every igt: suite
 * whose directory igt_runner had started (the running test incomplete). */
void xeci_igt_run_salvage(xeci_run *r);

#endif
