/* xecid's scheduler tick: every few seconds, on the thread pool, it queues
 * the jobs of newly passed builds (one per [testplan] x platform x shard),
 * cancels queued jobs of superseded versions and expires leases past their
 * deadline (their jobs queued again or, out of attempts, incomplete). When
 * jobs became available, the agents' parked lease requests are woken. */
#ifndef XECI_DISPATCH_H
#define XECI_DISPATCH_H

#include <uv.h>

#include "api_agent.h"
#include "config.h"

typedef struct xeci_dispatch xeci_dispatch;

int xeci_dispatch_new(xeci_dispatch **out, uv_loop_t *loop, const xeci_config *cfg, xeci_api *api);
int xeci_dispatch_start(xeci_dispatch *s);
void xeci_dispatch_stop(xeci_dispatch *s);
void xeci_dispatch_free(xeci_dispatch *s);

#endif
