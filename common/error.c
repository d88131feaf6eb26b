#include "error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[1024];

static void set_v(const char *fmt, va_list ap)
{
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
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
