/* Subject tags: the bracket groups at the start of a subject, after any
 * "Re:"/"Fwd:", read word by word in any order. Besides the well-formed
 * `[RFC PATCH net-next v2 0/7]` this takes what people really send:
 * `[PATCH1/8]`, `[PATCHv2 3/5]`, `[PATCH V2]`, `[RFC][PATCH v2 1/3]`. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "mail_internal.h"
#include "util.h"

/* "v3", "V3", "v3.1" (the minor part is ignored). */
static bool parse_version(const char *t, size_t n, int *v)
{
	if (n < 2 || (t[0] != 'v' && t[0] != 'V') || !isdigit((unsigned char)t[1]))
		return false;
	size_t i = 1;
	long x = 0;
	while (i < n && isdigit((unsigned char)t[i]) && x < 100000)
		x = x * 10 + (t[i++] - '0');
	if (i < n && t[i] == '.') {
		i++;
		while (i < n && isdigit((unsigned char)t[i]))
			i++;
	}
	if (i != n || x < 1 || x >= 100000)
		return false;
	*v = (int)x;
	return true;
}

static bool parse_number(const char *t, size_t n, size_t *used, int *out)
{
	size_t i = 0;
	long x = 0;
	while (i < n && isdigit((unsigned char)t[i]) && x < 100000)
		x = x * 10 + (t[i++] - '0');
	if (!i || x >= 100000)
		return false;
	*used = i;
	*out = (int)x;
	return true;
}

/* "2/4", "02/14". */
static bool parse_index(const char *t, size_t n, int *idx, int *total)
{
	size_t a, b;
	int x, y;
	if (!parse_number(t, n, &a, &x) || a >= n || t[a] != '/')
		return false;
	if (!parse_number(t + a + 1, n - a - 1, &b, &y) || a + 1 + b != n)
		return false;
	*idx = x;
	*total = y;
	return true;
}

static bool word_is(const char *t, size_t n, const char *w)
{
	return strlen(w) == n && !strncasecmp(t, w, n);
}

/* A version or an index glued to a tag word ("PATCHv2", "PATCH1/8"). */
static bool parse_numeric(xeci_subject_tags *out, const char *t, size_t n)
{
	if (n && (*t == '-' || *t == '_'))
		t++, n--;
	return parse_version(t, n, &out->version) || parse_index(t, n, &out->index, &out->total);
}

static void parse_word(xeci_subject_tags *out, const char *t, size_t n)
{
	if (parse_numeric(out, t, n))
		return;
	if (n >= 5 && !strncasecmp(t, "PATCH", 5)) {
		out->is_patch = true;
		if (n > 5)
			parse_numeric(out, t + 5, n - 5); /* PATCHES, PATCHSET: no number */
		return;
	}
	if (n >= 3 && !strncasecmp(t, "RFC", 3) && (n == 3 || parse_numeric(out, t + 3, n - 3))) {
		out->rfc = true;
		return;
	}
	if (word_is(t, n, "RESEND")) {
		out->resend = true;
		return;
	}
	if (word_is(t, n, "PULL")) {
		out->is_pull = true;
		return;
	}
	if (word_is(t, n, "GIT"))
		return;
	xeci_strv_push(&out->prefixes, &out->nprefixes, xeci_strndup(t, n));
}

static void parse_group(xeci_subject_tags *out, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && (isspace((unsigned char)s[i]) || s[i] == ','))
			i++;
		size_t start = i;
		while (i < n && !isspace((unsigned char)s[i]) && s[i] != ',')
			i++;
		if (i > start)
			parse_word(out, s + start, i - start);
	}
}

static size_t skip_reply_prefix(const char *p)
{
	static const char *const pre[] = {"re:", "fwd:", "fw:", "aw:"};
	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
		if (!strncasecmp(p, pre[i], strlen(pre[i])))
			return strlen(pre[i]);
	return 0;
}

int xeci_subject_parse(xeci_subject_tags *out, const char *subject)
{
	memset(out, 0, sizeof(*out));
	out->version = 1;
	out->index = out->total = -1;
	if (!subject)
		return 0;
	const char *p = subject;
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		size_t skip = skip_reply_prefix(p);
		if (skip) {
			p += skip;
			continue;
		}
		if (*p != '[')
			break;
		const char *end = strchr(p, ']');
		if (!end)
			break;
		parse_group(out, p + 1, (size_t)(end - p - 1));
		p = end + 1;
	}
	return 0;
}
