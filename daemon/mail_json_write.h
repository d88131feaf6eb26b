/* The stored JSON text of a parsed mail, written without building a jansson
 * tree: byte for byte json_dumps(xeci_mail_to_json(m), JSON_COMPACT). */
#ifndef XECI_MAIL_JSON_WRITE_H
#define XECI_MAIL_JSON_WRITE_H

#include "mail.h"

/* malloc'd; the caller frees it. */
char *xeci_mail_json_text(const xeci_mail *m);

#endif
