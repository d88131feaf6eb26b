/* Which mail is what (cover, patch, pull request, discussion), and which
 * posting each patch belongs to.
 *
 * Order of evidence, strongest first (patchwork's parser and b4 agree on it):
 *  1. threading: a patch answering a cover of its version joins it; a patch
 *     answering a lower-numbered patch of the same version and total joins
 *     that patch's posting (git send-email threads under patch 1, or chains);
 *  2. a patch answering a message we do not have: patches answering the same
 *     absent message with the same version and total are one posting (the
 *     absent message is usually the cover, still on its way);
 *  3. markers, for patches with no usable thread: same author, version and
 *     total, within SERIES_MARKER_WINDOW of the posting's first mail.
 * Versions never mix: a v2 posted in reply to v1 (patchwork#127) is its own
 * posting, because covers are always roots and a patch only joins a parent
 * of its own version. */
#include <string.h>
#include <strings.h>
#include <ctype.h>

#include "series_int.h"
#include "util.h"

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

series_node *xeci_series__lookup(const xeci_series_set *set, const char *msgid)
{
	if (!msgid || !set->mapcap)
		return NULL;
	size_t i = hash_str(msgid) & (set->mapcap - 1);
	for (; set->map[i]; i = (i + 1) & (set->mapcap - 1))
		if (!strcmp(set->map[i]->mail->message_id, msgid))
			return set->map[i];
	return NULL;
}

static void map_build(xeci_series_set *set)
{
	size_t cap = 16;
	while (cap < set->nnodes * 2)
		cap <<= 1;
	set->map = xeci_calloc(cap, sizeof(*set->map));
	set->mapcap = cap;
	for (size_t n = 0; n < set->nnodes; n++) {
		series_node *node = &set->nodes[n];
		const char *id = node->mail->message_id;
		if (!id || !*id || xeci_series__lookup(set, id))
			continue; /* no id, or a duplicate: the first one wins, as in b4 */
		size_t i = hash_str(id) & (cap - 1);
		while (set->map[i])
			i = (i + 1) & (cap - 1);
		set->map[i] = node;
	}
}

/* b4's LoreSubject: "Re:", "Aw:", "Fwd:", or any 2-3 letter word and a colon
 * before a bracket ("AW: [PATCH", "SV: [PATCH"). */
bool xeci_series__subject_is_reply(const char *s)
{
	if (!s)
		return false;
	while (isspace((unsigned char)*s))
		s++;
	if (!strncasecmp(s, "re:", 3) || !strncasecmp(s, "aw:", 3) || !strncasecmp(s, "fwd:", 4))
		return true;
	size_t w = 0;
	while (isalnum((unsigned char)s[w]) || s[w] == '_')
		w++;
	if (w < 2 || w > 3 || s[w] != ':')
		return false;
	s += w + 1;
	while (isspace((unsigned char)*s))
		s++;
	return *s == '[';
}

static void classify_one(xeci_series_set *set, series_node *n)
{
	const xeci_mail *m = n->mail;
	const xeci_subject_tags *t = &m->tags;

	n->posting = -1;
	n->version = t->version > 0 ? t->version : 1;
	n->counters = t->index >= 0 && t->total > 0;
	n->index = n->counters ? t->index : 1;
	n->total = n->counters ? t->total : 1;
	if (n->index > n->total) /* [PATCH 6/5]: b4 stretches the total */
		n->total = n->index;

	/* The parent: In-Reply-To, else the newest reference we have. */
	n->parent_id = m->in_reply_to;
	n->parent = xeci_series__lookup(set, m->in_reply_to);
	for (size_t r = m->nreferences; !n->parent && r > 0; r--)
		n->parent = xeci_series__lookup(set, m->references[r - 1]);
	if (!n->parent_id && m->nreferences)
		n->parent_id = m->references[m->nreferences - 1];
	if (n->parent == n || (n->parent_id && m->message_id && !strcmp(n->parent_id, m->message_id))) {
		n->parent = NULL; /* a mail answering itself: ignore the loop */
		n->parent_id = NULL;
	}

	bool reply = xeci_series__subject_is_reply(m->subject);
	n->b4_reply = reply || (m->ntrailers && m->in_reply_to && !m->has_patch);

	if (!m->message_id || !*m->message_id || xeci_series__lookup(set, m->message_id) != n)
		n->kind = KIND_SKIP;
	else if (reply)
		n->kind = KIND_OTHER;
	else if (n->counters && n->index == 0)
		n->kind = KIND_COVER;
	else if (m->is_pull_request)
		n->kind = KIND_PULL;
	else if (!m->has_patch)
		n->kind = KIND_OTHER;
	else if (n->counters || t->is_patch || !n->parent_id)
		n->kind = KIND_PATCH;
	else
		n->kind = KIND_OTHER; /* an untagged diff inside a thread: a reviewer's sketch */
}

void xeci_series__classify(xeci_series_set *set)
{
	map_build(set);
	for (size_t i = 0; i < set->nnodes; i++)
		classify_one(set, &set->nodes[i]);
}

static int posting_new(xeci_series_set *set, series_node *first, int version, int total)
{
	if (set->npostings == set->cappostings) {
		set->cappostings = set->cappostings ? set->cappostings * 2 : 16;
		set->postings = xeci_realloc(set->postings, set->cappostings * sizeof(*set->postings));
	}
	series_posting *p = &set->postings[set->npostings];
	memset(p, 0, sizeof(*p));
	p->version = version;
	p->total = total;
	p->author = first->mail->author_email;
	p->first_date = first->mail->date;
	return (int)set->npostings++;
}

static void posting_add(xeci_series_set *set, int idx, series_node *n)
{
	series_posting *p = &set->postings[idx];
	if (p->nmembers == p->capmembers) {
		p->capmembers = p->capmembers ? p->capmembers * 2 : 8;
		p->members = xeci_realloc(p->members, p->capmembers * sizeof(*p->members));
	}
	p->members[p->nmembers++] = n;
	if (n->total > p->total)
		p->total = n->total;
	if (n->mail->date && (!p->first_date || n->mail->date < p->first_date))
		p->first_date = n->mail->date;
	n->posting = idx;
}

/* Whether patch n may join the posting of its in-set parent. */
static bool joins_parent(const series_node *n, const series_node *par)
{
	if (par->posting < 0)
		return false;
	if (par->kind == KIND_COVER)
		/* an untagged patch under a vN cover is part of it (b4 does the same);
		 * a lone [PATCH] answering a cover is a fixup, not patch 1 */
		return n->counters && (par->version == n->version || n->version == 1);
	if (par->kind == KIND_PATCH)
		return n->counters && par->counters && par->version == n->version &&
		       par->total == n->total && par->index < n->index;
	return false;
}

static bool same_str(const char *a, const char *b)
{
	return a && b && !strcasecmp(a, b);
}

/* Markers: same author, version and total, close in time, and not already
 * holding a different patch at that index. The closest in time wins. */
static int find_by_markers(xeci_series_set *set, const series_node *n)
{
	int best = -1;
	int64_t bestd = 0;
	for (size_t i = 0; i < set->npostings; i++) {
		series_posting *p = &set->postings[i];
		if (p->pull || p->version != n->version || p->total != n->total ||
		    !same_str(p->author, n->mail->author_email))
			continue;
		int64_t d = n->mail->date - p->first_date;
		if (d < 0)
			d = -d;
		if (d > SERIES_MARKER_WINDOW)
			continue;
		bool taken = false;
		for (size_t k = 0; k < p->nmembers && !taken; k++)
			taken = p->members[k]->index == n->index;
		if (taken || (p->cover && n->index == 0))
			continue;
		if (best < 0 || d < bestd) {
			best = (int)i;
			bestd = d;
		}
	}
	return best;
}

static int find_phantom(xeci_series_set *set, const series_node *n)
{
	for (size_t i = 0; i < set->npostings; i++) {
		series_posting *p = &set->postings[i];
		if (p->phantom_id && !strcmp(p->phantom_id, n->parent_id) &&
		    p->version == n->version && p->total == n->total)
			return (int)i;
	}
	return -1;
}

/* Resolves n's posting after its parent chain; iterative so that a long
 * --chain-reply-to series (or a fuzzer's) cannot exhaust the stack. */
static void resolve_threaded(xeci_series_set *set, series_node *n)
{
	series_node *chain[64];
	for (;;) {
		size_t depth = 0;
		series_node *cur = n;
		/* climb to the first ancestor that is resolved or cannot be */
		while (cur->posting < 0 && cur->kind == KIND_PATCH && cur->parent &&
		       cur->parent->posting < 0 && cur->parent->kind == KIND_PATCH &&
		       cur->parent->index < cur->index && depth < 64)
			chain[depth++] = cur, cur = cur->parent;
		if (cur->posting < 0 && cur->parent && joins_parent(cur, cur->parent))
			posting_add(set, cur->parent->posting, cur);
		else if (cur->posting < 0 && cur->parent && cur->parent->kind != KIND_PATCH &&
			 cur->parent->kind != KIND_COVER)
			; /* answers discussion: left for markers */
		else if (cur->posting < 0 && !cur->parent && cur->parent_id && cur->counters &&
			 cur->total > 1) {
			int p = find_phantom(set, cur);
			if (p < 0) {
				p = posting_new(set, cur, cur->version, cur->total);
				set->postings[p].phantom_id = cur->parent_id;
			}
			posting_add(set, p, cur);
		}
		if (cur->posting < 0)
			return; /* markers decide, for it and for what hangs under it */
		while (depth > 0) {
			series_node *c = chain[--depth];
			if (joins_parent(c, c->parent))
				posting_add(set, c->parent->posting, c);
			else
				return;
		}
		if (n->posting >= 0)
			return;
	}
}

static int cmp_date_pos(const void *a, const void *b)
{
	const series_node *x = *(series_node *const *)a, *y = *(series_node *const *)b;
	if (x->mail->date != y->mail->date)
		return x->mail->date < y->mail->date ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

void xeci_series__group(xeci_series_set *set)
{
	/* covers and pull requests are roots of their own postings */
	for (size_t i = 0; i < set->nnodes; i++) {
		series_node *n = &set->nodes[i];
		if (n->kind != KIND_COVER && n->kind != KIND_PULL)
			continue;
		int p = posting_new(set, n, n->version, n->kind == KIND_COVER ? n->total : 1);
		set->postings[p].cover = n;
		set->postings[p].pull = n->mail->is_pull_request;
		n->posting = p;
	}
	/* patches by thread, then by absent parent */
	for (size_t i = 0; i < set->nnodes; i++)
		if (set->nodes[i].kind == KIND_PATCH && set->nodes[i].posting < 0)
			resolve_threaded(set, &set->nodes[i]);
	/* the rest by markers, oldest first so the outcome does not depend
	 * on the input order; then what hangs under them by thread again */
	series_node **rest = xeci_calloc(set->nnodes, sizeof(*rest));
	size_t nrest = 0;
	for (size_t i = 0; i < set->nnodes; i++)
		if (set->nodes[i].kind == KIND_PATCH && set->nodes[i].posting < 0)
			rest[nrest++] = &set->nodes[i];
	if (nrest)
		qsort(rest, nrest, sizeof(*rest), cmp_date_pos);
	for (size_t i = 0; i < nrest; i++) {
		series_node *n = rest[i];
		if (n->posting >= 0)
			continue;
		if (n->parent && joins_parent(n, n->parent)) {
			posting_add(set, n->parent->posting, n);
			continue;
		}
		int p = n->counters && n->total > 1 ? find_by_markers(set, n) : -1;
		if (p < 0)
			p = posting_new(set, n, n->version, n->total);
		posting_add(set, p, n);
	}
	free(rest);
}
