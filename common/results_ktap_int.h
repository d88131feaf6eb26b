/* KTAP parser, private: what results_ktap.c and results_ktap_text.c share.
 * results_ktap_text.c turns the raw log into text as kunit.py sees it
 * (Python's decoding and line splitting); results_ktap.c parses it. */
#ifndef XECI_RESULTS_KTAP_INT_H
#define XECI_RESULTS_KTAP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct line {
	size_t off;  /* start in the decoded text */
	size_t len;  /* without the line end and trailing whitespace */
	size_t next; /* start of the next line */
} line;

typedef struct view {
	const char *s;
	size_t len;
} view;

/* text as Python's open(errors='backslashreplace') reads it, into b */
void xeci_ktap__decode(xeci_buf *b, const char *text, size_t len);
/* the code point of the UTF-8 sequence at p (valid: the text is decoded); *n its bytes */
uint32_t xeci_ktap__codepoint(const unsigned char *p, size_t *n);
/* bytes of whitespace (Python's str.isspace()) at the start of v */
size_t xeci_ktap__lspace(view v);
/* the lines of t as kunit.py splits them, trailing whitespace cut; free() it */
line *xeci_ktap__split_lines(const char *t, size_t len, size_t *count);

#endif
