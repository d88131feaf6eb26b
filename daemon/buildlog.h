/* Reading what a kernel build prints (checkpatch's output: checkpatch.h).
 *
 *  - xeci_buildlog_parse: a kbuild log (quiet mode, `make O=... bzImage
 *    modules`, stdout and stderr merged, possibly cut off, possibly holding
 *    any bytes since the code built is untrusted) gives the files compiled
 *    (the `  CC [M]  x.o` lines) and the diagnostics of gcc, clang, ld,
 *    objtool and modpost.
 *  - xeci_buildlog_base: the warnings of the base commit, per compiled file,
 *    kept up to date across incremental builds in one build directory and
 *    persisted as JSON; xeci_buildlog_new_warnings compares a patched build
 *    with it.
 *
 * Every string handed out is valid UTF-8 without control characters (bytes
 * that are not are replaced by '?'), so it can go to JSON and SQLite as is. */
#ifndef XECI_BUILDLOG_H
#define XECI_BUILDLOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum { XECI_DIAG_WARNING, XECI_DIAG_ERROR } xeci_diag_kind;

/* One warning or error. Its identity across builds is (file, kind, message):
 * line and column are left out because a patch shifts lines. */
typedef struct xeci_diag {
	xeci_diag_kind kind;   /* "fatal error" is an error; notes are not kept */
	char *file;            /* source-relative ("drivers/gpu/drm/xe/xe_bo.c"); a
	                        * module for modpost ("drivers/gpu/drm/xe/xe",
	                        * "vmlinux"); "" for a tool (ld:, cc1:) */
	int line, col;         /* 0 when not printed */
	char *message;         /* as printed, " [-Wflag]" kept */
	char *unit;            /* the source file being compiled when it was
	                        * printed (a header's warning belongs to the .c that
	                        * included it); "" when unknown or the link stage */
} xeci_diag;

/* A file compiled: `  CC [M]  drivers/gpu/drm/xe/xe_bo.o`. */
typedef struct xeci_buildlog_unit {
	char *object; /* "drivers/gpu/drm/xe/xe_bo.o", as kbuild prints it */
	char *source; /* "drivers/gpu/drm/xe/xe_bo.c", as the compiler names it */
	bool module;  /* [M] */
} xeci_buildlog_unit;

typedef struct xeci_buildlog xeci_buildlog;

/* Parses a whole log (text need not be NUL-terminated). src_root (may be
 * NULL) is stripped from the front of the paths the compiler prints, as is
 * a leading "./": with O= builds gcc names "/abs/src/drivers/x.c" or
 * "../src/drivers/x.c". Fails only on a NULL argument: any bytes parse. */
int xeci_buildlog_parse(xeci_buildlog **out, const char *text, size_t len, const char *src_root);
void xeci_buildlog_free(xeci_buildlog *log);

/* Files compiled, in log order; the count is the build's progress figure. */
size_t xeci_buildlog_unit_count(const xeci_buildlog *log);
const xeci_buildlog_unit *xeci_buildlog_unit_get(const xeci_buildlog *log, size_t i);
/* Warnings and errors, in log order. */
size_t xeci_buildlog_diag_count(const xeci_buildlog *log);
const xeci_diag *xeci_buildlog_diag_get(const xeci_buildlog *log, size_t i);
/* The first error (compiler, linker or modpost), the reason to name for a
 * failed build; NULL when the log has none. */
const xeci_diag *xeci_buildlog_first_error(const xeci_buildlog *log);
/* True when the log shows modpost ran (`  MODPOST Module.symvers`): the
 * link stage was reached and its messages are all in this log. */
bool xeci_buildlog_linked(const xeci_buildlog *log);

/* "drivers/x.c:12: error: 'foo' undeclared" (the parts that are empty or 0
 * are left out). Caller frees. */
char *xeci_diag_format(const xeci_diag *d);
/* {"unit", "file", "line", "col", "kind": "warning"|"error", "message"} */
json_t *xeci_diag_to_json(const xeci_diag *d);
/* {"units": [{"object", "source", "module"}...], "diagnostics": [...],
 *  "linked": bool} */
json_t *xeci_buildlog_to_json(const xeci_buildlog *log);

/* Borrowed pointers into a log: valid while the log lives. */
typedef struct xeci_diag_list {
	const xeci_diag **items;
	size_t count;
} xeci_diag_list;

void xeci_diag_list_clear(xeci_diag_list *list);
/* Every error of the log, in order. */
int xeci_buildlog_errors(xeci_diag_list *out, const xeci_buildlog *log);

/* The base's diagnostics, keyed by compiled file ("unit").
 *
 * Update rule: for every unit compiled in a log (a CC line, or diagnostics
 * attributed to it), the unit's entry becomes exactly what the log printed
 * while compiling it, its headers' warnings included; a unit compiled
 * without diagnostics loses its entry; units not compiled keep theirs. A
 * header's warning is therefore replaced exactly when a file that reported
 * it is recompiled, and it stays as long as one unit still reports it.
 *
 * The "" entry holds what no unit can be blamed for (modpost, ld, cc1:,
 * a header's warning whose include chain was not seen): it is replaced
 * when the log shows modpost ran (modpost checks every module each time),
 * else the log's new ones are added to it. */
typedef struct xeci_buildlog_base xeci_buildlog_base;

int xeci_buildlog_base_new(xeci_buildlog_base **out);
void xeci_buildlog_base_free(xeci_buildlog_base *base);
int xeci_buildlog_base_update(xeci_buildlog_base *base, const xeci_buildlog *log);
/* A missing file is an empty map; an unreadable one fails with XECI_EIO, a
 * malformed one with XECI_EINVALID. */
int xeci_buildlog_base_load(xeci_buildlog_base **out, const char *path);
/* Written to a temporary file beside path, then renamed over it. */
int xeci_buildlog_base_save(const xeci_buildlog_base *base, const char *path);
/* {"version": 1, "units": {"drivers/x.c": [{"file", "line", "col", "kind",
 *  "message"}...], ...}} (a new reference; the format save writes) */
json_t *xeci_buildlog_base_to_json(const xeci_buildlog_base *base);
int xeci_buildlog_base_from_json(xeci_buildlog_base **out, const json_t *json);

/* The warnings of a patched build's log that the base does not have, in log
 * order. Counting is per unit: an identity's count in a file is the largest
 * number of times one unit reports it (a header's warning is printed once
 * by every unit including it, and an incremental build recompiles a varying
 * number of them); in the "" entry each identity counts once. When the
 * patched build has an identity more times than the base, the occurrences
 * past the base's count are the new ones (which of two identical warnings
 * is "the new one" cannot be known: the later ones are named). */
int xeci_buildlog_new_warnings(xeci_diag_list *out, const xeci_buildlog_base *base,
			       const xeci_buildlog *patched);

#endif
