/* xecid's build queue: takes complete series versions from the database,
 * applies each to its tree, builds it in the sandbox, runs the checks and
 * records everything (build_db.h).
 *
 * On the loop: a scan timer and the build child processes (kernel/build.sh,
 * via uv_spawn; progress and steps arrive as events). On the thread pool:
 * everything that blocks (SQLite, libgit2 apply and checkout, checkpatch,
 * hashing artifacts, reading logs). [build] jobs builds run at once.
 *
 * One build of a version, in phases:
 *   prepare    claim the row, apply the series (ref refs/xeci/series/S/vN);
 *              "apply-failed" ends here. When the base commit has no base
 *              build yet for this config, check the base out and
 *   base       build it (a row of its own, version_id NULL), then record its
 *              warnings per file (the map new warnings are counted against);
 *   patched    check the series out, checkpatch each patch, build;
 *   per-patch  with [build] perPatch, build after each earlier patch too;
 *   finish     artifacts with sha256, new warnings, the row's end state.
 * A stop (SIGTERM) kills running builds and leaves their rows "building":
 * the next start queues them again. */
#ifndef XECI_BUILDQ_H
#define XECI_BUILDQ_H

#include <uv.h>

#include "config.h"

typedef struct xeci_buildq xeci_buildq;

int xeci_buildq_new(xeci_buildq **out, uv_loop_t *loop, const xeci_config *cfg);
/* Recovers rows a stopped daemon left running, then scans every few
 * seconds for complete versions and free job slots. */
int xeci_buildq_start(xeci_buildq *q);
/* Kills running builds (their rows stay "building" for the next start) and
 * stops scanning; handles close as their work reports back. */
void xeci_buildq_stop(xeci_buildq *q);
/* After the loop has run out. */
void xeci_buildq_free(xeci_buildq *q);

#endif
