/* A leased job, as the lease answer describes it (daemon/api_agent.h). */
#ifndef XECI_AGENT_JOB_H
#define XECI_AGENT_JOB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct xeci_artifact {
	char *name, *sha256, *url;
	int64_t size;
} xeci_artifact;

typedef struct xeci_job {
	int64_t id, lease, build, deadline_ms;
	char *testplan, *platform;
	char **suites; /* "kunit:xe", "ktap:hmm-tests", "igt:PATH" */
	size_t nsuites;
	int shard, shards;
	xeci_artifact *artifacts;
	size_t nartifacts;
	json_t *answer; /* the lease answer it was read from (the host back-end keeps it across a reboot) */
} xeci_job;

/* From the lease answer {"job": {...}}. XECI_EINVALID when a field the
 * agent needs is missing or an artifact name is not a plain file name. */
int xeci_job_parse(xeci_job **out, const json_t *answer);
void xeci_job_free(xeci_job *j);
/* NULL when the job has no artifact of that name. */
const xeci_artifact *xeci_job_artifact(const xeci_job *j, const char *name);
bool xeci_job_has_suite(const xeci_job *j, const char *suite);

#endif
