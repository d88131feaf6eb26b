/* Loading what a batch of new messages touches: for each message that can
 * change a series (a patch, a cover, a pull request, a reply carrying
 * trailers, a message others already answer), its thread (what it refers to,
 * from its parse; what answers it, from message_refs) and, for unthreaded patches, the same author's mails
 * within the markers window. Work is per touched thread, with indexed
 * queries only, so the cost of a batch does not grow with the inbox. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "series_cache.h"
#include "series_store_int.h"
#include "util.h"

#define COMPONENT_MAX 5000 /* a thread bigger than this is cut (and logged) */

static const char *Q_ROW =
	"SELECT message_id, in_reply_to, author_email, date, has_patch, received_at, parsed, inbox_id"
	" FROM messages WHERE id = ? AND status = 'ok' AND parsed IS NOT NULL";
static const char *Q_CHILDREN = "SELECT message_rowid FROM message_refs WHERE ref_message_id = ?";
static const char *Q_IRT = "SELECT id FROM messages WHERE message_id = ? AND status = 'ok'";
static const char *Q_MARKERS =
	"SELECT id FROM messages WHERE inbox_id = ? AND author_email = ? AND date BETWEEN ? AND ?"
	" AND status = 'ok'";

static uint64_t hash_id(int64_t v)
{
	uint64_t x = (uint64_t)v * 0x9e3779b97f4a7c15ull;
	return x ^ (x >> 29);
}

/* rowid set: open addressing, 0 is empty (rowids start at 1) */
static bool seen_add(series_component *c, int64_t id)
{
	if ((c->nseen + 1) * 2 > c->seencap) {
		size_t cap = c->seencap ? c->seencap * 2 : 64;
		int64_t *t = xeci_calloc(cap, sizeof(*t));
		for (size_t i = 0; i < c->seencap; i++) {
			if (!c->seen[i])
				continue;
			size_t k = hash_id(c->seen[i]) & (cap - 1);
			while (t[k])
				k = (k + 1) & (cap - 1);
			t[k] = c->seen[i];
		}
		free(c->seen);
		c->seen = t;
		c->seencap = cap;
	}
	size_t k = hash_id(id) & (c->seencap - 1);
	for (; c->seen[k]; k = (k + 1) & (c->seencap - 1))
		if (c->seen[k] == id)
			return false;
	c->seen[k] = id;
	c->nseen++;
	return true;
}

static bool seen_has(const series_component *c, int64_t id)
{
	if (!c->seencap)
		return false;
	size_t k = hash_id(id) & (c->seencap - 1);
	for (; c->seen[k]; k = (k + 1) & (c->seencap - 1))
		if (c->seen[k] == id)
			return true;
	return false;
}

static void push(int64_t **q, size_t *n, size_t *cap, int64_t v)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*q = xeci_realloc(*q, *cap * sizeof(**q));
	}
	(*q)[(*n)++] = v;
}

static void component_add(series_component *c, int64_t rowid, xeci_mail *m, int64_t received,
			  bool borrowed)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 32;
		c->mails = xeci_realloc(c->mails, c->cap * sizeof(*c->mails));
		c->rowids = xeci_realloc(c->rowids, c->cap * sizeof(*c->rowids));
		c->received = xeci_realloc(c->received, c->cap * sizeof(*c->received));
		c->borrowed = xeci_realloc(c->borrowed, c->cap * sizeof(*c->borrowed));
	}
	c->mails[c->n] = m;
	c->rowids[c->n] = rowid;
	c->received[c->n] = received;
	c->borrowed[c->n] = borrowed;
	c->n++;
}

void xeci_series__component_free(series_component *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (!c->borrowed[i])
			xeci_mail_free(c->mails[i]);
	free(c->mails);
	free(c->borrowed);
	free(c->rowids);
	free(c->received);
	free(c->seen);
	memset(c, 0, sizeof(*c));
}

/* Loads one message; *out NULL when it is not a parsed 'ok' row. */
static int load_row(xeci_mail **out, int64_t *received, xeci_db *db, int64_t rowid)
{
	sqlite3_stmt *st;
	*out = NULL;
	int rc = xeci_db_prepare(&st, db, Q_ROW);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, rowid);
	int s = sqlite3_step(st);
	if (s == SQLITE_DONE)
		return 0;
	if (s != SQLITE_ROW)
		return xeci_db_error(db, "loading a message");
	*received = sqlite3_column_int64(st, 5);
	json_error_t jerr;
	const char *text = (const char *)sqlite3_column_text(st, 6);
	json_t *j = json_loads(text, 0, &jerr);
	sqlite3_reset(st);
	if (!j) {
		XECI_WARN("series: message %lld: parsed JSON unreadable: %s", (long long)rowid, jerr.text);
		return 0;
	}
	if (xeci_mail_from_json(out, j) < 0) {
		XECI_WARN("series: message %lld: %s", (long long)rowid, xeci_error_last());
		*out = NULL;
	}
	json_decref(j);
	return 0;
}

/* A row's parse from the cache (borrowed), else read back (owned). */
static int fetch(xeci_mail **out, int64_t *received, bool *borrowed, xeci_db *db,
		 const xeci_series_cache *cache, int64_t rowid)
{
	*out = xeci_series_cache_get(cache, rowid, received);
	*borrowed = *out != NULL;
	return *out ? 0 : load_row(out, received, db, rowid);
}

/* Queues the unseen of ids, as far as the component may grow. */
static void queue_ids(series_component *c, const int64_t *ids, size_t n, int64_t **q, size_t *nq,
		      size_t *capq)
{
	for (size_t i = 0; i < n; i++) {
		if (c->nseen - c->thread_start >= COMPONENT_MAX) {
			c->truncated = true;
			break;
		}
		if (seen_add(c, ids[i]))
			push(q, nq, capq, ids[i]);
	}
}

/* Runs a one-column rowid query: every row, in its order. */
static int query_ids(int64_t **ids, size_t *n, size_t *cap, xeci_db *db, sqlite3_stmt *st)
{
	int s;
	*n = 0;
	while ((s = sqlite3_step(st)) == SQLITE_ROW)
		push(ids, n, cap, sqlite3_column_int64(st, 0));
	sqlite3_reset(st);
	if (s != SQLITE_DONE)
		return xeci_db_error(db, "walking a thread");
	return 0;
}

/* The 'ok' row of a Message-ID (0: none), from the cache when it knows. */
static int row_of(int64_t *row, xeci_db *db, xeci_series_cache *cache, const char *msgid)
{
	sqlite3_stmt *st;
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	if (xeci_series_cache_row_of(cache, msgid, row))
		return 0;
	int rc = xeci_db_prepare(&st, db, Q_IRT);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, msgid, -1, SQLITE_STATIC);
	if (!(rc = query_ids(&ids, &n, &cap, db, st))) {
		*row = n ? ids[0] : 0; /* at most one: messages_mid_ok is unique */
		if (cache)
			xeci_series_cache_set_row(cache, msgid, *row);
	}
	free(ids);
	return rc;
}

/* What answers msgid (message_refs), from the cache when it knows; *kids
 * is borrowed from the cache or from *own (caller frees). */
static int children_of(const int64_t **kids, size_t *n, int64_t **own, xeci_db *db,
		       xeci_series_cache *cache, const char *msgid)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	*own = NULL;
	if ((*kids = xeci_series_cache_children(cache, msgid, n)))
		return 0;
	int rc = xeci_db_prepare(&st, db, Q_CHILDREN);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, msgid, -1, SQLITE_STATIC);
	if ((rc = query_ids(own, n, &cap, db, st)))
		return rc;
	if (cache)
		xeci_series_cache_set_children(cache, msgid, *own, *n);
	*kids = *own;
	return 0;
}

static bool is_cover(const xeci_mail *m)
{
	return m->tags.index == 0 && m->tags.total > 0;
}

static int has_children(bool *out, xeci_db *db, xeci_series_cache *cache, const char *msgid)
{
	const int64_t *kids;
	int64_t *own;
	size_t n;
	int rc = children_of(&kids, &n, &own, db, cache, msgid);
	*out = !rc && n > 0;
	free(own);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Queues the neighbours of m (rowid id): what it answers, what answers it,
 * and for an unthreaded patch or cover, the author's mails around it. */
static int expand(series_component *c, xeci_db *db, xeci_series_cache *cache, int64_t inbox_id,
		  int64_t id, const xeci_mail *m, int64_t **q, size_t *nq, size_t *capq)
{
	sqlite3_stmt *st;
	int rc;
	/* what it refers to (References, In-Reply-To), in Message-ID order as
	 * message_refs rows keyed by (message_rowid, ref) used to give them */
	const char *stack[64];
	const char **refs = m->nreferences + 1 <= 64 ? stack : xeci_malloc((m->nreferences + 1) * sizeof(*refs));
	size_t nrefs = 0;
	for (size_t i = 0; i <= m->nreferences; i++) {
		const char *ref = i < m->nreferences ? m->references[i] : m->in_reply_to;
		if (ref && *ref && !(m->message_id && !strcmp(ref, m->message_id)))
			refs[nrefs++] = ref;
	}
	qsort(refs, nrefs, sizeof(*refs), cmp_str);
	rc = 0;
	for (size_t i = 0; i < nrefs && !rc; i++) {
		if (i && !strcmp(refs[i], refs[i - 1]))
			continue;
		int64_t row;
		if (!(rc = row_of(&row, db, cache, refs[i])) && row)
			queue_ids(c, &row, 1, q, nq, capq);
	}
	if (refs != stack)
		free(refs);
	if (rc)
		return rc;
	if (m->message_id) {
		const int64_t *kids;
		int64_t *own;
		size_t n;
		if ((rc = children_of(&kids, &n, &own, db, cache, m->message_id)))
			return rc;
		queue_ids(c, kids, n, q, nq, capq);
		free(own);
	}
	/* Only a part of a multi-patch posting (N/M, M > 1) needs the markers
	 * window: a lone patch is a series by itself, and looking around it would
	 * pull in every mail its author sent that hour (quadratic on a busy list). */
	bool unthreaded = !m->in_reply_to && !m->nreferences;
	if (unthreaded && m->tags.total > 1 && (m->has_patch || is_cover(m)) && m->author_email && m->date) {
		if ((rc = xeci_db_prepare(&st, db, Q_MARKERS)))
			return rc;
		sqlite3_bind_int64(st, 1, inbox_id);
		sqlite3_bind_text(st, 2, m->author_email, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, m->date - SERIES_MARKER_WINDOW);
		sqlite3_bind_int64(st, 4, m->date + SERIES_MARKER_WINDOW);
		int64_t *ids = NULL;
		size_t n = 0, cap = 0;
		if (!(rc = query_ids(&ids, &n, &cap, db, st)))
			queue_ids(c, ids, n, q, nq, capq);
		free(ids);
		if (rc)
			return rc;
	}
	return 0;
}

typedef struct ordered {
	int64_t rowid;
	size_t at;
} ordered;

static int cmp_rowid(const void *a, const void *b)
{
	int64_t x = ((const ordered *)a)->rowid, y = ((const ordered *)b)->rowid;
	return x < y ? -1 : x > y;
}

/* Into arrival (rowid) order: the order the messages were loaded in follows
 * the batch they came in, and what is assembled from them (which duplicate
 * counts, the order of collected trailers) must not. */
static void sort_component(series_component *c)
{
	if (c->n < 2)
		return;
	ordered *o = xeci_malloc(c->n * sizeof(*o));
	for (size_t i = 0; i < c->n; i++)
		o[i] = (ordered){c->rowids[i], i};
	qsort(o, c->n, sizeof(*o), cmp_rowid);
	xeci_mail **mails = xeci_malloc(c->cap * sizeof(*mails));
	int64_t *received = xeci_malloc(c->cap * sizeof(*received));
	bool *borrowed = xeci_malloc(c->cap * sizeof(*borrowed));
	for (size_t i = 0; i < c->n; i++) {
		mails[i] = c->mails[o[i].at];
		c->rowids[i] = o[i].rowid;
		received[i] = c->received[o[i].at];
		borrowed[i] = c->borrowed[o[i].at];
	}
	free(c->mails);
	free(c->received);
	free(c->borrowed);
	c->mails = mails;
	c->received = received;
	c->borrowed = borrowed;
	free(o);
}

static bool has_followup_trailer(const xeci_mail *m)
{
	for (size_t i = 0; i < m->ntrailers; i++)
		if (xeci_series__followup_trailer(&m->trailers[i]))
			return true;
	return false;
}

/* Whether a new message can change any series: a reply only through the
 * trailers it gives (a CI report's "total: 0 errors" gives none), or as
 * the parent of messages that arrived before it. */
static int relevant(bool *out, xeci_db *db, xeci_series_cache *cache, const xeci_mail *m)
{
	*out = m->has_patch || is_cover(m) || m->is_pull_request || has_followup_trailer(m);
	if (*out || !m->message_id)
		return 0;
	return has_children(out, db, cache, m->message_id);
}

int xeci_series__load_component(series_component *c, xeci_db *db, int64_t inbox_id,
				const int64_t *rowids, xeci_mail *const *given, size_t n,
				xeci_series_cache *cache)
{
	int64_t *q = NULL;
	size_t nq = 0, capq = 0, qi = 0;
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		xeci_mail *m;
		int64_t recv = 0;
		bool rel = false;
		bool borrowed = given && given[i];
		if (rowids[i] <= 0 || seen_has(c, rowids[i]))
			continue;
		if (borrowed) {
			m = given[i];
			recv = xeci_time_now(); /* stored just now */
		} else if ((rc = fetch(&m, &recv, &borrowed, db, cache, rowids[i])) || !m) {
			continue;
		}
		if ((rc = relevant(&rel, db, cache, m)) || !rel) {
			if (!borrowed)
				xeci_mail_free(m); /* still loadable as a neighbour of another */
			continue;
		}
		/* its thread, whole before the next seed's: the size limit is a
		 * thread's, not the batch's */
		c->thread_start = c->nseen;
		seen_add(c, rowids[i]);
		component_add(c, rowids[i], m, recv, borrowed);
		rc = expand(c, db, cache, inbox_id, rowids[i], m, &q, &nq, &capq);
		for (; qi < nq && !rc; qi++) {
			int64_t qrecv = 0;
			if ((rc = fetch(&m, &qrecv, &borrowed, db, cache, q[qi])) || !m)
				continue;
			component_add(c, q[qi], m, qrecv, borrowed);
			rc = expand(c, db, cache, inbox_id, q[qi], m, &q, &nq, &capq);
		}
	}
	free(q);
	sort_component(c);
	if (c->truncated)
		XECI_WARN("series: a thread over %d messages was cut", COMPONENT_MAX);
	return rc;
}
