#include "config.h"

#include <errno.h>
#include <git2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "util.h"

#define DEFAULT_POLL_INTERVAL 300
#define DEFAULT_INCOMPLETE_WAIT (24 * 3600)
#define DEFAULT_FETCH_INTERVAL 3600

static void strv_push(char ***v, size_t *n, const char *s)
{
	*v = xeci_realloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = xeci_strdup(s);
}

int xeci_config_filter_add(xeci_series_filter *f, const char *value)
{
	if (xeci_str_startswith(value, "path:") && value[5])
		strv_push(&f->paths, &f->npaths, value + 5);
	else if (xeci_str_startswith(value, "prefix:") && value[7])
		strv_push(&f->prefixes, &f->nprefixes, value + 7);
	else
		return xeci_error_setc(XECI_EINVALID, "filter '%s': expected path:P or prefix:P", value);
	return 0;
}

void xeci_series_filter_clear(xeci_series_filter *f)
{
	for (size_t i = 0; i < f->npaths; i++)
		free(f->paths[i]);
	for (size_t i = 0; i < f->nprefixes; i++)
		free(f->prefixes[i]);
	free(f->paths);
	free(f->prefixes);
	memset(f, 0, sizeof(*f));
}

static xeci_config_inbox *inbox_get(xeci_config *cfg, const char *name, size_t namelen)
{
	for (size_t i = 0; i < cfg->ninboxes; i++)
		if (strlen(cfg->inboxes[i].name) == namelen && !memcmp(cfg->inboxes[i].name, name, namelen))
			return &cfg->inboxes[i];
	cfg->inboxes = xeci_realloc(cfg->inboxes, (cfg->ninboxes + 1) * sizeof(*cfg->inboxes));
	xeci_config_inbox *ib = &cfg->inboxes[cfg->ninboxes++];
	memset(ib, 0, sizeof(*ib));
	ib->name = xeci_strndup(name, namelen);
	ib->poll_interval = DEFAULT_POLL_INTERVAL;
	return ib;
}

static int parse_int(int64_t *out, const char *key, const char *value)
{
	int64_t v;
	if (git_config_parse_int64(&v, value) < 0 || v < 0)
		return xeci_error_setc(XECI_EINVALID, "%s = '%s': not a non-negative number", key, value);
	*out = v;
	return 0;
}

/* One `inbox.NAME.KEY = value` entry. libgit2 lower-cases section and key
 * names and keeps the subsection (NAME) as written. */
static int apply_inbox(xeci_config *cfg, const char *name, const char *value)
{
	const char *sub = name + strlen("inbox.");
	const char *dot = strrchr(sub, '.');
	if (!dot || dot == sub)
		return xeci_error_setc(XECI_EINVALID, "%s: expected inbox.NAME.KEY", name);
	xeci_config_inbox *ib = inbox_get(cfg, sub, (size_t)(dot - sub));
	const char *key = dot + 1;
	if (!strcmp(key, "url")) {
		free(ib->url);
		ib->url = xeci_strdup(value);
	} else if (!strcmp(key, "transport")) {
		if (strcmp(value, "git") && strcmp(value, "atom"))
			return xeci_error_setc(XECI_EINVALID, "%s = '%s': expected git or atom", name, value);
		free(ib->transport);
		ib->transport = xeci_strdup(value);
	} else if (!strcmp(key, "pollinterval")) {
		return parse_int(&ib->poll_interval, name, value);
	} else if (!strcmp(key, "filter")) {
		return xeci_config_filter_add(&ib->filter, value);
	} else if (!strcmp(key, "tree")) {
		free(ib->tree);
		ib->tree = xeci_strdup(value);
	}
	/* unknown keys are left for later stages (and for forward compatibility) */
	return 0;
}

static xeci_config_tree *tree_get(xeci_config *cfg, const char *name, size_t namelen)
{
	for (size_t i = 0; i < cfg->ntrees; i++)
		if (strlen(cfg->trees[i].name) == namelen && !memcmp(cfg->trees[i].name, name, namelen))
			return &cfg->trees[i];
	cfg->trees = xeci_realloc(cfg->trees, (cfg->ntrees + 1) * sizeof(*cfg->trees));
	xeci_config_tree *t = &cfg->trees[cfg->ntrees++];
	memset(t, 0, sizeof(*t));
	t->name = xeci_strndup(name, namelen);
	t->fetch_interval = DEFAULT_FETCH_INTERVAL;
	return t;
}

/* One `tree.NAME.KEY = value` entry. */
static int apply_tree(xeci_config *cfg, const char *name, const char *value)
{
	const char *sub = name + strlen("tree.");
	const char *dot = strrchr(sub, '.');
	if (!dot || dot == sub)
		return xeci_error_setc(XECI_EINVALID, "%s: expected tree.NAME.KEY", name);
	xeci_config_tree *t = tree_get(cfg, sub, (size_t)(dot - sub));
	const char *key = dot + 1;
	if (!strcmp(key, "url")) {
		free(t->url);
		t->url = xeci_strdup(value);
	} else if (!strcmp(key, "branch")) {
		if (!*value)
			return xeci_error_setc(XECI_EINVALID, "%s: empty branch", name);
		free(t->branch);
		t->branch = xeci_strdup(value);
	} else if (!strcmp(key, "fetchinterval")) {
		int64_t v = 0;
		/* 0 would make the daemon fetch in a tight loop */
		if (git_config_parse_int64(&v, value) < 0 || v <= 0)
			return xeci_error_setc(XECI_EINVALID, "%s = '%s': expected a positive number of seconds",
					       name, value);
		t->fetch_interval = v;
	} else if (!strcmp(key, "prefix")) {
		if (!*value)
			return xeci_error_setc(XECI_EINVALID, "%s: empty prefix", name);
		strv_push(&t->prefixes, &t->nprefixes, value);
	} else if (!strcmp(key, "config")) {
		if (!*value || strchr(value, '/'))
			return xeci_error_setc(XECI_EINVALID, "%s = '%s': a name from kernel/configs/", name, value);
		strv_push(&t->configs, &t->nconfigs, value);
	}
	return 0;
}

static int parse_bool(int *out, const char *name, const char *value)
{
	if (git_config_parse_bool(out, value) < 0)
		return xeci_error_setc(XECI_EINVALID, "%s = '%s': expected true or false", name, value);
	return 0;
}

/* Each space-separated word of value onto v. */
static void strv_push_words(char ***v, size_t *n, const char *value)
{
	const char *p = value;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		const char *start = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (p > start) {
			char *w = xeci_strndup(start, (size_t)(p - start));
			strv_push(v, n, w);
			free(w);
		}
	}
}

static xeci_config_testplan *testplan_get(xeci_config *cfg, const char *name, size_t namelen)
{
	for (size_t i = 0; i < cfg->ntestplans; i++)
		if (strlen(cfg->testplans[i].name) == namelen && !memcmp(cfg->testplans[i].name, name, namelen))
			return &cfg->testplans[i];
	cfg->testplans = xeci_realloc(cfg->testplans, (cfg->ntestplans + 1) * sizeof(*cfg->testplans));
	xeci_config_testplan *t = &cfg->testplans[cfg->ntestplans++];
	memset(t, 0, sizeof(*t));
	t->name = xeci_strndup(name, namelen);
	t->shards = 1;
	return t;
}

/* One `testplan.NAME.KEY = value` entry. */
static int apply_testplan(xeci_config *cfg, const char *name, const char *value)
{
	const char *sub = name + strlen("testplan.");
	const char *dot = strrchr(sub, '.');
	if (!dot || dot == sub)
		return xeci_error_setc(XECI_EINVALID, "%s: expected testplan.NAME.KEY", name);
	xeci_config_testplan *t = testplan_get(cfg, sub, (size_t)(dot - sub));
	const char *key = dot + 1;
	if (!strcmp(key, "suites")) {
		size_t before = t->nsuites;
		strv_push_words(&t->suites, &t->nsuites, value);
		for (size_t i = before; i < t->nsuites; i++)
			if (!strchr(t->suites[i], ':'))
				return xeci_error_setc(XECI_EINVALID, "%s: '%s': expected KIND:WHAT (igt:LIST, "
						       "kunit:SUITE, ktap:PROGRAM)", name, t->suites[i]);
	} else if (!strcmp(key, "platforms")) {
		strv_push_words(&t->platforms, &t->nplatforms, value);
	} else if (!strcmp(key, "capabilities")) {
		strv_push_words(&t->capabilities, &t->ncapabilities, value);
	} else if (!strcmp(key, "shards")) {
		int64_t v = 0;
		if (parse_int(&v, name, value) < 0 || v < 1 || v > 64)
			return xeci_error_setc(XECI_EINVALID, "%s = '%s': expected 1 to 64", name, value);
		t->shards = (int)v;
	}
	return 0;
}

/* One `build.KEY = value` entry. */
static int apply_build(xeci_config *cfg, const char *name, const char *value)
{
	xeci_config_build *b = &cfg->build;
	const char *key = name + strlen("build.");
	int64_t v = 0;
	if (!strcmp(key, "jobs") || !strcmp(key, "makejobs")) {
		if (parse_int(&v, name, value) < 0 || v < 0 || v > 1024 || (v == 0 && key[0] == 'j'))
			return xeci_error_setc(XECI_EINVALID, "%s = '%s': expected a number of jobs", name, value);
		*(key[0] == 'j' ? &b->jobs : &b->make_jobs) = (int)v;
	} else if (!strcmp(key, "config")) {
		if (!*value || strchr(value, '/'))
			return xeci_error_setc(XECI_EINVALID, "%s = '%s': a name from kernel/configs/", name, value);
		strv_push(&b->configs, &b->nconfigs, value);
	} else if (!strcmp(key, "workdir")) {
		free(b->work_dir);
		b->work_dir = xeci_strdup(value);
	} else if (!strcmp(key, "timeout") || !strcmp(key, "logmax")) {
		if (parse_int(&v, name, value) < 0 || v <= 0)
			return xeci_error_setc(XECI_EINVALID, "%s = '%s': expected a positive number", name, value);
		*(key[0] == 't' ? &b->timeout : &b->log_max) = v;
	} else if (!strcmp(key, "checkpatch")) {
		return parse_bool(&b->checkpatch, name, value);
	} else if (!strcmp(key, "perpatch")) {
		return parse_bool(&b->per_patch, name, value);
	}
	return 0;
}

static int apply_entry(xeci_config *cfg, const char *n, const char *value)
{
	const char *v = value ? value : "";
	if (!strcmp(n, "database.path")) {
		free(cfg->db_path);
		cfg->db_path = xeci_strdup(v);
	} else if (!strcmp(n, "data.dir")) {
		free(cfg->data_dir);
		cfg->data_dir = xeci_strdup(v);
	} else if (!strcmp(n, "ingest.incompletewait")) {
		return parse_int(&cfg->incomplete_wait, n, v);
	} else if (!strcmp(n, "ingest.maxmessagesize")) {
		int64_t s = 0;
		if (parse_int(&s, n, v) < 0)
			return XECI_EINVALID;
		cfg->max_message_size = (size_t)s;
	} else if (xeci_str_startswith(n, "inbox.")) {
		return apply_inbox(cfg, n, v);
	} else if (xeci_str_startswith(n, "tree.")) {
		return apply_tree(cfg, n, v);
	} else if (xeci_str_startswith(n, "build.")) {
		return apply_build(cfg, n, v);
	} else if (xeci_str_startswith(n, "testplan.")) {
		return apply_testplan(cfg, n, v);
	} else if (!strcmp(n, "dispatch.leaseseconds") || !strcmp(n, "dispatch.maxattempts")) {
		int64_t x = 0;
		if (parse_int(&x, n, v) < 0 || x < 1 || x > 86400)
			return xeci_error_setc(XECI_EINVALID, "%s = '%s': expected a positive number", n, v);
		if (n[9] == 'l')
			cfg->lease_ms = x * 1000;
		else
			cfg->max_attempts = (int)x;
	} else if (!strcmp(n, "http.listen")) {
		char *host = NULL;
		int port;
		free(cfg->http_listen);
		cfg->http_listen = NULL;
		if (!strcmp(v, "off"))
			return 0;
		if (xeci_config_listen_parse(&host, &port, v) < 0)
			return XECI_EINVALID;
		free(host);
		cfg->http_listen = xeci_strdup(v);
	}
	return 0;
}

static int apply_error(int rc, const char *path)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "%s", xeci_error_last());
	return xeci_error_setc(rc, "%s: %s", path, msg);
}

/* The file through libgit2's config API (includes, quoting, every syntax git
 * accepts). The git_config_parse_* calls of apply_entry need it initialised. */
static int read_file(xeci_config *cfg, const char *path)
{
	git_config *gc = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *e;
	int rc = 0;

	/* libgit2 opens a missing file as an empty one: a named file must exist */
	if (access(path, R_OK) < 0)
		return xeci_error_setc(XECI_EINVALID, "%s: %s", path, strerror(errno));
	git_libgit2_init();
	if (git_config_open_ondisk(&gc, path) < 0) {
		const git_error *ge = git_error_last();
		rc = xeci_error_setc(XECI_EINVALID, "%s: %s", path, ge ? ge->message : "cannot read");
		goto out;
	}
	if (git_config_iterator_new(&it, gc) < 0) {
		rc = xeci_error_setc(XECI_EIO, "%s: cannot iterate", path);
		goto out;
	}
	while (git_config_next(&e, it) == 0) {
		if ((rc = apply_entry(cfg, e->name, e->value)) < 0) {
			rc = apply_error(rc, path);
			break;
		}
	}
out:
	git_config_iterator_free(it);
	git_config_free(gc);
	git_libgit2_shutdown();
	return rc;
}

/* The tree name becomes a directory under DATA/trees: keep it one plain
 * path component. */
static bool tree_name_ok(const char *name)
{
	return *name && name[0] != '.' && !strchr(name, '/');
}

static int check_trees(xeci_config *cfg, const char *where)
{
	for (size_t i = 0; i < cfg->ntrees; i++) {
		xeci_config_tree *t = &cfg->trees[i];
		if (!tree_name_ok(t->name))
			return xeci_error_setc(XECI_EINVALID, "%s: tree \"%s\": a name must be one path "
					       "component not starting with '.'", where, t->name);
		if (!t->url || !*t->url)
			return xeci_error_setc(XECI_EINVALID, "%s: tree \"%s\" has no url", where, t->name);
		if (!t->branch)
			t->branch = xeci_strdup("master");
	}
	return 0;
}

/* Required keys, defaults that depend on other keys, and references. */
static int check(xeci_config *cfg, const char *where)
{
	int rc = check_trees(cfg, where);
	for (size_t i = 0; rc == 0 && i < cfg->ntestplans; i++) {
		const xeci_config_testplan *t = &cfg->testplans[i];
		if (!t->nsuites || !t->nplatforms)
			return xeci_error_setc(XECI_EINVALID, "%s: testplan \"%s\" needs suites and platforms",
					       where, t->name);
	}
	for (size_t i = 0; rc == 0 && i < cfg->ninboxes; i++) {
		xeci_config_inbox *ib = &cfg->inboxes[i];
		if (!ib->url)
			return xeci_error_setc(XECI_EINVALID, "%s: inbox \"%s\" has no url", where, ib->name);
		if (ib->tree && !xeci_config_tree_find(cfg, ib->tree))
			return xeci_error_setc(XECI_EINVALID, "%s: inbox \"%s\": unknown tree \"%s\"",
					       where, ib->name, ib->tree);
		if (!ib->transport)
			ib->transport = xeci_strdup("git");
	}
	return rc;
}

int xeci_config_load(xeci_config **out, const char *path)
{
	return xeci_config_load_db(out, path, NULL);
}

int xeci_config_load_db(xeci_config **out, const char *path, const char *db_path)
{
	xeci_config *cfg = xeci_calloc(1, sizeof(*cfg));
	cfg->incomplete_wait = DEFAULT_INCOMPLETE_WAIT;
	cfg->build.jobs = 1;
	cfg->build.timeout = 7200;
	cfg->build.log_max = 64 << 20;
	cfg->build.checkpatch = 1;
	cfg->http_listen = xeci_strdup("127.0.0.1:8080");
	cfg->lease_ms = 300 * 1000;
	cfg->max_attempts = 3;
	if (!path)
		path = getenv("XECI_CONFIG");
	if (path) {
		cfg->path = xeci_strdup(path);
		int rc = read_file(cfg, path);
		if (rc < 0) {
			xeci_config_free(cfg);
			return rc;
		}
	}
	if (db_path) {
		free(cfg->db_path);
		cfg->db_path = xeci_strdup(db_path);
	}
	if (!cfg->db_path)
		cfg->db_path = xeci_strdup("xeci.db");
	if (!cfg->data_dir) {
		/* beside the database, so a one-shot `--db /tmp/x.db` keeps its
		 * mirrors there and not in the working directory */
		const char *slash = strrchr(cfg->db_path, '/');
		xeci_buf b = XECI_BUF_INIT;
		if (slash)
			xeci_buf_put(&b, cfg->db_path, (size_t)(slash - cfg->db_path + 1));
		xeci_buf_puts(&b, "xeci-data");
		cfg->data_dir = xeci_buf_detach(&b);
	}
	if (!cfg->build.work_dir) {
		xeci_buf b = XECI_BUF_INIT;
		xeci_buf_printf(&b, "%s/work", cfg->data_dir);
		cfg->build.work_dir = xeci_buf_detach(&b);
	}
	if (!cfg->build.nconfigs)
		strv_push(&cfg->build.configs, &cfg->build.nconfigs, "qemu-kunit");
	int rc = check(cfg, path ? path : "config");
	if (rc < 0) {
		xeci_config_free(cfg);
		return rc;
	}
	*out = cfg;
	return 0;
}

int xeci_config_listen_parse(char **host, int *port, const char *listen)
{
	const char *colon = strrchr(listen, ':');
	const char *p = colon ? colon + 1 : listen;
	char *end;
	long v = strtol(p, &end, 10);
	if (!*p || *end || v < 0 || v > 65535)
		return xeci_error_setc(XECI_EINVALID, "http.listen = '%s': expected HOST:PORT", listen);
	if (!colon || colon == listen) {
		*host = xeci_strdup("127.0.0.1");
	} else if (listen[0] == '[' && colon[-1] == ']') {
		*host = xeci_strndup(listen + 1, (size_t)(colon - listen - 2));
	} else {
		*host = xeci_strndup(listen, (size_t)(colon - listen));
	}
	*port = (int)v;
	return 0;
}

const xeci_config_inbox *xeci_config_inbox_find(const xeci_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->ninboxes; i++)
		if (!strcmp(cfg->inboxes[i].name, name))
			return &cfg->inboxes[i];
	return NULL;
}

const xeci_config_tree *xeci_config_tree_find(const xeci_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->ntrees; i++)
		if (!strcmp(cfg->trees[i].name, name))
			return &cfg->trees[i];
	return NULL;
}

static bool tree_has_prefix(const xeci_config_tree *t, char *const *prefixes, size_t nprefixes)
{
	for (size_t i = 0; i < nprefixes; i++)
		for (size_t k = 0; k < t->nprefixes; k++)
			if (!strcasecmp(prefixes[i], t->prefixes[k]))
				return true;
	return false;
}

const xeci_config_tree *xeci_config_tree_for(const xeci_config *cfg, const char *inbox_name,
					     char *const *prefixes, size_t nprefixes)
{
	for (size_t i = 0; i < cfg->ntrees; i++)
		if (tree_has_prefix(&cfg->trees[i], prefixes, nprefixes))
			return &cfg->trees[i];
	const xeci_config_inbox *ib = inbox_name ? xeci_config_inbox_find(cfg, inbox_name) : NULL;
	return ib && ib->tree ? xeci_config_tree_find(cfg, ib->tree) : NULL;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void tree_clear(xeci_config_tree *t)
{
	strv_free(t->prefixes, t->nprefixes);
	strv_free(t->configs, t->nconfigs);
	free(t->name);
	free(t->url);
	free(t->branch);
}

void xeci_config_free(xeci_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->ninboxes; i++) {
		free(cfg->inboxes[i].name);
		free(cfg->inboxes[i].url);
		free(cfg->inboxes[i].transport);
		free(cfg->inboxes[i].tree);
		xeci_series_filter_clear(&cfg->inboxes[i].filter);
	}
	free(cfg->inboxes);
	for (size_t i = 0; i < cfg->ntrees; i++)
		tree_clear(&cfg->trees[i]);
	free(cfg->trees);
	free(cfg->path);
	free(cfg->db_path);
	free(cfg->data_dir);
	strv_free(cfg->build.configs, cfg->build.nconfigs);
	free(cfg->build.work_dir);
	for (size_t i = 0; i < cfg->ntestplans; i++) {
		xeci_config_testplan *t = &cfg->testplans[i];
		free(t->name);
		strv_free(t->suites, t->nsuites);
		strv_free(t->platforms, t->nplatforms);
		strv_free(t->capabilities, t->ncapabilities);
	}
	free(cfg->testplans);
	free(cfg->http_listen);
	free(cfg);
}
