/* bench/lease_load: many keep-alive HTTP/1.1 connections from one thread
 * (epoll), for bench/dispatch. The Python asyncio client tops out near
 * 10,000 requests/s with 1,000 connections (p50 ~100 ms of its own); this
 * one costs a few µs a request, so what it measures is the server.
 *
 *   lease_load --port P (--tokens FILE | --conns N) [--path /api/v1/health]
 *              [--no-results] [--jobs-out FILE] [--trace FILE] [--seed S] PHASE...
 *
 * A PHASE is RATE:COUNT.
 *  - lease mode (--tokens: one agent token a line, one connection each):
 *    RATE > 0 is an open loop: lease requests arrive as a Poisson process of
 *    RATE a second, each on an idle agent, COUNT of them; RATE 0 is a closed
 *    loop: every agent leases again as soon as it is free, until COUNT
 *    leases were given or it gets a 204. After a 200 the agent uploads one
 *    passing final result for the job (unless --no-results): the job is
 *    done, the agent free.
 *  - GET mode (--conns, --path): RATE 0 only: every connection loops on GET
 *    PATH until COUNT answers.
 * Latency is from the request's intended start (an open loop's arrival
 * time, even when no agent was idle then: no coordinated omission) to the
 * last byte of the answer. One JSON line a phase on stdout; each lease
 * given appends "JOB LEASE" to --jobs-out (the double-lease check). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

enum { IDLE, LEASE, RESULTS, GET };

typedef struct conn {
	int fd;
	const char *token;
	int state;
	bool stopped;             /* closed loop: it got a 204 */
	int phase;                /* the last phase it sent a request in */
	int64_t t0;               /* the request's intended start, ns */
	char in[16384];
	size_t inlen;
	char out[1024];
	size_t outlen, outoff;
} conn;

typedef struct vec {
	int64_t *v;
	size_t n, cap;
} vec;

typedef struct phase {
	double rate;
	long count;
	int serial;               /* 1, 2, ...: which phase this is */
	long issued, granted, inflight, late, errors, conns_used;
	long status[600], rstatus[600];
	vec lease, results;
	int64_t start, last;
} phase;

static struct {
	int port, ep, tfd;
	conn *c;
	size_t n;
	conn **idle;
	size_t nidle;
	const char *path;
	bool results;
	FILE *jobs_out;
	FILE *trace;              /* --trace: "PHASE START_MS LATENCY_MS KIND" a request */
	uint64_t rng;
} G = {.results = true, .rng = 88172645463325252ull};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void push(vec *v, int64_t x)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? 2 * v->cap : 4096;
		v->v = realloc(v->v, v->cap * sizeof(*v->v));
		if (!v->v)
			die("realloc");
	}
	v->v[v->n++] = x;
}

static uint64_t rnd(void);

/* exponential gap of a Poisson process of `rate` a second, ns */
static int64_t gap_ns(double rate)
{
	double u = (double)(rnd() >> 11) / 9007199254740992.0;
	return (int64_t)(-log(1.0 - u) / rate * 1e9);
}

/* ---- connections --------------------------------------------------------------- */

static void conn_open(conn *c)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(G.port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	if (epoll_ctl(G.ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		die("epoll_ctl");
}

static void want_out(conn *c, bool on)
{
	struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
	epoll_ctl(G.ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void flush_out(conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (w < 0 && errno == EAGAIN) {
			want_out(c, true);
			return;
		}
		if (w <= 0)
			die("write");
		c->outoff += (size_t)w;
	}
}

static void send_req(conn *c, int state, const char *method, const char *path, const char *body)
{
	size_t blen = body ? strlen(body) : 0;
	int n = snprintf(c->out, sizeof(c->out), "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", method, path, G.port);
	if (c->token)
		n += snprintf(c->out + n, sizeof(c->out) - n, "Authorization: Bearer %s\r\n", c->token);
	if (body)
		n += snprintf(c->out + n, sizeof(c->out) - n,
			      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", blen, body);
	else
		n += snprintf(c->out + n, sizeof(c->out) - n, "\r\n");
	if (n >= (int)sizeof(c->out)) {
		fprintf(stderr, "lease_load: request too long\n");
		exit(2);
	}
	c->outlen = (size_t)n;
	c->outoff = 0;
	c->state = state;
	flush_out(c);
}

/* ---- the agent's steps ----------------------------------------------------------- */

static void issue(phase *p, conn *c, int64_t t0)
{
	c->t0 = t0;
	if (c->phase != p->serial) { /* how much of the fleet the phase really used */
		c->phase = p->serial;
		p->conns_used++;
	}
	p->issued++;
	p->inflight++;
	if (G.path)
		send_req(c, GET, "GET", G.path, NULL);
	else
		send_req(c, LEASE, "POST", "/api/v1/agent/lease", "{\"wait_s\": 0}");
}

/* Closed loop: the next request of a free connection, if the phase wants one. */
static bool closed_next(phase *p, conn *c)
{
	if (p->rate > 0 || c->stopped)
		return false;
	if (G.path ? p->issued >= p->count : p->granted + p->inflight >= p->count)
		return false;
	issue(p, c, now_ns());
	return true;
}

static void finish(phase *p, conn *c)
{
	c->state = IDLE;
	p->inflight--;
	p->last = now_ns();
	if (!closed_next(p, c))
		G.idle[G.nidle++] = c;
}

/* A 200 lease answer: note the job, upload its result. */
static void leased(phase *p, conn *c, const char *body, size_t len)
{
	json_error_t e;
	json_t *j = json_loadb(body, len, 0, &e);
	json_t *job = json_object_get(j, "job");
	long long id = json_integer_value(json_object_get(job, "id"));
	long long lease = json_integer_value(json_object_get(job, "lease"));
	int shard = (int)json_integer_value(json_object_get(job, "shard"));
	const char *suite = json_string_value(json_array_get(json_object_get(job, "suites"), 0));
	p->granted++;
	if (G.jobs_out)
		fprintf(G.jobs_out, "%lld %lld\n", id, lease);
	if (!G.results || !id) {
		json_decref(j);
		finish(p, c);
		return;
	}
	char req[512], path[64];
	snprintf(req, sizeof(req),
		 "{\"lease\": %lld, \"final\": true, \"results\": [{\"test\": \"sim@%d\", \"suite\": \"%s\", "
		 "\"status\": \"pass\", \"duration_ms\": 1}]}",
		 lease, shard, suite ? suite : "");
	snprintf(path, sizeof(path), "/api/v1/jobs/%lld/results", id);
	json_decref(j);
	c->t0 = now_ns();
	send_req(c, RESULTS, "POST", path, req);
}

static void answered(phase *p, conn *c, int status, const char *body, size_t len)
{
	int64_t lat = now_ns() - c->t0;
	int s = status > 0 && status < 600 ? status : 0;
	if (G.trace)
		fprintf(G.trace, "%d %.3f %.3f %c\n", p->serial, (double)(c->t0 - p->start) / 1e6, (double)lat / 1e6,
			c->state == RESULTS ? 'r' : c->state == GET ? 'g' : 'l');
	if (c->state == RESULTS) {
		push(&p->results, lat);
		p->rstatus[s]++;
		finish(p, c);
		return;
	}
	push(&p->lease, lat);
	p->status[s]++;
	if (c->state == LEASE && status == 200) {
		leased(p, c, body, len);
		return;
	}
	if (c->state == LEASE && status == 204 && p->rate <= 0)
		c->stopped = true;
	else if (status != 200)
		p->errors++;
	finish(p, c);
}

/* ---- reading answers --------------------------------------------------------------- */

static long content_length(const char *head, size_t hlen)
{
	for (const char *q = head; q + 16 < head + hlen; q++)
		if ((q[0] == '\n') && !strncasecmp(q + 1, "content-length:", 15))
			return strtol(q + 16, NULL, 10);
	return 0;
}

static void on_readable(phase *p, conn *c)
{
	for (;;) {
		ssize_t r = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0) {
			fprintf(stderr, "lease_load: the server closed a connection\n");
			exit(2);
		}
		c->inlen += (size_t)r;
		char *end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
		if (!end)
			continue;
		size_t hlen = (size_t)(end - c->in) + 4;
		long cl = content_length(c->in, hlen);
		if (c->inlen < hlen + (size_t)cl)
			continue;
		int status = atoi(c->in + 9);
		size_t used = hlen + (size_t)cl;
		char body[sizeof(c->in)];
		memcpy(body, c->in + hlen, (size_t)cl);
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
		answered(p, c, status, body, (size_t)cl);
		if (c->state == IDLE)
			return;
	}
}

/* ---- phases ---------------------------------------------------------------------- */

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void print_lat(const char *name, vec *v)
{
	qsort(v->v, v->n, sizeof(*v->v), cmp64);
	double sum = 0;
	for (size_t i = 0; i < v->n; i++)
		sum += (double)v->v[i];
#define PCT(q) (v->n ? (double)v->v[(size_t)ceil((q) * (double)v->n) - 1] / 1e6 : 0.0)
	printf(", \"%s\": {\"n\": %zu, \"mean_ms\": %.3f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, "
	       "\"p999_ms\": %.3f, \"max_ms\": %.3f}",
	       name, v->n, v->n ? sum / (double)v->n / 1e6 : 0.0, PCT(0.5), PCT(0.9), PCT(0.99), PCT(0.999),
	       v->n ? (double)v->v[v->n - 1] / 1e6 : 0.0);
#undef PCT
}

static void print_status(const char *name, const long *st)
{
	printf(", \"%s\": {", name);
	for (int i = 0, first = 1; i < 600; i++)
		if (st[i]) {
			printf("%s\"%d\": %ld", first ? "" : ", ", i, st[i]);
			first = 0;
		}
	printf("}");
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

/* xorshift64: the arrival gaps and the choice of agent */
static uint64_t rnd(void)
{
	G.rng ^= G.rng << 13;
	G.rng ^= G.rng >> 7;
	G.rng ^= G.rng << 17;
	return G.rng;
}

/* An idle agent drawn at random: the last one freed would serve nearly
 * every arrival of a slow phase, and a fleet of 1,000 would be a few
 * connections in turn. */
static conn *take_idle(void)
{
	size_t k = (size_t)(rnd() % G.nidle);
	conn *c = G.idle[k];
	G.idle[k] = G.idle[--G.nidle];
	return c;
}

/* Open loop: the arrivals due by now, each on an idle agent. */
static void arrivals(phase *p, int64_t *next)
{
	int64_t now = now_ns();
	while (p->issued < p->count && *next <= now && G.nidle) {
		if (now - *next > 1000000)
			p->late++; /* no agent was free on time (or the client lagged): counted, and in the latency */
		issue(p, take_idle(), *next);
		*next += gap_ns(p->rate);
	}
	struct itimerspec it = {0};
	if (p->issued < p->count && G.nidle) {
		int64_t at = *next > now ? *next : now + 1000;
		it.it_value.tv_sec = at / 1000000000;
		it.it_value.tv_nsec = at % 1000000000;
	}
	timerfd_settime(G.tfd, TFD_TIMER_ABSTIME, &it, NULL);
}

static void run_phase(phase *p)
{
	double cpu0 = cpu_s();
	p->start = p->last = now_ns();
	int64_t next = p->start;
	for (size_t k = 0; k < G.n; k++)
		G.c[k].stopped = false;
	if (p->rate <= 0) {
		size_t k = G.nidle;
		G.nidle = 0;
		for (size_t i = 0; i < k; i++)
			if (!closed_next(p, G.idle[i]))
				G.idle[G.nidle++] = G.idle[i];
	}
	struct epoll_event ev[256];
	while (p->inflight > 0 || (p->rate > 0 && p->issued < p->count)) {
		if (p->rate > 0)
			arrivals(p, &next);
		int n = epoll_wait(G.ep, ev, 256, 1000);
		for (int i = 0; i < n; i++) {
			if (!ev[i].data.ptr) {
				uint64_t x;
				if (read(G.tfd, &x, sizeof(x)) < 0 && errno != EAGAIN)
					die("timerfd");
				continue;
			}
			conn *c = ev[i].data.ptr;
			if (ev[i].events & EPOLLOUT) {
				flush_out(c);
				if (c->outoff == c->outlen)
					want_out(c, false);
			}
			if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_readable(p, c);
		}
	}
	double secs = (double)(p->last - p->start) / 1e9;
	printf("{\"rate\": %g, \"count\": %ld, \"issued\": %ld, \"granted\": %ld, \"errors\": %ld, \"late\": %ld, "
	       "\"conns_used\": %ld, \"seconds\": %.3f, \"per_s\": %.1f, \"requests_per_s\": %.1f, \"client_cpu_s\": %.2f",
	       p->rate, p->count, p->issued, p->granted, p->errors, p->late, p->conns_used, secs,
	       (double)(G.path ? p->issued : p->granted) / secs, (double)(p->lease.n + p->results.n) / secs,
	       cpu_s() - cpu0);
	print_lat(G.path ? "get" : "lease", &p->lease);
	if (p->results.n)
		print_lat("results", &p->results);
	print_status("status", p->status);
	print_status("results_status", p->rstatus);
	printf("}\n");
	fflush(stdout);
	if (G.jobs_out)
		fflush(G.jobs_out);
	if (G.trace)
		fflush(G.trace);
	free(p->lease.v);
	free(p->results.v);
}

/* ---- setup ------------------------------------------------------------------------- */

static char **read_tokens(const char *file, size_t *n)
{
	FILE *f = fopen(file, "r");
	if (!f)
		die(file);
	char **v = NULL, line[256];
	size_t cap = 0;
	*n = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!*line)
			continue;
		if (*n == cap && !(v = realloc(v, (cap = cap ? 2 * cap : 1024) * sizeof(*v))))
			die("realloc");
		v[(*n)++] = strdup(line);
	}
	fclose(f);
	return v;
}

static void usage(void)
{
	fprintf(stderr, "usage: lease_load --port P (--tokens FILE | --conns N --path PATH) [--no-results] "
			"[--jobs-out FILE] [--seed S] RATE:COUNT...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *tokens = NULL;
	size_t conns = 0;
	int i = 1;
	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--no-results")) {
			G.results = false;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--port"))
			G.port = atoi(v);
		else if (!strcmp(a, "--tokens"))
			tokens = v;
		else if (!strcmp(a, "--conns"))
			conns = (size_t)atol(v);
		else if (!strcmp(a, "--path"))
			G.path = v;
		else if (!strcmp(a, "--trace") && !(G.trace = fopen(v, "w")))
			die(v);
		else if (!strcmp(a, "--jobs-out") && !(G.jobs_out = fopen(v, "a")))
			die(v);
		else if (!strcmp(a, "--seed"))
			G.rng = strtoull(v, NULL, 10) | 1;
	}
	if (!G.port || (!tokens && !(conns && G.path)) || i >= argc)
		usage();
	signal(SIGPIPE, SIG_IGN); /* a closed connection is an error to report, not a silent death */
	char **tok = tokens ? read_tokens(tokens, &conns) : NULL;
	G.ep = epoll_create1(0);
	G.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
	if (G.ep < 0 || G.tfd < 0 || epoll_ctl(G.ep, EPOLL_CTL_ADD, G.tfd, &tev) < 0)
		die("epoll");
	G.n = conns;
	G.c = calloc(conns, sizeof(*G.c));
	G.idle = calloc(conns, sizeof(*G.idle));
	for (size_t k = 0; k < conns; k++) {
		G.c[k].token = tok ? tok[k] : NULL;
		conn_open(&G.c[k]);
		G.idle[G.nidle++] = &G.c[k];
	}
	int bad = 0;
	for (int serial = 1; i < argc; i++, serial++) {
		phase *p = calloc(1, sizeof(*p));
		p->serial = serial;
		if (sscanf(argv[i], "%lf:%ld", &p->rate, &p->count) != 2 || (G.path && p->rate > 0))
			usage();
		run_phase(p);
		bad |= p->errors > 0;
		free(p);
	}
	return bad;
}
