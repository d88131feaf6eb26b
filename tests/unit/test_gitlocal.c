/* gitdir.c and the plain (libgit2-free) inbox walk against libgit2
 * itself: for whatever the readers accept they must give what libgit2
 * gives (refs, loose objects), and an inbox
 * walk must hand over the same messages, errors and cursors with or without
 * libgit2, on epochs git made: packs, loose objects (a small fast-import),
 * packed-refs, a removal, a second epoch, a cursor that is gone. */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <git2.h>

#include "error.h"
#include "gitdir.h"
#include "inbox.h"
#include "pack_read.h"
#include "test_inbox_util.h"

static char dir[64];

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	int rc = system(cmd);
	if (rc != 0)
		print_message("failed (%d): %s\n", rc, cmd);
	assert_int_equal(rc, 0);
	free(cmd);
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/xeci-test-gitlocal-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	git_libgit2_init();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	git_libgit2_shutdown();
	return system(cmd) == 0 ? 0 : -1;
}

/* --- config -------------------------------------------------------------- */

/* --- epochs made by git --------------------------------------------------- */

/* Appends n messages (PREFIX-i) to master of the bare repository `repo` with
 * git fast-import: fewer than 34 (100 objects) come out loose. remove >= 0:
 * then one commit removing message `remove` (a tree holding d). */
static void import(const char *repo, const char *prefix, int n, int remove, bool first)
{
	char path[256];
	snprintf(path, sizeof(path), "%s.fi", repo);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 1; i <= n + (remove >= 0); i++) {
		char mail[512];
		bool rm = i > n;
		int k = rm ? remove : i;
		int len = snprintf(mail, sizeof(mail),
				   "From: A U Thor <a@xeci.test>\nSubject: %s %d\nMessage-ID: <%s-%d@xeci.test>\n"
				   "Date: Mon, 01 Jan 2024 00:00:00 +0000\n\nbody %d\n",
				   prefix, k, prefix, k, k);
		fprintf(f, "commit refs/heads/master\ncommitter I <i@xeci.test> %d +0000\ndata 4\nmsg\n",
			1700000000 + i);
		if (!first && i == 1)
			fprintf(f, "from refs/heads/master^0\n");
		fprintf(f, rm ? "deleteall\nM 100644 inline d\ndata %d\n%s\n" : "M 100644 inline m\ndata %d\n%s\n",
			len, mail);
	}
	fprintf(f, "done\n");
	fclose(f);
	sh("git -C %s fast-import --quiet --done < %s", repo, path);
}

static void make_epoch(const char *repo)
{
	sh("git init -q --bare -b master %s", repo);
}

/* libgit2's answer for a ref: 0 with oid, or its error code. */
static int libgit2_ref(git_oid *oid, const char *repo, const char *name)
{
	git_repository *r;
	if (git_repository_open_bare(&r, repo) < 0)
		return -100;
	int rc = git_reference_name_to_id(oid, r, name);
	git_repository_free(r);
	return rc;
}

static void assert_ref_same(const char *repo, const char *name)
{
	unsigned char ours[20];
	git_oid theirs;
	int rc = xeci_gitdir_ref(ours, repo, name), trc = libgit2_ref(&theirs, repo, name);
	if (rc == 0) {
		assert_int_equal(trc, 0);
		assert_memory_equal(ours, theirs.id, 20);
	} else if (rc == XECI_ENOTFOUND) {
		assert_int_equal(trc, GIT_ENOTFOUND);
	} else {
		assert_int_equal(rc, XECI_EINVALID);
	}
}

/* Every loose object of repo reads as libgit2 reads it. */
static size_t assert_loose_same(const char *repo)
{
	git_repository *r;
	git_odb *odb;
	size_t n = 0;
	assert_int_equal(git_repository_open_bare(&r, repo), 0);
	assert_int_equal(git_repository_odb(&odb, r), 0);
	for (int d = 0; d < 256; d++) {
		char sub[300];
		snprintf(sub, sizeof(sub), "%s/objects/%02x", repo, d);
		DIR *dd = opendir(sub);
		struct dirent *de;
		while (dd && (de = readdir(dd)) != NULL) {
			char hex[41];
			unsigned char oid[20];
			if (strlen(de->d_name) != 38)
				continue;
			snprintf(hex, sizeof(hex), "%02x%.38s", d, de->d_name);
			assert_int_equal(xeci_gitdir_oid_fromhex(oid, hex), 0);
			char *data;
			size_t len;
			int type;
			git_odb_object *o;
			git_oid goid;
			assert_int_equal(xeci_gitdir_loose_read(&data, &len, &type, repo, oid), 0);
			git_oid_fromraw(&goid, oid);
			assert_int_equal(git_odb_read(&o, odb, &goid), 0);
			assert_int_equal(type, (int)git_odb_object_type(o));
			assert_int_equal(len, git_odb_object_size(o));
			assert_memory_equal(data, git_odb_object_data(o), len);
			git_odb_object_free(o);
			free(data);
			n++;
		}
		if (dd)
			closedir(dd);
	}
	git_odb_free(odb);
	git_repository_free(r);
	return n;
}

static void refs_and_objects_match_libgit2(void **state)
{
	(void)state;
	char repo[128], path[200];
	snprintf(repo, sizeof(repo), "%s/r.git", dir);
	make_epoch(repo);
	assert_int_equal(xeci_gitdir_check(repo), 0);
	assert_ref_same(repo, "refs/heads/master"); /* none yet */
	import(repo, "p", 60, -1, true);             /* a pack */
	import(repo, "l", 3, 1, false);              /* loose */
	assert_true(assert_loose_same(repo) >= 11); /* the removed mail is the blob of l-1 */
	assert_ref_same(repo, "refs/heads/master");
	sh("git -C %s pack-refs --all", repo); /* master only in packed-refs now */
	snprintf(path, sizeof(path), "%s/refs/heads/master", repo);
	assert_int_equal(access(path, F_OK), -1);
	assert_ref_same(repo, "refs/heads/master");
	sh("git -C %s update-ref refs/heads/other refs/heads/master~2 && git -C %s pack-refs --all", repo, repo);
	import(repo, "m", 2, -1, false); /* a loose master over the packed one */
	assert_ref_same(repo, "refs/heads/master");
	assert_ref_same(repo, "refs/heads/other");
	assert_ref_same(repo, "refs/heads/none");
	/* what is left to libgit2 */
	sh("git -C %s symbolic-ref refs/heads/sym refs/heads/master", repo);
	unsigned char oid[20];
	assert_int_equal(xeci_gitdir_ref(oid, repo, "refs/heads/sym"), XECI_EINVALID);
	snprintf(path, sizeof(path), "%s/refs/heads/bad", repo);
	write_file(path, "not an id\n", 10);
	assert_int_equal(xeci_gitdir_ref(oid, repo, "refs/heads/bad"), XECI_EINVALID);
	assert_int_equal(xeci_gitdir_ref(oid, repo, "HEAD"), XECI_EINVALID);
	assert_int_equal(xeci_gitdir_ref(oid, repo, "refs/heads/../x"), XECI_EINVALID);
	/* packed-refs as git writes it; and a file that claims sorted but is not */
	static const char packed[] = "# pack-refs with: peeled fully-peeled sorted \n"
				     "1111111111111111111111111111111111111111 refs/heads/a\n"
				     "2222222222222222222222222222222222222222 refs/tags/t\n"
				     "^3333333333333333333333333333333333333333\n";
	assert_int_equal(xeci_gitdir_packed_find(oid, packed, strlen(packed), "refs/tags/t"), 0);
	assert_int_equal(oid[0], 0x22);
	assert_int_equal(xeci_gitdir_packed_find(oid, packed, strlen(packed), "refs/heads/b"), XECI_ENOTFOUND);
	static const char unsorted[] = "# pack-refs with: peeled fully-peeled sorted \n"
				       "2222222222222222222222222222222222222222 refs/tags/t\n"
				       "1111111111111111111111111111111111111111 refs/heads/a\n";
	assert_int_equal(xeci_gitdir_packed_find(oid, unsorted, strlen(unsorted), "refs/heads/a"), XECI_EINVALID);
	assert_int_equal(xeci_gitdir_packed_find(oid, packed, strlen(packed) - 1, "refs/heads/a"), XECI_EINVALID);
	/* repositories libgit2 must judge */
	sh("git -C %s config core.repositoryformatversion 1 && git -C %s config extensions.noop true", repo, repo);
	assert_int_equal(xeci_gitdir_check(repo), XECI_EINVALID);
	sh("git -C %s config --unset extensions.noop && git -C %s config core.repositoryformatversion 0", repo,
	   repo);
	assert_int_equal(xeci_gitdir_check(repo), 0);
	sh("chown -R 65534 %s", repo);
	assert_int_equal(xeci_gitdir_check(repo), XECI_EINVALID); /* another user's */
	sh("chown -R %d %s", (int)geteuid(), repo);
	snprintf(path, sizeof(path), "%s/not-a-repo", dir);
	assert_int_equal(xeci_gitdir_check(path), XECI_EINVALID);
}

/* --- the inbox walk, plain and through libgit2 ---------------------------- */

static void assert_got_same(const got *a, const got *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_string_equal(a->v[i].mid, b->v[i].mid);
		assert_int_equal(a->v[i].len, b->v[i].len);
		if (a->v[i].len)
			assert_memory_equal(a->v[i].data, b->v[i].data, a->v[i].len);
		assert_int_equal(a->v[i].removed, b->v[i].removed);
		assert_int_equal(!a->v[i].error, !b->v[i].error);
		if (a->v[i].error)
			assert_string_equal(a->v[i].error, b->v[i].error);
		assert_string_equal(a->v[i].commit, b->v[i].commit);
		assert_int_equal(a->v[i].epoch, b->v[i].epoch);
	}
}

/* Fetches the inbox from `cur` both ways; returns the count handed over
 * and leaves cur where the walk left it (the same both ways). libgit2:
 * whether the plain walk may need libgit2 (else it must not open a repository). */
static size_t walk_both_(const char *inbox, xeci_inbox_cursor **cur, size_t *ncur, bool libgit2)
{
	unsigned opens = xeci_inbox_git_libgit2_opens();
	got plain = {0}, lib = {0};
	xeci_inbox_cursor *c2 = xeci_malloc((*ncur + 1) * sizeof(*c2));
	size_t n2 = *ncur;
	if (*ncur)
		memcpy(c2, *cur, *ncur * sizeof(*c2));
	xeci_inbox_git_set_plain(true);
	int rc = xeci_inbox_git_fetch(inbox, NULL, cur, ncur, got_cb, &plain, NULL, NULL);
	if (!libgit2)
		assert_int_equal(xeci_inbox_git_libgit2_opens(), opens);
	xeci_inbox_git_set_plain(false);
	int rc2 = xeci_inbox_git_fetch(inbox, NULL, &c2, &n2, got_cb, &lib, NULL, NULL);
	xeci_inbox_git_set_plain(true);
	assert_int_equal(rc, rc2);
	assert_got_same(&plain, &lib);
	assert_int_equal(*ncur, n2);
	for (size_t i = 0; i < n2; i++) {
		assert_int_equal((*cur)[i].epoch, c2[i].epoch);
		assert_string_equal((*cur)[i].commit, c2[i].commit);
	}
	size_t n = plain.n;
	got_free(&plain);
	got_free(&lib);
	free(c2);
	return n;
}

static size_t walk_both(const char *inbox, xeci_inbox_cursor **cur, size_t *ncur)
{
	return walk_both_(inbox, cur, ncur, false);
}

/* walk_both from no cursor; the count handed over. */
static size_t walk_cold(const char *inbox)
{
	xeci_inbox_cursor *cur = NULL;
	size_t ncur = 0, n = walk_both(inbox, &cur, &ncur);
	free(cur);
	return n;
}

static void walk_plain_matches_libgit2(void **state)
{
	(void)state;
	char inbox[128], e0[192], e1[192];
	snprintf(inbox, sizeof(inbox), "%s/inbox", dir);
	snprintf(e0, sizeof(e0), "%s/git/0.git", inbox);
	snprintf(e1, sizeof(e1), "%s/git/1.git", inbox);
	sh("mkdir -p %s/git", inbox);
	make_epoch(e0);
	xeci_inbox_cursor *cur = NULL;
	size_t ncur = 0;
	assert_int_equal(walk_both(inbox, &cur, &ncur), 0); /* no master yet */
	import(e0, "a", 50, -1, true);
	assert_int_equal(walk_both(inbox, &cur, &ncur), 50);
	xeci_inbox_cursor mid = cur[0];
	import(e0, "b", 2, 3, false); /* loose objects, and a removal */
	assert_int_equal(walk_both(inbox, &cur, &ncur), 3);
	assert_int_equal(walk_both(inbox, &cur, &ncur), 0);
	sh("git -C %s pack-refs --all", e0);
	import(e0, "c", 1, -1, false);
	assert_int_equal(walk_both(inbox, &cur, &ncur), 1);
	/* a new epoch */
	make_epoch(e1);
	import(e1, "d", 40, -1, true);
	assert_int_equal(walk_both(inbox, &cur, &ncur), 40);
	assert_int_equal(ncur, 2);
	/* from an older cursor, from none, from one that is gone (both warn) */
	xeci_inbox_cursor *old = xeci_malloc(sizeof(*old));
	size_t nold = 1;
	old[0] = mid;
	assert_int_equal(walk_both(inbox, &old, &nold), 4 + 40);
	free(old);
	old = NULL;
	nold = 0;
	assert_int_equal(walk_both(inbox, &old, &nold), 54 + 40);
	snprintf(old[0].commit, sizeof(old[0].commit), "%s", "0123456789012345678901234567890123456789");
	assert_int_equal(walk_both_(inbox, &old, &nold, true), 54);
	free(old);
	/* after git gc: one pack, packed refs */
	sh("git -C %s gc -q", e0);
	assert_int_equal(walk_cold(inbox), 54 + 40);
	free(cur);
}

/* A first walk of an epoch of over 30,000 objects runs its older half on a
 * second thread (inbox_git.c, list_all), from a commit guessed near the
 * middle: in fast-import's order, after git gc (newest first), and with the
 * guess off master's chain (master moved back: the pack holds more than it
 * reaches), the walk gives what libgit2's gives. */
static void big_epoch_walks_in_two_halves(void **state)
{
	(void)state;
	char inbox[128], e0[192];
	snprintf(inbox, sizeof(inbox), "%s/big", dir);
	snprintf(e0, sizeof(e0), "%s/git/0.git", inbox);
	sh("mkdir -p %s/git", inbox);
	make_epoch(e0);
	import(e0, "big", 12000, -1, true);
	unsigned on0, off0, on, off;
	xeci_inbox_git_split_walks(&on0, &off0);
	assert_int_equal(walk_cold(inbox), 12000);
	xeci_inbox_git_split_walks(&on, &off);
	assert_int_equal(on - on0, 1); /* the plain walk split, on the chain */
	sh("git -C %s gc -q", e0);
	assert_int_equal(walk_cold(inbox), 12000);
	xeci_inbox_git_split_walks(&on, &off);
	assert_int_equal(on - on0, 2);
	/* master moved back: the pack's middle commit is past its tip */
	sh("git -C %s update-ref refs/heads/master master~11900", e0);
	assert_int_equal(walk_cold(inbox), 100);
	xeci_inbox_git_split_walks(&on, &off);
	assert_int_equal(off - off0, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(refs_and_objects_match_libgit2),
		cmocka_unit_test(walk_plain_matches_libgit2),
		cmocka_unit_test(big_epoch_walks_in_two_halves),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
