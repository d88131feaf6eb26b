/* The agent's configuration: a git-config file, read with libgit2.
 *
 *   [agent] server = http://127.0.0.1:8080    (xecid's [http] listen)
 *           token = HEX                       (from `xeci agent add`)
 *           backend = qemu | host | sim
 *           workDir = DIR                     (artifacts, job dirs; default /var/lib/xeci-agent)
 *           platform = qemu                   (host: detected from the PCI id when unset)
 *           capabilities = fault-mode ...     (space-separated, repeatable)
 *           heartbeat = 30                    (seconds between heartbeats)
 *   [qemu]  memory = 2048 (MiB), cpus = 2, bootTimeout = 120, runTimeout = 600 (seconds)
 *           kvm = off | on | auto             (auto: KVM when a short probe boot works)
 *           binary = qemu-system-x86_64
 *           initramfs = PATH                  (kernel/initramfs.sh)
 *           append = ARGS                     (more kernel command line)
 *   [sim]   script = FILE                     (see backend_sim.c)
 *   [host]  igt = /usr/libexec/igt-gpu-tools  (IGT's test binaries)
 *           runner = igt_runner
 *           testlists = DIR                   (where igt:PATH suites are found)
 *           boot = kexec | bootentry
 *           stateFile = FILE                  (default WORKDIR/host-state)
 *           powerCommand = CMD                (hard reset when a reboot does not happen)
 *           knownGood = KERNEL-RELEASE        (the kernel the machine returns to)
 *           testTimeout = 600, runTimeout = 7200 (igt_runner per-test and overall, seconds)
 *           installCommand, bootCommand, rebootCommand = CMD (see backend_host.c)
 */
#ifndef XECI_AGENT_CONFIG_H
#define XECI_AGENT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef struct xeci_agent_config {
	char *server, *token, *backend, *work_dir, *platform;
	char **caps;
	size_t ncaps;
	int64_t heartbeat_s;
	struct {
		int64_t memory_mb, cpus, boot_timeout_s, run_timeout_s;
		char *kvm, *binary, *initramfs, *append;
	} qemu;
	struct {
		char *script;
	} sim;
	struct {
		char *igt, *runner, *testlists, *boot, *state_file, *power_command, *known_good;
		char *install_command, *boot_command, *reboot_command;
		int64_t test_timeout_s, run_timeout_s;
	} host;
} xeci_agent_config;

/* Reads `path`; checks that what the back-end needs is there. */
int xeci_agent_config_load(xeci_agent_config **out, const char *path);
void xeci_agent_config_free(xeci_agent_config *c);

#endif
