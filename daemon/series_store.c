/* The series store: re-assembles what a batch of new messages touches and
 * upserts versions, patches and trailers, inside the caller's transaction.
 * Upserts are idempotent (running the same batch twice changes nothing); the
 * incomplete -> complete transition sets completed_at once; a newer version
 * of a series marks the older ones superseded. States: schema/0002. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "log.h"
#include "buf.h"
#include "series_store_int.h"
#include "util.h"

typedef struct found_version {
	int64_t id, series_id;
	bool completed;    /* completed_at already set */
	char state[16];
	int received;
	char *subject; /* as stored: when it changes (the cover arrived), the link is redone */
	char digest[65]; /* rows_digest: of its patches and trailers rows; "" when unknown */
	bool series_unnamed; /* its series has no subject yet (see link_series) */
} found_version;

typedef struct upsert_ctx {
	xeci_db *db;
	int64_t inbox_id;
	const xeci_series_opts *opts;
	const series_component *c;
	int64_t *touched_series, *newly_complete, *dropped_series;
	size_t ntouched, nnew, captouched, capnew, ndropped, capdropped;
} upsert_ctx;

static const char *Q_BY_KEY = "SELECT id, series_id, completed_at IS NOT NULL, state, received,"
			      " subject, rows_digest,"
			      " (SELECT s.subject IS NULL FROM series s WHERE s.id = series_id)"
			      " FROM series_versions WHERE inbox_id = ? AND posting_key = ?";
static const char *Q_BY_PATCH =
	"SELECT v.id, v.series_id, v.completed_at IS NOT NULL, v.state, v.received, v.subject,"
	" v.rows_digest, (SELECT s.subject IS NULL FROM series s WHERE s.id = v.series_id)"
	" FROM series_patches p JOIN series_versions v ON v.id = p.version_id"
	" WHERE p.message_id = ? AND v.inbox_id = ? AND v.version = ? ORDER BY v.id LIMIT 1";
static const char *Q_SERIES_BY_CHANGE =
	"SELECT id FROM series WHERE inbox_id = ? AND change_id = ? ORDER BY id LIMIT 1";
static const char *Q_SERIES_BY_PARENT =
	"SELECT v.series_id FROM series_patches p JOIN series_versions v ON v.id = p.version_id"
	" WHERE p.message_id = ?1 AND v.inbox_id = ?2 AND v.version < ?3"
	" UNION ALL SELECT series_id FROM series_versions WHERE cover_message_id = ?1"
	" AND inbox_id = ?2 AND version < ?3 LIMIT 1";
/* A version with a change-id never joins a series that has another one;
 * nor does a version join a series that already had, before it, a posting
 * of its number or a higher one (then it starts a new topic under an old
 * title), unless it is a RESEND of its number. Dates, not arrival: a v1
 * that arrives after its v2 still joins it. Of two such series, the one
 * whose newest version comes closest below this one's (a v3 follows a v2,
 * not another topic's v1); then the newest. */
static const char *Q_SERIES_BY_SUBJECT =
	"SELECT id FROM series WHERE inbox_id = ?1 AND author = ?2 AND subject = ?3"
	" AND (change_id IS NULL OR ?4 IS NULL) AND NOT EXISTS (SELECT 1 FROM series_versions k"
	" WHERE k.series_id = series.id AND k.posting_key != ?5 AND k.first_date <= ?6"
	" AND (k.version > ?7 OR (k.version = ?7 AND NOT ?8)))"
	" ORDER BY (SELECT max(k.version) FROM series_versions k WHERE k.series_id = series.id"
	" AND k.version < ?7) DESC NULLS LAST, id DESC LIMIT 1";
static const char *Q_SERIES_NEW = "INSERT INTO series (inbox_id, subject, author, change_id)"
				  " VALUES (?, ?, ?, ?)";
static const char *Q_SERIES_SET_CHANGE =
	"UPDATE series SET change_id = ?2 WHERE id = ?1 AND change_id IS NULL";
static const char *Q_VERSION_INSERT =
	"INSERT INTO series_versions (series_id, inbox_id, posting_key, version, subject, author,"
	" cover_message_id, root_parent_id, total, received, base_commit, change_id,"
	" prerequisite_ids, depends_on, state, ignored_reason, missing, first_date, last_date,"
	" last_received_at, completed_at, rows_digest)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
	" ?19, ?20, ?21, ?23)";
static const char *Q_VERSION_UPDATE =
	"UPDATE series_versions SET series_id = ?1, inbox_id = ?2, posting_key = ?3, version = ?4,"
	" subject = ?5, author = ?6, cover_message_id = ?7, root_parent_id = ?8, total = ?9,"
	" received = ?10, base_commit = ?11, change_id = ?12, prerequisite_ids = ?13,"
	" depends_on = ?14, state = ?15, ignored_reason = ?16, missing = ?17, first_date = ?18,"
	" last_date = ?19, last_received_at = ?20, completed_at = coalesce(completed_at, ?21),"
	" rows_digest = ?23 WHERE id = ?22"
	/* only when a value differs: a thread re-assembled by a later batch
	 * mostly gives the row it has, and an UPDATE rewrites every index of
	 * the columns it sets, whatever their values */
	" AND (series_id IS NOT ?1 OR inbox_id IS NOT ?2 OR posting_key IS NOT ?3 OR version IS NOT ?4"
	" OR subject IS NOT ?5 OR author IS NOT ?6 OR cover_message_id IS NOT ?7"
	" OR root_parent_id IS NOT ?8 OR total IS NOT ?9 OR received IS NOT ?10"
	" OR base_commit IS NOT ?11 OR change_id IS NOT ?12 OR prerequisite_ids IS NOT ?13"
	" OR depends_on IS NOT ?14 OR state IS NOT ?15 OR ignored_reason IS NOT ?16"
	" OR missing IS NOT ?17 OR first_date IS NOT ?18 OR last_date IS NOT ?19"
	" OR last_received_at IS NOT ?20 OR (completed_at IS NULL AND ?21 IS NOT NULL)"
	" OR rows_digest IS NOT ?23)";
static const char *Q_PATCHES_DEL = "DELETE FROM series_patches WHERE version_id = ?";
static const char *Q_PATCH_INS =
	"INSERT INTO series_patches (version_id, idx, message_rowid, message_id, subject,"
	" patch_sha256) VALUES (?, ?, ?, ?, ?, ?)";
static const char *Q_TRAILERS_DEL = "DELETE FROM series_trailers WHERE version_id = ?";
static const char *Q_TRAILER_INS =
	"INSERT INTO series_trailers (version_id, idx, pos, name, value) VALUES (?, ?, ?, ?, ?)";
static const char *Q_SERIES_VERSIONS =
	"SELECT id, state, missing = '[]' AND received > 0 FROM series_versions WHERE series_id = ?"
	" ORDER BY version DESC, first_date DESC, id DESC";
static const char *Q_SET_STATE = "UPDATE series_versions SET state = ? WHERE id = ?";
static const char *Q_STATE_OF = "SELECT state FROM series_versions WHERE id = ?";
static const char *Q_SERIES_DROP_EMPTY =
	"DELETE FROM series WHERE id = ? AND NOT EXISTS (SELECT 1 FROM series_versions WHERE series_id = series.id)";
static const char *Q_SERIES_RETITLE = "UPDATE series SET subject = ?2 WHERE id = ?1 AND (subject IS NULL"
				      " OR (SELECT count(*) FROM series_versions WHERE series_id = ?1) <= 1)";
static const char *Q_EXPIRE =
	"UPDATE series_versions SET state = 'expired' WHERE state = 'incomplete'"
	" AND last_received_at < ?";

static void push64(int64_t **v, size_t *n, size_t *cap, int64_t x)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i] == x)
			return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xeci_realloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = x;
}

/* A statement whose first row is a found_version; 1 when found. */
static int read_found(found_version *f, xeci_db *db, sqlite3_stmt *st)
{
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		f->id = sqlite3_column_int64(st, 0);
		f->series_id = sqlite3_column_int64(st, 1);
		f->completed = sqlite3_column_int(st, 2);
		snprintf(f->state, sizeof(f->state), "%s", (const char *)sqlite3_column_text(st, 3));
		f->received = sqlite3_column_int(st, 4);
		const char *subj = (const char *)sqlite3_column_text(st, 5);
		f->subject = subj ? xeci_strdup(subj) : NULL;
		const char *dg = (const char *)sqlite3_column_text(st, 6);
		snprintf(f->digest, sizeof(f->digest), "%s", dg ? dg : "");
		f->series_unnamed = sqlite3_column_int(st, 7);
	}
	sqlite3_reset(st);
	if (s == SQLITE_ROW)
		return 1;
	return s == SQLITE_DONE ? 0 : xeci_db_error(db, "finding a series version");
}

/* The stored row of this posting: by key, else (the key moved: a cover or
 * patch 1 arrived late) by any of its patches at the same version. */
static int find_version(found_version *f, upsert_ctx *u, const xeci_series_version *v)
{
	sqlite3_stmt *st;
	int rc = xeci_db_prepare(&st, u->db, Q_BY_KEY);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, u->inbox_id);
	xeci_db_bind_text(st, 2, v->posting_key);
	if ((rc = read_found(f, u->db, st)))
		return rc;
	for (size_t i = 0; i < v->npatches; i++) {
		if ((rc = xeci_db_prepare(&st, u->db, Q_BY_PATCH)))
			return rc;
		xeci_db_bind_text(st, 1, v->patches[i].mail->message_id);
		sqlite3_bind_int64(st, 2, u->inbox_id);
		sqlite3_bind_int(st, 3, v->version);
		if ((rc = read_found(f, u->db, st)))
			return rc;
	}
	return 0;
}

static int64_t query_id(int *rc, xeci_db *db, sqlite3_stmt *st)
{
	int s = sqlite3_step(st);
	int64_t id = s == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	*rc = s == SQLITE_ROW || s == SQLITE_DONE ? 0 : xeci_db_error(db, "linking a series");
	return id;
}

/* Only a cover's subject, or patch 1's in a posting without one, names a
 * series: patches answering an absent cover wait for it. A series made for
 * such patches has no subject until then, so that no other posting with the
 * same subject (a lone patch's "drm/xe: fix a typo" is common) joins it. */
static bool is_named(const xeci_series_version *v)
{
	return v->cover || (v->npatches && v->patches[0].index == 1 && v->posting_key &&
			    !strcmp(v->posting_key, v->patches[0].mail->message_id));
}

/* A RESEND: its cover's tags say so, else patch 1's. */
static bool resend(const xeci_series_version *v)
{
	const xeci_mail *m = v->cover ? v->cover : v->npatches ? v->patches[0].mail : NULL;
	return m && m->tags.resend;
}

/* A series without a change-id takes its version's, whenever that becomes
 * known (a b4 cover arriving after its patches), so that the next version
 * finds it by change-id. */
static int note_change_id(upsert_ctx *u, int64_t series_id, const xeci_series_version *v)
{
	sqlite3_stmt *st;
	int rc;
	if (!v->change_id)
		return 0;
	if ((rc = xeci_db_prepare(&st, u->db, Q_SERIES_SET_CHANGE)))
		return rc;
	sqlite3_bind_int64(st, 1, series_id);
	xeci_db_bind_text(st, 2, v->change_id);
	return xeci_db_step_done(u->db, st, "recording a change-id");
}

/* Which series a new version belongs to: b4's change-id, then an older
 * version it answers, then the same subject and author (not a series with
 * another change-id: b4 users retitle nothing, they start a new series);
 * else a new one. */
static int link_series(int64_t *out, upsert_ctx *u, const xeci_series_version *v, bool create)
{
	sqlite3_stmt *st;
	int rc = 0;
	*out = 0;
	if (v->change_id && !(rc = xeci_db_prepare(&st, u->db, Q_SERIES_BY_CHANGE))) {
		sqlite3_bind_int64(st, 1, u->inbox_id);
		xeci_db_bind_text(st, 2, v->change_id);
		*out = query_id(&rc, u->db, st);
	}
	if (!rc && !*out && v->root_parent_id && !(rc = xeci_db_prepare(&st, u->db, Q_SERIES_BY_PARENT))) {
		xeci_db_bind_text(st, 1, v->root_parent_id);
		sqlite3_bind_int64(st, 2, u->inbox_id);
		sqlite3_bind_int(st, 3, v->version);
		*out = query_id(&rc, u->db, st);
	}
	bool named = is_named(v);
	if (!rc && !*out && named && v->subject && *v->subject && v->author_email &&
	    !(rc = xeci_db_prepare(&st, u->db, Q_SERIES_BY_SUBJECT))) {
		sqlite3_bind_int64(st, 1, u->inbox_id);
		xeci_db_bind_text(st, 2, v->author_email);
		xeci_db_bind_text(st, 3, v->subject);
		xeci_db_bind_text(st, 4, v->change_id);
		xeci_db_bind_text(st, 5, v->posting_key);
		sqlite3_bind_int64(st, 6, v->first_date);
		sqlite3_bind_int(st, 7, v->version);
		sqlite3_bind_int(st, 8, resend(v));
		*out = query_id(&rc, u->db, st);
	}
	if (rc)
		return rc;
	if (*out)
		return note_change_id(u, *out, v);
	if (!create)
		return 0;
	if ((rc = xeci_db_prepare(&st, u->db, Q_SERIES_NEW)))
		return rc;
	sqlite3_bind_int64(st, 1, u->inbox_id);
	xeci_db_bind_text(st, 2, named ? v->subject : NULL);
	xeci_db_bind_text(st, 3, v->author_email);
	xeci_db_bind_text(st, 4, v->change_id);
	if ((rc = xeci_db_step_done(u->db, st, "creating a series")))
		return rc;
	*out = sqlite3_last_insert_rowid(xeci_db_handle(u->db));
	return 0;
}

/* The inbox filter: a path prefix touched by a patch, or a subject prefix. */
static const char *filter_reason(const xeci_series_filter *f, const xeci_series_version *v)
{
	if (!f || (!f->npaths && !f->nprefixes))
		return NULL;
	for (size_t p = 0; p < v->npatches; p++) {
		const xeci_mail *m = v->patches[p].mail;
		for (size_t i = 0; i < m->nfiles; i++)
			for (size_t k = 0; k < f->npaths; k++)
				if (xeci_str_startswith(m->files[i], f->paths[k]))
					return NULL;
	}
	const xeci_mail *first = v->cover ? v->cover : v->npatches ? v->patches[0].mail : NULL;
	for (size_t i = 0; first && i < first->tags.nprefixes; i++)
		for (size_t k = 0; k < f->nprefixes; k++)
			if (!strcasecmp(first->tags.prefixes[i], f->prefixes[k]))
				return NULL;
	return "filter: no patch under the inbox's paths and no wanted subject prefix";
}

static int64_t rowid_of(const series_component *c, const xeci_mail *m, int64_t *received)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->mails[i] == m) {
			if (received && c->received[i] > *received)
				*received = c->received[i];
			return c->rowids[i];
		}
	return 0;
}

static char *json_ids(char *const *v, size_t n)
{
	if (!n) /* nearly always: spare jansson */
		return xeci_strdup("[]");
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

static char *json_missing(const xeci_series_version *v)
{
	if (!v->nmissing)
		return xeci_strdup("[]");
	json_t *a = json_array();
	for (size_t i = 0; i < v->nmissing; i++)
		json_array_append_new(a, json_integer(v->missing[i]));
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

/* Values go in with their length (no printf: this runs for every version
 * of every touched thread), NULL apart from "". */
static void digest_int(xeci_buf *b, int64_t v)
{
	xeci_buf_put(b, &v, sizeof(v));
}

static void digest_str(xeci_buf *b, const char *s)
{
	digest_int(b, s ? (int64_t)strlen(s) : -1);
	if (s)
		xeci_buf_puts(b, s);
}

static void digest_trailers(xeci_buf *b, int idx, const xeci_trailer *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		digest_int(b, 't');
		digest_int(b, idx);
		digest_str(b, t[i].name);
		digest_str(b, t[i].value);
	}
}

/* sha256 of every value write_patches would write for v: equal digests,
 * equal rows. */
static void rows_digest(char out[65], const upsert_ctx *u, const xeci_series_version *v)
{
	xeci_buf b = XECI_BUF_INIT;
	for (size_t i = 0; i < v->npatches; i++) {
		const xeci_series_patch *p = &v->patches[i];
		digest_int(&b, 'p');
		digest_int(&b, p->index);
		digest_int(&b, rowid_of(u->c, p->mail, NULL));
		digest_str(&b, p->mail->message_id);
		digest_str(&b, p->mail->subject_clean);
		digest_str(&b, p->mail->patch_sha256[0] ? p->mail->patch_sha256 : NULL);
		digest_trailers(&b, p->index, p->trailers, p->ntrailers);
	}
	digest_trailers(&b, 0, v->cover_trailers, v->ncover_trailers);
	xeci_sha256_hex(out, b.ptr ? b.ptr : "", b.len);
	xeci_buf_free(&b);
}

/* fresh: the version row was just inserted, it has no rows to replace */
static int write_patches(upsert_ctx *u, int64_t vid, const xeci_series_version *v, bool fresh)
{
	sqlite3_stmt *st;
	int rc;
	if (fresh)
		goto insert;
	if ((rc = xeci_db_prepare(&st, u->db, Q_PATCHES_DEL)))
		return rc;
	sqlite3_bind_int64(st, 1, vid);
	if ((rc = xeci_db_step_done(u->db, st, "replacing patches")))
		return rc;
	if ((rc = xeci_db_prepare(&st, u->db, Q_TRAILERS_DEL)))
		return rc;
	sqlite3_bind_int64(st, 1, vid);
	if ((rc = xeci_db_step_done(u->db, st, "replacing trailers")))
		return rc;
insert:
	for (size_t i = 0; i < v->npatches; i++) {
		const xeci_series_patch *p = &v->patches[i];
		if ((rc = xeci_db_prepare(&st, u->db, Q_PATCH_INS)))
			return rc;
		sqlite3_bind_int64(st, 1, vid);
		sqlite3_bind_int(st, 2, p->index);
		int64_t rid = rowid_of(u->c, p->mail, NULL);
		if (rid)
			sqlite3_bind_int64(st, 3, rid);
		xeci_db_bind_text(st, 4, p->mail->message_id);
		xeci_db_bind_text(st, 5, p->mail->subject_clean);
		xeci_db_bind_text(st, 6, p->mail->patch_sha256[0] ? p->mail->patch_sha256 : NULL);
		if ((rc = xeci_db_step_done(u->db, st, "storing a patch")))
			return rc;
		for (size_t t = 0; t < p->ntrailers; t++) {
			if ((rc = xeci_db_prepare(&st, u->db, Q_TRAILER_INS)))
				return rc;
			sqlite3_bind_int64(st, 1, vid);
			sqlite3_bind_int(st, 2, p->index);
			sqlite3_bind_int64(st, 3, (int64_t)t);
			xeci_db_bind_text(st, 4, p->trailers[t].name);
			xeci_db_bind_text(st, 5, p->trailers[t].value);
			if ((rc = xeci_db_step_done(u->db, st, "storing a trailer")))
				return rc;
		}
	}
	for (size_t t = 0; t < v->ncover_trailers; t++) {
		if ((rc = xeci_db_prepare(&st, u->db, Q_TRAILER_INS)))
			return rc;
		sqlite3_bind_int64(st, 1, vid);
		sqlite3_bind_int(st, 2, 0);
		sqlite3_bind_int64(st, 3, (int64_t)t);
		xeci_db_bind_text(st, 4, v->cover_trailers[t].name);
		xeci_db_bind_text(st, 5, v->cover_trailers[t].value);
		if ((rc = xeci_db_step_done(u->db, st, "storing a trailer")))
			return rc;
	}
	return 0;
}

/* The subject changed (the cover arrived): link again. Linked elsewhere,
 * it moves there; linked where it is (change-id, the version it answers),
 * it stays; linked nowhere, it keeps its series, which takes the new
 * subject if this is its only version, else it leaves the versions it no
 * longer matches for a series of its own. */
static int relink(int64_t *series_id, upsert_ctx *u, const xeci_series_version *v)
{
	int64_t to = 0;
	int rc = link_series(&to, u, v, false);
	if (rc)
		return rc;
	if (to && to != *series_id) {
		push64(&u->dropped_series, &u->ndropped, &u->capdropped, *series_id);
		*series_id = to;
		return 0;
	}
	sqlite3_stmt *st;
	if ((rc = xeci_db_prepare(&st, u->db, Q_SERIES_RETITLE)))
		return rc;
	sqlite3_bind_int64(st, 1, *series_id);
	xeci_db_bind_text(st, 2, is_named(v) ? v->subject : NULL);
	if ((rc = xeci_db_step_done(u->db, st, "retitling a series")))
		return rc;
	if (to || sqlite3_changes(xeci_db_handle(u->db)))
		return 0;
	push64(&u->dropped_series, &u->ndropped, &u->capdropped, *series_id);
	return link_series(series_id, u, v, true);
}

/* State before supersession, which is settled per series afterwards. */
static const char *base_state(const xeci_series_version *v, const char *ignored,
			      const found_version *f)
{
	if (ignored)
		return "ignored";
	if (v->complete)
		return "complete";
	if (f->id && !strcmp(f->state, "expired") && f->received == (int)v->npatches)
		return "expired"; /* nothing new arrived: stays expired */
	return "incomplete";
}

static int upsert_version(upsert_ctx *u, const xeci_series_version *v)
{
	found_version f = {0};
	int64_t series_id;
	int rc;
	if (!v->posting_key)
		return 0;
	if ((rc = find_version(&f, u, v)) < 0)
		return rc;
	series_id = f.series_id;
	bool retitled = f.id && (!f.subject || !v->subject || strcmp(f.subject, v->subject) ||
				 (f.series_unnamed && is_named(v)));
	free(f.subject);
	if (!series_id && (rc = link_series(&series_id, u, v, true)))
		return rc;
	if (retitled && (rc = relink(&series_id, u, v)))
		return rc;
	if (f.id && (rc = note_change_id(u, series_id, v))) /* after relink: its series may change */
		return rc;
	const char *ignored = v->ignored_reason ? v->ignored_reason : filter_reason(u->opts->filter, v);
	const char *state = base_state(v, ignored, &f);
	const xeci_mail *meta = v->cover ? v->cover : v->npatches ? v->patches[0].mail : NULL;
	int64_t received = 0;
	if (v->cover)
		rowid_of(u->c, v->cover, &received);
	for (size_t i = 0; i < v->npatches; i++)
		rowid_of(u->c, v->patches[i].mail, &received);
	bool now_complete = !strcmp(state, "complete") && !f.completed;
	char digest[65];
	rows_digest(digest, u, v);

	sqlite3_stmt *st;
	if ((rc = xeci_db_prepare(&st, u->db, f.id ? Q_VERSION_UPDATE : Q_VERSION_INSERT)))
		return rc;
	char *prereq = json_ids(meta ? meta->prereq_patch_ids : NULL, meta ? meta->nprereq_patch_ids : 0);
	char *deps = json_ids(meta ? meta->depends_on : NULL, meta ? meta->ndepends_on : 0);
	char *missing = json_missing(v);
	sqlite3_bind_int64(st, 1, series_id);
	sqlite3_bind_int64(st, 2, u->inbox_id);
	xeci_db_bind_text(st, 3, v->posting_key);
	sqlite3_bind_int(st, 4, v->version);
	xeci_db_bind_text(st, 5, v->subject);
	xeci_db_bind_text(st, 6, v->author_email);
	xeci_db_bind_text(st, 7, v->cover ? v->cover->message_id : NULL);
	xeci_db_bind_text(st, 8, v->root_parent_id);
	sqlite3_bind_int(st, 9, v->total);
	sqlite3_bind_int(st, 10, (int)v->npatches);
	xeci_db_bind_text(st, 11, v->base_commit);
	xeci_db_bind_text(st, 12, v->change_id);
	xeci_db_bind_text(st, 13, prereq);
	xeci_db_bind_text(st, 14, deps);
	xeci_db_bind_text(st, 15, state);
	xeci_db_bind_text(st, 16, ignored);
	xeci_db_bind_text(st, 17, missing);
	sqlite3_bind_int64(st, 18, v->first_date);
	sqlite3_bind_int64(st, 19, v->last_date);
	sqlite3_bind_int64(st, 20, received);
	if (now_complete)
		sqlite3_bind_int64(st, 21, xeci_time_now());
	else
		sqlite3_bind_null(st, 21);
	if (f.id)
		sqlite3_bind_int64(st, 22, f.id);
	xeci_db_bind_text(st, 23, digest);
	rc = xeci_db_step_done(u->db, st, "storing a series version");
	free(prereq);
	free(deps);
	free(missing);
	if (rc)
		return rc;
	int64_t vid = f.id ? f.id : sqlite3_last_insert_rowid(xeci_db_handle(u->db));
	push64(&u->touched_series, &u->ntouched, &u->captouched, series_id);
	if (now_complete)
		push64(&u->newly_complete, &u->nnew, &u->capnew, vid);
	if (f.id && !strcmp(f.digest, digest))
		return 0; /* its patches and trailers rows are these already */
	return write_patches(u, vid, v, !f.id);
}

static int set_state(xeci_db *db, int64_t id, const char *state)
{
	sqlite3_stmt *st;
	int rc = xeci_db_prepare(&st, db, Q_SET_STATE);
	if (rc)
		return rc;
	xeci_db_bind_text(st, 1, state);
	sqlite3_bind_int64(st, 2, id);
	return xeci_db_step_done(db, st, "setting a version's state");
}

/* The newest version of a series (highest version, then latest) keeps its
 * state; older ones that were waiting or testable become superseded. */
static int settle_series(xeci_db *db, int64_t series_id)
{
	sqlite3_stmt *st;
	int rc = xeci_db_prepare(&st, db, Q_SERIES_VERSIONS), s;
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, series_id);
	int64_t *older = NULL;
	size_t nolder = 0, cap = 0;
	int64_t newest = 0;
	bool newest_superseded = false, newest_complete = false;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(st, 1);
		if (!newest) {
			newest = sqlite3_column_int64(st, 0);
			newest_superseded = !strcmp(state, "superseded");
			newest_complete = sqlite3_column_int(st, 2);
		} else if (strcmp(state, "superseded") && strcmp(state, "ignored")) {
			push64(&older, &nolder, &cap, sqlite3_column_int64(st, 0));
		}
	}
	sqlite3_reset(st);
	if (s != SQLITE_DONE)
		rc = xeci_db_error(db, "reading a series' versions");
	for (size_t i = 0; !rc && i < nolder; i++)
		rc = set_state(db, older[i], "superseded");
	if (!rc && newest_superseded) /* only when a newer one went away */
		rc = set_state(db, newest, newest_complete ? "complete" : "incomplete");
	free(older);
	return rc;
}

/* A version moved to another series (its cover arrived and linked it):
 * the series it leaves goes when empty. */
static int drop_if_empty(xeci_db *db, int64_t series_id)
{
	sqlite3_stmt *st;
	int rc = xeci_db_prepare(&st, db, Q_SERIES_DROP_EMPTY);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, series_id);
	return xeci_db_step_done(db, st, "dropping an empty series");
}

static int count_complete(int *out, xeci_db *db, const int64_t *ids, size_t n)
{
	*out = 0;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st;
		int rc = xeci_db_prepare(&st, db, Q_STATE_OF);
		if (rc)
			return rc;
		sqlite3_bind_int64(st, 1, ids[i]);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    !strcmp((const char *)sqlite3_column_text(st, 0), "complete"))
			(*out)++;
		sqlite3_reset(st);
	}
	return 0;
}

static int update(xeci_db *db, int64_t inbox_id, const int64_t *message_rowids,
		  xeci_mail *const *mails, size_t n, xeci_series_cache *cache,
		  const xeci_series_opts *opts, int *completed);

int xeci_series_update(xeci_db *db, int64_t inbox_id, const int64_t *message_rowids, size_t n,
		       const xeci_series_opts *opts, int *completed)
{
	return xeci_series_update_parsed(db, inbox_id, message_rowids, NULL, n, opts, completed);
}

int xeci_series_update_parsed(xeci_db *db, int64_t inbox_id, const int64_t *message_rowids,
			      xeci_mail *const *mails, size_t n, const xeci_series_opts *opts,
			      int *completed)
{
	return update(db, inbox_id, message_rowids, mails, n, NULL, opts, completed);
}

int xeci_series_update_cached(xeci_db *db, int64_t inbox_id, const int64_t *message_rowids, size_t n,
			      xeci_series_cache *cache, const xeci_series_opts *opts, int *completed)
{
	return update(db, inbox_id, message_rowids, NULL, n, cache, opts, completed);
}

static int update(xeci_db *db, int64_t inbox_id, const int64_t *message_rowids,
		  xeci_mail *const *mails, size_t n, xeci_series_cache *cache,
		  const xeci_series_opts *opts, int *completed)
{
	static const xeci_series_opts defaults = {0};
	series_component c = {0};
	xeci_series_set *set = NULL;
	upsert_ctx u = {.db = db, .inbox_id = inbox_id, .opts = opts ? opts : &defaults, .c = &c};
	int rc;
	if (completed)
		*completed = 0;
	if ((rc = xeci_series__load_component(&c, db, inbox_id, message_rowids, mails, n, cache)))
		goto out;
	if (!c.n)
		goto out;
	if ((rc = xeci_series_assemble(&set, c.mails, c.n)))
		goto out;
	for (size_t i = 0; !rc && i < xeci_series_set_count(set); i++)
		rc = upsert_version(&u, xeci_series_set_get(set, i));
	for (size_t i = 0; !rc && i < u.ndropped; i++)
		rc = drop_if_empty(db, u.dropped_series[i]);
	for (size_t i = 0; !rc && i < u.ntouched; i++)
		rc = settle_series(db, u.touched_series[i]);
	if (!rc && completed)
		rc = count_complete(completed, db, u.newly_complete, u.nnew);
out:
	xeci_series_set_free(set);
	xeci_series__component_free(&c);
	free(u.touched_series);
	free(u.newly_complete);
	free(u.dropped_series);
	return rc;
}

int xeci_series_expire(xeci_db *db, int64_t now, int64_t wait)
{
	sqlite3_stmt *st;
	int rc = xeci_db_prepare(&st, db, Q_EXPIRE);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, now - wait);
	return xeci_db_step_done(db, st, "expiring incomplete versions");
}
