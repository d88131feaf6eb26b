/* `xeci apply --repo GITDIR --mbox FILE [--branch BRANCH] [--ref REF]`: the
 * apply stage on files, as the daemon runs it. The mbox is assembled, the
 * version b4 would pick is taken (the newest complete one, else the newest),
 * and one JSON object says whether it applied, on which base, found how, and
 * where it failed. Exit 0 applied, 1 not applied, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "cli.h"
#include "error.h"
#include "mbox.h"
#include "series.h"
#include "util.h"

static const char usage_text[] =
	"usage: xeci apply --repo GITDIR --mbox FILE [--branch BRANCH] [--ref REF] [--mboxrd]\n";

/* As b4 am: complete before incomplete, then the highest version, then the
 * latest posting. Versions without patches are never picked. */
static const xeci_series_version *pick_version(const xeci_series_set *set)
{
	const xeci_series_version *best = NULL;
	for (size_t i = 0; i < xeci_series_set_count(set); i++) {
		const xeci_series_version *v = xeci_series_set_get(set, i);
		if (!v->npatches)
			continue;
		if (!best || v->complete > best->complete ||
		    (v->complete == best->complete &&
		     (v->version > best->version ||
		      (v->version == best->version && v->last_date >= best->last_date))))
			best = v;
	}
	return best;
}

static json_t *result_json(const xeci_apply_result *r, const xeci_series_version *v, const char *ref)
{
	json_t *o = json_object();
	json_object_set_new(o, "applied", json_boolean(r->applied));
	json_object_set_new(o, "base", r->base[0] ? json_string(r->base) : json_null());
	json_object_set_new(o, "base_method", r->base_method ? json_string(xeci_base_method_name(r->base_method))
							      : json_null());
	if (r->base_method == XECI_BASE_BLOBS)
		json_object_set_new(o, "blob_mismatches", json_integer(r->blob_mismatches));
	if (r->applied) {
		json_object_set_new(o, "commit", json_string(r->commit));
		if (ref)
			json_object_set_new(o, "ref", json_string(ref));
	}
	if (v) {
		json_object_set_new(o, "version", json_integer(v->version));
		json_object_set_new(o, "complete", json_boolean(v->complete));
	}
	json_t *patches = json_array();
	for (size_t i = 0; i < r->npatches; i++) {
		json_t *p = json_object();
		json_object_set_new(p, "index", json_integer(r->patches[i].index));
		if (v && i < v->npatches)
			json_object_set_new(p, "subject", json_string(v->patches[i].mail->subject_clean
									  ? v->patches[i].mail->subject_clean : ""));
		json_object_set_new(p, "applied", json_boolean(r->patches[i].applied));
		if (r->patches[i].applied)
			json_object_set_new(p, "commit", json_string(r->patches[i].commit));
		json_array_append_new(patches, p);
	}
	json_object_set_new(o, "patches", patches);
	if (!r->applied) {
		json_object_set_new(o, "failed_index", r->failed_index ? json_integer(r->failed_index) : json_null());
		json_object_set_new(o, "failed_file", r->failed_file ? json_string(r->failed_file) : json_null());
		if (r->failed_hunk)
			json_object_set_new(o, "failed_hunk", json_integer(r->failed_hunk));
		json_object_set_new(o, "error", json_string(r->error ? r->error : "apply failed"));
	}
	return o;
}

static void print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	puts(s);
	free(s);
	json_decref(o);
}

/* Nothing could be tried: still one JSON object, so a caller parses one
 * shape whatever happened. */
static int print_error(const char *what, const char *why)
{
	fprintf(stderr, "xeci: apply: %s: %s\n", what, why);
	json_t *o = json_object();
	char msg[1024];
	snprintf(msg, sizeof(msg), "%s: %s", what, why);
	json_object_set_new(o, "applied", json_false());
	json_object_set_new(o, "base", json_null());
	json_object_set_new(o, "base_method", json_null());
	json_object_set_new(o, "patches", json_array());
	json_object_set_new(o, "failed_index", json_null());
	json_object_set_new(o, "failed_file", json_null());
	json_object_set_new(o, "error", json_string(msg));
	print_json(o);
	return XECI_EXIT_FAIL;
}

/* refs/xeci/series/<12 hex of the posting's key>/v<N>: stable across runs
 * on the same mbox, distinct between series. */
static void default_ref(char *out, size_t size, const xeci_series_version *v)
{
	char hex[65];
	const char *key = v->posting_key ? v->posting_key : (v->subject ? v->subject : "");
	xeci_sha256_hex(hex, key, strlen(key));
	snprintf(out, size, "refs/xeci/series/%.12s/v%d", hex, v->version);
}

static int run(const char *repo_path, const char *mbox, const char *branch, const char *ref,
	       unsigned flags)
{
	xeci_mail **mails = NULL;
	size_t n = 0;
	xeci_series_set *set = NULL;
	git_repository *repo = NULL;
	int ret;
	char refbuf[128];
	if (xeci_cli_read_mails(&mails, &n, mbox, flags) < 0 || xeci_series_assemble(&set, mails, n) < 0) {
		ret = print_error(mbox, xeci_error_last());
		goto out;
	}
	const xeci_series_version *v = pick_version(set);
	if (!v) {
		ret = print_error(mbox, "no patch series found");
		goto out;
	}
	if (git_repository_open_ext(&repo, repo_path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
		const git_error *e = git_error_last();
		ret = print_error(repo_path, e && e->message ? e->message : "not a git repository");
		goto out;
	}
	if (!ref) {
		default_ref(refbuf, sizeof(refbuf), v);
		ref = refbuf;
	}
	xeci_apply_opts opts = {.branch = branch, .ref = ref};
	xeci_apply_result r;
	xeci_apply_version(&r, repo, v, &opts);
	if (!r.applied)
		fprintf(stderr, "xeci: apply failed%s%d%s%s: %s\n", r.failed_index ? " at patch " : "",
			r.failed_index, r.failed_file ? ", file " : "", r.failed_file ? r.failed_file : "",
			r.error ? r.error : "");
	print_json(result_json(&r, v, ref));
	ret = r.applied ? XECI_EXIT_OK : XECI_EXIT_FAIL;
	xeci_apply_result_clear(&r);
out:
	git_repository_free(repo);
	xeci_series_set_free(set);
	for (size_t i = 0; i < n; i++)
		xeci_mail_free(mails[i]);
	free(mails);
	return ret;
}

int xeci_cmd_apply(int argc, char **argv)
{
	const char *repo = NULL, *mbox = NULL, *branch = NULL, *ref = NULL;
	unsigned flags = 0;
	for (int i = 1; i < argc; i++) {
		const char **slot = !strcmp(argv[i], "--repo")     ? &repo
				    : !strcmp(argv[i], "--mbox")   ? &mbox
				    : !strcmp(argv[i], "--branch") ? &branch
				    : !strcmp(argv[i], "--ref")    ? &ref
								   : NULL;
		if (!strcmp(argv[i], "--mboxrd")) {
			flags |= XECI_MBOX_RD;
		} else if (!slot || i + 1 >= argc) {
			fputs(usage_text, stderr);
			return XECI_EXIT_USAGE;
		} else {
			*slot = argv[++i];
		}
	}
	if (!repo || !mbox) {
		fputs(usage_text, stderr);
		return XECI_EXIT_USAGE;
	}
	xeci_mail_global_init();
	git_libgit2_init();
	int ret = run(repo, mbox, branch, ref, flags);
	git_libgit2_shutdown();
	return ret;
}
