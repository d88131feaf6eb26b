#include "ingest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "msgstore.h"
#include "util.h"

#define DEFAULT_BATCH 1000

/* One message waiting for the next flush. */
typedef struct pending {
	char *raw;
	size_t len;
	bool removed;
	int epoch;
	char commit[41];
	char *source;
	char *fetch_error; /* the fetcher could not read this commit */
	char sha[65];      /* sha256 of raw, computed with the parse */
	xeci_mail *mail;   /* its parse, once the batch is parsed (NULL: see error) */
	char error[600];
} pending;

struct xeci_ingest {
	xeci_db *db;
	int64_t inbox_id;
	xeci_ingest_opts opts;
	pending *items;
	size_t nitems, capitems;
	xeci_ingest_stats stats;
	int64_t *rowids; /* stored in the current batch, for the series stage */
	size_t nrowids;
};

int xeci_ingest_new(xeci_ingest **out, xeci_db *db, int64_t inbox_id, const xeci_ingest_opts *opts)
{
	xeci_ingest *ing = xeci_calloc(1, sizeof(*ing));
	ing->db = db;
	ing->inbox_id = inbox_id;
	if (opts)
		ing->opts = *opts;
	if (!ing->opts.batch_size)
		ing->opts.batch_size = DEFAULT_BATCH;
	if (!ing->opts.max_message_size)
		ing->opts.max_message_size = XECI_MAIL_MAX_SIZE_DEFAULT;
	*out = ing;
	return 0;
}

static void pending_clear(pending *p)
{
	xeci_mail_free(p->mail);
	free(p->raw);
	free(p->source);
	free(p->fetch_error);
}

int xeci_ingest_add(const xeci_inbox_msg *msg, void *payload)
{
	xeci_ingest *ing = payload;
	if (ing->nitems == ing->capitems) {
		ing->capitems = ing->capitems ? ing->capitems * 2 : 64;
		ing->items = xeci_realloc(ing->items, ing->capitems * sizeof(*ing->items));
	}
	pending *p = &ing->items[ing->nitems++];
	memset(p, 0, sizeof(*p));
	p->raw = msg->data ? xeci_strndup(msg->data, msg->len) : NULL;
	p->len = msg->data ? msg->len : 0;
	p->removed = msg->removed;
	p->epoch = msg->epoch;
	if (msg->commit)
		snprintf(p->commit, sizeof(p->commit), "%s", msg->commit);
	p->source = xeci_strdup(msg->source ? msg->source : "");
	if (msg->error)
		p->fetch_error = xeci_strdup(msg->error);
	ing->stats.messages++;
	if (ing->nitems >= ing->opts.batch_size)
		return xeci_ingest_flush(ing);
	return 0;
}

/* Parses p into p->mail; on failure p->mail is NULL and p->error says why. */
static void parse_one(pending *p, size_t max)
{
	p->mail = NULL;
	xeci_sha256_hex(p->sha, p->raw ? p->raw : "", p->len);
	if (p->removed)
		return;
	if (p->fetch_error) {
		snprintf(p->error, sizeof(p->error), "%s", p->fetch_error);
		return;
	}
	if (p->len > max) {
		snprintf(p->error, sizeof(p->error), "message of %zu bytes is over the size limit (%zu)",
			 p->len, max);
		return;
	}
	if (xeci_mail_parse(&p->mail, p->raw, p->len, max) < 0) {
		snprintf(p->error, sizeof(p->error), "unparsable: %s", xeci_error_last());
		p->mail = NULL;
	}
}

/* Parsing is the CPU-heavy part of a batch and needs no database: it runs on
 * PARSE_THREADS threads, each taking every PARSE_THREADS-th message. */
#define PARSE_THREADS 2

typedef struct parse_job {
	xeci_ingest *ing;
	size_t first;
	pthread_t thread;
} parse_job;

static void *parse_slice(void *arg)
{
	parse_job *job = arg;
	for (size_t i = job->first; i < job->ing->nitems; i += PARSE_THREADS)
		parse_one(&job->ing->items[i], job->ing->opts.max_message_size);
	return NULL;
}

static void parse_batch(xeci_ingest *ing)
{
	parse_job jobs[PARSE_THREADS];
	size_t started = 0;
	if (ing->nitems < 64) {
		for (size_t i = 0; i < ing->nitems; i++)
			parse_one(&ing->items[i], ing->opts.max_message_size);
		return;
	}
	for (size_t t = 1; t < PARSE_THREADS; t++) {
		jobs[t] = (parse_job){ing, t, 0};
		if (pthread_create(&jobs[t].thread, NULL, parse_slice, &jobs[t]) != 0)
			break;
		started = t;
	}
	jobs[0] = (parse_job){ing, 0, 0};
	parse_slice(&jobs[0]);
	for (size_t t = 1; t <= started; t++)
		pthread_join(jobs[t].thread, NULL);
	/* slices whose thread could not start are parsed here */
	for (size_t t = started + 1; t < PARSE_THREADS; t++) {
		jobs[t] = (parse_job){ing, t, 0};
		parse_slice(&jobs[t]);
	}
}

static int store_one(xeci_ingest *ing, const pending *p)
{
	const char *raw = p->raw ? p->raw : "";
	const char *sha = p->sha;

	if (p->removed) {
		bool found;
		if (xeci_msgstore_remove(&found, ing->db, ing->inbox_id, sha) < 0)
			return XECI_EIO;
		ing->stats.removed += found;
		return 0;
	}
	xeci_msg_source src = {p->source, p->epoch, p->commit[0] ? p->commit : NULL};
	int64_t rowid;
	xeci_msg_outcome outcome;
	int rc = xeci_msgstore_put(&rowid, &outcome, ing->db, ing->inbox_id, raw, p->len, sha, p->mail,
				   p->mail ? NULL : p->error, &src);
	if (rc < 0)
		return rc;
	switch (outcome) {
	case XECI_MSG_STORED:
		ing->stats.stored++;
		ing->rowids[ing->nrowids++] = rowid;
		break;
	case XECI_MSG_DUPLICATE:
		ing->stats.duplicates++;
		break;
	case XECI_MSG_ERROR:
		ing->stats.errors++;
		break;
	}
	return 0;
}

/* The cursor of each epoch seen in the batch: its last commit. */
static int save_cursors(xeci_ingest *ing)
{
	sqlite3_stmt *st;
	if (ing->inbox_id <= 0)
		return 0;
	if (xeci_db_prepare(&st, ing->db,
			    "INSERT INTO inbox_cursors(inbox_id, epoch, last_commit) VALUES (?, ?, ?)"
			    " ON CONFLICT(inbox_id, epoch) DO UPDATE SET last_commit = excluded.last_commit,"
			    " updated_at = unixepoch()") < 0)
		return XECI_EIO;
	for (size_t i = 0; i < ing->nitems; i++) {
		const pending *p = &ing->items[i];
		bool last_of_epoch = p->commit[0] && p->epoch >= 0;
		for (size_t j = i + 1; last_of_epoch && j < ing->nitems; j++)
			if (ing->items[j].epoch == p->epoch && ing->items[j].commit[0])
				last_of_epoch = false;
		if (!last_of_epoch)
			continue;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, ing->inbox_id);
		sqlite3_bind_int(st, 2, p->epoch);
		sqlite3_bind_text(st, 3, p->commit, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			return xeci_db_error(ing->db, "saving the fetch cursor");
	}
	return 0;
}

static int flush_locked(xeci_ingest *ing)
{
	int completed = 0;
	for (size_t i = 0; i < ing->nitems; i++)
		if (store_one(ing, &ing->items[i]) < 0)
			return XECI_EIO;
	if (save_cursors(ing) < 0)
		return XECI_EIO;
	if (ing->nrowids) {
		static const xeci_series_opts defaults = {NULL, 24 * 3600};
		const xeci_series_opts *so = ing->opts.series ? ing->opts.series : &defaults;
		if (xeci_series_update(ing->db, ing->inbox_id, ing->rowids, ing->nrowids, so, &completed) < 0)
			return XECI_ERROR;
	}
	ing->stats.completed += (uint64_t)completed;
	return 0;
}

int xeci_ingest_flush(xeci_ingest *ing)
{
	if (!ing->nitems)
		return 0;
	xeci_ingest_stats before = ing->stats;
	int last_epoch = ing->items[ing->nitems - 1].epoch;
	ing->rowids = xeci_realloc(ing->rowids, ing->nitems * sizeof(*ing->rowids));
	ing->nrowids = 0;

	parse_batch(ing);
	int rc = xeci_db_begin(ing->db);
	if (rc == 0 && (rc = flush_locked(ing)) == 0)
		rc = xeci_db_commit(ing->db);
	if (rc < 0) {
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s", xeci_error_last());
		xeci_db_rollback(ing->db);
		/* the batch is dropped, not its messages: the cursor did not move */
		uint64_t handed = ing->stats.messages;
		ing->stats = before;
		ing->stats.messages = handed;
		xeci_error_setc(rc, "storing a batch of %zu messages: %s", ing->nitems, msg);
	}
	for (size_t i = 0; i < ing->nitems; i++)
		pending_clear(&ing->items[i]);
	ing->nitems = 0;
	if (rc == 0 && ing->opts.progress)
		ing->opts.progress(&ing->stats, last_epoch, ing->opts.progress_payload);
	return rc;
}

const xeci_ingest_stats *xeci_ingest_stats_get(const xeci_ingest *ing)
{
	return &ing->stats;
}

void xeci_ingest_free(xeci_ingest *ing)
{
	if (!ing)
		return;
	for (size_t i = 0; i < ing->nitems; i++)
		pending_clear(&ing->items[i]);
	free(ing->items);
	free(ing->rowids);
	free(ing);
}
