/* Build logs and checkpatch output, data-driven over tests/data/buildlog
 * (README there says where each input comes from):
 *  - NAME.log: a kbuild log; NAME.expected holds the src_root to parse it
 *    with, the units, diagnostics, "linked" and the first error;
 *  - NAME.builds: logs separated by "### base" / "### patched" lines; the
 *    base logs update a base map in turn (saved and loaded again after each,
 *    as xecid does between builds), the patched one is compared with it;
 *    NAME.expected holds the map, the new warnings and the errors;
 *  - NAME.checkpatch: checkpatch.pl output; NAME.expected the result, or
 *    {"error": true} when it must be refused as unfinished.
 * Then the edges the data cannot show: files, paths, formats. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "buildlog.h"
#include "checkpatch.h"
#include "error.h"
#include "util.h"

static char data_dir[1024];
static char tmp_dir[] = "/tmp/test_buildlog.XXXXXX";

static char *read_case(const char *name, const char *ext, size_t *len)
{
	char path[2048];
	char *text;
	snprintf(path, sizeof(path), "%s/%s%s", data_dir, name, ext);
	if (xeci_file_read(&text, len, path) < 0)
		fail_msg("%s: %s", path, xeci_error_last());
	return text;
}

static json_t *expected(const char *name)
{
	char path[2048];
	json_error_t err;
	snprintf(path, sizeof(path), "%s/%s.expected", data_dir, name);
	json_t *j = json_load_file(path, 0, &err);
	if (!j)
		fail_msg("%s:%d: %s", path, err.line, err.text);
	return j;
}

/* Compares one member; prints both sides when they differ. */
static int differs(const char *name, const char *what, json_t *want, json_t *got)
{
	if (json_equal(want, got))
		return 0;
	char *w = json_dumps(want, JSON_INDENT(1) | JSON_ENCODE_ANY);
	char *g = json_dumps(got, JSON_INDENT(1) | JSON_ENCODE_ANY);
	printf("%s: %s differs:\n  want %s\n  got  %s\n", name, what, w ? w : "(none)", g ? g : "(none)");
	free(w);
	free(g);
	return 1;
}

static json_t *formatted(const xeci_diag *d)
{
	if (!d)
		return json_null();
	char *s = xeci_diag_format(d);
	json_t *j = json_string(s);
	free(s);
	return j;
}

static json_t *formatted_list(const xeci_diag_list *l)
{
	json_t *a = json_array();
	for (size_t i = 0; i < l->count; i++)
		json_array_append_new(a, formatted(l->items[i]));
	return a;
}

static int check_log(const char *name)
{
	size_t len;
	char *text = read_case(name, ".log", &len);
	json_t *want = expected(name);
	xeci_buildlog *log;
	const char *root = json_string_value(json_object_get(want, "src_root"));
	assert_int_equal(xeci_buildlog_parse(&log, text, len, root), 0);
	json_t *got = xeci_buildlog_to_json(log);
	json_object_set_new(got, "first_error", formatted(xeci_buildlog_first_error(log)));
	int bad = 0;
	const char *keys[] = {"units", "diagnostics", "linked", "first_error"};
	for (size_t i = 0; i < 4; i++)
		bad += differs(name, keys[i], json_object_get(want, keys[i]), json_object_get(got, keys[i]));
	json_decref(got);
	json_decref(want);
	xeci_buildlog_free(log);
	free(text);
	return bad;
}

/* gcc 12 at -O2 sees `at` outlive `text` here, which it does not (it is
 * NULL when the loop ends, before text is freed). */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

/* Base logs update the map one after the other; the map makes a round trip
 * through its file after each, as between two builds of xecid. */
static int check_builds(const char *name)
{
	size_t len;
	char *text = read_case(name, ".builds", &len);
	json_t *want = expected(name);
	const char *root = json_string_value(json_object_get(want, "src_root"));
	char mapfile[1100];
	snprintf(mapfile, sizeof(mapfile), "%s/%s.json", tmp_dir, name);
	xeci_buildlog_base *base;
	assert_int_equal(xeci_buildlog_base_load(&base, mapfile), 0);
	xeci_buildlog *patched = NULL;
	int nbase = 0;
	char *at = strstr(text, "### ");
	assert_non_null(at);
	while (at) {
		bool is_base = !strncmp(at, "### base\n", 9);
		assert_true(is_base || !strncmp(at, "### patched\n", 12));
		char *start = strchr(at, '\n') + 1;
		char *end = strstr(start, "\n### ");
		at = end ? end + 1 : NULL;
		size_t n = end ? (size_t)(end + 1 - start) : len - (size_t)(start - text);
		xeci_buildlog *log;
		assert_int_equal(xeci_buildlog_parse(&log, start, n, root), 0);
		if (!is_base) {
			assert_null(patched); /* one patched build a case */
			patched = log;
			continue;
		}
		assert_int_equal(xeci_buildlog_base_update(base, log), 0);
		xeci_buildlog_free(log);
		assert_int_equal(xeci_buildlog_base_save(base, mapfile), 0);
		xeci_buildlog_base_free(base);
		assert_int_equal(xeci_buildlog_base_load(&base, mapfile), 0);
		nbase++;
	}
	assert_true(nbase > 0);
	assert_non_null(patched);
	xeci_diag_list fresh, errors;
	assert_int_equal(xeci_buildlog_new_warnings(&fresh, base, patched), 0);
	assert_int_equal(xeci_buildlog_errors(&errors, patched), 0);
	json_t *map = xeci_buildlog_base_to_json(base), *got_new = formatted_list(&fresh),
	       *got_err = formatted_list(&errors), *first = formatted(xeci_buildlog_first_error(patched));
	int bad = differs(name, "map", json_object_get(want, "map"), map) +
		  differs(name, "new", json_object_get(want, "new"), got_new) +
		  differs(name, "errors", json_object_get(want, "errors"), got_err) +
		  differs(name, "first_error", json_object_get(want, "first_error"), first);
	json_decref(map);
	json_decref(got_new);
	json_decref(got_err);
	json_decref(first);
	json_decref(want);
	xeci_diag_list_clear(&fresh);
	xeci_diag_list_clear(&errors);
	xeci_buildlog_free(patched);
	xeci_buildlog_base_free(base);
	unlink(mapfile);
	free(text);
	return bad;
}

static int check_checkpatch(const char *name)
{
	size_t len;
	char *text = read_case(name, ".checkpatch", &len);
	json_t *want = expected(name);
	xeci_checkpatch_result r;
	int rc = xeci_checkpatch_parse(&r, text, len);
	int bad = 0;
	if (json_is_true(json_object_get(want, "error"))) {
		if (rc != XECI_EINVALID || r.nfindings || r.errors) {
			printf("%s: accepted (rc %d), should be refused as unfinished\n", name, rc);
			bad++;
		}
	} else {
		assert_int_equal(rc, 0);
		json_t *got = xeci_checkpatch_to_json(&r);
		bad += differs(name, "result", want, got);
		json_decref(got);
	}
	xeci_checkpatch_result_clear(&r);
	json_decref(want);
	free(text);
	return bad;
}

static void cases(void **state)
{
	DIR *d = opendir(data_dir);
	assert_non_null(d);
	struct dirent *e;
	int nlog = 0, nbuilds = 0, ncp = 0, bad = 0;
	while ((e = readdir(d))) {
		char name[512];
		snprintf(name, sizeof(name), "%s", e->d_name);
		char *dot = strrchr(name, '.');
		if (!dot)
			continue;
		const char *ext = dot + 1;
		*dot = '\0';
		if (!strcmp(ext, "log"))
			bad += check_log(name), nlog++;
		else if (!strcmp(ext, "builds"))
			bad += check_builds(name), nbuilds++;
		else if (!strcmp(ext, "checkpatch"))
			bad += check_checkpatch(name), ncp++;
	}
	closedir(d);
	assert_true(nlog >= 5);
	assert_true(nbuilds >= 3);
	assert_true(ncp >= 7);
	assert_int_equal(bad, 0);
}

static xeci_buildlog *parse(const char *text, const char *root)
{
	xeci_buildlog *log;
	assert_int_equal(xeci_buildlog_parse(&log, text, strlen(text), root), 0);
	return log;
}

/* The root is stripped only at a path boundary, with or without its
 * trailing '/'; "./" goes too, and nothing else. */
static void src_root(void **state)
{
	const char *text = "/src/linux/drivers/a.c:1:1: warning: a\n"
			   "/src/linux2/drivers/b.c:2:1: warning: b\n"
			   "././include/generated/c.h:3: warning: c\n"
			   "../linux/drivers/d.c:4:2: warning: d\n";
	const char *roots[] = {"/src/linux", "/src/linux/"};
	for (size_t i = 0; i < 2; i++) {
		xeci_buildlog *log = parse(text, roots[i]);
		assert_int_equal(xeci_buildlog_diag_count(log), 4);
		assert_string_equal(xeci_buildlog_diag_get(log, 0)->file, "drivers/a.c");
		assert_string_equal(xeci_buildlog_diag_get(log, 1)->file, "/src/linux2/drivers/b.c");
		assert_string_equal(xeci_buildlog_diag_get(log, 2)->file, "include/generated/c.h");
		assert_int_equal(xeci_buildlog_diag_get(log, 2)->col, 0);
		assert_string_equal(xeci_buildlog_diag_get(log, 3)->file, "../linux/drivers/d.c");
		xeci_buildlog_free(log);
	}
	xeci_buildlog *log = parse(text, NULL);
	assert_string_equal(xeci_buildlog_diag_get(log, 0)->file, "/src/linux/drivers/a.c");
	assert_string_equal(xeci_buildlog_diag_get(log, 2)->file, "include/generated/c.h");
	xeci_buildlog_free(log);
	log = parse(text, "../linux");
	assert_string_equal(xeci_buildlog_diag_get(log, 3)->file, "drivers/d.c");
	xeci_buildlog_free(log);
}

static void format(void **state)
{
	xeci_buildlog *log = parse("drivers/a.c:12:3: error: 'x' undeclared\n"
				   "cc1: warning: option\n"
				   "WARNING: modpost: vmlinux: section mismatch in reference: a\n",
				   NULL);
	assert_int_equal(xeci_buildlog_diag_count(log), 3);
	const char *want[] = {"drivers/a.c:12: error: 'x' undeclared", "warning: option",
			      "vmlinux: warning: vmlinux: section mismatch in reference: a"};
	for (size_t i = 0; i < 3; i++) {
		char *s = xeci_diag_format(xeci_buildlog_diag_get(log, i));
		assert_string_equal(s, want[i]);
		free(s);
	}
	assert_ptr_equal(xeci_buildlog_first_error(log), xeci_buildlog_diag_get(log, 0));
	assert_null(xeci_buildlog_unit_get(log, 0));
	assert_null(xeci_buildlog_diag_get(log, 3));
	xeci_buildlog_free(log);
	log = parse("", NULL);
	assert_null(xeci_buildlog_first_error(log));
	assert_int_equal(xeci_buildlog_unit_count(log), 0);
	xeci_buildlog_free(log);
}

/* Against an empty base every warning is new, no error is; the list points
 * into the log. */
static void new_against_empty(void **state)
{
	xeci_buildlog *log = parse("  CC      a.o\n"
				   "a.c:1:1: warning: w [-Wx]\n"
				   "a.c:2:1: error: e\n"
				   "a.c:3:1: warning: w [-Wx]\n",
				   NULL);
	xeci_buildlog_base *base;
	assert_int_equal(xeci_buildlog_base_new(&base), 0);
	xeci_diag_list l;
	assert_int_equal(xeci_buildlog_new_warnings(&l, base, log), 0);
	assert_int_equal(l.count, 2);
	assert_ptr_equal(l.items[0], xeci_buildlog_diag_get(log, 0));
	assert_ptr_equal(l.items[1], xeci_buildlog_diag_get(log, 2));
	xeci_diag_list_clear(&l);
	/* the same build as its own base: nothing new; updating twice is the same */
	assert_int_equal(xeci_buildlog_base_update(base, log), 0);
	json_t *once = xeci_buildlog_base_to_json(base);
	assert_int_equal(xeci_buildlog_base_update(base, log), 0);
	json_t *twice = xeci_buildlog_base_to_json(base);
	assert_true(json_equal(once, twice));
	json_decref(once);
	json_decref(twice);
	assert_int_equal(xeci_buildlog_new_warnings(&l, base, log), 0);
	assert_int_equal(l.count, 0);
	xeci_diag_list_clear(&l);
	xeci_buildlog_base_free(base);
	xeci_buildlog_free(log);
}

static void write_file(const char *path, const char *text)
{
	assert_int_equal(xeci_file_write_atomic(path, text, strlen(text)), 0);
}

static void base_files(void **state)
{
	char path[1100];
	xeci_buildlog_base *base;
	snprintf(path, sizeof(path), "%s/base.json", tmp_dir);
	unlink(path);
	assert_int_equal(xeci_buildlog_base_load(&base, path), 0); /* missing: empty */
	json_t *j = xeci_buildlog_base_to_json(base);
	assert_int_equal(json_object_size(json_object_get(j, "units")), 0);
	json_decref(j);

	xeci_buildlog *log = parse("  CC      a.o\na.c:1:2: warning: w \xc3\xa9\n", NULL);
	assert_int_equal(xeci_buildlog_base_update(base, log), 0);
	xeci_buildlog_free(log);
	assert_int_equal(xeci_buildlog_base_save(base, path), 0);
	xeci_buildlog_base *again;
	assert_int_equal(xeci_buildlog_base_load(&again, path), 0);
	json_t *a = xeci_buildlog_base_to_json(base), *b = xeci_buildlog_base_to_json(again);
	assert_true(json_equal(a, b));
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(json_object_get(b, "units"), "a.c"), 0),
				    "message")),
			    "w \xc3\xa9");
	json_decref(a);
	json_decref(b);
	xeci_buildlog_base_free(again);
	xeci_buildlog_base_free(base);

	const char *bad[] = {
		"{\"version\": 1, \"units\": ",
		"[]",
		"{\"version\": 2, \"units\": {}}",
		"{\"version\": 1, \"units\": {\"a.c\": {}}}",
		"{\"version\": 1, \"units\": {\"a.c\": [{\"file\": \"a.c\", \"line\": 1, \"col\": 1, "
		"\"kind\": \"note\", \"message\": \"m\"}]}}",
		"{\"version\": 1, \"units\": {\"a.c\": [{\"file\": \"a.c\", \"line\": \"1\", \"col\": 1, "
		"\"kind\": \"warning\", \"message\": \"m\"}]}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i]);
		base = NULL;
		assert_int_equal(xeci_buildlog_base_load(&base, path), XECI_EINVALID);
		assert_null(base);
	}
	unlink(path);
}

static void checkpatch_edges(void **state)
{
	xeci_checkpatch_result r;
	assert_int_equal(xeci_checkpatch_parse(&r, "", 0), XECI_EINVALID);
	assert_int_equal(xeci_checkpatch_parse(&r, NULL, 0), XECI_EINVALID);
	/* a "total:" line that is not checkpatch's does not finish it */
	const char *odd = "total: 1 errors, 2 warnings, 3 lines checked, really\n";
	assert_int_equal(xeci_checkpatch_parse(&r, odd, strlen(odd)), XECI_EINVALID);
	/* numbers too large for an int are no count */
	const char *big = "total: 99999999999 errors, 0 warnings, 3 lines checked\n";
	assert_int_equal(xeci_checkpatch_parse(&r, big, strlen(big)), XECI_EINVALID);
	const char *crlf = "ERROR:TRAILING_WHITESPACE: trailing whitespace\r\n"
			   "#7: FILE: a.c:3:\r\n+x \r\n\r\n"
			   "total: 1 errors, 0 warnings, 0 checks, 3 lines checked\r\n";
	assert_int_equal(xeci_checkpatch_parse(&r, crlf, strlen(crlf)), 0);
	assert_int_equal(r.nfindings, 1);
	assert_string_equal(r.findings[0].type, "TRAILING_WHITESPACE");
	assert_string_equal(r.findings[0].file, "a.c");
	assert_int_equal(r.findings[0].line, 3);
	assert_int_equal(r.errors, 1);
	assert_int_equal(r.lines, 3);
	xeci_checkpatch_result_clear(&r);
}

static int setup(void **state)
{
	const char *src = getenv("XECI_SRC");
	if (!src || !mkdtemp(tmp_dir))
		return -1;
	snprintf(data_dir, sizeof(data_dir), "%s/tests/data/buildlog", src);
	return 0;
}

static int teardown(void **state)
{
	return rmdir(tmp_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cases),
		cmocka_unit_test(src_root),
		cmocka_unit_test(format),
		cmocka_unit_test(new_against_empty),
		cmocka_unit_test(base_files),
		cmocka_unit_test(checkpatch_edges),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
