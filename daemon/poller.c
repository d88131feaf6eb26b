#include "poller.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ingest.h"
#include "log.h"
#include "tree.h"
#include "util.h"

#define BACKOFF_MAX_MS (3600 * 1000ULL)
#define EXPIRE_EVERY_MS (600 * 1000ULL)

typedef struct inbox_poll {
	xeci_poller *poller;
	const xeci_config_inbox *inbox;
	uv_timer_t timer;
	uv_work_t work;
	bool running;
	unsigned failures;
	/* filled by the worker, read on the loop after it reports */
	int rc;
	char error[1024];
	xeci_ingest_stats stats;
	char mirror[4096];
} inbox_poll;

/* One [tree]: its mirror is synced on the thread pool every fetchInterval,
 * with the same back-off after failures as an inbox. */
typedef struct tree_poll {
	xeci_poller *poller;
	const xeci_config_tree *tree;
	uv_timer_t timer;
	uv_work_t work;
	bool running;
	unsigned failures;
	int rc;
	char error[1024];
	char head[GIT_OID_HEXSZ + 1];
} tree_poll;

struct xeci_poller {
	uv_loop_t *loop;
	const xeci_config *cfg;
	inbox_poll *polls;
	size_t npolls;
	tree_poll *trees;
	size_t ntrees;
	uv_timer_t expire_timer;
	uv_work_t expire_work;
	bool expire_running;
	bool stopping;
};

/* --- on the thread pool --- */

static void fetch_work(uv_work_t *w)
{
	inbox_poll *ip = w->data;
	const xeci_config *cfg = ip->poller->cfg;
	xeci_db *db;
	memset(&ip->stats, 0, sizeof(ip->stats));
	ip->error[0] = '\0';
	/* one connection per fetch: SQLite handles are not shared between threads */
	ip->rc = xeci_db_open(&db, cfg->db_path);
	if (ip->rc == 0) {
		xeci_series_opts sopts = {&ip->inbox->filter, cfg->incomplete_wait};
		xeci_ingest_opts opts = {.max_message_size = cfg->max_message_size, .series = &sopts};
		ip->rc = xeci_ingest_fetch(&ip->stats, db, ip->inbox, ip->mirror, &opts);
		xeci_db_close(db);
	}
	if (ip->rc < 0)
		snprintf(ip->error, sizeof(ip->error), "%s", xeci_error_last());
}

static void tree_work(uv_work_t *w)
{
	tree_poll *tp = w->data;
	const char *data_dir = tp->poller->cfg->data_dir;
	git_oid oid;
	tp->error[0] = tp->head[0] = '\0';
	tp->rc = xeci_tree_mirror_sync(tp->tree, data_dir);
	if (tp->rc == 0)
		tp->rc = xeci_tree_head(&oid, tp->tree, data_dir);
	if (tp->rc == 0)
		git_oid_tostr(tp->head, sizeof(tp->head), &oid);
	else
		snprintf(tp->error, sizeof(tp->error), "%s", xeci_error_last());
}

static void expire_work(uv_work_t *w)
{
	xeci_poller *p = w->data;
	xeci_db *db;
	if (xeci_db_open(&db, p->cfg->db_path) < 0) {
		XECI_ERR("expiring incomplete series: %s", xeci_error_last());
		return;
	}
	if (xeci_db_begin(db) == 0 && xeci_series_expire(db, xeci_time_now(), p->cfg->incomplete_wait) == 0)
		xeci_db_commit(db);
	else
		XECI_ERR("expiring incomplete series: %s", xeci_error_last());
	xeci_db_rollback(db);
	xeci_db_close(db);
}

/* --- on the loop --- */

static void poll_timer_cb(uv_timer_t *t);

/* The interval after a success; doubled per failure in a row, up to an hour
 * (or the interval, when that is longer). */
static uint64_t backoff_ms(int64_t interval_s, unsigned failures)
{
	uint64_t base = (uint64_t)(interval_s > 0 ? interval_s : 1) * 1000;
	if (!failures)
		return base;
	uint64_t d = base;
	for (unsigned i = 0; i < failures && d < BACKOFF_MAX_MS; i++)
		d *= 2;
	return d < BACKOFF_MAX_MS ? d : BACKOFF_MAX_MS;
}

static uint64_t next_delay_ms(const inbox_poll *ip)
{
	return backoff_ms(ip->inbox->poll_interval, ip->failures);
}

static void fetch_done(uv_work_t *w, int status)
{
	inbox_poll *ip = w->data;
	ip->running = false;
	if (status == UV_ECANCELED || ip->rc < 0) {
		ip->failures++;
		XECI_ERR("inbox %s: fetch failed (%u in a row, next try in %llu s): %s", ip->inbox->name,
			 ip->failures, (unsigned long long)next_delay_ms(ip) / 1000,
			 status == UV_ECANCELED ? "cancelled" : ip->error);
	} else {
		ip->failures = 0;
		if (ip->stats.messages)
			XECI_INFO("inbox %s: %llu messages (%llu new, %llu errors), %llu series completed",
				  ip->inbox->name, (unsigned long long)ip->stats.messages,
				  (unsigned long long)ip->stats.stored, (unsigned long long)ip->stats.errors,
				  (unsigned long long)ip->stats.completed);
	}
	if (!ip->poller->stopping)
		uv_timer_start(&ip->timer, poll_timer_cb, next_delay_ms(ip), 0);
}

static void poll_timer_cb(uv_timer_t *t)
{
	inbox_poll *ip = t->data;
	if (ip->running || ip->poller->stopping)
		return;
	ip->running = true;
	ip->work.data = ip;
	int rc = uv_queue_work(ip->poller->loop, &ip->work, fetch_work, fetch_done);
	if (rc < 0) {
		ip->running = false;
		XECI_ERR("inbox %s: cannot queue a fetch: %s", ip->inbox->name, uv_strerror(rc));
		uv_timer_start(&ip->timer, poll_timer_cb, next_delay_ms(ip), 0);
	}
}

static void tree_timer_cb(uv_timer_t *t);

static void tree_done(uv_work_t *w, int status)
{
	tree_poll *tp = w->data;
	tp->running = false;
	if (status == UV_ECANCELED || tp->rc < 0) {
		tp->failures++;
		XECI_ERR("tree %s: sync failed (%u in a row, next try in %llu s): %s", tp->tree->name,
			 tp->failures, (unsigned long long)backoff_ms(tp->tree->fetch_interval, tp->failures) / 1000,
			 status == UV_ECANCELED ? "cancelled" : tp->error);
	} else {
		tp->failures = 0;
		XECI_INFO("tree %s: %s at %s", tp->tree->name, tp->tree->branch, tp->head);
	}
	if (!tp->poller->stopping)
		uv_timer_start(&tp->timer, tree_timer_cb, backoff_ms(tp->tree->fetch_interval, tp->failures), 0);
}

static void tree_timer_cb(uv_timer_t *t)
{
	tree_poll *tp = t->data;
	if (tp->running || tp->poller->stopping)
		return;
	tp->running = true;
	tp->work.data = tp;
	int rc = uv_queue_work(tp->poller->loop, &tp->work, tree_work, tree_done);
	if (rc < 0) {
		tp->running = false;
		XECI_ERR("tree %s: cannot queue a sync: %s", tp->tree->name, uv_strerror(rc));
		uv_timer_start(&tp->timer, tree_timer_cb, backoff_ms(tp->tree->fetch_interval, tp->failures), 0);
	}
}

static void expire_done(uv_work_t *w, int status)
{
	((xeci_poller *)w->data)->expire_running = false;
}

static void expire_timer_cb(uv_timer_t *t)
{
	xeci_poller *p = t->data;
	if (p->expire_running || p->stopping)
		return;
	p->expire_running = true;
	p->expire_work.data = p;
	if (uv_queue_work(p->loop, &p->expire_work, expire_work, expire_done) < 0)
		p->expire_running = false;
}

int xeci_poller_new(xeci_poller **out, uv_loop_t *loop, const xeci_config *cfg)
{
	xeci_poller *p = xeci_calloc(1, sizeof(*p));
	p->loop = loop;
	p->cfg = cfg;
	p->npolls = cfg->ninboxes;
	p->polls = xeci_calloc(p->npolls, sizeof(*p->polls));
	for (size_t i = 0; i < p->npolls; i++) {
		inbox_poll *ip = &p->polls[i];
		ip->poller = p;
		ip->inbox = &cfg->inboxes[i];
		snprintf(ip->mirror, sizeof(ip->mirror), "%s/mirrors/%s", cfg->data_dir, ip->inbox->name);
		uv_timer_init(loop, &ip->timer);
		ip->timer.data = ip;
	}
	p->ntrees = cfg->ntrees;
	p->trees = xeci_calloc(p->ntrees, sizeof(*p->trees));
	for (size_t i = 0; i < p->ntrees; i++) {
		tree_poll *tp = &p->trees[i];
		tp->poller = p;
		tp->tree = &cfg->trees[i];
		uv_timer_init(loop, &tp->timer);
		tp->timer.data = tp;
	}
	uv_timer_init(loop, &p->expire_timer);
	p->expire_timer.data = p;
	*out = p;
	return 0;
}

int xeci_poller_start(xeci_poller *p)
{
	for (size_t i = 0; i < p->npolls; i++)
		uv_timer_start(&p->polls[i].timer, poll_timer_cb, 0, 0);
	for (size_t i = 0; i < p->ntrees; i++)
		uv_timer_start(&p->trees[i].timer, tree_timer_cb, 0, 0);
	uv_timer_start(&p->expire_timer, expire_timer_cb, EXPIRE_EVERY_MS, EXPIRE_EVERY_MS);
	return 0;
}

void xeci_poller_stop(xeci_poller *p)
{
	p->stopping = true;
	for (size_t i = 0; i < p->npolls; i++)
		uv_close((uv_handle_t *)&p->polls[i].timer, NULL);
	for (size_t i = 0; i < p->ntrees; i++)
		uv_close((uv_handle_t *)&p->trees[i].timer, NULL);
	uv_close((uv_handle_t *)&p->expire_timer, NULL);
}

void xeci_poller_free(xeci_poller *p)
{
	if (!p)
		return;
	free(p->polls);
	free(p->trees);
	free(p);
}
