/* The sim back-end: scripted outcomes, for tests of the failure paths.
 * The script (sim.script) is read line by line:
 *
 *   TEST STATUS [N]  a result (STATUS: pass, fail, skip, crash, ...), with
 *                    N bytes of output (default: "sim")
 *   sleep N          wait N seconds (heartbeats go on)
 *   hang             stop heartbeating and never answer: the lease expires
 *   crash            the agent process exits at once (exit code 3)
 *   never-return     keep heartbeating but never upload
 *   fail REASON      give up: the fail call, infra = false
 *   infra REASON     give up: the fail call, infra = true
 *   # comment
 *
 * Results are in the job's first suite. hang and never-return last until
 * the agent is stopped or the lease is lost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "error.h"
#include "log.h"
#include "util.h"

/* Waits until the run is cancelled: the lease went elsewhere or the agent
 * is stopping. */
static int wait_forever(xeci_run *r)
{
	while (xeci_run_sleep(r, 1000))
		;
	return XECI_ESTALE;
}

static int count_tests(char **lines, size_t n)
{
	int total = 0;
	for (size_t i = 0; i < n; i++) {
		char a[64], b[64];
		if (sscanf(lines[i], "%63s %63s", a, b) == 2 && a[0] != '#' && strcmp(a, "sleep") &&
		    strcmp(a, "fail") && strcmp(a, "infra"))
			total++;
	}
	return total;
}

/* One script line; 1: go on, 0: the run ended (rc in *rc). */
static int step(xeci_run *r, const char *line, int *done, int total, int *rc)
{
	const xeci_job *j = xeci_run_job(r);
	char word[256] = "", arg[256] = "";
	if (sscanf(line, "%255s %255[^\n]", word, arg) < 1 || word[0] == '#')
		return 1;
	if (!strcmp(word, "sleep")) {
		if (!xeci_run_sleep(r, (unsigned)(atof(arg) * 1000))) {
			*rc = XECI_ESTALE;
			return 0;
		}
	} else if (!strcmp(word, "hang")) {
		XECI_INFO("sim: job %lld: hanging (no heartbeats)", (long long)j->id);
		xeci_run_heartbeat_pause(r);
		*rc = wait_forever(r);
		return 0;
	} else if (!strcmp(word, "crash")) {
		XECI_INFO("sim: job %lld: crashing the agent", (long long)j->id);
		_exit(3);
	} else if (!strcmp(word, "never-return")) {
		XECI_INFO("sim: job %lld: never returning", (long long)j->id);
		*rc = wait_forever(r);
		return 0;
	} else if (!strcmp(word, "fail") || !strcmp(word, "infra")) {
		xeci_run_fail(r, word[0] == 'i', "%s", arg[0] ? arg : "sim: scripted failure");
		*rc = XECI_ERROR;
		return 0;
	} else if (arg[0]) {
		char status[64] = "";
		long n = 0;
		sscanf(arg, "%63s %ld", status, &n);
		char *out = xeci_malloc(n > 0 ? (size_t)n + 1 : 4);
		if (n > 0)
			memset(out, 'x', (size_t)n);
		else
			memcpy(out, "sim", (size_t)(n = 3));
		xeci_run_progress(r, word, *done, total);
		xeci_agent_results_add(xeci_run_results(r), word, j->suites[0], status, 0, out, (size_t)n, NULL, 0, NULL,
				       0);
		free(out);
		(*done)++;
	}
	return 1;
}

static int split_lines(char ***out, size_t *n, char *text)
{
	*out = NULL;
	*n = 0;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		*out = xeci_realloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = l;
	}
	return 0;
}

int xeci_backend_sim_run(xeci_run *r)
{
	const xeci_agent_config *cfg = xeci_run_config(r);
	char *text = NULL, **lines;
	size_t len, n;
	if (xeci_file_read(&text, &len, cfg->sim.script) < 0) {
		xeci_run_fail(r, true, "sim: %s: %s", cfg->sim.script, xeci_error_last());
		return XECI_ERROR;
	}
	split_lines(&lines, &n, text);
	int done = 0, total = count_tests(lines, n), rc = 0;
	for (size_t i = 0; i < n && step(r, lines[i], &done, total, &rc); i++)
		;
	if (rc == 0 && xeci_run_cancelled(r))
		rc = XECI_ESTALE;
	free(lines);
	free(text);
	return rc;
}
