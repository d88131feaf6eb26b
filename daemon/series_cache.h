/* Recently stored parses, kept for the series stage so that the neighbours
 * of a new message in its thread need not be read back from messages.parsed
 * (json_loads + xeci_mail_from_json cost more than the rest of the update).
 *
 * Entries are slim: the mail without its message and patch text (the series
 * stage reads neither, and messages.parsed holds neither), so the cache holds
 * what xeci_mail_from_json would give back. Bounded: a slot per rowid modulo
 * the capacity, a newer rowid evicting the older one, which stays loadable
 * from the database. Owned by one thread (the ingest's store thread). */
#ifndef XECI_SERIES_CACHE_H
#define XECI_SERIES_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "mail.h"
#include "series.h"

typedef struct xeci_series_cache xeci_series_cache;

/* capacity: entries at most (rounded up to a power of two). */
xeci_series_cache *xeci_series_cache_new(size_t capacity);
void xeci_series_cache_free(xeci_series_cache *c);

/* Takes the mail of messages row rowid (status ok, received_at received):
 * frees its message and patch text and keeps the rest. Returns the mail it
 * evicts, if any, for the caller to free: the ingest frees it on the thread
 * that allocated it (glibc's arena locks made cross-thread frees wait). */
xeci_mail *xeci_series_cache_put(xeci_series_cache *c, int64_t rowid, xeci_mail *m, int64_t received);
/* The kept mail of rowid (borrowed, valid until the next put or clear), or
 * NULL. */
xeci_mail *xeci_series_cache_get(const xeci_series_cache *c, int64_t rowid, int64_t *received);
/* Forgets everything: rows were rolled back or changed status, or another
 * connection wrote. */
void xeci_series_cache_clear(xeci_series_cache *c);

/* Also remembered: what the database answered for a Message-ID, so that a
 * thread walked again by a later batch is walked without asking again (a
 * thread is walked once per batch that touches it: 5 lookups a message in a
 * cold ingest). Exact while the owner tells it every row it stores
 * (xeci_series_cache_stored) and clears it when rows go or others write.
 * row_of: the 'ok' messages row with this Message-ID (0: none), false when
 * not known. children: the message_rowid of every message_refs row naming
 * it, ascending (as the primary key gives them), NULL when not known. */
bool xeci_series_cache_row_of(const xeci_series_cache *c, const char *msgid, int64_t *row);
void xeci_series_cache_set_row(xeci_series_cache *c, const char *msgid, int64_t row);
const int64_t *xeci_series_cache_children(const xeci_series_cache *c, const char *msgid, size_t *n);
void xeci_series_cache_set_children(xeci_series_cache *c, const char *msgid, const int64_t *kids, size_t n);
/* A row just stored as 'ok' with its message_refs (msgstore.c): its
 * Message-ID and links update what is known. */
void xeci_series_cache_stored(xeci_series_cache *c, int64_t rowid, const xeci_mail *m);

/* xeci_series_update for rows that are all in the cache or the database:
 * neighbours are taken from the cache when there. cache may be NULL. */
int xeci_series_update_cached(xeci_db *db, int64_t inbox_id, const int64_t *message_rowids, size_t n,
			      xeci_series_cache *cache, const xeci_series_opts *opts, int *completed);

#endif
