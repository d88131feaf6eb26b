/* xeci series list | show: the series stage's tables, for humans (a table)
 * and for scripts (--json: one object per line for list, one object for
 * show). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "error.h"
#include "util.h"

static json_t *col_json(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		return json_null();
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(st, i));
	default:
		return json_string((const char *)sqlite3_column_text(st, i));
	}
}

/* A JSON column (missing, prerequisite ids, ...) as JSON, not as a string. */
static json_t *col_json_text(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	json_t *j = s ? json_loads(s, 0, NULL) : NULL;
	return j ? j : json_array();
}

#define VERSION_COLS                                                                               \
	"id, version, state, total, received, missing, cover_message_id, base_commit, change_id,"  \
	" subject, author, ignored_reason, completed_at, created_at, prerequisite_ids, depends_on"

static json_t *version_json(sqlite3_stmt *st)
{
	json_t *v = json_object();
	json_object_set_new(v, "id", col_json(st, 0));
	json_object_set_new(v, "version", col_json(st, 1));
	json_object_set_new(v, "state", col_json(st, 2));
	json_object_set_new(v, "total", col_json(st, 3));
	json_object_set_new(v, "received", col_json(st, 4));
	json_object_set_new(v, "missing", col_json_text(st, 5));
	json_object_set_new(v, "cover_message_id", col_json(st, 6));
	json_object_set_new(v, "base_commit", col_json(st, 7));
	json_object_set_new(v, "change_id", col_json(st, 8));
	json_object_set_new(v, "subject", col_json(st, 9));
	json_object_set_new(v, "author", col_json(st, 10));
	json_object_set_new(v, "ignored_reason", col_json(st, 11));
	json_object_set_new(v, "completed_at", col_json(st, 12));
	json_object_set_new(v, "created_at", col_json(st, 13));
	json_object_set_new(v, "prerequisite_patch_ids", col_json_text(st, 14));
	json_object_set_new(v, "depends_on", col_json_text(st, 15));
	return v;
}

/* The versions of series `sid`, oldest first; with_patches adds patches and
 * their trailers. */
static int versions_json(json_t **out, xeci_db *db, int64_t sid, bool with_patches);

static int patches_json(json_t *version, xeci_db *db, int64_t vid)
{
	sqlite3_stmt *st, *tr;
	json_t *patches = json_array();
	if (xeci_db_prepare(&st, db, "SELECT idx, message_id, subject, patch_sha256 FROM series_patches"
				     " WHERE version_id = ? ORDER BY idx") < 0 ||
	    xeci_db_prepare(&tr, db, "SELECT idx, name, value FROM series_trailers WHERE version_id = ?"
				     " ORDER BY idx, pos") < 0) {
		json_decref(patches);
		return XECI_EIO;
	}
	sqlite3_bind_int64(st, 1, vid);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *p = json_object();
		json_object_set_new(p, "index", col_json(st, 0));
		json_object_set_new(p, "message_id", col_json(st, 1));
		json_object_set_new(p, "subject", col_json(st, 2));
		json_object_set_new(p, "patch_sha256", col_json(st, 3));
		json_object_set_new(p, "trailers", json_array());
		json_array_append_new(patches, p);
	}
	/* trailers of idx 0 were given to the whole version; the others to one patch */
	json_t *whole = json_array();
	sqlite3_bind_int64(tr, 1, vid);
	while (sqlite3_step(tr) == SQLITE_ROW) {
		int idx = sqlite3_column_int(tr, 0);
		json_t *t = json_pack("{s:o, s:o}", "name", col_json(tr, 1), "value", col_json(tr, 2));
		json_t *target = whole;
		size_t i;
		json_t *p;
		json_array_foreach(patches, i, p)
		{
			if (json_integer_value(json_object_get(p, "index")) == idx)
				target = json_object_get(p, "trailers");
		}
		json_array_append_new(target, t);
	}
	json_object_set_new(version, "trailers", whole);
	json_object_set_new(version, "patches", patches);
	return 0;
}

static int versions_json(json_t **out, xeci_db *db, int64_t sid, bool with_patches)
{
	sqlite3_stmt *st;
	json_t *arr = json_array();
	if (xeci_db_prepare(&st, db, "SELECT " VERSION_COLS " FROM series_versions WHERE series_id = ?"
				     " ORDER BY version, id") < 0) {
		json_decref(arr);
		return XECI_EIO;
	}
	sqlite3_bind_int64(st, 1, sid);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(arr, version_json(st));
	if (with_patches) {
		size_t i;
		json_t *v;
		json_array_foreach(arr, i, v)
		{
			if (patches_json(v, db, json_integer_value(json_object_get(v, "id"))) < 0) {
				json_decref(arr);
				return XECI_EIO;
			}
		}
	}
	*out = arr;
	return 0;
}

static json_t *series_json(sqlite3_stmt *st)
{
	json_t *s = json_object();
	json_object_set_new(s, "id", col_json(st, 0));
	json_object_set_new(s, "subject", col_json(st, 1));
	json_object_set_new(s, "author", col_json(st, 2));
	json_object_set_new(s, "change_id", col_json(st, 3));
	json_object_set_new(s, "created_at", col_json(st, 4));
	json_object_set_new(s, "inbox", col_json(st, 5));
	return s;
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	puts(s);
	free(s);
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static void print_version_line(json_t *v)
{
	json_t *missing = json_object_get(v, "missing");
	printf("  v%-3lld %-10s %lld/%lld", (long long)json_integer_value(json_object_get(v, "version")),
	       jstr(v, "state"), (long long)json_integer_value(json_object_get(v, "received")),
	       (long long)json_integer_value(json_object_get(v, "total")));
	if (json_array_size(missing)) {
		char *m = json_dumps(missing, JSON_COMPACT);
		printf("  missing %s", m);
		free(m);
	}
	if (*jstr(v, "ignored_reason"))
		printf("  (%s)", jstr(v, "ignored_reason"));
	printf("\n");
}

#define SERIES_SQL                                                                                 \
	"SELECT s.id, coalesce(s.subject, (SELECT v.subject FROM series_versions v"                \
	" WHERE v.series_id = s.id ORDER BY v.version, v.id LIMIT 1)),"                            \
	" s.author, s.change_id, s.created_at, i.name FROM series s"                               \
	" LEFT JOIN inboxes i ON i.id = s.inbox_id"

int xeci_cmd_series_list(int argc, char **argv)
{
	xeci_cli_query o;
	if (xeci_cli_query_parse(&o, argc, argv) != argc) {
		fprintf(stderr, "usage: xeci series list [--json] [--limit N] [--state STATE] [--db FILE]\n");
		return XECI_EXIT_USAGE;
	}
	xeci_db *db = xeci_cli_open_db(&o);
	if (!db)
		return XECI_EXIT_FAIL;
	sqlite3_stmt *st;
	int rc = xeci_db_prepare(&st, db,
				 SERIES_SQL " WHERE ?1 IS NULL OR EXISTS (SELECT 1 FROM series_versions v"
					    " WHERE v.series_id = s.id AND v.state = ?1)"
					    " ORDER BY s.id DESC LIMIT ?2");
	if (rc == 0) {
		if (o.state)
			sqlite3_bind_text(st, 1, o.state, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, o.limit);
	}
	json_t *rows = json_array();
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(rows, series_json(st));
	size_t i;
	json_t *s;
	json_array_foreach(rows, i, s)
	{
		json_t *versions;
		if (rc == 0 && (rc = versions_json(&versions, db, json_integer_value(json_object_get(s, "id")),
						   false)) == 0)
			json_object_set_new(s, "versions", versions);
		if (rc < 0)
			break;
		if (o.json) {
			print_json(s);
			continue;
		}
		printf("%-5lld %s\n      %s\n", (long long)json_integer_value(json_object_get(s, "id")),
		       jstr(s, "subject"), jstr(s, "author"));
		size_t k;
		json_t *v;
		json_array_foreach(versions, k, v) print_version_line(v);
	}
	json_decref(rows);
	if (rc < 0)
		fprintf(stderr, "xeci: %s\n", xeci_error_last());
	xeci_db_close(db);
	return rc < 0 ? XECI_EXIT_FAIL : XECI_EXIT_OK;
}

static void print_show(json_t *s)
{
	printf("series %lld: %s\n", (long long)json_integer_value(json_object_get(s, "id")), jstr(s, "subject"));
	printf("author: %s\n", jstr(s, "author"));
	if (*jstr(s, "change_id"))
		printf("change-id: %s\n", jstr(s, "change_id"));
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(s, "versions"), i, v)
	{
		printf("\n");
		print_version_line(v);
		if (*jstr(v, "cover_message_id"))
			printf("       cover <%s>\n", jstr(v, "cover_message_id"));
		if (*jstr(v, "base_commit"))
			printf("       base-commit %s\n", jstr(v, "base_commit"));
		size_t k;
		json_t *t, *p;
		json_array_foreach(json_object_get(v, "trailers"), k, t)
			printf("       %s: %s (whole series)\n", jstr(t, "name"), jstr(t, "value"));
		json_array_foreach(json_object_get(v, "patches"), k, p)
		{
			printf("    [%lld] %s\n         <%s>\n", (long long)json_integer_value(json_object_get(p, "index")),
			       jstr(p, "subject"), jstr(p, "message_id"));
			size_t m;
			json_array_foreach(json_object_get(p, "trailers"), m, t)
				printf("         %s: %s\n", jstr(t, "name"), jstr(t, "value"));
		}
	}
}

int xeci_cmd_series_show(int argc, char **argv)
{
	xeci_cli_query o;
	int first = xeci_cli_query_parse(&o, argc, argv);
	char *end;
	long long id = first == argc - 1 ? strtoll(argv[first], &end, 10) : 0;
	if (first < 0 || first != argc - 1 || *end || id <= 0) {
		fprintf(stderr, "usage: xeci series show ID [--json] [--db FILE]\n");
		return XECI_EXIT_USAGE;
	}
	xeci_db *db = xeci_cli_open_db(&o);
	if (!db)
		return XECI_EXIT_FAIL;
	sqlite3_stmt *st;
	int rc = xeci_db_prepare(&st, db, SERIES_SQL " WHERE s.id = ?");
	json_t *s = NULL, *versions;
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_step(st) == SQLITE_ROW)
			s = series_json(st);
		else
			rc = xeci_error_setc(XECI_ENOTFOUND, "no series %lld", id);
	}
	if (rc == 0 && (rc = versions_json(&versions, db, id, true)) == 0)
		json_object_set_new(s, "versions", versions);
	if (rc == 0) {
		if (o.json)
			print_json(s);
		else
			print_show(s);
	} else {
		fprintf(stderr, "xeci: %s\n", xeci_error_last());
	}
	json_decref(s);
	xeci_db_close(db);
	return rc < 0 ? XECI_EXIT_FAIL : XECI_EXIT_OK;
}
