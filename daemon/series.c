/* Series assembly: the set of versions found in a set of mails, and its JSON.
 * Classification and grouping live in series_group.c, trailers in
 * series_trailers.c.
 *
 * Decisions (documented here because callers and tests rely on them):
 *  - Mails without a Message-ID are never part of a series (nobody can reply
 *    to them, and the store keys postings by Message-ID).
 *  - A pull request is a version of its own with ignored_reason
 *    "pull request" (its mail as patch 1): stored, never tested.
 *  - Threads without patches (a cover alone excepted) give no version; a
 *    cover whose patches have not arrived is an incomplete version with all
 *    its indexes missing.
 *  - Two patches at one index (a resend inside the thread, a duplicate):
 *    the one with the earliest Date is kept, then the first in the input.
 *    b4 keeps the first in mailbox order; public-inbox serves mail in arrival
 *    order, so in practice that is the same pick, and ours does not depend on
 *    the order messages reach us.
 *  - Versions come out sorted by their first mail's date, then posting key. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "series_int.h"
#include "util.h"

size_t xeci_series_set_count(const xeci_series_set *set)
{
	return set ? set->nversions : 0;
}

const xeci_series_version *xeci_series_set_get(const xeci_series_set *set, size_t i)
{
	return set && i < set->nversions ? &set->versions[i] : NULL;
}

void xeci_series_set_free(xeci_series_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->nversions; i++) {
		xeci_series_version *v = &set->versions[i];
		for (size_t k = 0; k < v->npatches; k++)
			free(v->patches[k].trailers);
		free(v->patches);
		free(v->missing);
	}
	free(set->versions);
	for (size_t i = 0; i < set->npostings; i++)
		free(set->postings[i].members);
	free(set->postings);
	for (size_t i = 0; i < set->nnodes; i++)
		free(set->nodes[i].fups);
	free(set->nodes);
	free(set->map);
	free(set);
}

static int cmp_member(const void *a, const void *b)
{
	const series_node *x = *(series_node *const *)a, *y = *(series_node *const *)b;
	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	if (x->mail->date != y->mail->date)
		return x->mail->date < y->mail->date ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static void widen_dates(xeci_series_version *v, const xeci_mail *m)
{
	if (!m->date)
		return;
	if (!v->first_date || m->date < v->first_date)
		v->first_date = m->date;
	if (m->date > v->last_date)
		v->last_date = m->date;
}

static void fill_patches(xeci_series_version *v, series_posting *p)
{
	if (p->pull) { /* the pull request mail itself stands as patch 1 */
		v->patches = xeci_calloc(1, sizeof(*v->patches));
		v->patches[0].index = 1;
		v->patches[0].mail = p->cover->mail;
		widen_dates(v, p->cover->mail);
		xeci_series__patch_trailers(&v->patches[0], p->cover, NULL);
		v->npatches = 1;
		return;
	}
	if (p->nmembers)
		qsort(p->members, p->nmembers, sizeof(*p->members), cmp_member);
	v->patches = xeci_calloc(p->nmembers, sizeof(*v->patches));
	for (size_t i = 0; i < p->nmembers; i++) {
		series_node *n = p->members[i];
		widen_dates(v, n->mail);
		if (v->npatches && v->patches[v->npatches - 1].index == n->index)
			continue; /* a second patch at this index: the first one stays */
		xeci_series_patch *sp = &v->patches[v->npatches++];
		sp->index = n->index;
		sp->mail = n->mail;
		xeci_series__patch_trailers(sp, n, p->cover);
	}
}

static void fill_missing(xeci_series_version *v)
{
	v->missing = xeci_calloc((size_t)(v->total > 0 ? v->total : 1), sizeof(int));
	size_t k = 0;
	for (int i = 1; i <= v->total; i++) {
		while (k < v->npatches && v->patches[k].index < i)
			k++;
		if (k >= v->npatches || v->patches[k].index != i)
			v->missing[v->nmissing++] = i;
	}
	v->complete = v->total > 0 && v->npatches > 0 && v->nmissing == 0;
}

static const xeci_mail *first_mail(const xeci_series_version *v)
{
	if (v->cover)
		return v->cover;
	return v->npatches ? v->patches[0].mail : NULL;
}

static void build_version(xeci_series_version *v, series_posting *p)
{
	memset(v, 0, sizeof(*v));
	v->version = p->version;
	v->total = p->total;
	if (p->cover && !p->pull) {
		v->cover = p->cover->mail;
		v->cover_trailers = p->cover->fups;
		v->ncover_trailers = p->cover->nfups;
		widen_dates(v, v->cover);
	}
	fill_patches(v, p);
	fill_missing(v);
	if (p->pull)
		v->ignored_reason = "pull request";

	const xeci_mail *first = first_mail(v);
	const xeci_mail *m1 = v->npatches ? v->patches[0].mail : NULL;
	v->base_commit = v->cover && v->cover->base_commit ? v->cover->base_commit
			 : m1 ? m1->base_commit : NULL;
	v->change_id = v->cover && v->cover->change_id ? v->cover->change_id
		       : m1 ? m1->change_id : NULL;
	v->subject = first ? first->subject_clean : NULL;
	v->author_email = first ? first->author_email : NULL;
	if (v->cover)
		v->posting_key = v->cover->message_id;
	else if (p->phantom_id)
		v->posting_key = p->phantom_id;
	else if (m1)
		v->posting_key = m1->message_id;
	const series_node *root = p->cover ? p->cover : p->nmembers ? p->members[0] : NULL;
	if (root && root->parent_id && (!v->posting_key || strcmp(root->parent_id, v->posting_key)))
		v->root_parent_id = root->parent_id;
}

static int cmp_version(const void *a, const void *b)
{
	const xeci_series_version *x = a, *y = b;
	if (x->first_date != y->first_date)
		return x->first_date < y->first_date ? -1 : 1;
	return strcmp(x->posting_key ? x->posting_key : "", y->posting_key ? y->posting_key : "");
}

int xeci_series_assemble(xeci_series_set **out, xeci_mail *const *mails, size_t n)
{
	*out = NULL;
	if (n && !mails)
		return xeci_error_setc(XECI_EINVALID, "series assemble: no mails");
	xeci_series_set *set = xeci_calloc(1, sizeof(*set));
	set->nodes = xeci_calloc(n, sizeof(*set->nodes));
	for (size_t i = 0; i < n; i++) {
		if (!mails[i])
			continue;
		set->nodes[set->nnodes].mail = mails[i];
		set->nodes[set->nnodes].pos = i;
		set->nnodes++;
	}
	xeci_series__classify(set);
	xeci_series__group(set);
	xeci_series__collect_trailers(set);

	set->versions = xeci_calloc(set->npostings, sizeof(*set->versions));
	for (size_t i = 0; i < set->npostings; i++)
		build_version(&set->versions[set->nversions++], &set->postings[i]);
	if (set->nversions)
		qsort(set->versions, set->nversions, sizeof(*set->versions), cmp_version);
	*out = set;
	return 0;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *patch_to_json(const xeci_series_patch *p)
{
	json_t *tr = json_array();
	for (size_t i = 0; i < p->ntrailers; i++)
		json_array_append_new(tr, json_pack("{s:s, s:s}", "name", p->trailers[i].name,
						    "value", p->trailers[i].value));
	const xeci_mail *m = p->mail;
	return json_pack("{s:i, s:o, s:o, s:o, s:o}", "index", p->index, "message_id",
			 str_or_null(m->message_id), "subject_clean", str_or_null(m->subject_clean),
			 "patch_sha256", m->patch_sha256[0] ? json_string(m->patch_sha256) : json_null(),
			 "trailers", tr);
}

json_t *xeci_series_version_to_json(const xeci_series_version *v)
{
	json_t *missing = json_array(), *patches = json_array();
	for (size_t i = 0; i < v->nmissing; i++)
		json_array_append_new(missing, json_integer(v->missing[i]));
	for (size_t i = 0; i < v->npatches; i++)
		json_array_append_new(patches, patch_to_json(&v->patches[i]));
	json_t *o = json_pack("{s:o, s:i, s:i, s:b, s:o, s:o, s:o, s:o, s:o}", "cover_message_id",
			      str_or_null(v->cover ? v->cover->message_id : NULL), "version", v->version,
			      "total", v->total, "complete", v->complete, "missing", missing,
			      "base_commit", str_or_null(v->base_commit), "change_id",
			      str_or_null(v->change_id), "subject", str_or_null(v->subject), "patches",
			      patches);
	if (v->ignored_reason)
		json_object_set_new(o, "ignored_reason", json_string(v->ignored_reason));
	return o;
}
