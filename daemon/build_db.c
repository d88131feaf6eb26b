/* The build queue and results in SQLite. See build_db.h. */
#include "build_db.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "msgraw.h"
#include "util.h"

static int64_t col_int(sqlite3_stmt *st, int i, int64_t null_value)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? null_value : sqlite3_column_int64(st, i);
}

/* ---- reading rows ----------------------------------------------------------- */

#define ROW_COLUMNS                                                                                    \
	"b.id, b.version_id, v.series_id, v.version, b.tree, b.config, b.state, v.subject, "           \
	"b.base_commit, b.base_method, b.commit_id, b.ref, b.apply_failed_index, b.apply_failed_file, " \
	"b.status, b.error, b.progress, b.warnings, b.new_warnings, b.out_dir, b.attempts, "            \
	"b.queued_at, b.started_at, b.finished_at, b.duration_ms "                                      \
	"FROM builds b LEFT JOIN series_versions v ON v.id = b.version_id "

static void row_read(xeci_build_row *r, sqlite3_stmt *st)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->version_id = col_int(st, 1, 0);
	r->series_id = col_int(st, 2, 0);
	r->version = (int)col_int(st, 3, 0);
	r->tree = xeci_db_column_strdup(st, 4);
	r->config = xeci_db_column_strdup(st, 5);
	r->state = xeci_db_column_strdup(st, 6);
	r->subject = xeci_db_column_strdup(st, 7);
	r->base_commit = xeci_db_column_strdup(st, 8);
	r->base_method = xeci_db_column_strdup(st, 9);
	r->commit_id = xeci_db_column_strdup(st, 10);
	r->ref = xeci_db_column_strdup(st, 11);
	r->apply_failed_index = (int)col_int(st, 12, 0);
	r->apply_failed_file = xeci_db_column_strdup(st, 13);
	r->status = xeci_db_column_strdup(st, 14);
	r->error = xeci_db_column_strdup(st, 15);
	r->progress = col_int(st, 16, 0);
	r->warnings = col_int(st, 17, -1);
	r->new_warnings = col_int(st, 18, -1);
	r->out_dir = xeci_db_column_strdup(st, 19);
	r->attempts = (int)col_int(st, 20, 0);
	r->queued_at = col_int(st, 21, 0);
	r->started_at = col_int(st, 22, 0);
	r->finished_at = col_int(st, 23, 0);
	r->duration_ms = col_int(st, 24, 0);
}

void xeci_build_row_clear(xeci_build_row *r)
{
	if (!r)
		return;
	char **strs[] = {&r->tree, &r->config, &r->state, &r->subject, &r->base_commit, &r->base_method,
			 &r->commit_id, &r->ref, &r->apply_failed_file, &r->status, &r->error, &r->out_dir};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	memset(r, 0, sizeof(*r));
}

int xeci_build_db_get(xeci_build_row *out, xeci_db *db, int64_t id)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "SELECT " ROW_COLUMNS "WHERE b.id = ?") < 0)
		return XECI_EIO;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		row_read(out, st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return xeci_error_setc(XECI_ENOTFOUND, "no build %lld", (long long)id);
	return xeci_db_error(db, "builds");
}

int xeci_build_db_list(xeci_build_row **out, size_t *n, xeci_db *db, const char *state, long limit)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "SELECT " ROW_COLUMNS "WHERE (?1 IS NULL OR b.state = ?1) "
				     "ORDER BY b.id DESC LIMIT ?2") < 0)
		return XECI_EIO;
	xeci_db_bind_text(st, 1, state);
	sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
	xeci_build_row *rows = NULL;
	size_t k = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rows = xeci_realloc(rows, (k + 1) * sizeof(*rows));
		row_read(&rows[k++], st);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		xeci_build_rows_free(rows, k);
		return xeci_db_error(db, "builds");
	}
	*out = rows;
	*n = k;
	return 0;
}

void xeci_build_rows_free(xeci_build_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		xeci_build_row_clear(&rows[i]);
	free(rows);
}

/* ---- the queue -------------------------------------------------------------- */

/* The subject prefixes of the version's cover, else of its first patch. */
static int version_prefixes(xeci_mail **out, xeci_db *db, int64_t version_id, int64_t cover_rowid)
{
	sqlite3_stmt *st;
	*out = NULL;
	if (xeci_db_prepare(&st, db, "SELECT coalesce(?1, (SELECT message_rowid FROM series_patches"
				     " WHERE version_id = ?2 ORDER BY idx LIMIT 1))") < 0)
		return XECI_EIO;
	if (cover_rowid)
		sqlite3_bind_int64(st, 1, cover_rowid);
	else
		sqlite3_bind_null(st, 1);
	sqlite3_bind_int64(st, 2, version_id);
	int64_t rowid = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	char *raw;
	size_t len;
	if (!rowid || xeci_msgraw_get(&raw, &len, db, rowid) < 0)
		return 0; /* no bytes: no prefixes (as before, when message_raw had no row) */
	int ret = xeci_mail_parse(out, raw, len, 0);
	free(raw);
	return ret;
}

static int insert_row(xeci_db *db, int64_t version_id, const char *tree, const char *config,
		      const char *state, int64_t priority, const char *error)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "INSERT OR IGNORE INTO builds(version_id, tree, config, state, priority, "
				     "error, finished_at) VALUES (?, ?, ?, ?, ?, ?, "
				     "CASE WHEN ?4 = 'queued' THEN NULL ELSE unixepoch() END)") < 0)
		return XECI_EIO;
	sqlite3_bind_int64(st, 1, version_id);
	xeci_db_bind_text(st, 2, tree);
	xeci_db_bind_text(st, 3, config);
	xeci_db_bind_text(st, 4, state);
	sqlite3_bind_int64(st, 5, priority);
	xeci_db_bind_text(st, 6, error);
	return xeci_db_step_done(db, st, "insert build");
}

static int enqueue_version(int *added, xeci_db *db, const xeci_config *cfg, int64_t vid,
			   const char *inbox, int64_t cover_rowid, int64_t priority)
{
	xeci_mail *m = NULL;
	if (version_prefixes(&m, db, vid, cover_rowid) < 0)
		return XECI_EIO;
	const xeci_config_tree *t = xeci_config_tree_for(cfg, inbox ? inbox : "", m ? m->tags.prefixes : NULL,
							 m ? m->tags.nprefixes : 0);
	xeci_mail_free(m);
	int rc = 0;
	if (!t) {
		char why[512];
		snprintf(why, sizeof(why), "no tree for this series: inbox \"%s\" has no tree and no "
			 "[tree] prefix matches its subject", inbox ? inbox : "?");
		rc = insert_row(db, vid, "", cfg->build.configs[0], "error", priority, why);
		*added += rc == 0 && sqlite3_changes(xeci_db_handle(db)) > 0;
		return rc;
	}
	char **configs = t->nconfigs ? t->configs : cfg->build.configs;
	size_t nconfigs = t->nconfigs ? t->nconfigs : cfg->build.nconfigs;
	for (size_t i = 0; rc == 0 && i < nconfigs; i++) {
		rc = insert_row(db, vid, t->name, configs[i], "queued", priority, NULL);
		*added += rc == 0 && sqlite3_changes(xeci_db_handle(db)) > 0;
	}
	return rc;
}

int xeci_build_db_enqueue(int *added, xeci_db *db, const xeci_config *cfg)
{
	*added = 0;
	if (!cfg->ntrees)
		return 0;
	sqlite3_stmt *st;
	/* Not through the statement cache: enqueue_version prepares others
	 * while this one is stepping. */
	if (sqlite3_prepare_v2(xeci_db_handle(db),
			       "SELECT v.id, i.name, m.id, coalesce(v.completed_at, 0) FROM series_versions v "
			       "LEFT JOIN inboxes i ON i.id = v.inbox_id "
			       "LEFT JOIN messages m ON m.message_id = v.cover_message_id AND m.status = 'ok' "
			       "WHERE v.state = 'complete' AND NOT EXISTS "
			       "(SELECT 1 FROM builds b WHERE b.version_id = v.id) "
			       "ORDER BY v.completed_at DESC, v.id DESC LIMIT 200",
			       -1, &st, NULL) != SQLITE_OK)
		return xeci_db_error(db, "enqueue");
	int rc = xeci_db_begin(db);
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		const char *inbox = (const char *)sqlite3_column_text(st, 1);
		rc = enqueue_version(added, db, cfg, sqlite3_column_int64(st, 0), inbox, col_int(st, 2, 0),
				     sqlite3_column_int64(st, 3));
	}
	sqlite3_finalize(st);
	if (rc < 0) {
		xeci_db_rollback(db);
		return rc;
	}
	return xeci_db_commit(db);
}

int xeci_build_db_cancel_superseded(int *n, xeci_db *db)
{
	*n = 0;
	if (xeci_db_exec(db, "UPDATE builds SET state = 'cancelled', finished_at = unixepoch(), "
			     "error = 'a newer version of the series was posted' "
			     "WHERE state = 'queued' AND version_id IN "
			     "(SELECT id FROM series_versions WHERE state = 'superseded')") < 0)
		return XECI_EIO;
	*n = sqlite3_changes(xeci_db_handle(db));
	return 0;
}

int xeci_build_db_recover(int *n, xeci_db *db, int max_attempts)
{
	sqlite3_stmt *st;
	*n = 0;
	/* A base build is not queued: the next series on that base redoes it. */
	if (xeci_db_exec(db, "UPDATE builds SET state = 'cancelled', finished_at = unixepoch(), "
			     "error = 'the daemon stopped mid-build' "
			     "WHERE version_id IS NULL AND state IN ('applying', 'building')") < 0)
		return XECI_EIO;
	if (xeci_db_prepare(&st, db, "UPDATE builds SET state = CASE WHEN attempts >= ?1 THEN 'error' "
				     "ELSE 'queued' END, error = CASE WHEN attempts >= ?1 THEN "
				     "'stopped mid-build ' || attempts || ' times: given up' ELSE error END, "
				     "finished_at = CASE WHEN attempts >= ?1 THEN unixepoch() END, progress = 0 "
				     "WHERE version_id IS NOT NULL AND state IN ('applying', 'building')") < 0)
		return XECI_EIO;
	sqlite3_bind_int(st, 1, max_attempts);
	int rc = xeci_db_step_done(db, st, "recover builds");
	if (rc == 0)
		*n = sqlite3_changes(xeci_db_handle(db));
	return rc;
}

int xeci_build_db_requeue(xeci_db *db, int64_t id, const char *why)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "UPDATE builds SET state = 'queued', attempts = max(attempts - 1, 0), "
				     "started_at = NULL, error = ? WHERE id = ?") < 0)
		return XECI_EIO;
	xeci_db_bind_text(st, 1, why);
	sqlite3_bind_int64(st, 2, id);
	return xeci_db_step_done(db, st, "requeue build");
}

int xeci_build_db_claim(int64_t *id, xeci_db *db)
{
	return xeci_build_db_claim_except(id, db, NULL);
}

int xeci_build_db_claim_except(int64_t *id, xeci_db *db, const char *busy_trees)
{
	sqlite3_stmt *st;
	*id = 0;
	/* One statement: claiming is atomic even with two daemons on one file. */
	if (xeci_db_prepare(&st, db, "UPDATE builds SET state = 'applying', attempts = attempts + 1, "
				     "started_at = unixepoch(), progress = 0 WHERE id = "
				     "(SELECT id FROM builds WHERE state = 'queued' AND tree NOT IN "
				     "(SELECT value FROM json_each(coalesce(?, '[]'))) "
				     "ORDER BY priority DESC, id DESC LIMIT 1) RETURNING id") < 0)
		return XECI_EIO;
	xeci_db_bind_text(st, 1, busy_trees);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : xeci_db_error(db, "claim build");
}

/* ---- the version's patches ----------------------------------------------------- */

/* The patches (idx > 0) of a version in order, with their message rows (0:
 * the message row is gone). */
typedef struct version_patch {
	int idx;
	int64_t rowid;
} version_patch;

static int read_version_patches(version_patch **out, size_t *n, xeci_db *db, int64_t version_id)
{
	sqlite3_stmt *st;
	*out = NULL;
	*n = 0;
	if (xeci_db_prepare(&st, db, "SELECT idx, message_rowid FROM series_patches"
				     " WHERE version_id = ? AND idx > 0 ORDER BY idx") < 0)
		return XECI_EIO;
	sqlite3_bind_int64(st, 1, version_id);
	int s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		*out = xeci_realloc(*out, (*n + 1) * sizeof(**out));
		(*out)[*n].idx = sqlite3_column_int(st, 0);
		(*out)[(*n)++].rowid = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (s == SQLITE_DONE)
		return 0;
	free(*out);
	*out = NULL;
	*n = 0;
	return xeci_db_error(db, "reading a version's patches");
}

/* The bytes of one patch of a version (msgraw.h: stored or pointed at). */
static int patch_raw(char **raw, size_t *len, xeci_db *db, const version_patch *p)
{
	if (!p->rowid)
		return xeci_error_setc(XECI_ENOTFOUND, "patch %d: its message is not stored", p->idx);
	if (xeci_msgraw_get(raw, len, db, p->rowid) < 0) {
		char why[512]; /* the error text is rewritten below: copied first */
		snprintf(why, sizeof(why), "%s", xeci_error_last());
		return xeci_error_setc(XECI_ENOTFOUND, "patch %d: its message is not stored: %s", p->idx, why);
	}
	return 0;
}

int xeci_build_db_load_patches(xeci_mail ***out, size_t *n, char **base_commit, xeci_db *db,
			       int64_t version_id)
{
	sqlite3_stmt *st;
	*out = NULL;
	*n = 0;
	*base_commit = NULL;
	if (xeci_db_prepare(&st, db, "SELECT base_commit FROM series_versions WHERE id = ?") < 0)
		return XECI_EIO;
	sqlite3_bind_int64(st, 1, version_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		*base_commit = xeci_db_column_strdup(st, 0);
	sqlite3_reset(st);
	version_patch *ps;
	size_t nps;
	if (read_version_patches(&ps, &nps, db, version_id) < 0) {
		free(*base_commit);
		*base_commit = NULL;
		return XECI_EIO;
	}
	xeci_mail **mails = NULL;
	size_t k = 0;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < nps; i++) {
		char *raw;
		size_t len;
		if ((rc = patch_raw(&raw, &len, db, &ps[i])) < 0)
			break;
		mails = xeci_realloc(mails, (k + 1) * sizeof(*mails));
		rc = xeci_mail_parse(&mails[k], raw, len, 0);
		free(raw);
		k += rc == 0;
	}
	free(ps);
	if (rc < 0 || !k) {
		for (size_t i = 0; i < k; i++)
			xeci_mail_free(mails[i]);
		free(mails);
		free(*base_commit);
		*base_commit = NULL;
		return rc < 0 ? rc : xeci_error_setc(XECI_ENOTFOUND, "version %lld has no patches",
						     (long long)version_id);
	}
	*out = mails;
	*n = k;
	return 0;
}

int xeci_build_db_write_patches(size_t *n, xeci_db *db, int64_t version_id, const char *dir)
{
	*n = 0;
	if (xeci_mkdir_p(dir, 0755) < 0)
		return xeci_error_setc(XECI_EIO, "%s: cannot create", dir);
	version_patch *ps;
	size_t nps;
	if (read_version_patches(&ps, &nps, db, version_id) < 0)
		return XECI_EIO;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < nps; i++) {
		char path[4096], *raw;
		size_t len;
		if ((rc = patch_raw(&raw, &len, db, &ps[i])) < 0)
			break;
		snprintf(path, sizeof(path), "%s/%04d.patch", dir, ps[i].idx);
		rc = xeci_file_write_atomic(path, raw, len);
		free(raw);
		*n += rc == 0;
	}
	free(ps);
	return rc;
}

/* ---- updates ------------------------------------------------------------- */

int xeci_build_db_set_apply(xeci_db *db, int64_t id, bool applied, const char *base, const char *base_method,
			    const char *commit, const char *ref, int failed_index, const char *failed_file,
			    const char *error)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "UPDATE builds SET base_commit = ?2, base_method = ?3, commit_id = ?4, "
				     "ref = ?5, apply_failed_index = ?6, apply_failed_file = ?7, error = ?8, "
				     "state = CASE WHEN ?9 THEN state ELSE 'apply-failed' END, "
				     "finished_at = CASE WHEN ?9 THEN NULL ELSE unixepoch() END, "
				     "duration_ms = CASE WHEN ?9 THEN NULL ELSE "
				     "(unixepoch() - started_at) * 1000 END WHERE id = ?1") < 0)
		return XECI_EIO;
	sqlite3_bind_int64(st, 1, id);
	xeci_db_bind_text(st, 2, base && *base ? base : NULL);
	xeci_db_bind_text(st, 3, base_method);
	xeci_db_bind_text(st, 4, commit && *commit ? commit : NULL);
	xeci_db_bind_text(st, 5, ref);
	if (failed_index)
		sqlite3_bind_int(st, 6, failed_index);
	else
		sqlite3_bind_null(st, 6);
	xeci_db_bind_text(st, 7, failed_file);
	xeci_db_bind_text(st, 8, error);
	sqlite3_bind_int(st, 9, applied);
	return xeci_db_step_done(db, st, "build apply result");
}

int xeci_build_db_set_building(xeci_db *db, int64_t id, const char *out_dir)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "UPDATE builds SET state = 'building', out_dir = ? WHERE id = ?") < 0)
		return XECI_EIO;
	xeci_db_bind_text(st, 1, out_dir);
	sqlite3_bind_int64(st, 2, id);
	return xeci_db_step_done(db, st, "build state");
}

int xeci_build_db_set_progress(xeci_db *db, int64_t id, int64_t files)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "UPDATE builds SET progress = ? WHERE id = ?") < 0)
		return XECI_EIO;
	sqlite3_bind_int64(st, 1, files);
	sqlite3_bind_int64(st, 2, id);
	return xeci_db_step_done(db, st, "build progress");
}

int xeci_build_db_finish(xeci_db *db, int64_t id, const char *state, const char *status, const char *error,
			 int64_t warnings, int64_t new_warnings, const xeci_build_artifact *a, size_t na)
{
	sqlite3_stmt *st;
	int rc = xeci_db_begin(db);
	if (rc == 0 && xeci_db_prepare(&st, db, "UPDATE builds SET state = ?2, status = ?3, error = ?4, "
						"warnings = ?5, new_warnings = ?6, finished_at = unixepoch(), "
						"duration_ms = (unixepoch() - coalesce(started_at, unixepoch())) * 1000 "
						"WHERE id = ?1") < 0)
		rc = XECI_EIO;
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, id);
		xeci_db_bind_text(st, 2, state);
		xeci_db_bind_text(st, 3, status);
		xeci_db_bind_text(st, 4, error);
		if (warnings >= 0)
			sqlite3_bind_int64(st, 5, warnings);
		else
			sqlite3_bind_null(st, 5);
		if (new_warnings >= 0)
			sqlite3_bind_int64(st, 6, new_warnings);
		else
			sqlite3_bind_null(st, 6);
		rc = xeci_db_step_done(db, st, "finish build");
	}
	for (size_t i = 0; rc == 0 && i < na; i++) {
		if (xeci_db_prepare(&st, db, "INSERT OR REPLACE INTO build_artifacts(build_id, name, path, size, "
					     "sha256) VALUES (?, ?, ?, ?, ?)") < 0) {
			rc = XECI_EIO;
			break;
		}
		sqlite3_bind_int64(st, 1, id);
		xeci_db_bind_text(st, 2, a[i].name);
		xeci_db_bind_text(st, 3, a[i].path);
		sqlite3_bind_int64(st, 4, a[i].size);
		xeci_db_bind_text(st, 5, a[i].sha256);
		rc = xeci_db_step_done(db, st, "build artifact");
	}
	if (rc < 0) {
		xeci_db_rollback(db);
		return rc;
	}
	return xeci_db_commit(db);
}

/* ---- base builds and checks ------------------------------------------------- */

int xeci_build_db_base_find(int64_t *id, xeci_db *db, const char *tree, const char *config, const char *commit)
{
	sqlite3_stmt *st;
	*id = 0;
	if (xeci_db_prepare(&st, db, "SELECT id FROM builds WHERE version_id IS NULL AND tree = ? AND config = ? "
				     "AND commit_id = ? AND state IN ('passed', 'failed') ORDER BY id DESC LIMIT 1") < 0)
		return XECI_EIO;
	xeci_db_bind_text(st, 1, tree);
	xeci_db_bind_text(st, 2, config);
	xeci_db_bind_text(st, 3, commit);
	if (sqlite3_step(st) == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

int xeci_build_db_base_add(int64_t *id, xeci_db *db, const char *tree, const char *config, const char *commit)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "INSERT INTO builds(version_id, tree, config, state, base_commit, commit_id, "
				     "started_at, attempts) VALUES (NULL, ?1, ?2, 'building', ?3, ?3, unixepoch(), 1)") < 0)
		return XECI_EIO;
	xeci_db_bind_text(st, 1, tree);
	xeci_db_bind_text(st, 2, config);
	xeci_db_bind_text(st, 3, commit);
	int rc = xeci_db_step_done(db, st, "base build");
	*id = rc == 0 ? sqlite3_last_insert_rowid(xeci_db_handle(db)) : 0;
	return rc;
}

int xeci_build_db_add_check(xeci_db *db, int64_t build_id, const xeci_build_check *c)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "INSERT OR REPLACE INTO build_checks(build_id, kind, patch_idx, result, errors, "
				     "warnings, checks, summary, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)") < 0)
		return XECI_EIO;
	sqlite3_bind_int64(st, 1, build_id);
	xeci_db_bind_text(st, 2, c->kind);
	sqlite3_bind_int(st, 3, c->patch_idx);
	xeci_db_bind_text(st, 4, c->result);
	sqlite3_bind_int(st, 5, c->errors);
	sqlite3_bind_int(st, 6, c->warnings);
	sqlite3_bind_int(st, 7, c->checks);
	xeci_db_bind_text(st, 8, c->summary);
	xeci_db_bind_text(st, 9, c->text);
	return xeci_db_step_done(db, st, "build check");
}
