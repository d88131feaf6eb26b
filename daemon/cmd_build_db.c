/* `xeci builds`, `xeci build show ID`, `xeci build log ID`: the build queue
 * and results in the database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "build_db.h"
#include "cli.h"
#include "db.h"
#include "error.h"
#include "util.h"

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *int_or_null(int64_t v, int64_t null_value)
{
	return v == null_value ? json_null() : json_integer(v);
}

static json_t *row_json(const xeci_build_row *r)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "kind", json_string(r->version_id ? "series" : "base"));
	json_object_set_new(o, "version_id", int_or_null(r->version_id, 0));
	json_object_set_new(o, "series_id", int_or_null(r->series_id, 0));
	json_object_set_new(o, "version", int_or_null(r->version, 0));
	json_object_set_new(o, "subject", str_or_null(r->subject));
	json_object_set_new(o, "tree", str_or_null(r->tree));
	json_object_set_new(o, "config", str_or_null(r->config));
	json_object_set_new(o, "state", str_or_null(r->state));
	json_object_set_new(o, "base", str_or_null(r->base_commit));
	json_object_set_new(o, "base_method", str_or_null(r->base_method));
	json_object_set_new(o, "commit", str_or_null(r->commit_id));
	json_object_set_new(o, "ref", str_or_null(r->ref));
	json_object_set_new(o, "failed_index", int_or_null(r->apply_failed_index, 0));
	json_object_set_new(o, "failed_file", str_or_null(r->apply_failed_file));
	json_object_set_new(o, "status", str_or_null(r->status));
	json_object_set_new(o, "error", str_or_null(r->error));
	json_object_set_new(o, "progress", json_integer(r->progress));
	json_object_set_new(o, "warnings", int_or_null(r->warnings, -1));
	json_object_set_new(o, "new_warnings", int_or_null(r->new_warnings, -1));
	json_object_set_new(o, "out_dir", str_or_null(r->out_dir));
	json_object_set_new(o, "attempts", json_integer(r->attempts));
	json_object_set_new(o, "queued_at", int_or_null(r->queued_at, 0));
	json_object_set_new(o, "started_at", int_or_null(r->started_at, 0));
	json_object_set_new(o, "finished_at", int_or_null(r->finished_at, 0));
	json_object_set_new(o, "duration_ms", int_or_null(r->duration_ms, 0));
	return o;
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	puts(s);
	free(s);
	json_decref(j);
}

static void print_line(const xeci_build_row *r)
{
	char what[96];
	if (r->version_id)
		snprintf(what, sizeof(what), "series %lld v%d", (long long)r->series_id, r->version);
	else
		snprintf(what, sizeof(what), "base %.12s", r->commit_id ? r->commit_id : "?");
	printf("%6lld  %-12s %-22s %-10s %-12s %s%s%s\n", (long long)r->id, r->state, what, r->tree, r->config,
	       r->subject ? r->subject : "", r->error ? "  -- " : "", r->error ? r->error : "");
}

int xeci_cmd_builds(int argc, char **argv)
{
	xeci_cli_query q;
	int first = xeci_cli_query_parse(&q, argc, argv);
	if (first < 0 || first != argc) {
		fputs("usage: xeci builds [--state STATE] [--limit N] [--json] [--db FILE] [--config FILE]\n", stderr);
		return XECI_EXIT_USAGE;
	}
	xeci_db *db = xeci_cli_open_db(&q);
	if (!db)
		return XECI_EXIT_FAIL;
	xeci_build_row *rows = NULL;
	size_t n = 0;
	int ret = XECI_EXIT_OK;
	if (xeci_build_db_list(&rows, &n, db, q.state, q.limit) < 0) {
		fprintf(stderr, "xeci: %s\n", xeci_error_last());
		ret = XECI_EXIT_FAIL;
	} else if (q.json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, row_json(&rows[i]));
		print_json(arr);
	} else {
		for (size_t i = 0; i < n; i++)
			print_line(&rows[i]);
	}
	xeci_build_rows_free(rows, n);
	xeci_db_close(db);
	return ret;
}

static json_t *artifacts_json(xeci_db *db, int64_t id)
{
	json_t *arr = json_array();
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "SELECT name, path, size, sha256 FROM build_artifacts WHERE build_id = ? "
				     "ORDER BY name") < 0)
		return arr;
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:s}", "name", sqlite3_column_text(st, 0),
						     "path", sqlite3_column_text(st, 1), "size",
						     (json_int_t)sqlite3_column_int64(st, 2), "sha256",
						     sqlite3_column_text(st, 3)));
	sqlite3_reset(st);
	return arr;
}

static json_t *checks_json(xeci_db *db, int64_t id)
{
	json_t *arr = json_array();
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "SELECT kind, patch_idx, result, errors, warnings, checks, summary, text "
				     "FROM build_checks WHERE build_id = ? ORDER BY kind, patch_idx") < 0)
		return arr;
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *c = json_pack("{s:s, s:i, s:s, s:i, s:i, s:i}", "kind", sqlite3_column_text(st, 0), "patch",
				      sqlite3_column_int(st, 1), "result", sqlite3_column_text(st, 2), "errors",
				      sqlite3_column_int(st, 3), "warnings", sqlite3_column_int(st, 4), "checks",
				      sqlite3_column_int(st, 5));
		json_object_set_new(c, "summary", str_or_null((const char *)sqlite3_column_text(st, 6)));
		json_object_set_new(c, "text", str_or_null((const char *)sqlite3_column_text(st, 7)));
		json_array_append_new(arr, c);
	}
	sqlite3_reset(st);
	return arr;
}

static void print_show(json_t *o)
{
	const char *keys[] = {"id", "kind", "state", "subject", "series_id", "version", "tree", "config",
			      "base", "base_method", "commit", "ref", "failed_index", "failed_file", "status",
			      "error", "progress", "warnings", "new_warnings", "attempts", "duration_ms", "out_dir"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(o, keys[i]);
		if (!v || json_is_null(v))
			continue;
		char *s = json_is_string(v) ? xeci_strdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY);
		printf("%-13s %s\n", keys[i], s);
		free(s);
	}
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(o, "artifacts"), i, a)
		printf("artifact      %-15s %10lld  %s\n", json_string_value(json_object_get(a, "name")),
		       (long long)json_integer_value(json_object_get(a, "size")),
		       json_string_value(json_object_get(a, "sha256")));
	json_array_foreach(json_object_get(o, "checks"), i, a)
		printf("check         %-10s patch %-3lld %-5s %s\n", json_string_value(json_object_get(a, "kind")),
		       (long long)json_integer_value(json_object_get(a, "patch")),
		       json_string_value(json_object_get(a, "result")),
		       json_is_string(json_object_get(a, "summary")) ? json_string_value(json_object_get(a, "summary"))
								    : "");
}

/* The positional build id of `build show ID` / `build log ID`. */
static int parse_id(int64_t *id, int argc, char **argv, int first)
{
	if (first < 0 || first + 1 != argc)
		return -1;
	char *end;
	*id = strtoll(argv[first], &end, 10);
	return *end || *id <= 0 ? -1 : 0;
}

int xeci_cmd_build_show(int argc, char **argv)
{
	xeci_cli_query q;
	int64_t id;
	if (parse_id(&id, argc, argv, xeci_cli_query_parse(&q, argc, argv)) < 0) {
		fputs("usage: xeci build show ID [--json] [--db FILE] [--config FILE]\n", stderr);
		return XECI_EXIT_USAGE;
	}
	xeci_db *db = xeci_cli_open_db(&q);
	if (!db)
		return XECI_EXIT_FAIL;
	xeci_build_row r;
	int ret = XECI_EXIT_OK;
	if (xeci_build_db_get(&r, db, id) < 0) {
		fprintf(stderr, "xeci: %s\n", xeci_error_last());
		ret = XECI_EXIT_FAIL;
	} else {
		json_t *o = row_json(&r);
		json_object_set_new(o, "artifacts", artifacts_json(db, id));
		json_object_set_new(o, "checks", checks_json(db, id));
		if (q.json)
			print_json(o);
		else {
			print_show(o);
			json_decref(o);
		}
		xeci_build_row_clear(&r);
	}
	xeci_db_close(db);
	return ret;
}

int xeci_cmd_build_log(int argc, char **argv)
{
	xeci_cli_query q;
	int64_t id;
	if (parse_id(&id, argc, argv, xeci_cli_query_parse(&q, argc, argv)) < 0) {
		fputs("usage: xeci build log ID [--db FILE] [--config FILE]\n", stderr);
		return XECI_EXIT_USAGE;
	}
	xeci_db *db = xeci_cli_open_db(&q);
	if (!db)
		return XECI_EXIT_FAIL;
	xeci_build_row r;
	int ret = XECI_EXIT_FAIL;
	if (xeci_build_db_get(&r, db, id) < 0) {
		fprintf(stderr, "xeci: %s\n", xeci_error_last());
	} else if (!r.out_dir) {
		fprintf(stderr, "xeci: build %lld has no log (state %s%s%s)\n", (long long)id, r.state,
			r.error ? ": " : "", r.error ? r.error : "");
	} else {
		char path[4096];
		snprintf(path, sizeof(path), "%s/build.log", r.out_dir);
		FILE *f = fopen(path, "rb");
		if (!f) {
			fprintf(stderr, "xeci: %s: cannot open\n", path);
		} else {
			char buf[65536];
			size_t n;
			while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
				fwrite(buf, 1, n, stdout);
			fclose(f);
			ret = XECI_EXIT_OK;
		}
	}
	xeci_build_row_clear(&r);
	xeci_db_close(db);
	return ret;
}
