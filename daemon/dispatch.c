/* xecid's dispatch tick. See dispatch.h. */
#define _GNU_SOURCE /* gettid */
#include "dispatch.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

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
	/* the WAL checkpointer: a thread of its own, at a lower priority */
	uv_thread_t ckpt;
	uv_mutex_t mu;
	uv_cond_t cond;
	bool ckpt_started, ckpt_stop;
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
	xeci_db_close(db);
}

/* The agent API's connections leave checkpoints to this thread (see
 * api_agent.c): PASSIVE waits for no reader or writer, and the log is
 * copied back here, off the lease path. Its own thread, niced: on a busy
 * machine a checkpoint (the pages of the last seconds read back, written,
 * fsync'd) took the CPU from the loop and the writer (at 4,000 leases/s a
 * fifth of xecid's CPU, and bursts of slower answers every tick that made
 * the lease p99); niced, it runs in what they leave. Not a pool thread: an
 * unprivileged thread cannot undo a nice. */
static void ckpt_main(void *arg)
{
	xeci_dispatch *s = arg;
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), 10) < 0)
		XECI_DEBUG("checkpointer: setpriority failed");
	xeci_db *db = NULL;
	uv_mutex_lock(&s->mu);
	while (!s->ckpt_stop) {
		uv_cond_timedwait(&s->cond, &s->mu, (uint64_t)TICK_MS * 1000000);
		if (s->ckpt_stop)
			break;
		uv_mutex_unlock(&s->mu);
		if (!db && xeci_db_open(&db, s->cfg->db_path) < 0) {
			XECI_WARN("checkpointer: %s", xeci_error_last());
			db = NULL;
		}
		if (db && xeci_db_exec(db, "PRAGMA wal_checkpoint(PASSIVE)") < 0)
			XECI_WARN("checkpointer: %s", xeci_error_last());
		uv_mutex_lock(&s->mu);
	}
	uv_mutex_unlock(&s->mu);
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
	uv_mutex_init(&s->mu);
	uv_cond_init(&s->cond);
	s->ckpt_started = uv_thread_create(&s->ckpt, ckpt_main, s) == 0;
	if (!s->ckpt_started)
		XECI_WARN("scheduler: no checkpointer thread: the WAL is checkpointed by the other connections only");
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
	if (s && s->ckpt_started) {
		uv_mutex_lock(&s->mu);
		s->ckpt_stop = true;
		uv_cond_signal(&s->cond);
		uv_mutex_unlock(&s->mu);
		uv_thread_join(&s->ckpt); /* after the loop: at most one checkpoint's wait */
		uv_cond_destroy(&s->cond);
		uv_mutex_destroy(&s->mu);
	}
	free(s);
}
