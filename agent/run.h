/* One job in progress on this agent: the job, where its files go, its
 * results, and the heartbeat thread that keeps its lease (every
 * agent.heartbeat seconds, with progress). A 409 (the lease went to another
 * agent) or the agent's stop flag cancels the run: back-ends poll
 * xeci_run_cancelled() and give up quickly, without results. */
#ifndef XECI_AGENT_RUN_H
#define XECI_AGENT_RUN_H

#include <signal.h>
#include <stdbool.h>

#include "client.h"
#include "config.h"
#include "job.h"
#include "results.h"

typedef struct xeci_run xeci_run;

/* job_dir: the job's own files (console log, results dir); art_dir: the
 * build's downloaded artifacts. The run does not own job or client. */
int xeci_run_new(xeci_run **out, xeci_client *client, const xeci_agent_config *cfg, const xeci_job *job,
		 const char *job_dir, const char *art_dir, volatile sig_atomic_t *stop);
void xeci_run_free(xeci_run *r);

int xeci_run_heartbeat_start(xeci_run *r);
/* Stops and joins the thread (idempotent). */
void xeci_run_heartbeat_stop(xeci_run *r);
/* Heartbeats stop being sent but the thread lives (sim's "hang"). */
void xeci_run_heartbeat_pause(xeci_run *r);

/* Progress for the next heartbeat; current may be NULL. */
void xeci_run_progress(xeci_run *r, const char *current, int done, int total);

/* The lease is gone (409) or the agent is stopping. */
bool xeci_run_cancelled(const xeci_run *r);
bool xeci_run_stale(const xeci_run *r);
bool xeci_run_stopping(const xeci_run *r);

/* A back-end that cannot give results says why: the run's fail call. */
void xeci_run_fail(xeci_run *r, bool infra, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *xeci_run_fail_reason(const xeci_run *r, bool *infra);

const xeci_job *xeci_run_job(const xeci_run *r);
const xeci_agent_config *xeci_run_config(const xeci_run *r);
xeci_client *xeci_run_client(const xeci_run *r);
const char *xeci_run_job_dir(const xeci_run *r);
const char *xeci_run_art_dir(const xeci_run *r);
/* art_dir/name (free() it). */
char *xeci_run_artifact_path(const xeci_run *r, const char *name);
xeci_agent_results *xeci_run_results(xeci_run *r);

/* Sleeps ms, returning false early when the run is cancelled. */
bool xeci_run_sleep(const xeci_run *r, unsigned ms);

#endif
