/* The string rules of `git mailinfo` (mailinfo.c): RFC 2047 words as it
 * decodes them, per-line transfer decoding, charset conversion to UTF-8,
 * and the clean-up of From and Subject. GMime does the decoding and the
 * charset work; the rules around it (what counts as a word, which
 * whitespace survives, what a failure drops) are mailinfo's, because the
 * output must be byte-identical to what `git am` would commit. */
#define _GNU_SOURCE
#include <errno.h>
#include <gmime/gmime.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

#include "mail_internal.h"
#include "util.h"

void xeci_mi_rtrim(xeci_buf *sb)
{
	while (sb->len && xeci_git_isspace((unsigned char)sb->ptr[sb->len - 1]))
		sb->len--;
	if (sb->ptr)
		sb->ptr[sb->len] = '\0';
}

void xeci_mi_trim(xeci_buf *sb)
{
	xeci_mi_rtrim(sb);
	size_t i = 0;
	while (i < sb->len && xeci_git_isspace((unsigned char)sb->ptr[i]))
		i++;
	if (i) {
		memmove(sb->ptr, sb->ptr + i, sb->len - i + 1);
		sb->len -= i;
	}
}

/* Every run of whitespace becomes one space (in place, linear). */
void xeci_mi_cleanup_space(xeci_buf *sb)
{
	size_t w = 0;
	for (size_t r = 0; r < sb->len; r++) {
		if (xeci_git_isspace((unsigned char)sb->ptr[r])) {
			sb->ptr[w++] = ' ';
			while (r + 1 < sb->len && xeci_git_isspace((unsigned char)sb->ptr[r + 1]))
				r++;
		} else {
			sb->ptr[w++] = sb->ptr[r];
		}
	}
	sb->len = w;
	if (sb->ptr)
		sb->ptr[w] = '\0';
}

/* Drops leading "Re:", blanks, ':' and [...] groups (mailinfo without -k).
 * mailinfo removes them one by one from the front; skipping an offset and
 * moving once gives the same string in linear time. */
void xeci_mi_cleanup_subject(xeci_buf *sb)
{
	size_t at = 0;
	while (at < sb->len) {
		char c = sb->ptr[at];
		size_t remove = 0;
		if ((c == 'r' || c == 'R') && sb->len > at + 3 &&
		    (sb->ptr[at + 1] == 'e' || sb->ptr[at + 1] == 'E') && sb->ptr[at + 2] == ':')
			remove = 3;
		else if (c == ' ' || c == '\t' || c == ':')
			remove = 1;
		else if (c == '[') {
			char *pos = strchr(sb->ptr + at, ']');
			if (pos)
				remove = (size_t)(pos - (sb->ptr + at)) + 1;
		}
		if (!remove)
			break;
		at += remove;
	}
	if (at) {
		memmove(sb->ptr, sb->ptr + at, sb->len - at + 1);
		sb->len -= at;
	}
	xeci_mi_trim(sb);
}

/* git's same_utf_encoding()/same_encoding() against "UTF-8". */
static bool is_utf8_name(const char *cs)
{
	if (strncasecmp(cs, "utf", 3))
		return !strcasecmp(cs, "UTF-8");
	cs += 3;
	if (*cs == '-')
		cs++;
	return !strcasecmp(cs, "8");
}

/* Charsets in which pure ASCII text stands for itself: such a line needs
 * no conversion (and cannot fail one). */
static bool ascii_compatible(const char *cs)
{
	static const char *const prefixes[] = {"us-ascii", "ascii", "iso-8859-", "iso8859-", "latin",
					       "windows-125", "cp125", "koi8-"};
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncasecmp(cs, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

static bool all_ascii(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return false;
	return true;
}

/* iconv_open() loads a gconv module each time (GMime 3 keeps no cache), so
 * each thread keeps the few converters it used last. They live as long as
 * the thread. */
#define ICONV_CACHE 4
static __thread struct {
	char name[48];
	iconv_t cd;
} iconv_cache[ICONV_CACHE];
static __thread unsigned iconv_cache_next;

static iconv_t open_to_utf8(const char *charset)
{
	for (int i = 0; i < ICONV_CACHE; i++)
		if (iconv_cache[i].cd && !strcasecmp(iconv_cache[i].name, charset))
			return iconv_cache[i].cd;
	iconv_t cd = g_mime_iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1 && !strcasecmp(charset, "latin-1"))
		cd = g_mime_iconv_open("UTF-8", "ISO-8859-1");
	if (cd == (iconv_t)-1 || strlen(charset) >= sizeof(iconv_cache[0].name))
		return cd;
	unsigned slot = iconv_cache_next++ % ICONV_CACHE;
	if (iconv_cache[slot].cd)
		g_mime_iconv_close(iconv_cache[slot].cd);
	strcpy(iconv_cache[slot].name, charset);
	iconv_cache[slot].cd = cd;
	return cd;
}

static void close_to_utf8(iconv_t cd, const char *charset)
{
	iconv(cd, NULL, NULL, NULL, NULL); /* back to the initial state */
	for (int i = 0; i < ICONV_CACHE; i++)
		if (iconv_cache[i].cd == cd)
			return;
	g_mime_iconv_close(cd);
}

/* Converts line from charset to UTF-8 in place. Like git's reencode, any
 * invalid or incomplete input fails the whole line (returns -1). */
int xeci_mi_convert_utf8(xeci_buf *line, const char *charset)
{
	if (!charset || !*charset || is_utf8_name(charset))
		return 0;
	if (ascii_compatible(charset) && all_ascii(line->ptr, line->len))
		return 0;
	iconv_t cd = open_to_utf8(charset);
	if (cd == (iconv_t)-1)
		return -1;

	size_t cap = line->len * 2 + 16;
	char *out = xeci_malloc(cap + 1);
	char *in = line->ptr ? line->ptr : (char *)"";
	size_t inleft = line->len, outleft = cap;
	char *op = out;
	int rc = 0;
	while (inleft) {
		size_t r = iconv(cd, &in, &inleft, &op, &outleft);
		if (r != (size_t)-1)
			break;
		if (errno != E2BIG) {
			rc = -1;
			break;
		}
		size_t used = (size_t)(op - out);
		cap *= 2;
		out = xeci_realloc(out, cap + 1);
		op = out + used;
		outleft = cap - used;
	}
	close_to_utf8(cd, charset);
	if (rc) {
		free(out);
		return -1;
	}
	size_t n = (size_t)(op - out);
	out[n] = '\0';
	free(line->ptr);
	line->ptr = out;
	line->len = n;
	line->cap = cap + 1;
	return 0;
}

/* Base64 of one line, with a fresh state, emitting a trailing partial
 * group as mailinfo's decode_b_segment does (GMime needs the padding). */
static size_t b64_decode(const char *in, size_t n, char *out)
{
	int state = 0;
	guint32 save = 0;
	size_t o = g_mime_encoding_base64_decode_step((const unsigned char *)in, n,
						      (unsigned char *)out, &state, &save);
	if (state == 2)
		o += g_mime_encoding_base64_decode_step((const unsigned char *)"==", 2,
							(unsigned char *)out + o, &state, &save);
	else if (state == 3)
		o += g_mime_encoding_base64_decode_step((const unsigned char *)"=", 1,
							(unsigned char *)out + o, &state, &save);
	return o;
}

static size_t qp_decode(const char *in, size_t n, char *out)
{
	int state = 0;
	guint32 save = 0;
	return g_mime_encoding_quoted_decode_step((const unsigned char *)in, n,
						  (unsigned char *)out, &state, &save);
}

/* Decodes a transfer-encoded line in place (up to its first NUL, as
 * mailinfo reads it as a C string). */
void xeci_mi_decode_te(xeci_buf *line, int te)
{
	if (te == XECI_TE_NONE || !line->ptr)
		return;
	size_t n = strlen(line->ptr);
	char stackbuf[1024];
	char *tmp = n + 8 <= sizeof(stackbuf) ? stackbuf : xeci_malloc(n + 8);
	size_t o = te == XECI_TE_BASE64 ? b64_decode(line->ptr, n, tmp) : qp_decode(line->ptr, n, tmp);
	xeci_buf_clear(line);
	xeci_buf_put(line, tmp, o);
	if (tmp != stackbuf)
		free(tmp);
}

/* One encoded word's payload: Q ('_' is a space) or B, then to UTF-8. */
static int decode_word(xeci_buf *out, const char *charset, char enc, const char *p, size_t n)
{
	xeci_buf dec = XECI_BUF_INIT;
	xeci_buf_grow(&dec, n + 8);
	if (enc == 'b' || enc == 'B') {
		dec.len = b64_decode(p, n, dec.ptr);
	} else {
		char *tmp = xeci_strndup(p, n);
		for (char *c = tmp; *c; c++)
			if (*c == '_')
				*c = ' ';
		dec.len = qp_decode(tmp, strlen(tmp), dec.ptr);
		free(tmp);
	}
	dec.ptr[dec.len] = '\0';
	int rc = xeci_mi_convert_utf8(&dec, charset);
	if (!rc)
		xeci_buf_put(out, dec.ptr, dec.len);
	xeci_buf_free(&dec);
	return rc;
}

/* mailinfo's decode_header(): =?cs?q|b?...?= words are decoded, blanks
 * between two words dropped, the rest kept byte for byte. On a malformed
 * word the header stays as it was and -1 tells mailinfo's input_error. */
int xeci_mi_decode_header(xeci_buf *it)
{
	if (!it->ptr || !strstr(it->ptr, "=?"))
		return 0;
	xeci_buf out = XECI_BUF_INIT;
	const char *base = it->ptr, *in = base, *ep;
	int rc = -1;
	while ((size_t)(in - base) <= it->len && (ep = strstr(in, "=?")) != NULL) {
		if (in != ep) {
			const char *scan = in;
			while (scan < ep && xeci_git_isspace((unsigned char)*scan))
				scan++;
			if (scan != ep || in == base)
				xeci_buf_put(&out, in, (size_t)(ep - in));
		}
		ep += 2;
		const char *cp;
		if ((size_t)(ep - base) >= it->len || !(cp = strchr(ep, '?')))
			goto out;
		if ((size_t)(cp + 3 - base) > it->len)
			goto out;
		char enc = cp[1];
		if (!enc || cp[2] != '?')
			goto out;
		const char *end = strstr(cp + 3, "?=");
		if (!end || (enc != 'b' && enc != 'B' && enc != 'q' && enc != 'Q'))
			goto out;
		char *charset = xeci_strndup(ep, (size_t)(cp - ep));
		int r = decode_word(&out, charset, enc, cp + 3, (size_t)(end - cp - 3));
		free(charset);
		if (r)
			goto out;
		in = end + 2;
	}
	xeci_buf_puts(&out, in);
	xeci_buf_free(it);
	*it = out;
	return 0;
out:
	xeci_buf_free(&out);
	return rc;
}

/* get_sane_name(): the e-mail stands in for an empty, long or odd name. */
static void sane_name(xeci_buf *out, const char *name, size_t len, const xeci_buf *email)
{
	const char *src = name;
	size_t n = len;
	if (!len || len > 60 || strpbrk(name, "@<>")) {
		src = email->ptr ? email->ptr : "";
		n = email->len;
	}
	char *copy = xeci_strndup(src, n);
	xeci_buf_clear(out);
	xeci_buf_put(out, copy, n);
	free(copy);
}

/* Copies a comment "( ... )" with nesting, dropping backslashes. */
static const char *unquote_comment(xeci_buf *out, const char *in)
{
	int c, literal = 0;
	xeci_buf_putc(out, '(');
	while ((c = *in++) != 0) {
		if (literal) {
			literal = 0;
		} else if (c == '\\') {
			literal = 1;
			continue;
		} else if (c == '(') {
			in = unquote_comment(out, in);
			continue;
		} else if (c == ')') {
			xeci_buf_putc(out, ')');
			return in;
		}
		xeci_buf_putc(out, (char)c);
	}
	return in - 1; /* at the NUL: the caller stops there too */
}

static const char *unquote_string(xeci_buf *out, const char *in)
{
	int c, literal = 0;
	while ((c = *in++) != 0) {
		if (literal) {
			literal = 0;
		} else if (c == '\\') {
			literal = 1;
			continue;
		} else if (c == '"') {
			return in;
		}
		xeci_buf_putc(out, (char)c);
	}
	return in - 1; /* at the NUL: the caller stops there too */
}

static void parse_bogus_from(xeci_buf *name, xeci_buf *email, const char *line)
{
	if (email->len)
		return;
	const char *bra = strchr(line, '<'), *ket;
	if (!bra || !(ket = strchr(bra, '>')))
		return;
	xeci_buf_clear(email);
	xeci_buf_put(email, bra + 1, (size_t)(ket - bra - 1));
	xeci_buf n = XECI_BUF_INIT;
	xeci_buf_put(&n, line, (size_t)(bra - line));
	xeci_mi_trim(&n);
	sane_name(name, n.ptr, n.len, email);
	xeci_buf_free(&n);
}

/* mailinfo's handle_from(): the word around '@' is the address, the rest
 * (quotes and comment markers resolved) the name. */
void xeci_mi_handle_from(xeci_buf *name, xeci_buf *email, const xeci_buf *from)
{
	const char *src = from->ptr ? from->ptr : "";
	xeci_buf f = XECI_BUF_INIT;
	xeci_buf_grow(&f, from->len);
	for (const char *in = src; *in;) {
		int c = *in++;
		if (c == '"')
			in = unquote_string(&f, in);
		else if (c == '(')
			in = unquote_comment(&f, in);
		else
			xeci_buf_putc(&f, (char)c);
	}
	xeci_buf_put(&f, "", 0); /* NUL-terminated even when empty */

	char *at = strchr(f.ptr, '@');
	if (!at) {
		parse_bogus_from(name, email, src);
		goto out;
	}
	if (email->len && strchr(at + 1, '@'))
		goto out;
	while (at > f.ptr) {
		char c = at[-1];
		if (xeci_git_isspace((unsigned char)c))
			break;
		if (c == '<') {
			at[-1] = ' ';
			break;
		}
		at--;
	}
	size_t el = strcspn(at, " \n\t\r\v\f>");
	xeci_buf_clear(email);
	xeci_buf_put(email, at, el);
	size_t off = (size_t)(at - f.ptr), rm = el + (at[el] ? 1 : 0);
	memmove(f.ptr + off, f.ptr + off + rm, f.len - off - rm + 1);
	f.len -= rm;

	xeci_mi_cleanup_space(&f);
	xeci_mi_trim(&f);
	if (f.len && f.ptr[0] == '(' && f.ptr[f.len - 1] == ')') {
		memmove(f.ptr, f.ptr + 1, f.len);
		f.len -= 2;
		f.ptr[f.len] = '\0';
	}
	sane_name(name, f.ptr, f.len, email);
out:
	xeci_buf_free(&f);
}

/* U+FFFD for each maximal invalid subpart (Unicode's recommended practice,
 * which Python's "replace" follows). */
char *xeci_utf8_sanitize(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	xeci_buf out = XECI_BUF_INIT;
	xeci_buf_grow(&out, len);
	while (p < end) {
		const unsigned char *run = p; /* copy ASCII runs at once */
		while (p < end && *p && *p < 0x80)
			p++;
		if (p > run)
			xeci_buf_put(&out, run, (size_t)(p - run));
		if (p >= end)
			break;
		unsigned char c = *p;
		size_t need = 0;
		unsigned char lo = 0x80, hi = 0xBF;
		if (c < 0x80) {
			xeci_buf_putc(&out, (char)c);
			p++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			need = 1;
		else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			lo = c == 0xE0 ? 0xA0 : 0x80;
			hi = c == 0xED ? 0x9F : 0xBF;
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			lo = c == 0xF0 ? 0x90 : 0x80;
			hi = c == 0xF4 ? 0x8F : 0xBF;
		}
		size_t i = 1;
		if (need) {
			for (; i <= need && p + i < end; i++) {
				unsigned char lo_i = i == 1 ? lo : 0x80, hi_i = i == 1 ? hi : 0xBF;
				if (p[i] < lo_i || p[i] > hi_i)
					break;
			}
		}
		if (need && i == need + 1) {
			xeci_buf_put(&out, p, need + 1);
			p += need + 1;
		} else {
			xeci_buf_puts(&out, "\xEF\xBF\xBD");
			p += i;
		}
	}
	xeci_buf_put(&out, "", 0); /* NUL-terminated even when empty */
	return xeci_buf_detach(&out);
}
