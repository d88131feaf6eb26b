/* Series assembly over mails built in C: the grouping and trailer rules on
 * their own, independent of the mail parser (the corpus and data-driven
 * tests, test_series_b4.c and test_series_cases.c, go through the parser). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "series.h"
#include "util.h"

#define MAXM 32

typedef struct fixture {
	xeci_mail *m[MAXM];
	size_t n;
} fixture;

static fixture F;

/* A mail: id, in-reply-to (or NULL), subject, version, index, total (-1: no
 * counters), author, date, has_patch. */
static xeci_mail *mk(const char *id, const char *irt, const char *subject, int version, int index,
		     int total, const char *author, int64_t date, bool patch)
{
	xeci_mail *m = xeci_calloc(1, sizeof(*m));
	m->message_id = id ? xeci_strdup(id) : NULL;
	if (irt) {
		m->in_reply_to = xeci_strdup(irt);
		m->references = xeci_calloc(1, sizeof(char *));
		m->references[0] = xeci_strdup(irt);
		m->nreferences = 1;
	}
	m->subject = xeci_strdup(subject);
	m->subject_clean = xeci_strdup(subject);
	m->tags.version = version;
	m->tags.index = index;
	m->tags.total = total;
	m->tags.is_patch = true;
	m->author_email = xeci_strdup(author);
	m->author_name = xeci_strdup("A U Thor");
	m->date = date;
	m->has_patch = patch;
	if (patch)
		xeci_sha256_hex(m->patch_sha256, subject, strlen(subject));
	F.m[F.n++] = m;
	return m;
}

static void add_trailer(xeci_mail *m, const char *name, const char *value)
{
	m->trailers = xeci_realloc(m->trailers, (m->ntrailers + 1) * sizeof(*m->trailers));
	m->trailers[m->ntrailers].name = xeci_strdup(name);
	m->trailers[m->ntrailers].value = xeci_strdup(value);
	m->ntrailers++;
}

static void free_mail(xeci_mail *m)
{
	free(m->message_id);
	free(m->in_reply_to);
	for (size_t i = 0; i < m->nreferences; i++)
		free(m->references[i]);
	free(m->references);
	free(m->subject);
	free(m->subject_clean);
	free(m->author_email);
	free(m->author_name);
	for (size_t i = 0; i < m->ntrailers; i++) {
		free(m->trailers[i].name);
		free(m->trailers[i].value);
	}
	free(m->trailers);
	free(m);
}

static int setup(void **state)
{
	memset(&F, 0, sizeof(F));
	return 0;
}

static int teardown(void **state)
{
	for (size_t i = 0; i < F.n; i++)
		free_mail(F.m[i]);
	return 0;
}

static xeci_series_set *assemble(void)
{
	xeci_series_set *set;
	assert_int_equal(xeci_series_assemble(&set, F.m, F.n), 0);
	return set;
}

static void assert_ids(const xeci_series_version *v, ...)
{
	va_list ap;
	va_start(ap, v);
	size_t i = 0;
	for (const char *id; (id = va_arg(ap, const char *)); i++) {
		assert_true(i < v->npatches);
		assert_string_equal(v->patches[i].mail->message_id, id);
	}
	va_end(ap);
	assert_int_equal(i, v->npatches);
}

#define A "a@example.com"

static void cover_and_patches_out_of_order(void **state)
{
	mk("p2", "c", "[PATCH 2/2] two", 1, 2, 2, A, 1002, true);
	mk("c", NULL, "[PATCH 0/2] cover", 1, 0, 2, A, 1000, false);
	mk("p1", "c", "[PATCH 1/2] one", 1, 1, 2, A, 1001, true);
	xeci_series_set *set = assemble();
	assert_int_equal(xeci_series_set_count(set), 1);
	const xeci_series_version *v = xeci_series_set_get(set, 0);
	assert_true(v->complete);
	assert_string_equal(v->cover->message_id, "c");
	assert_string_equal(v->posting_key, "c");
	assert_ids(v, "p1", "p2", NULL);
	xeci_series_set_free(set);
}

static void threaded_under_patch1_and_chained(void **state)
{
	mk("p1", NULL, "[PATCH 1/3] one", 1, 1, 3, A, 1001, true);
	mk("p2", "p1", "[PATCH 2/3] two", 1, 2, 3, A, 1002, true);
	mk("p3", "p2", "[PATCH 3/3] three", 1, 3, 3, A, 1003, true);
	xeci_series_set *set = assemble();
	assert_int_equal(xeci_series_set_count(set), 1);
	const xeci_series_version *v = xeci_series_set_get(set, 0);
	assert_true(v->complete);
	assert_null(v->cover);
	assert_string_equal(v->posting_key, "p1");
	assert_ids(v, "p1", "p2", "p3", NULL);
	xeci_series_set_free(set);
}

static void unthreaded_by_markers(void **state)
{
	mk("x2", NULL, "[PATCH 2/2] two", 1, 2, 2, A, 1100, true);
	mk("x1", NULL, "[PATCH 1/2] one", 1, 1, 2, A, 1000, true);
	/* same shape, other author, and one an hour later: not the same posting */
	mk("y2", NULL, "[PATCH 2/2] two", 1, 2, 2, "b@example.com", 1050, true);
	mk("z2", NULL, "[PATCH 2/2] two", 1, 2, 2, A, 1000 + 3600, true);
	xeci_series_set *set = assemble();
	assert_int_equal(xeci_series_set_count(set), 3);
	const xeci_series_version *v = xeci_series_set_get(set, 0);
	assert_ids(v, "x1", "x2", NULL);
	assert_true(v->complete);
	assert_false(xeci_series_set_get(set, 1)->complete);
	assert_int_equal(xeci_series_set_get(set, 1)->missing[0], 1);
	xeci_series_set_free(set);
}

static void v2_in_reply_to_v1_is_not_mixed(void **state)
{
	mk("c1", NULL, "[PATCH 0/2] cover", 1, 0, 2, A, 1000, false);
	mk("a1", "c1", "[PATCH 1/2] one", 1, 1, 2, A, 1001, true);
	mk("a2", "c1", "[PATCH 2/2] two", 1, 2, 2, A, 1002, true);
	mk("c2", "c1", "[PATCH v2 0/2] cover", 2, 0, 2, A, 1200, false);
	mk("b1", "c2", "[PATCH v2 1/2] one", 2, 1, 2, A, 1201, true);
	mk("b2", "c2", "[PATCH v2 2/2] two", 2, 2, 2, A, 1202, true);
	xeci_series_set *set = assemble();
	assert_int_equal(xeci_series_set_count(set), 2);
	const xeci_series_version *v1 = xeci_series_set_get(set, 0), *v2 = xeci_series_set_get(set, 1);
	assert_int_equal(v1->version, 1);
	assert_int_equal(v2->version, 2);
	assert_ids(v1, "a1", "a2", NULL);
	assert_ids(v2, "b1", "b2", NULL);
	assert_string_equal(v2->root_parent_id, "c1");
	xeci_series_set_free(set);
}

static void missing_duplicate_and_absent_cover(void **state)
{
	/* the cover never arrived: the patches answer it all the same */
	mk("p3", "gone", "[PATCH 3/3] three", 1, 3, 3, A, 1003, true);
	mk("p1", "gone", "[PATCH 1/3] one", 1, 1, 3, A, 1001, true);
	mk("p1b", "gone", "[PATCH 1/3] one again", 1, 1, 3, A, 1005, true);
	xeci_series_set *set = assemble();
	assert_int_equal(xeci_series_set_count(set), 1);
	const xeci_series_version *v = xeci_series_set_get(set, 0);
	assert_false(v->complete);
	assert_int_equal(v->nmissing, 1);
	assert_int_equal(v->missing[0], 2);
	assert_string_equal(v->posting_key, "gone");
	assert_ids(v, "p1", "p3", NULL);
	xeci_series_set_free(set);
}

static void trailers_from_cover_and_patch_replies(void **state)
{
	mk("c", NULL, "[PATCH 0/2] cover", 1, 0, 2, A, 1000, false);
	xeci_mail *p1 = mk("p1", "c", "[PATCH 1/2] one", 1, 1, 2, A, 1001, true);
	add_trailer(p1, "Signed-off-by", "A U Thor <a@example.com>");
	mk("p2", "c", "[PATCH 2/2] two", 1, 2, 2, A, 1002, true);
	xeci_mail *r = mk("r1", "c", "Re: [PATCH 0/2] cover", 1, 0, 2, "rev@example.com", 2000, false);
	r->author_name[0] = 'R';
	add_trailer(r, "Reviewed-by", "Rev Iewer <rev@example.com>");
	add_trailer(r, "Cc", "someone <s@example.com>");
	xeci_mail *a = mk("r2", "p2", "Re: [PATCH 2/2] two", 1, 2, 2, "ack@example.com", 2001, false);
	add_trailer(a, "Acked-by", "Ack Er <ack@example.com>");
	add_trailer(a, "Acked-by", "Someone Else <else@example.com>"); /* not the sender: dropped */
	/* a reply quoting the patch's own trailer again: deduplicated */
	xeci_mail *d = mk("r3", "p1", "Re: [PATCH 1/2] one", 1, 1, 2, "a@example.com", 2002, false);
	add_trailer(d, "signed-off-by", "a u thor <a@example.com>");
	xeci_series_set *set = assemble();
	assert_int_equal(xeci_series_set_count(set), 1);
	const xeci_series_version *v = xeci_series_set_get(set, 0);
	assert_int_equal(v->patches[0].ntrailers, 2);
	assert_string_equal(v->patches[0].trailers[0].name, "Signed-off-by");
	assert_string_equal(v->patches[0].trailers[1].name, "Reviewed-by");
	assert_int_equal(v->patches[1].ntrailers, 2);
	assert_string_equal(v->patches[1].trailers[0].name, "Acked-by");
	assert_string_equal(v->patches[1].trailers[1].name, "Reviewed-by");
	xeci_series_set_free(set);
}

static void pull_request_and_discussion(void **state)
{
	xeci_mail *pr = mk("pr", NULL, "[GIT PULL] drm-xe-next", 1, -1, -1, A, 1000, false);
	pr->is_pull_request = true;
	pr->tags.is_patch = false;
	xeci_mail *q = mk("q", NULL, "how do I build this?", 1, -1, -1, A, 1000, false);
	q->tags.is_patch = false;
	mk("qr", "q", "Re: how do I build this?", 1, -1, -1, A, 1000, false);
	xeci_series_set *set = assemble();
	assert_int_equal(xeci_series_set_count(set), 1);
	const xeci_series_version *v = xeci_series_set_get(set, 0);
	assert_string_equal(v->ignored_reason, "pull request");
	json_t *j = xeci_series_version_to_json(v);
	assert_string_equal(json_string_value(json_object_get(j, "ignored_reason")), "pull request");
	json_decref(j);
	xeci_series_set_free(set);
}

static void single_patches_and_untagged_reply_diff(void **state)
{
	mk("s1", NULL, "[PATCH] one", 1, -1, -1, A, 1000, true);
	mk("s2", NULL, "[PATCH] other", 1, -1, -1, A, 1010, true);
	xeci_mail *d = mk("d", "s1", "sketch", 1, -1, -1, "b@example.com", 1100, true);
	d->tags.is_patch = false;
	xeci_series_set *set = assemble();
	assert_int_equal(xeci_series_set_count(set), 2);
	assert_true(xeci_series_set_get(set, 0)->complete);
	assert_int_equal(xeci_series_set_get(set, 0)->total, 1);
	xeci_series_set_free(set);
}

static void no_message_id_and_self_reference(void **state)
{
	mk(NULL, NULL, "[PATCH 1/1] anonymous", 1, 1, 1, A, 1000, true);
	mk("loop", "loop", "[PATCH 1/2] loop", 1, 1, 2, A, 1000, true);
	xeci_series_set *set = assemble();
	assert_int_equal(xeci_series_set_count(set), 1);
	assert_string_equal(xeci_series_set_get(set, 0)->patches[0].mail->message_id, "loop");
	xeci_series_set_free(set);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(cover_and_patches_out_of_order),
		T(threaded_under_patch1_and_chained),
		T(unthreaded_by_markers),
		T(v2_in_reply_to_v1_is_not_mixed),
		T(missing_duplicate_and_absent_cover),
		T(trailers_from_cover_and_patch_replies),
		T(pull_request_and_discussion),
		T(single_patches_and_untagged_reply_diff),
		T(no_message_id_and_self_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
