/* The git transport of public-inbox: mirror each v2 epoch (git/N.git) with
 * libgit2, then walk its commits oldest first from the stored cursor and
 * hand each message blob (m) or removal (d) to the caller, one commit at a
 * time so that an epoch is never held in memory. Which epochs there are:
 * inbox_git_epochs.c. */
#define _GNU_SOURCE /* memmem */
#include "inbox_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <git2.h>

#include "buf.h"
#include "error.h"
#include "gitdir.h"
#include "log.h"
#include "pack_read.h"
#include "util.h"

#define PROGRESS_EVERY 1000

typedef struct walk {
	const char *url;    /* as given, for messages */
	xeci_inbox_msg_fn fn;
	void *payload;
	xeci_inbox_progress_fn progress;
	void *progress_payload;
	bool git_ready;     /* git_libgit2_init done (only when something needs libgit2) */
	const char *git_dir; /* of the epoch being walked */
} walk;

/* Off (tests only): every epoch is read through libgit2, as before the
 * plain path, so that both can be compared on the same repositories. */
static atomic_bool plain_on = true;

void xeci_inbox_git_set_plain(bool on)
{
	atomic_store(&plain_on, on);
}

static atomic_uint libgit2_opens;

static atomic_uint split_on, split_off;

void xeci_inbox_git_split_walks(unsigned *on_chain, unsigned *off_chain)
{
	*on_chain = atomic_load(&split_on);
	*off_chain = atomic_load(&split_off);
}

unsigned xeci_inbox_git_libgit2_opens(void)
{
	return atomic_load(&libgit2_opens);
}

/* One epoch's repository. A plain one (gitdir.h) is read with gitdir.c and
 * pack_read.c alone; libgit2 opens it only for what those leave to it. */
typedef struct epoch {
	char *path;
	git_repository *repo; /* NULL until libgit2 is needed */
	bool plain;
} epoch;

static int git_fail(int code, const char *what, const char *where)
{
	const git_error *e = git_error_last();
	return xeci_error_setc(code, "%s %s: %s", what, where, e && e->message ? e->message : "libgit2 error");
}

static bool is_remote(const char *url)
{
	return xeci_str_istartswith(url, "http://") || xeci_str_istartswith(url, "https://");
}

/* url without trailing slashes (caller frees). */
static char *url_base(const char *url)
{
	size_t n = strlen(url);
	while (n > 1 && url[n - 1] == '/')
		n--;
	return xeci_strndup(url, n);
}

/* --- mirroring ------------------------------------------------------------ */

/* Opens mirror_dir/N.git, creating it bare the first time, and fetches
 * every branch (refs/heads/ to refs/heads/) from base/git/N.git into it. A fetch that died
 * half-way left the refs as they were, so the next one starts over. */
static int mirror_epoch(git_repository **out, const char *mirror_dir, const char *base, int epoch)
{
	static const char *spec = "+refs/heads/*:refs/heads/*";
	git_fetch_options fo;
	git_strarray specs = {(char **)&spec, 1};
	xeci_buf path = XECI_BUF_INIT, url = XECI_BUF_INIT;
	git_remote *remote = NULL;
	int rc;

	*out = NULL;
	xeci_buf_printf(&path, "%s/%d.git", mirror_dir, epoch);
	xeci_buf_printf(&url, "%s/git/%d.git", base, epoch);
	if (git_repository_open_bare(out, path.ptr) < 0 && git_repository_init(out, path.ptr, 1) < 0) {
		rc = git_fail(XECI_EIO, "creating mirror", path.ptr);
		goto done;
	}
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	fo.update_fetchhead = 0;
	/* Anonymous, and no url.insteadOf lookup: that path of libgit2 1.5 leaks
	 * pcre2 match data, and the mirror has no config worth reading. */
	git_remote_create_options ro;
	git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ro.repository = *out;
	ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if (git_remote_create_with_opts(&remote, url.ptr, &ro) < 0 ||
	    git_remote_fetch(remote, &specs, &fo, "xeci: fetch") < 0) {
		rc = git_fail(XECI_EIO, "git fetch", url.ptr);
		goto done;
	}
	rc = 0;
done:
	git_remote_free(remote);
	if (rc < 0) {
		git_repository_free(*out);
		*out = NULL;
	}
	xeci_buf_free(&path);
	xeci_buf_free(&url);
	return rc;
}

/* Reading an epoch touches every blob once: skip re-hashing each object
 * read (zlib's checksums and the pack's still guard the data), and bound the
 * pack memory mapped at once, so the RSS of a fetch does not grow with the
 * epoch. */
static void tune_libgit2(void)
{
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)8 << 20);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, (size_t)32 << 20);
	/* each object is read once: libgit2's object cache would only grow */
	git_libgit2_opts(GIT_OPT_ENABLE_CACHING, 0);
}

/* libgit2's global set-up, the first time something needs libgit2: it is
 * 5-15 ms in Debian's build (mbedTLS parses the system CA bundle) when
 * nobody holds it yet. */
static void git_up(walk *w)
{
	if (w->git_ready)
		return;
	git_libgit2_init();
	xeci_inbox_gitstream_register();
	tune_libgit2();
	w->git_ready = true;
}

/* The epoch's libgit2 repository, opened on first use. */
static int epoch_repo(git_repository **out, walk *w, epoch *ep)
{
	if (!ep->repo) {
		git_up(w);
		atomic_fetch_add(&libgit2_opens, 1);
		if (git_repository_open_bare(&ep->repo, ep->path) < 0)
			return git_fail(XECI_EIO, "opening epoch", ep->path);
	}
	*out = ep->repo;
	return 0;
}

/* --- walking ------------------------------------------------------------- */

/* Reads the commit's m (message) or d (removal) and hands it over. A commit
 * that cannot be read is handed over with `error` set rather than stopping
 * the fetch: the ingest stage records it and the cursor moves on. */
static int hand_over(walk *w, git_repository *repo, const git_oid *oid, int epoch)
{
	char hex[GIT_OID_HEXSZ + 1], blob_hex[GIT_OID_HEXSZ + 1];
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_blob *blob = NULL;
	const git_tree_entry *ent = NULL;
	xeci_buf source = XECI_BUF_INIT, err = XECI_BUF_INIT;
	xeci_inbox_msg msg = {0};
	int rc;

	git_oid_tostr(hex, sizeof(hex), oid);
	xeci_buf_printf(&source, "%s git/%d.git@%s", w->url, epoch, hex);
	msg.epoch = epoch;
	msg.commit = hex;
	msg.source = source.ptr;
	if (git_commit_lookup(&commit, repo, oid) < 0 || git_commit_tree(&tree, commit) < 0) {
		const git_error *e = git_error_last();
		xeci_buf_printf(&err, "%s: unreadable commit: %s", source.ptr, e ? e->message : "?");
	} else if ((ent = git_tree_entry_byname(tree, "m")) == NULL &&
		   (ent = git_tree_entry_byname(tree, "d")) == NULL) {
		xeci_buf_printf(&err, "%s: commit has neither m nor d", source.ptr);
	} else if (git_blob_lookup(&blob, repo, git_tree_entry_id(ent)) < 0) {
		const git_error *e = git_error_last();
		xeci_buf_printf(&err, "%s: unreadable blob %s: %s", source.ptr,
				git_tree_entry_name(ent), e ? e->message : "?");
	} else {
		msg.data = git_blob_rawcontent(blob);
		msg.len = (size_t)git_blob_rawsize(blob);
		msg.removed = strcmp(git_tree_entry_name(ent), "d") == 0;
		git_oid_tostr(blob_hex, sizeof(blob_hex), git_tree_entry_id(ent));
		msg.blob = blob_hex;
		msg.git_dir = w->git_dir;
	}
	if (err.len) {
		msg.error = err.ptr;
		XECI_WARN("%s", err.ptr);
	}
	rc = w->fn(&msg, w->payload);
	git_blob_free(blob);
	git_tree_free(tree);
	git_commit_free(commit);
	xeci_buf_free(&source);
	xeci_buf_free(&err);
	return rc;
}

/* Decides where the walk of an epoch starts: the cursor commit is hidden
 * (*hide set, 1 returned) when it is an ancestor of master. A cursor that is
 * gone or off master means the history was rewritten (public-inbox never
 * does it): say so, and read the epoch from its beginning; the ingest stage
 * drops what it already has. */
static int cursor_to_hide(git_oid *hide, git_repository *repo, const git_oid *master,
			  const xeci_inbox_cursor *cur, const char *url)
{
	git_commit *c = NULL;

	if (!cur->commit[0])
		return 0;
	if (git_oid_fromstr(hide, cur->commit) < 0 || git_commit_lookup(&c, repo, hide) < 0) {
		XECI_WARN("inbox %s: cursor commit %s of epoch %d not found (history rewritten?); "
			  "reading epoch %d from its beginning", url, cur->commit, cur->epoch, cur->epoch);
		return 0;
	}
	git_commit_free(c);
	if (!git_oid_equal(hide, master) && git_graph_descendant_of(repo, master, hide) != 1) {
		XECI_WARN("inbox %s: cursor commit %s of epoch %d is not on master (history rewritten?); "
			  "reading epoch %d from its beginning", url, cur->commit, cur->epoch, cur->epoch);
		return 0;
	}
	return 1;
}

static void report(walk *w, int epoch, uint64_t done)
{
	xeci_inbox_progress p = {epoch, done};
	if (w->progress)
		w->progress(&p, w->progress_payload);
}

/* The commits of master after the cursor, newest first. An epoch is a
 * linear history (one commit per message, each on the previous), so the
 * plain parent walk gives arrival order reversed. This costs 20 bytes a
 * commit; a topological walk would parse and keep every commit instead. */
static int list_new_commits(git_oid **out, size_t *n, walk *w, git_repository *repo,
			    const git_oid *master, const git_oid *hide, const xeci_inbox_cursor *cur)
{
	git_revwalk *rw = NULL;
	git_oid oid, *oids = NULL;
	size_t cap = 0;
	int rc;

	*n = 0;
	if (git_revwalk_new(&rw, repo) < 0 || git_revwalk_sorting(rw, GIT_SORT_NONE) < 0 ||
	    git_revwalk_push(rw, master) < 0) {
		git_revwalk_free(rw);
		return git_fail(XECI_EIO, "walking epoch of", w->url);
	}
	if (hide)
		git_revwalk_hide(rw, hide);
	while ((rc = git_revwalk_next(&oid, rw)) == 0) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			oids = xeci_realloc(oids, cap * sizeof(*oids));
		}
		git_oid_cpy(&oids[(*n)++], &oid);
	}
	git_revwalk_free(rw);
	if (rc != GIT_ITEROVER) {
		free(oids);
		return xeci_error_setc(XECI_EIO, "inbox %s: walking epoch %d: %s", w->url, cur->epoch,
				       git_error_last() ? git_error_last()->message : "libgit2 error");
	}
	*out = oids;
	return 0;
}

/* --- the fast path: our own pack reader ---------------------------------- */

/* Where the fast path reads objects: the packs, then (for a plain epoch,
 * git_dir set) loose objects, as a single new message is: git fast-import
 * writes fewer than fastimport.unpackLimit (100) objects loose. */
typedef struct objects {
	xeci_packs *packs;
	const char *git_dir; /* NULL: packs only */
} objects;

static int obj_read(char **data, size_t *len, int *type, const objects *o, const git_oid *oid)
{
	int rc = xeci_packs_read(data, len, type, o->packs, oid->id);
	if (rc == XECI_ENOTFOUND && o->git_dir)
		rc = xeci_gitdir_loose_read(data, len, type, o->git_dir, oid->id);
	return rc;
}

/* One commit to hand over, and its tree (zero when not known yet). */
typedef struct commit_ref {
	git_oid commit, tree;
} commit_ref;

static bool parse_hex_line(git_oid *out, const char **p, const char *end, const char *key)
{
	size_t k = strlen(key);
	/* not git_oid_fromstrn: its error path needs git_libgit2_init */
	if ((size_t)(end - *p) < k + GIT_OID_HEXSZ + 1 || memcmp(*p, key, k) || (*p)[k + GIT_OID_HEXSZ] != '\n' ||
	    xeci_gitdir_oid_fromhex(out->id, *p + k) < 0)
		return false;
	*p += k + GIT_OID_HEXSZ + 1;
	return true;
}

/* A commit's tree and its parents (at most 2 counted: a merge ends the fast
 * walk). false when it is not a commit this walk understands. */
static bool read_commit(git_oid *tree, git_oid *parent, int *nparents, const objects *o, const git_oid *oid)
{
	char *data;
	size_t len;
	int type;
	if (obj_read(&data, &len, &type, o, oid) < 0)
		return false;
	const char *p = data, *end = data + len;
	bool ok = type == XECI_PACK_COMMIT && parse_hex_line(tree, &p, end, "tree ");
	*nparents = 0;
	while (ok && *nparents < 2 && parse_hex_line(parent, &p, end, "parent "))
		++*nparents;
	/* libgit2 refuses a commit without these: leave such a one to it, so
	 * that it is handed over with libgit2's error as before */
	ok = ok && memmem(p - 1, (size_t)(end - p + 1), "\nauthor ", 8) &&
	     memmem(p - 1, (size_t)(end - p + 1), "\ncommitter ", 11);
	free(data);
	return ok;
}

/* The commits of master after the cursor, newest first, with their trees:
 * the first-parent chain read once with the pack reader, as the revwalk
 * gives it for the linear history of an epoch. false (the caller asks
 * libgit2's revwalk) at a merge or an object the reader leaves to libgit2. */
static bool list_fast(commit_ref **out, size_t *n, bool *met, const objects *o, const git_oid *master,
		      const git_oid *hide)
{
	commit_ref *refs = NULL;
	size_t cap = 0;
	git_oid oid = *master;
	*n = 0;
	*met = false;
	for (;;) {
		git_oid tree, parent;
		int nparents;
		if (hide && git_oid_equal(&oid, hide)) {
			*met = true;
			break;
		}
		if (!read_commit(&tree, &parent, &nparents, o, &oid) || nparents > 1) {
			free(refs);
			return false;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			refs = xeci_realloc(refs, cap * sizeof(*refs));
		}
		refs[*n].commit = oid;
		refs[(*n)++].tree = tree;
		if (!nparents)
			break;
		oid = parent;
	}
	*out = refs;
	return true;
}

/* --- a cold walk on two threads -------------------------------------------- */

/* A first fetch of a big epoch walks its whole chain before the first
 * message can be parsed, with the store thread idle (a tenth of a 50,000-
 * message ingest): a second thread walks the older half. */
#define SPLIT_MIN_OBJECTS 30000 /* a smaller pack walks on one thread */
#define SPLIT_SAMPLES 97

typedef struct sampled {
	uint64_t off;
	size_t i;
} sampled;

static int cmp_sampled(const void *a, const void *b)
{
	uint64_t x = ((const sampled *)a)->off, y = ((const sampled *)b)->off;
	return x < y ? -1 : x > y;
}

/* A commit near the middle of the history: of a sample of the idx's
 * objects, the commit at the median pack offset (git fast-import writes a
 * history oldest first, git repack newest first: the middle either way).
 * Only a guess: the walk checks that it lies on the chain. */
static bool middle_commit(git_oid *out, xeci_packs *packs)
{
	size_t n = xeci_packs_count(packs), nc = 0;
	sampled c[SPLIT_SAMPLES];
	for (size_t k = 0; k < SPLIT_SAMPLES; k++) {
		size_t i = (size_t)((uint64_t)n * (2 * k + 1) / (2 * SPLIT_SAMPLES));
		int type;
		uint64_t off;
		if (xeci_packs_entry(&type, &off, packs, i) == 0 && type == XECI_PACK_COMMIT)
			c[nc++] = (sampled){off, i};
	}
	if (!nc)
		return false;
	qsort(c, nc, sizeof(*c), cmp_sampled);
	git_oid_fromraw(out, xeci_packs_oid(packs, c[nc / 2].i));
	return true;
}

/* The older half of a plain epoch: from the middle commit down, with a
 * pack reader of its own (one is not shared between threads). */
typedef struct half_walk {
	const char *git_dir; /* a plain epoch's */
	git_oid from;
	commit_ref *refs;
	size_t n;
	bool ok;
} half_walk;

static void *walk_older_half(void *arg)
{
	half_walk *h = arg;
	xeci_packs *packs = NULL;
	bool met;
	xeci_packs_open(&packs, h->git_dir);
	objects o = {packs, h->git_dir};
	h->ok = packs && list_fast(&h->refs, &h->n, &met, &o, &h->from, NULL);
	xeci_packs_free(packs);
	return NULL;
}

/* list_fast(master, no cursor), the older half on a second thread when the
 * pack is big: this thread walks from master to the middle commit, the
 * other from there down; if the middle is not on the chain, this thread's
 * walk went all the way and the other's is dropped. */
static bool list_all(commit_ref **out, size_t *n, const objects *o, const git_oid *master)
{
	bool met;
	half_walk h = {.git_dir = o->git_dir};
	pthread_t t;
	bool big = o->packs && o->git_dir && xeci_packs_count(o->packs) >= SPLIT_MIN_OBJECTS;
	if (!big || !middle_commit(&h.from, o->packs) || pthread_create(&t, NULL, walk_older_half, &h) != 0)
		return list_fast(out, n, &met, o, master, NULL);
	bool ok = list_fast(out, n, &met, o, master, &h.from);
	pthread_join(t, NULL);
	atomic_fetch_add(met ? &split_on : &split_off, 1);
	if (ok && met && !h.ok) { /* the other walk gave up (a merge below?): this one goes on */
		bool below;
		if (!list_fast(&h.refs, &h.n, &below, o, &h.from, NULL)) {
			free(*out);
			return false;
		}
	}
	if (!ok || !met) {
		free(h.refs);
		return ok;
	}
	*out = xeci_realloc(*out, (*n + h.n) * sizeof(**out));
	memcpy(*out + *n, h.refs, h.n * sizeof(**out));
	*n += h.n;
	free(h.refs);
	return true;
}

/* The id of entry `name` of a raw tree ("<mode> <name>\0<20-byte id>"...). */
static bool tree_entry(git_oid *out, const char *tree, size_t len, const char *name)
{
	const char *p = tree, *end = tree + len;
	size_t nlen = strlen(name);
	while (p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *nul = sp ? memchr(sp, '\0', (size_t)(end - sp)) : NULL;
		if (!nul || (size_t)(end - nul) < 1 + GIT_OID_RAWSZ)
			return false;
		if ((size_t)(nul - sp - 1) == nlen && !memcmp(sp + 1, name, nlen)) {
			git_oid_fromraw(out, (const unsigned char *)nul + 1);
			return true;
		}
		p = nul + 1 + GIT_OID_RAWSZ;
	}
	return false;
}

/* hand_over with the pack reader: 1 when handed over (the callback's result
 * in *rc), 0 when something is not as expected and libgit2 must read it (the
 * same errors and messages as ever). */
static int hand_over_fast(int *rc, walk *w, const objects *o, const commit_ref *c, int epoch)
{
	char *tree = NULL, *blob = NULL;
	size_t tlen, blen;
	int type;
	git_oid zero = {{0}}, boid;
	bool removed = false;
	if (git_oid_equal(&c->tree, &zero) || obj_read(&tree, &tlen, &type, o, &c->tree) < 0)
		return 0;
	bool ok = type == XECI_PACK_TREE &&
		  (tree_entry(&boid, tree, tlen, "m") || (removed = tree_entry(&boid, tree, tlen, "d")));
	free(tree);
	if (!ok || obj_read(&blob, &blen, &type, o, &boid) < 0)
		return 0;
	if (type != XECI_PACK_BLOB) {
		free(blob);
		return 0;
	}
	char hex[GIT_OID_HEXSZ + 1], blob_hex[GIT_OID_HEXSZ + 1];
	xeci_buf source = XECI_BUF_INIT;
	git_oid_tostr(hex, sizeof(hex), &c->commit);
	git_oid_tostr(blob_hex, sizeof(blob_hex), &boid);
	xeci_buf_printf(&source, "%s git/%d.git@%s", w->url, epoch, hex);
	xeci_inbox_msg msg = {.data = blob, .len = blen, .removed = removed, .epoch = epoch,
			      .commit = hex, .source = source.ptr, .take = &blob,
			      .blob = blob_hex, .git_dir = w->git_dir};
	*rc = w->fn(&msg, w->payload);
	xeci_buf_free(&source);
	free(blob);
	return 1;
}

/* The tip of master: 1 with *master, 0 when the epoch has no master yet. */
static int epoch_tip(git_oid *master, walk *w, epoch *ep)
{
	git_repository *repo;
	int rc;
	if (ep->plain) {
		rc = xeci_gitdir_ref(master->id, ep->path, "refs/heads/master");
		if (rc == 0 || rc == XECI_ENOTFOUND)
			return rc == 0;
	}
	if ((rc = epoch_repo(&repo, w, ep)) < 0)
		return rc;
	if ((rc = git_reference_name_to_id(master, repo, "refs/heads/master")) < 0)
		return rc == GIT_ENOTFOUND ? 0 /* no message yet */
					   : git_fail(XECI_EIO, "reading master of epoch", w->url);
	return 1;
}

/* The commits after the cursor without libgit2: when the cursor is a
 * readable commit met on master's first-parent chain (what cursor_to_hide
 * would find), or there is no cursor. false: libgit2 decides (a cursor gone
 * or off master, a merge, an object pack_read.c leaves to libgit2). */
static bool list_plain(commit_ref **out, size_t *n, const objects *o, const git_oid *master,
		       const xeci_inbox_cursor *cur)
{
	git_oid hide, tree, parent;
	int nparents;
	bool met;
	if (!cur->commit[0])
		return list_all(out, n, o, master);
	if (strlen(cur->commit) != GIT_OID_HEXSZ || xeci_gitdir_oid_fromhex(hide.id, cur->commit) < 0 ||
	    !read_commit(&tree, &parent, &nparents, o, &hide))
		return false;
	if (!list_fast(out, n, &met, o, master, &hide))
		return false;
	if (!met) {
		free(*out);
		*out = NULL;
		return false;
	}
	return true;
}

/* The commits after the cursor with libgit2's help, as before the plain
 * path: cursor_to_hide decides where to start (and warns). */
static int list_libgit2(commit_ref **out, size_t *n, walk *w, epoch *ep, const objects *o,
			const git_oid *master, const xeci_inbox_cursor *cur)
{
	git_repository *repo;
	git_oid hide;
	bool met;
	int rc;
	if ((rc = epoch_repo(&repo, w, ep)) < 0)
		return rc;
	bool hidden = cursor_to_hide(&hide, repo, master, cur, w->url) == 1;
	if (list_fast(out, n, &met, o, master, hidden ? &hide : NULL))
		return 0;
	git_oid *oids = NULL;
	if ((rc = list_new_commits(&oids, n, w, repo, master, hidden ? &hide : NULL, cur)) < 0)
		return rc;
	*out = xeci_calloc(*n ? *n : 1, sizeof(**out)); /* trees unknown: read by the commit */
	for (size_t i = 0; i < *n; i++)
		(*out)[i].commit = oids[i];
	free(oids);
	return 0;
}

/* Walks master of one epoch oldest first from after the cursor; moves the
 * cursor forward as the caller accepts each commit. The pack reader reads
 * what it can (each commit once, delta chains in order); libgit2 reads the
 * rest, as before. */
static int walk_epoch(walk *w, epoch *ep, xeci_inbox_cursor *cur)
{
	git_oid master;
	commit_ref *refs = NULL;
	xeci_packs *packs = NULL;
	size_t n = 0;
	uint64_t done = 0;
	int rc;

	if ((rc = epoch_tip(&master, w, ep)) <= 0)
		return rc;
	xeci_packs_open(&packs, ep->path);
	objects o = {packs, ep->plain ? ep->path : NULL};
	if (!(ep->plain && list_plain(&refs, &n, &o, &master, cur)) &&
	    (rc = list_libgit2(&refs, &n, w, ep, &o, &master, cur)) < 0) {
		xeci_packs_free(packs);
		return rc;
	}
	for (size_t i = n; i-- > 0;) {
		git_repository *repo;
		if (!hand_over_fast(&rc, w, &o, &refs[i], cur->epoch) &&
		    (rc = epoch_repo(&repo, w, ep)) == 0)
			rc = hand_over(w, repo, &refs[i].commit, cur->epoch);
		if (rc < 0)
			break;
		git_oid_tostr(cur->commit, sizeof(cur->commit), &refs[i].commit);
		if (++done % PROGRESS_EVERY == 0)
			report(w, cur->epoch, done);
	}
	if (rc == 0 && done % PROGRESS_EVERY)
		report(w, cur->epoch, done);
	free(refs);
	xeci_packs_free(packs);
	return rc;
}

/* The cursor of `epoch`, appended (empty) when the epoch is new. */
static size_t cursor_for(xeci_inbox_cursor **cursors, size_t *ncursors, int epoch)
{
	for (size_t i = 0; i < *ncursors; i++)
		if ((*cursors)[i].epoch == epoch)
			return i;
	*cursors = xeci_realloc(*cursors, (*ncursors + 1) * sizeof(**cursors));
	memset(&(*cursors)[*ncursors], 0, sizeof(**cursors));
	(*cursors)[*ncursors].epoch = epoch;
	return (*ncursors)++;
}

/* The repository of one epoch: the mirror (fetched first) for a remote
 * inbox, else the inbox's own git/N.git. */
static int epoch_open(epoch *ep, walk *w, const char *base, const char *mirror_dir, bool remote, int e)
{
	xeci_buf path = XECI_BUF_INIT;
	int rc = 0;
	memset(ep, 0, sizeof(*ep));
	if (remote) {
		git_up(w);
		if ((rc = mirror_epoch(&ep->repo, mirror_dir, base, e)) < 0)
			return rc;
		ep->path = xeci_strdup(git_repository_path(ep->repo));
	} else {
		xeci_buf_printf(&path, "%s/git/%d.git", base, e);
		ep->path = xeci_buf_detach(&path);
	}
	ep->plain = atomic_load(&plain_on) && xeci_gitdir_check(ep->path) == 0;
	/* not plain: libgit2 opens it now, as it always did, and says why not */
	if (!ep->plain && !ep->repo)
		rc = epoch_repo(&ep->repo, w, ep);
	return rc;
}

static void epoch_close(epoch *ep)
{
	git_repository_free(ep->repo);
	free(ep->path);
}

static int fetch_epochs(walk *w, const char *base, const char *mirror_dir, bool remote,
			int *epochs, size_t nepochs, xeci_inbox_cursor **cursors, size_t *ncursors)
{
	for (size_t i = 0; i < nepochs; i++) {
		epoch ep;
		size_t c = cursor_for(cursors, ncursors, epochs[i]);
		int rc = epoch_open(&ep, w, base, mirror_dir, remote, epochs[i]);
		w->git_dir = rc == 0 ? ep.path : NULL;
		if (rc == 0)
			rc = walk_epoch(w, &ep, &(*cursors)[c]);
		w->git_dir = NULL;
		epoch_close(&ep);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int xeci_inbox_git_fetch(const char *url, const char *mirror_dir,
			 xeci_inbox_cursor **cursors, size_t *ncursors,
			 xeci_inbox_msg_fn fn, void *payload,
			 xeci_inbox_progress_fn progress, void *progress_payload)
{
	walk w = {url, fn, payload, progress, progress_payload, false, NULL};
	bool remote = is_remote(url);
	char *base = url_base(xeci_str_startswith(url, "file://") ? url + 7 : url);
	int *epochs = NULL;
	size_t nepochs = 0;
	int rc;

	if (remote && (!mirror_dir || xeci_mkdir_p(mirror_dir, 0755) < 0)) {
		rc = xeci_error_setc(XECI_EIO, "inbox %s: cannot create mirror directory %s", url,
				     mirror_dir ? mirror_dir : "(none)");
		goto done;
	}
	rc = xeci_inbox_git_epochs(&epochs, &nepochs, base, remote);
	if (rc < 0)
		goto done;
	rc = fetch_epochs(&w, base, mirror_dir, remote, epochs, nepochs, cursors, ncursors);
done:
	free(epochs);
	free(base);
	if (w.git_ready)
		git_libgit2_shutdown();
	return rc;
}
