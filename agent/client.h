/* The agent's HTTP client for xecid's agent API (daemon/api_agent.h),
 * over libcurl. Every call carries `Authorization: Bearer TOKEN`. */
#ifndef XECI_AGENT_CLIENT_H
#define XECI_AGENT_CLIENT_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct xeci_client xeci_client;

/* `stop` (may be NULL) is polled during transfers and while waiting between
 * retries: a set flag ends them and the call fails with XECI_EIO. */
int xeci_client_new(xeci_client **out, const char *server, const char *token, volatile sig_atomic_t *stop);
void xeci_client_free(xeci_client *c);

/* One POST of `body` (JSON) to server+path. *status is the HTTP status
 * (0 when no answer came); *resp the answer's JSON or NULL (json_decref()
 * it). XECI_EIO for a network error or a timeout (timeout_s, the whole
 * call). No retry. */
int xeci_client_post(json_t **resp, long *status, xeci_client *c, const char *path, const json_t *body,
		     long timeout_s);

/* xeci_client_post, retried with back-off (1 s doubling to 60 s) while the
 * network fails or the server answers 5xx, at most `tries` times (0:
 * until the stop flag is set). A 2xx, 3xx or 4xx answer is returned as is. */
int xeci_client_call(json_t **resp, long *status, xeci_client *c, const char *path, const json_t *body,
		     long timeout_s, unsigned tries);

/* GET server+path into `file`, continuing after the file's current bytes
 * with `Range: bytes=N-` (a 200 answer rewrites the file from the start).
 * timeout_s bounds the whole transfer (0: none; a transfer stalled for 60 s
 * ends either way).
 * *status is the HTTP status. XECI_EIO on network errors, the file keeps
 * what came (for the next resume). */
int xeci_client_download(long *status, xeci_client *c, const char *path, const char *file, long timeout_s);

/* Replaces the stop flag (NULL: none), returning the old one: a last call
 * after the stop (the job's fail) must not be cut short by it. */
volatile sig_atomic_t *xeci_client_set_stop(xeci_client *c, volatile sig_atomic_t *stop);

/* Sleeps ms milliseconds in steps, returning early (false) when the stop
 * flag is set. */
bool xeci_client_sleep(xeci_client *c, unsigned ms);

#endif
