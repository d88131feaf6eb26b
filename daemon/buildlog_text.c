/* Text helpers of the tool-output parsers (see buildlog_text.h): lines,
 * numbers and the UTF-8 sanitizer the kbuild log parser (buildlog.c) and
 * the checkpatch parser (checkpatch.c) share. */
#include <ctype.h>
#include <string.h>

#include "buf.h"
#include "buildlog_text.h"
#include "util.h"

/* A longer field (a message of a line of garbage) is cut: it is stored in
 * the database and quoted in replies. */
#define MAX_FIELD 4096

bool xeci_text_next_line(const char **at, const char *end, xeci_text_line *l)
{
	if (*at >= end)
		return false;
	const char *nl = memchr(*at, '\n', (size_t)(end - *at));
	l->p = *at;
	l->n = nl ? (size_t)(nl - *at) : (size_t)(end - *at);
	*at = nl ? nl + 1 : end;
	if (l->n && l->p[l->n - 1] == '\r')
		l->n--;
	return true;
}

bool xeci_text_has_prefix(const char *p, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);
	return n >= k && !memcmp(p, prefix, k);
}

/* A copy that is valid UTF-8 without control characters (tabs kept), with
 * surrounding blanks trimmed, cut at MAX_FIELD bytes. */
char *xeci_text_clean(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	xeci_buf b = XECI_BUF_INIT;
	xeci_buf_grow(&b, n < MAX_FIELD ? n : MAX_FIELD);
	size_t i = 0;
	while (i < n) {
		const unsigned char *u = (const unsigned char *)p + i;
		size_t k = xeci_utf8_len(u, n - i);
		if (b.len + (k ? k : 1) > MAX_FIELD)
			break;
		if (k == 1 && (u[0] < 0x20 || u[0] == 0x7f) && u[0] != '\t')
			xeci_buf_putc(&b, '?');
		else if (k)
			xeci_buf_put(&b, u, k);
		else
			xeci_buf_putc(&b, '?');
		i += k ? k : 1;
	}
	xeci_buf_putc(&b, '\0'); /* an empty buffer has no memory yet */
	return xeci_buf_detach(&b);
}

bool xeci_text_parse_num(const char *p, size_t n, size_t *i, int *out)
{
	size_t j = *i;
	int v = 0;
	while (j < n && isdigit((unsigned char)p[j]) && j - *i < 9)
		v = v * 10 + (p[j++] - '0');
	if (j == *i || (j < n && isdigit((unsigned char)p[j])))
		return false;
	*i = j;
	*out = v;
	return true;
}
