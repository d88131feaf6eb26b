/* Dispatch in SQLite (daemon/sched_db.c) on a real database file, part 1:
 * agents and their tokens, enqueueing one job per testplan x platform x
 * shard, leases (platform, capabilities, order, fencing), heartbeats.
 * test_sched_jobs.c has the rest of a job's life; test_sched_fixture.h
 * what both use. */
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

static void agents(void **state)
{
	fx *f = *state;
	char *tok = NULL;
	assert_int_equal(xeci_agent_db_add(&tok, f->db, "dut1", "lnl"), 0);
	assert_non_null(tok);
	assert_int_equal(strlen(tok), 64);
	for (size_t i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", tok[i]));
	/* only its sha256 is stored: the token text is nowhere in the table */
	assert_int_equal(count(f, "SELECT count(*) FROM agents WHERE instr(id || name || platform || token_sha256 || "
				  "state || coalesce(facts, '') || capabilities || coalesce(quarantine_reason, ''), "
				  "%Q) > 0",
			       tok),
			 0);
	char hash[65];
	xeci_sha256_hex(hash, tok, 64);
	assert_text(f, hash, "SELECT token_sha256 FROM agents WHERE name = 'dut1'");

	/* the same name again */
	char *tok2 = NULL;
	assert_int_equal(xeci_agent_db_add(&tok2, f->db, "dut1", "bmg"), XECI_EEXISTS);
	assert_null(tok2);
	assert_int_equal(count(f, "SELECT count(*) FROM agents"), 1);
	assert_int_equal(xeci_agent_db_add(&tok2, f->db, "", "bmg"), XECI_EINVALID);
	assert_int_equal(xeci_agent_db_add(&tok2, f->db, "dut2", NULL), XECI_EINVALID);
	assert_null(tok2);
	/* a second agent: another token */
	assert_int_equal(xeci_agent_db_add(&tok2, f->db, "dut2", "bmg"), 0);
	assert_string_not_equal(tok, tok2);

	/* auth */
	xeci_agent a;
	assert_int_equal(xeci_agent_db_auth(&a, f->db, tok), 0);
	assert_int_equal(a.id, count(f, "SELECT id FROM agents WHERE name = 'dut1'"));
	assert_string_equal(a.name, "dut1");
	assert_string_equal(a.platform, "lnl");
	assert_string_equal(a.state, "active");
	assert_string_equal(a.capabilities, "[]");
	assert_int_equal(a.infra_failures, 0);
	assert_int_equal(count(f, "SELECT last_seen_at IS NOT NULL FROM agents WHERE name = 'dut1'"), 1);
	xeci_agent b;
	assert_int_equal(xeci_agent_db_auth(&b, f->db, tok2), 0);
	assert_string_equal(b.name, "dut2");
	assert_string_equal(b.platform, "bmg");
	xeci_agent_clear(&b);

	/* wrong, short, empty, NULL, upper-cased tokens */
	char wrong[65];
	memcpy(wrong, tok, 65);
	wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
	assert_int_equal(xeci_agent_db_auth(&b, f->db, wrong), XECI_ENOTFOUND);
	assert_null(b.name);
	char shorter[65];
	memcpy(shorter, tok, 63);
	shorter[63] = 0;
	assert_int_equal(xeci_agent_db_auth(&b, f->db, shorter), XECI_ENOTFOUND);
	char longer[70];
	snprintf(longer, sizeof(longer), "%s0", tok);
	assert_int_equal(xeci_agent_db_auth(&b, f->db, longer), XECI_ENOTFOUND);
	assert_int_equal(xeci_agent_db_auth(&b, f->db, "abc"), XECI_ENOTFOUND);
	assert_int_equal(xeci_agent_db_auth(&b, f->db, ""), XECI_ENOTFOUND);
	assert_int_equal(xeci_agent_db_auth(&b, f->db, NULL), XECI_ENOTFOUND);
	assert_int_equal(xeci_agent_db_auth(&b, f->db, hash), XECI_ENOTFOUND); /* the stored hash is no token */
	char upper[65];
	for (size_t i = 0; i < 65; i++)
		upper[i] = (char)(tok[i] >= 'a' && tok[i] <= 'f' ? tok[i] - 32 : tok[i]);
	if (strcmp(upper, tok))
		assert_int_equal(xeci_agent_db_auth(&b, f->db, upper), XECI_ENOTFOUND);

	/* register: facts and capabilities */
	json_t *facts = json_pack("{s:s, s:i, s:[s]}", "hostname", "dut1.lab", "gpus", 2, "pci", "8086:64a0");
	json_t *caps = json_pack("[s, s]", "fault-mode", "display");
	assert_int_equal(xeci_agent_db_register(f->db, a.id, facts, caps), 0);
	char *stored = text(f, "SELECT facts FROM agents WHERE id = %lld", (long long)a.id);
	json_t *back = json_loads(stored, 0, NULL);
	assert_non_null(back);
	assert_true(json_equal(back, facts));
	json_decref(back);
	free(stored);
	assert_text(f, "[\"fault-mode\",\"display\"]", "SELECT capabilities FROM agents WHERE id = %lld",
		    (long long)a.id);
	assert_int_equal(count(f, "SELECT registered_at IS NOT NULL FROM agents WHERE id = %lld", (long long)a.id), 1);
	reauth(f, &a, tok);
	assert_string_equal(a.capabilities, "[\"fault-mode\",\"display\"]");
	/* capabilities that are not an array: none */
	json_t *notarr = json_string("fault-mode");
	assert_int_equal(xeci_agent_db_register(f->db, a.id, facts, notarr), 0);
	assert_text(f, "[]", "SELECT capabilities FROM agents WHERE id = %lld", (long long)a.id);
	json_decref(notarr);
	json_decref(facts);
	json_decref(caps);

	/* remove: the token stops working, the row stays */
	assert_int_equal(xeci_agent_db_remove(f->db, "dut1"), 0);
	assert_int_equal(xeci_agent_db_auth(&b, f->db, tok), XECI_ENOTFOUND);
	assert_text(f, "removed", "SELECT state FROM agents WHERE name = 'dut1'");
	assert_int_equal(xeci_agent_db_remove(f->db, "dut1"), XECI_ENOTFOUND);
	assert_int_equal(xeci_agent_db_remove(f->db, "nobody"), XECI_ENOTFOUND);
	assert_int_equal(xeci_agent_db_release(f->db, "nobody"), XECI_ENOTFOUND);
	assert_int_equal(xeci_agent_db_release(f->db, "dut1"), XECI_ENOTFOUND); /* removed stays removed */
	assert_int_equal(xeci_agent_db_auth(&b, f->db, tok), XECI_ENOTFOUND);
	/* the other agent still works */
	assert_int_equal(xeci_agent_db_auth(&b, f->db, tok2), 0);
	xeci_agent_clear(&b);
	xeci_agent_clear(&a);
	free(tok);
	free(tok2);
}

/* ---- 2. enqueue ------------------------------------------------------------ */

static void enqueue_jobs(void **state)
{
	fx *f = *state;
	/* no testplans: nothing */
	fx_load_cfg(f, "");
	int64_t v1 = add_version(f, "complete", "base1");
	int64_t b1 = add_build(f, v1, "drm-tip", "xe-hw", "passed", 100, "base1", "c1");
	assert_int_equal(enqueue(f), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs"), 0);

	fx_load_cfg(f, CFG_PLANS);
	assert_int_equal(f->cfg->ntestplans, 2);
	int64_t v2 = add_version(f, "complete", "base1");
	int64_t b2 = add_build(f, v2, "drm-tip", "xe-hw", "passed", 200, "base1", "c2");
	/* the base build of both (same tree, config; commit_id = their base_commit) */
	int64_t b3 = add_build(f, 0, "drm-tip", "xe-hw", "passed", 0, NULL, "base1");
	/* not passed: no jobs (on another base, so they do not make b3's priority) */
	int64_t v4 = add_version(f, "complete", "base2");
	int64_t b4 = add_build(f, v4, "drm-tip", "xe-hw", "failed", 500, "base2", NULL);
	int64_t v5 = add_version(f, "complete", "base2");
	int64_t b5 = add_build(f, v5, "drm-tip", "xe-hw", "queued", 600, "base2", NULL);
	int64_t b5b = add_build(f, v5, "drm-tip", "qemu-kunit", "apply-failed", 600, "base2", NULL);
	/* on base1 too, but another tree / another config: not b3's series */
	int64_t v7 = add_version(f, "complete", "base1");
	int64_t b7 = add_build(f, v7, "drm-xe", "xe-hw", "passed", 999, "base1", "c7");
	int64_t b8 = add_build(f, v2, "drm-tip", "other-cfg", "passed", 888, "base1", "c8");
	/* a base build no series was built on */
	int64_t b6 = add_build(f, 0, "drm-tip", "qemu-kunit", "passed", 0, NULL, "base1");

	/* b1, b2, b3, b6, b7, b8: 2 platforms x 2 shards + 1 each */
	assert_int_equal(enqueue(f), 6 * 5);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs"), 30);
	int64_t passed[] = {b1, b2, b3, b6, b7, b8};
	for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
		long long b = (long long)passed[i];
		assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE build_id = %lld", b), 5);
		assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE build_id = %lld AND testplan = 'xe-fault' "
					  "AND shards = 2 AND capabilities = '[\"fault-mode\"]' AND suites = "
					  "'[\"igt:a.testlist\",\"igt:b.testlist\"]'",
				       b),
				 4);
		for (int s = 0; s < 2; s++) {
			assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE build_id = %lld AND testplan = "
						  "'xe-fault' AND platform = 'lnl' AND shard = %d",
					       b, s),
					 1);
			assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE build_id = %lld AND testplan = "
						  "'xe-fault' AND platform = 'bmg' AND shard = %d",
					       b, s),
					 1);
		}
		assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE build_id = %lld AND testplan = 'qemu' AND "
					  "platform = 'qemu' AND shard = 0 AND shards = 1 AND capabilities = '[]' AND "
					  "suites = '[\"kunit:xe\",\"ktap:hmm-tests\"]'",
				       b),
				 1);
		assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE build_id = %lld AND state = 'queued' AND "
					  "attempts = 0 AND max_attempts = 3 AND lease_id IS NULL AND agent_id IS NULL",
				       b),
				 5);
	}
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE build_id IN (%lld, %lld, %lld)", (long long)b4,
			       (long long)b5, (long long)b5b),
			 0);
	/* version ids: the build's, NULL for base builds */
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE build_id = %lld AND version_id = %lld",
			       (long long)b2, (long long)v2),
			 5);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE build_id IN (%lld, %lld) AND version_id IS NULL",
			       (long long)b3, (long long)b6),
			 10);
	/* priorities: the build's; a base build's the newest series on it */
	assert_int_equal(count(f, "SELECT count(DISTINCT priority) || max(priority) FROM jobs WHERE build_id = %lld",
			       (long long)b1),
			 1100);
	assert_int_equal(count(f, "SELECT min(priority) FROM jobs WHERE build_id = %lld", (long long)b2), 200);
	assert_int_equal(count(f, "SELECT min(priority) FROM jobs WHERE build_id = %lld", (long long)b3), 200);
	assert_int_equal(count(f, "SELECT max(priority) FROM jobs WHERE build_id = %lld", (long long)b3), 200);
	assert_int_equal(count(f, "SELECT max(priority) FROM jobs WHERE build_id = %lld", (long long)b6), 0);
	assert_int_equal(count(f, "SELECT min(priority) FROM jobs WHERE build_id = %lld", (long long)b7), 999);

	/* again: nothing new */
	assert_int_equal(enqueue(f), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs"), 30);
	/* the failed build passes later: its jobs come then */
	exec(f, "UPDATE builds SET state = 'passed' WHERE id = %lld", (long long)b4);
	assert_int_equal(enqueue(f), 5);
	assert_int_equal(enqueue(f), 0);
	/* testplans gone from the config: nothing for a new passed build */
	fx_load_cfg(f, "");
	int64_t v9 = add_version(f, "complete", "base3");
	int64_t b9 = add_build(f, v9, "drm-tip", "xe-hw", "passed", 5, "base3", "c9");
	assert_int_equal(enqueue(f), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE build_id = %lld", (long long)b9), 0);
}

/* ---- 3. lease ---------------------------------------------------------------- */

static void lease_rules(void **state)
{
	fx *f = *state;
	fx_load_cfg(f, CFG_PLANS);
	int64_t b1 = passed_series_build(f, 100, NULL);
	int64_t b2 = passed_series_build(f, 200, NULL);
	assert_int_equal(enqueue(f), 10);
	xeci_lease l;
	const int64_t now = 1700000000000LL, ms = 600000;

	/* a qemu agent: only qemu jobs, the highest priority first */
	xeci_agent q;
	char *tq = new_agent(f, &q, "qemu1", "qemu", NULL);
	assert_int_equal(lease(f, &l, &q, now, ms),
			 count(f, "SELECT id FROM jobs WHERE build_id = %lld AND platform = 'qemu'", (long long)b2));
	assert_string_equal(l.testplan, "qemu");
	assert_string_equal(l.platform, "qemu");
	assert_string_equal(l.suites, "[\"kunit:xe\",\"ktap:hmm-tests\"]");
	assert_int_equal(l.shard, 0);
	assert_int_equal(l.shards, 1);
	assert_int_equal(l.build_id, b2);
	assert_int_equal(l.deadline_ms, now + ms);
	assert_true(l.lease_id > 0);
	/* the job: leased, fenced by the new leases row */
	assert_int_equal(count(f, "SELECT lease_id FROM jobs WHERE id = %lld", (long long)l.job_id), l.lease_id);
	assert_int_equal(count(f, "SELECT max(id) FROM leases"), l.lease_id);
	assert_int_equal(count(f, "SELECT count(*) FROM leases WHERE id = %lld AND job_id = %lld AND agent_id = %lld "
				  "AND state = 'active' AND ended_at IS NULL",
			       (long long)l.lease_id, (long long)l.job_id, (long long)q.id),
			 1);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE id = %lld AND state = 'leased' AND attempts = 1 "
				  "AND agent_id = %lld AND lease_deadline = %lld AND started_at IS NOT NULL",
			       (long long)l.job_id, (long long)q.id, (long long)(now + ms)),
			 1);
	xeci_lease_clear(&l);
	assert_int_equal(lease(f, &l, &q, now, ms),
			 count(f, "SELECT id FROM jobs WHERE build_id = %lld AND platform = 'qemu'", (long long)b1));
	xeci_lease_clear(&l);
	/* no qemu job left (xe-fault ones are): none, and no leases row */
	int64_t nleases = count(f, "SELECT count(*) FROM leases");
	assert_int_equal(lease(f, &l, &q, now, ms), 0);
	assert_int_equal(l.lease_id, 0);
	assert_null(l.testplan);
	assert_int_equal(count(f, "SELECT count(*) FROM leases"), nleases);

	/* lnl without fault-mode: none of the xe-fault jobs */
	xeci_agent n;
	char *tn = new_agent(f, &n, "lnl-plain", "lnl", "[\"display\"]");
	assert_int_equal(lease(f, &l, &n, now, ms), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE state = 'leased'"), 2);
	/* with it: priority, then the oldest */
	xeci_agent c;
	char *tc = new_agent(f, &c, "lnl-fault", "lnl", "[\"display\",\"fault-mode\"]");
	int64_t want[4];
	want[0] = count(f, "SELECT id FROM jobs WHERE build_id = %lld AND platform = 'lnl' AND shard = 0", (long long)b2);
	want[1] = count(f, "SELECT id FROM jobs WHERE build_id = %lld AND platform = 'lnl' AND shard = 1", (long long)b2);
	want[2] = count(f, "SELECT id FROM jobs WHERE build_id = %lld AND platform = 'lnl' AND shard = 0", (long long)b1);
	want[3] = count(f, "SELECT id FROM jobs WHERE build_id = %lld AND platform = 'lnl' AND shard = 1", (long long)b1);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(lease(f, &l, &c, now + i, ms), want[i]);
		assert_string_equal(l.testplan, "xe-fault");
		assert_string_equal(l.platform, "lnl");
		assert_int_equal(l.shard, i % 2);
		assert_int_equal(l.shards, 2);
		assert_string_equal(l.suites, "[\"igt:a.testlist\",\"igt:b.testlist\"]");
		assert_int_equal(count(f, "SELECT lease_deadline FROM jobs WHERE id = %lld", (long long)l.job_id),
				 now + i + ms);
		xeci_lease_clear(&l);
	}
	assert_int_equal(lease(f, &l, &c, now, ms), 0);
	assert_int_equal(lease(f, &l, &n, now, ms), 0);
	/* the bmg jobs untouched */
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE platform = 'bmg' AND state = 'queued'"), 4);

	/* an older job with a higher priority goes before a newer one with a lower:
	 * and among equals the oldest */
	exec(f, "UPDATE jobs SET priority = 300 WHERE build_id = %lld AND platform = 'bmg' AND shard = 1", (long long)b1);
	xeci_agent g;
	char *tg = new_agent(f, &g, "bmg1", "bmg", "[\"fault-mode\"]");
	assert_int_equal(lease(f, &l, &g, now, ms),
			 count(f, "SELECT id FROM jobs WHERE build_id = %lld AND platform = 'bmg' AND shard = 1",
			       (long long)b1));
	xeci_lease_clear(&l);

	/* quarantined: nothing */
	exec(f, "UPDATE agents SET state = 'quarantined' WHERE id = %lld", (long long)g.id);
	reauth(f, &g, tg);
	assert_string_equal(g.state, "quarantined");
	nleases = count(f, "SELECT count(*) FROM leases");
	assert_int_equal(lease(f, &l, &g, now, ms), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM leases"), nleases);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE platform = 'bmg' AND state = 'queued'"), 3);

	/* every lease row belongs to a leased job that carries it */
	assert_int_equal(count(f, "SELECT count(*) FROM leases l JOIN jobs j ON j.id = l.job_id WHERE "
				  "j.lease_id = l.id AND j.agent_id = l.agent_id AND j.state = 'leased' AND "
				  "l.state = 'active'"),
			 count(f, "SELECT count(*) FROM leases"));
	xeci_agent_clear(&q);
	xeci_agent_clear(&n);
	xeci_agent_clear(&c);
	xeci_agent_clear(&g);
	free(tq);
	free(tn);
	free(tc);
	free(tg);
}

static void lease_distinct(void **state)
{
	fx *f = *state;
	fx_load_cfg(f, CFG_PLANS);
	for (int i = 0; i < 8; i++)
		passed_series_build(f, 10 * (i % 3), NULL);
	assert_int_equal(enqueue(f), 40);
	xeci_agent a[2];
	char *t[2];
	t[0] = new_agent(f, &a[0], "bmg-a", "bmg", "[\"fault-mode\"]");
	t[1] = new_agent(f, &a[1], "bmg-b", "bmg", "[\"fault-mode\"]");
	xeci_db *db2;
	assert_int_equal(xeci_db_open(&db2, f->dbpath), 0);
	int64_t got[64];
	int n = 0, idle = 0;
	for (int turn = 0; idle < 2 && turn < 100; turn++) {
		xeci_lease l;
		/* each agent through its own connection, as two worker threads would */
		int64_t id;
		if (turn % 2 == 0) {
			id = lease(f, &l, &a[0], 1000 + turn, 60000);
		} else {
			if (xeci_job_db_lease(&l, db2, &a[1], 1000 + turn, 60000) < 0)
				fail_msg("lease: %s", xeci_error_last());
			id = l.job_id;
		}
		if (!id) {
			idle++;
			continue;
		}
		idle = 0;
		for (int i = 0; i < n; i++)
			assert_int_not_equal(got[i], id);
		assert_int_equal(count(f, "SELECT agent_id FROM jobs WHERE id = %lld", (long long)id), a[turn % 2].id);
		got[n++] = id;
		xeci_lease_clear(&l);
	}
	assert_int_equal(n, 16);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE platform = 'bmg' AND state = 'leased'"), 16);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE platform != 'bmg' AND state = 'queued'"), 24);
	/* each leased job: exactly one active lease, the one it carries */
	assert_int_equal(count(f, "SELECT count(*) FROM jobs j WHERE j.state = 'leased' AND "
				  "(SELECT count(*) FROM leases l WHERE l.job_id = j.id AND l.state = 'active') = 1 AND "
				  "(SELECT id FROM leases l WHERE l.job_id = j.id AND l.state = 'active') = j.lease_id"),
			 16);
	assert_int_equal(count(f, "SELECT count(*) FROM leases"), 16);
	/* the order: priority, then id */
	assert_int_equal(count(f, "SELECT count(*) FROM jobs j1 JOIN jobs j2 ON j1.platform = 'bmg' AND "
				  "j2.platform = 'bmg' AND j1.lease_id < j2.lease_id AND (j1.priority < j2.priority OR "
				  "(j1.priority = j2.priority AND j1.id > j2.id))"),
			 0);
	xeci_db_close(db2);
	for (int i = 0; i < 2; i++) {
		xeci_agent_clear(&a[i]);
		free(t[i]);
	}
}

static void lease_empty_queue(void **state)
{
	fx *f = *state;
	fx_load_cfg(f, CFG_PLANS);
	xeci_agent q;
	char *tq = new_agent(f, &q, "qemu1", "qemu", NULL);
	xeci_lease l;
	memset(&l, 0x5a, sizeof(l));
	assert_int_equal(xeci_job_db_lease(&l, f->db, &q, 1000, 1000), 0);
	assert_int_equal(l.job_id, 0);
	assert_int_equal(l.lease_id, 0);
	assert_null(l.testplan);
	assert_null(l.suites);
	assert_int_equal(count(f, "SELECT count(*) FROM leases"), 0);
	xeci_lease_clear(&l);
	xeci_agent_clear(&q);
	free(tq);
}

/* ---- 4. heartbeat ------------------------------------------------------------ */

static void heartbeat(void **state)
{
	fx *f = *state;
	fx_load_cfg(f, CFG_PLANS);
	passed_series_build(f, 1, NULL);
	assert_int_equal(enqueue(f), 5);
	xeci_agent a, b;
	char *ta = new_agent(f, &a, "qemu-a", "qemu", NULL);
	char *tb = new_agent(f, &b, "qemu-b", "qemu", NULL);
	xeci_lease la, lb;
	const int64_t t0 = 1000000;
	int64_t job = lease(f, &la, &a, t0, 60000);
	assert_true(job > 0);

	assert_int_equal(xeci_job_db_heartbeat(f->db, job, la.lease_id, a.id, t0 + 30000, 60000, "kunit.xe.a", 3, 10),
			 0);
	assert_int_equal(count(f, "SELECT lease_deadline FROM jobs WHERE id = %lld", (long long)job), t0 + 90000);
	assert_text(f, "kunit.xe.a|3|10|leased", "SELECT current_test || '|' || tests_done || '|' || tests_total || "
						 "'|' || state FROM jobs WHERE id = %lld",
		    (long long)job);
	assert_int_equal(xeci_job_db_heartbeat(f->db, job, la.lease_id, a.id, t0 + 60000, 60000, NULL, 4, 10), 0);
	assert_int_equal(count(f, "SELECT lease_deadline FROM jobs WHERE id = %lld", (long long)job), t0 + 120000);
	assert_int_equal(count(f, "SELECT current_test IS NULL AND tests_done = 4 FROM jobs WHERE id = %lld",
			       (long long)job),
			 1);
	/* the extended deadline holds against expiry */
	int n = -1;
	assert_int_equal(xeci_job_db_expire(&n, f->db, t0 + 100000), 0);
	assert_int_equal(n, 0);
	assert_text(f, "leased", "SELECT state FROM jobs WHERE id = %lld", (long long)job);

	/* another agent, the right lease id: stale */
	char *before = job_digest(f, job);
	assert_int_equal(xeci_job_db_heartbeat(f->db, job, la.lease_id, b.id, t0 + 70000, 60000, "x", 9, 9),
			 XECI_ESTALE);
	char *after0 = job_digest(f, job);
	assert_string_equal(before, after0);
	free(after0);
	free(before);

	/* expiry, then the job leased to b: a's lease is stale */
	assert_int_equal(xeci_job_db_expire(&n, f->db, t0 + 200000), 0);
	assert_int_equal(n, 1);
	assert_int_equal(lease(f, &lb, &b, t0 + 200001, 60000), job);
	assert_int_not_equal(lb.lease_id, la.lease_id);
	before = job_digest(f, job);
	assert_int_equal(xeci_job_db_heartbeat(f->db, job, la.lease_id, a.id, t0 + 200002, 600000, "old", 7, 10),
			 XECI_ESTALE);
	/* the new lease id with the old agent: stale too */
	assert_int_equal(xeci_job_db_heartbeat(f->db, job, lb.lease_id, a.id, t0 + 200002, 600000, "old", 7, 10),
			 XECI_ESTALE);
	char *after = job_digest(f, job);
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_int_equal(count(f, "SELECT lease_deadline FROM jobs WHERE id = %lld", (long long)job), t0 + 260001);
	/* b's own heartbeat works */
	assert_int_equal(xeci_job_db_heartbeat(f->db, job, lb.lease_id, b.id, t0 + 200003, 60000, "new", 1, 10), 0);
	assert_text(f, "new", "SELECT current_test FROM jobs WHERE id = %lld", (long long)job);
	/* unknown job */
	assert_int_equal(xeci_job_db_heartbeat(f->db, 424242, lb.lease_id, b.id, t0, 60000, NULL, 0, 0),
			 XECI_ENOTFOUND);
	/* a done job: stale */
	assert_int_equal(xeci_job_db_results(f->db, job, lb.lease_id, b.id, NULL, 0, true), 0);
	assert_int_equal(xeci_job_db_heartbeat(f->db, job, lb.lease_id, b.id, t0 + 200004, 60000, "late", 2, 10),
			 XECI_ESTALE);
	assert_text(f, "done", "SELECT state FROM jobs WHERE id = %lld", (long long)job);
	assert_int_equal(count(f, "SELECT lease_deadline IS NULL FROM jobs WHERE id = %lld", (long long)job), 1);
	xeci_lease_clear(&la);
	xeci_lease_clear(&lb);
	xeci_agent_clear(&a);
	xeci_agent_clear(&b);
	free(ta);
	free(tb);
}

/* ---- 5. results -------------------------------------------------------------- */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(agents, setup, teardown),
		cmocka_unit_test_setup_teardown(enqueue_jobs, setup, teardown),
		cmocka_unit_test_setup_teardown(lease_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(lease_distinct, setup, teardown),
		cmocka_unit_test_setup_teardown(lease_empty_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(heartbeat, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
