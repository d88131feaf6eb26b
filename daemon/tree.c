/* Mirrors of kernel trees. A mirror is a bare repository that is fetched
 * into with an anonymous remote: the same path for the first time (into a
 * freshly initialised repository, which is what a bare clone amounts to)
 * and for every later sync, so a first sync that died half-way is simply
 * completed by the next one. */
#include "tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "inbox_int.h"
#include "util.h"

static int git_fail(int code, const xeci_config_tree *t, const char *what, const char *where)
{
	const git_error *e = git_error_last();
	return xeci_error_setc(code, "tree %s: %s %s: %s", t->name, what, where,
			       e && e->message ? e->message : "libgit2 error");
}

char *xeci_tree_mirror_path(const xeci_config_tree *t, const char *data_dir)
{
	xeci_buf b = XECI_BUF_INIT;
	xeci_buf_printf(&b, "%s/trees/%s.git", data_dir, t->name);
	return xeci_buf_detach(&b);
}

static int open_or_init(git_repository **out, const xeci_config_tree *t, const char *path,
			const char *data_dir)
{
	if (git_repository_open_bare(out, path) == 0)
		return 0;
	xeci_buf dir = XECI_BUF_INIT;
	xeci_buf_printf(&dir, "%s/trees", data_dir);
	int rc = xeci_mkdir_p(dir.ptr, 0755);
	if (rc < 0)
		rc = xeci_error_setc(XECI_EIO, "tree %s: cannot create %s", t->name, dir.ptr);
	else if (git_repository_init(out, path, 1) < 0)
		rc = git_fail(XECI_EIO, t, "creating mirror", path);
	xeci_buf_free(&dir);
	return rc;
}

static int fetch(git_repository *repo, const xeci_config_tree *t)
{
	static const char *spec = "+refs/heads/*:refs/heads/*";
	git_strarray specs = {(char **)&spec, 1};
	git_fetch_options fo;
	git_remote_create_options ro;
	git_remote *remote = NULL;
	const char *url = xeci_str_startswith(t->url, "file://") ? t->url + 7 : t->url;
	int rc = 0;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	fo.update_fetchhead = 0;
	/* branches deleted upstream go from the mirror too */
	fo.prune = GIT_FETCH_PRUNE;
	git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ro.repository = repo;
	/* as in inbox_git.c: the insteadOf lookup of libgit2 1.5 leaks */
	ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if (git_remote_create_with_opts(&remote, url, &ro) < 0 ||
	    git_remote_fetch(remote, &specs, &fo, "xeci: tree fetch") < 0)
		rc = git_fail(XECI_EIO, t, "git fetch", t->url);
	git_remote_free(remote);
	return rc;
}

static int branch_ref(git_reference **out, git_repository *repo, const xeci_config_tree *t)
{
	xeci_buf name = XECI_BUF_INIT;
	xeci_buf_printf(&name, "refs/heads/%s", t->branch);
	int rc = 0;
	if (git_reference_lookup(out, repo, name.ptr) < 0)
		rc = xeci_error_setc(XECI_ENOTFOUND, "tree %s: branch '%s' not found at %s", t->name,
				     t->branch, t->url);
	xeci_buf_free(&name);
	return rc;
}

/* HEAD names the configured branch, so that plain `git log` in the mirror
 * shows what is tested. */
static int check_branch(git_repository *repo, const xeci_config_tree *t)
{
	git_reference *ref = NULL;
	int rc = branch_ref(&ref, repo, t);
	if (rc == 0 && git_repository_set_head(repo, git_reference_name(ref)) < 0)
		rc = git_fail(XECI_EIO, t, "setting HEAD in", git_repository_path(repo));
	git_reference_free(ref);
	return rc;
}

int xeci_tree_mirror_sync(const xeci_config_tree *t, const char *data_dir)
{
	git_repository *repo = NULL;
	char *path = xeci_tree_mirror_path(t, data_dir);
	int rc;

	git_libgit2_init();
	/* the timeouts: a stalled server must not hold a pool thread for good */
	xeci_inbox_gitstream_register();
	rc = open_or_init(&repo, t, path, data_dir);
	if (rc == 0)
		rc = fetch(repo, t);
	if (rc == 0)
		rc = check_branch(repo, t);
	git_repository_free(repo);
	git_libgit2_shutdown();
	free(path);
	return rc;
}

int xeci_tree_head(git_oid *out, const xeci_config_tree *t, const char *data_dir)
{
	git_repository *repo = NULL;
	git_reference *ref = NULL, *direct = NULL;
	char *path = xeci_tree_mirror_path(t, data_dir);
	int rc;

	git_libgit2_init();
	if (git_repository_open_bare(&repo, path) < 0) {
		rc = git_fail(XECI_ENOTFOUND, t, "opening mirror", path);
	} else if ((rc = branch_ref(&ref, repo, t)) == 0) {
		if (git_reference_resolve(&direct, ref) < 0)
			rc = git_fail(XECI_EIO, t, "resolving", git_reference_name(ref));
		else
			git_oid_cpy(out, git_reference_target(direct));
	}
	git_reference_free(direct);
	git_reference_free(ref);
	git_repository_free(repo);
	git_libgit2_shutdown();
	free(path);
	return rc;
}
