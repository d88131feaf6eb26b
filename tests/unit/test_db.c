/* The database opens, migrates to the newest schema, and reopens unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "schema.h"

static void migrates_and_reopens(void **state)
{
	char dir[] = "/tmp/xeci-test-db-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/x.db", dir);

	xeci_db *db;
	assert_int_equal(xeci_db_open(&db, path), 0);
	int newest = xeci_migrations[xeci_migrations_count - 1].version;
	assert_int_equal(xeci_db_user_version(db), newest);
	assert_int_equal(xeci_db_exec(db, "INSERT INTO inboxes(name, url) VALUES ('a', 'http://x/')"), 0);
	/* the unique index on Message-ID holds for parsed messages only */
	assert_int_equal(xeci_db_exec(db, "INSERT INTO messages(message_id, raw_sha256, size, source, status)"
					  " VALUES ('m@x', 'aa', 1, 't', 'ok')"), 0);
	assert_int_not_equal(xeci_db_exec(db, "INSERT INTO messages(message_id, raw_sha256, size, source, status)"
					      " VALUES ('m@x', 'bb', 1, 't', 'ok')"), 0);
	assert_int_equal(xeci_db_exec(db, "INSERT INTO messages(message_id, raw_sha256, size, source, status, error)"
					  " VALUES ('m@x', 'bb', 1, 't', 'error', 'dup')"), 0);
	xeci_db_close(db);

	assert_int_equal(xeci_db_open(&db, path), 0);
	assert_int_equal(xeci_db_user_version(db), newest);
	sqlite3_stmt *st;
	assert_int_equal(xeci_db_prepare(&st, db, "SELECT count(*) FROM messages"), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 2);
	xeci_db_close(db);

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Migration 0012: the CHECKs of messages.status and series_versions.state
 * are comparisons, not IN lists (no temporary b-tree per row written), and
 * still refuse what they refused. */
static void ingest_checks_without_in_lists(void **state)
{
	(void)state;
	char dir[] = "/tmp/xeci-test-db-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/x.db", dir);
	xeci_db *db;
	assert_int_equal(xeci_db_open(&db, path), 0);
	sqlite3_stmt *st;
	assert_int_equal(xeci_db_prepare(&st, db, "SELECT count(*) FROM sqlite_schema WHERE "
					 "name IN ('messages', 'series_versions') AND instr(sql, ' IN (') = 0 AND "
					 "(instr(sql, 'CHECK (status = ''ok'' OR') > 0 OR "
					 "instr(sql, 'CHECK (state = ''incomplete'' OR') > 0)"), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 2);
	sqlite3_reset(st); /* the db's cached statement */
	assert_int_equal(xeci_db_exec(db, "INSERT INTO inboxes(id, name, url) VALUES (1, 'a', 'http://x/');"
					  "INSERT INTO series (id, inbox_id, subject, author) VALUES (1, 1, 's', 'a')"), 0);
	assert_int_not_equal(xeci_db_exec(db, "INSERT INTO messages(message_id, raw_sha256, size, source, status)"
					      " VALUES ('m@x', 'aa', 1, 't', 'parsed')"), 0);
	const char *v = "INSERT INTO series_versions (series_id, inbox_id, posting_key, version, subject, author, "
			"total, received, state) VALUES (1, 1, 'k%d', 1, 's', 'a', 1, 1, '%s')";
	char sql[400];
	snprintf(sql, sizeof(sql), v, 1, "complete");
	assert_int_equal(xeci_db_exec(db, sql), 0);
	snprintf(sql, sizeof(sql), v, 2, "done");
	assert_int_not_equal(xeci_db_exec(db, sql), 0);
	assert_int_equal(xeci_db_exec(db, "INSERT INTO messages(message_id, raw_sha256, size, source, status)"
					  " VALUES ('m@x', 'aa', 1, 't', 'removed')"), 0);
	xeci_db_close(db);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(migrates_and_reopens),
					   cmocka_unit_test(ingest_checks_without_in_lists)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
