/* Shared by test_sched_db.c and test_sched_jobs.c: the dispatch tables on
 * a real database (test_db_fixture.h), builds and series versions inserted
 * with SQL as the build stage leaves them, agents added and authenticated,
 * leases taken, digests of what a job stored. Include after <cmocka.h>. */
#ifndef XECI_TEST_SCHED_FIXTURE_H
#define XECI_TEST_SCHED_FIXTURE_H

#include <jansson.h>

#include "config.h"
#include "db.h"
#include "error.h"
#include "sched_db.h"
#include "util.h"

#include "test_db_fixture.h"

static inline int setup(void **state)
{
	return fx_setup(state, "sched-db", "INSERT INTO inboxes (id, name, url) VALUES (1, 'xe', 'file:///x')");
}

static inline int teardown(void **state)
{
	return fx_teardown(state);
}

static const char CFG_PLANS[] =
	"[testplan \"xe-fault\"]\n\tsuites = igt:a.testlist igt:b.testlist\n\tplatforms = lnl bmg\n"
	"\tshards = 2\n\tcapabilities = fault-mode\n"
	"[testplan \"qemu\"]\n\tsuites = kunit:xe ktap:hmm-tests\n\tplatforms = qemu\n";

/* A series and one version of it (state, base_commit); returns the version id. */
static inline int64_t add_version(fx *f, const char *state, const char *base)
{
	exec(f, "INSERT INTO series (inbox_id, subject, author) VALUES (1, 'drm/xe: a change', 'a@example.com')");
	int64_t sid = last_id(f);
	exec(f, "INSERT INTO series_versions (series_id, inbox_id, posting_key, version, subject, author, total, "
		"received, base_commit, state, completed_at) VALUES (%lld, 1, 'key-%d', 1, 'drm/xe: a change', "
		"'a@example.com', 1, 1, %Q, %Q, 1000)",
	     (long long)sid, ++f->seq, base, state);
	return last_id(f);
}

/* A builds row; vid 0: a base build (version_id NULL). */
static inline int64_t add_build(fx *f, int64_t vid, const char *tree, const char *config, const char *state, int64_t prio,
			 const char *base_commit, const char *commit_id)
{
	char v[32];
	if (vid)
		snprintf(v, sizeof(v), "%lld", (long long)vid);
	else
		snprintf(v, sizeof(v), "NULL");
	exec(f, "INSERT INTO builds (version_id, tree, config, state, priority, base_commit, commit_id) VALUES "
		"(%s, %Q, %Q, %Q, %lld, %Q, %Q)",
	     v, tree, config, state, (long long)prio, base_commit, commit_id);
	return last_id(f);
}

/* A passed series build of a new complete version. */
static inline int64_t passed_series_build(fx *f, int64_t prio, int64_t *vid)
{
	int64_t v = add_version(f, "complete", "base1");
	if (vid)
		*vid = v;
	return add_build(f, v, "drm-tip", "xe-hw", "passed", prio, "base1", "c0ffee");
}

static inline int enqueue(fx *f)
{
	int added = -1;
	int rc = xeci_job_db_enqueue(&added, f->db, f->cfg);
	if (rc < 0)
		fail_msg("enqueue: %s", xeci_error_last());
	return added;
}

/* An agent added and authenticated (capabilities registered when caps_json);
 * returns its token (caller frees). */
static inline char *new_agent(fx *f, xeci_agent *a, const char *name, const char *platform, const char *caps_json)
{
	char *tok = NULL;
	assert_int_equal(xeci_agent_db_add(&tok, f->db, name, platform), 0);
	assert_non_null(tok);
	assert_int_equal(xeci_agent_db_auth(a, f->db, tok), 0);
	if (caps_json) {
		json_t *c = json_loads(caps_json, 0, NULL);
		assert_non_null(c);
		assert_int_equal(xeci_agent_db_register(f->db, a->id, NULL, c), 0);
		json_decref(c);
		xeci_agent_clear(a);
		assert_int_equal(xeci_agent_db_auth(a, f->db, tok), 0);
	}
	return tok;
}

static inline void reauth(fx *f, xeci_agent *a, const char *tok)
{
	xeci_agent_clear(a);
	assert_int_equal(xeci_agent_db_auth(a, f->db, tok), 0);
}

static inline int64_t lease(fx *f, xeci_lease *out, const xeci_agent *a, int64_t now, int64_t ms)
{
	int rc = xeci_job_db_lease(out, f->db, a, now, ms);
	if (rc < 0)
		fail_msg("lease: %s", xeci_error_last());
	return out->job_id;
}

/* A digest of a job's result rows, to see that nothing changed. */
static inline char *results_digest(fx *f, int64_t job)
{
	return text(f, "SELECT count(*) || ':' || coalesce(group_concat(test || '|' || lease_id || '|' || "
		       "coalesce(suite, '-') || '|' || status || '|' || coalesce(duration_ms, '-') || '|' || "
		       "coalesce(out_excerpt, '-') || '|' || coalesce(log_path, '-'), ';'), '') FROM "
		       "(SELECT * FROM job_results WHERE job_id = %lld ORDER BY test)",
		    (long long)job);
}

static inline char *job_digest(fx *f, int64_t job)
{
	return text(f, "SELECT state || '|' || coalesce(lease_id, '-') || '|' || coalesce(lease_deadline, '-') || "
		       "'|' || coalesce(agent_id, '-') || '|' || attempts || '|' || coalesce(result, '-') || '|' || "
		       "coalesce(reason, '-') || '|' || coalesce(current_test, '-') || '|' || tests_done || '|' || "
		       "tests_total FROM jobs WHERE id = %lld",
		    (long long)job);
}

/* ---- 1. agents ------------------------------------------------------------- */

#endif
