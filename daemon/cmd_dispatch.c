/* Dispatch on the command line: `xeci agent add|release|remove`, `xeci
 * agents`, `xeci jobs`, `xeci job show N`, `xeci requeue N`. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "db.h"
#include "error.h"
#include "sched_db.h"
#include "util.h"

static json_t *col(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL: return json_null();
	case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(st, i));
	case SQLITE_FLOAT: return json_real(sqlite3_column_double(st, i));
	default: return json_string((const char *)sqlite3_column_text(st, i));
	}
}

/* Every row of a query as a JSON object keyed by column name. */
static json_t *rows_json(xeci_db *db, const char *sql, const char *text_arg, int64_t int_arg, long limit)
{
	sqlite3_stmt *st;
	json_t *arr = json_array();
	if (sqlite3_prepare_v2(xeci_db_handle(db), sql, -1, &st, NULL) != SQLITE_OK)
		return arr;
	int np = sqlite3_bind_parameter_count(st);
	if (np >= 1) {
		if (text_arg)
			sqlite3_bind_text(st, 1, text_arg, -1, SQLITE_TRANSIENT);
		else if (int_arg)
			sqlite3_bind_int64(st, 1, int_arg);
		else
			sqlite3_bind_null(st, 1);
	}
	if (np >= 2)
		sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = json_object();
		for (int i = 0; i < sqlite3_column_count(st); i++)
			json_object_set_new(o, sqlite3_column_name(st, i), col(st, i));
		json_array_append_new(arr, o);
	}
	sqlite3_finalize(st);
	return arr;
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	puts(s);
	free(s);
}

static const char *js(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : "";
}

static long long ji(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/* ---- agents --------------------------------------------------------------- */

static int agent_usage(void)
{
	fputs("usage: xeci agent add NAME --platform PLATFORM [--db FILE] [--config FILE]\n"
	      "       xeci agent release NAME | xeci agent remove NAME\n", stderr);
	return XECI_EXIT_USAGE;
}

/* `xeci agent add|release|remove`: argv[0] is the verb. */
static int agent_cmd(int argc, char **argv, const char *verb)
{
	const char *name = NULL, *platform = NULL, *dbopt = NULL, *cfgopt = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--platform") && i + 1 < argc)
			platform = argv[++i];
		else if (!strcmp(argv[i], "--db") && i + 1 < argc)
			dbopt = argv[++i];
		else if (!strcmp(argv[i], "--config") && i + 1 < argc)
			cfgopt = argv[++i];
		else if (argv[i][0] != '-' && !name)
			name = argv[i];
		else
			return agent_usage();
	}
	bool is_add = !strcmp(verb, "add");
	if (!name || is_add != (platform != NULL)) /* add needs a platform, the others take none */
		return agent_usage();
	xeci_cli_query q = {.db = dbopt, .config = cfgopt};
	xeci_db *db = xeci_cli_open_db(&q);
	if (!db)
		return XECI_EXIT_FAIL;
	int rc;
	char *token = NULL;
	if (!strcmp(verb, "add"))
		rc = xeci_agent_db_add(&token, db, name, platform);
	else if (!strcmp(verb, "release"))
		rc = xeci_agent_db_release(db, name);
	else
		rc = xeci_agent_db_remove(db, name);
	if (rc < 0) {
		fprintf(stderr, "xeci: agent %s: %s\n", verb, xeci_error_last());
	} else if (token) {
		printf("%s\n", token);
		fprintf(stderr, "xeci: agent %s (%s) added; its token is shown once, above: put it in the "
			"agent's config (agent.token)\n", name, platform);
	}
	free(token);
	xeci_db_close(db);
	return rc < 0 ? XECI_EXIT_FAIL : XECI_EXIT_OK;
}

int xeci_cmd_agent_add(int argc, char **argv)
{
	return agent_cmd(argc, argv, "add");
}

int xeci_cmd_agent_release(int argc, char **argv)
{
	return agent_cmd(argc, argv, "release");
}

int xeci_cmd_agent_remove(int argc, char **argv)
{
	return agent_cmd(argc, argv, "remove");
}

int xeci_cmd_agents(int argc, char **argv)
{
	xeci_cli_query q;
	if (xeci_cli_query_parse(&q, argc, argv) != argc) {
		fputs("usage: xeci agents [--json] [--db FILE]\n", stderr);
		return XECI_EXIT_USAGE;
	}
	xeci_db *db = xeci_cli_open_db(&q);
	if (!db)
		return XECI_EXIT_FAIL;
	json_t *a = rows_json(db, "SELECT id, name, platform, state, capabilities, infra_failures, "
				  "quarantine_reason, json(facts) AS facts, registered_at, last_seen_at, "
				  "(SELECT id FROM jobs j WHERE j.agent_id = agents.id AND j.state = 'leased') AS job "
				  "FROM agents WHERE state != 'removed' ORDER BY name",
			      NULL, 0, 0);
	if (q.json) {
		print_json(a);
	} else {
		size_t i;
		json_t *o;
		json_array_foreach(a, i, o) {
			printf("%-20s %-8s %-12s failures %lld", js(o, "name"), js(o, "platform"), js(o, "state"),
			       ji(o, "infra_failures"));
			if (json_is_integer(json_object_get(o, "job")))
				printf("  running job %lld", ji(o, "job"));
			printf("%s%s\n", *js(o, "quarantine_reason") ? "  " : "", js(o, "quarantine_reason"));
		}
	}
	json_decref(a);
	xeci_db_close(db);
	return XECI_EXIT_OK;
}

/* ---- jobs ------------------------------------------------------------------- */

#define JOB_COLUMNS                                                                                     \
	"SELECT j.id, j.build_id AS build, j.version_id AS version_id, v.subject, v.version, j.testplan, "  \
	"j.platform, j.shard, j.shards, j.state, j.result, j.reason, j.attempts, a.name AS agent, "        \
	"j.lease_id AS lease, j.current_test, j.tests_done, j.tests_total, j.queued_at, j.started_at, "    \
	"j.finished_at, json(j.suites) AS suites FROM jobs j LEFT JOIN agents a ON a.id = j.agent_id "     \
	"LEFT JOIN series_versions v ON v.id = j.version_id "

int xeci_cmd_jobs(int argc, char **argv)
{
	xeci_cli_query q;
	if (xeci_cli_query_parse(&q, argc, argv) != argc) {
		fputs("usage: xeci jobs [--state STATE] [--limit N] [--json] [--db FILE]\n", stderr);
		return XECI_EXIT_USAGE;
	}
	xeci_db *db = xeci_cli_open_db(&q);
	if (!db)
		return XECI_EXIT_FAIL;
	json_t *a = rows_json(db, JOB_COLUMNS "WHERE ?1 IS NULL OR j.state = ?1 ORDER BY j.id DESC LIMIT ?2",
			      q.state, 0, q.limit);
	if (q.json) {
		print_json(a);
	} else {
		size_t i;
		json_t *o;
		json_array_foreach(a, i, o)
			printf("%6lld  %-10s %-6s %-10s %-8s %lld/%lld  %s%s%s\n", ji(o, "id"), js(o, "state"),
			       js(o, "result"), js(o, "testplan"), js(o, "platform"), ji(o, "shard") + 1,
			       ji(o, "shards"), json_is_null(json_object_get(o, "version_id")) ? "baseline " : "",
			       js(o, "subject"), js(o, "reason"));
	}
	json_decref(a);
	xeci_db_close(db);
	return XECI_EXIT_OK;
}

static int positional_id(int64_t *id, int argc, char **argv, int first)
{
	if (first < 0 || first + 1 != argc)
		return -1;
	char *end;
	*id = strtoll(argv[first], &end, 10);
	return *end || *id <= 0 ? -1 : 0;
}

int xeci_cmd_job_show(int argc, char **argv)
{
	xeci_cli_query q;
	int64_t id;
	if (positional_id(&id, argc, argv, xeci_cli_query_parse(&q, argc, argv)) < 0) {
		fputs("usage: xeci job show ID [--json] [--db FILE]\n", stderr);
		return XECI_EXIT_USAGE;
	}
	xeci_db *db = xeci_cli_open_db(&q);
	if (!db)
		return XECI_EXIT_FAIL;
	json_t *rows = rows_json(db, JOB_COLUMNS "WHERE j.id = ?1", NULL, id, 0);
	int ret = XECI_EXIT_OK;
	if (!json_array_size(rows)) {
		fprintf(stderr, "xeci: no job %lld\n", (long long)id);
		ret = XECI_EXIT_FAIL;
	} else {
		json_t *job = json_array_get(rows, 0);
		json_object_set_new(job, "results",
				    rows_json(db, "SELECT test, suite, status, duration_ms, lease_id AS lease, log_path, "
						  "out_excerpt, err_excerpt, dmesg_excerpt FROM job_results "
						  "WHERE job_id = ?1 ORDER BY test", NULL, id, 0));
		json_object_set_new(job, "leases",
				    rows_json(db, "SELECT l.id, a.name AS agent, l.state, l.created_at, l.ended_at "
						  "FROM leases l JOIN agents a ON a.id = l.agent_id WHERE l.job_id = ?1 "
						  "ORDER BY l.id", NULL, id, 0));
		if (q.json) {
			print_json(job);
		} else {
			printf("job %lld: %s %s  plan %s on %s (shard %lld/%lld), build %lld, attempts %lld\n",
			       (long long)id, js(job, "state"), js(job, "result"), js(job, "testplan"),
			       js(job, "platform"), ji(job, "shard") + 1, ji(job, "shards"), ji(job, "build"),
			       ji(job, "attempts"));
			if (*js(job, "reason"))
				printf("reason: %s\n", js(job, "reason"));
			size_t i;
			json_t *r;
			json_array_foreach(json_object_get(job, "results"), i, r)
				printf("  %-11s %s\n", js(r, "status"), js(r, "test"));
		}
	}
	json_decref(rows);
	xeci_db_close(db);
	return ret;
}

int xeci_cmd_requeue(int argc, char **argv)
{
	xeci_cli_query q;
	int64_t id;
	if (positional_id(&id, argc, argv, xeci_cli_query_parse(&q, argc, argv)) < 0) {
		fputs("usage: xeci requeue JOB_ID [--db FILE]\n", stderr);
		return XECI_EXIT_USAGE;
	}
	xeci_db *db = xeci_cli_open_db(&q);
	if (!db)
		return XECI_EXIT_FAIL;
	int rc = xeci_job_db_requeue(db, id);
	if (rc < 0)
		fprintf(stderr, "xeci: requeue: %s\n", xeci_error_last());
	else
		fprintf(stderr, "xeci: job %lld queued again\n", (long long)id);
	xeci_db_close(db);
	return rc < 0 ? XECI_EXIT_FAIL : XECI_EXIT_OK;
}
