/* The epochs of a public-inbox v2 inbox (git/N.git): the directories of a
 * local one; for a remote one its manifest.js.gz (grokmirror's, which
 * public-inbox serves), else probing git/0.git, git/1.git, ... */
#include "inbox_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "util.h"

#define MAX_EPOCHS 4096
#define MANIFEST_MAX (64u << 20)

/* Prefixes the thread's last error with `where` (copied first: the text is
 * formatted into the same buffer). */
static int wrap_error(int code, const char *where)
{
	char last[1024];
	snprintf(last, sizeof(last), "%s", xeci_error_last());
	return xeci_error_setc(code, "%s: %s", where, last);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Parses "N.git" into N; -1 when it is not that. */
static int epoch_of_name(const char *s, size_t len)
{
	size_t i = 0;
	long n = 0;

	if (len < 5 || strncmp(s + len - 4, ".git", 4) != 0)
		return -1;
	for (; i < len - 4; i++) {
		if (!isdigit((unsigned char)s[i]) || n > MAX_EPOCHS)
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	return i > 0 ? (int)n : -1;
}

static void epochs_add(int **epochs, size_t *n, int e)
{
	for (size_t i = 0; i < *n; i++)
		if ((*epochs)[i] == e)
			return;
	*epochs = xeci_realloc(*epochs, (*n + 1) * sizeof(int));
	(*epochs)[(*n)++] = e;
}

/* --- epoch discovery ---------------------------------------------------- */

/* Epochs of a local v2 inbox: the N.git directories in DIR/git/. */
static int epochs_local(int **epochs, size_t *n, const char *dir)
{
	xeci_buf path = XECI_BUF_INIT;
	struct dirent *de;
	DIR *d;

	xeci_buf_printf(&path, "%s/git", dir);
	if (!(d = opendir(path.ptr))) {
		int rc = xeci_error_setc(errno == ENOENT ? XECI_ENOTFOUND : XECI_EIO,
					 "%s: not a public-inbox v2 inbox (%s)", path.ptr, strerror(errno));
		xeci_buf_free(&path);
		return rc;
	}
	while ((de = readdir(d)) != NULL) {
		int e = epoch_of_name(de->d_name, strlen(de->d_name));
		if (e >= 0)
			epochs_add(epochs, n, e);
	}
	closedir(d);
	xeci_buf_free(&path);
	return 0;
}

/* Adds the epochs that a grokmirror manifest lists for inbox `name`:
 * keys "/<name>/git/<N>.git" (any prefix before /<name>). */
static int manifest_parse(int **epochs, size_t *n, const char *json, size_t len,
			  const char *name, const char *murl)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, 0, &jerr), *v;
	const char *key;
	size_t nlen = strlen(name);

	if (!root || !json_is_object(root)) {
		json_decref(root);
		return xeci_error_setc(XECI_EINVALID, "%s: not a manifest (%s)", murl,
				       root ? "not a JSON object" : jerr.text);
	}
	json_object_foreach(root, key, v) {
		const char *g = strstr(key, "/git/");
		int e;
		if (!g || (e = epoch_of_name(g + 5, strlen(g + 5))) < 0)
			continue;
		/* the path component before /git/ must be the inbox name */
		if ((size_t)(g - key) < nlen + 1 || strncmp(g - nlen, name, nlen) != 0 || g[-(long)nlen - 1] != '/')
			continue;
		epochs_add(epochs, n, e);
	}
	json_decref(root);
	return 0;
}

/* Tries one manifest URL: 0 with epochs added, XECI_ENOTFOUND when absent. */
static int manifest_try(int **epochs, size_t *n, const char *murl, const char *name)
{
	xeci_http_opts o = XECI_HTTP_OPTS_INIT;
	xeci_http_response r;
	xeci_buf json = XECI_BUF_INIT;
	int rc;

	o.max_size = MANIFEST_MAX;
	rc = xeci_http_get(&r, murl, &o);
	if (rc == 0 && (rc = xeci_gunzip(&json, r.body.ptr, r.body.len, MANIFEST_MAX)) < 0)
		rc = wrap_error(rc, murl);
	if (rc == 0)
		rc = manifest_parse(epochs, n, json.ptr, json.len, name, murl);
	xeci_buf_free(&json);
	xeci_http_response_free(&r);
	return rc;
}

/* Probes base/git/N.git for N = 0, 1, ... until a 404. */
static int epochs_probe(int **epochs, size_t *n, const char *base)
{
	xeci_buf u = XECI_BUF_INIT;
	int rc = 0;

	for (int e = 0; e < MAX_EPOCHS; e++) {
		xeci_http_response r;
		xeci_buf_clear(&u);
		xeci_buf_printf(&u, "%s/git/%d.git/info/refs?service=git-upload-pack", base, e);
		rc = xeci_http_get(&r, u.ptr, NULL);
		xeci_http_response_free(&r);
		if (rc == XECI_ENOTFOUND) {
			if (*n == 0) {
				xeci_buf_clear(&u);
				xeci_buf_printf(&u, "%s: no epoch found (no manifest.js.gz, no git/0.git)", base);
				rc = wrap_error(XECI_ENOTFOUND, u.ptr);
			} else {
				rc = 0;
			}
			break;
		}
		if (rc < 0)
			break;
		epochs_add(epochs, n, e);
	}
	xeci_buf_free(&u);
	return rc;
}

/* Epochs of a remote inbox: from URL/manifest.js.gz, else URL/../manifest.js.gz,
 * else by probing. A broken manifest is logged and probing takes over. */
static int epochs_remote(int **epochs, size_t *n, const char *base)
{
	const char *slash = strrchr(base, '/');
	const char *name = slash ? slash + 1 : base;
	xeci_buf m = XECI_BUF_INIT;
	int rc;

	xeci_buf_printf(&m, "%s/manifest.js.gz", base);
	rc = manifest_try(epochs, n, m.ptr, name);
	if ((rc < 0 || *n == 0) && slash && slash - base > (long)strlen("https://")) {
		xeci_buf_clear(&m);
		xeci_buf_printf(&m, "%.*s/manifest.js.gz", (int)(slash - base), base);
		rc = manifest_try(epochs, n, m.ptr, name);
	}
	if (rc < 0 && rc != XECI_ENOTFOUND)
		XECI_WARN("inbox %s: %s; probing epochs instead", base, xeci_error_last());
	xeci_buf_free(&m);
	return *n ? 0 : epochs_probe(epochs, n, base);
}

int xeci_inbox_git_epochs(int **epochs, size_t *n, const char *base, bool remote)
{
	int rc = remote ? epochs_remote(epochs, n, base) : epochs_local(epochs, n, base);
	if (rc == 0)
		qsort(*epochs, *n, sizeof(int), cmp_int);
	return rc;
}
