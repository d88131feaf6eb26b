/* Shared by test_httpd.c and test_httpd_conn.c: the HTTP server (httpd +
 * router) on 127.0.0.1, an ephemeral port, on a uv loop in the test's
 * thread, the handlers the tests route to, and a client thread speaking
 * HTTP/1.1 over plain blocking sockets that notes what went wrong (cmocka
 * asserts only in the main thread, after the loop is done). */
#ifndef XECI_TEST_HTTPD_FIXTURE_H
#define XECI_TEST_HTTPD_FIXTURE_H

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

static inline void later_closed(uv_handle_t *h)
{
	free(h->data);
}

static inline void later_fire(uv_timer_t *t)
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

static inline void answer_later(xeci_httpd_req *req, fixture *f, const char *body, uint64_t ms)
{
	later *l = xeci_calloc(1, sizeof(*l));
	l->req = req;
	l->f = f;
	l->body = body;
	uv_timer_init(&f->loop, &l->timer);
	l->timer.data = l;
	uv_timer_start(&l->timer, later_fire, ms, 0);
}

static inline void on_cancel_count(xeci_httpd_req *req, void *data)
{
	((fixture *)data)->cancelled++;
}

static inline void on_cancel_answer(xeci_httpd_req *req, void *data)
{
	((fixture *)data)->cancelled++;
	xeci_httpd_respond(req, 500, "text/plain", "dropped", 7); /* the client is gone */
}

static inline void h_slow(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	answer_later(req, data, "slow", 50);
}

static inline void h_late(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	xeci_httpd_req_on_cancel(req, on_cancel_count, data);
	answer_later(req, data, "late", 300);
}

static inline void h_hang(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	xeci_httpd_req_on_cancel(req, on_cancel_answer, data);
}

static inline void h_echo(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	size_t len;
	const char *body = xeci_httpd_req_body(req, &len);
	xeci_httpd_add_header(req, "X-Echo", "yes");
	xeci_httpd_respond(req, 200, "application/octet-stream", body, len);
}

static inline void h_job(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	const char *a = xeci_httpd_req_query(req, "a"), *b = xeci_httpd_req_query(req, "b");
	const char *tok = xeci_httpd_req_bearer(req);
	json_t *j = json_pack("{s:s,s:s?,s:s?,s:s?,s:b}", "id", xeci_route_param(p, "id"), "a", a, "b", b,
			      "auth", tok, "c", xeci_httpd_req_query(req, "c") != NULL);
	xeci_httpd_respond_json(req, 200, j);
	json_decref(j);
}

static inline void h_static(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	const char *rest = xeci_route_param(p, "*");
	xeci_httpd_respond(req, 200, "text/plain", rest, strlen(rest));
}

/* --- the loop side --- */

static inline void close_async(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static inline void on_done(uv_async_t *a)
{
	fixture *f = a->data;
	xeci_httpd_stop(f->srv);
	close_async((uv_handle_t *)&f->done);
	close_async((uv_handle_t *)&f->stop);
}

static inline void on_stop(uv_async_t *a)
{
	fixture *f = a->data;
	xeci_httpd_stop(f->srv);
}

static inline void *client_main(void *arg)
{
	fixture *f = arg;
	f->client(f);
	uv_async_send(&f->done);
	return NULL;
}

static inline void run(fixture *f, const xeci_httpd_opts *o, client_fn client)
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

static inline cl *cl_open(fixture *f)
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

static inline void cl_close(cl *c)
{
	close(c->fd);
	free(c->buf);
	free(c);
}

static inline void cl_send(cl *c, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

static inline void cl_sends(cl *c, const char *s)
{
	cl_send(c, s, strlen(s));
}

/* Reads more into the buffer: 0 on EOF, timeout or error. */
static inline ssize_t cl_fill(cl *c)
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
static inline int cl_read(cl *c, resp *r, int head_req)
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
static inline int cl_closed(cl *c)
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

static inline int get(fixture *f, cl *c, const char *target, resp *r)
{
	char req[1024];
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", target);
	cl_sends(c, req);
	int rc = cl_read(c, r, 0);
	CHECK(f, rc == 0);
	return rc;
}

static inline void resp_free(resp *r)
{
	free(r->body);
	r->body = NULL;
}

static inline uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline void sleep_ms(unsigned ms)
{
	usleep(ms * 1000);
}

#endif
