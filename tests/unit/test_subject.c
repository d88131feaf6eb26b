/* Subject tags, data-driven: tests/data/subject/cases.txt holds one subject
 * and the expected tags (JSON) per line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail.h"

static void cases(void **state)
{
	const char *src = getenv("XECI_SRC");
	assert_non_null(src);
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/data/subject/cases.txt", src);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int count = 0, bad = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		char *tab = strchr(line, '\t');
		assert_non_null(tab);
		*tab = '\0';
		json_error_t err;
		json_t *want = json_loads(tab + 1, 0, &err);
		assert_non_null(want);
		xeci_subject_tags t;
		assert_int_equal(xeci_subject_parse(&t, line), 0);
		json_t *got = xeci_subject_tags_to_json(&t);
		if (!json_equal(want, got)) {
			char *g = json_dumps(got, JSON_COMPACT);
			fprintf(stderr, "MISMATCH subject \"%s\"\n  want %s\n  got  %s\n", line, tab + 1, g);
			free(g);
			bad++;
		}
		json_decref(want);
		json_decref(got);
		xeci_subject_tags_clear(&t);
		count++;
	}
	free(line);
	fclose(f);
	assert_true(count >= 20);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(cases)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
