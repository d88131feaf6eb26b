/* IGT runs. See igt.h. */
#define _GNU_SOURCE
#include "igt.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "proc.h"
#include "results_igt.h"
#include "util.h"

#define RUNNER_SLACK_S 300 /* beyond the overall timeout: the runner's own clean-up */

int xeci_igt_testlist_shard(char ***tests, size_t *n, const char *text, int shard, int shards)
{
	*tests = NULL;
	*n = 0;
	if (shards < 1 || shard < 0 || shard >= shards)
		return xeci_error_setc(XECI_EINVALID, "shard %d of %d", shard, shards);
	size_t i = 0;
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		const char *s = p, *e = p + len;
		p = *e ? e + 1 : e;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (s == e || *s == '#')
			continue;
		if (i++ % (size_t)shards != (size_t)shard)
			continue;
		*tests = xeci_realloc(*tests, (*n + 1) * sizeof(**tests));
		(*tests)[(*n)++] = xeci_strndup(s, (size_t)(e - s));
	}
	return 0;
}

void xeci_igt_tests_free(char **tests, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(tests[i]);
	free(tests);
}

/* The list file of "igt:PATH": PATH as is when absolute, else under
 * host.testlists (as given, then by its base name). */
static char *list_path(const xeci_agent_config *cfg, const char *path)
{
	char *p = NULL;
	if (path[0] == '/')
		return xeci_strdup(path);
	const char *dir = cfg->host.testlists ? cfg->host.testlists : ".";
	if (asprintf(&p, "%s/%s", dir, path) < 0)
		abort();
	if (access(p, R_OK) == 0)
		return p;
	free(p);
	const char *base = strrchr(path, '/');
	if (asprintf(&p, "%s/%s", dir, base ? base + 1 : path) < 0)
		abort();
	return p;
}

/* Numbered test directories igt_runner has made so far: progress. */
static int dirs_done(const char *results)
{
	DIR *d = opendir(results);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
			n++;
	if (d)
		closedir(d);
	return n;
}

static int runner(xeci_run *r, const char *list, const char *results, int before, int total)
{
	const xeci_agent_config *cfg = xeci_run_config(r);
	char per[32], overall[32], *log = NULL;
	snprintf(per, sizeof(per), "%lld", (long long)cfg->host.test_timeout_s);
	snprintf(overall, sizeof(overall), "%lld", (long long)cfg->host.run_timeout_s);
	if (asprintf(&log, "%s/igt_runner.log", xeci_run_job_dir(r)) < 0)
		abort();
	/* -o: a resumed job starts the suite over; dmesg is captured by the
	 * runner per test (dmesg.txt) */
	char *argv[] = {cfg->host.runner, "-o", "--test-list", (char *)list, "--per-test-timeout", per,
			"--overall-timeout", overall, cfg->host.igt, (char *)results, NULL};
	pid_t pid = -1;
	int status = 0, rc = xeci_proc_spawn(&pid, argv, log, NULL);
	uint64_t limit = (uint64_t)(cfg->host.run_timeout_s + RUNNER_SLACK_S) * 1000, start = xeci_time_ms();
	while (rc == 0 && !xeci_proc_exited(pid, &status)) {
		if (xeci_run_cancelled(r) || xeci_time_ms() - start > limit) {
			xeci_proc_kill(pid, 10000);
			rc = xeci_run_cancelled(r) ? XECI_ESTALE : 0; /* a runner past its time: what it wrote counts */
			break;
		}
		xeci_run_progress(r, list, before + dirs_done(results), total);
		xeci_run_sleep(r, 1000);
	}
	free(log);
	return rc;
}

static bool bad(const char *result)
{
	return !result || (strcmp(result, "pass") && strcmp(result, "skip") && strcmp(result, "warn") &&
			   strcmp(result, "dmesg-warn") && strcmp(result, "notrun"));
}

/* Results of one suite's directory; *failed: anything but pass/skip/warn. */
static int add_results(xeci_run *r, const char *suite, const char *results, bool *failed)
{
	xeci_igt_results *ir;
	if (xeci_igt_results_parse(&ir, results) < 0)
		return XECI_ENOTFOUND;
	for (size_t i = 0; i < xeci_igt_results_count(ir); i++) {
		const xeci_igt_test *t = xeci_igt_results_get(ir, i);
		const char *res = xeci_igt_test_result(t);
		double d;
		int64_t ms = xeci_igt_test_duration(&d, t) == 0 ? (int64_t)(d * 1000) : -1;
		size_t ol, el, dl;
		const char *o = xeci_igt_test_out(t, &ol), *e = xeci_igt_test_err(t, &el), *dm = xeci_igt_test_dmesg(t, &dl);
		xeci_agent_results_add(xeci_run_results(r), xeci_igt_test_name(t), suite, res ? res : "incomplete", ms,
				       o, ol, e, el, dm, dl);
		*failed |= bad(res);
	}
	xeci_igt_results_free(ir);
	return 0;
}

static void add_notrun(xeci_run *r, const char *suite, char **tests, size_t n, const char *why)
{
	for (size_t i = 0; i < n; i++)
		xeci_agent_results_add(xeci_run_results(r), tests[i], suite, "notrun", -1, why, strlen(why), NULL, 0,
				       NULL, 0);
}

/* One igt: suite; *stop_after: a BAT suite failed. */
static int suite(xeci_run *r, size_t idx, bool skip, bool *stop_after, int *before, int total)
{
	const xeci_job *j = xeci_run_job(r);
	const char *s = j->suites[idx];
	char *lp = list_path(xeci_run_config(r), s + 4), *text = NULL, *list = NULL, *results = NULL, **tests = NULL;
	size_t len, n = 0;
	int rc = xeci_file_read(&text, &len, lp);
	if (rc < 0) {
		xeci_run_fail(r, true, "test list %s: %s", lp, xeci_error_last());
		goto out;
	}
	xeci_igt_testlist_shard(&tests, &n, text, j->shard, j->shards);
	if (skip || !n) {
		add_notrun(r, s, tests, n, "not run: an earlier BAT suite failed");
		goto out;
	}
	if (asprintf(&list, "%s/testlist-%zu.txt", xeci_run_job_dir(r), idx) < 0 ||
	    asprintf(&results, "%s/igt-%zu", xeci_run_job_dir(r), idx) < 0)
		abort();
	FILE *f = fopen(list, "w");
	for (size_t i = 0; f && i < n; i++)
		fprintf(f, "%s\n", tests[i]);
	if (!f || fclose(f)) {
		rc = xeci_error_setc(XECI_EIO, "%s: cannot write", list);
		xeci_run_fail(r, true, "%s", xeci_error_last());
		goto out;
	}
	XECI_INFO("job %lld: %s: %zu tests (shard %d/%d)", (long long)j->id, s, n, j->shard + 1, j->shards);
	rc = runner(r, list, results, *before, total);
	bool failed = false;
	if (rc == 0 && add_results(r, s, results, &failed) < 0) /* the runner never started the run */
		add_notrun(r, s, tests, n, "igt_runner wrote no results (see igt_runner.log)");
	*stop_after = failed && strstr(s, "bat");
	*before += (int)n;
out:
	xeci_igt_tests_free(tests, n);
	free(lp);
	free(text);
	free(list);
	free(results);
	return rc;
}

int xeci_igt_run_suites(xeci_run *r)
{
	const xeci_job *j = xeci_run_job(r);
	bool skip = false;
	int before = 0, rc = 0;
	for (size_t i = 0; rc == 0 && i < j->nsuites; i++) {
		if (!xeci_str_startswith(j->suites[i], "igt:")) {
			const char *why = "the host back-end runs igt: suites only";
			xeci_agent_results_add(xeci_run_results(r), j->suites[i], j->suites[i], "notrun", -1, why,
					       strlen(why), NULL, 0, NULL, 0);
			continue;
		}
		bool stop_after = false;
		rc = suite(r, i, skip, &stop_after, &before, 0);
		skip |= stop_after;
	}
	return xeci_run_cancelled(r) ? XECI_ESTALE : rc;
}

void xeci_igt_run_salvage(xeci_run *r)
{
	const xeci_job *j = xeci_run_job(r);
	for (size_t i = 0; i < j->nsuites; i++) {
		char *dir = NULL;
		bool failed = false;
		if (asprintf(&dir, "%s/igt-%zu", xeci_run_job_dir(r), i) < 0)
			abort();
		if (xeci_str_startswith(j->suites[i], "igt:") && access(dir, F_OK) == 0)
			add_results(r, j->suites[i], dir, &failed);
		free(dir);
	}
}
