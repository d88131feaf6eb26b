/* The PCI id table and the machine facts. See platform.h. */
#include "platform.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "util.h"

#define PCI_VENDOR_INTEL 0x8086

typedef struct pci_platform {
	unsigned device;
	const char *platform;
} pci_platform;

/* Generated from Linux 6.12's include/drm/intel/xe_pciids.h (every
 * XE_*_IDS macro; RPL-U is its own group there), plus PTL (0xb0xx) from the
 * later kernels' list, which 6.12 does not have. Sorted by id: bsearch. */
static const pci_platform pci_table[] = {
	{0x0b69, "pvc"},
	{0x0b6e, "pvc"},
	{0x0bd4, "pvc"},
	{0x0bd5, "pvc"},
	{0x0bd6, "pvc"},
	{0x0bd7, "pvc"},
	{0x0bd8, "pvc"},
	{0x0bd9, "pvc"},
	{0x0bda, "pvc"},
	{0x0bdb, "pvc"},
	{0x0be0, "pvc"},
	{0x0be1, "pvc"},
	{0x0be5, "pvc"},
	{0x4626, "adl-p"},
	{0x4628, "adl-p"},
	{0x462a, "adl-p"},
	{0x4680, "adl-s"},
	{0x4682, "adl-s"},
	{0x4688, "adl-s"},
	{0x468a, "adl-s"},
	{0x468b, "adl-s"},
	{0x4690, "adl-s"},
	{0x4692, "adl-s"},
	{0x4693, "adl-s"},
	{0x46a0, "adl-p"},
	{0x46a1, "adl-p"},
	{0x46a2, "adl-p"},
	{0x46a3, "adl-p"},
	{0x46a6, "adl-p"},
	{0x46a8, "adl-p"},
	{0x46aa, "adl-p"},
	{0x46b0, "adl-p"},
	{0x46b1, "adl-p"},
	{0x46b2, "adl-p"},
	{0x46b3, "adl-p"},
	{0x46c0, "adl-p"},
	{0x46c1, "adl-p"},
	{0x46c2, "adl-p"},
	{0x46c3, "adl-p"},
	{0x46d0, "adl-n"},
	{0x46d1, "adl-n"},
	{0x46d2, "adl-n"},
	{0x4905, "dg1"},
	{0x4906, "dg1"},
	{0x4907, "dg1"},
	{0x4908, "dg1"},
	{0x4909, "dg1"},
	{0x4c80, "rkl"},
	{0x4c8a, "rkl"},
	{0x4c8b, "rkl"},
	{0x4c8c, "rkl"},
	{0x4c90, "rkl"},
	{0x4c9a, "rkl"},
	{0x5690, "dg2"},
	{0x5691, "dg2"},
	{0x5692, "dg2"},
	{0x5693, "dg2"},
	{0x5694, "dg2"},
	{0x5695, "dg2"},
	{0x5696, "dg2"},
	{0x5697, "dg2"},
	{0x56a0, "dg2"},
	{0x56a1, "dg2"},
	{0x56a2, "dg2"},
	{0x56a3, "dg2"},
	{0x56a4, "dg2"},
	{0x56a5, "dg2"},
	{0x56a6, "dg2"},
	{0x56b0, "dg2"},
	{0x56b1, "dg2"},
	{0x56b2, "dg2"},
	{0x56b3, "dg2"},
	{0x56ba, "dg2"},
	{0x56bb, "dg2"},
	{0x56bc, "dg2"},
	{0x56bd, "dg2"},
	{0x56be, "dg2"},
	{0x56bf, "dg2"},
	{0x56c0, "ats-m"},
	{0x56c1, "ats-m"},
	{0x56c2, "ats-m"},
	{0x6420, "lnl"},
	{0x64a0, "lnl"},
	{0x64b0, "lnl"},
	{0x7d40, "mtl"},
	{0x7d41, "arl"},
	{0x7d45, "mtl"},
	{0x7d51, "arl"},
	{0x7d55, "mtl"},
	{0x7d60, "mtl"},
	{0x7d67, "arl"},
	{0x7dd1, "arl"},
	{0x7dd5, "mtl"},
	{0x9a40, "tgl"},
	{0x9a49, "tgl"},
	{0x9a59, "tgl"},
	{0x9a60, "tgl"},
	{0x9a68, "tgl"},
	{0x9a70, "tgl"},
	{0x9a78, "tgl"},
	{0x9ac0, "tgl"},
	{0x9ac9, "tgl"},
	{0x9ad9, "tgl"},
	{0x9af8, "tgl"},
	{0xa720, "rpl-p"},
	{0xa721, "rpl-u"},
	{0xa780, "rpl-s"},
	{0xa781, "rpl-s"},
	{0xa782, "rpl-s"},
	{0xa783, "rpl-s"},
	{0xa788, "rpl-s"},
	{0xa789, "rpl-s"},
	{0xa78a, "rpl-s"},
	{0xa78b, "rpl-s"},
	{0xa7a0, "rpl-p"},
	{0xa7a1, "rpl-u"},
	{0xa7a8, "rpl-p"},
	{0xa7a9, "rpl-u"},
	{0xa7aa, "rpl-p"},
	{0xa7ab, "rpl-p"},
	{0xa7ac, "rpl-u"},
	{0xa7ad, "rpl-u"},
	{0xb080, "ptl"},
	{0xb081, "ptl"},
	{0xb082, "ptl"},
	{0xb090, "ptl"},
	{0xb091, "ptl"},
	{0xb092, "ptl"},
	{0xb0a0, "ptl"},
	{0xb0a1, "ptl"},
	{0xb0a2, "ptl"},
	{0xb0b0, "ptl"},
	{0xb640, "arl"},
	{0xe202, "bmg"},
	{0xe20b, "bmg"},
	{0xe20c, "bmg"},
	{0xe20d, "bmg"},
	{0xe212, "bmg"},
};

static int cmp_device(const void *key, const void *elem)
{
	unsigned k = *(const unsigned *)key, d = ((const pci_platform *)elem)->device;
	return k < d ? -1 : k > d;
}

const char *xeci_platform_of_pci(unsigned vendor, unsigned device)
{
	if (vendor != PCI_VENDOR_INTEL)
		return NULL;
	const pci_platform *p = bsearch(&device, pci_table, sizeof(pci_table) / sizeof(pci_table[0]),
					sizeof(pci_table[0]), cmp_device);
	return p ? p->platform : NULL;
}

/* A sysfs hex attribute ("0x8086\n"); 0 when unreadable. */
static unsigned read_hex(const char *path)
{
	char *s = NULL;
	size_t len;
	if (xeci_file_read(&s, &len, path) < 0)
		return 0;
	unsigned v = (unsigned)strtoul(s, NULL, 16);
	free(s);
	return v;
}

/* card0, card1, ... but not card0-DP-1 (connectors) */
static int is_card(const char *name)
{
	if (strncmp(name, "card", 4) || !name[4])
		return 0;
	for (const char *p = name + 4; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

void xeci_platform_detect(char **platform, json_t **pci_ids, int *gpu_count, const char *sysfs_root)
{
	*platform = NULL;
	*pci_ids = json_array();
	*gpu_count = 0;
	char path[4096];
	snprintf(path, sizeof(path), "%s/class/drm", sysfs_root);
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!is_card(e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/class/drm/%s/device/vendor", sysfs_root, e->d_name);
		unsigned vendor = read_hex(path);
		snprintf(path, sizeof(path), "%s/class/drm/%s/device/device", sysfs_root, e->d_name);
		unsigned device = read_hex(path);
		if (vendor != PCI_VENDOR_INTEL)
			continue;
		char id[16];
		snprintf(id, sizeof(id), "%04x:%04x", vendor, device);
		json_array_append_new(*pci_ids, json_string(id));
		(*gpu_count)++;
		const char *p = xeci_platform_of_pci(vendor, device);
		/* the first known GPU names the machine: one agent drives one
		 * DUT, whose GPUs are of one platform */
		if (p && !*platform)
			*platform = xeci_strdup(p);
	}
	closedir(d);
}

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4); /* notes are in the running machine's byte order */
	return v;
}

int xeci_platform_build_id(char *out, size_t outlen, const void *notes, size_t len)
{
	const unsigned char *p = notes, *end = p + len;
	/* Elf_Nhdr: namesz, descsz, type; name and desc padded to 4 bytes */
	while (end - p >= 12) {
		uint32_t namesz = rd32(p), descsz = rd32(p + 4), type = rd32(p + 8);
		size_t nlen = (namesz + 3u) & ~3u, dlen = (descsz + 3u) & ~3u;
		p += 12;
		if (nlen > (size_t)(end - p) || dlen > (size_t)(end - p - nlen))
			break;
		if (type == 3 /* NT_GNU_BUILD_ID */ && namesz == 4 && !memcmp(p, "GNU", 4) && descsz * 2 + 1 <= outlen) {
			for (uint32_t i = 0; i < descsz; i++)
				snprintf(out + 2 * i, 3, "%02x", p[nlen + i]);
			out[2 * descsz] = '\0';
			return 0;
		}
		p += nlen + dlen;
	}
	return xeci_error_setc(XECI_ENOTFOUND, "no GNU build id in the kernel notes");
}
