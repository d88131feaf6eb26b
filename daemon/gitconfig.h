/* A reader of git-config files for the plain files xeci meets (xeci.conf,
 * an epoch's config and the all.git/config it includes), without libgit2.
 *
 * Why: libgit2 1.5 cannot be used before git_libgit2_init, and Debian's
 * build parses the whole system CA bundle there (mbedTLS): ~5-15 ms, a
 * third of a one-message `xeci ingest`. Reading a configuration file needs
 * none of that.
 *
 * One meaning: this reader gives, for the files it accepts, exactly the
 * entries that git_config_open_ondisk + a git_config_iterator list (names
 * with section and key lower-cased, subsection as written, values as
 * libgit2 unquotes them, file order, includes expanded in place). It
 * accepts a strict subset of the syntax; anything else (quotes and
 * backslashes in values, legacy [a.b] subsections, includeIf, "~/" include
 * paths, CR, NUL, a BOM, a syntax error...) is XECI_EINVALID and the caller
 * asks libgit2, which gives its own result or error. tests/fuzz/
 * fuzz_gitconfig.c checks the promise against libgit2. */
#ifndef XECI_GITCONFIG_H
#define XECI_GITCONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef struct xeci_gitconfig_entry {
	char *name;  /* "section.key" or "section.subsection.key" */
	char *value; /* NULL for a key without '=' (as libgit2 gives it) */
} xeci_gitconfig_entry;

typedef struct xeci_gitconfig xeci_gitconfig;

/* Parses text (len bytes) read from path (includes are relative to its
 * directory). 0 with *out; XECI_EINVALID: outside the subset (libgit2's). */
int xeci_gitconfig_parse(xeci_gitconfig **out, const char *text, size_t len, const char *path);

/* Reads and parses the file at path. XECI_ENOTFOUND: no such file. */
int xeci_gitconfig_read(xeci_gitconfig **out, const char *path);

void xeci_gitconfig_free(xeci_gitconfig *c);

size_t xeci_gitconfig_count(const xeci_gitconfig *c);
const xeci_gitconfig_entry *xeci_gitconfig_get(const xeci_gitconfig *c, size_t i);

/* git_config_parse_int64 and git_config_parse_bool for plain values
 * (decimal digits without a leading zero; true/false/yes/no/on/off in any
 * case, ""): 0 with the result. XECI_EINVALID for anything else, where
 * libgit2 must decide (suffixes, hex, octal, signs, errors). */
int xeci_gitconfig_int64(int64_t *out, const char *value);
int xeci_gitconfig_bool(int *out, const char *value);

#endif
