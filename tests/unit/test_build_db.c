/* The build queue in SQLite (daemon/build_db.c) on a real database file,
 * part 1: enqueueing and routing, claim order, cancelling superseded
 * versions, recovery after a stop. test_build_rows.c has the update
 * functions, base builds and the version's patches; test_build_fixture.h
 * what both use. */
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

#include "test_build_fixture.h"

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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
