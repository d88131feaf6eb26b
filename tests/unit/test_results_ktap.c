/* The KTAP parser against kunit.py, data-driven:
 *  - $XECI_CORPUS/ktap/NAME.log with NAME.expected.jsonl, kunit.py's reading
 *    (see SOURCES.md there), and tests/data/ktap/ (README there): the
 *    kernel's other test_data logs, a real Xe KUnit boot console and that
 *    console followed by hmm-tests' TAP, each with kunit.py's reading;
 *  - every case must give kunit.py's lines, statuses mapped (PASS pass,
 *    FAIL fail, SKIP skip, ERROR crash), except the cases of `differences`
 *    below, which must still differ (a listed difference that starts to
 *    agree fails) and must give NAME.xeci.jsonl, our reading, verified by
 *    hand;
 * then the edges the data does not show: directives, logs, prefixes,
 * invalid bytes, inputs on which kunit.py never ends, limits. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "error.h"
#include "results_ktap.h"
#include "util.h"

static const struct {
	const char *name;
	const char *why;
} differences[] = {
	{"kernel-test_kernel_panic_interrupt",
	 "the two tests the plan announced and the panic cut off: kunit.py gives both as "
	 "\"string-stream-test.\" ERROR; we name them by number (#2, #3) so that they stay "
	 "apart, the first crash (it was running), the second incomplete (never started)"},
	{"xe-kunit-hmm-console",
	 "kunit.py stops after the kernel's KTAP; we also read the TAP that hmm-tests "
	 "prints on the same console after it (8 more cases)"},
};

static int cases, agreeing, lines_compared;

static const char *listed(const char *name)
{
	for (size_t i = 0; i < sizeof(differences) / sizeof(differences[0]); i++)
		if (!strcmp(differences[i].name, name))
			return differences[i].why;
	return NULL;
}

static char *slurp(const char *dir, const char *name, const char *ext, size_t *len, int must)
{
	char path[2048];
	char *text = NULL;
	snprintf(path, sizeof(path), "%s/%s%s", dir, name, ext);
	if (xeci_file_read(&text, len, path) < 0) {
		if (must)
			fail_msg("%s: %s", path, xeci_error_last());
		return NULL;
	}
	return text;
}

/* kunit.py's JSON statuses in ours. */
static char *map_kunit(const char *text)
{
	static const char *const from[] = {"\"PASS\"}", "\"FAIL\"}", "\"SKIP\"}", "\"ERROR\"}"};
	static const char *const to[] = {"\"pass\"}", "\"fail\"}", "\"skip\"}", "\"crash\"}"};
	char *out = xeci_malloc(strlen(text) + 1), *o = out;
	for (const char *p = text; *p;) {
		size_t i;
		for (i = 0; i < 4; i++)
			if (!strncmp(p, from[i], strlen(from[i])))
				break;
		if (i < 4) {
			o = stpcpy(o, to[i]);
			p += strlen(from[i]);
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

static char *run(const char *text, size_t len)
{
	xeci_ktap_results *r;
	char *buf = NULL;
	size_t size = 0;
	assert_int_equal(xeci_ktap_parse(&r, text, len), 0);
	FILE *f = open_memstream(&buf, &size);
	assert_non_null(f);
	assert_int_equal(xeci_ktap_write_jsonl(f, r), 0);
	fclose(f);
	xeci_ktap_results_free(r);
	return buf;
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static int check_case(const char *dir, const char *name)
{
	size_t len, elen, xlen;
	char *log = slurp(dir, name, ".log", &len, 1);
	char *kunit = slurp(dir, name, ".expected.jsonl", &elen, 1);
	char *want = map_kunit(kunit);
	char *got = run(log, len);
	const char *why = listed(name);
	int bad = 0;
	cases++;
	if (!why) {
		if (strcmp(want, got)) {
			printf("%s: differs from kunit.py\n--- kunit.py\n%s--- xeci\n%s", name, want, got);
			bad = 1;
		} else {
			agreeing++;
			lines_compared += count_lines(got);
		}
	} else {
		char *ours = slurp(dir, name, ".xeci.jsonl", &xlen, 1);
		if (!strcmp(want, got)) {
			printf("%s: listed as a difference but agrees with kunit.py now\n", name);
			bad = 1;
		}
		if (strcmp(ours, got)) {
			printf("%s: differs from %s.xeci.jsonl\n--- want\n%s--- got\n%s", name, name, ours, got);
			bad = 1;
		}
		printf("%s: expected difference: %s\n", name, why);
		free(ours);
	}
	free(got);
	free(want);
	free(kunit);
	free(log);
	return bad;
}

static int check_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("%s: cannot open", dir);
	int bad = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n <= 4 || strcmp(e->d_name + n - 4, ".log"))
			continue;
		char name[512];
		snprintf(name, sizeof(name), "%.*s", (int)(n - 4), e->d_name);
		bad += check_case(dir, name);
	}
	closedir(d);
	return bad;
}

static void test_against_kunit(void **state)
{
	(void)state;
	const char *corpus = getenv("XECI_CORPUS"), *src = getenv("XECI_SRC");
	char dir[1024];
	int bad = 0;
	assert_non_null(corpus);
	assert_non_null(src);
	snprintf(dir, sizeof(dir), "%s/ktap", corpus);
	bad += check_dir(dir);
	int corpus_cases = cases, corpus_agree = agreeing, corpus_lines = lines_compared;
	snprintf(dir, sizeof(dir), "%s/tests/data/ktap", src);
	bad += check_dir(dir);
	printf("corpus: %d of %d cases agree with kunit.py (%d results compared)\n", corpus_agree,
	       corpus_cases, corpus_lines);
	printf("tests/data/ktap: %d of %d cases agree (%d results), %zu listed differences\n",
	       agreeing - corpus_agree, cases - corpus_cases, lines_compared - corpus_lines,
	       sizeof(differences) / sizeof(differences[0]));
	assert_true(corpus_cases >= 16);
	assert_int_equal(bad, 0);
	/* Every listed difference is a case that exists. */
	assert_int_equal(agreeing + (int)(sizeof(differences) / sizeof(differences[0])), cases);
}

static xeci_ktap_results *parse_str(const char *s)
{
	xeci_ktap_results *r;
	assert_int_equal(xeci_ktap_parse(&r, s, strlen(s)), 0);
	return r;
}

static void assert_view(const char *want, const char *s, size_t len)
{
	if (strlen(want) != len || memcmp(want, s, len))
		fail_msg("want \"%s\", got \"%.*s\"", want, (int)len, s ? s : "");
}

static void test_directive_and_log(void **state)
{
	(void)state;
	xeci_ktap_results *r = parse_str("[    1.000000] KTAP version 1\n"
					 "[    1.000000] 1..1\n"
					 "[    1.000001]     KTAP version 1\n"
					 "[    1.000001]     # Subtest: xe_bo\n"
					 "[    1.000001]     1..2\n"
					 "[    1.000002]     # a: some note\n"
					 "[    1.000002]     ok 1 a # SKIP no GPU here\n"
					 "[    1.000003]     not ok 2 - b\n"
					 "[    1.000004] not ok 1 xe_bo\n");
	assert_int_equal(xeci_ktap_results_count(r), 2);
	const xeci_ktap_result *a = xeci_ktap_results_get(r, 0), *b = xeci_ktap_results_get(r, 1);
	assert_view("xe_bo.a", a->path, a->path_len);
	assert_int_equal(a->status, XECI_KTAP_SKIP);
	assert_view("SKIP no GPU here", a->directive, a->directive_len);
	assert_view("[    1.000002]     # a: some note\n[    1.000002]     ok 1 a # SKIP no GPU here\n",
		    a->log, a->log_len);
	assert_view("xe_bo.b", b->path, b->path_len);
	assert_int_equal(b->status, XECI_KTAP_FAIL);
	assert_null(b->directive);
	assert_int_equal(b->document, 0);
	assert_null(xeci_ktap_results_get(r, 2));
	assert_string_equal(xeci_ktap_status_name(XECI_KTAP_INCOMPLETE), "incomplete");
	xeci_ktap_results_free(r);
}

/* A kernel KTAP document with a prefix, then a userspace one without. */
static void test_two_documents(void **state)
{
	(void)state;
	xeci_ktap_results *r = parse_str("[    0.1] KTAP version 1\n"
					 "[    0.1] 1..1\n"
					 "[    0.1]     # Subtest: s\n"
					 "[    0.1]     1..1\n"
					 "[    0.1]     ok 1 c\n"
					 "[    0.1] ok 1 s\n"
					 "[    0.2] Run /init as init process\n"
					 "TAP version 13\n"
					 "1..2\n"
					 "ok 1 hmm.hmm_device_private.open_close\n"
					 "[    3.0] a kernel line\n"
					 "ok 2 hmm.x.y # SKIP why\n"
					 "[    9.0] reboot: Power down\n");
	assert_int_equal(xeci_ktap_results_count(r), 3);
	const xeci_ktap_result *t = xeci_ktap_results_get(r, 1);
	assert_view("hmm.hmm_device_private.open_close", t->path, t->path_len);
	assert_int_equal(t->document, 1);
	t = xeci_ktap_results_get(r, 2);
	assert_view("hmm.x.y", t->path, t->path_len);
	assert_int_equal(t->status, XECI_KTAP_SKIP);
	xeci_ktap_results_free(r);
}

static void test_bytes(void **state)
{
	(void)state;
	xeci_ktap_results *r;
	assert_int_equal(xeci_ktap_parse(&r, NULL, 0), 0);
	assert_int_equal(xeci_ktap_results_count(r), 0);
	xeci_ktap_results_free(r);
	xeci_ktap_results_free(NULL);
	/* Invalid UTF-8 reads as Python's backslashreplace; CR ends lines; a
	 * NUL stays in the name; the JSON is ASCII as json.dumps writes it. */
	static const char in[] = "TAP version 14\r\n1..3\rok 1 caf\xc3\xa9\xff\nok 2 a\0b\nok 3 q\"\\\t\n";
	char *out = run(in, sizeof(in) - 1);
	assert_string_equal(out, "{\"path\": \"caf\\u00e9\\\\xff\", \"status\": \"pass\"}\n"
				 "{\"path\": \"a\\u0000b\", \"status\": \"pass\"}\n"
				 "{\"path\": \"q\\\"\\\\\", \"status\": \"pass\"}\n");
	free(out);
	/* kunit.py splits the file with str.splitlines(): \f and U+2028 end lines. */
	out = run("TAP version 14\n1..3\nok 1 a\fok 2 b\xe2\x80\xa8ok 3 c\n", 43);
	assert_string_equal(out, "{\"path\": \"a\", \"status\": \"pass\"}\n"
				 "{\"path\": \"b\", \"status\": \"pass\"}\n"
				 "{\"path\": \"c\", \"status\": \"pass\"}\n");
	free(out);
}

/* kunit.py never ends on these (a plan line where no plan bounds the loop);
 * we read the line as a diagnostic. */
static void test_no_endless_loop(void **state)
{
	(void)state;
	char *out = run("TAP version 14\nok 1 x\n1..3\nok 2 y\n", 34);
	assert_string_equal(out, "{\"path\": \"x\", \"status\": \"pass\"}\n"
				 "{\"path\": \"y\", \"status\": \"pass\"}\n");
	free(out);
}

static void test_limits(void **state)
{
	(void)state;
	/* A plan of 10^18 cut off at once: bounded. */
	xeci_ktap_results *r = parse_str("KTAP version 1\n1..1000000000000000000\n");
	size_t n = xeci_ktap_results_count(r);
	assert_int_equal(n, 1000);
	const xeci_ktap_result *t = xeci_ktap_results_get(r, 0);
	assert_view("#1", t->path, t->path_len);
	assert_int_equal(t->status, XECI_KTAP_CRASH);
	assert_int_equal(xeci_ktap_results_get(r, 1)->status, XECI_KTAP_INCOMPLETE);
	xeci_ktap_results_free(r);
	/* 100,000 nested headers: no stack overflow. */
	size_t len = 15 + 100000 * 15;
	char *deep = xeci_malloc(len + 1), *p = deep;
	p = stpcpy(p, "KTAP version 1\n");
	for (int i = 0; i < 100000; i++)
		p = stpcpy(p, "KTAP version 1\n");
	assert_int_equal(xeci_ktap_parse(&r, deep, (size_t)(p - deep)), 0);
	xeci_ktap_results_free(r);
	free(deep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_kunit),
		cmocka_unit_test(test_directive_and_log),
		cmocka_unit_test(test_two_documents),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_no_endless_loop),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
