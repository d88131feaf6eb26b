/* A local bare repository read without libgit2: whether libgit2 would open
 * it as is, and its refs (loose, then packed-refs). With pack_read.h, this
 * is what walking an epoch needs, so that `xeci ingest` of a local inbox
 * never opens a libgit2 repository (an object database and refdb for one
 * new message).
 *
 * One meaning: for what these functions accept, the answer is libgit2's;
 * anything else is XECI_EINVALID ("ask libgit2"), never a guess. */
#ifndef XECI_GITDIR_H
#define XECI_GITDIR_H

#include <stddef.h>

#define XECI_GITDIR_OID_RAWSZ 20

/* 0 when git_dir is a bare repository that libgit2 1.5 opens as it is and
 * whose refs and objects read the same with this reader and pack_read.h:
 * a directory owned by this user holding HEAD, objects/ and refs/, no
 * commondir, a config (includes followed) with repositoryformatversion 0
 * and no extensions. XECI_EINVALID otherwise: use libgit2. What is not
 * checked: the global and system git configs (they cannot change how a
 * format-0 repository reads). */
int xeci_gitdir_check(const char *git_dir);

/* The object id a ref names: 0 with oid set; XECI_ENOTFOUND when the ref
 * is neither a loose ref nor in packed-refs (libgit2: GIT_ENOTFOUND);
 * XECI_EINVALID for what is left to libgit2 (a symbolic ref, a malformed
 * or unreadable file, a name that is not refs/...). */
int xeci_gitdir_ref(unsigned char oid[XECI_GITDIR_OID_RAWSZ], const char *git_dir, const char *refname);

/* The same for the contents of a loose ref file and of a packed-refs file,
 * for tests and the fuzzer. */
int xeci_gitdir_loose_parse(unsigned char oid[XECI_GITDIR_OID_RAWSZ], const char *text, size_t len);
int xeci_gitdir_packed_find(unsigned char oid[XECI_GITDIR_OID_RAWSZ], const char *text, size_t len,
			    const char *refname);

/* A loose object, objects/xx/yyyy...: 0 with *data (malloc'd,
 * NUL-terminated beyond *len; caller frees), *len and *type (a
 * XECI_PACK_* type, pack_read.h); XECI_ENOTFOUND: no such file (it may be
 * in a pack, or an alternate: libgit2's); XECI_EINVALID: a form or a
 * corruption left to libgit2 (its error names it). The object id is not
 * verified, as the inbox walk runs libgit2 (GIT_OPT_ENABLE_STRICT_HASH_
 * VERIFICATION off). */
int xeci_gitdir_loose_read(char **data, size_t *len, int *type, const char *git_dir,
			   const unsigned char oid[XECI_GITDIR_OID_RAWSZ]);

/* The same on the file's contents (zlib), for tests and the fuzzer. */
int xeci_gitdir_loose_inflate(char **data, size_t *len, int *type, const unsigned char *z, size_t zlen);

/* 40 hex digits (either case) into 20 bytes; -1 when not that. */
int xeci_gitdir_oid_fromhex(unsigned char oid[XECI_GITDIR_OID_RAWSZ], const char *hex);

#endif
