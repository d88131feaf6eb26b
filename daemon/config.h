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
 *           tree = drm-xe                       (the inbox's default tree)
 *   [tree "drm-xe"]                           (a kernel tree mirrored under DATA/trees/NAME.git)
 *           url = https://gitlab.freedesktop.org/drm/xe/kernel.git
 *           branch = drm-xe-next                (default: master)
 *           fetchInterval = 3600
 *           prefix = drm-xe-next                (repeatable: series tagged [drm-xe-next ...]
 *                                                go to this tree whatever the inbox)
 *           config = xe-hw                      (repeatable: the tree's builds; default [build] config)
 *   [http] listen = 127.0.0.1:8080            (the API and pages; "off": none)
 *   [dispatch] leaseSeconds = 300             (a lease's life; heartbeats extend it)
 *              maxAttempts = 3                (leases a job gets before "incomplete: machine lost")
 *   [testplan "xe-fault"]                     (what a built kernel is tested with)
 *           suites = igt:kernel/testlists/xe-fault-bat.testlist igt:...   (space-separated, repeatable)
 *           platforms = lnl bmg                 (one job per platform and shard)
 *           shards = 2
 *           capabilities = fault-mode           (what the agent must have)
 *   [build] jobs = 1                          (builds at a time)
 *           makeJobs = 0                      (make -jN per build; 0: the number of CPUs)
 *           config = qemu-kunit               (repeatable: kernel/configs/NAME.config built for each series)
 *           workDir = DATA/work               (source checkouts and kbuild dirs, reused: keep it)
 *           timeout = 7200                    (seconds of wall clock per build)
 *           logMax = 67108864                 (bytes of build log kept)
 *           checkpatch = true                 (scripts/checkpatch.pl --strict on each patch)
 *           perPatch = false                  (also build after each patch: bisectability)
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
	char *tree;            /* default tree name, or NULL */
} xeci_config_inbox;

typedef struct xeci_config_tree {
	char *name;            /* also the mirror's directory name: no '/', no leading '.' */
	char *url;             /* local path, file:// or http(s):// */
	char *branch;
	int64_t fetch_interval; /* seconds, > 0 */
	char **prefixes;       /* subject prefixes routed to this tree */
	size_t nprefixes;
	char **configs;        /* its build configs; none: [build] config */
	size_t nconfigs;
} xeci_config_tree;

typedef struct xeci_config_testplan {
	char *name;
	char **suites;         /* "igt:PATH", "kunit:SUITE", "ktap:PROGRAM" */
	size_t nsuites;
	char **platforms;
	size_t nplatforms;
	char **capabilities;
	size_t ncapabilities;
	int shards;            /* >= 1 */
} xeci_config_testplan;

typedef struct xeci_config_build {
	int jobs;
	int make_jobs;
	char **configs;
	size_t nconfigs;
	char *work_dir;
	int64_t timeout;
	int64_t log_max;
	int checkpatch;        /* bool */
	int per_patch;         /* bool */
} xeci_config_build;

typedef struct xeci_config {
	char *path;            /* the file read; NULL for defaults only */
	char *db_path;
	char *data_dir;
	int64_t incomplete_wait;
	size_t max_message_size;
	xeci_config_inbox *inboxes;
	size_t ninboxes;
	xeci_config_tree *trees;
	size_t ntrees;
	xeci_config_build build;
	xeci_config_testplan *testplans;
	size_t ntestplans;
	char *http_listen;     /* "HOST:PORT", or NULL for no HTTP server */
	int64_t lease_ms;      /* [dispatch] leaseSeconds, in ms */
	int max_attempts;      /* [dispatch] maxAttempts */
} xeci_config;

/* Splits "HOST:PORT" / "[V6]:PORT" / "PORT" (host 127.0.0.1) into host
 * (caller frees) and port. */
int xeci_config_listen_parse(char **host, int *port, const char *listen);

/* Reads path (NULL: $XECI_CONFIG, else embedded defaults only). db_path,
 * when not NULL, overrides [database] path (--db, $XECI_DB) before the
 * defaults that depend on it are derived. */
int xeci_config_load(xeci_config **out, const char *path);
int xeci_config_load_db(xeci_config **out, const char *path, const char *db_path);
void xeci_config_free(xeci_config *cfg);
const xeci_config_inbox *xeci_config_inbox_find(const xeci_config *cfg, const char *name);
const xeci_config_tree *xeci_config_tree_find(const xeci_config *cfg, const char *name);

/* The tree a series is tested on: the first tree (in file order) with a
 * `prefix` among the series' subject prefixes (case-insensitive), else the
 * default tree of inbox_name, else NULL. */
const xeci_config_tree *xeci_config_tree_for(const xeci_config *cfg, const char *inbox_name,
					     char *const *prefixes, size_t nprefixes);

/* Parses one `filter` value ("path:P" or "prefix:P") into f. */
int xeci_config_filter_add(xeci_series_filter *f, const char *value);
void xeci_series_filter_clear(xeci_series_filter *f);

#endif
