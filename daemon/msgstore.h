/* Storing one received message: every message gets a row, good or bad.
 * A parsed mail is stored with its JSON reading and thread links; a mail
 * that cannot be used (unparsable, no Message-ID, over the size limit, a
 * second body under a known Message-ID) is stored with its bytes and the
 * reason, for `xeci mail list --errors`; a parsed mail read from a git
 * epoch keeps a pointer to its blob rather than its bytes (msgraw.h); an exact duplicate (same
 * Message-ID, same bytes) is recognised and not stored twice. */
#ifndef XECI_MSGSTORE_H
#define XECI_MSGSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "mail.h"

typedef enum {
	XECI_MSG_STORED,    /* new row, status ok */
	XECI_MSG_DUPLICATE, /* already stored with the same bytes */
	XECI_MSG_ERROR,     /* new row, status error, reason kept */
} xeci_msg_outcome;

typedef struct xeci_msg_source {
	const char *source;  /* where it came from, for humans */
	int epoch;           /* -1 when not from a git epoch */
	const char *commit;  /* NULL when not from a git epoch */
	int64_t received_at; /* its received_at; 0: now */
} xeci_msg_source;

/* A received message and what was made of it before storing. */
typedef struct xeci_msg_record {
	const char *raw;         /* the bytes as received */
	size_t len;
	const char *raw_sha256;  /* hex sha256 of raw */
	const xeci_mail *mail;   /* its parse; NULL when the parse failed */
	const char *parsed_json; /* xeci_mail_to_json of mail, compact (NULL: made here) */
	const char *parse_error; /* why mail is NULL */
	/* raw is blob blob_oid (hex) of raw_repos row repo_id (a git epoch): a
	 * parsed row keeps that pointer instead of the bytes (schema 0010);
	 * NULL / 0 when raw came from anywhere else */
	const char *blob_oid;
	int64_t repo_id;
} xeci_msg_record;

/* Stores one message read from src. *rowid is its row (the existing one for
 * a duplicate). */
int xeci_msgstore_put(int64_t *rowid, xeci_msg_outcome *outcome, xeci_db *db, int64_t inbox_id,
		      const xeci_msg_record *rec, const xeci_msg_source *src);

/* public-inbox removed a message (a commit holding d with these bytes): its
 * row becomes status removed. Not finding it is not an error (it may have
 * been removed before we ever read it). */
int xeci_msgstore_remove(bool *found, xeci_db *db, int64_t inbox_id, const char *raw_sha256);

#endif
