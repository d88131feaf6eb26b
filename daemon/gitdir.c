/* Bare repositories without libgit2 (see gitdir.h). The rules are libgit2
 * 1.5's (repository.c: is_valid_repository_path, validate_ownership,
 * check_repositoryformat; refdb_fs.c: loose_lookup, loose_parse_oid,
 * packed_reload) narrowed to what git itself writes; the rest is left to
 * libgit2. */
#define _GNU_SOURCE /* memmem */
#include "gitdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include <git2.h>

#include "buf.h"
#include "error.h"
#include "pack_read.h"
#include "util.h"

#define READ_MAX ((size_t)64 << 20)
#define LOOSE_MAX ((size_t)512 << 20) /* larger objects are left to libgit2 */
#define LOOSE_HEADER_MAX 64

static int ask_libgit2(void)
{
	return XECI_EINVALID;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int xeci_gitdir_oid_fromhex(unsigned char oid[XECI_GITDIR_OID_RAWSZ], const char *hex)
{
	for (int i = 0; i < XECI_GITDIR_OID_RAWSZ; i++) {
		int hi = hexval(hex[2 * i]), lo = hi < 0 ? -1 : hexval(hex[2 * i + 1]);
		if (lo < 0)
			return -1;
		oid[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static bool is_dir(const char *path, const char *sub, bool want_dir)
{
	xeci_buf p = XECI_BUF_INIT;
	struct stat st;
	xeci_buf_printf(&p, "%s/%s", path, sub);
	bool ok = stat(p.ptr, &st) == 0 && (want_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
	xeci_buf_free(&p);
	return ok;
}

static bool absent(const char *path, const char *sub)
{
	xeci_buf p = XECI_BUF_INIT;
	struct stat st;
	xeci_buf_printf(&p, "%s/%s", path, sub);
	bool gone = lstat(p.ptr, &st) < 0 && errno == ENOENT;
	xeci_buf_free(&p);
	return gone;
}

/* The repository's own config, read with libgit2's config API: format
 * version 0 (or none), no extensions. Opening a config file is not opening
 * a repository (no object database, no refdb); the callers hold libgit2
 * initialised (xecid, `xeci ingest`), so the init here only counts. */
static int check_config(const char *git_dir)
{
	xeci_buf p = XECI_BUF_INIT;
	struct stat st;
	git_config *c = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *e;
	int32_t version = 0;
	xeci_buf_printf(&p, "%s/config", git_dir);
	if (stat(p.ptr, &st) < 0 && errno == ENOENT) {
		xeci_buf_free(&p);
		return 0; /* libgit2 opens a repository without a config */
	}
	git_libgit2_init();
	int rc = git_config_open_ondisk(&c, p.ptr) < 0 ? ask_libgit2() : 0;
	if (rc == 0) {
		int g = git_config_get_int32(&version, c, "core.repositoryformatversion");
		if ((g < 0 && g != GIT_ENOTFOUND) || version != 0)
			rc = ask_libgit2();
	}
	/* not git_config_iterator_glob_new: libgit2 1.5's regex path leaks
	 * pcre2 match data (LeakSanitizer) */
	if (rc == 0 && git_config_iterator_new(&it, c) < 0)
		rc = ask_libgit2();
	while (rc == 0 && git_config_next(&e, it) == 0)
		if (xeci_str_startswith(e->name, "extensions."))
			rc = ask_libgit2(); /* an extension: libgit2 decides */
	git_config_iterator_free(it);
	git_config_free(c);
	git_libgit2_shutdown();
	xeci_buf_free(&p);
	return rc;
}

int xeci_gitdir_check(const char *git_dir)
{
	struct stat st;
	/* libgit2 refuses a repository of another user (safe.directory aside) */
	if (stat(git_dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return ask_libgit2();
	if (!is_dir(git_dir, "HEAD", false) || !is_dir(git_dir, "objects", true) ||
	    !is_dir(git_dir, "refs", true) || !absent(git_dir, "commondir"))
		return ask_libgit2();
	return check_config(git_dir);
}

/* "refs/..." made of plain path components. */
static bool refname_plain(const char *name)
{
	if (!xeci_str_startswith(name, "refs/") || strstr(name, "..") || strstr(name, "//") ||
	    strstr(name, "/.") || strstr(name, ".lock"))
		return false;
	size_t n = strlen(name);
	if (name[n - 1] == '/' || name[n - 1] == '.')
		return false;
	for (const char *p = name; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

int xeci_gitdir_loose_parse(unsigned char oid[XECI_GITDIR_OID_RAWSZ], const char *text, size_t len)
{
	/* what git writes: the id and a newline; "ref: " (symbolic) and the
	 * rest are libgit2's */
	if ((len != 40 && !(len == 41 && text[40] == '\n')) || xeci_gitdir_oid_fromhex(oid, text) < 0)
		return ask_libgit2();
	return 0;
}

static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl;
}

/* One "<hex> <name>\n" line, then optional "^<hex>\n" (peeled) lines are
 * skipped. false when the file is not exactly as git writes it. */
int xeci_gitdir_packed_find(unsigned char oid[XECI_GITDIR_OID_RAWSZ], const char *text, size_t len,
			    const char *refname)
{
	const char *p = text, *end = text + len, *nl;
	size_t rlen = strlen(refname);
	bool found = false, peel_ok = false, sorted = false;
	const char *prev = NULL;
	size_t prevlen = 0;
	unsigned char o[XECI_GITDIR_OID_RAWSZ];
	if (memchr(text, '\0', len) || memchr(text, '\r', len))
		return ask_libgit2();
	/* comments only at the top, the first of them the traits header */
	while (p < end && *p == '#') {
		if (!(nl = line_end(p, end)))
			return ask_libgit2();
		static const char traits[] = "# pack-refs with: ";
		size_t l = (size_t)(nl - p);
		if (p == text && l >= sizeof(traits) - 1 && !memcmp(p, traits, sizeof(traits) - 1) &&
		    memmem(p, l, " sorted ", 8))
			sorted = true;
		p = nl + 1;
	}
	while (p < end) {
		if (!(nl = line_end(p, end)))
			return ask_libgit2(); /* no final newline */
		size_t l = (size_t)(nl - p);
		if (*p == '^') {
			if (!peel_ok || l != 41 || xeci_gitdir_oid_fromhex(o, p + 1) < 0)
				return ask_libgit2();
			peel_ok = false;
		} else {
			if (l < 42 || p[40] != ' ' || xeci_gitdir_oid_fromhex(o, p) < 0)
				return ask_libgit2();
			/* a file that says it is sorted may be binary-searched:
			 * the answer is the same only when it is */
			size_t nlen = l - 41;
			if (sorted && prev) {
				int c = memcmp(prev, p + 41, prevlen < nlen ? prevlen : nlen);
				if (c > 0 || (c == 0 && prevlen >= nlen))
					return ask_libgit2();
			}
			prev = p + 41;
			prevlen = nlen;
			bool match = nlen == rlen && !memcmp(p + 41, refname, rlen);
			if (match && found)
				return ask_libgit2(); /* listed twice */
			if (match) {
				memcpy(oid, o, sizeof(o));
				found = true;
			}
			peel_ok = true;
		}
		p = nl + 1;
	}
	return found ? 0 : XECI_ENOTFOUND;
}

/* The whole file: 0; XECI_ENOTFOUND when it does not exist; else -1. */
static int slurp(xeci_buf *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? XECI_ENOTFOUND : -1;
	struct stat st;
	int rc = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= READ_MAX ? 0 : -1;
	while (rc == 0) {
		xeci_buf_grow(b, 4096);
		ssize_t r = read(fd, b->ptr + b->len, 4096);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r == 0 ? 0 : -1;
			break;
		}
		if (b->len + (size_t)r > READ_MAX)
			rc = -1;
		b->len += (size_t)r;
	}
	close(fd);
	return rc;
}

int xeci_gitdir_ref(unsigned char oid[XECI_GITDIR_OID_RAWSZ], const char *git_dir, const char *refname)
{
	xeci_buf path = XECI_BUF_INIT, text = XECI_BUF_INIT;
	if (!refname_plain(refname))
		return ask_libgit2();
	/* a loose ref wins over packed-refs, as in git */
	xeci_buf_printf(&path, "%s/%s", git_dir, refname);
	int rc = slurp(&text, path.ptr);
	if (rc == 0)
		rc = xeci_gitdir_loose_parse(oid, text.ptr ? text.ptr : "", text.len);
	else if (rc == XECI_ENOTFOUND) {
		xeci_buf_clear(&path);
		xeci_buf_clear(&text);
		xeci_buf_printf(&path, "%s/packed-refs", git_dir);
		rc = slurp(&text, path.ptr);
		if (rc == 0)
			rc = xeci_gitdir_packed_find(oid, text.ptr ? text.ptr : "", text.len, refname);
		else if (rc != XECI_ENOTFOUND)
			rc = ask_libgit2();
	} else {
		rc = ask_libgit2();
	}
	xeci_buf_free(&path);
	xeci_buf_free(&text);
	return rc;
}

/* --- loose objects ------------------------------------------------------- */

/* "<type> <size>\0": the type and size, or -1. */
static int loose_header(int *type, size_t *size, const unsigned char *h, size_t n)
{
	static const struct {
		const char *name;
		int type;
	} types[] = {{"commit", XECI_PACK_COMMIT}, {"tree", XECI_PACK_TREE}, {"blob", XECI_PACK_BLOB},
		     {"tag", XECI_PACK_TAG}};
	const unsigned char *sp = memchr(h, ' ', n), *nul = memchr(h, '\0', n);
	if (!sp || !nul || nul < sp + 2)
		return -1;
	*type = 0;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if ((size_t)(sp - h) == strlen(types[i].name) && !memcmp(h, types[i].name, (size_t)(sp - h)))
			*type = types[i].type;
	if (!*type || (sp[1] == '0' && nul > sp + 2))
		return -1;
	size_t v = 0;
	for (const unsigned char *p = sp + 1; p < nul; p++) {
		if (*p < '0' || *p > '9' || v > LOOSE_MAX)
			return -1;
		v = v * 10 + (size_t)(*p - '0');
	}
	if (v > LOOSE_MAX)
		return -1;
	*size = v;
	return (int)(nul - h + 1);
}

int xeci_gitdir_loose_inflate(char **data, size_t *len, int *type, const unsigned char *z, size_t zlen)
{
	unsigned char head[LOOSE_HEADER_MAX];
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	/* a zlib stream (git's format), not the old pack-like one */
	if (zlen < 2 || (z[0] & 0x8f) != 0x08 || ((z[0] << 8) | z[1]) % 31 || inflateInit(&zs) != Z_OK)
		return ask_libgit2();
	zs.next_in = (unsigned char *)z;
	zs.avail_in = (uInt)(zlen > UINT32_MAX ? UINT32_MAX : zlen);
	zs.next_out = head;
	zs.avail_out = sizeof(head);
	int zr = inflate(&zs, Z_NO_FLUSH);
	size_t got = sizeof(head) - zs.avail_out, size;
	int hlen = (zr == Z_OK || zr == Z_STREAM_END) ? loose_header(type, &size, head, got) : -1;
	char *out = NULL;
	if (hlen > 0) {
		out = xeci_malloc(size + 1);
		size_t have = got - (size_t)hlen;
		if (have > size)
			hlen = -1;
		else {
			memcpy(out, head + hlen, have);
			zs.next_out = (unsigned char *)out + have;
			zs.avail_out = (uInt)(size - have);
			while (zr == Z_OK && zs.avail_out)
				zr = inflate(&zs, Z_NO_FLUSH);
			/* exactly size bytes, then the stream's end, then nothing */
			if (zr == Z_OK && !zs.avail_out) {
				unsigned char extra;
				zs.next_out = &extra;
				zs.avail_out = 1;
				zr = inflate(&zs, Z_NO_FLUSH);
				if (zs.avail_out == 0)
					zr = Z_DATA_ERROR;
			}
			if (zr != Z_STREAM_END || zs.avail_out || zs.avail_in || zs.total_in != zlen)
				hlen = -1;
		}
	}
	inflateEnd(&zs);
	if (hlen <= 0) {
		free(out);
		return ask_libgit2();
	}
	out[size] = '\0';
	*data = out;
	*len = size;
	return 0;
}

int xeci_gitdir_loose_read(char **data, size_t *len, int *type, const char *git_dir,
			   const unsigned char oid[XECI_GITDIR_OID_RAWSZ])
{
	static const char hex[] = "0123456789abcdef";
	xeci_buf path = XECI_BUF_INIT, z = XECI_BUF_INIT;
	xeci_buf_printf(&path, "%s/objects/%c%c/", git_dir, hex[oid[0] >> 4], hex[oid[0] & 15]);
	for (int i = 1; i < XECI_GITDIR_OID_RAWSZ; i++) {
		xeci_buf_putc(&path, hex[oid[i] >> 4]);
		xeci_buf_putc(&path, hex[oid[i] & 15]);
	}
	int rc = slurp(&z, path.ptr);
	if (rc == 0)
		rc = xeci_gitdir_loose_inflate(data, len, type, (const unsigned char *)(z.ptr ? z.ptr : ""), z.len);
	else if (rc != XECI_ENOTFOUND)
		rc = ask_libgit2();
	xeci_buf_free(&path);
	xeci_buf_free(&z);
	return rc;
}
