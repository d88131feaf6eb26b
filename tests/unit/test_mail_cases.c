/* Data-driven mail cases: tests/data/mail/NAME.eml with NAME.json beside it.
 * Every key of NAME.json is compared with the parser's JSON ("message" with
 * the commit message); the mailinfo keys were made by real git
 * (tests/data/mail/mailinfo_expected.py). "_error": true means the input is
 * no mail and must fail cleanly; "_options" sets parse options. Each parsed
 * mail also survives to_json -> from_json -> to_json unchanged. */
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

#include "error.h"
#include "mail.h"
#include "mbox.h"
#include "util.h"

static int bad;

static void report(const char *name, const char *key, const json_t *want, const json_t *got)
{
	char *w = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
	char *g = got ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	fprintf(stderr, "MISMATCH %s %s:\n  want %s\n  got  %s\n", name, key, w, g ? g : "(missing)");
	free(w);
	free(g);
	bad++;
}

static void round_trip(const char *name, const xeci_mail *m, json_t *j)
{
	xeci_mail *back;
	if (xeci_mail_from_json(&back, j) != 0) {
		fprintf(stderr, "MISMATCH %s: from_json failed: %s\n", name, xeci_error_last());
		bad++;
		return;
	}
	assert_null(back->message);
	assert_null(back->patch);
	assert_int_equal(back->has_patch, m->has_patch);
	json_t *again = xeci_mail_to_json(back);
	if (!json_equal(j, again))
		report(name, "round trip", j, again);
	/* and through text, as the store keeps it */
	char *s = json_dumps(j, JSON_COMPACT);
	json_error_t err;
	json_t *parsed = json_loads(s, 0, &err);
	assert_non_null(parsed);
	assert_true(json_equal(parsed, j));
	json_decref(parsed);
	free(s);
	json_decref(again);
	xeci_mail_free(back);
}

static void check_case(const char *dir, const char *name)
{
	char path[4400];
	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	json_error_t err;
	json_t *want = json_load_file(path, 0, &err);
	if (!want)
		fail_msg("%s: %s", path, err.text);
	snprintf(path, sizeof(path), "%s/%s.eml", dir, name);
	char *raw;
	size_t len;
	assert_int_equal(xeci_file_read(&raw, &len, path), 0);

	/* as `git mailsplit -b` hands it to mailinfo */
	xeci_mbox *mb;
	const char *msg = raw;
	size_t mlen = len;
	assert_int_equal(xeci_mbox_open_buffer(&mb, raw, len, 0), 0);
	if (xeci_mbox_next(&msg, &mlen, mb) != 0)
		msg = raw, mlen = len;

	xeci_mail_opts opts = {0};
	opts.scissors = json_is_true(json_object_get(json_object_get(want, "_options"), "scissors"));
	xeci_mail *m = NULL;
	int rc = xeci_mail_parse_ext(&m, msg, mlen, &opts);
	if (json_is_true(json_object_get(want, "_error"))) {
		if (rc >= 0) {
			fprintf(stderr, "MISMATCH %s: parsed, expected an error\n", name);
			bad++;
		} else {
			assert_true(strlen(xeci_error_last()) > 0);
		}
		goto out;
	}
	if (rc < 0) {
		fprintf(stderr, "MISMATCH %s: parse failed: %s\n", name, xeci_error_last());
		bad++;
		goto out;
	}
	json_t *got = xeci_mail_to_json(m);
	const char *key;
	json_t *v;
	json_object_foreach(want, key, v) {
		if (key[0] == '_')
			continue;
		if (!strcmp(key, "message")) {
			json_t *mj = json_string(m->message ? m->message : "");
			if (!json_equal(v, mj))
				report(name, key, v, mj);
			json_decref(mj);
			continue;
		}
		json_t *g = json_object_get(got, key);
		if (!g || !json_equal(v, g))
			report(name, key, v, g);
	}
	round_trip(name, m, got);
	json_decref(got);
out:
	xeci_mail_free(m);
	xeci_mbox_free(mb);
	free(raw);
	json_decref(want);
}

static void mail_cases(void **state)
{
	const char *src = getenv("XECI_SRC");
	assert_non_null(src);
	char dir[4000];
	snprintf(dir, sizeof(dir), "%s/tests/data/mail", src);
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".eml"))
			continue;
		char name[256];
		snprintf(name, sizeof(name), "%.*s", (int)(l - 4), e->d_name);
		check_case(dir, name);
		n++;
	}
	closedir(d);
	fprintf(stderr, "mail cases: %d checked, %d mismatches\n", n, bad);
	assert_true(n >= 15);
	assert_int_equal(bad, 0);
}

/* Limits and non-mails fail with a reason; nothing crashes. */
static void rejects(void **state)
{
	xeci_mail *m = (xeci_mail *)1;
	assert_int_equal(xeci_mail_parse(&m, "", 0, 0), XECI_EINVALID);
	assert_null(m);
	assert_int_equal(xeci_mail_parse(&m, " \n\t\n", 4, 0), XECI_EINVALID);
	assert_int_equal(xeci_mail_parse(&m, "Subject: x\n\nbody\n", 17, 5), XECI_ETOOBIG);
	assert_non_null(strstr(xeci_error_last(), "limit"));
	assert_int_equal(xeci_mail_parse(&m, "just text\n", 10, 0), XECI_EINVALID);
	assert_int_equal(xeci_mail_parse(&m, "Subject: x\n", 11, 0), 0);
	assert_string_equal(m->subject_clean, "x");
	assert_false(m->has_patch);
	assert_string_equal(m->patch_sha256, "");
	xeci_mail_free(m);

	json_t *j = json_pack("{s:s}", "patch_sha256", "short");
	assert_int_equal(xeci_mail_from_json(&m, j), XECI_EINVALID);
	json_decref(j);
	j = json_pack("{s:i}", "message_id", 3);
	assert_int_equal(xeci_mail_from_json(&m, j), XECI_EINVALID);
	json_decref(j);
	j = json_array();
	assert_int_equal(xeci_mail_from_json(&m, j), XECI_EINVALID);
	json_decref(j);
}

int main(void)
{
	xeci_mail_global_init();
	const struct CMUnitTest tests[] = {cmocka_unit_test(mail_cases), cmocka_unit_test(rejects)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
