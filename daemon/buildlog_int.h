/* What the kbuild log parser (buildlog.c) and the base warnings map
 * (buildlog_base.c) share. Private to those two files. */
#ifndef XECI_BUILDLOG_INT_H
#define XECI_BUILDLOG_INT_H

#include <stdbool.h>

#include <jansson.h>

#include "buildlog.h"

/* "warning" or "error". */
const char *xeci_diag_kind_name(xeci_diag_kind k);
/* The diagnostic as JSON; the base map stores it without "unit" (there it
 * is the key). */
json_t *xeci_diag_json(const xeci_diag *d, bool with_unit);
void xeci_diag_list_push(xeci_diag_list *list, const xeci_diag *d);

#endif
