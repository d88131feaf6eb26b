/* xeci_mail as compact JSON text, written directly: the same bytes as
 * json_dumps(xeci_mail_to_json(m), JSON_COMPACT), at a tenth of the cost
 * (jansson builds a hashtable per object and a string per value; on a bulk
 * ingest that was a tenth of all CPU). The key order and escapes follow
 * mail_json.c and jansson 2.14's dump.c; a string that is not valid UTF-8
 * (which jansson would refuse, turning it into null or dropping it) sends
 * the whole mail down the jansson path, so the text never differs.
 * tests/unit/test_mail_json_write.c compares both on every test mail. */
#include "mail_json_write.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

/* The length of the RFC 3629 UTF-8 sequence at s (its first byte >= 0x80),
 * as jansson's utf8_check_string accepts it; 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned c = *s, n, min, v;
	if (c >= 0xC2 && c <= 0xDF)
		n = 1, min = 0x80, v = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 2, min = 0x800, v = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 3, min = 0x10000, v = c & 0x07;
	else
		return 0;
	for (unsigned i = 1; i <= n; i++) { /* a NUL fails here: never read past it */
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	return n + 1;
}

typedef struct writer {
	xeci_buf b;
	bool bad; /* a string jansson would refuse */
} writer;

/* One pass: UTF-8 checked and escapes written as the bytes go by (a check
 * of the whole string first, then the escapes, read every string twice). */
static void put_string(writer *w, const char *str)
{
	const unsigned char *s = (const unsigned char *)str, *run = s;
	xeci_buf_putc(&w->b, '"');
	for (;;) {
		unsigned char c = *s;
		if (c >= 0x80) {
			size_t n = utf8_seq(s);
			if (!n) { /* the text is jansson's then: what follows does not matter */
				w->bad = true;
				n = 1;
			}
			s += n;
			continue;
		}
		if (c >= 0x20 && c != '"' && c != '\\') {
			s++;
			continue;
		}
		if (!c)
			break;
		xeci_buf_put(&w->b, run, (size_t)(s - run));
		run = ++s;
		switch (c) {
		case '"': xeci_buf_puts(&w->b, "\\\""); break;
		case '\\': xeci_buf_puts(&w->b, "\\\\"); break;
		case '\b': xeci_buf_puts(&w->b, "\\b"); break;
		case '\f': xeci_buf_puts(&w->b, "\\f"); break;
		case '\n': xeci_buf_puts(&w->b, "\\n"); break;
		case '\r': xeci_buf_puts(&w->b, "\\r"); break;
		case '\t': xeci_buf_puts(&w->b, "\\t"); break;
		default: xeci_buf_printf(&w->b, "\\u%04X", c); break;
		}
	}
	xeci_buf_put(&w->b, run, (size_t)(s - run));
	xeci_buf_putc(&w->b, '"');
}

/* ,"key": (the first key of an object comes without the comma) */
static void key(writer *w, const char *k, bool first)
{
	if (!first)
		xeci_buf_putc(&w->b, ',');
	xeci_buf_putc(&w->b, '"');
	xeci_buf_puts(&w->b, k);
	xeci_buf_puts(&w->b, "\":");
}

static void str_or_null(writer *w, const char *k, const char *s)
{
	key(w, k, false);
	if (s)
		put_string(w, s);
	else
		xeci_buf_puts(&w->b, "null");
}

static void strv(writer *w, const char *k, char *const *v, size_t n, bool first)
{
	key(w, k, first);
	xeci_buf_putc(&w->b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			xeci_buf_putc(&w->b, ',');
		put_string(w, v[i]);
	}
	xeci_buf_putc(&w->b, ']');
}

static void boolean(writer *w, const char *k, bool v)
{
	key(w, k, false);
	xeci_buf_puts(&w->b, v ? "true" : "false");
}

static void int_or_null(writer *w, const char *k, int v, bool null_below_zero)
{
	key(w, k, false);
	if (null_below_zero && v < 0)
		xeci_buf_puts(&w->b, "null");
	else
		xeci_buf_printf(&w->b, "%d", v);
}

static void tags(writer *w, const xeci_subject_tags *t)
{
	xeci_buf_puts(&w->b, "{\"version\":");
	xeci_buf_printf(&w->b, "%d", t->version);
	int_or_null(w, "index", t->index, true);
	int_or_null(w, "total", t->total, true);
	boolean(w, "rfc", t->rfc);
	boolean(w, "resend", t->resend);
	boolean(w, "is_patch", t->is_patch);
	boolean(w, "is_pull", t->is_pull);
	strv(w, "prefixes", t->prefixes, t->nprefixes, false);
	xeci_buf_putc(&w->b, '}');
}

static void trailers(writer *w, const xeci_mail *m)
{
	key(w, "trailers", false);
	xeci_buf_putc(&w->b, '[');
	for (size_t i = 0; i < m->ntrailers; i++) {
		xeci_buf_puts(&w->b, i ? ",{\"name\":" : "{\"name\":");
		put_string(w, m->trailers[i].name);
		xeci_buf_puts(&w->b, ",\"value\":");
		put_string(w, m->trailers[i].value);
		xeci_buf_putc(&w->b, '}');
	}
	xeci_buf_putc(&w->b, ']');
}

static void body(writer *w, const xeci_mail *m)
{
	char iso[21];
	xeci_buf_puts(&w->b, "{\"message_id\":");
	if (m->message_id)
		put_string(w, m->message_id);
	else
		xeci_buf_puts(&w->b, "null");
	str_or_null(w, "in_reply_to", m->in_reply_to);
	strv(w, "references", m->references, m->nreferences, false);
	str_or_null(w, "author_name", m->author_name);
	str_or_null(w, "author_email", m->author_email);
	if (m->date)
		xeci_time_iso(iso, m->date);
	str_or_null(w, "date", m->date ? iso : NULL);
	str_or_null(w, "date_raw", m->date_raw);
	str_or_null(w, "subject", m->subject);
	str_or_null(w, "subject_clean", m->subject_clean);
	key(w, "tags", false);
	tags(w, &m->tags);
	boolean(w, "has_patch", m->has_patch);
	str_or_null(w, "patch_sha256", m->has_patch ? m->patch_sha256 : NULL);
	strv(w, "files", m->files, m->nfiles, false);
	trailers(w, m);
	str_or_null(w, "base_commit", m->base_commit);
	str_or_null(w, "change_id", m->change_id);
	strv(w, "prerequisite_patch_ids", m->prereq_patch_ids, m->nprereq_patch_ids, false);
	strv(w, "depends_on", m->depends_on, m->ndepends_on, false);
	boolean(w, "is_pull_request", m->is_pull_request);
	str_or_null(w, "list_id", m->list_id);
	boolean(w, "mailinfo_error", m->mailinfo_error);
	xeci_buf_putc(&w->b, '}');
}

char *xeci_mail_json_text(const xeci_mail *m)
{
	writer w = {XECI_BUF_INIT, false};
	xeci_buf_grow(&w.b, 2048); /* most mails' JSON: one allocation, no regrowth */
	body(&w, m);
	if (!w.bad)
		return xeci_buf_detach(&w.b);
	xeci_buf_free(&w.b);
	json_t *j = xeci_mail_to_json(m);
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}
