/* A growable byte buffer, always NUL-terminated. */
#ifndef XECI_BUF_H
#define XECI_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct xeci_buf {
	char *ptr;
	size_t len;
	size_t cap;
} xeci_buf;

#define XECI_BUF_INIT {NULL, 0, 0}

void xeci_buf_grow(xeci_buf *b, size_t extra);
void xeci_buf_put(xeci_buf *b, const void *data, size_t len);
void xeci_buf_puts(xeci_buf *b, const char *s);
void xeci_buf_putc(xeci_buf *b, char c);
void xeci_buf_printf(xeci_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void xeci_buf_clear(xeci_buf *b);
/* Hands the memory to the caller (free() it) and resets the buffer. */
char *xeci_buf_detach(xeci_buf *b);
void xeci_buf_free(xeci_buf *b);

#endif
