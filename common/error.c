#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[1024];

/* Formats into a scratch buffer first: a message may quote the previous one
 * (xeci_error_set("%s: %s", what, xeci_error_last())), and vsnprintf must not
 * write the buffer it reads. */
static void set_v(const char *fmt, va_list ap)
{
	char tmp[sizeof(last_error)];
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	memcpy(last_error, tmp, sizeof(last_error));
}

int xeci_error_set(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_v(fmt, ap);
	va_end(ap);
	return XECI_ERROR;
}

int xeci_error_setc(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_v(fmt, ap);
	va_end(ap);
	return code;
}

const char *xeci_error_last(void)
{
	return last_error;
}

void xeci_error_clear(void)
{
	last_error[0] = '\0';
}
