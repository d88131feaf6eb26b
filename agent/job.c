/* A leased job. See job.h. */
#include "job.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "util.h"

static char *dup_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return xeci_strdup(s ? s : "");
}

/* An artifact becomes a file of that name in the agent's work dir: no
 * path tricks from the server. */
static bool plain_name(const char *s)
{
	return s && *s && s[0] != '.' && !strchr(s, '/');
}

static int parse_artifacts(xeci_job *j, const json_t *arr)
{
	size_t n = json_array_size(arr);
	j->artifacts = xeci_calloc(n ? n : 1, sizeof(*j->artifacts));
	for (size_t i = 0; i < n; i++) {
		const json_t *a = json_array_get(arr, i);
		const char *name = json_string_value(json_object_get(a, "name"));
		const char *sha = json_string_value(json_object_get(a, "sha256"));
		const char *url = json_string_value(json_object_get(a, "url"));
		if (!plain_name(name) || !sha || strlen(sha) != 64 || !url)
			return xeci_error_setc(XECI_EINVALID, "job %lld: artifact %zu: bad name, sha256 or url",
					       (long long)j->id, i);
		xeci_artifact *x = &j->artifacts[j->nartifacts++];
		x->name = xeci_strdup(name);
		x->sha256 = xeci_strdup(sha);
		x->url = xeci_strdup(url);
		x->size = json_integer_value(json_object_get(a, "size"));
	}
	return 0;
}

static int parse_suites(xeci_job *j, const json_t *arr)
{
	size_t n = json_array_size(arr);
	if (!n)
		return xeci_error_setc(XECI_EINVALID, "job %lld has no suites", (long long)j->id);
	j->suites = xeci_calloc(n, sizeof(*j->suites));
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (!s || !strchr(s, ':'))
			return xeci_error_setc(XECI_EINVALID, "job %lld: suite %zu is not KIND:WHAT", (long long)j->id, i);
		j->suites[j->nsuites++] = xeci_strdup(s);
	}
	return 0;
}

int xeci_job_parse(xeci_job **out, const json_t *answer)
{
	const json_t *o = json_object_get(answer, "job");
	if (!json_is_object(o) || !json_is_integer(json_object_get(o, "id")) ||
	    !json_is_integer(json_object_get(o, "lease")))
		return xeci_error_setc(XECI_EINVALID, "lease answer without job.id and job.lease");
	xeci_job *j = xeci_calloc(1, sizeof(*j));
	j->answer = json_deep_copy(answer);
	j->id = json_integer_value(json_object_get(o, "id"));
	j->lease = json_integer_value(json_object_get(o, "lease"));
	j->build = json_integer_value(json_object_get(o, "build"));
	j->deadline_ms = json_integer_value(json_object_get(o, "deadline_ms"));
	j->shard = (int)json_integer_value(json_object_get(o, "shard"));
	j->shards = (int)json_integer_value(json_object_get(o, "shards"));
	if (j->shards < 1 || j->shard < 0 || j->shard >= j->shards) {
		j->shard = 0;
		j->shards = 1;
	}
	j->testplan = dup_str(o, "testplan");
	j->platform = dup_str(o, "platform");
	int rc = parse_suites(j, json_object_get(o, "suites"));
	if (rc == 0)
		rc = parse_artifacts(j, json_object_get(o, "artifacts"));
	if (rc < 0) {
		xeci_job_free(j);
		return rc;
	}
	*out = j;
	return 0;
}

void xeci_job_free(xeci_job *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->nsuites; i++)
		free(j->suites[i]);
	for (size_t i = 0; i < j->nartifacts; i++) {
		free(j->artifacts[i].name);
		free(j->artifacts[i].sha256);
		free(j->artifacts[i].url);
	}
	free(j->suites);
	free(j->artifacts);
	free(j->testplan);
	free(j->platform);
	json_decref(j->answer);
	free(j);
}

const xeci_artifact *xeci_job_artifact(const xeci_job *j, const char *name)
{
	for (size_t i = 0; i < j->nartifacts; i++)
		if (!strcmp(j->artifacts[i].name, name))
			return &j->artifacts[i];
	return NULL;
}

bool xeci_job_has_suite(const xeci_job *j, const char *suite)
{
	for (size_t i = 0; i < j->nsuites; i++)
		if (!strcmp(j->suites[i], suite))
			return true;
	return false;
}
