/* Every message of the real test mails under $XECI_CORPUS/mail/ agrees with
 * what `git mailsplit` + `git mailinfo --message-id` made of it
 * (oracle.jsonl): Author, Email, Subject, Date, the patch bytes (sha256),
 * the Message-ID, and whether mailinfo failed. Every mismatch is printed
 * with its file and index before the test fails. */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "mail.h"
#include "mbox.h"

static int mismatches, compared;

static void mismatch(const char *file, long index, const char *field, const char *want, const char *got)
{
	fprintf(stderr, "MISMATCH %s #%ld %s: oracle=%s%s%s ours=%s%s%s\n", file, index, field,
		want ? "\"" : "", want ? want : "null", want ? "\"" : "",
		got ? "\"" : "", got ? got : "null", got ? "\"" : "");
	mismatches++;
}

static void cmp_str(const char *file, long index, const char *field, const char *want, const char *got)
{
	if ((!want && !got) || (want && got && !strcmp(want, got)))
		return;
	mismatch(file, index, field, want, got);
}

/* The oracle's message_id is the first "Message-ID:" line of mailinfo's msg
 * file: mailinfo writes the header's id there only when a patch follows,
 * and a commit message may quote such a line itself. Same rule on ours. */
static char *oracle_style_msgid(const xeci_mail *m)
{
	const char *p = m->message ? m->message : "";
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n >= 11 && !strncasecmp(p, "message-id:", 11)) {
			const char *v = p + 11, *e = p + n;
			while (v < e && strchr(" \t<>", *v))
				v++;
			while (e > v && strchr(" \t<>\r", e[-1]))
				e--;
			return strndup(v, (size_t)(e - v));
		}
		p = nl ? nl + 1 : p + n;
	}
	return m->has_patch && m->message_id ? strdup(m->message_id) : NULL;
}

static void compare(const char *file, long index, const json_t *row, const xeci_mail *m)
{
	const char *sha = json_string_value(json_object_get(row, "patch_sha256"));
	bool has_patch = json_is_true(json_object_get(row, "has_patch"));
	bool rc = json_integer_value(json_object_get(row, "mailinfo_rc")) != 0;

	compared++;
	cmp_str(file, index, "author_name", json_string_value(json_object_get(row, "author_name")), m->author_name);
	cmp_str(file, index, "author_email", json_string_value(json_object_get(row, "author_email")), m->author_email);
	cmp_str(file, index, "subject_clean", json_string_value(json_object_get(row, "subject_clean")), m->subject_clean);
	cmp_str(file, index, "date", json_string_value(json_object_get(row, "date")), m->date_raw);
	if (has_patch != m->has_patch)
		mismatch(file, index, "has_patch", has_patch ? "true" : "false", m->has_patch ? "true" : "false");
	cmp_str(file, index, "patch_sha256", sha, m->has_patch ? m->patch_sha256 : NULL);
	char *mid = oracle_style_msgid(m);
	cmp_str(file, index, "message_id", json_string_value(json_object_get(row, "message_id")), mid);
	free(mid);
	if (rc != m->mailinfo_error)
		mismatch(file, index, "mailinfo_rc", rc ? "non-zero" : "0", m->mailinfo_error ? "error" : "ok");
}

/* Splits one corpus file and checks each message against its rows (rows
 * NULL: no oracle, the file must only parse without crashing). */
static void check_file(const char *dir, const char *name, json_t *rows)
{
	char path[8192];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	size_t nl = strlen(name);
	unsigned flags = nl >= 6 && !strcmp(name + nl - 6, "mboxrd") ? XECI_MBOX_RD : 0;
	xeci_mbox *mb;
	assert_int_equal(xeci_mbox_open(&mb, path, flags), 0);
	const char *msg;
	size_t len;
	long index = 0;
	while (xeci_mbox_next(&msg, &len, mb) == 0) {
		xeci_mail *m = NULL;
		int rc = xeci_mail_parse(&m, msg, len, 0);
		json_t *row = rows ? json_array_get(rows, (size_t)index) : NULL;
		if (row && rc < 0)
			mismatch(name, index, "parse", "ok", "error");
		else if (row)
			compare(name, index, row, m);
		if (m) {
			json_decref(xeci_mail_to_json(m));
			xeci_mail_free(m);
		}
		index++;
	}
	if (rows && (size_t)index != json_array_size(rows)) {
		char want[32], got[32];
		snprintf(want, sizeof(want), "%zu", json_array_size(rows));
		snprintf(got, sizeof(got), "%ld", index);
		mismatch(name, -1, "message count", want, got);
	}
	xeci_mbox_free(mb);
}

static void check_folder(const char *dir)
{
	char path[8192];
	snprintf(path, sizeof(path), "%s/oracle.jsonl", dir);
	json_t *byfile = json_object();
	FILE *f = fopen(path, "r");
	if (f) {
		char *line = NULL;
		size_t cap = 0;
		while (getline(&line, &cap, f) > 0) {
			json_error_t err;
			json_t *row = json_loads(line, 0, &err);
			assert_non_null(row);
			const char *file = json_string_value(json_object_get(row, "file"));
			json_t *list = json_object_get(byfile, file);
			if (!list) {
				list = json_array();
				json_object_set_new(byfile, file, list);
			}
			json_array_append_new(list, row);
		}
		free(line);
		fclose(f);
	}
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		size_t l = strlen(n);
		if (n[0] == '.' || (l > 6 && !strcmp(n + l - 6, ".jsonl")) || (l > 3 && !strcmp(n + l - 3, ".md")))
			continue;
		check_file(dir, n, json_object_get(byfile, n));
	}
	closedir(d);
	json_decref(byfile);
}

static void oracle_agrees(void **state)
{
	const char *corpus = getenv("XECI_CORPUS");
	assert_non_null(corpus);
	char root[4096];
	snprintf(root, sizeof(root), "%s/mail", corpus);
	DIR *d = opendir(root);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || e->d_type == DT_REG)
			continue;
		char dir[4096 + 512];
		snprintf(dir, sizeof(dir), "%s/%s", root, e->d_name);
		check_folder(dir);
	}
	closedir(d);
	fprintf(stderr, "oracle: %d messages compared, %d mismatches\n", compared, mismatches);
	assert_true(compared > 80);
	assert_int_equal(mismatches, 0);
}

int main(void)
{
	xeci_mail_global_init();
	const struct CMUnitTest tests[] = {cmocka_unit_test(oracle_agrees)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
