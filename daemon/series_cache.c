/* The series stage's cache of recently stored parses: see series_cache.h. */
#include "series_cache.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct slot {
	int64_t rowid; /* 0: empty */
	int64_t received;
	xeci_mail *mail;
} slot;

/* What the database said of a Message-ID (see series_cache.h). */
typedef struct id_ent {
	char *key; /* NULL: empty */
	uint64_t hash;
	bool has_row, has_kids;
	int64_t row; /* the 'ok' row with this Message-ID; 0: none */
	int64_t *kids; /* rowids of the message_refs rows naming it, ascending */
	size_t nkids, capkids;
} id_ent;

struct xeci_series_cache {
	slot *slots;
	size_t cap; /* a power of two */
	id_ent *ids;
	size_t nids, capids; /* capids: a power of two, or 0 */
};

/* Message-IDs remembered at most; over this, all is forgotten (and asked
 * again): ~100 bytes each. */
#define IDS_MAX 200000

xeci_series_cache *xeci_series_cache_new(size_t capacity)
{
	xeci_series_cache *c = xeci_calloc(1, sizeof(*c));
	c->cap = 64;
	while (c->cap < capacity)
		c->cap *= 2;
	c->slots = xeci_calloc(c->cap, sizeof(*c->slots));
	return c;
}

static void ids_clear(xeci_series_cache *c)
{
	for (size_t i = 0; i < c->capids; i++) {
		free(c->ids[i].key);
		free(c->ids[i].kids);
	}
	free(c->ids);
	c->ids = NULL;
	c->nids = c->capids = 0;
}

void xeci_series_cache_clear(xeci_series_cache *c)
{
	/* only the slots in use are written: zeroing all of them faulted in
	 * the whole (calloc'd, untouched) array for a run of a few messages */
	for (size_t i = 0; c && i < c->cap; i++) {
		if (!c->slots[i].rowid && !c->slots[i].mail)
			continue;
		xeci_mail_free(c->slots[i].mail);
		c->slots[i] = (slot){0};
	}
	if (c)
		ids_clear(c);
}

void xeci_series_cache_free(xeci_series_cache *c)
{
	if (!c)
		return;
	xeci_series_cache_clear(c);
	free(c->slots);
	free(c);
}

/* Rows are numbered in insertion order, so rowid modulo the capacity makes
 * the cache a ring of the last cap rows stored. */
static slot *slot_of(const xeci_series_cache *c, int64_t rowid)
{
	return &c->slots[(uint64_t)rowid & (c->cap - 1)];
}

xeci_mail *xeci_series_cache_put(xeci_series_cache *c, int64_t rowid, xeci_mail *m, int64_t received)
{
	slot *s = slot_of(c, rowid);
	free(m->message);
	free(m->patch);
	m->message = m->patch = NULL;
	m->patch_len = 0;
	xeci_mail *evicted = s->mail;
	*s = (slot){rowid, received, m};
	return evicted;
}

xeci_mail *xeci_series_cache_get(const xeci_series_cache *c, int64_t rowid, int64_t *received)
{
	if (!c || rowid <= 0)
		return NULL;
	const slot *s = slot_of(c, rowid);
	if (s->rowid != rowid)
		return NULL;
	*received = s->received;
	return s->mail;
}

/* --- what the database said of Message-IDs -------------------------------- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static id_ent *ids_find(const xeci_series_cache *c, const char *key, uint64_t h)
{
	if (!c->capids)
		return NULL;
	for (size_t k = h & (c->capids - 1);; k = (k + 1) & (c->capids - 1)) {
		id_ent *e = &c->ids[k];
		if (!e->key)
			return NULL;
		if (e->hash == h && !strcmp(e->key, key))
			return e;
	}
}

/* The entry of key, made when missing. */
static id_ent *ids_get(xeci_series_cache *c, const char *key)
{
	uint64_t h = hash_str(key);
	id_ent *e = ids_find(c, key, h);
	if (e)
		return e;
	if (c->nids >= IDS_MAX)
		ids_clear(c);
	if ((c->nids + 1) * 2 > c->capids) {
		size_t cap = c->capids ? c->capids * 2 : 1024;
		id_ent *t = xeci_calloc(cap, sizeof(*t));
		for (size_t i = 0; i < c->capids; i++) {
			if (!c->ids[i].key)
				continue;
			size_t k = c->ids[i].hash & (cap - 1);
			while (t[k].key)
				k = (k + 1) & (cap - 1);
			t[k] = c->ids[i];
		}
		free(c->ids);
		c->ids = t;
		c->capids = cap;
	}
	size_t k = h & (c->capids - 1);
	while (c->ids[k].key)
		k = (k + 1) & (c->capids - 1);
	e = &c->ids[k];
	memset(e, 0, sizeof(*e));
	e->key = xeci_strdup(key);
	e->hash = h;
	c->nids++;
	return e;
}

bool xeci_series_cache_row_of(const xeci_series_cache *c, const char *msgid, int64_t *row)
{
	const id_ent *e = c ? ids_find(c, msgid, hash_str(msgid)) : NULL;
	if (!e || !e->has_row)
		return false;
	*row = e->row;
	return true;
}

void xeci_series_cache_set_row(xeci_series_cache *c, const char *msgid, int64_t row)
{
	id_ent *e = ids_get(c, msgid);
	e->has_row = true;
	e->row = row;
}

const int64_t *xeci_series_cache_children(const xeci_series_cache *c, const char *msgid, size_t *n)
{
	const id_ent *e = c ? ids_find(c, msgid, hash_str(msgid)) : NULL;
	if (!e || !e->has_kids)
		return NULL;
	*n = e->nkids;
	static const int64_t none[1];
	return e->kids ? e->kids : none;
}

void xeci_series_cache_set_children(xeci_series_cache *c, const char *msgid, const int64_t *kids, size_t n)
{
	id_ent *e = ids_get(c, msgid);
	free(e->kids);
	e->kids = n ? xeci_malloc(n * sizeof(*kids)) : NULL;
	if (n)
		memcpy(e->kids, kids, n * sizeof(*kids));
	e->nkids = e->capkids = n;
	e->has_kids = true;
}

void xeci_series_cache_stored(xeci_series_cache *c, int64_t rowid, const xeci_mail *m)
{
	if (m->message_id)
		xeci_series_cache_set_row(c, m->message_id, rowid);
	/* the message_refs rows msgstore.c's insert_refs writes for it */
	for (size_t i = 0; i <= m->nreferences; i++) {
		const char *ref = i < m->nreferences ? m->references[i] : m->in_reply_to;
		if (!ref || !*ref || (m->message_id && !strcmp(ref, m->message_id)))
			continue;
		id_ent *e = ids_find(c, ref, hash_str(ref));
		if (!e || !e->has_kids || (e->nkids && e->kids[e->nkids - 1] >= rowid))
			continue; /* unknown (asked when needed), or this row is in already */
		if (e->nkids == e->capkids) {
			e->capkids = e->capkids ? e->capkids * 2 : 4;
			e->kids = xeci_realloc(e->kids, e->capkids * sizeof(*e->kids));
		}
		e->kids[e->nkids++] = rowid;
	}
}
