/* Applying a series in memory: each patch onto the previous tree with
 * git_apply_to_tree, committed as `git am` would commit it, a ref moved only
 * when the whole series applied. Nothing touches a work tree or an index
 * file, so the mirror may be bare and shared by concurrent jobs (each with
 * its own git_repository handle). A patch is applied to a pre-image tree of
 * only the paths it touches and its result merged into the previous tree
 * (apply_small): the cost of a patch follows its size, not the tree's. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>

#include "apply.h"
#include "apply_int.h"
#include "buf.h"
#include "error.h"
#include "series.h"
#include "util.h"

int xeci_apply_check_path(const char *path)
{
	if (!path || !*path)
		return xeci_error_setc(XECI_EINVALID, "empty path");
	if (path[0] == '/' || path[0] == '\\')
		return xeci_error_setc(XECI_EINVALID, "absolute path '%s' refused", path);
	for (const char *p = path; *p;) {
		size_t len = strcspn(p, "/\\");
		if ((len == 2 && !memcmp(p, "..", 2)) || (len == 1 && p[0] == '.'))
			return xeci_error_setc(XECI_EINVALID, "path '%s' with a '%.*s' component refused",
					       path, (int)len, p);
		/* git refuses .git in any case (case-insensitive file systems) */
		if (len == 4 && !strncasecmp(p, ".git", 4))
			return xeci_error_setc(XECI_EINVALID, "path '%s' inside .git refused", path);
		p += len;
		while (*p == '/' || *p == '\\')
			p++;
	}
	return 0;
}

/* git's strbuf_stripspace without comment stripping: what `git am` runs on
 * "subject\n\nmessage". */
static void stripspace(xeci_buf *out, const char *s)
{
	bool pending_blank = false;
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		size_t end = len;
		while (end > 0 && isspace((unsigned char)s[end - 1]))
			end--;
		if (end == 0) {
			pending_blank = out->len > 0;
		} else {
			if (pending_blank)
				xeci_buf_putc(out, '\n');
			pending_blank = false;
			xeci_buf_put(out, s, end);
			xeci_buf_putc(out, '\n');
		}
		s += len + (nl != NULL);
	}
}

char *xeci_apply_commit_message(const xeci_mail *m)
{
	xeci_buf raw = XECI_BUF_INIT, out = XECI_BUF_INIT;
	xeci_buf_puts(&raw, m->subject_clean ? m->subject_clean : "");
	xeci_buf_puts(&raw, "\n\n");
	xeci_buf_puts(&raw, m->message ? m->message : "");
	stripspace(&out, raw.ptr);
	xeci_buf_free(&raw);
	return out.ptr ? xeci_buf_detach(&out) : xeci_strdup("");
}

/* The zone of the Date header ("+0100"), in minutes; git am keeps it. */
static int date_offset(const char *date_raw)
{
	const char *best = NULL;
	for (const char *p = date_raw; p && *p; p++)
		if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
		    isdigit((unsigned char)p[2]) && isdigit((unsigned char)p[3]) &&
		    isdigit((unsigned char)p[4]) && !isdigit((unsigned char)p[5]) &&
		    (p == date_raw || p[-1] == ' '))
			best = p;
	if (!best)
		return 0;
	int hh = (best[1] - '0') * 10 + (best[2] - '0'), mm = (best[3] - '0') * 10 + (best[4] - '0');
	return (best[0] == '-' ? -1 : 1) * (hh * 60 + mm);
}

static int author_signature(git_signature **out, const xeci_mail *m)
{
	const char *email = m->author_email ? m->author_email : "";
	const char *name = m->author_name && *m->author_name ? m->author_name : email;
	int64_t when = m->date ? m->date : xeci_time_now();
	int rc = git_signature_new(out, name, email, when, date_offset(m->date_raw));
	return rc < 0 ? xeci_apply_git_error(rc, "author") : 0;
}

/* Where a failure happened: the file and hunk libgit2 was at. */
typedef struct apply_pos {
	const char *file;
	int hunk;
} apply_pos;

static int on_delta(const git_diff_delta *delta, void *payload)
{
	apply_pos *pos = payload;
	pos->file = delta->new_file.path ? delta->new_file.path : delta->old_file.path;
	pos->hunk = 0;
	return 0;
}

static int on_hunk(const git_diff_hunk *hunk, void *payload)
{
	((apply_pos *)payload)->hunk++;
	return 0;
}

static void fail(xeci_apply_result *r, int index, const char *file, int hunk, const char *why)
{
	r->failed_index = index;
	free(r->failed_file);
	r->failed_file = file ? xeci_strdup(file) : NULL;
	r->failed_hunk = hunk;
	free(r->error);
	r->error = xeci_strdup(why && *why ? why : "unknown error");
}

/* The path of a "--- a/x" / "+++ b/x" header line as written, after the
 * one prefix component git strips (-p1), unquoted only of its quotes;
 * NULL for /dev/null. */
static char *header_path(const char *line, size_t len)
{
	const char *p = line + 4, *end = line + len;
	if (p < end && *p == '"') {
		p++;
		if (end > p && end[-1] == '"')
			end--;
	}
	const char *tab = memchr(p, '\t', (size_t)(end - p));
	if (tab)
		end = tab;
	if ((size_t)(end - p) == 9 && !memcmp(p, "/dev/null", 9))
		return NULL;
	const char *slash = memchr(p, '/', (size_t)(end - p));
	if (slash && slash > p)
		p = slash + 1;
	return xeci_strndup(p, (size_t)(end - p));
}

/* libgit2 reads "a//etc/passwd" as "etc/passwd" (as git does, squashing
 * slashes), so the parsed paths alone never look absolute: the header lines
 * are checked as written. Only lines of a file header (from "diff --git" to
 * its first hunk) are looked at: a removed line "-- x" reads "--- x". */
static int check_raw_paths(xeci_apply_result *r, const char *patch, size_t len, int index)
{
	bool in_header = false;
	for (const char *p = patch, *end = patch + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *path = NULL;
		if (l >= 11 && !memcmp(p, "diff --git ", 11)) {
			in_header = true;
			/* "diff --git a//x b//x": also the only path of a mode
			 * change or an empty new file */
			const char *q = p + 11 + (l > 11 && p[11] == '"');
			if ((size_t)(q - p) + 3 <= l && !memcmp(q + 1, "//", 2)) {
				const char *sp = memchr(q + 2, ' ', l - (size_t)(q + 2 - p));
				path = xeci_strndup(q + 2, sp ? (size_t)(sp - q - 2) : l - (size_t)(q + 2 - p));
			}
		} else if ((l >= 2 && !memcmp(p, "@@", 2)) || (l >= 16 && !memcmp(p, "GIT binary patch", 16))) {
			in_header = false;
		} else if (in_header && l > 4 && (!memcmp(p, "--- ", 4) || !memcmp(p, "+++ ", 4))) {
			path = header_path(p, l);
		} else if (in_header && l > 8 && (!memcmp(p, "rename from ", 12) || !memcmp(p, "copy from ", 10) ||
						  !memcmp(p, "rename to ", 10) || !memcmp(p, "copy to ", 8))) {
			const char *q = memchr(p, ' ', l);
			q = q ? memchr(q + 1, ' ', l - (size_t)(q + 1 - p)) : NULL;
			if (q)
				path = xeci_strndup(q + 1, l - (size_t)(q + 1 - p));
		}
		if (path) {
			int rc = *path == '/' ? xeci_apply_check_path(path) : 0;
			if (rc < 0)
				fail(r, index, path, 0, xeci_error_last());
			free(path);
			if (rc < 0)
				return rc;
		}
		p += l + 1;
	}
	return 0;
}

/* Parses patch i and refuses it when it has no diff or a path it must not
 * write. On failure r says why. */
static int parse_patch(git_diff **out, xeci_apply_result *r, const xeci_mail *m, int index)
{
	int rc;
	*out = NULL;
	if (!m->patch || !m->patch_len) {
		fail(r, index, NULL, 0, "patch is empty");
		return XECI_EINVALID;
	}
	/* text patches carry no NUL (binary content is base85 in a "GIT
	 * binary patch" block); and libgit2 1.5's apply reads past the end of
	 * a line holding one (found under ASan by tests/unit/test_apply.c) */
	if (memchr(m->patch, '\0', m->patch_len)) {
		fail(r, index, NULL, 0, "malformed patch: NUL byte in a text patch");
		return XECI_EINVALID;
	}
	if (check_raw_paths(r, m->patch, m->patch_len, index) < 0)
		return XECI_EINVALID;
	if ((rc = git_diff_from_buffer(out, m->patch, m->patch_len)) < 0) {
		const git_error *e = git_error_last();
		char why[512];
		snprintf(why, sizeof(why), "malformed patch: %s", e && e->message ? e->message : "?");
		fail(r, index, NULL, 0, why);
		return XECI_EINVALID;
	}
	if (git_diff_num_deltas(*out) == 0) {
		fail(r, index, NULL, 0, "patch is empty");
		goto bad;
	}
	for (size_t d = 0; d < git_diff_num_deltas(*out); d++) {
		const git_diff_delta *dl = git_diff_get_delta(*out, d);
		const char *paths[2] = {dl->old_file.path, dl->new_file.path};
		for (int k = 0; k < 2; k++) {
			if (k == 1 && paths[0] && paths[1] && !strcmp(paths[0], paths[1]))
				continue;
			if (xeci_apply_check_path(paths[k]) < 0) {
				fail(r, index, paths[k], 0, xeci_error_last());
				goto bad;
			}
		}
	}
	return 0;
bad:
	git_diff_free(*out);
	*out = NULL;
	return XECI_EINVALID;
}

/* What a series applies with: the repository, and a scratch repository
 * whose object store is an in-memory pack over the repository's objects (read
 * only), where the pre-image trees of apply_small are built: they are never
 * written to the repository. Made at the first patch that needs it. */
typedef struct apply_ctx {
	git_repository *repo;
	git_repository *scratch;
	git_odb_backend *mempack; /* owned by scratch's object store */
	bool scratch_failed;
} apply_ctx;

static void apply_ctx_free(apply_ctx *ctx)
{
	git_repository_free(ctx->scratch);
	ctx->scratch = NULL;
	ctx->mempack = NULL;
}

static git_repository *scratch_repo(apply_ctx *ctx)
{
	git_buf objects = {0};
	git_odb *odb = NULL;
	git_odb_backend *mem = NULL;
	if (ctx->scratch || ctx->scratch_failed)
		return ctx->scratch;
	ctx->scratch_failed = true;
	if (git_repository_item_path(&objects, ctx->repo, GIT_REPOSITORY_ITEM_OBJECTS) < 0 ||
	    git_odb_new(&odb) < 0 || git_mempack_new(&mem) < 0)
		goto out;
	if (git_odb_add_backend(odb, mem, 1000) < 0) {
		mem->free(mem);
		goto out;
	}
	if (git_odb_add_disk_alternate(odb, objects.ptr) < 0 ||
	    git_repository_wrap_odb(&ctx->scratch, odb) < 0)
		goto out;
	ctx->mempack = mem;
	ctx->scratch_failed = false;
out:
	git_odb_free(odb); /* the scratch repository holds its own reference */
	git_buf_dispose(&objects);
	git_error_clear();
	return ctx->scratch;
}

/* A path a patch touches and its entry in the tree it applies to. */
typedef struct touched {
	const char *path; /* the diff's */
	bool exists;
	git_oid id;
	git_filemode_t mode;
} touched;

static int touched_cmp(const void *a, const void *b)
{
	return strcmp(((const touched *)a)->path, ((const touched *)b)->path);
}

/* Whether path, absent from tree, has a leading directory that is a file
 * (or a submodule) there: "foo/bar" over a file "foo". */
static bool prefix_not_tree(git_tree *tree, const char *path)
{
	bool bad = false;
	for (const char *sl = strchr(path, '/'); sl && !bad; sl = strchr(sl + 1, '/')) {
		char *dir = xeci_strndup(path, (size_t)(sl - path));
		git_tree_entry *e = NULL;
		int rc = git_tree_entry_bypath(&e, tree, dir);
		free(dir);
		if (rc < 0)
			break; /* no such directory: nothing deeper either */
		bad = git_tree_entry_type(e) != GIT_OBJECT_TREE;
		git_tree_entry_free(e);
	}
	git_error_clear();
	return bad;
}

enum { SMALL_DONE = 0, SMALL_USE_FULL = 1 };

/* The patch applied to tree through a pre-image tree holding only the
 * paths the patch touches, so that git_apply_to_tree loads a few entries
 * instead of the whole tree (~86,000 for Linux: ~150 ms a patch), and the
 * result written into tree with git_tree_create_updated (only the trees on
 * the changed paths are rewritten). Every path that the patch reads or
 * writes and that exists in tree is in the pre-image with the same entry,
 * so libgit2 reads and writes the same contents as on the whole tree; what
 * the whole tree would add is the index's file/directory replacements
 * against untouched paths (a new "foo/bar" over a file "foo", a new file
 * "foo" over a directory "foo"), and those patches take the whole tree
 * (SMALL_USE_FULL), as does any patch this path cannot finish (a failure
 * to apply, for the whole tree to confirm and locate, or a
 * file/directory swap that git_tree_create_updated refuses). *out: the
 * new tree. */
static int apply_small(git_oid *out, apply_ctx *ctx, git_tree *tree, git_diff *diff,
		       const git_apply_options *ao)
{
	size_t ndeltas = git_diff_num_deltas(diff), n = 0, nup = 0;
	touched *t = xeci_calloc(2 * ndeltas + 1, sizeof(*t));
	git_tree_update *up = NULL;
	git_tree *small = NULL;
	git_index *idx = NULL;
	git_oid small_id;
	int rc = SMALL_USE_FULL;
	git_repository *scratch = scratch_repo(ctx);
	if (!scratch)
		goto out;

	for (size_t d = 0; d < ndeltas; d++) {
		const git_diff_delta *dl = git_diff_get_delta(diff, d);
		if (dl->old_file.path)
			t[n++].path = dl->old_file.path;
		if (dl->new_file.path)
			t[n++].path = dl->new_file.path;
	}
	qsort(t, n, sizeof(*t), touched_cmp);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || strcmp(t[u - 1].path, t[i].path))
			t[u++] = t[i];
	n = u;

	up = xeci_calloc(n + 1, sizeof(*up));
	for (size_t i = 0; i < n; i++) {
		git_tree_entry *e = NULL;
		int erc = git_tree_entry_bypath(&e, tree, t[i].path);
		if (erc == GIT_ENOTFOUND) {
			git_error_clear();
			if (prefix_not_tree(tree, t[i].path))
				goto out;
			continue;
		}
		if (erc < 0)
			goto out;
		bool is_tree = git_tree_entry_type(e) == GIT_OBJECT_TREE;
		t[i].exists = true;
		git_oid_cpy(&t[i].id, git_tree_entry_id(e));
		t[i].mode = git_tree_entry_filemode(e);
		git_tree_entry_free(e);
		if (is_tree)
			goto out;
		up[nup].action = GIT_TREE_UPDATE_UPSERT;
		up[nup].path = t[i].path;
		up[nup].filemode = t[i].mode;
		git_oid_cpy(&up[nup].id, &t[i].id);
		nup++;
	}
	if (git_tree_create_updated(&small_id, scratch, NULL, nup, up) < 0 ||
	    git_tree_lookup(&small, scratch, &small_id) < 0)
		goto out;
	/* blobs go to the repository, read back through it (postimage) or
	 * through the pre-image tree's scratch repository (its alternate) */
	if (git_apply_to_tree(&idx, ctx->repo, small, diff, ao) < 0)
		goto out;

	nup = 0;
	size_t nidx = git_index_entrycount(idx);
	git_tree_update *up2 = xeci_calloc(nidx + n + 1, sizeof(*up2));
	free(up);
	up = up2;
	for (size_t i = 0; i < nidx; i++) {
		const git_index_entry *ie = git_index_get_byindex(idx, i);
		touched key = {.path = ie->path};
		const touched *was = bsearch(&key, t, n, sizeof(*t), touched_cmp);
		if (was && was->exists && git_oid_equal(&was->id, &ie->id) &&
		    (uint32_t)was->mode == ie->mode)
			continue;
		up[nup].action = GIT_TREE_UPDATE_UPSERT;
		up[nup].path = ie->path;
		up[nup].filemode = (git_filemode_t)ie->mode;
		git_oid_cpy(&up[nup].id, &ie->id);
		nup++;
	}
	for (size_t i = 0; i < n; i++)
		if (t[i].exists && !git_index_get_bypath(idx, t[i].path, 0)) {
			up[nup].action = GIT_TREE_UPDATE_REMOVE;
			up[nup].path = t[i].path;
			nup++;
		}
	if (nup == 0)
		git_oid_cpy(out, git_tree_id(tree));
	else if (git_tree_create_updated(out, ctx->repo, tree, nup, up) < 0)
		goto out;
	rc = SMALL_DONE;
out:
	if (rc != SMALL_DONE)
		git_error_clear();
	git_index_free(idx);
	git_tree_free(small);
	if (ctx->mempack)
		git_mempack_reset(ctx->mempack);
	free(up);
	free(t);
	return rc;
}

/* Applies one parsed patch to *tree and commits it on parent; *tree and
 * *commit become the new ones. */
static int apply_one(git_oid *commit, git_tree **tree, xeci_apply_result *r, apply_ctx *ctx,
		     git_diff *diff, const xeci_mail *m, int index, const git_signature *committer)
{
	git_repository *repo = ctx->repo;
	apply_pos pos = {NULL, 0};
	git_apply_options ao;
	git_index *idx = NULL;
	git_signature *author = NULL;
	git_commit *parent = NULL;
	git_tree *next = NULL;
	git_oid tree_id;
	char *msg = NULL;
	int rc;
	git_apply_options_init(&ao, GIT_APPLY_OPTIONS_VERSION);
	ao.delta_cb = on_delta;
	ao.hunk_cb = on_hunk;
	ao.payload = &pos;
	if (apply_small(&tree_id, ctx, *tree, diff, &ao) != SMALL_DONE) {
		/* the whole tree, as libgit2 applies: its verdict and its
		 * position on failure */
		pos.file = NULL;
		pos.hunk = 0;
		if ((rc = git_apply_to_tree(&idx, repo, *tree, diff, &ao)) < 0) {
			const git_error *e = git_error_last();
			fail(r, index, pos.file, pos.hunk, e && e->message ? e->message : "does not apply");
			git_error_clear();
			return XECI_EINVALID;
		}
		if ((rc = git_index_write_tree_to(&tree_id, idx, repo)) < 0) {
			rc = xeci_apply_git_error(rc, "write tree");
			goto out;
		}
	}
	if ((rc = git_tree_lookup(&next, repo, &tree_id)) < 0 ||
	    (rc = git_commit_lookup(&parent, repo, commit)) < 0) {
		rc = xeci_apply_git_error(rc, "write tree");
		goto out;
	}
	if ((rc = author_signature(&author, m)) < 0)
		goto out;
	msg = xeci_apply_commit_message(m);
	const git_commit *parents[1] = {parent};
	if ((rc = git_commit_create(commit, repo, NULL, author, committer, NULL, msg, next, 1,
				    parents)) < 0) {
		rc = xeci_apply_git_error(rc, "commit");
		goto out;
	}
	git_tree_free(*tree);
	*tree = next;
	next = NULL;
out:
	if (rc < 0)
		fail(r, index, NULL, 0, xeci_error_last());
	free(msg);
	git_signature_free(author);
	git_commit_free(parent);
	git_tree_free(next);
	git_index_free(idx);
	return rc;
}

static int committer_signature(git_signature **out, const xeci_apply_opts *opts)
{
	const char *name = opts && opts->committer_name ? opts->committer_name : "xeci";
	const char *email = opts && opts->committer_email ? opts->committer_email : "xeci@localhost";
	int64_t when = opts && opts->committer_time ? opts->committer_time : xeci_time_now();
	int rc = git_signature_new(out, name, email, when, 0);
	return rc < 0 ? xeci_apply_git_error(rc, "committer") : 0;
}

/* Applies the parsed diffs on base; 0 when all applied (r->commit set). */
static int apply_all(xeci_apply_result *r, git_repository *repo, const git_oid *base,
		     git_diff **diffs, const xeci_mail *const *patches, size_t n,
		     const git_signature *committer)
{
	git_commit *c;
	git_tree *tree;
	git_oid head;
	int rc;
	for (size_t i = 0; i < n; i++) {
		r->patches[i].applied = false;
		r->patches[i].commit[0] = '\0';
	}
	if ((rc = git_commit_lookup(&c, repo, base)) < 0) {
		rc = xeci_apply_git_error(rc, "base");
		fail(r, 0, NULL, 0, xeci_error_last());
		return rc;
	}
	rc = git_commit_tree(&tree, c);
	git_commit_free(c);
	if (rc < 0) {
		rc = xeci_apply_git_error(rc, "base tree");
		fail(r, 0, NULL, 0, xeci_error_last());
		return rc;
	}
	git_oid_cpy(&head, base);
	apply_ctx ctx = {.repo = repo};
	for (size_t i = 0; i < n; i++) {
		if ((rc = apply_one(&head, &tree, r, &ctx, diffs[i], patches[i], (int)i + 1,
				    committer)) < 0)
			break;
		r->patches[i].applied = true;
		git_oid_tostr(r->patches[i].commit, sizeof(r->patches[i].commit), &head);
	}
	apply_ctx_free(&ctx);
	git_tree_free(tree);
	if (rc == 0)
		git_oid_tostr(r->commit, sizeof(r->commit), &head);
	return rc;
}

static void clear_failure(xeci_apply_result *r)
{
	free(r->failed_file);
	free(r->error);
	r->failed_file = r->error = NULL;
	r->failed_index = r->failed_hunk = 0;
}

static int update_ref(xeci_apply_result *r, git_repository *repo, const char *name)
{
	git_reference *ref;
	git_oid id;
	int valid = 0, rc;
	if (git_reference_name_is_valid(&valid, name) < 0 || !valid) {
		char why[300];
		snprintf(why, sizeof(why), "invalid ref name '%.200s'", name);
		fail(r, 0, NULL, 0, why);
		return xeci_error_setc(XECI_EINVALID, "%s", why);
	}
	git_oid_fromstr(&id, r->commit);
	if ((rc = git_reference_create(&ref, repo, name, &id, 1, "xeci apply")) < 0) {
		rc = xeci_apply_git_error(rc, name);
		fail(r, 0, NULL, 0, xeci_error_last());
		return rc;
	}
	git_reference_free(ref);
	return 0;
}

int xeci_apply_series(xeci_apply_result *out, git_repository *repo, const xeci_mail *const *patches,
		      size_t n, const char *base_commit, const xeci_apply_opts *opts)
{
	git_diff **diffs = xeci_calloc(n ? n : 1, sizeof(*diffs));
	git_signature *committer = NULL;
	git_oid base;
	int rc = 0, mismatches = 0;
	memset(out, 0, sizeof(*out));
	out->npatches = n;
	out->patches = xeci_calloc(n ? n : 1, sizeof(*out->patches));
	for (size_t i = 0; i < n; i++)
		out->patches[i].index = (int)i + 1;

	/* every patch is parsed and its paths checked before anything is
	 * written: a refused patch leaves no object behind */
	for (size_t i = 0; i < n; i++)
		if (parse_patch(&diffs[i], out, patches[i], (int)i + 1) < 0)
			goto done;
	if (n == 0) {
		fail(out, 0, NULL, 0, "no patches");
		goto done;
	}
	if ((rc = xeci_apply_find_base(&base, &out->base_method, &mismatches, repo, patches, n,
				       base_commit, opts, true)) < 0) {
		fail(out, 0, NULL, 0, xeci_error_last());
		goto done;
	}
	git_oid_tostr(out->base, sizeof(out->base), &base);
	out->blob_mismatches = mismatches;
	if ((rc = committer_signature(&committer, opts)) < 0) {
		fail(out, 0, NULL, 0, xeci_error_last());
		goto done;
	}
	rc = apply_all(out, repo, &base, diffs, patches, n, committer);
	if (rc < 0 && out->base_method == XECI_BASE_BLOBS && mismatches > 0) {
		/* a partial blob match was only worth it if the series applies
		 * there; else fall back to the branch head */
		git_oid head;
		if (xeci_apply_branch_head(&head, repo, opts ? opts->branch : NULL) == 0) {
			clear_failure(out);
			out->base_method = XECI_BASE_BRANCH_HEAD;
			out->blob_mismatches = 0;
			git_oid_tostr(out->base, sizeof(out->base), &head);
			rc = apply_all(out, repo, &head, diffs, patches, n, committer);
		}
	}
	if (rc < 0) {
		rc = 0; /* the series did not apply: out says why */
		goto done;
	}
	if (opts && opts->ref && update_ref(out, repo, opts->ref) < 0)
		goto done;
	out->applied = true;
done:
	if (!out->applied) {
		out->commit[0] = '\0';
		if (!out->error)
			out->error = xeci_strdup("apply failed");
	}
	for (size_t i = 0; i < n; i++)
		git_diff_free(diffs[i]);
	free(diffs);
	git_signature_free(committer);
	return rc;
}

int xeci_apply_version(xeci_apply_result *out, git_repository *repo, const xeci_series_version *v,
		       const xeci_apply_opts *opts)
{
	const xeci_mail **mails = xeci_calloc(v->npatches ? v->npatches : 1, sizeof(*mails));
	for (size_t i = 0; i < v->npatches; i++)
		mails[i] = v->patches[i].mail;
	int rc = xeci_apply_series(out, repo, mails, v->npatches, v->base_commit, opts);
	free(mails);
	return rc;
}

void xeci_apply_result_clear(xeci_apply_result *r)
{
	if (!r)
		return;
	free(r->patches);
	free(r->failed_file);
	free(r->error);
	memset(r, 0, sizeof(*r));
}
