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
 * length. The message starts with its mbox "From " line, as mailsplit writes
 * it (xeci_mail_parse reads that line as `git mailinfo` does: as a header
 * that means nothing). Returns 0, XECI_ITEROVER at the end (also for an
 * empty or all-blank input), or a negative error. */
int xeci_mbox_next(const char **msg, size_t *len, xeci_mbox *mb);
void xeci_mbox_free(xeci_mbox *mb);

/* The message files of a Maildir (cur/ and new/; a missing one is empty),
 * sorted by file name; free with xeci_maildir_list_free. */
int xeci_maildir_list(char ***paths, size_t *n, const char *dir);
void xeci_maildir_list_free(char **paths, size_t n);

#endif
