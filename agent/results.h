/* The per-test results of a job, as the results call sends them. */
#ifndef XECI_AGENT_RESULTS_H
#define XECI_AGENT_RESULTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct xeci_agent_results xeci_agent_results;

int xeci_agent_results_new(xeci_agent_results **out);
void xeci_agent_results_free(xeci_agent_results *r);

/* One test. Texts may be any bytes (NULL: none): they are made valid UTF-8
 * (JSON needs it; a console log has garbage) and cut to their last
 * XECI_AGENT_LOG_MAX bytes. duration_ms < 0: unknown. */
#define XECI_AGENT_LOG_MAX (64 * 1024)
void xeci_agent_results_add(xeci_agent_results *r, const char *test, const char *suite, const char *status,
			    int64_t duration_ms, const char *out, size_t out_len, const char *err, size_t err_len,
			    const char *dmesg, size_t dmesg_len);
size_t xeci_agent_results_count(const xeci_agent_results *r);
/* Counts of a status ("pass", ...). */
size_t xeci_agent_results_count_status(const xeci_agent_results *r, const char *status);
/* The array for the results call (borrowed: lives as long as r). */
const json_t *xeci_agent_results_json(const xeci_agent_results *r);

/* A copy of len bytes with invalid UTF-8 sequences and NULs made '?'. */
char *xeci_agent_utf8_clean(const char *s, size_t len);

#endif
