/* The pack reader against libgit2 on real repositories: a fast-import pack
 * (as public-inbox writes them), the same repacked with deep chains
 * (`git repack -adf --depth=50`), with REF_DELTA bases, then corrupt and
 * truncated copies (errors that name the object, never a crash). */
#define _GNU_SOURCE
#include <fcntl.h>
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

#include "buf.h"
#include "error.h"
#include "pack_read.h"
#include "util.h"

#define NMSG 400

typedef struct fixture {
	char dir[64];
	char repo[128];
} fixture;

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char *cmd = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	int rc = system(cmd);
	free(cmd);
	return rc;
}

/* A message of a few KB that changes a little from one to the next, so
 * that fast-import stores most as deltas of the previous one. */
static void message(xeci_buf *b, int i)
{
	xeci_buf_printf(b, "From: Author %d <a%d@xeci.test>\nSubject: [PATCH %d/9] part %d\n"
			   "Message-ID: <m%d@xeci.test>\n\n", i % 7, i % 7, i % 9 + 1, i, i);
	for (int l = 0; l < 60 + i % 40; l++)
		xeci_buf_printf(b, "line %d of the common text, with some words %d\n", l, (l * 7 + i / 10) % 13);
}

/* Writes a fast-import stream: one commit per message, tree = blob m (d
 * for every 50th, a removal), each on the previous. */
static void make_repo(fixture *f)
{
	xeci_buf s = XECI_BUF_INIT, m = XECI_BUF_INIT, path = XECI_BUF_INIT;
	for (int i = 0; i < NMSG; i++) {
		xeci_buf_clear(&m);
		message(&m, i);
		xeci_buf_printf(&s, "blob\nmark :%d\ndata %zu\n", 2 * i + 1, m.len);
		xeci_buf_put(&s, m.ptr, m.len);
		xeci_buf_printf(&s, "\ncommit refs/heads/master\nmark :%d\n"
				    "author A <a@xeci.test> %d +0000\ncommitter I <i@xeci.test> %d +0000\n"
				    "data 4\nmsg\ndeleteall\nM 100644 :%d %s\n\n",
				2 * i + 2, 1700000000 + i, 1700000000 + i, 2 * i + 1,
				i % 50 == 49 ? "d" : "m");
	}
	xeci_buf_printf(&path, "%s/stream", f->dir);
	assert_int_equal(xeci_file_write_atomic(path.ptr, s.ptr, s.len), 0);
	assert_int_equal(run("git init -q --bare %s && git -C %s fast-import --quiet < %s", f->repo, f->repo,
			     path.ptr), 0);
	xeci_buf_free(&s);
	xeci_buf_free(&m);
	xeci_buf_free(&path);
}

static int setup(void **state)
{
	fixture *f = xeci_calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/xeci-test-pack-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->repo, sizeof(f->repo), "%s/r.git", f->dir);
	git_libgit2_init();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	run("rm -rf %s", f->dir);
	git_libgit2_shutdown();
	free(f);
	return 0;
}

/* Every object of the packs read by both, compared; twice (the second
 * pass reads from the cache), then the history order a walk uses. */
static void compare_all(const char *repo_path)
{
	git_repository *repo;
	git_odb *odb;
	xeci_packs *p;
	assert_int_equal(git_repository_open_bare(&repo, repo_path), 0);
	assert_int_equal(git_repository_odb(&odb, repo), 0);
	assert_int_equal(xeci_packs_open(&p, repo_path), 0);
	size_t n = xeci_packs_count(p);
	assert_true(n >= NMSG * 3);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			const unsigned char *raw = xeci_packs_oid(p, i);
			git_oid oid;
			git_odb_object *obj;
			char *data;
			size_t len;
			int type;
			git_oid_fromraw(&oid, raw);
			assert_int_equal(git_odb_read(&obj, odb, &oid), 0);
			int rc = xeci_packs_read(&data, &len, &type, p, raw);
			if (rc)
				fail_msg("%s", xeci_error_last());
			assert_int_equal(type, (int)git_odb_object_type(obj));
			assert_int_equal(len, git_odb_object_size(obj));
			assert_memory_equal(data, git_odb_object_data(obj), len);
			assert_int_equal(data[len], '\0');
			free(data);
			git_odb_object_free(obj);
		}
	}
	xeci_packs_free(p);
	git_odb_free(odb);
	git_repository_free(repo);
}

static void test_fast_import(void **state)
{
	fixture *f = *state;
	make_repo(f);
	compare_all(f->repo);
}

static void test_repack_deep(void **state)
{
	fixture *f = *state;
	assert_int_equal(run("git -C %s repack -q -adf --depth=50 --window=50", f->repo), 0);
	compare_all(f->repo);
}

static void test_ref_delta(void **state)
{
	fixture *f = *state;
	assert_int_equal(run("git -C %s -c repack.useDeltaBaseOffset=false repack -q -adf --depth=50", f->repo), 0);
	compare_all(f->repo);
}

static void test_not_found(void **state)
{
	fixture *f = *state;
	xeci_packs *p;
	unsigned char oid[20];
	char *data;
	size_t len;
	int type;
	memset(oid, 0xab, sizeof(oid));
	assert_int_equal(xeci_packs_open(&p, f->repo), 0);
	assert_int_equal(xeci_packs_read(&data, &len, &type, p, oid), XECI_ENOTFOUND);
	xeci_packs_free(p);
	/* no packs at all: opens, finds nothing */
	assert_int_equal(xeci_packs_open(&p, "/nonexistent"), 0);
	assert_int_equal(xeci_packs_count(p), 0);
	assert_int_equal(xeci_packs_read(&data, &len, &type, p, oid), XECI_ENOTFOUND);
	xeci_packs_free(p);
}

static char *pack_file(const fixture *f, const char *ext)
{
	xeci_buf cmd = XECI_BUF_INIT;
	xeci_buf_printf(&cmd, "ls %s/objects/pack/*.%s", f->repo, ext);
	FILE *pp = popen(cmd.ptr, "r");
	char line[512] = "";
	assert_non_null(fgets(line, sizeof(line), pp));
	pclose(pp);
	line[strcspn(line, "\n")] = '\0';
	xeci_buf_free(&cmd);
	return xeci_strdup(line);
}

/* Reads every object of a damaged pack: each read succeeds or fails with
 * an error naming the object it was asked for. */
static void read_damaged(const char *idx, const char *pack)
{
	xeci_packs *p;
	int rc = xeci_packs_open_fds(&p, open(idx, O_RDONLY), open(pack, O_RDONLY));
	if (rc < 0)
		return; /* refused at open: fine too */
	size_t n = xeci_packs_count(p), bad = 0;
	for (size_t i = 0; i < n; i++) {
		const unsigned char *raw = xeci_packs_oid(p, i);
		char *data = NULL, hex[41];
		size_t len;
		int type;
		git_oid oid;
		git_oid_fromraw(&oid, raw);
		git_oid_tostr(hex, sizeof(hex), &oid);
		if ((rc = xeci_packs_read(&data, &len, &type, p, raw)) < 0) {
			assert_non_null(strstr(xeci_error_last(), hex));
			assert_null(data);
			bad++;
		}
		free(data);
	}
	xeci_packs_free(p);
	assert_true(bad > 0);
}

static void test_corrupt(void **state)
{
	fixture *f = *state;
	char *idx = pack_file(f, "idx"), *pack = pack_file(f, "pack");
	char bad[160];
	snprintf(bad, sizeof(bad), "%s/bad.pack", f->dir);
	struct stat st;
	assert_int_equal(stat(pack, &st), 0);
	/* bytes overwritten at a few places (headers, zlib data, deltas) */
	for (int k = 1; k <= 5; k++) {
		assert_int_equal(run("cp %s %s && printf '\\377\\377\\377\\377\\000\\001\\177' | dd of=%s bs=1 "
				     "seek=%lld conv=notrunc status=none", pack, bad, bad,
				     (long long)(st.st_size * k / 6)), 0);
		read_damaged(idx, bad);
	}
	/* cut in the middle */
	assert_int_equal(run("head -c %lld %s > %s", (long long)st.st_size / 2, pack, bad), 0);
	read_damaged(idx, bad);
	/* an idx cut short is refused */
	char badidx[160];
	snprintf(badidx, sizeof(badidx), "%s/bad.idx", f->dir);
	assert_int_equal(run("head -c 2000 %s > %s", idx, badidx), 0);
	xeci_packs *p;
	assert_true(xeci_packs_open_fds(&p, open(badidx, O_RDONLY), open(pack, O_RDONLY)) < 0);
	free(idx);
	free(pack);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fast_import),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_repack_deep),
		cmocka_unit_test(test_ref_delta),
		cmocka_unit_test(test_corrupt),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
