/* A reader of local git packs (pack v2/v3 with an idx v2), for the inbox
 * walk: it reads each object once, in history order, and libgit2 1.5 redoes
 * a whole delta chain for every object (its cache keeps only the bottom base
 * of a chain), so a blob at depth d of a fast-import pack cost d delta
 * applications. This reader keeps every object it builds, bases and results,
 * in a cache keyed by pack offset: reading a chain in order costs one delta
 * per object.
 *
 * Packs are untrusted (a remote mirror's): every length and offset is
 * checked, and a corrupt pack gives an error naming the object, never a
 * crash. What it does not handle (loose objects, alternates, idx v1, a
 * REF_DELTA whose base is in another pack) is XECI_ENOTFOUND: the caller
 * asks libgit2 then. */
#ifndef XECI_PACK_READ_H
#define XECI_PACK_READ_H

#include <stddef.h>
#include <stdint.h>

#define XECI_PACK_OID_RAWSZ 20

/* git's object types, as in a pack entry header */
enum {
	XECI_PACK_COMMIT = 1,
	XECI_PACK_TREE = 2,
	XECI_PACK_BLOB = 3,
	XECI_PACK_TAG = 4,
};

typedef struct xeci_packs xeci_packs;

/* Opens every objects/pack/pack-*.idx (with its .pack) of the bare
 * repository at git_dir. A repository without packs opens (every read is
 * then XECI_ENOTFOUND); an idx or pack that cannot be used is skipped. */
int xeci_packs_open(xeci_packs **out, const char *git_dir);

/* One pack from two open descriptors (taken: closed by xeci_packs_free,
 * also on failure), for tests and the fuzzer. */
int xeci_packs_open_fds(xeci_packs **out, int idx_fd, int pack_fd);

void xeci_packs_free(xeci_packs *p);

/* Reads object oid (20 raw bytes): *data (malloc'd, NUL-terminated beyond
 * *len; caller frees), *len and *type. XECI_ENOTFOUND: not in these packs
 * (or in a form this reader leaves to libgit2); XECI_EINVALID: the pack is
 * corrupt (the error names the object); XECI_EIO: a read failed. */
int xeci_packs_read(char **data, size_t *len, int *type, xeci_packs *p, const unsigned char *oid);

/* The number of objects of the idx files, and the i-th oid (in idx order),
 * to visit every object (tests, fuzzer). */
size_t xeci_packs_count(const xeci_packs *p);
const unsigned char *xeci_packs_oid(const xeci_packs *p, size_t i);

/* The i-th object's (idx order) entry, from its header only: *type as
 * stored (an XECI_PACK_* type, or 6 and 7 for deltas) and *offset in its
 * pack (objects of one pack only compare). */
int xeci_packs_entry(int *type, uint64_t *offset, xeci_packs *p, size_t i);

#endif
