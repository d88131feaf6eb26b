#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static xeci_log_level max_level = XECI_LOG_INFO;
static const char *const names[] = {"error", "warn", "info", "debug"};

void xeci_log_set_level(xeci_log_level level)
{
	max_level = level;
}

void xeci_log_init_from_env(void)
{
	const char *v = getenv("XECI_LOG");
	if (!v)
		return;
	for (int i = 0; i <= XECI_LOG_DEBUG; i++)
		if (!strcmp(v, names[i]))
			max_level = (xeci_log_level)i;
}

void xeci_log(xeci_log_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one fputs per line, so lines of several threads do not interleave */
	fprintf(stderr, "%s: %s\n", names[level], line);
}
