/* Shared by the unit tests that work on a real database file
 * (test_build_db.c, test_sched_db.c, test_sched_group.c): a temp dir with
 * xeci.db (migrated by xeci_db_open) and xeci.conf, and SQL helpers that
 * fail the test, naming the statement, when SQLite refuses it. Include
 * after <cmocka.h>. */
#ifndef XECI_TEST_DB_FIXTURE_H
#define XECI_TEST_DB_FIXTURE_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "config.h"
#include "db.h"
#include "error.h"
#include "util.h"

typedef struct fx {
	char dir[256];
	char dbpath[300];
	xeci_db *db;
	xeci_config *cfg;
	int seq; /* for unique names: posting keys, Message-IDs */
} fx;

/* A cmocka setup: a temp dir /tmp/xeci-NAME-XXXXXX, its database, then
 * inbox_sql (the inboxes rows the test needs). */
static inline int fx_setup(void **state, const char *name, const char *inbox_sql)
{
	fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/xeci-%s-XXXXXX", name);
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->dbpath, sizeof(f->dbpath), "%s/xeci.db", f->dir);
	if (xeci_db_open(&f->db, f->dbpath) < 0 || xeci_db_exec(f->db, inbox_sql) < 0)
		return -1;
	*state = f;
	return 0;
}

static inline int fx_teardown(void **state)
{
	fx *f = *state;
	xeci_config_free(f->cfg);
	xeci_db_close(f->db);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Writes text as the dir's xeci.conf and loads it (replacing f->cfg). */
static inline void fx_load_cfg(fx *f, const char *text)
{
	char path[320];
	snprintf(path, sizeof(path), "%s/xeci.conf", f->dir);
	assert_int_equal(xeci_file_write_atomic(path, text, strlen(text)), 0);
	xeci_config_free(f->cfg);
	f->cfg = NULL;
	if (xeci_config_load_db(&f->cfg, path, f->dbpath) < 0)
		fail_msg("config: %s", xeci_error_last());
}

/* ---- SQL helpers (sqlite3_mprintf formats: %Q quotes, %lld) ---------------- */

static inline sqlite3_stmt *fx_prepare_v(fx *f, const char *fmt, va_list ap)
{
	char *sql = sqlite3_vmprintf(fmt, ap);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(xeci_db_handle(f->db), sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(xeci_db_handle(f->db)));
	sqlite3_free(sql);
	return st;
}

/* The first column of the first row as an integer, -999 for no row. */
static inline int64_t count(fx *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sqlite3_stmt *st = fx_prepare_v(f, fmt, ap);
	va_end(ap);
	int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -999;
	sqlite3_finalize(st);
	return v;
}

/* The first column of the first row as a string ("(null)" for NULL,
 * "(none)" for no row); caller frees. */
static inline char *text(fx *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sqlite3_stmt *st = fx_prepare_v(f, fmt, ap);
	va_end(ap);
	char *s;
	if (sqlite3_step(st) != SQLITE_ROW)
		s = strdup("(none)");
	else if (sqlite3_column_type(st, 0) == SQLITE_NULL)
		s = strdup("(null)");
	else
		s = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return s;
}

#define assert_text(f, want, ...)                                                                                      \
	do {                                                                                                           \
		char *got_ = text(f, __VA_ARGS__);                                                                     \
		if (strcmp(got_, want))                                                                                \
			fail_msg("%s:%d: got \"%s\", want \"%s\"", __FILE__, __LINE__, got_, want);                   \
		free(got_);                                                                                            \
	} while (0)

#define assert_text_has(f, needle, ...)                                                                                \
	do {                                                                                                           \
		char *got_ = text(f, __VA_ARGS__);                                                                     \
		if (!strstr(got_, needle))                                                                             \
			fail_msg("%s:%d: \"%s\" lacks \"%s\"", __FILE__, __LINE__, got_, needle);                     \
		free(got_);                                                                                            \
	} while (0)

static inline void exec(fx *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	if (xeci_db_exec(f->db, sql) < 0)
		fail_msg("%s: %s", sql, xeci_error_last());
	sqlite3_free(sql);
}

static inline int64_t last_id(fx *f)
{
	return sqlite3_last_insert_rowid(xeci_db_handle(f->db));
}

#endif
