/* libFuzzer: the readers of daemon/gitconfig.c and daemon/gitdir.c on the
 * input. The config reader is checked against libgit2 itself: a file it
 * accepts must be one libgit2 reads, with the same entries in the same
 * order (abort otherwise); int and bool values likewise. The loose-ref,
 * packed-refs and loose-object parsers must not crash or leak, and a ref
 * they find must be one the text names. Seeds: xeci.conf, an epoch's config,
 * a packed-refs file, a loose object (any small file, e.g. the config, also
 * exercises the zlib path's refusals). */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "buf.h"
#include "gitconfig.h"
#include "gitdir.h"

static char path[64];

static void setup(void)
{
	if (path[0])
		return;
	git_libgit2_init();
	snprintf(path, sizeof(path), "/tmp/fuzz-gitlocal-%d.conf", (int)getpid());
}

static char *libgit2_entries(void)
{
	git_config *cfg;
	git_config_iterator *it;
	git_config_entry *e;
	xeci_buf b = XECI_BUF_INIT;
	if (git_config_open_ondisk(&cfg, path) < 0)
		return NULL;
	if (git_config_iterator_new(&it, cfg) < 0) {
		git_config_free(cfg);
		return NULL;
	}
	int rc;
	while ((rc = git_config_next(&e, it)) == 0)
		xeci_buf_printf(&b, "%s%c%s%c", e->name, e->value ? '=' : '!', e->value ? e->value : "", 0);
	git_config_iterator_free(it);
	git_config_free(cfg);
	if (rc != GIT_ITEROVER) {
		xeci_buf_free(&b);
		return NULL;
	}
	xeci_buf_putc(&b, 1);
	return xeci_buf_detach(&b);
}

static void check_config(const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	xeci_gitconfig *c;
	if (xeci_gitconfig_read(&c, path) == 0) {
		xeci_buf b = XECI_BUF_INIT;
		for (size_t i = 0; i < xeci_gitconfig_count(c); i++) {
			const xeci_gitconfig_entry *e = xeci_gitconfig_get(c, i);
			xeci_buf_printf(&b, "%s%c%s%c", e->name, e->value ? '=' : '!', e->value ? e->value : "", 0);
			int64_t x, y;
			int p, q;
			if (e->value && xeci_gitconfig_int64(&x, e->value) == 0 &&
			    (git_config_parse_int64(&y, e->value) < 0 || x != y))
				abort();
			if (xeci_gitconfig_bool(&p, e->value) == 0 &&
			    (git_config_parse_bool(&q, e->value) < 0 || p != q))
				abort();
		}
		xeci_buf_putc(&b, 1);
		char *theirs = libgit2_entries();
		if (!theirs || strlen(theirs) != strlen(b.ptr) || memcmp(theirs, b.ptr, b.len))
			abort(); /* accepted what libgit2 reads otherwise (or refuses) */
		free(theirs);
		xeci_buf_free(&b);
		xeci_gitconfig_free(c);
	}
}

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
	setup();
	if (size > (1 << 16))
		return 0;
	check_config(data, size);
	check_refs(data, size);
	check_loose(data, size);
	return 0;
}
