/* xeci_mail_json_text writes the same bytes as jansson's
 * json_dumps(xeci_mail_to_json(m), JSON_COMPACT): on every test mail, every
 * message of the corpus mboxes, and hand-made mails with every escape and
 * with strings jansson refuses. */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail.h"
#include "mail_json_write.h"
#include "mbox.h"
#include "util.h"

static int compared;

static void same_text(const xeci_mail *m, const char *what)
{
	json_t *j = xeci_mail_to_json(m);
	char *want = json_dumps(j, JSON_COMPACT);
	char *got = xeci_mail_json_text(m);
	if (strcmp(want, got))
		fail_msg("%s:\n  want %s\n  got  %s", what, want, got);
	compared++;
	free(want);
	free(got);
	json_decref(j);
}

static void each_message(const char *path)
{
	char *raw;
	size_t len;
	xeci_mbox *mb;
	const char *msg;
	size_t mlen;
	if (xeci_file_read(&raw, &len, path) != 0)
		return;
	if (xeci_mbox_open_buffer(&mb, raw, len, 0) != 0) {
		free(raw);
		return;
	}
	while (xeci_mbox_next(&msg, &mlen, mb) == 0) {
		xeci_mail *m;
		if (xeci_mail_parse(&m, msg, mlen, 0) != 0)
			continue;
		same_text(m, path);
		xeci_mail_free(m);
	}
	xeci_mbox_free(mb);
	free(raw);
}

static void each_file(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[4400];
		size_t l = strlen(e->d_name), sl = strlen(suffix);
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_type == DT_DIR)
			each_file(path, suffix);
		else if (l >= sl && !strcmp(e->d_name + l - sl, suffix))
			each_message(path);
	}
	closedir(d);
}

static void test_data_and_corpus(void **state)
{
	(void)state;
	char dir[4000];
	const char *src = getenv("XECI_SRC"), *corpus = getenv("XECI_CORPUS");
	assert_non_null(src);
	snprintf(dir, sizeof(dir), "%s/tests/data", src);
	each_file(dir, ".eml");
	each_file(dir, ".mbox");
	if (corpus) {
		each_file(corpus, ".mbox");
		each_file(corpus, ".eml");
	}
	assert_true(compared > 30);
}

static void test_escapes_and_refusals(void **state)
{
	(void)state;
	static const char *strings[] = {
		"plain", "quote \" backslash \\ slash /", "\b\f\n\r\t", "\x01\x1f\x7f",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "", "\xc3\x28", "\xc0\xaf",
		"\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\xff",
	};
	for (size_t i = 0; i < sizeof(strings) / sizeof(*strings); i++) {
		char *refs[] = {(char *)strings[i], "ok"};
		xeci_trailer tr[] = {{"Acked-by", (char *)strings[i]}, {(char *)strings[i], "x"}};
		xeci_mail m = {0};
		m.message_id = (char *)strings[i];
		m.subject = (char *)strings[i];
		m.references = refs;
		m.nreferences = 2;
		m.trailers = tr;
		m.ntrailers = 2;
		m.date = i ? 1700000000 + (int64_t)i : 0;
		m.tags.version = 2;
		m.tags.index = (int)i - 1;
		m.tags.total = 7;
		m.has_patch = i % 2;
		memset(m.patch_sha256, 'a', 64);
		same_text(&m, strings[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_and_corpus),
		cmocka_unit_test(test_escapes_and_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
