/* Internals of the mail parser, shared by mail*.c, subject.c and trailers.c.
 *
 * The split: mail_info.c is `git mailinfo`'s line state machine (headers,
 * in-body headers, MIME boundary lines, the patch break); mail_decode.c holds
 * its string rules (RFC 2047 words, transfer decoding per line, charsets,
 * the From and Subject clean-up), with GMime doing the byte work; mail.c
 * ties it together and adds what GMime parses (message ids, dates). */
#ifndef XECI_MAIL_INTERNAL_H
#define XECI_MAIL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "mail.h"

/* git's own isspace(): space, TAB, LF, CR (not VT or FF). */
static inline int xeci_git_isspace(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

enum { XECI_TE_NONE = 0, XECI_TE_BASE64, XECI_TE_QP };

/* Raw (unfolded, undecoded) values of the top-level headers that mailinfo
 * does not print but xeci needs; first occurrence wins. */
typedef struct xeci_mi_headers {
	char *message_id;
	char *in_reply_to;
	char *references;
	char *date;
	char *subject;
	char *list_id;
	size_t count; /* header lines seen, the mbox "From " line included */
} xeci_mi_headers;

/* Runs mailinfo over one message (CR of CRLF already dropped). Fills
 * m->message, m->patch, m->author_*, m->subject_clean, m->date_raw and h.
 * Returns mailinfo's input_error (0 or -1): -1 means `git mailinfo` would
 * have exited non-zero (the fields hold what it printed anyway). */
int xeci_mailinfo_run(xeci_mail *m, xeci_mi_headers *h, const char *raw, size_t len, bool scissors);
void xeci_mi_headers_clear(xeci_mi_headers *h);

/* mail_decode.c: mailinfo's string rules. */
int xeci_mi_convert_utf8(xeci_buf *line, const char *charset);
int xeci_mi_decode_header(xeci_buf *it);
void xeci_mi_decode_te(xeci_buf *line, int te);
void xeci_mi_cleanup_space(xeci_buf *sb);
void xeci_mi_cleanup_subject(xeci_buf *sb);
void xeci_mi_handle_from(xeci_buf *name, xeci_buf *email, const xeci_buf *from);
void xeci_mi_trim(xeci_buf *sb);
void xeci_mi_rtrim(xeci_buf *sb);

/* Valid UTF-8 copy of bytes: each invalid sequence becomes U+FFFD, as
 * Python's "replace" does (so results compare with the oracle files). */
char *xeci_utf8_sanitize(const char *s, size_t len);

/* trailers.c: trailers, series metadata, touched files, pull requests. */
void xeci_mail_scan_trailers(xeci_mail *m);
void xeci_mail_scan_metadata(xeci_mail *m);
void xeci_mail_scan_files(xeci_mail *m);
bool xeci_mail_is_pull_request(const xeci_mail *m);

/* Small vector helper: appends an owned string. */
/* mail_fasthdr.c: GMime's answer for headers of the common plain shapes;
 * false (nothing done) for anything else, which GMime reads. */
bool xeci_fasthdr_msgid(char **out, const char *raw);
bool xeci_fasthdr_references(char ***v, size_t *n, const char *raw);
bool xeci_fasthdr_text(char **out, const char *raw);
bool xeci_fasthdr_date(int64_t *out, const char *raw);

void xeci_strv_push(char ***v, size_t *n, char *s);
void xeci_strv_free(char **v, size_t n);

#endif
