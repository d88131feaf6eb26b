/* libFuzzer: the pack reader on an idx and a pack from the input (4 bytes
 * of idx length, big-endian, then the idx, then the pack), both in memory
 * files; every object the idx lists is read. Seeds: a small repository's
 * idx and pack joined that way, e.g.
 *   { printf "%08x" $(stat -c %s P.idx) | xxd -r -p; cat P.idx P.pack; } > seed */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pack_read.h"

#define MAX_OBJECTS 256

static int memfile(const uint8_t *data, size_t len)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	size_t ilen = (size_t)data[0] << 24 | (size_t)data[1] << 16 | (size_t)data[2] << 8 | data[3];
	if (ilen > size - 4)
		return 0;
	xeci_packs *p;
	if (xeci_packs_open_fds(&p, memfile(data + 4, ilen), memfile(data + 4 + ilen, size - 4 - ilen)) < 0)
		return 0;
	size_t n = xeci_packs_count(p);
	for (size_t i = 0; i < n && i < MAX_OBJECTS; i++) {
		char *obj;
		size_t len;
		int type;
		if (xeci_packs_read(&obj, &len, &type, p, xeci_packs_oid(p, i)) == 0)
			free(obj);
	}
	xeci_packs_free(p);
	return 0;
}
