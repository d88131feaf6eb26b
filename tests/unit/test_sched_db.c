/* Dispatch in SQLite (daemon/sched_db.c) on a real database file: builds
 * and series versions are rows inserted with SQL, the [testplan] sections a
 * xeci.conf loaded from a temp file. Covers agents and their tokens,
 * enqueueing one job per testplan x platform x shard, leases (platform,
 * capabilities, order, fencing), heartbeats, results and verdicts, expiry
 * and quarantine, an agent giving up, remove/requeue, superseded versions. */
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

static int setup(void **state)
{
	return fx_setup(state, "sched-db", "INSERT INTO inboxes (id, name, url) VALUES (1, 'xe', 'file:///x')");
}

static int teardown(void **state)
{
	return fx_teardown(state);
}

static const char CFG_PLANS[] =
	"[testplan \"xe-fault\"]\n\tsuites = igt:a.testlist igt:b.testlist\n\tplatforms = lnl bmg\n"
	"\tshards = 2\n\tcapabilities = fault-mode\n"
	"[testplan \"qemu\"]\n\tsuites = kunit:xe ktap:hmm-tests\n\tplatforms = qemu\n";

/* A series and one version of it (state, base_commit); returns the version id. */
static int64_t add_version(fx *f, const char *state, const char *base)
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
static int64_t add_build(fx *f, int64_t vid, const char *tree, const char *config, const char *state, int64_t prio,
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
static int64_t passed_series_build(fx *f, int64_t prio, int64_t *vid)
{
	int64_t v = add_version(f, "complete", "base1");
	if (vid)
		*vid = v;
	return add_build(f, v, "drm-tip", "xe-hw", "passed", prio, "base1", "c0ffee");
}

static int enqueue(fx *f)
{
	int added = -1;
	int rc = xeci_job_db_enqueue(&added, f->db, f->cfg);
	if (rc < 0)
		fail_msg("enqueue: %s", xeci_error_last());
	return added;
}

/* An agent added and authenticated (capabilities registered when caps_json);
 * returns its token (caller frees). */
static char *new_agent(fx *f, xeci_agent *a, const char *name, const char *platform, const char *caps_json)
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

static void reauth(fx *f, xeci_agent *a, const char *tok)
{
	xeci_agent_clear(a);
	assert_int_equal(xeci_agent_db_auth(a, f->db, tok), 0);
}

static int64_t lease(fx *f, xeci_lease *out, const xeci_agent *a, int64_t now, int64_t ms)
{
	int rc = xeci_job_db_lease(out, f->db, a, now, ms);
	if (rc < 0)
		fail_msg("lease: %s", xeci_error_last());
	return out->job_id;
}

/* A digest of a job's result rows, to see that nothing changed. */
static char *results_digest(fx *f, int64_t job)
{
	return text(f, "SELECT count(*) || ':' || coalesce(group_concat(test || '|' || lease_id || '|' || "
		       "coalesce(suite, '-') || '|' || status || '|' || coalesce(duration_ms, '-') || '|' || "
		       "coalesce(out_excerpt, '-') || '|' || coalesce(log_path, '-'), ';'), '') FROM "
		       "(SELECT * FROM job_results WHERE job_id = %lld ORDER BY test)",
		    (long long)job);
}

static char *job_digest(fx *f, int64_t job)
{
	return text(f, "SELECT state || '|' || coalesce(lease_id, '-') || '|' || coalesce(lease_deadline, '-') || "
		       "'|' || coalesce(agent_id, '-') || '|' || attempts || '|' || coalesce(result, '-') || '|' || "
		       "coalesce(reason, '-') || '|' || coalesce(current_test, '-') || '|' || tests_done || '|' || "
		       "tests_total FROM jobs WHERE id = %lld",
		    (long long)job);
}

/* ---- 1. agents ------------------------------------------------------------- */

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
		cmocka_unit_test_setup_teardown(agents, setup, teardown),
		cmocka_unit_test_setup_teardown(enqueue_jobs, setup, teardown),
		cmocka_unit_test_setup_teardown(lease_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(lease_distinct, setup, teardown),
		cmocka_unit_test_setup_teardown(lease_empty_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(heartbeat, setup, teardown),
		cmocka_unit_test_setup_teardown(results, setup, teardown),
		cmocka_unit_test_setup_teardown(expire, setup, teardown),
		cmocka_unit_test_setup_teardown(expire_many, setup, teardown),
		cmocka_unit_test_setup_teardown(fail_job, setup, teardown),
		cmocka_unit_test_setup_teardown(remove_requeue, setup, teardown),
		cmocka_unit_test_setup_teardown(cancel_superseded, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
