/* The HTTP server (httpd + router), part 1: the protocol: keep-alive,
 * pipelining, 404/405, header and body limits, malformed requests, bodies,
 * HEAD, routes. test_httpd_conn.c has the connections' lifetime;
 * test_httpd_fixture.h the server and the client. */
#include "test_httpd_fixture.h"

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
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_router_add),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
