/* `git mailinfo`'s state machine (git 2.39 mailinfo.c), over a message in
 * memory: top-level headers, then body lines through the MIME boundary
 * stack, transfer decoding, format=flowed, in-body From/Subject/Date, the
 * optional scissors line, and the patch break that sends every later line to
 * the patch. The MIME walk is mailinfo's own line rules on purpose: a GMime
 * part tree drops the newline before each boundary and the preamble of
 * nested multiparts, which mailinfo keeps, and the patch bytes (hence
 * patch_sha256) must be the ones `git am` applies. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail_internal.h"
#include "util.h"

#define MAX_BOUNDARIES 5
enum { H_FROM, H_SUBJECT, H_DATE, H_COUNT };
static const char *const hdr_names[H_COUNT] = {"From", "Subject", "Date"};

typedef struct mi {
	const char *p, *end;
	xeci_buf *p_hdr[H_COUNT], *s_hdr[H_COUNT];
	xeci_buf charset;
	int te;
	bool format_flowed, delsp, use_scissors;
	xeci_buf *content[MAX_BOUNDARIES];
	int top; /* index into content; content[0] stays NULL */
	int header_stage, filter_stage, input_error;
	size_t patch_lines;
	xeci_buf inbody_accum;
	xeci_buf log, patch;
	xeci_mi_headers *h;
} mi;

static int getline_lf(mi *m, xeci_buf *out)
{
	xeci_buf_clear(out);
	if (m->p >= m->end)
		return 1;
	const char *nl = memchr(m->p, '\n', (size_t)(m->end - m->p));
	size_t n = nl ? (size_t)(nl - m->p) : (size_t)(m->end - m->p);
	xeci_buf_put(out, m->p, n);
	m->p += n + (nl ? 1 : 0);
	return 0;
}

static int getwholeline(mi *m, xeci_buf *out)
{
	xeci_buf_clear(out);
	if (m->p >= m->end)
		return 1;
	const char *nl = memchr(m->p, '\n', (size_t)(m->end - m->p));
	size_t n = nl ? (size_t)(nl - m->p) + 1 : (size_t)(m->end - m->p);
	xeci_buf_put(out, m->p, n);
	m->p += n;
	return 0;
}

static bool starts_with(const char *s, const char *prefix)
{
	return s && !strncmp(s, prefix, strlen(prefix));
}

/* "Name:" then blanks; *val is what follows. */
static bool skip_header(const xeci_buf *line, const char *hdr, const char **val)
{
	size_t n = strlen(hdr);
	/* first letter first: this runs for every header line and name */
	if (!line->ptr || (line->ptr[0] | 0x20) != (hdr[0] | 0x20))
		return false;
	if (strncasecmp(line->ptr, hdr, n) || line->ptr[n] != ':')
		return false;
	const char *v = line->ptr + n + 1;
	while (xeci_git_isspace((unsigned char)*v))
		v++;
	*val = v;
	return true;
}

static bool parse_header(mi *m, const xeci_buf *line, const char *hdr, xeci_buf *val)
{
	const char *v;
	if (!skip_header(line, hdr, &v))
		return false;
	xeci_buf_puts(val, v);
	if (xeci_mi_decode_header(val))
		m->input_error = -1;
	return true;
}

static void set_hdr(xeci_buf **slot, const xeci_buf *v)
{
	if (!*slot)
		*slot = xeci_calloc(1, sizeof(xeci_buf));
	xeci_buf_clear(*slot);
	xeci_buf_put(*slot, v->ptr ? v->ptr : "", v->len);
}

/* slurp_attr(): value of name= anywhere in the line (quoted or not). */
static bool slurp_attr(const char *line, const char *name, xeci_buf *attr)
{
	const char *ap = strcasestr(line, name);
	xeci_buf_clear(attr);
	if (!ap)
		return false;
	ap += strlen(name);
	const char *ends = "; \t";
	if (*ap == '"') {
		ap++;
		ends = "\"";
	}
	xeci_buf_put(attr, ap, strcspn(ap, ends));
	return true;
}

static bool has_attr_value(const char *line, const char *name, const char *value)
{
	xeci_buf b = XECI_BUF_INIT;
	bool r = slurp_attr(line, name, &b) && !strcasecmp(b.ptr, value);
	xeci_buf_free(&b);
	return r;
}

static void handle_content_type(mi *m, const xeci_buf *v)
{
	const char *s = v->ptr ? v->ptr : "";
	xeci_buf boundary = XECI_BUF_INIT;
	m->format_flowed = has_attr_value(s, "format=", "flowed");
	m->delsp = has_attr_value(s, "delsp=", "yes");
	if (slurp_attr(s, "boundary=", &boundary)) {
		if (++m->top >= MAX_BOUNDARIES) {
			m->input_error = -1; /* "Too many boundaries to handle" */
			m->top = MAX_BOUNDARIES - 1;
			xeci_buf_free(&boundary);
			return;
		}
		xeci_buf *b = xeci_calloc(1, sizeof(*b));
		xeci_buf_puts(b, "--");
		xeci_buf_put(b, boundary.ptr, boundary.len);
		m->content[m->top] = b;
	}
	xeci_buf_free(&boundary);
	slurp_attr(s, "charset=", &m->charset);
}

static void handle_cte(mi *m, const xeci_buf *v)
{
	const char *s = v->ptr ? v->ptr : "";
	if (strcasestr(s, "base64"))
		m->te = XECI_TE_BASE64;
	else if (strcasestr(s, "quoted-printable"))
		m->te = XECI_TE_QP;
	else
		m->te = XECI_TE_NONE;
}

static int check_header(mi *m, const xeci_buf *line, xeci_buf **hdr, bool overwrite)
{
	xeci_buf sb = XECI_BUF_INIT;
	int ret = 1;
	for (int i = 0; i < H_COUNT; i++) {
		if ((!hdr[i] || overwrite) && parse_header(m, line, hdr_names[i], &sb)) {
			set_hdr(&hdr[i], &sb);
			goto out;
		}
	}
	if (parse_header(m, line, "Content-Type", &sb))
		handle_content_type(m, &sb);
	else if (parse_header(m, line, "Content-Transfer-Encoding", &sb))
		handle_cte(m, &sb);
	else if (!parse_header(m, line, "Message-ID", &sb))
		ret = 0;
out:
	xeci_buf_free(&sb);
	return ret;
}

/* Keeps the first raw value of the top-level headers xeci reads itself. */
static void capture_header(mi *m, const xeci_buf *line)
{
	static const struct {
		const char *name;
		size_t off;
	} want[] = {
		{"Message-ID", offsetof(xeci_mi_headers, message_id)},
		{"In-Reply-To", offsetof(xeci_mi_headers, in_reply_to)},
		{"References", offsetof(xeci_mi_headers, references)},
		{"Date", offsetof(xeci_mi_headers, date)},
		{"Subject", offsetof(xeci_mi_headers, subject)},
		{"List-Id", offsetof(xeci_mi_headers, list_id)},
	};
	m->h->count++;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *v;
		char **slot = (char **)((char *)m->h + want[i].off);
		if (!*slot && skip_header(line, want[i].name, &v)) {
			*slot = xeci_strdup(v);
			return;
		}
	}
}

/* A character of a header's name: printable, not blank, not ':' (RFC 2822). */
static bool is_name_char(unsigned char ch)
{
	return (33 <= ch && ch <= 57) || (59 <= ch && ch <= 126);
}

static bool is_rfc2822_header(const char *cp)
{
	if (starts_with(cp, "From ") || starts_with(cp, ">From "))
		return true;
	while (is_name_char((unsigned char)*cp))
		cp++;
	return *cp == ':';
}

static int read_one_header_line(mi *m, xeci_buf *line)
{
	if (getline_lf(m, line))
		return 0;
	xeci_mi_rtrim(line);
	if (!line->len || !is_rfc2822_header(line->ptr)) {
		xeci_buf_putc(line, '\n');
		return 0;
	}
	/* continuation lines: the first blank becomes a space, trailing blanks
	 * go (mailinfo's strbuf_rtrim of the line), appended in place rather
	 * than through a scratch buffer per header */
	while (m->p < m->end && (*m->p == ' ' || *m->p == '\t')) {
		const char *nl = memchr(m->p, '\n', (size_t)(m->end - m->p));
		size_t n = nl ? (size_t)(nl - m->p) : (size_t)(m->end - m->p);
		const char *c = m->p;
		m->p += n + (nl ? 1 : 0);
		while (n > 1 && xeci_git_isspace((unsigned char)c[n - 1]))
			n--;
		if (n > 1) { /* else only blanks: nothing is left of it */
			xeci_buf_putc(line, ' ');
			xeci_buf_put(line, c + 1, n - 1);
		}
	}
	return 1;
}

/* The top-level headers check_header and capture_header read; any other
 * (Received, DKIM-Signature, X-*, ...: most of a list mail's header lines)
 * changes nothing they make. */
static bool header_is_read(const char *name, size_t n)
{
	static const char *const names[] = {"From", "Subject", "Date", "Content-Type",
					    "Content-Transfer-Encoding", "Message-ID", "In-Reply-To",
					    "References", "List-Id"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && !strncasecmp(name, names[i], n))
			return true;
	return false;
}

/* Skips, without copying it, a top-level header line (and its
 * continuation lines) that read_one_header_line would return and that
 * check_header and capture_header would then pass over: one whose name
 * (is_rfc2822_header's characters, up to ':') is not one they read. */
static bool skip_unread_header(mi *m)
{
	const char *p = m->p;
	while (p < m->end && is_name_char((unsigned char)*p))
		p++;
	if (p >= m->end || *p != ':' || p == m->p || header_is_read(m->p, (size_t)(p - m->p)))
		return false;
	do {
		const char *nl = memchr(p, '\n', (size_t)(m->end - p));
		p = nl ? nl + 1 : m->end;
	} while (p < m->end && (*p == ' ' || *p == '\t'));
	m->p = p;
	m->h->count++;
	return true;
}

static bool is_boundary(const mi *m, const xeci_buf *line)
{
	const xeci_buf *b = m->content[m->top];
	return b && b->len <= line->len && !memcmp(line->ptr, b->ptr, b->len);
}

static int find_boundary(mi *m, xeci_buf *line)
{
	while (!getline_lf(m, line))
		if (is_boundary(m, line))
			return 1;
	return 0;
}

static bool is_format_patch_separator(const char *line, size_t len)
{
	static const char sample[] = "From e6807f3efca28b30decfecb1732a56c7db1137ee Mon Sep 17 00:00:00 2001\n";
	if (len != sizeof(sample) - 1 || !starts_with(line, "From "))
		return false;
	const char *cp = line + 5;
	if (strspn(cp, "0123456789abcdef") != 40)
		return false;
	cp += 40;
	return !memcmp(sample + (cp - line), cp, sizeof(sample) - 1 - (size_t)(cp - line));
}

static bool is_scissors_line(const char *line)
{
	int scissors = 0, gap = 0, perforation = 0, in_perforation = 0;
	const char *first = NULL, *last = NULL;
	for (const char *c = line; *c; c++) {
		if (xeci_git_isspace((unsigned char)*c)) {
			if (in_perforation) {
				perforation++;
				gap++;
			}
			continue;
		}
		last = c;
		if (!first)
			first = c;
		if (*c == '-') {
			in_perforation = 1;
			perforation++;
			continue;
		}
		if (starts_with(c, ">8") || starts_with(c, "8<") || starts_with(c, ">%") || starts_with(c, "%<")) {
			in_perforation = 1;
			perforation += 2;
			scissors += 2;
			c++;
			continue;
		}
		in_perforation = 0;
	}
	int visible = first && last ? (int)(last - first + 1) : 0;
	return scissors && 8 <= visible && visible < perforation * 3 && gap * 2 < perforation;
}

static bool patchbreak(const xeci_buf *line)
{
	const char *s = line->ptr ? line->ptr : "";
	if (starts_with(s, "diff -") || starts_with(s, "Index: "))
		return true;
	if (line->len < 4 || !starts_with(s, "---"))
		return false;
	if (s[3] == ' ' && !xeci_git_isspace((unsigned char)s[4]))
		return true;
	for (size_t i = 3; i < line->len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			return true;
		if (!xeci_git_isspace(c))
			break;
	}
	return false;
}

static void flush_inbody_header_accum(mi *m)
{
	if (!m->inbody_accum.len)
		return;
	check_header(m, &m->inbody_accum, m->s_hdr, false);
	xeci_buf_clear(&m->inbody_accum);
}

static bool is_inbody_header(const mi *m, const xeci_buf *line)
{
	const char *v;
	for (int i = 0; i < H_COUNT; i++)
		if (!m->s_hdr[i] && skip_header(line, hdr_names[i], &v))
			return true;
	return false;
}

static int check_inbody_header(mi *m, const xeci_buf *line)
{
	const char *s = line->ptr;
	if (m->inbody_accum.len && (s[0] == ' ' || s[0] == '\t')) {
		if (m->use_scissors && is_scissors_line(s)) {
			flush_inbody_header_accum(m);
			return 0;
		}
		if (m->inbody_accum.len && m->inbody_accum.ptr[m->inbody_accum.len - 1] == '\n')
			m->inbody_accum.ptr[--m->inbody_accum.len] = '\0';
		xeci_buf_put(&m->inbody_accum, line->ptr, line->len);
		return 1;
	}
	flush_inbody_header_accum(m);
	if (starts_with(s, ">From") && xeci_git_isspace((unsigned char)s[5]))
		return is_format_patch_separator(s + 1, line->len - 1);
	if (starts_with(s, "[PATCH]") && xeci_git_isspace((unsigned char)s[7])) {
		set_hdr(&m->s_hdr[H_SUBJECT], line);
		return 1;
	}
	if (is_inbody_header(m, line)) {
		xeci_buf_put(&m->inbody_accum, line->ptr, line->len);
		return 1;
	}
	return 0;
}

static int handle_commit_msg(mi *m, xeci_buf *line)
{
	if (m->header_stage && (!line->len || (line->len == 1 && line->ptr[0] == '\n'))) {
		if (m->inbody_accum.len) {
			flush_inbody_header_accum(m);
			m->header_stage = 0;
		}
		return 0;
	}
	if (m->header_stage) {
		m->header_stage = check_inbody_header(m, line);
		if (m->header_stage)
			return 0;
	}
	if (xeci_mi_convert_utf8(line, m->charset.ptr)) {
		m->input_error = -1; /* "cannot convert from X to UTF-8" */
		return 0;
	}
	if (m->use_scissors && is_scissors_line(line->ptr)) {
		xeci_buf_clear(&m->log);
		m->header_stage = 1;
		for (int i = 0; i < H_COUNT; i++) {
			if (m->s_hdr[i])
				xeci_buf_free(m->s_hdr[i]);
			free(m->s_hdr[i]);
			m->s_hdr[i] = NULL;
		}
		return 0;
	}
	if (patchbreak(line))
		return 1;
	xeci_buf_put(&m->log, line->ptr, line->len);
	return 0;
}

static void handle_filter(mi *m, xeci_buf *line)
{
	if (m->filter_stage == 0) {
		if (!handle_commit_msg(m, line))
			return;
		m->filter_stage = 1;
	}
	xeci_buf_put(&m->patch, line->ptr, line->len);
	m->patch_lines++;
}

static void handle_filter_flowed(mi *m, xeci_buf *line, xeci_buf *prev)
{
	size_t len = line->len;
	if (!m->format_flowed || !len) {
		handle_filter(m, line);
		return;
	}
	if (line->ptr[len - 1] == '\n') {
		len--;
		if (len && line->ptr[len - 1] == '\r')
			len--;
	}
	if (starts_with(line->ptr, "-- ") && len == 3) { /* signature separator */
		if (prev->len) {
			handle_filter(m, prev);
			xeci_buf_clear(prev);
		}
		handle_filter(m, line);
		return;
	}
	if (len && line->ptr[0] == ' ') { /* space-stuffed */
		memmove(line->ptr, line->ptr + 1, line->len);
		line->len--;
		len--;
	}
	if (len && line->ptr[len - 1] == ' ') { /* soft break: join */
		xeci_buf_put(prev, line->ptr, len - (m->delsp ? 1 : 0));
		return;
	}
	if (prev->len) {
		xeci_buf_put(prev, line->ptr, line->len);
		xeci_buf tmp = *line;
		*line = *prev;
		*prev = tmp;
		xeci_buf_clear(prev);
	}
	handle_filter(m, line);
}

static int handle_boundary(mi *m, xeci_buf *line)
{
	xeci_buf nl = XECI_BUF_INIT;
	for (;;) {
		const xeci_buf *b = m->content[m->top];
		if (!(line->len >= b->len + 2 && !memcmp(line->ptr + b->len, "--", 2)))
			break;
		/* end boundary: pop it, end the part with a newline, skip the
		 * epilogue up to the enclosing multipart's next boundary */
		xeci_buf_free(m->content[m->top]);
		free(m->content[m->top]);
		m->content[m->top--] = NULL;
		xeci_buf_clear(&nl);
		xeci_buf_putc(&nl, '\n');
		handle_filter(m, &nl);
		if (m->input_error || !find_boundary(m, line)) {
			xeci_buf_free(&nl);
			return 0;
		}
	}
	xeci_buf_free(&nl);
	m->te = XECI_TE_NONE;
	xeci_buf_clear(&m->charset);
	while (read_one_header_line(m, line))
		check_header(m, line, m->p_hdr, false);
	if (getline_lf(m, line))
		return 0;
	xeci_buf_putc(line, '\n');
	return 1;
}

/* Splits a decoded chunk into lines; an unfinished last line waits in prev.
 * mailinfo prepends prev and splits again, which is quadratic on a long
 * run without newlines: here only the new bytes are searched. */
static void filter_decoded(mi *m, xeci_buf *line, xeci_buf *prev)
{
	xeci_buf piece = XECI_BUF_INIT;
	size_t at = 0;
	if (prev->len) {
		const char *nl = memchr(line->ptr, '\n', line->len);
		size_t n = nl ? (size_t)(nl - line->ptr) + 1 : line->len;
		xeci_buf_put(prev, line->ptr, n);
		if (!nl)
			return;
		piece = *prev;
		*prev = (xeci_buf)XECI_BUF_INIT;
		handle_filter_flowed(m, &piece, prev);
		at = n;
	}
	while (at < line->len) {
		const char *nl = memchr(line->ptr + at, '\n', line->len - at);
		size_t n = nl ? (size_t)(nl - (line->ptr + at)) + 1 : line->len - at;
		if (!nl) {
			xeci_buf_put(prev, line->ptr + at, n);
			break;
		}
		xeci_buf_clear(&piece);
		xeci_buf_put(&piece, line->ptr + at, n);
		at += n;
		handle_filter_flowed(m, &piece, prev);
	}
	xeci_buf_free(&piece);
}

/* Past the patch break, with no boundary to watch for, no transfer
 * decoding and no format=flowed, every later line goes to the patch as it
 * is: the rest is appended at once instead of line by line (a third of
 * mailinfo's time on patch mail). true when the message is consumed. */
static bool patch_rest(mi *m, const xeci_buf *prev)
{
	if (m->filter_stage != 1 || m->content[m->top] || m->te != XECI_TE_NONE || m->format_flowed ||
	    prev->len)
		return false;
	if (m->p < m->end) {
		xeci_buf_put(&m->patch, m->p, (size_t)(m->end - m->p));
		m->patch_lines++;
		m->p = m->end;
	}
	return true;
}

static void handle_body(mi *m, xeci_buf *line)
{
	xeci_buf prev = XECI_BUF_INIT;
	if (m->content[m->top] && !find_boundary(m, line))
		goto out;
	do {
		if (is_boundary(m, line)) {
			if (prev.len) {
				handle_filter(m, &prev);
				xeci_buf_clear(&prev);
			}
			if (!handle_boundary(m, line))
				goto out;
		}
		xeci_mi_decode_te(line, m->te);
		if (m->te != XECI_TE_NONE)
			filter_decoded(m, line, &prev);
		else
			handle_filter_flowed(m, line, &prev);
		if (m->input_error)
			break;
		if (patch_rest(m, &prev))
			break;
	} while (!getwholeline(m, line));
	if (prev.len)
		handle_filter(m, &prev);
	flush_inbody_header_accum(m);
out:
	xeci_buf_free(&prev);
}

static char *cstr_dup(const xeci_buf *b)
{
	return xeci_strdup(b->ptr ? b->ptr : "");
}

/* handle_info(): what mailinfo prints as Author/Email/Subject/Date. */
static void handle_info(mi *m, xeci_mail *out)
{
	for (int i = 0; i < H_COUNT; i++) {
		xeci_buf *hdr = m->patch_lines && m->s_hdr[i] ? m->s_hdr[i] : m->p_hdr[i];
		if (!hdr)
			continue;
		if (hdr->ptr && memchr(hdr->ptr, '\0', hdr->len))
			m->input_error = -1; /* "a NUL byte in 'X' is not allowed." */
		if (i == H_SUBJECT) {
			xeci_mi_cleanup_subject(hdr);
			xeci_mi_cleanup_space(hdr);
			out->subject_clean = cstr_dup(hdr);
		} else if (i == H_FROM) {
			xeci_buf name = XECI_BUF_INIT, email = XECI_BUF_INIT;
			xeci_mi_cleanup_space(hdr);
			xeci_mi_handle_from(&name, &email, hdr);
			out->author_name = cstr_dup(&name);
			out->author_email = cstr_dup(&email);
			xeci_buf_free(&name);
			xeci_buf_free(&email);
		} else {
			xeci_mi_cleanup_space(hdr);
			out->date_raw = cstr_dup(hdr);
		}
	}
}

static void mi_free(mi *m)
{
	for (int i = 0; i < H_COUNT; i++) {
		if (m->p_hdr[i])
			xeci_buf_free(m->p_hdr[i]);
		if (m->s_hdr[i])
			xeci_buf_free(m->s_hdr[i]);
		free(m->p_hdr[i]);
		free(m->s_hdr[i]);
	}
	for (int i = 0; i < MAX_BOUNDARIES; i++) {
		if (m->content[i])
			xeci_buf_free(m->content[i]);
		free(m->content[i]);
	}
	xeci_buf_free(&m->charset);
	xeci_buf_free(&m->inbody_accum);
	xeci_buf_free(&m->log);
	xeci_buf_free(&m->patch);
}

int xeci_mailinfo_run(xeci_mail *out, xeci_mi_headers *h, const char *raw, size_t len, bool scissors)
{
	mi m = {.p = raw, .end = raw + len, .header_stage = 1, .use_scissors = scissors, .h = h};
	xeci_buf line = XECI_BUF_INIT;

	while (m.p < m.end && xeci_git_isspace((unsigned char)*m.p))
		m.p++;
	for (;;) {
		if (skip_unread_header(&m))
			continue;
		if (!read_one_header_line(&m, &line))
			break;
		check_header(&m, &line, m.p_hdr, true);
		capture_header(&m, &line);
	}
	handle_body(&m, &line);
	handle_info(&m, out);

	out->message = cstr_dup(&m.log);
	if (m.patch.len) {
		out->patch_len = m.patch.len;
		out->patch = xeci_buf_detach(&m.patch);
	}
	xeci_buf_free(&line);
	mi_free(&m);
	return m.input_error;
}

void xeci_mi_headers_clear(xeci_mi_headers *h)
{
	free(h->message_id);
	free(h->in_reply_to);
	free(h->references);
	free(h->date);
	free(h->subject);
	free(h->list_id);
	memset(h, 0, sizeof(*h));
}
