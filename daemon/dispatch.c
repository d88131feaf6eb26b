/* xecid's dispatch tick. See dispatch.h. */
#include "dispatch.h"

#include <stdlib.h>

#include "db.h"
#include "error.h"
#include "log.h"
#include "sched_db.h"
#include "util.h"

#define TICK_MS 2000

struct xeci_dispatch {
	uv_loop_t *loop;
	const xeci_config *cfg;
	xeci_api *api;
	uv_timer_t timer;
	uv_work_t work;
	bool busy, stopping, closed;
	int woke;                 /* jobs queued or put back by this tick */
};

static void tick_work(uv_work_t *w)
{
	xeci_dispatch *s = w->data;
	xeci_db *db;
	int n = 0;
	s->woke = 0;
	if (xeci_db_open(&db, s->cfg->db_path) < 0) {
		XECI_WARN("scheduler: %s", xeci_error_last());
		return;
	}
	if (xeci_job_db_enqueue(&n, db, s->cfg) < 0)
		XECI_WARN("scheduler: %s", xeci_error_last());
	else if (n)
		XECI_INFO("scheduler: %d job(s) queued", n);
	s->woke += n;
	if (xeci_job_db_cancel_superseded(&n, db) == 0 && n)
		XECI_INFO("scheduler: %d queued job(s) of superseded versions cancelled", n);
	if (xeci_job_db_expire(&n, db, (int64_t)xeci_time_wall_ms()) < 0)
		XECI_WARN("scheduler: %s", xeci_error_last());
	else if (n)
		XECI_INFO("scheduler: %d lease(s) expired", n);
	s->woke += n;
	/* the agent API's connections leave checkpoints to this one (see
	 * api_agent.c): PASSIVE waits for no reader or writer, and the log is
	 * copied back here, off the lease path */
	if (xeci_db_exec(db, "PRAGMA wal_checkpoint(PASSIVE)") < 0)
		XECI_WARN("scheduler: %s", xeci_error_last());
	xeci_db_close(db);
}

static void tick_after(uv_work_t *w, int status)
{
	(void)status;
	xeci_dispatch *s = w->data;
	s->busy = false;
	if (s->woke && s->api && !s->stopping)
		xeci_api_wake(s->api);
}

static void timer_cb(uv_timer_t *t)
{
	xeci_dispatch *s = t->data;
	if (s->busy || s->stopping)
		return;
	s->busy = true;
	s->work.data = s;
	uv_queue_work(s->loop, &s->work, tick_work, tick_after);
}

int xeci_dispatch_new(xeci_dispatch **out, uv_loop_t *loop, const xeci_config *cfg, xeci_api *api)
{
	xeci_dispatch *s = xeci_calloc(1, sizeof(*s));
	s->loop = loop;
	s->cfg = cfg;
	s->api = api;
	uv_timer_init(loop, &s->timer);
	s->timer.data = s;
	*out = s;
	return 0;
}

int xeci_dispatch_start(xeci_dispatch *s)
{
	uv_timer_start(&s->timer, timer_cb, 0, TICK_MS);
	return 0;
}

static void closed(uv_handle_t *h)
{
	((xeci_dispatch *)h->data)->closed = true;
}

void xeci_dispatch_stop(xeci_dispatch *s)
{
	if (!s || s->stopping)
		return;
	s->stopping = true;
	uv_timer_stop(&s->timer);
	uv_close((uv_handle_t *)&s->timer, closed);
}

void xeci_dispatch_free(xeci_dispatch *s)
{
	free(s);
}
