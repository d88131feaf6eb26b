/* The apply stage: one assembled series version onto a git repository (bare
 * or not), as `git am` would do it, in memory with libgit2.
 *
 *  - Base detection (apply_base.c), syzbot's order: the series' base-commit:
 *    when the repository has it; else a commit of the branch's recent history
 *    whose blobs match the pre-image blob prefixes of the `index a..b` lines
 *    (b4's find_base, walking back from the head); else the branch head. The
 *    method that decided is recorded: a report must say on what it tested.
 *  - Apply (apply.c): each patch is parsed (git_diff_from_buffer), applied to
 *    the previous tree (git_apply_to_tree) and committed with the mail's
 *    author, date and message; only when every patch applied is a ref
 *    updated. A failure names the patch, file and hunk and is never reported
 *    as applied.
 *
 * Everything here blocks (libgit2, disk): the daemon runs it on the thread
 * pool, one repository handle per job. libgit2 must be initialised by the
 * caller (git_libgit2_init). */
#ifndef XECI_APPLY_H
#define XECI_APPLY_H

#include <git2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mail.h"

struct xeci_series_version;

typedef enum xeci_base_method {
	XECI_BASE_NONE = 0,
	XECI_BASE_COMMIT,      /* the series' base-commit: */
	XECI_BASE_BLOBS,       /* pre-image blobs matched a commit of the branch */
	XECI_BASE_BRANCH_HEAD, /* neither: the branch head */
} xeci_base_method;

/* "base-commit", "blobs", "branch-head" ("none" for XECI_BASE_NONE). */
const char *xeci_base_method_name(xeci_base_method m);

typedef struct xeci_apply_opts {
	const char *branch;        /* branch to walk and fall back to; NULL: HEAD */
	const char *ref;           /* ref to point at the last commit; NULL: none */
	const char *committer_name;  /* NULL: "xeci" */
	const char *committer_email; /* NULL: "xeci@localhost" */
	int64_t committer_time;    /* 0: now */
	int max_commits;           /* blob search bound; 0: 1000 */
	int max_days;              /* blob search lookback from the patch date; 0: 30 */
} xeci_apply_opts;

typedef struct xeci_apply_patch_result {
	int index;           /* 1-based position in the series */
	bool applied;
	char commit[GIT_OID_HEXSZ + 1]; /* "" unless applied */
} xeci_apply_patch_result;

typedef struct xeci_apply_result {
	bool applied;            /* every patch applied and the ref (if any) points at commit */
	xeci_base_method base_method;
	char base[GIT_OID_HEXSZ + 1];   /* the base commit ("" when none was found) */
	char commit[GIT_OID_HEXSZ + 1]; /* the last commit, "" unless applied */
	int blob_mismatches;     /* for XECI_BASE_BLOBS: files whose blob did not match (0: all) */
	xeci_apply_patch_result *patches;
	size_t npatches;
	/* on failure */
	int failed_index;        /* 1-based patch index; 0 when no patch is to blame */
	char *failed_file;       /* path in the failing patch, or NULL */
	int failed_hunk;         /* 1-based hunk within that file, or 0 */
	char *error;             /* why, one line; NULL when applied */
} xeci_apply_result;

/* Detects the base and applies patches[0..n) (in order; each a parsed mail
 * with its patch) onto it. base_commit is the series' base-commit: (NULL
 * when none). Returns 0 when the work was done, whether the series applied
 * or not (out says which, and why not); a negative error only when the
 * repository cannot be worked on at all (no such branch, unreadable
 * objects): then out->error says it too. Clear out with
 * xeci_apply_result_clear in either case. */
int xeci_apply_series(xeci_apply_result *out, git_repository *repo, const xeci_mail *const *patches,
		      size_t n, const char *base_commit, const xeci_apply_opts *opts);
/* The same for an assembled version (its patches in order, its base-commit). */
int xeci_apply_version(xeci_apply_result *out, git_repository *repo,
		       const struct xeci_series_version *v, const xeci_apply_opts *opts);
void xeci_apply_result_clear(xeci_apply_result *r);

/* Base detection alone (apply_base.c). *mismatches is the number of files
 * whose pre-image did not match at the chosen commit (blobs only). With
 * allow_partial, a blob candidate with mismatches may be returned (the caller
 * checks that the series applies there); else only a full match counts. */
int xeci_apply_find_base(git_oid *out, xeci_base_method *method, int *mismatches, git_repository *repo,
			 const xeci_mail *const *patches, size_t n, const char *base_commit,
			 const xeci_apply_opts *opts, bool allow_partial);

/* The commit the branch names (NULL: HEAD). */
int xeci_apply_branch_head(git_oid *out, git_repository *repo, const char *branch);

/* Refuses a path a patch must never write: absolute, with a ".." component,
 * or with a component named .git (any case, as git's verify_path). */
int xeci_apply_check_path(const char *path);

/* The commit message `git am` writes for a mail: subject_clean, a blank
 * line, the message, cleaned as git's stripspace (trailing blanks, runs of
 * blank lines, leading/trailing blank lines). Free with free(). */
char *xeci_apply_commit_message(const xeci_mail *m);

#endif
