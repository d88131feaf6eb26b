/* One fetch of one inbox: cursors from the database, the transport's fetch,
 * every message through the ingest batches, and the Atom state saved. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ingest.h"
#include "log.h"
#include "util.h"

int xeci_ingest_inbox_ensure(int64_t *id, xeci_db *db, const char *name, const char *url,
			     const char *transport)
{
	sqlite3_stmt *st;
	/* read first: an inbox already registered as it is needs no write
	 * transaction (a fetch with nothing new then writes nothing at all) */
	if (xeci_db_prepare(&st, db, "SELECT id FROM inboxes WHERE name = ? AND url = ? AND transport = ?") < 0)
		return XECI_EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, transport, -1, SQLITE_STATIC);
	int found = sqlite3_step(st) == SQLITE_ROW;
	if (found)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (found)
		return 0;
	if (xeci_db_prepare(&st, db, "INSERT INTO inboxes(name, url, transport) VALUES (?, ?, ?)"
				     " ON CONFLICT(name) DO UPDATE SET url = excluded.url,"
				     " transport = excluded.transport RETURNING id") < 0)
		return XECI_EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, transport, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return xeci_db_error(db, "registering an inbox");
	*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

static int load_cursors(xeci_inbox_cursor **out, size_t *n, xeci_db *db, int64_t inbox_id)
{
	sqlite3_stmt *st;
	*out = NULL;
	*n = 0;
	if (xeci_db_prepare(&st, db, "SELECT epoch, last_commit FROM inbox_cursors WHERE inbox_id = ?"
				     " ORDER BY epoch") < 0)
		return XECI_EIO;
	sqlite3_bind_int64(st, 1, inbox_id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		*out = xeci_realloc(*out, (*n + 1) * sizeof(**out));
		xeci_inbox_cursor *c = &(*out)[(*n)++];
		c->epoch = sqlite3_column_int(st, 0);
		snprintf(c->commit, sizeof(c->commit), "%s", (const char *)sqlite3_column_text(st, 1));
	}
	return 0;
}

static void record_fetch_error(xeci_db *db, int64_t inbox_id, const char *error)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "INSERT INTO fetch_errors(inbox_id, error) VALUES (?, ?)") < 0)
		return;
	sqlite3_bind_int64(st, 1, inbox_id);
	sqlite3_bind_text(st, 2, error, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_reset(st);
}

static int load_atom_state(xeci_atom_state *s, xeci_db *db, int64_t inbox_id)
{
	sqlite3_stmt *st;
	memset(s, 0, sizeof(*s));
	if (xeci_db_prepare(&st, db, "SELECT etag, last_modified, seen_ids FROM inbox_atom_state"
				     " WHERE inbox_id = ?") < 0)
		return XECI_EIO;
	sqlite3_bind_int64(st, 1, inbox_id);
	if (sqlite3_step(st) != SQLITE_ROW)
		return 0;
	if (sqlite3_column_text(st, 0))
		s->etag = xeci_strdup((const char *)sqlite3_column_text(st, 0));
	if (sqlite3_column_text(st, 1))
		s->last_modified = xeci_strdup((const char *)sqlite3_column_text(st, 1));
	json_t *ids = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
	{
		if (!json_is_string(v))
			continue;
		s->seen_ids = xeci_realloc(s->seen_ids, (s->nseen_ids + 1) * sizeof(char *));
		s->seen_ids[s->nseen_ids++] = xeci_strdup(json_string_value(v));
	}
	json_decref(ids);
	sqlite3_reset(st);
	return 0;
}

static int save_atom_state(xeci_db *db, int64_t inbox_id, const xeci_atom_state *s)
{
	sqlite3_stmt *st;
	json_t *ids = json_array();
	for (size_t i = 0; i < s->nseen_ids; i++)
		json_array_append_new(ids, json_string(s->seen_ids[i]));
	char *text = json_dumps(ids, JSON_COMPACT);
	json_decref(ids);
	int rc = xeci_db_prepare(&st, db,
				 "INSERT INTO inbox_atom_state(inbox_id, etag, last_modified, seen_ids)"
				 " VALUES (?, ?, ?, ?) ON CONFLICT(inbox_id) DO UPDATE SET etag = excluded.etag,"
				 " last_modified = excluded.last_modified, seen_ids = excluded.seen_ids,"
				 " updated_at = unixepoch()");
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, inbox_id);
		sqlite3_bind_text(st, 2, s->etag, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, s->last_modified, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = xeci_db_error(db, "saving the Atom state");
		sqlite3_reset(st);
	}
	free(text);
	return rc;
}

static int fetch_git(xeci_db *db, int64_t inbox_id, const xeci_config_inbox *ib, const char *mirror_dir,
		     xeci_ingest *ing)
{
	xeci_inbox_cursor *cursors;
	size_t ncursors;
	if (load_cursors(&cursors, &ncursors, db, inbox_id) < 0)
		return XECI_EIO;
	int rc = xeci_inbox_git_fetch(ib->url, mirror_dir, &cursors, &ncursors, xeci_ingest_add, ing, NULL,
				      NULL);
	free(cursors);
	return rc;
}

static int fetch_atom(xeci_db *db, int64_t inbox_id, const xeci_config_inbox *ib, xeci_ingest *ing)
{
	xeci_atom_state state;
	if (load_atom_state(&state, db, inbox_id) < 0)
		return XECI_EIO;
	int rc = xeci_inbox_atom_fetch(ib->url, &state, xeci_ingest_add, ing);
	/* the Atom state moves only once what it covers is stored */
	if (rc == 0 && (rc = xeci_ingest_flush(ing)) == 0)
		rc = save_atom_state(db, inbox_id, &state);
	xeci_atom_state_clear(&state);
	return rc;
}

int xeci_ingest_fetch(xeci_ingest_stats *stats, xeci_db *db, const xeci_config_inbox *ib,
		      const char *mirror_dir, const xeci_ingest_opts *opts)
{
	int64_t inbox_id;
	xeci_ingest *ing;
	if (xeci_ingest_inbox_ensure(&inbox_id, db, ib->name, ib->url, ib->transport) < 0)
		return XECI_EIO;
	xeci_ingest_new(&ing, db, inbox_id, opts);

	int rc;
	if (!strcmp(ib->transport, "atom"))
		rc = fetch_atom(db, inbox_id, ib, ing);
	else
		rc = fetch_git(db, inbox_id, ib, mirror_dir, ing);
	/* what was fetched before an error is still stored */
	int frc = xeci_ingest_flush(ing);
	if (rc == 0)
		rc = frc;
	if (rc < 0) {
		char msg[1024];
		snprintf(msg, sizeof(msg), "inbox %s (%s): %s", ib->name, ib->url, xeci_error_last());
		record_fetch_error(db, inbox_id, msg);
		xeci_error_setc(rc, "%s", msg);
	}
	if (stats)
		xeci_ingest_stats_get(stats, ing);
	xeci_ingest_free(ing);
	return rc;
}
