/* WAL checkpoints of a bulk ingest, off the store thread. */
#ifndef XECI_INGEST_CKPT_H
#define XECI_INGEST_CKPT_H

#include "db.h"

typedef struct xeci_ingest_ckpt xeci_ingest_ckpt;

/* Takes over db's checkpoints: after a commit that leaves at least `pages`
 * frames in its WAL, a thread of its own, on a connection of its own (made
 * when first needed), runs a PASSIVE checkpoint, while db goes on writing.
 * db's autocheckpoint is off meanwhile. */
int xeci_ingest_ckpt_start(xeci_ingest_ckpt **out, xeci_db *db, int pages);

/* Checkpoints the thread has run so far (0: it was never needed). */
unsigned xeci_ingest_ckpt_runs(xeci_ingest_ckpt *c);

/* After the thread's last checkpoint, gives db its autocheckpoint back
 * (every autocheckpoint_pages) and frees c. NULL is a no-op. */
void xeci_ingest_ckpt_stop(xeci_ingest_ckpt *c, int autocheckpoint_pages);

#endif
