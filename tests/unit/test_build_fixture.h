/* Shared by test_build_db.c and test_build_rows.c: the build queue's
 * tables on a real database (test_db_fixture.h) and series versions written
 * as the series stage leaves them (messages, message_raw, series,
 * series_versions, series_patches) with real mails. Include after
 * <cmocka.h>. */
#ifndef XECI_TEST_BUILD_FIXTURE_H
#define XECI_TEST_BUILD_FIXTURE_H

#include "build_db.h"
#include "config.h"
#include "db.h"
#include "error.h"
#include "mail.h"
#include "util.h"

#include "test_db_fixture.h"

static inline int setup(void **state)
{
	return fx_setup(state, "build-db", "INSERT INTO inboxes (id, name, url) VALUES (1, 'xe', 'file:///x'), "
					  "(2, 'other', 'file:///o'), (3, 'dri', 'file:///d')");
}

static inline int teardown(void **state)
{
	return fx_teardown(state);
}

/* ---- writing versions as the series stage does ------------------------------- */

static inline char *mail_text(const char *mid, const char *subject, int patchno)
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
static inline int64_t add_message(fx *f, int64_t inbox, const char *mid, const char *text, const char *status,
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

static inline int64_t add_version(fx *f, const vspec *v)
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

#endif
