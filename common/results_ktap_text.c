/* KTAP parser: the log as kunit.py reads it (Python's decoding with
 * errors='backslashreplace', str.isspace(), its line breaks). */
#define _GNU_SOURCE
#include "results_ktap_int.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* --- Decoding, as Python's open(errors='backslashreplace') and str --- */

void xeci_ktap__decode(xeci_buf *b, const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text;
	xeci_buf_grow(b, len);
	for (size_t i = 0; i < len;) {
		if (p[i] == '\r') {
			xeci_buf_putc(b, '\n');
			i += (i + 1 < len && p[i + 1] == '\n') ? 2 : 1;
			continue;
		}
		size_t n = xeci_utf8_len(p + i, len - i);
		if (n) {
			xeci_buf_put(b, p + i, n);
			i += n;
		} else {
			xeci_buf_printf(b, "\\x%02x", p[i]);
			i++;
		}
	}
}

uint32_t xeci_ktap__codepoint(const unsigned char *p, size_t *n)
{
	if (p[0] < 0x80) {
		*n = 1;
		return p[0];
	}
	if (p[0] < 0xE0) {
		*n = 2;
		return ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
	}
	if (p[0] < 0xF0) {
		*n = 3;
		return ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
	}
	*n = 4;
	return ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
	       ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
}

/* Python's str.isspace(), which is also what re's \s matches. */
static bool py_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
	       c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
	       c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Bytes of whitespace at the start of v. */
size_t xeci_ktap__lspace(view v)
{
	size_t i = 0, n;
	while (i < v.len && py_space(xeci_ktap__codepoint((const unsigned char *)v.s + i, &n)))
		i += n;
	return i;
}

/* Length of s[0, len) without trailing whitespace (the text is valid UTF-8:
 * step back to each character's first byte). */
static size_t rstrip_len(const char *s, size_t len)
{
	while (len) {
		size_t start = len - 1, n;
		while (start && ((unsigned char)s[start] & 0xC0) == 0x80)
			start--;
		if (!py_space(xeci_ktap__codepoint((const unsigned char *)s + start, &n)))
			break;
		len = start;
	}
	return len;
}

/* Bytes of the line break at t[i], 0 for none: kunit.py reads a file with
 * str.splitlines(), which also breaks at \v \f \x1c-\x1e U+0085 U+2028
 * U+2029 (CRs are newlines already). */
static size_t line_break(const char *t, size_t i, size_t len)
{
	unsigned char c = (unsigned char)t[i];
	if (c == '\n' || c == '\v' || c == '\f' || (c >= 0x1C && c <= 0x1E))
		return 1;
	if (c == 0xC2 && i + 1 < len && (unsigned char)t[i + 1] == 0x85)
		return 2;
	if (c == 0xE2 && i + 2 < len && (unsigned char)t[i + 1] == 0x80 &&
	    ((unsigned char)t[i + 2] == 0xA8 || (unsigned char)t[i + 2] == 0xA9))
		return 3;
	return 0;
}

line *xeci_ktap__split_lines(const char *t, size_t len, size_t *count)
{
	size_t n = 0, cap = 64;
	line *l = xeci_malloc(cap * sizeof(*l));
	for (size_t i = 0; i < len;) {
		size_t end = i, brk = 0;
		while (end < len && !(brk = line_break(t, end, len)))
			end++;
		if (n == cap)
			l = xeci_realloc(l, (cap *= 2) * sizeof(*l));
		l[n].off = i;
		l[n].len = rstrip_len(t + i, end - i);
		l[n].next = end + brk;
		i = l[n++].next;
	}
	*count = n;
	return l;
}
