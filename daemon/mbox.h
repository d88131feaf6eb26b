/* Splitting mbox files as `git mailsplit` does (mboxo by default, mboxrd on
 * request: ">From " unquoting), streaming so that a large mbox is never
 * loaded whole. A file that does not start with a "From " line is one
 * message. Also a Maildir reader (cur/ and new/, in name order). */
#ifndef XECI_MBOX_H
#define XECI_MBOX_H

#include <stdbool.h>
#include <stddef.h>

typedef struct xeci_mbox xeci_mbox;

enum { XECI_MBOX_RD = 1 << 0 /* mboxrd: unquote ">>From " lines */ };

int xeci_mbox_open(xeci_mbox **out, const char *path, unsigned flags);
/* Same on a memory buffer (not copied: it must outlive the reader). */
int xeci_mbox_open_buffer(xeci_mbox **out, const char *data, size_t len, unsigned flags);
/* Next message: *msg (owned by the reader, valid until the next call) and its
 * length. Returns 0, XECI_ITEROVER at the end, or a negative error. */
int xeci_mbox_next(const char **msg, size_t *len, xeci_mbox *mb);
void xeci_mbox_free(xeci_mbox *mb);

#endif
