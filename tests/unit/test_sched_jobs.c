/* Dispatch in SQLite (daemon/sched_db.c) on a real database file, part 2:
 * the rest of a job's life: results and verdicts, expiry and quarantine, an
 * agent giving up, remove/requeue, superseded versions. test_sched_db.c has
 * agents, enqueueing, leases and heartbeats. */
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

#include "test_sched_fixture.h"

static int64_t qemu_job(fx *f, xeci_lease *l, const xeci_agent *a, int64_t now)
{
	int64_t id = lease(f, l, a, now, 60000);
	if (!id)
		fail_msg("no qemu job to lease");
	return id;
}

static void results(void **state)
{
	fx *f = *state;
	fx_load_cfg(f, CFG_PLANS);
	for (int i = 0; i < 14; i++)
		passed_series_build(f, 1, NULL);
	assert_int_equal(enqueue(f), 70);
	xeci_agent a, b;
	char *ta = new_agent(f, &a, "qemu-a", "qemu", NULL);
	char *tb = new_agent(f, &b, "qemu-b", "qemu", NULL);
	xeci_lease l;

	/* partial uploads, the same twice: the same rows */
	int64_t job = qemu_job(f, &l, &a, 1000);
	xeci_test_result r[] = {
		{.test = "xe_bo.xe_ccs_migrate", .suite = "kunit:xe", .status = "pass", .duration_ms = 12, .out = "ok",
		 .log_path = "logs/1.txt"},
		{.test = "hmm-tests.migrate", .suite = "ktap:hmm-tests", .status = "skip", .duration_ms = -1},
	};
	assert_int_equal(xeci_job_db_results(f->db, job, l.lease_id, a.id, r, 2, false), 0);
	assert_text(f, "leased", "SELECT state FROM jobs WHERE id = %lld", (long long)job);
	char *d1 = results_digest(f, job);
	char want[512];
	snprintf(want, sizeof(want),
		 "2:hmm-tests.migrate|%lld|ktap:hmm-tests|skip|-|-|-;xe_bo.xe_ccs_migrate|%lld|kunit:xe|pass|12|ok|"
		 "logs/1.txt",
		 (long long)l.lease_id, (long long)l.lease_id);
	assert_string_equal(d1, want);
	assert_int_equal(xeci_job_db_results(f->db, job, l.lease_id, a.id, r, 2, false), 0);
	char *d2 = results_digest(f, job);
	assert_string_equal(d1, d2);
	free(d1);
	free(d2);
	/* a result uploaded again with another status: replaced */
	xeci_test_result r2 = {.test = "hmm-tests.migrate", .suite = "ktap:hmm-tests", .status = "pass",
			       .duration_ms = 5};
	assert_int_equal(xeci_job_db_results(f->db, job, l.lease_id, a.id, &r2, 1, false), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM job_results WHERE job_id = %lld", (long long)job), 2);
	assert_text(f, "pass|5", "SELECT status || '|' || duration_ms FROM job_results WHERE job_id = %lld AND "
				 "test = 'hmm-tests.migrate'",
		    (long long)job);
	/* an invalid result: nothing of the upload stored */
	xeci_test_result bad[] = {
		{.test = "new.one", .status = "pass", .duration_ms = 1},
		{.test = NULL, .status = "fail", .duration_ms = 1},
	};
	d1 = results_digest(f, job);
	assert_int_equal(xeci_job_db_results(f->db, job, l.lease_id, a.id, bad, 2, true), XECI_EINVALID);
	bad[1].test = "";
	assert_int_equal(xeci_job_db_results(f->db, job, l.lease_id, a.id, bad, 2, true), XECI_EINVALID);
	bad[1].test = "no.status";
	bad[1].status = NULL;
	assert_int_equal(xeci_job_db_results(f->db, job, l.lease_id, a.id, bad, 2, true), XECI_EINVALID);
	d2 = results_digest(f, job);
	assert_string_equal(d1, d2);
	free(d1);
	free(d2);
	assert_text(f, "leased", "SELECT state FROM jobs WHERE id = %lld", (long long)job);
	/* the database is usable after the rollback: no transaction left open */
	assert_int_equal(sqlite3_get_autocommit(xeci_db_handle(f->db)), 1);

	/* final: done, pass (pass and skip), lease completed, the streak ends */
	exec(f, "UPDATE agents SET infra_failures = 2 WHERE id = %lld", (long long)a.id);
	assert_int_equal(xeci_job_db_results(f->db, job, l.lease_id, a.id, r, 2, true), 0);
	assert_text(f, "done|pass", "SELECT state || '|' || result FROM jobs WHERE id = %lld", (long long)job);
	assert_int_equal(count(f, "SELECT finished_at IS NOT NULL AND lease_deadline IS NULL FROM jobs WHERE id = %lld",
			       (long long)job),
			 1);
	assert_text(f, "completed", "SELECT state FROM leases WHERE id = %lld", (long long)l.lease_id);
	assert_int_equal(count(f, "SELECT ended_at IS NOT NULL FROM leases WHERE id = %lld", (long long)l.lease_id), 1);
	assert_int_equal(count(f, "SELECT infra_failures FROM agents WHERE id = %lld", (long long)a.id), 0);
	/* after the verdict the lease is no longer current: a repeated final upload is refused, rows unchanged */
	d1 = results_digest(f, job);
	assert_int_equal(xeci_job_db_results(f->db, job, l.lease_id, a.id, &r2, 1, true), XECI_ESTALE);
	d2 = results_digest(f, job);
	assert_string_equal(d1, d2);
	free(d1);
	free(d2);
	xeci_lease_clear(&l);

	/* each failing status makes the job fail */
	const char *failing[] = {"fail", "crash", "timeout", "incomplete", "abort", "dmesg-fail"};
	for (size_t i = 0; i < sizeof(failing) / sizeof(failing[0]); i++) {
		job = qemu_job(f, &l, &a, 2000 + (int64_t)i);
		xeci_test_result rr[] = {
			{.test = "t.pass", .status = "pass", .duration_ms = 1},
			{.test = "t.skip", .status = "skip", .duration_ms = 1},
			{.test = "t.bad", .status = failing[i], .duration_ms = 1},
		};
		assert_int_equal(xeci_job_db_results(f->db, job, l.lease_id, a.id, rr, 3, true), 0);
		char *res = text(f, "SELECT state || '|' || result FROM jobs WHERE id = %lld", (long long)job);
		if (strcmp(res, "done|fail"))
			fail_msg("status %s: job %s, want done|fail", failing[i], res);
		free(res);
		xeci_lease_clear(&l);
	}
	/* the failing result in an earlier partial upload counts too */
	job = qemu_job(f, &l, &a, 3000);
	xeci_test_result early = {.test = "t.early", .status = "crash", .duration_ms = 1};
	xeci_test_result late = {.test = "t.late", .status = "pass", .duration_ms = 1};
	assert_int_equal(xeci_job_db_results(f->db, job, l.lease_id, a.id, &early, 1, false), 0);
	assert_int_equal(xeci_job_db_results(f->db, job, l.lease_id, a.id, &late, 1, true), 0);
	assert_text(f, "fail", "SELECT result FROM jobs WHERE id = %lld", (long long)job);
	xeci_lease_clear(&l);
	/* warnings are no failure (the header's list) */
	job = qemu_job(f, &l, &a, 3001);
	xeci_test_result warn[] = {
		{.test = "t.w", .status = "warn", .duration_ms = 1},
		{.test = "t.dw", .status = "dmesg-warn", .duration_ms = 1},
		{.test = "t.nr", .status = "notrun", .duration_ms = 1},
	};
	assert_int_equal(xeci_job_db_results(f->db, job, l.lease_id, a.id, warn, 3, true), 0);
	assert_text(f, "pass", "SELECT result FROM jobs WHERE id = %lld", (long long)job);
	xeci_lease_clear(&l);

	/* a stale lease: the job re-leased to b after a's lease expired */
	job = qemu_job(f, &l, &a, 4000);
	int64_t old_lease = l.lease_id;
	xeci_lease_clear(&l);
	int n;
	assert_int_equal(xeci_job_db_expire(&n, f->db, 4000 + 60001), 0);
	assert_int_equal(n, 1);
	exec(f, "UPDATE jobs SET priority = 1000 WHERE id = %lld", (long long)job);
	assert_int_equal(qemu_job(f, &l, &b, 70000), job);
	xeci_test_result mine = {.test = "t.x", .status = "pass", .duration_ms = 3};
	assert_int_equal(xeci_job_db_results(f->db, job, l.lease_id, b.id, &mine, 1, false), 0);
	int64_t rows = count(f, "SELECT count(*) FROM job_results");
	d1 = results_digest(f, job);
	xeci_test_result theirs[] = {
		{.test = "t.x", .status = "fail", .duration_ms = 9},
		{.test = "t.y", .status = "pass", .duration_ms = 9},
	};
	assert_int_equal(xeci_job_db_results(f->db, job, old_lease, a.id, theirs, 2, false), XECI_ESTALE);
	assert_int_equal(xeci_job_db_results(f->db, job, old_lease, a.id, theirs, 2, true), XECI_ESTALE);
	/* the current lease id from the wrong agent */
	assert_int_equal(xeci_job_db_results(f->db, job, l.lease_id, a.id, theirs, 2, true), XECI_ESTALE);
	assert_int_equal(count(f, "SELECT count(*) FROM job_results"), rows);
	d2 = results_digest(f, job);
	assert_string_equal(d1, d2);
	free(d1);
	free(d2);
	assert_text(f, "leased", "SELECT state FROM jobs WHERE id = %lld", (long long)job);
	assert_int_equal(count(f, "SELECT count(*) FROM leases WHERE id = %lld AND state = 'expired'",
			       (long long)old_lease),
			 1);
	/* unknown job */
	assert_int_equal(xeci_job_db_results(f->db, 424242, l.lease_id, b.id, &mine, 1, true), XECI_ENOTFOUND);
	assert_int_equal(sqlite3_get_autocommit(xeci_db_handle(f->db)), 1);
	xeci_lease_clear(&l);
	xeci_agent_clear(&a);
	xeci_agent_clear(&b);
	free(ta);
	free(tb);
}

/* ---- 6. expire ---------------------------------------------------------------- */

static void expire(void **state)
{
	fx *f = *state;
	fx_load_cfg(f, CFG_PLANS);
	passed_series_build(f, 10, NULL);
	passed_series_build(f, 5, NULL);
	assert_int_equal(enqueue(f), 10);
	xeci_agent a, c;
	char *ta = new_agent(f, &a, "qemu-a", "qemu", NULL);
	char *tc = new_agent(f, &c, "lnl-c", "lnl", "[\"fault-mode\"]");
	xeci_lease l, k;
	/* k: a lease far from its deadline, never touched */
	int64_t kjob = lease(f, &k, &c, 0, 1000000000);
	assert_true(kjob > 0);

	int64_t job = lease(f, &l, &a, 1000, 100);
	int n = -1;
	/* at the deadline: not yet */
	assert_int_equal(xeci_job_db_expire(&n, f->db, 1100), 0);
	assert_int_equal(n, 0);
	assert_text(f, "leased", "SELECT state FROM jobs WHERE id = %lld", (long long)job);
	assert_text(f, "active", "SELECT state FROM leases WHERE id = %lld", (long long)l.lease_id);

	for (int attempt = 1; attempt <= 3; attempt++) {
		if (attempt > 1) {
			reauth(f, &a, ta);
			assert_string_equal(a.state, "active");
			xeci_lease_clear(&l);
			assert_int_equal(lease(f, &l, &a, 1000 * attempt, 100), job);
		}
		assert_int_equal(count(f, "SELECT attempts FROM jobs WHERE id = %lld", (long long)job), attempt);
		assert_int_equal(xeci_job_db_expire(&n, f->db, 1000 * attempt + 101), 0);
		assert_int_equal(n, 1);
		assert_text(f, "expired", "SELECT state FROM leases WHERE id = %lld", (long long)l.lease_id);
		assert_int_equal(count(f, "SELECT ended_at IS NOT NULL FROM leases WHERE id = %lld",
				       (long long)l.lease_id),
				 1);
		assert_int_equal(count(f, "SELECT infra_failures FROM agents WHERE id = %lld", (long long)a.id),
				 attempt);
		if (attempt < 3) {
			assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE id = %lld AND state = 'queued' AND "
						  "lease_id IS NULL AND lease_deadline IS NULL AND agent_id IS NULL AND "
						  "finished_at IS NULL",
					       (long long)job),
					 1);
			assert_text(f, "active", "SELECT state FROM agents WHERE id = %lld", (long long)a.id);
		}
		/* the other lease: untouched */
		assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE id = %lld AND state = 'leased' AND "
					  "lease_id = %lld",
				       (long long)kjob, (long long)k.lease_id),
				 1);
		assert_text(f, "active", "SELECT state FROM leases WHERE id = %lld", (long long)k.lease_id);
	}
	/* out of attempts: incomplete, the machine lost */
	assert_text(f, "incomplete", "SELECT state FROM jobs WHERE id = %lld", (long long)job);
	assert_text_has(f, "machine lost", "SELECT reason FROM jobs WHERE id = %lld", (long long)job);
	assert_int_equal(count(f, "SELECT finished_at IS NOT NULL AND lease_id IS NULL AND result IS NULL FROM jobs "
				  "WHERE id = %lld",
			       (long long)job),
			 1);
	assert_int_equal(count(f, "SELECT count(*) FROM leases WHERE job_id = %lld AND state = 'expired'",
			       (long long)job),
			 3);
	/* 3 in a row: quarantined, with a reason */
	assert_text(f, "quarantined", "SELECT state FROM agents WHERE id = %lld", (long long)a.id);
	assert_text_has(f, "infrastructure", "SELECT quarantine_reason FROM agents WHERE id = %lld", (long long)a.id);
	reauth(f, &a, ta);
	assert_string_equal(a.state, "quarantined");
	assert_int_equal(a.infra_failures, 3);
	xeci_lease_clear(&l);
	assert_int_equal(lease(f, &l, &a, 5000, 100), 0);
	/* nothing more to expire */
	assert_int_equal(xeci_job_db_expire(&n, f->db, 10000), 0);
	assert_int_equal(n, 0);

	/* release: active again, no failures */
	assert_int_equal(xeci_agent_db_release(f->db, "qemu-a"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM agents WHERE id = %lld AND state = 'active' AND "
				  "infra_failures = 0 AND quarantine_reason IS NULL",
			       (long long)a.id),
			 1);
	reauth(f, &a, ta);
	/* the incomplete job is not leased again; the other qemu job is */
	int64_t other = lease(f, &l, &a, 6000, 100);
	assert_true(other > 0);
	assert_int_not_equal(other, job);
	xeci_lease_clear(&l);
	xeci_lease_clear(&k);
	xeci_agent_clear(&a);
	xeci_agent_clear(&c);
	free(ta);
	free(tc);
}

/* Many leases past their deadline at once: every one expires. */
static void expire_many(void **state)
{
	fx *f = *state;
	fx_load_cfg(f, CFG_PLANS);
	for (int i = 0; i < 6; i++)
		passed_series_build(f, i, NULL);
	assert_int_equal(enqueue(f), 30);
	xeci_agent a[6];
	char *t[6];
	for (int i = 0; i < 6; i++) {
		char name[32];
		snprintf(name, sizeof(name), "q%d", i);
		t[i] = new_agent(f, &a[i], name, "qemu", NULL);
		xeci_lease l;
		assert_true(lease(f, &l, &a[i], 1000 + i, 1000) > 0);
		xeci_lease_clear(&l);
	}
	int n = -1;
	/* deadlines 2000..2005: three of them before 2003 */
	assert_int_equal(xeci_job_db_expire(&n, f->db, 2003), 0);
	assert_int_equal(n, 3);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE platform = 'qemu' AND state = 'leased'"), 3);
	assert_int_equal(xeci_job_db_expire(&n, f->db, 99999), 0);
	assert_int_equal(n, 3);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE platform = 'qemu' AND state = 'queued' AND "
				  "attempts = 1 AND lease_id IS NULL"),
			 6);
	assert_int_equal(count(f, "SELECT count(*) FROM leases WHERE state = 'expired'"), 6);
	assert_int_equal(count(f, "SELECT count(*) FROM agents WHERE infra_failures = 1 AND state = 'active'"), 6);
	for (int i = 0; i < 6; i++) {
		xeci_agent_clear(&a[i]);
		free(t[i]);
	}
}

/* ---- 7. fail --------------------------------------------------------------------- */

static void fail_job(void **state)
{
	fx *f = *state;
	fx_load_cfg(f, CFG_PLANS);
	passed_series_build(f, 10, NULL);
	passed_series_build(f, 5, NULL);
	assert_int_equal(enqueue(f), 10);
	xeci_agent a, b;
	char *ta = new_agent(f, &a, "qemu-a", "qemu", NULL);
	char *tb = new_agent(f, &b, "qemu-b", "qemu", NULL);
	xeci_lease l;

	/* infra: requeued while attempts remain; the streak grows */
	int64_t job = lease(f, &l, &a, 1000, 60000);
	for (int attempt = 1; attempt <= 3; attempt++) {
		if (attempt > 1) {
			reauth(f, &a, ta);
			xeci_lease_clear(&l);
			assert_int_equal(lease(f, &l, &a, 1000 * attempt, 60000), job);
		}
		assert_int_equal(xeci_job_db_fail(f->db, job, l.lease_id, a.id, "the kernel did not boot", true), 0);
		assert_text(f, "released", "SELECT state FROM leases WHERE id = %lld", (long long)l.lease_id);
		assert_int_equal(count(f, "SELECT infra_failures FROM agents WHERE id = %lld", (long long)a.id),
				 attempt);
		/* the reason is the verdict's: set only when the job ends incomplete */
		if (attempt == 3)
			assert_text_has(f, "the kernel did not boot", "SELECT reason FROM jobs WHERE id = %lld",
					(long long)job);
		else
			assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE id = %lld AND reason IS NULL",
					       (long long)job), 1);
		if (attempt < 3) {
			assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE id = %lld AND state = 'queued' AND "
						  "lease_id IS NULL AND agent_id IS NULL AND lease_deadline IS NULL",
					       (long long)job),
					 1);
			assert_text(f, "active", "SELECT state FROM agents WHERE id = %lld", (long long)a.id);
		}
	}
	assert_text(f, "incomplete", "SELECT state FROM jobs WHERE id = %lld", (long long)job);
	assert_int_equal(count(f, "SELECT finished_at IS NOT NULL FROM jobs WHERE id = %lld", (long long)job), 1);
	assert_text(f, "quarantined", "SELECT state FROM agents WHERE id = %lld", (long long)a.id);
	assert_text_has(f, "the kernel did not boot", "SELECT quarantine_reason FROM agents WHERE id = %lld",
			(long long)a.id);
	/* a stale lease: refused, nothing changes */
	char *before = job_digest(f, job);
	assert_int_equal(xeci_job_db_fail(f->db, job, l.lease_id, a.id, "again", true), XECI_ESTALE);
	assert_int_equal(count(f, "SELECT infra_failures FROM agents WHERE id = %lld", (long long)a.id), 3);
	char *after = job_digest(f, job);
	assert_string_equal(before, after);
	free(before);
	free(after);
	xeci_lease_clear(&l);

	/* not infra: incomplete at once with the reason, the streak unchanged */
	int64_t job2 = lease(f, &l, &b, 9000, 60000);
	assert_true(job2 > 0);
	assert_int_not_equal(job2, job);
	assert_int_equal(xeci_job_db_fail(f->db, job2, l.lease_id, b.id, "igt_runner died", false), 0);
	assert_text(f, "incomplete", "SELECT state FROM jobs WHERE id = %lld", (long long)job2);
	assert_text_has(f, "igt_runner died", "SELECT reason FROM jobs WHERE id = %lld", (long long)job2);
	assert_int_equal(count(f, "SELECT attempts = 1 AND finished_at IS NOT NULL AND lease_deadline IS NULL FROM "
				  "jobs WHERE id = %lld",
			       (long long)job2),
			 1);
	assert_text(f, "released", "SELECT state FROM leases WHERE id = %lld", (long long)l.lease_id);
	assert_int_equal(count(f, "SELECT infra_failures FROM agents WHERE id = %lld", (long long)b.id), 0);
	/* the lease is gone: a second fail, a heartbeat, results are stale */
	assert_int_equal(xeci_job_db_fail(f->db, job2, l.lease_id, b.id, "again", false), XECI_ESTALE);
	assert_int_equal(xeci_job_db_heartbeat(f->db, job2, l.lease_id, b.id, 9001, 60000, NULL, 0, 0), XECI_ESTALE);
	assert_int_equal(xeci_job_db_results(f->db, job2, l.lease_id, b.id, NULL, 0, true), XECI_ESTALE);
	assert_text(f, "incomplete", "SELECT state FROM jobs WHERE id = %lld", (long long)job2);
	xeci_lease_clear(&l);
	/* unknown job */
	assert_int_equal(xeci_job_db_fail(f->db, 424242, 1, b.id, "x", true), XECI_ENOTFOUND);
	assert_int_equal(count(f, "SELECT infra_failures FROM agents WHERE id = %lld", (long long)b.id), 0);
	assert_int_equal(sqlite3_get_autocommit(xeci_db_handle(f->db)), 1);

	/* no reason given */
	exec(f, "UPDATE jobs SET state = 'queued', attempts = 0, reason = NULL WHERE id = %lld", (long long)job);
	reauth(f, &b, tb);
	assert_int_equal(lease(f, &l, &b, 10000, 60000), job);
	assert_int_equal(xeci_job_db_fail(f->db, job, l.lease_id, b.id, NULL, false), 0);
	assert_text_has(f, "gave up", "SELECT reason FROM jobs WHERE id = %lld", (long long)job);
	xeci_lease_clear(&l);
	xeci_agent_clear(&a);
	xeci_agent_clear(&b);
	free(ta);
	free(tb);
}

/* ---- 8. remove, requeue ----------------------------------------------------------- */

static void remove_requeue(void **state)
{
	fx *f = *state;
	fx_load_cfg(f, CFG_PLANS);
	passed_series_build(f, 10, NULL);
	passed_series_build(f, 5, NULL);
	assert_int_equal(enqueue(f), 10);
	xeci_agent a, b;
	char *ta = new_agent(f, &a, "qemu-a", "qemu", NULL);
	char *tb = new_agent(f, &b, "qemu-b", "qemu", NULL);
	xeci_lease la, lb;

	/* a removed agent's job goes back to the queue */
	int64_t job = lease(f, &la, &a, 1000, 60000);
	assert_int_equal(xeci_agent_db_remove(f->db, "qemu-a"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE id = %lld AND state = 'queued' AND lease_id IS "
				  "NULL AND agent_id IS NULL AND lease_deadline IS NULL",
			       (long long)job),
			 1);
	assert_text(f, "released", "SELECT state FROM leases WHERE id = %lld", (long long)la.lease_id);
	assert_int_equal(xeci_job_db_heartbeat(f->db, job, la.lease_id, a.id, 1001, 60000, NULL, 0, 0), XECI_ESTALE);
	xeci_lease_clear(&la);
	/* b's lease is not touched by a's removal */
	assert_int_equal(lease(f, &lb, &b, 2000, 60000), job);
	int64_t other = lease(f, &la, &b, 2000, 60000);
	assert_true(other > 0);
	xeci_lease_clear(&la);
	xeci_agent c;
	char *tc = new_agent(f, &c, "qemu-c", "qemu", NULL);
	assert_int_equal(xeci_agent_db_remove(f->db, "qemu-c"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE id IN (%lld, %lld) AND state = 'leased' AND "
				  "agent_id = %lld",
			       (long long)job, (long long)other, (long long)b.id),
			 2);

	/* requeue of a done job: queued, fresh attempts, results gone */
	xeci_test_result r[] = {{.test = "t.a", .status = "fail", .duration_ms = 1},
				{.test = "t.b", .status = "pass", .duration_ms = 1}};
	assert_int_equal(xeci_job_db_results(f->db, job, lb.lease_id, b.id, r, 2, true), 0);
	assert_text(f, "done|fail", "SELECT state || '|' || result FROM jobs WHERE id = %lld", (long long)job);
	assert_int_equal(xeci_job_db_requeue(f->db, job), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE id = %lld AND state = 'queued' AND attempts = 0 "
				  "AND result IS NULL AND reason IS NULL AND finished_at IS NULL AND lease_id IS NULL "
				  "AND agent_id IS NULL",
			       (long long)job),
			 1);
	assert_int_equal(count(f, "SELECT count(*) FROM job_results WHERE job_id = %lld", (long long)job), 0);
	assert_text(f, "completed", "SELECT state FROM leases WHERE id = %lld", (long long)lb.lease_id);
	xeci_lease_clear(&lb);
	/* it is leased again with a first attempt */
	reauth(f, &b, tb);
	assert_int_equal(lease(f, &lb, &b, 3000, 60000), job);
	assert_int_equal(count(f, "SELECT attempts FROM jobs WHERE id = %lld", (long long)job), 1);
	/* requeue of a leased job: its lease released, stale from now on */
	assert_int_equal(xeci_job_db_requeue(f->db, job), 0);
	assert_text(f, "released", "SELECT state FROM leases WHERE id = %lld", (long long)lb.lease_id);
	assert_text(f, "queued", "SELECT state FROM jobs WHERE id = %lld", (long long)job);
	assert_int_equal(xeci_job_db_heartbeat(f->db, job, lb.lease_id, b.id, 3001, 60000, NULL, 0, 0), XECI_ESTALE);
	xeci_lease_clear(&lb);
	/* an incomplete job: queued again */
	exec(f, "UPDATE jobs SET state = 'incomplete', attempts = 3, reason = 'incomplete: machine lost' "
		"WHERE id = %lld",
	     (long long)other);
	assert_int_equal(xeci_job_db_requeue(f->db, other), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE id = %lld AND state = 'queued' AND attempts = 0 "
				  "AND reason IS NULL",
			       (long long)other),
			 1);
	/* unknown id */
	int64_t nres = count(f, "SELECT count(*) FROM leases WHERE state = 'active'");
	assert_int_equal(xeci_job_db_requeue(f->db, 424242), XECI_ENOTFOUND);
	assert_int_equal(count(f, "SELECT count(*) FROM leases WHERE state = 'active'"), nres);
	assert_int_equal(sqlite3_get_autocommit(xeci_db_handle(f->db)), 1);
	xeci_agent_clear(&a);
	xeci_agent_clear(&b);
	xeci_agent_clear(&c);
	free(ta);
	free(tb);
	free(tc);
}

/* ---- 9. cancel_superseded ------------------------------------------------------------ */

static void cancel_superseded(void **state)
{
	fx *f = *state;
	fx_load_cfg(f, CFG_PLANS);
	int64_t v1, v2;
	int64_t b1 = passed_series_build(f, 10, &v1);
	int64_t b2 = passed_series_build(f, 5, &v2);
	int64_t base = add_build(f, 0, "drm-tip", "xe-hw", "passed", 0, NULL, "base1");
	assert_int_equal(enqueue(f), 15);
	xeci_agent a;
	char *ta = new_agent(f, &a, "qemu-a", "qemu", NULL);
	xeci_lease l;
	/* v1's qemu job first: the base's priority is v1's too (10), but b1's job is older */
	int64_t leased = lease(f, &l, &a, 1000, 60000);
	assert_int_equal(count(f, "SELECT build_id FROM jobs WHERE id = %lld", (long long)leased), b1);

	int n = -1;
	assert_int_equal(xeci_job_db_cancel_superseded(&n, f->db), 0);
	assert_int_equal(n, 0);
	exec(f, "UPDATE series_versions SET state = 'superseded' WHERE id = %lld", (long long)v1);
	assert_int_equal(xeci_job_db_cancel_superseded(&n, f->db), 0);
	assert_int_equal(n, 4);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE build_id = %lld AND state = 'cancelled' AND "
				  "reason IS NOT NULL AND finished_at IS NOT NULL",
			       (long long)b1),
			 4);
	/* the leased one untouched, its lease still current */
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE id = %lld AND state = 'leased' AND lease_id = %lld",
			       (long long)leased, (long long)l.lease_id),
			 1);
	assert_int_equal(xeci_job_db_heartbeat(f->db, leased, l.lease_id, a.id, 1001, 60000, NULL, 0, 0), 0);
	/* the other version and the base build: queued */
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE build_id IN (%lld, %lld) AND state = 'queued'",
			       (long long)b2, (long long)base),
			 10);
	/* again: nothing */
	assert_int_equal(xeci_job_db_cancel_superseded(&n, f->db), 0);
	assert_int_equal(n, 0);
	/* a cancelled job is not leased */
	xeci_agent g;
	char *tg = new_agent(f, &g, "lnl", "lnl", "[\"fault-mode\"]");
	xeci_lease lg;
	for (int i = 0; i < 4; i++) {
		int64_t id = lease(f, &lg, &g, 2000, 60000);
		if (i < 4 && id)
			assert_int_not_equal(count(f, "SELECT build_id FROM jobs WHERE id = %lld", (long long)id), b1);
		xeci_lease_clear(&lg);
	}
	xeci_lease_clear(&l);
	xeci_agent_clear(&a);
	xeci_agent_clear(&g);
	free(ta);
	free(tg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(results, setup, teardown),
		cmocka_unit_test_setup_teardown(expire, setup, teardown),
		cmocka_unit_test_setup_teardown(expire_many, setup, teardown),
		cmocka_unit_test_setup_teardown(fail_job, setup, teardown),
		cmocka_unit_test_setup_teardown(remove_requeue, setup, teardown),
		cmocka_unit_test_setup_teardown(cancel_superseded, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
