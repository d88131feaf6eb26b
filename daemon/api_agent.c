/* The agent protocol handlers. See api_agent.h. */
#define _GNU_SOURCE /* asprintf */
#include "api_agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "build_db.h"
#include "db.h"
#include "dbgroup.h"
#include "error.h"
#include "log.h"
#include "sched_db.h"
#include "util.h"

#define EXCERPT_BYTES 2048
/* Requests a write transaction at most: bounds how long one group holds
 * SQLite's write lock (each request is ~0.1 ms of it). */
#define GROUP_MAX 128

struct xeci_api {
	uv_loop_t *loop;
	const xeci_config *cfg;
	struct call *waiters;     /* parked lease requests */
	xeci_dbgroup *group;      /* the write requests' group commit */
	xeci_db *group_db;        /* the groups' connection (one group at a time uses it) */
	bool stopping;
};

typedef struct call call;
typedef void (*call_fn)(call *c, xeci_db *db);

struct call {
	uv_work_t work;           /* reads (artifacts): a pool thread of their own */
	xeci_dbgroup_item item;   /* writes: a share of a group's transaction */
	xeci_api *api;
	xeci_httpd_req *req;
	call_fn fn;
	char *token;
	char *body;
	size_t body_len;
	int64_t id;               /* the path's job or build id */
	char *name;               /* the path's artifact name */
	char *agent;              /* a lease's agent, for the log once committed */
	char *range;              /* Range header */
	int wait_s;
	/* the answer, made on the pool */
	int status;
	json_t *out;
	char *error;
	char *file;               /* artifact bytes */
	size_t file_len;
	char content_range[96];
	/* long-poll */
	uv_timer_t timer;
	bool parked, timer_open;
	call *next;
};

/* ---- a database connection per pool thread ----------------------------------- */

static __thread xeci_db *tl_db;

/* SQLite's own busy handler sleeps 1, 2, 5, 10 ... 100 ms between tries:
 * a group that finds the lock taken (the tick, the command line) would
 * stay asleep long after it is free. Short polls, the same 10 s in all. */
static int busy_poll(void *ctx, int tries)
{
	(void)ctx;
	if (tries >= 50000)
		return 0;
	usleep(200);
	return 1;
}

static xeci_db *agent_db_open(const char *path)
{
	xeci_db *db;
	if (xeci_db_open(&db, path) < 0)
		return NULL;
	/* No checkpoint inside a group's COMMIT: its fsync would hold every
	 * agent of the group (and the next group) waiting for the disk. The
	 * dispatch tick checkpoints, on its own connection, without blocking
	 * writers (see dispatch.c). */
	if (xeci_db_exec(db, "PRAGMA wal_autocheckpoint = 0") < 0)
		XECI_WARN("agent api: %s", xeci_error_last());
	sqlite3_busy_handler(xeci_db_handle(db), busy_poll, NULL);
	return db;
}

static xeci_db *pool_db(const char *path)
{
	if (!tl_db)
		tl_db = agent_db_open(path);
	return tl_db;
}

/* Every group on one connection, whichever pool thread runs it: in WAL
 * mode a connection that sees another's commit drops its whole page
 * cache, so groups taking turns on the pool threads' connections would
 * each start cold (a pread, a malloc and a 16 KiB copy a page; a third
 * of xecid's time flat out). One group at a time: never used at once. */
static xeci_db *group_db(void *ctx)
{
	xeci_api *api = ctx;
	if (!api->group_db)
		api->group_db = agent_db_open(api->cfg->db_path);
	return api->group_db;
}

/* ---- answering ------------------------------------------------------------------ */

static void call_error(call *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void call_error(call *c, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(c->error);
	if (vasprintf(&c->error, fmt, ap) < 0)
		c->error = NULL;
	va_end(ap);
	c->status = status;
}

/* Maps an xeci error of the database layer to an HTTP status. */
static void call_fail(call *c, int rc)
{
	int status = rc == XECI_ESTALE ? 409 : rc == XECI_ENOTFOUND ? 404 : rc == XECI_EINVALID ? 400 : 500;
	call_error(c, status, "%s", xeci_error_last());
}

static void call_free(call *c)
{
	if (c->req)
		xeci_httpd_req_unref(c->req);
	json_decref(c->out);
	free(c->token);
	free(c->body);
	free(c->name);
	free(c->agent);
	free(c->range);
	free(c->error);
	free(c->file);
	free(c);
}

static void respond(call *c)
{
	xeci_httpd_req *req = c->req;
	if (xeci_httpd_req_cancelled(req))
		return;
	if (c->error) {
		xeci_httpd_respond_error(req, c->status, c->error);
	} else if (c->file) {
		if (c->content_range[0])
			xeci_httpd_add_header(req, "Content-Range", c->content_range);
		xeci_httpd_add_header(req, "Accept-Ranges", "bytes");
		xeci_httpd_respond(req, c->status, "application/octet-stream", c->file, c->file_len);
	} else if (c->out) {
		xeci_httpd_respond_json(req, c->status ? c->status : 200, c->out);
	} else {
		xeci_httpd_respond(req, c->status ? c->status : 204, NULL, NULL, 0);
	}
}

/* ---- the pool side ------------------------------------------------------------ */

static json_t *body_json(call *c)
{
	json_error_t e;
	json_t *j = c->body_len ? json_loadb(c->body, c->body_len, 0, &e) : json_object();
	if (!j || !json_is_object(j)) {
		call_error(c, 400, "the body is not a JSON object%s%s", j ? "" : ": ", j ? "" : e.text);
		json_decref(j);
		return NULL;
	}
	return j;
}

static void work_cb(uv_work_t *w)
{
	call *c = w->data;
	xeci_db *db = pool_db(c->api->cfg->db_path);
	if (!db) {
		call_error(c, 503, "database: %s", xeci_error_last());
		return;
	}
	c->fn(c, db);
}

static void park(call *c);

static void timer_closed(uv_handle_t *h)
{
	call_free(h->data);
}

static void after_cb(uv_work_t *w, int status)
{
	(void)status;
	call *c = w->data;
	/* an empty lease answer waits for a job, up to wait_s */
	if (c->status == 204 && c->wait_s > 0 && !c->api->stopping && !xeci_httpd_req_cancelled(c->req)) {
		park(c);
		return;
	}
	respond(c);
	if (c->timer_open) {
		uv_close((uv_handle_t *)&c->timer, timer_closed);
		return;
	}
	call_free(c);
}

static void do_artifact(call *c, xeci_db *db);

static call *item_call(xeci_dbgroup_item *it)
{
	return (call *)((char *)it - offsetof(call, item));
}

static void item_run(xeci_dbgroup_item *it, xeci_db *db)
{
	call *c = item_call(it);
	c->fn(c, db);
}

/* The group did not commit: whatever the call made (a lease, "stored") was
 * not kept, so it must not be answered: the agent retries. */
static void item_undo(xeci_dbgroup_item *it, int rc)
{
	(void)rc;
	call *c = item_call(it);
	json_decref(c->out);
	c->out = NULL;
	call_error(c, 503, "database: %s", xeci_error_last());
}

static void item_reset(xeci_dbgroup_item *it)
{
	call *c = item_call(it);
	json_decref(c->out);
	c->out = NULL;
	free(c->error);
	c->error = NULL;
	free(c->agent);
	c->agent = NULL;
	c->status = 0;
}

static void item_done(xeci_dbgroup_item *it)
{
	call *c = item_call(it);
	if (c->agent && c->out && !c->error) { /* logged here: committed, and off the write lock */
		json_t *job = json_object_get(c->out, "job");
		XECI_INFO("agent %s: leased job %lld (lease %lld)", c->agent,
			  (long long)json_integer_value(json_object_get(job, "id")),
			  (long long)json_integer_value(json_object_get(job, "lease")));
	}
	after_cb(&c->work, 0);
}

static void run(call *c)
{
	c->work.data = c;
	c->status = 0;
	if (c->fn == do_artifact) { /* a file read: no write lock for it */
		uv_queue_work(c->api->loop, &c->work, work_cb, after_cb);
		return;
	}
	c->item = (xeci_dbgroup_item){.run = item_run, .reset = item_reset, .undo = item_undo, .done = item_done};
	xeci_dbgroup_submit(c->api->group, &c->item);
}

/* The agent of the bearer token, else 401. */
static int auth(call *c, xeci_db *db, xeci_agent *a)
{
	int rc = xeci_agent_db_auth(a, db, c->token);
	if (rc == XECI_ENOTFOUND) {
		call_error(c, 401, "a valid agent token is required (Authorization: Bearer TOKEN)");
		return -1;
	}
	if (rc < 0) { /* a busy database is not the agent's fault: it retries */
		call_error(c, 503, "database busy: %s", xeci_error_last());
		return -1;
	}
	return 0;
}

static void do_register(call *c, xeci_db *db)
{
	xeci_agent a;
	json_t *in = NULL;
	if (auth(c, db, &a) < 0 || !(in = body_json(c)))
		goto out;
	json_t *facts = json_object_get(in, "facts"), *caps = json_object_get(in, "capabilities");
	if ((facts && !json_is_object(facts)) || (caps && !json_is_array(caps))) {
		call_error(c, 400, "facts must be an object and capabilities an array of strings");
		goto out;
	}
	int rc = xeci_agent_db_register(db, a.id, facts, caps);
	if (rc < 0)
		call_fail(c, rc);
	else
		c->out = json_pack("{s:s, s:s, s:s}", "agent", a.name, "platform", a.platform, "state", a.state);
out:
	json_decref(in);
	xeci_agent_clear(&a);
}

static json_t *lease_json(const xeci_lease *l, xeci_db *db)
{
	json_error_t e;
	json_t *job = json_pack("{s:I, s:I, s:I, s:s, s:s, s:i, s:i, s:I}", "id", (json_int_t)l->job_id, "lease",
				(json_int_t)l->lease_id, "deadline_ms", (json_int_t)l->deadline_ms, "testplan",
				l->testplan, "platform", l->platform, "shard", l->shard, "shards", l->shards,
				"build", (json_int_t)l->build_id);
	json_object_set_new(job, "suites", json_loads(l->suites, 0, &e));
	json_t *arts = json_array();
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "SELECT name, size, sha256 FROM build_artifacts WHERE build_id = ? "
				     "ORDER BY name") == 0) {
		sqlite3_bind_int64(st, 1, l->build_id);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(st, 0);
			char url[256];
			snprintf(url, sizeof(url), "/api/v1/builds/%lld/artifacts/%s", (long long)l->build_id, name);
			json_array_append_new(arts, json_pack("{s:s, s:I, s:s, s:s}", "name", name, "size",
							      (json_int_t)sqlite3_column_int64(st, 1), "sha256",
							      sqlite3_column_text(st, 2), "url", url));
		}
		sqlite3_reset(st);
	}
	json_object_set_new(job, "artifacts", arts);
	return json_pack("{s:o}", "job", job);
}

static void do_lease(call *c, xeci_db *db)
{
	xeci_agent a;
	xeci_lease l;
	if (auth(c, db, &a) < 0)
		return;
	int rc = xeci_job_db_lease(&l, db, &a, (int64_t)xeci_time_wall_ms(), c->api->cfg->lease_ms);
	if (rc < 0)
		call_fail(c, rc);
	else if (!l.job_id)
		c->status = 204;
	else {
		c->out = lease_json(&l, db);
		free(c->agent);
		c->agent = xeci_strdup(a.name);
	}
	xeci_lease_clear(&l);
	xeci_agent_clear(&a);
}

static int64_t lease_of(call *c, json_t *in)
{
	json_t *l = json_object_get(in, "lease");
	if (!json_is_integer(l)) {
		call_error(c, 400, "\"lease\" (the lease id) is required");
		return -1;
	}
	return json_integer_value(l);
}

static void do_heartbeat(call *c, xeci_db *db)
{
	xeci_agent a;
	json_t *in = NULL;
	int64_t lease;
	if (auth(c, db, &a) < 0 || !(in = body_json(c)) || (lease = lease_of(c, in)) < 0)
		goto out;
	int64_t now = (int64_t)xeci_time_wall_ms();
	json_t *cur = json_object_get(in, "current_test");
	int64_t lease_ms = c->api->cfg->lease_ms;
	int rc = xeci_job_db_heartbeat(db, c->id, lease, a.id, now, lease_ms,
				       json_is_string(cur) ? json_string_value(cur) : NULL,
				       (int)json_integer_value(json_object_get(in, "done")),
				       (int)json_integer_value(json_object_get(in, "total")));
	if (rc < 0)
		call_fail(c, rc);
	else
		c->out = json_pack("{s:I}", "deadline_ms", (json_int_t)(now + lease_ms));
out:
	json_decref(in);
	xeci_agent_clear(&a);
}

/* Is suite one of the job's suites ("kind:what")? */
static int job_has_suite(xeci_db *db, int64_t job_id, const char *suite)
{
	sqlite3_stmt *st;
	if (xeci_db_prepare(&st, db, "SELECT 1 FROM jobs j, json_each(j.suites) s WHERE j.id = ? AND s.value = ?") < 0)
		return 0;
	sqlite3_bind_int64(st, 1, job_id);
	sqlite3_bind_text(st, 2, suite, -1, SQLITE_TRANSIENT);
	int found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return found;
}

static char *excerpt(const char *s)
{
	if (!s)
		return NULL;
	size_t len = strlen(s);
	return xeci_strdup(len > EXCERPT_BYTES ? s + len - EXCERPT_BYTES : s);
}

/* The full logs of one test, as a file under DATA/jobs/JOB/ (the excerpts
 * go to the database). */
static char *write_log(const xeci_config *cfg, int64_t job, const char *test, const char *out, const char *err,
		       const char *dmesg)
{
	if (!out && !err && !dmesg)
		return NULL;
	char *dir = NULL, *path = NULL;
	if (asprintf(&dir, "%s/jobs/%lld", cfg->data_dir, (long long)job) < 0)
		return NULL;
	xeci_mkdir_p(dir, 0755);
	char safe[200];
	size_t k = 0;
	for (const char *p = test; *p && k < sizeof(safe) - 1; p++)
		safe[k++] = (*p == '/' || (*p == '.' && p == test)) ? '_' : *p; /* one file name */
	safe[k] = '\0';
	if (asprintf(&path, "%s/%s.log", dir, safe) < 0) {
		free(dir);
		return NULL;
	}
	xeci_buf b = XECI_BUF_INIT;
	xeci_buf_printf(&b, "== out ==\n%s\n== err ==\n%s\n== dmesg ==\n%s\n", out ? out : "", err ? err : "",
			dmesg ? dmesg : "");
	if (xeci_file_write_atomic(path, b.ptr, b.len) < 0) {
		free(path);
		path = NULL;
	}
	xeci_buf_free(&b);
	free(dir);
	return path;
}

static void do_results(call *c, xeci_db *db)
{
	xeci_agent a;
	json_t *in = NULL;
	int64_t lease;
	xeci_test_result *r = NULL;
	char **owned = NULL;
	size_t n = 0, nowned = 0;
	if (auth(c, db, &a) < 0 || !(in = body_json(c)) || (lease = lease_of(c, in)) < 0)
		goto out;
	json_t *arr = json_object_get(in, "results");
	if (arr && !json_is_array(arr)) {
		call_error(c, 400, "\"results\" must be an array");
		goto out;
	}
	n = json_array_size(arr);
	r = xeci_calloc(n ? n : 1, sizeof(*r));
	owned = xeci_calloc(4 * (n ? n : 1), sizeof(*owned));
	for (size_t i = 0; i < n; i++) {
		json_t *t = json_array_get(arr, i);
		const char *test = json_string_value(json_object_get(t, "test"));
		const char *suite = json_string_value(json_object_get(t, "suite"));
		const char *status = json_string_value(json_object_get(t, "status"));
		if (!test || !*test || !status || !suite) {
			call_error(c, 400, "result %zu: \"test\", \"suite\" and \"status\" are required strings", i);
			goto out;
		}
		if (!job_has_suite(db, c->id, suite)) {
			call_error(c, 422, "result %zu: suite \"%s\" is not in job %lld", i, suite, (long long)c->id);
			goto out;
		}
		const char *o = json_string_value(json_object_get(t, "out"));
		const char *e = json_string_value(json_object_get(t, "err"));
		const char *d = json_string_value(json_object_get(t, "dmesg"));
		json_t *dur = json_object_get(t, "duration_ms");
		r[i] = (xeci_test_result){.test = test, .suite = suite, .status = status,
					  .duration_ms = json_is_integer(dur) ? json_integer_value(dur) : -1};
		r[i].out = owned[nowned++] = excerpt(o);
		r[i].err = owned[nowned++] = excerpt(e);
		r[i].dmesg = owned[nowned++] = excerpt(d);
		r[i].log_path = owned[nowned++] = write_log(c->api->cfg, c->id, test, o, e, d);
	}
	int rc = xeci_job_db_results(db, c->id, lease, a.id, r, n, json_is_true(json_object_get(in, "final")));
	if (rc < 0)
		call_fail(c, rc);
	else
		c->out = json_pack("{s:I, s:b}", "stored", (json_int_t)n, "final",
				   json_is_true(json_object_get(in, "final")));
out:
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	free(owned);
	free(r);
	json_decref(in);
	xeci_agent_clear(&a);
}

static void do_fail(call *c, xeci_db *db)
{
	xeci_agent a;
	json_t *in = NULL;
	int64_t lease;
	if (auth(c, db, &a) < 0 || !(in = body_json(c)) || (lease = lease_of(c, in)) < 0)
		goto out;
	int rc = xeci_job_db_fail(db, c->id, lease, a.id, json_string_value(json_object_get(in, "reason")),
				  !json_is_false(json_object_get(in, "infra")));
	if (rc < 0)
		call_fail(c, rc);
	else
		c->out = json_pack("{s:b}", "ok", 1);
out:
	json_decref(in);
	xeci_agent_clear(&a);
}

/* "bytes=N-" or "bytes=N-M"; anything else is the whole file. */
static void parse_range(const char *h, size_t size, size_t *from, size_t *to)
{
	*from = 0;
	*to = size;
	unsigned long long a, b;
	if (!h || strncmp(h, "bytes=", 6))
		return;
	if (sscanf(h + 6, "%llu-%llu", &a, &b) == 2 && a <= b && a < size) {
		*from = a;
		*to = b + 1 < size ? b + 1 : size;
	} else if (sscanf(h + 6, "%llu-", &a) == 1) {
		*from = a < size ? a : size;
	}
}

static void do_artifact(call *c, xeci_db *db)
{
	xeci_agent a;
	if (auth(c, db, &a) < 0)
		return;
	xeci_agent_clear(&a);
	sqlite3_stmt *st;
	char *path = NULL;
	if (xeci_db_prepare(&st, db, "SELECT path FROM build_artifacts WHERE build_id = ? AND name = ?") < 0) {
		call_fail(c, XECI_EIO);
		return;
	}
	sqlite3_bind_int64(st, 1, c->id);
	sqlite3_bind_text(st, 2, c->name, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		path = xeci_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	if (!path) {
		call_error(c, 404, "build %lld has no artifact \"%s\"", (long long)c->id, c->name);
		return;
	}
	char *data = NULL;
	size_t len = 0;
	if (xeci_file_read(&data, &len, path) < 0) {
		call_error(c, 410, "artifact \"%s\" of build %lld is gone", c->name, (long long)c->id);
		free(path);
		return;
	}
	free(path);
	size_t from, to;
	parse_range(c->range, len, &from, &to);
	if (c->range && from >= len && len) {
		snprintf(c->content_range, sizeof(c->content_range), "bytes */%zu", len);
		call_error(c, 416, "range not satisfiable");
		free(data);
		return;
	}
	if (from || to != len) {
		memmove(data, data + from, to - from);
		snprintf(c->content_range, sizeof(c->content_range), "bytes %zu-%zu/%zu", from, to ? to - 1 : 0, len);
		c->status = 206;
	} else {
		c->status = 200;
	}
	c->file = data;
	c->file_len = to - from;
}

/* ---- long-poll ------------------------------------------------------------------ */

static void unpark(call *c)
{
	xeci_api *api = c->api;
	for (call **p = &api->waiters; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	c->parked = false;
	uv_timer_stop(&c->timer);
}

static void wait_over(uv_timer_t *t)
{
	call *c = t->data;
	if (!c->parked) {
		/* a retry is on the pool: it answers when it comes back */
		c->wait_s = 0;
		return;
	}
	unpark(c);
	c->wait_s = 0;
	c->status = 204;
	after_cb(&c->work, 0);
}

static void client_gone(xeci_httpd_req *req, void *data)
{
	(void)req;
	call *c = data;
	if (c->parked) {
		unpark(c);
		c->wait_s = 0;
		after_cb(&c->work, 0); /* answers nobody, frees */
	}
}

static void park(call *c)
{
	xeci_api *api = c->api;
	if (!c->timer_open) {
		uv_timer_init(api->loop, &c->timer);
		c->timer.data = c;
		c->timer_open = true;
		uv_timer_start(&c->timer, wait_over, (uint64_t)c->wait_s * 1000, 0);
	}
	c->parked = true;
	c->next = api->waiters;
	api->waiters = c;
}

void xeci_api_wake(xeci_api *api)
{
	call *list = api->waiters;
	api->waiters = NULL;
	while (list) {
		call *c = list;
		list = c->next;
		c->parked = false;
		run(c); /* its timer keeps running: the wait ends on time */
	}
}

void xeci_api_stop(xeci_api *api)
{
	api->stopping = true;
	xeci_dbgroup_stop(api->group);
	while (api->waiters) {
		call *c = api->waiters;
		unpark(c);
		c->wait_s = 0;
		after_cb(&c->work, 0);
	}
}

/* ---- the loop side: routes ---------------------------------------------------- */

static call *call_new(xeci_api *api, xeci_httpd_req *req, call_fn fn)
{
	call *c = xeci_calloc(1, sizeof(*c));
	c->api = api;
	c->req = req;
	c->fn = fn;
	xeci_httpd_req_ref(req);
	const char *tok = xeci_httpd_req_bearer(req);
	c->token = tok ? xeci_strdup(tok) : NULL;
	size_t len = 0;
	const char *body = xeci_httpd_req_body(req, &len);
	if (len) {
		c->body = xeci_malloc(len);
		memcpy(c->body, body, len);
		c->body_len = len;
	}
	return c;
}

static bool id_param(call *c, const xeci_route_params *p)
{
	const char *s = xeci_route_param(p, "id");
	char *end;
	c->id = s ? strtoll(s, &end, 10) : 0;
	if (!s || *end || c->id <= 0) {
		xeci_httpd_respond_error(c->req, 404, "no such id");
		call_free(c);
		return false;
	}
	return true;
}

static void h_register(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	(void)p;
	run(call_new(data, req, do_register));
}

static void h_lease(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	(void)p;
	call *c = call_new(data, req, do_lease);
	json_t *in = c->body_len ? json_loadb(c->body, c->body_len, 0, NULL) : NULL;
	json_t *w = json_object_get(in, "wait_s");
	c->wait_s = json_is_integer(w) ? (int)json_integer_value(w) : XECI_LEASE_WAIT_MAX_S;
	if (c->wait_s < 0)
		c->wait_s = 0;
	if (c->wait_s > XECI_LEASE_WAIT_MAX_S)
		c->wait_s = XECI_LEASE_WAIT_MAX_S;
	json_decref(in);
	xeci_httpd_req_on_cancel(req, client_gone, c);
	run(c);
}

static void h_job(xeci_httpd_req *req, const xeci_route_params *p, void *data, call_fn fn)
{
	call *c = call_new(data, req, fn);
	if (id_param(c, p))
		run(c);
}

static void h_heartbeat(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	h_job(req, p, data, do_heartbeat);
}

static void h_results(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	h_job(req, p, data, do_results);
}

static void h_fail(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	h_job(req, p, data, do_fail);
}

static void h_artifact(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	call *c = call_new(data, req, do_artifact);
	const char *name = xeci_route_param(p, "name");
	if (!id_param(c, p))
		return;
	c->name = xeci_strdup(name ? name : "");
	const char *range = xeci_httpd_req_header(req, "Range");
	c->range = range ? xeci_strdup(range) : NULL;
	run(c);
}

int xeci_api_new(xeci_api **out, uv_loop_t *loop, const xeci_config *cfg, xeci_router *r)
{
	xeci_api *api = xeci_calloc(1, sizeof(*api));
	api->loop = loop;
	api->cfg = cfg;
	int rc = xeci_router_add(r, "POST", "/api/v1/agent/register", h_register, api);
	if (rc == 0)
		rc = xeci_router_add(r, "POST", "/api/v1/agent/lease", h_lease, api);
	if (rc == 0)
		rc = xeci_router_add(r, "POST", "/api/v1/jobs/:id/heartbeat", h_heartbeat, api);
	if (rc == 0)
		rc = xeci_router_add(r, "POST", "/api/v1/jobs/:id/results", h_results, api);
	if (rc == 0)
		rc = xeci_router_add(r, "POST", "/api/v1/jobs/:id/fail", h_fail, api);
	if (rc == 0)
		rc = xeci_router_add(r, "GET", "/api/v1/builds/:id/artifacts/:name", h_artifact, api);
	if (rc < 0) {
		free(api);
		return rc;
	}
	xeci_dbgroup_new(&api->group, loop, group_db, api, GROUP_MAX);
	*out = api;
	return 0;
}

void xeci_api_free(xeci_api *api)
{
	if (api) {
		xeci_dbgroup_free(api->group);
		xeci_db_close(api->group_db);
	}
	free(api);
}
