/* xeci_mail_parse: mailinfo's view of a mail (mail_info.c) plus what GMime
 * parses from the headers (message ids, references, date, List-Id and the
 * RFC 2047 subject), the subject tags, trailers, series metadata and the
 * files a patch touches. */
#define _GNU_SOURCE
#include "mail.h"

#include <gmime/gmime.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "mail_internal.h"
#include "util.h"

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void gmime_init(void)
{
	g_mime_init();
}

void xeci_mail_global_init(void)
{
	pthread_once(&gmime_once, gmime_init);
}

void xeci_strv_push(char ***v, size_t *n, char *s)
{
	/* grow in powers of two: n is the count, capacity is implied */
	if ((*n & (*n - 1)) == 0) {
		size_t cap = *n ? *n * 2 : 1;
		*v = xeci_realloc(*v, cap * sizeof(**v));
	}
	(*v)[(*n)++] = s;
}

void xeci_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void xeci_subject_tags_clear(xeci_subject_tags *t)
{
	xeci_strv_free(t->prefixes, t->nprefixes);
	memset(t, 0, sizeof(*t));
	t->version = 1;
	t->index = t->total = -1;
}

void xeci_mail_free(xeci_mail *m)
{
	if (!m)
		return;
	free(m->message_id);
	free(m->in_reply_to);
	xeci_strv_free(m->references, m->nreferences);
	free(m->author_name);
	free(m->author_email);
	free(m->date_raw);
	free(m->subject);
	free(m->subject_clean);
	xeci_subject_tags_clear(&m->tags);
	free(m->message);
	free(m->patch);
	xeci_strv_free(m->files, m->nfiles);
	for (size_t i = 0; i < m->ntrailers; i++) {
		free(m->trailers[i].name);
		free(m->trailers[i].value);
	}
	free(m->trailers);
	free(m->base_commit);
	free(m->change_id);
	xeci_strv_free(m->prereq_patch_ids, m->nprereq_patch_ids);
	xeci_strv_free(m->depends_on, m->ndepends_on);
	free(m->list_id);
	free(m);
}

/* The id inside <...>, or the trimmed text when it has no brackets. */
static char *msgid_decode(const char *raw)
{
	char *fast;
	if (!raw)
		return NULL;
	if (xeci_fasthdr_msgid(&fast, raw))
		return fast; /* plain atoms: already valid UTF-8 */
	char *id = g_mime_utils_decode_message_id(raw);
	char *r = NULL;
	if (id && *id)
		r = xeci_utf8_sanitize(id, strlen(id));
	g_free(id);
	return r;
}

static void parse_references(xeci_mail *m, const char *raw)
{
	if (!raw || xeci_fasthdr_references(&m->references, &m->nreferences, raw))
		return;
	GMimeReferences *refs = g_mime_references_parse(NULL, raw);
	if (!refs)
		return;
	int n = g_mime_references_length(refs);
	for (int i = 0; i < n; i++) {
		const char *id = g_mime_references_get_message_id(refs, i);
		if (id && *id)
			xeci_strv_push(&m->references, &m->nreferences, xeci_utf8_sanitize(id, strlen(id)));
	}
	g_mime_references_free(refs);
}

static char *decode_text(const char *raw)
{
	char *fast;
	if (xeci_fasthdr_text(&fast, raw))
		return fast; /* printable ASCII: valid UTF-8 */
	char *d = g_mime_utils_header_decode_text(NULL, raw);
	char *r = xeci_utf8_sanitize(d ? d : raw, strlen(d ? d : raw));
	g_free(d);
	return r;
}

static int64_t parse_date(const char *raw)
{
	int64_t fast;
	if (!raw)
		return 0;
	if (xeci_fasthdr_date(&fast, raw))
		return fast;
	GDateTime *dt = g_mime_utils_header_decode_date(raw);
	if (!dt)
		return 0;
	int64_t t = g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	return t;
}

/* List-Id: "Description <list.id>"; keeps list.id. */
static char *list_id_decode(const char *raw)
{
	if (!raw)
		return NULL;
	const char *lt = strrchr(raw, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt && gt > lt + 1)
		return xeci_utf8_sanitize(lt + 1, (size_t)(gt - lt - 1));
	char *d = decode_text(raw);
	if (!*d) {
		free(d);
		return NULL;
	}
	return d;
}

/* Makes the mailinfo strings valid UTF-8 (they are raw bytes when a mail
 * carries undeclared 8-bit headers). */
static void sanitize(char **s)
{
	if (!*s)
		return;
	char *r = xeci_utf8_sanitize(*s, strlen(*s));
	free(*s);
	*s = r;
}

static void read_headers(xeci_mail *m, const xeci_mi_headers *h)
{
	m->message_id = msgid_decode(h->message_id);
	m->in_reply_to = msgid_decode(h->in_reply_to);
	parse_references(m, h->references);
	m->subject = h->subject ? decode_text(h->subject) : NULL;
	m->date = parse_date(h->date ? h->date : m->date_raw);
	m->list_id = list_id_decode(h->list_id);
}

/* Drops the CR of CRLF line ends, as `git mailsplit` does before mailinfo
 * reads a message. Returns NULL when there is none (use the input). */
static char *strip_crlf(const char *raw, size_t len, size_t *outlen)
{
	const char *cr = memchr(raw, '\r', len);
	while (cr && (size_t)(cr - raw) + 1 < len && cr[1] != '\n')
		cr = memchr(cr + 1, '\r', len - (size_t)(cr + 1 - raw));
	if (!cr || (size_t)(cr - raw) + 1 >= len)
		return NULL;
	char *out = xeci_malloc(len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n')
			continue;
		out[o++] = raw[i];
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* Not a mail at all: nothing but blanks, or a first line that is no header. */
static int check_is_mail(const char *raw, size_t len)
{
	size_t i = 0;
	while (i < len && xeci_git_isspace((unsigned char)raw[i]))
		i++;
	if (i == len)
		return xeci_error_setc(XECI_EINVALID, "empty message");
	if (len - i >= 5 && !memcmp(raw + i, "From ", 5))
		return 0;
	for (; i < len; i++) {
		unsigned char c = (unsigned char)raw[i];
		if (c == ':')
			return 0;
		if (!((33 <= c && c <= 57) || (59 <= c && c <= 126)))
			break;
	}
	return xeci_error_setc(XECI_EINVALID, "not a mail: the first line is not a header");
}

int xeci_mail_parse_ext(xeci_mail **out, const char *raw, size_t len, const xeci_mail_opts *opts)
{
	size_t max = opts && opts->max_size ? opts->max_size : XECI_MAIL_MAX_SIZE_DEFAULT;
	*out = NULL;
	if (!raw || !len)
		return xeci_error_setc(XECI_EINVALID, "empty message");
	if (len > max)
		return xeci_error_setc(XECI_ETOOBIG, "message of %zu bytes is over the limit of %zu", len, max);
	int rc = check_is_mail(raw, len);
	if (rc)
		return rc;
	xeci_mail_global_init();

	size_t n = len;
	char *copy = strip_crlf(raw, len, &n);
	xeci_mail *m = xeci_calloc(1, sizeof(*m));
	xeci_mi_headers h = {0};
	xeci_subject_tags_clear(&m->tags);

	m->mailinfo_error = xeci_mailinfo_run(m, &h, copy ? copy : raw, n, opts && opts->scissors) != 0;
	free(copy);
	sanitize(&m->author_name);
	sanitize(&m->author_email);
	sanitize(&m->subject_clean);
	sanitize(&m->date_raw);
	read_headers(m, &h);
	xeci_mi_headers_clear(&h);

	xeci_subject_parse(&m->tags, m->subject ? m->subject : "");
	m->has_patch = m->patch_len > 0;
	if (m->has_patch) {
		xeci_sha256_hex(m->patch_sha256, m->patch, m->patch_len);
		xeci_mail_scan_files(m);
	}
	xeci_mail_scan_trailers(m);
	xeci_mail_scan_metadata(m);
	m->is_pull_request = m->tags.is_pull || xeci_mail_is_pull_request(m);
	*out = m;
	return 0;
}

int xeci_mail_parse(xeci_mail **out, const char *raw, size_t len, size_t max_size)
{
	xeci_mail_opts o = {.max_size = max_size};
	return xeci_mail_parse_ext(out, raw, len, &o);
}
