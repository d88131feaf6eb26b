/* The text path of IGT's runner/resultgen.c for one job: journal.txt (which
 * subtests began, how the binary exited), the subtest markers of out.txt and
 * err.txt, and the kernel log rules of dmesg.txt (levels, the whitelist, the
 * tests' ignore regexes). See results_igt.c. */
#define _GNU_SOURCE
#include <ctype.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "results_igt_int.h"
#include "util.h"

static const char STARTING_SUBTEST_DMESG[] = ": starting subtest ";
static const char STARTING_DYNAMIC_DMESG[] = ": starting dynamic subtest ";
static const char IGNORE_REGEX_DMESG[] = "add ignored dmesg regex: ";

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

enum what { M_START, M_RESULT, M_DSTART, M_DRESULT };

struct match {
	const char *where;
	enum what what;
};

struct matches {
	struct match *v;
	size_t n, cap;
};

/* ---- journal.txt ---- */

const char *xeci_igt__result_from_exitcode(int code)
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
			char *name = xeci_igt__piglit_name(c->job->binary, NULL);
			xeci_igt__add_runtime(xeci_igt__get_test(c->r, name), time_in_parens(line));
			free(name);
		}
	} else if (xeci_str_startswith(line, "timeout:")) {
		c->timeout = true;
		if (c->subs->n) {
			/* the timeout belongs to the subtest last started */
			char *name = xeci_igt__piglit_name(c->job->binary, c->subs->v[c->subs->n - 1].name);
			xeci_igt_test *t = xeci_igt__get_test(c->r, name);
			t->result = "timeout";
			xeci_igt__add_runtime(t, time_in_parens(line));
			free(name);
		}
	} else {
		xeci_igt__add_subtest(c->subs, line);
	}
}

void xeci_igt__fill_from_journal(xeci_igt_results *r, const struct job *job, struct sublist *subs,
				 const char *text, size_t len)
{
	struct journal_ctx c = {r, job, subs, EXIT_INCOMPLETE, false};
	xeci_igt__each_line(text, len, journal_line, &c);

	if (subs->n && (c.exitcode == EXIT_ABORT || c.exitcode == EXIT_GRACEFUL)) {
		char *name = xeci_igt__piglit_name(job->binary, subs->v[subs->n - 1].name);
		xeci_igt__get_test(r, name)->result = c.exitcode == EXIT_ABORT ? "abort" : "notrun";
		free(name);
	}
	if (subs->n == 0) {
		/* Killed before it said which subtest it entered: the job list
		 * knows which one it was meant to run. */
		const char *sub = NULL;
		if (job->nsubs > 0) {
			sub = job->subs[0];
			xeci_igt__add_subtest(subs, sub);
		}
		char *name = xeci_igt__piglit_name(job->binary, sub);
		xeci_igt__get_test(r, name)->result = c.timeout ? "timeout" : xeci_igt__result_from_exitcode(c.exitcode);
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
void xeci_igt__parse_result_string(const char *s, size_t len, const char **result, double *time)
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
	xeci_igt__parse_result_string(rs, linelen - (size_t)(rs - line), result, time);
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
		char *name = xeci_igt__dynamic_name(parent, dname);
		xeci_igt__add_dynamic(sub, dname);
		xeci_igt_test *t = xeci_igt__get_test(c->r, name);
		free(name);
		xeci_igt__set_text(text_field(t, c->err), dbeg, dend);
		if (t->result)
			continue;
		const char *res;
		double time;
		parse_subtest_result(dname, M_DRESULT, &res, &time, dres < 0 ? NULL : m->v[dres].where, dend);
		if (!strcmp(res, "incomplete")) {
			/* a binary that aborted or was stopped passes that on */
			xeci_igt_test *p = xeci_igt__find_test(c->r, parent);
			if (p && p->result && (!strcmp(p->result, "abort") || !strcmp(p->result, "notrun")))
				res = p->result;
		}
		t->result = res;
		xeci_igt__set_runtime(t, time);
	}
}

void xeci_igt__fill_from_output(xeci_igt_results *r, const char *binary, struct sublist *subs,
				const char *text, size_t len, bool err)
{
	const char *nul = memchr(text, '\0', len);
	const char *buf = text, *bufend = nul ? nul : text + len; /* stops at a NUL */
	if (subs->n == 0) {
		char *name = xeci_igt__piglit_name(binary, NULL);
		xeci_igt__set_text(text_field(xeci_igt__get_test(r, name), err), buf, bufend);
		free(name);
		return;
	}
	struct matches m = {0};
	find_matches(&m, buf, bufend);
	struct output_ctx c = {r, &m, buf, bufend, err};
	for (size_t i = 0; i < subs->n; i++) {
		char *name = xeci_igt__piglit_name(binary, subs->v[i].name);
		xeci_igt_test *t = xeci_igt__get_test(r, name);
		int begin = find_idx(&m, bufend, M_START, false, subs->v[i].name, 0, (int)m.n);
		int result = find_idx(&m, bufend, M_RESULT, true, subs->v[i].name, 0, (int)m.n);
		const char *beg = begin_limit(&m, begin, result, buf, bufend, 0);
		const char *end = end_limit(&m, begin, result, bufend, 0, (int)m.n);
		xeci_igt__set_text(text_field(t, err), beg, end);
		if (!t->result) {
			double time;
			parse_subtest_result(subs->v[i].name, M_RESULT, &t->result, &time,
					     result < 0 ? NULL : m.v[result].where, end);
			xeci_igt__set_runtime(t, time);
		}
		dynamic_outputs(&c, name, begin, result, beg, end, &subs->v[i]);
		free(name);
	}
	free(m.v);
}

/* resultgen's test: walking the marker lines from the top, stderr has a
 * warning when one of them is not on the next line; lines after the last
 * marker are not looked at. */
bool xeci_igt__stderr_has_warnings(const char *beg, const char *end)
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
	c->parent = xeci_igt__piglit_name(c->binary, name);
	c->cur = xeci_igt__get_test(c->r, c->parent);
	clear_ignore(c);
}

static void dmesg_dynamic_start(struct dmesg_ctx *c, const char *name)
{
	if (c->curdyn)
		flush_dynamic(c);
	char *full = xeci_igt__dynamic_name(c->parent, name);
	c->curdyn = xeci_igt__get_test(c->r, full);
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
		char *name = xeci_igt__piglit_name(binary, subs->v[i].name);
		xeci_igt_test *t = xeci_igt__get_test(r, name);
		if (!t->dmesg)
			add_dmesg(t, &empty, NULL);
		for (size_t k = 0; k < subs->v[i].ndyn; k++) {
			char *dname = xeci_igt__dynamic_name(name, subs->v[i].dyn[k]);
			t = xeci_igt__get_test(r, dname);
			if (!t->dmesg)
				add_dmesg(t, &empty, NULL);
			free(dname);
		}
		free(name);
	}
}

void xeci_igt__fill_from_dmesg(xeci_igt_results *r, const struct settings *s, const char *binary,
			       const struct sublist *subs, const char *text, size_t len)
{
	struct dmesg_ctx c = {.r = r, .s = s, .binary = binary};
	const char *re = s->piglit_style ? DMESG_PIGLIT_BLACKLIST : DMESG_WHITELIST;
	if (regcomp(&c.re, re, REG_EXTENDED | REG_NOSUB) != 0)
		return;
	xeci_igt__each_line(text, len, dmesg_line, &c);
	if (c.cur) {
		add_dmesg(c.cur, &c.dmesg, c.has_warnings ? &c.warnings : NULL);
		if (c.curdyn)
			add_dmesg(c.curdyn, &c.ddmesg, c.has_dwarnings ? &c.dwarnings : NULL);
	} else {
		/* No subtest in the kernel log: all of it goes to every subtest
		 * (without warnings: they would be skips anyway), or to the
		 * binary when it has none. */
		for (size_t i = 0; i < subs->n; i++) {
			char *name = xeci_igt__piglit_name(binary, subs->v[i].name);
			add_dmesg(xeci_igt__get_test(r, name), &c.dmesg, NULL);
			free(name);
		}
		if (subs->n == 0) {
			char *name = xeci_igt__piglit_name(binary, NULL);
			add_dmesg(xeci_igt__get_test(r, name), &c.dmesg, c.has_warnings ? &c.warnings : NULL);
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
