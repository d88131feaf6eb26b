/* The build queue and results in SQLite (schema/0006_build.sql). Every
 * function blocks (SQLite): the daemon calls them on its thread pool, each
 * job with a connection of its own; the command line calls them directly.
 *
 * Crash safety comes from the rows alone: enqueueing is idempotent (one row
 * per version and config), a row is claimed in one transaction, and rows a
 * stopped daemon left applying/building are queued again at start. */
#ifndef XECI_BUILD_DB_H
#define XECI_BUILD_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "build.h"
#include "config.h"
#include "db.h"
#include "mail.h"

/* A build row, as the queue and the command line read it. */
typedef struct xeci_build_row {
	int64_t id;
	int64_t version_id;      /* 0: a base build */
	int64_t series_id;
	int version;             /* vN */
	char *tree, *config, *state;
	char *subject;           /* the version's */
	char *base_commit, *base_method, *commit_id, *ref;
	int apply_failed_index;
	char *apply_failed_file;
	char *status, *error;
	int64_t progress;
	int64_t warnings, new_warnings; /* -1: not known */
	char *out_dir;
	int attempts;
	int64_t queued_at, started_at, finished_at, duration_ms;
} xeci_build_row;

void xeci_build_row_clear(xeci_build_row *r);
int xeci_build_db_get(xeci_build_row *out, xeci_db *db, int64_t id);
/* Rows newest first; state NULL for all. */
int xeci_build_db_list(xeci_build_row **out, size_t *n, xeci_db *db, const char *state, long limit);
void xeci_build_rows_free(xeci_build_row *rows, size_t n);

/* Queues every complete version that has no build yet, one row per config
 * of its tree (routing: xeci_config_tree_for on the cover's, else patch 1's,
 * subject prefixes). A version no tree takes gets an 'error' row saying so:
 * it is visible, not silently untested. Nothing happens without trees. */
int xeci_build_db_enqueue(int *added, xeci_db *db, const xeci_config *cfg);
/* Cancels queued builds of versions a newer version superseded. */
int xeci_build_db_cancel_superseded(int *n, xeci_db *db);
/* At start: rows left applying/building go back to queued (attempts kept);
 * after max_attempts runs they become 'error' instead. */
int xeci_build_db_recover(int *n, xeci_db *db, int max_attempts);
/* Puts a claimed row back in the queue, not counting the attempt: xeci
 * could not start it yet (the tree's first fetch is still running). */
int xeci_build_db_requeue(xeci_db *db, int64_t id, const char *why);
/* Claims the next queued row (highest priority, then newest): it becomes
 * 'applying', attempts+1, started_at now. *id = 0 when the queue is empty. */
int xeci_build_db_claim(int64_t *id, xeci_db *db);
/* The same, skipping the trees in busy_trees (a JSON array of names, or
 * NULL): a tree's checkout serves one build at a time. */
int xeci_build_db_claim_except(int64_t *id, xeci_db *db, const char *busy_trees);

/* The patches of a version, parsed from their stored bytes, in order, with
 * the version's base-commit (NULL when none; caller frees) . */
int xeci_build_db_load_patches(xeci_mail ***out, size_t *n, char **base_commit, xeci_db *db,
			       int64_t version_id);

/* Writes the version's patch mails, as received, to DIR/0001.patch, ...
 * (for checkpatch); *n is how many. */
int xeci_build_db_write_patches(size_t *n, xeci_db *db, int64_t version_id, const char *dir);

/* Updates of a claimed row. */
int xeci_build_db_set_apply(xeci_db *db, int64_t id, bool applied, const char *base,
			    const char *base_method, const char *commit, const char *ref, int failed_index,
			    const char *failed_file, const char *error);
int xeci_build_db_set_building(xeci_db *db, int64_t id, const char *out_dir);
int xeci_build_db_set_progress(xeci_db *db, int64_t id, int64_t files);
/* The end: state (passed, failed, error, cancelled), the script's status,
 * the one-line error, warnings (-1: unknown) and the artifacts. */
int xeci_build_db_finish(xeci_db *db, int64_t id, const char *state, const char *status, const char *error,
			 int64_t warnings, int64_t new_warnings, const xeci_build_artifact *a, size_t na);

/* A base build: the row of (tree, config, commit) or 0 (*id). */
int xeci_build_db_base_find(int64_t *id, xeci_db *db, const char *tree, const char *config, const char *commit);
int xeci_build_db_base_add(int64_t *id, xeci_db *db, const char *tree, const char *config, const char *commit);

/* A check beside the build (kind: checkpatch, warnings, per-patch). */
typedef struct xeci_build_check {
	const char *kind;
	int patch_idx;
	const char *result;      /* pass, warn, fail, error */
	int errors, warnings, checks;
	const char *summary;
	const char *text;
} xeci_build_check;
int xeci_build_db_add_check(xeci_db *db, int64_t build_id, const xeci_build_check *c);

#endif
