/* Shared by test_inbox_*.c: a scratch public-inbox driven through
 * tests/integration/pi.py, and a collector of fetched messages. The servers
 * pi.py starts watch this process and go away (with the scratch directory)
 * when it exits, even when a test crashes. */
#ifndef XECI_TEST_INBOX_UTIL_H
#define XECI_TEST_INBOX_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "inbox.h"
#include "util.h"

/* Runs a shell command built printf-style with "$PI" = pi.py; returns its
 * first output line (malloc'd, newline stripped) or NULL when it failed. */
static inline char *pi_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline char *pi_run(const char *fmt, ...)
{
	const char *src = getenv("XECI_SRC");
	xeci_buf cmd = XECI_BUF_INIT;
	char line[4096] = "";
	va_list ap;
	FILE *p;

	xeci_buf_printf(&cmd, "PI='%s/tests/integration/pi.py'; ", src ? src : ".");
	va_start(ap, fmt);
	char *tail = NULL;
	if (vasprintf(&tail, fmt, ap) < 0)
		abort();
	va_end(ap);
	xeci_buf_puts(&cmd, tail);
	free(tail);
	p = popen(cmd.ptr, "r");
	xeci_buf_free(&cmd);
	if (!p)
		return NULL;
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	while (fgetc(p) != EOF) /* drain */
		;
	int st = pclose(p);
	if (st != 0)
		return NULL;
	line[strcspn(line, "\n")] = '\0';
	return xeci_strdup(line);
}

/* Writes a mail with a fixed Date (so public-inbox-learn rm can match it
 * later) to STATE/NAME.eml and returns that path. */
static inline char *pi_write_mail(const char *state, const char *name, const char *mid)
{
	xeci_buf path = XECI_BUF_INIT, mail = XECI_BUF_INIT;

	xeci_buf_printf(&path, "%s/%s.eml", state, name);
	xeci_buf_printf(&mail,
			"From: A U Thor <author@xeci.test>\nTo: test@xeci.test\nSubject: %s\n"
			"Message-ID: %s\nDate: Mon, 01 Jan 2024 00:00:00 +0000\n\nbody of %s\nFrom here\n",
			name, mid, name);
	if (xeci_file_write_atomic(path.ptr, mail.ptr, mail.len) < 0)
		abort();
	xeci_buf_free(&mail);
	return xeci_buf_detach(&path);
}

typedef struct got_msg {
	char *mid;     /* Message-ID with <>, or "" */
	char *data;
	size_t len;
	bool removed;
	char *error;
	char *commit;
	int epoch;
} got_msg;

typedef struct got {
	got_msg *v;
	size_t n;
	int stop_after; /* > 0: the callback fails at that message */
} got;

static inline char *mid_of(const char *data, size_t len)
{
	const char *p = data ? memmem(data, len, "\nMessage-ID: ", 13) : NULL;
	if (!p)
		return xeci_strdup("");
	p += 13;
	return xeci_strndup(p, strcspn(p, "\r\n"));
}

static inline int got_cb(const xeci_inbox_msg *m, void *payload)
{
	got *g = payload;
	if (g->stop_after && (int)g->n + 1 >= g->stop_after)
		return -42;
	g->v = xeci_realloc(g->v, (g->n + 1) * sizeof(*g->v));
	got_msg *o = &g->v[g->n++];
	o->mid = mid_of(m->data, m->len);
	o->data = m->data ? xeci_strndup(m->data, m->len) : NULL;
	o->len = m->len;
	o->removed = m->removed;
	o->error = m->error ? xeci_strdup(m->error) : NULL;
	o->commit = m->commit ? xeci_strdup(m->commit) : NULL;
	o->epoch = m->epoch;
	return 0;
}

static inline void got_free(got *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i].mid);
		free(g->v[i].data);
		free(g->v[i].error);
		free(g->v[i].commit);
	}
	free(g->v);
	memset(g, 0, sizeof(*g));
}

#endif
