/* The HTTP/1.1 server inside xecid: libuv TCP and node's llhttp parser.
 * This is the transport only: it reads requests (keep-alive, pipelining
 * answered one request at a time and in order, chunked bodies), enforces
 * limits and timeouts, and hands each complete request to a router
 * (router.h), which picks a handler. Handlers may answer at once or later
 * (long-poll, work on the thread pool): every request is answered with
 * exactly one xeci_httpd_respond*, always on the loop thread.
 *
 * Errors the server answers by itself: 400 (malformed request, then
 * close), 408 (request not received within request_timeout_ms, then
 * close), 413 (body over max_body_bytes), 431 (request line and headers
 * over max_header_bytes), 503 (over max_connections, then close). */
#ifndef XECI_HTTPD_H
#define XECI_HTTPD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct xeci_httpd xeci_httpd;
typedef struct xeci_httpd_req xeci_httpd_req;
typedef struct xeci_router xeci_router;

typedef struct xeci_httpd_opts {
	const char *address;        /* IPv4 or IPv6 literal; NULL: "127.0.0.1" */
	int port;                   /* 0: an ephemeral port (see xeci_httpd_port) */
	size_t max_header_bytes;    /* request line + headers; 0: 16 KiB */
	size_t max_body_bytes;      /* decoded body; 0: 8 MiB */
	unsigned max_connections;   /* 0: 1024 */
	uint64_t idle_timeout_ms;   /* keep-alive wait for the next request; 0: 60 s */
	uint64_t request_timeout_ms; /* first byte to last byte of a request, and a
				      * stalled response write; 0: 30 s */
} xeci_httpd_opts;

#define XECI_HTTPD_OPTS_INIT {NULL, 0, 0, 0, 0, 0, 0}

/* The server reads from `loop` and dispatches to `r` (borrowed: it must
 * outlive the server). Nothing listens before xeci_httpd_start. */
int xeci_httpd_new(xeci_httpd **out, uv_loop_t *loop, const xeci_httpd_opts *o, xeci_router *r);
/* Binds and listens; XECI_EIO (with the error text) when the address is
 * taken or invalid. */
int xeci_httpd_start(xeci_httpd *s);
/* The bound port (the ephemeral one when opts.port was 0); 0 before start. */
int xeci_httpd_port(const xeci_httpd *s);
/* Closes the listener and every connection; requests still waiting for
 * their handler are cancelled (see xeci_httpd_req_on_cancel). The handles
 * close on the next loop iteration. */
void xeci_httpd_stop(xeci_httpd *s);
/* Frees the server; safe right after stop: the memory goes when the last
 * connection handle has closed. */
void xeci_httpd_free(xeci_httpd *s);
/* Connections open now (for tests and the status page). */
unsigned xeci_httpd_connections(const xeci_httpd *s);

/* Serves an already connected stream socket (one end of a socketpair, in
 * the fuzzer and tests) as if it had been accepted; the server owns fd. */
int xeci_httpd_adopt(xeci_httpd *s, uv_os_sock_t fd);

/* --- the request, for handlers; all on the loop thread ---
 *
 * Strings are NUL-terminated and live as long as the request. A request
 * lives until it has been answered and its connection is done with it; a
 * handler that needs it longer (for a log line after responding) holds a
 * reference. */
const char *xeci_httpd_req_method(const xeci_httpd_req *req);     /* "GET" */
const char *xeci_httpd_req_path(const xeci_httpd_req *req);       /* raw, without the query */
const char *xeci_httpd_req_query_string(const xeci_httpd_req *req); /* raw, "" when none */
/* The first value of query parameter `name`, percent- and '+'-decoded; ""
 * for `?name` alone, NULL when absent. */
const char *xeci_httpd_req_query(xeci_httpd_req *req, const char *name);
/* The first value of header `name` (case-insensitive), NULL when absent. */
const char *xeci_httpd_req_header(const xeci_httpd_req *req, const char *name);
size_t xeci_httpd_req_header_count(const xeci_httpd_req *req);
void xeci_httpd_req_header_at(const xeci_httpd_req *req, size_t i, const char **name, const char **value);
/* The decoded body (NUL-terminated for convenience), len 0 when none. */
const char *xeci_httpd_req_body(const xeci_httpd_req *req, size_t *len);
/* The token of "Authorization: Bearer TOKEN", NULL when there is none. */
const char *xeci_httpd_req_bearer(const xeci_httpd_req *req);

/* Called once, on the loop, when the client went away (or the server
 * stopped) before the answer: the handler stops its work and still calls
 * xeci_httpd_respond* (the answer is dropped), from the callback or later. */
typedef void (*xeci_httpd_cancel_cb)(xeci_httpd_req *req, void *data);
void xeci_httpd_req_on_cancel(xeci_httpd_req *req, xeci_httpd_cancel_cb cb, void *data);
/* True once the request was cancelled: a handler polling a flag checks it
 * when its thread-pool work reports back. */
int xeci_httpd_req_cancelled(const xeci_httpd_req *req);

void xeci_httpd_req_ref(xeci_httpd_req *req);
void xeci_httpd_req_unref(xeci_httpd_req *req);

/* Adds a response header (before respond); name and value are copied and
 * must hold no CR or LF. */
void xeci_httpd_add_header(xeci_httpd_req *req, const char *name, const char *value);
/* Answers the request: the body is copied, so the caller keeps it. A HEAD
 * request gets the headers (with the body's Content-Length) only. After
 * this call the handler must not touch req unless it holds a reference.
 * Calling it for a cancelled request is safe: the answer is dropped. */
void xeci_httpd_respond(xeci_httpd_req *req, int status, const char *content_type, const void *body,
			size_t len);
/* Same, with `j` (borrowed) serialized compactly as application/json. */
void xeci_httpd_respond_json(xeci_httpd_req *req, int status, const json_t *j);
/* {"error": message} with `status`. */
void xeci_httpd_respond_error(xeci_httpd_req *req, int status, const char *message);

/* The reason phrase of a status ("Not Found"), "Unknown" for others. */
const char *xeci_httpd_reason(int status);

#endif
