/* The checks beside a build, on files (blocking: the daemon runs them on
 * its thread pool): what a build log says (files compiled, warnings, the
 * first error), the warnings a patched build adds to its base's, and
 * scripts/checkpatch.pl --strict on each patch, sandboxed. */
#ifndef XECI_BUILD_CHECKS_H
#define XECI_BUILD_CHECKS_H

#include <git2.h>
#include <stdint.h>

#include "checkpatch.h"

typedef struct xeci_build_log_summary {
	int64_t compiled;   /* files compiled */
	int64_t warnings;
	int64_t errors;
	char *first_error;  /* "file:line: message", or NULL */
} xeci_build_log_summary;

/* Reads OUT_DIR/build.log (src_root: the checkout, stripped from paths). */
int xeci_build_log_summarize(xeci_build_log_summary *out, const char *out_dir, const char *src_root);
void xeci_build_log_summary_clear(xeci_build_log_summary *s);

/* The base's warnings per compiled file, kept in map_path (JSON) and
 * updated with the log in out_dir of a base build. */
int xeci_build_warnings_base_update(const char *map_path, const char *out_dir, const char *src_root);
/* The warnings of the patched build in out_dir that the base (map_path)
 * does not have: *count, and one line each in *text (NULL when none). */
int xeci_build_warnings_new(int64_t *count, char **text, const char *map_path, const char *out_dir,
			    const char *src_root);

/* Writes scripts/checkpatch.pl and the files it reads beside itself from
 * the base commit's tree into dir: the checker comes from the base, never
 * from the series it judges. */
int xeci_build_checkpatch_scripts(git_repository *repo, const git_oid *base, const char *dir);

/* Runs kernel/checkpatch.sh on one patch mail: *text is its report (capped),
 * out its counts. Fails when checkpatch did not finish (out is then empty,
 * *text says what it printed). */
int xeci_build_checkpatch_run(xeci_checkpatch_result *out, char **text, const char *scripts_dir,
			      const char *patch_path);

#endif
