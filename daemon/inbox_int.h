/* Internals shared by the inbox fetchers (inbox_git.c, inbox_git_epochs.c,
 * inbox_gitstream.c). */
#ifndef XECI_INBOX_INT_H
#define XECI_INBOX_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "inbox.h"

/* The epoch numbers of the inbox at base (a directory, or an http(s) URL
 * when remote), ascending, into *epochs (free() it). */
int xeci_inbox_git_epochs(int **epochs, size_t *n, const char *base, bool remote);

/* Makes libgit2 use a TCP stream with connect and I/O timeouts (libgit2 1.5
 * has none). Call after git_libgit2_init. */
void xeci_inbox_gitstream_register(void);

#endif
