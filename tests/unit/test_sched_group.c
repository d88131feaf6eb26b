/* Group commit of dispatch writes (xeci_job_db_lease_batch, nested
 * xeci_db_begin): many claims in one transaction give distinct jobs, each
 * the best the agent can run at its turn (platform, capabilities, priority
 * then id), each with exactly one lease row; a failing member of a group
 * undoes only itself; a group that does not commit gives nothing. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "config.h"
#include "db.h"
#include "error.h"
#include "sched_db.h"
#include "util.h"

#include "test_db_fixture.h"

/* xe-fault: 2 platforms x 2 shards, needs fault-mode; qemu: 1 shard. 5 jobs a build. */
static const char CFG_PLANS[] =
	"[testplan \"xe-fault\"]\n\tsuites = igt:a.testlist\n\tplatforms = lnl bmg\n"
	"\tshards = 2\n\tcapabilities = fault-mode\n"
	"[testplan \"qemu\"]\n\tsuites = kunit:xe\n\tplatforms = qemu\n";

static int setup(void **state)
{
	if (fx_setup(state, "sched-group", "INSERT INTO inboxes (id, name, url) VALUES (1, 'xe', 'file:///x')") < 0)
		return -1;
	fx_load_cfg(*state, CFG_PLANS);
	return 0;
}

static int teardown(void **state)
{
	return fx_teardown(state);
}

/* A passed build of a new complete series version, of priority prio. */
static void passed_build(fx *f, int64_t prio)
{
	exec(f, "INSERT INTO series (inbox_id, subject, author) VALUES (1, 'drm/xe: x', 'a@example.com')");
	int64_t sid = sqlite3_last_insert_rowid(xeci_db_handle(f->db));
	exec(f, "INSERT INTO series_versions (series_id, inbox_id, posting_key, version, subject, author, total, "
		"received, base_commit, state, completed_at) VALUES (%lld, 1, 'key-%d', 1, 'x', 'a@example.com', "
		"1, 1, 'base1', 'complete', 1000)",
	     (long long)sid, ++f->seq);
	int64_t vid = sqlite3_last_insert_rowid(xeci_db_handle(f->db));
	exec(f, "INSERT INTO builds (version_id, tree, config, state, priority, base_commit, commit_id) VALUES "
		"(%lld, 'drm-tip', 'xe-hw', 'passed', %lld, 'base1', 'c0ffee')",
	     (long long)vid, (long long)prio);
}

static void enqueue(fx *f, int want)
{
	int added = -1;
	if (xeci_job_db_enqueue(&added, f->db, f->cfg) < 0)
		fail_msg("enqueue: %s", xeci_error_last());
	assert_int_equal(added, want);
}

static void new_agent(fx *f, xeci_agent *a, const char *name, const char *platform, const char *caps_json)
{
	char *tok = NULL;
	assert_int_equal(xeci_agent_db_add(&tok, f->db, name, platform), 0);
	assert_int_equal(xeci_agent_db_auth(a, f->db, tok), 0);
	json_t *c = json_loads(caps_json, 0, NULL);
	assert_int_equal(xeci_agent_db_register(f->db, a->id, NULL, c), 0);
	json_decref(c);
	xeci_agent_clear(a);
	assert_int_equal(xeci_agent_db_auth(a, f->db, tok), 0);
	free(tok);
}

/* The priority of job id (-1: none). */
static int64_t prio(fx *f, int64_t job)
{
	return job ? count(f, "SELECT priority FROM jobs WHERE id = %lld", (long long)job) : -1;
}

/* Every leased job: one lease row, active, the one the job carries, its agent's. */
static void assert_one_lease_each(fx *f, int64_t leased)
{
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE state = 'leased'"), leased);
	assert_int_equal(count(f, "SELECT count(*) FROM leases"), leased);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs j JOIN leases l ON l.job_id = j.id WHERE "
				  "j.state = 'leased' AND l.state = 'active' AND l.id = j.lease_id AND "
				  "l.agent_id = j.agent_id AND j.attempts = 1"),
			 leased);
}

static void batch_mixed_agents(void **state)
{
	fx *f = *state;
	int64_t prios[] = {10, 30, 20, 10};
	for (size_t i = 0; i < 4; i++)
		passed_build(f, prios[i]);
	enqueue(f, 20);
	xeci_agent a[7];
	new_agent(f, &a[0], "bmg-1", "bmg", "[\"fault-mode\"]");
	new_agent(f, &a[1], "qemu-1", "qemu", "[]");
	new_agent(f, &a[2], "lnl-nocap", "lnl", "[]"); /* every lnl job needs fault-mode */
	new_agent(f, &a[3], "bmg-2", "bmg", "[\"fault-mode\", \"other\"]");
	new_agent(f, &a[4], "qemu-2", "qemu", "[]");
	new_agent(f, &a[5], "bmg-3", "bmg", "[\"fault-mode\"]");
	new_agent(f, &a[6], "lnl-1", "lnl", "[\"fault-mode\"]");
	const xeci_agent *who[] = {&a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6]};
	xeci_lease l[7];
	int rcs[7];
	assert_int_equal(xeci_job_db_lease_batch(l, rcs, f->db, who, 7, 1000, 60000), 0);
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(rcs[i], 0);
	assert_int_equal(xeci_db_depth(f->db), 0);
	/* each in turn: the best left for its platform and capabilities */
	int64_t want[] = {30, 30, -1, 30, 20, 20, 30};
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(prio(f, l[i].job_id), want[i]);
	assert_int_equal(l[2].lease_id, 0);
	for (size_t i = 0; i < 7; i++)
		for (size_t j = i + 1; j < 7; j++)
			if (l[i].job_id)
				assert_int_not_equal(l[i].job_id, l[j].job_id);
	for (size_t i = 0; i < 7; i++)
		if (l[i].job_id) {
			assert_int_equal(count(f, "SELECT agent_id FROM jobs WHERE id = %lld", (long long)l[i].job_id),
					 a[i].id);
			assert_int_equal(count(f, "SELECT lease_id FROM jobs WHERE id = %lld", (long long)l[i].job_id),
					 l[i].lease_id);
			assert_string_equal(l[i].platform, a[i].platform);
		}
	/* within a priority, the oldest first: bmg-1 had shard 0, bmg-2 shard 1 */
	assert_true(l[0].job_id < l[3].job_id);
	assert_int_equal(l[0].shard, 0);
	assert_int_equal(l[3].shard, 1);
	assert_one_lease_each(f, 6);
	for (size_t i = 0; i < 7; i++) {
		xeci_lease_clear(&l[i]);
		xeci_agent_clear(&a[i]);
	}
}

/* More claims than jobs, all of one kind: every job once, the rest empty. */
static void batch_more_agents_than_jobs(void **state)
{
	fx *f = *state;
	for (int i = 0; i < 6; i++)
		passed_build(f, i % 3);
	enqueue(f, 30);
	enum { N = 40 };
	xeci_agent a[N];
	const xeci_agent *who[N];
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof(name), "q%d", i);
		new_agent(f, &a[i], name, "qemu", "[]");
		who[i] = &a[i];
	}
	xeci_lease l[N];
	int rcs[N];
	assert_int_equal(xeci_job_db_lease_batch(l, rcs, f->db, who, N, 1000, 60000), 0);
	int given = 0;
	for (int i = 0; i < N; i++) {
		assert_int_equal(rcs[i], 0);
		given += l[i].job_id != 0;
		if (i >= 6)
			assert_int_equal(l[i].job_id, 0); /* 6 qemu jobs, the first 6 claims */
		for (int j = 0; j < i; j++)
			if (l[i].job_id)
				assert_int_not_equal(l[i].job_id, l[j].job_id);
		if (i > 0 && l[i].job_id) /* never a better job after a worse one */
			assert_true(prio(f, l[i].job_id) <= prio(f, l[i - 1].job_id));
	}
	assert_int_equal(given, 6);
	assert_one_lease_each(f, 6);
	for (int i = 0; i < N; i++) {
		xeci_lease_clear(&l[i]);
		xeci_agent_clear(&a[i]);
	}
}

/* In a group, a stale upload fails alone; the claims around it hold. A group
 * rolled back gives nothing. */
static void group_member_fails_alone(void **state)
{
	fx *f = *state;
	passed_build(f, 5);
	passed_build(f, 7);
	passed_build(f, 6);
	enqueue(f, 15);
	xeci_agent q1, q2;
	new_agent(f, &q1, "qemu-1", "qemu", "[]");
	new_agent(f, &q2, "qemu-2", "qemu", "[]");
	xeci_lease l1, l2, l3;
	assert_int_equal(xeci_db_begin(f->db), 0);
	assert_int_equal(xeci_job_db_lease(&l1, f->db, &q1, 1000, 60000), 0);
	xeci_test_result r = {.test = "t", .suite = "kunit:xe", .status = "pass", .duration_ms = -1};
	assert_int_equal(xeci_job_db_results(f->db, l1.job_id, l1.lease_id + 99, q1.id, &r, 1, true), XECI_ESTALE);
	assert_int_equal(xeci_db_depth(f->db), 1);
	assert_int_equal(xeci_job_db_lease(&l2, f->db, &q2, 1000, 60000), 0);
	assert_int_equal(xeci_job_db_results(f->db, l2.job_id, l2.lease_id, q2.id, &r, 1, true), 0);
	assert_int_equal(xeci_db_commit(f->db), 0);
	assert_int_not_equal(l1.job_id, l2.job_id);
	assert_int_equal(count(f, "SELECT count(*) FROM job_results"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE state = 'done'"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE state = 'leased'"), 1);
	/* a group that does not commit: no lease, no attempt */
	assert_int_equal(xeci_db_begin(f->db), 0);
	assert_int_equal(xeci_job_db_lease(&l3, f->db, &q2, 2000, 60000), 0);
	assert_true(l3.job_id > 0);
	xeci_db_rollback(f->db);
	assert_int_equal(xeci_db_depth(f->db), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM leases"), 2);
	assert_int_equal(count(f, "SELECT state = 'queued' AND attempts = 0 FROM jobs WHERE id = %lld",
			       (long long)l3.job_id),
			 1);
	xeci_lease_clear(&l1);
	xeci_lease_clear(&l2);
	xeci_lease_clear(&l3);
	xeci_agent_clear(&q1);
	xeci_agent_clear(&q2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(batch_mixed_agents, setup, teardown),
		cmocka_unit_test_setup_teardown(batch_more_agents_than_jobs, setup, teardown),
		cmocka_unit_test_setup_teardown(group_member_fails_alone, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
