/* Internals of series assembly shared by series.c (the set, versions, JSON),
 * series_group.c (which mail is what, and which posting it belongs to) and
 * series_trailers.c (b4's follow-up trailer rules). Not a public header. */
#ifndef XECI_SERIES_INT_H
#define XECI_SERIES_INT_H

#include "series.h"

/* What a mail is to the series stage. */
typedef enum series_kind {
	KIND_SKIP,  /* no Message-ID: nobody can reply to it or cite it */
	KIND_OTHER, /* discussion: replies, reviews, reviewers' diffs */
	KIND_COVER, /* 0/N */
	KIND_PATCH, /* a patch of a posting (N/M, or a lone [PATCH]) */
	KIND_PULL,  /* a pull request: its own version, ignored */
} series_kind;

/* Patchwork's SERIES_DELAY_INTERVAL: unthreaded patches of one posting are
 * sent within this many seconds of each other. */
#define SERIES_MARKER_WINDOW (20 * 60)

typedef struct series_node {
	const xeci_mail *mail;
	size_t pos;             /* position in the input */
	series_kind kind;
	int version, index, total;
	bool counters;          /* N/M was written */
	bool b4_reply;          /* b4's notion of a reply (Re: subject, or trailers without a diff) */
	struct series_node *parent;  /* the message it answers, when in the set */
	const char *parent_id;  /* the Message-ID it answers, even when absent */
	int posting;            /* index into set->postings, -1 when none */
	/* follow-up trailers collected for this message (borrowed strings) */
	xeci_trailer *fups;
	size_t nfups, capfups;
} series_node;

/* One posting: a cover and/or patches sent together (one version). */
typedef struct series_posting {
	series_node *cover;     /* or a pull request mail */
	const char *phantom_id; /* the absent message its patches answer */
	const char *author;     /* author_email of the first member */
	int version, total;
	int64_t first_date;
	series_node **members;  /* patches, any order, duplicates included */
	size_t nmembers, capmembers;
	bool pull;
} series_posting;

struct xeci_series_set {
	series_node *nodes;
	size_t nnodes;
	/* Message-ID -> node, open addressing; the first mail with an id wins. */
	series_node **map;
	size_t mapcap;
	series_posting *postings;
	size_t npostings, cappostings;
	xeci_series_version *versions;
	size_t nversions;
};

series_node *xeci_series__lookup(const xeci_series_set *set, const char *msgid);
void xeci_series__classify(xeci_series_set *set);
void xeci_series__group(xeci_series_set *set);
void xeci_series__collect_trailers(xeci_series_set *set);
/* Whether t can count as a follow-up trailer (b4's rules, see series_trailers.c). */
bool xeci_series__followup_trailer(const xeci_trailer *t);
/* The trailers a patch carries in its commit message as b4 writes it: its
 * own, then those from replies to it, then those from replies to the cover,
 * deduplicated as b4 does. Strings are borrowed from the mails. */
void xeci_series__patch_trailers(xeci_series_patch *p, const series_node *patch,
				 const series_node *cover);
bool xeci_series__subject_is_reply(const char *subject);

#endif
