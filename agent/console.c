/* Results from a qemu console. See console.h. */
#define _GNU_SOURCE
#include "console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results_ktap.h"
#include "util.h"

#define TAIL_BYTES 8192
#define PANIC "Kernel panic - not syncing"

static const char *find(const char *s, size_t len, const char *what)
{
	return memmem(s, len, what, strlen(what));
}

bool xeci_console_booted(const char *console, size_t len)
{
	return find(console, len, "KTAP version") || find(console, len, "xeci-init: start");
}

int xeci_console_progress(const char *console, size_t len, char **last)
{
	int n = 0;
	const char *p = console, *end = console + len, *last_name = NULL;
	size_t last_len = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end, *q = p;
		while (q < e && (*q == ' ' || *q == '\t'))
			q++;
		const char *rest = NULL;
		if (e - q > 3 && !memcmp(q, "ok ", 3))
			rest = q + 3;
		else if (e - q > 7 && !memcmp(q, "not ok ", 7))
			rest = q + 7;
		if (rest) {
			n++;
			while (rest < e && *rest >= '0' && *rest <= '9')
				rest++;
			while (rest < e && (*rest == ' ' || *rest == '-'))
				rest++;
			last_name = rest;
			last_len = strcspn(rest, " #\r\n");
			if (last_len > (size_t)(e - rest))
				last_len = (size_t)(e - rest);
		}
		p = e + 1;
	}
	if (last)
		*last = last_name ? xeci_strndup(last_name, last_len) : NULL;
	return n;
}

/* The suite's part of the console: [begin, end). *finished: its end line
 * is there; *rc its exit code. NULL when it never began. */
static const char *suite_region(const char *con, size_t len, const char *suite, size_t *rlen, bool *finished,
				int *rc)
{
	char marker[300];
	snprintf(marker, sizeof(marker), "xeci-suite-begin: %s", suite);
	const char *b = find(con, len, marker);
	if (!b)
		return NULL;
	/* past the line's end: the tty makes it "\r\n" */
	b += strlen(marker);
	const char *nl = memchr(b, '\n', (size_t)(con + len - b));
	b = nl ? nl + 1 : con + len;
	snprintf(marker, sizeof(marker), "xeci-suite-end: %s rc=", suite);
	const char *e = find(b, (size_t)(con + len - b), marker);
	*finished = e != NULL;
	*rc = e ? atoi(e + strlen(marker)) : -1;
	*rlen = (size_t)((e ? e : con + len) - b);
	return b;
}

static void add_parsed(xeci_agent_results *res, const char *suite, const char *text, size_t len, const char *tail,
		       size_t tail_len, xeci_console_end end)
{
	xeci_ktap_results *kr;
	xeci_ktap_parse(&kr, text, len);
	for (size_t i = 0; i < xeci_ktap_results_count(kr); i++) {
		const xeci_ktap_result *t = xeci_ktap_results_get(kr, i);
		char *name = xeci_strndup(t->path, t->path_len);
		const char *status = xeci_ktap_status_name(t->status);
		bool open = t->status == XECI_KTAP_CRASH;
		/* the one that was running when the agent killed qemu ran out of time */
		if (open && end == XECI_CONSOLE_TIMEOUT)
			status = "timeout";
		xeci_agent_results_add(res, name, suite, status, -1, t->log, t->log_len, NULL, 0, open ? tail : NULL,
				       open ? tail_len : 0);
		free(name);
	}
	xeci_ktap_results_free(kr);
}

static size_t count_parsed(const char *text, size_t len)
{
	xeci_ktap_results *kr;
	xeci_ktap_parse(&kr, text, len);
	size_t n = xeci_ktap_results_count(kr);
	xeci_ktap_results_free(kr);
	return n;
}

/* One whole-suite result, when the console has none of its tests. */
static void add_whole(xeci_agent_results *res, const char *suite, const char *status, const char *why,
		      const char *tail, size_t tail_len)
{
	const char *name = strchr(suite, ':') + 1;
	xeci_agent_results_add(res, name, suite, status, -1, why, strlen(why), NULL, 0, tail, tail_len);
}

static void kunit(xeci_agent_results *res, const char *suite, const char *con, size_t len, const char *tail,
		  size_t tail_len, xeci_console_end end)
{
	/* KUnit runs before /init: its KTAP is what precedes the init's start */
	const char *init = find(con, len, "xeci-init: start");
	size_t klen = init ? (size_t)(init - con) : len;
	if (count_parsed(con, klen))
		add_parsed(res, suite, con, klen, tail, tail_len, end);
	else if (init)
		add_whole(res, suite, "fail", "the kernel printed no KTAP: is KUnit (kunit.enable) in this build?",
			  NULL, 0);
	else
		add_whole(res, suite, end == XECI_CONSOLE_TIMEOUT ? "timeout" : "crash",
			  "the kernel stopped before KUnit printed anything", tail, tail_len);
}

static void ktap(xeci_agent_results *res, const char *suite, const char *con, size_t len, const char *tail,
		 size_t tail_len, xeci_console_end end)
{
	size_t rlen = 0;
	bool finished = false;
	int rc = -1;
	const char *r = suite_region(con, len, suite, &rlen, &finished, &rc);
	if (!r) {
		add_whole(res, suite, "notrun", "the suite never started (the kernel stopped before)", tail, tail_len);
	} else if (count_parsed(r, rlen)) {
		add_parsed(res, suite, r, rlen, tail, tail_len, end);
	} else if (finished) {
		/* it ran and printed no TAP (125: the init could not run it):
		 * its output says why */
		const char *why = rc == 125 ? "the suite could not run" : "the suite printed no TAP";
		xeci_agent_results_add(res, strchr(suite, ':') + 1, suite, "fail", -1, r, rlen, why, strlen(why), NULL,
				       0);
	} else {
		add_whole(res, suite, end == XECI_CONSOLE_TIMEOUT ? "timeout" : "crash",
			  "the suite started and printed no TAP", tail, tail_len);
	}
}

void xeci_console_results(xeci_agent_results *res, const xeci_job *j, const char *console, size_t len,
			  xeci_console_end end)
{
	/* the panic message and what led to it, else the console's end */
	const char *panic = find(console, len, PANIC);
	const char *tail = console + (len > TAIL_BYTES ? len - TAIL_BYTES : 0);
	if (panic && panic > console + TAIL_BYTES / 2)
		tail = panic - TAIL_BYTES / 2;
	size_t tail_len = (size_t)(console + len - tail);
	if (tail_len > TAIL_BYTES)
		tail_len = TAIL_BYTES;
	for (size_t i = 0; i < j->nsuites; i++) {
		const char *s = j->suites[i];
		if (xeci_str_startswith(s, "kunit:"))
			kunit(res, s, console, len, tail, tail_len, end);
		else if (xeci_str_startswith(s, "ktap:"))
			ktap(res, s, console, len, tail, tail_len, end);
		else
			add_whole(res, s, "notrun", "the qemu back-end runs kunit: and ktap: suites only", NULL, 0);
	}
}
