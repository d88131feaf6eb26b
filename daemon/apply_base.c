/* Base detection: which commit a series was written against.
 *
 * syzbot's order: the author's base-commit: when the repository has it (it
 * says exactly); else the pre-image blobs of the diffs' `index a..b` lines,
 * matched against the branch's recent history (b4's find_base: 0-day and
 * b4 guess the same way, and a wrong base is the users' first complaint);
 * else the branch head. */
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "apply_int.h"
#include "error.h"
#include "util.h"

#define DEFAULT_MAX_COMMITS 1000
#define DEFAULT_MAX_DAYS 30

const char *xeci_base_method_name(xeci_base_method m)
{
	switch (m) {
	case XECI_BASE_COMMIT:
		return "base-commit";
	case XECI_BASE_BLOBS:
		return "blobs";
	case XECI_BASE_BRANCH_HEAD:
		return "branch-head";
	default:
		return "none";
	}
}

int xeci_apply_git_error(int code, const char *what)
{
	const git_error *e = git_error_last();
	return xeci_error_setc(code < 0 ? XECI_ERROR : code, "%s: %s", what,
			       e && e->message ? e->message : "libgit2 error");
}

int xeci_apply_branch_head(git_oid *out, git_repository *repo, const char *branch)
{
	git_object *obj = NULL;
	int rc;
	if (!branch || !*branch) {
		if ((rc = git_reference_name_to_id(out, repo, "HEAD")) < 0)
			return xeci_apply_git_error(rc, "HEAD");
		return 0;
	}
	/* a branch name first (refs/heads/, then remote-tracking), then any
	 * revision, so "origin/drm-xe-next" and a commit id both work */
	static const char *const fmts[] = {"refs/heads/%s", "refs/remotes/%s", "%s"};
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		char name[1024];
		snprintf(name, sizeof(name), fmts[i], branch);
		if (git_revparse_single(&obj, repo, name) == 0)
			break;
	}
	if (!obj)
		return xeci_error_setc(XECI_ENOTFOUND, "branch '%s' not found", branch);
	git_object *commit = NULL;
	rc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (rc < 0)
		return xeci_apply_git_error(rc, branch);
	git_oid_cpy(out, git_object_id(commit));
	git_object_free(commit);
	return 0;
}

/* The commit base-commit: names, when the repository has it. */
static bool lookup_base_commit(git_oid *out, git_repository *repo, const char *hex)
{
	size_t len = strlen(hex);
	git_oid prefix;
	git_commit *c;
	if (len < 7 || len > GIT_OID_HEXSZ || git_oid_fromstrn(&prefix, hex, len) < 0)
		return false;
	if (git_commit_lookup_prefix(&c, repo, &prefix, len) < 0) {
		git_error_clear();
		return false;
	}
	git_oid_cpy(out, git_commit_id(c));
	git_commit_free(c);
	return true;
}

void xeci_apply_preimages_free(xeci_apply_preimage *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i].path);
	free(p);
}

static bool seen(const xeci_apply_preimage *p, size_t n, char **touched, size_t ntouched,
		 const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(p[i].path, path))
			return true;
	for (size_t i = 0; i < ntouched; i++)
		if (!strcmp(touched[i], path))
			return true;
	return false;
}

/* The pre-image of every file at the series' first touch: a later patch's
 * pre-image is an earlier patch's post-image, not in the base. A patch that
 * does not parse is skipped here (apply reports it). */
int xeci_apply_preimages(xeci_apply_preimage **out, size_t *nout, const xeci_mail *const *patches,
			 size_t n)
{
	xeci_apply_preimage *p = NULL;
	char **touched = NULL; /* post-image paths (renames, copies) */
	size_t np = 0, nt = 0;
	for (size_t i = 0; i < n; i++) {
		git_diff *diff;
		if (!patches[i]->patch || git_diff_from_buffer(&diff, patches[i]->patch,
							       patches[i]->patch_len) < 0) {
			git_error_clear();
			continue;
		}
		for (size_t d = 0; d < git_diff_num_deltas(diff); d++) {
			const git_diff_delta *dl = git_diff_get_delta(diff, d);
			const char *path = dl->status == GIT_DELTA_ADDED ? dl->new_file.path
									  : dl->old_file.path;
			if (!path || seen(p, np, touched, nt, path))
				continue;
			p = xeci_realloc(p, (np + 1) * sizeof(*p));
			p[np].path = xeci_strdup(path);
			p[np].absent = dl->status == GIT_DELTA_ADDED;
			git_oid_cpy(&p[np].blob, &dl->old_file.id);
			p[np].abbrev = dl->old_file.id_abbrev;
			np++;
			if (dl->new_file.path && strcmp(dl->new_file.path, path)) {
				touched = xeci_realloc(touched, (nt + 1) * sizeof(*touched));
				touched[nt++] = xeci_strdup(dl->new_file.path);
			}
		}
		git_diff_free(diff);
	}
	for (size_t i = 0; i < nt; i++)
		free(touched[i]);
	free(touched);
	*out = p;
	*nout = np;
	return 0;
}

/* Files of pre whose blob at tree does not match (a file the series creates
 * must be absent). Files without an index line cannot be judged: skipped. */
static int count_mismatches(git_tree *tree, const xeci_apply_preimage *pre, size_t n)
{
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		git_tree_entry *e = NULL;
		bool found = git_tree_entry_bypath(&e, tree, pre[i].path) == 0;
		if (!found)
			git_error_clear();
		if (pre[i].absent)
			bad += found;
		else if (pre[i].abbrev > 0)
			bad += !found || git_oid_ncmp(git_tree_entry_id(e), &pre[i].blob, pre[i].abbrev);
		git_tree_entry_free(e);
	}
	return bad;
}

static int64_t newest_date(const xeci_mail *const *patches, size_t n)
{
	int64_t d = 0;
	for (size_t i = 0; i < n; i++)
		if (patches[i]->date > d)
			d = patches[i]->date;
	return d;
}

/* A bounded newest-first walk of the branch's history. libgit2's revwalk
 * with GIT_SORT_TIME prepares the whole history before the first commit
 * (a kernel has a million) and orders equal times arbitrarily; this one is
 * lazy, reads at most the bound, and breaks ties child first. */
typedef struct walk_item {
	int64_t time;
	uint64_t seq; /* insertion order: a child is queued before its parents */
	git_oid id;
} walk_item;

typedef struct history_walk {
	walk_item *heap;
	size_t n, cap;
	git_oid *seen; /* every id ever queued; linear search is fine at the bound */
	size_t nseen;
	uint64_t seq;
} history_walk;

static bool item_before(const walk_item *a, const walk_item *b)
{
	return a->time != b->time ? a->time > b->time : a->seq < b->seq;
}

static void walk_push(history_walk *w, const git_oid *id, int64_t time)
{
	for (size_t i = 0; i < w->nseen; i++)
		if (git_oid_equal(&w->seen[i], id))
			return;
	w->seen = xeci_realloc(w->seen, (w->nseen + 1) * sizeof(*w->seen));
	git_oid_cpy(&w->seen[w->nseen++], id);
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->heap = xeci_realloc(w->heap, w->cap * sizeof(*w->heap));
	}
	size_t i = w->n++;
	walk_item it = {time, w->seq++, *id};
	while (i > 0 && item_before(&it, &w->heap[(i - 1) / 2])) {
		w->heap[i] = w->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	w->heap[i] = it;
}

static bool walk_pop(history_walk *w, walk_item *out)
{
	if (!w->n)
		return false;
	*out = w->heap[0];
	walk_item last = w->heap[--w->n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= w->n)
			break;
		if (c + 1 < w->n && item_before(&w->heap[c + 1], &w->heap[c]))
			c++;
		if (!item_before(&w->heap[c], &last))
			break;
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (w->n)
		w->heap[i] = last;
	return true;
}

/* Walks back from head (newest first) for the newest commit whose tree
 * matches every pre-image; else the one with the fewest mismatches (newest
 * among equals), as long as at least one file matched. */
static int blob_search(git_oid *out, int *mismatches, git_repository *repo, const git_oid *head,
		       const xeci_apply_preimage *pre, size_t npre, int64_t since, int max_commits)
{
	history_walk w = {0};
	walk_item it;
	int best = -1;
	size_t judged = 0;
	for (size_t i = 0; i < npre; i++)
		judged += pre[i].absent || pre[i].abbrev > 0;
	if (!judged)
		return XECI_ENOTFOUND;
	walk_push(&w, head, INT64_MAX);
	for (int count = 0; count < max_commits && walk_pop(&w, &it); count++) {
		git_commit *c;
		git_tree *tree;
		if (git_commit_lookup(&c, repo, &it.id) < 0)
			break;
		int64_t when = git_commit_time(c);
		if (since && when < since && count > 0) {
			git_commit_free(c);
			break;
		}
		int rc = git_commit_tree(&tree, c);
		for (unsigned p = 0; rc == 0 && p < git_commit_parentcount(c); p++) {
			git_commit *parent;
			if (git_commit_parent(&parent, c, p) < 0)
				continue; /* a shallow mirror: its history ends here */
			walk_push(&w, git_commit_id(parent), git_commit_time(parent));
			git_commit_free(parent);
		}
		git_commit_free(c);
		if (rc < 0)
			break;
		int bad = count_mismatches(tree, pre, npre);
		git_tree_free(tree);
		if (best < 0 || bad < best) {
			best = bad;
			git_oid_cpy(out, &it.id);
		}
		if (bad == 0)
			break;
	}
	free(w.heap);
	free(w.seen);
	git_error_clear();
	if (best < 0 || (size_t)best >= judged)
		return XECI_ENOTFOUND;
	*mismatches = best;
	return 0;
}

int xeci_apply_find_base(git_oid *out, xeci_base_method *method, int *mismatches, git_repository *repo,
			 const xeci_mail *const *patches, size_t n, const char *base_commit,
			 const xeci_apply_opts *opts, bool allow_partial)
{
	git_oid head;
	int rc;
	*mismatches = 0;
	*method = XECI_BASE_NONE;
	if (base_commit && lookup_base_commit(out, repo, base_commit)) {
		*method = XECI_BASE_COMMIT;
		return 0;
	}
	if ((rc = xeci_apply_branch_head(&head, repo, opts ? opts->branch : NULL)) < 0)
		return rc;

	xeci_apply_preimage *pre;
	size_t npre;
	xeci_apply_preimages(&pre, &npre, patches, n);
	int max_commits = opts && opts->max_commits > 0 ? opts->max_commits : DEFAULT_MAX_COMMITS;
	int max_days = opts && opts->max_days > 0 ? opts->max_days : DEFAULT_MAX_DAYS;
	int64_t date = newest_date(patches, n);
	int64_t since = date ? date - (int64_t)max_days * 86400 : 0;
	git_oid found;
	int bad = 0;
	rc = blob_search(&found, &bad, repo, &head, pre, npre, since, max_commits);
	xeci_apply_preimages_free(pre, npre);
	if (rc == 0 && (bad == 0 || allow_partial)) {
		git_oid_cpy(out, &found);
		*method = XECI_BASE_BLOBS;
		*mismatches = bad;
		return 0;
	}
	if (rc < 0 && rc != XECI_ENOTFOUND)
		return rc;
	git_oid_cpy(out, &head);
	*method = XECI_BASE_BRANCH_HEAD;
	return 0;
}
