/* The Atom transport against public-inbox-httpd: new messages come once,
 * oldest first, with the bytes the git transport reads; a gap of more than a
 * feed's worth falls back to whole threads and misses none of their
 * messages; 304, shared Message-IDs and broken servers are handled. */
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
#include "http.h"
#include "inbox.h"
#include "test_inbox_util.h"

typedef struct fixture {
	char dir[64];
	char *inbox;
	char *url;  /* http://127.0.0.1:PORT/test/ */
	char *fake; /* base URL of the misbehaving server */
	xeci_atom_state st; /* carried from test to test */
} fixture;

static int setup(void **state)
{
	fixture *f = xeci_calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/xeci-test-inbox-atom-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->inbox = pi_run("python3 \"$PI\" init %s test", f->dir);
	char *base = pi_run("python3 \"$PI\" serve %s --watch %d --cleanup", f->dir, (int)getpid());
	f->fake = pi_run("python3 \"$PI\" fake %s --watch %d", f->dir, (int)getpid());
	if (!f->inbox || !base || !f->fake)
		return -1;
	if (asprintf(&f->url, "%stest/", base) < 0)
		return -1;
	free(base);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	free(pi_run("python3 \"$PI\" stop %s; rm -rf %s", f->dir, f->dir));
	xeci_atom_state_clear(&f->st);
	free(f->inbox);
	free(f->url);
	free(f->fake);
	free(f);
	return 0;
}

static void gen(fixture *f, int n, const char *prefix, bool thread)
{
	char *ok = pi_run("python3 \"$PI\" gen %s test %d %s %s && echo ok", f->dir, n, prefix,
			  thread ? "--thread" : "");
	assert_non_null(ok);
	free(ok);
}

static int poll_atom(got *g, const char *url, xeci_atom_state *st)
{
	int rc = xeci_inbox_atom_fetch(url, st, got_cb, g);
	if (rc < 0)
		print_message("atom %s: %s\n", url, xeci_error_last());
	return rc;
}

static void assert_mid(const got_msg *m, const char *prefix, int i)
{
	char want[128];
	snprintf(want, sizeof(want), "<%s-%d@xeci.test>", prefix, i);
	assert_string_equal(m->mid, want);
	assert_null(m->error);
	assert_int_equal(m->epoch, -1);
	assert_null(m->commit);
}

static void first_poll_then_incremental(void **state)
{
	fixture *f = *state;
	got g = {0}, blobs = {0};
	xeci_inbox_cursor *cur = NULL;
	size_t ncur = 0;

	gen(f, 3, "a", false);
	assert_int_equal(poll_atom(&g, f->url, &f->st), 0);
	assert_int_equal(g.n, 3);
	for (int i = 0; i < 3; i++)
		assert_mid(&g.v[i], "a", i + 1);
	assert_int_equal(f->st.nseen_ids, 3);
	/* mboxrd undone: the same bytes as the git blob */
	assert_int_equal(xeci_inbox_git_fetch(f->inbox, NULL, &cur, &ncur, got_cb, &blobs, NULL, NULL), 0);
	assert_int_equal(blobs.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(g.v[i].len, blobs.v[i].len);
		assert_memory_equal(g.v[i].data, blobs.v[i].data, g.v[i].len);
	}
	got_free(&g);
	got_free(&blobs);
	free(cur);

	/* public-inbox sends no validators: the seen ids tell nothing is new */
	assert_int_equal(poll_atom(&g, f->url, &f->st), 0);
	assert_int_equal(g.n, 0);

	gen(f, 2, "b", false);
	assert_int_equal(poll_atom(&g, f->url, &f->st), 0);
	assert_int_equal(g.n, 2);
	assert_mid(&g.v[0], "b", 1);
	assert_mid(&g.v[1], "b", 2);
	got_free(&g);
}

/* 30 messages in 3 threads since the last poll: the feed holds 25 and none
 * seen before, so the threads are fetched whole: all 30, each once. */
static void gap_fetches_whole_threads(void **state)
{
	fixture *f = *state;
	got g = {0};
	const char *threads[] = {"t1", "t2", "t3"};

	for (int t = 0; t < 3; t++)
		gen(f, 10, threads[t], true);
	assert_int_equal(poll_atom(&g, f->url, &f->st), 0);
	assert_int_equal(g.n, 30);
	for (int t = 0; t < 3; t++) {
		for (int i = 1; i <= 10; i++) {
			char want[64];
			int found = 0;
			snprintf(want, sizeof(want), "<%s-%d@xeci.test>", threads[t], i);
			for (size_t k = 0; k < g.n; k++)
				found += strcmp(g.v[k].mid, want) == 0;
			assert_int_equal(found, 1);
		}
	}
	assert_int_equal(f->st.nseen_ids, 25);
	got_free(&g);
	assert_int_equal(poll_atom(&g, f->url, &f->st), 0);
	assert_int_equal(g.n, 0);
}

/* An ETag is sent back as If-None-Match; a 304 hands nothing over. MID/raw
 * with two messages of one Message-ID hands both over, unquoted. */
static void etag_and_shared_message_id(void **state)
{
	fixture *f = *state;
	xeci_atom_state st = {0};
	got g = {0};
	char *url;

	assert_true(asprintf(&url, "%setag/", f->fake) > 0);
	assert_int_equal(poll_atom(&g, url, &st), 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.v[0].data, "Message-ID: <dup@xeci.test>\nSubject: one\n\nFrom the first\n>From quoted\n");
	assert_string_equal(g.v[1].data, "Message-ID: <dup@xeci.test>\nSubject: two\n\nsecond\n");
	assert_string_equal(st.etag, "\"v1\"");
	got_free(&g);
	assert_int_equal(poll_atom(&g, url, &st), 0);
	assert_int_equal(g.n, 0);
	/* forgetting the seen ids but keeping the ETag: still a 304 */
	for (size_t i = 0; i < st.nseen_ids; i++)
		free(st.seen_ids[i]);
	free(st.seen_ids);
	st.seen_ids = NULL;
	st.nseen_ids = 0;
	assert_int_equal(poll_atom(&g, url, &st), 0);
	assert_int_equal(g.n, 0);
	xeci_atom_state_clear(&st);
	free(url);
}

/* A feed entry whose message is gone: handed over as an error, not fatal. */
static void missing_message_is_reported(void **state)
{
	fixture *f = *state;
	xeci_atom_state st = {0};
	got g = {0};
	char *url;

	assert_true(asprintf(&url, "%smissing", f->fake) > 0);
	assert_int_equal(poll_atom(&g, url, &st), 0);
	assert_int_equal(g.n, 1);
	assert_null(g.v[0].data);
	assert_non_null(g.v[0].error);
	assert_non_null(strstr(g.v[0].error, "missing/gone@xeci.test/raw"));
	assert_non_null(strstr(g.v[0].error, "404"));
	got_free(&g);
	xeci_atom_state_clear(&st);
	free(url);
}

static void assert_fails_naming(const char *fake, const char *path, const char *what)
{
	xeci_atom_state st = {0};
	got g = {0};
	char *url;

	assert_true(asprintf(&url, "%s%s", fake, path) > 0);
	assert_true(xeci_inbox_atom_fetch(url, &st, got_cb, &g) < 0);
	print_message("expected error: %s\n", xeci_error_last());
	assert_non_null(strstr(xeci_error_last(), url));
	assert_non_null(strstr(xeci_error_last(), what));
	assert_int_equal(g.n, 0);
	assert_int_equal(st.nseen_ids, 0);
	xeci_atom_state_clear(&st);
	free(url);
}

static void broken_servers(void **state)
{
	fixture *f = *state;

	assert_fails_naming(f->fake, "notfound/x", "HTTP 404");
	assert_fails_naming(f->fake, "error/x", "HTTP 500");
	assert_fails_naming(f->fake, "garbage/x", "not an Atom feed");
	/* a server that never answers: the transfer times out */
	xeci_http_set_default_timeout(2);
	assert_fails_naming(f->fake, "slow/x", "timed out");
	xeci_http_set_default_timeout(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_poll_then_incremental),
		cmocka_unit_test(gap_fetches_whole_threads),
		cmocka_unit_test(etag_and_shared_message_id),
		cmocka_unit_test(missing_message_is_reported),
		cmocka_unit_test(broken_servers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
