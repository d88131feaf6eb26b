/* git-config files without libgit2, for the plain subset (see gitconfig.h).
 * Each rule below is libgit2 1.5's (config_parse.c, config_file.c) where
 * the subset meets it; every line outside the subset sends the whole file
 * to libgit2. */
#include "gitconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "util.h"

/* libgit2's include depth limit (config_file.c: "maximum config include
 * depth reached" past it): past ours, libgit2 decides */
#define INCLUDE_DEPTH_MAX 10
#define FILE_MAX ((size_t)16 << 20)

struct xeci_gitconfig {
	xeci_gitconfig_entry *entries;
	size_t n, cap;
};

typedef struct parser {
	xeci_gitconfig *c;
	char *section; /* "name" or "name.subsection": the entry name's prefix */
	int depth;
} parser;

static int outside(void)
{
	return XECI_EINVALID;
}

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_keychar(unsigned char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '-';
}

static bool is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static char lower(unsigned char c)
{
	return (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
}

static void add(xeci_gitconfig *c, char *name, char *value)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->entries = xeci_realloc(c->entries, c->cap * sizeof(*c->entries));
	}
	c->entries[c->n].name = name;
	c->entries[c->n++].value = value;
}

/* True when [p, end) is blanks, optionally followed by a comment. */
static bool rest_is_empty(const char *p, const char *end)
{
	while (p < end && is_blank((unsigned char)*p))
		p++;
	return p == end || *p == '#' || *p == ';';
}

/* "[name]" or "[name "subsection"]" (line without its newline). */
static int parse_section(parser *ps, const char *p, const char *end)
{
	xeci_buf s = XECI_BUF_INIT;
	p++; /* '[' */
	while (p < end && is_keychar((unsigned char)*p))
		xeci_buf_putc(&s, lower((unsigned char)*p++));
	if (!s.len || p == end || (*p != ']' && !is_blank((unsigned char)*p)))
		goto out; /* empty, "[a.b]" legacy subsection, a syntax error */
	if (is_blank((unsigned char)*p)) {
		while (p < end && is_blank((unsigned char)*p))
			p++;
		if (p == end || *p++ != '"')
			goto out;
		xeci_buf_putc(&s, '.');
		const char *sub = p;
		while (p < end && *p != '"' && *p != '\\')
			p++;
		/* an empty subsection, escapes, a missing quote: libgit2's */
		if (p == sub || p == end || *p != '"' || p + 1 == end || p[1] != ']')
			goto out;
		xeci_buf_put(&s, sub, (size_t)(p - sub));
		p++;
	}
	p++; /* ']' */
	if (!rest_is_empty(p, end))
		goto out; /* "[core] bare = true": a variable after the header */
	free(ps->section);
	ps->section = xeci_buf_detach(&s);
	return 0;
out:
	xeci_buf_free(&s);
	return outside();
}

static int parse_file(parser *ps, const char *path);

/* include.path = FILE: FILE's entries follow (relative paths are from the
 * including file's directory; a missing file is skipped, as libgit2 does). */
static int include(parser *ps, const char *path, const char *value)
{
	if (!*value || value[0] == '~' || ps->depth >= INCLUDE_DEPTH_MAX)
		return outside();
	xeci_buf full = XECI_BUF_INIT;
	const char *slash = strrchr(path, '/');
	if (value[0] != '/' && slash)
		xeci_buf_put(&full, path, (size_t)(slash - path + 1));
	xeci_buf_puts(&full, value);
	char *section = ps->section;
	ps->section = NULL;
	ps->depth++;
	int rc = parse_file(ps, full.ptr);
	ps->depth--;
	free(ps->section);
	ps->section = section;
	xeci_buf_free(&full);
	return rc == XECI_ENOTFOUND ? 0 : rc;
}

/* "key", "key = value" (line without its newline, leading blanks skipped). */
static int parse_variable(parser *ps, const char *p, const char *end, const char *path)
{
	if (!ps->section || !is_alpha((unsigned char)*p))
		return outside(); /* a key before any section; a bad key */
	const char *key = p;
	while (p < end && is_keychar((unsigned char)*p))
		p++;
	size_t klen = (size_t)(p - key);
	while (p < end && is_blank((unsigned char)*p))
		p++;
	char *value = NULL;
	if (p < end && *p == '=') {
		p++;
		while (p < end && is_blank((unsigned char)*p))
			p++;
		const char *v = p;
		while (p < end && *p != '#' && *p != ';') {
			if (*p == '"' || *p == '\\')
				return outside(); /* quoting, escapes, continuation lines */
			p++;
		}
		const char *vend = p;
		while (vend > v && is_blank((unsigned char)vend[-1]))
			vend--;
		value = xeci_strndup(v, (size_t)(vend - v));
	} else if (p < end && *p != '#' && *p != ';') {
		return outside(); /* "key junk": libgit2's error */
	}
	xeci_buf name = XECI_BUF_INIT;
	xeci_buf_puts(&name, ps->section);
	xeci_buf_putc(&name, '.');
	for (size_t i = 0; i < klen; i++)
		xeci_buf_putc(&name, lower((unsigned char)key[i]));
	char *n = xeci_buf_detach(&name);
	bool inc = !strcmp(n, "include.path");
	if (xeci_str_startswith(n, "includeif.")) {
		free(n);
		free(value);
		return outside();
	}
	add(ps->c, n, value);
	/* libgit2 ignores an include.path without a value */
	return inc && value ? include(ps, path, value) : 0;
}

static int parse_text(parser *ps, const char *text, size_t len, const char *path)
{
	const char *p = text, *end = text + len;
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		return outside();
	if (memchr(text, '\0', len) || memchr(text, '\r', len))
		return outside();
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *s = p;
		int rc = 0;
		while (s < eol && is_blank((unsigned char)*s))
			s++;
		for (const char *q = s; q < eol; q++)
			if ((unsigned char)*q < 0x20 && *q != '\t')
				return outside(); /* \v, \f and the like: libgit2's whitespace */
		if (s == eol || *s == '#' || *s == ';')
			rc = 0;
		else if (*s == '[')
			rc = parse_section(ps, s, eol);
		else
			rc = parse_variable(ps, s, eol, path);
		if (rc < 0)
			return rc;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

/* Whole file; XECI_ENOTFOUND when it does not exist (ENOENT/ENOTDIR, as
 * libgit2 skips a missing include), XECI_EINVALID for other failures. */
static int slurp(char **out, size_t *len, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? XECI_ENOTFOUND : outside();
	xeci_buf b = XECI_BUF_INIT;
	for (;;) {
		xeci_buf_grow(&b, 8192);
		ssize_t r = read(fd, b.ptr + b.len, 8192);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || b.len + (size_t)r > FILE_MAX) {
			close(fd);
			if (r == 0) {
				*len = b.len;
				*out = xeci_buf_detach(&b);
				if (!*out)
					*out = xeci_strdup("");
				return 0;
			}
			xeci_buf_free(&b);
			return outside(); /* a directory (EISDIR), an I/O error, huge */
		}
		b.len += (size_t)r;
	}
}

static int parse_file(parser *ps, const char *path)
{
	char *text;
	size_t len;
	int rc = slurp(&text, &len, path);
	if (rc == 0) {
		rc = parse_text(ps, text, len, path);
		free(text);
	}
	return rc;
}

static xeci_gitconfig *gitconfig_new(void)
{
	return xeci_calloc(1, sizeof(xeci_gitconfig));
}

int xeci_gitconfig_parse(xeci_gitconfig **out, const char *text, size_t len, const char *path)
{
	parser ps = {gitconfig_new(), NULL, 0};
	int rc = parse_text(&ps, text, len, path ? path : "");
	free(ps.section);
	if (rc < 0) {
		xeci_gitconfig_free(ps.c);
		*out = NULL;
		return rc == XECI_ENOTFOUND ? outside() : rc;
	}
	*out = ps.c;
	return 0;
}

int xeci_gitconfig_read(xeci_gitconfig **out, const char *path)
{
	parser ps = {gitconfig_new(), NULL, 0};
	int rc = parse_file(&ps, path);
	free(ps.section);
	if (rc < 0) {
		xeci_gitconfig_free(ps.c);
		*out = NULL;
		return rc;
	}
	*out = ps.c;
	return 0;
}

void xeci_gitconfig_free(xeci_gitconfig *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->entries[i].name);
		free(c->entries[i].value);
	}
	free(c->entries);
	free(c);
}

size_t xeci_gitconfig_count(const xeci_gitconfig *c)
{
	return c ? c->n : 0;
}

const xeci_gitconfig_entry *xeci_gitconfig_get(const xeci_gitconfig *c, size_t i)
{
	return c && i < c->n ? &c->entries[i] : NULL;
}

int xeci_gitconfig_int64(int64_t *out, const char *value)
{
	size_t n = value ? strlen(value) : 0;
	/* 18 digits cannot overflow; a leading 0 is octal to libgit2 */
	if (!n || n > 18 || (value[0] == '0' && n > 1))
		return outside();
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (value[i] < '0' || value[i] > '9')
			return outside();
		v = v * 10 + (value[i] - '0');
	}
	*out = v;
	return 0;
}

int xeci_gitconfig_bool(int *out, const char *value)
{
	static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off", ""};
	if (!value) {
		*out = 1;
		return 0;
	}
	for (size_t i = 0; i < 3; i++)
		if (!strcasecmp(value, yes[i])) {
			*out = 1;
			return 0;
		}
	for (size_t i = 0; i < 4; i++)
		if (!strcasecmp(value, no[i])) {
			*out = 0;
			return 0;
		}
	int64_t v;
	/* libgit2 reads a number as an int32: nonzero is true */
	if (xeci_gitconfig_int64(&v, value) == 0 && v <= INT32_MAX) {
		*out = v != 0;
		return 0;
	}
	return outside();
}
