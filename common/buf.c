#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void xeci_buf_grow(xeci_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->ptr = xeci_realloc(b->ptr, cap);
	b->cap = cap;
}

void xeci_buf_put(xeci_buf *b, const void *data, size_t len)
{
	xeci_buf_grow(b, len);
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
}

void xeci_buf_puts(xeci_buf *b, const char *s)
{
	xeci_buf_put(b, s, strlen(s));
}

void xeci_buf_putc(xeci_buf *b, char c)
{
	xeci_buf_put(b, &c, 1);
}

void xeci_buf_printf(xeci_buf *b, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n > 0) {
		xeci_buf_grow(b, (size_t)n);
		vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap2);
		b->len += (size_t)n;
	}
	va_end(ap2);
}

void xeci_buf_clear(xeci_buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

char *xeci_buf_detach(xeci_buf *b)
{
	char *p = b->ptr ? b->ptr : xeci_strdup("");
	b->ptr = NULL;
	b->len = b->cap = 0;
	return p;
}

void xeci_buf_free(xeci_buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
}
