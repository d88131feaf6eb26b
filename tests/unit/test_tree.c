/* Tree mirrors against real git repositories made with the git CLI: the
 * first sync creates the mirror with the branch, later syncs fetch what is
 * new upstream, and a missing source or branch gives an error naming it.
 * Over http, a public-inbox epoch (a plain git repository served by
 * public-inbox-httpd) stands in for a kernel tree, and pi.py's fake server
 * for a broken or stalled one. */
#define _GNU_SOURCE
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
#include "tree.h"

#define GIT "git -c user.name=T -c user.email=t@example.org -c init.defaultBranch=main "

typedef struct fixture {
	char dir[64];
	char src[128];
	char data[128];
} fixture;

/* Runs a shell command; returns its first output line (caller frees), or
 * NULL when it fails. */
static char *sh(const char *fmt, ...)
{
	char line[512] = "", *cmd = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		cmd = NULL;
	va_end(ap);
	assert_non_null(cmd);
	FILE *p = popen(cmd, "r");
	free(cmd);
	assert_non_null(p);
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	while (fgetc(p) != EOF)
		;
	if (pclose(p) != 0)
		return NULL;
	line[strcspn(line, "\n")] = '\0';
	return strdup(line);
}

static char *commit(fixture *f, const char *msg)
{
	free(sh(GIT "-C %s commit -q --allow-empty -m %s", f->src, msg));
	return sh("git -C %s rev-parse HEAD", f->src);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/xeci-test-tree-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->src, sizeof(f->src), "%s/src", f->dir);
	snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
	char *ok = sh(GIT "init -q %s && echo ok", f->src);
	if (!ok)
		return -1;
	free(ok);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	free(sh("rm -rf %s", f->dir));
	free(f);
	return 0;
}

static void assert_head(fixture *f, const xeci_config_tree *t, const char *want)
{
	git_oid oid;
	char hex[GIT_OID_HEXSZ + 1];
	if (xeci_tree_head(&oid, t, f->data) < 0)
		fail_msg("head: %s", xeci_error_last());
	git_oid_tostr(hex, sizeof(hex), &oid);
	assert_string_equal(hex, want);
}

static void sync_ok(fixture *f, const xeci_config_tree *t)
{
	if (xeci_tree_mirror_sync(t, f->data) < 0)
		fail_msg("sync: %s", xeci_error_last());
}

static void first_sync_then_new_commits(void **state)
{
	fixture *f = *state;
	xeci_config_tree t = {.name = "xe", .url = f->src, .branch = "main", .fetch_interval = 60};
	char *c1 = commit(f, "one");
	free(sh(GIT "-C %s branch other", f->src));
	sync_ok(f, &t);
	char *path = xeci_tree_mirror_path(&t, f->data);
	char *bare = sh("git -C %s rev-parse --is-bare-repository", path);
	assert_string_equal(bare, "true");
	char *other = sh("git -C %s rev-parse refs/heads/other", path);
	assert_string_equal(other, c1);
	assert_head(f, &t, c1);

	char *c2 = commit(f, "two");
	char *c3 = commit(f, "three");
	assert_head(f, &t, c1); /* the head is the mirror's, as of the last sync */
	free(sh("git -C %s branch -D other", f->src));
	sync_ok(f, &t);
	assert_head(f, &t, c3);
	/* a branch deleted upstream goes from the mirror too */
	assert_null(sh("git -C %s rev-parse -q --verify refs/heads/other", path));
	/* file:// works as a path does */
	char url[160];
	snprintf(url, sizeof(url), "file://%s", f->src);
	t.url = url;
	sync_ok(f, &t);
	assert_head(f, &t, c3);
	free(c1), free(c2), free(c3), free(bare), free(other), free(path);
}

static void missing_source_or_branch_is_named(void **state)
{
	fixture *f = *state;
	char url[160];
	snprintf(url, sizeof(url), "%s/no-such-repo", f->dir);
	xeci_config_tree t = {.name = "gone", .url = url, .branch = "main", .fetch_interval = 60};
	assert_true(xeci_tree_mirror_sync(&t, f->data) < 0);
	if (!strstr(xeci_error_last(), "no-such-repo") || !strstr(xeci_error_last(), "tree gone"))
		fail_msg("error does not name the url: %s", xeci_error_last());

	xeci_config_tree b = {.name = "nobranch", .url = f->src, .branch = "no-such-branch"};
	free(commit(f, "x"));
	assert_true(xeci_tree_mirror_sync(&b, f->data) < 0);
	if (!strstr(xeci_error_last(), "no-such-branch"))
		fail_msg("error does not name the branch: %s", xeci_error_last());
	git_oid oid;
	assert_true(xeci_tree_head(&oid, &b, f->data) < 0);
	assert_non_null(strstr(xeci_error_last(), "no-such-branch"));
}

typedef struct http_fixture {
	char dir[64];
	char *inbox; /* its git/0.git is the "tree" */
	char *url;   /* http://127.0.0.1:PORT/test */
	char *fake;
} http_fixture;

static int http_setup(void **state)
{
	http_fixture *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/xeci-test-tree-http-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->inbox = pi_run("python3 \"$PI\" init %s test", f->dir);
	char *ok = pi_run("python3 \"$PI\" gen %s test 3 a && echo ok", f->dir);
	char *base = pi_run("python3 \"$PI\" serve %s --watch %d --cleanup", f->dir, (int)getpid());
	f->fake = pi_run("python3 \"$PI\" fake %s --watch %d", f->dir, (int)getpid());
	if (!f->inbox || !ok || !base || !f->fake)
		return -1;
	if (asprintf(&f->url, "%stest/git/0.git", base) < 0)
		return -1;
	free(ok);
	free(base);
	*state = f;
	return 0;
}

static int http_teardown(void **state)
{
	http_fixture *f = *state;
	free(pi_run("python3 \"$PI\" stop %s; rm -rf %s", f->dir, f->dir));
	free(f->inbox);
	free(f->url);
	free(f->fake);
	free(f);
	return 0;
}

static void fails_naming(const xeci_config_tree *t, const char *data, const char *needle)
{
	assert_true(xeci_tree_mirror_sync(t, data) < 0);
	if (!strstr(xeci_error_last(), needle))
		fail_msg("error '%s' does not say '%s'", xeci_error_last(), needle);
}

static void over_http(void **state)
{
	http_fixture *f = *state;
	char data[128], url[256];
	snprintf(data, sizeof(data), "%s/data", f->dir);
	xeci_config_tree t = {.name = "web", .url = f->url, .branch = "master", .fetch_interval = 60};
	if (xeci_tree_mirror_sync(&t, data) < 0)
		fail_msg("sync: %s", xeci_error_last());
	char *want = sh("git -C %s/git/0.git rev-parse refs/heads/master", f->inbox);
	git_oid oid;
	char hex[GIT_OID_HEXSZ + 1];
	assert_int_equal(xeci_tree_head(&oid, &t, data), 0);
	assert_string_equal(git_oid_tostr(hex, sizeof(hex), &oid), want);
	free(want);

	xeci_config_tree bad = {.name = "bad", .url = url, .branch = "master", .fetch_interval = 60};
	snprintf(url, sizeof(url), "%snotfound/linux.git", f->fake);
	fails_naming(&bad, data, "notfound/linux.git");
	/* a server that accepts and then says nothing: the inbox timeouts apply */
	snprintf(url, sizeof(url), "%sslowgit/linux.git", f->fake);
	xeci_inbox_git_set_io_timeout(2);
	fails_naming(&bad, data, "timed out");
	xeci_inbox_git_set_io_timeout(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(first_sync_then_new_commits, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_source_or_branch_is_named, setup, teardown),
		cmocka_unit_test_setup_teardown(over_http, http_setup, http_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
