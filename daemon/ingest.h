/* The ingest stage: raw messages in, rows out. Messages are taken in batches;
 * a batch is parsed, then stored with the inbox cursor and the series it
 * touches in ONE transaction, so a crash or kill -9 at any point replays at
 * most the unfinished batch and loses nothing (duplicates are recognised).
 *
 * xeci_ingest_fetch runs one whole fetch of one inbox; it blocks (network,
 * git, disk): the daemon calls it on the thread pool, the CLI directly. An
 * xeci_ingest parses on the calling thread and stores on a thread of its
 * own (see ingest.c); the xeci_db is the store thread's until flushed. */
#ifndef XECI_INGEST_H
#define XECI_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "db.h"
#include "inbox.h"
#include "series.h"

typedef struct xeci_ingest_stats {
	uint64_t messages;   /* handed over */
	uint64_t stored;     /* new rows, parsed */
	uint64_t duplicates; /* already stored with the same bytes */
	uint64_t errors;     /* new rows kept with a reason */
	uint64_t removed;    /* removals applied */
	uint64_t completed;  /* series versions that became complete */
} xeci_ingest_stats;

typedef struct xeci_ingest_opts {
	size_t max_message_size;          /* 0: XECI_MAIL_MAX_SIZE_DEFAULT */
	const xeci_series_opts *series;   /* NULL: defaults */
	size_t batch_size;                /* 0: a default that keeps memory bounded */
	/* called after each committed batch (for progress on a terminal) */
	void (*progress)(const xeci_ingest_stats *stats, int epoch, void *payload);
	void *progress_payload;
} xeci_ingest_opts;

typedef struct xeci_ingest xeci_ingest;

int xeci_ingest_new(xeci_ingest **out, xeci_db *db, int64_t inbox_id, const xeci_ingest_opts *opts);
/* Takes one message (copied). Matches xeci_inbox_msg_fn, with the
 * xeci_ingest as payload. Fails once a batch failed to store: the fetch
 * should stop there (the cursor stays before the failed batch). */
int xeci_ingest_add(const xeci_inbox_msg *msg, void *ingest);
/* Parses and commits what is pending; returns when it is committed. */
int xeci_ingest_flush(xeci_ingest *ing);
/* The figures so far (messages: handed over; the rest: committed). */
void xeci_ingest_stats_get(xeci_ingest_stats *out, xeci_ingest *ing);
/* Frees; what was not flushed is dropped (it will be fetched again). */
void xeci_ingest_free(xeci_ingest *ing);

/* The row of inbox `name`, created when missing (url and transport updated). */
int xeci_ingest_inbox_ensure(int64_t *id, xeci_db *db, const char *name, const char *url,
			     const char *transport);

/* One fetch of one inbox: read the cursors, fetch (git or atom) everything
 * new, store it, save the cursors. mirror_dir holds the git mirrors. A fetch
 * error is also recorded in fetch_errors. */
int xeci_ingest_fetch(xeci_ingest_stats *stats, xeci_db *db, const xeci_config_inbox *inbox,
		      const char *mirror_dir, const xeci_ingest_opts *opts);

#endif
