/* Reading requests off a connection: llhttp's callbacks assemble the
 * request and enforce the header and body limits; pipelined input is
 * buffered and parsed one request at a time; a complete request goes to
 * the router. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpd_int.h"
#include "router.h"
#include "util.h"

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
	uv_timer_start(&c->timer, xeci_httpd_timer_cb, c->srv->o.request_timeout_ms, 0);
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

void xeci_httpd_parser_settings(llhttp_settings_t *st)
{
	llhttp_settings_init(st);
	st->on_message_begin = on_message_begin;
	st->on_url = on_url;
	st->on_header_field = on_header_field;
	st->on_header_value = on_header_value;
	st->on_headers_complete = on_headers_complete;
	st->on_body = on_body;
	st->on_message_complete = on_message_complete;
}

/* --- input --- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

void xeci_httpd_conn_read_start(conn *c)
{
	if (!c->reading && uv_read_start(&c->h.stream, alloc_cb, read_cb) == 0)
		c->reading = true;
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
		xeci_httpd_conn_fail(c, c->err_status ? c->err_status : 400);
		off = len;
	}
	c->in_parse = false;
	return off;
}

/* Parses what was buffered while a request was pending. */
void xeci_httpd_conn_parse_input(conn *c)
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
		xeci_httpd_conn_close(c); /* EOF or error: a pending request is cancelled */
		return;
	}
	if (nread == 0 || c->state == C_LINGER || c->state == C_CLOSING)
		return;
	size_t len = (size_t)nread;
	if (c->in_off < c->in.len || (c->state != C_IDLE && c->state != C_READING)) {
		conn_stash(c, buf->base, len);
		if (c->state == C_IDLE || c->state == C_READING)
			xeci_httpd_conn_parse_input(c);
		return;
	}
	size_t used = conn_parse(c, buf->base, len);
	if (used < len && c->state != C_CLOSING && c->state != C_LINGER)
		conn_stash(c, buf->base + used, len - used);
}
