/* Parsing one mail: headers through GMime (RFC 2047, addresses, dates), the
 * commit message and patch exactly as `git mailinfo` extracts them, subject
 * tags, trailers and series metadata (base-commit:, change-id:, ...).
 *
 * xeci_mail is a plain record: the parser fills it, the series stage reads it,
 * the store keeps it as JSON (xeci_mail_to_json / xeci_mail_from_json). */
#ifndef XECI_MAIL_H
#define XECI_MAIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XECI_MAIL_MAX_SIZE_DEFAULT (32u << 20) /* 32 MiB */

typedef struct xeci_trailer {
	char *name;  /* as written, e.g. "Reviewed-by" */
	char *value; /* trimmed */
} xeci_trailer;

typedef struct xeci_subject_tags {
	int version;       /* vN; 1 when untagged */
	int index;         /* N of N/M; -1 when absent */
	int total;         /* M of N/M; -1 when absent */
	bool rfc;
	bool resend;
	bool is_patch;     /* a PATCH tag was present (any spelling b4/patchwork accept) */
	bool is_pull;      /* a [GIT PULL] / [PULL] tag */
	char **prefixes;   /* other bracket words, in order, e.g. "net-next" */
	size_t nprefixes;
} xeci_subject_tags;

typedef struct xeci_mail {
	char *message_id;    /* without <>; NULL when the mail has none */
	char *in_reply_to;   /* without <>; NULL when none */
	char **references;   /* without <>, oldest first */
	size_t nreferences;
	char *author_name;   /* as `git mailinfo` prints Author (in-body From wins) */
	char *author_email;
	int64_t date;        /* seconds since the epoch, UTC; 0 when unknown */
	char *date_raw;      /* the Date as mailinfo prints it; NULL when none */
	char *subject;       /* decoded Subject header */
	char *subject_clean; /* as `git mailinfo` (without -k) prints Subject */
	xeci_subject_tags tags;

	char *message;       /* the commit message as mailinfo writes its msg file */
	char *patch;         /* the patch as mailinfo writes its patch file; NULL when none */
	size_t patch_len;
	bool has_patch;
	char patch_sha256[65]; /* sha256 hex of patch; "" when none */
	char **files;        /* paths the patch touches (pre- and post-image, deduplicated) */
	size_t nfiles;
	xeci_trailer *trailers; /* trailers of the message (replies included) */
	size_t ntrailers;

	/* series metadata written by format-patch / b4 in a cover or patch */
	char *base_commit;   /* base-commit: */
	char *change_id;     /* change-id: */
	char **prereq_patch_ids; /* prerequisite-patch-id: */
	size_t nprereq_patch_ids;
	char **depends_on;   /* Depends-on: (message ids or URLs) */
	size_t ndepends_on;
	bool is_pull_request; /* "git request-pull" output, or a [GIT PULL] subject */
	char *list_id;       /* List-Id, when present (the id inside <>) */
	bool mailinfo_error; /* `git mailinfo` would exit non-zero (bad charset or
	                      * encoded word, NUL in a header): `git am` refuses it */
} xeci_mail;

typedef struct xeci_mail_opts {
	size_t max_size; /* 0: XECI_MAIL_MAX_SIZE_DEFAULT */
	bool scissors;   /* honour "-- >8 --" lines (mailinfo --scissors); off
	                  * by default, as in `git mailinfo` and `git am` */
} xeci_mail_opts;

/* Parses one raw message (RFC 5322 bytes; a leading mbox "From " line, as
 * xeci_mbox_next returns it, is read as mailinfo reads it; the CR of CRLF
 * line ends is dropped as `git mailsplit` does). Fails only for input that
 * is not a mail at all (empty, over max_size, first line not a header): the
 * error text says why. A mail without Message-ID parses (message_id NULL):
 * the caller decides what that means. max_size 0 means the default. */
int xeci_mail_parse(xeci_mail **out, const char *raw, size_t len, size_t max_size);
/* Same with options (opts may be NULL). */
int xeci_mail_parse_ext(xeci_mail **out, const char *raw, size_t len, const xeci_mail_opts *opts);
void xeci_mail_free(xeci_mail *m);

/* The JSON object `xeci mail parse` prints (see README), and back. */
json_t *xeci_mail_to_json(const xeci_mail *m);
int xeci_mail_from_json(xeci_mail **out, const json_t *obj);

/* Subject tag parsing on its own, for the series stage and tests. */
int xeci_subject_parse(xeci_subject_tags *out, const char *subject);
void xeci_subject_tags_clear(xeci_subject_tags *t);
/* The "tags" object of the mail JSON (index/total null when absent). */
json_t *xeci_subject_tags_to_json(const xeci_subject_tags *t);

/* GMime needs a process-wide init before the first parse (idempotent,
 * thread-safe). */
void xeci_mail_global_init(void);

#endif
