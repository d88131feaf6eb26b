/* Reading objects out of local git packs: idx v2 lookup, entry headers,
 * inflate (libdeflate, zlib for what it cannot do), OFS_DELTA/REF_DELTA application, with a cache of built
 * objects keyed by pack offset (see pack_read.h for why).
 *
 * The pack is read with pread into a few small windows rather than mapped:
 * a mapped pack's touched pages count in the process's RSS, and reading an
 * epoch touches all of it. */
#define _GNU_SOURCE
#include "pack_read.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libdeflate.h>
#include <zlib.h>

#include "buf.h"
#include "error.h"
#include "util.h"

#define WINDOW_SIZE ((size_t)64 << 10)
#define WINDOWS 4 /* a delta base may lie far back: a few windows, small ones */
#define WINDOW_MIN 64 /* a window serves a read when this much follows (an entry header fits) */
#define OBJECT_MAX ((uint64_t)512 << 20) /* larger objects are left to libgit2 */
#define INFLATE_SLACK 320
#define FAST_INFLATE_MAX ((uint64_t)1 << 20) /* larger: zlib, streaming */
#define CHAIN_MAX 10000 /* a REF_DELTA chain can loop; git's own depth limit is 4095 */
#define CACHE_SLOTS 4096
#define CACHE_BYTES ((size_t)16 << 20)
#define CACHE_ENTRY_MAX (CACHE_BYTES / 8)

typedef struct window {
	unsigned char *buf;
	size_t cap;
	uint64_t off;
	size_t len;
	uint64_t used;
} window;

typedef struct pack {
	char *name; /* for messages */
	int fd;
	uint64_t size; /* of the pack; entries end before its 20-byte trailer */
	const unsigned char *idx;
	size_t idx_len;
	uint32_t n;
	const unsigned char *fanout, *oids, *off32, *off64;
	uint64_t n64;
	window win[WINDOWS];
	uint64_t last_off; /* of the previous read: its direction */
} pack;

typedef struct cache_ent {
	char *data; /* NULL: empty slot */
	size_t len;
	uint64_t off;
	uint32_t pack;
	int type;
} cache_ent;

struct xeci_packs {
	pack *packs;
	size_t npacks;
	uint64_t tick;
	cache_ent *cache;
	size_t cache_bytes;
	size_t clock; /* next slot to evict when over CACHE_BYTES */
	z_stream zs;
	bool zs_ready;
	struct libdeflate_decompressor *dd;
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void oid_hex(char out[41], const unsigned char *oid)
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < XECI_PACK_OID_RAWSZ; i++) {
		out[2 * i] = hex[oid[i] >> 4];
		out[2 * i + 1] = hex[oid[i] & 15];
	}
	out[40] = '\0';
}

/* --- opening ------------------------------------------------------------ */

/* Checks the idx v2 layout: magic, version, a monotonic fan-out, and room
 * for the tables it announces. */
static int idx_parse(pack *pk)
{
	const unsigned char *d = pk->idx;
	size_t len = pk->idx_len;
	if (len < 8 + 1024 + 40 || memcmp(d, "\377tOc", 4) || be32(d + 4) != 2)
		return XECI_ENOTFOUND; /* idx v1 or not an idx: libgit2's */
	pk->fanout = d + 8;
	uint32_t prev = 0;
	for (int i = 0; i < 256; i++) {
		uint32_t f = be32(pk->fanout + 4 * i);
		if (f < prev)
			return XECI_EINVALID;
		prev = f;
	}
	pk->n = prev;
	uint64_t tables = 8 + 1024 + (uint64_t)pk->n * 28;
	if (tables + 40 > len)
		return XECI_EINVALID;
	pk->oids = d + 8 + 1024;
	pk->off32 = pk->oids + (size_t)pk->n * 24; /* after the oids and the CRCs */
	pk->off64 = d + tables;
	pk->n64 = (len - 40 - tables) / 8;
	return 0;
}

static void pack_close(pack *pk)
{
	if (pk->idx)
		munmap((void *)pk->idx, pk->idx_len);
	if (pk->fd >= 0)
		close(pk->fd);
	for (int i = 0; i < WINDOWS; i++)
		free(pk->win[i].buf);
	free(pk->name);
}

/* Takes both descriptors. */
static int pack_init(pack *pk, int idx_fd, int pack_fd, const char *name)
{
	struct stat st;
	unsigned char hdr[12];
	int rc = XECI_EINVALID;
	memset(pk, 0, sizeof(*pk));
	pk->fd = pack_fd;
	pk->name = xeci_strdup(name);
	if (fstat(idx_fd, &st) < 0 || st.st_size <= 0)
		goto out;
	pk->idx_len = (size_t)st.st_size;
	void *m = mmap(NULL, pk->idx_len, PROT_READ, MAP_PRIVATE, idx_fd, 0);
	if (m == MAP_FAILED)
		goto out;
	pk->idx = m;
	if ((rc = idx_parse(pk)) < 0)
		goto out;
	rc = XECI_EINVALID;
	if (fstat(pack_fd, &st) < 0 || st.st_size < 12 + 20 || pread(pack_fd, hdr, 12, 0) != 12)
		goto out;
	pk->size = (uint64_t)st.st_size;
	if (memcmp(hdr, "PACK", 4) || (be32(hdr + 4) != 2 && be32(hdr + 4) != 3) || be32(hdr + 8) != pk->n)
		goto out;
	rc = 0;
out:
	close(idx_fd);
	return rc;
}

static void packs_add(xeci_packs *p, const pack *pk)
{
	p->packs = xeci_realloc(p->packs, (p->npacks + 1) * sizeof(*p->packs));
	p->packs[p->npacks++] = *pk;
}

static xeci_packs *packs_new(void)
{
	xeci_packs *p = xeci_calloc(1, sizeof(*p));
	p->cache = xeci_calloc(CACHE_SLOTS, sizeof(*p->cache));
	return p;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int xeci_packs_open(xeci_packs **out, const char *git_dir)
{
	xeci_buf dir = XECI_BUF_INIT;
	char **names = NULL;
	size_t nnames = 0;
	xeci_packs *p = packs_new();
	xeci_buf_printf(&dir, "%s/objects/pack", git_dir);
	DIR *d = opendir(dir.ptr);
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l > 9 && !strncmp(de->d_name, "pack-", 5) && !strcmp(de->d_name + l - 4, ".idx")) {
			names = xeci_realloc(names, (nnames + 1) * sizeof(*names));
			names[nnames++] = xeci_strndup(de->d_name, l - 4);
		}
	}
	if (d)
		closedir(d);
	if (nnames) /* the same order every run */
		qsort(names, nnames, sizeof(*names), cmp_str);
	for (size_t i = 0; i < nnames; i++) {
		xeci_buf path = XECI_BUF_INIT;
		xeci_buf_printf(&path, "%s/%s.idx", dir.ptr, names[i]);
		int ifd = open(path.ptr, O_RDONLY | O_CLOEXEC);
		xeci_buf_clear(&path);
		xeci_buf_printf(&path, "%s/%s.pack", dir.ptr, names[i]);
		int pfd = open(path.ptr, O_RDONLY | O_CLOEXEC);
		pack pk;
		if (ifd >= 0 && pfd >= 0 && pack_init(&pk, ifd, pfd, path.ptr) == 0) {
			packs_add(p, &pk);
		} else {
			if (ifd >= 0 && pfd >= 0)
				pack_close(&pk); /* pack_init closed ifd */
			else {
				if (ifd >= 0)
					close(ifd);
				if (pfd >= 0)
					close(pfd);
			}
		}
		xeci_buf_free(&path);
		free(names[i]);
	}
	free(names);
	xeci_buf_free(&dir);
	*out = p;
	return 0;
}

int xeci_packs_open_fds(xeci_packs **out, int idx_fd, int pack_fd)
{
	pack pk;
	*out = NULL;
	int rc = pack_init(&pk, idx_fd, pack_fd, "(pack)");
	if (rc < 0) {
		pack_close(&pk);
		return xeci_error_setc(rc, "not a usable pack and idx v2");
	}
	xeci_packs *p = packs_new();
	packs_add(p, &pk);
	*out = p;
	return 0;
}

void xeci_packs_free(xeci_packs *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->npacks; i++)
		pack_close(&p->packs[i]);
	free(p->packs);
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		free(p->cache[i].data);
	free(p->cache);
	if (p->zs_ready)
		inflateEnd(&p->zs);
	if (p->dd)
		libdeflate_free_decompressor(p->dd);
	free(p);
}

size_t xeci_packs_count(const xeci_packs *p)
{
	size_t n = 0;
	for (size_t i = 0; i < p->npacks; i++)
		n += p->packs[i].n;
	return n;
}

const unsigned char *xeci_packs_oid(const xeci_packs *p, size_t i)
{
	for (size_t k = 0; k < p->npacks; k++) {
		if (i < p->packs[k].n)
			return p->packs[k].oids + i * XECI_PACK_OID_RAWSZ;
		i -= p->packs[k].n;
	}
	return NULL;
}

/* --- the idx ------------------------------------------------------------ */

/* Binary search within the fan-out bucket; 1 with *pos when found. */
static int idx_find(uint32_t *pos, const pack *pk, const unsigned char *oid)
{
	uint32_t lo = oid[0] ? be32(pk->fanout + 4 * (oid[0] - 1)) : 0;
	uint32_t hi = be32(pk->fanout + 4 * oid[0]);
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(pk->oids + (size_t)mid * XECI_PACK_OID_RAWSZ, oid, XECI_PACK_OID_RAWSZ);
		if (!c) {
			*pos = mid;
			return 1;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* The entry's offset; 0 when the idx gives one outside the pack. */
static uint64_t idx_offset(const pack *pk, uint32_t pos)
{
	uint32_t o = be32(pk->off32 + (size_t)pos * 4);
	uint64_t off = o;
	if (o & 0x80000000u) {
		uint64_t k = o & 0x7fffffffu;
		if (k >= pk->n64)
			return 0;
		const unsigned char *q = pk->off64 + k * 8;
		off = (uint64_t)be32(q) << 32 | be32(q + 4);
	}
	return off >= 12 && off < pk->size - 20 ? off : 0;
}

/* --- reading the pack ---------------------------------------------------- */

/* The bytes at off (*avail of them: at least `want`, or up to the end of
 * the entries) from a window, refilling the least recently used one when
 * none covers them. */
static int win_get(const unsigned char **ptr, size_t *avail, xeci_packs *p, pack *pk, uint64_t off,
		   size_t want)
{
	uint64_t end = pk->size - 20;
	if (off >= end)
		return XECI_EINVALID;
	if (want > end - off)
		want = (size_t)(end - off);
	window *w = NULL;
	for (int i = 0; i < WINDOWS; i++) {
		window *c = &pk->win[i];
		if (c->buf && off >= c->off && off - c->off + want <= c->len) {
			w = c;
			break;
		}
	}
	if (!w) {
		w = &pk->win[0];
		for (int i = 1; i < WINDOWS; i++)
			if (pk->win[i].used < w->used)
				w = &pk->win[i];
		/* a walk back through the pack (commits newest first) gets a
		 * window that ends where this read does, not one per read */
		uint64_t start = off;
		if (off < pk->last_off && want < WINDOW_SIZE)
			start = off + want > WINDOW_SIZE ? off + want - WINDOW_SIZE : 0;
		size_t n = want > WINDOW_SIZE ? want : WINDOW_SIZE;
		if (n > end - start)
			n = (size_t)(end - start);
		if (n > w->cap || (w->cap > WINDOW_SIZE && n <= WINDOW_SIZE)) { /* a big one is not kept */
			free(w->buf);
			w->cap = n > WINDOW_SIZE ? n : WINDOW_SIZE;
			w->buf = xeci_malloc(w->cap);
		}
		size_t got = 0;
		while (got < n) {
			ssize_t r = pread(pk->fd, w->buf + got, n - got, (off_t)(start + got));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				w->len = 0;
				return r < 0 ? XECI_EIO : XECI_EINVALID;
			}
			got += (size_t)r;
		}
		w->off = start;
		w->len = n;
	}
	pk->last_off = off;
	w->used = ++p->tick;
	*ptr = w->buf + (off - w->off);
	*avail = w->len - (size_t)(off - w->off);
	return 0;
}

/* An entry's header: type, inflated size and where its data starts; for a
 * delta, also its base (offset, or oid for REF_DELTA). */
typedef struct entry {
	int type;
	uint64_t size;
	uint64_t data;
	uint64_t base_off;
	unsigned char base_oid[XECI_PACK_OID_RAWSZ];
} entry;

static int entry_read(entry *e, xeci_packs *p, pack *pk, uint64_t off)
{
	const unsigned char *b;
	size_t avail, i = 0;
	int rc = win_get(&b, &avail, p, pk, off, WINDOW_MIN);
	if (rc)
		return rc;
	unsigned c = b[i++];
	e->type = (c >> 4) & 7;
	e->size = c & 15;
	for (int shift = 4; c & 0x80; shift += 7) {
		if (i >= avail || shift > 57)
			return XECI_EINVALID;
		c = b[i++];
		e->size += (uint64_t)(c & 0x7f) << shift;
	}
	if (e->type == 6) { /* OFS_DELTA: a distance back, in git's offset encoding */
		if (i >= avail)
			return XECI_EINVALID;
		c = b[i++];
		uint64_t dist = c & 127;
		while (c & 128) {
			if (i >= avail || dist > (UINT64_MAX >> 8))
				return XECI_EINVALID;
			c = b[i++];
			dist = ((dist + 1) << 7) + (c & 127);
		}
		if (dist == 0 || dist > off - 12)
			return XECI_EINVALID;
		e->base_off = off - dist;
	} else if (e->type == 7) {
		if (avail - i < XECI_PACK_OID_RAWSZ)
			return XECI_EINVALID;
		memcpy(e->base_oid, b + i, XECI_PACK_OID_RAWSZ);
		i += XECI_PACK_OID_RAWSZ;
	} else if (e->type < 1 || e->type > 4) {
		return XECI_EINVALID;
	}
	e->data = off + i;
	return 0;
}

/* Inflates exactly `size` bytes from off (NUL-terminated; caller frees).
 * The buffer grows as output comes, so a header lying about the size costs
 * no more memory than the data it has. */
/* libdeflate, when the whole zlib stream is in one window: several times
 * faster than zlib on small objects (zlib spends most of their time
 * building Huffman tables). false: zlib decides (a stream longer than
 * expected, corrupt data, a big object). */
static bool inflate_fast(char **out, xeci_packs *p, pack *pk, uint64_t off, uint64_t size)
{
	const unsigned char *in;
	size_t avail, got;
	if (size > FAST_INFLATE_MAX)
		return false;
	/* deflate grows incompressible data by a few bytes per 64 KB block */
	if (win_get(&in, &avail, p, pk, off, (size_t)size + (size_t)size / 64 + 64))
		return false;
	if (!p->dd && !(p->dd = libdeflate_alloc_decompressor()))
		return false;
	char *buf = xeci_malloc((size_t)size + 1);
	if (libdeflate_zlib_decompress_ex(p->dd, in, avail, buf, (size_t)size, NULL, &got) != LIBDEFLATE_SUCCESS ||
	    got != size) {
		free(buf);
		return false;
	}
	buf[size] = '\0';
	*out = buf;
	return true;
}

static int inflate_at(char **out, xeci_packs *p, pack *pk, uint64_t off, uint64_t size)
{
	if (size > OBJECT_MAX)
		return XECI_ENOTFOUND;
	if (inflate_fast(out, p, pk, off, size))
		return 0;
	if (!p->zs_ready) {
		memset(&p->zs, 0, sizeof(p->zs));
		if (inflateInit(&p->zs) != Z_OK)
			return XECI_EIO;
		p->zs_ready = true;
	} else if (inflateReset(&p->zs) != Z_OK) {
		return XECI_EIO;
	}
	z_stream *zs = &p->zs;
	/* room past the end: zlib's fast loop wants 258 bytes of output space,
	 * and an exact-size buffer sends every small object down its slow path */
	size_t cap = size < ((size_t)1 << 20) ? (size_t)size + INFLATE_SLACK : (size_t)1 << 20;
	char *buf = xeci_malloc(cap);
	int rc = 0, z = Z_OK;
	zs->next_out = (unsigned char *)buf;
	zs->avail_out = (unsigned)cap;
	while (z != Z_STREAM_END) {
		const unsigned char *in;
		size_t avail;
		if ((rc = win_get(&in, &avail, p, pk, off, 1)))
			break;
		if (zs->avail_out == 0) { /* full: more is only allowed up to size + 1 */
			size_t used = (size_t)zs->total_out;
			if (used > size) {
				rc = XECI_EINVALID;
				break;
			}
			cap = cap * 2 > size + INFLATE_SLACK ? (size_t)size + INFLATE_SLACK : cap * 2;
			buf = xeci_realloc(buf, cap);
			zs->next_out = (unsigned char *)buf + used;
			zs->avail_out = (unsigned)(cap - used);
		}
		zs->next_in = (unsigned char *)in;
		zs->avail_in = avail > (1u << 30) ? 1u << 30 : (unsigned)avail;
		unsigned before_in = zs->avail_in, before_out = zs->avail_out;
		z = inflate(zs, Z_NO_FLUSH);
		if (z != Z_OK && z != Z_STREAM_END && z != Z_BUF_ERROR) {
			rc = XECI_EINVALID;
			break;
		}
		if (zs->avail_in == before_in && zs->avail_out == before_out && z != Z_STREAM_END) {
			rc = XECI_EINVALID; /* no progress */
			break;
		}
		off += before_in - zs->avail_in;
	}
	if (!rc && zs->total_out != size)
		rc = XECI_EINVALID;
	if (rc) {
		free(buf);
		return rc;
	}
	if (cap < size + 1) /* cannot be: the loop grows it to size + INFLATE_SLACK */
		buf = xeci_realloc(buf, (size_t)size + 1);
	buf[size] = '\0';
	*out = buf;
	return 0;
}

static int delta_varint(uint64_t *v, const unsigned char **p, const unsigned char *end)
{
	*v = 0;
	for (int shift = 0;; shift += 7) {
		if (*p >= end || shift > 63)
			return XECI_EINVALID;
		unsigned c = *(*p)++;
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
	}
}

/* git's delta format: source and target sizes, then copy (from the base)
 * and insert (literal) instructions. */
static int delta_apply(char **out, size_t *outlen, const char *base, size_t blen, const char *delta,
		       size_t dlen)
{
	const unsigned char *p = (const unsigned char *)delta, *end = p + dlen;
	uint64_t src, tgt;
	if (delta_varint(&src, &p, end) || delta_varint(&tgt, &p, end) || src != blen)
		return XECI_EINVALID;
	if (tgt > OBJECT_MAX)
		return XECI_ENOTFOUND;
	char *r = xeci_malloc((size_t)tgt + 1);
	size_t pos = 0;
	while (p < end) {
		unsigned cmd = *p++;
		if (cmd & 0x80) {
			uint64_t off = 0, sz = 0;
			for (int i = 0; i < 4; i++)
				if (cmd & (1u << i)) {
					if (p >= end)
						goto bad;
					off |= (uint64_t)*p++ << (8 * i);
				}
			for (int i = 0; i < 3; i++)
				if (cmd & (0x10u << i)) {
					if (p >= end)
						goto bad;
					sz |= (uint64_t)*p++ << (8 * i);
				}
			if (!sz)
				sz = 0x10000;
			if (off > blen || sz > blen - off || sz > tgt - pos)
				goto bad;
			memcpy(r + pos, base + off, (size_t)sz);
			pos += (size_t)sz;
		} else if (cmd) {
			if (cmd > (size_t)(end - p) || cmd > tgt - pos)
				goto bad;
			memcpy(r + pos, p, cmd);
			p += cmd;
			pos += cmd;
		} else {
			goto bad;
		}
	}
	if (pos != tgt)
		goto bad;
	r[pos] = '\0';
	*out = r;
	*outlen = pos;
	return 0;
bad:
	free(r);
	return XECI_EINVALID;
}

/* --- the cache of built objects ------------------------------------------ */

static cache_ent *cache_slot(xeci_packs *p, uint32_t pack, uint64_t off)
{
	uint64_t h = (off ^ ((uint64_t)pack << 40)) * 0x9e3779b97f4a7c15ull;
	return &p->cache[(h >> 32) % CACHE_SLOTS];
}

static const cache_ent *cache_get(xeci_packs *p, uint32_t pack, uint64_t off)
{
	cache_ent *e = cache_slot(p, pack, off);
	return e->data && e->off == off && e->pack == pack ? e : NULL;
}

static void cache_drop(xeci_packs *p, cache_ent *e)
{
	p->cache_bytes -= e->len;
	free(e->data);
	e->data = NULL;
}

/* Takes data when it returns true; then it stays valid until the next put. */
static bool cache_put(xeci_packs *p, uint32_t pack, uint64_t off, int type, char *data, size_t len)
{
	if (len > CACHE_ENTRY_MAX)
		return false;
	cache_ent *e = cache_slot(p, pack, off);
	if (e->data)
		cache_drop(p, e);
	*e = (cache_ent){data, len, off, pack, type};
	p->cache_bytes += len;
	while (p->cache_bytes > CACHE_BYTES) {
		cache_ent *v = &p->cache[p->clock];
		p->clock = (p->clock + 1) % CACHE_SLOTS;
		if (v->data && v != e)
			cache_drop(p, v);
	}
	return true;
}

/* --- objects -------------------------------------------------------------- */

/* Builds the object at off: walks down its delta chain to a base (an entry
 * that is no delta, or a cached object), then applies the deltas upwards,
 * caching each object built on the way. */
static int build(char **out, size_t *outlen, int *type, xeci_packs *p, uint32_t pi, uint64_t off)
{
	pack *pk = &p->packs[pi];
	uint64_t stack_small[64], *stack = stack_small;
	size_t depth = 0, cap = 64;
	const char *base = NULL;
	char *owned = NULL; /* the base when not in the cache */
	size_t blen = 0;
	int btype = 0, rc = 0;
	entry e;
	for (uint64_t cur = off;;) {
		const cache_ent *c = cache_get(p, pi, cur);
		if (c) {
			base = c->data;
			blen = c->len;
			btype = c->type;
			break;
		}
		if ((rc = entry_read(&e, p, pk, cur)))
			goto out;
		if (e.type <= 4) {
			if ((rc = inflate_at(&owned, p, pk, e.data, e.size)))
				goto out;
			base = owned;
			blen = (size_t)e.size;
			btype = e.type;
			if (depth && cache_put(p, pi, cur, btype, owned, blen))
				owned = NULL; /* a base others share: keep it */
			break;
		}
		if (depth == CHAIN_MAX) {
			rc = XECI_EINVALID;
			goto out;
		}
		if (depth == cap) {
			cap *= 2;
			if (stack == stack_small) {
				stack = xeci_malloc(cap * sizeof(*stack));
				memcpy(stack, stack_small, sizeof(stack_small));
			} else {
				stack = xeci_realloc(stack, cap * sizeof(*stack));
			}
		}
		stack[depth++] = cur;
		if (e.type == 7) {
			uint32_t pos;
			if (!idx_find(&pos, pk, e.base_oid)) {
				rc = XECI_ENOTFOUND; /* a base outside this pack: libgit2's */
				goto out;
			}
			if (!(e.base_off = idx_offset(pk, pos))) {
				rc = XECI_EINVALID;
				goto out;
			}
		}
		cur = e.base_off;
	}
	while (depth--) {
		char *delta = NULL, *r = NULL;
		size_t rlen;
		uint64_t at = stack[depth];
		if ((rc = entry_read(&e, p, pk, at)) || (rc = inflate_at(&delta, p, pk, e.data, e.size)))
			goto out;
		rc = delta_apply(&r, &rlen, base, blen, delta, (size_t)e.size);
		free(delta);
		if (rc)
			goto out;
		free(owned);
		owned = NULL;
		if (depth == 0) {
			/* the result is the caller's; the cache keeps a copy for the
			 * next object of the chain */
			char *copy = xeci_malloc(rlen + 1);
			memcpy(copy, r, rlen + 1);
			if (!cache_put(p, pi, at, btype, copy, rlen))
				free(copy);
			owned = r;
			blen = rlen;
			break;
		}
		if (cache_put(p, pi, at, btype, r, rlen)) {
			base = r;
		} else {
			base = owned = r;
		}
		blen = rlen;
	}
	if (!owned) { /* the object itself was cached (or a cached base) */
		owned = xeci_malloc(blen + 1);
		memcpy(owned, base, blen);
		owned[blen] = '\0';
	}
	*out = owned;
	*outlen = blen;
	*type = btype;
	owned = NULL;
out:
	free(owned);
	if (stack != stack_small)
		free(stack);
	return rc;
}

int xeci_packs_entry(int *type, uint64_t *offset, xeci_packs *p, size_t i)
{
	for (size_t k = 0; k < p->npacks; k++) {
		pack *pk = &p->packs[k];
		if (i >= pk->n) {
			i -= pk->n;
			continue;
		}
		entry e;
		uint64_t off = idx_offset(pk, (uint32_t)i);
		int rc = off ? entry_read(&e, p, pk, off) : XECI_EINVALID;
		if (rc)
			return rc;
		*type = e.type;
		*offset = off;
		return 0;
	}
	return XECI_ENOTFOUND;
}

int xeci_packs_read(char **data, size_t *len, int *type, xeci_packs *p, const unsigned char *oid)
{
	char hex[41];
	*data = NULL;
	for (size_t i = 0; i < p->npacks; i++) {
		pack *pk = &p->packs[i];
		uint32_t pos;
		uint64_t off;
		if (!idx_find(&pos, pk, oid))
			continue;
		int rc = (off = idx_offset(pk, pos)) ? build(data, len, type, p, (uint32_t)i, off) : XECI_EINVALID;
		if (rc == 0)
			return 0;
		oid_hex(hex, oid);
		if (rc == XECI_ENOTFOUND)
			return xeci_error_setc(rc, "%s: object %s: left to libgit2", pk->name, hex);
		return xeci_error_setc(rc, "%s: object %s: %s", pk->name, hex,
				       rc == XECI_EIO ? strerror(errno) : "corrupt pack entry");
	}
	oid_hex(hex, oid);
	return xeci_error_setc(XECI_ENOTFOUND, "object %s: not in a pack", hex);
}
