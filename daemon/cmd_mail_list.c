/* xeci mail list: the stored messages, newest first; --errors: those kept
 * with the reason they could not be used. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "error.h"
#include "util.h"

static const char *col_text(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return s ? s : "";
}

int xeci_cmd_mail_list(int argc, char **argv)
{
	xeci_cli_query q;
	if (xeci_cli_query_parse(&q, argc, argv) != argc) {
		fprintf(stderr, "usage: xeci mail list [--errors] [--json] [--limit N] [--db FILE]\n");
		return XECI_EXIT_USAGE;
	}
	xeci_db *db = xeci_cli_open_db(&q);
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

