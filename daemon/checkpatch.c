/* checkpatch.pl output (see checkpatch.h).
 *
 * Read line by line: a finding ("ERROR: msg", "WARNING:TYPE: msg",
 * "CHECK: msg") opens a block that ends at a blank line, whose first line
 * may locate it ("#23: FILE: drivers/x.c:4:"); outside blocks, "total:"
 * lines give the counts, one per patch checked. */
#define _GNU_SOURCE /* memrchr */
#include "checkpatch.h"

#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buildlog_text.h"
#include "error.h"
#include "util.h"

typedef struct cp_parser {
	xeci_checkpatch_result *r;
	bool in_block;      /* after a finding, until a blank line */
	bool first_in_block;/* the next line may be "#N: FILE: path:LINE:" */
	bool seen_total;
	bool after_total;   /* a finding came after the last total: line */
} cp_parser;

static int sat_add(int a, int b)
{
	return a > INT_MAX - b ? INT_MAX : a + b;
}

/* Matches literal text at p[*i]. */
static bool lit(const char *p, size_t n, size_t *i, const char *s)
{
	if (!xeci_text_has_prefix(p + *i, n - *i, s))
		return false;
	*i += strlen(s);
	return true;
}

/* "total: E errors, W warnings, [C checks, ]L lines checked" */
static bool cp_total(cp_parser *cp, const xeci_text_line *l)
{
	const char *p = l->p;
	size_t n = l->n, i = 0;
	int e, w, c = 0, lines;
	if (!lit(p, n, &i, "total: ") || !xeci_text_parse_num(p, n, &i, &e) ||
	    !lit(p, n, &i, " errors, ") || !xeci_text_parse_num(p, n, &i, &w) ||
	    !lit(p, n, &i, " warnings, ") || !xeci_text_parse_num(p, n, &i, &lines))
		return false;
	if (lit(p, n, &i, " checks, ")) {
		c = lines;
		if (!xeci_text_parse_num(p, n, &i, &lines))
			return false;
	}
	if (!lit(p, n, &i, " lines checked") || i != n)
		return false;
	xeci_checkpatch_result *r = cp->r;
	r->errors = sat_add(r->errors, e);
	r->warnings = sat_add(r->warnings, w);
	r->checks = sat_add(r->checks, c);
	r->lines = sat_add(r->lines, lines);
	cp->seen_total = true;
	cp->after_total = false;
	return true;
}

/* "ERROR: msg", "WARNING:TYPE_TAG: msg", "CHECK: msg" */
static bool cp_finding(cp_parser *cp, const xeci_text_line *l)
{
	static const struct {
		const char *word;
		xeci_checkpatch_kind kind;
	} kinds[] = {{"ERROR:", XECI_CHECKPATCH_ERROR},
		     {"WARNING:", XECI_CHECKPATCH_WARNING},
		     {"CHECK:", XECI_CHECKPATCH_CHECK}};
	const char *p = l->p;
	size_t n = l->n, i = 0, k;
	for (k = 0; k < 3 && !lit(p, n, &i, kinds[k].word); k++)
		;
	if (k == 3)
		return false;
	size_t t = i;
	while (t < n && (isupper((unsigned char)p[t]) || isdigit((unsigned char)p[t]) || p[t] == '_'))
		t++;
	bool typed = t > i && t + 1 < n && p[t] == ':' && p[t + 1] == ' ';
	if (!typed && (i >= n || p[i] != ' '))
		return false;
	xeci_checkpatch_result *r = cp->r;
	if ((r->nfindings & (r->nfindings - 1)) == 0)
		r->findings = xeci_realloc(r->findings, (r->nfindings ? r->nfindings * 2 : 1) * sizeof(*r->findings));
	xeci_checkpatch_finding *f = &r->findings[r->nfindings++];
	memset(f, 0, sizeof(*f));
	f->kind = kinds[k].kind;
	f->type = typed ? xeci_text_clean(p + i, t - i) : NULL;
	size_t m = typed ? t + 2 : i + 1;
	f->message = xeci_text_clean(p + m, n - m);
	cp->in_block = cp->first_in_block = true;
	cp->after_total = true;
	return true;
}

/* "#23: FILE: drivers/x.c:4:" (or "#6: " for a line of the message). */
static void cp_location(cp_parser *cp, const xeci_text_line *l)
{
	const char *p = l->p;
	size_t n = l->n, i = 1;
	int patchline, lineno;
	if (!n || p[0] != '#' || !xeci_text_parse_num(p, n, &i, &patchline) ||
	    !lit(p, n, &i, ": FILE: "))
		return;
	if (n && p[n - 1] == ':')
		n--;
	const char *c = memrchr(p + i, ':', n - i);
	size_t j = c ? (size_t)(c - p) + 1 : n;
	if (!c || !xeci_text_parse_num(p, n, &j, &lineno) || j != n)
		return;
	xeci_checkpatch_finding *f = &cp->r->findings[cp->r->nfindings - 1];
	f->file = xeci_text_clean(p + i, (size_t)(c - p) - i);
	f->line = lineno;
}

static void cp_line(cp_parser *cp, const xeci_text_line *l)
{
	if (!l->n) {
		cp->in_block = false;
		return;
	}
	if (cp->in_block) {
		if (cp->first_in_block)
			cp_location(cp, l);
		cp->first_in_block = false;
		return;
	}
	if (!cp_finding(cp, l))
		cp_total(cp, l);
}

int xeci_checkpatch_parse(xeci_checkpatch_result *out, const char *text, size_t len)
{
	memset(out, 0, sizeof(*out));
	if (!text && len)
		return xeci_error_setc(XECI_EINVALID, "checkpatch: no output");
	cp_parser cp = {.r = out};
	const char *at = text, *end = text + len;
	xeci_text_line l;
	while (xeci_text_next_line(&at, end, &l))
		cp_line(&cp, &l);
	if (!cp.seen_total || cp.after_total) {
		xeci_checkpatch_result_clear(out);
		return xeci_error_setc(XECI_EINVALID, "checkpatch output %s: it did not finish",
				       cp.seen_total ? "ends in findings after its total: line"
						     : "has no total: line");
	}
	return 0;
}

void xeci_checkpatch_result_clear(xeci_checkpatch_result *r)
{
	for (size_t i = 0; i < r->nfindings; i++) {
		free(r->findings[i].type);
		free(r->findings[i].message);
		free(r->findings[i].file);
	}
	free(r->findings);
	memset(r, 0, sizeof(*r));
}

static const char *cp_kind_name(xeci_checkpatch_kind k)
{
	return k == XECI_CHECKPATCH_ERROR ? "ERROR" : k == XECI_CHECKPATCH_WARNING ? "WARNING" : "CHECK";
}

json_t *xeci_checkpatch_to_json(const xeci_checkpatch_result *r)
{
	json_t *findings = json_array();
	for (size_t i = 0; i < r->nfindings; i++) {
		const xeci_checkpatch_finding *f = &r->findings[i];
		json_array_append_new(findings,
				      json_pack("{s:s, s:s?, s:s, s:s?, s:i}", "kind", cp_kind_name(f->kind),
						"type", f->type, "message", f->message, "file", f->file,
						"line", f->line));
	}
	return json_pack("{s:i, s:i, s:i, s:i, s:o}", "errors", r->errors, "warnings", r->warnings,
			 "checks", r->checks, "lines", r->lines, "findings", findings);
}
