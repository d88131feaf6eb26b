/* Kernel trees: a bare mirror of each [tree "NAME"] under DATA/trees/NAME.git,
 * kept with libgit2, that series are applied on. The functions block
 * (network, disk): the daemon calls them on its thread pool. */
#ifndef XECI_TREE_H
#define XECI_TREE_H

#include <git2.h>

#include "config.h"

/* DATA_DIR/trees/NAME.git (caller frees). */
char *xeci_tree_mirror_path(const xeci_config_tree *t, const char *data_dir);

/* Creates the mirror the first time, then fetches every branch
 * (refs/heads/ to refs/heads/, forced) from t->url, a local path, file:// or
 * http(s):// URL, with the connect and I/O timeouts of the inbox fetches.
 * Fails, naming it, when t->branch is not among the fetched branches. */
int xeci_tree_mirror_sync(const xeci_config_tree *t, const char *data_dir);

/* The commit t->branch points to in the mirror (as of the last sync). */
int xeci_tree_head(git_oid *out, const xeci_config_tree *t, const char *data_dir);

#endif
