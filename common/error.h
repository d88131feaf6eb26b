/* Error convention (as libgit2): functions that can fail return int, 0 on
 * success and a negative XECI_E* code on failure; the text of the last error
 * is kept per thread for the caller to log. */
#ifndef XECI_ERROR_H
#define XECI_ERROR_H

enum {
	XECI_OK = 0,
	XECI_ERROR = -1,     /* generic failure */
	XECI_EINVALID = -2,  /* malformed input */
	XECI_ENOTFOUND = -3, /* no such object */
	XECI_EEXISTS = -4,   /* already there */
	XECI_ETOOBIG = -5,   /* over a configured limit */
	XECI_EIO = -6,       /* file, network or database I/O */
	XECI_ESTALE = -7,    /* a lease (fencing token) that is no longer current */
	XECI_ITEROVER = -31, /* iteration is over (not an error) */
};

/* Sets the calling thread's last error text (printf-style); returns XECI_ERROR
 * so a caller can write `return xeci_error_set(...)`. */
int xeci_error_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, returning `code`. */
int xeci_error_setc(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The calling thread's last error text ("" when none). */
const char *xeci_error_last(void);
void xeci_error_clear(void);

#endif
