/* Small helpers: allocation that aborts on exhaustion, files, hashes, time. */
#ifndef XECI_UTIL_H
#define XECI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *xeci_malloc(size_t n);
void *xeci_calloc(size_t n, size_t size);
void *xeci_realloc(void *p, size_t n);
char *xeci_strdup(const char *s);
char *xeci_strndup(const char *s, size_t n);

/* Reads a whole file; *out is NUL-terminated (free() it). */
int xeci_file_read(char **out, size_t *len, const char *path);
/* Writes atomically: a temporary file beside `path`, fsync, rename. */
int xeci_file_write_atomic(const char *path, const void *data, size_t len);
/* mkdir -p */
int xeci_mkdir_p(const char *path, unsigned mode);

/* Lower-case hex sha256 of data: out must hold 65 bytes. */
void xeci_sha256_hex(char out[65], const void *data, size_t len);

/* Seconds since the epoch (wall clock) and a monotonic clock in ms. */
int64_t xeci_time_now(void);
uint64_t xeci_time_ms(void);
/* Milliseconds since the epoch (wall clock): for deadlines kept in the database. */
uint64_t xeci_time_wall_ms(void);
/* ISO 8601 UTC, "2026-11-25T15:37:28Z"; out must hold 21 bytes. */
void xeci_time_iso(char out[21], int64_t t);

bool xeci_str_startswith(const char *s, const char *prefix);
/* Bytes of the well-formed UTF-8 sequence at p (Unicode table 3-7) within
 * left bytes, 0 when none starts there. */
size_t xeci_utf8_len(const unsigned char *p, size_t left);
bool xeci_str_istartswith(const char *s, const char *prefix);

#endif
