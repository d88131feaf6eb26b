/* Data-driven series cases: for every tests/data/series/NAME.mbox, the
 * assembled versions must equal NAME.json (one JSON object per line, as
 * `xeci series assemble` prints them). The mboxes come from make.sh there
 * (git format-patch, hand-edited for the odd cases); the trailers and
 * patch picks were checked against `b4 am -t -m` where b4 gets them right. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mbox.h"
#include "series.h"
#include "util.h"

static int check_case(const char *dir, const char *name)
{
	char path[2048];
	xeci_mbox *mb;
	const char *msg;
	size_t len, n = 0, cap = 0;
	xeci_mail **mails = NULL;
	snprintf(path, sizeof(path), "%s/%s.mbox", dir, name);
	assert_int_equal(xeci_mbox_open(&mb, path, 0), 0);
	while (xeci_mbox_next(&msg, &len, mb) == 0) {
		xeci_mail *m;
		if (xeci_mail_parse(&m, msg, len, 0) < 0)
			continue;
		if (n == cap)
			mails = xeci_realloc(mails, (cap = cap ? cap * 2 : 16) * sizeof(*mails));
		mails[n++] = m;
	}
	xeci_mbox_free(mb);
	xeci_series_set *set;
	assert_int_equal(xeci_series_assemble(&set, mails, n), 0);

	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[1 << 16];
	size_t i = 0;
	int bad = 0;
	while (fgets(line, sizeof(line), f)) {
		json_t *want = json_loads(line, 0, NULL);
		assert_non_null(want);
		const xeci_series_version *v = xeci_series_set_get(set, i++);
		json_t *got = v ? xeci_series_version_to_json(v) : NULL;
		if (!got || !json_equal(want, got)) {
			char *s = got ? json_dumps(got, JSON_COMPACT) : NULL;
			printf("%s: version %zu differs:\n  want %s  got  %s\n", name, i, line, s ? s : "nothing");
			free(s);
			bad++;
		}
		json_decref(want);
		json_decref(got);
	}
	fclose(f);
	if (i != xeci_series_set_count(set)) {
		printf("%s: %zu versions expected, %zu found\n", name, i, xeci_series_set_count(set));
		bad++;
	}
	xeci_series_set_free(set);
	for (size_t k = 0; k < n; k++)
		xeci_mail_free(mails[k]);
	free(mails);
	return bad;
}

static void cases(void **state)
{
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/tests/data/series", getenv("XECI_SRC"));
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	int ncases = 0, bad = 0;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".mbox"))
			continue;
		char name[256];
		snprintf(name, sizeof(name), "%.*s", (int)(l - 5), e->d_name);
		bad += check_case(dir, name);
		ncases++;
	}
	closedir(d);
	printf("%d series cases, %d differences\n", ncases, bad);
	assert_true(ncases >= 9);
	assert_int_equal(bad, 0);
}

int main(void)
{
	xeci_mail_global_init();
	const struct CMUnitTest tests[] = {cmocka_unit_test(cases)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
