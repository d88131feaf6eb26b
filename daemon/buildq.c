/* xecid's build queue. See buildq.h for the phases. */
#define _GNU_SOURCE /* vasprintf */
#include "buildq.h"

#include <stdarg.h>
#include <unistd.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "build.h"
#include "build_checks.h"
#include "build_db.h"
#include "checkpatch.h"
#include "db.h"
#include "error.h"
#include "log.h"
#include "tree.h"
#include "util.h"

#define SCAN_INTERVAL_MS 5000
#define PROGRESS_SAVE_MS 5000
#define MAX_ATTEMPTS 3

typedef enum phase { PH_NONE, PH_BASE, PH_PATCHED, PH_PER_PATCH, PH_FINISH } phase;

typedef struct job {
	xeci_buildq *q;
	uv_work_t work;
	int64_t id;
	xeci_db *db;                  /* the job's connection: one thread at a time */
	xeci_build_row row;
	const xeci_config_tree *tree;
	git_repository *repo;
	char *src, *index, *obj, *out, *map, *config_path, *patches_dir;
	git_oid base, commit;
	git_oid *patch_commits;       /* the commit after each patch */
	size_t npatches;
	int64_t base_id;              /* the base build this job runs, else 0 */
	char *base_out;
	phase next;                   /* what the loop starts when the work reports back */
	size_t per_patch;             /* 1-based patch being built alone */
	xeci_build_run *run;
	char *status;                 /* of the last run */
	int64_t progress, progress_saved;
	uint64_t progress_saved_ms;
	char *error;                  /* xeci's own failure: the row becomes 'error' */
	bool requeued;                /* put back in the queue: nothing to finish */
	struct job *next_job;
} job;

struct xeci_buildq {
	uv_loop_t *loop;
	const xeci_config *cfg;
	uv_timer_t timer;
	uv_work_t scan_work;
	bool scanning, stopping, recovered;
	int64_t claimed;              /* from the last scan */
	char *busy_trees;             /* JSON array: trees of running jobs, for the scan */
	job *jobs;                    /* running */
	int running;
	bool timer_closed;
};

static void tick(xeci_buildq *q);

/* ---- small helpers ------------------------------------------------------- */

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	char *s = NULL;
	if (vasprintf(&s, f, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

static void job_fail(job *j, const char *what)
{
	if (!j->error)
		j->error = fmt("%s: %s", what, xeci_error_last());
}

static void job_free(job *j)
{
	xeci_build_row_clear(&j->row);
	git_repository_free(j->repo);
	xeci_db_close(j->db);
	free(j->src);
	free(j->index);
	free(j->obj);
	free(j->out);
	free(j->map);
	free(j->config_path);
	free(j->patches_dir);
	free(j->patch_commits);
	free(j->base_out);
	free(j->status);
	free(j->error);
	free(j);
}

static void job_unlink(job *j)
{
	xeci_buildq *q = j->q;
	for (job **p = &q->jobs; *p; p = &(*p)->next_job)
		if (*p == j) {
			*p = j->next_job;
			break;
		}
	q->running--;
}

/* ---- phase work on the thread pool ------------------------------------------ */

/* The per-series part: check the applied series out, checkpatch its patches. */
static void prepare_patched(job *j)
{
	xeci_buildq *q = j->q;
	if (xeci_build_checkout(j->repo, &j->commit, j->src, j->index) < 0) {
		job_fail(j, "checkout");
		return;
	}
	if (q->cfg->build.checkpatch && j->row.version_id) {
		char *scripts = fmt("%s/checkpatch", j->out);
		size_t n = 0;
		if (xeci_build_checkpatch_scripts(j->repo, &j->base, scripts) == 0 &&
		    xeci_build_db_write_patches(&n, j->db, j->row.version_id, j->patches_dir) == 0) {
			for (size_t i = 1; i <= n; i++) {
				char *patch = fmt("%s/%04zu.patch", j->patches_dir, i);
				xeci_checkpatch_result r;
				char *text = NULL;
				xeci_build_check c = {.kind = "checkpatch", .patch_idx = (int)i};
				if (xeci_build_checkpatch_run(&r, &text, scripts, patch) < 0) {
					c.result = "error";
					c.summary = xeci_error_last();
				} else {
					c.result = r.errors ? "fail" : r.warnings || r.checks ? "warn" : "pass";
					c.errors = r.errors;
					c.warnings = r.warnings;
					c.checks = r.checks;
				}
				char summary[128];
				if (!c.summary) {
					snprintf(summary, sizeof(summary), "%d errors, %d warnings, %d checks", r.errors,
						 r.warnings, r.checks);
					c.summary = summary;
				}
				c.text = text;
				xeci_build_db_add_check(j->db, j->id, &c);
				xeci_checkpatch_result_clear(&r);
				free(text);
				free(patch);
			}
		} else {
			xeci_build_check c = {.kind = "checkpatch", .result = "error", .summary = xeci_error_last()};
			xeci_build_db_add_check(j->db, j->id, &c);
		}
		free(scripts);
	}
	if (xeci_build_db_set_building(j->db, j->id, j->out) < 0)
		job_fail(j, "database");
	j->next = PH_PATCHED;
}

/* The tree's mirror, once its first fetch (the poller's) has brought the
 * branch: until then the build waits in the queue. */
static int open_mirror(job *j)
{
	char *path = xeci_tree_mirror_path(j->tree, j->q->cfg->data_dir);
	git_oid head;
	int rc = 0;
	if (git_repository_open_bare(&j->repo, path) < 0 ||
	    xeci_apply_branch_head(&head, j->repo, j->tree->branch) < 0)
		rc = xeci_error_setc(XECI_ENOTFOUND, "waiting for the first fetch of tree \"%s\"", j->tree->name);
	free(path);
	return rc;
}

static void set_paths(job *j)
{
	const xeci_config *cfg = j->q->cfg;
	const char *work = cfg->build.work_dir;
	j->src = xeci_build_src_dir(work, j->row.tree);
	j->index = xeci_build_index_path(work, j->row.tree);
	j->obj = xeci_build_obj_dir(work, j->row.tree, j->row.config);
	j->map = fmt("%s.base-warnings.json", j->obj);
	j->out = fmt("%s/builds/%lld", cfg->data_dir, (long long)j->id);
	j->patches_dir = fmt("%s/patches", j->out);
}

/* Apply, then either the base build or the series' own. */
static void prepare_work(uv_work_t *w)
{
	job *j = w->data;
	const xeci_config *cfg = j->q->cfg;
	xeci_mail **mails = NULL;
	size_t n = 0;
	char *base_commit = NULL;
	j->next = PH_FINISH;
	if (xeci_db_open(&j->db, cfg->db_path) < 0 || xeci_build_db_get(&j->row, j->db, j->id) < 0) {
		job_fail(j, "database");
		return;
	}
	if (!(j->tree = xeci_config_tree_find(cfg, j->row.tree))) {
		xeci_error_set("tree \"%s\" is not in the configuration", j->row.tree);
		job_fail(j, "tree");
		return;
	}
	set_paths(j);
	if (!(j->config_path = xeci_build_config_path(j->row.config))) {
		job_fail(j, "config");
		return;
	}
	xeci_build_rmtree(j->out);
	if (xeci_mkdir_p(j->out, 0755) < 0) {
		xeci_error_set("cannot create %s", j->out);
		job_fail(j, "out dir");
		return;
	}
	if (open_mirror(j) < 0) {
		xeci_build_db_requeue(j->db, j->id, xeci_error_last());
		j->requeued = true;
		return;
	}
	if (xeci_build_db_load_patches(&mails, &n, &base_commit, j->db, j->row.version_id) < 0) {
		job_fail(j, "patches");
		goto out;
	}
	char ref[128];
	snprintf(ref, sizeof(ref), "refs/xeci/series/%lld/v%d", (long long)j->row.series_id, j->row.version);
	xeci_apply_opts o = {.branch = j->tree->branch, .ref = ref};
	xeci_apply_result r;
	int rc = xeci_apply_series(&r, j->repo, (const xeci_mail *const *)mails, n, base_commit, &o);
	if (rc < 0) {
		xeci_error_set("%s", r.error ? r.error : "cannot apply");
		job_fail(j, "apply");
	} else {
		xeci_build_db_set_apply(j->db, j->id, r.applied, r.base,
					r.base_method ? xeci_base_method_name(r.base_method) : NULL, r.commit,
					r.applied ? ref : NULL, r.failed_index, r.failed_file, r.applied ? NULL : r.error);
	}
	if (rc == 0 && r.applied) {
		git_oid_fromstr(&j->base, r.base);
		git_oid_fromstr(&j->commit, r.commit);
		j->patch_commits = xeci_calloc(r.npatches ? r.npatches : 1, sizeof(git_oid));
		for (size_t i = 0; i < r.npatches; i++)
			git_oid_fromstr(&j->patch_commits[i], r.patches[i].commit);
		j->npatches = r.npatches;
		int64_t base_id = 0;
		if (xeci_build_db_base_find(&base_id, j->db, j->row.tree, j->row.config, r.base) == 0 && !base_id) {
			/* New warnings need the base's: build the base first, in the
			 * same kbuild dir, so the series' build stays incremental. */
			if (xeci_build_db_base_add(&j->base_id, j->db, j->row.tree, j->row.config, r.base) < 0 ||
			    xeci_build_checkout(j->repo, &j->base, j->src, j->index) < 0) {
				job_fail(j, "base build");
			} else {
				j->base_out = fmt("%s/builds/%lld", cfg->data_dir, (long long)j->base_id);
				xeci_build_rmtree(j->base_out);
				xeci_mkdir_p(j->base_out, 0755);
				xeci_build_db_set_building(j->db, j->base_id, j->base_out);
				/* the series' row is "building" too: its base first */
				xeci_build_db_set_building(j->db, j->id, j->out);
				j->next = PH_BASE;
			}
		} else {
			prepare_patched(j);
		}
	}
	xeci_apply_result_clear(&r);
out:
	for (size_t i = 0; i < n; i++)
		xeci_mail_free(mails[i]);
	free(mails);
	free(base_commit);
}

/* The base build ended: its warnings become the map, its row is closed. */
static void base_done_work(uv_work_t *w)
{
	job *j = w->data;
	bool ok = xeci_build_status_ok(j->status);
	xeci_build_log_summary s;
	xeci_build_log_summarize(&s, j->base_out, j->src);
	if (xeci_build_warnings_base_update(j->map, j->base_out, j->src) < 0)
		XECI_WARN("build %lld: base warnings: %s", (long long)j->base_id, xeci_error_last());
	/* the base's kernel is the baseline's: its artifacts are tested too */
	xeci_build_artifact *a = NULL;
	size_t na = 0;
	if (ok && xeci_build_artifacts(&a, &na, j->base_out) < 0)
		XECI_WARN("build %lld: artifacts: %s", (long long)j->base_id, xeci_error_last());
	xeci_build_db_finish(j->db, j->base_id, ok ? "passed" : "failed", j->status,
			     ok ? NULL : s.first_error ? s.first_error : j->status, s.warnings, -1, a, na);
	xeci_build_artifacts_free(a, na);
	xeci_build_log_summary_clear(&s);
	prepare_patched(j);
}

/* One per-patch build ended: record it, check out the next one. */
static void per_patch_work(uv_work_t *w)
{
	job *j = w->data;
	if (j->per_patch > 0) {
		char *out = fmt("%s/per-patch/%zu", j->out, j->per_patch);
		xeci_build_log_summary s;
		xeci_build_log_summarize(&s, out, j->src);
		bool ok = xeci_build_status_ok(j->status);
		char summary[512];
		snprintf(summary, sizeof(summary), "builds with patches 1-%zu: %s%s%s", j->per_patch,
			 j->status ? j->status : "?", s.first_error ? ": " : "", s.first_error ? s.first_error : "");
		xeci_build_check c = {.kind = "per-patch", .patch_idx = (int)j->per_patch,
				      .result = ok ? "pass" : "fail", .errors = (int)s.errors,
				      .warnings = (int)s.warnings, .summary = summary};
		xeci_build_db_add_check(j->db, j->id, &c);
		xeci_build_log_summary_clear(&s);
		free(out);
	}
	j->per_patch++;
	if (j->per_patch >= j->npatches) {
		j->next = PH_FINISH;
		return;
	}
	char *out = fmt("%s/per-patch/%zu", j->out, j->per_patch);
	xeci_mkdir_p(out, 0755);
	free(out);
	if (xeci_build_checkout(j->repo, &j->patch_commits[j->per_patch - 1], j->src, j->index) < 0) {
		job_fail(j, "checkout");
		j->next = PH_FINISH;
		return;
	}
	j->next = PH_PER_PATCH;
}

/* The series' build ended: artifacts, new warnings, the row's state. */
static void finish_work(uv_work_t *w)
{
	job *j = w->data;
	if (!j->db || !j->out || j->requeued)
		return;
	if (j->error) {
		xeci_build_db_finish(j->db, j->id, "error", j->status, j->error, -1, -1, NULL, 0);
		return;
	}
	xeci_build_row cur;
	if (xeci_build_db_get(&cur, j->db, j->id) == 0) {
		bool apply_failed = !strcmp(cur.state, "apply-failed");
		xeci_build_row_clear(&cur);
		if (apply_failed)
			return;
	}
	bool ok = xeci_build_status_ok(j->status);
	xeci_build_log_summary s;
	xeci_build_log_summarize(&s, j->out, j->src);
	int64_t nnew = -1;
	char *text = NULL;
	if (xeci_build_warnings_new(&nnew, &text, j->map, j->out, j->src) == 0) {
		char summary[64];
		snprintf(summary, sizeof(summary), "%lld new warnings", (long long)nnew);
		xeci_build_check c = {.kind = "warnings", .result = nnew ? "warn" : "pass",
				      .warnings = (int)nnew, .summary = summary, .text = text};
		xeci_build_db_add_check(j->db, j->id, &c);
	}
	free(text);
	xeci_build_artifact *a = NULL;
	size_t na = 0;
	if (ok && xeci_build_artifacts(&a, &na, j->out) < 0)
		XECI_WARN("build %lld: artifacts: %s", (long long)j->id, xeci_error_last());
	char *why = ok ? NULL : s.first_error ? xeci_strdup(s.first_error) : fmt("build: %s", j->status);
	xeci_build_db_finish(j->db, j->id, ok ? "passed" : "failed", j->status, why, s.warnings, nnew, a, na);
	free(why);
	xeci_build_artifacts_free(a, na);
	xeci_build_log_summary_clear(&s);
}

/* ---- the loop side ------------------------------------------------------------ */

static void after_phase(uv_work_t *w, int status);
static void start_phase(job *j);

static void queue_phase(job *j, uv_work_cb fn)
{
	j->work.data = j;
	uv_queue_work(j->q->loop, &j->work, fn, after_phase);
}

static void progress_after(uv_work_t *w, int status)
{
	(void)status;
	free(w);
}

typedef struct progress_save {
	uv_work_t work;
	char *db_path;
	int64_t id, files;
} progress_save;

static void progress_work(uv_work_t *w)
{
	progress_save *p = (progress_save *)w;
	xeci_db *db;
	if (xeci_db_open(&db, p->db_path) == 0) {
		xeci_build_db_set_progress(db, p->id, p->files);
		xeci_db_close(db);
	}
	free(p->db_path);
}

static void on_build_event(xeci_build_run *run, xeci_build_event ev, const char *text, int64_t n, void *data)
{
	(void)run;
	job *j = data;
	int64_t id = j->next == PH_BASE ? j->base_id : j->id;
	switch (ev) {
	case XECI_BUILD_STEP:
		XECI_INFO("build %lld: %s", (long long)id, text);
		break;
	case XECI_BUILD_NOTE:
		XECI_INFO("build %lld: %s", (long long)id, text);
		break;
	case XECI_BUILD_PROGRESS:
		j->progress = n;
		if (xeci_time_ms() - j->progress_saved_ms >= PROGRESS_SAVE_MS) {
			j->progress_saved_ms = xeci_time_ms();
			progress_save *p = xeci_calloc(1, sizeof(*p));
			p->db_path = xeci_strdup(j->q->cfg->db_path);
			p->id = id;
			p->files = n;
			uv_queue_work(j->q->loop, &p->work, progress_work, progress_after);
		}
		break;
	case XECI_BUILD_DONE:
		free(j->status);
		j->status = xeci_strdup(text);
		XECI_INFO("build %lld: %s", (long long)id, text);
		xeci_build_run_free(j->run);
		j->run = NULL;
		if (j->q->stopping) {
			/* The row stays "building": the next start runs it again. */
			job_unlink(j);
			job_free(j);
			return;
		}
		if (j->next == PH_BASE) {
			queue_phase(j, base_done_work);
		} else if (j->next == PH_PER_PATCH) {
			queue_phase(j, per_patch_work);
		} else if (j->q->cfg->build.per_patch && xeci_build_status_ok(text) && j->npatches > 1) {
			/* bisectability: the series built; now each prefix of it */
			j->per_patch = 0;
			queue_phase(j, per_patch_work);
		} else {
			j->next = PH_NONE;
			queue_phase(j, finish_work);
		}
		break;
	}
}

static void spawn_build(job *j, const char *out)
{
	const xeci_config_build *b = &j->q->cfg->build;
	char *ccache = xeci_build_ccache_dir(b->work_dir, j->row.tree, j->row.config);
	xeci_build_opts o = {.src = j->src, .obj = j->obj, .out = out, .config = j->config_path,
			     .jobs = b->make_jobs, .timeout = b->timeout, .log_max = b->log_max, .ccache = ccache};
	j->progress_saved_ms = xeci_time_ms();
	if (xeci_build_run_start(&j->run, j->q->loop, &o, on_build_event, j) < 0) {
		job_fail(j, "spawn");
		j->next = PH_NONE;
		queue_phase(j, finish_work);
	}
	free(ccache);
}

static void start_phase(job *j)
{
	if (j->q->stopping) {
		job_unlink(j);
		job_free(j);
		return;
	}
	char *out;
	switch (j->next) {
	case PH_BASE:
		spawn_build(j, j->base_out);
		break;
	case PH_PATCHED:
		spawn_build(j, j->out);
		break;
	case PH_PER_PATCH:
		out = fmt("%s/per-patch/%zu", j->out, j->per_patch);
		spawn_build(j, out);
		free(out);
		break;
	default:
		j->next = PH_NONE;
		queue_phase(j, finish_work);
		break;
	}
}

static void after_phase(uv_work_t *w, int status)
{
	(void)status;
	job *j = w->data;
	xeci_buildq *q = j->q;
	if (j->next == PH_NONE) {
		bool requeued = j->requeued;
		if (!requeued)
			XECI_INFO("build %lld: done", (long long)j->id);
		job_unlink(j);
		job_free(j);
		if (!requeued) /* else the scan timer retries it, not a tight loop */
			tick(q);
		return;
	}
	if (j->error)
		j->next = PH_FINISH;
	if (j->next == PH_BASE || j->next == PH_PATCHED)
		XECI_INFO("build %lld: building %s of series %lld v%d", (long long)j->id,
			  j->next == PH_BASE ? "the base" : "the series", (long long)j->row.series_id, j->row.version);
	start_phase(j);
}

/* ---- scanning ----------------------------------------------------------------- */

static void scan_work(uv_work_t *w)
{
	xeci_buildq *q = w->data;
	xeci_db *db = NULL;
	q->claimed = 0;
	if (xeci_db_open(&db, q->cfg->db_path) < 0) {
		XECI_WARN("build queue: %s", xeci_error_last());
		return;
	}
	int n = 0;
	if (!q->recovered) {
		if (xeci_build_db_recover(&n, db, MAX_ATTEMPTS) == 0 && n)
			XECI_INFO("build queue: %d build(s) a stopped daemon left running queued again", n);
	}
	if (xeci_build_db_enqueue(&n, db, q->cfg) < 0)
		XECI_WARN("build queue: %s", xeci_error_last());
	else if (n)
		XECI_INFO("build queue: %d build(s) queued", n);
	if (xeci_build_db_cancel_superseded(&n, db) == 0 && n)
		XECI_INFO("build queue: %d queued build(s) of superseded versions cancelled", n);
	if (!q->stopping && q->running < q->cfg->build.jobs &&
	    xeci_build_db_claim_except(&q->claimed, db, q->busy_trees) < 0)
		XECI_WARN("build queue: %s", xeci_error_last());
	xeci_db_close(db);
}

static void scan_after(uv_work_t *w, int status)
{
	(void)status;
	xeci_buildq *q = w->data;
	q->scanning = false;
	q->recovered = true;
	if (q->claimed && !q->stopping) {
		job *j = xeci_calloc(1, sizeof(*j));
		j->q = q;
		j->id = q->claimed;
		j->next_job = q->jobs;
		q->jobs = j;
		q->running++;
		XECI_DEBUG("build %lld: claimed", (long long)j->id);
		queue_phase(j, prepare_work);
		tick(q); /* another slot may be free */
	}
}

static void tick_q(xeci_buildq *q)
{
	if (q->stopping || q->scanning)
		return;
	q->scanning = true;
	/* A tree's checkout serves one build at a time: the scan skips the
	 * trees of running jobs (copied here: the pool must not read q->jobs). */
	json_t *busy = json_array();
	for (job *j = q->jobs; j; j = j->next_job)
		if (j->row.tree)
			json_array_append_new(busy, json_string(j->row.tree));
	free(q->busy_trees);
	q->busy_trees = json_dumps(busy, JSON_COMPACT);
	json_decref(busy);
	q->scan_work.data = q;
	uv_queue_work(q->loop, &q->scan_work, scan_work, scan_after);
}

static void timer_cb(uv_timer_t *t)
{
	tick_q(t->data);
}

static void tick(xeci_buildq *q)
{
	if (q)
		tick_q(q);
}

int xeci_buildq_new(xeci_buildq **out, uv_loop_t *loop, const xeci_config *cfg)
{
	xeci_buildq *q = xeci_calloc(1, sizeof(*q));
	q->loop = loop;
	q->cfg = cfg;
	uv_timer_init(loop, &q->timer);
	q->timer.data = q;
	*out = q;
	return 0;
}

int xeci_buildq_start(xeci_buildq *q)
{
	if (!q->cfg->ntrees)
		return 0; /* ingest only: nothing to build on */
	uv_timer_start(&q->timer, timer_cb, 0, SCAN_INTERVAL_MS);
	return 0;
}

static void timer_closed(uv_handle_t *h)
{
	((xeci_buildq *)h->data)->timer_closed = true;
}

void xeci_buildq_stop(xeci_buildq *q)
{
	if (!q || q->stopping)
		return;
	q->stopping = true;
	uv_timer_stop(&q->timer);
	uv_close((uv_handle_t *)&q->timer, timer_closed);
	for (job *j = q->jobs; j; j = j->next_job)
		if (j->run)
			xeci_build_run_cancel(j->run);
}

void xeci_buildq_free(xeci_buildq *q)
{
	if (!q)
		return;
	while (q->jobs) {
		job *j = q->jobs;
		q->jobs = j->next_job;
		job_free(j);
	}
	free(q->busy_trees);
	free(q);
}
