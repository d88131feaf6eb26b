#include "db.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "error.h"
#include "log.h"
#include "schema.h"
#include "util.h"

/* Prepared statements are cached per connection, keyed by their SQL text
 * pointer and contents, so hot paths prepare once. */
typedef struct stmt_cache_entry {
	char *sql;
	const char *given; /* the caller's pointer: hot paths pass the same constant */
	sqlite3_stmt *stmt;
} stmt_cache_entry;

struct xeci_db {
	sqlite3 *h;
	char *path;
	stmt_cache_entry *cache;
	size_t ncache, capcache;
	int depth;      /* xeci_db_begin nesting: 1 = the transaction, more = savepoints */
	bool aborted;   /* SQLite rolled the whole transaction back under a savepoint */
	/* xeci_db_begin_light: nested levels are marks, not savepoints */
	bool light, redo;
	int64_t mark[XECI_DB_LIGHT_DEPTH]; /* total changes when each nested level began */
};

int xeci_db_error(xeci_db *db, const char *what)
{
	return xeci_error_setc(XECI_EIO, "%s: %s: %s", db->path, what, sqlite3_errmsg(db->h));
}

int xeci_db_exec(xeci_db *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int rc = xeci_error_setc(XECI_EIO, "%s: %s", db->path, msg ? msg : "sqlite error");
		sqlite3_free(msg);
		return rc;
	}
	return 0;
}

int xeci_db_user_version(xeci_db *db)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Applies, each in its own transaction, the migrations newer than
 * user_version; a crash between two leaves a consistent, lower version. */
static int migrate(xeci_db *db)
{
	int cur = xeci_db_user_version(db);
	if (cur < 0)
		return xeci_db_error(db, "reading user_version");
	for (size_t i = 0; i < xeci_migrations_count; i++) {
		const xeci_migration *m = &xeci_migrations[i];
		if (m->version <= cur)
			continue;
		char pragma[64];
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d;", m->version);
		if (xeci_db_exec(db, "BEGIN IMMEDIATE") < 0)
			return XECI_EIO;
		if (xeci_db_exec(db, m->sql) < 0 || xeci_db_exec(db, pragma) < 0) {
			char msg[1024];
			snprintf(msg, sizeof(msg), "%s", xeci_error_last());
			xeci_db_exec(db, "ROLLBACK");
			return xeci_error_setc(XECI_EIO, "migration %s: %s", m->name, msg);
		}
		if (xeci_db_exec(db, "COMMIT") < 0)
			return XECI_EIO;
		XECI_DEBUG("%s: applied migration %s", db->path, m->name);
		cur = m->version;
	}
	return 0;
}

/* SQLite keeps memory statistics (sqlite3_memory_used) behind a global
 * mutex taken by every allocation it makes; xeci reads none of them, and
 * that mutex was ~4% of a bulk ingest's store thread. Before any other
 * SQLite call of the process (later, sqlite3_config refuses: harmless). */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int xeci_db_open(xeci_db **out, const char *path)
{
	pthread_once(&sqlite_once, sqlite_setup);
	xeci_db *db = xeci_calloc(1, sizeof(*db));
	db->path = xeci_strdup(path);
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
		int rc = xeci_error_setc(XECI_EIO, "%s: %s", path,
					 db->h ? sqlite3_errmsg(db->h) : "cannot open");
		xeci_db_close(db);
		return rc;
	}
	/* Several processes (xecid, xeci) share the file: wait for locks. */
	sqlite3_busy_timeout(db->h, 10000);
	/* The WAL file is kept (empty) when the last connection closes, not
	 * deleted: the next process need not create it again, and creating it
	 * cost a directory fsync. */
	int persist = 1;
	sqlite3_file_control(db->h, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	/* 16 KiB pages (taken by a new database only): a message row, raw bytes
	 * included, mostly fits in one page instead of spilling into overflow
	 * pages, and a bulk ingest spends a third less time in the kernel. */
	if (xeci_db_exec(db, "PRAGMA page_size = 16384;") < 0 ||
	    xeci_db_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
			     "PRAGMA foreign_keys = ON; PRAGMA cache_size = -32768;"
			     "PRAGMA temp_store = MEMORY;"
			     /* the log is reset to this size after a checkpoint, not
			      * left at its high-water mark (254 MB after a bench) */
			     "PRAGMA journal_size_limit = 67108864;") < 0 ||
	    migrate(db) < 0) {
		xeci_db_close(db);
		return XECI_EIO;
	}
	*out = db;
	return 0;
}

/* Below this much WAL, the last connection leaves the log to the next
 * opener (which reads it back in well under a millisecond) instead of a
 * checkpoint: two fsyncs, the time of a whole one-message `xeci ingest` on
 * a busy disk. Committed data is in the WAL either way (kill -9 loses
 * nothing); as with synchronous = NORMAL throughout, a power cut may lose the
 * commits not yet checkpointed. */
#define LAZY_CLOSE_WAL_BYTES ((off_t)4 << 20)

static void close_checkpoint_policy(xeci_db *db)
{
	const char *file = sqlite3_db_filename(db->h, "main");
	xeci_buf wal = XECI_BUF_INIT;
	struct stat st;
	if (!file || !*file) /* in memory */
		return;
	xeci_buf_printf(&wal, "%s-wal", file);
	if (stat(wal.ptr, &st) == 0 && st.st_size <= LAZY_CLOSE_WAL_BYTES)
		sqlite3_db_config(db->h, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	xeci_buf_free(&wal);
}

void xeci_db_close(xeci_db *db)
{
	if (!db)
		return;
	if (db->h)
		close_checkpoint_policy(db);
	for (size_t i = 0; i < db->ncache; i++) {
		sqlite3_finalize(db->cache[i].stmt);
		free(db->cache[i].sql);
	}
	free(db->cache);
	if (db->h)
		sqlite3_close(db->h);
	free(db->path);
	free(db);
}

sqlite3 *xeci_db_handle(xeci_db *db)
{
	return db->h;
}

const char *xeci_db_path(xeci_db *db)
{
	return db->path;
}

static stmt_cache_entry *cache_find(xeci_db *db, const char *sql)
{
	/* hot paths pass the same string constant: its pointer finds it with
	 * one comparison of the text (which a reused buffer would fail) */
	for (size_t i = 0; i < db->ncache; i++)
		if (db->cache[i].given == sql && !strcmp(db->cache[i].sql, sql))
			return &db->cache[i];
	for (size_t i = 0; i < db->ncache; i++)
		if (!strcmp(db->cache[i].sql, sql)) {
			db->cache[i].given = sql;
			return &db->cache[i];
		}
	return NULL;
}

int xeci_db_prepare(sqlite3_stmt **out, xeci_db *db, const char *sql)
{
	stmt_cache_entry *e = cache_find(db, sql);
	if (e) {
		sqlite3_reset(e->stmt);
		sqlite3_clear_bindings(e->stmt);
		*out = e->stmt;
		return 0;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return xeci_db_error(db, sql);
	if (db->ncache == db->capcache) {
		db->capcache = db->capcache ? db->capcache * 2 : 32;
		db->cache = xeci_realloc(db->cache, db->capcache * sizeof(*db->cache));
	}
	db->cache[db->ncache].sql = xeci_strdup(sql);
	db->cache[db->ncache].given = sql;
	db->cache[db->ncache].stmt = st;
	db->ncache++;
	*out = st;
	return 0;
}

/* Some errors (SQLITE_FULL, IOERR, NOMEM, ...) make SQLite roll the whole
 * transaction back by itself: under a savepoint that must not go unseen, or
 * the outer COMMIT would commit nothing while its callers think it did. */
static bool txn_lost(xeci_db *db)
{
	if (db->depth && sqlite3_get_autocommit(db->h))
		db->aborted = true;
	return db->aborted;
}

static int begin_outer(xeci_db *db, bool light)
{
	if (xeci_db_exec(db, "BEGIN IMMEDIATE") < 0)
		return XECI_EIO;
	db->depth = 1;
	db->aborted = false;
	db->light = light;
	db->redo = false;
	return 0;
}

int xeci_db_begin(xeci_db *db)
{
	if (db->depth == 0)
		return begin_outer(db, false);
	/* inside a group (several requests in one write transaction): a
	 * savepoint, so that this unit can fail alone */
	if (txn_lost(db))
		return xeci_error_setc(XECI_EIO, "%s: the enclosing transaction was rolled back", db->path);
	if (db->light) {
		/* no savepoint (it copies every page it sees first, 16 KiB each):
		 * what the unit changes is counted instead, see rollback */
		if (db->depth >= XECI_DB_LIGHT_DEPTH)
			return xeci_error_setc(XECI_EIO, "%s: transactions nested too deep", db->path);
		db->mark[db->depth++] = sqlite3_total_changes64(db->h);
		return 0;
	}
	if (xeci_db_exec(db, "SAVEPOINT nest") < 0)
		return XECI_EIO;
	db->depth++;
	return 0;
}

int xeci_db_begin_light(xeci_db *db)
{
	if (db->depth)
		return xeci_error_setc(XECI_EINVALID, "%s: a light transaction cannot nest", db->path);
	return begin_outer(db, true);
}

bool xeci_db_redo(xeci_db *db)
{
	return db->redo;
}

int xeci_db_commit(xeci_db *db)
{
	if (db->depth > 1) {
		db->depth--;
		if (txn_lost(db))
			return xeci_error_setc(XECI_EIO, "%s: the enclosing transaction was rolled back", db->path);
		return db->light ? 0 : xeci_db_exec(db, "RELEASE nest");
	}
	bool lost = db->depth == 1 && txn_lost(db);
	db->depth = 0;
	db->aborted = false;
	db->light = false;
	if (lost)
		return xeci_error_setc(XECI_EIO, "%s: the transaction was rolled back", db->path);
	if (xeci_db_exec(db, "COMMIT") < 0) {
		if (!sqlite3_get_autocommit(db->h))
			xeci_db_exec(db, "ROLLBACK");
		return XECI_EIO;
	}
	return 0;
}

void xeci_db_rollback(xeci_db *db)
{
	if (db->depth > 1) {
		db->depth--;
		if (db->light) {
			/* A unit that changed nothing has nothing to undo (a failed
			 * statement undid itself); one that did cannot be undone
			 * alone: the whole transaction must be redone with savepoints. */
			if (sqlite3_total_changes64(db->h) != db->mark[db->depth])
				db->redo = true;
			return;
		}
		if (!txn_lost(db) && xeci_db_exec(db, "ROLLBACK TO nest") == 0)
			xeci_db_exec(db, "RELEASE nest");
		return;
	}
	db->depth = 0;
	db->aborted = false;
	db->light = false;
	if (!sqlite3_get_autocommit(db->h))
		xeci_db_exec(db, "ROLLBACK");
}

int xeci_db_depth(xeci_db *db)
{
	return db->depth;
}

void xeci_db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

char *xeci_db_column_strdup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? xeci_strdup((const char *)s) : NULL;
}

int xeci_db_step_done(xeci_db *db, sqlite3_stmt *st, const char *what)
{
	int s = sqlite3_step(st);
	sqlite3_reset(st);
	return s == SQLITE_DONE || s == SQLITE_ROW ? 0 : xeci_db_error(db, what);
}
