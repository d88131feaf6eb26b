/* Internals of the HTTP server shared by httpd.c (listener, connections,
 * timeouts), httpd_conn.c (reading and parsing requests) and httpd_req.c
 * (the request for handlers, and writing its answer). */
#ifndef XECI_HTTPD_INT_H
#define XECI_HTTPD_INT_H

#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "buf.h"
#include "httpd.h"

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

/* httpd.c */
/* Closes at once; a request waiting for its handler is cancelled. */
void xeci_httpd_conn_close(conn *c);
/* Sends FIN after the queued answer and drops what still comes. */
void xeci_httpd_conn_linger(conn *c);
/* Refuses the request being read with a fixed answer, then closes. */
void xeci_httpd_conn_fail(conn *c, int status);
/* The connection's timer: request, idle, write and linger timeouts. */
void xeci_httpd_timer_cb(uv_timer_t *t);

/* httpd_conn.c */
void xeci_httpd_parser_settings(llhttp_settings_t *st);
void xeci_httpd_conn_read_start(conn *c);
/* Parses what was buffered while a request was pending. */
void xeci_httpd_conn_parse_input(conn *c);

/* httpd_req.c */
/* The connection lets go of its request: cancelled if a handler still owes
 * the answer (the handler's reference keeps it alive until it answers). */
void xeci_httpd_req_detach(xeci_httpd_req *req);

#endif
