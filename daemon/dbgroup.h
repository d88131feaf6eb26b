/* Group commit on the libuv thread pool: the write requests that arrive
 * together (in one loop iteration, or while the previous group is on the
 * pool) run in ONE write transaction instead of one transaction (WAL
 * frames, the write lock, busy waits between pool threads) each. Each item
 * fails alone: the group runs without savepoints first
 * (xeci_db_begin_light) and, if an item that changed rows rolled back,
 * once more from the start with each item under its own savepoint.
 *
 * One group is on the pool at a time: SQLite has one writer anyway, and two
 * pool threads fighting for the lock sleep in its busy handler (1 to 100 ms
 * steps). An item's answer goes out only after its group committed, so a
 * crash never leaves an agent holding a lease the database does not have. */
#ifndef XECI_DBGROUP_H
#define XECI_DBGROUP_H

#include <stddef.h>
#include <uv.h>

#include "db.h"

typedef struct xeci_dbgroup xeci_dbgroup;
typedef struct xeci_dbgroup_item xeci_dbgroup_item;

struct xeci_dbgroup_item {
	/* on the pool, inside the group's transaction; its own failures it
	 * rolls back itself (xeci_db_begin/rollback nest) */
	void (*run)(xeci_dbgroup_item *it, xeci_db *db);
	/* on the pool: the group runs again from the start (see
	 * xeci_db_begin_light): forget what run made */
	void (*reset)(xeci_dbgroup_item *it);
	/* on the pool: the group did not commit (rc), what run made is void */
	void (*undo)(xeci_dbgroup_item *it, int rc);
	/* on the loop, after the commit (or the undo) */
	void (*done)(xeci_dbgroup_item *it);
	xeci_dbgroup_item *next;
};

/* The connection of the calling pool thread (NULL: none, the error set). */
typedef xeci_db *(*xeci_dbgroup_db_fn)(void *ctx);

/* At most max items a transaction (a bound on the time the write lock is held). */
int xeci_dbgroup_new(xeci_dbgroup **out, uv_loop_t *loop, xeci_dbgroup_db_fn db, void *ctx, size_t max);
/* Queues it for the next group (loop thread). */
void xeci_dbgroup_submit(xeci_dbgroup *g, xeci_dbgroup_item *it);
/* The daemon stops: the handle closes once the queued items are done. */
void xeci_dbgroup_stop(xeci_dbgroup *g);
/* After the loop ran out (the handle closed). */
void xeci_dbgroup_free(xeci_dbgroup *g);

#endif
