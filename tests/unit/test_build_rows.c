/* The build queue in SQLite (daemon/build_db.c) on a real database file,
 * part 2: the update functions (finish, get, list, set_apply), base
 * builds, and a version's patches (load, write). test_build_db.c has
 * enqueueing, routing, claim order and recovery. */
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
		cmocka_unit_test_setup_teardown(finish_get_list, setup, teardown),
		cmocka_unit_test_setup_teardown(set_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(base_find_add, setup, teardown),
		cmocka_unit_test_setup_teardown(load_patches, setup, teardown),
		cmocka_unit_test_setup_teardown(write_patches, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
