/* The request as handlers see it (accessors, query and header lookup,
 * bearer token, cancellation) and its answer: respond*, response headers
 * and writing the response out. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "httpd_int.h"
#include "log.h"
#include "util.h"

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
void xeci_httpd_req_detach(xeci_httpd_req *req)
{
	req->conn = NULL;
	if (req->dispatched && !req->responded && !req->cancelled) {
		req->cancelled = true;
		if (req->cancel_cb)
			req->cancel_cb(req, req->cancel_data);
	}
	xeci_httpd_req_unref(req);
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
		xeci_httpd_conn_linger(c);
		return;
	}
	c->state = C_IDLE;
	uv_timer_start(&c->timer, xeci_httpd_timer_cb, c->srv->o.idle_timeout_ms, 0);
	xeci_httpd_conn_read_start(c);
	if (!c->in_parse)
		xeci_httpd_conn_parse_input(c);
}

static void write_cb(uv_write_t *w, int status)
{
	xeci_httpd_req *req = w->data;
	conn *c = req->conn;
	if (c && c->req == req) {
		if (status < 0)
			xeci_httpd_conn_close(c);
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
		xeci_httpd_conn_close(c);
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
		xeci_httpd_conn_close(c);
		return;
	}
	c->state = C_WRITING;
	uv_timer_start(&c->timer, xeci_httpd_timer_cb, c->srv->o.request_timeout_ms, 0);
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
