/* A small blocking HTTP client (libcurl) for the worker threads: GET with
 * conditional headers, a body size limit and timeouts, so that a slow or
 * hostile server can neither block a worker forever nor fill memory. Plus a
 * gunzip helper for *.gz bodies (t.mbox.gz, manifest.js.gz). */
#ifndef XECI_HTTP_H
#define XECI_HTTP_H

#include <stddef.h>

#include "buf.h"

typedef struct xeci_http_opts {
	const char *if_none_match;     /* ETag of the copy we hold, or NULL */
	const char *if_modified_since; /* Last-Modified of the copy we hold, or NULL */
	size_t max_size;               /* body limit in bytes; 0: XECI_HTTP_MAX_DEFAULT */
	long timeout_s;                /* whole transfer; 0: xeci_http_default_timeout() */
} xeci_http_opts;

#define XECI_HTTP_OPTS_INIT {NULL, NULL, 0, 0}
#define XECI_HTTP_MAX_DEFAULT (256u << 20)

typedef struct xeci_http_response {
	long status;         /* HTTP status; 0 when no answer came */
	xeci_buf body;
	char *etag;          /* NULL when the server sent none */
	char *last_modified; /* NULL when the server sent none */
} xeci_http_response;

/* GETs url into *out (out-parameter first; free it with
 * xeci_http_response_free even on failure). Returns 0 for 2xx and 304 (the
 * body is then empty), XECI_ENOTFOUND for 404/410, XECI_ETOOBIG over the size
 * limit, XECI_EIO for other statuses and transport errors (timeouts included);
 * the error text names the URL and the status or the curl error. Redirects are
 * followed (http/https only). Thread-safe. */
int xeci_http_get(xeci_http_response *out, const char *url, const xeci_http_opts *opts);
void xeci_http_response_free(xeci_http_response *r);

/* Default whole-transfer timeout (seconds) for GETs without their own; 300
 * at start. A transfer also fails when under 1 byte/s for 60 s, and a connect
 * after 15 s. */
void xeci_http_set_default_timeout(long seconds);
long xeci_http_default_timeout(void);

/* Decompresses gzip data (several members allowed) into out, failing with
 * XECI_ETOOBIG past max bytes (0: XECI_HTTP_MAX_DEFAULT) and XECI_EINVALID on
 * corrupt input. */
int xeci_gunzip(xeci_buf *out, const void *data, size_t len, size_t max);

#endif
