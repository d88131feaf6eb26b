/* The agent's main loop: register, then lease, fetch, run, report,
 * until the stop flag is set. */
#ifndef XECI_AGENT_AGENT_H
#define XECI_AGENT_AGENT_H

#include <jansson.h>
#include <signal.h>

#include "client.h"
#include "config.h"
#include "run.h"

/* The register call's facts for this machine (json_decref() it). */
json_t *xeci_agent_facts(const xeci_agent_config *cfg);

/* After a back-end ran (rc as backend.h says): the final results, the
 * job's fail call, or nothing when the lease is gone. */
void xeci_agent_finish(xeci_client *c, xeci_run *r, int rc);

/* Runs until *stop is set (0) or the server refuses the token (XECI_EINVALID:
 * retrying cannot help). */
int xeci_agent_loop(xeci_client *c, const xeci_agent_config *cfg, volatile sig_atomic_t *stop);

#endif
