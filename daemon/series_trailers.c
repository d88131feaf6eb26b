/* Follow-up trailers, by b4's rules (b4 0.12, LoreMailbox.get_series and
 * LoreMessage.fix_trailers), so that what we test is what `b4 am` applies:
 *  - only replies carry follow-up trailers: a "Re:" subject, or trailers in a
 *    mail that answers something and has no diff;
 *  - From:, Author:, Cc:, To:, Phone:, Email: lines in a reply are not
 *    trailers; nor is one whose value names no address (b4's \S+@\S+\.\S+),
 *    unless it is one of b4's non-person trailers (Fixes:, Link:, ...), nor
 *    one whose value holds a URL (find_trailers with followup=True): a CI
 *    report's "total: 0 errors, 1 warnings" is no review;
 *  - a person trailer counts only when it names the sender (same address, or
 *    same name): nobody acks for someone else;
 *  - from the reply, walk up the thread: the first patch reached (a diff, not
 *    a reply) gets the trailers; the first non-reply without a diff (the
 *    cover) gets them too; on the way, the trailers of intermediate replies
 *    are carried along;
 *  - a patch's commit message: its own trailers, then those collected for it,
 *    then those collected for its cover (a reply to the cover applies to
 *    every patch: `b4 am -t`; plain `b4 am` only prints a note about them);
 *    a trailer equal (name and value, case-insensitive) to one already there
 *    is dropped.
 * Not done: b4 also carries trailers from an older version's patch to a new
 * one whose diff is unchanged (patchwork hash); we do not. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "series_int.h"
#include "util.h"

#define WALK_MAX 1000 /* deeper reply chains are not worth following */

typedef struct tlist {
	xeci_trailer *v;
	size_t n, cap;
} tlist;

static void tlist_add(tlist *l, const xeci_trailer *t)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xeci_realloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = *t;
}

static bool name_in(const char *name, const char *const *set)
{
	for (; *set; set++)
		if (!strcasecmp(name, *set))
			return true;
	return false;
}

/* b4's \S+@\S+\.\S+: one run of non-blanks with an '@' inside and a '.'
 * inside what follows it. */
static bool names_address(const char *v)
{
	for (const char *at = strchr(v, '@'); at; at = strchr(at + 1, '@')) {
		if (at == v || isspace((unsigned char)at[-1]) || !at[1] || isspace((unsigned char)at[1]))
			continue;
		for (const char *p = at + 2; *p && !isspace((unsigned char)*p); p++)
			if (*p == '.' && p[1] && !isspace((unsigned char)p[1]))
				return true;
	}
	return false;
}

bool xeci_series__followup_trailer(const xeci_trailer *t)
{
	static const char *const never[] = {"from", "author", "cc", "to", "phone", "email", NULL};
	static const char *const nonperson[] = {"fixes", "subject", "date", "link", "buglink",
						"obsoleted-by", "change-id", "base-commit", NULL};
	if (name_in(t->name, never))
		return false;
	if (!names_address(t->value) && !name_in(t->name, nonperson))
		return false;
	return !strstr(t->value, "http://") && !strstr(t->value, "https://");
}

/* "Name <local@domain>" or "local@domain": the address and the name part. */
static bool trailer_person(const char *v, const char **addr, size_t *alen, const char **name,
			   size_t *nlen)
{
	const char *at = strchr(v, '@');
	if (!at)
		return false;
	const char *lt = strchr(v, '<');
	const char *gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt && lt < at && at < gt) {
		*addr = lt + 1;
		*alen = (size_t)(gt - lt - 1);
		*name = v;
		*nlen = (size_t)(lt - v);
	} else {
		const char *s = at, *e = at;
		while (s > v && !isspace((unsigned char)s[-1]))
			s--;
		while (*e && !isspace((unsigned char)*e))
			e++;
		*addr = s;
		*alen = (size_t)(e - s);
		*name = "";
		*nlen = 0;
	}
	while (*nlen && (isspace((unsigned char)(*name)[*nlen - 1]) || (*name)[*nlen - 1] == '"'))
		(*nlen)--;
	while (*nlen && (isspace((unsigned char)**name) || **name == '"'))
		(*name)++, (*nlen)--;
	return true;
}

/* b4's email_eq: equal, or one domain a subdomain of the other by one label. */
static bool email_eq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	if (alen == blen && !strncasecmp(a, b, alen))
		return true;
	const char *aat = memchr(a, '@', alen), *bat = strchr(b, '@');
	if (!aat || !bat || aat - a != bat - b || strncasecmp(a, b, (size_t)(aat - a)))
		return false;
	const char *ad = aat + 1, *bd = bat + 1;
	size_t adl = alen - (size_t)(ad - a), bdl = strlen(bd);
	int adots = 0, bdots = 0;
	for (size_t i = 0; i < adl; i++)
		adots += ad[i] == '.';
	for (size_t i = 0; i < bdl; i++)
		bdots += bd[i] == '.';
	if (adots - bdots != 1 && bdots - adots != 1)
		return false;
	/* the longer ends with "." + the shorter */
	const char *lg = adl > bdl ? ad : bd, *sh = adl > bdl ? bd : ad;
	size_t lgl = adl > bdl ? adl : bdl, shl = adl > bdl ? bdl : adl;
	return lgl > shl && lg[lgl - shl - 1] == '.' && !strncasecmp(lg + lgl - shl, sh, shl);
}

static bool sender_matches(const xeci_trailer *t, const xeci_mail *from)
{
	const char *addr, *name;
	size_t alen, nlen;
	if (!trailer_person(t->value, &addr, &alen, &name, &nlen))
		return true; /* not a person trailer (Fixes:, Link:): always taken */
	if (from->author_email && email_eq(addr, alen, from->author_email))
		return true;
	return nlen && from->author_name && strlen(from->author_name) == nlen &&
	       !strncasecmp(name, from->author_name, nlen);
}

static void attach(series_node *n, const tlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (n->nfups == n->capfups) {
			n->capfups = n->capfups ? n->capfups * 2 : 8;
			n->fups = xeci_realloc(n->fups, n->capfups * sizeof(*n->fups));
		}
		n->fups[n->nfups++] = l->v[i];
	}
}

/* b4 looks up In-Reply-To; without one, the oldest reference it has. */
static series_node *first_parent(xeci_series_set *set, const series_node *f)
{
	const xeci_mail *m = f->mail;
	if (m->in_reply_to)
		return xeci_series__lookup(set, m->in_reply_to);
	for (size_t r = 0; r < m->nreferences; r++) {
		series_node *p = xeci_series__lookup(set, m->references[r]);
		if (p && p != f)
			return p;
	}
	return NULL;
}

static void walk_up(xeci_series_set *set, series_node *f)
{
	series_node *p = first_parent(set, f);
	if (!p)
		return;
	tlist l = {0};
	for (size_t i = 0; i < f->mail->ntrailers; i++) {
		const xeci_trailer *t = &f->mail->trailers[i];
		if (xeci_series__followup_trailer(t) && sender_matches(t, f->mail))
			tlist_add(&l, t);
	}
	for (int steps = 0; l.n && steps < WALK_MAX; steps++) {
		if (!p->b4_reply) { /* a patch, or a cover */
			attach(p, &l);
			break;
		}
		series_node *up = xeci_series__lookup(set, p->mail->in_reply_to);
		if (!up || up == p)
			break;
		for (size_t i = 0; i < p->mail->ntrailers; i++)
			if (xeci_series__followup_trailer(&p->mail->trailers[i]))
				tlist_add(&l, &p->mail->trailers[i]);
		p = up;
	}
	free(l.v);
}

void xeci_series__collect_trailers(xeci_series_set *set)
{
	for (size_t i = 0; i < set->nnodes; i++) {
		series_node *f = &set->nodes[i];
		bool dup = f->mail->message_id && xeci_series__lookup(set, f->mail->message_id) != f;
		if (!dup && f->b4_reply && f->mail->ntrailers && f->kind != KIND_PATCH &&
		    f->kind != KIND_COVER)
			walk_up(set, f);
	}
}

static bool tr_eq(const xeci_trailer *a, const xeci_trailer *b)
{
	return !strcasecmp(a->name, b->name) && !strcasecmp(a->value, b->value);
}

static void add_new(tlist *out, const xeci_trailer *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t k = 0; k < out->n && !seen; k++)
			seen = tr_eq(&out->v[k], &v[i]);
		if (!seen)
			tlist_add(out, &v[i]);
	}
}

void xeci_series__patch_trailers(xeci_series_patch *p, const series_node *patch,
				 const series_node *cover)
{
	tlist out = {0};
	const xeci_mail *m = patch->mail;
	for (size_t i = 0; i < m->ntrailers; i++)
		tlist_add(&out, &m->trailers[i]);
	add_new(&out, patch->fups, patch->nfups);
	if (cover)
		add_new(&out, cover->fups, cover->nfups);
	p->trailers = out.v;
	p->ntrailers = out.n;
}
