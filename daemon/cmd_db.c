/* Queries of the database: xeci mail list, xeci series list|show. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "error.h"
#include "util.h"

int xeci_cli_config_load(xeci_config **out, const char *opt_config, const char *opt_db)
{
	const char *env = getenv("XECI_DB");
	int rc = xeci_config_load_db(out, opt_config, opt_db ? opt_db : (env && *env ? env : NULL));
	if (rc < 0)
		fprintf(stderr, "xeci: %s\n", xeci_error_last());
	return rc;
}

/* Options common to the query commands. */
typedef struct query_opts {
	const char *db;
	const char *config;
	bool json;
	bool errors;
	long limit;
} query_opts;

static int parse_query_opts(query_opts *q, int argc, char **argv, int *first_arg)
{
	static const struct option longopts[] = {
		{"db", required_argument, 0, 'd'}, {"config", required_argument, 0, 'c'},
		{"json", no_argument, 0, 'j'}, {"errors", no_argument, 0, 'e'},
		{"limit", required_argument, 0, 'l'}, {0, 0, 0, 0}};
	int c;
	memset(q, 0, sizeof(*q));
	q->limit = 100;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': q->db = optarg; break;
		case 'c': q->config = optarg; break;
		case 'j': q->json = true; break;
		case 'e': q->errors = true; break;
		case 'l': q->limit = strtol(optarg, NULL, 10); break;
		default: return XECI_EXIT_USAGE;
		}
	}
	*first_arg = optind;
	return 0;
}

/* Opens the database the options name; prints the error and returns NULL. */
static xeci_db *open_db(const query_opts *q)
{
	xeci_config *cfg = NULL;
	xeci_db *db = NULL;
	if (xeci_cli_config_load(&cfg, q->config, q->db) < 0)
		return NULL;
	if (xeci_db_open(&db, cfg->db_path) < 0) {
		fprintf(stderr, "xeci: %s\n", xeci_error_last());
		db = NULL;
	}
	xeci_config_free(cfg);
	return db;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return s ? s : "";
}

int xeci_cmd_mail_list(int argc, char **argv)
{
	query_opts q;
	int first;
	if (parse_query_opts(&q, argc, argv, &first) || first != argc) {
		fprintf(stderr, "usage: xeci mail list [--errors] [--json] [--limit N] [--db FILE]\n");
		return XECI_EXIT_USAGE;
	}
	xeci_db *db = open_db(&q);
	if (!db)
		return XECI_EXIT_FAIL;
	sqlite3_stmt *st;
	const char *sql = q.errors ? "SELECT id, message_id, status, error, source, subject, size FROM messages"
				     " WHERE status = 'error' ORDER BY id DESC LIMIT ?"
				   : "SELECT id, message_id, status, error, source, subject, size FROM messages"
				     " ORDER BY id DESC LIMIT ?";
	if (xeci_db_prepare(&st, db, sql) < 0) {
		fprintf(stderr, "xeci: %s\n", xeci_error_last());
		xeci_db_close(db);
		return XECI_EXIT_FAIL;
	}
	sqlite3_bind_int64(st, 1, q.limit);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (q.json) {
			json_t *o = json_pack("{s:I, s:s?, s:s, s:s?, s:s, s:s?, s:I}", "id",
					      (json_int_t)sqlite3_column_int64(st, 0), "message_id",
					      sqlite3_column_text(st, 1), "status", col_text(st, 2), "error",
					      sqlite3_column_text(st, 3), "source", col_text(st, 4), "subject",
					      sqlite3_column_text(st, 5), "size", (json_int_t)sqlite3_column_int64(st, 6));
			char *s = json_dumps(o, JSON_COMPACT);
			puts(s);
			free(s);
			json_decref(o);
		} else {
			printf("%-7lld %-6s <%s> %s\n", (long long)sqlite3_column_int64(st, 0), col_text(st, 2),
			       col_text(st, 1), col_text(st, 5));
			printf("        from %s\n", col_text(st, 4));
			if (sqlite3_column_text(st, 3))
				printf("        error: %s\n", col_text(st, 3));
		}
	}
	xeci_db_close(db);
	return XECI_EXIT_OK;
}

