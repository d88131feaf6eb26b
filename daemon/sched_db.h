/* Dispatch in SQLite (schema/0007_dispatch.sql): agents, the jobs they
 * lease, leases as fencing tokens, per-test results. Every function blocks
 * (SQLite): xecid calls them on its thread pool; the command line directly.
 *
 * The rules that make a lost machine or a crashed daemon harmless:
 *  - a lease is given in one statement: a job is never leased twice at once;
 *  - only the job's current lease may heartbeat or upload (else
 *    XECI_ESTALE: the HTTP layer answers 409 and nothing changes);
 *  - an expired lease puts the job back in the queue, until max_attempts
 *    leases are spent: then "incomplete: machine lost", an infrastructure
 *    status, never a test failure;
 *  - an agent with 3 infrastructure failures in a row is quarantined. */
#ifndef XECI_SCHED_DB_H
#define XECI_SCHED_DB_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "db.h"

#define XECI_QUARANTINE_AFTER 3

typedef struct xeci_agent {
	int64_t id;
	char *name, *platform, *state;
	char *capabilities;       /* JSON array */
	int infra_failures;
} xeci_agent;
void xeci_agent_clear(xeci_agent *a);

/* Creates an agent; *token (caller frees) is its bearer token, shown once:
 * only its sha256 is stored. */
int xeci_agent_db_add(char **token, xeci_db *db, const char *name, const char *platform);
/* The agent a bearer token belongs to (XECI_ENOTFOUND: none, or removed). */
int xeci_agent_db_auth(xeci_agent *out, xeci_db *db, const char *token);
/* Stores what the agent reports about its machine. */
int xeci_agent_db_register(xeci_db *db, int64_t agent_id, const json_t *facts, const json_t *capabilities);
/* `xeci agent release NAME`: out of quarantine, failures reset. */
int xeci_agent_db_release(xeci_db *db, const char *name);
/* `xeci agent remove NAME`: its token stops working; history kept. Its
 * leased jobs go back to the queue. */
int xeci_agent_db_remove(xeci_db *db, const char *name);

/* Queues the jobs of every passed build that has none yet: one per
 * [testplan] x platform x shard; *added says how many. */
int xeci_job_db_enqueue(int *added, xeci_db *db, const xeci_config *cfg);
/* Cancels queued jobs of superseded versions. */
int xeci_job_db_cancel_superseded(int *n, xeci_db *db);

typedef struct xeci_lease {
	int64_t job_id, lease_id;
	int64_t deadline_ms;
	char *testplan, *platform;
	char *suites;             /* JSON array */
	int shard, shards;
	int64_t build_id;
} xeci_lease;
void xeci_lease_clear(xeci_lease *l);

/* Leases the best queued job the agent can run (its platform, every
 * capability the job needs; the highest priority, then the oldest) for
 * lease_ms. out->job_id = 0 when there is none (or the agent is
 * quarantined). */
int xeci_job_db_lease(xeci_lease *out, xeci_db *db, const xeci_agent *a, int64_t now_ms, int64_t lease_ms);
/* Group commit: n claims, one write transaction: out[i] and rcs[i] are
 * what xeci_job_db_lease would give agents[i], each in turn (so no job is
 * given twice). Returns < 0 when the transaction did not commit: then no
 * claim holds and every out[i] is cleared. */
int xeci_job_db_lease_batch(xeci_lease *out, int *rcs, xeci_db *db, const xeci_agent *const *agents, size_t n,
			    int64_t now_ms, int64_t lease_ms);
/* Extends the lease and records progress. XECI_ESTALE when lease_id is not
 * the job's current lease (expired, or another agent's now). */
int xeci_job_db_heartbeat(xeci_db *db, int64_t job_id, int64_t lease_id, int64_t agent_id, int64_t now_ms,
			  int64_t lease_ms, const char *current_test, int done, int total);

typedef struct xeci_test_result {
	const char *test, *suite, *status;
	int64_t duration_ms;      /* -1: unknown */
	const char *out, *err, *dmesg; /* excerpts, or NULL */
	const char *log_path;
} xeci_test_result;

/* Stores results under the current lease (again under the same lease: the
 * same rows, replaced); with final, the job is done: result fail when any
 * test failed (fail, crash, timeout, incomplete, abort, dmesg-fail), else
 * pass; the agent's failure streak ends. XECI_ESTALE for a stale lease. */
int xeci_job_db_results(xeci_db *db, int64_t job_id, int64_t lease_id, int64_t agent_id,
			const xeci_test_result *r, size_t n, bool final);
/* The agent gives up on a job it holds (the kernel did not boot, the DUT
 * broke): infra = an infrastructure failure (counts toward quarantine; the
 * job is retried while attempts remain, else incomplete with reason). */
int xeci_job_db_fail(xeci_db *db, int64_t job_id, int64_t lease_id, int64_t agent_id, const char *reason,
		     bool infra);
/* Leases past their deadline: expired; their jobs queued again or, out of
 * attempts, incomplete ("machine lost"); their agents' streaks grow. *n
 * says how many leases expired. */
int xeci_job_db_expire(int *n, xeci_db *db, int64_t now_ms);
/* `xeci requeue ID`: the job queued again with fresh attempts. */
int xeci_job_db_requeue(xeci_db *db, int64_t job_id);

#endif
