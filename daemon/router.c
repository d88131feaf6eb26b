#include "router.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "util.h"

#ifndef XECI_VERSION
#define XECI_VERSION "0.1.0"
#endif

#define SEGS_MAX 32
#define PARAMS_MAX 16
#define STACK_PATH 512

typedef struct route {
	char method[16];
	char **segs; /* literal, or ":name" */
	size_t nsegs;
	bool prefix; /* the last segment was "*": the rest is parameter "*" */
	xeci_route_handler h;
	void *data;
} route;

struct xeci_router {
	route *routes;
	size_t n, cap;
};

struct xeci_route_params {
	size_t n;
	const char *name[PARAMS_MAX];
	const char *value[PARAMS_MAX];
};

/* A request path split into percent-decoded segments. */
typedef struct split_path {
	char stack[STACK_PATH];
	char *buf;
	char *segs[SEGS_MAX];
	size_t nsegs;
	char *rest; /* a prefix route's rest, joined again; owned */
} split_path;

int xeci_router_new(xeci_router **out)
{
	*out = xeci_calloc(1, sizeof(**out));
	return 0;
}

void xeci_router_free(xeci_router *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		for (size_t k = 0; k < r->routes[i].nsegs; k++)
			free(r->routes[i].segs[k]);
		free(r->routes[i].segs);
	}
	free(r->routes);
	free(r);
}

/* Splits "/a/b" (after the leading '/') at each '/', in place: "" is one
 * empty segment, so "/" and "/a/" keep their trailing empty segment. */
static size_t split(char **segs, size_t max, char *s)
{
	size_t n = 0;
	for (;;) {
		if (n == max)
			return max + 1;
		segs[n++] = s;
		char *slash = strchr(s, '/');
		if (!slash)
			return n;
		*slash = '\0';
		s = slash + 1;
	}
}

int xeci_router_add(xeci_router *r, const char *method, const char *pattern, xeci_route_handler h,
		    void *data)
{
	if (pattern[0] != '/' || strlen(method) >= sizeof(((route *)0)->method))
		return xeci_error_setc(XECI_EINVALID, "router: bad route %s %s", method, pattern);
	char *copy = xeci_strdup(pattern + 1);
	char *segs[SEGS_MAX];
	size_t n = split(segs, SEGS_MAX, copy);
	bool prefix = n <= SEGS_MAX && strcmp(segs[n - 1], "*") == 0;
	bool ok = n <= SEGS_MAX;
	for (size_t i = 0; ok && i < n; i++)
		if ((segs[i][0] == ':' && segs[i][1] == '\0') || (strchr(segs[i], '*') && !(prefix && i == n - 1)))
			ok = false;
	if (!ok) {
		free(copy);
		return xeci_error_setc(XECI_EINVALID, "router: bad route %s %s", method, pattern);
	}
	if (prefix)
		n--;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->routes = xeci_realloc(r->routes, r->cap * sizeof(*r->routes));
	}
	route *rt = &r->routes[r->n++];
	memset(rt, 0, sizeof(*rt));
	strcpy(rt->method, method);
	rt->nsegs = n;
	rt->segs = xeci_calloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		rt->segs[i] = xeci_strdup(segs[i]);
	rt->prefix = prefix;
	rt->h = h;
	rt->data = data;
	free(copy);
	return 0;
}

const char *xeci_route_param(const xeci_route_params *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->name[i], name) == 0)
			return p->value[i];
	return NULL;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Percent-decodes in place; a NUL byte (%00) or a bad escape is refused
 * rather than guessed at. */
static int decode(char *s)
{
	char *w = s;
	for (char *p = s; *p; p++) {
		if (*p != '%') {
			*w++ = *p;
			continue;
		}
		int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
		if (lo < 0 || (hi == 0 && lo == 0))
			return -1;
		*w++ = (char)(hi * 16 + lo);
		p += 2;
	}
	*w = '\0';
	return 0;
}

/* The path of an absolute-form target ("http://host/x") is "/x". */
static const char *origin_path(const char *path)
{
	const char *scheme = strstr(path, "://");
	if (path[0] == '/' || !scheme)
		return path;
	const char *slash = strchr(scheme + 3, '/');
	return slash ? slash : "/";
}

static int split_path_init(split_path *sp, const char *path)
{
	size_t len = strlen(path);
	memset(sp->segs, 0, sizeof(sp->segs));
	sp->rest = NULL;
	sp->buf = len < STACK_PATH ? sp->stack : xeci_malloc(len + 1);
	memcpy(sp->buf, path, len + 1);
	if (path[0] != '/')
		return -1;
	sp->nsegs = split(sp->segs, SEGS_MAX, sp->buf + 1);
	if (sp->nsegs > SEGS_MAX)
		return -1;
	for (size_t i = 0; i < sp->nsegs; i++)
		if (decode(sp->segs[i]) < 0)
			return -1;
	return 0;
}

static void split_path_free(split_path *sp)
{
	if (sp->buf != sp->stack)
		free(sp->buf);
	free(sp->rest);
}

static bool route_matches(const route *rt, split_path *sp, xeci_route_params *params)
{
	if (rt->prefix ? sp->nsegs <= rt->nsegs : sp->nsegs != rt->nsegs)
		return false;
	params->n = 0;
	for (size_t i = 0; i < rt->nsegs; i++) {
		if (rt->segs[i][0] != ':') {
			if (strcmp(rt->segs[i], sp->segs[i]) != 0)
				return false;
		} else if (params->n < PARAMS_MAX) {
			params->name[params->n] = rt->segs[i] + 1;
			params->value[params->n++] = sp->segs[i];
		}
	}
	return true;
}

/* A prefix route's parameter "*": the remaining segments joined again. */
static void add_rest(const route *rt, split_path *sp, xeci_route_params *params)
{
	xeci_buf b = XECI_BUF_INIT;
	for (size_t i = rt->nsegs; i < sp->nsegs; i++) {
		if (i > rt->nsegs)
			xeci_buf_putc(&b, '/');
		xeci_buf_puts(&b, sp->segs[i]);
	}
	xeci_buf_putc(&b, '\0');
	free(sp->rest);
	sp->rest = xeci_buf_detach(&b);
	if (params->n < PARAMS_MAX) {
		params->name[params->n] = "*";
		params->value[params->n++] = sp->rest;
	}
}

static bool method_matches(const char *route_method, const char *method)
{
	return strcmp(route_method, method) == 0 ||
	       (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

/* Adds a method to the Allow list once ("GET" brings "HEAD"). */
static void allow_add(xeci_buf *allow, const char *method)
{
	char padded[24];
	snprintf(padded, sizeof(padded), " %s,", method);
	if (allow->ptr && strstr(allow->ptr, padded))
		return;
	xeci_buf_puts(allow, padded);
	if (strcmp(method, "GET") == 0)
		allow_add(allow, "HEAD");
}

static void respond_405(xeci_httpd_req *req, xeci_buf *allow)
{
	/* " GET, HEAD," → "GET, HEAD" */
	allow->ptr[allow->len - 1] = '\0';
	xeci_httpd_add_header(req, "Allow", allow->ptr + 1);
	xeci_httpd_respond_error(req, 405, "method not allowed");
}

void xeci_router_dispatch(xeci_router *r, xeci_httpd_req *req)
{
	split_path sp;
	xeci_route_params params;
	const char *method = xeci_httpd_req_method(req);
	if (split_path_init(&sp, origin_path(xeci_httpd_req_path(req))) < 0) {
		split_path_free(&sp);
		xeci_httpd_respond_error(req, 400, "bad path");
		return;
	}
	xeci_buf allow = XECI_BUF_INIT;
	for (size_t i = 0; i < r->n; i++) {
		route *rt = &r->routes[i];
		if (!route_matches(rt, &sp, &params))
			continue;
		if (!method_matches(rt->method, method)) {
			allow_add(&allow, rt->method);
			continue;
		}
		if (rt->prefix)
			add_rest(rt, &sp, &params);
		xeci_buf_free(&allow);
		rt->h(req, &params, rt->data); /* req may be gone after this */
		split_path_free(&sp);
		return;
	}
	split_path_free(&sp);
	if (allow.len)
		respond_405(req, &allow);
	else
		xeci_httpd_respond_error(req, 404, "not found");
	xeci_buf_free(&allow);
}

/* --- built-in routes --- */

static void health(xeci_httpd_req *req, const xeci_route_params *params, void *data)
{
	/* constant: the cheapest answer, which the benchmark against nginx uses */
	static const char body[] = "{\"status\":\"ok\",\"version\":\"" XECI_VERSION "\"}\n";
	xeci_httpd_respond(req, 200, "application/json", body, sizeof(body) - 1);
}

int xeci_router_add_builtin(xeci_router *r)
{
	return xeci_router_add(r, "GET", "/api/v1/health", health, NULL);
}
