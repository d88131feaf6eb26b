/* What a mail says beyond its patch: trailers (git interpret-trailers' last
 * block, plus review trailers anywhere in a reply's own text, as b4 collects
 * them), series metadata written by format-patch and b4, the files a patch
 * touches, and whether it is a `git request-pull` mail. Lines quoted with
 * '>' never count: a reply quoting a patch must not pick up its sign-offs. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail_internal.h"
#include "util.h"

static const char *const known_trailers[] = {
	"Reviewed-by", "Acked-by", "Tested-by", "Reported-by", "Suggested-by", "Signed-off-by",
	"Co-developed-by", "Cc", "Fixes", "Link", "Closes",
};

typedef struct line {
	const char *p;
	size_t n; /* without '\n' */
} line;

/* Next line of [*at, end); false at the end. */
static bool next_line(const char **at, const char *end, line *l)
{
	if (*at >= end)
		return false;
	const char *nl = memchr(*at, '\n', (size_t)(end - *at));
	l->p = *at;
	l->n = nl ? (size_t)(nl - *at) : (size_t)(end - *at);
	*at = nl ? nl + 1 : end;
	return true;
}

static bool is_blank(const line *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (!isspace((unsigned char)l->p[i]))
			return false;
	return true;
}

static bool is_quoted(const line *l)
{
	size_t i = 0;
	while (i < l->n && (l->p[i] == ' ' || l->p[i] == '\t'))
		i++;
	return i < l->n && l->p[i] == '>';
}

/* "Token: value": *name_len is the token's length, *val where the value
 * starts (after blanks); the value must not be empty. */
static bool trailer_split(const line *l, size_t *name_len, size_t *val)
{
	size_t i = 0;
	if (!l->n || !isalpha((unsigned char)l->p[0]))
		return false;
	while (i < l->n && (isalnum((unsigned char)l->p[i]) || l->p[i] == '-'))
		i++;
	if (i >= l->n || l->p[i] != ':')
		return false;
	*name_len = i;
	i++;
	if (i < l->n && l->p[i] != ' ' && l->p[i] != '\t')
		return false; /* "http://x" is no trailer */
	while (i < l->n && isspace((unsigned char)l->p[i]))
		i++;
	if (i >= l->n)
		return false;
	*val = i;
	return true;
}

static bool is_known(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof(known_trailers) / sizeof(known_trailers[0]); i++)
		if (strlen(known_trailers[i]) == n && !strncasecmp(name, known_trailers[i], n))
			return true;
	return false;
}

static bool is_signature(const line *l)
{
	return l->n == 3 && !memcmp(l->p, "-- ", 3);
}

/* The last paragraph of own (unquoted) text, and whether it is a trailer
 * block: all trailers, or a quarter of them with a known one among them. */
static void find_block(const char *text, const char *end, const char **bstart, const char **bend)
{
	const char *at = text, *pstart = NULL, *pend = NULL, *cur = NULL;
	line l;
	*bstart = *bend = NULL;
	while (true) {
		const char *here = at;
		bool more = next_line(&at, end, &l);
		if (!more || is_signature(&l) || is_blank(&l) || is_quoted(&l)) {
			if (cur) {
				pstart = cur;
				pend = here;
				cur = NULL;
			}
			if (!more || is_signature(&l))
				break;
			continue;
		}
		if (!cur)
			cur = here;
	}
	if (!pstart)
		return;
	size_t total = 0, trailers = 0, known = 0, nl, v;
	bool in_trailer = false;
	at = pstart;
	while (next_line(&at, pend, &l)) {
		total++;
		if (in_trailer && l.n && (l.p[0] == ' ' || l.p[0] == '\t')) {
			trailers++;
			continue;
		}
		in_trailer = trailer_split(&l, &nl, &v);
		trailers += in_trailer;
		known += in_trailer && is_known(l.p, nl);
	}
	if (trailers == total || (known && trailers * 4 >= total)) {
		*bstart = pstart;
		*bend = pend;
	}
}

static void push_trailer(xeci_mail *m, const line *l, size_t nl, size_t v)
{
	if ((m->ntrailers & (m->ntrailers - 1)) == 0)
		m->trailers = xeci_realloc(m->trailers, (m->ntrailers ? m->ntrailers * 2 : 1) * sizeof(*m->trailers));
	size_t e = l->n;
	while (e > v && isspace((unsigned char)l->p[e - 1]))
		e--;
	xeci_trailer *t = &m->trailers[m->ntrailers++];
	t->name = xeci_utf8_sanitize(l->p, nl);
	t->value = xeci_utf8_sanitize(l->p + v, e - v);
}

void xeci_mail_scan_trailers(xeci_mail *m)
{
	if (!m->message)
		return;
	const char *text = m->message, *end = text + strlen(text), *bs, *be, *at = text;
	find_block(text, end, &bs, &be);
	line l;
	size_t nl, v;
	while (next_line(&at, end, &l)) {
		if (is_signature(&l))
			break;
		if (is_quoted(&l) || !trailer_split(&l, &nl, &v))
			continue;
		bool in_block = bs && l.p >= bs && l.p < be;
		if (in_block || is_known(l.p, nl))
			push_trailer(m, &l, nl, v);
	}
}

/* The first word of a "key: value" line's value, without <>. */
static char *meta_value(const line *l, size_t keylen)
{
	size_t i = keylen;
	while (i < l->n && isspace((unsigned char)l->p[i]))
		i++;
	size_t e = i;
	while (e < l->n && !isspace((unsigned char)l->p[e]))
		e++;
	if (e > i && l->p[i] == '<' && l->p[e - 1] == '>' && e - i > 2) {
		i++;
		e--;
	}
	return e > i ? xeci_utf8_sanitize(l->p + i, e - i) : NULL;
}

static bool has_key(const line *l, const char *key)
{
	size_t n = strlen(key);
	return l->n > n && !strncasecmp(l->p, key, n);
}

static void scan_meta_text(xeci_mail *m, const char *text, size_t len)
{
	const char *at = text, *end = text + len;
	line l;
	while (next_line(&at, end, &l)) {
		if (!l.n || !strchr("bBcCpPdD", l.p[0]))
			continue;
		char *v = NULL;
		if (has_key(&l, "base-commit:")) {
			if (!m->base_commit)
				m->base_commit = meta_value(&l, 12);
		} else if (has_key(&l, "change-id:")) {
			if (!m->change_id)
				m->change_id = meta_value(&l, 10);
		} else if (has_key(&l, "prerequisite-patch-id:")) {
			if ((v = meta_value(&l, 22)))
				xeci_strv_push(&m->prereq_patch_ids, &m->nprereq_patch_ids, v);
		} else if (has_key(&l, "Depends-on:")) {
			if ((v = meta_value(&l, 11)))
				xeci_strv_push(&m->depends_on, &m->ndepends_on, v);
		}
	}
}

void xeci_mail_scan_metadata(xeci_mail *m)
{
	if (m->message)
		scan_meta_text(m, m->message, strlen(m->message));
	if (m->patch)
		scan_meta_text(m, m->patch, m->patch_len);
}

bool xeci_mail_is_pull_request(const xeci_mail *m)
{
	const char *texts[2] = {m->message, m->patch};
	bool since = false;
	for (int i = 0; i < 2 && !since; i++)
		since = texts[i] && strstr(texts[i], "The following changes since commit");
	if (!since)
		return false;
	for (int i = 0; i < 2; i++)
		if (texts[i] && strcasestr(texts[i], "are available in the git repository at"))
			return true;
	return false;
}

/* Paths of a patch. */
static void add_path(xeci_mail *m, const char *p, size_t n, bool strip)
{
	if (!n || (n == 9 && !memcmp(p, "/dev/null", 9)))
		return;
	if (strip && n > 2 && (p[0] == 'a' || p[0] == 'b') && p[1] == '/') {
		p += 2;
		n -= 2;
	}
	/* the pre- and post-image names come in pairs: skip the common repeat
	 * here, the rest goes in dedup_files() */
	if (m->nfiles && strlen(m->files[m->nfiles - 1]) == n && !memcmp(m->files[m->nfiles - 1], p, n))
		return;
	xeci_strv_push(&m->files, &m->nfiles, xeci_utf8_sanitize(p, n));
}

static int cmp_file_index(const void *a, const void *b, void *files)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(((char **)files)[x], ((char **)files)[y]);
	return c ? c : (x > y) - (x < y);
}

/* Drops later repeats, keeping first-seen order: sorting indices keeps it
 * O(n log n) for patches that touch many files. */
static void dedup_files(xeci_mail *m)
{
	size_t n = m->nfiles;
	if (n < 2)
		return;
	size_t *idx = xeci_malloc(n * sizeof(*idx));
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), cmp_file_index, m->files);
	for (size_t i = 1, keep = idx[0]; i < n; i++) {
		if (strcmp(m->files[idx[i]], m->files[keep])) {
			keep = idx[i];
			continue;
		}
		free(m->files[idx[i]]);
		m->files[idx[i]] = NULL;
	}
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		if (m->files[i])
			m->files[w++] = m->files[i];
	m->nfiles = w;
	free(idx);
}

static void add_file(xeci_mail *m, const char *p, size_t n)
{
	add_path(m, p, n, true);
}

/* "--- a/path\t2020-01-01 ..." : the path ends at a TAB (or the line end). */
static void add_diff_path(xeci_mail *m, const char *p, size_t n)
{
	if (n && *p == '"') { /* C-quoted: take it as written, unquoted simply */
		const char *q = memchr(p + 1, '"', n - 1);
		if (q)
			add_file(m, p + 1, (size_t)(q - p - 1));
		return;
	}
	const char *tab = memchr(p, '\t', n);
	size_t e = tab ? (size_t)(tab - p) : n;
	while (e && isspace((unsigned char)p[e - 1]))
		e--;
	add_file(m, p, e);
}

/* "diff --git a/x b/x": split at the " b/" that halves the rest. */
static void add_git_header(xeci_mail *m, const char *p, size_t n)
{
	if (n && *p == '"')
		return; /* quoted names: the ---/+++ lines give them */
	if (n > 4 && !memcmp(p, "a/", 2) && (n - 1) % 2 == 0) {
		size_t half = (n - 1) / 2;
		if (p[half] == ' ' && !memcmp(p + half + 1, "b/", 2) && !memcmp(p + 2, p + half + 3, half - 2)) {
			add_file(m, p, half);
			return;
		}
	}
	const char *b = memmem(p, n, " b/", 3);
	if (b) {
		add_file(m, p, (size_t)(b - p));
		add_file(m, b + 1, n - (size_t)(b + 1 - p));
	}
}

void xeci_mail_scan_files(xeci_mail *m)
{
	const char *at = m->patch, *end = m->patch + m->patch_len;
	line l, prev = {NULL, 0};
	while (next_line(&at, end, &l)) {
		if (l.n > 11 && !memcmp(l.p, "diff --git ", 11))
			add_git_header(m, l.p + 11, l.n - 11);
		else if (l.n > 4 && !memcmp(l.p, "+++ ", 4) && prev.p && prev.n > 4 && !memcmp(prev.p, "--- ", 4)) {
			add_diff_path(m, prev.p + 4, prev.n - 4);
			add_diff_path(m, l.p + 4, l.n - 4);
		} else if (l.n > 12 && !memcmp(l.p, "rename from ", 12))
			add_path(m, l.p + 12, l.n - 12, false);
		else if (l.n > 10 && !memcmp(l.p, "rename to ", 10))
			add_path(m, l.p + 10, l.n - 10, false);
		else if (l.n > 10 && !memcmp(l.p, "copy from ", 10))
			add_path(m, l.p + 10, l.n - 10, false);
		else if (l.n > 8 && !memcmp(l.p, "copy to ", 8))
			add_path(m, l.p + 8, l.n - 8, false);
		prev = l;
	}
	dedup_files(m);
}
