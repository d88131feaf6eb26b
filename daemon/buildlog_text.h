/* Reading untrusted tool output line by line: the helpers the kbuild log
 * parser (buildlog.c) and the checkpatch parser (checkpatch.c) share,
 * defined in buildlog_text.c. Private to those files. */
#ifndef XECI_BUILDLOG_TEXT_H
#define XECI_BUILDLOG_TEXT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct xeci_text_line {
	const char *p;
	size_t n; /* without "\n" and a trailing "\r" */
} xeci_text_line;

/* The line at *at (before end), *at moved past it; false at end. */
bool xeci_text_next_line(const char **at, const char *end, xeci_text_line *l);
bool xeci_text_has_prefix(const char *p, size_t n, const char *prefix);
/* Up to 9 digits at p[*i], *i moved past them; false (*i kept) when there
 * are none or more. */
bool xeci_text_parse_num(const char *p, size_t n, size_t *i, int *out);
/* A copy that is valid UTF-8 without control characters (tabs kept; other
 * bytes become '?'), with surrounding blanks trimmed, cut at 4096 bytes.
 * Caller frees. */
char *xeci_text_clean(const char *p, size_t n);

#endif
