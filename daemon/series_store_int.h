/* Internals of the series store: loading the messages a batch touches
 * (series_load.c) for the upsert (series_store.c). Not a public header. */
#ifndef XECI_SERIES_STORE_INT_H
#define XECI_SERIES_STORE_INT_H

#include "series_cache.h"
#include "series_int.h"

/* The messages of the threads a batch touches: mails[i] is messages row
 * rowids[i], received[i] its received_at. */
typedef struct series_component {
	xeci_mail **mails;
	int64_t *rowids;
	int64_t *received;
	bool *borrowed; /* mails[i] belongs to the caller (not freed here) */
	size_t n, cap;
	int64_t *seen; /* rowid set */
	size_t nseen, seencap;
	size_t thread_start; /* nseen when the thread being loaded began */
	bool truncated;
} series_component;

/* given (may be NULL): the caller's parse of rowids[i], to spare reading it
 * back from the database; borrowed, not freed. cache (may be NULL): parses
 * of recently stored rows, seeds and neighbours alike; borrowed too. */
int xeci_series__load_component(series_component *c, xeci_db *db, int64_t inbox_id,
				const int64_t *rowids, xeci_mail *const *given, size_t n,
				xeci_series_cache *cache);
void xeci_series__component_free(series_component *c);

#endif
