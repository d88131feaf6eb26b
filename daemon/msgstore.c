#include "msgstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "mail_json_write.h"
#include "util.h"

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Looks for a row with exactly these bytes under this Message-ID (or
 * none), by their digest (messages_sha). */
static int find_same(int64_t *same, xeci_db *db, const char *mid, const char *sha)
{
	sqlite3_stmt *st;
	int rc;
	*same = 0;
	if (xeci_db_prepare(&st, db, "SELECT id FROM messages WHERE raw_sha256 = ?1 AND message_id IS ?2") < 0)
		return XECI_EIO;
	sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
	if (mid)
		sqlite3_bind_text(st, 2, mid, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*same = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : xeci_db_error(db, "looking up a message");
}

/* The parsed row under this Message-ID (messages_mid_ok), 0 if none. */
static int find_ok(int64_t *ok_rowid, xeci_db *db, const char *mid)
{
	sqlite3_stmt *st;
	int rc;
	*ok_rowid = 0;
	if (xeci_db_prepare(&st, db, "SELECT id FROM messages WHERE message_id = ? AND status = 'ok'") < 0)
		return XECI_EIO;
	sqlite3_bind_text(st, 1, mid, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*ok_rowid = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : xeci_db_error(db, "looking up a message");
}

static int insert_refs(xeci_db *db, int64_t rowid, const xeci_mail *m)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "INSERT OR IGNORE INTO message_refs(message_rowid, ref_message_id)"
				     " VALUES (?, ?)") < 0)
		return XECI_EIO;
	for (size_t i = 0; i <= m->nreferences; i++) {
		const char *ref = i < m->nreferences ? m->references[i] : m->in_reply_to;
		if (!ref || !*ref || (m->message_id && !strcmp(ref, m->message_id)))
			continue;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, rowid);
		sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			return xeci_db_error(db, "storing thread links");
	}
	return 0;
}

/* The bytes go to a table of their own (schema 0005): a parsed message of a
 * git epoch as a pointer to its blob (0010: the epoch holds the bytes, and
 * writing them through the WAL into the database was a third of the
 * store's writes), any other as the bytes, which an error row keeps as
 * evidence whatever its source. */
static int insert_raw(xeci_db *db, int64_t rowid, const xeci_msg_record *r, const char *error)
{
	sqlite3_stmt *st;
	bool pointer = !error && r->blob_oid && r->repo_id > 0;
	if (xeci_db_prepare(&st, db, pointer ? "INSERT INTO message_raw(message_rowid, repo_id, blob_oid)"
					       " VALUES (?, ?, ?)"
					     : "INSERT INTO message_raw(message_rowid, raw) VALUES (?, ?)") < 0)
		return XECI_EIO;
	sqlite3_bind_int64(st, 1, rowid);
	if (pointer) {
		sqlite3_bind_int64(st, 2, r->repo_id);
		sqlite3_bind_text(st, 3, r->blob_oid, -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_blob64(st, 2, r->raw, r->len, SQLITE_STATIC);
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		return xeci_db_error(db, "storing a message");
	return 0;
}

/* Inserts the row (and its bytes). 1, nothing inserted: a parsed row whose
 * Message-ID a parsed row already holds. */
static int insert_row(int64_t *rowid, xeci_db *db, int64_t inbox_id, const xeci_msg_record *r,
		      const char *error, const xeci_msg_source *src)
{
	sqlite3_stmt *st;
	const xeci_mail *m = r->mail;
	char *made = NULL;
	if (xeci_db_prepare(&st, db,
			    "INSERT INTO messages(inbox_id, message_id, raw_sha256, size, source, epoch,"
			    " commit_oid, status, error, parsed, subject, author_email, date, in_reply_to,"
			    " has_patch, received_at) VALUES (?1,?2,?3,?4,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)") < 0)
		return XECI_EIO;
	if (inbox_id > 0)
		sqlite3_bind_int64(st, 1, inbox_id);
	bind_text_or_null(st, 2, m ? m->message_id : NULL);
	sqlite3_bind_text(st, 3, r->raw_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)r->len);
	sqlite3_bind_text(st, 6, src->source ? src->source : "", -1, SQLITE_STATIC);
	if (src->epoch >= 0)
		sqlite3_bind_int(st, 7, src->epoch);
	bind_text_or_null(st, 8, src->commit);
	sqlite3_bind_text(st, 9, error ? "error" : "ok", -1, SQLITE_STATIC);
	bind_text_or_null(st, 10, error);
	sqlite3_bind_int64(st, 17, src->received_at ? src->received_at : xeci_time_now());
	if (m) {
		const char *parsed = r->parsed_json;
		if (!parsed && !error) {
			parsed = made = xeci_mail_json_text(m);
		}
		if (!error)
			bind_text_or_null(st, 11, parsed);
		bind_text_or_null(st, 12, m->subject);
		bind_text_or_null(st, 13, m->author_email);
		if (m->date)
			sqlite3_bind_int64(st, 14, m->date);
		bind_text_or_null(st, 15, m->in_reply_to);
	}
	/* an unparsed mail has no patch we know of (the column is NOT NULL) */
	sqlite3_bind_int(st, 16, m ? m->has_patch : 0);
	int rc = sqlite3_step(st);
	free(made);
	if (rc != SQLITE_DONE && !error &&
	    sqlite3_extended_errcode(xeci_db_handle(db)) == SQLITE_CONSTRAINT_UNIQUE) {
		sqlite3_reset(st); /* messages_mid_ok: a parsed row has this Message-ID */
		return 1;
	}
	if (rc != SQLITE_DONE)
		return xeci_db_error(db, "storing a message");
	*rowid = sqlite3_last_insert_rowid(xeci_db_handle(db));
	return insert_raw(db, *rowid, r, error);
}

int xeci_msgstore_put(int64_t *rowid, xeci_msg_outcome *outcome, xeci_db *db, int64_t inbox_id,
		      const xeci_msg_record *rec, const xeci_msg_source *src)
{
	const xeci_mail *mail = rec->mail;
	const char *mid = mail ? mail->message_id : NULL;
	int64_t same, ok_rowid;
	char reason[512];
	const char *error = mail ? NULL : (rec->parse_error ? rec->parse_error : "unparsable");

	if (find_same(&same, db, mid, rec->raw_sha256) < 0)
		return XECI_EIO;
	if (same) {
		*rowid = same;
		*outcome = XECI_MSG_DUPLICATE;
		return 0;
	}
	if (!error && mail && !mid)
		error = "no Message-ID";
	/* a parsed row is inserted straight away: the unique messages_mid_ok
	 * refuses it when its Message-ID is taken, and only then is the row
	 * holding it looked up */
	int rc = insert_row(rowid, db, inbox_id, rec, error, src);
	if (rc < 0)
		return XECI_EIO;
	if (rc > 0) {
		if (find_ok(&ok_rowid, db, mid) < 0)
			return XECI_EIO;
		snprintf(reason, sizeof(reason),
			 "duplicate Message-ID <%s> with a different body (first stored as message %lld)", mid,
			 (long long)ok_rowid);
		error = reason;
		if (insert_row(rowid, db, inbox_id, rec, error, src) != 0)
			return XECI_EIO;
	}
	if (error) {
		XECI_WARN("message %s%s%s from %s kept as error: %s", mid ? "<" : "", mid ? mid : "(no id)",
			  mid ? ">" : "", src->source ? src->source : "?", error);
		*outcome = XECI_MSG_ERROR;
		return 0;
	}
	*outcome = XECI_MSG_STORED;
	return insert_refs(db, *rowid, mail);
}

int xeci_msgstore_remove(bool *found, xeci_db *db, int64_t inbox_id, const char *sha)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "UPDATE messages SET status = 'removed'"
				     " WHERE raw_sha256 = ? AND status != 'removed' AND inbox_id IS ?") < 0)
		return XECI_EIO;
	sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
	if (inbox_id > 0)
		sqlite3_bind_int64(st, 2, inbox_id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return xeci_db_error(db, "marking a message removed");
	*found = sqlite3_changes(xeci_db_handle(db)) > 0;
	return 0;
}
