#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init: see xeci_sha256_hex */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

static void oom(size_t n)
{
	fprintf(stderr, "error: out of memory (%zu bytes)\n", n);
	abort();
}

void *xeci_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *xeci_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *xeci_realloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

char *xeci_strdup(const char *s)
{
	return xeci_strndup(s, strlen(s));
}

char *xeci_strndup(const char *s, size_t n)
{
	char *p = xeci_malloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int xeci_file_read(char **out, size_t *len, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return xeci_error_setc(XECI_EIO, "%s: %s", path, strerror(errno));
	size_t cap = 65536, n = 0;
	char *p = xeci_malloc(cap);
	for (;;) {
		if (cap - n < 65536) {
			cap *= 2;
			p = xeci_realloc(p, cap);
		}
		size_t r = fread(p + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	int err = ferror(f);
	fclose(f);
	if (err) {
		free(p);
		return xeci_error_setc(XECI_EIO, "%s: read error", path);
	}
	p[n] = '\0';
	*out = p;
	if (len)
		*len = n;
	return 0;
}

int xeci_file_write_atomic(const char *path, const void *data, size_t len)
{
	size_t plen = strlen(path);
	char *tmp = xeci_malloc(plen + 16);
	snprintf(tmp, plen + 16, "%s.tmp%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		int e = errno;
		free(tmp);
		return xeci_error_setc(XECI_EIO, "%s: %s", path, strerror(e));
	}
	const char *p = data;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			free(tmp);
			return xeci_error_setc(XECI_EIO, "%s: %s", path, strerror(e));
		}
		p += w;
		len -= (size_t)w;
	}
	fsync(fd);
	close(fd);
	int rc = rename(tmp, path);
	free(tmp);
	return rc ? xeci_error_setc(XECI_EIO, "%s: %s", path, strerror(errno)) : 0;
}

int xeci_mkdir_p(const char *path, unsigned mode)
{
	char *p = xeci_strdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) && errno != EEXIST) {
			int e = errno;
			free(p);
			return xeci_error_setc(XECI_EIO, "mkdir %s: %s", path, strerror(e));
		}
		*s = '/';
	}
	int rc = mkdir(p, mode) && errno != EEXIST;
	free(p);
	return rc ? xeci_error_setc(XECI_EIO, "mkdir %s: %s", path, strerror(errno)) : 0;
}

/* OpenSSL's low-level SHA-256, not EVP: the first EVP call of a process
 * initialises OpenSSL 3's providers and algorithm tables (and reads
 * openssl.cnf), ~2 ms, a sixth of a one-message `xeci ingest`; these
 * functions are the same code (SHA-NI when the CPU has it) without that.
 * They are deprecated in OpenSSL 3 but kept; build.c's EVP stays EVP. */
void xeci_sha256_hex(char out[65], const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256_CTX c;
	SHA256_Init(&c);
	SHA256_Update(&c, data, len);
	SHA256_Final(md, &c);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

int64_t xeci_time_now(void)
{
	return (int64_t)time(NULL);
}

uint64_t xeci_time_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t xeci_time_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void xeci_time_iso(char out[21], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm)) {
		snprintf(out, 21, "1970-01-01T00:00:00Z");
		return;
	}
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool xeci_str_startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool xeci_str_istartswith(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* Length of the well-formed UTF-8 sequence at p (Unicode table 3-7), 0 if
 * the byte there starts none. */
size_t xeci_utf8_len(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (left < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}
