/* The HTTP server (httpd + router), part 2: a connection's lifetime:
 * answers given later on the loop, a client that goes away, timeouts, the
 * connection limit, stopping the server. test_httpd.c has the protocol. */
#include "test_httpd_fixture.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_async),
		cmocka_unit_test(test_client_disconnect),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_max_connections),
		cmocka_unit_test(test_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
