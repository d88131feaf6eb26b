/* Series assembly: from parsed mails to patch series versions, as b4 and
 * patchwork do it (without their known bugs).
 *
 * Two layers:
 *  - xeci_series_assemble: a pure function over a set of mails (an mbox, or
 *    the messages of related threads loaded from the database) giving every
 *    series version found in it. `xeci series assemble MBOX` prints it.
 *  - xeci_series_update: the database side. After the ingest stage stores a
 *    batch of messages, it re-assembles the postings those messages touch,
 *    links versions of one series (change-id, reply to the old version,
 *    cover subject + author), marks older versions superseded, and records
 *    the incomplete -> complete transition once, in one transaction. */
#ifndef XECI_SERIES_H
#define XECI_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "mail.h"

typedef struct xeci_series_patch {
	int index;               /* 1-based position in the series */
	const xeci_mail *mail;   /* borrowed from the input */
	xeci_trailer *trailers;  /* the patch's own trailers plus those collected from replies */
	size_t ntrailers;
} xeci_series_patch;

typedef struct xeci_series_version {
	const xeci_mail *cover;  /* 0/N, or NULL */
	int version;
	int total;               /* N of the N-patch posting */
	bool complete;
	int *missing;            /* indexes not received */
	size_t nmissing;
	const char *base_commit;
	const char *change_id;
	const char *subject;     /* subject_clean of the cover, else of patch 1 */
	const char *ignored_reason; /* non-NULL: stored but not for testing (pull request, filter, ...) */
	xeci_series_patch *patches; /* in index order */
	size_t npatches;
	/* Identity and timing, for the store (additions to the first interface):
	 * posting_key: the cover's Message-ID, else the Message-ID the patches
	 * answer when that message is absent (usually the cover, not received
	 * yet), else patch 1's, else the lowest patch's. */
	const char *posting_key;
	const char *root_parent_id; /* what the cover (else the first patch) answers: a newer
				     * version posted in reply to an older one names it */
	int64_t first_date, last_date; /* oldest and newest Date of its mails */
	const char *author_email;   /* of the cover, else of the first patch */
	const xeci_trailer *cover_trailers; /* collected from replies to the cover (already
					     * in every patch's list); borrowed */
	size_t ncover_trailers;
} xeci_series_version;

typedef struct xeci_series_set xeci_series_set;

int xeci_series_assemble(xeci_series_set **out, xeci_mail *const *mails, size_t n);
size_t xeci_series_set_count(const xeci_series_set *set);
const xeci_series_version *xeci_series_set_get(const xeci_series_set *set, size_t i);
void xeci_series_set_free(xeci_series_set *set);

/* The JSON object `xeci series assemble` prints for one version. */
json_t *xeci_series_version_to_json(const xeci_series_version *v);

/* Which series an inbox wants (from [inbox] filter): a series is kept when any
 * patch touches a path under one of `paths`, or its subject carries one of the
 * bracket `prefixes`; with both lists empty everything is kept. */
typedef struct xeci_series_filter {
	char **paths;
	size_t npaths;
	char **prefixes;
	size_t nprefixes;
} xeci_series_filter;

typedef struct xeci_series_opts {
	const xeci_series_filter *filter; /* per inbox; NULL keeps everything */
	int64_t incomplete_wait;          /* seconds before an incomplete version is recorded as expired */
} xeci_series_opts;

/* Re-assembles what the given messages (rowids of messages) touch, inside the
 * caller's transaction. *completed counts versions that became complete. */
int xeci_series_update(xeci_db *db, int64_t inbox_id, const int64_t *message_rowids, size_t n,
		       const xeci_series_opts *opts, int *completed);
/* The same, given the caller's parse of each message (mails[i] is row
 * message_rowids[i], or NULL): spares reading back what was just stored.
 * The mails stay the caller's. */
int xeci_series_update_parsed(xeci_db *db, int64_t inbox_id, const int64_t *message_rowids,
			      xeci_mail *const *mails, size_t n, const xeci_series_opts *opts,
			      int *completed);
/* Records incomplete versions older than the wait as expired, missing
 * indexes kept (never dropped). */
int xeci_series_expire(xeci_db *db, int64_t now, int64_t wait);

#endif
