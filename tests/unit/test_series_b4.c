/* Series assembly against b4 0.12 (`b4 am -m FILE`, the oracle rows in
 * $XECI_CORPUS/mail/ * /b4-oracle.jsonl): for every row, assemble the file,
 * take the version b4 would (the highest version with patches; among equals
 * the latest), and compare the patches (Message-IDs in order) and each
 * patch's trailers (as a multiset of name/value). A row where b4 took nothing
 * must leave no testable version (one with patches, not ignored).
 *
 * Where b4 is wrong and we do not follow it, the row is listed in
 * `expected_differences` with the reason; such a row must still differ (so
 * the list cannot go stale) and its difference is printed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "error.h"
#include "mbox.h"
#include "series.h"
#include "util.h"

static const struct {
	const char *file, *reason;
} expected_differences[] = {
	{"patchwork-series/base-different-versions.mbox",
	 "b4 0.12 crashes (a folded Subject header: 'Header values may not contain linefeed'); "
	 "we assemble the v3 cover with its 4 untagged patches, as patchwork does"},
	{"patchwork-series/bugs-multiple-references.mbox",
	 "b4 0.12 crashes on a folded header (ValueError: 'Header values may not contain linefeed') "
	 "and takes nothing; we assemble the cover with its complete 4 patches of v2"},
	{"patchwork-series/mercurial-cover-letter.mbox",
	 "b4 0.12 crashes on a folded header (the same ValueError) and takes nothing; the subject "
	 "parser does not read Mercurial's 'N of M' counters, so to us each patch is a 1-patch series"},
	{"patchwork-series/revision-unlabeled-noreferences.mbox",
	 "b4 0.12 does not read comma-separated tags ('[net,v2,1/2]'): it sees four untagged single "
	 "patches and keeps the first; we read v2 1/2 and 2/2 (as patchwork does) and find two "
	 "complete postings of v2 an hour apart, taking the later"},
	{"git-t5100/sample.mbox",
	 "b4 reads the whole file as one thread and picks v2, whose only patch '[PATCH 3/3 v2]' has "
	 "no diff, so it gives nothing; these are unrelated git test mails, and each one with a "
	 "diff and a Message-ID is a 1-patch series to us"},
};

static const char *expected_reason(const char *rel)
{
	for (size_t i = 0; i < sizeof(expected_differences) / sizeof(*expected_differences); i++)
		if (!strcmp(expected_differences[i].file, rel))
			return expected_differences[i].reason;
	return NULL;
}

static size_t nmails;
static xeci_mail **mails;

static void load_mbox(const char *path)
{
	bool rd = strlen(path) >= 6 && !strcmp(path + strlen(path) - 6, "mboxrd");
	xeci_mbox *mb;
	const char *msg;
	size_t len, cap = 0;
	nmails = 0;
	mails = NULL;
	assert_int_equal(xeci_mbox_open(&mb, path, rd ? XECI_MBOX_RD : 0), 0);
	while (xeci_mbox_next(&msg, &len, mb) == 0) {
		xeci_mail *m;
		if (xeci_mail_parse(&m, msg, len, 0) < 0)
			continue;
		if (nmails == cap) {
			cap = cap ? cap * 2 : 32;
			mails = xeci_realloc(mails, cap * sizeof(*mails));
		}
		mails[nmails++] = m;
	}
	xeci_mbox_free(mb);
}

static void free_mails(void)
{
	for (size_t i = 0; i < nmails; i++)
		xeci_mail_free(mails[i]);
	free(mails);
}

/* The version b4 would take: highest version with patches; among equals the
 * latest (versions come sorted by date). testable: not ignored. */
static const xeci_series_version *pick(const xeci_series_set *set, bool testable_only)
{
	const xeci_series_version *best = NULL;
	for (size_t i = 0; i < xeci_series_set_count(set); i++) {
		const xeci_series_version *v = xeci_series_set_get(set, i);
		if (!v->npatches || (testable_only && v->ignored_reason))
			continue;
		if (!best || v->version >= best->version)
			best = v;
	}
	return best;
}

static int trailer_cmp(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;
	return strcmp(*x, *y);
}

/* "name: value" lines, sorted: a multiset that compares with strcmp. */
static char **trailer_lines(size_t *n, const xeci_trailer *t, size_t nt, const json_t *jt)
{
	*n = t ? nt : json_array_size(jt);
	char **v = xeci_calloc(*n ? *n : 1, sizeof(*v));
	for (size_t i = 0; i < *n; i++) {
		const char *name = t ? t[i].name : json_string_value(json_object_get(json_array_get(jt, i), "name"));
		const char *value = t ? t[i].value : json_string_value(json_object_get(json_array_get(jt, i), "value"));
		size_t l = strlen(name) + strlen(value) + 3;
		v[i] = xeci_malloc(l);
		snprintf(v[i], l, "%s: %s", name, value);
	}
	qsort(v, *n, sizeof(*v), trailer_cmp);
	return v;
}

static void free_lines(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Prints each difference; returns how many. */
static int compare_row(const char *rel, const json_t *row, const xeci_series_set *set)
{
	const json_t *patches = json_object_get(row, "patches");
	int diffs = 0;
	if (!json_array_size(patches)) {
		const xeci_series_version *v = pick(set, true);
		if (v) {
			printf("  %s: b4 took nothing, we have v%d with %zu patches\n", rel, v->version, v->npatches);
			diffs++;
		}
		return diffs;
	}
	const xeci_series_version *v = pick(set, false);
	if (!v) {
		printf("  %s: b4 took %zu patches, we have no version\n", rel, json_array_size(patches));
		return 1;
	}
	if (v->npatches != json_array_size(patches)) {
		printf("  %s: b4 took %zu patches, we have %zu (v%d)\n", rel, json_array_size(patches),
		       v->npatches, v->version);
		diffs++;
	}
	for (size_t i = 0; i < v->npatches && i < json_array_size(patches); i++) {
		const json_t *bp = json_array_get(patches, i);
		const char *bid = json_string_value(json_object_get(bp, "message_id"));
		if (strcmp(bid, v->patches[i].mail->message_id)) {
			printf("  %s: patch %zu: b4 %s, we %s\n", rel, i + 1, bid, v->patches[i].mail->message_id);
			diffs++;
			continue;
		}
		size_t nb, nw;
		char **b = trailer_lines(&nb, NULL, 0, json_object_get(bp, "trailers"));
		char **w = trailer_lines(&nw, v->patches[i].trailers, v->patches[i].ntrailers, NULL);
		bool same = nb == nw;
		for (size_t k = 0; same && k < nb; k++)
			same = !strcmp(b[k], w[k]);
		if (!same) {
			printf("  %s: patch %zu trailers differ:\n", rel, i + 1);
			for (size_t k = 0; k < nb; k++)
				printf("    b4: %s\n", b[k]);
			for (size_t k = 0; k < nw; k++)
				printf("    we: %s\n", w[k]);
			diffs++;
		}
		free_lines(b, nb);
		free_lines(w, nw);
	}
	return diffs;
}

static void b4_oracle(void **state)
{
	const char *corpus = getenv("XECI_CORPUS");
	assert_non_null(corpus);
	char dirpath[1024];
	snprintf(dirpath, sizeof(dirpath), "%s/mail", corpus);
	DIR *d = opendir(dirpath);
	assert_non_null(d);
	int rows = 0, agree = 0, expected = 0, unexpected = 0, stale = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[2048];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/b4-oracle.jsonl", dirpath, e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		char line[1 << 16];
		while (fgets(line, sizeof(line), f)) {
			json_t *row = json_loads(line, 0, NULL);
			assert_non_null(row);
			const char *file = json_string_value(json_object_get(row, "file"));
			char rel[1024], mbox[4096];
			snprintf(rel, sizeof(rel), "%s/%s", e->d_name, file);
			snprintf(mbox, sizeof(mbox), "%s/%s", dirpath, rel);
			load_mbox(mbox);
			xeci_series_set *set;
			assert_int_equal(xeci_series_assemble(&set, mails, nmails), 0);
			const char *why = expected_reason(rel);
			if (why)
				printf("expected difference %s: %s\n", rel, why);
			int diffs = compare_row(rel, row, set);
			rows++;
			if (!diffs && !why)
				agree++;
			else if (diffs && why)
				expected++;
			else if (diffs)
				unexpected++, printf("UNEXPECTED difference: %s\n", rel);
			else
				stale++, printf("STALE expected difference (we agree now): %s\n", rel);
			xeci_series_set_free(set);
			free_mails();
			json_decref(row);
		}
		fclose(f);
	}
	closedir(d);
	printf("b4 oracle: %d rows, %d agree, %d expected differences, %d unexpected, %d stale\n",
	       rows, agree, expected, unexpected, stale);
	assert_true(rows > 0);
	assert_int_equal(unexpected, 0);
	assert_int_equal(stale, 0);
}

int main(void)
{
	xeci_mail_global_init();
	const struct CMUnitTest tests[] = {cmocka_unit_test(b4_oracle)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
