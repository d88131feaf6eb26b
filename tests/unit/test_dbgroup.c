/* Group commit without savepoints (xeci_db_begin_light, dbgroup.c): a unit
 * that fails before changing a row costs nothing; one that fails after
 * changing rows makes the group run again from the start, each unit under
 * a real savepoint, so that it alone is undone and the others hold (one
 * lease row a job, no lease of the first pass left behind). And the state
 * CHECKs, rewritten without IN lists, still refuse what they refused. */
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
#include <uv.h>

#include "dbgroup.h"
#include "sched_db.h"
#include "test_db_fixture.h"

/* qemu: 1 shard, so one job a build */
static const char CFG_PLANS[] = "[testplan \"qemu\"]\n\tsuites = kunit:xe\n\tplatforms = qemu\n";

/* the two agents of every test (set up with the database) */
static xeci_agent q1, q2;

static void new_agent(fx *f, xeci_agent *a, const char *name)
{
	char *tok = NULL;
	assert_int_equal(xeci_agent_db_add(&tok, f->db, name, "qemu"), 0);
	assert_int_equal(xeci_agent_db_auth(a, f->db, tok), 0);
	free(tok);
}

/* three passed base builds: three queued jobs */
static int setup(void **state)
{
	if (fx_setup(state, "dbgroup", "SELECT 1") < 0)
		return -1;
	fx *f = *state;
	fx_load_cfg(f, CFG_PLANS);
	for (int i = 0; i < 3; i++)
		exec(f, "INSERT INTO builds (tree, config, state, priority) VALUES ('t', 'c', 'passed', 0)");
	int added = 0;
	if (xeci_job_db_enqueue(&added, f->db, f->cfg) < 0 || added != 3)
		return -1;
	new_agent(f, &q1, "qemu-1");
	new_agent(f, &q2, "qemu-2");
	return 0;
}

static int teardown(void **state)
{
	xeci_agent_clear(&q1);
	xeci_agent_clear(&q2);
	return fx_teardown(state);
}

/* Two results of which the second is invalid: the first is stored, then
 * the unit fails (after changing a row). */
static int bad_upload(fx *f, const xeci_lease *l, const xeci_agent *a)
{
	xeci_test_result r[2] = {{.test = "t1", .suite = "kunit:xe", .status = "pass", .duration_ms = -1},
				 {.test = "", .suite = "kunit:xe", .status = "pass", .duration_ms = -1}};
	return xeci_job_db_results(f->db, l->job_id, l->lease_id, a->id, r, 2, true);
}

static void light_marks_only_changed_rollbacks(void **state)
{
	fx *f = *state;
	xeci_lease l1, l2;
	assert_int_equal(xeci_db_begin_light(f->db), 0);
	assert_int_equal(xeci_job_db_lease(&l1, f->db, &q1, 1000, 60000), 0);
	xeci_test_result r = {.test = "t", .suite = "kunit:xe", .status = "pass", .duration_ms = -1};
	/* stale: refused before any write, nothing to redo */
	assert_int_equal(xeci_job_db_results(f->db, l1.job_id, l1.lease_id + 9, q1.id, &r, 1, true), XECI_ESTALE);
	assert_false(xeci_db_redo(f->db));
	assert_int_equal(xeci_db_depth(f->db), 1);
	/* fails after storing a row: only a savepoint could undo it alone */
	assert_int_equal(bad_upload(f, &l1, &q1), XECI_EINVALID);
	assert_true(xeci_db_redo(f->db));
	xeci_db_rollback(f->db);
	assert_int_equal(count(f, "SELECT count(*) FROM leases"), 0);
	/* the same units under real savepoints: the bad upload alone goes */
	assert_int_equal(xeci_db_begin(f->db), 0);
	assert_int_equal(xeci_job_db_lease(&l2, f->db, &q1, 1000, 60000), 0);
	assert_int_equal(bad_upload(f, &l2, &q1), XECI_EINVALID);
	assert_false(xeci_db_redo(f->db));
	assert_int_equal(xeci_db_commit(f->db), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM job_results"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE state = 'leased'"), 1);
	xeci_lease_clear(&l1);
	xeci_lease_clear(&l2);
}

/* ---- through dbgroup, on a loop ------------------------------------------------ */

enum { LEASE, BAD_UPLOAD };

typedef struct item {
	xeci_dbgroup_item it;
	fx *f;
	int kind;
	const xeci_agent *agent;
	const xeci_lease *of; /* BAD_UPLOAD: the lease it uploads for */
	xeci_lease got;
	int rc, runs, resets, undos, dones;
} item;

static void it_run(xeci_dbgroup_item *it, xeci_db *db)
{
	item *x = (item *)it;
	(void)db;
	x->runs++;
	if (x->kind == LEASE)
		x->rc = xeci_job_db_lease(&x->got, x->f->db, x->agent, 1000, 60000);
	else
		x->rc = bad_upload(x->f, x->of, x->agent);
}

static void it_reset(xeci_dbgroup_item *it)
{
	item *x = (item *)it;
	x->resets++;
	xeci_lease_clear(&x->got);
}

static void it_undo(xeci_dbgroup_item *it, int rc)
{
	((item *)it)->undos++;
	(void)rc;
}

static void it_done(xeci_dbgroup_item *it)
{
	((item *)it)->dones++;
}

static xeci_db *fx_db(void *ctx)
{
	return ((fx *)ctx)->db;
}

static void nothing(uv_timer_t *t)
{
	(void)t;
}

static void run_group(fx *f, item *items, size_t n)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	xeci_dbgroup *g;
	assert_int_equal(xeci_dbgroup_new(&g, &loop, fx_db, f, 16), 0);
	for (size_t i = 0; i < n; i++) {
		items[i].it = (xeci_dbgroup_item){.run = it_run, .reset = it_reset, .undo = it_undo, .done = it_done};
		items[i].f = f;
		xeci_dbgroup_submit(g, &items[i].it);
	}
	uv_timer_t t; /* one iteration with a live handle: the check launches the group */
	uv_timer_init(&loop, &t);
	uv_timer_start(&t, nothing, 0, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	xeci_dbgroup_stop(g);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	xeci_dbgroup_free(g);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void group_redone_with_savepoints(void **state)
{
	fx *f = *state;
	xeci_lease held;
	assert_int_equal(xeci_job_db_lease(&held, f->db, &q2, 1000, 60000), 0);
	assert_true(held.job_id > 0);
	item items[3] = {{.kind = LEASE, .agent = &q1},
			 {.kind = BAD_UPLOAD, .agent = &q2, .of = &held},
			 {.kind = LEASE, .agent = &q1}};
	run_group(f, items, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(items[i].runs, 2); /* the light pass, then with savepoints */
		assert_int_equal(items[i].resets, 1);
		assert_int_equal(items[i].undos, 0);
		assert_int_equal(items[i].dones, 1);
	}
	assert_int_equal(items[0].rc, 0);
	assert_int_equal(items[1].rc, XECI_EINVALID);
	assert_int_equal(items[2].rc, 0);
	assert_true(items[0].got.job_id > 0 && items[2].got.job_id > 0);
	assert_int_not_equal(items[0].got.job_id, items[2].got.job_id);
	/* the held job untouched, no result; one lease row a job, those of the second pass */
	assert_int_equal(count(f, "SELECT count(*) FROM job_results"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE state = 'leased' AND attempts = 1"), 3);
	assert_int_equal(count(f, "SELECT count(*) FROM leases"), 3);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs j JOIN leases l ON l.id = j.lease_id AND "
				  "l.job_id = j.id AND l.agent_id = j.agent_id"),
			 3);
	for (int i = 0; i < 3; i++)
		xeci_lease_clear(&items[i].got);
	xeci_lease_clear(&held);
}

static void group_light_when_nothing_fails(void **state)
{
	fx *f = *state;
	item items[2] = {{.kind = LEASE, .agent = &q1}, {.kind = LEASE, .agent = &q2}};
	run_group(f, items, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(items[i].runs, 1);
		assert_int_equal(items[i].resets, 0);
		assert_int_equal(items[i].rc, 0);
	}
	assert_int_equal(count(f, "SELECT count(*) FROM leases"), 2);
	for (int i = 0; i < 2; i++)
		xeci_lease_clear(&items[i].got);
}

/* The state CHECKs hold without IN lists (migration 0009): a bad state is refused. */
static void state_checks_without_in_lists(void **state)
{
	fx *f = *state;
	assert_int_equal(count(f, "SELECT count(*) FROM sqlite_schema WHERE name IN ('agents', 'jobs', 'leases') "
				  "AND instr(sql, 'CHECK (state = ') > 0 AND instr(sql, 'state IN (') = 0"),
			 3);
	const char *bad[] = {"UPDATE agents SET state = 'gone'", "UPDATE jobs SET state = 'lost'",
			     "INSERT INTO leases (job_id, agent_id, state) SELECT j.id, a.id, 'held' FROM jobs j, agents a"};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(xeci_db_exec(f->db, bad[i]), XECI_EIO);
		assert_non_null(strstr(xeci_error_last(), "CHECK constraint failed"));
	}
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE state = 'queued'"), 3);
	assert_int_equal(count(f, "SELECT count(*) FROM leases"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(light_marks_only_changed_rollbacks, setup, teardown),
		cmocka_unit_test_setup_teardown(group_redone_with_savepoints, setup, teardown),
		cmocka_unit_test_setup_teardown(group_light_when_nothing_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(state_checks_without_in_lists, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
