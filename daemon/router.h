/* Routing, apart from the transport (httpd.h): (method, path pattern) →
 * handler. Patterns are literal segments and parameters,
 * "/api/v1/jobs/:id"; a last segment "*" makes a prefix route, whose
 * rest of the path is the parameter "*" (static files under "/static",
 * later). Routes are tried in the order they were added. An unknown path gets 404, a known
 * path with another method 405 with an Allow header; a GET route also
 * answers HEAD. */
#ifndef XECI_ROUTER_H
#define XECI_ROUTER_H

#include "httpd.h"

typedef struct xeci_route_params xeci_route_params;

/* Called on the loop for each request matching its route. The handler
 * answers with xeci_httpd_respond* now or later (see httpd.h); params are
 * valid during the call only: copy what an asynchronous handler needs. */
typedef void (*xeci_route_handler)(xeci_httpd_req *req, const xeci_route_params *params, void *data);

int xeci_router_new(xeci_router **out);
void xeci_router_free(xeci_router *r);
/* method: "GET", "POST", ...; XECI_EINVALID for a pattern not starting
 * with '/', a "*" not last, or an empty parameter name. */
int xeci_router_add(xeci_router *r, const char *method, const char *pattern, xeci_route_handler h,
		    void *data);
/* The percent-decoded value of path parameter `name` ("*" for a prefix
 * route's rest, which may hold '/' and ".."), NULL when absent. */
const char *xeci_route_param(const xeci_route_params *p, const char *name);

/* Finds the handler for req and calls it, or answers 400/404/405 itself.
 * The transport calls this for every complete request. */
void xeci_router_dispatch(xeci_router *r, xeci_httpd_req *req);

/* The built-in routes: GET /api/v1/health → {"status":"ok","version":...}. */
int xeci_router_add_builtin(xeci_router *r);

#endif
