/* mbox splitting as `git mailsplit` does it (builtin/mailsplit.c), streamed
 * line by line from a FILE* or a memory buffer:
 * - leading whitespace of the file is skipped;
 * - if the first line is not a "From " line that looks like an mbox
 *   separator (is_from_line below), the whole file is one message, as
 *   `mailsplit -b` does;
 * - otherwise each message runs from its "From " line (kept, as mailsplit
 *   writes it) to the next one;
 * - the CR of a CRLF line end is dropped (mailsplit without --keep-cr);
 * - with XECI_MBOX_RD, ">From ", ">>From " ... lose one '>' (--mboxrd). */
#include "mbox.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "util.h"

struct xeci_mbox {
	FILE *f;            /* NULL when reading a buffer */
	const char *data;   /* buffer input */
	size_t len, pos;
	unsigned flags;
	int started;        /* first line read */
	int bare;           /* the file is one message without "From " line */
	int done;
	char *line;         /* current line (getline buffer or a copy) */
	size_t line_cap;
	ssize_t line_len;   /* -1: no pending line */
	xeci_buf msg;       /* the message handed out by xeci_mbox_next */
};

/* mailsplit's is_from_line(): "From " followed by something that ends in a
 * time and a year after 1990. `line` must be NUL-terminated. */
static int is_from_line(const char *line, size_t len)
{
	const char *colon;

	if (len < 20 || memcmp("From ", line, 5))
		return 0;
	colon = line + len - 2;
	line += 5;
	for (;;) {
		if (colon < line)
			return 0;
		if (*--colon == ':')
			break;
	}
	if (!isdigit((unsigned char)colon[-4]) || !isdigit((unsigned char)colon[-2]) ||
	    !isdigit((unsigned char)colon[-1]) || !isdigit((unsigned char)colon[1]) ||
	    !isdigit((unsigned char)colon[2]))
		return 0;
	if (strtol(colon + 3, NULL, 10) <= 90)
		return 0;
	return 1;
}

/* Reads the next raw line (with its '\n' when present) into mb->line. */
static int read_line(xeci_mbox *mb)
{
	if (mb->f) {
		mb->line_len = getline(&mb->line, &mb->line_cap, mb->f);
		if (mb->line_len < 0) {
			if (ferror(mb->f))
				return xeci_error_setc(XECI_EIO, "cannot read mailbox: %s", strerror(errno));
			return 1;
		}
		return 0;
	}
	if (mb->pos >= mb->len) {
		mb->line_len = -1;
		return 1;
	}
	const char *p = mb->data + mb->pos;
	const char *nl = memchr(p, '\n', mb->len - mb->pos);
	size_t n = nl ? (size_t)(nl - p) + 1 : mb->len - mb->pos;
	if (n + 1 > mb->line_cap) {
		mb->line_cap = n + 64;
		mb->line = xeci_realloc(mb->line, mb->line_cap);
	}
	memcpy(mb->line, p, n);
	mb->line[n] = '\0';
	mb->line_len = (ssize_t)n;
	mb->pos += n;
	return 0;
}

/* Skips the whitespace before the first line, as mailsplit does. */
static int skip_leading_space(xeci_mbox *mb)
{
	if (mb->f) {
		int c;
		do {
			c = fgetc(mb->f);
		} while (c != EOF && isspace(c));
		if (c == EOF)
			return 1;
		ungetc(c, mb->f);
		return 0;
	}
	while (mb->pos < mb->len && isspace((unsigned char)mb->data[mb->pos]))
		mb->pos++;
	return mb->pos >= mb->len;
}

static int mbox_new(xeci_mbox **out, unsigned flags)
{
	xeci_mbox *mb = xeci_calloc(1, sizeof(*mb));
	mb->flags = flags;
	mb->line_len = -1;
	*out = mb;
	return 0;
}

int xeci_mbox_open(xeci_mbox **out, const char *path, unsigned flags)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return xeci_error_setc(XECI_EIO, "cannot open mbox %s: %s", path, strerror(errno));
	mbox_new(out, flags);
	(*out)->f = f;
	return 0;
}

int xeci_mbox_open_buffer(xeci_mbox **out, const char *data, size_t len, unsigned flags)
{
	mbox_new(out, flags);
	(*out)->data = data;
	(*out)->len = len;
	return 0;
}

/* Appends the current line to the message, CRLF and mboxrd handled. */
static void append_line(xeci_mbox *mb)
{
	char *l = mb->line;
	size_t n = (size_t)mb->line_len;

	if (n > 1 && l[n - 1] == '\n' && l[n - 2] == '\r') {
		l[n - 2] = '\n';
		n--;
	}
	if ((mb->flags & XECI_MBOX_RD) && n >= 6) {
		size_t gt = strspn(l, ">");
		if (gt && gt < n && n - gt >= 5 && !memcmp(l + gt, "From ", 5)) {
			l++;
			n--;
		}
	}
	xeci_buf_put(&mb->msg, l, n);
}

int xeci_mbox_next(const char **msg, size_t *len, xeci_mbox *mb)
{
	int rc;

	if (mb->done)
		return XECI_ITEROVER;
	if (!mb->started) {
		mb->started = 1;
		if (skip_leading_space(mb) || (rc = read_line(mb)) > 0) {
			mb->done = 1;
			return XECI_ITEROVER;
		}
		if (rc < 0)
			return rc;
		mb->bare = !is_from_line(mb->line, (size_t)mb->line_len);
	}
	if (mb->line_len < 0) {
		mb->done = 1;
		return XECI_ITEROVER;
	}

	xeci_buf_clear(&mb->msg);
	for (;;) {
		append_line(mb);
		rc = read_line(mb);
		if (rc < 0)
			return rc;
		if (rc > 0) {
			mb->done = 1;
			break;
		}
		if (!mb->bare && is_from_line(mb->line, (size_t)mb->line_len))
			break;
	}
	*msg = mb->msg.ptr;
	*len = mb->msg.len;
	return 0;
}

void xeci_mbox_free(xeci_mbox *mb)
{
	if (!mb)
		return;
	if (mb->f)
		fclose(mb->f);
	free(mb->line);
	xeci_buf_free(&mb->msg);
	free(mb);
}

/* Maildir: files of cur/ and new/ (no dot files), sorted by file name so
 * that delivery order (names start with the delivery time) is kept. */
static int list_sub(char ***v, size_t *n, size_t *cap, const char *dir, const char *sub)
{
	xeci_buf path = XECI_BUF_INIT;
	xeci_buf_printf(&path, "%s/%s", dir, sub);
	DIR *d = opendir(path.ptr);
	if (!d) {
		int missing = errno == ENOENT;
		xeci_buf_free(&path);
		return missing ? 0 : xeci_error_setc(XECI_EIO, "cannot open %s/%s: %s", dir, sub, strerror(errno));
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*v = xeci_realloc(*v, *cap * sizeof(**v));
		}
		xeci_buf p = XECI_BUF_INIT;
		xeci_buf_printf(&p, "%s/%s", path.ptr, e->d_name);
		(*v)[(*n)++] = xeci_buf_detach(&p);
	}
	closedir(d);
	xeci_buf_free(&path);
	return 0;
}

static int cmp_basename(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	const char *bx = strrchr(x, '/'), *by = strrchr(y, '/');
	int c = strcmp(bx ? bx + 1 : x, by ? by + 1 : y);
	return c ? c : strcmp(x, y);
}

int xeci_maildir_list(char ***paths, size_t *n, const char *dir)
{
	char **v = NULL;
	size_t cnt = 0, cap = 0;
	int rc = list_sub(&v, &cnt, &cap, dir, "cur");
	if (!rc)
		rc = list_sub(&v, &cnt, &cap, dir, "new");
	if (rc) {
		xeci_maildir_list_free(v, cnt);
		return rc;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_basename);
	*paths = v;
	*n = cnt;
	return 0;
}

void xeci_maildir_list_free(char **paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}
