/* libFuzzer: the readers of daemon/gitdir.c on the input. The loose-ref,
 * packed-refs and loose-object parsers must not crash or leak, and a ref
 * they find must be one the text names. Seeds: a packed-refs file, a loose
 * object (any small file also exercises the zlib path's refusals). */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "gitdir.h"

static void check_refs(const uint8_t *data, size_t size)
{
	unsigned char oid[XECI_GITDIR_OID_RAWSZ];
	xeci_gitdir_loose_parse(oid, (const char *)data, size);
	/* the refname: the input's last line, when short */
	const char *name = "refs/heads/master";
	char buf[128];
	const uint8_t *nl = size ? memrchr(data, '\n', size - 1) : NULL;
	if (nl && (size_t)(data + size - nl) < sizeof(buf)) {
		memcpy(buf, nl + 1, (size_t)(data + size - nl - 1));
		buf[data + size - nl - 1] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		name = buf;
	}
	if (xeci_gitdir_packed_find(oid, (const char *)data, size, name) == 0 &&
	    !memmem(data, size, name, strlen(name)))
		abort();
}

static void check_loose(const uint8_t *data, size_t size)
{
	char *obj;
	size_t len;
	int type;
	if (xeci_gitdir_loose_inflate(&obj, &len, &type, data, size) == 0) {
		if (obj[len] != '\0' || type < 1 || type > 4)
			abort();
		free(obj);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1 << 16))
		return 0;
	check_refs(data, size);
	check_loose(data, size);
	return 0;
}
