/* The host back-end's state file: what survives the reboot into the kernel
 * under test and back. Written atomically (temporary file, fsync, rename)
 * before each reboot, so a machine that dies at any point resumes from the
 * last phase it reached. JSON:
 *   {"phase": "booting|testing|returning", "job": {lease answer},
 *    "release": "6.12.0-xeci", "build_id": "hex", "known_good": "6.1.0-18-amd64"} */
#ifndef XECI_AGENT_HOST_STATE_H
#define XECI_AGENT_HOST_STATE_H

#include <jansson.h>

typedef struct xeci_host_state {
	char *phase;
	json_t *job; /* the lease answer {"job": {...}} */
	char *release, *build_id, *known_good;
} xeci_host_state;

#define XECI_HOST_STATE_INIT {NULL, NULL, NULL, NULL, NULL}

int xeci_host_state_save(const char *path, const xeci_host_state *s);
/* XECI_ENOTFOUND when there is no state file (nothing to resume);
 * XECI_EINVALID when it cannot be read as one. */
int xeci_host_state_load(xeci_host_state *out, const char *path);
int xeci_host_state_remove(const char *path);
void xeci_host_state_clear(xeci_host_state *s);

#endif
