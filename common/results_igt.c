/* IGT results directory parser: a port of the text path of IGT's
 * runner/resultgen.c (journal.txt, out.txt, err.txt, dmesg.txt per job),
 * written against its behaviour, quirks included, since the point is to give
 * the results igt_resultgen gives. Where resultgen would crash or overflow
 * (negative slices, names over 255 bytes) the slice is empty or the name is
 * cut instead. */
#define _GNU_SOURCE
#include "results_igt.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "buf.h"
#include "error.h"
#include "util.h"

/* resultgen builds names in char[256] with snprintf */
#define NAME_MAX_LEN 255

#define EXIT_INCOMPLETE (-1234)
#define EXIT_GRACEFUL (-1) /* -SIGHUP: the runner stopped the test */
#define EXIT_SKIP 77
#define EXIT_SUCCESS_ 0
#define EXIT_INVALID 79
#define EXIT_ABORT 112

enum { PRUNE_KEEP_DYNAMIC, PRUNE_KEEP_SUBTESTS, PRUNE_KEEP_ALL, PRUNE_KEEP_REQUESTED };

static const char STARTING_SUBTEST[] = "Starting subtest: ";
static const char SUBTEST_RESULT[] = "Subtest ";
static const char STARTING_DYNAMIC[] = "Starting dynamic subtest: ";
static const char DYNAMIC_RESULT[] = "Dynamic subtest ";
static const char STARTING_SUBTEST_DMESG[] = ": starting subtest ";
static const char STARTING_DYNAMIC_DMESG[] = ": starting dynamic subtest ";
static const char IGNORE_REGEX_DMESG[] = "add ignored dmesg regex: ";
static const char EMPTY_OUT[] = "This test didn't produce any output. "
				"The machine probably rebooted ungracefully.\n";

/* Kernel messages at warning level or above that do not change a result
 * (resultgen's igt_dmesg_whitelist), and the few that do when the run used
 * --piglit-style-dmesg. */
static const char DMESG_WHITELIST[] =
	"ACPI: button: The lid device is not compliant to SW_LID"
	"|ACPI: .*: Unable to dock!"
	"|IRQ [0-9]+: no longer affine to CPU[0-9]+"
	"|IRQ fixup: irq [0-9]+ move in progress, old vector [0-9]+"
	"|Setting dangerous option [a-z_]+ - tainting kernel"
	"|Suspending console\\(s\\) \\(use no_console_suspend to debug\\)"
	"|atkbd serio[0-9]+: Failed to (deactivate|enable) keyboard on isa[0-9]+/serio[0-9]+"
	"|cache: parent cpu[0-9]+ should not be sleeping"
	"|hpet[0-9]+: lost [0-9]+ rtc interrupts"
	"|i915: probe of [0-9a-fA-F:.]+ failed with error -25"
	"|mock: DMA: Out of SW-IOMMU space for [0-9]+ bytes"
	"|usb usb[0-9]+: root hub lost power or was reset";
static const char DMESG_PIGLIT_BLACKLIST[] = "(\\[drm:|drm_|intel_|i915_|\\[drm\\])";

struct xeci_igt_test {
	char *name;
	const char *result; /* static string; NULL: none set */
	bool has_time;
	double time;
	char *out, *err, *dmesg, *warnings; /* NULL: key absent */
	bool deleted;
};

struct xeci_igt_results {
	xeci_igt_test **tests;
	size_t n, cap;
	json_t *index; /* name -> position in tests */
	bool has_start, has_end;
	double start, end;
	size_t comms_jobs;
	char **owned; /* results written by the runner that are not resultgen's */
	size_t nowned;
};

struct settings {
	int piglit_style;
	int warn_level;
	int prune_mode;
	int multiple_mode;
};

struct job {
	char *binary;
	char **subs;
	size_t nsubs;
};

struct sub {
	char *name;
	char **dyn;
	size_t ndyn;
};

struct sublist {
	struct sub *v;
	size_t n;
};

enum what { M_START, M_RESULT, M_DSTART, M_DRESULT };

struct match {
	const char *where;
	enum what what;
};

struct matches {
	struct match *v;
	size_t n, cap;
};

/* ---- tests table ---- */

static xeci_igt_test *find_test(const xeci_igt_results *r, const char *name)
{
	json_t *i = json_object_get(r->index, name);
	return i ? r->tests[json_integer_value(i)] : NULL;
}

static xeci_igt_test *get_test(xeci_igt_results *r, const char *name)
{
	xeci_igt_test *t = find_test(r, name);
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
	xeci_igt_test *t = find_test(r, name);
	if (!t)
		return;
	t->deleted = true;
	json_object_del(r->index, name);
}

static void set_text(char **field, const char *beg, const char *end)
{
	free(*field);
	*field = (beg && end && end > beg) ? xeci_strndup(beg, (size_t)(end - beg)) : xeci_strdup("");
}

static void add_runtime(xeci_igt_test *t, double time)
{
	t->time = t->has_time ? t->time + time : time;
	t->has_time = true;
}

static void set_runtime(xeci_igt_test *t, double time)
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

static char *piglit_name(const char *binary, const char *subtest)
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

static char *dynamic_name(const char *parent, const char *dynamic)
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
static struct sub *add_subtest(struct sublist *l, const char *line)
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

static void add_dynamic(struct sub *s, const char *name)
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
static void each_line(const char *text, size_t len, void (*fn)(char *line, void *ctx), void *ctx)
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

/* ---- journal.txt ---- */

static const char *result_from_exitcode(int code)
{
	switch (code) {
	case EXIT_SKIP:
	case EXIT_INVALID:
		return "skip";
	case EXIT_SUCCESS_:
		return "pass";
	case EXIT_ABORT:
		return "abort";
	case EXIT_INCOMPLETE:
		return "incomplete";
	case EXIT_GRACEFUL:
		return "notrun";
	default:
		return "fail";
	}
}

struct journal_ctx {
	xeci_igt_results *r;
	const struct job *job;
	struct sublist *subs;
	int exitcode;
	bool timeout;
};

static double time_in_parens(const char *line)
{
	const char *p = strchr(line, '(');
	return p ? strtod(p + 1, NULL) : 0.0;
}

/* Lines: a started subtest's name, "exit:CODE (TIMEs)" or
 * "timeout:CODE (TIMEs)" (executor.c). */
static void journal_line(char *line, void *ctx)
{
	struct journal_ctx *c = ctx;
	if (xeci_str_startswith(line, "exit:")) {
		c->exitcode = atoi(line + 5);
		if (c->subs->n == 0 && c->job->nsubs == 0) {
			char *name = piglit_name(c->job->binary, NULL);
			add_runtime(get_test(c->r, name), time_in_parens(line));
			free(name);
		}
	} else if (xeci_str_startswith(line, "timeout:")) {
		c->timeout = true;
		if (c->subs->n) {
			/* the timeout belongs to the subtest last started */
			char *name = piglit_name(c->job->binary, c->subs->v[c->subs->n - 1].name);
			xeci_igt_test *t = get_test(c->r, name);
			t->result = "timeout";
			add_runtime(t, time_in_parens(line));
			free(name);
		}
	} else {
		add_subtest(c->subs, line);
	}
}

static void fill_from_journal(xeci_igt_results *r, const struct job *job, struct sublist *subs,
			      const char *text, size_t len)
{
	struct journal_ctx c = {r, job, subs, EXIT_INCOMPLETE, false};
	each_line(text, len, journal_line, &c);

	if (subs->n && (c.exitcode == EXIT_ABORT || c.exitcode == EXIT_GRACEFUL)) {
		char *name = piglit_name(job->binary, subs->v[subs->n - 1].name);
		get_test(r, name)->result = c.exitcode == EXIT_ABORT ? "abort" : "notrun";
		free(name);
	}
	if (subs->n == 0) {
		/* Killed before it said which subtest it entered: the job list
		 * knows which one it was meant to run. */
		const char *sub = NULL;
		if (job->nsubs > 0) {
			sub = job->subs[0];
			add_subtest(subs, sub);
		}
		char *name = piglit_name(job->binary, sub);
		get_test(r, name)->result = c.timeout ? "timeout" : result_from_exitcode(c.exitcode);
		free(name);
	}
}

/* ---- out.txt / err.txt ---- */

static const struct {
	const char *str;
	enum what what;
	bool result_line;
} needles[] = {
	{STARTING_SUBTEST, M_START, false},
	{SUBTEST_RESULT, M_RESULT, true},
	{STARTING_DYNAMIC, M_DSTART, false},
	{DYNAMIC_RESULT, M_DRESULT, true},
};

static const char *next_line(const char *line, const char *end)
{
	if (!line || line >= end)
		return NULL;
	const char *nl = memchr(line, '\n', (size_t)(end - line));
	return nl && nl + 1 < end ? nl + 1 : NULL;
}

static bool name_char(char x)
{
	return x == '-' || x == '_' || isalnum((unsigned char)x);
}

/* "PREFIX name: " with a name of [-_a-zA-Z0-9]+ */
static bool is_result_line(const char *line, const char *end, size_t prefix)
{
	line += prefix;
	if (line >= end || !name_char(*line))
		return false;
	while (line < end && name_char(*line))
		line++;
	if (line >= end || *line++ != ':')
		return false;
	return line < end && *line == ' ';
}

static void find_matches(struct matches *m, const char *p, const char *end)
{
	m->n = 0;
	while (p && p < end) {
		for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++) {
			size_t len = strlen(needles[i].str);
			if ((size_t)(end - p) < len || memcmp(p, needles[i].str, len))
				continue;
			if (needles[i].result_line && !is_result_line(p, end, len))
				continue;
			if (m->n == m->cap) {
				m->cap = m->cap ? m->cap * 2 : 16;
				m->v = xeci_realloc(m->v, m->cap * sizeof(*m->v));
			}
			m->v[m->n++] = (struct match){p, needles[i].what};
			break;
		}
		p = next_line(p, end);
	}
}

static const char *prefix_of(enum what w)
{
	return needles[w].str;
}

/* Index in [first, last) of "PREFIXname\n" (begin) or "PREFIXname: " (result);
 * a line cut by the end of the text matches as far as it goes. -1: none. */
static int find_idx(const struct matches *m, const char *end, enum what w, bool result,
		    const char *name, int first, int last)
{
	char *full;
	int len = asprintf(&full, "%s%s%s", prefix_of(w), name, result ? ": " : "\n");
	if (len < 0)
		return -1;
	int k;
	for (k = first < 0 ? 0 : first; k < last; k++) {
		ptrdiff_t rem = end - m->v[k].where;
		if (m->v[k].what == w && rem > 0 && !memcmp(m->v[k].where, full, rem < len ? (size_t)rem : (size_t)len))
			break;
	}
	free(full);
	return k < last ? k : -1;
}

static const char *begin_limit(const struct matches *m, int begin, int result, const char *buf,
			       const char *end, int first)
{
	const char *p;
	if (begin < first && result < first)
		return buf; /* no markers at all: everything */
	if (begin < first) {
		/* a result without a start (a fixture failed or skipped it):
		 * from the line after the marker before the result */
		if (result <= first)
			return buf;
		p = next_line(m->v[result - 1].where, end);
	} else {
		if (begin <= first)
			return buf;
		p = next_line(m->v[begin - 1].where, end);
	}
	return p ? p : end;
}

static const char *end_limit(const struct matches *m, int begin, int result, const char *end,
			     int first, int last)
{
	if (begin < first && result < first)
		return end;
	if (result < first) {
		/* incomplete: up to the next subtest start or result */
		for (int k = begin + 1; k < last; k++)
			if (m->v[k].what == M_START || m->v[k].what == M_RESULT)
				return m->v[k].where;
		return end;
	}
	if (result < last - 1)
		return m->v[result + 1].where;
	return end;
}

static const struct {
	const char *out, *result;
} resultmap[] = {
	{"SUCCESS", "pass"}, {"SKIP", "skip"}, {"FAIL", "fail"}, {"CRASH", "crash"}, {"TIMEOUT", "timeout"},
};

/* "WORD (TIMEs)": WORD is matched as a prefix of a known result (so an empty
 * word is "pass", as in resultgen); unknown words are incomplete. */
static void parse_result_string(const char *s, size_t len, const char **result, double *time)
{
	size_t w = 0;
	while (w < len && !isspace((unsigned char)s[w]))
		w++;
	*result = "incomplete";
	for (size_t i = 0; i < sizeof(resultmap) / sizeof(resultmap[0]); i++) {
		if (!strncmp(s, resultmap[i].out, w)) {
			*result = resultmap[i].result;
			break;
		}
	}
	w++;
	if (w < len && s[w] == '(') {
		w++;
		char *dup = xeci_strndup(s + w, len - w);
		*time = strtod(dup, NULL);
		free(dup);
	}
}

static void parse_subtest_result(const char *name, enum what w, const char **result, double *time,
				 const char *line, const char *end)
{
	*result = "incomplete";
	*time = 0.0;
	if (!line || line >= end)
		return;
	const char *nl = memchr(line, '\n', (size_t)(end - line));
	size_t linelen = nl ? (size_t)(nl - line) : (size_t)(end - line);
	size_t plen = strlen(prefix_of(w)), nlen = strlen(name);
	if (plen + nlen + 2 > linelen || strncmp(line + plen, name, nlen))
		return;
	const char *rs = line + plen + nlen + 2;
	parse_result_string(rs, linelen - (size_t)(rs - line), result, time);
}

static char **text_field(xeci_igt_test *t, bool err)
{
	return err ? &t->err : &t->out;
}

struct output_ctx {
	xeci_igt_results *r;
	const struct matches *m;
	const char *buf, *bufend;
	bool err;
};

static void dynamic_outputs(struct output_ctx *c, const char *parent, int begin, int result,
			    const char *beg, const char *end, struct sub *sub)
{
	const struct matches *m = c->m;
	int n = (int)m->n;
	if (result < 0) {
		/* the subtest is incomplete: stop at the next subtest marker */
		for (result = begin + 1; result < n; result++)
			if (m->v[result].what == M_START || m->v[result].what == M_RESULT)
				break;
	}
	for (int k = begin + 1; k < result; k++) {
		char dname[256];
		if (m->v[k].what != M_DSTART)
			continue;
		if (sscanf(m->v[k].where + strlen(STARTING_DYNAMIC), "%255s", dname) != 1)
			continue;
		int dres = find_idx(m, end, M_DRESULT, true, dname, k, result);
		const char *dbeg = begin_limit(m, k, dres, beg, end, begin + 1);
		const char *dend = end_limit(m, k, dres, end, begin + 1, result);
		char *name = dynamic_name(parent, dname);
		add_dynamic(sub, dname);
		xeci_igt_test *t = get_test(c->r, name);
		free(name);
		set_text(text_field(t, c->err), dbeg, dend);
		if (t->result)
			continue;
		const char *res;
		double time;
		parse_subtest_result(dname, M_DRESULT, &res, &time, dres < 0 ? NULL : m->v[dres].where, dend);
		if (!strcmp(res, "incomplete")) {
			/* a binary that aborted or was stopped passes that on */
			xeci_igt_test *p = find_test(c->r, parent);
			if (p && p->result && (!strcmp(p->result, "abort") || !strcmp(p->result, "notrun")))
				res = p->result;
		}
		t->result = res;
		set_runtime(t, time);
	}
}

static void fill_from_output(xeci_igt_results *r, const char *binary, struct sublist *subs, const char *text,
			     size_t len, bool err)
{
	const char *nul = memchr(text, '\0', len);
	const char *buf = text, *bufend = nul ? nul : text + len; /* stops at a NUL */
	if (subs->n == 0) {
		char *name = piglit_name(binary, NULL);
		set_text(text_field(get_test(r, name), err), buf, bufend);
		free(name);
		return;
	}
	struct matches m = {0};
	find_matches(&m, buf, bufend);
	struct output_ctx c = {r, &m, buf, bufend, err};
	for (size_t i = 0; i < subs->n; i++) {
		char *name = piglit_name(binary, subs->v[i].name);
		xeci_igt_test *t = get_test(r, name);
		int begin = find_idx(&m, bufend, M_START, false, subs->v[i].name, 0, (int)m.n);
		int result = find_idx(&m, bufend, M_RESULT, true, subs->v[i].name, 0, (int)m.n);
		const char *beg = begin_limit(&m, begin, result, buf, bufend, 0);
		const char *end = end_limit(&m, begin, result, bufend, 0, (int)m.n);
		set_text(text_field(t, err), beg, end);
		if (!t->result) {
			double time;
			parse_subtest_result(subs->v[i].name, M_RESULT, &t->result, &time,
					     result < 0 ? NULL : m.v[result].where, end);
			set_runtime(t, time);
		}
		dynamic_outputs(&c, name, begin, result, beg, end, &subs->v[i]);
		free(name);
	}
	free(m.v);
}

/* ---- comms: the runner's socket dump ---- */

/* Newer runners talk to the test over a socket and dump every packet to
 * "comms": a canary ("IGT1"), then a packet (u32 size, u32 type, i32 pid,
 * i32 tid, data), again and again (runnercomms.h). When the dump holds more
 * than the runner's own EXEC packet, resultgen reads the job from it alone,
 * replaying resultgen's state machine below. */

enum { COMMS_ERROR, COMMS_EMPTY, COMMS_SUCCESS };

enum {
	PKT_INVALID,
	PKT_LOG,
	PKT_EXEC,
	PKT_EXIT,
	PKT_SUBTEST_START,
	PKT_SUBTEST_RESULT,
	PKT_DYNAMIC_START,
	PKT_DYNAMIC_RESULT,
	PKT_VERSION,
	PKT_OVERRIDE,
};

#define COMMS_CANARY ((uint32_t)'I' << 24 | (uint32_t)'G' << 16 | (uint32_t)'T' << 8 | (uint32_t)'1')
#define PKT_HEADER 16

struct packet {
	uint32_t type;
	uint8_t stream;
	int32_t exitcode;
	const char *s[4]; /* the packet's strings in order; NULL when missing */
};

static void pkt_cstring(const char **dst, const char **p, uint32_t *left)
{
	const char *end = *left ? memchr(*p, '\0', *left) : NULL;
	if (!end) {
		*left = 0;
		return;
	}
	*dst = *p;
	*left -= (uint32_t)(end - *p + 1);
	*p = end + 1;
}

static void pkt_integer(void *dst, size_t n, const char **p, uint32_t *left)
{
	if (*left < n) {
		*left = 0;
		return;
	}
	memcpy(dst, *p, n);
	*p += n;
	*left -= (uint32_t)n;
}

/* false when the packet lacks what its type needs (resultgen's handlers
 * would dereference NULL there; such packets are skipped) */
static bool read_packet(struct packet *pk, const char *data, uint32_t size, uint32_t type)
{
	static const unsigned strings[] = {
		[PKT_LOG] = 1, [PKT_EXEC] = 1, [PKT_EXIT] = 1, [PKT_SUBTEST_START] = 1,
		[PKT_SUBTEST_RESULT] = 4, [PKT_DYNAMIC_START] = 1, [PKT_DYNAMIC_RESULT] = 4,
		[PKT_VERSION] = 1, [PKT_OVERRIDE] = 1,
	};
	*pk = (struct packet){.type = type};
	if (size < PKT_HEADER || type == PKT_INVALID || type > PKT_OVERRIDE)
		return false;
	uint32_t left = size - PKT_HEADER;
	const char *p = data + PKT_HEADER;
	if (type == PKT_LOG)
		pkt_integer(&pk->stream, 1, &p, &left);
	if (type == PKT_EXIT)
		pkt_integer(&pk->exitcode, 4, &p, &left);
	for (unsigned i = 0; i < strings[type]; i++)
		pkt_cstring(&pk->s[i], &p, &left);
	if (type == PKT_SUBTEST_RESULT || type == PKT_DYNAMIC_RESULT)
		return pk->s[0] && pk->s[1];
	return type == PKT_EXIT || pk->s[0];
}

enum comms_state {
	ST_INITIAL,
	ST_AFTER_EXEC,
	ST_SUBTEST_STARTED,
	ST_DYNAMIC_STARTED,
	ST_BETWEEN_DYNAMIC,
	ST_BETWEEN_SUBTESTS,
	ST_EXITED,
};

struct comms_ctx {
	xeci_igt_results *r;
	const struct job *job;
	struct sublist *subs;
	enum comms_state state;
	xeci_igt_test *cur, *curdyn;
	char *subname, *dynname;
	long cursub; /* index in subs of the subtest dynamic ones go to */
	xeci_buf out, err;
	size_t outidx, nextoutidx, erridx, nexterridx;
	size_t dynoutidx, nextdynoutidx, dynerridx, nextdynerridx;
	const char *subres, *dynres;
	double subtime, dyntime;
};

/* resultgen formats these into char[512] */
static void comms_note(xeci_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void comms_note(xeci_buf *b, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	xeci_buf_puts(b, msg);
}

static void comms_inject(struct comms_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void comms_inject(struct comms_ctx *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	xeci_buf_puts(&c->out, msg);
	xeci_buf_puts(&c->err, msg);
}

static const char *or_null(const char *s)
{
	return s ? s : "(null)";
}

static void comms_slice(char **field, const xeci_buf *b, size_t from)
{
	const char *base = b->ptr ? b->ptr : "";
	set_text(field, base + (from < b->len ? from : b->len), base + b->len);
}

/* resultgen takes err from errbuf + outidx, a slip that reads out of
 * bounds; err is taken from erridx here. */
static void comms_finish_subtest(struct comms_ctx *c)
{
	if (!c->cur)
		return;
	comms_slice(&c->cur->out, &c->out, c->outidx);
	comms_slice(&c->cur->err, &c->err, c->erridx);
	c->cur->result = c->subres ? c->subres : "incomplete";
	add_runtime(c->cur, c->subtime);
	c->subres = NULL;
	c->cur = NULL;
	c->outidx = c->nextoutidx;
	c->erridx = c->nexterridx;
}

static void comms_finish_dynamic(struct comms_ctx *c)
{
	if (!c->curdyn)
		return;
	comms_slice(&c->curdyn->out, &c->out, c->dynoutidx);
	comms_slice(&c->curdyn->err, &c->err, c->dynerridx);
	c->curdyn->result = c->dynres ? c->dynres : "incomplete";
	add_runtime(c->curdyn, c->dyntime);
	c->dynres = NULL;
	c->curdyn = NULL;
	c->dynoutidx = c->nextdynoutidx;
	c->dynerridx = c->nextdynerridx;
}

static void comms_new_subtest(struct comms_ctx *c, const char *name)
{
	add_subtest(c->subs, name);
	/* resultgen points at the last subtest, even when the name was
	 * already listed */
	c->cursub = (long)c->subs->n - 1;
	char *pname = piglit_name(c->job->binary, name);
	c->cur = get_test(c->r, pname);
	free(pname);
	free(c->subname);
	c->subname = xeci_strdup(name);
}

static void comms_new_dynamic(struct comms_ctx *c, const char *name)
{
	if (c->cursub >= 0 && (size_t)c->cursub < c->subs->n)
		add_dynamic(&c->subs->v[c->cursub], name);
	char *parent = piglit_name(c->job->binary, c->subname ? c->subname : "");
	char *dname = dynamic_name(parent, name);
	c->curdyn = get_test(c->r, dname);
	free(parent);
	free(dname);
	free(c->dynname);
	c->dynname = xeci_strdup(name);
}

static const char *mapped_result(const char *s)
{
	const char *res;
	double unused = 0;
	parse_result_string(s, strlen(s), &res, &unused);
	return res;
}

static void comms_exec(struct comms_ctx *c)
{
	if (c->state == ST_AFTER_EXEC) {
		/* a resume of a test without subtests: its logs have no home */
		xeci_buf_clear(&c->out);
		xeci_buf_clear(&c->err);
		c->outidx = c->erridx = c->nextoutidx = c->nexterridx = 0;
	} else if (c->state != ST_INITIAL) {
		comms_finish_subtest(c); /* a resume exec */
	}
	c->state = ST_AFTER_EXEC;
}

static void comms_exit(struct comms_ctx *c, const struct packet *pk)
{
	if (c->state == ST_AFTER_EXEC) {
		/* no subtest seen: the job list's first one, or the binary */
		const char *sub = NULL;
		if (c->job->nsubs > 0) {
			sub = c->job->subs[0];
			add_subtest(c->subs, sub);
		}
		char *name = piglit_name(c->job->binary, sub);
		c->cur = get_test(c->r, name);
		free(name);
		if (!c->subres)
			c->subres = result_from_exitcode(pk->exitcode);
	} else if (pk->exitcode == EXIT_ABORT || pk->exitcode == EXIT_GRACEFUL) {
		c->subres = c->dynres = pk->exitcode == EXIT_ABORT ? "abort" : "notrun";
	}
	c->state = ST_EXITED;
}

static bool comms_subtest_start(struct comms_ctx *c, const char *name)
{
	switch (c->state) {
	case ST_INITIAL:
	case ST_EXITED:
		return false; /* not even running */
	case ST_SUBTEST_STARTED:
	case ST_DYNAMIC_STARTED:
	case ST_BETWEEN_DYNAMIC:
		comms_note(&c->err, "\nrunner: Subtest %s already running when subtest %s starts. This is a test bug.\n",
			   or_null(c->subname), name);
		if (c->state != ST_SUBTEST_STARTED)
			comms_finish_dynamic(c);
		/* fallthrough */
	case ST_BETWEEN_SUBTESTS:
		comms_finish_dynamic(c);
		comms_finish_subtest(c);
		/* fallthrough */
	case ST_AFTER_EXEC:
		comms_new_subtest(c, name);
		comms_inject(c, "%s%s\n", STARTING_SUBTEST, name);
		c->subres = NULL;
		break;
	}
	c->state = ST_SUBTEST_STARTED;
	return true;
}

static bool comms_subtest_result(struct comms_ctx *c, const struct packet *pk)
{
	const char *name = pk->s[0], *res = pk->s[1], *time = pk->s[2];
	switch (c->state) {
	case ST_INITIAL:
	case ST_EXITED:
		return false;
	case ST_DYNAMIC_STARTED:
		comms_note(&c->err, "\nrunner: Dynamic subtest %s still running when subtest %s ended. This is a test bug.\n",
			   or_null(c->dynname), name);
		comms_finish_dynamic(c);
		break;
	case ST_BETWEEN_SUBTESTS:
		comms_finish_subtest(c);
		comms_new_subtest(c, name);
		break;
	case ST_AFTER_EXEC:
		comms_new_subtest(c, name); /* a fixture ended it before it began */
		break;
	case ST_SUBTEST_STARTED:
	case ST_BETWEEN_DYNAMIC:
		break;
	}
	comms_inject(c, "%s%s: %s (%ss)\n", SUBTEST_RESULT, name, res, or_null(time));
	c->nextoutidx = c->out.len;
	c->nexterridx = c->err.len;
	if (!c->subres) { /* else an override came first */
		c->subres = mapped_result(res);
		c->subtime = time ? strtod(time, NULL) : 0.0;
	}
	c->state = ST_BETWEEN_SUBTESTS;
	return true;
}

static bool comms_dynamic_start(struct comms_ctx *c, const char *name)
{
	switch (c->state) {
	case ST_INITIAL:
	case ST_EXITED:
	case ST_AFTER_EXEC:
		return false;
	case ST_BETWEEN_SUBTESTS:
		comms_note(&c->err, "\nrunner: Dynamic subtest %s started when not inside a subtest. This is a test bug.\n",
			   name);
		return true;
	case ST_DYNAMIC_STARTED:
		comms_note(&c->err,
			   "\nrunner: Dynamic subtest %s already running when dynamic subtest %s starts. This is a test bug.\n",
			   or_null(c->dynname), name);
		/* fallthrough */
	case ST_BETWEEN_DYNAMIC:
		comms_finish_dynamic(c);
		/* fallthrough */
	case ST_SUBTEST_STARTED:
		comms_new_dynamic(c, name);
		comms_inject(c, "%s%s\n", STARTING_DYNAMIC, name);
		c->dynres = NULL;
		break;
	}
	c->state = ST_DYNAMIC_STARTED;
	return true;
}

static bool comms_dynamic_result(struct comms_ctx *c, const struct packet *pk)
{
	const char *name = pk->s[0], *res = pk->s[1], *time = pk->s[2];
	switch (c->state) {
	case ST_INITIAL:
	case ST_EXITED:
	case ST_AFTER_EXEC:
		return false;
	case ST_BETWEEN_SUBTESTS:
		comms_note(&c->err, "\nrunner: Dynamic subtest %s result when not inside a subtest. This is a test bug.\n",
			   name);
		return true;
	case ST_BETWEEN_DYNAMIC:
		comms_finish_dynamic(c);
		/* fallthrough */
	case ST_SUBTEST_STARTED:
		comms_new_dynamic(c, name);
		break;
	case ST_DYNAMIC_STARTED:
		break;
	}
	comms_inject(c, "%s%s: %s (%ss)\n", DYNAMIC_RESULT, name, res, or_null(time));
	c->nextdynoutidx = c->out.len;
	c->nextdynerridx = c->err.len;
	if (!c->dynres) {
		c->dynres = mapped_result(res);
		c->dyntime = time ? strtod(time, NULL) : 0.0;
	}
	c->state = ST_BETWEEN_DYNAMIC;
	return true;
}

/* A result as the runner wrote it ("abort", "warn", ...). */
static const char *intern_result(xeci_igt_results *r, const char *s)
{
	static const char *const known[] = {"pass", "fail", "skip", "crash", "timeout", "incomplete",
					    "abort", "dmesg-warn", "dmesg-fail", "warn", "notrun"};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(known[i], s))
			return known[i];
	r->owned = xeci_realloc(r->owned, (r->nowned + 1) * sizeof(*r->owned));
	return r->owned[r->nowned++] = xeci_strdup(s);
}

static bool comms_packet(struct comms_ctx *c, const struct packet *pk)
{
	switch (pk->type) {
	case PKT_LOG:
		xeci_buf_puts(pk->stream == 1 ? &c->out : &c->err, pk->s[0]);
		return true;
	case PKT_EXEC:
		comms_exec(c);
		return true;
	case PKT_EXIT:
		comms_exit(c, pk);
		return true;
	case PKT_SUBTEST_START:
		return comms_subtest_start(c, pk->s[0]);
	case PKT_SUBTEST_RESULT:
		return comms_subtest_result(c, pk);
	case PKT_DYNAMIC_START:
		return comms_dynamic_start(c, pk->s[0]);
	case PKT_DYNAMIC_RESULT:
		return comms_dynamic_result(c, pk);
	case PKT_OVERRIDE:
		if (c->curdyn)
			c->dynres = intern_result(c->r, pk->s[0]);
		c->subres = intern_result(c->r, pk->s[0]);
		return true;
	default:
		return true; /* version string, unknown types */
	}
}

static int read_comms(struct comms_ctx *c, const char *buf, size_t len)
{
	size_t off = 0;
	int ret = COMMS_EMPTY;
	bool cont = true;
	while (off != len && cont) {
		uint32_t canary, size, type;
		if (len - off >= 4) {
			memcpy(&canary, buf + off, 4);
			if (canary != COMMS_CANARY)
				return COMMS_ERROR;
		}
		off += 4;
		if (off > len || len - off < PKT_HEADER)
			return COMMS_ERROR; /* cut short: the machine died mid-write */
		memcpy(&size, buf + off, 4);
		memcpy(&type, buf + off + 4, 4);
		if (len - off < size)
			return COMMS_ERROR;
		const char *data = buf + off;
		off += size;
		/* the runner's own EXEC alone means the test did not use comms */
		if (type != PKT_EXEC)
			ret = COMMS_SUCCESS;
		struct packet pk;
		if (read_packet(&pk, data, size, type))
			cont = comms_packet(c, &pk);
	}
	return cont ? ret : COMMS_ERROR;
}

static int fill_from_comms(xeci_igt_results *r, const struct job *job, struct sublist *subs, const char *buf,
			   size_t len)
{
	struct comms_ctx c = {.r = r, .job = job, .subs = subs, .cursub = -1};
	int ret = read_comms(&c, buf, len);
	comms_finish_dynamic(&c);
	comms_finish_subtest(&c);
	free(c.subname);
	free(c.dynname);
	xeci_buf_free(&c.out);
	xeci_buf_free(&c.err);
	return ret;
}

/* ---- dmesg.txt ---- */

struct dmesg_ctx {
	xeci_igt_results *r;
	const struct settings *s;
	const char *binary;
	regex_t re;
	regex_t ignore;
	bool has_ignore;
	xeci_igt_test *cur, *curdyn;
	char *parent; /* piglit name of the last subtest started */
	xeci_buf dmesg, warnings, ddmesg, dwarnings;
	bool has_warnings, has_dwarnings; /* resultgen: buffer non-NULL */
};

static void add_dmesg(xeci_igt_test *t, const xeci_buf *dmesg, const xeci_buf *warnings)
{
	free(t->dmesg);
	t->dmesg = xeci_strndup(dmesg->ptr ? dmesg->ptr : "", dmesg->len);
	if (warnings) {
		free(t->warnings);
		t->warnings = xeci_strndup(warnings->ptr ? warnings->ptr : "", warnings->len);
	}
}

static void clear_ignore(struct dmesg_ctx *c)
{
	if (c->has_ignore)
		regfree(&c->ignore);
	c->has_ignore = false;
}

/* "<flags>,<seq>,<usec>,<cont>;message" as /dev/kmsg gives it */
static bool parse_kmsg(char *line, unsigned *flags, unsigned long long *usec, char *cont, char **msg)
{
	unsigned long long seq;
	if (sscanf(line, "%u,%llu,%llu,%c;", flags, &seq, usec, cont) != 4)
		return false;
	*msg = strchr(line, ';');
	if (!*msg)
		return false;
	(*msg)++;
	return true;
}

/* "<level> [sec.usec] message", with the \xNN escapes of kmsg decoded where
 * they stand for printable or space characters */
static char *format_kmsg(const char *msg, unsigned flags, unsigned long long usec)
{
	xeci_buf b = XECI_BUF_INIT;
	xeci_buf_printf(&b, "<%u> [%llu.%06llu] ", flags & 0x07, usec / 1000000, usec % 1000000);
	size_t len = strlen(msg);
	for (const char *p = msg; *p; p++) {
		if ((size_t)(p - msg) + 4 < len && p[0] == '\\' && p[1] == 'x') {
			int ch = 0;
			if (sscanf(p, "\\x%2x", &ch) == 1 && ch >= -1 && ch <= 255 && (isprint(ch) || isspace(ch))) {
				xeci_buf_putc(&b, (char)ch);
				p += 3;
				continue;
			}
		}
		xeci_buf_putc(&b, *p);
	}
	return xeci_buf_detach(&b);
}

static void flush_dynamic(struct dmesg_ctx *c)
{
	if (c->curdyn)
		add_dmesg(c->curdyn, &c->ddmesg, c->has_dwarnings ? &c->dwarnings : NULL);
	xeci_buf_clear(&c->ddmesg);
	xeci_buf_clear(&c->dwarnings);
	c->has_dwarnings = false;
}

static void dmesg_subtest_start(struct dmesg_ctx *c, const char *name)
{
	if (c->cur) {
		add_dmesg(c->cur, &c->dmesg, c->has_warnings ? &c->warnings : NULL);
		xeci_buf_clear(&c->dmesg);
		xeci_buf_clear(&c->warnings);
		c->has_warnings = false;
		flush_dynamic(c);
		c->curdyn = NULL;
	}
	free(c->parent);
	c->parent = piglit_name(c->binary, name);
	c->cur = get_test(c->r, c->parent);
	clear_ignore(c);
}

static void dmesg_dynamic_start(struct dmesg_ctx *c, const char *name)
{
	if (c->curdyn)
		flush_dynamic(c);
	char *full = dynamic_name(c->parent, name);
	c->curdyn = get_test(c->r, full);
	free(full);
	clear_ignore(c);
}

static void dmesg_line(char *line, void *ctx)
{
	struct dmesg_ctx *c = ctx;
	unsigned flags;
	unsigned long long usec;
	char cont, *msg, *s;
	if (!parse_kmsg(line, &flags, &usec, &cont, &msg))
		return;
	char *formatted = format_kmsg(msg, flags, usec);
	if ((s = strstr(msg, STARTING_SUBTEST_DMESG)))
		dmesg_subtest_start(c, s + strlen(STARTING_SUBTEST_DMESG));
	if (c->cur && (s = strstr(msg, STARTING_DYNAMIC_DMESG)))
		dmesg_dynamic_start(c, s + strlen(STARTING_DYNAMIC_DMESG));
	if ((s = strstr(msg, IGNORE_REGEX_DMESG))) {
		/* a test asks for kernel messages it expects to be ignored */
		s += strlen(IGNORE_REGEX_DMESG);
		char *nl = strchr(s, '\n');
		if (nl)
			*nl = '\0';
		clear_ignore(c);
		c->has_ignore = regcomp(&c->ignore, s, REG_EXTENDED | REG_NOSUB) == 0;
	}
	bool listed = regexec(&c->re, msg, 0, NULL, 0) == 0;
	bool ignored = c->has_ignore && regexec(&c->ignore, msg, 0, NULL, 0) == 0;
	if ((flags & 0x07) <= (unsigned)c->s->warn_level && cont != 'c' &&
	    (c->s->piglit_style ? listed : !listed) && !ignored) {
		xeci_buf_puts(&c->warnings, formatted);
		c->has_warnings = true;
		if (c->cur) {
			xeci_buf_puts(&c->dwarnings, formatted);
			c->has_dwarnings = true;
		}
	}
	xeci_buf_puts(&c->dmesg, formatted);
	xeci_buf_puts(&c->ddmesg, formatted);
	free(formatted);
}

static void add_empty_dmesgs(xeci_igt_results *r, const char *binary, const struct sublist *subs)
{
	static const xeci_buf empty = XECI_BUF_INIT;
	for (size_t i = 0; i < subs->n; i++) {
		char *name = piglit_name(binary, subs->v[i].name);
		xeci_igt_test *t = get_test(r, name);
		if (!t->dmesg)
			add_dmesg(t, &empty, NULL);
		for (size_t k = 0; k < subs->v[i].ndyn; k++) {
			char *dname = dynamic_name(name, subs->v[i].dyn[k]);
			t = get_test(r, dname);
			if (!t->dmesg)
				add_dmesg(t, &empty, NULL);
			free(dname);
		}
		free(name);
	}
}

static void fill_from_dmesg(xeci_igt_results *r, const struct settings *s, const char *binary,
			    const struct sublist *subs, const char *text, size_t len)
{
	struct dmesg_ctx c = {.r = r, .s = s, .binary = binary};
	const char *re = s->piglit_style ? DMESG_PIGLIT_BLACKLIST : DMESG_WHITELIST;
	if (regcomp(&c.re, re, REG_EXTENDED | REG_NOSUB) != 0)
		return;
	each_line(text, len, dmesg_line, &c);
	if (c.cur) {
		add_dmesg(c.cur, &c.dmesg, c.has_warnings ? &c.warnings : NULL);
		if (c.curdyn)
			add_dmesg(c.curdyn, &c.ddmesg, c.has_dwarnings ? &c.dwarnings : NULL);
	} else {
		/* No subtest in the kernel log: all of it goes to every subtest
		 * (without warnings: they would be skips anyway), or to the
		 * binary when it has none. */
		for (size_t i = 0; i < subs->n; i++) {
			char *name = piglit_name(binary, subs->v[i].name);
			add_dmesg(get_test(r, name), &c.dmesg, NULL);
			free(name);
		}
		if (subs->n == 0) {
			char *name = piglit_name(binary, NULL);
			add_dmesg(get_test(r, name), &c.dmesg, c.has_warnings ? &c.warnings : NULL);
			free(name);
		}
	}
	add_empty_dmesgs(r, binary, subs);
	clear_ignore(&c);
	regfree(&c.re);
	free(c.parent);
	xeci_buf_free(&c.dmesg);
	xeci_buf_free(&c.warnings);
	xeci_buf_free(&c.ddmesg);
	xeci_buf_free(&c.dwarnings);
}

/* ---- result overrides and pruning ---- */

/* resultgen's test: walking the marker lines from the top, stderr has a
 * warning when one of them is not on the next line; lines after the last
 * marker are not looked at. */
static bool stderr_has_warnings(const char *beg, const char *end)
{
	struct matches m = {0};
	bool found = false;
	find_matches(&m, beg, end);
	for (size_t i = 0; i < m.n; i++) {
		if (m.v[i].where != beg) {
			found = true;
			break;
		}
		beg = next_line(beg, end);
	}
	free(m.v);
	return found;
}

static bool has_data(const char *s)
{
	return s && *s;
}

static void override_one(xeci_igt_test *t)
{
	const char *err = t->err ? t->err : "";
	const char *result = t->result ? t->result : "";
	if (!strcmp(result, "pass") && stderr_has_warnings(err, err + strlen(err)))
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
		char *name = piglit_name(binary, NULL);
		override_one(get_test(r, name));
		free(name);
		return;
	}
	for (size_t i = 0; i < subs->n; i++) {
		char *name = piglit_name(binary, subs->v[i].name);
		override_one(get_test(r, name));
		for (size_t k = 0; k < subs->v[i].ndyn; k++) {
			char *dname = dynamic_name(name, subs->v[i].dyn[k]);
			override_one(get_test(r, dname));
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
		char *name = piglit_name(job->binary, sub->name);
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
				char *dname = dynamic_name(name, sub->dyn[k]);
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
	xeci_igt_test *t = get_test(r, name);
	set_text(&t->out, NULL, NULL);
	set_text(&t->err, NULL, NULL);
	set_text(&t->dmesg, NULL, NULL);
	t->result = "notrun";
}

static void add_notrun(xeci_igt_results *r, const struct settings *s, const struct job *job)
{
	/* in multiple mode "no subtests" and "all subtests" look alike */
	if (job->nsubs == 0 && !s->multiple_mode) {
		char *name = piglit_name(job->binary, NULL);
		set_notrun(r, name);
		free(name);
	}
	for (size_t i = 0; i < job->nsubs; i++) {
		char *name = piglit_name(job->binary, job->subs[i]);
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
		int rc = comms && clen ? fill_from_comms(r, job, &subs, comms, clen) : COMMS_EMPTY;
		r->comms_jobs += rc != COMMS_EMPTY;
		if (rc == COMMS_EMPTY) {
			/* the journal says which subtests began, out/err the rest */
			if (journal)
				fill_from_journal(r, job, &subs, journal, jlen);
			fill_from_output(r, job->binary, &subs, out, olen, false);
			fill_from_output(r, job->binary, &subs, err, elen, true);
		}
		fill_from_dmesg(r, s, job->binary, &subs, dmesg, dlen);
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
	xeci_igt_test *t = get_test(r, "igt@runner@aborted");
	set_text(&t->out, text, nul ? nul : text + n);
	set_text(&t->err, NULL, NULL);
	set_text(&t->dmesg, NULL, NULL);
	t->result = "fail";
	free(text);
}

static int read_joblist(struct joblist *jl, const char *dir)
{
	size_t len;
	char *text = read_file_at(dir, "joblist.txt", &len);
	if (!text)
		return xeci_error_setc(XECI_ENOTFOUND, "%s/joblist.txt: cannot read", dir);
	each_line(text, len, job_line, jl);
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
	return find_test(r, name);
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
