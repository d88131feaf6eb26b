/* Artifact downloads. See artifacts.h. */
#define _GNU_SOURCE
#include "artifacts.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "errors.h"
#include "log.h"
#include "util.h"

#define NETWORK_TRIES 8   /* transfers of one file that end early */
#define MISMATCH_TRIES 3  /* whole downloads with a wrong sha256 */

int xeci_artifacts_sha256_file(char out[65], const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return xeci_error_setc(XECI_EIO, "%s: %s", path, strerror(errno));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	unsigned char buf[1 << 16];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		EVP_DigestUpdate(ctx, buf, n);
	int rc = ferror(f) ? xeci_error_setc(XECI_EIO, "%s: read error", path) : 0;
	fclose(f);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
	return rc;
}

static int64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static bool sha_ok(const char *path, const char *want)
{
	char got[65];
	return xeci_artifacts_sha256_file(got, path) == 0 && !strcmp(got, want);
}

/* Transfers into part until it has the announced size (resuming after
 * each interrupted transfer). */
static int transfer(xeci_client *c, const xeci_artifact *a, const char *part)
{
	unsigned wait_ms = 1000;
	for (int i = 0; i < NETWORK_TRIES; i++) {
		int64_t have = file_size(part);
		if (have == a->size) /* complete (the agent stopped before the rename): the sha256 decides */
			return 0;
		if (have > a->size) /* more than announced: not the same file */
			unlink(part);
		long status = 0;
		int rc = xeci_client_download(&status, c, a->url, part, 0);
		if (rc == 0 && file_size(part) == a->size)
			return 0;
		if (rc == XECI_EINVALID) /* 416: what we have is not a prefix of it */
			unlink(part);
		else if (rc == 0)
			xeci_error_set("GET %s: %lld of %lld bytes", a->url, (long long)file_size(part),
				       (long long)a->size);
		if (status == 404 || status == 410 || status == 401)
			return XECI_EIO; /* asking again will not help */
		XECI_WARN("artifact %s: %s; resuming in %u s", a->name, xeci_error_last(), wait_ms / 1000);
		if (!xeci_client_sleep(c, wait_ms))
			return xeci_error_setc(XECI_EIO, "artifact %s: stopped", a->name);
		wait_ms = wait_ms * 2 > 30000 ? 30000 : wait_ms * 2;
	}
	return xeci_agent_error_wrap(XECI_EIO, "artifact %s", a->name);
}

static int fetch_one(xeci_client *c, const xeci_artifact *a, const char *dir)
{
	char *path = NULL, *part = NULL;
	int rc = 0;
	if (asprintf(&path, "%s/%s", dir, a->name) < 0 || asprintf(&part, "%s/%s.part", dir, a->name) < 0)
		abort();
	if (file_size(path) == a->size && sha_ok(path, a->sha256))
		goto out; /* a job of the same build fetched it */
	unlink(path);
	for (int i = 0; i < MISMATCH_TRIES; i++) {
		rc = transfer(c, a, part);
		if (rc < 0)
			goto out;
		if (sha_ok(part, a->sha256)) {
			rc = rename(part, path) ? xeci_error_setc(XECI_EIO, "%s: %s", path, strerror(errno)) : 0;
			goto out;
		}
		XECI_WARN("artifact %s: sha256 mismatch (try %d of %d); downloading it again", a->name, i + 1,
			  MISMATCH_TRIES);
		unlink(part);
	}
	rc = xeci_error_setc(XECI_EINVALID, "artifact %s: sha256 mismatch %d times", a->name, MISMATCH_TRIES);
out:
	free(path);
	free(part);
	return rc;
}

int xeci_artifacts_fetch(xeci_client *c, const xeci_job *j, const char *dir)
{
	if (xeci_mkdir_p(dir, 0755) < 0)
		return xeci_agent_error_wrap(XECI_EIO, "%s", dir);
	for (size_t i = 0; i < j->nartifacts; i++) {
		int rc = fetch_one(c, &j->artifacts[i], dir);
		if (rc < 0)
			return rc;
		XECI_DEBUG("artifact %s: ok", j->artifacts[i].name);
	}
	return 0;
}
