/* A job in progress and its heartbeat thread. See run.h. */
#define _GNU_SOURCE
#include "run.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "log.h"
#include "util.h"

#define HEARTBEAT_TIMEOUT_S 20

struct xeci_run {
	xeci_client *client;
	const xeci_agent_config *cfg;
	const xeci_job *job;
	char *job_dir, *art_dir;
	volatile sig_atomic_t *stop;
	xeci_agent_results *results;
	char *fail_reason;
	bool fail_infra;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool quit, paused;
	volatile sig_atomic_t stale;
	char *current;
	int done, total;
};

int xeci_run_new(xeci_run **out, xeci_client *client, const xeci_agent_config *cfg, const xeci_job *job,
		 const char *job_dir, const char *art_dir, volatile sig_atomic_t *stop)
{
	xeci_run *r = xeci_calloc(1, sizeof(*r));
	r->client = client;
	r->cfg = cfg;
	r->job = job;
	r->job_dir = xeci_strdup(job_dir);
	r->art_dir = xeci_strdup(art_dir);
	r->stop = stop;
	xeci_agent_results_new(&r->results);
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = r;
	return 0;
}

void xeci_run_free(xeci_run *r)
{
	if (!r)
		return;
	xeci_run_heartbeat_stop(r);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cond);
	xeci_agent_results_free(r->results);
	free(r->job_dir);
	free(r->art_dir);
	free(r->fail_reason);
	free(r->current);
	free(r);
}

/* One heartbeat; a 409 or 404 means the job is no longer ours. */
static void beat(xeci_run *r)
{
	pthread_mutex_lock(&r->mu);
	json_t *body = json_pack("{s:I, s:i, s:i}", "lease", (json_int_t)r->job->lease, "done", r->done, "total",
				 r->total);
	if (r->current)
		json_object_set_new(body, "current_test", json_string(r->current));
	pthread_mutex_unlock(&r->mu);
	char path[96];
	snprintf(path, sizeof(path), "/api/v1/jobs/%lld/heartbeat", (long long)r->job->id);
	json_t *resp = NULL;
	long status = 0;
	/* no retry here: the next beat is the retry, well within the lease */
	if (xeci_client_post(&resp, &status, r->client, path, body, HEARTBEAT_TIMEOUT_S) < 0)
		XECI_WARN("job %lld: heartbeat: %s", (long long)r->job->id, xeci_error_last());
	else if (status == 409 || status == 404) {
		XECI_WARN("job %lld: the lease is no longer ours (%ld): stopping the job", (long long)r->job->id,
			  status);
		r->stale = 1;
	} else if (status != 200)
		XECI_WARN("job %lld: heartbeat: %s", (long long)r->job->id, xeci_error_last());
	json_decref(resp);
	json_decref(body);
}

static void *heartbeat_main(void *data)
{
	xeci_run *r = data;
	pthread_mutex_lock(&r->mu);
	while (!r->quit) {
		if (!r->paused && !r->stale) {
			pthread_mutex_unlock(&r->mu);
			beat(r);
			pthread_mutex_lock(&r->mu);
		}
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += r->cfg->heartbeat_s;
		while (!r->quit && pthread_cond_timedwait(&r->cond, &r->mu, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

int xeci_run_heartbeat_start(xeci_run *r)
{
	if (pthread_create(&r->thread, NULL, heartbeat_main, r))
		return xeci_error_setc(XECI_ERROR, "cannot start the heartbeat thread");
	r->thread_started = true;
	return 0;
}

void xeci_run_heartbeat_stop(xeci_run *r)
{
	if (!r->thread_started)
		return;
	pthread_mutex_lock(&r->mu);
	r->quit = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	r->thread_started = false;
}

void xeci_run_heartbeat_pause(xeci_run *r)
{
	pthread_mutex_lock(&r->mu);
	r->paused = true;
	pthread_mutex_unlock(&r->mu);
}

void xeci_run_progress(xeci_run *r, const char *current, int done, int total)
{
	pthread_mutex_lock(&r->mu);
	free(r->current);
	r->current = current ? xeci_strdup(current) : NULL;
	r->done = done;
	r->total = total;
	pthread_mutex_unlock(&r->mu);
}

bool xeci_run_stale(const xeci_run *r)
{
	return r->stale;
}

bool xeci_run_stopping(const xeci_run *r)
{
	return r->stop && *r->stop;
}

bool xeci_run_cancelled(const xeci_run *r)
{
	return xeci_run_stale(r) || xeci_run_stopping(r);
}

void xeci_run_fail(xeci_run *r, bool infra, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(r->fail_reason);
	if (vasprintf(&r->fail_reason, fmt, ap) < 0)
		r->fail_reason = NULL;
	va_end(ap);
	r->fail_infra = infra;
}

const char *xeci_run_fail_reason(const xeci_run *r, bool *infra)
{
	if (infra)
		*infra = r->fail_infra;
	return r->fail_reason;
}

const xeci_job *xeci_run_job(const xeci_run *r) { return r->job; }
const xeci_agent_config *xeci_run_config(const xeci_run *r) { return r->cfg; }
xeci_client *xeci_run_client(const xeci_run *r) { return r->client; }
const char *xeci_run_job_dir(const xeci_run *r) { return r->job_dir; }
const char *xeci_run_art_dir(const xeci_run *r) { return r->art_dir; }
xeci_agent_results *xeci_run_results(xeci_run *r) { return r->results; }

char *xeci_run_artifact_path(const xeci_run *r, const char *name)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", r->art_dir, name) < 0)
		abort();
	return p;
}

bool xeci_run_sleep(const xeci_run *r, unsigned ms)
{
	while (ms) {
		if (xeci_run_cancelled(r))
			return false;
		unsigned step = ms < 100 ? ms : 100;
		struct timespec ts = {0, (long)step * 1000000L};
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return !xeci_run_cancelled(r);
}
