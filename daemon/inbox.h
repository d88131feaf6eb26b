/* Fetching from public-inbox: the git transport (v2 epochs URL/git/N.git
 * mirrored with libgit2, commits walked oldest-first from a cursor per epoch)
 * and the Atom transport (URL/new.atom + URL/MSGID/raw, with a thread-mbox
 * fallback when the feed has moved past what was seen).
 *
 * Fetchers do blocking I/O: the daemon runs them on the thread pool. They
 * hand each message to a callback; the caller stores it and advances the
 * cursor in the same transaction, so a crash replays at most a batch. */
#ifndef XECI_INBOX_H
#define XECI_INBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct xeci_inbox_msg {
	const char *data;   /* raw message (blob m); NULL for a removal */
	size_t len;
	bool removed;       /* the commit holds d: a removal of data's message */
	int epoch;          /* -1 for Atom */
	const char *commit; /* hex oid of the epoch commit; NULL for Atom */
	const char *source; /* human-readable origin, e.g. "URL git/0.git@<oid>" or "URL/<msgid>/raw" */
	const char *error;  /* non-NULL: this commit/entry could not be read (why); data may be NULL */
	/* NULL, or the fetcher's malloc'd, NUL-terminated buffer holding data:
	 * the callback may keep it (setting *take to NULL) instead of copying */
	char **take;
	/* From a git epoch: the hex id of the blob data is (NULL otherwise) and
	 * the epoch repository's path; the store may keep these instead of the
	 * bytes (schema 0010) */
	const char *blob;
	const char *git_dir;
} xeci_inbox_msg;

/* Return 0 to go on, negative to stop the fetch (the error is passed up). */
typedef int (*xeci_inbox_msg_fn)(const xeci_inbox_msg *msg, void *payload);

/* Per-epoch cursor: the last commit handed over and stored. */
typedef struct xeci_inbox_cursor {
	int epoch;
	char commit[41]; /* "" when nothing read yet */
} xeci_inbox_cursor;

typedef struct xeci_inbox_progress {
	int epoch;
	uint64_t done;
} xeci_inbox_progress;
typedef void (*xeci_inbox_progress_fn)(const xeci_inbox_progress *p, void *payload);

/* Mirrors the epochs of `url` (http(s) URL of an inbox, or a local v2 inbox
 * directory holding git/N.git) into mirror_dir/N.git, discovering epochs from
 * URL/manifest.js.gz or by probing, then walks every commit after the cursor
 * of its epoch, oldest first. cursors/ncursors: in, the stored cursors; the
 * array may be reallocated to add new epochs (caller frees). */
int xeci_inbox_git_fetch(const char *url, const char *mirror_dir,
			 xeci_inbox_cursor **cursors, size_t *ncursors,
			 xeci_inbox_msg_fn fn, void *payload,
			 xeci_inbox_progress_fn progress, void *progress_payload);

/* A git fetch fails when the server sends nothing for this long (seconds;
 * 120 at start, 0 restores that) or does not accept the connection in 15 s.
 * libgit2 1.5 has no timeouts of its own: xeci registers a TCP stream that
 * has them, for every libgit2 user in the process. */
void xeci_inbox_git_set_io_timeout(int seconds);

/* On by default: a local bare epoch that gitdir.h calls plain is read
 * without libgit2 (refs with gitdir.c, objects with pack_read.c), libgit2
 * being initialised only for what those leave to it. Off: libgit2 opens
 * and reads every epoch (tests compare the two). Process-wide. */
void xeci_inbox_git_set_plain(bool on);
/* Epoch repositories opened with libgit2 so far (process-wide): tests check
 * with it that the plain path ran. */
unsigned xeci_inbox_git_libgit2_opens(void);
/* Cold walks (no cursor) of a big plain epoch split across two threads:
 * the number whose middle commit was on master's chain and the number
 * whose was not (tests). */
void xeci_inbox_git_split_walks(unsigned *on_chain, unsigned *off_chain);

/* Atom state kept between polls. */
typedef struct xeci_atom_state {
	char *etag;
	char *last_modified;
	char **seen_ids;     /* entry ids of the previous feed, to detect a gap */
	size_t nseen_ids;
} xeci_atom_state;

/* Polls URL/new.atom (conditional GET) and fetches each new entry's raw
 * message; when none of the previously seen entries is in the feed (more than
 * a feed's worth arrived), fetches the thread mbox (t.mbox.gz) of each entry
 * instead so that nothing in those threads is missed. */
int xeci_inbox_atom_fetch(const char *url, xeci_atom_state *state,
			  xeci_inbox_msg_fn fn, void *payload);
void xeci_atom_state_clear(xeci_atom_state *state);

#endif
