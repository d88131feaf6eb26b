/* Kernel build logs (see buildlog.h).
 *
 * The log is read line by line, each line on its own, because with make -j
 * the compilers' output interleaves: the only state kept across lines is
 * the include chain gcc and clang print before a header's diagnostic, and
 * which unit last included each header (gcc prints the chain once per
 * change of include stack, not before every diagnostic). jansson objects
 * serve as the hash tables: they are at hand, and the base map
 * (buildlog_base.c) is JSON anyway. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buildlog.h"
#include "buf.h"
#include "buildlog_int.h"
#include "buildlog_text.h"
#include "error.h"
#include "util.h"

struct xeci_buildlog {
	xeci_buildlog_unit *units;
	size_t nunits, capunits;
	xeci_diag *diags;
	size_t ndiags, capdiags;
	bool linked;
};

/* ------------------------------------------------------------------ */
/* Parsing a log */

static bool has_suffix(const char *p, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && !memcmp(p + n - k, suffix, k);
}

static const char *find(const char *p, size_t n, const char *needle)
{
	return memmem(p, n, needle, strlen(needle));
}

typedef struct parser {
	xeci_buildlog *log;
	const char *root;
	size_t rootlen;
	json_t *header_unit; /* header -> the unit whose include chain last named it */
	json_t *objects;     /* object -> source, for objtool's "x.o: warning:" */
	char **chain;        /* the include chain being read, as printed */
	size_t nchain;
	bool chain_gcc;      /* gcc prints it innermost first, clang outermost first */
	bool chain_open;     /* its last line ended in ',': gcc has more to print */
	bool prev_chain;     /* the previous line was part of a chain */
} parser;

/* The path as the source tree names it: src_root and "./" stripped. */
static char *norm_path(const parser *ps, const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	if (ps->rootlen && n > ps->rootlen && !memcmp(p, ps->root, ps->rootlen) &&
	    p[ps->rootlen] == '/') {
		p += ps->rootlen;
		n -= ps->rootlen;
		while (n && *p == '/')
			p++, n--; /* "root//x.c" */
	}
	while (n >= 2 && p[0] == '.' && p[1] == '/') {
		p += 2, n -= 2;
		while (n && *p == '/')
			p++, n--; /* ".//x.c" */
	}
	return xeci_text_clean(p, n);
}

static const char *unit_source_of(const parser *ps, const char *object)
{
	return json_string_value(json_object_get(ps->objects, object));
}

/* drivers/x.o -> drivers/x.c (x.S for AS), x.s / x.i / x.lst -> x.c; a host
 * program without suffix (scripts/basic/fixdep) -> fixdep.c. */
static char *source_of(const char *object, bool assembler)
{
	size_t n = strlen(object);
	const char *ext = assembler ? ".S" : ".c";
	static const char *const suffixes[] = {".o", ".s", ".i", ".lst"};
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (has_suffix(object, n, suffixes[i]) && n > strlen(suffixes[i])) {
			n -= strlen(suffixes[i]);
			break;
		}
	char *s = xeci_malloc(n + 3);
	memcpy(s, object, n);
	memcpy(s + n, ext, 3);
	return s;
}

static void add_unit(parser *ps, const char *cmd, size_t cmdlen, bool module,
		     const xeci_text_line *target)
{
	xeci_buildlog *log = ps->log;
	bool as = cmdlen == 2 && !memcmp(cmd, "AS", 2);
	if (log->nunits == log->capunits) {
		log->capunits = log->capunits ? log->capunits * 2 : 64;
		log->units = xeci_realloc(log->units, log->capunits * sizeof(*log->units));
	}
	xeci_buildlog_unit *u = &log->units[log->nunits++];
	u->object = norm_path(ps, target->p, target->n);
	u->source = source_of(u->object, as);
	u->module = module;
	json_object_set_new(ps->objects, u->object, json_string(u->source));
}

/* "  CC [M]  drivers/x.o", "  MODPOST Module.symvers": kbuild's quiet
 * lines, two blanks, the command, an optional [M] (or [U]), the target. */
static bool kbuild_line(parser *ps, const xeci_text_line *l)
{
	const char *p = l->p;
	size_t n = l->n, i = 2;
	if (n < 4 || p[0] != ' ' || p[1] != ' ' || !isupper((unsigned char)p[2]))
		return false;
	while (i < n && (isupper((unsigned char)p[i]) || isdigit((unsigned char)p[i]) || p[i] == '_'))
		i++;
	size_t cmdlen = i - 2;
	bool module = false;
	if (i + 3 < n && p[i] == ' ' && p[i + 1] == '[' && isupper((unsigned char)p[i + 2]) && p[i + 3] == ']') {
		module = p[i + 2] == 'M';
		i += 4;
	}
	if (i >= n || p[i] != ' ')
		return false;
	while (i < n && p[i] == ' ')
		i++;
	xeci_text_line target = {p + i, n - i};
	if (!target.n || memchr(target.p, ' ', target.n) || memchr(target.p, '\t', target.n))
		return false;
	const char *cmd = p + 2;
	if ((cmdlen == 2 && (!memcmp(cmd, "CC", 2) || !memcmp(cmd, "AS", 2))) ||
	    (cmdlen == 6 && !memcmp(cmd, "HOSTCC", 6)))
		add_unit(ps, cmd, cmdlen, module, &target);
	else if (cmdlen == 7 && !memcmp(cmd, "MODPOST", 7))
		ps->log->linked = true;
	return true;
}

static void chain_reset(parser *ps)
{
	for (size_t i = 0; i < ps->nchain; i++)
		free(ps->chain[i]);
	ps->nchain = 0;
	ps->chain_gcc = ps->chain_open = false;
}

/* "In file included from PATH:LINE[:COL](,|:)" (gcc's continuation lines,
 * "                 from PATH:LINE,", were stripped to PATH... by the
 * caller). */
static void chain_add(parser *ps, const char *p, size_t n)
{
	ps->chain_open = n && p[n - 1] == ',';
	if (n && (p[n - 1] == ',' || p[n - 1] == ':'))
		n--;
	for (int k = 0; k < 2; k++) { /* ":LINE" and ":COL" */
		size_t e = n;
		while (e && isdigit((unsigned char)p[e - 1]))
			e--;
		if (e == n || !e || p[e - 1] != ':')
			break;
		n = e - 1;
	}
	if (ps->nchain >= 64)
		return; /* deeper than any real include stack: garbage */
	ps->chain = xeci_realloc(ps->chain, (ps->nchain + 1) * sizeof(*ps->chain));
	ps->chain[ps->nchain++] = norm_path(ps, p, n);
}

static bool chain_line(parser *ps, const xeci_text_line *l)
{
	static const char first[] = "In file included from ";
	size_t i = 0;
	if (xeci_text_has_prefix(l->p, l->n, first)) {
		if (!ps->prev_chain)
			chain_reset(ps);
		chain_add(ps, l->p + sizeof(first) - 1, l->n - (sizeof(first) - 1));
		return true;
	}
	while (i < l->n && l->p[i] == ' ')
		i++;
	if (!ps->prev_chain || i < 2 || !xeci_text_has_prefix(l->p + i, l->n - i, "from "))
		return false;
	ps->chain_gcc = true;
	chain_add(ps, l->p + i + 5, l->n - i - 5);
	return true;
}

static bool is_source(const char *f)
{
	size_t n = strlen(f);
	return has_suffix(f, n, ".c") || has_suffix(f, n, ".S") || has_suffix(f, n, ".s");
}

/* The outermost file of the chain just read when it is a source (it then
 * also owns the chain's headers and `file`); NULL otherwise. The chain is
 * used up either way: it belongs to one diagnostic. */
static char *chain_unit(parser *ps, const char *file)
{
	const char *outer = ps->nchain ? ps->chain[ps->chain_gcc ? ps->nchain - 1 : 0] : NULL;
	char *unit = NULL;
	if (outer && is_source(outer)) {
		for (size_t i = 0; i < ps->nchain; i++)
			if (ps->chain[i] != outer)
				json_object_set_new(ps->header_unit, ps->chain[i], json_string(outer));
		if (*file && strcmp(file, outer))
			json_object_set_new(ps->header_unit, file, json_string(outer));
		unit = xeci_strdup(outer);
	}
	chain_reset(ps);
	return unit;
}

/* Which unit printed a diagnostic of `file`: the one its include chain
 * names, else the unit that last included the file, else the file itself
 * when it is compiled on its own (a .c, or an object objtool names), else
 * none (""). */
static char *unit_for(parser *ps, const char *file)
{
	char *unit = chain_unit(ps, file);
	if (unit)
		return unit;
	const char *known = json_string_value(json_object_get(ps->header_unit, file));
	if (known)
		return xeci_strdup(known);
	if (is_source(file))
		return xeci_strdup(file);
	if (has_suffix(file, strlen(file), ".o")) {
		const char *src = unit_source_of(ps, file);
		return src ? xeci_strdup(src) : source_of(file, false);
	}
	return xeci_strdup("");
}

static void add_diag(parser *ps, xeci_diag_kind kind, char *file, int lineno, int col,
		     const char *msg, size_t msglen, char *unit)
{
	xeci_buildlog *log = ps->log;
	if (log->ndiags == log->capdiags) {
		log->capdiags = log->capdiags ? log->capdiags * 2 : 64;
		log->diags = xeci_realloc(log->diags, log->capdiags * sizeof(*log->diags));
	}
	xeci_diag *d = &log->diags[log->ndiags++];
	d->kind = kind;
	d->file = file;
	d->line = lineno;
	d->col = col;
	d->message = xeci_text_clean(msg, msglen);
	d->unit = unit;
}

enum { K_NONE, K_WARNING, K_ERROR, K_NOTE };

/* " warning: MSG" and its kin at p[*i]; *i is left at MSG. */
static int diag_kind(const char *p, size_t n, size_t *i)
{
	static const struct {
		const char *text;
		int kind;
	} kinds[] = {
		{" warning: ", K_WARNING},     {" error: ", K_ERROR}, {" fatal error: ", K_ERROR},
		{" sorry, unimplemented: ", K_ERROR}, {" note: ", K_NOTE},
	};
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (xeci_text_has_prefix(p + *i, n - *i, kinds[k].text)) {
			*i += strlen(kinds[k].text);
			return kinds[k].kind;
		}
	return K_NONE;
}

/* A word before ": warning:" names a file when it looks like one; else it
 * is a tool (ld, cc1, x86_64-linux-gnu-ld, <command-line>). */
static bool names_file(const char *p, size_t n)
{
	static const char *const exts[] = {".o", ".c", ".h", ".S", ".ko", ".a"};
	if (memchr(p, '/', n) || (n == 7 && !memcmp(p, "vmlinux", 7)))
		return true;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (has_suffix(p, n, exts[i]))
			return true;
	return false;
}

/* "PATH:LINE:COL: KIND: MSG", "PATH:LINE: KIND: MSG", "WORD: KIND: MSG". */
static bool compiler_line(parser *ps, const xeci_text_line *l)
{
	const char *p = l->p;
	size_t n = l->n, i;
	const char *colon = memchr(p, ':', n);
	if (!colon || colon == p || *p == ' ' || *p == '\t')
		return false;
	size_t pathlen = (size_t)(colon - p);
	int lineno = 0, col = 0;
	i = pathlen + 1;
	bool numbered = xeci_text_parse_num(p, n, &i, &lineno);
	if (numbered) {
		if (i >= n || p[i] != ':')
			return false;
		i++;
		size_t save = i;
		if (xeci_text_parse_num(p, n, &i, &col) && i < n && p[i] == ':')
			i++;
		else
			i = save, col = 0;
	} else if (memchr(p, ' ', pathlen)) {
		return false; /* "some text: error: ..." is no tool's message */
	}
	/* p[i - 1] is the ':' before " warning: " */
	int kind = diag_kind(p, n, &i);
	if (kind == K_NONE)
		return false;
	bool is_file = numbered || names_file(p, pathlen);
	char *file = is_file ? norm_path(ps, p, pathlen) : xeci_strdup("");
	char *unit = unit_for(ps, file);
	if (kind == K_NOTE) {
		free(file);
		free(unit);
		return true;
	}
	if (!is_file) {
		free(unit);
		unit = xeci_strdup("");
	}
	add_diag(ps, kind == K_ERROR ? XECI_DIAG_ERROR : XECI_DIAG_WARNING, file, lineno, col,
		 p + i, n - i, unit);
	return true;
}

/* The module a modpost message is about: "drivers/x: section mismatch
 * ...", "\"sym\" [drivers/x.ko] undefined!", "missing MODULE_LICENSE() in
 * drivers/x.o"; "" when none. */
static char *modpost_module(const parser *ps, const char *p, size_t n)
{
	const char *c = find(p, n, ": ");
	if (c && c > p && !memchr(p, ' ', (size_t)(c - p)) &&
	    (memchr(p, '/', (size_t)(c - p)) || (c - p == 7 && !memcmp(p, "vmlinux", 7))))
		return norm_path(ps, p, (size_t)(c - p));
	const char *b = find(p, n, " [");
	const char *e = b ? find(b, n - (size_t)(b - p), ".ko]") : NULL;
	if (b && e)
		return norm_path(ps, b + 2, (size_t)(e - b - 2));
	const char *in = NULL;
	for (const char *s = p; (s = find(s, n - (size_t)(s - p), " in ")); s++)
		in = s;
	if (xeci_text_has_prefix(p, n, "missing MODULE_") && in) {
		size_t k = n - (size_t)(in + 4 - p);
		if (has_suffix(in + 4, k, ".o"))
			k -= 2;
		return norm_path(ps, in + 4, k);
	}
	return xeci_strdup("");
}

static bool modpost_line(parser *ps, const xeci_text_line *l)
{
	static const char w[] = "WARNING: modpost: ", e[] = "ERROR: modpost: ";
	xeci_diag_kind kind;
	size_t skip;
	if (xeci_text_has_prefix(l->p, l->n, w))
		kind = XECI_DIAG_WARNING, skip = sizeof(w) - 1;
	else if (xeci_text_has_prefix(l->p, l->n, e))
		kind = XECI_DIAG_ERROR, skip = sizeof(e) - 1;
	else
		return false;
	const char *msg = l->p + skip;
	size_t n = l->n - skip;
	add_diag(ps, kind, modpost_module(ps, msg, n), 0, 0, msg, n, xeci_strdup(""));
	return true;
}

/* ld: "drivers/x.c:12:(.text+0x1a): undefined reference to `foo'", also
 * without the line or with the object instead of the source. */
static bool linker_line(parser *ps, const xeci_text_line *l)
{
	const char *u = find(l->p, l->n, ": undefined reference to ");
	if (!u)
		return false;
	const char *p = l->p;
	size_t n = (size_t)(u - p), i;
	if (xeci_text_has_prefix(p, n, "ld: "))
		p += 4, n -= 4;
	if (n && p[n - 1] == ')') { /* ":(.text+0x1a)" */
		const char *open = memrchr(p, '(', n);
		n = open && open > p && open[-1] == ':' ? (size_t)(open - 1 - p) : n;
	}
	int lineno = 0;
	const char *c = memrchr(p, ':', n);
	if (c && (i = (size_t)(c + 1 - p)) < n && xeci_text_parse_num(p, n, &i, &lineno) && i == n)
		n = (size_t)(c - p);
	else
		lineno = 0;
	const char *msg = u + 2;
	add_diag(ps, XECI_DIAG_ERROR, norm_path(ps, p, n), lineno, 0, msg,
		 l->n - (size_t)(msg - l->p), xeci_strdup(""));
	return true;
}

static void parse_line(parser *ps, const xeci_text_line *l)
{
	if (!l->n)
		return;
	if (chain_line(ps, l)) {
		ps->prev_chain = true;
		return;
	}
	ps->prev_chain = false;
	if (ps->chain_open)
		chain_reset(ps); /* cut short (interleaved output): no unit can be read from it */
	if (kbuild_line(ps, l) || modpost_line(ps, l) || compiler_line(ps, l))
		return;
	linker_line(ps, l);
}

int xeci_buildlog_parse(xeci_buildlog **out, const char *text, size_t len, const char *src_root)
{
	if (!out || (!text && len))
		return xeci_error_setc(XECI_EINVALID, "buildlog: no log");
	parser ps = {0};
	ps.log = xeci_calloc(1, sizeof(*ps.log));
	ps.root = src_root ? src_root : "";
	ps.rootlen = strlen(ps.root);
	while (ps.rootlen && ps.root[ps.rootlen - 1] == '/')
		ps.rootlen--;
	ps.header_unit = json_object();
	ps.objects = json_object();
	const char *at = text, *end = text + len;
	xeci_text_line l;
	while (xeci_text_next_line(&at, end, &l))
		parse_line(&ps, &l);
	chain_reset(&ps);
	free(ps.chain);
	json_decref(ps.header_unit);
	json_decref(ps.objects);
	*out = ps.log;
	return 0;
}

void xeci_buildlog_free(xeci_buildlog *log)
{
	if (!log)
		return;
	for (size_t i = 0; i < log->nunits; i++) {
		free(log->units[i].object);
		free(log->units[i].source);
	}
	for (size_t i = 0; i < log->ndiags; i++) {
		free(log->diags[i].file);
		free(log->diags[i].message);
		free(log->diags[i].unit);
	}
	free(log->units);
	free(log->diags);
	free(log);
}

size_t xeci_buildlog_unit_count(const xeci_buildlog *log)
{
	return log->nunits;
}

const xeci_buildlog_unit *xeci_buildlog_unit_get(const xeci_buildlog *log, size_t i)
{
	return i < log->nunits ? &log->units[i] : NULL;
}

size_t xeci_buildlog_diag_count(const xeci_buildlog *log)
{
	return log->ndiags;
}

const xeci_diag *xeci_buildlog_diag_get(const xeci_buildlog *log, size_t i)
{
	return i < log->ndiags ? &log->diags[i] : NULL;
}

const xeci_diag *xeci_buildlog_first_error(const xeci_buildlog *log)
{
	for (size_t i = 0; i < log->ndiags; i++)
		if (log->diags[i].kind == XECI_DIAG_ERROR)
			return &log->diags[i];
	return NULL;
}

bool xeci_buildlog_linked(const xeci_buildlog *log)
{
	return log->linked;
}

const char *xeci_diag_kind_name(xeci_diag_kind k)
{
	return k == XECI_DIAG_ERROR ? "error" : "warning";
}

char *xeci_diag_format(const xeci_diag *d)
{
	xeci_buf b = XECI_BUF_INIT;
	if (*d->file)
		xeci_buf_printf(&b, d->line ? "%s:%d: " : "%s: ", d->file, d->line);
	xeci_buf_printf(&b, "%s: %s", xeci_diag_kind_name(d->kind), d->message);
	return xeci_buf_detach(&b);
}

json_t *xeci_diag_json(const xeci_diag *d, bool with_unit)
{
	json_t *j = json_object();
	if (with_unit)
		json_object_set_new(j, "unit", json_string(d->unit));
	json_object_set_new(j, "file", json_string(d->file));
	json_object_set_new(j, "line", json_integer(d->line));
	json_object_set_new(j, "col", json_integer(d->col));
	json_object_set_new(j, "kind", json_string(xeci_diag_kind_name(d->kind)));
	json_object_set_new(j, "message", json_string(d->message));
	return j;
}

json_t *xeci_diag_to_json(const xeci_diag *d)
{
	return xeci_diag_json(d, true);
}

json_t *xeci_buildlog_to_json(const xeci_buildlog *log)
{
	json_t *units = json_array(), *diags = json_array();
	for (size_t i = 0; i < log->nunits; i++)
		json_array_append_new(units, json_pack("{s:s, s:s, s:b}", "object", log->units[i].object,
						       "source", log->units[i].source, "module",
						       log->units[i].module));
	for (size_t i = 0; i < log->ndiags; i++)
		json_array_append_new(diags, xeci_diag_json(&log->diags[i], true));
	return json_pack("{s:o, s:o, s:b}", "units", units, "diagnostics", diags, "linked", log->linked);
}

void xeci_diag_list_clear(xeci_diag_list *list)
{
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

void xeci_diag_list_push(xeci_diag_list *list, const xeci_diag *d)
{
	if ((list->count & (list->count - 1)) == 0)
		list->items = xeci_realloc(list->items, (list->count ? list->count * 2 : 1) * sizeof(*list->items));
	list->items[list->count++] = d;
}

int xeci_buildlog_errors(xeci_diag_list *out, const xeci_buildlog *log)
{
	out->items = NULL;
	out->count = 0;
	for (size_t i = 0; i < log->ndiags; i++)
		if (log->diags[i].kind == XECI_DIAG_ERROR)
			xeci_diag_list_push(out, &log->diags[i]);
	return 0;
}
