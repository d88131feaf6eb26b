/* The mbox reader splits as `git mailsplit -b` does (checked against git
 * itself on every corpus file, and on hand-made mboxo/mboxrd/CRLF/bare
 * inputs), from a file and from a buffer alike; the Maildir lister. */
#define _GNU_SOURCE
#include <dirent.h>
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
#include "mbox.h"
#include "util.h"

static char tmpdir[64];

static int setup(void **state)
{
	strcpy(tmpdir, "/tmp/xeci-test-mbox-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* Splits `path` with git mailsplit -b into a fresh directory and compares
 * each output file with what our reader gives, file and buffer mode. */
static void check_against_git(const char *path, unsigned flags)
{
	static int n;
	char out[256], cmd[8192];
	snprintf(out, sizeof(out), "%s/split%d", tmpdir, n++);
	assert_int_equal(xeci_mkdir_p(out, 0755), 0);
	snprintf(cmd, sizeof(cmd), "git mailsplit -b %s -o%s '%s' >/dev/null 2>&1", flags & XECI_MBOX_RD ? "--mboxrd" : "",
		 out, path);
	int git_rc = system(cmd);

	char *data;
	size_t dlen;
	assert_int_equal(xeci_file_read(&data, &dlen, path), 0);
	for (int mode = 0; mode < 2; mode++) {
		xeci_mbox *mb;
		if (mode == 0)
			assert_int_equal(xeci_mbox_open(&mb, path, flags), 0);
		else
			assert_int_equal(xeci_mbox_open_buffer(&mb, data, dlen, flags), 0);
		const char *msg;
		size_t len;
		int i = 0;
		while (xeci_mbox_next(&msg, &len, mb) == 0) {
			char name[512];
			snprintf(name, sizeof(name), "%s/%04d", out, ++i);
			char *want;
			size_t wlen;
			if (xeci_file_read(&want, &wlen, name) != 0)
				fail_msg("%s: we split more messages than git (%d)", path, i);
			if (wlen != len || memcmp(want, msg, len))
				fail_msg("%s: message %d differs from git mailsplit's", path, i);
			free(want);
		}
		char name[512];
		snprintf(name, sizeof(name), "%s/%04d", out, i + 1);
		if (access(name, F_OK) == 0)
			fail_msg("%s: git split more messages than we did (%d)", path, i);
		if (git_rc != 0 && i != 0)
			fail_msg("%s: git mailsplit failed but we split %d messages", path, i);
		xeci_mbox_free(mb);
	}
	free(data);
}

static void corpus_as_git(void **state)
{
	const char *corpus = getenv("XECI_CORPUS");
	assert_non_null(corpus);
	char root[4096];
	snprintf(root, sizeof(root), "%s/mail", corpus);
	DIR *d = opendir(root);
	assert_non_null(d);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || e->d_type == DT_REG)
			continue;
		char dir[4400];
		snprintf(dir, sizeof(dir), "%s/%s", root, e->d_name);
		DIR *sd = opendir(dir);
		assert_non_null(sd);
		struct dirent *f;
		while ((f = readdir(sd))) {
			size_t l = strlen(f->d_name);
			if (f->d_name[0] == '.' || (l > 6 && !strcmp(f->d_name + l - 6, ".jsonl")))
				continue;
			char path[4800];
			snprintf(path, sizeof(path), "%s/%s", dir, f->d_name);
			bool rd = l >= 6 && !strcmp(f->d_name + l - 6, "mboxrd");
			check_against_git(path, rd ? XECI_MBOX_RD : 0);
			if (!rd)
				check_against_git(path, XECI_MBOX_RD);
			files++;
		}
		closedir(sd);
	}
	closedir(d);
	assert_true(files > 30);
}

static const char handmade[] =
	"\n  \nFrom a@b Mon Sep 17 00:00:00 2001\r\n"
	"Subject: one\r\n\r\n"
	">From here\n>>From there\nFrom not a separator\n"
	"From x@y Tue Oct  3 12:00:00 2023\n"
	"Subject: two\n\nbody\r\r\nlast line without newline";

static void handmade_as_git(void **state)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/hand.mbox", tmpdir);
	write_file(path, handmade, sizeof(handmade) - 1);
	check_against_git(path, 0);
	check_against_git(path, XECI_MBOX_RD);

	/* mboxrd unquotes one '>' and keeps the split */
	xeci_mbox *mb;
	const char *msg;
	size_t len;
	assert_int_equal(xeci_mbox_open(&mb, path, XECI_MBOX_RD), 0);
	assert_int_equal(xeci_mbox_next(&msg, &len, mb), 0);
	assert_non_null(memmem(msg, len, "\nFrom here\n>From there\n", 23));
	assert_null(memmem(msg, len, "\r\n", 2));
	assert_int_equal(xeci_mbox_next(&msg, &len, mb), 0);
	assert_true(len > 5 && !memcmp(msg, "From x@y", 8));
	assert_int_equal(xeci_mbox_next(&msg, &len, mb), XECI_ITEROVER);
	assert_int_equal(xeci_mbox_next(&msg, &len, mb), XECI_ITEROVER);
	xeci_mbox_free(mb);

	/* a file without a "From " line is one message */
	snprintf(path, sizeof(path), "%s/bare.eml", tmpdir);
	static const char bare[] = "Subject: x\n\nFrom a@b Mon Sep 17 00:00:00 2001\nstill one\n";
	write_file(path, bare, sizeof(bare) - 1);
	check_against_git(path, 0);
	assert_int_equal(xeci_mbox_open(&mb, path, 0), 0);
	assert_int_equal(xeci_mbox_next(&msg, &len, mb), 0);
	assert_int_equal(len, sizeof(bare) - 1);
	assert_int_equal(xeci_mbox_next(&msg, &len, mb), XECI_ITEROVER);
	xeci_mbox_free(mb);
}

static void empty_and_missing(void **state)
{
	xeci_mbox *mb;
	const char *msg;
	size_t len;
	assert_int_equal(xeci_mbox_open_buffer(&mb, " \n\n", 3, 0), 0);
	assert_int_equal(xeci_mbox_next(&msg, &len, mb), XECI_ITEROVER);
	xeci_mbox_free(mb);
	assert_int_equal(xeci_mbox_open_buffer(&mb, "", 0, 0), 0);
	assert_int_equal(xeci_mbox_next(&msg, &len, mb), XECI_ITEROVER);
	xeci_mbox_free(mb);
	assert_int_equal(xeci_mbox_open(&mb, "/nonexistent/x.mbox", 0), XECI_EIO);
}

static void maildir(void **state)
{
	char path[256];
	const char *names[] = {"cur/1700000002.x:2,S", "new/1700000001.y", "cur/1700000003.z:2,", "new/.hidden"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/md/%s", tmpdir, names[i]);
		char dir[256];
		snprintf(dir, sizeof(dir), "%s", path);
		*strrchr(dir, '/') = '\0';
		assert_int_equal(xeci_mkdir_p(dir, 0755), 0);
		write_file(path, "Subject: x\n\n", 12);
	}
	char **paths;
	size_t n;
	snprintf(path, sizeof(path), "%s/md", tmpdir);
	assert_int_equal(xeci_maildir_list(&paths, &n, path), 0);
	assert_int_equal(n, 3);
	assert_non_null(strstr(paths[0], "new/1700000001.y"));
	assert_non_null(strstr(paths[1], "cur/1700000002.x"));
	assert_non_null(strstr(paths[2], "cur/1700000003.z"));
	xeci_maildir_list_free(paths, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(corpus_as_git),
		cmocka_unit_test(handmade_as_git),
		cmocka_unit_test(empty_and_missing),
		cmocka_unit_test(maildir),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
