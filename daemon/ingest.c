/* The ingest pipeline. Two threads share the work of a fetch:
 *   - the caller's (fetching) thread reads messages and, batch by batch,
 *     parses them and serialises the parse to JSON (CPU, no database);
 *   - a store thread commits each parsed batch: message rows, the fetch
 *     cursor and the series it touches, in one transaction.
 * The digest and JSON of each message are made by whichever thread has
 * time (see submit).
 * At most QUEUE_MAX parsed batches wait for the store thread, so memory stays
 * bounded whatever the inbox size, and a crash loses at most the batches not
 * yet committed (their cursor did not move: they are fetched again). */
#include "ingest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "ingest_ckpt.h"
#include "log.h"
#include "mail_json_write.h"
#include "msgraw.h"
#include "msgstore.h"
#include "series_cache.h"
#include "util.h"

#define DEFAULT_BATCH 1000
/* Parses kept for the series stage: a thread's replies mostly arrive within
 * a few thousand messages of its patches. ~1 KB each. */
#define CACHE_ENTRIES 16384
/* messages committed together at most, when batches queue up */
#define GROUP_MAX 4000
/* parsed batches waiting for the store thread at most: the two threads'
 * shares of a batch vary from batch to batch (threads, series), and with
 * one waiting slot each waited for the other about a fifth of the time */
#define QUEUE_MAX 3
#define BULK_CHECKPOINT_PAGES 2500 /* 40 MB of WAL in 16 KiB pages (db.c) */
#define CHECKPOINT_PAGES 1000     /* SQLite's default autocheckpoint */
#define CHECKPOINT_AFTER 1000 /* messages: an ingest of more checkpoints at its end */

/* One message of a batch. */
typedef struct pending {
	char *raw;
	size_t len;
	bool removed;
	int epoch;
	char commit[41];
	char *source;
	char *fetch_error; /* the fetcher could not read this commit */
	char blob[41];       /* from a git epoch: its blob ("" otherwise) */
	const char *git_dir; /* ... of this epoch (interned in xeci_ingest.dirs) */
	/* made by the parse (mail, error) and by prepare (sha, json), see submit */
	char sha[65];      /* of raw */
	xeci_mail *mail;   /* NULL: see error */
	char *json;        /* xeci_mail_to_json(mail), compact */
	bool prepared;     /* sha and json made by the fetching thread (see submit) */
	char error[600];
} pending;

typedef struct batch {
	pending *items;
	size_t n, cap;
	/* parses the series cache let go while storing it: freed with the batch,
	 * by the fetching thread that allocated them */
	xeci_mail **evicted;
	size_t nevicted;
	/* its digests and JSON: PREP_STORE the store thread makes them,
	 * PREP_BUSY the fetching thread is making them, PREP_DONE made (under mu) */
	int prep;
	struct batch *next; /* on the stored list */
} batch;

enum { PREP_STORE, PREP_BUSY, PREP_DONE };

struct xeci_ingest {
	xeci_db *db; /* used by the store thread only, while it runs */
	xeci_series_cache *cache; /* the store thread's */
	xeci_ingest_ckpt *ckpt;   /* the store thread's checkpoints, while it runs */
	int64_t data_version; /* of db at the last group; 0: none yet */
	int64_t inbox_id;
	xeci_ingest_opts opts;
	batch *filling; /* the fetching thread's */

	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool started, stop, busy;
	batch *queued;       /* parsed, waiting for the store thread, oldest first */
	size_t nqueued;
	batch *stored;       /* stored, to be freed by the fetching thread */
	int store_rc;        /* first store failure; sticky */
	char store_err[1024];
	xeci_ingest_stats stats;
	uint64_t handed;     /* messages handed over (fetching thread) */
	uint64_t batches, prepared; /* submitted; prepared by the fetching thread */
	/* epoch repositories messages came from: the fetching thread interns
	 * each path once (pending.git_dir points here), the store thread knows
	 * their raw_repos ids (forgotten on a rollback, which drops new ones) */
	struct {
		char *given, *abs;
	} *dirs;
	size_t ndirs;
	struct {
		const char *dir;
		int64_t id;
	} *repo_ids;
	size_t nrepo_ids;
	/* CPU seconds, logged at the end (XECI_LOG=debug): where the time goes */
	double cpu_parse, cpu_rows, cpu_series, cpu_commit, cpu_store_start, cpu_store;
};

static double thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pending_clear(pending *p)
{
	xeci_mail_free(p->mail);
	free(p->json);
	free(p->raw);
	free(p->source);
	free(p->fetch_error);
}

static void batch_free(batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		pending_clear(&b->items[i]);
	for (size_t i = 0; i < b->nevicted; i++)
		xeci_mail_free(b->evicted[i]);
	free(b->evicted);
	free(b->items);
	free(b);
}

/* --- parsing (fetching thread) --- */

static void parse_one(pending *p, size_t max)
{
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
		return;
	}
	/* the message and patch text are in raw and not in the JSON: what is
	 * stored and what the series stage reads do without them */
	free(p->mail->message);
	free(p->mail->patch);
	p->mail->message = p->mail->patch = NULL;
	p->mail->patch_len = 0;
}

/* The digest and the JSON, which either thread may make (see submit). */
static void prepare(pending *p)
{
	xeci_sha256_hex(p->sha, p->raw ? p->raw : "", p->len);
	if (p->mail)
		p->json = xeci_mail_json_text(p->mail);
	p->prepared = true;
}

/* --- storing (store thread) --- */

/* The raw_repos id of an interned epoch path. */
static int repo_id(int64_t *id, xeci_ingest *ing, const char *dir)
{
	for (size_t i = 0; i < ing->nrepo_ids; i++)
		if (ing->repo_ids[i].dir == dir) {
			*id = ing->repo_ids[i].id;
			return 0;
		}
	if (xeci_msgraw_repo_id(id, ing->db, dir) < 0)
		return XECI_EIO;
	ing->repo_ids = xeci_realloc(ing->repo_ids, (ing->nrepo_ids + 1) * sizeof(*ing->repo_ids));
	ing->repo_ids[ing->nrepo_ids].dir = dir;
	ing->repo_ids[ing->nrepo_ids++].id = *id;
	return 0;
}

/* Stores one message; a stored parse goes to the cache (taken from p). */
static int store_one(xeci_ingest *ing, batch *b, pending *p, int64_t now, int64_t *rowids,
		     size_t *nstored, xeci_ingest_stats *st)
{
	bool made = !p->prepared; /* then freed here, by the thread that made it */
	if (made)
		prepare(p);
	if (p->removed) {
		bool found;
		if (xeci_msgstore_remove(&found, ing->db, ing->inbox_id, p->sha) < 0)
			return XECI_EIO;
		st->removed += found;
		if (found) /* a cached row may be this one: it no longer loads */
			xeci_series_cache_clear(ing->cache);
		return 0;
	}
	xeci_msg_record rec = {p->raw ? p->raw : "", p->len, p->sha, p->mail, p->json, p->error, NULL, 0};
	if (p->blob[0] && p->git_dir && p->mail) {
		if (repo_id(&rec.repo_id, ing, p->git_dir) < 0)
			return XECI_EIO;
		rec.blob_oid = p->blob;
	}
	xeci_msg_source src = {p->source, p->epoch, p->commit[0] ? p->commit : NULL, now};
	int64_t rowid;
	xeci_msg_outcome outcome;
	int rc = xeci_msgstore_put(&rowid, &outcome, ing->db, ing->inbox_id, &rec, &src);
	if (made) {
		free(p->json);
		p->json = NULL;
	}
	if (rc < 0)
		return rc;
	switch (outcome) {
	case XECI_MSG_STORED:
		st->stored++;
		rowids[(*nstored)++] = rowid;
		xeci_series_cache_stored(ing->cache, rowid, p->mail);
		xeci_mail *evicted = xeci_series_cache_put(ing->cache, rowid, p->mail, now);
		p->mail = NULL;
		if (evicted) /* room for every item was made before storing */
			b->evicted[b->nevicted++] = evicted;
		break;
	case XECI_MSG_DUPLICATE:
		st->duplicates++;
		break;
	case XECI_MSG_ERROR:
		st->errors++;
		break;
	}
	return 0;
}

/* The cursor of each epoch seen in the batch: its last commit. */
static int save_cursors(xeci_ingest *ing, const batch *b)
{
	sqlite3_stmt *st;
	if (ing->inbox_id <= 0)
		return 0;
	if (xeci_db_prepare(&st, ing->db,
			    "INSERT INTO inbox_cursors(inbox_id, epoch, last_commit) VALUES (?, ?, ?)"
			    " ON CONFLICT(inbox_id, epoch) DO UPDATE SET last_commit = excluded.last_commit,"
			    " updated_at = unixepoch()") < 0)
		return XECI_EIO;
	for (size_t i = 0; i < b->n; i++) {
		const pending *p = &b->items[i];
		bool last_of_epoch = p->commit[0] && p->epoch >= 0;
		for (size_t j = i + 1; last_of_epoch && j < b->n; j++)
			if (b->items[j].epoch == p->epoch && b->items[j].commit[0])
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

/* Stores b's rows and cursors; the rowids of the rows stored are added to
 * *rowids (for the group's series update). */
static int store_batch_rows(xeci_ingest *ing, batch *b, xeci_ingest_stats *st, int64_t **rowids,
			    size_t *nrowids, size_t *cap)
{
	int64_t now = xeci_time_now();
	int rc = 0;
	double t0 = thread_cpu();
	if (*nrowids + b->n > *cap) {
		*cap = *nrowids + b->n;
		*rowids = xeci_realloc(*rowids, *cap * sizeof(**rowids));
	}
	b->evicted = xeci_realloc(b->evicted, (b->nevicted + b->n) * sizeof(*b->evicted));
	for (size_t i = 0; i < b->n && rc == 0; i++)
		rc = store_one(ing, b, &b->items[i], now, *rowids, nrowids, st);
	if (rc == 0)
		rc = save_cursors(ing, b);
	ing->cpu_rows += thread_cpu() - t0;
	return rc;
}

/* The series the group's new rows touch, assembled once for the group: a
 * thread whose messages span two batches is assembled once, not twice. */
static int update_series(xeci_ingest *ing, const int64_t *rowids, size_t n, xeci_ingest_stats *st)
{
	static const xeci_series_opts defaults = {NULL, 24 * 3600};
	int completed = 0, rc = 0;
	double t0 = thread_cpu();
	if (n)
		rc = xeci_series_update_cached(ing->db, ing->inbox_id, rowids, n, ing->cache,
					       ing->opts.series ? ing->opts.series : &defaults, &completed);
	ing->cpu_series += thread_cpu() - t0;
	st->completed += (uint64_t)completed;
	return rc;
}

/* Takes the oldest queued batch, if any, letting the fetching thread queue the
 * next one while this one is stored. */
static batch *take(xeci_ingest *ing)
{
	pthread_mutex_lock(&ing->mu);
	batch *b = ing->queued;
	if (b) {
		ing->queued = b->next;
		b->next = NULL;
		ing->nqueued--;
	}
	pthread_cond_broadcast(&ing->cv);
	while (b && b->prep == PREP_BUSY) /* the fetching thread is at it (flush) */
		pthread_cond_wait(&ing->cv, &ing->mu);
	pthread_mutex_unlock(&ing->mu);
	return b;
}

/* A stored batch goes back to the fetching thread, which allocated its
 * buffers: freeing them here took the fetching thread's malloc arena lock
 * for every message, and the two threads waited on each other. */
static void give_back(xeci_ingest *ing, batch *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&ing->mu);
	b->next = ing->stored;
	ing->stored = b;
	pthread_mutex_unlock(&ing->mu);
}

static void free_list(batch *b)
{
	while (b) {
		batch *next = b->next;
		batch_free(b);
		b = next;
	}
}

/* The series cache remembers what the database holds: when another
 * connection committed since our last transaction (PRAGMA data_version
 * moves only for other connections' commits), it forgets. */
static int check_others(xeci_ingest *ing)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, ing->db, "PRAGMA data_version") < 0)
		return XECI_EIO;
	if (sqlite3_step(st) != SQLITE_ROW)
		return xeci_db_error(ing->db, "reading data_version");
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (ing->data_version && v != ing->data_version)
		xeci_series_cache_clear(ing->cache);
	ing->data_version = v;
	return 0;
}

/* Stores b and, while the fetching thread keeps up, the batches it queues
 * meanwhile, then the series their rows touch, in one transaction with
 * their cursors (a commit per batch was a fifth of the store thread: each
 * rewrote the same index pages). On failure nothing of them stays (rolled
 * back). */
static int store_group(xeci_ingest *ing, batch *b, xeci_ingest_stats *st, int *last_epoch,
		       char *err, size_t errlen)
{
	xeci_ingest_stats s = *st;
	size_t n = 0, nrowids = 0, cap = 0;
	int64_t *rowids = NULL;
	int rc = xeci_db_begin(ing->db);
	if (rc == 0)
		rc = check_others(ing);
	while (rc == 0 && b) {
		rc = store_batch_rows(ing, b, &s, &rowids, &nrowids, &cap);
		n += b->n;
		if (b->n)
			*last_epoch = b->items[b->n - 1].epoch;
		give_back(ing, b);
		b = rc == 0 && n < GROUP_MAX ? take(ing) : NULL;
	}
	give_back(ing, b);
	if (rc == 0)
		rc = update_series(ing, rowids, nrowids, &s);
	free(rowids);
	double t0 = thread_cpu();
	if (rc == 0)
		rc = xeci_db_commit(ing->db);
	ing->cpu_commit += thread_cpu() - t0;
	if (rc < 0) {
		snprintf(err, errlen, "storing a batch of %zu messages: %s", n, xeci_error_last());
		xeci_db_rollback(ing->db);
		xeci_series_cache_clear(ing->cache); /* its rowids are free again */
		ing->nrepo_ids = 0;                   /* and raw_repos ids new in it */
		return rc;
	}
	*st = s;
	return 0;
}

/* While the store thread runs, WAL checkpoints are fewer and larger (a
 * page written by several commits is copied into the database once), and
 * a thread of their own runs them (ingest_ckpt.c). After a bulk, a
 * checkpoint, so that the log does not stay at its bulk size; after a few
 * messages, the log is left to the autocheckpoint and to xeci_db_close
 * (see db.c): a checkpoint is two fsyncs, which were most of the wall time
 * of a one-message ingest on a busy disk. */
static void bulk_mode(xeci_ingest *ing, bool on)
{
	const xeci_ingest_stats *s = &ing->stats; /* written by this thread only */
	bool bulk = s->stored + s->duplicates + s->errors + s->removed >= CHECKPOINT_AFTER;
	if (on) {
		xeci_ingest_ckpt_start(&ing->ckpt, ing->db, BULK_CHECKPOINT_PAGES);
		return;
	}
	xeci_ingest_ckpt_stop(ing->ckpt, CHECKPOINT_PAGES);
	ing->ckpt = NULL;
	if (bulk)
		xeci_db_exec(ing->db, "PRAGMA wal_checkpoint(PASSIVE)");
}

static void *store_thread(void *arg)
{
	xeci_ingest *ing = arg;
	ing->cpu_store_start = thread_cpu();
	bulk_mode(ing, true);
	pthread_mutex_lock(&ing->mu);
	for (;;) {
		while (!ing->queued && !ing->stop)
			pthread_cond_wait(&ing->cv, &ing->mu);
		if (!ing->queued)
			break;
		ing->busy = true;
		xeci_ingest_stats st = ing->stats;
		int failed = ing->store_rc;
		pthread_mutex_unlock(&ing->mu);

		char err[1024] = "";
		int last_epoch = -1;
		batch *b = take(ing);
		/* after a failure, later batches are dropped: their cursor must not
		 * move past the failed one */
		int rc = failed;
		if (failed)
			batch_free(b);
		else
			rc = store_group(ing, b, &st, &last_epoch, err, sizeof(err));
		if (rc == 0 && ing->opts.progress)
			ing->opts.progress(&st, last_epoch, ing->opts.progress_payload);

		pthread_mutex_lock(&ing->mu);
		if (rc < 0 && !ing->store_rc) {
			ing->store_rc = rc;
			snprintf(ing->store_err, sizeof(ing->store_err), "%s", err);
		}
		if (rc == 0)
			ing->stats = st;
		ing->busy = false;
		pthread_cond_broadcast(&ing->cv);
	}
	pthread_mutex_unlock(&ing->mu);
	bulk_mode(ing, false);
	ing->cpu_store = thread_cpu() - ing->cpu_store_start;
	return NULL;
}

/* --- the fetching thread's side --- */

int xeci_ingest_new(xeci_ingest **out, xeci_db *db, int64_t inbox_id, const xeci_ingest_opts *opts)
{
	xeci_ingest *ing = xeci_calloc(1, sizeof(*ing));
	ing->db = db;
	ing->inbox_id = inbox_id;
	ing->cache = xeci_series_cache_new(CACHE_ENTRIES);
	if (opts)
		ing->opts = *opts;
	if (!ing->opts.batch_size)
		ing->opts.batch_size = DEFAULT_BATCH;
	if (!ing->opts.max_message_size)
		ing->opts.max_message_size = XECI_MAIL_MAX_SIZE_DEFAULT;
	pthread_mutex_init(&ing->mu, NULL);
	pthread_cond_init(&ing->cv, NULL);
	*out = ing;
	return 0;
}

static int failure(xeci_ingest *ing)
{
	pthread_mutex_lock(&ing->mu);
	int rc = ing->store_rc;
	if (rc)
		xeci_error_setc(rc, "%s", ing->store_err);
	pthread_mutex_unlock(&ing->mu);
	return rc;
}

/* Parses the filling batch and queues it for the store thread, waiting while
 * QUEUE_MAX are queued already. */
static int submit(xeci_ingest *ing)
{
	batch *b = ing->filling;
	if (!b || !b->n)
		return failure(ing);
	ing->filling = NULL;
	double t0 = thread_cpu();
	for (size_t i = 0; i < b->n; i++)
		parse_one(&b->items[i], ing->opts.max_message_size);
	/* The digest and the JSON (~0.4 s of the bench, a tenth of the CPU)
	 * are made here while the store thread has two batches waiting (it
	 * is busy: handing this one over sooner gains nothing), else left to
	 * the store thread (it may soon be idle, waiting for this batch). With
	 * them on either thread for good, that one was the longer of the two;
	 * with one waiting batch as the mark, since the series are assembled
	 * once per group, this thread was the longer one. */
	pthread_mutex_lock(&ing->mu);
	bool waiting = ing->nqueued >= 2;
	pthread_mutex_unlock(&ing->mu);
	for (size_t i = 0; waiting && i < b->n; i++)
		prepare(&b->items[i]);
	b->prep = waiting ? PREP_DONE : PREP_STORE;
	ing->batches++;
	ing->prepared += waiting;
	ing->cpu_parse += thread_cpu() - t0;

	pthread_mutex_lock(&ing->mu);
	if (!ing->started) {
		if (pthread_create(&ing->thread, NULL, store_thread, ing) != 0) {
			pthread_mutex_unlock(&ing->mu);
			batch_free(b);
			return xeci_error_setc(XECI_ERROR, "cannot start the store thread");
		}
		ing->started = true;
	}
	while (ing->nqueued >= QUEUE_MAX)
		pthread_cond_wait(&ing->cv, &ing->mu);
	batch **tail = &ing->queued;
	while (*tail)
		tail = &(*tail)->next;
	*tail = b;
	ing->nqueued++;
	batch *stored = ing->stored;
	ing->stored = NULL;
	pthread_cond_broadcast(&ing->cv);
	pthread_mutex_unlock(&ing->mu);
	free_list(stored);
	return failure(ing);
}

/* The epoch path, interned: the same pointer for the same path, alive as
 * long as the ingest (batches outlive the fetcher's repository). Made
 * absolute (once per path: realpath was 3% of the fetching thread): raw
 * pointers must not depend on the working directory. */
static const char *intern_dir(xeci_ingest *ing, const char *dir)
{
	for (size_t i = ing->ndirs; i-- > 0;)
		if (!strcmp(ing->dirs[i].given, dir))
			return ing->dirs[i].abs;
	char *abs = realpath(dir, NULL);
	if (!abs)
		return NULL; /* then the bytes are stored */
	for (size_t i = ing->ndirs; i-- > 0;)
		if (!strcmp(ing->dirs[i].abs, abs)) { /* the same repository by another path */
			free(abs);
			abs = ing->dirs[i].abs;
			break;
		}
	ing->dirs = xeci_realloc(ing->dirs, (ing->ndirs + 1) * sizeof(*ing->dirs));
	ing->dirs[ing->ndirs].given = xeci_strdup(dir);
	return ing->dirs[ing->ndirs++].abs = abs;
}

int xeci_ingest_add(const xeci_inbox_msg *msg, void *payload)
{
	xeci_ingest *ing = payload;
	if (!ing->filling)
		ing->filling = xeci_calloc(1, sizeof(batch));
	batch *b = ing->filling;
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->items = xeci_realloc(b->items, b->cap * sizeof(*b->items));
	}
	pending *p = &b->items[b->n++];
	memset(p, 0, sizeof(*p));
	if (msg->data && msg->take && *msg->take == msg->data) { /* kept, not copied */
		p->raw = *msg->take;
		*msg->take = NULL;
	} else {
		p->raw = msg->data ? xeci_strndup(msg->data, msg->len) : NULL;
	}
	p->len = msg->data ? msg->len : 0;
	p->removed = msg->removed;
	p->epoch = msg->epoch;
	if (msg->commit)
		snprintf(p->commit, sizeof(p->commit), "%s", msg->commit);
	p->source = xeci_strdup(msg->source ? msg->source : "");
	if (msg->error)
		p->fetch_error = xeci_strdup(msg->error);
	if (msg->blob && msg->git_dir && strlen(msg->blob) == 40 && (p->git_dir = intern_dir(ing, msg->git_dir)))
		memcpy(p->blob, msg->blob, 41);
	ing->handed++;
	if (b->n >= ing->opts.batch_size)
		return submit(ing);
	return failure(ing);
}

/* At the end of a fetch this thread has nothing left to read: it makes the
 * digests and JSON of the batches still queued, the newest first (the
 * store thread takes the oldest), instead of waiting while the store
 * thread makes them (the tail of a bench run was ~0.2 s). */
static void prepare_queued(xeci_ingest *ing)
{
	for (;;) {
		pthread_mutex_lock(&ing->mu);
		batch *pick = NULL;
		for (batch *b = ing->queued; b; b = b->next)
			if (b->prep == PREP_STORE)
				pick = b;
		if (pick)
			pick->prep = PREP_BUSY;
		pthread_mutex_unlock(&ing->mu);
		if (!pick)
			return;
		for (size_t i = 0; i < pick->n; i++)
			prepare(&pick->items[i]);
		pthread_mutex_lock(&ing->mu);
		pick->prep = PREP_DONE;
		pthread_cond_broadcast(&ing->cv);
		pthread_mutex_unlock(&ing->mu);
	}
}

int xeci_ingest_flush(xeci_ingest *ing)
{
	int rc = submit(ing);
	prepare_queued(ing);
	pthread_mutex_lock(&ing->mu);
	while (ing->queued || ing->busy)
		pthread_cond_wait(&ing->cv, &ing->mu);
	batch *stored = ing->stored;
	ing->stored = NULL;
	pthread_mutex_unlock(&ing->mu);
	free_list(stored);
	return rc ? rc : failure(ing);
}

void xeci_ingest_stats_get(xeci_ingest_stats *out, xeci_ingest *ing)
{
	pthread_mutex_lock(&ing->mu);
	*out = ing->stats;
	pthread_mutex_unlock(&ing->mu);
	out->messages = ing->handed;
}

void xeci_ingest_free(xeci_ingest *ing)
{
	if (!ing)
		return;
	pthread_mutex_lock(&ing->mu);
	ing->stop = true;
	pthread_cond_broadcast(&ing->cv);
	pthread_mutex_unlock(&ing->mu);
	if (ing->started) {
		pthread_join(ing->thread, NULL);
		XECI_DEBUG("ingest: CPU s: calling thread %.2f (parse %.2f, the rest mostly reading), store "
			  "thread %.2f (rows %.2f, series %.2f, commits %.2f); digests and JSON of %llu of %llu "
			  "batches on the calling thread", thread_cpu(), ing->cpu_parse, ing->cpu_store,
			  ing->cpu_rows, ing->cpu_series, ing->cpu_commit, (unsigned long long)ing->prepared,
			  (unsigned long long)ing->batches);
	}
	free_list(ing->queued);
	batch_free(ing->filling);
	free_list(ing->stored);
	xeci_series_cache_free(ing->cache);
	for (size_t i = 0; i < ing->ndirs; i++) {
		bool shared = false; /* abs strings may be shared by two given paths */
		for (size_t j = 0; j < i && !shared; j++)
			shared = ing->dirs[j].abs == ing->dirs[i].abs;
		if (!shared)
			free(ing->dirs[i].abs);
		free(ing->dirs[i].given);
	}
	free(ing->dirs);
	free(ing->repo_ids);
	pthread_mutex_destroy(&ing->mu);
	pthread_cond_destroy(&ing->cv);
	free(ing);
}
