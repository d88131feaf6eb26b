/* The git transport against a real public-inbox v2 inbox, read in place and
 * over public-inbox-httpd: what was posted comes out, oldest first, once;
 * removals are reported; broken servers give errors that name the URL. */
#define _GNU_SOURCE /* asprintf, memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "inbox.h"
#include "test_inbox_util.h"

typedef struct fixture {
	char dir[64];   /* scratch: pi config, inbox "test", mirrors */
	char *inbox;    /* local inbox directory */
	char *url;      /* http://127.0.0.1:PORT/test */
	char *fake;     /* base URL of the misbehaving server */
	char mirror[128];
	xeci_inbox_cursor *cur; /* carried from test to test */
	size_t ncur;
} fixture;

static int setup(void **state)
{
	fixture *f = xeci_calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/xeci-test-inbox-git-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->mirror, sizeof(f->mirror), "%s/mirror", f->dir);
	f->inbox = pi_run("python3 \"$PI\" init %s test", f->dir);
	char *base = pi_run("python3 \"$PI\" serve %s --watch %d --cleanup", f->dir, (int)getpid());
	f->fake = pi_run("python3 \"$PI\" fake %s --watch %d", f->dir, (int)getpid());
	if (!f->inbox || !base || !f->fake)
		return -1;
	xeci_buf u = XECI_BUF_INIT;
	xeci_buf_printf(&u, "%stest", base);
	f->url = xeci_buf_detach(&u);
	free(base);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	free(pi_run("python3 \"$PI\" stop %s; rm -rf %s", f->dir, f->dir));
	free(f->inbox);
	free(f->url);
	free(f->fake);
	free(f->cur);
	free(f);
	return 0;
}

static void gen(fixture *f, int n, const char *prefix)
{
	char *ok = pi_run("python3 \"$PI\" gen %s test %d %s && echo ok", f->dir, n, prefix);
	assert_non_null(ok);
	free(ok);
}

static int fetch(got *g, const char *url, const char *mirror, xeci_inbox_cursor **cur, size_t *ncur)
{
	int rc = xeci_inbox_git_fetch(url, mirror, cur, ncur, got_cb, g, NULL, NULL);
	if (rc < 0)
		print_message("fetch %s: %s\n", url, xeci_error_last());
	return rc;
}

static void assert_mids(const got *g, const char *prefix, int from, int to)
{
	assert_int_equal(g->n, (size_t)(to - from + 1));
	for (int i = from; i <= to; i++) {
		char want[128];
		snprintf(want, sizeof(want), "<%s-%d@xeci.test>", prefix, i);
		assert_string_equal(g->v[i - from].mid, want);
		assert_false(g->v[i - from].removed);
		assert_null(g->v[i - from].error);
		assert_int_equal(g->v[i - from].epoch, 0);
		assert_int_equal(strlen(g->v[i - from].commit), 40);
	}
}

/* Local directory: everything posted, in order; then only what is new. */
static void local_then_incremental(void **state)
{
	fixture *f = *state;
	got g = {0};

	gen(f, 5, "a");
	assert_int_equal(fetch(&g, f->inbox, NULL, &f->cur, &f->ncur), 0);
	assert_mids(&g, "a", 1, 5);
	assert_int_equal(f->ncur, 1);
	assert_int_equal(f->cur[0].epoch, 0);
	assert_string_equal(f->cur[0].commit, g.v[4].commit);
	/* the raw blob: mda's bytes, "From " lines in the body untouched */
	assert_non_null(strstr(g.v[0].data, "\nFrom here on\n"));
	got_free(&g);

	assert_int_equal(fetch(&g, f->inbox, NULL, &f->cur, &f->ncur), 0);
	assert_int_equal(g.n, 0);

	gen(f, 3, "b");
	assert_int_equal(fetch(&g, f->inbox, NULL, &f->cur, &f->ncur), 0);
	assert_mids(&g, "b", 1, 3);
	got_free(&g);
}

/* public-inbox-learn rm writes a commit whose tree holds d. */
static void removal_is_reported(void **state)
{
	fixture *f = *state;
	got g = {0};
	char *mail = pi_write_mail(f->dir, "doomed", "<doomed@xeci.test>");

	free(pi_run("python3 \"$PI\" post %s test < %s", f->dir, mail));
	free(pi_run("python3 \"$PI\" rm %s test < %s", f->dir, mail));
	free(mail);
	assert_int_equal(fetch(&g, f->inbox, NULL, &f->cur, &f->ncur), 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.v[0].mid, "<doomed@xeci.test>");
	assert_false(g.v[0].removed);
	assert_string_equal(g.v[1].mid, "<doomed@xeci.test>");
	assert_true(g.v[1].removed);
	assert_non_null(g.v[1].data);
	got_free(&g);
}

/* Over HTTP: the mirror is cloned, and the commits (hence cursors) are the
 * same as in the inbox itself. */
static void over_http(void **state)
{
	fixture *f = *state;
	xeci_inbox_cursor *cur = NULL;
	size_t ncur = 0;
	got g = {0}, local = {0};
	xeci_inbox_cursor *lcur = NULL;
	size_t nlcur = 0;

	assert_int_equal(fetch(&local, f->inbox, NULL, &lcur, &nlcur), 0);
	assert_int_equal(fetch(&g, f->url, f->mirror, &cur, &ncur), 0);
	assert_int_equal(g.n, local.n);
	assert_true(g.n >= 10);
	for (size_t i = 0; i < g.n; i++) {
		assert_string_equal(g.v[i].commit, local.v[i].commit);
		assert_string_equal(g.v[i].mid, local.v[i].mid);
		assert_int_equal(g.v[i].len, local.v[i].len);
	}
	assert_string_equal(cur[0].commit, f->cur[0].commit);
	got_free(&g);
	got_free(&local);
	free(lcur);

	/* second fetch: the mirror is updated, only the new messages come */
	gen(f, 2, "c");
	assert_int_equal(fetch(&g, f->url, f->mirror, &cur, &ncur), 0);
	assert_mids(&g, "c", 1, 2);
	got_free(&g);
	assert_int_equal(fetch(&g, f->url, f->mirror, &cur, &ncur), 0);
	assert_int_equal(g.n, 0);
	/* the trailing slash of a URL does not matter */
	char *slash = NULL;
	assert_true(asprintf(&slash, "%s/", f->url) > 0);
	assert_int_equal(fetch(&g, slash, f->mirror, &cur, &ncur), 0);
	assert_int_equal(g.n, 0);
	free(slash);
	free(cur);
}

/* A cursor that is not in the epoch: the epoch is read again from the start. */
static void vanished_cursor_restarts_epoch(void **state)
{
	fixture *f = *state;
	xeci_inbox_cursor *cur = xeci_calloc(1, sizeof(*cur));
	size_t ncur = 1;
	got g = {0}, all = {0};

	strcpy(cur[0].commit, "0123456789abcdef0123456789abcdef01234567");
	assert_int_equal(fetch(&g, f->inbox, NULL, &cur, &ncur), 0);
	xeci_inbox_cursor *none = NULL;
	size_t nnone = 0;
	assert_int_equal(fetch(&all, f->inbox, NULL, &none, &nnone), 0);
	assert_int_equal(g.n, all.n);
	assert_string_equal(cur[0].commit, none[0].commit);
	got_free(&g);
	got_free(&all);
	free(cur);
	free(none);
}

static int progress_calls;
static uint64_t progress_last;
static void on_progress(const xeci_inbox_progress *p, void *payload)
{
	progress_calls++;
	progress_last = p->done;
}

/* The callback can stop the fetch; its error comes back; progress is told. */
static void callback_stops_and_progress(void **state)
{
	fixture *f = *state;
	xeci_inbox_cursor *cur = NULL;
	size_t ncur = 0;
	got g = {.stop_after = 3};

	assert_int_equal(xeci_inbox_git_fetch(f->inbox, NULL, &cur, &ncur, got_cb, &g, NULL, NULL), -42);
	assert_int_equal(g.n, 2);
	assert_string_equal(cur[0].commit, g.v[1].commit); /* moved up to what was taken */
	got_free(&g);
	assert_int_equal(xeci_inbox_git_fetch(f->inbox, NULL, &cur, &ncur, got_cb, &g, on_progress, NULL), 0);
	assert_int_equal(progress_calls, 1);
	assert_int_equal(progress_last, g.n);
	assert_string_equal(g.v[0].mid, "<a-3@xeci.test>");
	got_free(&g);
	free(cur);
}

static void assert_fails_naming(int rc, const char *what)
{
	assert_true(rc < 0);
	print_message("expected error: %s\n", xeci_error_last());
	assert_non_null(strstr(xeci_error_last(), what));
}

/* 404, 500, junk, silence and a missing directory: an error that names the
 * place. */
static void broken_sources(void **state)
{
	fixture *f = *state;
	xeci_inbox_cursor *cur = NULL;
	size_t ncur = 0;
	got g = {0};
	char url[256];

	snprintf(url, sizeof(url), "%snotfound/x", f->fake);
	assert_fails_naming(xeci_inbox_git_fetch(url, f->mirror, &cur, &ncur, got_cb, &g, NULL, NULL), url);
	snprintf(url, sizeof(url), "%serror/x", f->fake);
	assert_fails_naming(xeci_inbox_git_fetch(url, f->mirror, &cur, &ncur, got_cb, &g, NULL, NULL), "HTTP 500");
	snprintf(url, sizeof(url), "%sgarbage/x", f->fake);
	assert_fails_naming(xeci_inbox_git_fetch(url, f->mirror, &cur, &ncur, got_cb, &g, NULL, NULL),
			    "garbage/x/git/0.git");
	/* a git server that accepts and then says nothing: the fetch times out */
	snprintf(url, sizeof(url), "%sslowgit", f->fake);
	xeci_inbox_git_set_io_timeout(2);
	assert_fails_naming(xeci_inbox_git_fetch(url, f->mirror, &cur, &ncur, got_cb, &g, NULL, NULL), "timed out");
	assert_non_null(strstr(xeci_error_last(), "slowgit/git/0.git"));
	xeci_inbox_git_set_io_timeout(0);
	assert_fails_naming(xeci_inbox_git_fetch("/nonexistent/inbox", NULL, &cur, &ncur, got_cb, &g, NULL, NULL),
			    "/nonexistent/inbox");
	assert_int_equal(g.n, 0);
	free(cur);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(local_then_incremental),
		cmocka_unit_test(removal_is_reported),
		cmocka_unit_test(over_http),
		cmocka_unit_test(vanished_cursor_restarts_epoch),
		cmocka_unit_test(callback_stops_and_progress),
		cmocka_unit_test(broken_sources),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
