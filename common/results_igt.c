/* IGT results directory parser: a port of the text path of IGT's
 * runner/resultgen.c (journal.txt, out.txt, err.txt, dmesg.txt per job),
 * written against its behaviour, quirks included, since the point is to give
 * the results igt_resultgen gives. Where resultgen would crash or overflow
 * (negative slices, names over 255 bytes) the slice is empty or the name is
 * cut instead.
 *
 * This file: the tests table, names, the directory walk (settings, job list,
 * one job's files, result overrides, pruning) and the public API. The text
 * files' rules are in results_igt_text.c, the socket dump ("comms") in
 * results_igt_comms.c; what they share is in results_igt_int.h. */
#define _GNU_SOURCE
#include "results_igt.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "buf.h"
#include "error.h"
#include "results_igt_int.h"
#include "util.h"

/* resultgen builds names in char[256] with snprintf */
#define NAME_MAX_LEN 255

enum { PRUNE_KEEP_DYNAMIC, PRUNE_KEEP_SUBTESTS, PRUNE_KEEP_ALL, PRUNE_KEEP_REQUESTED };

static const char EMPTY_OUT[] = "This test didn't produce any output. "
				"The machine probably rebooted ungracefully.\n";

/* ---- tests table ---- */

xeci_igt_test *xeci_igt__find_test(const xeci_igt_results *r, const char *name)
{
	json_t *i = json_object_get(r->index, name);
	return i ? r->tests[json_integer_value(i)] : NULL;
}

xeci_igt_test *xeci_igt__get_test(xeci_igt_results *r, const char *name)
{
	xeci_igt_test *t = xeci_igt__find_test(r, name);
	if (t)
		return t;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 32;
		r->tests = xeci_realloc(r->tests, r->cap * sizeof(*r->tests));
	}
	t = xeci_calloc(1, sizeof(*t));
	t->name = xeci_strdup(name);
	/* names come from files: any bytes, so no UTF-8 check on the key */
	json_object_set_new_nocheck(r->index, name, json_integer((json_int_t)r->n));
	r->tests[r->n++] = t;
	return t;
}

static void delete_test(xeci_igt_results *r, const char *name)
{
	xeci_igt_test *t = xeci_igt__find_test(r, name);
	if (!t)
		return;
	t->deleted = true;
	json_object_del(r->index, name);
}

void xeci_igt__set_text(char **field, const char *beg, const char *end)
{
	free(*field);
	*field = (beg && end && end > beg) ? xeci_strndup(beg, (size_t)(end - beg)) : xeci_strdup("");
}

void xeci_igt__add_runtime(xeci_igt_test *t, double time)
{
	t->time = t->has_time ? t->time + time : time;
	t->has_time = true;
}

void xeci_igt__set_runtime(xeci_igt_test *t, double time)
{
	t->time = time;
	t->has_time = true;
}

/* ---- names ---- */

/* resultgen lower-cases up to the first white space */
static void put_lower(xeci_buf *b, const char *s)
{
	for (; *s && !isspace((unsigned char)*s); s++)
		xeci_buf_putc(b, (char)tolower((unsigned char)*s));
}

static void cut_name(xeci_buf *b)
{
	if (b->len > NAME_MAX_LEN) {
		b->len = NAME_MAX_LEN;
		b->ptr[b->len] = '\0';
	}
}

char *xeci_igt__piglit_name(const char *binary, const char *subtest)
{
	xeci_buf b = XECI_BUF_INIT;
	xeci_buf_puts(&b, "igt@");
	put_lower(&b, binary);
	if (subtest) {
		xeci_buf_putc(&b, '@');
		put_lower(&b, subtest);
	}
	cut_name(&b);
	return xeci_buf_detach(&b);
}

char *xeci_igt__dynamic_name(const char *parent, const char *dynamic)
{
	xeci_buf b = XECI_BUF_INIT;
	xeci_buf_printf(&b, "%s@", parent);
	put_lower(&b, dynamic);
	cut_name(&b);
	return xeci_buf_detach(&b);
}

/* ---- subtest lists ---- */

/* As resultgen: one trailing newline dropped, empty input and repeats
 * ignored (an input of just "\n" does add an empty name). */
struct sub *xeci_igt__add_subtest(struct sublist *l, const char *line)
{
	size_t len = strlen(line);
	if (len == 0)
		return NULL;
	char *name = xeci_strdup(line);
	if (name[len - 1] == '\n')
		name[len - 1] = '\0';
	for (size_t i = 0; i < l->n; i++) {
		if (!strcmp(l->v[i].name, name)) {
			free(name);
			return &l->v[i];
		}
	}
	l->v = xeci_realloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n] = (struct sub){.name = name};
	return &l->v[l->n++];
}

void xeci_igt__add_dynamic(struct sub *s, const char *name)
{
	if (!*name)
		return;
	for (size_t i = 0; i < s->ndyn; i++)
		if (!strcmp(s->dyn[i], name))
			return;
	s->dyn = xeci_realloc(s->dyn, (s->ndyn + 1) * sizeof(*s->dyn));
	s->dyn[s->ndyn++] = xeci_strdup(name);
}

static void free_sublist(struct sublist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		for (size_t k = 0; k < l->v[i].ndyn; k++)
			free(l->v[i].dyn[k]);
		free(l->v[i].dyn);
	}
	free(l->v);
}

/* ---- files ---- */

/* The whole file, or NULL when it cannot be opened/read. */
static char *read_file_at(const char *dir, const char *name, size_t *len)
{
	char *path, *text = NULL;
	size_t n = 0;
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return NULL;
	struct stat st;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && xeci_file_read(&text, &n, path) < 0)
		text = NULL;
	free(path);
	if (len)
		*len = n;
	return text;
}

/* Calls fn on each line (with its newline, cut at a NUL as getline() and the
 * str* functions resultgen applies to it do). */
void xeci_igt__each_line(const char *text, size_t len, void (*fn)(char *line, void *ctx), void *ctx)
{
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl + 1 : end;
		char *line = xeci_strndup(p, (size_t)(stop - p));
		fn(line, ctx);
		free(line);
		p = stop;
	}
}

/* ---- settings and job list ---- */

static int read_settings(struct settings *s, const char *dir)
{
	char *path, *name = NULL, *val = NULL;
	if (asprintf(&path, "%s/metadata.txt", dir) < 0)
		return xeci_error_set("out of memory");
	FILE *f = fopen(path, "r");
	free(path);
	if (!f)
		return xeci_error_setc(XECI_ENOTFOUND, "%s/metadata.txt: %s", dir, strerror(errno));
	*s = (struct settings){.warn_level = -1, .prune_mode = PRUNE_KEEP_DYNAMIC};
	/* the same scanf as resultgen, so odd files stop where they stop there */
	while (fscanf(f, "%ms : %m[^\n]", &name, &val) == 2) {
		if (!strcmp(name, "piglit_style_dmesg"))
			s->piglit_style = atoi(val);
		else if (!strcmp(name, "dmesg_warn_level"))
			s->warn_level = atoi(val);
		else if (!strcmp(name, "prune_mode"))
			s->prune_mode = atoi(val);
		else if (!strcmp(name, "multiple_mode"))
			s->multiple_mode = atoi(val);
		free(name);
		free(val);
		name = val = NULL;
	}
	free(name);
	free(val);
	fclose(f);
	if (s->warn_level < 0)
		s->warn_level = s->piglit_style ? 5 : 4; /* KERN_NOTICE : KERN_WARNING */
	return 0;
}

struct joblist {
	struct job *v;
	size_t n;
};

static void job_line(char *line, void *ctx)
{
	struct joblist *jl = ctx;
	size_t len = strlen(line);
	if (len > 0 && line[len - 1] == '\n')
		line[len - 1] = '\0';
	struct job j = {0};
	char *sp = strchr(line, ' ');
	if (sp) {
		*sp++ = '\0';
		for (char *s = sp; s;) {
			char *comma = strchr(s, ',');
			if (comma)
				*comma++ = '\0';
			j.subs = xeci_realloc(j.subs, (j.nsubs + 1) * sizeof(*j.subs));
			j.subs[j.nsubs++] = xeci_strdup(s);
			s = comma;
		}
	}
	j.binary = xeci_strdup(line);
	jl->v = xeci_realloc(jl->v, (jl->n + 1) * sizeof(*jl->v));
	jl->v[jl->n++] = j;
}

static void free_joblist(struct joblist *jl)
{
	for (size_t i = 0; i < jl->n; i++) {
		free(jl->v[i].binary);
		for (size_t k = 0; k < jl->v[i].nsubs; k++)
			free(jl->v[i].subs[k]);
		free(jl->v[i].subs);
	}
	free(jl->v);
}

/* ---- result overrides and pruning ---- */

static bool has_data(const char *s)
{
	return s && *s;
}

static void override_one(xeci_igt_test *t)
{
	const char *err = t->err ? t->err : "";
	const char *result = t->result ? t->result : "";
	if (!strcmp(result, "pass") && xeci_igt__stderr_has_warnings(err, err + strlen(err)))
		result = t->result = "warn";
	if (t->warnings) {
		if (!strcmp(result, "pass") || !strcmp(result, "warn"))
			t->result = "dmesg-warn";
		else if (!strcmp(result, "fail"))
			t->result = "dmesg-fail";
	}
	if (!has_data(t->out) && !has_data(t->err) && !has_data(t->dmesg)) {
		/* the machine went down as the test was being launched */
		free(t->out);
		t->out = xeci_strdup(EMPTY_OUT);
		t->result = "incomplete";
	}
}

static void override_results(xeci_igt_results *r, const char *binary, const struct sublist *subs)
{
	if (subs->n == 0) {
		char *name = xeci_igt__piglit_name(binary, NULL);
		override_one(xeci_igt__get_test(r, name));
		free(name);
		return;
	}
	for (size_t i = 0; i < subs->n; i++) {
		char *name = xeci_igt__piglit_name(binary, subs->v[i].name);
		override_one(xeci_igt__get_test(r, name));
		for (size_t k = 0; k < subs->v[i].ndyn; k++) {
			char *dname = xeci_igt__dynamic_name(name, subs->v[i].dyn[k]);
			override_one(xeci_igt__get_test(r, dname));
			free(dname);
		}
		free(name);
	}
}

static bool requested(const struct job *job, const char *sub, const char *dyn)
{
	char *want;
	bool found = false;
	if (asprintf(&want, dyn ? "%s@%s" : "%s", sub, dyn) < 0)
		return false;
	for (size_t i = 0; i < job->nsubs && !found; i++)
		found = !strcmp(job->subs[i], want);
	free(want);
	return found;
}

static void prune(xeci_igt_results *r, const struct settings *s, const struct job *job, const struct sublist *subs)
{
	if (s->prune_mode == PRUNE_KEEP_ALL)
		return;
	for (size_t i = 0; i < subs->n; i++) {
		const struct sub *sub = &subs->v[i];
		char *name = xeci_igt__piglit_name(job->binary, sub->name);
		if (s->prune_mode == PRUNE_KEEP_DYNAMIC) {
			if (sub->ndyn)
				delete_test(r, name);
			free(name);
			continue;
		}
		if (s->prune_mode == PRUNE_KEEP_REQUESTED && !requested(job, sub->name, NULL))
			delete_test(r, name);
		for (size_t k = 0; k < sub->ndyn; k++) {
			if (s->prune_mode == PRUNE_KEEP_SUBTESTS ||
			    (s->prune_mode == PRUNE_KEEP_REQUESTED && !requested(job, sub->name, sub->dyn[k]))) {
				char *dname = xeci_igt__dynamic_name(name, sub->dyn[k]);
				delete_test(r, dname);
				free(dname);
			}
		}
		free(name);
	}
}

/* ---- one job, the whole run ---- */

static void set_notrun(xeci_igt_results *r, const char *name)
{
	xeci_igt_test *t = xeci_igt__get_test(r, name);
	xeci_igt__set_text(&t->out, NULL, NULL);
	xeci_igt__set_text(&t->err, NULL, NULL);
	xeci_igt__set_text(&t->dmesg, NULL, NULL);
	t->result = "notrun";
}

static void add_notrun(xeci_igt_results *r, const struct settings *s, const struct job *job)
{
	/* in multiple mode "no subtests" and "all subtests" look alike */
	if (job->nsubs == 0 && !s->multiple_mode) {
		char *name = xeci_igt__piglit_name(job->binary, NULL);
		set_notrun(r, name);
		free(name);
	}
	for (size_t i = 0; i < job->nsubs; i++) {
		char *name = xeci_igt__piglit_name(job->binary, job->subs[i]);
		set_notrun(r, name);
		free(name);
	}
}

/* false: no usable output (out, err or dmesg missing), so notrun */
static bool parse_job_dir(xeci_igt_results *r, const struct settings *s, const struct job *job, const char *dir)
{
	size_t clen, jlen, olen, elen, dlen;
	char *comms = read_file_at(dir, "comms", &clen);
	char *journal = read_file_at(dir, "journal.txt", &jlen);
	char *out = read_file_at(dir, "out.txt", &olen);
	char *err = read_file_at(dir, "err.txt", &elen);
	char *dmesg = read_file_at(dir, "dmesg.txt", &dlen);
	bool ok = out && err && dmesg;
	if (ok) {
		struct sublist subs = {0};
		int rc = comms && clen ? xeci_igt__fill_from_comms(r, job, &subs, comms, clen) : COMMS_EMPTY;
		r->comms_jobs += rc != COMMS_EMPTY;
		if (rc == COMMS_EMPTY) {
			/* the journal says which subtests began, out/err the rest */
			if (journal)
				xeci_igt__fill_from_journal(r, job, &subs, journal, jlen);
			xeci_igt__fill_from_output(r, job->binary, &subs, out, olen, false);
			xeci_igt__fill_from_output(r, job->binary, &subs, err, elen, true);
		}
		xeci_igt__fill_from_dmesg(r, s, job->binary, &subs, dmesg, dlen);
		override_results(r, job->binary, &subs);
		prune(r, s, job, &subs);
		free_sublist(&subs);
	}
	free(comms);
	free(journal);
	free(out);
	free(err);
	free(dmesg);
	return ok;
}

static bool read_time(double *out, const char *dir, const char *name)
{
	char *text = read_file_at(dir, name, NULL);
	if (!text)
		return false;
	*out = atof(text);
	free(text);
	return true;
}

static void add_aborted(xeci_igt_results *r, const char *dir)
{
	size_t len;
	char *text = read_file_at(dir, "aborted.txt", &len);
	if (!text)
		return;
	/* resultgen reads at most 4096 bytes of it */
	size_t n = len < 4096 ? len : 4096;
	const char *nul = memchr(text, '\0', n);
	xeci_igt_test *t = xeci_igt__get_test(r, "igt@runner@aborted");
	xeci_igt__set_text(&t->out, text, nul ? nul : text + n);
	xeci_igt__set_text(&t->err, NULL, NULL);
	xeci_igt__set_text(&t->dmesg, NULL, NULL);
	t->result = "fail";
	free(text);
}

static int read_joblist(struct joblist *jl, const char *dir)
{
	size_t len;
	char *text = read_file_at(dir, "joblist.txt", &len);
	if (!text)
		return xeci_error_setc(XECI_ENOTFOUND, "%s/joblist.txt: cannot read", dir);
	xeci_igt__each_line(text, len, job_line, jl);
	free(text);
	return 0;
}

static void free_test(xeci_igt_test *t);

/* Drops the pruned tests, kept until now so positions in the index held. */
static void compact(xeci_igt_results *r)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++) {
		xeci_igt_test *t = r->tests[i];
		if (t->deleted) {
			free_test(t);
			continue;
		}
		json_object_set_new_nocheck(r->index, t->name, json_integer((json_int_t)n));
		r->tests[n++] = t;
	}
	r->n = n;
}

int xeci_igt_results_parse(xeci_igt_results **out, const char *dir)
{
	struct settings s;
	struct joblist jl = {0};
	*out = NULL;
	int rc = read_settings(&s, dir);
	if (rc < 0)
		return rc;
	if ((rc = read_joblist(&jl, dir)) < 0)
		return rc;
	xeci_igt_results *r = xeci_calloc(1, sizeof(*r));
	r->index = json_object();
	r->has_start = read_time(&r->start, dir, "starttime.txt");
	r->has_end = read_time(&r->end, dir, "endtime.txt");
	for (size_t i = 0; i < jl.n; i++) {
		char *jobdir;
		struct stat st;
		if (asprintf(&jobdir, "%s/%zu", dir, i) < 0)
			abort();
		if (stat(jobdir, &st) != 0 || !S_ISDIR(st.st_mode) || !parse_job_dir(r, &s, &jl.v[i], jobdir))
			add_notrun(r, &s, &jl.v[i]);
		free(jobdir);
	}
	add_aborted(r, dir);
	free_joblist(&jl);
	compact(r);
	*out = r;
	return 0;
}

static void free_test(xeci_igt_test *t)
{
	free(t->name);
	free(t->out);
	free(t->err);
	free(t->dmesg);
	free(t->warnings);
	free(t);
}

void xeci_igt_results_free(xeci_igt_results *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free_test(r->tests[i]);
	free(r->tests);
	for (size_t i = 0; i < r->nowned; i++)
		free(r->owned[i]);
	free(r->owned);
	json_decref(r->index);
	free(r);
}

/* ---- accessors ---- */

size_t xeci_igt_results_count(const xeci_igt_results *r)
{
	return r->n;
}

const xeci_igt_test *xeci_igt_results_get(const xeci_igt_results *r, size_t i)
{
	return i < r->n ? r->tests[i] : NULL;
}

const xeci_igt_test *xeci_igt_results_find(const xeci_igt_results *r, const char *name)
{
	return xeci_igt__find_test(r, name);
}

int xeci_igt_results_start(double *out, const xeci_igt_results *r)
{
	if (!r->has_start)
		return XECI_ENOTFOUND;
	*out = r->start;
	return 0;
}

int xeci_igt_results_end(double *out, const xeci_igt_results *r)
{
	if (!r->has_end)
		return XECI_ENOTFOUND;
	*out = r->end;
	return 0;
}

size_t xeci_igt_results_comms_jobs(const xeci_igt_results *r)
{
	return r->comms_jobs;
}

const char *xeci_igt_test_name(const xeci_igt_test *t)
{
	return t->name;
}

const char *xeci_igt_test_result(const xeci_igt_test *t)
{
	return t->result;
}

int xeci_igt_test_duration(double *out, const xeci_igt_test *t)
{
	if (!t->has_time)
		return XECI_ENOTFOUND;
	*out = t->time;
	return 0;
}

static const char *text_or_empty(const char *s, size_t *len)
{
	if (!s)
		s = "";
	if (len)
		*len = strlen(s);
	return s;
}

const char *xeci_igt_test_out(const xeci_igt_test *t, size_t *len)
{
	return text_or_empty(t->out, len);
}

const char *xeci_igt_test_err(const xeci_igt_test *t, size_t *len)
{
	return text_or_empty(t->err, len);
}

const char *xeci_igt_test_dmesg(const xeci_igt_test *t, size_t *len)
{
	return text_or_empty(t->dmesg, len);
}

const char *xeci_igt_test_dmesg_warnings(const xeci_igt_test *t, size_t *len)
{
	return text_or_empty(t->warnings, len);
}

/* ---- output ---- */

/* Bytes >= 0x80 taken as Latin-1, as resultgen's escaped_json_stringn(). */
static json_t *latin1_string(const char *s)
{
	xeci_buf b = XECI_BUF_INIT;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x80) {
			xeci_buf_putc(&b, (char)*p);
		} else {
			xeci_buf_putc(&b, (char)(0xC0 | (*p >> 6)));
			xeci_buf_putc(&b, (char)(0x80 | (*p & 0x3F)));
		}
	}
	json_t *j = json_stringn(b.ptr ? b.ptr : "", b.len);
	xeci_buf_free(&b);
	return j;
}

int xeci_igt_results_write_jsonl(FILE *out, const xeci_igt_results *r)
{
	for (size_t i = 0; i < r->n; i++) {
		const xeci_igt_test *t = r->tests[i];
		json_t *j = json_object();
		json_object_set_new(j, "name", latin1_string(t->name));
		json_object_set_new(j, "result", json_string(t->result ? t->result : "incomplete"));
		json_object_set_new(j, "duration", t->has_time ? json_real(t->time) : json_null());
		char *line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(j);
		if (!line)
			return xeci_error_set("igt results: cannot encode %s", t->name);
		int bad = fprintf(out, "%s\n", line) < 0;
		free(line);
		if (bad)
			return xeci_error_setc(XECI_EIO, "igt results: write: %s", strerror(errno));
	}
	return 0;
}
