/* The database: one SQLite file in WAL mode with foreign keys on; migrations
 * from schema/ (compiled in) applied at open through PRAGMA user_version.
 * An xeci_db is used by one thread at a time (SQLITE_OPEN_NOMUTEX). */
#ifndef XECI_DB_H
#define XECI_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct xeci_db xeci_db;

/* Opens (creating) the database at path and migrates it to the newest schema. */
int xeci_db_open(xeci_db **out, const char *path);
void xeci_db_close(xeci_db *db);
sqlite3 *xeci_db_handle(xeci_db *db);
const char *xeci_db_path(xeci_db *db);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. They nest: inside a transaction,
 * begin is a SAVEPOINT, commit releases it and rollback undoes only what
 * came after it, so many requests can share one write transaction (group
 * commit) and still fail one by one. Every begin that succeeded takes
 * exactly one commit or rollback. */
int xeci_db_begin(xeci_db *db);
int xeci_db_commit(xeci_db *db);
void xeci_db_rollback(xeci_db *db);
/* Group commit without savepoints (a savepoint copies each page it first
 * touches, 16 KiB, and most units never roll back): a transaction whose
 * nested begins only note sqlite3_total_changes(). A nested rollback of a
 * unit that changed no row is free; of one that did, it cannot undo it and
 * sets xeci_db_redo: the caller must roll the whole transaction back and
 * run it again under xeci_db_begin (real savepoints). A failed statement
 * undoes itself (statement journal), so "no row changed" is exact. */
#define XECI_DB_LIGHT_DEPTH 16
int xeci_db_begin_light(xeci_db *db);
/* A nested rollback in a light transaction needed a savepoint. */
bool xeci_db_redo(xeci_db *db);
/* 0 outside a transaction, 1 in one, more under savepoints. */
int xeci_db_depth(xeci_db *db);

/* Runs SQL without results; sets the error text on failure. */
int xeci_db_exec(xeci_db *db, const char *sql);
/* Prepares a statement (cached per connection; do not finalize it, reset is
 * done for you on the next xeci_db_prepare of the same SQL). */
int xeci_db_prepare(sqlite3_stmt **out, xeci_db *db, const char *sql);
/* Binds s as text (SQLite copies it), or NULL when s is NULL. */
void xeci_db_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Column i's text, copied (free() it), or NULL. */
char *xeci_db_column_strdup(sqlite3_stmt *st, int i);
/* Steps a statement run for its effect and resets it; sets the error text
 * (naming what) and returns XECI_EIO when SQLite fails. */
int xeci_db_step_done(xeci_db *db, sqlite3_stmt *st, const char *what);

/* Sets the thread's error text from SQLite's and returns XECI_EIO. */
int xeci_db_error(xeci_db *db, const char *what);

/* The schema version after migrations. */
int xeci_db_user_version(xeci_db *db);

#endif
