/* The build stage's parts that do not touch the database: where a tree's
 * source checkout and kbuild dirs live, checking a commit out there, running
 * kernel/build.sh (the sandboxed build) as a child process from a libuv
 * loop, and recording what it produced.
 *
 * Layout under the work dir ([build] workDir, default DATA/work), kept from
 * build to build so builds are incremental:
 *   WORK/TREE/src            the checkout (only changed files are rewritten)
 *   WORK/TREE/index          its git index (what makes that possible)
 *   WORK/TREE/obj/CONFIG     make O=, one per config
 *   WORK/TREE/obj/CONFIG.base-warnings.json   the base's warnings per file
 * Each build's own output goes to its out dir (DATA/builds/ID). */
#ifndef XECI_BUILD_H
#define XECI_BUILD_H

#include <git2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* WORK/TREE/src, WORK/TREE/index, WORK/TREE/obj/CONFIG (caller frees). */
char *xeci_build_src_dir(const char *work, const char *tree);
char *xeci_build_index_path(const char *work, const char *tree);
char *xeci_build_obj_dir(const char *work, const char *tree, const char *config);
/* WORK/TREE/ccache/CONFIG when ccache is installed, else NULL. */
char *xeci_build_ccache_dir(const char *work, const char *tree, const char *config);

/* The directory holding build.sh and configs/: $XECI_KERNEL_DIR, else the
 * one this binary was built with. */
const char *xeci_build_kernel_dir(void);
/* KERNEL_DIR/configs/NAME.config when it exists (caller frees); NULL and
 * an error naming the configs there otherwise. NAME may not hold '/'. */
char *xeci_build_config_path(const char *name);

/* Makes src_dir hold exactly the tree of commit (blocking: libgit2). Files
 * whose content did not change keep their mtime, so kbuild rebuilds only
 * what the commit changed since the last checkout. */
int xeci_build_checkout(git_repository *repo, const git_oid *commit, const char *src_dir,
			const char *index_path);

/* One run of kernel/build.sh. */
typedef struct xeci_build_opts {
	const char *src, *obj, *out;
	const char *config;      /* path of the fragment */
	int jobs;                /* make -j; 0: the number of CPUs */
	int64_t timeout;         /* seconds; 0: 7200 */
	int64_t log_max;         /* bytes; 0: 64 MiB */
	const char *ccache;      /* ccache's dir when ccache is to be used, else NULL */
} xeci_build_opts;

typedef enum xeci_build_event {
	XECI_BUILD_STEP,     /* text: config, build, modules, selftests, package */
	XECI_BUILD_PROGRESS, /* n: files compiled so far */
	XECI_BUILD_NOTE,     /* text: an xeci-error or xeci-config-mismatch line */
	XECI_BUILD_DONE,     /* text: the status (ok, build-failed, timeout, ...) */
} xeci_build_event;

typedef struct xeci_build_run xeci_build_run;
typedef void (*xeci_build_cb)(xeci_build_run *run, xeci_build_event ev, const char *text, int64_t n,
			      void *data);

/* Spawns the build on loop; cb is called on the loop for each event, the
 * last being XECI_BUILD_DONE, after which the run may be freed. The child
 * runs in its own session: on timeout (plus a grace period for the
 * script's own limit) or xeci_build_run_cancel the whole group is killed. */
int xeci_build_run_start(xeci_build_run **out, uv_loop_t *loop, const xeci_build_opts *opts,
			 xeci_build_cb cb, void *data);
void xeci_build_run_cancel(xeci_build_run *run);
/* Closes the handles; the memory goes when libuv has closed them. */
void xeci_build_run_free(xeci_build_run *run);

/* An artifact the build left in its out dir. */
typedef struct xeci_build_artifact {
	char *name;
	char *path;
	int64_t size;
	char sha256[65];
} xeci_build_artifact;

/* The artifacts present in out (bzImage, modules.tar.gz, config,
 * System.map, kernelrelease, build-id, hmm-tests), hashed (blocking). */
int xeci_build_artifacts(xeci_build_artifact **out, size_t *n, const char *out_dir);
void xeci_build_artifacts_free(xeci_build_artifact *a, size_t n);

/* rm -rf path (blocking); a missing path is no error. */
int xeci_build_rmtree(const char *path);

/* The status names of kernel/build.sh, "ok" is the only passing one. */
bool xeci_build_status_ok(const char *status);

#endif
