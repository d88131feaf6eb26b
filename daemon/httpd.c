/* The HTTP server's lifecycle: listening, accepting (and refusing over
 * max_connections), the connection table, closing and lingering, the
 * answers the server gives by itself, timeouts, stop and free. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "httpd_int.h"
#include "log.h"
#include "util.h"

/* --- connections --- */

static void conn_handle_closed(uv_handle_t *h)
{
	conn *c = h->data;
	if (--c->open_handles > 0)
		return;
	xeci_httpd *s = c->srv;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	xeci_buf_free(&c->in);
	free(c);
	if (s->freed && s->nconns == 0 && !s->listener_open)
		free(s);
}

/* Closes at once; a request waiting for its handler is cancelled. */
void xeci_httpd_conn_close(conn *c)
{
	if (c->state == C_CLOSING)
		return;
	c->state = C_CLOSING;
	if (c->req) {
		xeci_httpd_req *req = c->req;
		c->req = NULL;
		xeci_httpd_req_detach(req);
	}
	if (c->spare) {
		xeci_httpd_req_unref(c->spare);
		c->spare = NULL;
	}
	uv_timer_stop(&c->timer);
	uv_close(&c->h.handle, conn_handle_closed);
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

static void shutdown_cb(uv_shutdown_t *sh, int status)
{
	conn *c = sh->data;
	if (status < 0)
		xeci_httpd_conn_close(c);
}

/* Sends FIN after the queued answer and drops what still comes. */
void xeci_httpd_conn_linger(conn *c)
{
	if (c->req) {
		xeci_httpd_req *req = c->req;
		c->req = NULL;
		xeci_httpd_req_detach(req);
	}
	c->state = C_LINGER;
	c->in.len = c->in_off = 0;
	c->shut.data = c;
	if (uv_shutdown(&c->shut, &c->h.stream, shutdown_cb) < 0) {
		xeci_httpd_conn_close(c);
		return;
	}
	xeci_httpd_conn_read_start(c);
	uv_timer_start(&c->timer, xeci_httpd_timer_cb, LINGER_MS, 0);
}

/* The answers the server gives by itself, built once: they are written
 * from static memory while the connection closes. */
static const int canned_status[] = {400, 408, 413, 431, 503};
#define NCANNED (sizeof(canned_status) / sizeof(canned_status[0]))

static void canned_init(char out[][256])
{
	for (size_t i = 0; i < NCANNED; i++) {
		char body[64];
		int st = canned_status[i];
		int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", xeci_httpd_reason(st));
		snprintf(out[i], 256, "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			 st, xeci_httpd_reason(st), n, body);
	}
}

static const char *canned(const xeci_httpd *s, int status)
{
	for (size_t i = 0; i < NCANNED; i++)
		if (canned_status[i] == status)
			return s->canned[i];
	return s->canned[0];
}

/* Refuses the request being read with a fixed answer, then closes. */
void xeci_httpd_conn_fail(conn *c, int status)
{
	const char *msg = canned(c->srv, status);
	uv_buf_t b = uv_buf_init((char *)msg, (unsigned)strlen(msg));
	XECI_DEBUG("httpd: refusing a request with %d", status);
	if (uv_write(&c->err_wr, &c->h.stream, &b, 1, NULL) < 0) {
		xeci_httpd_conn_close(c);
		return;
	}
	xeci_httpd_conn_linger(c);
}

void xeci_httpd_timer_cb(uv_timer_t *t)
{
	conn *c = t->data;
	switch (c->state) {
	case C_READING: xeci_httpd_conn_fail(c, 408); break;
	case C_IDLE:
	case C_WRITING:
	case C_LINGER: xeci_httpd_conn_close(c); break;
	default: break;
	}
}

static conn *conn_new(xeci_httpd *s)
{
	conn *c = xeci_calloc(1, sizeof(*c));
	c->srv = s;
	c->h.handle.data = c;
	uv_timer_init(s->loop, &c->timer);
	c->timer.data = c;
	c->open_handles = 2;
	llhttp_init(&c->parser, HTTP_REQUEST, &s->settings);
	c->parser.data = c;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	return c;
}

static void conn_begin(conn *c)
{
	c->state = C_IDLE;
	xeci_httpd_conn_read_start(c);
	if (!c->reading) {
		xeci_httpd_conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, xeci_httpd_timer_cb, c->srv->o.idle_timeout_ms, 0);
}

static void refused_closed(uv_handle_t *h)
{
	free(h);
}

/* Over max_connections: a fixed 503, then close, without a connection's
 * buffers. */
static void refuse(xeci_httpd *s)
{
	uv_tcp_t *t = xeci_malloc(sizeof(*t));
	uv_tcp_init(s->loop, t);
	if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)t) == 0) {
		const char *msg = canned(s, 503);
		uv_buf_t b = uv_buf_init((char *)msg, (unsigned)strlen(msg));
		uv_try_write((uv_stream_t *)t, &b, 1);
	}
	uv_close((uv_handle_t *)t, refused_closed);
}

static void listen_cb(uv_stream_t *server, int status)
{
	xeci_httpd *s = server->data;
	if (status < 0) {
		XECI_ERR("httpd: accept: %s", uv_strerror(status));
		return;
	}
	if (s->nconns >= s->o.max_connections || s->stopping) {
		refuse(s);
		return;
	}
	conn *c = conn_new(s);
	uv_tcp_init(s->loop, &c->h.tcp);
	c->h.handle.data = c;
	if (uv_accept(server, &c->h.stream) < 0) {
		xeci_httpd_conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->h.tcp, 1);
	conn_begin(c);
}

/* --- the server --- */

int xeci_httpd_new(xeci_httpd **out, uv_loop_t *loop, const xeci_httpd_opts *o, xeci_router *r)
{
	xeci_httpd *s = xeci_calloc(1, sizeof(*s));
	static const xeci_httpd_opts defaults = XECI_HTTPD_OPTS_INIT;
	s->loop = loop;
	s->router = r;
	s->o = o ? *o : defaults;
	snprintf(s->address, sizeof(s->address), "%s", s->o.address ? s->o.address : "127.0.0.1");
	s->o.address = s->address;
	if (!s->o.max_header_bytes)
		s->o.max_header_bytes = 16 * 1024;
	if (!s->o.max_body_bytes)
		s->o.max_body_bytes = 8 * 1024 * 1024;
	if (!s->o.max_connections)
		s->o.max_connections = 1024;
	if (!s->o.idle_timeout_ms)
		s->o.idle_timeout_ms = 60 * 1000;
	if (!s->o.request_timeout_ms)
		s->o.request_timeout_ms = 30 * 1000;
	canned_init(s->canned);
	xeci_httpd_parser_settings(&s->settings);
	*out = s;
	return 0;
}

static int resolve(struct sockaddr_storage *ss, const char *addr, int port)
{
	if (uv_ip4_addr(addr, port, (struct sockaddr_in *)ss) == 0)
		return 0;
	if (uv_ip6_addr(addr, port, (struct sockaddr_in6 *)ss) == 0)
		return 0;
	return xeci_error_setc(XECI_EINVALID, "httpd: %s is not an IP address", addr);
}

static void listener_closed(uv_handle_t *h)
{
	xeci_httpd *s = h->data;
	s->listener_open = false;
	if (s->freed && s->nconns == 0)
		free(s);
}

int xeci_httpd_start(xeci_httpd *s)
{
	struct sockaddr_storage ss;
	int rc = resolve(&ss, s->o.address, s->o.port);
	if (rc < 0)
		return rc;
	uv_tcp_init(s->loop, &s->listener);
	s->listener.data = s;
	s->listener_open = true;
	rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&ss, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&s->listener, 511, listen_cb);
	if (rc < 0) {
		uv_close((uv_handle_t *)&s->listener, listener_closed);
		return xeci_error_setc(XECI_EIO, "httpd: listen on %s port %d: %s", s->o.address, s->o.port,
				       uv_strerror(rc));
	}
	struct sockaddr_storage bound;
	int blen = sizeof(bound);
	uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &blen);
	s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
						    : ((struct sockaddr_in *)&bound)->sin_port);
	s->listening = true;
	XECI_INFO("httpd: listening on %s port %d", s->o.address, s->port);
	return 0;
}

int xeci_httpd_port(const xeci_httpd *s)
{
	return s->listening ? s->port : 0;
}

unsigned xeci_httpd_connections(const xeci_httpd *s)
{
	return s->nconns;
}

void xeci_httpd_stop(xeci_httpd *s)
{
	if (s->stopping)
		return;
	s->stopping = true;
	if (s->listening) {
		s->listening = false;
		uv_close((uv_handle_t *)&s->listener, listener_closed);
	}
	for (conn *c = s->conns; c; c = c->next)
		xeci_httpd_conn_close(c);
}

void xeci_httpd_free(xeci_httpd *s)
{
	if (!s)
		return;
	xeci_httpd_stop(s);
	s->freed = true;
	if (s->nconns == 0 && !s->listener_open)
		free(s);
}

int xeci_httpd_adopt(xeci_httpd *s, uv_os_sock_t fd)
{
	if (s->stopping)
		return xeci_error_setc(XECI_ERROR, "httpd: stopped");
	conn *c = conn_new(s);
	uv_pipe_init(s->loop, &c->h.pipe, 0);
	c->h.handle.data = c;
	int rc = uv_pipe_open(&c->h.pipe, fd);
	if (rc < 0) {
		xeci_httpd_conn_close(c);
		return xeci_error_setc(XECI_EIO, "httpd: adopting fd %d: %s", (int)fd, uv_strerror(rc));
	}
	conn_begin(c);
	return 0;
}
