/* IGT results directories:
 *  - every case of $XECI_CORPUS/igt (igt-gpu-tools' runner/json_tests_data):
 *    for each test of reference.json (what igt_resultgen made of the
 *    directory) the name, result, time, out, err, dmesg and whether it has
 *    dmesg-warnings must agree with ours, and we must have no extra test;
 *    a difference we cannot remove is listed in `expected_differences` with
 *    its reason, and a listed difference that starts agreeing fails too;
 *  - then the edges the corpus does not show, on directories made here:
 *    missing files, timeouts, aborts, truncated markers, ignore regexes,
 *    prune modes, the JSON lines output. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "error.h"
#include "results_igt.h"
#include "util.h"

/* case, test, field: where we knowingly differ from igt_resultgen */
static const struct {
	const char *kase, *test, *field, *reason;
} expected_differences[] = {
	{NULL, NULL, NULL, NULL},
};

/* ---- corpus ---- */

/* json-c accepts ",}" and ",]"; jansson does not (SOURCES.md) */
static char *strip_trailing_commas(const char *s)
{
	xeci_buf b = XECI_BUF_INIT;
	bool in_str = false;
	for (const char *p = s; *p; p++) {
		if (in_str) {
			xeci_buf_putc(&b, *p);
			if (*p == '\\' && p[1])
				xeci_buf_putc(&b, *++p);
			else if (*p == '"')
				in_str = false;
			continue;
		}
		if (*p == '"')
			in_str = true;
		if (*p == ',') {
			const char *q = p + 1;
			while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
				q++;
			if (*q == '}' || *q == ']')
				continue;
		}
		xeci_buf_putc(&b, *p);
	}
	return xeci_buf_detach(&b);
}

static json_t *load_reference(const char *dir)
{
	char path[8400], *text;
	snprintf(path, sizeof(path), "%s/reference.json", dir);
	if (xeci_file_read(&text, NULL, path) < 0)
		fail_msg("%s", xeci_error_last());
	char *clean = strip_trailing_commas(text);
	json_error_t err;
	json_t *j = json_loads(clean, 0, &err);
	if (!j)
		fail_msg("%s:%d: %s", path, err.line, err.text);
	free(text);
	free(clean);
	return j;
}

/* as resultgen encodes text: bytes >= 0x80 as Latin-1 */
static json_t *latin1(const char *s)
{
	xeci_buf b = XECI_BUF_INIT;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x80) {
			xeci_buf_putc(&b, (char)*p);
		} else {
			xeci_buf_putc(&b, (char)(0xC0 | (*p >> 6)));
			xeci_buf_putc(&b, (char)(0x80 | (*p & 0x3F)));
		}
	}
	json_t *j = json_stringn(b.ptr ? b.ptr : "", b.len);
	xeci_buf_free(&b);
	return j;
}

struct tally {
	int cases, cases_agreeing, tests, diffs, unexplained;
	bool listed_seen[sizeof(expected_differences) / sizeof(expected_differences[0])];
};

static void difference(struct tally *t, const char *kase, const char *test, const char *field, json_t *ours,
		       json_t *ref)
{
	for (size_t i = 0; expected_differences[i].kase; i++) {
		if (!strcmp(expected_differences[i].kase, kase) && !strcmp(expected_differences[i].test, test) &&
		    !strcmp(expected_differences[i].field, field)) {
			t->listed_seen[i] = true;
			t->diffs++;
			return;
		}
	}
	char *o = ours ? json_dumps(ours, JSON_ENCODE_ANY) : NULL;
	char *r = ref ? json_dumps(ref, JSON_ENCODE_ANY) : NULL;
	printf("%s: %s: %s differs:\n  ours      %s\n  reference %s\n", kase, test, field, o ? o : "(none)",
	       r ? r : "(none)");
	free(o);
	free(r);
	t->diffs++;
	t->unexplained++;
}

static int compare_field(struct tally *tl, const char *kase, const char *name, const char *field, json_t *ours,
			 json_t *ref)
{
	int differs = !((!ours && !ref) || (ours && ref && json_equal(ours, ref)));
	if (differs)
		difference(tl, kase, name, field, ours, ref);
	return differs;
}

/* Compares one reference test with ours; returns the number of fields that
 * differ. */
static int compare_test(struct tally *tl, const char *kase, const char *name, json_t *ref,
			const xeci_igt_test *t)
{
	int n = 0;
	json_t *v;
	const char *res = xeci_igt_test_result(t);
	v = res ? json_string(res) : NULL;
	n += compare_field(tl, kase, name, "result", v, json_object_get(ref, "result"));
	json_decref(v);

	double d;
	v = xeci_igt_test_duration(&d, t) == 0 ? json_real(d) : NULL;
	json_t *rt = json_object_get(json_object_get(ref, "time"), "end");
	json_t *rtime = rt ? json_real(json_number_value(rt)) : NULL; /* 0 and 0.0 alike */
	if (v && rtime && fabs(d - json_real_value(rtime)) < 1e-9)
		json_real_set(v, json_real_value(rtime));
	n += compare_field(tl, kase, name, "time", v, rtime);
	json_decref(v);
	json_decref(rtime);

	static const struct {
		const char *key;
		const char *(*get)(const xeci_igt_test *, size_t *);
	} texts[] = {
		{"out", xeci_igt_test_out},
		{"err", xeci_igt_test_err},
		{"dmesg", xeci_igt_test_dmesg},
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		v = latin1(texts[i].get(t, NULL));
		json_t *r = json_object_get(ref, texts[i].key);
		json_t *empty = json_string("");
		n += compare_field(tl, kase, name, texts[i].key, v, r ? r : empty);
		json_decref(empty);
		json_decref(v);
	}
	size_t wlen;
	xeci_igt_test_dmesg_warnings(t, &wlen);
	json_t *ow = wlen ? json_true() : json_false();
	json_t *rw = json_object_get(ref, "dmesg-warnings") ? json_true() : json_false();
	n += compare_field(tl, kase, name, "dmesg-warnings", ow, rw);
	return n;
}

static void compare_case(struct tally *tl, const char *corpus, const char *kase)
{
	char dir[8192];
	snprintf(dir, sizeof(dir), "%s/%s", corpus, kase);
	json_t *ref = load_reference(dir);
	json_t *tests = json_object_get(ref, "tests");
	xeci_igt_results *r;
	if (xeci_igt_results_parse(&r, dir) < 0)
		fail_msg("%s: %s", dir, xeci_error_last());
	assert_int_equal(xeci_igt_results_comms_jobs(r), 0);
	int before = tl->diffs;
	const char *name;
	json_t *rt;
	json_object_foreach(tests, name, rt) {
		const xeci_igt_test *t = xeci_igt_results_find(r, name);
		tl->tests++;
		if (!t)
			difference(tl, kase, name, "present", json_false(), json_true());
		else
			compare_test(tl, kase, name, rt, t);
	}
	for (size_t i = 0; i < xeci_igt_results_count(r); i++) {
		const char *ours = xeci_igt_test_name(xeci_igt_results_get(r, i));
		if (!json_object_get(tests, ours))
			difference(tl, kase, ours, "present", json_true(), json_false());
	}
	tl->cases++;
	tl->cases_agreeing += tl->diffs == before;
	xeci_igt_results_free(r);
	json_decref(ref);
}

static void test_corpus(void **state)
{
	(void)state;
	const char *root = getenv("XECI_CORPUS");
	if (!root)
		fail_msg("XECI_CORPUS is not set");
	char corpus[4096];
	snprintf(corpus, sizeof(corpus), "%s/igt", root);
	struct dirent **list;
	int n = scandir(corpus, &list, NULL, alphasort);
	if (n < 0)
		fail_msg("%s: cannot list", corpus);
	struct tally tl = {0};
	for (int i = 0; i < n; i++) {
		char path[8192];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s/reference.json", corpus, list[i]->d_name);
		if (list[i]->d_name[0] != '.' && stat(path, &st) == 0)
			compare_case(&tl, corpus, list[i]->d_name);
		free(list[i]);
	}
	free(list);
	printf("igt corpus: %d of %d cases agree in full, %d tests compared, %d listed differences\n",
	       tl.cases_agreeing, tl.cases, tl.tests, tl.diffs - tl.unexplained);
	for (size_t i = 0; expected_differences[i].kase; i++)
		if (!tl.listed_seen[i])
			fail_msg("listed difference now agrees (remove it): %s %s %s", expected_differences[i].kase,
				 expected_differences[i].test, expected_differences[i].field);
	assert_true(tl.cases >= 15);
	assert_int_equal(tl.unexplained, 0);
}

/* ---- directories made here ---- */

static char tmp_root[] = "/tmp/test_results_igt.XXXXXX";
static int dir_seq;

static void put(const char *dir, const char *name, const char *text)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	assert_int_equal(xeci_mkdir_p(path, 0755), 0);
	*slash = '/';
	assert_int_equal(xeci_file_write_atomic(path, text, strlen(text)), 0);
}

/* A fresh run directory with metadata `meta` (NULL: none) and `joblist`. */
static char *new_run(const char *meta, const char *joblist)
{
	char *dir;
	assert_true(asprintf(&dir, "%s/run%d", tmp_root, dir_seq++) > 0);
	assert_int_equal(xeci_mkdir_p(dir, 0755), 0);
	if (meta)
		put(dir, "metadata.txt", meta);
	if (joblist)
		put(dir, "joblist.txt", joblist);
	return dir;
}

static void put_job(const char *dir, int n, const char *journal, const char *out, const char *err,
		    const char *dmesg)
{
	char name[64];
	const char *files[] = {"journal.txt", "out.txt", "err.txt", "dmesg.txt"};
	const char *texts[] = {journal, out, err, dmesg};
	for (int i = 0; i < 4; i++) {
		if (!texts[i])
			continue;
		snprintf(name, sizeof(name), "%d/%s", n, files[i]);
		put(dir, name, texts[i]);
	}
}

static xeci_igt_results *parse_ok(const char *dir)
{
	xeci_igt_results *r;
	if (xeci_igt_results_parse(&r, dir) < 0)
		fail_msg("%s: %s", dir, xeci_error_last());
	return r;
}

static const char *result_of(const xeci_igt_results *r, const char *name)
{
	const xeci_igt_test *t = xeci_igt_results_find(r, name);
	if (!t)
		fail_msg("no test %s", name);
	const char *res = xeci_igt_test_result(t);
	return res ? res : "(none)";
}

static const char META[] = "name : x\nmultiple_mode : 0\npiglit_style_dmesg : 0\nprune_mode : 2\n";

static void test_missing_settings(void **state)
{
	(void)state;
	xeci_igt_results *r = (void *)1;
	char *dir = new_run(NULL, "bin sub\n");
	assert_int_equal(xeci_igt_results_parse(&r, dir), XECI_ENOTFOUND);
	assert_null(r);
	free(dir);
	dir = new_run(META, NULL);
	assert_int_equal(xeci_igt_results_parse(&r, dir), XECI_ENOTFOUND);
	free(dir);
}

/* out/err/dmesg missing: resultgen gives up on the job: notrun */
static void test_missing_outputs(void **state)
{
	(void)state;
	char *dir = new_run(META, "bin a,b\nsolo\n");
	put_job(dir, 0, "a\nexit:0 (1.0s)\n", "Starting subtest: a\nSubtest a: SUCCESS (1.0s)\n", NULL, "");
	put(dir, "1/journal.txt", "exit:0 (1.0s)\n");
	put(dir, "1/comms", "IGT1");
	xeci_igt_results *r = parse_ok(dir);
	assert_int_equal(xeci_igt_results_comms_jobs(r), 0);
	assert_string_equal(result_of(r, "igt@bin@a"), "notrun");
	assert_string_equal(result_of(r, "igt@bin@b"), "notrun");
	assert_string_equal(result_of(r, "igt@solo"), "notrun");
	assert_int_equal(xeci_igt_results_count(r), 3);
	xeci_igt_results_free(r);
	free(dir);
}

/* journal timeout goes to the last started subtest, with its time */
static void test_timeout(void **state)
{
	(void)state;
	char *dir = new_run(META, "bin a,b\n");
	put_job(dir, 0, "a\nb\ntimeout:-15 (360.500s)\nexit:-15 (361.0s)\n",
		"Starting subtest: a\nSubtest a: SUCCESS (0.5s)\nStarting subtest: b\nspinning\n", "", "");
	xeci_igt_results *r = parse_ok(dir);
	assert_string_equal(result_of(r, "igt@bin@a"), "pass");
	assert_string_equal(result_of(r, "igt@bin@b"), "timeout");
	double d;
	assert_int_equal(xeci_igt_test_duration(&d, xeci_igt_results_find(r, "igt@bin@b")), 0);
	assert_true(fabs(d - 360.5) < 1e-9);
	size_t len;
	const char *out = xeci_igt_test_out(xeci_igt_results_find(r, "igt@bin@b"), &len);
	assert_string_equal(out, "Starting subtest: b\nspinning\n");
	xeci_igt_results_free(r);
	free(dir);
}

/* exit 112 marks the last subtest abort; its incomplete dynamic subtest too */
static void test_abort_exit(void **state)
{
	(void)state;
	char *dir = new_run(META, "bin a\n");
	put_job(dir, 0, "a\nexit:112 (2.0s)\n",
		"Starting subtest: a\nStarting dynamic subtest: rcs0\nDynamic subtest rcs0: SUCCESS (0.1s)\n"
		"Starting dynamic subtest: bcs0\n",
		"", "");
	put(dir, "aborted.txt", "Aborted after: igt@bin@a\n\nKernel tainted\n");
	xeci_igt_results *r = parse_ok(dir);
	assert_string_equal(result_of(r, "igt@bin@a"), "abort");
	assert_string_equal(result_of(r, "igt@bin@a@rcs0"), "pass");
	assert_string_equal(result_of(r, "igt@bin@a@bcs0"), "abort");
	assert_string_equal(result_of(r, "igt@runner@aborted"), "fail");
	assert_string_equal(xeci_igt_test_out(xeci_igt_results_find(r, "igt@runner@aborted"), NULL),
			    "Aborted after: igt@bin@a\n\nKernel tainted\n");
	xeci_igt_results_free(r);
	free(dir);
}

/* A machine that died mid-line: the cut marker still names the subtest and
 * its cut result word is read as a prefix, as resultgen reads it. */
static void test_truncated(void **state)
{
	(void)state;
	char *dir = new_run(META, "bin a,b,c\n");
	put_job(dir, 0, "a\nb\nc\n", "Starting subtest: a\nSubtest a: FA", "", "6,1,5,-;[IGT] bin: starting subt");
	xeci_igt_results *r = parse_ok(dir);
	assert_string_equal(result_of(r, "igt@bin@a"), "fail");
	/* b and c never printed a start: the whole output, no result */
	assert_string_equal(result_of(r, "igt@bin@b"), "incomplete");
	assert_string_equal(result_of(r, "igt@bin@c"), "incomplete");
	double d;
	assert_int_equal(xeci_igt_test_duration(&d, xeci_igt_results_find(r, "igt@bin@b")), 0);
	xeci_igt_results_free(r);
	free(dir);
}

static void test_dmesg_levels_and_ignore(void **state)
{
	(void)state;
	char *dir = new_run(META, "bin a,b,c\n");
	put_job(dir, 0, "a\nb\nc\nexit:0 (1s)\n",
		"Starting subtest: a\nSubtest a: SUCCESS (0.1s)\nStarting subtest: b\nSubtest b: FAIL (0.1s)\n"
		"Starting subtest: c\nSubtest c: SUCCESS (0.1s)\n",
		"",
		"14,1,1,-;[IGT] bin: starting subtest a\n"
		"4,2,2,-;usb usb3: root hub lost power or was reset\n" /* whitelisted */
		"4,3,3,c;continuation lines do not count\n"
		"14,4,4,-;[IGT] bin: starting subtest b\n"
		"3,5,5,-;xe 0000:03:00.0: [drm] *ERROR* GT0: reset failed\n"
		"14,6,6,-;[IGT] bin: starting subtest c\n"
		"14,7,7,-;[IGT] bin: add ignored dmesg regex: GT[0-9]: reset failed\n"
		"3,8,8,-;xe 0000:03:00.0: [drm] *ERROR* GT0: reset failed\n");
	xeci_igt_results *r = parse_ok(dir);
	assert_string_equal(result_of(r, "igt@bin@a"), "pass");
	assert_string_equal(result_of(r, "igt@bin@b"), "dmesg-fail");
	assert_string_equal(result_of(r, "igt@bin@c"), "pass");
	const char *w = xeci_igt_test_dmesg_warnings(xeci_igt_results_find(r, "igt@bin@b"), NULL);
	assert_string_equal(w, "<3> [0.000005] xe 0000:03:00.0: [drm] *ERROR* GT0: reset failed\n");
	xeci_igt_results_free(r);
	free(dir);
}

/* stderr output makes a pass a warn, skips stay skips */
static void test_stderr_warn(void **state)
{
	(void)state;
	char *dir = new_run(META, "bin a,b\n");
	put_job(dir, 0, "a\nb\nexit:77 (1s)\n",
		"Starting subtest: a\nSubtest a: SUCCESS (0.1s)\nStarting subtest: b\nSubtest b: SKIP (0.0s)\n",
		"Starting subtest: a\nWarning: something\nSubtest a: SUCCESS (0.1s)\n"
		"Starting subtest: b\nTest requirement not met\nSubtest b: SKIP (0.0s)\n",
		"");
	xeci_igt_results *r = parse_ok(dir);
	assert_string_equal(result_of(r, "igt@bin@a"), "warn");
	assert_string_equal(result_of(r, "igt@bin@b"), "skip");
	xeci_igt_results_free(r);
	free(dir);
}

/* prune modes: keep-dynamic (also when metadata does not say) drops a
 * subtest that has dynamic subtests; keep-requested keeps the job list's */
static void test_prune(void **state)
{
	(void)state;
	const char *out = "Starting subtest: a\nStarting dynamic subtest: x\nDynamic subtest x: SUCCESS (0.1s)\n"
			  "Subtest a: SUCCESS (0.1s)\nStarting subtest: b\nSubtest b: SUCCESS (0.1s)\n";
	char *dir = new_run("name : x\n", "bin a,b\n");
	put_job(dir, 0, "a\nb\nexit:0 (1s)\n", out, "", "");
	xeci_igt_results *r = parse_ok(dir);
	assert_null(xeci_igt_results_find(r, "igt@bin@a"));
	assert_string_equal(result_of(r, "igt@bin@a@x"), "pass");
	assert_string_equal(result_of(r, "igt@bin@b"), "pass");
	assert_int_equal(xeci_igt_results_count(r), 2);
	xeci_igt_results_free(r);
	free(dir);

	dir = new_run("prune_mode : 3\n", "bin a,b@y\n");
	put_job(dir, 0, "a\nb\nexit:0 (1s)\n", out, "", "");
	r = parse_ok(dir);
	assert_string_equal(result_of(r, "igt@bin@a"), "pass");
	assert_null(xeci_igt_results_find(r, "igt@bin@a@x"));
	assert_null(xeci_igt_results_find(r, "igt@bin@b"));
	xeci_igt_results_free(r);
	free(dir);
}

static void test_write_jsonl(void **state)
{
	(void)state;
	char *dir = new_run(META, "bin A\nnosub\nlater x\n");
	put_job(dir, 0, "A\nexit:0 (1s)\n", "Starting subtest: A\nSubtest A: SUCCESS (0.250s)\n", "", "");
	put_job(dir, 1, "", "", "", "");
	xeci_igt_results *r = parse_ok(dir);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_int_equal(xeci_igt_results_write_jsonl(f, r), 0);
	fclose(f);
	assert_string_equal(text, "{\"name\":\"igt@bin@a\",\"result\":\"pass\",\"duration\":0.25}\n"
				  "{\"name\":\"igt@nosub\",\"result\":\"incomplete\",\"duration\":null}\n"
				  "{\"name\":\"igt@later@x\",\"result\":\"notrun\",\"duration\":null}\n");
	free(text);
	xeci_igt_results_free(r);
	free(dir);
}

/* Garbage in every file (bytes >= 0x80, NULs, lone markers) parses. */
static void test_garbage(void **state)
{
	(void)state;
	char *dir = new_run("prune_mode : \xff\n\n : \n", "\xc3\x28 \xff,,\n\n");
	char junk[] = "Starting dynamic subtest: \nSubtest : \nDynamic subtest \xfe: \n\\x\\xzz\n9,9,9,9;;\n"
		      "Starting subtest: \xc3\x28\n";
	put_job(dir, 0, "\n\xc3\x28\nexit:\ntimeout:\n", junk, junk, junk);
	put_job(dir, 1, junk, junk, junk, junk);
	xeci_igt_results *r = parse_ok(dir);
	assert_true(xeci_igt_results_count(r) > 0);
	FILE *f = fopen("/dev/null", "w");
	assert_int_equal(xeci_igt_results_write_jsonl(f, r), 0);
	fclose(f);
	xeci_igt_results_free(r);
	free(dir);
}

/* ---- socket dumps ---- */

enum { LOG = 1, EXEC, EXIT, START, RESULT, DSTART, DRESULT, VERSION, OVERRIDE };

/* Appends canary + packet: `head` raw bytes (stream, exit code), then the
 * strings, each with its NUL. */
static void pkt(xeci_buf *b, uint32_t type, const void *head, size_t hlen, int n, ...)
{
	xeci_buf data = XECI_BUF_INIT;
	va_list ap;
	xeci_buf_put(&data, head, hlen);
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *s = va_arg(ap, const char *);
		xeci_buf_put(&data, s, strlen(s) + 1);
	}
	va_end(ap);
	uint32_t canary = 'I' << 24 | 'G' << 16 | 'T' << 8 | '1';
	uint32_t hdr[4] = {(uint32_t)(16 + data.len), type, 1, 1};
	xeci_buf_put(b, &canary, 4);
	xeci_buf_put(b, hdr, 16);
	xeci_buf_put(b, data.ptr, data.len);
	xeci_buf_free(&data);
}

static void put_bytes(const char *dir, const char *name, const xeci_buf *b)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(xeci_file_write_atomic(path, b->ptr, b->len), 0);
}

static void test_comms(void **state)
{
	(void)state;
	const uint8_t out = 1, err = 2;
	const int32_t fail = 98;
	char *dir = new_run(META, "bin a,b,c\nbin z\nbin a\nbin q\n");
	/* text files that say otherwise: they must not be read */
	for (int i = 0; i < 3; i++)
		put_job(dir, i, "a\nexit:0 (1s)\n", "Starting subtest: a\nSubtest a: SUCCESS (9.0s)\n", "", "");
	put_job(dir, 3, "q\nexit:0 (1s)\n", "Starting subtest: q\nSubtest q: SUCCESS (1.0s)\n", "", "");

	xeci_buf b = XECI_BUF_INIT;
	pkt(&b, EXEC, NULL, 0, 1, "bin --run-subtest a,b,c");
	pkt(&b, VERSION, NULL, 0, 1, "IGT-Version: 2.0");
	pkt(&b, START, NULL, 0, 1, "a");
	pkt(&b, LOG, &out, 1, 1, "hello\n");
	pkt(&b, RESULT, NULL, 0, 4, "a", "SUCCESS", "0.500", "");
	pkt(&b, START, NULL, 0, 1, "b");
	pkt(&b, DSTART, NULL, 0, 1, "x");
	pkt(&b, DRESULT, NULL, 0, 4, "x", "FAIL", "0.100", "assertion");
	pkt(&b, RESULT, NULL, 0, 4, "b", "FAIL", "0.200", "");
	pkt(&b, START, NULL, 0, 1, "c");
	pkt(&b, LOG, &err, 1, 1, "still going\n");
	pkt(&b, EXIT, &fail, 4, 1, "1.000");
	put_bytes(dir, "0/comms", &b);

	xeci_buf_clear(&b);
	pkt(&b, EXEC, NULL, 0, 1, "bin --run-subtest z");
	pkt(&b, START, NULL, 0, 1, "z");
	pkt(&b, OVERRIDE, NULL, 0, 1, "timeout");
	pkt(&b, RESULT, NULL, 0, 4, "z", "FAIL", "3.0", "");
	put_bytes(dir, "1/comms", &b);

	/* the machine died while the runner wrote */
	xeci_buf_clear(&b);
	pkt(&b, EXEC, NULL, 0, 1, "bin --run-subtest a");
	pkt(&b, START, NULL, 0, 1, "a");
	pkt(&b, LOG, &out, 1, 1, "about to hang\n");
	pkt(&b, LOG, &out, 1, 1, "cut short\n");
	b.len -= 5;
	put_bytes(dir, "2/comms", &b);

	/* only the runner's EXEC: the test did not use comms, text it is */
	xeci_buf_clear(&b);
	pkt(&b, EXEC, NULL, 0, 1, "bin --run-subtest q");
	put_bytes(dir, "3/comms", &b);
	xeci_buf_free(&b);

	xeci_igt_results *r = parse_ok(dir);
	assert_int_equal(xeci_igt_results_comms_jobs(r), 3);
	assert_string_equal(result_of(r, "igt@bin@a"), "incomplete"); /* job 2 came last */
	assert_string_equal(result_of(r, "igt@bin@b"), "fail");
	assert_string_equal(result_of(r, "igt@bin@b@x"), "fail");
	assert_string_equal(result_of(r, "igt@bin@c"), "incomplete");
	assert_string_equal(result_of(r, "igt@bin@z"), "timeout");
	assert_string_equal(result_of(r, "igt@bin@q"), "pass");
	const xeci_igt_test *t = xeci_igt_results_find(r, "igt@bin@b");
	double d;
	assert_int_equal(xeci_igt_test_duration(&d, t), 0);
	assert_true(fabs(d - 0.2) < 1e-9);
	assert_string_equal(xeci_igt_test_out(t, NULL),
			    "Starting subtest: b\nStarting dynamic subtest: x\nDynamic subtest x: FAIL (0.100s)\n"
			    "Subtest b: FAIL (0.200s)\n");
	assert_string_equal(xeci_igt_test_out(xeci_igt_results_find(r, "igt@bin@a"), NULL),
			    "Starting subtest: a\nabout to hang\n");
	assert_string_equal(xeci_igt_test_err(xeci_igt_results_find(r, "igt@bin@c"), NULL),
			    "Starting subtest: c\nstill going\n");
	xeci_igt_results_free(r);
	free(dir);
}

/* the first job's subtest a, alone: pass with its out */
static void test_comms_pass(void **state)
{
	(void)state;
	const uint8_t out = 1;
	char *dir = new_run(META, "bin a\n");
	put_job(dir, 0, "", "", "", "");
	xeci_buf b = XECI_BUF_INIT;
	pkt(&b, EXEC, NULL, 0, 1, "bin --run-subtest a");
	pkt(&b, START, NULL, 0, 1, "a");
	pkt(&b, LOG, &out, 1, 1, "hello\n");
	pkt(&b, RESULT, NULL, 0, 4, "a", "SUCCESS", "0.500", "");
	put_bytes(dir, "0/comms", &b);
	xeci_buf_free(&b);
	xeci_igt_results *r = parse_ok(dir);
	const xeci_igt_test *t = xeci_igt_results_find(r, "igt@bin@a");
	assert_string_equal(result_of(r, "igt@bin@a"), "pass");
	assert_string_equal(xeci_igt_test_out(t, NULL), "Starting subtest: a\nhello\nSubtest a: SUCCESS (0.500s)\n");
	xeci_igt_results_free(r);
	free(dir);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmp_root) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_root);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_missing_settings),
		cmocka_unit_test(test_missing_outputs),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_abort_exit),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_dmesg_levels_and_ignore),
		cmocka_unit_test(test_stderr_warn),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_write_jsonl),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_comms),
		cmocka_unit_test(test_comms_pass),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
