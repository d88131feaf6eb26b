#include "httpd.h"

#include <llhttp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "error.h"
#include "log.h"
#include "router.h"
#include "util.h"

#define HDR_MAX 100
#define READ_BUF_SIZE (64 * 1024)
/* Buffers of a reused request above this are freed, so that one large
 * upload does not stay pinned to a keep-alive connection. */
#define KEEP_BUF_MAX (64 * 1024)
/* A closing connection reads and drops what the client still sends for
 * this long, so that the kernel does not answer it with a reset that
 * would destroy our last response (a 413 sent before the body arrived). */
#define LINGER_MS 2000
#define NO_VALUE UINT32_MAX

typedef enum { PIECE_NONE, PIECE_URL, PIECE_FIELD, PIECE_VALUE } piece;

typedef struct hdr {
	uint32_t name, value; /* offsets into req->head */
} hdr;

typedef struct qparam {
	uint32_t key, value; /* offsets into req->qbuf */
} qparam;

typedef enum {
	C_IDLE,    /* waiting for the next request */
	C_READING, /* a request has begun */
	C_PENDING, /* the handler has it */
	C_WRITING, /* the answer did not fit the socket at once */
	C_LINGER,  /* answered, FIN sent, dropping input until EOF */
	C_CLOSING,
} conn_state;

typedef struct conn conn;

struct xeci_httpd_req {
	unsigned refs;
	conn *conn; /* NULL once the connection let go of it */
	const char *method;
	xeci_buf head; /* url NUL (name NUL value NUL)* */
	piece last;
	uint32_t query_off;
	hdr hdrs[HDR_MAX];
	size_t nhdrs;
	xeci_buf body;
	bool qparsed;
	xeci_buf qbuf;
	qparam *q;
	size_t nq, qcap;
	bool is_head, keep_alive, http10, dispatched, responded, cancelled;
	xeci_httpd_cancel_cb cancel_cb;
	void *cancel_data;
	xeci_buf extra; /* response headers added by the handler */
	xeci_buf scratch;
	xeci_buf out;
	uv_write_t wr;
};

struct conn {
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} h;
	uv_timer_t timer;
	uv_write_t err_wr;
	uv_shutdown_t shut;
	xeci_httpd *srv;
	conn *prev, *next;
	llhttp_t parser;
	conn_state state;
	xeci_httpd_req *req;   /* the request being read or answered */
	xeci_httpd_req *spare; /* an answered one, kept for reuse */
	xeci_buf in;           /* read but not parsed yet: pipelined requests */
	size_t in_off;
	size_t head_bytes;
	int err_status; /* set by a parser callback that refused the request */
	bool message_done, in_parse, reading;
	int open_handles;
};

struct xeci_httpd {
	uv_loop_t *loop;
	xeci_router *router;
	xeci_httpd_opts o;
	char address[64];
	uv_tcp_t listener;
	bool listening, listener_open, stopping, freed;
	int port;
	conn *conns;
	unsigned nconns;
	llhttp_settings_t settings;
	char rbuf[READ_BUF_SIZE]; /* libuv fills it and calls read_cb at once */
	time_t date_t;
	char date[40];
	char canned[5][256];
};

static void conn_close(conn *c);
static void conn_parse_input(conn *c);
static void conn_read_start(conn *c);
static void timer_cb(uv_timer_t *t);

/* --- requests --- */

static xeci_httpd_req *req_new(void)
{
	xeci_httpd_req *req = xeci_calloc(1, sizeof(*req));
	req->refs = 1;
	return req;
}

static void buf_trim(xeci_buf *b)
{
	if (b->cap > KEEP_BUF_MAX)
		xeci_buf_free(b);
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

static void req_reset(xeci_httpd_req *req, conn *c)
{
	buf_trim(&req->head);
	buf_trim(&req->body);
	buf_trim(&req->qbuf);
	buf_trim(&req->extra);
	buf_trim(&req->scratch);
	buf_trim(&req->out);
	req->conn = c;
	req->method = "";
	req->last = PIECE_NONE;
	req->query_off = 0;
	req->nhdrs = 0;
	req->qparsed = false;
	req->nq = 0;
	req->is_head = req->keep_alive = req->http10 = false;
	req->dispatched = req->responded = req->cancelled = false;
	req->cancel_cb = NULL;
	req->cancel_data = NULL;
}

static void req_destroy(xeci_httpd_req *req)
{
	xeci_buf_free(&req->head);
	xeci_buf_free(&req->body);
	xeci_buf_free(&req->qbuf);
	xeci_buf_free(&req->extra);
	xeci_buf_free(&req->scratch);
	xeci_buf_free(&req->out);
	free(req->q);
	free(req);
}

void xeci_httpd_req_ref(xeci_httpd_req *req)
{
	req->refs++;
}

void xeci_httpd_req_unref(xeci_httpd_req *req)
{
	if (req && --req->refs == 0)
		req_destroy(req);
}

/* The connection lets go of its request: cancelled if a handler still owes
 * the answer (the handler's reference keeps it alive until it answers). */
static void req_detach(xeci_httpd_req *req)
{
	req->conn = NULL;
	if (req->dispatched && !req->responded && !req->cancelled) {
		req->cancelled = true;
		if (req->cancel_cb)
			req->cancel_cb(req, req->cancel_data);
	}
	xeci_httpd_req_unref(req);
}

/* --- parser callbacks: copy the pieces into the request --- */

static int head_add(conn *c, const char *at, size_t len)
{
	c->head_bytes += len;
	if (c->head_bytes > c->srv->o.max_header_bytes) {
		c->err_status = 431;
		return HPE_USER;
	}
	xeci_buf_put(&c->req->head, at, len);
	return 0;
}

/* Ends the URL, name or value being collected. */
static void piece_end(xeci_httpd_req *req)
{
	if (req->last != PIECE_NONE)
		xeci_buf_putc(&req->head, '\0');
	req->last = PIECE_NONE;
}

static int on_message_begin(llhttp_t *p)
{
	conn *c = p->data;
	xeci_httpd_req *req = c->spare ? c->spare : req_new();
	c->spare = NULL;
	req_reset(req, c);
	c->req = req;
	c->head_bytes = 0;
	c->err_status = 0;
	c->state = C_READING;
	uv_timer_start(&c->timer, timer_cb, c->srv->o.request_timeout_ms, 0);
	return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
	conn *c = p->data;
	c->req->last = PIECE_URL;
	return head_add(c, at, len);
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
	conn *c = p->data;
	xeci_httpd_req *req = c->req;
	if (req->last != PIECE_FIELD) {
		if (req->nhdrs == HDR_MAX) {
			c->err_status = 431;
			return HPE_USER;
		}
		piece_end(req);
		req->hdrs[req->nhdrs].name = (uint32_t)req->head.len;
		req->hdrs[req->nhdrs].value = NO_VALUE;
		req->nhdrs++;
		req->last = PIECE_FIELD;
	}
	return head_add(c, at, len);
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
	conn *c = p->data;
	xeci_httpd_req *req = c->req;
	if (req->last != PIECE_VALUE) {
		piece_end(req);
		req->hdrs[req->nhdrs - 1].value = (uint32_t)req->head.len;
		req->last = PIECE_VALUE;
	}
	return head_add(c, at, len);
}

/* "Expect: 100-continue": tell the client to send the body (or refuse it
 * before it is sent). Best effort: a client goes on after a second anyway. */
static int expect_continue(conn *c, llhttp_t *p)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	const char *e = xeci_httpd_req_header(c->req, "Expect");
	if (!e || strcasecmp(e, "100-continue") != 0 || p->http_minor == 0)
		return 0;
	uv_buf_t b = uv_buf_init((char *)cont, sizeof(cont) - 1);
	uv_try_write(&c->h.stream, &b, 1);
	return 0;
}

static int on_headers_complete(llhttp_t *p)
{
	conn *c = p->data;
	xeci_httpd_req *req = c->req;
	piece_end(req);
	if (req->head.len == 0)
		xeci_buf_putc(&req->head, '\0');
	char *q = strchr(req->head.ptr, '?');
	if (q) {
		*q = '\0';
		req->query_off = (uint32_t)(q + 1 - req->head.ptr);
	} else {
		req->query_off = (uint32_t)strlen(req->head.ptr); /* the URL's NUL: "" */
	}
	req->method = llhttp_method_name((llhttp_method_t)p->method);
	req->is_head = p->method == HTTP_HEAD;
	req->http10 = p->http_major == 1 && p->http_minor == 0;
	if ((p->flags & F_CONTENT_LENGTH) && p->content_length > c->srv->o.max_body_bytes) {
		c->err_status = 413;
		return -1;
	}
	return expect_continue(c, p);
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
	conn *c = p->data;
	if (c->req->body.len + len > c->srv->o.max_body_bytes) {
		c->err_status = 413;
		return HPE_USER;
	}
	xeci_buf_put(&c->req->body, at, len);
	return 0;
}

/* Pauses the parser after each request: the next one (pipelined) is
 * parsed only once this one is answered, so answers go out in order. */
static int on_message_complete(llhttp_t *p)
{
	conn *c = p->data;
	c->req->keep_alive = llhttp_should_keep_alive(p) && !p->upgrade;
	c->message_done = true;
	return HPE_PAUSED;
}

/* --- writing --- */

static void update_date(xeci_httpd *s)
{
	time_t now = time(NULL);
	if (now == s->date_t)
		return;
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(s->date, sizeof(s->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	s->date_t = now;
}

static void put_str(xeci_buf *b, const char *s)
{
	xeci_buf_put(b, s, strlen(s));
}

static void put_num(xeci_buf *b, size_t n)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	do
		tmp[--i] = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	xeci_buf_put(b, tmp + i, sizeof(tmp) - i);
}

static void build_response(xeci_httpd_req *req, int status, const char *ctype, const void *body,
			   size_t len)
{
	xeci_httpd *s = req->conn->srv;
	xeci_buf *o = &req->out;
	bool bodyless = status == 204 || status == 304 || (status >= 100 && status < 200);
	update_date(s);
	o->len = 0;
	xeci_buf_grow(o, 256 + req->extra.len + len);
	put_str(o, "HTTP/1.1 ");
	put_num(o, (size_t)status);
	xeci_buf_putc(o, ' ');
	put_str(o, xeci_httpd_reason(status));
	put_str(o, "\r\nServer: xecid\r\nDate: ");
	put_str(o, s->date);
	if (!bodyless) {
		put_str(o, "\r\nContent-Type: ");
		put_str(o, ctype ? ctype : "application/octet-stream");
		put_str(o, "\r\nContent-Length: ");
		put_num(o, len);
	}
	put_str(o, "\r\n");
	xeci_buf_put(o, req->extra.ptr, req->extra.len);
	if (!req->keep_alive)
		put_str(o, "Connection: close\r\n");
	else if (req->http10)
		put_str(o, "Connection: keep-alive\r\n");
	put_str(o, "\r\n");
	if (!bodyless && !req->is_head)
		xeci_buf_put(o, body, len);
}

static void conn_linger(conn *c);

static void conn_release_req(conn *c)
{
	xeci_httpd_req *req = c->req;
	c->req = NULL;
	if (!req)
		return;
	req->conn = NULL;
	if (req->refs == 1 && !c->spare) {
		req->conn = c;
		c->spare = req;
	} else {
		xeci_httpd_req_unref(req);
	}
}

/* The answer is on its way: the next request, or the end. */
static void conn_answered(conn *c)
{
	bool keep = c->req->keep_alive && !c->srv->stopping;
	conn_release_req(c);
	if (!keep) {
		conn_linger(c);
		return;
	}
	c->state = C_IDLE;
	uv_timer_start(&c->timer, timer_cb, c->srv->o.idle_timeout_ms, 0);
	conn_read_start(c);
	if (!c->in_parse)
		conn_parse_input(c);
}

static void write_cb(uv_write_t *w, int status)
{
	xeci_httpd_req *req = w->data;
	conn *c = req->conn;
	if (c && c->req == req) {
		if (status < 0)
			conn_close(c);
		else
			conn_answered(c);
	}
	xeci_httpd_req_unref(req);
}

static void conn_send(conn *c, xeci_httpd_req *req)
{
	uv_buf_t b = uv_buf_init(req->out.ptr, (unsigned)req->out.len);
	int n = uv_try_write(&c->h.stream, &b, 1);
	if (n == (int)req->out.len) {
		conn_answered(c);
		return;
	}
	if (n < 0 && n != UV_EAGAIN) {
		conn_close(c);
		return;
	}
	if (n > 0) {
		b.base += n;
		b.len -= (size_t)n;
	}
	req->wr.data = req;
	xeci_httpd_req_ref(req);
	if (uv_write(&req->wr, &c->h.stream, &b, 1, write_cb) < 0) {
		xeci_httpd_req_unref(req);
		conn_close(c);
		return;
	}
	c->state = C_WRITING;
	uv_timer_start(&c->timer, timer_cb, c->srv->o.request_timeout_ms, 0);
}

void xeci_httpd_respond(xeci_httpd_req *req, int status, const char *content_type, const void *body,
			size_t len)
{
	if (req->responded) {
		XECI_ERR("httpd: a second answer to %s %s dropped", req->method, xeci_httpd_req_path(req));
		return;
	}
	req->responded = true;
	conn *c = req->conn;
	if (!c || req->cancelled || c->req != req) {
		xeci_httpd_req_unref(req); /* the handler's: the client is gone */
		return;
	}
	req->refs--; /* the handler's; the connection's keeps req alive */
	build_response(req, status, content_type, body, len);
	conn_send(c, req);
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
	xeci_buf_put(data, buffer, size);
	return 0;
}

void xeci_httpd_respond_json(xeci_httpd_req *req, int status, const json_t *j)
{
	req->scratch.len = 0;
	if (json_dump_callback(j, dump_cb, &req->scratch, JSON_COMPACT | JSON_ENCODE_ANY) < 0) {
		xeci_httpd_respond_error(req, 500, "cannot encode the answer");
		return;
	}
	xeci_buf_putc(&req->scratch, '\n');
	xeci_httpd_respond(req, status, "application/json", req->scratch.ptr, req->scratch.len);
}

void xeci_httpd_respond_error(xeci_httpd_req *req, int status, const char *message)
{
	json_t *j = json_pack("{s:s}", "error", message ? message : xeci_httpd_reason(status));
	if (!j) {
		xeci_httpd_respond(req, status, "text/plain", "error\n", 6);
		return;
	}
	req->scratch.len = 0;
	json_dump_callback(j, dump_cb, &req->scratch, JSON_COMPACT);
	json_decref(j);
	xeci_buf_putc(&req->scratch, '\n');
	xeci_httpd_respond(req, status, "application/json", req->scratch.ptr, req->scratch.len);
}

void xeci_httpd_add_header(xeci_httpd_req *req, const char *name, const char *value)
{
	if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n")) {
		XECI_ERR("httpd: header %s dropped: CR, LF or ':' in it", name);
		return;
	}
	put_str(&req->extra, name);
	put_str(&req->extra, ": ");
	put_str(&req->extra, value);
	put_str(&req->extra, "\r\n");
}

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
static void conn_close(conn *c)
{
	if (c->state == C_CLOSING)
		return;
	c->state = C_CLOSING;
	if (c->req) {
		xeci_httpd_req *req = c->req;
		c->req = NULL;
		req_detach(req);
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
		conn_close(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void conn_read_start(conn *c)
{
	if (!c->reading && uv_read_start(&c->h.stream, alloc_cb, read_cb) == 0)
		c->reading = true;
}

/* Sends FIN after the queued answer and drops what still comes. */
static void conn_linger(conn *c)
{
	if (c->req) {
		xeci_httpd_req *req = c->req;
		c->req = NULL;
		req_detach(req);
	}
	c->state = C_LINGER;
	c->in.len = c->in_off = 0;
	c->shut.data = c;
	if (uv_shutdown(&c->shut, &c->h.stream, shutdown_cb) < 0) {
		conn_close(c);
		return;
	}
	conn_read_start(c);
	uv_timer_start(&c->timer, timer_cb, LINGER_MS, 0);
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
static void conn_fail(conn *c, int status)
{
	const char *msg = canned(c->srv, status);
	uv_buf_t b = uv_buf_init((char *)msg, (unsigned)strlen(msg));
	XECI_DEBUG("httpd: refusing a request with %d", status);
	if (uv_write(&c->err_wr, &c->h.stream, &b, 1, NULL) < 0) {
		conn_close(c);
		return;
	}
	conn_linger(c);
}

static void conn_dispatch(conn *c)
{
	xeci_httpd_req *req = c->req;
	c->state = C_PENDING;
	uv_timer_stop(&c->timer);
	req->dispatched = true;
	req->refs++; /* the handler's, dropped by xeci_httpd_respond */
	if (c->srv->router)
		xeci_router_dispatch(c->srv->router, req);
	else
		xeci_httpd_respond_error(req, 404, "not found");
}

/* Parses data until it is used up or a request waits for its answer;
 * returns the bytes used. */
static size_t conn_parse(conn *c, const char *data, size_t len)
{
	size_t off = 0;
	c->in_parse = true;
	while (off < len && (c->state == C_IDLE || c->state == C_READING)) {
		c->message_done = false;
		llhttp_errno_t e = llhttp_execute(&c->parser, data + off, len - off);
		if (e == HPE_OK) {
			off = len;
			break;
		}
		if (e == HPE_PAUSED && c->message_done) {
			off = (size_t)(llhttp_get_error_pos(&c->parser) - data);
			llhttp_resume(&c->parser);
			conn_dispatch(c);
			continue;
		}
		conn_fail(c, c->err_status ? c->err_status : 400);
		off = len;
	}
	c->in_parse = false;
	return off;
}

/* Parses what was buffered while a request was pending. */
static void conn_parse_input(conn *c)
{
	if (c->in_off >= c->in.len)
		return;
	size_t used = conn_parse(c, c->in.ptr + c->in_off, c->in.len - c->in_off);
	if (c->state == C_CLOSING)
		return;
	c->in_off += used;
	if (c->in_off >= c->in.len) {
		c->in_off = 0;
		buf_trim(&c->in);
	}
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	conn *c = h->data;
	buf->base = c->srv->rbuf;
	buf->len = sizeof(c->srv->rbuf);
}

/* Keeps what the client sent ahead (pipelining) while a request is
 * pending; past a limit, stops reading until the answer is out. */
static void conn_stash(conn *c, const char *data, size_t len)
{
	if (c->in_off > 0 && c->in_off == c->in.len)
		c->in.len = c->in_off = 0;
	xeci_buf_put(&c->in, data, len);
	if (c->in.len - c->in_off > c->srv->o.max_header_bytes + READ_BUF_SIZE && c->reading) {
		uv_read_stop(&c->h.stream);
		c->reading = false;
	}
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	conn *c = st->data;
	if (nread < 0) {
		conn_close(c); /* EOF or error: a pending request is cancelled */
		return;
	}
	if (nread == 0 || c->state == C_LINGER || c->state == C_CLOSING)
		return;
	size_t len = (size_t)nread;
	if (c->in_off < c->in.len || (c->state != C_IDLE && c->state != C_READING)) {
		conn_stash(c, buf->base, len);
		if (c->state == C_IDLE || c->state == C_READING)
			conn_parse_input(c);
		return;
	}
	size_t used = conn_parse(c, buf->base, len);
	if (used < len && c->state != C_CLOSING && c->state != C_LINGER)
		conn_stash(c, buf->base + used, len - used);
}

static void timer_cb(uv_timer_t *t)
{
	conn *c = t->data;
	switch (c->state) {
	case C_READING: conn_fail(c, 408); break;
	case C_IDLE:
	case C_WRITING:
	case C_LINGER: conn_close(c); break;
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
	conn_read_start(c);
	if (!c->reading) {
		conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, timer_cb, c->srv->o.idle_timeout_ms, 0);
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
		conn_close(c);
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
	llhttp_settings_init(&s->settings);
	s->settings.on_message_begin = on_message_begin;
	s->settings.on_url = on_url;
	s->settings.on_header_field = on_header_field;
	s->settings.on_header_value = on_header_value;
	s->settings.on_headers_complete = on_headers_complete;
	s->settings.on_body = on_body;
	s->settings.on_message_complete = on_message_complete;
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
		conn_close(c);
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
		conn_close(c);
		return xeci_error_setc(XECI_EIO, "httpd: adopting fd %d: %s", (int)fd, uv_strerror(rc));
	}
	conn_begin(c);
	return 0;
}

/* --- request accessors --- */

const char *xeci_httpd_req_method(const xeci_httpd_req *req)
{
	return req->method;
}

const char *xeci_httpd_req_path(const xeci_httpd_req *req)
{
	return req->head.ptr ? req->head.ptr : "";
}

const char *xeci_httpd_req_query_string(const xeci_httpd_req *req)
{
	return req->head.ptr ? req->head.ptr + req->query_off : "";
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Appends s[0..len) decoded (%XX, and '+' as a space), then a NUL. */
static void put_decoded(xeci_buf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < len && (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
			xeci_buf_putc(b, (char)(hi * 16 + lo));
			i += 2;
		} else {
			xeci_buf_putc(b, s[i] == '+' ? ' ' : s[i]);
		}
	}
	xeci_buf_putc(b, '\0');
}

static void query_parse(xeci_httpd_req *req)
{
	const char *p = xeci_httpd_req_query_string(req);
	req->qparsed = true;
	req->qbuf.len = 0;
	req->nq = 0;
	while (*p) {
		size_t n = strcspn(p, "&;");
		size_t k = strcspn(p, "=");
		if (n > 0) {
			if (req->nq == req->qcap) {
				req->qcap = req->qcap ? req->qcap * 2 : 8;
				req->q = xeci_realloc(req->q, req->qcap * sizeof(*req->q));
			}
			qparam *qp = &req->q[req->nq++];
			qp->key = (uint32_t)req->qbuf.len;
			put_decoded(&req->qbuf, p, k < n ? k : n);
			qp->value = (uint32_t)req->qbuf.len;
			put_decoded(&req->qbuf, p + (k < n ? k + 1 : n), k < n ? n - k - 1 : 0);
		}
		p += n;
		if (*p)
			p++;
	}
}

const char *xeci_httpd_req_query(xeci_httpd_req *req, const char *name)
{
	if (!req->qparsed)
		query_parse(req);
	for (size_t i = 0; i < req->nq; i++)
		if (strcmp(req->qbuf.ptr + req->q[i].key, name) == 0)
			return req->qbuf.ptr + req->q[i].value;
	return NULL;
}

size_t xeci_httpd_req_header_count(const xeci_httpd_req *req)
{
	return req->nhdrs;
}

void xeci_httpd_req_header_at(const xeci_httpd_req *req, size_t i, const char **name, const char **value)
{
	*name = req->head.ptr + req->hdrs[i].name;
	*value = req->hdrs[i].value == NO_VALUE ? "" : req->head.ptr + req->hdrs[i].value;
}

const char *xeci_httpd_req_header(const xeci_httpd_req *req, const char *name)
{
	for (size_t i = 0; i < req->nhdrs; i++) {
		const char *n, *v;
		xeci_httpd_req_header_at(req, i, &n, &v);
		if (strcasecmp(n, name) == 0)
			return v;
	}
	return NULL;
}

const char *xeci_httpd_req_body(const xeci_httpd_req *req, size_t *len)
{
	if (len)
		*len = req->body.len;
	return req->body.ptr ? req->body.ptr : "";
}

const char *xeci_httpd_req_bearer(const xeci_httpd_req *req)
{
	const char *a = xeci_httpd_req_header(req, "Authorization");
	if (!a || strncasecmp(a, "Bearer ", 7) != 0)
		return NULL;
	a += 7;
	while (*a == ' ')
		a++;
	return *a ? a : NULL;
}

void xeci_httpd_req_on_cancel(xeci_httpd_req *req, xeci_httpd_cancel_cb cb, void *data)
{
	req->cancel_cb = cb;
	req->cancel_data = data;
}

int xeci_httpd_req_cancelled(const xeci_httpd_req *req)
{
	return req->cancelled;
}

const char *xeci_httpd_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}
