/* The build stage's work outside the database: paths, checkout, the
 * kernel/build.sh child process, artifacts. See build.h. */
#define _GNU_SOURCE /* nftw */
#include "build.h"

#include <errno.h>
#include <git2/sys/repository.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "log.h"
#include "util.h"

#ifndef XECI_KERNEL_DIR_DEFAULT
#define XECI_KERNEL_DIR_DEFAULT "/usr/share/xeci/kernel"
#endif

/* The script enforces its own wall-clock limit; ours is the backstop for a
 * script that does not (a wedged bwrap, a stopped process). */
#define KILL_GRACE_MS 60000

static char *path_join(const char *a, const char *b, const char *c, const char *d)
{
	xeci_buf p = {0};
	xeci_buf_printf(&p, "%s/%s", a, b);
	if (c)
		xeci_buf_printf(&p, "/%s", c);
	if (d)
		xeci_buf_printf(&p, "/%s", d);
	return xeci_buf_detach(&p);
}

char *xeci_build_src_dir(const char *work, const char *tree)
{
	return path_join(work, tree, "src", NULL);
}

char *xeci_build_index_path(const char *work, const char *tree)
{
	return path_join(work, tree, "index", NULL);
}

char *xeci_build_obj_dir(const char *work, const char *tree, const char *config)
{
	return path_join(work, tree, "obj", config);
}

char *xeci_build_ccache_dir(const char *work, const char *tree, const char *config)
{
	static const char *const where[] = {"/usr/bin/ccache", "/usr/local/bin/ccache"};
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		if (access(where[i], X_OK) == 0)
			return path_join(work, tree, "ccache", config);
	return NULL;
}

const char *xeci_build_kernel_dir(void)
{
	const char *d = getenv("XECI_KERNEL_DIR");
	return d && *d ? d : XECI_KERNEL_DIR_DEFAULT;
}

char *xeci_build_config_path(const char *name)
{
	if (!name || !*name || strchr(name, '/') || name[0] == '.') {
		xeci_error_set("config name '%s': a name from kernel/configs/, without '/'", name ? name : "");
		return NULL;
	}
	xeci_buf p = {0};
	xeci_buf_printf(&p, "%s/configs/%s.config", xeci_build_kernel_dir(), name);
	if (access(p.ptr, R_OK) < 0) {
		xeci_error_set("no config '%s': %s: %s", name, p.ptr, strerror(errno));
		xeci_buf_free(&p);
		return NULL;
	}
	return xeci_buf_detach(&p);
}

/* ---- checkout ------------------------------------------------------------ */

static int git_fail(const char *what)
{
	const git_error *e = git_error_last();
	return xeci_error_set("%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

static int checkout_lock(const char *index_path)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s.xeci-lock", index_path);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return xeci_error_set("%s: %s", path, strerror(errno));
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return xeci_error_set("%s: %s", path, strerror(errno));
		}
	}
	snprintf(path, sizeof(path), "%s.lock", index_path);
	if (unlink(path) == 0)
		XECI_WARN("checkout: removed %s, left by a checkout that did not finish", path);
	return fd;
}

int xeci_build_checkout(git_repository *repo, const git_oid *commit, const char *src_dir,
			const char *index_path)
{
	git_commit *c = NULL;
	git_tree *tree = NULL;
	git_index *index = NULL;
	int ret = XECI_ERROR;
	if (xeci_mkdir_p(src_dir, 0755) < 0)
		return xeci_error_set("%s: %s", src_dir, strerror(errno));
	/* One checkout of a work tree at a time (a daemon, a terminal). Holding
	 * the lock, an index.lock is a dead checkout's (xecid killed -9 in the
	 * middle): remove it, or every later checkout would fail. */
	int lockfd = checkout_lock(index_path);
	if (lockfd < 0)
		return XECI_EIO;
	if (git_commit_lookup(&c, repo, commit) < 0 || git_commit_tree(&tree, c) < 0) {
		ret = git_fail("checkout: commit");
		goto out;
	}
	/* The index beside the checkout holds the stat data of each file
	 * written: with it, checkout sees which files are unchanged and leaves
	 * them (and their mtime) alone. The handle is the caller's own, so
	 * pointing it at this work tree affects nobody else. */
	if (git_index_open(&index, index_path) < 0 || git_repository_set_workdir(repo, src_dir, 0) < 0) {
		ret = git_fail("checkout: index");
		goto out;
	}
	git_repository_set_index(repo, index);
	git_checkout_options opts;
	git_checkout_options_init(&opts, GIT_CHECKOUT_OPTIONS_VERSION);
	opts.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_REMOVE_UNTRACKED;
	if (git_checkout_tree(repo, (const git_object *)tree, &opts) < 0) {
		ret = git_fail("checkout");
		goto out;
	}
	if (git_index_write(index) < 0) {
		ret = git_fail("checkout: write index");
		goto out;
	}
	ret = 0;
out:
	git_index_free(index);
	git_tree_free(tree);
	git_commit_free(c);
	close(lockfd); /* releases the flock */
	return ret;
}

/* ---- the child process ----------------------------------------------------- */

struct xeci_build_run {
	uv_process_t proc;
	uv_pipe_t out, err;
	uv_timer_t timer;
	xeci_build_cb cb;
	void *data;
	xeci_buf line[2]; /* partial line of stdout, stderr */
	char *status;     /* from "xeci-status: " */
	int open_streams; /* pipes not yet at EOF */
	bool exited;
	int64_t exit_status;
	int term_signal;
	int handles;      /* handles not yet closed */
	bool freeing, done;
};

static void run_maybe_done(xeci_build_run *r)
{
	if (r->done || !r->exited || r->open_streams > 0)
		return;
	r->done = true;
	uv_timer_stop(&r->timer);
	const char *status = r->status;
	if (!status)
		status = r->term_signal ? "killed" : "sandbox-failed";
	r->cb(r, XECI_BUILD_DONE, status, r->exit_status, r->data);
}

static void run_line(xeci_build_run *r, char *l)
{
	if (xeci_str_startswith(l, "xeci-step: ")) {
		r->cb(r, XECI_BUILD_STEP, l + 11, 0, r->data);
	} else if (xeci_str_startswith(l, "xeci-progress: ")) {
		r->cb(r, XECI_BUILD_PROGRESS, NULL, strtoll(l + 15, NULL, 10), r->data);
	} else if (xeci_str_startswith(l, "xeci-status: ")) {
		free(r->status);
		r->status = xeci_strdup(l + 13);
	} else if (*l) {
		r->cb(r, XECI_BUILD_NOTE, l, 0, r->data);
	}
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	buf->base = xeci_malloc(suggested);
	buf->len = suggested;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	xeci_build_run *r = s->data;
	xeci_buf *line = &r->line[s == (uv_stream_t *)&r->err];
	if (nread > 0) {
		for (ssize_t i = 0; i < nread; i++) {
			if (buf->base[i] != '\n') {
				if (line->len < 4096) /* a line longer than that is not ours */
					xeci_buf_putc(line, buf->base[i]);
				continue;
			}
			run_line(r, line->ptr ? line->ptr : "");
			xeci_buf_clear(line);
		}
	} else if (nread < 0) {
		if (line->len) {
			run_line(r, line->ptr ? line->ptr : "");
			xeci_buf_clear(line);
		}
		uv_read_stop(s);
		r->open_streams--;
		run_maybe_done(r);
	}
	free(buf->base);
}

static void exit_cb(uv_process_t *p, int64_t exit_status, int term_signal)
{
	xeci_build_run *r = p->data;
	r->exited = true;
	r->exit_status = exit_status;
	r->term_signal = term_signal;
	run_maybe_done(r);
}

static void kill_group(xeci_build_run *r)
{
	if (!r->exited && r->proc.pid > 0)
		kill(-r->proc.pid, SIGKILL); /* the child leads its own session */
}

static void timer_cb(uv_timer_t *t)
{
	xeci_build_run *r = t->data;
	XECI_WARN("build: pid %d passed its wall-clock limit; killing its process group", r->proc.pid);
	free(r->status);
	r->status = xeci_strdup("timeout");
	kill_group(r);
}

int xeci_build_run_start(xeci_build_run **out, uv_loop_t *loop, const xeci_build_opts *o,
			 xeci_build_cb cb, void *data)
{
	char script[4096], jobs[16], timeout[32], logmax[32];
	snprintf(script, sizeof(script), "%s/build.sh", xeci_build_kernel_dir());
	snprintf(jobs, sizeof(jobs), "%d", o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN));
	int64_t limit = o->timeout > 0 ? o->timeout : 7200;
	snprintf(timeout, sizeof(timeout), "%lld", (long long)limit);
	snprintf(logmax, sizeof(logmax), "%lld", (long long)(o->log_max > 0 ? o->log_max : 64 << 20));
	char *args[] = {"bash", script, "--src", (char *)o->src, "--obj", (char *)o->obj,
			"--out", (char *)o->out, "--config", (char *)o->config, "--jobs", jobs,
			"--timeout", timeout, "--log-max", logmax,
			o->ccache ? "--ccache" : NULL, (char *)o->ccache, NULL};

	xeci_build_run *r = xeci_calloc(1, sizeof(*r));
	r->cb = cb;
	r->data = data;
	uv_pipe_init(loop, &r->out, 0);
	uv_pipe_init(loop, &r->err, 0);
	uv_timer_init(loop, &r->timer);
	r->out.data = r->err.data = r->timer.data = r->proc.data = r;
	r->handles = 3;
	uv_stdio_container_t stdio[3] = {
		{.flags = UV_IGNORE},
		{.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&r->out},
		{.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&r->err},
	};
	uv_process_options_t po = {
		.exit_cb = exit_cb,
		.file = "bash",
		.args = args,
		.stdio = stdio,
		.stdio_count = 3,
		.flags = UV_PROCESS_DETACHED, /* setsid: its own process group to kill */
	};
	int rc = uv_spawn(loop, &r->proc, &po);
	if (rc < 0) {
		*out = NULL;
		xeci_build_run_free(r);
		return xeci_error_set("spawn %s: %s", script, uv_strerror(rc));
	}
	r->handles++;
	r->open_streams = 2;
	uv_read_start((uv_stream_t *)&r->out, alloc_cb, read_cb);
	uv_read_start((uv_stream_t *)&r->err, alloc_cb, read_cb);
	uv_timer_start(&r->timer, timer_cb, (uint64_t)limit * 1000 + KILL_GRACE_MS, 0);
	*out = r;
	return 0;
}

void xeci_build_run_cancel(xeci_build_run *r)
{
	if (!r)
		return;
	free(r->status);
	r->status = xeci_strdup("cancelled");
	kill_group(r);
}

static void close_cb(uv_handle_t *h)
{
	xeci_build_run *r = h->data;
	if (--r->handles > 0)
		return;
	xeci_buf_free(&r->line[0]);
	xeci_buf_free(&r->line[1]);
	free(r->status);
	free(r);
}

void xeci_build_run_free(xeci_build_run *r)
{
	if (!r || r->freeing)
		return;
	r->freeing = true;
	kill_group(r);
	if (r->handles == 4)
		uv_close((uv_handle_t *)&r->proc, close_cb);
	uv_close((uv_handle_t *)&r->out, close_cb);
	uv_close((uv_handle_t *)&r->err, close_cb);
	uv_close((uv_handle_t *)&r->timer, close_cb);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

int xeci_build_rmtree(const char *path)
{
	if (access(path, F_OK) < 0)
		return 0;
	if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) < 0)
		return xeci_error_setc(XECI_EIO, "rm -rf %s: %s", path, strerror(errno));
	return 0;
}

bool xeci_build_status_ok(const char *status)
{
	return status && !strcmp(status, "ok");
}

/* ---- artifacts ---------------------------------------------------------- */

static const char *const artifact_names[] = {
	"bzImage", "modules.tar.gz", "config", "System.map", "kernelrelease", "build-id", "hmm-tests",
};

static int sha256_file(char out[65], int64_t *size, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return xeci_error_set("%s: %s", path, strerror(errno));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	static __thread unsigned char buf[1 << 16];
	ssize_t n;
	int64_t total = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		total += n;
	}
	int err = n < 0 ? errno : 0;
	close(fd);
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (err)
		return xeci_error_set("%s: %s", path, strerror(err));
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	*size = total;
	return 0;
}

int xeci_build_artifacts(xeci_build_artifact **out, size_t *n, const char *out_dir)
{
	size_t cap = sizeof(artifact_names) / sizeof(artifact_names[0]);
	xeci_build_artifact *a = xeci_calloc(cap, sizeof(*a));
	size_t k = 0;
	for (size_t i = 0; i < cap; i++) {
		char *path = path_join(out_dir, artifact_names[i], NULL, NULL);
		struct stat st;
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (sha256_file(a[k].sha256, &a[k].size, path) < 0) {
			free(path);
			xeci_build_artifacts_free(a, k);
			return XECI_ERROR;
		}
		a[k].name = xeci_strdup(artifact_names[i]);
		a[k].path = path;
		k++;
	}
	*out = a;
	*n = k;
	return 0;
}

void xeci_build_artifacts_free(xeci_build_artifact *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].name);
		free(a[i].path);
	}
	free(a);
}
