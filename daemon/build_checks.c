/* Checks beside a build: log summary, new warnings, checkpatch. See
 * build_checks.h. */
#define _GNU_SOURCE /* pipe2 */
#include "build_checks.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build.h"
#include "buf.h"
#include "buildlog.h"
#include "error.h"
#include "util.h"

extern char **environ;

#define CHECKPATCH_TEXT_MAX (256 << 10)

static int log_read_text(xeci_buildlog **out, char **text_out, const char *out_dir, const char *src_root)
{
	char path[4096];
	char *text = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/build.log", out_dir);
	if (xeci_file_read(&text, &len, path) < 0)
		return XECI_EIO;
	int rc = xeci_buildlog_parse(out, text, len, src_root);
	if (text_out)
		*text_out = text;
	else
		free(text);
	return rc;
}

static int log_read(xeci_buildlog **out, const char *out_dir, const char *src_root)
{
	return log_read_text(out, NULL, out_dir, src_root);
}

/* make's own reason to stop ("Makefile:12: *** xe: no network.  Stop."),
 * for a build that failed before any compiler error. */
static char *make_stop_line(const char *text)
{
	for (const char *l = text; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		if (len > 6 && len < 1024 && memmem(l, len, "*** ", 4) && !memcmp(l + len - 6, " Stop.", 6)) {
			char *s = xeci_strndup(l, len);
			for (char *p = s; *p; p++)
				if ((unsigned char)*p < 0x20)
					*p = '?';
			return s;
		}
		l = nl ? nl + 1 : NULL;
	}
	return NULL;
}

int xeci_build_log_summarize(xeci_build_log_summary *out, const char *out_dir, const char *src_root)
{
	xeci_buildlog *log = NULL;
	char *text = NULL;
	memset(out, 0, sizeof(*out));
	if (log_read_text(&log, &text, out_dir, src_root) < 0) {
		free(text);
		return XECI_EIO;
	}
	out->compiled = (int64_t)xeci_buildlog_unit_count(log);
	for (size_t i = 0; i < xeci_buildlog_diag_count(log); i++) {
		if (xeci_buildlog_diag_get(log, i)->kind == XECI_DIAG_ERROR)
			out->errors++;
		else
			out->warnings++;
	}
	const xeci_diag *e = xeci_buildlog_first_error(log);
	if (e)
		out->first_error = xeci_diag_format(e);
	else
		out->first_error = make_stop_line(text);
	free(text);
	xeci_buildlog_free(log);
	return 0;
}

void xeci_build_log_summary_clear(xeci_build_log_summary *s)
{
	free(s->first_error);
	memset(s, 0, sizeof(*s));
}

int xeci_build_warnings_base_update(const char *map_path, const char *out_dir, const char *src_root)
{
	xeci_buildlog_base *base = NULL;
	xeci_buildlog *log = NULL;
	int rc = xeci_buildlog_base_load(&base, map_path);
	if (rc == 0)
		rc = log_read(&log, out_dir, src_root);
	if (rc == 0)
		rc = xeci_buildlog_base_update(base, log);
	if (rc == 0)
		rc = xeci_buildlog_base_save(base, map_path);
	xeci_buildlog_free(log);
	xeci_buildlog_base_free(base);
	return rc;
}

int xeci_build_warnings_new(int64_t *count, char **text, const char *map_path, const char *out_dir,
			    const char *src_root)
{
	xeci_buildlog_base *base = NULL;
	xeci_buildlog *log = NULL;
	xeci_diag_list list = {0};
	*count = 0;
	*text = NULL;
	int rc = xeci_buildlog_base_load(&base, map_path);
	if (rc == 0)
		rc = log_read(&log, out_dir, src_root);
	if (rc == 0)
		rc = xeci_buildlog_new_warnings(&list, base, log);
	if (rc == 0 && list.count) {
		xeci_buf b = XECI_BUF_INIT;
		for (size_t i = 0; i < list.count; i++) {
			char *s = xeci_diag_format(list.items[i]);
			xeci_buf_printf(&b, "%s\n", s);
			free(s);
		}
		*text = xeci_buf_detach(&b);
		*count = (int64_t)list.count;
	}
	xeci_diag_list_clear(&list);
	xeci_buildlog_free(log);
	xeci_buildlog_base_free(base);
	return rc;
}

/* ---- checkpatch ---------------------------------------------------------------- */

int xeci_build_checkpatch_scripts(git_repository *repo, const git_oid *base, const char *dir)
{
	static const char *const files[] = {"checkpatch.pl", "spelling.txt", "const_structs.checkpatch"};
	git_commit *c = NULL;
	git_tree *tree = NULL;
	int rc = 0;
	if (xeci_mkdir_p(dir, 0755) < 0)
		return xeci_error_setc(XECI_EIO, "%s: %s", dir, strerror(errno));
	if (git_commit_lookup(&c, repo, base) < 0 || git_commit_tree(&tree, c) < 0) {
		git_commit_free(c);
		return xeci_error_setc(XECI_EIO, "checkpatch: base commit not readable");
	}
	for (size_t i = 0; rc == 0 && i < sizeof(files) / sizeof(files[0]); i++) {
		char rel[64], path[4096];
		git_tree_entry *e = NULL;
		git_blob *blob = NULL;
		snprintf(rel, sizeof(rel), "scripts/%s", files[i]);
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (git_tree_entry_bypath(&e, tree, rel) < 0 ||
		    git_blob_lookup(&blob, repo, git_tree_entry_id(e)) < 0) {
			/* only checkpatch.pl itself is required */
			if (i == 0)
				rc = xeci_error_setc(XECI_ENOTFOUND, "the base has no %s", rel);
		} else {
			rc = xeci_file_write_atomic(path, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
		}
		git_blob_free(blob);
		git_tree_entry_free(e);
	}
	git_tree_free(tree);
	git_commit_free(c);
	return rc;
}

/* Runs argv with stdout and stderr into *text (at most max bytes kept);
 * *status is the wait status. Blocking. */
static int run_capture(char **text, int *status, char *const argv[], size_t max)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return xeci_error_setc(XECI_EIO, "pipe: %s", strerror(errno));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	pid_t pid;
	int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (err) {
		close(fds[0]);
		return xeci_error_setc(XECI_EIO, "%s: %s", argv[0], strerror(err));
	}
	xeci_buf b = XECI_BUF_INIT;
	char buf[8192];
	ssize_t n;
	while ((n = read(fds[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && b.len < max)
			xeci_buf_put(&b, buf, (size_t)n < max - b.len ? (size_t)n : max - b.len);
	close(fds[0]);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	*text = b.ptr ? xeci_buf_detach(&b) : xeci_strdup("");
	return 0;
}

int xeci_build_checkpatch_run(xeci_checkpatch_result *out, char **text, const char *scripts_dir,
			      const char *patch_path)
{
	char script[4096];
	snprintf(script, sizeof(script), "%s/checkpatch.sh", xeci_build_kernel_dir());
	char *argv[] = {"bash", script, "--scripts", (char *)scripts_dir, "--patch", (char *)patch_path, NULL};
	int status = 0;
	memset(out, 0, sizeof(*out));
	if (run_capture(text, &status, argv, CHECKPATCH_TEXT_MAX) < 0)
		return XECI_EIO;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 124)
		return xeci_error_setc(XECI_ERROR, "checkpatch timed out");
	if (xeci_checkpatch_parse(out, *text, strlen(*text)) < 0)
		return xeci_error_setc(XECI_ERROR, "checkpatch did not finish (exit status %d)",
				       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
