/* A stored message's bytes (daemon/msgraw.c, schema 0010) on a real
 * database and a real bare repository: a parsed mail of a git epoch is
 * kept as a pointer to its blob and read back byte for byte; error rows
 * and mails from anywhere else keep their bytes; a blob that is gone is
 * an error that names it; a database of schema 0008 migrates and its rows
 * still read. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <git2.h>
#include <sqlite3.h>

#include "db.h"
#include "error.h"
#include "mail.h"
#include "msgraw.h"
#include "msgstore.h"
#include "schema.h"
#include "util.h"

/* bytes a text path would mangle: CRLF, a NUL, 8-bit */
static const char ODD[] = "From: A <a@example.com>\r\nSubject: [PATCH] x\r\nMessage-ID: <odd@x>\r\n\r\n"
			  "body \xc3\xa9\x00 after nul\r\n";
static const char PLAIN[] = "From: B <b@example.com>\nSubject: hello\nMessage-ID: <plain@x>\n\nhi\n";

typedef struct fx {
	char dir[64];
	char dbpath[128];
	char repo[128];
	xeci_db *db;
	char odd_oid[41];
	char plain_oid[41];
} fx;

static void put_blob(char hex[41], git_repository *repo, const char *data, size_t len)
{
	git_oid oid;
	assert_int_equal(git_blob_create_from_buffer(&oid, repo, data, len), 0);
	git_oid_tostr(hex, 41, &oid);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/xeci-test-msgraw-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->dbpath, sizeof(f->dbpath), "%s/xeci.db", f->dir);
	snprintf(f->repo, sizeof(f->repo), "%s/0.git", f->dir);
	git_libgit2_init();
	git_repository *repo;
	if (git_repository_init(&repo, f->repo, 1) < 0)
		return -1;
	put_blob(f->odd_oid, repo, ODD, sizeof(ODD) - 1);
	put_blob(f->plain_oid, repo, PLAIN, sizeof(PLAIN) - 1);
	git_repository_free(repo);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	xeci_db_close(f->db);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	int rc = system(cmd);
	git_libgit2_shutdown();
	free(f);
	return rc == 0 ? 0 : -1;
}

static int64_t count(xeci_db *db, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(xeci_db_handle(db), sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Stores raw as read from a git epoch (blob oid of repo_id) or, repo_id 0,
 * from anywhere else; parse false: as a mail that failed to parse. */
static int64_t store(fx *f, const char *raw, size_t len, const char *oid, int64_t repo_id, bool parse,
		     xeci_msg_outcome *outcome)
{
	xeci_mail *m = NULL;
	char sha[65];
	xeci_sha256_hex(sha, raw, len);
	if (parse)
		assert_int_equal(xeci_mail_parse(&m, raw, len, 0), 0);
	xeci_msg_record rec = {raw, len, sha, m, NULL, parse ? NULL : "unparsable: test", repo_id ? oid : NULL,
			       repo_id};
	xeci_msg_source src = {"test", repo_id ? 0 : -1, NULL, 0};
	int64_t rowid = 0;
	assert_int_equal(xeci_msgstore_put(&rowid, outcome, f->db, 1, &rec, &src), 0);
	xeci_mail_free(m);
	return rowid;
}

static void assert_bytes(fx *f, int64_t rowid, const char *want, size_t wantlen)
{
	char *got;
	size_t len;
	assert_int_equal(xeci_msgraw_get(&got, &len, f->db, rowid), 0);
	assert_int_equal(len, wantlen);
	assert_memory_equal(got, want, len);
	assert_int_equal(got[len], '\0');
	free(got);
}

static void open_db(fx *f)
{
	assert_int_equal(xeci_db_open(&f->db, f->dbpath), 0);
	assert_int_equal(xeci_db_exec(f->db, "INSERT OR IGNORE INTO inboxes (id, name, url) VALUES (1, 'xe', 'x')"), 0);
}

static void pointer_round_trip(void **state)
{
	fx *f = *state;
	open_db(f);
	int64_t repo = 0, again = 0;
	assert_int_equal(xeci_msgraw_repo_id(&repo, f->db, f->repo), 0);
	assert_int_equal(xeci_msgraw_repo_id(&again, f->db, f->repo), 0);
	assert_true(repo > 0);
	assert_int_equal(repo, again);

	xeci_msg_outcome out;
	int64_t a = store(f, ODD, sizeof(ODD) - 1, f->odd_oid, repo, true, &out);
	assert_int_equal(out, XECI_MSG_STORED);
	/* a pointer, not the bytes */
	assert_int_equal(count(f->db, "SELECT count(*) FROM message_raw WHERE raw IS NULL AND blob_oid IS NOT NULL"), 1);
	assert_bytes(f, a, ODD, sizeof(ODD) - 1);
	/* the same bytes again: a duplicate, nothing new */
	assert_int_equal(store(f, ODD, sizeof(ODD) - 1, f->odd_oid, repo, true, &out), a);
	assert_int_equal(out, XECI_MSG_DUPLICATE);
}

static void bytes_kept(void **state)
{
	fx *f = *state;
	open_db(f);
	int64_t repo = 0;
	assert_int_equal(xeci_msgraw_repo_id(&repo, f->db, f->repo), 0);
	xeci_msg_outcome out;
	/* from an mbox (no pointer) */
	int64_t a = store(f, PLAIN, sizeof(PLAIN) - 1, NULL, 0, true, &out);
	assert_int_equal(out, XECI_MSG_STORED);
	/* from an epoch, but unparsable: an error row keeps its bytes */
	int64_t b = store(f, ODD, sizeof(ODD) - 1, f->odd_oid, repo, false, &out);
	assert_int_equal(out, XECI_MSG_ERROR);
	/* from an epoch, another body under a Message-ID already stored */
	static const char other[] = "From: B <b@example.com>\nSubject: hello\nMessage-ID: <plain@x>\n\nbye\n";
	int64_t c = store(f, other, sizeof(other) - 1, f->plain_oid, repo, true, &out);
	assert_int_equal(out, XECI_MSG_ERROR);
	assert_int_equal(count(f->db, "SELECT count(*) FROM message_raw WHERE raw IS NOT NULL AND blob_oid IS NULL"), 3);
	assert_int_equal(count(f->db, "SELECT count(*) FROM message_raw WHERE blob_oid IS NOT NULL"), 0);
	assert_bytes(f, a, PLAIN, sizeof(PLAIN) - 1);
	assert_bytes(f, b, ODD, sizeof(ODD) - 1);
	assert_bytes(f, c, other, sizeof(other) - 1);
}

static void missing_blob(void **state)
{
	fx *f = *state;
	open_db(f);
	int64_t repo = 0;
	assert_int_equal(xeci_msgraw_repo_id(&repo, f->db, f->repo), 0);
	xeci_msg_outcome out;
	static const char gone[] = "0123456789abcdef0123456789abcdef01234567";
	int64_t a = store(f, PLAIN, sizeof(PLAIN) - 1, gone, repo, true, &out);
	char *got = (char *)1;
	size_t len = 1;
	assert_int_equal(xeci_msgraw_get(&got, &len, f->db, a), XECI_ENOTFOUND);
	assert_null(got);
	assert_non_null(strstr(xeci_error_last(), gone));
	/* no row at all */
	assert_int_equal(xeci_msgraw_get(&got, &len, f->db, 4242), XECI_ENOTFOUND);
	assert_non_null(strstr(xeci_error_last(), "not stored"));
}

/* A database at schema 0008 (bytes in message_raw.raw) opens at the newest
 * schema, and its rows still read. */
static void migrates(void **state)
{
	fx *f = *state;
	sqlite3 *h;
	assert_int_equal(sqlite3_open(f->dbpath, &h), SQLITE_OK);
	for (size_t i = 0; i < xeci_migrations_count && xeci_migrations[i].version <= 8; i++)
		assert_int_equal(sqlite3_exec(h, xeci_migrations[i].sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "PRAGMA user_version = 8; INSERT INTO inboxes (id, name, url) VALUES (1, 'xe', 'x');"
				     "INSERT INTO messages (id, inbox_id, message_id, raw_sha256, size, source, status)"
				     " VALUES (7, 1, 'odd@x', 's', 1, 'old', 'ok')", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(h, "INSERT INTO message_raw VALUES (7, ?)", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, ODD, (int)sizeof(ODD) - 1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(h);

	assert_int_equal(xeci_db_open(&f->db, f->dbpath), 0);
	assert_int_equal(xeci_db_user_version(f->db), xeci_migrations[xeci_migrations_count - 1].version);
	assert_true(xeci_db_user_version(f->db) >= 10);
	assert_bytes(f, 7, ODD, sizeof(ODD) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(pointer_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(bytes_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_blob, setup, teardown),
		cmocka_unit_test_setup_teardown(migrates, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
