#include "poller.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "ingest.h"
#include "log.h"
#include "tree.h"
#include "util.h"

#define BACKOFF_MAX_MS (3600 * 1000ULL)
#define EXPIRE_EVERY_MS (600 * 1000ULL)

/* Something synced on the thread pool every interval, with an exponential
 * back-off after failures: an inbox fetch, a tree mirror sync. The concrete
 * kinds embed it as their first member. */
typedef struct periodic {
	xeci_poller *poller;
	const char *kind;   /* "inbox", "tree": for the logs */
	const char *name;
	int64_t interval_s;
	void (*run)(struct periodic *);    /* on the thread pool: sets rc and error */
	void (*report)(struct periodic *); /* on the loop, after a success */
	uv_timer_t timer;
	uv_work_t work;
	bool running;
	unsigned failures;
	/* filled by the worker, read on the loop after it reports */
	int rc;
	char error[1024];
} periodic;

typedef struct inbox_poll {
	periodic job;
	const xeci_config_inbox *inbox;
	xeci_ingest_stats stats;
	double ms; /* the fetch's wall time, database open to close */
	char mirror[4096];
} inbox_poll;

typedef struct tree_poll {
	periodic job;
	const xeci_config_tree *tree;
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

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void inbox_run(periodic *job)
{
	inbox_poll *ip = (inbox_poll *)job;
	const xeci_config *cfg = job->poller->cfg;
	xeci_db *db;
	double t0 = now_ms();
	memset(&ip->stats, 0, sizeof(ip->stats));
	/* one connection per fetch: SQLite handles are not shared between threads */
	job->rc = xeci_db_open(&db, cfg->db_path);
	if (job->rc == 0) {
		xeci_series_opts sopts = {&ip->inbox->filter, cfg->incomplete_wait};
		xeci_ingest_opts opts = {.max_message_size = cfg->max_message_size, .series = &sopts};
		job->rc = xeci_ingest_fetch(&ip->stats, db, ip->inbox, ip->mirror, &opts);
		xeci_db_close(db);
	}
	ip->ms = now_ms() - t0;
}

static void tree_run(periodic *job)
{
	tree_poll *tp = (tree_poll *)job;
	const char *data_dir = job->poller->cfg->data_dir;
	git_oid oid;
	tp->head[0] = '\0';
	job->rc = xeci_tree_mirror_sync(tp->tree, data_dir);
	if (job->rc == 0)
		job->rc = xeci_tree_head(&oid, tp->tree, data_dir);
	if (job->rc == 0)
		git_oid_tostr(tp->head, sizeof(tp->head), &oid);
}

static void periodic_work(uv_work_t *w)
{
	periodic *job = w->data;
	job->error[0] = '\0';
	job->run(job);
	if (job->rc < 0)
		snprintf(job->error, sizeof(job->error), "%s", xeci_error_last());
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

/* The interval after a success; after failures, doubled per failure in a
 * row, at most an hour. */
static uint64_t next_delay_ms(const periodic *job)
{
	uint64_t d = (uint64_t)(job->interval_s > 0 ? job->interval_s : 1) * 1000;
	for (unsigned i = 0; i < job->failures && d < BACKOFF_MAX_MS; i++)
		d *= 2;
	return job->failures && d > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d;
}

static void inbox_report(periodic *job)
{
	const inbox_poll *ip = (inbox_poll *)job;
	const xeci_ingest_stats *s = &ip->stats;
	if (s->messages)
		XECI_INFO("inbox %s: %llu messages (%llu new, %llu errors), %llu series completed, in %.1f ms",
			  job->name, (unsigned long long)s->messages, (unsigned long long)s->stored,
			  (unsigned long long)s->errors, (unsigned long long)s->completed,
			  ip->ms);
}

static void tree_report(periodic *job)
{
	tree_poll *tp = (tree_poll *)job;
	XECI_INFO("tree %s: %s at %s", job->name, tp->tree->branch, tp->head);
}

static void periodic_timer_cb(uv_timer_t *t);

static void periodic_done(uv_work_t *w, int status)
{
	periodic *job = w->data;
	job->running = false;
	if (status == UV_ECANCELED || job->rc < 0) {
		job->failures++;
		XECI_ERR("%s %s: %s failed (%u in a row, next try in %llu s): %s", job->kind, job->name,
			 job->run == inbox_run ? "fetch" : "sync", job->failures,
			 (unsigned long long)next_delay_ms(job) / 1000,
			 status == UV_ECANCELED ? "cancelled" : job->error);
	} else {
		job->failures = 0;
		job->report(job);
	}
	if (!job->poller->stopping)
		uv_timer_start(&job->timer, periodic_timer_cb, next_delay_ms(job), 0);
}

static void periodic_timer_cb(uv_timer_t *t)
{
	periodic *job = t->data;
	if (job->running || job->poller->stopping)
		return;
	job->running = true;
	job->work.data = job;
	int rc = uv_queue_work(job->poller->loop, &job->work, periodic_work, periodic_done);
	if (rc < 0) {
		job->running = false;
		XECI_ERR("%s %s: cannot queue work: %s", job->kind, job->name, uv_strerror(rc));
		uv_timer_start(&job->timer, periodic_timer_cb, next_delay_ms(job), 0);
	}
}

static void periodic_init(periodic *job, xeci_poller *p, const char *kind, const char *name,
			  int64_t interval_s, void (*run)(periodic *), void (*report)(periodic *))
{
	job->poller = p;
	job->kind = kind;
	job->name = name;
	job->interval_s = interval_s;
	job->run = run;
	job->report = report;
	uv_timer_init(p->loop, &job->timer);
	job->timer.data = job;
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
		ip->inbox = &cfg->inboxes[i];
		snprintf(ip->mirror, sizeof(ip->mirror), "%s/mirrors/%s", cfg->data_dir, ip->inbox->name);
		periodic_init(&ip->job, p, "inbox", ip->inbox->name, ip->inbox->poll_interval, inbox_run,
			      inbox_report);
	}
	p->ntrees = cfg->ntrees;
	p->trees = xeci_calloc(p->ntrees, sizeof(*p->trees));
	for (size_t i = 0; i < p->ntrees; i++) {
		tree_poll *tp = &p->trees[i];
		tp->tree = &cfg->trees[i];
		periodic_init(&tp->job, p, "tree", tp->tree->name, tp->tree->fetch_interval, tree_run,
			      tree_report);
	}
	uv_timer_init(loop, &p->expire_timer);
	p->expire_timer.data = p;
	*out = p;
	return 0;
}

int xeci_poller_start(xeci_poller *p)
{
	for (size_t i = 0; i < p->npolls; i++)
		uv_timer_start(&p->polls[i].job.timer, periodic_timer_cb, 0, 0);
	for (size_t i = 0; i < p->ntrees; i++)
		uv_timer_start(&p->trees[i].job.timer, periodic_timer_cb, 0, 0);
	uv_timer_start(&p->expire_timer, expire_timer_cb, EXPIRE_EVERY_MS, EXPIRE_EVERY_MS);
	return 0;
}

void xeci_poller_stop(xeci_poller *p)
{
	p->stopping = true;
	for (size_t i = 0; i < p->npolls; i++)
		uv_close((uv_handle_t *)&p->polls[i].job.timer, NULL);
	for (size_t i = 0; i < p->ntrees; i++)
		uv_close((uv_handle_t *)&p->trees[i].job.timer, NULL);
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
