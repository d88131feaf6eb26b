/* The Atom transport of public-inbox: poll URL/new.atom (the 25 newest
 * messages), fetch each new entry as URL/MSGID/raw, and when the feed has
 * moved past everything seen last time (a gap: more than 25 arrived), fetch
 * the whole thread of each entry (URL/MSGID/t.mbox.gz) so that the messages
 * that scrolled out of the feed in those threads are not missed. Messages in
 * threads with no entry left in the feed can still be missed: the git
 * transport is the complete one. */
#include "inbox.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <glib.h>

#include "buf.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "util.h"

#define FEED_MAX (16u << 20)

typedef struct entry {
	char *id;  /* <id>: urn:uuid:... */
	char *seg; /* the Message-ID as public-inbox escapes it in URLs */
} entry;

typedef struct feed {
	entry *v;  /* in feed order: newest first */
	size_t n;
	int depth;       /* element depth */
	int entry_depth; /* depth of the open <entry>, 0 when none */
	bool in_id;      /* inside <id> directly under <entry> */
	xeci_buf text;
} feed;

/* --- the feed ------------------------------------------------------------- */

static const char *local_name(const char *name)
{
	const char *c = strrchr(name, ':');
	return c ? c + 1 : name;
}

/* The last path segment of an entry link "BASE/MSGID/": the escaped
 * Message-ID. Only the segment is kept and joined to our own URL, so a feed
 * cannot send us to another host. */
static char *link_segment(const char *href)
{
	size_t n = strlen(href);
	const char *start;

	while (n > 0 && href[n - 1] == '/')
		n--;
	start = href + n;
	while (start > href && start[-1] != '/')
		start--;
	if (start == href + n || (href + n - start <= 2 && start[0] == '.'))
		return NULL;
	for (const char *p = start; p < href + n; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '?' || *p == '#' || *p == '\\')
			return NULL;
	return xeci_strndup(start, (size_t)(href + n - start));
}

static void on_start(GMarkupParseContext *ctx, const char *name, const char **attr_names,
		     const char **attr_values, gpointer user, GError **err)
{
	feed *f = user;
	const char *ln = local_name(name);

	f->depth++;
	if (strcmp(ln, "entry") == 0 && !f->entry_depth && strcmp(name, ln) == 0) {
		f->entry_depth = f->depth;
		f->v = xeci_realloc(f->v, (f->n + 1) * sizeof(*f->v));
		memset(&f->v[f->n++], 0, sizeof(*f->v));
		return;
	}
	if (!f->entry_depth || f->depth != f->entry_depth + 1 || strcmp(name, ln) != 0)
		return;
	entry *e = &f->v[f->n - 1];
	if (strcmp(name, "id") == 0) {
		f->in_id = true;
		xeci_buf_clear(&f->text);
	} else if (strcmp(name, "link") == 0 && !e->seg) {
		const char *href = NULL, *rel = NULL;
		for (size_t i = 0; attr_names[i]; i++) {
			if (strcmp(attr_names[i], "href") == 0)
				href = attr_values[i];
			else if (strcmp(attr_names[i], "rel") == 0)
				rel = attr_values[i];
		}
		if (href && (!rel || strcmp(rel, "alternate") == 0))
			e->seg = link_segment(href);
	}
}

static void on_end(GMarkupParseContext *ctx, const char *name, gpointer user, GError **err)
{
	feed *f = user;

	if (f->in_id && f->depth == f->entry_depth + 1) {
		f->v[f->n - 1].id = xeci_strndup(f->text.ptr ? f->text.ptr : "", f->text.len);
		f->in_id = false;
	}
	if (f->depth == f->entry_depth)
		f->entry_depth = 0;
	f->depth--;
}

static void on_text(GMarkupParseContext *ctx, const char *text, gsize len, gpointer user, GError **err)
{
	feed *f = user;
	if (f->in_id)
		xeci_buf_put(&f->text, text, len);
}

static void feed_free(feed *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].id);
		free(f->v[i].seg);
	}
	free(f->v);
	xeci_buf_free(&f->text);
	memset(f, 0, sizeof(*f));
}

/* Parses the feed's entries (id and link segment); an entry missing either
 * is dropped with a warning. */
static int feed_parse(feed *f, const char *xml, size_t len, const char *furl)
{
	static const GMarkupParser parser = {on_start, on_end, on_text, NULL, NULL};
	GMarkupParseContext *ctx;
	GError *gerr = NULL;
	size_t kept = 0;

	memset(f, 0, sizeof(*f));
	ctx = g_markup_parse_context_new(&parser, 0, f, NULL);
	if (!g_markup_parse_context_parse(ctx, xml, (gssize)len, &gerr) ||
	    !g_markup_parse_context_end_parse(ctx, &gerr)) {
		int rc = xeci_error_setc(XECI_EINVALID, "%s: not an Atom feed: %s", furl,
					 gerr ? gerr->message : "parse error");
		g_clear_error(&gerr);
		g_markup_parse_context_free(ctx);
		feed_free(f);
		return rc;
	}
	g_markup_parse_context_free(ctx);
	for (size_t i = 0; i < f->n; i++) {
		if (!f->v[i].id || !f->v[i].seg || !*f->v[i].id) {
			XECI_WARN("%s: entry %zu has no id or no usable link; skipped", furl, i);
			free(f->v[i].id);
			free(f->v[i].seg);
			continue;
		}
		f->v[kept++] = f->v[i];
	}
	f->n = kept;
	return 0;
}

/* --- mboxrd, as public-inbox writes it ---------------------------------- */

/* public-inbox's mboxrd (MID/raw, t.mbox.gz): each message starts with a
 * "From " line, body lines matching /^>*From / got one more '>', and one
 * "\n" follows every message. Undo exactly that, and nothing else, so that
 * the bytes equal the git blob's and the ingest stage's dedup (Message-ID +
 * bytes) sees one message whichever transport brought it. daemon/mbox.h
 * reads mboxrd as `git mailsplit` does instead: it keeps the From line and
 * the trailing blank line and drops CRs, which is right for mailinfo but
 * not here. */
typedef int (*mboxrd_fn)(const char *msg, size_t len, void *payload);

static int mboxrd_each(const char *data, size_t len, mboxrd_fn fn, void *payload)
{
	const char *p = data, *end = data + len;
	xeci_buf msg = XECI_BUF_INIT;
	bool open = false;
	int rc = 0;

	while (p < end && rc == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end;
		if ((size_t)(end - p) >= 5 && memcmp(p, "From ", 5) == 0) {
			if (open && msg.len && msg.ptr[msg.len - 1] == '\n')
				msg.len--; /* the separator public-inbox added */
			if (open)
				rc = fn(msg.ptr ? msg.ptr : "", msg.len, payload);
			xeci_buf_clear(&msg);
			open = true;
		} else {
			const char *q = p;
			while (q < next && *q == '>')
				q++;
			bool quoted = q > p && (size_t)(next - q) >= 5 && memcmp(q, "From ", 5) == 0;
			xeci_buf_put(&msg, p + quoted, (size_t)(next - p) - quoted);
			open = true; /* text without a From line: one message */
		}
		p = next;
	}
	if (rc == 0 && open) {
		if (msg.len && msg.ptr[msg.len - 1] == '\n')
			msg.len--;
		rc = fn(msg.ptr ? msg.ptr : "", msg.len, payload);
	}
	xeci_buf_free(&msg);
	return rc;
}

/* The Message-ID of a raw message without <>, or NULL (caller frees). */
static char *message_id(const char *msg, size_t len)
{
	const char *p = msg, *end = msg + len;

	while (p < end && *p != '\n' && !(*p == '\r' && p + 1 < end && p[1] == '\n')) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		if (eol - p > 11 && strncasecmp(p, "Message-ID:", 11) == 0) {
			const char *lt = memchr(p, '<', (size_t)(end - p));
			const char *gt = lt ? memchr(lt, '>', (size_t)(end - lt)) : NULL;
			return gt ? xeci_strndup(lt + 1, (size_t)(gt - lt - 1)) : NULL;
		}
		p = nl ? nl + 1 : end;
	}
	return NULL;
}

/* Undoes the %XX escapes public-inbox puts in Message-IDs in URLs. */
static char *unescape(const char *s)
{
	xeci_buf b = XECI_BUF_INIT;
	for (; *s; s++) {
		if (s[0] == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
			char hex[3] = {s[1], s[2], 0};
			xeci_buf_putc(&b, (char)strtol(hex, NULL, 16));
			s += 2;
		} else {
			xeci_buf_putc(&b, *s);
		}
	}
	xeci_buf_put(&b, "", 0);
	return xeci_buf_detach(&b);
}

/* --- fetching ------------------------------------------------------------ */

typedef struct poll_ctx {
	const char *base;
	xeci_inbox_msg_fn fn;
	void *payload;
	const char *source; /* URL the current body came from */
	GHashTable *thread_mids; /* Message-IDs in the threads fetched this poll */
} poll_t;

static int hand_over(const char *msg, size_t len, void *payload)
{
	poll_t *p = payload;
	xeci_inbox_msg m = {msg, len, false, -1, NULL, p->source, NULL, NULL, NULL, NULL};

	if (p->thread_mids) {
		char *mid = message_id(msg, len);
		if (mid)
			g_hash_table_add(p->thread_mids, mid);
	}
	return p->fn(&m, p->payload);
}

/* Hands over an entry that could not be fetched (gone since the feed was
 * made: 404) with `error` set, so that the ingest stage records it. */
static int hand_over_error(poll_t *p, const char *url)
{
	xeci_inbox_msg m = {NULL, 0, false, -1, NULL, url, xeci_error_last(), NULL, NULL, NULL};
	XECI_WARN("%s", xeci_error_last());
	return p->fn(&m, p->payload);
}

/* GETs base/seg/what; with gz, gunzips; then hands each message over. */
static int fetch_messages(poll_t *p, const char *seg, const char *what, bool gz)
{
	xeci_buf url = XECI_BUF_INIT, plain = XECI_BUF_INIT;
	xeci_http_response r;
	int rc;

	xeci_buf_printf(&url, "%s/%s/%s", p->base, seg, what);
	p->source = url.ptr;
	rc = xeci_http_get(&r, url.ptr, NULL);
	if (rc == XECI_ENOTFOUND) {
		rc = hand_over_error(p, url.ptr);
	} else if (rc == 0 && gz) {
		if ((rc = xeci_gunzip(&plain, r.body.ptr, r.body.len, 0)) < 0) {
			char last[512];
			snprintf(last, sizeof(last), "%s", xeci_error_last());
			rc = xeci_error_setc(rc, "%s: %s", url.ptr, last);
		} else {
			rc = mboxrd_each(plain.ptr, plain.len, hand_over, p);
		}
	} else if (rc == 0) {
		rc = mboxrd_each(r.body.ptr, r.body.len, hand_over, p);
	}
	xeci_http_response_free(&r);
	xeci_buf_free(&plain);
	xeci_buf_free(&url);
	p->source = NULL;
	return rc;
}

static bool seen(const xeci_atom_state *s, const char *id)
{
	for (size_t i = 0; i < s->nseen_ids; i++)
		if (strcmp(s->seen_ids[i], id) == 0)
			return true;
	return false;
}

/* A gap: we polled before, and nothing we saw then is in the feed now. */
static bool is_gap(const xeci_atom_state *s, const feed *f)
{
	if (s->nseen_ids == 0 || f->n == 0)
		return false;
	for (size_t i = 0; i < f->n; i++)
		if (seen(s, f->v[i].id))
			return false;
	return true;
}

/* Oldest first: each new entry's raw message(s), or in a gap the thread of
 * each entry whose message no earlier thread of this poll held. */
static int fetch_entries(poll_t *p, const xeci_atom_state *s, const feed *f, bool gap)
{
	int rc = 0;

	for (size_t i = f->n; i-- > 0 && rc == 0;) {
		const entry *e = &f->v[i];
		if (!gap) {
			if (!seen(s, e->id))
				rc = fetch_messages(p, e->seg, "raw", false);
			continue;
		}
		char *mid = unescape(e->seg);
		bool have = g_hash_table_contains(p->thread_mids, mid);
		free(mid);
		if (!have)
			rc = fetch_messages(p, e->seg, "t.mbox.gz", true);
	}
	return rc;
}

/* The poll succeeded: remember the feed's ids and validators. */
static void state_update(xeci_atom_state *s, const feed *f, xeci_http_response *r)
{
	for (size_t i = 0; i < s->nseen_ids; i++)
		free(s->seen_ids[i]);
	free(s->seen_ids);
	s->seen_ids = f->n ? xeci_calloc(f->n, sizeof(char *)) : NULL;
	s->nseen_ids = f->n;
	for (size_t i = 0; i < f->n; i++)
		s->seen_ids[i] = xeci_strdup(f->v[i].id);
	free(s->etag);
	free(s->last_modified);
	s->etag = r->etag;
	s->last_modified = r->last_modified;
	r->etag = r->last_modified = NULL;
}

int xeci_inbox_atom_fetch(const char *url, xeci_atom_state *state,
			  xeci_inbox_msg_fn fn, void *payload)
{
	xeci_http_opts o = XECI_HTTP_OPTS_INIT;
	xeci_http_response r;
	xeci_buf base = XECI_BUF_INIT, furl = XECI_BUF_INIT;
	feed f = {0};
	size_t n = strlen(url);
	int rc;

	while (n > 1 && url[n - 1] == '/')
		n--;
	xeci_buf_put(&base, url, n);
	xeci_buf_printf(&furl, "%s/new.atom", base.ptr);
	o.if_none_match = state->etag;
	o.if_modified_since = state->last_modified;
	o.max_size = FEED_MAX;
	rc = xeci_http_get(&r, furl.ptr, &o);
	if (rc < 0 || r.status == 304)
		goto done;
	if ((rc = feed_parse(&f, r.body.ptr, r.body.len, furl.ptr)) < 0)
		goto done;
	bool gap = is_gap(state, &f);
	poll_t p = {base.ptr, fn, payload, NULL, NULL};
	if (gap) {
		XECI_INFO("%s: none of the %zu entries seen last time is left: fetching whole threads",
			  furl.ptr, state->nseen_ids);
		p.thread_mids = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
	}
	rc = fetch_entries(&p, state, &f, gap);
	if (p.thread_mids)
		g_hash_table_destroy(p.thread_mids);
	if (rc == 0)
		state_update(state, &f, &r);
done:
	feed_free(&f);
	xeci_http_response_free(&r);
	xeci_buf_free(&base);
	xeci_buf_free(&furl);
	return rc;
}

void xeci_atom_state_clear(xeci_atom_state *state)
{
	for (size_t i = 0; i < state->nseen_ids; i++)
		free(state->seen_ids[i]);
	free(state->seen_ids);
	free(state->etag);
	free(state->last_modified);
	memset(state, 0, sizeof(*state));
}
