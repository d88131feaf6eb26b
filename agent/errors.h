/* Prefixing the calling thread's last error. common/error.h's setters write
 * the buffer xeci_error_last() returns, so it cannot be one of their
 * arguments; this copies it first. */
#ifndef XECI_AGENT_ERRORS_H
#define XECI_AGENT_ERRORS_H

#include <stdarg.h>
#include <stdio.h>

#include "error.h"

/* Sets "PREFIX: <last error>" (PREFIX printf-style) and returns code. */
static inline int xeci_agent_error_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int xeci_agent_error_wrap(int code, const char *fmt, ...)
{
	char last[1024], prefix[512];
	snprintf(last, sizeof(last), "%s", xeci_error_last());
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	return xeci_error_setc(code, "%s: %s", prefix, last);
}

#endif
