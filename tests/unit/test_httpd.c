/* The HTTP server (httpd + router) on 127.0.0.1, an ephemeral port: the
 * server runs on a uv loop in the test's thread, a client thread speaks
 * HTTP/1.1 over plain blocking sockets and notes what went wrong (cmocka
 * asserts only in the main thread, after the loop is done). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "httpd.h"
#include "router.h"
#include "util.h"

typedef struct fixture fixture;
typedef void (*client_fn)(fixture *f);

struct fixture {
	uv_loop_t loop;
	xeci_router *router;
	xeci_httpd *srv;
	uv_async_t done, stop;
	pthread_t thread;
	int port;
	client_fn client;
	char fail[512]; /* the client thread's first failed check */
	/* counted by handlers on the loop */
	int cancelled, late_answers, late_after_cancel;
};

#define CHECK(f, c)                                                                               \
	do {                                                                                      \
		if (!(c) && !(f)->fail[0])                                                        \
			snprintf((f)->fail, sizeof((f)->fail), "%s:%d: %s", __FILE__, __LINE__, #c); \
	} while (0)

/* --- handlers (on the loop) --- */

typedef struct later {
	uv_timer_t timer;
	xeci_httpd_req *req;
	fixture *f;
	const char *body;
} later;

static void later_closed(uv_handle_t *h)
{
	free(h->data);
}

static void later_fire(uv_timer_t *t)
{
	later *l = t->data;
	if (strcmp(l->body, "late") == 0) {
		l->f->late_answers++;
		if (xeci_httpd_req_cancelled(l->req))
			l->f->late_after_cancel++;
	}
	xeci_httpd_respond(l->req, 200, "text/plain", l->body, strlen(l->body));
	uv_close((uv_handle_t *)&l->timer, later_closed);
}

static void answer_later(xeci_httpd_req *req, fixture *f, const char *body, uint64_t ms)
{
	later *l = xeci_calloc(1, sizeof(*l));
	l->req = req;
	l->f = f;
	l->body = body;
	uv_timer_init(&f->loop, &l->timer);
	l->timer.data = l;
	uv_timer_start(&l->timer, later_fire, ms, 0);
}

static void on_cancel_count(xeci_httpd_req *req, void *data)
{
	((fixture *)data)->cancelled++;
}

static void on_cancel_answer(xeci_httpd_req *req, void *data)
{
	((fixture *)data)->cancelled++;
	xeci_httpd_respond(req, 500, "text/plain", "dropped", 7); /* the client is gone */
}

static void h_slow(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	answer_later(req, data, "slow", 50);
}

static void h_late(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	xeci_httpd_req_on_cancel(req, on_cancel_count, data);
	answer_later(req, data, "late", 300);
}

static void h_hang(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	xeci_httpd_req_on_cancel(req, on_cancel_answer, data);
}

static void h_echo(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	size_t len;
	const char *body = xeci_httpd_req_body(req, &len);
	xeci_httpd_add_header(req, "X-Echo", "yes");
	xeci_httpd_respond(req, 200, "application/octet-stream", body, len);
}

static void h_job(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	const char *a = xeci_httpd_req_query(req, "a"), *b = xeci_httpd_req_query(req, "b");
	const char *tok = xeci_httpd_req_bearer(req);
	json_t *j = json_pack("{s:s,s:s?,s:s?,s:s?,s:b}", "id", xeci_route_param(p, "id"), "a", a, "b", b,
			      "auth", tok, "c", xeci_httpd_req_query(req, "c") != NULL);
	xeci_httpd_respond_json(req, 200, j);
	json_decref(j);
}

static void h_static(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	const char *rest = xeci_route_param(p, "*");
	xeci_httpd_respond(req, 200, "text/plain", rest, strlen(rest));
}

/* --- the loop side --- */

static void close_async(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void on_done(uv_async_t *a)
{
	fixture *f = a->data;
	xeci_httpd_stop(f->srv);
	close_async((uv_handle_t *)&f->done);
	close_async((uv_handle_t *)&f->stop);
}

static void on_stop(uv_async_t *a)
{
	fixture *f = a->data;
	xeci_httpd_stop(f->srv);
}

static void *client_main(void *arg)
{
	fixture *f = arg;
	f->client(f);
	uv_async_send(&f->done);
	return NULL;
}

static void run(fixture *f, const xeci_httpd_opts *o, client_fn client)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(xeci_router_new(&f->router), 0);
	assert_int_equal(xeci_router_add_builtin(f->router), 0);
	assert_int_equal(xeci_router_add(f->router, "GET", "/slow", h_slow, f), 0);
	assert_int_equal(xeci_router_add(f->router, "GET", "/late", h_late, f), 0);
	assert_int_equal(xeci_router_add(f->router, "GET", "/hang", h_hang, f), 0);
	assert_int_equal(xeci_router_add(f->router, "POST", "/echo", h_echo, f), 0);
	assert_int_equal(xeci_router_add(f->router, "GET", "/api/v1/jobs/:id", h_job, f), 0);
	assert_int_equal(xeci_router_add(f->router, "PUT", "/api/v1/jobs/:id", h_job, f), 0);
	assert_int_equal(xeci_router_add(f->router, "GET", "/static/*", h_static, f), 0);
	xeci_httpd_opts def = XECI_HTTPD_OPTS_INIT;
	assert_int_equal(xeci_httpd_new(&f->srv, &f->loop, o ? o : &def, f->router), 0);
	assert_int_equal(xeci_httpd_start(f->srv), 0);
	f->port = xeci_httpd_port(f->srv);
	assert_true(f->port > 0);
	uv_async_init(&f->loop, &f->done, on_done);
	f->done.data = f;
	uv_async_init(&f->loop, &f->stop, on_stop);
	f->stop.data = f;
	f->client = client;
	assert_int_equal(pthread_create(&f->thread, NULL, client_main, f), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	pthread_join(f->thread, NULL);
	assert_int_equal(xeci_httpd_connections(f->srv), 0);
	xeci_httpd_free(f->srv);
	xeci_router_free(f->router);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	if (f->fail[0])
		fail_msg("%s", f->fail);
}

/* --- the client side (its own thread, blocking sockets) --- */

typedef struct cl {
	int fd;
	char *buf;
	size_t len, cap;
} cl;

typedef struct resp {
	int status;
	char head[8192];
	char *body;
	size_t body_len;
} resp;

static cl *cl_open(fixture *f)
{
	cl *c = xeci_calloc(1, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = {5, 0};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	CHECK(f, connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	return c;
}

static void cl_close(cl *c)
{
	close(c->fd);
	free(c->buf);
	free(c);
}

static void cl_send(cl *c, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

static void cl_sends(cl *c, const char *s)
{
	cl_send(c, s, strlen(s));
}

/* Reads more into the buffer: 0 on EOF, timeout or error. */
static ssize_t cl_fill(cl *c)
{
	if (c->cap - c->len < 65536) {
		c->cap = c->cap * 2 + 65536;
		c->buf = xeci_realloc(c->buf, c->cap + 1);
	}
	ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	if (n <= 0)
		return 0;
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	return n;
}

static const char *find_header(const char *head, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':')
			return p + 3 + n + strspn(p + 3 + n, " ");
	return NULL;
}

/* Reads one response; a HEAD response has no body whatever its length. */
static int cl_read(cl *c, resp *r, int head_req)
{
	char *end;
	memset(r, 0, sizeof(*r));
	while (!c->buf || !(end = strstr(c->buf, "\r\n\r\n")))
		if (!cl_fill(c))
			return -1;
	size_t hlen = (size_t)(end + 4 - c->buf);
	if (hlen >= sizeof(r->head))
		return -1;
	memcpy(r->head, c->buf, hlen);
	r->status = atoi(r->head + 9);
	const char *cl = find_header(r->head, "Content-Length");
	r->body_len = head_req || !cl ? 0 : strtoul(cl, NULL, 10);
	while (c->len < hlen + r->body_len)
		if (!cl_fill(c))
			return -1;
	r->body = xeci_malloc(r->body_len + 1);
	memcpy(r->body, c->buf + hlen, r->body_len);
	r->body[r->body_len] = '\0';
	memmove(c->buf, c->buf + hlen + r->body_len, c->len - hlen - r->body_len + 1);
	c->len -= hlen + r->body_len;
	return 0;
}

/* True when the server closed the connection (after what was buffered). */
static int cl_closed(cl *c)
{
	char tmp[4096];
	for (;;) {
		ssize_t n = recv(c->fd, tmp, sizeof(tmp), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 1;
		if (n < 0)
			return 0; /* timeout: still open */
	}
}

static int get(fixture *f, cl *c, const char *target, resp *r)
{
	char req[1024];
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", target);
	cl_sends(c, req);
	int rc = cl_read(c, r, 0);
	CHECK(f, rc == 0);
	return rc;
}

static void resp_free(resp *r)
{
	free(r->body);
	r->body = NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	usleep(ms * 1000);
}

/* --- tests --- */

static void c_keepalive(fixture *f)
{
	cl *c = cl_open(f);
	resp r;
	for (int i = 0; i < 2; i++) {
		if (get(f, c, "/api/v1/health", &r) < 0)
			break;
		CHECK(f, r.status == 200);
		CHECK(f, strstr(r.body, "\"status\":\"ok\"") && strstr(r.body, "\"version\""));
		CHECK(f, strstr(r.head, "Content-Type: application/json"));
		CHECK(f, !find_header(r.head, "Connection"));
		resp_free(&r);
	}
	cl_sends(c, "GET /api/v1/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 200);
	CHECK(f, strstr(r.head, "Connection: close"));
	resp_free(&r);
	CHECK(f, cl_closed(c));
	cl_close(c);
	/* HTTP/1.0 closes unless asked to keep alive */
	c = cl_open(f);
	cl_sends(c, "GET /api/v1/health HTTP/1.0\r\n\r\n");
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 200);
	resp_free(&r);
	CHECK(f, cl_closed(c));
	cl_close(c);
	c = cl_open(f);
	cl_sends(c, "GET /api/v1/health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 200 && strstr(r.head, "Connection: keep-alive"));
	resp_free(&r);
	CHECK(f, get(f, c, "/api/v1/health", &r) == 0 && r.status == 200);
	resp_free(&r);
	cl_close(c);
}

static void test_keepalive(void **state)
{
	fixture f;
	run(&f, NULL, c_keepalive);
}

/* The first request is answered after a timer, the next two at once: the
 * answers still come in request order. Also path and query parameters. */
static void c_pipelined(fixture *f)
{
	cl *c = cl_open(f);
	resp r;
	cl_sends(c, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"
		    "GET /api/v1/jobs/7%2Fx?a=1&b=x%20y+z&c HTTP/1.1\r\nHost: t\r\nauthorization: Bearer  s3cret\r\n\r\n"
		    "GET /static/css/a%20b.css HTTP/1.1\r\nHost: t\r\n\r\n"
		    "GET /api/v1/health HTTP/1.1\r\nHost: t\r\n\r\n");
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 200 && strcmp(r.body, "slow") == 0);
	resp_free(&r);
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 200);
	json_t *j = json_loads(r.body ? r.body : "", 0, NULL);
	CHECK(f, j && strcmp(json_string_value(json_object_get(j, "id")), "7/x") == 0);
	CHECK(f, j && strcmp(json_string_value(json_object_get(j, "a")), "1") == 0);
	CHECK(f, j && strcmp(json_string_value(json_object_get(j, "b")), "x y z") == 0);
	CHECK(f, j && json_is_true(json_object_get(j, "c")));
	CHECK(f, j && strcmp(json_string_value(json_object_get(j, "auth")), "s3cret") == 0);
	json_decref(j);
	resp_free(&r);
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 200 && strcmp(r.body, "css/a b.css") == 0);
	resp_free(&r);
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 200 && strstr(r.body, "ok"));
	resp_free(&r);
	cl_close(c);
}

static void test_pipelined(void **state)
{
	fixture f;
	run(&f, NULL, c_pipelined);
}

static void c_not_found(fixture *f)
{
	cl *c = cl_open(f);
	resp r;
	get(f, c, "/api/v1/nope", &r);
	CHECK(f, r.status == 404 && strstr(r.body, "\"error\""));
	resp_free(&r);
	get(f, c, "/static", &r); /* a prefix route needs something after it */
	CHECK(f, r.status == 404);
	resp_free(&r);
	get(f, c, "/api/v1/jobs/1/2", &r);
	CHECK(f, r.status == 404);
	resp_free(&r);
	cl_sends(c, "DELETE /api/v1/jobs/3 HTTP/1.1\r\nHost: t\r\n\r\n");
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 405);
	const char *allow = find_header(r.head, "Allow");
	CHECK(f, allow && strncmp(allow, "GET, HEAD, PUT\r\n", 16) == 0);
	resp_free(&r);
	cl_sends(c, "POST /api/v1/health HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}");
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 405);
	resp_free(&r);
	get(f, c, "/api/v1/jobs/%zz", &r); /* a bad escape */
	CHECK(f, r.status == 400);
	resp_free(&r);
	get(f, c, "/api/v1/health", &r); /* the connection is still good */
	CHECK(f, r.status == 200);
	resp_free(&r);
	cl_close(c);
}

static void test_not_found_and_method(void **state)
{
	fixture f;
	run(&f, NULL, c_not_found);
}

static void c_header_too_large(fixture *f)
{
	cl *c = cl_open(f);
	resp r;
	size_t n = 20000;
	char *big = xeci_malloc(n + 100);
	strcpy(big, "GET /api/v1/health HTTP/1.1\r\nX-Big: ");
	size_t l = strlen(big);
	memset(big + l, 'a', n);
	strcpy(big + l + n, "\r\n\r\n");
	cl_sends(c, big);
	free(big);
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 431);
	CHECK(f, r.body && r.body_len > 2 && strcmp(r.body + r.body_len - 2, "}\n") == 0);
	resp_free(&r);
	CHECK(f, cl_closed(c));
	cl_close(c);
	/* too many header lines */
	c = cl_open(f);
	cl_sends(c, "GET /api/v1/health HTTP/1.1\r\n");
	for (int i = 0; i < 150; i++)
		cl_sends(c, "X: y\r\n");
	cl_sends(c, "\r\n");
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 431);
	resp_free(&r);
	cl_close(c);
}

static void test_header_too_large(void **state)
{
	fixture f;
	run(&f, NULL, c_header_too_large);
}

static void c_body_too_large(fixture *f)
{
	resp r;
	/* refused from the Content-Length alone, before the body is sent */
	cl *c = cl_open(f);
	cl_sends(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n");
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 413);
	resp_free(&r);
	CHECK(f, cl_closed(c));
	cl_close(c);
	/* chunked: refused once the chunks pass the limit */
	c = cl_open(f);
	char chunk[1100];
	memset(chunk, 'x', sizeof(chunk));
	cl_sends(c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 2; i++) {
		cl_sends(c, "44c\r\n");
		cl_send(c, chunk, sizeof(chunk));
		cl_sends(c, "\r\n");
	}
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 413);
	resp_free(&r);
	cl_close(c);
	/* exactly at the limit is fine */
	c = cl_open(f);
	cl_sends(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n");
	cl_send(c, chunk, 1024);
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 200 && r.body_len == 1024);
	resp_free(&r);
	cl_close(c);
}

static void test_body_too_large(void **state)
{
	fixture f;
	xeci_httpd_opts o = XECI_HTTPD_OPTS_INIT;
	o.max_body_bytes = 1024;
	run(&f, &o, c_body_too_large);
}

static void c_malformed(fixture *f)
{
	static const char *bad[] = {
		"GARBAGE\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",
		"GET / HTTP/9.9\r\n\r\n",
		"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
		"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cl *c = cl_open(f);
		resp r;
		cl_sends(c, bad[i]);
		CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 400);
		CHECK(f, strstr(r.head, "Connection: close"));
		resp_free(&r);
		CHECK(f, cl_closed(c));
		cl_close(c);
	}
	/* a good request, then garbage on the same connection */
	cl *c = cl_open(f);
	resp r;
	cl_sends(c, "GET /api/v1/health HTTP/1.1\r\n\r\n\x01\x02\x03 junk\r\n\r\n");
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 200);
	resp_free(&r);
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 400);
	resp_free(&r);
	CHECK(f, cl_closed(c));
	cl_close(c);
}

static void test_malformed(void **state)
{
	fixture f;
	run(&f, NULL, c_malformed);
}

static void c_bodies(fixture *f)
{
	cl *c = cl_open(f);
	resp r;
	size_t n = 300000;
	char *body = xeci_malloc(n);
	for (size_t i = 0; i < n; i++)
		body[i] = (char)(i * 7 + i / 251);
	char head[256];
	snprintf(head, sizeof(head), "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", n);
	cl_sends(c, head);
	cl_send(c, body, n);
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 200 && r.body_len == n && memcmp(r.body, body, n) == 0);
	CHECK(f, strstr(r.head, "X-Echo: yes"));
	resp_free(&r);
	/* chunked, in pieces of several sizes, with an extension and a trailer */
	cl_sends(c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
	size_t off = 0, sizes[] = {1, 16, 4000, 70000, 100};
	for (size_t i = 0; i < 5; i++) {
		char line[64];
		snprintf(line, sizeof(line), i == 2 ? "%zx;ext=1\r\n" : "%zx\r\n", sizes[i]);
		cl_sends(c, line);
		cl_send(c, body + off, sizes[i]);
		cl_sends(c, "\r\n");
		off += sizes[i];
	}
	cl_sends(c, "0\r\nX-Trailer: t\r\n\r\n");
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 200 && r.body_len == off &&
		      memcmp(r.body, body, off) == 0);
	resp_free(&r);
	/* Expect: 100-continue gets its interim answer */
	cl_sends(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 100);
	resp_free(&r);
	cl_sends(c, "hello");
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 200 && strcmp(r.body, "hello") == 0);
	resp_free(&r);
	free(body);
	cl_close(c);
}

static void test_bodies(void **state)
{
	fixture f;
	run(&f, NULL, c_bodies);
}

static void c_async(fixture *f)
{
	cl *c = cl_open(f);
	resp r;
	uint64_t t0 = now_ms();
	CHECK(f, get(f, c, "/slow", &r) == 0 && r.status == 200 && strcmp(r.body, "slow") == 0);
	CHECK(f, now_ms() - t0 >= 40);
	resp_free(&r);
	CHECK(f, get(f, c, "/slow", &r) == 0 && r.status == 200);
	resp_free(&r);
	cl_close(c);
}

static void test_async(void **state)
{
	fixture f;
	run(&f, NULL, c_async);
}

/* The client goes away while its request waits: the handler is told, and
 * its late answer is dropped safely (ASan would catch a use after free). */
static void c_disconnect(fixture *f)
{
	cl *c = cl_open(f);
	cl_sends(c, "GET /hang HTTP/1.1\r\nHost: t\r\n\r\n");
	sleep_ms(50);
	cl_close(c);
	c = cl_open(f);
	cl_sends(c, "GET /late HTTP/1.1\r\nHost: t\r\n\r\n");
	sleep_ms(50);
	cl_close(c);
	/* pipelined behind a pending request, then gone */
	c = cl_open(f);
	cl_sends(c, "GET /late HTTP/1.1\r\nHost: t\r\n\r\nGET /api/v1/health HTTP/1.1\r\n\r\nPOST /echo HTTP/1.1\r\n");
	sleep_ms(50);
	cl_close(c);
	sleep_ms(500);
	resp r;
	c = cl_open(f);
	CHECK(f, get(f, c, "/api/v1/health", &r) == 0 && r.status == 200);
	resp_free(&r);
	cl_close(c);
}

static void test_client_disconnect(void **state)
{
	fixture f;
	run(&f, NULL, c_disconnect);
	assert_int_equal(f.cancelled, 3);
	assert_int_equal(f.late_answers, 2);
	assert_int_equal(f.late_after_cancel, 2);
}

static void c_timeouts(fixture *f)
{
	resp r;
	cl *c = cl_open(f);
	uint64_t t0 = now_ms();
	CHECK(f, cl_closed(c));
	uint64_t dt = now_ms() - t0;
	CHECK(f, dt >= 150 && dt < 3000);
	cl_close(c);
	/* idle after a request on a kept-alive connection */
	c = cl_open(f);
	CHECK(f, get(f, c, "/api/v1/health", &r) == 0 && r.status == 200);
	resp_free(&r);
	CHECK(f, cl_closed(c));
	cl_close(c);
	/* slow headers: 408, then close */
	c = cl_open(f);
	cl_sends(c, "GET /api/v1/health HTTP/1.1\r\nHost: t\r\n");
	t0 = now_ms();
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 408);
	CHECK(f, now_ms() - t0 >= 250);
	resp_free(&r);
	CHECK(f, cl_closed(c));
	cl_close(c);
	/* a slow body, trickled: the deadline holds for the whole request */
	c = cl_open(f);
	cl_sends(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
	for (int i = 0; i < 5; i++) {
		sleep_ms(100);
		cl_sends(c, "x");
	}
	CHECK(f, cl_read(c, &r, 0) == 0 && r.status == 408);
	resp_free(&r);
	cl_close(c);
	/* a pending request is not timed out by the server */
	c = cl_open(f);
	CHECK(f, get(f, c, "/late", &r) == 0 && r.status == 200);
	resp_free(&r);
	cl_close(c);
}

static void test_timeouts(void **state)
{
	fixture f;
	xeci_httpd_opts o = XECI_HTTPD_OPTS_INIT;
	o.idle_timeout_ms = 200;
	o.request_timeout_ms = 300;
	o.address = "127.0.0.1";
	run(&f, &o, c_timeouts);
}

static void c_head(fixture *f)
{
	cl *c = cl_open(f);
	resp r;
	cl_sends(c, "HEAD /api/v1/health HTTP/1.1\r\nHost: t\r\n\r\n");
	CHECK(f, cl_read(c, &r, 1) == 0 && r.status == 200);
	const char *len = find_header(r.head, "Content-Length");
	CHECK(f, len && atoi(len) > 10);
	resp_free(&r);
	/* had a body been sent, it would be read here instead of this answer */
	CHECK(f, get(f, c, "/api/v1/jobs/5", &r) == 0 && r.status == 200 && strstr(r.body, "\"id\":\"5\""));
	resp_free(&r);
	cl_close(c);
}

static void test_head(void **state)
{
	fixture f;
	run(&f, NULL, c_head);
}

static void c_max_connections(fixture *f)
{
	resp r;
	cl *a = cl_open(f), *b = cl_open(f);
	CHECK(f, get(f, a, "/api/v1/health", &r) == 0 && r.status == 200);
	resp_free(&r);
	CHECK(f, get(f, b, "/api/v1/health", &r) == 0 && r.status == 200);
	resp_free(&r);
	cl *c = cl_open(f);
	cl_sends(c, "GET /api/v1/health HTTP/1.1\r\n\r\n");
	int rc = cl_read(c, &r, 0);
	CHECK(f, rc < 0 || r.status == 503);
	resp_free(&r);
	CHECK(f, cl_closed(c));
	cl_close(c);
	cl_close(a);
	sleep_ms(100);
	c = cl_open(f);
	CHECK(f, get(f, c, "/api/v1/health", &r) == 0 && r.status == 200);
	resp_free(&r);
	cl_close(c);
	cl_close(b);
}

static void test_max_connections(void **state)
{
	fixture f;
	xeci_httpd_opts o = XECI_HTTPD_OPTS_INIT;
	o.max_connections = 2;
	run(&f, &o, c_max_connections);
}

/* Stopping the server cancels a pending request and closes its connection. */
static void c_stop(fixture *f)
{
	cl *c = cl_open(f);
	cl_sends(c, "GET /hang HTTP/1.1\r\nHost: t\r\n\r\n");
	sleep_ms(100);
	uv_async_send(&f->stop);
	CHECK(f, cl_closed(c));
	cl_close(c);
}

static void test_stop(void **state)
{
	fixture f;
	run(&f, NULL, c_stop);
	assert_int_equal(f.cancelled, 1);
}

/* Routes that cannot be added. */
static void test_router_add(void **state)
{
	xeci_router *r;
	assert_int_equal(xeci_router_new(&r), 0);
	assert_true(xeci_router_add(r, "GET", "nope", h_echo, NULL) < 0);
	assert_true(xeci_router_add(r, "GET", "/a/*/b", h_echo, NULL) < 0);
	assert_true(xeci_router_add(r, "GET", "/a/:", h_echo, NULL) < 0);
	assert_int_equal(xeci_router_add(r, "GET", "/", h_echo, NULL), 0);
	xeci_router_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_not_found_and_method),
		cmocka_unit_test(test_header_too_large),
		cmocka_unit_test(test_body_too_large),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_async),
		cmocka_unit_test(test_client_disconnect),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_max_connections),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_router_add),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
