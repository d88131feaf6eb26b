/* libFuzzer: the input is what a client sent on one connection. The server
 * (small limits, so they are reached) serves one end of a socketpair; the
 * input goes in at the other end in pieces whose size the first byte
 * picks (so requests split across reads), the loop runs, then the client
 * half-closes and goes away. Routes cover sync, async (a timer) and never
 * answered (answered on cancel) handlers, parameters and a prefix. No
 * crash, no leak, and the connection must end. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd.h"
#include "router.h"
#include "util.h"

static uv_loop_t loop;
static xeci_router *router;
static xeci_httpd *srv;

typedef struct later {
	uv_timer_t timer;
	xeci_httpd_req *req;
} later;

static void later_closed(uv_handle_t *h)
{
	free(h->data);
}

static void later_fire(uv_timer_t *t)
{
	later *l = t->data;
	xeci_httpd_respond(l->req, 202, "text/plain", "later", 5);
	uv_close((uv_handle_t *)&l->timer, later_closed);
}

static void h_later(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	later *l = xeci_calloc(1, sizeof(*l));
	l->req = req;
	uv_timer_init(&loop, &l->timer);
	l->timer.data = l;
	uv_timer_start(&l->timer, later_fire, 0, 0);
}

static void on_cancel(xeci_httpd_req *req, void *data)
{
	xeci_httpd_respond(req, 500, "text/plain", "x", 1);
}

static void h_hang(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	xeci_httpd_req_on_cancel(req, on_cancel, NULL);
}

/* Reads everything the request offers, as a real handler would. */
static void h_echo(xeci_httpd_req *req, const xeci_route_params *p, void *data)
{
	size_t len, n = xeci_httpd_req_header_count(req);
	json_t *j = json_object();
	for (size_t i = 0; i < n; i++) {
		const char *name, *value;
		xeci_httpd_req_header_at(req, i, &name, &value);
		json_object_set_new(j, "h", json_stringn(value, strlen(value)));
	}
	const char *v = xeci_route_param(p, "id");
	if (!v)
		v = xeci_route_param(p, "*");
	json_object_set_new(j, "p", json_stringn(v ? v : "", v ? strlen(v) : 0));
	const char *q = xeci_httpd_req_query(req, "q");
	json_object_set_new(j, "q", json_stringn(q ? q : "", q ? strlen(q) : 0));
	const char *b = xeci_httpd_req_bearer(req);
	json_object_set_new(j, "b", json_stringn(b ? b : "", b ? strlen(b) : 0));
	const char *body = xeci_httpd_req_body(req, &len);
	json_object_set_new(j, "body", json_stringn(body, len));
	xeci_httpd_add_header(req, "X-Path", xeci_httpd_req_path(req));
	xeci_httpd_respond_json(req, 200, j);
	json_decref(j);
}

static void setup(void)
{
	uv_loop_init(&loop);
	xeci_router_new(&router);
	xeci_router_add_builtin(router);
	xeci_router_add(router, "GET", "/later", h_later, NULL);
	xeci_router_add(router, "GET", "/hang", h_hang, NULL);
	xeci_router_add(router, "POST", "/e/:id", h_echo, NULL);
	xeci_router_add(router, "GET", "/e/:id", h_echo, NULL);
	xeci_router_add(router, "PUT", "/s/*", h_echo, NULL);
	xeci_httpd_opts o = XECI_HTTPD_OPTS_INIT;
	o.max_header_bytes = 1024;
	o.max_body_bytes = 2048;
	xeci_httpd_new(&srv, &loop, &o, router);
}

static void drain(int fd)
{
	char tmp[65536];
	while (read(fd, tmp, sizeof(tmp)) > 0)
		;
}

static void spin(int fd, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		drain(fd);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!srv)
		setup();
	if (size == 0)
		return 0;
	size_t piece = data[0] ? data[0] : size;
	data++;
	size--;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	if (xeci_httpd_adopt(srv, sv[0]) < 0)
		abort();
	while (size > 0) {
		size_t n = size < piece ? size : piece;
		ssize_t w = write(sv[1], data, n);
		if (w < 0)
			w = 0;
		data += w;
		size -= (size_t)w;
		spin(sv[1], 2);
	}
	spin(sv[1], 4);
	shutdown(sv[1], SHUT_WR);
	for (int i = 0; xeci_httpd_connections(srv) > 0; i++) {
		if (i > 100000)
			abort(); /* the connection never ended */
		spin(sv[1], 1);
	}
	close(sv[1]);
	uv_run(&loop, UV_RUN_DEFAULT); /* handler timers, closes */
	return 0;
}
