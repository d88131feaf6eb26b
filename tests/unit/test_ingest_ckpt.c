/* The bulk ingest's checkpointer (daemon/ingest_ckpt.c) on a real database
 * file: once the log passes its threshold, PASSIVE checkpoints run on their
 * own thread while the writer goes on committing, nothing written is lost,
 * and the writer gets its autocheckpoint back; below the threshold no
 * thread is started. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>
#include <cmocka.h>

#include "ingest_ckpt.h"
#include "test_db_fixture.h"

static int setup(void **state)
{
	return fx_setup(state, "ingest-ckpt", "CREATE TABLE t (b BLOB)");
}

static void commit_blob(fx *f, size_t size)
{
	exec(f, "INSERT INTO t (b) VALUES (randomblob(%lld))", (long long)size);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void checkpoints_on_their_thread(void **state)
{
	fx *f = *state;
	xeci_ingest_ckpt *c;
	assert_int_equal(xeci_ingest_ckpt_start(&c, f->db, 8), 0);
	assert_text(f, "0", "PRAGMA wal_autocheckpoint"); /* the hook replaced it */
	/* 40 commits of 64 KiB (four 16 KiB pages and more each): the log
	 * passes 8 frames at the second */
	for (int i = 0; i < 40; i++)
		commit_blob(f, 65536);
	for (int i = 0; i < 500 && xeci_ingest_ckpt_runs(c) == 0; i++)
		sleep_ms(10);
	assert_true(xeci_ingest_ckpt_runs(c) > 0);
	/* what the checkpointer copied is in the database file: another
	 * connection, once the log is checkpointed and gone, reads it all */
	xeci_ingest_ckpt_stop(c, 1000);
	assert_text(f, "1000", "PRAGMA wal_autocheckpoint");
	assert_int_equal(count(f, "SELECT count(*) FROM t WHERE length(b) = 65536"), 40);
	assert_int_equal(xeci_db_exec(f->db, "PRAGMA wal_checkpoint(TRUNCATE)"), 0);
	xeci_db *other;
	assert_int_equal(xeci_db_open(&other, f->dbpath), 0);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(xeci_db_handle(other), "SELECT count(*) FROM t", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 40);
	sqlite3_finalize(st);
	xeci_db_close(other);
}

static void small_writes_start_no_thread(void **state)
{
	fx *f = *state;
	xeci_ingest_ckpt *c;
	assert_int_equal(xeci_ingest_ckpt_start(&c, f->db, 2500), 0);
	for (int i = 0; i < 5; i++)
		commit_blob(f, 100);
	sleep_ms(50);
	assert_int_equal(xeci_ingest_ckpt_runs(c), 0);
	xeci_ingest_ckpt_stop(c, 1000);
	assert_text(f, "1000", "PRAGMA wal_autocheckpoint");
	assert_int_equal(count(f, "SELECT count(*) FROM t"), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(checkpoints_on_their_thread, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(small_writes_start_no_thread, setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
