/* The bytes of a stored message. A row of message_raw holds them (raw) or,
 * for a message read from a public-inbox git epoch, points at them: the
 * epoch repository (raw_repos) and the blob's id (schema 0010). Everything
 * that needs a stored message's bytes reads them here. */
#ifndef XECI_MSGRAW_H
#define XECI_MSGRAW_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* The bytes of message `message_rowid` into *out (malloc'd, NUL-terminated;
 * *len excludes the NUL). XECI_ENOTFOUND, with the reason as the last
 * error, when none are stored or the blob pointed at cannot be read. */
int xeci_msgraw_get(char **out, size_t *len, xeci_db *db, int64_t message_rowid);

/* The raw_repos id of a repository path, inserted when new (inside the
 * caller's transaction, if any). */
int xeci_msgraw_repo_id(int64_t *id, xeci_db *db, const char *path);

#endif
