/* Polling inboxes from the daemon's libuv loop: one timer per inbox; each
 * fetch runs on the thread pool (network, git and SQLite block), reports
 * back to the loop, and the next poll is scheduled: the poll interval after
 * a success, an exponential back-off after a failure. One broken inbox never
 * stops the others. A second timer records incomplete series that waited
 * too long. */
#ifndef XECI_POLLER_H
#define XECI_POLLER_H

#include <uv.h>

#include "config.h"

typedef struct xeci_poller xeci_poller;

int xeci_poller_new(xeci_poller **out, uv_loop_t *loop, const xeci_config *cfg);
/* Arms the timers; the first poll of each inbox starts at once. */
int xeci_poller_start(xeci_poller *p);
/* Stops the timers; fetches already running finish (their handles close
 * when they report back). Then xeci_poller_free once the loop is done. */
void xeci_poller_stop(xeci_poller *p);
void xeci_poller_free(xeci_poller *p);

#endif
