/* Storing one received message: every message gets a row, good or bad.
 * A parsed mail is stored with its JSON reading and thread links; a mail
 * that cannot be used (unparsable, no Message-ID, over the size limit, a
 * second body under a known Message-ID) is stored with its bytes and the
 * reason, for `xeci mail list --errors`; an exact duplicate (same
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
} xeci_msg_source;

/* Stores raw (len bytes) read from src. mail is its parse (NULL when the
 * parse failed, with parse_error saying why). raw_sha256 is the hex sha256 of
 * raw. *rowid is the row of the message (the existing one for a duplicate). */
int xeci_msgstore_put(int64_t *rowid, xeci_msg_outcome *outcome, xeci_db *db, int64_t inbox_id,
		      const char *raw, size_t len, const char *raw_sha256, const xeci_mail *mail,
		      const char *parse_error, const xeci_msg_source *src);

/* public-inbox removed a message (a commit holding d with these bytes): its
 * row becomes status removed. Not finding it is not an error (it may have
 * been removed before we ever read it). */
int xeci_msgstore_remove(bool *found, xeci_db *db, int64_t inbox_id, const char *raw_sha256);

#endif
