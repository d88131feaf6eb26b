/* The agent protocol on xecid's HTTP server (/api/v1/agent/..., /api/v1/jobs/...).
 * Agent-initiated, so agents work behind NAT; every call carries the
 * agent's bearer token (401 without a valid one, nothing changed).
 *
 *   POST /api/v1/agent/register   {"facts": {...}, "capabilities": [...]}
 *   POST /api/v1/agent/lease      {"wait_s": 30} → 200 {"job": {...}} or 204
 *                                 (long-poll: waits up to 30 s for a job)
 *   POST /api/v1/jobs/ID/heartbeat {"lease": L, "current_test", "done", "total"}
 *   POST /api/v1/jobs/ID/results  {"lease": L, "final": bool, "results": [{"test",
 *                                 "suite", "status", "duration_ms", "out", "err", "dmesg"}]}
 *   POST /api/v1/jobs/ID/fail     {"lease": L, "reason": "...", "infra": bool}
 *   GET  /api/v1/builds/ID/artifacts/NAME   (Range: bytes=N- resumes)
 * A call under a lease that is not the job's current one gets 409 and
 * changes nothing. Every database call runs on the thread pool. */
#ifndef XECI_API_AGENT_H
#define XECI_API_AGENT_H

#include <uv.h>

#include "config.h"
#include "router.h"

typedef struct xeci_api xeci_api;

int xeci_api_new(xeci_api **out, uv_loop_t *loop, const xeci_config *cfg, xeci_router *r);
/* Jobs may have become available: parked lease requests try again. */
void xeci_api_wake(xeci_api *a);
/* Parked lease requests are answered 204 now (the daemon is stopping). */
void xeci_api_stop(xeci_api *a);
void xeci_api_free(xeci_api *a);

/* The longest a lease request waits for a job. */
#define XECI_LEASE_WAIT_MAX_S 30

#endif
