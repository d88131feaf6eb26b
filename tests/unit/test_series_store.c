/* The series store on a real SQLite file: messages stored the way the ingest
 * stage stores them (messages rows with parsed JSON, message_refs), then
 * xeci_series_update in one batch and one message at a time in shuffled
 * orders must give the same versions and series; completion counted once; v2 supersedes
 * v1; a second run changes nothing; the filter ignores; expiry keeps the
 * missing indexes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "mbox.h"
#include "series.h"
#include "util.h"

static const char *CASES[] = {"reviews", "v2-reply-to-v1", "missing", "patch1-8", "pull-request",
			      "no-patches", "tags-any-order"};
#define NCASES (sizeof(CASES) / sizeof(*CASES))

typedef struct raw {
	char *data;
	size_t len;
} raw;

static raw raws[256];
static size_t nraws;

static void read_cases_of(const char *const *cases, size_t ncases)
{
	nraws = 0;
	for (size_t c = 0; c < ncases; c++) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/tests/data/series/%s.mbox", getenv("XECI_SRC"), cases[c]);
		xeci_mbox *mb;
		const char *msg;
		size_t len;
		assert_int_equal(xeci_mbox_open(&mb, path, 0), 0);
		while (xeci_mbox_next(&msg, &len, mb) == 0) {
			raws[nraws].data = xeci_strndup(msg, len);
			raws[nraws++].len = len;
		}
		xeci_mbox_free(mb);
	}
}

static void read_cases(void)
{
	read_cases_of(CASES, NCASES);
}

static xeci_db *open_db(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "/tmp/xeci-series-store-%d-%s.db", (int)getpid(), name);
	unlink(path);
	xeci_db *db;
	assert_int_equal(xeci_db_open(&db, path), 0);
	assert_int_equal(xeci_db_exec(db, "INSERT INTO inboxes (id, name, url) VALUES (1, 'xe', 'file:///x')"), 0);
	return db;
}

static void close_db(xeci_db *db)
{
	char path[256];
	snprintf(path, sizeof(path), "%s", xeci_db_path(db));
	xeci_db_close(db);
	unlink(path);
}

/* Stores raw message i as the ingest stage does; returns its rowid. */
static int64_t store(xeci_db *db, size_t i)
{
	xeci_mail *m;
	assert_int_equal(xeci_mail_parse(&m, raws[i].data, raws[i].len, 0), 0);
	sqlite3 *h = xeci_db_handle(db);
	sqlite3_stmt *st;
	char sha[65], src[32];
	xeci_sha256_hex(sha, raws[i].data, raws[i].len);
	snprintf(src, sizeof(src), "test#%zu", i);
	/* the cases share some mails (v1 is in several): stored once, as ingest does */
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT id FROM messages WHERE message_id = ?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, m->message_id, -1, SQLITE_STATIC);
	int64_t have = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	if (have) {
		xeci_mail_free(m);
		return have;
	}
	json_t *j = xeci_mail_to_json(m);
	char *parsed = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_int_equal(sqlite3_prepare_v2(h,
		"INSERT INTO messages (inbox_id, message_id, raw_sha256, size, source, status, parsed,"
		" subject, author_email, date, in_reply_to, has_patch)"
		" VALUES (1, ?, ?, ?, ?, 'ok', ?, ?, ?, ?, ?, ?)", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, m->message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sha, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)raws[i].len);
	sqlite3_bind_text(st, 4, src, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, parsed, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, m->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, m->author_email, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, m->date);
	sqlite3_bind_text(st, 9, m->in_reply_to, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 10, m->has_patch);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	int64_t rowid = sqlite3_last_insert_rowid(h);
	assert_int_equal(sqlite3_prepare_v2(h, "INSERT OR IGNORE INTO message_refs VALUES (?, ?)", -1, &st, NULL), SQLITE_OK);
	for (size_t r = 0; r <= m->nreferences; r++) {
		const char *ref = r < m->nreferences ? m->references[r] : m->in_reply_to;
		if (!ref)
			continue;
		sqlite3_bind_int64(st, 1, rowid);
		sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	free(parsed);
	xeci_mail_free(m);
	return rowid;
}

/* Everything the store holds about series, in a stable order, as text. */
static char *dump(xeci_db *db)
{
	static const char *q[] = {
		"SELECT v.posting_key, v.version, v.state, v.total, v.received, v.missing,"
		" v.cover_message_id, v.subject, v.ignored_reason, v.completed_at IS NOT NULL,"
		" (SELECT group_concat(k.posting_key, ',') FROM series_versions k"
		"  WHERE k.series_id = v.series_id ORDER BY k.version)"
		" FROM series_versions v ORDER BY v.posting_key",
		"SELECT v.posting_key, p.idx, p.message_id, p.patch_sha256, p.message_rowid IS NOT NULL"
		" FROM series_patches p JOIN series_versions v ON v.id = p.version_id ORDER BY 1, 2",
		"SELECT v.posting_key, t.idx, t.pos, t.name, t.value FROM series_trailers t"
		" JOIN series_versions v ON v.id = t.version_id ORDER BY 1, 2, 3",
		"SELECT (SELECT min(posting_key) FROM series_versions WHERE series_id = s.id), s.subject,"
		" s.change_id FROM series s ORDER BY 1",
	};
	xeci_buf b = XECI_BUF_INIT;
	for (size_t i = 0; i < sizeof(q) / sizeof(*q); i++) {
		sqlite3_stmt *st;
		assert_int_equal(sqlite3_prepare_v2(xeci_db_handle(db), q[i], -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			for (int c = 0; c < sqlite3_column_count(st); c++) {
				const char *t = (const char *)sqlite3_column_text(st, c);
				xeci_buf_printf(&b, "%s|", t ? t : "NULL");
			}
			xeci_buf_putc(&b, '\n');
		}
		sqlite3_finalize(st);
	}
	return xeci_buf_detach(&b);
}

static int update(xeci_db *db, const int64_t *ids, size_t n, const xeci_series_opts *opts)
{
	int completed = -1;
	assert_int_equal(xeci_db_begin(db), 0);
	assert_int_equal(xeci_series_update(db, 1, ids, n, opts, &completed), 0);
	assert_int_equal(xeci_db_commit(db), 0);
	return completed;
}

static char *query1(xeci_db *db, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(xeci_db_handle(db), sql, -1, &st, NULL), SQLITE_OK);
	char *s = NULL;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		s = xeci_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return s ? s : xeci_strdup("NULL");
}

static void assert_query(xeci_db *db, const char *sql, const char *want)
{
	char *got = query1(db, sql);
	if (strcmp(got, want))
		printf("%s\n  want %s\n  got  %s\n", sql, want, got);
	assert_string_equal(got, want);
	free(got);
}

/* Stores every raw message into db one at a time, in order (NULL: as
 * read), updating the series after each; returns the completions counted. */
static int store_one_by_one(xeci_db *db, const size_t *order)
{
	int completed = 0;
	for (size_t i = 0; i < nraws; i++) {
		int64_t id = store(db, order ? order[i] : i);
		completed += update(db, &id, 1, NULL);
	}
	return completed;
}

/* store_one_by_one in a shuffled (fixed-seed) order. */
static int store_shuffled(xeci_db *db, unsigned seed)
{
	size_t order[256];
	for (size_t i = 0; i < nraws; i++)
		order[i] = i;
	srand(seed);
	for (size_t i = nraws - 1; i > 0; i--) {
		size_t k = (size_t)rand() % (i + 1), t = order[i];
		order[i] = order[k];
		order[k] = t;
	}
	return store_one_by_one(db, order);
}

static void free_cases(void)
{
	for (size_t i = 0; i < nraws; i++)
		free(raws[i].data);
	nraws = 0;
}

static void assert_same_dump(xeci_db *a, xeci_db *b)
{
	char *da = dump(a), *db_ = dump(b);
	if (strcmp(da, db_))
		printf("batch:\n%s\nshuffled:\n%s\n", da, db_);
	assert_string_equal(da, db_);
	free(da);
	free(db_);
}

static void batch_and_shuffled_agree(void **state)
{
	read_cases();
	xeci_db *a = open_db("batch");
	int64_t ids[256];
	for (size_t i = 0; i < nraws; i++)
		ids[i] = store(a, i);
	int ca = update(a, ids, nraws, NULL);
	char *da = dump(a);
	/* one message at a time, in 16 orders: the same versions, and each
	 * completion counted once, when it happens (v1 may complete before v2
	 * arrives, then be superseded) */
	for (unsigned seed = 1; seed <= 16; seed++) {
		xeci_db *b = open_db("shuffled");
		int cb = store_shuffled(b, seed);
		assert_same_dump(a, b);
		assert_true(cb >= 3 && cb <= 4);
		close_db(b);
	}

	/* complete and not superseded: v2, patch1-8, tags-any-order (v1, complete
	 * too, is superseded by v2 in the same batch: not counted) */
	assert_int_equal(ca, 3);
	assert_query(a, "SELECT count(*) FROM series_versions WHERE completed_at IS NOT NULL", "4");

	/* v2 posted in reply to v1: one series, v1 superseded */
	assert_query(a, "SELECT group_concat(state, ',') FROM (SELECT state FROM series_versions"
			" WHERE subject = 'drm/xe: three changes' AND author = 'author@example.com'"
			" AND series_id = (SELECT series_id FROM series_versions WHERE version = 2"
			" AND subject = 'drm/xe: three changes') ORDER BY version)",
		     "superseded,complete");
	assert_query(a, "SELECT missing || state FROM series_versions WHERE total = 3 AND received = 2",
		     "[2]incomplete");
	assert_query(a, "SELECT ignored_reason FROM series_versions WHERE state = 'ignored'", "pull request");
	assert_query(a, "SELECT received || '/' || total FROM series_versions WHERE total = 8", "8/8");
	/* a reply to the cover gives every patch its Reviewed-by (and idx 0) */
	assert_query(a, "SELECT count(*) FROM series_trailers WHERE name = 'Reviewed-by'", "4");
	assert_query(a, "SELECT count(*) FROM series_trailers WHERE name = 'Acked-by'", "1");

	/* idempotent: the same batch again changes nothing and completes nothing */
	assert_int_equal(update(a, ids, nraws, NULL), 0);
	char *da2 = dump(a);
	assert_string_equal(da, da2);

	/* expiry: the incomplete one, missing kept; the rest untouched */
	assert_int_equal(xeci_db_begin(a), 0);
	assert_int_equal(xeci_series_expire(a, xeci_time_now() + 3600, 600), 0);
	assert_int_equal(xeci_db_commit(a), 0);
	assert_query(a, "SELECT missing || state FROM series_versions WHERE total = 3 AND received = 2",
		     "[2]expired");
	assert_query(a, "SELECT count(*) FROM series_versions WHERE state = 'expired'", "1");
	/* a re-run with nothing new keeps it expired */
	update(a, ids, nraws, NULL);
	assert_query(a, "SELECT state FROM series_versions WHERE total = 3 AND received = 2", "expired");

	free(da);
	free(da2);
	close_db(a);
	free_cases();
}

/* One author, one subject, two b4 postings with their own change-ids: two
 * series, whatever the order (the first one's cover, which carries its
 * change-id, comes after its patches); a CI report's trailer-shaped lines
 * are no review, a reviewer's reply is. */
static void b4_change_ids_keep_series_apart(void **state)
{
	static const char *const cases[] = {"b4-same-subject"};
	read_cases_of(cases, 1);
	xeci_db *a = open_db("b4-batch");
	int64_t ids[256];
	for (size_t i = 0; i < nraws; i++)
		ids[i] = store(a, i);
	assert_int_equal(update(a, ids, nraws, NULL), 2);
	assert_query(a, "SELECT group_concat(change_id, ',') FROM (SELECT change_id FROM series ORDER BY id)",
		     "20240407-bo-eviction-aaaa11112222,20240701-bo-eviction-bbbb33334444");
	assert_query(a, "SELECT group_concat(state, ',') FROM series_versions", "complete,complete");
	assert_query(a, "SELECT group_concat(t.idx || ' ' || t.name, ',') FROM series_trailers t"
			" WHERE t.name != 'Signed-off-by'", "2 Reviewed-by");
	for (unsigned seed = 1; seed <= 8; seed++) {
		xeci_db *b = open_db("b4-shuffled");
		store_shuffled(b, seed);
		assert_same_dump(a, b);
		close_db(b);
	}
	/* one message at a time in archive order: the series learns its
	 * change-id from the late cover */
	xeci_db *c = open_db("b4-one-by-one");
	store_one_by_one(c, NULL);
	assert_same_dump(a, c);
	close_db(c);
	close_db(a);
	free_cases();
}

/* One author, one title, two topics without change-ids, the second's v1
 * posted between the first's v2 and v3: arriving in posting order, in one
 * batch or one at a time, a1 a2 a3 are one series and b1 b2 another. (In
 * a random order a version can join the only series it sees yet: the link
 * is decided when a version arrives and not redone for later ones.) */
static void same_title_topics_apart(void **state)
{
	static const char *const cases[] = {"same-title"};
	read_cases_of(cases, 1);
	xeci_db *a = open_db("title-batch");
	int64_t ids[256];
	for (size_t i = 0; i < nraws; i++)
		ids[i] = store(a, i);
	update(a, ids, nraws, NULL);
	const char *members = "SELECT group_concat(ks, ' | ') FROM (SELECT group_concat(posting_key, ',') AS ks"
			      " FROM (SELECT series_id, posting_key FROM series_versions ORDER BY posting_key)"
			      " GROUP BY series_id ORDER BY ks)";
	assert_query(a, members, "a1@example.com,a2@example.com,a3@example.com | b1@example.com,b2@example.com");
	assert_query(a, "SELECT group_concat(posting_key || ' ' || state, ',') FROM (SELECT posting_key, state"
			" FROM series_versions WHERE state = 'complete' ORDER BY posting_key)",
		     "a3@example.com complete,b2@example.com complete");
	xeci_db *b = open_db("title-one-by-one");
	store_one_by_one(b, NULL);
	assert_same_dump(a, b);
	close_db(b);
	close_db(a);
	free_cases();
}

static void filter_ignores(void **state)
{
	read_cases();
	xeci_db *db = open_db("filter");
	int64_t ids[256];
	for (size_t i = 0; i < nraws; i++)
		ids[i] = store(db, i);
	char *paths[] = {"drivers/gpu/drm/i915/"};
	xeci_series_filter f = {.paths = paths, .npaths = 1};
	xeci_series_opts opts = {.filter = &f};
	assert_int_equal(update(db, ids, nraws, &opts), 0);
	assert_query(db, "SELECT count(*) FROM series_versions WHERE state NOT IN ('ignored', 'superseded')", "0");
	assert_query(db, "SELECT count(*) FROM series_versions WHERE ignored_reason LIKE 'filter%'", "5");

	char *xe[] = {"drivers/gpu/drm/xe/"};
	f.paths = xe;
	assert_int_equal(update(db, ids, nraws, &opts), 3);
	assert_query(db, "SELECT count(*) FROM series_versions WHERE state = 'complete'", "3");
	close_db(db);
	free_cases();
}

int main(void)
{
	xeci_mail_global_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(batch_and_shuffled_agree),
		cmocka_unit_test(b4_change_ids_keep_series_apart),
		cmocka_unit_test(same_title_topics_apart),
		cmocka_unit_test(filter_ignores),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
