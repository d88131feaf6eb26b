/* The series cache's memory of Message-IDs: what is set is given back, a
 * stored row updates what is known (and only that), clear forgets, and it
 * stays bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "series_cache.h"
#include "util.h"

static xeci_mail *mail(const char *mid, const char *irt, const char *ref1, const char *ref2)
{
	xeci_mail *m = xeci_calloc(1, sizeof(*m));
	m->message_id = mid ? xeci_strdup(mid) : NULL;
	m->in_reply_to = irt ? xeci_strdup(irt) : NULL;
	const char *refs[] = {ref1, ref2};
	for (int i = 0; i < 2; i++)
		if (refs[i]) {
			m->references = xeci_realloc(m->references, (m->nreferences + 1) * sizeof(char *));
			m->references[m->nreferences++] = xeci_strdup(refs[i]);
		}
	m->tags.index = m->tags.total = -1;
	return m;
}

static void test_rows_and_children(void **state)
{
	(void)state;
	xeci_series_cache *c = xeci_series_cache_new(64);
	int64_t row = -1;
	size_t n = 99;
	assert_false(xeci_series_cache_row_of(c, "a@x", &row));
	assert_null(xeci_series_cache_children(c, "a@x", &n));

	xeci_series_cache_set_row(c, "a@x", 0); /* known: no such row */
	assert_true(xeci_series_cache_row_of(c, "a@x", &row));
	assert_int_equal(row, 0);
	int64_t kids[] = {3, 5};
	xeci_series_cache_set_children(c, "a@x", kids, 2);
	xeci_series_cache_set_children(c, "b@x", NULL, 0); /* known: none */
	const int64_t *k = xeci_series_cache_children(c, "b@x", &n);
	assert_non_null(k);
	assert_int_equal(n, 0);

	/* row 7 is a@x's reply, answering b@x too (twice: once counted), and
	 * c@x, which is not known: it stays unknown */
	xeci_mail *m = mail("r@x", "a@x", "b@x", "b@x");
	xeci_mail *m2 = mail("a@x", NULL, "c@x", NULL);
	xeci_series_cache_stored(c, 7, m);
	k = xeci_series_cache_children(c, "a@x", &n);
	assert_int_equal(n, 3);
	assert_int_equal(k[2], 7);
	k = xeci_series_cache_children(c, "b@x", &n);
	assert_int_equal(n, 1);
	assert_int_equal(k[0], 7);
	assert_true(xeci_series_cache_row_of(c, "r@x", &row));
	assert_int_equal(row, 7);
	xeci_series_cache_stored(c, 8, m2); /* a@x arrives: now known as row 8 */
	assert_true(xeci_series_cache_row_of(c, "a@x", &row));
	assert_int_equal(row, 8);
	assert_null(xeci_series_cache_children(c, "c@x", &n));

	xeci_series_cache_clear(c);
	assert_false(xeci_series_cache_row_of(c, "a@x", &row));
	assert_null(xeci_series_cache_children(c, "a@x", &n));
	xeci_mail_free(m);
	xeci_mail_free(m2);
	xeci_series_cache_free(c);
}

static void test_bounded(void **state)
{
	(void)state;
	xeci_series_cache *c = xeci_series_cache_new(64);
	char id[32];
	int64_t row;
	for (int i = 0; i < 450000; i++) {
		snprintf(id, sizeof(id), "m%d@x", i);
		xeci_series_cache_set_row(c, id, i + 1);
	}
	/* the last ones are there, the first ones were forgotten on the way */
	assert_true(xeci_series_cache_row_of(c, id, &row));
	assert_int_equal(row, 450000);
	assert_false(xeci_series_cache_row_of(c, "m0@x", &row));
	xeci_series_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_and_children),
		cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
