#include "msgraw.h"

#include <git2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "util.h"

static pthread_once_t git_once = PTHREAD_ONCE_INIT;

/* libgit2 is initialised once for the process's readers and never shut
 * down: a build reads a version's patches one by one, and an init/shutdown
 * pair per read would set up libgit2's TLS every time. */
static void git_init(void)
{
	git_libgit2_init();
}

/* Reads blob `hex` of the bare repository at path. */
static int read_blob(char **out, size_t *len, const char *path, const char *hex, int64_t rowid)
{
	git_repository *repo = NULL;
	git_blob *blob = NULL;
	git_oid oid;
	int rc = 0;
	pthread_once(&git_once, git_init);
	if (git_oid_fromstr(&oid, hex) < 0 || git_repository_open_bare(&repo, path) < 0 ||
	    git_blob_lookup(&blob, repo, &oid) < 0) {
		const git_error *e = git_error_last();
		rc = xeci_error_setc(XECI_ENOTFOUND, "message %lld: blob %s of %s: %s", (long long)rowid, hex,
				     path, e && e->message ? e->message : "unreadable");
	} else {
		*len = (size_t)git_blob_rawsize(blob);
		*out = xeci_malloc(*len + 1);
		memcpy(*out, git_blob_rawcontent(blob), *len);
		(*out)[*len] = '\0';
	}
	git_blob_free(blob);
	git_repository_free(repo);
	return rc;
}

int xeci_msgraw_get(char **out, size_t *len, xeci_db *db, int64_t message_rowid)
{
	sqlite3_stmt *st;
	*out = NULL;
	*len = 0;
	if (xeci_db_prepare(&st, db, "SELECT r.raw IS NOT NULL, r.raw, r.blob_oid, p.path FROM message_raw r"
				     " LEFT JOIN raw_repos p ON p.id = r.repo_id WHERE r.message_rowid = ?") < 0)
		return XECI_EIO;
	sqlite3_bind_int64(st, 1, message_rowid);
	int s = sqlite3_step(st), rc = 0;
	if (s == SQLITE_ROW && sqlite3_column_int(st, 0)) {
		*len = (size_t)sqlite3_column_bytes(st, 1);
		*out = xeci_malloc(*len + 1);
		if (*len)
			memcpy(*out, sqlite3_column_blob(st, 1), *len);
		(*out)[*len] = '\0';
	} else if (s == SQLITE_ROW && sqlite3_column_type(st, 2) != SQLITE_NULL &&
		   sqlite3_column_type(st, 3) != SQLITE_NULL) {
		char *hex = xeci_db_column_strdup(st, 2), *path = xeci_db_column_strdup(st, 3);
		sqlite3_reset(st);
		rc = read_blob(out, len, path, hex, message_rowid);
		free(hex);
		free(path);
		return rc;
	} else if (s == SQLITE_ROW || s == SQLITE_DONE) {
		rc = xeci_error_setc(XECI_ENOTFOUND, "message %lld: its bytes are not stored",
				     (long long)message_rowid);
	} else {
		rc = xeci_db_error(db, "reading a message's bytes");
	}
	sqlite3_reset(st);
	return rc;
}

int xeci_msgraw_repo_id(int64_t *id, xeci_db *db, const char *path)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "INSERT INTO raw_repos(path) VALUES (?) ON CONFLICT(path) DO UPDATE"
				     " SET path = excluded.path RETURNING id") < 0)
		return XECI_EIO;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return s == SQLITE_ROW ? 0 : xeci_db_error(db, "recording a repository of message bytes");
}
