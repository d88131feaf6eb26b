/* A build's artifacts on the agent: downloaded from xecid into
 * WORKDIR/artifacts/BUILD/NAME, checked against the lease's sha256,
 * resumed with Range after an interrupted transfer (NAME.part), and kept
 * for the next job of the same build. */
#ifndef XECI_AGENT_ARTIFACTS_H
#define XECI_AGENT_ARTIFACTS_H

#include <stddef.h>

#include "client.h"
#include "job.h"

/* Fetches every artifact of the job into dir. XECI_EIO after the network
 * retries ran out or the stop flag was set; XECI_EINVALID when a file kept
 * coming with the wrong sha256. */
int xeci_artifacts_fetch(xeci_client *c, const xeci_job *j, const char *dir);

/* sha256 of a file as lower-case hex (out: 65 bytes). */
int xeci_artifacts_sha256_file(char out[65], const char *path);

#endif
