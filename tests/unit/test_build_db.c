/* The build queue in SQLite (daemon/build_db.c) on a real database file:
 * versions are written as the series stage leaves them (messages,
 * message_raw, series, series_versions, series_patches) with real mails,
 * the config is a xeci.conf loaded from a temp file. Covers enqueueing and
 * routing, claim order, cancelling superseded versions, recovery after a
 * stop, the update functions, base builds, and the version's patches. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "build_db.h"
#include "config.h"
#include "db.h"
#include "error.h"
#include "mail.h"
#include "util.h"

#include "test_db_fixture.h"

static int setup(void **state)
{
	return fx_setup(state, "build-db", "INSERT INTO inboxes (id, name, url) VALUES (1, 'xe', 'file:///x'), "
					  "(2, 'other', 'file:///o'), (3, 'dri', 'file:///d')");
}

static int teardown(void **state)
{
	return fx_teardown(state);
}

/* ---- writing versions as the series stage does ------------------------------- */

static char *mail_text(const char *mid, const char *subject, int patchno)
{
	char *s;
	const char *body = patchno > 0
		? "The change of patch %d.\n\nSigned-off-by: A U Thor <author@example.com>\n---\n"
		  " drivers/gpu/drm/xe/xe_%d.c | 1 +\n 1 file changed, 1 insertion(+)\n\n"
		  "diff --git a/drivers/gpu/drm/xe/xe_%d.c b/drivers/gpu/drm/xe/xe_%d.c\n"
		  "index 1111111..2222222 100644\n"
		  "--- a/drivers/gpu/drm/xe/xe_%d.c\n+++ b/drivers/gpu/drm/xe/xe_%d.c\n"
		  "@@ -1 +1,2 @@\n int x;\n+int y%d;\n-- \n2.43.0\n\n"
		: "The cover letter.%d\n\nbase-commit: 0123456789abcdef0123456789abcdef01234567\n";
	char b[2048];
	snprintf(b, sizeof(b), body, patchno, patchno, patchno, patchno, patchno, patchno, patchno);
	if (asprintf(&s, "From: A U Thor <author@example.com>\nTo: intel-xe@lists.freedesktop.org\n"
			 "Subject: %s\nDate: Mon, 1 Jan 2024 00:00:%02d +0000\nMessage-ID: <%s>\n"
			 "MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n%s",
		     subject, patchno, mid, b) < 0)
		fail();
	return s;
}

/* A messages row (+ message_raw when store_raw); returns its rowid. */
static int64_t add_message(fx *f, int64_t inbox, const char *mid, const char *text, const char *status,
			   bool store_raw)
{
	sqlite3 *h = xeci_db_handle(f->db);
	sqlite3_stmt *st;
	char sha[65];
	xeci_sha256_hex(sha, text, strlen(text));
	assert_int_equal(sqlite3_prepare_v2(h, "INSERT INTO messages (inbox_id, message_id, raw_sha256, size, "
					       "source, status) VALUES (?, ?, ?, ?, 'test', ?)", -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_int64(st, 1, inbox);
	sqlite3_bind_text(st, 2, mid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sha, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)strlen(text));
	sqlite3_bind_text(st, 5, status, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	int64_t rowid = sqlite3_last_insert_rowid(h);
	if (store_raw) {
		assert_int_equal(sqlite3_prepare_v2(h, "INSERT INTO message_raw (message_rowid, raw) VALUES (?, ?)", -1, &st, NULL),
				 SQLITE_OK);
		sqlite3_bind_int64(st, 1, rowid);
		sqlite3_bind_blob(st, 2, text, (int)strlen(text), SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
	}
	return rowid;
}

typedef struct vspec {
	int64_t inbox;
	const char *state;        /* complete, incomplete, superseded, ... */
	int64_t completed_at;     /* 0: NULL */
	const char *prefix;       /* subject words before the N/M, e.g. "PATCH drm-xe-next v2" */
	const char *cover_prefix; /* NULL: no cover; else the cover's (e.g. "PATCH v2") */
	int npatches;
	const char *base_commit;
	int64_t series_id;        /* 0: a new series */
	int version;
} vspec;

static int64_t add_version(fx *f, const vspec *v)
{
	sqlite3 *h = xeci_db_handle(f->db);
	sqlite3_stmt *st;
	int64_t sid = v->series_id;
	if (!sid) {
		assert_int_equal(sqlite3_prepare_v2(h, "INSERT INTO series (inbox_id, subject, author) VALUES "
						       "(?, 'drm/xe: a change', 'author@example.com')", -1, &st, NULL),
				 SQLITE_OK);
		sqlite3_bind_int64(st, 1, v->inbox);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
		sid = sqlite3_last_insert_rowid(h);
	}
	int n = ++f->seq;
	char cover_mid[64] = "";
	if (v->cover_prefix) {
		snprintf(cover_mid, sizeof(cover_mid), "cover-%d@example.com", n);
		char subj[256];
		snprintf(subj, sizeof(subj), "[%s 0/%d] drm/xe: a change", v->cover_prefix, v->npatches);
		char *t = mail_text(cover_mid, subj, 0);
		add_message(f, v->inbox, cover_mid, t, "ok", true);
		free(t);
	}
	char key[64];
	snprintf(key, sizeof(key), "key-%d", n);
	assert_int_equal(sqlite3_prepare_v2(h, "INSERT INTO series_versions (series_id, inbox_id, posting_key, "
					       "version, subject, author, cover_message_id, total, received, "
					       "base_commit, state, completed_at) VALUES (?, ?, ?, ?, "
					       "'drm/xe: a change', 'author@example.com', ?, ?, ?, ?, ?, ?)",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_int64(st, 1, sid);
	sqlite3_bind_int64(st, 2, v->inbox);
	sqlite3_bind_text(st, 3, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 4, v->version ? v->version : 1);
	if (v->cover_prefix)
		sqlite3_bind_text(st, 5, cover_mid, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_int(st, 6, v->npatches);
	sqlite3_bind_int(st, 7, v->npatches);
	if (v->base_commit)
		sqlite3_bind_text(st, 8, v->base_commit, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 8);
	sqlite3_bind_text(st, 9, v->state, -1, SQLITE_STATIC);
	if (v->completed_at)
		sqlite3_bind_int64(st, 10, v->completed_at);
	else
		sqlite3_bind_null(st, 10);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	int64_t vid = sqlite3_last_insert_rowid(h);
	for (int i = 1; i <= v->npatches; i++) {
		char mid[64], subj[256];
		snprintf(mid, sizeof(mid), "patch-%d-%d@example.com", n, i);
		snprintf(subj, sizeof(subj), "[%s %d/%d] drm/xe: part %d", v->prefix ? v->prefix : "PATCH", i,
			 v->npatches, i);
		char *t = mail_text(mid, subj, i);
		int64_t rowid = add_message(f, v->inbox, mid, t, "ok", true);
		free(t);
		assert_int_equal(sqlite3_prepare_v2(h, "INSERT INTO series_patches (version_id, idx, message_rowid, "
						       "message_id, subject) VALUES (?, ?, ?, ?, 'part')", -1, &st, NULL),
				 SQLITE_OK);
		sqlite3_bind_int64(st, 1, vid);
		sqlite3_bind_int(st, 2, i);
		sqlite3_bind_int64(st, 3, rowid);
		sqlite3_bind_text(st, 4, mid, -1, SQLITE_TRANSIENT);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
	}
	return vid;
}

static const char CFG_DEFAULT_TREE[] =
	"[inbox \"xe\"]\n\turl = file:///x\n\ttree = drm-tip\n"
	"[inbox \"dri\"]\n\turl = file:///d\n\ttree = drm-xe\n"
	"[tree \"drm-tip\"]\n\turl = file:///trees/tip\n"
	"[tree \"drm-xe\"]\n\turl = file:///trees/xe\n\tconfig = xe-hw\n"
	"[build]\n\tconfig = qemu-kunit\n\tconfig = xe-hw\n";

/* ---- 1. enqueue ------------------------------------------------------------ */

static void enqueue_needs_trees(void **state)
{
	fx *f = *state;
	fx_load_cfg(f, "[inbox \"xe\"]\n\turl = file:///x\n[build]\n\tconfig = qemu-kunit\n");
	add_version(f, &(vspec){.inbox = 1, .state = "complete", .completed_at = 1000, .npatches = 2});
	int added = -1;
	assert_int_equal(xeci_build_db_enqueue(&added, f->db, f->cfg), 0);
	assert_int_equal(added, 0);
	assert_int_equal(count(f, "SELECT count(*) FROM builds"), 0);
}

static void enqueue_one_row_per_config(void **state)
{
	fx *f = *state;
	fx_load_cfg(f, CFG_DEFAULT_TREE);
	int64_t a = add_version(f, &(vspec){.inbox = 1, .state = "complete", .completed_at = 1000, .npatches = 2,
					   .cover_prefix = "PATCH"});
	int64_t b = add_version(f, &(vspec){.inbox = 3, .state = "complete", .completed_at = 1001, .npatches = 1});
	int64_t inc = add_version(f, &(vspec){.inbox = 1, .state = "incomplete", .npatches = 1});
	int64_t sup = add_version(f, &(vspec){.inbox = 1, .state = "superseded", .completed_at = 900, .npatches = 1});
	int64_t ign = add_version(f, &(vspec){.inbox = 1, .state = "ignored", .npatches = 1});
	int added = -1;
	assert_int_equal(xeci_build_db_enqueue(&added, f->db, f->cfg), 0);
	assert_int_equal(added, 3);
	/* xe's default tree drm-tip has no configs: [build]'s two */
	assert_int_equal(count(f, "SELECT count(*) FROM builds WHERE version_id = %lld", (long long)a), 2);
	assert_int_equal(count(f, "SELECT count(*) FROM builds WHERE version_id = %lld AND tree = 'drm-tip' "
				  "AND state = 'queued' AND config IN ('qemu-kunit', 'xe-hw')", (long long)a), 2);
	/* dri's default tree drm-xe has config xe-hw: it overrides [build] */
	assert_int_equal(count(f, "SELECT count(*) FROM builds WHERE version_id = %lld", (long long)b), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM builds WHERE version_id = %lld AND tree = 'drm-xe' "
				  "AND config = 'xe-hw' AND state = 'queued'", (long long)b), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM builds WHERE version_id IN (%lld, %lld, %lld)",
			       (long long)inc, (long long)sup, (long long)ign), 0);
	/* priority is the version's completed_at; queued rows are not finished */
	assert_int_equal(count(f, "SELECT min(priority) FROM builds WHERE version_id = %lld", (long long)a), 1000);
	assert_int_equal(count(f, "SELECT count(*) FROM builds WHERE finished_at IS NOT NULL"), 0);

	assert_int_equal(xeci_build_db_enqueue(&added, f->db, f->cfg), 0);
	assert_int_equal(added, 0);
	assert_int_equal(count(f, "SELECT count(*) FROM builds"), 3);

	/* a version completing later is queued by the next run, alone */
	exec(f, "UPDATE series_versions SET state = 'complete', completed_at = 2000 WHERE id = %lld",
	     (long long)inc);
	assert_int_equal(xeci_build_db_enqueue(&added, f->db, f->cfg), 0);
	assert_int_equal(added, 2);
	assert_int_equal(count(f, "SELECT count(*) FROM builds"), 5);
}

/* ---- 2. routing -------------------------------------------------------------- */

static const char CFG_ROUTING[] =
	"[inbox \"xe\"]\n\turl = file:///x\n\ttree = drm-tip\n"
	"[inbox \"other\"]\n\turl = file:///o\n"
	"[tree \"drm-tip\"]\n\turl = file:///trees/tip\n"
	"[tree \"drm-xe\"]\n\turl = file:///trees/xe\n\tprefix = drm-xe-next\n\tconfig = xe-hw\n"
	"[build]\n\tconfig = qemu-kunit\n";

static char *tree_of(fx *f, int64_t vid, char **state, char **error)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(xeci_db_handle(f->db), "SELECT tree, state, error, count(*) OVER () "
				"FROM builds WHERE version_id = ?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, vid);
	char *tree = NULL;
	if (sqlite3_step(st) == SQLITE_ROW) {
		assert_int_equal(sqlite3_column_int(st, 3), 1);
		tree = xeci_strdup((const char *)sqlite3_column_text(st, 0));
		if (state)
			*state = xeci_strdup((const char *)sqlite3_column_text(st, 1));
		if (error)
			*error = sqlite3_column_text(st, 2) ? xeci_strdup((const char *)sqlite3_column_text(st, 2))
							    : NULL;
	}
	sqlite3_finalize(st);
	return tree;
}

static void assert_tree(fx *f, int64_t vid, const char *want)
{
	char *state = NULL;
	char *t = tree_of(f, vid, &state, NULL);
	assert_non_null(t);
	assert_string_equal(t, want);
	assert_string_equal(state, "queued");
	free(t);
	free(state);
}

static void routing_by_prefix(void **state)
{
	fx *f = *state;
	fx_load_cfg(f, CFG_ROUTING);
	/* patch 1's prefix beats xe's default tree */
	int64_t p1 = add_version(f, &(vspec){.inbox = 1, .state = "complete", .completed_at = 10, .npatches = 2,
					    .prefix = "PATCH drm-xe-next"});
	/* the cover's prefix (with a version tag) */
	int64_t cv = add_version(f, &(vspec){.inbox = 1, .state = "complete", .completed_at = 11, .npatches = 2,
					    .prefix = "PATCH v2", .cover_prefix = "PATCH drm-xe-next v2"});
	/* no prefix: xe's default */
	int64_t def = add_version(f, &(vspec){.inbox = 1, .state = "complete", .completed_at = 12, .npatches = 1});
	/* an inbox without a tree, but a prefix: taken */
	int64_t op = add_version(f, &(vspec){.inbox = 2, .state = "complete", .completed_at = 13, .npatches = 1,
					    .prefix = "PATCH drm-xe-next v3"});
	/* prefixes match case-insensitively */
	int64_t uc = add_version(f, &(vspec){.inbox = 2, .state = "complete", .completed_at = 14, .npatches = 1,
					    .prefix = "PATCH DRM-XE-NEXT"});
	/* nobody takes it */
	int64_t none = add_version(f, &(vspec){.inbox = 2, .state = "complete", .completed_at = 15, .npatches = 1,
					      .prefix = "PATCH net-next"});
	int added = -1;
	assert_int_equal(xeci_build_db_enqueue(&added, f->db, f->cfg), 0);
	assert_int_equal(added, 6);
	assert_tree(f, p1, "drm-xe");
	assert_tree(f, cv, "drm-xe");
	assert_tree(f, def, "drm-tip");
	assert_tree(f, op, "drm-xe");
	assert_tree(f, uc, "drm-xe");
	assert_int_equal(count(f, "SELECT count(*) FROM builds WHERE version_id = %lld AND config = 'xe-hw'",
			       (long long)p1), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM builds WHERE version_id = %lld AND config = 'qemu-kunit'",
			       (long long)def), 1);

	char *st = NULL, *err = NULL;
	char *t = tree_of(f, none, &st, &err);
	assert_non_null(t);
	assert_string_equal(st, "error");
	assert_non_null(err);
	assert_non_null(strstr(err, "no tree"));
	assert_non_null(strstr(err, "other"));
	assert_int_equal(count(f, "SELECT finished_at IS NOT NULL FROM builds WHERE version_id = %lld",
			       (long long)none), 1);
	free(t);
	free(st);
	free(err);

	/* the error row is the version's build: not retried, not claimed */
	assert_int_equal(xeci_build_db_enqueue(&added, f->db, f->cfg), 0);
	assert_int_equal(added, 0);
	int64_t id;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(xeci_build_db_claim(&id, f->db), 0);
		assert_true(id > 0);
	}
	assert_int_equal(xeci_build_db_claim(&id, f->db), 0);
	assert_int_equal(id, 0);
}

/* A cover stored twice under one Message-ID (the ingest stage keeps a second
 * body as an 'error' row): still one build per config, counted once. */
static void enqueue_duplicate_cover_rows(void **state)
{
	fx *f = *state;
	fx_load_cfg(f, "[inbox \"xe\"]\n\turl = file:///x\n"
		    "[tree \"drm-xe\"]\n\turl = file:///trees/xe\n\tprefix = drm-xe-next\n\tconfig = xe-hw\n"
		    "[build]\n\tconfig = qemu-kunit\n");
	/* routed by prefix: its tree's one config */
	int64_t a = add_version(f, &(vspec){.inbox = 1, .state = "complete", .completed_at = 10, .npatches = 1,
					   .cover_prefix = "PATCH drm-xe-next"});
	/* no tree: one error row */
	int64_t b = add_version(f, &(vspec){.inbox = 1, .state = "complete", .completed_at = 11, .npatches = 1,
					   .cover_prefix = "PATCH"});
	char mid[64];
	for (int64_t v = a; v <= b; v++) {
		sqlite3_stmt *st;
		assert_int_equal(sqlite3_prepare_v2(xeci_db_handle(f->db), "SELECT cover_message_id FROM "
					"series_versions WHERE id = ?", -1, &st, NULL), SQLITE_OK);
		sqlite3_bind_int64(st, 1, v);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		snprintf(mid, sizeof(mid), "%s", (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		char *t = mail_text(mid, "[PATCH 0/1] another body", 0);
		add_message(f, 1, mid, t, "error", true);
		free(t);
	}
	int added = -1;
	assert_int_equal(xeci_build_db_enqueue(&added, f->db, f->cfg), 0);
	/* a: the one xe-hw build on drm-xe, no 'no tree' error row beside it */
	assert_int_equal(count(f, "SELECT count(*) FROM builds WHERE version_id = %lld AND tree = 'drm-xe' "
				  "AND config = 'xe-hw' AND state = 'queued'", (long long)a), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM builds WHERE version_id = %lld AND state = 'error'",
			       (long long)a), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM builds WHERE version_id = %lld", (long long)a), 1);
	/* b: one error row */
	assert_int_equal(count(f, "SELECT count(*) FROM builds WHERE version_id = %lld AND state = 'error'",
			       (long long)b), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM builds WHERE version_id = %lld", (long long)b), 1);
	assert_int_equal(added, 2);
}

/* ---- 3. claim order ------------------------------------------------------------ */

static void claim_newest_first(void **state)
{
	fx *f = *state;
	fx_load_cfg(f, "[inbox \"xe\"]\n\turl = file:///x\n\ttree = drm-tip\n"
		    "[tree \"drm-tip\"]\n\turl = file:///trees/tip\n[build]\n\tconfig = qemu-kunit\n");
	int64_t id;
	assert_int_equal(xeci_build_db_claim(&id, f->db), 0);
	assert_int_equal(id, 0);

	int64_t old = add_version(f, &(vspec){.inbox = 1, .state = "complete", .completed_at = 1000, .npatches = 1});
	int64_t newest = add_version(f, &(vspec){.inbox = 1, .state = "complete", .completed_at = 3000, .npatches = 1});
	int64_t mid = add_version(f, &(vspec){.inbox = 1, .state = "complete", .completed_at = 2000, .npatches = 1});
	int added;
	assert_int_equal(xeci_build_db_enqueue(&added, f->db, f->cfg), 0);
	assert_int_equal(added, 3);
	/* rows of the same priority inserted later than a higher one: order by
	 * priority, not by id */
	exec(f, "UPDATE builds SET priority = 3000 WHERE version_id = %lld", (long long)newest);
	int64_t want[] = {newest, mid, old};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(xeci_build_db_claim(&id, f->db), 0);
		assert_true(id > 0);
		xeci_build_row r;
		assert_int_equal(xeci_build_db_get(&r, f->db, id), 0);
		assert_int_equal(r.version_id, want[i]);
		assert_string_equal(r.state, "applying");
		assert_int_equal(r.attempts, 1);
		assert_true(r.started_at > 0);
		assert_true(r.started_at >= xeci_time_now() - 60);
		xeci_build_row_clear(&r);
	}
	assert_int_equal(xeci_build_db_claim(&id, f->db), 0);
	assert_int_equal(id, 0);
	assert_int_equal(count(f, "SELECT count(*) FROM builds WHERE state = 'applying'"), 3);
}

/* ---- 4. cancel_superseded -------------------------------------------------------- */

static void cancel_superseded(void **state)
{
	fx *f = *state;
	fx_load_cfg(f, CFG_DEFAULT_TREE);
	int64_t v1 = add_version(f, &(vspec){.inbox = 1, .state = "complete", .completed_at = 100, .npatches = 1});
	int64_t sid = count(f, "SELECT series_id FROM series_versions WHERE id = %lld", (long long)v1);
	int added, n = -1;
	assert_int_equal(xeci_build_db_enqueue(&added, f->db, f->cfg), 0);
	assert_int_equal(added, 2);
	/* one of v1's two builds is running */
	int64_t running;
	assert_int_equal(xeci_build_db_claim(&running, f->db), 0);
	assert_int_equal(xeci_build_db_set_building(f->db, running, "/tmp/out"), 0);
	int64_t v2 = add_version(f, &(vspec){.inbox = 1, .state = "complete", .completed_at = 200, .npatches = 1,
					    .series_id = sid, .version = 2});
	exec(f, "UPDATE series_versions SET state = 'superseded' WHERE id = %lld", (long long)v1);
	assert_int_equal(xeci_build_db_enqueue(&added, f->db, f->cfg), 0);
	assert_int_equal(added, 2);

	assert_int_equal(xeci_build_db_cancel_superseded(&n, f->db), 0);
	assert_int_equal(n, 1);
	xeci_build_row *rows;
	size_t nrows;
	assert_int_equal(xeci_build_db_list(&rows, &nrows, f->db, NULL, 0), 0);
	assert_int_equal(nrows, 4);
	for (size_t i = 0; i < nrows; i++) {
		xeci_build_row *r = &rows[i];
		if (r->version_id == v2) {
			assert_string_equal(r->state, "queued");
			assert_null(r->error);
		} else if (r->id == running) {
			assert_string_equal(r->state, "building");
			assert_null(r->error);
			assert_string_equal(r->out_dir, "/tmp/out");
		} else {
			assert_int_equal(r->version_id, v1);
			assert_string_equal(r->state, "cancelled");
			assert_non_null(r->error);
			assert_true(strlen(r->error) > 0);
			assert_true(r->finished_at > 0);
		}
	}
	xeci_build_rows_free(rows, nrows);
	/* idempotent */
	assert_int_equal(xeci_build_db_cancel_superseded(&n, f->db), 0);
	assert_int_equal(n, 0);
}

/* ---- 5. recover ------------------------------------------------------------------ */

static void recover_after_stop(void **state)
{
	fx *f = *state;
	fx_load_cfg(f, CFG_DEFAULT_TREE);
	for (int i = 0; i < 3; i++)
		add_version(f, &(vspec){.inbox = 1, .state = "complete", .completed_at = 100 + i, .npatches = 1});
	int added, n = -1;
	assert_int_equal(xeci_build_db_enqueue(&added, f->db, f->cfg), 0);
	assert_int_equal(added, 6);
	int64_t applying, building, maxed, passed;
	assert_int_equal(xeci_build_db_claim(&applying, f->db), 0);
	assert_int_equal(xeci_build_db_claim(&building, f->db), 0);
	assert_int_equal(xeci_build_db_set_building(f->db, building, "/tmp/b"), 0);
	assert_int_equal(xeci_build_db_set_progress(f->db, building, 42), 0);
	assert_int_equal(xeci_build_db_claim(&maxed, f->db), 0);
	exec(f, "UPDATE builds SET attempts = 3, state = 'building' WHERE id = %lld", (long long)maxed);
	assert_int_equal(xeci_build_db_claim(&passed, f->db), 0);
	assert_int_equal(xeci_build_db_finish(f->db, passed, "passed", "ok", NULL, 0, 0, NULL, 0), 0);
	int64_t base, base_done;
	assert_int_equal(xeci_build_db_base_add(&base, f->db, "drm-tip", "qemu-kunit", "abc"), 0);
	assert_int_equal(xeci_build_db_base_add(&base_done, f->db, "drm-tip", "qemu-kunit", "def"), 0);
	assert_int_equal(xeci_build_db_finish(f->db, base_done, "passed", "ok", NULL, 1, -1, NULL, 0), 0);

	assert_int_equal(xeci_build_db_recover(&n, f->db, 3), 0);
	assert_true(n >= 3);
	xeci_build_row r;
	assert_int_equal(xeci_build_db_get(&r, f->db, applying), 0);
	assert_string_equal(r.state, "queued");
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.finished_at, 0);
	xeci_build_row_clear(&r);
	assert_int_equal(xeci_build_db_get(&r, f->db, building), 0);
	assert_string_equal(r.state, "queued");
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.progress, 0);
	xeci_build_row_clear(&r);
	assert_int_equal(xeci_build_db_get(&r, f->db, maxed), 0);
	assert_string_equal(r.state, "error");
	assert_int_equal(r.attempts, 3);
	assert_non_null(r.error);
	assert_true(r.finished_at > 0);
	xeci_build_row_clear(&r);
	assert_int_equal(xeci_build_db_get(&r, f->db, passed), 0);
	assert_string_equal(r.state, "passed");
	assert_string_equal(r.status, "ok");
	assert_null(r.error);
	xeci_build_row_clear(&r);
	assert_int_equal(xeci_build_db_get(&r, f->db, base), 0);
	assert_string_equal(r.state, "cancelled");
	assert_int_equal(r.version_id, 0);
	assert_non_null(r.error);
	xeci_build_row_clear(&r);
	assert_int_equal(xeci_build_db_get(&r, f->db, base_done), 0);
	assert_string_equal(r.state, "passed");
	xeci_build_row_clear(&r);
	assert_int_equal(count(f, "SELECT count(*) FROM builds WHERE state = 'queued'"), 4);

	/* the re-queued row is claimed again (highest priority): its second attempt */
	int64_t again;
	assert_int_equal(xeci_build_db_claim(&again, f->db), 0);
	assert_int_equal(again, applying);
	assert_int_equal(count(f, "SELECT attempts FROM builds WHERE id = %lld", (long long)again), 2);
	/* a second recover: only that row was running */
	assert_int_equal(xeci_build_db_recover(&n, f->db, 3), 0);
	assert_int_equal(count(f, "SELECT state = 'queued' AND attempts = 2 FROM builds WHERE id = %lld",
			       (long long)again), 1);
	assert_int_equal(n, 1);
}

/* ---- 6. finish, get, list ------------------------------------------------------ */

static void finish_get_list(void **state)
{
	fx *f = *state;
	fx_load_cfg(f, CFG_DEFAULT_TREE);
	int64_t v1 = add_version(f, &(vspec){.inbox = 1, .state = "complete", .completed_at = 100, .npatches = 1,
					    .version = 3});
	int64_t sid = count(f, "SELECT series_id FROM series_versions WHERE id = %lld", (long long)v1);
	int added;
	assert_int_equal(xeci_build_db_enqueue(&added, f->db, f->cfg), 0);
	assert_int_equal(added, 2);
	int64_t a, b;
	assert_int_equal(xeci_build_db_claim(&a, f->db), 0);
	assert_int_equal(xeci_build_db_claim(&b, f->db), 0);
	xeci_build_artifact arts[2] = {{.name = "bzImage", .path = "/data/builds/1/bzImage", .size = 12345},
				       {.name = "config", .path = "/data/builds/1/config", .size = 99}};
	memset(arts[0].sha256, 'a', 64);
	memset(arts[1].sha256, 'b', 64);
	assert_int_equal(xeci_build_db_finish(f->db, a, "passed", "ok", NULL, 7, 2, arts, 2), 0);
	assert_int_equal(xeci_build_db_finish(f->db, b, "failed", "build-failed", "xe_1.c:2: error: boom", -1, -1,
					      NULL, 0), 0);

	assert_int_equal(count(f, "SELECT count(*) FROM build_artifacts WHERE build_id = %lld", (long long)a), 2);
	assert_int_equal(count(f, "SELECT size FROM build_artifacts WHERE build_id = %lld AND name = 'bzImage' "
				  "AND path = '/data/builds/1/bzImage' AND length(sha256) = 64 "
				  "AND sha256 NOT GLOB '*[^a]*'", (long long)a), 12345);
	assert_int_equal(count(f, "SELECT size FROM build_artifacts WHERE build_id = %lld AND name = 'config'",
			       (long long)a), 99);
	assert_int_equal(count(f, "SELECT count(*) FROM build_artifacts WHERE build_id = %lld", (long long)b), 0);

	xeci_build_row r;
	assert_int_equal(xeci_build_db_get(&r, f->db, a), 0);
	assert_int_equal(r.id, a);
	assert_int_equal(r.version_id, v1);
	assert_int_equal(r.series_id, sid);
	assert_int_equal(r.version, 3);
	assert_string_equal(r.subject, "drm/xe: a change");
	assert_string_equal(r.tree, "drm-tip");
	assert_string_equal(r.state, "passed");
	assert_string_equal(r.status, "ok");
	assert_null(r.error);
	assert_int_equal(r.warnings, 7);
	assert_int_equal(r.new_warnings, 2);
	assert_true(r.finished_at > 0);
	assert_true(r.duration_ms >= 0);
	assert_true(r.queued_at > 0);
	xeci_build_row_clear(&r);
	assert_int_equal(xeci_build_db_get(&r, f->db, b), 0);
	assert_string_equal(r.state, "failed");
	assert_string_equal(r.status, "build-failed");
	assert_string_equal(r.error, "xe_1.c:2: error: boom");
	assert_int_equal(r.warnings, -1);
	assert_int_equal(r.new_warnings, -1);
	xeci_build_row_clear(&r);
	assert_int_equal(xeci_build_db_get(&r, f->db, 99999), XECI_ENOTFOUND);

	/* finishing again replaces the artifacts of the same name */
	arts[0].size = 54321;
	assert_int_equal(xeci_build_db_finish(f->db, a, "passed", "ok", NULL, 7, 2, arts, 1), 0);
	assert_int_equal(count(f, "SELECT size FROM build_artifacts WHERE build_id = %lld AND name = 'bzImage'",
			       (long long)a), 54321);

	/* list: a filter, newest id first, the limit */
	for (int i = 0; i < 3; i++)
		add_version(f, &(vspec){.inbox = 3, .state = "complete", .completed_at = 200 + i, .npatches = 1});
	assert_int_equal(xeci_build_db_enqueue(&added, f->db, f->cfg), 0);
	assert_int_equal(added, 3);
	xeci_build_row *rows;
	size_t n;
	assert_int_equal(xeci_build_db_list(&rows, &n, f->db, "queued", 0), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(rows[i].state, "queued");
		assert_string_equal(rows[i].tree, "drm-xe");
		if (i)
			assert_true(rows[i].id < rows[i - 1].id);
	}
	xeci_build_rows_free(rows, n);
	assert_int_equal(xeci_build_db_list(&rows, &n, f->db, "passed", 0), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, a);
	xeci_build_rows_free(rows, n);
	assert_int_equal(xeci_build_db_list(&rows, &n, f->db, NULL, 2), 0);
	assert_int_equal(n, 2);
	assert_int_equal(rows[0].id, count(f, "SELECT max(id) FROM builds"));
	assert_true(rows[1].id < rows[0].id);
	xeci_build_rows_free(rows, n);
	assert_int_equal(xeci_build_db_list(&rows, &n, f->db, "building", 0), 0);
	assert_int_equal(n, 0);
	xeci_build_rows_free(rows, n);

	/* checks beside a build */
	xeci_build_check c = {.kind = "checkpatch", .patch_idx = 1, .result = "warn", .warnings = 2,
			      .summary = "2 warnings", .text = "WARNING: x"};
	assert_int_equal(xeci_build_db_add_check(f->db, a, &c), 0);
	c.result = "pass";
	c.warnings = 0;
	assert_int_equal(xeci_build_db_add_check(f->db, a, &c), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM build_checks WHERE build_id = %lld", (long long)a), 1);
	assert_int_equal(count(f, "SELECT warnings FROM build_checks WHERE build_id = %lld", (long long)a), 0);
}

/* ---- 7. set_apply ---------------------------------------------------------------- */

static void set_apply(void **state)
{
	fx *f = *state;
	fx_load_cfg(f, CFG_DEFAULT_TREE);
	add_version(f, &(vspec){.inbox = 1, .state = "complete", .completed_at = 100, .npatches = 2});
	int added;
	assert_int_equal(xeci_build_db_enqueue(&added, f->db, f->cfg), 0);
	int64_t ok, bad;
	assert_int_equal(xeci_build_db_claim(&ok, f->db), 0);
	assert_int_equal(xeci_build_db_claim(&bad, f->db), 0);
	assert_true(ok > 0 && bad > 0);

	assert_int_equal(xeci_build_db_set_apply(f->db, bad, false, "1234abcd", "branch-head", NULL, NULL, 2,
						 "drivers/gpu/drm/xe/xe_2.c", "patch 2 does not apply"), 0);
	xeci_build_row r;
	assert_int_equal(xeci_build_db_get(&r, f->db, bad), 0);
	assert_string_equal(r.state, "apply-failed");
	assert_int_equal(r.apply_failed_index, 2);
	assert_string_equal(r.apply_failed_file, "drivers/gpu/drm/xe/xe_2.c");
	assert_string_equal(r.error, "patch 2 does not apply");
	assert_string_equal(r.base_commit, "1234abcd");
	assert_null(r.commit_id);
	assert_true(r.finished_at > 0);
	assert_true(r.duration_ms >= 0);
	xeci_build_row_clear(&r);

	assert_int_equal(xeci_build_db_set_apply(f->db, ok, true, "1234abcd", "base-commit", "feedbeef",
						 "refs/xeci/series/1/v1", 0, NULL, NULL), 0);
	assert_int_equal(xeci_build_db_get(&r, f->db, ok), 0);
	assert_string_equal(r.state, "applying");
	assert_string_equal(r.base_commit, "1234abcd");
	assert_string_equal(r.base_method, "base-commit");
	assert_string_equal(r.commit_id, "feedbeef");
	assert_string_equal(r.ref, "refs/xeci/series/1/v1");
	assert_int_equal(r.apply_failed_index, 0);
	assert_null(r.apply_failed_file);
	assert_null(r.error);
	assert_int_equal(r.finished_at, 0);
	xeci_build_row_clear(&r);
	/* an empty base or commit is stored as none */
	assert_int_equal(xeci_build_db_set_apply(f->db, ok, true, "", "branch-head", "", "refs/x", 0, NULL, NULL), 0);
	assert_int_equal(xeci_build_db_get(&r, f->db, ok), 0);
	assert_null(r.base_commit);
	assert_null(r.commit_id);
	assert_string_equal(r.state, "applying");
	xeci_build_row_clear(&r);
	assert_int_equal(xeci_build_db_set_building(f->db, ok, "/data/builds/x"), 0);
	assert_int_equal(xeci_build_db_get(&r, f->db, ok), 0);
	assert_string_equal(r.state, "building");
	assert_string_equal(r.out_dir, "/data/builds/x");
	xeci_build_row_clear(&r);
}

/* ---- 8. base builds ----------------------------------------------------------- */

static void base_find_add(void **state)
{
	fx *f = *state;
	int64_t id = -1, b1, b2, b3;
	assert_int_equal(xeci_build_db_base_find(&id, f->db, "drm-tip", "qemu-kunit", "c1"), 0);
	assert_int_equal(id, 0);
	assert_int_equal(xeci_build_db_base_add(&b1, f->db, "drm-tip", "qemu-kunit", "c1"), 0);
	assert_true(b1 > 0);
	/* building: not found yet */
	assert_int_equal(xeci_build_db_base_find(&id, f->db, "drm-tip", "qemu-kunit", "c1"), 0);
	assert_int_equal(id, 0);
	xeci_build_row r;
	assert_int_equal(xeci_build_db_get(&r, f->db, b1), 0);
	assert_string_equal(r.state, "building");
	assert_int_equal(r.version_id, 0);
	assert_int_equal(r.series_id, 0);
	assert_null(r.subject);
	assert_string_equal(r.commit_id, "c1");
	assert_string_equal(r.base_commit, "c1");
	assert_int_equal(r.attempts, 1);
	xeci_build_row_clear(&r);
	/* a base build is not a queued one */
	int64_t claimed;
	assert_int_equal(xeci_build_db_claim(&claimed, f->db), 0);
	assert_int_equal(claimed, 0);

	assert_int_equal(xeci_build_db_finish(f->db, b1, "passed", "ok", NULL, 3, -1, NULL, 0), 0);
	assert_int_equal(xeci_build_db_base_find(&id, f->db, "drm-tip", "qemu-kunit", "c1"), 0);
	assert_int_equal(id, b1);
	assert_int_equal(xeci_build_db_base_find(&id, f->db, "drm-tip", "xe-hw", "c1"), 0);
	assert_int_equal(id, 0);
	assert_int_equal(xeci_build_db_base_find(&id, f->db, "drm-xe", "qemu-kunit", "c1"), 0);
	assert_int_equal(id, 0);
	assert_int_equal(xeci_build_db_base_find(&id, f->db, "drm-tip", "qemu-kunit", "c2"), 0);
	assert_int_equal(id, 0);

	/* failed counts too; error and cancelled do not */
	assert_int_equal(xeci_build_db_base_add(&b2, f->db, "drm-tip", "xe-hw", "c1"), 0);
	assert_int_equal(xeci_build_db_finish(f->db, b2, "failed", "build-failed", "boom", -1, -1, NULL, 0), 0);
	assert_int_equal(xeci_build_db_base_find(&id, f->db, "drm-tip", "xe-hw", "c1"), 0);
	assert_int_equal(id, b2);
	assert_int_equal(xeci_build_db_base_add(&b3, f->db, "drm-tip", "qemu-kunit", "c2"), 0);
	assert_int_equal(xeci_build_db_finish(f->db, b3, "error", "timeout", "timed out", -1, -1, NULL, 0), 0);
	assert_int_equal(xeci_build_db_base_find(&id, f->db, "drm-tip", "qemu-kunit", "c2"), 0);
	assert_int_equal(id, 0);
	/* a newer passed one of the same key wins */
	int64_t b4;
	assert_int_equal(xeci_build_db_base_add(&b4, f->db, "drm-tip", "qemu-kunit", "c1"), 0);
	assert_int_equal(xeci_build_db_finish(f->db, b4, "passed", "ok", NULL, 3, -1, NULL, 0), 0);
	assert_int_equal(xeci_build_db_base_find(&id, f->db, "drm-tip", "qemu-kunit", "c1"), 0);
	assert_int_equal(id, b4);
}

/* ---- 9. load_patches ----------------------------------------------------------- */

static void load_patches(void **state)
{
	fx *f = *state;
	int64_t v = add_version(f, &(vspec){.inbox = 1, .state = "complete", .completed_at = 1, .npatches = 3,
					   .prefix = "PATCH drm-xe-next v2", .cover_prefix = "PATCH drm-xe-next v2",
					   .base_commit = "0123456789abcdef0123456789abcdef01234567", .version = 2});
	/* stored out of order */
	exec(f, "CREATE TEMP TABLE sp AS SELECT * FROM series_patches WHERE version_id = %lld", (long long)v);
	exec(f, "DELETE FROM series_patches WHERE version_id = %lld", (long long)v);
	exec(f, "INSERT INTO series_patches SELECT * FROM sp ORDER BY idx DESC");
	/* a cover stored as patch 0 is not a patch */
	exec(f, "INSERT INTO series_patches (version_id, idx, message_rowid, message_id) SELECT %lld, 0, id, "
		"message_id FROM messages WHERE message_id LIKE 'cover-%%'", (long long)v);
	xeci_mail **mails;
	size_t n;
	char *base;
	assert_int_equal(xeci_build_db_load_patches(&mails, &n, &base, f->db, v), 0);
	assert_int_equal(n, 3);
	assert_non_null(base);
	assert_string_equal(base, "0123456789abcdef0123456789abcdef01234567");
	for (size_t i = 0; i < n; i++) {
		char want[128];
		snprintf(want, sizeof(want), "[PATCH drm-xe-next v2 %zu/3] drm/xe: part %zu", i + 1, i + 1);
		assert_string_equal(mails[i]->subject, want);
		assert_int_equal(mails[i]->tags.index, (int)i + 1);
		assert_true(mails[i]->has_patch);
		xeci_mail_free(mails[i]);
	}
	free(mails);
	free(base);

	/* no base-commit: NULL */
	int64_t v2 = add_version(f, &(vspec){.inbox = 1, .state = "complete", .completed_at = 2, .npatches = 1});
	assert_int_equal(xeci_build_db_load_patches(&mails, &n, &base, f->db, v2), 0);
	assert_int_equal(n, 1);
	assert_null(base);
	xeci_mail_free(mails[0]);
	free(mails);

	/* patch 2's bytes missing */
	int64_t v3 = add_version(f, &(vspec){.inbox = 1, .state = "complete", .completed_at = 3, .npatches = 3,
					    .base_commit = "abc"});
	exec(f, "DELETE FROM message_raw WHERE message_rowid = (SELECT message_rowid FROM series_patches "
		"WHERE version_id = %lld AND idx = 2)", (long long)v3);
	mails = (xeci_mail **)(uintptr_t)1;
	base = (char *)(uintptr_t)1;
	int rc = xeci_build_db_load_patches(&mails, &n, &base, f->db, v3);
	assert_true(rc < 0);
	assert_null(mails);
	assert_int_equal(n, 0);
	assert_null(base);
	assert_non_null(strstr(xeci_error_last(), "patch 2"));
	/* the message row itself gone (ON DELETE SET NULL) */
	int64_t v4 = add_version(f, &(vspec){.inbox = 1, .state = "complete", .completed_at = 4, .npatches = 2});
	exec(f, "DELETE FROM messages WHERE id = (SELECT message_rowid FROM series_patches "
		"WHERE version_id = %lld AND idx = 1)", (long long)v4);
	assert_true(xeci_build_db_load_patches(&mails, &n, &base, f->db, v4) < 0);
	assert_int_equal(n, 0);
	/* no patches at all, no such version */
	exec(f, "DELETE FROM series_patches WHERE version_id = %lld", (long long)v2);
	assert_true(xeci_build_db_load_patches(&mails, &n, &base, f->db, v2) < 0);
	assert_true(xeci_build_db_load_patches(&mails, &n, &base, f->db, 424242) < 0);
	assert_null(base);
}

/* ---- 10. write_patches ----------------------------------------------------------- */

static void write_patches(void **state)
{
	fx *f = *state;
	int64_t v = add_version(f, &(vspec){.inbox = 1, .state = "complete", .completed_at = 1, .npatches = 3,
					   .cover_prefix = "PATCH"});
	/* bytes a text path would mangle: CRLF, a NUL, 8-bit */
	static const char odd[] = "From: A <a@example.com>\r\nSubject: [PATCH 2/3] x\r\nMessage-ID: <odd@x>\r\n\r\n"
				  "body \xc3\xa9\x00 after nul\r\n";
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(xeci_db_handle(f->db), "UPDATE message_raw SET raw = ? WHERE "
				"message_rowid = (SELECT message_rowid FROM series_patches WHERE version_id = ? AND "
				"idx = 2)", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, odd, (int)sizeof(odd) - 1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);

	char dir[400];
	snprintf(dir, sizeof(dir), "%s/patches/v", f->dir);
	size_t n = 0;
	assert_int_equal(xeci_build_db_write_patches(&n, f->db, v, dir), 0);
	assert_int_equal(n, 3);
	for (int i = 1; i <= 3; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%04d.patch", dir, i);
		char *data;
		size_t len;
		assert_int_equal(xeci_file_read(&data, &len, path), 0);
		assert_int_equal(sqlite3_prepare_v2(xeci_db_handle(f->db), "SELECT r.raw FROM series_patches sp JOIN "
					"message_raw r ON r.message_rowid = sp.message_rowid WHERE sp.version_id = ? "
					"AND sp.idx = ?", -1, &st, NULL), SQLITE_OK);
		sqlite3_bind_int64(st, 1, v);
		sqlite3_bind_int(st, 2, i);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(len, (size_t)sqlite3_column_bytes(st, 0));
		assert_memory_equal(data, sqlite3_column_blob(st, 0), len);
		if (i == 2)
			assert_int_equal(len, sizeof(odd) - 1);
		sqlite3_finalize(st);
		free(data);
	}
	char path[512];
	snprintf(path, sizeof(path), "%s/0000.patch", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/0004.patch", dir);
	assert_int_not_equal(access(path, F_OK), 0);
}

int main(void)
{
	xeci_mail_global_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(enqueue_needs_trees, setup, teardown),
		cmocka_unit_test_setup_teardown(enqueue_one_row_per_config, setup, teardown),
		cmocka_unit_test_setup_teardown(routing_by_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(enqueue_duplicate_cover_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(claim_newest_first, setup, teardown),
		cmocka_unit_test_setup_teardown(cancel_superseded, setup, teardown),
		cmocka_unit_test_setup_teardown(recover_after_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(finish_get_list, setup, teardown),
		cmocka_unit_test_setup_teardown(set_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(base_find_add, setup, teardown),
		cmocka_unit_test_setup_teardown(load_patches, setup, teardown),
		cmocka_unit_test_setup_teardown(write_patches, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
