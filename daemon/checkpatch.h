/* Reading what scripts/checkpatch.pl prints, with or without --strict and
 * --show-types (not --terse, not --emacs): its findings and the counts of
 * its "total:" lines.
 *
 * Every string handed out is valid UTF-8 without control characters (bytes
 * that are not are replaced by '?'), so it can go to JSON and SQLite as is. */
#ifndef XECI_CHECKPATCH_H
#define XECI_CHECKPATCH_H

#include <jansson.h>
#include <stddef.h>

typedef enum {
	XECI_CHECKPATCH_ERROR,
	XECI_CHECKPATCH_WARNING,
	XECI_CHECKPATCH_CHECK,
} xeci_checkpatch_kind;

typedef struct xeci_checkpatch_finding {
	xeci_checkpatch_kind kind;
	char *type;    /* "TRAILING_WHITESPACE" with --show-types, else NULL */
	char *message;
	char *file;    /* NULL when it names no file (commit message, whole patch) */
	int line;      /* line in file; 0 when none */
} xeci_checkpatch_finding;

typedef struct xeci_checkpatch_result {
	int errors, warnings, checks, lines; /* summed over the total: lines (one
	                                      * per patch checked); checks is 0
	                                      * without --strict */
	xeci_checkpatch_finding *findings;
	size_t nfindings;
} xeci_checkpatch_result;

/* Fails with XECI_EINVALID (out left empty) when there is no "total:" line,
 * or a finding follows the last one: checkpatch did not finish. */
int xeci_checkpatch_parse(xeci_checkpatch_result *out, const char *text, size_t len);
void xeci_checkpatch_result_clear(xeci_checkpatch_result *r);
/* {"errors", "warnings", "checks", "lines", "findings": [{"kind":
 *  "ERROR"|"WARNING"|"CHECK", "type", "message", "file", "line"}...]}
 * (type and file null when absent) */
json_t *xeci_checkpatch_to_json(const xeci_checkpatch_result *r);

#endif
