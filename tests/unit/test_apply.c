/* The apply stage's pieces through its C API: the path policy, the commit
 * message against `git stripspace` (what `git am` runs), and malformed or
 * hostile diffs on a real repository: an error in the result, never a
 * crash (run under ASan/UBSan), never a ref. */
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

#include "apply.h"
#include "error.h"
#include "util.h"

static char repo_dir[] = "/tmp/xeci-test-apply-XXXXXX";

static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	git_libgit2_init();
	if (!mkdtemp(repo_dir))
		return -1;
	sh("cd %s && git init -q -b master && mkdir -p d && printf 'a\\nb\\nc\\n' > d/f.c && "
	   "git add -A && git -c user.name=T -c user.email=t@x commit -q -m base", repo_dir);
	return 0;
}

static int teardown(void **state)
{
	sh("rm -rf %s", repo_dir);
	git_libgit2_shutdown();
	return 0;
}

static void test_check_path(void **state)
{
	static const char *const ok[] = {"a", "drivers/gpu/drm/xe/xe_vm.c", "a..b", "..a/b", ".gitignore",
					 "d/.gitattributes", "x/.git-foo/y", "a/...", NULL};
	static const char *const bad[] = {"", "/etc/passwd", "../x", "a/../../x", "a/..", "..",
					  ".git/config", "a/.git/hooks/x", ".GIT/config", "a/.Git",
					  "./x", "a/./b", "a\\..\\b", "\\x", NULL};
	for (int i = 0; ok[i]; i++)
		assert_int_equal(xeci_apply_check_path(ok[i]), 0);
	for (int i = 0; bad[i]; i++) {
		assert_int_equal(xeci_apply_check_path(bad[i]), XECI_EINVALID);
		assert_true(*xeci_error_last());
	}
}

/* git stripspace of "subject\n\nmessage" is the oracle. */
static char *git_stripspace(const char *subject, const char *message)
{
	char path[] = "/tmp/xeci-test-msg-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fprintf(f, "%s\n\n%s", subject, message);
	fclose(f);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "git stripspace < %s", path);
	FILE *p = popen(cmd, "r");
	char *out = xeci_calloc(1, 65536);
	size_t n = fread(out, 1, 65535, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	unlink(path);
	return out;
}

static void test_commit_message(void **state)
{
	static const char *const msgs[] = {
		"",
		"\n",
		"Body.\n\nSigned-off-by: A <a@x>\n",
		"\n\n\nLeading blanks.\n",
		"Trailing spaces   \nand tabs\t\t\n\n\n\nruns of blanks\n\n\n",
		"   \n \t \nonly-blank lines first\n",
		"# not a comment for git am\n\nReviewed-by: R <r@x>\n",
		"no final newline",
		"  indented\n    code\n",
		NULL,
	};
	for (int i = 0; msgs[i]; i++) {
		xeci_mail m = {0};
		m.subject_clean = (char *)"drm/xe: subject";
		m.message = (char *)msgs[i];
		char *ours = xeci_apply_commit_message(&m);
		char *want = git_stripspace(m.subject_clean, msgs[i]);
		if (strcmp(ours, want))
			fprintf(stderr, "case %d: want [%s] got [%s]\n", i, want, ours);
		assert_string_equal(ours, want);
		free(ours);
		free(want);
	}
}

static void expect_failure(const char *patch, size_t len, const char *want_error)
{
	git_repository *repo;
	xeci_mail m = {0};
	m.subject_clean = (char *)"bad";
	m.message = (char *)"";
	m.author_name = (char *)"A";
	m.author_email = (char *)"a@x";
	m.patch = (char *)patch;
	m.patch_len = len;
	const xeci_mail *mails[1] = {&m};
	xeci_apply_opts opts = {.ref = "refs/xeci/test/bad"};
	xeci_apply_result r;
	assert_int_equal(git_repository_open(&repo, repo_dir), 0);
	assert_int_equal(xeci_apply_series(&r, repo, mails, 1, NULL, &opts), 0);
	assert_false(r.applied);
	assert_int_equal(r.failed_index, 1);
	assert_non_null(r.error);
	if (want_error && !strstr(r.error, want_error))
		fail_msg("error '%s' lacks '%s'", r.error, want_error);
	assert_string_equal(r.commit, "");
	git_reference *ref;
	assert_int_equal(git_reference_lookup(&ref, repo, "refs/xeci/test/bad"), GIT_ENOTFOUND);
	xeci_apply_result_clear(&r);
	git_repository_free(repo);
}

#define HDR "diff --git a/d/f.c b/d/f.c\n--- a/d/f.c\n+++ b/d/f.c\n"

static void test_malformed(void **state)
{
	static const char nul[] = HDR "@@ -1,3 +1,3 @@\n a\n-b\n+\0\n c\n";
	expect_failure("", 0, "empty");
	expect_failure("garbage\n", 8, NULL);
	expect_failure(nul, sizeof(nul) - 1, "NUL");
	expect_failure(HDR "@@ -1,3 +1,3 @@\n a\n-b\n", strlen(HDR "@@ -1,3 +1,3 @@\n a\n-b\n"), NULL);
	expect_failure(HDR "@@ -99999999999999999999,1 +1 @@\n-a\n+z\n",
		       strlen(HDR "@@ -99999999999999999999,1 +1 @@\n-a\n+z\n"), NULL);
	expect_failure(HDR "@@ -4000000000,1 +4000000000,1 @@\n-a\n+z\n",
		       strlen(HDR "@@ -4000000000,1 +4000000000,1 @@\n-a\n+z\n"), NULL);
	expect_failure(HDR "@@ -2,1 +2,1 @@\n-zz\n+z\n", strlen(HDR "@@ -2,1 +2,1 @@\n-zz\n+z\n"), "hunk");
	static const char bin[] = "diff --git a/d/f.c b/d/f.c\nindex 1..2 100644\nGIT binary patch\n"
				  "delta 99999\nzcmV?d00001\n\nliteral 3\nKcmV?d00001\n\n";
	expect_failure(bin, sizeof(bin) - 1, NULL);
	/* every prefix of a valid patch: an error or a clean apply, no crash */
	static const char good[] = HDR "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n";
	git_repository *repo;
	assert_int_equal(git_repository_open(&repo, repo_dir), 0);
	for (size_t len = 0; len <= sizeof(good) - 1; len++) {
		xeci_mail m = {0};
		m.subject_clean = (char *)"prefix";
		m.author_name = (char *)"A";
		m.author_email = (char *)"a@x";
		m.patch = xeci_strndup(good, len);
		m.patch_len = len;
		const xeci_mail *mails[1] = {&m};
		xeci_apply_result r;
		assert_int_equal(xeci_apply_series(&r, repo, mails, 1, NULL, NULL), 0);
		assert_true(r.applied || r.error);
		xeci_apply_result_clear(&r);
		free(m.patch);
	}
	git_repository_free(repo);
}

/* The blob search's bound: with one commit allowed and the match deeper,
 * base detection gives the branch head. */
static void test_blob_bound(void **state)
{
	sh("cd %s && echo more >> d/f.c && git -c user.name=T -c user.email=t@x commit -q -am second",
	   repo_dir);
	static const char patch[] = "diff --git a/d/f.c b/d/f.c\nindex de98044..1111111 100644\n"
				    "--- a/d/f.c\n+++ b/d/f.c\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n";
	git_repository *repo;
	assert_int_equal(git_repository_open(&repo, repo_dir), 0);
	xeci_mail m = {0};
	m.patch = (char *)patch;
	m.patch_len = sizeof(patch) - 1;
	const xeci_mail *mails[1] = {&m};
	git_oid base, head;
	xeci_base_method method;
	int bad;
	xeci_apply_opts opts = {.max_commits = 1};
	assert_int_equal(xeci_apply_branch_head(&head, repo, NULL), 0);
	assert_int_equal(xeci_apply_find_base(&base, &method, &bad, repo, mails, 1, NULL, &opts, false), 0);
	assert_int_equal(method, XECI_BASE_BRANCH_HEAD);
	assert_true(git_oid_equal(&base, &head));
	opts.max_commits = 0;
	assert_int_equal(xeci_apply_find_base(&base, &method, &bad, repo, mails, 1, NULL, &opts, false), 0);
	assert_int_equal(method, XECI_BASE_BLOBS);
	assert_false(git_oid_equal(&base, &head));
	/* an unknown base-commit is not taken on trust */
	assert_int_equal(xeci_apply_find_base(&base, &method, &bad, repo, mails, 1,
					      "0123456789abcdef0123456789abcdef01234567", &opts, false), 0);
	assert_int_equal(method, XECI_BASE_BLOBS);
	git_repository_free(repo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_path),
		cmocka_unit_test(test_commit_message),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_blob_bound),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
