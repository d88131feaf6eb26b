/* Dispatch in SQLite. See sched_db.h. */
#include "sched_db.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "buf.h"
#include "error.h"
#include "util.h"

static int changes(xeci_db *db)
{
	return sqlite3_changes(xeci_db_handle(db));
}

/* ---- agents --------------------------------------------------------------- */

void xeci_agent_clear(xeci_agent *a)
{
	free(a->name);
	free(a->platform);
	free(a->state);
	free(a->capabilities);
	memset(a, 0, sizeof(*a));
}

int xeci_agent_db_add(char **token, xeci_db *db, const char *name, const char *platform)
{
	unsigned char raw[32];
	char hex[65], hash[65];
	if (!name || !*name || !platform || !*platform)
		return xeci_error_setc(XECI_EINVALID, "an agent needs a name and a platform");
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return xeci_error_setc(XECI_ERROR, "no random bytes for a token");
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	xeci_sha256_hex(hash, hex, 64);
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "INSERT INTO agents(name, platform, token_sha256) VALUES (?, ?, ?)") < 0)
		return XECI_EIO;
	xeci_db_bind_text(st, 1, name);
	xeci_db_bind_text(st, 2, platform);
	xeci_db_bind_text(st, 3, hash);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT)
		return xeci_error_setc(XECI_EEXISTS, "agent \"%s\" exists", name);
	if (rc != SQLITE_DONE)
		return xeci_db_error(db, "add agent");
	*token = xeci_strdup(hex);
	return 0;
}

int xeci_agent_db_auth(xeci_agent *out, xeci_db *db, const char *token)
{
	char hash[65];
	memset(out, 0, sizeof(*out));
	if (!token || strlen(token) != 64)
		return xeci_error_setc(XECI_ENOTFOUND, "no such token");
	xeci_sha256_hex(hash, token, 64);
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "SELECT id, name, platform, state, capabilities, infra_failures, "
				     "coalesce(last_seen_at, 0) < unixepoch() - 60 FROM agents "
				     "WHERE token_sha256 = ? AND state != 'removed'") < 0)
		return XECI_EIO;
	xeci_db_bind_text(st, 1, hash);
	int rc = sqlite3_step(st);
	bool touch = false;
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(st, 0);
		out->name = xeci_db_column_strdup(st, 1);
		out->platform = xeci_db_column_strdup(st, 2);
		out->state = xeci_db_column_strdup(st, 3);
		out->capabilities = xeci_db_column_strdup(st, 4);
		out->infra_failures = sqlite3_column_int(st, 5);
		touch = sqlite3_column_int(st, 6);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return xeci_error_setc(XECI_ENOTFOUND, "no such token");
	if (rc != SQLITE_ROW)
		return xeci_db_error(db, "auth");
	/* last seen, to the minute: a write on every request would cost each
	 * lease a transaction of its own */
	if (touch && xeci_db_prepare(&st, db, "UPDATE agents SET last_seen_at = unixepoch() WHERE id = ?") == 0) {
		sqlite3_bind_int64(st, 1, out->id);
		xeci_db_step_done(db, st, "agent seen");
	}
	return 0;
}

int xeci_agent_db_register(xeci_db *db, int64_t agent_id, const json_t *facts, const json_t *capabilities)
{
	char *f = facts ? json_dumps(facts, JSON_COMPACT) : NULL;
	char *c = capabilities && json_is_array(capabilities) ? json_dumps(capabilities, JSON_COMPACT) : NULL;
	sqlite3_stmt *st;
	int rc = XECI_EIO;
	if (xeci_db_prepare(&st, db, "UPDATE agents SET facts = ?, capabilities = coalesce(?, '[]'), "
				     "registered_at = unixepoch() WHERE id = ?") == 0) {
		xeci_db_bind_text(st, 1, f);
		xeci_db_bind_text(st, 2, c);
		sqlite3_bind_int64(st, 3, agent_id);
		rc = xeci_db_step_done(db, st, "register agent");
	}
	free(f);
	free(c);
	return rc;
}

static int agent_update(xeci_db *db, const char *sql, const char *name)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, sql) < 0)
		return XECI_EIO;
	xeci_db_bind_text(st, 1, name);
	int rc = xeci_db_step_done(db, st, "agent");
	if (rc == 0 && !changes(db))
		return xeci_error_setc(XECI_ENOTFOUND, "no agent \"%s\"", name);
	return rc;
}

int xeci_agent_db_release(xeci_db *db, const char *name)
{
	return agent_update(db, "UPDATE agents SET state = 'active', infra_failures = 0, quarantine_reason = NULL "
				"WHERE name = ? AND state != 'removed'", name);
}

int xeci_agent_db_remove(xeci_db *db, const char *name)
{
	int rc = xeci_db_begin(db);
	if (rc < 0) /* no rollback: under a group's savepoint it would undo the enclosing one */
		return rc;
	rc = agent_update(db, "UPDATE agents SET state = 'removed' WHERE name = ? AND state != 'removed'", name);
	if (rc == 0)
		rc = xeci_db_exec(db, "UPDATE leases SET state = 'released', ended_at = unixepoch() "
				      "WHERE state = 'active' AND agent_id IN (SELECT id FROM agents WHERE state = 'removed')");
	if (rc == 0)
		rc = xeci_db_exec(db, "UPDATE jobs SET state = 'queued', lease_id = NULL, lease_deadline = NULL, "
				      "agent_id = NULL WHERE state = 'leased' AND agent_id IN "
				      "(SELECT id FROM agents WHERE state = 'removed')");
	if (rc < 0) {
		xeci_db_rollback(db);
		return rc;
	}
	return xeci_db_commit(db);
}

/* ---- queueing ---------------------------------------------------------------- */

static char *strv_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

static int insert_jobs(int *added, xeci_db *db, const xeci_config_testplan *t, int64_t build_id,
		       int64_t version_id, int64_t priority, int max_attempts)
{
	sqlite3_stmt *st;
	char *suites = strv_json(t->suites, t->nsuites);
	char *caps = strv_json(t->capabilities, t->ncapabilities);
	int rc = 0;
	for (size_t p = 0; rc == 0 && p < t->nplatforms; p++) {
		for (int s = 0; rc == 0 && s < t->shards; s++) {
			if (xeci_db_prepare(&st, db, "INSERT OR IGNORE INTO jobs(build_id, version_id, testplan, "
						     "platform, capabilities, suites, shard, shards, state, priority, "
						     "max_attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)") < 0) {
				rc = XECI_EIO;
				break;
			}
			sqlite3_bind_int64(st, 1, build_id);
			if (version_id)
				sqlite3_bind_int64(st, 2, version_id);
			else
				sqlite3_bind_null(st, 2);
			xeci_db_bind_text(st, 3, t->name);
			xeci_db_bind_text(st, 4, t->platforms[p]);
			xeci_db_bind_text(st, 5, caps);
			xeci_db_bind_text(st, 6, suites);
			sqlite3_bind_int(st, 7, s);
			sqlite3_bind_int(st, 8, t->shards);
			sqlite3_bind_int64(st, 9, priority);
			sqlite3_bind_int(st, 10, max_attempts);
			rc = xeci_db_step_done(db, st, "queue job");
			*added += rc == 0 && changes(db) > 0;
		}
	}
	free(suites);
	free(caps);
	return rc;
}

typedef struct to_queue {
	int64_t build, version, prio;
} to_queue;

/* The passed builds without jobs (up to 500), read before the write
 * transaction: the lease path waits for no scan of the builds. */
static int builds_to_queue(to_queue *out, size_t *n, xeci_db *db)
{
	sqlite3_stmt *st;
	*n = 0;
	/* A base build's jobs (the baseline) take the priority of the newest
	 * series built on it: they run next to the series they judge. */
	if (sqlite3_prepare_v2(xeci_db_handle(db),
			       "SELECT b.id, b.version_id, CASE WHEN b.version_id IS NULL THEN "
			       "(SELECT max(s.priority) FROM builds s WHERE s.version_id IS NOT NULL AND "
			       "s.tree = b.tree AND s.config = b.config AND s.base_commit = b.commit_id) "
			       "ELSE b.priority END FROM builds b WHERE b.state = 'passed' AND NOT EXISTS "
			       "(SELECT 1 FROM jobs j WHERE j.build_id = b.id) ORDER BY b.id LIMIT 500",
			       -1, &st, NULL) != SQLITE_OK)
		return xeci_db_error(db, "queue jobs");
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out[*n].build = sqlite3_column_int64(st, 0);
		out[*n].version = sqlite3_column_int64(st, 1);
		out[*n].prio = sqlite3_column_int64(st, 2);
		++*n;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : xeci_db_error(db, "queue jobs");
}

int xeci_job_db_enqueue(int *added, xeci_db *db, const xeci_config *cfg)
{
	*added = 0;
	if (!cfg->ntestplans)
		return 0;
	to_queue *q = xeci_calloc(500, sizeof(*q));
	size_t n;
	int rc = builds_to_queue(q, &n, db);
	if (rc < 0 || n == 0) {
		free(q);
		return rc;
	}
	/* INSERT OR IGNORE: a build queued meanwhile (by another process) keeps its jobs */
	rc = xeci_db_begin(db);
	if (rc < 0) {
		free(q);
		return rc;
	}
	for (size_t k = 0; rc == 0 && k < n; k++)
		for (size_t i = 0; rc == 0 && i < cfg->ntestplans; i++)
			rc = insert_jobs(added, db, &cfg->testplans[i], q[k].build, q[k].version, q[k].prio,
					 cfg->max_attempts > 0 ? cfg->max_attempts : 3);
	free(q);
	if (rc < 0) {
		xeci_db_rollback(db);
		return rc;
	}
	return xeci_db_commit(db);
}

int xeci_job_db_cancel_superseded(int *n, xeci_db *db)
{
	*n = 0;
	/* A read first, by the superseded versions' builds (the + keeps SQLite
	 * from scanning every queued job instead): an UPDATE would hold the
	 * write lock for the whole scan, every tick, while agents lease. */
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "SELECT EXISTS (SELECT 1 FROM series_versions v CROSS JOIN builds b CROSS JOIN "
				     "jobs j WHERE v.state = 'superseded' AND b.version_id = v.id AND "
				     "j.build_id = b.id AND +j.state = 'queued')") < 0)
		return XECI_EIO;
	int rc = sqlite3_step(st);
	bool any = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return xeci_db_error(db, "superseded jobs");
	if (!any)
		return 0;
	if (xeci_db_exec(db, "UPDATE jobs SET state = 'cancelled', finished_at = unixepoch(), "
			     "reason = 'a newer version of the series was posted' WHERE +state = 'queued' AND "
			     "build_id IN (SELECT b.id FROM series_versions v CROSS JOIN builds b WHERE "
			     "v.state = 'superseded' AND b.version_id = v.id)") < 0)
		return XECI_EIO;
	*n = changes(db);
	return 0;
}

/* ---- leases --------------------------------------------------------------- */

void xeci_lease_clear(xeci_lease *l)
{
	free(l->testplan);
	free(l->platform);
	free(l->suites);
	memset(l, 0, sizeof(*l));
}

/* The best queued job the agent can run (platform, capabilities, then
 * priority and age), into out; none: out->job_id 0. A read in the write
 * transaction: no other claim can take it before the update below. */
static int pick_job(xeci_lease *out, xeci_db *db, const xeci_agent *a)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "SELECT j.id, j.testplan, j.platform, j.suites, j.shard, j.shards, j.build_id "
				     "FROM jobs j WHERE j.state = 'queued' AND j.platform = ?1 AND NOT EXISTS "
				     "(SELECT 1 FROM json_each(j.capabilities) c WHERE c.value NOT IN "
				     "(SELECT value FROM json_each(?2))) ORDER BY j.priority DESC, j.id LIMIT 1") < 0)
		return XECI_EIO;
	xeci_db_bind_text(st, 1, a->platform);
	xeci_db_bind_text(st, 2, a->capabilities ? a->capabilities : "[]");
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->job_id = sqlite3_column_int64(st, 0);
		out->testplan = xeci_db_column_strdup(st, 1);
		out->platform = xeci_db_column_strdup(st, 2);
		out->suites = xeci_db_column_strdup(st, 3);
		out->shard = sqlite3_column_int(st, 4);
		out->shards = sqlite3_column_int(st, 5);
		out->build_id = sqlite3_column_int64(st, 6);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : xeci_db_error(db, "lease");
}

/* The lease row, then the job leased under it: the row's id is the
 * fencing token the job carries. */
static int grant(xeci_lease *l, xeci_db *db, const xeci_agent *a)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "INSERT INTO leases(job_id, agent_id, state) VALUES (?, ?, 'active')") < 0)
		return XECI_EIO;
	sqlite3_bind_int64(st, 1, l->job_id);
	sqlite3_bind_int64(st, 2, a->id);
	int rc = xeci_db_step_done(db, st, "lease");
	if (rc < 0)
		return rc;
	l->lease_id = sqlite3_last_insert_rowid(xeci_db_handle(db));
	if (xeci_db_prepare(&st, db, "UPDATE jobs SET state = 'leased', attempts = attempts + 1, agent_id = ?, "
				     "lease_id = ?, lease_deadline = ?, started_at = coalesce(started_at, unixepoch()), "
				     "current_test = NULL, tests_done = 0, tests_total = 0 "
				     "WHERE id = ? AND state = 'queued'") < 0)
		return XECI_EIO;
	sqlite3_bind_int64(st, 1, a->id);
	sqlite3_bind_int64(st, 2, l->lease_id);
	sqlite3_bind_int64(st, 3, l->deadline_ms);
	sqlite3_bind_int64(st, 4, l->job_id);
	rc = xeci_db_step_done(db, st, "lease");
	if (rc == 0 && changes(db) != 1) /* cannot be, in one write transaction: never hand it out twice */
		rc = xeci_error_setc(XECI_ERROR, "job %lld was no longer queued", (long long)l->job_id);
	return rc;
}

int xeci_job_db_lease(xeci_lease *out, xeci_db *db, const xeci_agent *a, int64_t now_ms, int64_t lease_ms)
{
	memset(out, 0, sizeof(*out));
	if (!a->state || strcmp(a->state, "active"))
		return 0;
	int rc = xeci_db_begin(db);
	if (rc < 0)
		return rc;
	/* a read, a row and an update by rowid: an UPDATE ... RETURNING would
	 * gather its row in a temporary b-tree first */
	rc = pick_job(out, db, a);
	out->deadline_ms = now_ms + lease_ms;
	if (rc == 0 && out->job_id)
		rc = grant(out, db, a);
	if (rc < 0 || !out->job_id) {
		xeci_db_rollback(db);
		xeci_lease_clear(out);
		return rc;
	}
	return xeci_db_commit(db);
}

int xeci_job_db_lease_batch(xeci_lease *out, int *rcs, xeci_db *db, const xeci_agent *const *agents, size_t n,
			    int64_t now_ms, int64_t lease_ms)
{
	int rc = xeci_db_begin(db);
	if (rc < 0)
		return rc;
	/* each claim under its own savepoint sees the claims before it: no
	 * job twice, and one claim's failure undoes only that claim */
	for (size_t i = 0; i < n; i++)
		rcs[i] = xeci_job_db_lease(&out[i], db, agents[i], now_ms, lease_ms);
	rc = xeci_db_commit(db);
	for (size_t i = 0; rc < 0 && i < n; i++)
		xeci_lease_clear(&out[i]); /* nothing was given */
	return rc;
}

/* Is lease_id the job's current lease, held by agent_id? */
static int check_lease(xeci_db *db, int64_t job_id, int64_t lease_id, int64_t agent_id)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "SELECT state, lease_id, agent_id FROM jobs WHERE id = ?") < 0)
		return XECI_EIO;
	sqlite3_bind_int64(st, 1, job_id);
	int rc = sqlite3_step(st);
	int ret = 0;
	if (rc != SQLITE_ROW)
		ret = xeci_error_setc(XECI_ENOTFOUND, "no job %lld", (long long)job_id);
	else if (strcmp((const char *)sqlite3_column_text(st, 0), "leased") ||
		 sqlite3_column_int64(st, 1) != lease_id || sqlite3_column_int64(st, 2) != agent_id)
		ret = xeci_error_setc(XECI_ESTALE, "lease %lld is not job %lld's current lease",
				      (long long)lease_id, (long long)job_id);
	sqlite3_reset(st);
	return ret;
}

int xeci_job_db_heartbeat(xeci_db *db, int64_t job_id, int64_t lease_id, int64_t agent_id, int64_t now_ms,
			  int64_t lease_ms, const char *current_test, int done, int total)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "UPDATE jobs SET lease_deadline = ?, current_test = ?, tests_done = ?, "
				     "tests_total = ? WHERE id = ? AND state = 'leased' AND lease_id = ? "
				     "AND agent_id = ?") < 0)
		return XECI_EIO;
	sqlite3_bind_int64(st, 1, now_ms + lease_ms);
	xeci_db_bind_text(st, 2, current_test);
	sqlite3_bind_int(st, 3, done);
	sqlite3_bind_int(st, 4, total);
	sqlite3_bind_int64(st, 5, job_id);
	sqlite3_bind_int64(st, 6, lease_id);
	sqlite3_bind_int64(st, 7, agent_id);
	int rc = xeci_db_step_done(db, st, "heartbeat");
	if (rc == 0 && !changes(db)) {
		/* not the current lease: say whether the job exists at all */
		rc = check_lease(db, job_id, lease_id, agent_id);
		if (rc == 0)
			rc = xeci_error_setc(XECI_ESTALE, "lease %lld is not current", (long long)lease_id);
	}
	return rc;
}

static int store_result(xeci_db *db, int64_t job_id, int64_t lease_id, const xeci_test_result *r)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "INSERT OR REPLACE INTO job_results(job_id, test, lease_id, suite, status, "
				     "duration_ms, out_excerpt, err_excerpt, dmesg_excerpt, log_path) "
				     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)") < 0)
		return XECI_EIO;
	sqlite3_bind_int64(st, 1, job_id);
	xeci_db_bind_text(st, 2, r->test);
	sqlite3_bind_int64(st, 3, lease_id);
	xeci_db_bind_text(st, 4, r->suite);
	xeci_db_bind_text(st, 5, r->status);
	if (r->duration_ms >= 0)
		sqlite3_bind_int64(st, 6, r->duration_ms);
	else
		sqlite3_bind_null(st, 6);
	xeci_db_bind_text(st, 7, r->out);
	xeci_db_bind_text(st, 8, r->err);
	xeci_db_bind_text(st, 9, r->dmesg);
	xeci_db_bind_text(st, 10, r->log_path);
	return xeci_db_step_done(db, st, "store result");
}

/* The job is done: pass unless a stored result fails. */
static int complete_job(xeci_db *db, int64_t job_id, int64_t lease_id, int64_t agent_id)
{
	sqlite3_stmt *st;
	/* The verdict is this lease's: what a lost earlier run left goes. */
	if (xeci_db_prepare(&st, db, "DELETE FROM job_results WHERE job_id = ? AND lease_id != ?") < 0)
		return XECI_EIO;
	sqlite3_bind_int64(st, 1, job_id);
	sqlite3_bind_int64(st, 2, lease_id);
	int rc = xeci_db_step_done(db, st, "complete job");
	if (rc == 0 && xeci_db_prepare(&st, db, "UPDATE jobs SET state = 'done', finished_at = unixepoch(), "
						"lease_deadline = NULL, reason = NULL, result = CASE WHEN EXISTS "
						"(SELECT 1 FROM job_results r WHERE r.job_id = ?1 AND (r.status = 'fail' OR "
						/* comparisons, not IN (...): no temporary b-tree of the list */
						"r.status = 'crash' OR r.status = 'timeout' OR r.status = 'incomplete' OR "
						"r.status = 'abort' OR r.status = 'dmesg-fail')) "
						"THEN 'fail' ELSE 'pass' END WHERE id = ?1") < 0)
		return XECI_EIO;
	sqlite3_bind_int64(st, 1, job_id);
	if (rc == 0)
		rc = xeci_db_step_done(db, st, "complete job");
	if (rc == 0 && xeci_db_prepare(&st, db, "UPDATE leases SET state = 'completed', ended_at = unixepoch() "
						"WHERE id = ?") == 0) {
		sqlite3_bind_int64(st, 1, lease_id);
		rc = xeci_db_step_done(db, st, "complete lease");
	}
	/* only a streak to end: a write of the same 0 would dirty (and log) the agent's page every job */
	if (rc == 0 && xeci_db_prepare(&st, db, "UPDATE agents SET infra_failures = 0 WHERE id = ? AND "
						"infra_failures != 0") == 0) {
		sqlite3_bind_int64(st, 1, agent_id);
		rc = xeci_db_step_done(db, st, "agent streak");
	}
	return rc;
}

int xeci_job_db_results(xeci_db *db, int64_t job_id, int64_t lease_id, int64_t agent_id,
			const xeci_test_result *r, size_t n, bool final)
{
	int rc = xeci_db_begin(db);
	if (rc < 0)
		return rc;
	rc = check_lease(db, job_id, lease_id, agent_id);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (!r[i].test || !*r[i].test || !r[i].status)
			rc = xeci_error_setc(XECI_EINVALID, "result %zu: a test name and a status are required", i);
		else
			rc = store_result(db, job_id, lease_id, &r[i]);
	}
	if (rc == 0 && final)
		rc = complete_job(db, job_id, lease_id, agent_id);
	if (rc < 0) {
		xeci_db_rollback(db);
		return rc;
	}
	return xeci_db_commit(db);
}

/* An infrastructure failure of agent_id: its streak grows; at
 * XECI_QUARANTINE_AFTER in a row it is quarantined. */
static int agent_infra_failure(xeci_db *db, int64_t agent_id, const char *why)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "UPDATE agents SET infra_failures = infra_failures + 1, state = CASE WHEN "
				     "state = 'active' AND infra_failures + 1 >= ?1 THEN 'quarantined' ELSE state END, "
				     "quarantine_reason = CASE WHEN state = 'active' AND infra_failures + 1 >= ?1 THEN "
				     "?2 ELSE quarantine_reason END WHERE id = ?3") < 0)
		return XECI_EIO;
	sqlite3_bind_int(st, 1, XECI_QUARANTINE_AFTER);
	xeci_buf reason = XECI_BUF_INIT;
	xeci_buf_printf(&reason, "%d infrastructure failures in a row, the last: %s", XECI_QUARANTINE_AFTER, why);
	xeci_db_bind_text(st, 2, reason.ptr);
	sqlite3_bind_int64(st, 3, agent_id);
	xeci_buf_free(&reason);
	return xeci_db_step_done(db, st, "agent failure");
}

/* The job's current lease ended without a verdict: queued again while
 * attempts remain, else incomplete. */
static int job_lost(xeci_db *db, int64_t job_id, const char *reason)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'incomplete' "
				     "ELSE 'queued' END, reason = CASE WHEN attempts >= max_attempts THEN ?1 END, "
				     "lease_id = NULL, lease_deadline = NULL, "
				     "agent_id = CASE WHEN attempts >= max_attempts THEN agent_id END, "
				     "finished_at = CASE WHEN attempts >= max_attempts THEN unixepoch() END "
				     "WHERE id = ?2") < 0)
		return XECI_EIO;
	xeci_db_bind_text(st, 1, reason);
	sqlite3_bind_int64(st, 2, job_id);
	return xeci_db_step_done(db, st, "job lost");
}

int xeci_job_db_fail(xeci_db *db, int64_t job_id, int64_t lease_id, int64_t agent_id, const char *reason,
		     bool infra)
{
	sqlite3_stmt *st;
	int rc = xeci_db_begin(db);
	if (rc < 0)
		return rc;
	rc = check_lease(db, job_id, lease_id, agent_id);
	if (rc == 0 && xeci_db_prepare(&st, db, "UPDATE leases SET state = 'released', ended_at = unixepoch() "
						"WHERE id = ?") == 0) {
		sqlite3_bind_int64(st, 1, lease_id);
		rc = xeci_db_step_done(db, st, "release lease");
	}
	char why[512];
	snprintf(why, sizeof(why), "incomplete: %s", reason && *reason ? reason : "the agent gave up");
	if (rc == 0 && infra)
		rc = job_lost(db, job_id, why);
	if (rc == 0 && !infra && xeci_db_prepare(&st, db, "UPDATE jobs SET state = 'incomplete', reason = ?, "
							  "lease_deadline = NULL, finished_at = unixepoch() "
							  "WHERE id = ?") == 0) {
		xeci_db_bind_text(st, 1, why);
		sqlite3_bind_int64(st, 2, job_id);
		rc = xeci_db_step_done(db, st, "job incomplete");
	}
	if (rc == 0 && infra)
		rc = agent_infra_failure(db, agent_id, why);
	if (rc < 0) {
		xeci_db_rollback(db);
		return rc;
	}
	return xeci_db_commit(db);
}

/* Is any lease past its deadline? A read: most ticks have none, and a write
 * transaction for nothing would make the lease path wait for the lock. */
static int any_expired(bool *any, xeci_db *db, int64_t now_ms)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'leased' AND "
				     "lease_deadline < ?)") < 0)
		return XECI_EIO;
	sqlite3_bind_int64(st, 1, now_ms);
	int rc = sqlite3_step(st);
	*any = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : xeci_db_error(db, "expire");
}

int xeci_job_db_expire(int *n, xeci_db *db, int64_t now_ms)
{
	sqlite3_stmt *st;
	bool any;
	*n = 0;
	int rc = any_expired(&any, db, now_ms);
	if (rc < 0 || !any)
		return rc;
	rc = xeci_db_begin(db);
	if (rc < 0)
		return rc;
	if (sqlite3_prepare_v2(xeci_db_handle(db), "SELECT id, lease_id, agent_id FROM jobs WHERE state = 'leased' "
				   "AND lease_deadline < ?", -1, &st, NULL) != SQLITE_OK) {
		xeci_db_rollback(db);
		return xeci_db_error(db, "expire");
	}
	sqlite3_bind_int64(st, 1, now_ms);
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		int64_t job = sqlite3_column_int64(st, 0), lease = sqlite3_column_int64(st, 1);
		int64_t agent = sqlite3_column_int64(st, 2);
		sqlite3_stmt *up;
		if (xeci_db_prepare(&up, db, "UPDATE leases SET state = 'expired', ended_at = unixepoch() "
					     "WHERE id = ?") < 0) {
			rc = XECI_EIO;
			break;
		}
		sqlite3_bind_int64(up, 1, lease);
		rc = xeci_db_step_done(db, up, "expire lease");
		if (rc == 0)
			rc = job_lost(db, job, "incomplete: machine lost (its lease expired)");
		if (rc == 0)
			rc = agent_infra_failure(db, agent, "a lease expired");
		*n += rc == 0;
	}
	sqlite3_finalize(st);
	if (rc < 0) {
		xeci_db_rollback(db);
		return rc;
	}
	return xeci_db_commit(db);
}

int xeci_job_db_requeue(xeci_db *db, int64_t job_id)
{
	sqlite3_stmt *st;
	int rc = xeci_db_begin(db);
	if (rc < 0)
		return rc;
	if (xeci_db_prepare(&st, db, "UPDATE leases SET state = 'released', ended_at = unixepoch() WHERE state = "
				     "'active' AND job_id = ?") < 0) {
		xeci_db_rollback(db);
		return XECI_EIO;
	}
	sqlite3_bind_int64(st, 1, job_id);
	rc = xeci_db_step_done(db, st, "requeue");
	if (rc == 0 && xeci_db_prepare(&st, db, "UPDATE jobs SET state = 'queued', attempts = 0, lease_id = NULL, "
						"lease_deadline = NULL, agent_id = NULL, result = NULL, reason = NULL, "
						"finished_at = NULL, current_test = NULL, tests_done = 0, tests_total = 0 "
						"WHERE id = ?") == 0) {
		sqlite3_bind_int64(st, 1, job_id);
		rc = xeci_db_step_done(db, st, "requeue");
		if (rc == 0 && !changes(db))
			rc = xeci_error_setc(XECI_ENOTFOUND, "no job %lld", (long long)job_id);
	}
	if (rc == 0 && xeci_db_prepare(&st, db, "DELETE FROM job_results WHERE job_id = ?") == 0) {
		sqlite3_bind_int64(st, 1, job_id);
		rc = xeci_db_step_done(db, st, "requeue");
	}
	if (rc < 0) {
		xeci_db_rollback(db);
		return rc;
	}
	return xeci_db_commit(db);
}
