/* Group commit on the thread pool. See dbgroup.h. */
#include "dbgroup.h"

#include <stdbool.h>
#include <stdlib.h>

#include "error.h"
#include "log.h"
#include "util.h"

struct xeci_dbgroup {
	uv_loop_t *loop;
	xeci_dbgroup_db_fn db;
	void *ctx;
	size_t max;
	uv_check_t check;         /* launches a group after the loop's I/O callbacks */
	uv_work_t work;
	xeci_dbgroup_item *head, *tail; /* waiting, in arrival order */
	xeci_dbgroup_item *running;     /* the group on the pool */
	bool stopping, closed;
};

static void undo_all(xeci_dbgroup_item *list, int rc)
{
	for (xeci_dbgroup_item *it = list; it; it = it->next)
		it->undo(it, rc);
}

/* Every item in the open transaction; false: one left a level open. */
static bool run_all(xeci_dbgroup_item *list, xeci_db *db)
{
	for (xeci_dbgroup_item *it = list; it; it = it->next) {
		it->run(it, db);
		if (xeci_db_depth(db) != 1) { /* an item that left a level open: a bug, never commit it */
			XECI_ERR("dbgroup: an item left transaction depth %d", xeci_db_depth(db));
			while (xeci_db_depth(db) > 0)
				xeci_db_rollback(db);
			return false;
		}
	}
	return true;
}

/* The group again, each item under a real savepoint: in the light pass an
 * item failed after changing rows, which only a savepoint undoes alone. */
static int run_again(xeci_dbgroup_item *list, xeci_db *db)
{
	xeci_db_rollback(db);
	for (xeci_dbgroup_item *it = list; it; it = it->next)
		it->reset(it);
	int rc = xeci_db_begin(db);
	if (rc == 0 && !run_all(list, db))
		rc = XECI_EIO;
	return rc;
}

static void group_work(uv_work_t *w)
{
	xeci_dbgroup *g = w->data;
	xeci_db *db = g->db(g->ctx);
	if (!db) {
		undo_all(g->running, XECI_EIO);
		return;
	}
	/* first without savepoints: almost every group commits all its items */
	int rc = xeci_db_begin_light(db);
	if (rc == 0 && !run_all(g->running, db))
		rc = XECI_EIO;
	if (rc == 0 && xeci_db_redo(db))
		rc = run_again(g->running, db);
	if (rc == 0)
		rc = xeci_db_commit(db);
	if (rc < 0)
		undo_all(g->running, rc);
}

static void launch(xeci_dbgroup *g);

static void group_after(uv_work_t *w, int status)
{
	(void)status;
	xeci_dbgroup *g = w->data;
	xeci_dbgroup_item *list = g->running;
	g->running = NULL;
	/* the requests that came meanwhile go to the pool first: its thread
	 * writes them while this one answers the group that committed (else
	 * each waits for the other, and 2 cores do the work of one) */
	launch(g);
	while (list) {
		xeci_dbgroup_item *it = list;
		list = it->next;
		it->done(it); /* may free it */
	}
	if (g->head && g->closed)
		launch(g); /* no check handle any more: the stragglers go now */
	else if (!g->head && !g->running && g->stopping && !g->closed)
		xeci_dbgroup_stop(g);
}

/* Up to max waiting items to the pool, as one group. */
static void launch(xeci_dbgroup *g)
{
	if (g->running || !g->head)
		return;
	xeci_dbgroup_item **end = &g->head;
	for (size_t n = 0; *end && n < g->max; n++)
		end = &(*end)->next;
	g->running = g->head;
	g->head = *end;
	*end = NULL;
	if (!g->head)
		g->tail = NULL;
	g->work.data = g;
	uv_queue_work(g->loop, &g->work, group_work, group_after);
}

static void check_cb(uv_check_t *h)
{
	launch(h->data);
}

int xeci_dbgroup_new(xeci_dbgroup **out, uv_loop_t *loop, xeci_dbgroup_db_fn db, void *ctx, size_t max)
{
	xeci_dbgroup *g = xeci_calloc(1, sizeof(*g));
	g->loop = loop;
	g->db = db;
	g->ctx = ctx;
	g->max = max ? max : 1;
	uv_check_init(loop, &g->check);
	g->check.data = g;
	uv_check_start(&g->check, check_cb);
	/* the pool work keeps the loop alive while a group runs; the check
	 * handle alone must not keep a stopping daemon from exiting */
	uv_unref((uv_handle_t *)&g->check);
	*out = g;
	return 0;
}

void xeci_dbgroup_submit(xeci_dbgroup *g, xeci_dbgroup_item *it)
{
	it->next = NULL;
	if (g->tail)
		g->tail->next = it;
	else
		g->head = it;
	g->tail = it;
	if (g->closed)
		launch(g);
}

static void check_closed(uv_handle_t *h)
{
	(void)h;
}

void xeci_dbgroup_stop(xeci_dbgroup *g)
{
	g->stopping = true;
	if (g->closed || g->running || g->head)
		return; /* group_after closes it when the last group is done */
	g->closed = true;
	uv_close((uv_handle_t *)&g->check, check_closed);
}

void xeci_dbgroup_free(xeci_dbgroup *g)
{
	free(g);
}
