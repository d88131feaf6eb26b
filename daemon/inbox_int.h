/* Internals shared by the inbox fetchers (inbox_git.c, inbox_gitstream.c). */
#ifndef XECI_INBOX_INT_H
#define XECI_INBOX_INT_H

#include "inbox.h"

/* Makes libgit2 use a TCP stream with connect and I/O timeouts (libgit2 1.5
 * has none). Call after git_libgit2_init. */
void xeci_inbox_gitstream_register(void);

#endif
