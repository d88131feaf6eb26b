/* xeci.conf: a git-config file read with libgit2's config API.
 *
 *   [database] path = /var/lib/xeci/xeci.db
 *   [data] dir = /var/lib/xeci               (mirrors, logs, artifacts; default:
 *                                              xeci-data beside the database)
 *   [ingest] incompleteWait = 86400          (seconds before an incomplete version is recorded expired)
 *            maxMessageSize = 33554432
 *   [inbox "intel-xe"]
 *           url = https://lore.kernel.org/intel-xe
 *           transport = git | atom
 *           pollInterval = 300
 *           filter = path:drivers/gpu/drm/xe/   (repeatable; also prefix:drm-xe-next)
 *
 * Every key has an embedded default, so an empty or missing file works. */
#ifndef XECI_CONFIG_H
#define XECI_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "series.h"

typedef struct xeci_config_inbox {
	char *name;
	char *url;
	char *transport;       /* "git" or "atom" */
	int64_t poll_interval; /* seconds */
	xeci_series_filter filter;
} xeci_config_inbox;

typedef struct xeci_config {
	char *path;            /* the file read; NULL for defaults only */
	char *db_path;
	char *data_dir;
	int64_t incomplete_wait;
	size_t max_message_size;
	xeci_config_inbox *inboxes;
	size_t ninboxes;
} xeci_config;

/* Reads path (NULL: $XECI_CONFIG, else embedded defaults only). db_path,
 * when not NULL, overrides [database] path (--db, $XECI_DB) before the
 * defaults that depend on it are derived. */
int xeci_config_load(xeci_config **out, const char *path);
int xeci_config_load_db(xeci_config **out, const char *path, const char *db_path);
void xeci_config_free(xeci_config *cfg);
const xeci_config_inbox *xeci_config_inbox_find(const xeci_config *cfg, const char *name);

/* Parses one `filter` value ("path:P" or "prefix:P") into f. */
int xeci_config_filter_add(xeci_series_filter *f, const char *value);
void xeci_series_filter_clear(xeci_series_filter *f);

#endif
