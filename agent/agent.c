/* The agent's main loop. See agent.h. */
#define _GNU_SOURCE
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "artifacts.h"
#include "backend.h"
#include "error.h"
#include "errors.h"
#include "job.h"
#include "log.h"
#include "platform.h"
#include "run.h"
#include "util.h"

#define LEASE_WAIT_S 30
/* the long-poll answer may come at wait_s; allow the server some slack */
#define LEASE_TIMEOUT_S (LEASE_WAIT_S + 30)
#define CALL_TIMEOUT_S 60
#define RESULTS_TIMEOUT_S 300
#define RESULTS_BATCH_BYTES (4u << 20)

/* First line of `cmd`'s output, or NULL. */
static char *first_line(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	if (!p)
		return NULL;
	char line[256];
	char *s = fgets(line, sizeof(line), p) ? xeci_strndup(line, strcspn(line, "\r\n")) : NULL;
	pclose(p);
	return s;
}

static json_t *igt_version(const xeci_agent_config *cfg)
{
	if (strcmp(cfg->backend, "host"))
		return json_null();
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "'%s' --version 2>&1", cfg->host.runner);
	char *v = first_line(cmd);
	json_t *j = v && *v ? json_string(v) : json_null();
	free(v);
	return j;
}

json_t *xeci_agent_facts(const xeci_agent_config *cfg)
{
	char host[256] = "";
	struct utsname u;
	gethostname(host, sizeof(host) - 1);
	uname(&u);
	char *detected = NULL;
	json_t *pci_ids;
	int gpus;
	xeci_platform_detect(&detected, &pci_ids, &gpus, "/sys");
	const char *platform = cfg->platform ? cfg->platform
			       : !strcmp(cfg->backend, "host") ? (detected ? detected : "unknown")
							       : cfg->backend;
	json_t *f = json_pack("{s:s, s:s, s:i, s:o, s:o, s:s, s:s}", "hostname", host, "platform", platform,
			      "gpu_count", gpus, "pci_ids", pci_ids, "igt_version", igt_version(cfg), "kernel",
			      u.release, "backend", cfg->backend);
	free(detected);
	return f;
}

static int do_register(xeci_client *c, const xeci_agent_config *cfg)
{
	json_t *caps = json_array();
	for (size_t i = 0; i < cfg->ncaps; i++)
		json_array_append_new(caps, json_string(cfg->caps[i]));
	json_t *body = json_pack("{s:o, s:o}", "facts", xeci_agent_facts(cfg), "capabilities", caps);
	json_t *resp = NULL;
	long status = 0;
	int rc = xeci_client_call(&resp, &status, c, "/api/v1/agent/register", body, CALL_TIMEOUT_S, 0);
	if (rc == 0 && status == 200) {
		XECI_INFO("registered as %s (platform %s, state %s)", json_string_value(json_object_get(resp, "agent")),
			  json_string_value(json_object_get(resp, "platform")),
			  json_string_value(json_object_get(resp, "state")));
	} else if (rc == 0) {
		rc = xeci_agent_error_wrap(XECI_EINVALID, "register");
	}
	json_decref(resp);
	json_decref(body);
	return rc;
}

static void job_path(char *out, size_t n, const xeci_agent_config *cfg, const char *kind, int64_t id)
{
	snprintf(out, n, "%s/%s/%lld", cfg->work_dir, kind, (long long)id);
}

static int post_job(xeci_client *c, const xeci_job *j, const char *what, json_t *body, long timeout_s,
		    unsigned tries)
{
	char path[96];
	snprintf(path, sizeof(path), "/api/v1/jobs/%lld/%s", (long long)j->id, what);
	json_object_set_new(body, "lease", json_integer(j->lease));
	json_t *resp = NULL;
	long status = 0;
	int rc = xeci_client_call(&resp, &status, c, path, body, timeout_s, tries);
	json_decref(resp);
	json_decref(body);
	if (rc < 0)
		return rc;
	if (status == 409)
		return xeci_error_setc(XECI_ESTALE, "job %lld: %s: the lease is no longer ours", (long long)j->id, what);
	if (status != 200)
		return xeci_agent_error_wrap(XECI_EINVALID, "job %lld: %s", (long long)j->id, what);
	return 0;
}

static void send_fail(xeci_client *c, const xeci_job *j, const char *reason, bool infra)
{
	XECI_WARN("job %lld: %s%s", (long long)j->id, infra ? "infrastructure failure: " : "", reason);
	/* a few tries: an unanswered fail ends in the lease's expiry anyway */
	if (post_job(c, j, "fail", json_pack("{s:s, s:b}", "reason", reason, "infra", infra), CALL_TIMEOUT_S, 5) < 0)
		XECI_WARN("job %lld: fail: %s", (long long)j->id, xeci_error_last());
}

/* A half job is not uploaded; the job goes back to the queue now rather
 * than when its lease expires. The stop flag is set: this last call goes
 * without it, bounded by its few tries. */
static void fail_stopped(xeci_client *c, const xeci_job *j)
{
	volatile sig_atomic_t *stop = xeci_client_set_stop(c, NULL);
	XECI_WARN("job %lld: the agent was stopped mid-job", (long long)j->id);
	if (post_job(c, j, "fail", json_pack("{s:s, s:b}", "reason", "the agent was stopped mid-job", "infra", 1), 10,
		     2) < 0)
		XECI_WARN("job %lld: fail: %s", (long long)j->id, xeci_error_last());
	xeci_client_set_stop(c, stop);
}

/* One results call of arr (final or not): 0, or why it did not land. */
static int post_results(xeci_client *c, const xeci_job *j, json_t *arr, bool final)
{
	json_t *body = json_pack("{s:b, s:o}", "final", final, "results", arr);
	/* results are the job's point: retried until they land or the agent stops */
	return post_job(c, j, "results", body, RESULTS_TIMEOUT_S, 0);
}

/* In calls of at most RESULTS_BATCH_BYTES (xecid takes 8 MiB bodies; a
 * full IGT run's logs are more), the last one final. */
static int upload(xeci_client *c, const xeci_job *j, const json_t *all)
{
	json_t *batch = json_array(), *o;
	size_t bytes = 0, i;
	int rc = 0;
	json_array_foreach(all, i, o) {
		char *text = json_dumps(o, JSON_COMPACT);
		size_t len = text ? strlen(text) : 0;
		free(text);
		if (json_array_size(batch) && bytes + len > RESULTS_BATCH_BYTES) {
			if ((rc = post_results(c, j, batch, false)) < 0)
				return rc;
			batch = json_array();
			bytes = 0;
		}
		json_array_append(batch, o);
		bytes += len;
	}
	return post_results(c, j, batch, true);
}

static void send_results(xeci_client *c, xeci_run *r)
{
	const xeci_job *j = xeci_run_job(r);
	const xeci_agent_results *res = xeci_run_results(r);
	int rc = upload(c, j, xeci_agent_results_json(res));
	if (rc == 0)
		XECI_INFO("job %lld: %zu results uploaded (%zu pass, %zu fail, %zu skip)", (long long)j->id,
			  xeci_agent_results_count(res), xeci_agent_results_count_status(res, "pass"),
			  xeci_agent_results_count_status(res, "fail"), xeci_agent_results_count_status(res, "skip"));
	else if (rc == XECI_EINVALID) /* refused: say so rather than let the lease run out */
		send_fail(c, j, xeci_error_last(), false);
	else
		XECI_WARN("%s", xeci_error_last());
}

static int backend_run(xeci_run *r, const xeci_agent_config *cfg)
{
	if (!strcmp(cfg->backend, "qemu"))
		return xeci_backend_qemu_run(r);
	if (!strcmp(cfg->backend, "host"))
		return xeci_backend_host_run(r);
	return xeci_backend_sim_run(r);
}

void xeci_agent_finish(xeci_client *c, xeci_run *r, int rc)
{
	const xeci_job *j = xeci_run_job(r);
	bool infra = false;
	const char *why = xeci_run_fail_reason(r, &infra);
	if (xeci_run_stale(r))
		XECI_WARN("job %lld: dropped: the lease went to another agent", (long long)j->id);
	else if (xeci_run_stopping(r))
		fail_stopped(c, j);
	else if (rc == 0)
		send_results(c, r);
	else
		send_fail(c, j, why ? why : xeci_error_last(), why ? infra : true);
}

static void run_job(xeci_client *c, const xeci_agent_config *cfg, xeci_job *j, volatile sig_atomic_t *stop)
{
	char job_dir[4096], art_dir[4096];
	job_path(job_dir, sizeof(job_dir), cfg, "jobs", j->id);
	job_path(art_dir, sizeof(art_dir), cfg, "artifacts", j->build);
	XECI_INFO("job %lld: lease %lld, build %lld, plan %s, %zu suite(s), shard %d/%d", (long long)j->id,
		  (long long)j->lease, (long long)j->build, j->testplan, j->nsuites, j->shard + 1, j->shards);
	xeci_mkdir_p(job_dir, 0755);
	xeci_run *r;
	xeci_run_new(&r, c, cfg, j, job_dir, art_dir, stop);
	/* heartbeats from the start: a large download must not lose the lease */
	int rc = xeci_run_heartbeat_start(r);
	if (rc == 0 && (rc = xeci_artifacts_fetch(c, j, art_dir)) < 0)
		xeci_run_fail(r, true, "%s", xeci_error_last());
	else if (rc == 0)
		rc = backend_run(r, cfg);
	xeci_run_heartbeat_stop(r);
	xeci_agent_finish(c, r, rc);
	xeci_run_free(r);
}

/* One lease call; *job is NULL when none came. */
static int lease(xeci_job **job, xeci_client *c)
{
	*job = NULL;
	json_t *body = json_pack("{s:i}", "wait_s", LEASE_WAIT_S), *resp = NULL;
	long status = 0;
	int rc = xeci_client_call(&resp, &status, c, "/api/v1/agent/lease", body, LEASE_TIMEOUT_S, 0);
	json_decref(body);
	if (rc < 0 || status == 204)
		; /* a network error, or no job in wait_s: the caller polls again */
	else if (status == 200 && xeci_job_parse(job, resp) < 0)
		rc = xeci_agent_error_wrap(XECI_EIO, "lease"); /* not the token's fault */
	else if (status == 401)
		rc = xeci_agent_error_wrap(XECI_EINVALID, "lease");
	else if (status != 200)
		rc = xeci_agent_error_wrap(XECI_EIO, "lease");
	json_decref(resp);
	return rc;
}

int xeci_agent_loop(xeci_client *c, const xeci_agent_config *cfg, volatile sig_atomic_t *stop)
{
	int rc = do_register(c, cfg);
	if (rc < 0 && *stop)
		return 0;
	if (rc < 0) { /* a refused token does not get better by retrying */
		XECI_ERR("%s", xeci_error_last());
		return rc;
	}
	if (!strcmp(cfg->backend, "host") && xeci_backend_host_resume(c, cfg, stop) < 0)
		XECI_WARN("host: %s", xeci_error_last());
	while (!*stop) {
		xeci_job *j = NULL;
		rc = lease(&j, c);
		if (rc == XECI_EINVALID) { /* 401: the token is wrong or the agent was removed */
			XECI_ERR("%s", xeci_error_last());
			return rc;
		}
		if (rc < 0) {
			/* a 4xx other than 401, or a job we cannot read: do not spin */
			XECI_WARN("%s", xeci_error_last());
			xeci_client_sleep(c, 5000);
			continue;
		}
		if (j)
			run_job(c, cfg, j, stop);
		xeci_job_free(j);
	}
	return 0;
}
