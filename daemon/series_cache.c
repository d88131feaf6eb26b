/* The series stage's cache of recently stored parses: see series_cache.h. */
#include "series_cache.h"

#include <stdlib.h>

#include "util.h"

typedef struct slot {
	int64_t rowid; /* 0: empty */
	int64_t received;
	xeci_mail *mail;
} slot;

struct xeci_series_cache {
	slot *slots;
	size_t cap; /* a power of two */
};

xeci_series_cache *xeci_series_cache_new(size_t capacity)
{
	xeci_series_cache *c = xeci_calloc(1, sizeof(*c));
	c->cap = 64;
	while (c->cap < capacity)
		c->cap *= 2;
	c->slots = xeci_calloc(c->cap, sizeof(*c->slots));
	return c;
}

void xeci_series_cache_clear(xeci_series_cache *c)
{
	for (size_t i = 0; c && i < c->cap; i++) {
		xeci_mail_free(c->slots[i].mail);
		c->slots[i] = (slot){0};
	}
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
