/* Internals of the apply stage shared by apply.c and apply_base.c. */
#ifndef XECI_APPLY_INT_H
#define XECI_APPLY_INT_H

#include <git2.h>
#include <stdbool.h>

#include "mail.h"

/* One file's pre-image at the series' first touch of it. */
typedef struct xeci_apply_preimage {
	char *path;
	bool absent;      /* the series creates it: absent from the base */
	git_oid blob;     /* prefix from the `index` line */
	uint16_t abbrev;  /* hex digits of blob that are known; 0: no index line */
} xeci_apply_preimage;

int xeci_apply_preimages(xeci_apply_preimage **out, size_t *nout, const xeci_mail *const *patches,
			 size_t n);
void xeci_apply_preimages_free(xeci_apply_preimage *p, size_t n);

/* Sets the thread's error from libgit2's last error: "what: message". */
int xeci_apply_git_error(int code, const char *what);

#endif
