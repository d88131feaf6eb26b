/* KTAP parser: a port of kunit_parser.py's parse_test() (Linux 6.12) over
 * the log as Python decodes it, so that names and statuses agree with
 * kunit.py to the byte; see results_ktap.h for where it reads more. */
#define _GNU_SOURCE
#include "results_ktap.h"
#include "results_ktap_int.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "util.h"

#define MAX_DEPTH 256
#define MAX_TESTS 100000
#define MAX_MISSING 1000 /* per parent: a plan of 10^9 cut off at once costs nothing */

/* kunit_parser.TestStatus */
enum kstatus { K_SUCCESS, K_FAILURE, K_SKIPPED, K_CRASHED, K_NO_TESTS };

typedef struct node {
	view name;
	view directive;
	enum kstatus status;
	bool missing;      /* announced by the plan, never came */
	bool incomplete;   /* missing and not the first missing one */
	size_t num;        /* its number in its parent */
	size_t log_first;  /* raw line range of its log */
	size_t log_end;
	size_t first_child; /* node index + 1, 0 for none */
	size_t last_child;
	size_t next;
} node;

/* kunit_parser.LineStream over extract_tap_lines(), restartable so that a
 * later document gets its own prefix. */
typedef struct stream {
	const char *text;
	const line *lines;
	size_t nlines;
	size_t pos;      /* raw line of the current line */
	bool started;
	size_t prefix;   /* characters cut from each line */
	bool ended;      /* an end line or the end of the log */
	bool end_line;   /* ended on an end line at pos */
	bool have;
	view cur;
	size_t pops;
} stream;

typedef struct parser {
	stream s;
	node *nodes;
	size_t n, cap;
	bool full; /* MAX_TESTS reached: stop */
} parser;

struct xeci_ktap_results {
	char *text; /* the decoded log */
	size_t text_len;
	xeci_ktap_result *res;
	size_t n, cap;
	xeci_buf paths; /* every path, back to back */
	size_t *path_off;
};

/* --- The patterns of kunit_parser.py, by hand --- */

static bool eat(view *v, const char *lit)
{
	size_t n = strlen(lit);
	if (v->len < n || memcmp(v->s, lit, n) != 0)
		return false;
	v->s += n;
	v->len -= n;
	return true;
}

static size_t eat_digits(view *v)
{
	size_t i = 0;
	while (i < v->len && v->s[i] >= '0' && v->s[i] <= '9')
		i++;
	v->s += i;
	v->len -= i;
	return i;
}

static view skip_space(view v)
{
	size_t n = xeci_ktap__lspace(v);
	return (view){v.s + n, v.len - n};
}

static const char *find(view v, const char *lit)
{
	size_t n = strlen(lit);
	return v.len >= n ? memmem(v.s, v.len, lit, n) : NULL;
}

/* `\s*KTAP version ([0-9]+)$` with match() */
static bool is_version(view v, const char *word)
{
	v = skip_space(v);
	return eat(&v, word) && eat(&v, " version ") && eat_digits(&v) && v.len == 0;
}

/* The same with search(): the line ends with "WORD version N". */
static bool has_version(view v, const char *word)
{
	size_t d = 0;
	while (d < v.len && v.s[v.len - 1 - d] >= '0' && v.s[v.len - 1 - d] <= '9')
		d++;
	size_t w = strlen(word) + strlen(" version ");
	if (!d || v.len < d + w)
		return false;
	view tail = {v.s + v.len - d - w, w};
	return eat(&tail, word) && eat(&tail, " version ");
}

/* `^\s*# Subtest: (.*)$` */
static bool is_header(view v, view *name)
{
	v = skip_space(v);
	if (!eat(&v, "# Subtest: "))
		return false;
	if (name)
		*name = v;
	return true;
}

/* `^\s*1\.\.([0-9]+)` */
static bool is_plan(view v, size_t *count)
{
	v = skip_space(v);
	if (!eat(&v, "1.."))
		return false;
	const char *d = v.s;
	size_t n = eat_digits(&v);
	if (!n)
		return false;
	if (count) {
		size_t c = 0;
		for (size_t i = 0; i < n; i++)
			c = c > SIZE_MAX / 10 - 1 ? SIZE_MAX / 2 : c * 10 + (size_t)(d[i] - '0');
		*count = c;
	}
	return true;
}

typedef struct result_line {
	bool ok;
	view name;      /* TEST_RESULT group 4 */
	view directive; /* group 5 without " # " */
	bool skip;
	view skip_name; /* TEST_RESULT_SKIP group 4 */
} result_line;

/* `(.*) # SKIP(.*)$` over v: the last " # SKIP". */
static bool skip_split(view v, view *name)
{
	const char *last = NULL;
	for (const char *p = v.s; (p = memmem(p, (size_t)(v.s + v.len - p), " # SKIP", 7)); p++)
		last = p;
	if (!last)
		return false;
	*name = (view){v.s, (size_t)(last - v.s)};
	return true;
}

/* `([^#]*)( # .*)?$` over v */
static bool split_hash(view v, result_line *r)
{
	const char *hash = memchr(v.s, '#', v.len);
	if (!hash) {
		r->name = v;
		r->directive = (view){NULL, 0};
		return true;
	}
	size_t k = (size_t)(hash - v.s);
	if (k == 0 || v.s[k - 1] != ' ' || k + 1 >= v.len || v.s[k + 1] != ' ')
		return false;
	r->name = (view){v.s, k - 1};
	r->directive = (view){hash + 2, v.len - k - 2};
	return true;
}

/* `^\s*(ok|not ok) ([0-9]+) (- )?([^#]*)( # .*)?$` and
 * `^\s*(ok|not ok) ([0-9]+) (- )?(.*) # SKIP(.*)$` */
static bool is_result(view v, result_line *r)
{
	result_line tmp;
	if (!r)
		r = &tmp;
	memset(r, 0, sizeof(*r));
	v = skip_space(v);
	if (eat(&v, "ok"))
		r->ok = true;
	else if (!eat(&v, "not ok"))
		return false;
	if (!eat(&v, " ") || !eat_digits(&v) || !eat(&v, " "))
		return false;
	view rest = v;
	bool dash = eat(&v, "- ");
	/* The greedy "(- )?" gives way when the rest only fits without it. */
	if (!split_hash(v, r) && !(dash && split_hash(rest, r)))
		return false;
	r->skip = skip_split(v, &r->skip_name) || (dash && skip_split(rest, &r->skip_name));
	return true;
}

static bool is_end(view v)
{
	return find(v, "List of all partitions:") || find(v, "Kernel panic - not syncing: VFS:") ||
	       find(v, "reboot: System halted");
}

static bool view_eq(view a, view b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, a.len) == 0);
}

/* --- LineStream --- */

static view raw_line(const stream *s, size_t i)
{
	return (view){s->text + s->lines[i].off, s->lines[i].len};
}

/* line[prefix:], counting characters */
static view cut_prefix(view v, size_t prefix)
{
	size_t i = 0;
	for (size_t c = 0; c < prefix && i < v.len; c++) {
		i++;
		while (i < v.len && ((unsigned char)v.s[i] & 0xC0) == 0x80)
			i++;
	}
	return (view){v.s + i, v.len - i};
}

static size_t chars(const char *s, size_t len)
{
	size_t c = 0;
	for (size_t i = 0; i < len; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

static bool start_at(stream *s, view v, const char *word)
{
	if (!has_version(v, word))
		return false;
	const char *at = find(v, strcmp(word, "KTAP") == 0 ? "KTAP version" : "TAP version");
	s->prefix = chars(v.s, (size_t)(at - v.s));
	s->started = true;
	s->cur = cut_prefix(v, s->prefix);
	return true;
}

static bool peek(stream *s, view *out)
{
	while (!s->have && !s->ended) {
		if (s->pos >= s->nlines) {
			s->ended = true;
			break;
		}
		view v = raw_line(s, s->pos);
		if (!s->started) {
			if (start_at(s, v, "KTAP") || start_at(s, v, "TAP")) {
				s->have = true;
			} else if (find(v, "kunit executor: ")) {
				s->cur = v;
				s->have = true;
			} else {
				s->pos++;
			}
		} else if (is_end(v)) {
			s->ended = true;
			s->end_line = true;
		} else {
			s->cur = cut_prefix(v, s->prefix);
			s->have = true;
		}
	}
	if (out)
		*out = s->have ? s->cur : (view){"", 0};
	return s->have;
}

static void pop(stream *s)
{
	if (!peek(s, NULL))
		return;
	s->have = false;
	s->pos++;
	s->pops++;
}

/* Back to "not started" from the first line not read: a new document. */
static void restart(stream *s)
{
	if (s->end_line)
		s->pos++;
	s->started = s->ended = s->end_line = s->have = false;
}

/* --- parse_test() --- */

static size_t node_new(parser *p)
{
	if (p->n == p->cap)
		p->nodes = xeci_realloc(p->nodes, (p->cap = p->cap ? p->cap * 2 : 64) * sizeof(node));
	node *t = &p->nodes[p->n];
	memset(t, 0, sizeof(*t));
	t->status = K_CRASHED;
	if (p->n + 1 >= MAX_TESTS)
		p->full = true;
	return p->n++;
}

static void add_child(parser *p, size_t parent, size_t child, size_t num)
{
	node *t = &p->nodes[parent];
	p->nodes[child].num = num;
	if (t->last_child)
		p->nodes[t->last_child - 1].next = child + 1;
	else
		t->first_child = child + 1;
	t->last_child = child + 1;
}

/* parse_diagnostic(): skips lines that are none of the known kinds. */
static void skip_diagnostic(stream *s)
{
	view v;
	while (peek(s, &v) && !is_result(v, NULL) && !is_header(v, NULL) &&
	       !is_version(v, "KTAP") && !is_version(v, "TAP") && !is_plan(v, NULL))
		pop(s);
}

static bool header_version(stream *s)
{
	view v;
	if (!peek(s, &v) || !(is_version(v, "KTAP") || is_version(v, "TAP")))
		return false;
	pop(s);
	return true;
}

static bool header_name(stream *s, node *t)
{
	view v;
	if (!peek(s, &v) || !is_header(v, &t->name))
		return false;
	pop(s);
	return true;
}

static bool plan(stream *s, size_t *count)
{
	view v;
	if (!peek(s, &v) || !is_plan(v, count))
		return false;
	pop(s);
	return true;
}

static bool name_matches(stream *s, const node *t)
{
	view v;
	result_line r;
	return peek(s, &v) && is_result(v, &r) && view_eq(r.name, t->name);
}

static void result(stream *s, node *t)
{
	view v;
	result_line r;
	if (!peek(s, &v) || !is_result(v, &r))
		return;
	pop(s);
	t->name = r.skip ? r.skip_name : r.name;
	t->directive = r.directive;
	if (r.skip)
		t->status = K_SKIPPED;
	else
		t->status = r.ok ? K_SUCCESS : K_FAILURE;
}

static size_t parse_test(parser *p, size_t log_first, bool is_subtest, int depth);

/* The loop over the subtests of t. */
static void parse_subtests(parser *p, size_t t, bool has_plan, size_t count, bool is_subtest,
			   int depth)
{
	stream *s = &p->s;
	size_t num = 1, missing = 0, stalled = 0;
	while ((!has_plan || num <= count) && !p->full) {
		size_t first = s->pos;
		skip_diagnostic(s);
		size_t pops = s->pops;
		size_t child;
		if (!peek(s, NULL) || (is_subtest && name_matches(s, &p->nodes[t]))) {
			if (!has_plan || missing >= MAX_MISSING)
				break;
			child = node_new(p);
			p->nodes[child].missing = true;
			p->nodes[child].incomplete = missing++ > 0;
			p->nodes[child].log_first = first;
			p->nodes[child].log_end = s->pos;
		} else {
			child = parse_test(p, first, true, depth + 1);
			if (!has_plan && s->pops == pops) {
				/* kunit.py loops forever here: read the line as a diagnostic. */
				p->n--;
				pop(s);
				continue;
			}
			if (s->pops == pops && ++stalled > MAX_MISSING) {
				p->n--;
				break;
			}
		}
		add_child(p, t, child, num++);
	}
}

static size_t parse_test(parser *p, size_t log_first, bool is_subtest, int depth)
{
	stream *s = &p->s;
	size_t t = node_new(p);
	bool parent = true, has_plan = false;
	size_t count = 0;
	p->nodes[t].log_first = log_first;
	skip_diagnostic(s);
	if (!is_subtest) {
		p->nodes[t].name = (view){"main", 4};
		header_version(s);
		skip_diagnostic(s);
		has_plan = plan(s, &count);
	} else if (depth < MAX_DEPTH) {
		bool version = header_version(s);
		bool name = header_name(s, &p->nodes[t]);
		parent = version || name;
		if (parent) {
			skip_diagnostic(s);
			has_plan = plan(s, &count);
		}
	} else {
		parent = false;
	}
	if (parent)
		parse_subtests(p, t, has_plan, count, is_subtest, depth);
	node *n = &p->nodes[t]; /* parse_subtests() may move the array */
	if (is_subtest) {
		skip_diagnostic(s);
		if (n->name.len == 0 || name_matches(s, n))
			result(s, n);
	}
	if (parent && !n->first_child && (n->status == K_CRASHED || n->status == K_SUCCESS))
		n->status = K_NO_TESTS;
	n->log_end = s->pos;
	return t;
}

/* --- Flattening, as kunit_json.py then one line per case --- */

static xeci_ktap_status map_status(const node *t)
{
	switch (t->status) {
	case K_SUCCESS:
		return XECI_KTAP_PASS;
	case K_SKIPPED:
		return XECI_KTAP_SKIP;
	case K_CRASHED:
		return t->incomplete ? XECI_KTAP_INCOMPLETE : XECI_KTAP_CRASH;
	default:
		return XECI_KTAP_FAIL;
	}
}

static void put_name(xeci_buf *b, const node *t)
{
	if (t->name.len)
		xeci_buf_put(b, t->name.s, t->name.len);
	else
		xeci_buf_printf(b, "#%zu", t->num);
}

static void emit(xeci_ktap_results *r, const parser *p, const node *t, const xeci_buf *prefix,
		 unsigned doc)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->res = xeci_realloc(r->res, r->cap * sizeof(*r->res));
		r->path_off = xeci_realloc(r->path_off, r->cap * sizeof(*r->path_off));
	}
	xeci_ktap_result *o = &r->res[r->n];
	size_t start = r->paths.len;
	r->path_off[r->n++] = start;
	xeci_buf_put(&r->paths, prefix->ptr ? prefix->ptr : "", prefix->len);
	put_name(&r->paths, t);
	o->path_len = r->paths.len - start;
	o->status = map_status(t);
	o->directive = t->directive.s;
	o->directive_len = t->directive.len;
	o->document = doc;
	const line *l = p->s.lines;
	if (t->log_end > t->log_first) {
		o->log = r->text + l[t->log_first].off;
		o->log_len = l[t->log_end - 1].next - l[t->log_first].off;
	} else {
		o->log = r->text;
		o->log_len = 0;
	}
}

static void flatten(xeci_ktap_results *r, const parser *p, const node *g, xeci_buf *prefix,
		    unsigned doc)
{
	for (size_t c = g->first_child; c; c = p->nodes[c - 1].next)
		if (!p->nodes[c - 1].first_child)
			emit(r, p, &p->nodes[c - 1], prefix, doc);
	for (size_t c = g->first_child; c; c = p->nodes[c - 1].next) {
		const node *sub = &p->nodes[c - 1];
		if (!sub->first_child)
			continue;
		size_t len = prefix->len;
		put_name(prefix, sub);
		xeci_buf_putc(prefix, '.');
		flatten(r, p, sub, prefix, doc);
		prefix->len = len;
	}
}

int xeci_ktap_parse(xeci_ktap_results **out, const char *text, size_t len)
{
	xeci_ktap_results *r = xeci_calloc(1, sizeof(*r));
	xeci_buf b = XECI_BUF_INIT;
	xeci_ktap__decode(&b, text ? text : "", text ? len : 0);
	r->text_len = b.len;
	r->text = xeci_buf_detach(&b);

	parser p = {0};
	p.s.text = r->text;
	p.s.lines = xeci_ktap__split_lines(r->text, r->text_len, &p.s.nlines);
	size_t *mains = NULL, ndocs = 0;
	while (p.s.pos < p.s.nlines && !p.full) {
		restart(&p.s);
		if (!peek(&p.s, NULL))
			continue; /* past an end line: look further; at the end: stop */
		size_t pops = p.s.pops;
		size_t main = parse_test(&p, p.s.pos, false, 0);
		if (p.s.pops == pops)
			pop(&p.s); /* no progress: never read the same line twice */
		mains = xeci_realloc(mains, (ndocs + 1) * sizeof(*mains));
		mains[ndocs++] = main;
	}

	xeci_buf prefix = XECI_BUF_INIT;
	for (size_t d = 0; d < ndocs; d++) {
		prefix.len = 0;
		flatten(r, &p, &p.nodes[mains[d]], &prefix, (unsigned)d);
	}
	/* Paths go in last: the buffer moved while it grew. */
	for (size_t i = 0; i < r->n; i++)
		r->res[i].path = r->paths.ptr + r->path_off[i];
	xeci_buf_free(&prefix);
	free(mains);
	free(p.nodes);
	free((void *)p.s.lines);
	*out = r;
	return 0;
}

size_t xeci_ktap_results_count(const xeci_ktap_results *r)
{
	return r ? r->n : 0;
}

const xeci_ktap_result *xeci_ktap_results_get(const xeci_ktap_results *r, size_t i)
{
	return r && i < r->n ? &r->res[i] : NULL;
}

const char *xeci_ktap_status_name(xeci_ktap_status s)
{
	static const char *const names[] = {"pass", "fail", "skip", "crash", "incomplete"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "fail";
}

/* A JSON string as Python's json.dumps() writes it (ensure_ascii). */
static void put_json_string(xeci_buf *b, const char *s, size_t len)
{
	xeci_buf_putc(b, '"');
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		size_t n;
		uint32_t cp = xeci_ktap__codepoint((const unsigned char *)s + i, &n);
		i += n;
		if (c == '"' || c == '\\') {
			xeci_buf_putc(b, '\\');
			xeci_buf_putc(b, (char)c);
		} else if (c == '\n') {
			xeci_buf_puts(b, "\\n");
		} else if (c == '\r') {
			xeci_buf_puts(b, "\\r");
		} else if (c == '\t') {
			xeci_buf_puts(b, "\\t");
		} else if (c == '\b') {
			xeci_buf_puts(b, "\\b");
		} else if (c == '\f') {
			xeci_buf_puts(b, "\\f");
		} else if (cp < 0x20 || (cp >= 0x7F && cp < 0x10000)) {
			xeci_buf_printf(b, "\\u%04x", cp);
		} else if (cp >= 0x10000) {
			cp -= 0x10000;
			xeci_buf_printf(b, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
		} else {
			xeci_buf_putc(b, (char)c);
		}
	}
	xeci_buf_putc(b, '"');
}

int xeci_ktap_write_jsonl(FILE *out, const xeci_ktap_results *r)
{
	xeci_buf b = XECI_BUF_INIT;
	for (size_t i = 0; i < xeci_ktap_results_count(r); i++) {
		const xeci_ktap_result *t = &r->res[i];
		xeci_buf_puts(&b, "{\"path\": ");
		put_json_string(&b, t->path, t->path_len);
		xeci_buf_printf(&b, ", \"status\": \"%s\"}\n", xeci_ktap_status_name(t->status));
	}
	int rc = 0;
	if (b.len && fwrite(b.ptr, 1, b.len, out) != b.len)
		rc = xeci_error_setc(XECI_EIO, "writing KTAP results: short write");
	xeci_buf_free(&b);
	return rc;
}

void xeci_ktap_results_free(xeci_ktap_results *r)
{
	if (!r)
		return;
	free(r->text);
	free(r->res);
	free(r->path_off);
	xeci_buf_free(&r->paths);
	free(r);
}
