/* What machine the agent runs on: the Xe platform of a PCI device id
 * (include/drm/intel/xe_pciids.h), and the facts sent at register. */
#ifndef XECI_AGENT_PLATFORM_H
#define XECI_AGENT_PLATFORM_H

#include <jansson.h>

/* "lnl", "bmg", "dg2", ... for an Intel (0x8086) device id; NULL when the
 * id is not an Xe GPU this table knows. */
const char *xeci_platform_of_pci(unsigned vendor, unsigned device);

/* The Intel GPUs under sysfs_root/class/drm/cardN/device (sysfs_root is
 * "/sys" on a machine; a test passes a fake tree). *platform is the first
 * known GPU's platform or NULL (free() it); pci_ids gets "8086:e20b" strings
 * (json_decref() it). Never fails: no DRM devices is zero GPUs. */
void xeci_platform_detect(char **platform, json_t **pci_ids, int *gpu_count, const char *sysfs_root);

/* The running kernel's GNU build id from a /sys/kernel/notes image (ELF
 * notes), as lower-case hex in out (at least 41 bytes for SHA-1 ids).
 * XECI_ENOTFOUND when the notes hold none. */
int xeci_platform_build_id(char *out, size_t outlen, const void *notes, size_t len);

#endif
