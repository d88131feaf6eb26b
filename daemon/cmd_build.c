/* `xeci build --repo GITDIR --rev REV --config NAME --out DIR`: one sandboxed
 * kernel build as the daemon runs it (checkout into the work dir, then
 * kernel/build.sh under bubblewrap), with progress on the terminal and a
 * JSON summary at the end. Exit 0 when it built, 1 when not, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "build.h"
#include "build_checks.h"
#include "cli.h"
#include "config.h"
#include "error.h"
#include "util.h"

static const char usage_text[] =
	"usage: xeci build --repo GITDIR --rev REV --config NAME --out DIR\n"
	"                  [--work DIR] [--jobs N] [--timeout SECONDS] [--log-max BYTES]\n"
	"  NAME is a config of kernel/configs/ (qemu-kunit, xe-hw); the checkout and\n"
	"  kbuild dir live in the work dir (default: [build] workDir) and are reused.\n";

typedef struct cli_build {
	bool tty;
	int64_t progress;
	char *status;
	bool printed_progress;
} cli_build;

static void on_event(xeci_build_run *run, xeci_build_event ev, const char *text, int64_t n, void *data)
{
	(void)run;
	cli_build *b = data;
	switch (ev) {
	case XECI_BUILD_STEP:
		if (b->printed_progress)
			fputc('\n', stderr);
		b->printed_progress = false;
		fprintf(stderr, "xeci: build: %s\n", text);
		break;
	case XECI_BUILD_PROGRESS:
		b->progress = n;
		if (b->tty) {
			fprintf(stderr, "\r  %lld files compiled", (long long)n);
			b->printed_progress = true;
		}
		break;
	case XECI_BUILD_NOTE:
		if (b->printed_progress)
			fputc('\n', stderr);
		b->printed_progress = false;
		fprintf(stderr, "xeci: build: %s\n", text);
		break;
	case XECI_BUILD_DONE:
		if (b->printed_progress)
			fputc('\n', stderr);
		b->status = xeci_strdup(text);
		break;
	}
}

/* The tree's name in the work dir: the repository's base name without .git. */
static char *tree_name(const char *repo)
{
	char *copy = xeci_strdup(repo);
	size_t len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	const char *base = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
	char *name = xeci_strdup(base);
	free(copy);
	len = strlen(name);
	if (len > 4 && !strcmp(name + len - 4, ".git"))
		name[len - 4] = '\0';
	if (!*name || name[0] == '.') {
		free(name);
		name = xeci_strdup("tree");
	}
	return name;
}

static int checkout(char **commit_hex, const char *repo_path, const char *rev, const char *src,
		    const char *index)
{
	git_repository *repo = NULL;
	git_object *obj = NULL;
	int rc = XECI_ERROR;
	if (git_repository_open_ext(&repo, repo_path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0 ||
	    git_revparse_single(&obj, repo, rev) < 0) {
		const git_error *e = git_error_last();
		xeci_error_set("%s: %s", obj ? repo_path : rev, e && e->message ? e->message : "not found");
		goto out;
	}
	git_object *commit = NULL;
	if (git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) < 0) {
		xeci_error_set("%s: not a commit", rev);
		goto out;
	}
	char hex[GIT_OID_HEXSZ + 1];
	git_oid_tostr(hex, sizeof(hex), git_object_id(commit));
	fprintf(stderr, "xeci: build: checkout %s into %s\n", hex, src);
	rc = xeci_build_checkout(repo, git_object_id(commit), src, index);
	git_object_free(commit);
	if (rc == 0)
		*commit_hex = xeci_strdup(hex);
out:
	git_object_free(obj);
	git_repository_free(repo);
	return rc;
}

static json_t *artifacts_json(const xeci_build_artifact *a, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:s}", "name", a[i].name, "path", a[i].path,
						     "size", (json_int_t)a[i].size, "sha256", a[i].sha256));
	return arr;
}

/* Nothing was built: still one JSON object, so a caller parses one shape. */
static int print_error(const char *config)
{
	const char *why = xeci_error_last();
	fprintf(stderr, "xeci: build: %s\n", why);
	json_t *j = json_pack("{s:s, s:s, s:s}", "status", "error", "config", config, "error", why);
	char *s = json_dumps(j, JSON_COMPACT);
	puts(s);
	free(s);
	json_decref(j);
	return XECI_EXIT_FAIL;
}

static int run(const char *repo, const char *rev, const char *config, const char *out, const char *work,
	       int jobs, int64_t timeout, int64_t log_max)
{
	char *cfgpath = xeci_build_config_path(config);
	char *tree = tree_name(repo);
	char *src = xeci_build_src_dir(work, tree), *index = xeci_build_index_path(work, tree);
	char *obj = xeci_build_obj_dir(work, tree, config);
	char *ccache = xeci_build_ccache_dir(work, tree, config);
	char *commit = NULL;
	int ret = XECI_EXIT_FAIL;
	cli_build b = {.tty = isatty(2)};
	uint64_t t0 = xeci_time_ms();
	if (!cfgpath || checkout(&commit, repo, rev, src, index) < 0) {
		ret = print_error(config);
		goto out;
	}
	if (xeci_mkdir_p(out, 0755) < 0) {
		xeci_error_set("%s: cannot create", out);
		ret = print_error(config);
		goto out;
	}
	uv_loop_t loop;
	uv_loop_init(&loop);
	xeci_build_opts o = {.src = src, .obj = obj, .out = out, .config = cfgpath, .jobs = jobs, .timeout = timeout,
			   .log_max = log_max, .ccache = ccache};
	xeci_build_run *r;
	if (xeci_build_run_start(&r, &loop, &o, on_event, &b) < 0) {
		ret = print_error(config);
		uv_loop_close(&loop);
		goto out;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	xeci_build_run_free(r);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);

	xeci_build_artifact *a = NULL;
	size_t na = 0;
	xeci_build_artifacts(&a, &na, out);
	xeci_build_log_summary sum;
	xeci_build_log_summarize(&sum, out, src);
	json_t *j = json_object();
	json_object_set_new(j, "status", json_string(b.status ? b.status : "unknown"));
	json_object_set_new(j, "commit", json_string(commit));
	json_object_set_new(j, "config", json_string(config));
	json_object_set_new(j, "duration_s", json_real((double)(xeci_time_ms() - t0) / 1000.0));
	json_object_set_new(j, "files_compiled", json_integer(sum.compiled));
	json_object_set_new(j, "warnings", json_integer(sum.warnings));
	json_object_set_new(j, "errors", json_integer(sum.errors));
	if (sum.first_error)
		json_object_set_new(j, "error", json_string(sum.first_error));
	json_object_set_new(j, "out", json_string(out));
	json_object_set_new(j, "log", json_sprintf("%s/build.log", out));
	json_object_set_new(j, "artifacts", artifacts_json(a, na));
	char *s = json_dumps(j, JSON_COMPACT);
	puts(s);
	free(s);
	json_decref(j);
	xeci_build_log_summary_clear(&sum);
	xeci_build_artifacts_free(a, na);
	ret = xeci_build_status_ok(b.status) ? XECI_EXIT_OK : XECI_EXIT_FAIL;
out:
	free(b.status);
	free(commit);
	free(cfgpath);
	free(tree);
	free(src);
	free(index);
	free(obj);
	free(ccache);
	return ret;
}

int xeci_cmd_build(int argc, char **argv)
{
	const char *repo = NULL, *rev = NULL, *config = NULL, *out = NULL, *work = NULL, *jobs = NULL,
		   *timeout = NULL, *log_max = NULL;
	for (int i = 1; i < argc; i++) {
		const char **slot = !strcmp(argv[i], "--repo")	    ? &repo
				    : !strcmp(argv[i], "--rev")	    ? &rev
				    : !strcmp(argv[i], "--config")  ? &config
				    : !strcmp(argv[i], "--out")	    ? &out
				    : !strcmp(argv[i], "--work")    ? &work
				    : !strcmp(argv[i], "--jobs")    ? &jobs
				    : !strcmp(argv[i], "--timeout") ? &timeout
				    : !strcmp(argv[i], "--log-max") ? &log_max
								    : NULL;
		if (!slot || i + 1 >= argc) {
			fputs(usage_text, stderr);
			return XECI_EXIT_USAGE;
		}
		*slot = argv[++i];
	}
	if (!repo || !rev || !config || !out) {
		fputs(usage_text, stderr);
		return XECI_EXIT_USAGE;
	}
	xeci_config *cfg = NULL;
	if (!work && xeci_cli_config_load(&cfg, NULL, NULL) < 0)
		return XECI_EXIT_USAGE;
	git_libgit2_init();
	int ret = run(repo, rev, config, out, work ? work : cfg->build.work_dir, jobs ? atoi(jobs) : 0,
		      timeout ? atoll(timeout) : 0, log_max ? atoll(log_max) : 0);
	git_libgit2_shutdown();
	xeci_config_free(cfg);
	return ret;
}
