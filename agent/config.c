/* The agent's configuration. See config.h. */
#include "config.h"

#include <git2.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "errors.h"
#include "log.h"
#include "util.h"

#ifndef XECI_AGENT_KERNEL_DIR
#define XECI_AGENT_KERNEL_DIR "/usr/share/xeci/kernel"
#endif

static void set_str(char **field, const char *value)
{
	free(*field);
	*field = xeci_strdup(value);
}

static int set_int(int64_t *field, const char *key, const char *value)
{
	int64_t v;
	if (git_config_parse_int64(&v, value) < 0 || v <= 0)
		return xeci_error_setc(XECI_EINVALID, "%s = '%s': not a positive number", key, value);
	*field = v;
	return 0;
}

static void add_caps(xeci_agent_config *c, const char *value)
{
	const char *p = value;
	while (*p) {
		size_t n = strcspn(p, " \t,");
		if (n) {
			c->caps = xeci_realloc(c->caps, (c->ncaps + 1) * sizeof(*c->caps));
			c->caps[c->ncaps++] = xeci_strndup(p, n);
		}
		p += n;
		p += strspn(p, " \t,");
	}
}

typedef struct str_key {
	const char *name; /* as libgit2 reports it: section.key, lower case */
	size_t offset;
} str_key;

#define S(name, field) {name, offsetof(xeci_agent_config, field)}
static const str_key str_keys[] = {
	S("agent.server", server),       S("agent.token", token),         S("agent.backend", backend),
	S("agent.workdir", work_dir),    S("agent.platform", platform),   S("qemu.kvm", qemu.kvm),
	S("qemu.binary", qemu.binary),   S("qemu.initramfs", qemu.initramfs), S("qemu.append", qemu.append),
	S("sim.script", sim.script),
	S("host.igt", host.igt),         S("host.runner", host.runner),   S("host.testlists", host.testlists),
	S("host.boot", host.boot),       S("host.statefile", host.state_file),
	S("host.powercommand", host.power_command), S("host.knowngood", host.known_good),
	S("host.installcommand", host.install_command), S("host.bootcommand", host.boot_command),
	S("host.rebootcommand", host.reboot_command),
};
#undef S

typedef struct int_key {
	const char *name;
	size_t offset;
} int_key;

#define I(name, field) {name, offsetof(xeci_agent_config, field)}
static const int_key int_keys[] = {
	I("agent.heartbeat", heartbeat_s),        I("qemu.memory", qemu.memory_mb),
	I("qemu.cpus", qemu.cpus),                I("qemu.boottimeout", qemu.boot_timeout_s),
	I("qemu.runtimeout", qemu.run_timeout_s), I("host.testtimeout", host.test_timeout_s),
	I("host.runtimeout", host.run_timeout_s),
};
#undef I

static int apply(xeci_agent_config *c, const char *name, const char *value)
{
	if (!value)
		return xeci_error_setc(XECI_EINVALID, "%s: a value is required", name);
	if (!strcmp(name, "agent.capabilities")) {
		add_caps(c, value);
		return 0;
	}
	for (size_t i = 0; i < sizeof(str_keys) / sizeof(str_keys[0]); i++)
		if (!strcmp(name, str_keys[i].name)) {
			set_str((char **)((char *)c + str_keys[i].offset), value);
			return 0;
		}
	for (size_t i = 0; i < sizeof(int_keys) / sizeof(int_keys[0]); i++)
		if (!strcmp(name, int_keys[i].name))
			return set_int((int64_t *)((char *)c + int_keys[i].offset), name, value);
	/* a typo must not silently fall back to a default */
	return xeci_error_setc(XECI_EINVALID, "unknown key '%s'", name);
}

static void defaults(xeci_agent_config *c)
{
	c->heartbeat_s = 30;
	c->qemu.memory_mb = 2048;
	c->qemu.cpus = 2;
	c->qemu.boot_timeout_s = 120;
	c->qemu.run_timeout_s = 600;
	c->host.test_timeout_s = 600;
	c->host.run_timeout_s = 7200;
}

static void defaults_after(xeci_agent_config *c)
{
	if (!c->work_dir)
		c->work_dir = xeci_strdup("/var/lib/xeci-agent");
	if (!c->qemu.kvm)
		c->qemu.kvm = xeci_strdup("off");
	if (!c->qemu.binary)
		c->qemu.binary = xeci_strdup("qemu-system-x86_64");
	if (!c->qemu.initramfs)
		c->qemu.initramfs = xeci_strdup(XECI_AGENT_KERNEL_DIR "/initramfs.sh");
	if (!c->host.igt)
		c->host.igt = xeci_strdup("/usr/libexec/igt-gpu-tools");
	if (!c->host.runner)
		c->host.runner = xeci_strdup("igt_runner");
	if (!c->host.boot)
		c->host.boot = xeci_strdup("kexec");
	if (!c->host.state_file) {
		size_t n = strlen(c->work_dir) + sizeof("/host-state");
		c->host.state_file = xeci_malloc(n);
		snprintf(c->host.state_file, n, "%s/host-state", c->work_dir);
	}
	if (c->server) /* "http://h:p/" and "http://h:p" name the same server */
		while (*c->server && c->server[strlen(c->server) - 1] == '/')
			c->server[strlen(c->server) - 1] = '\0';
}

static int check(const xeci_agent_config *c, const char *path)
{
	if (!c->server || !*c->server)
		return xeci_error_setc(XECI_EINVALID, "%s: agent.server is required", path);
	if (!c->token || !*c->token)
		return xeci_error_setc(XECI_EINVALID, "%s: agent.token is required", path);
	if (!c->backend)
		return xeci_error_setc(XECI_EINVALID, "%s: agent.backend (qemu, host or sim) is required", path);
	if (strcmp(c->backend, "qemu") && strcmp(c->backend, "host") && strcmp(c->backend, "sim"))
		return xeci_error_setc(XECI_EINVALID, "%s: agent.backend = %s: expected qemu, host or sim", path,
				       c->backend);
	if (!strcmp(c->backend, "sim") && !c->sim.script)
		return xeci_error_setc(XECI_EINVALID, "%s: the sim back-end needs sim.script", path);
	if (strcmp(c->qemu.kvm, "on") && strcmp(c->qemu.kvm, "off") && strcmp(c->qemu.kvm, "auto"))
		return xeci_error_setc(XECI_EINVALID, "%s: qemu.kvm = %s: expected on, off or auto", path, c->qemu.kvm);
	if (strcmp(c->host.boot, "kexec") && strcmp(c->host.boot, "bootentry"))
		return xeci_error_setc(XECI_EINVALID, "%s: host.boot = %s: expected kexec or bootentry", path,
				       c->host.boot);
	if (!strcmp(c->backend, "host") && !c->host.known_good)
		return xeci_error_setc(XECI_EINVALID, "%s: the host back-end needs host.knownGood", path);
	return 0;
}

static int read_file(xeci_agent_config *c, const char *path)
{
	git_config *gc = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *e;
	int rc = 0;
	if (git_config_open_ondisk(&gc, path) < 0) {
		const git_error *ge = git_error_last();
		return xeci_error_setc(XECI_EINVALID, "%s: %s", path, ge ? ge->message : "cannot read");
	}
	if (git_config_iterator_new(&it, gc) < 0) {
		git_config_free(gc);
		return xeci_error_setc(XECI_EIO, "%s: cannot iterate", path);
	}
	while (rc == 0 && git_config_next(&e, it) == 0)
		rc = apply(c, e->name, e->value);
	git_config_iterator_free(it);
	git_config_free(gc);
	if (rc < 0)
		return xeci_agent_error_wrap(rc, "%s", path);
	return 0;
}

int xeci_agent_config_load(xeci_agent_config **out, const char *path)
{
	xeci_agent_config *c = xeci_calloc(1, sizeof(*c));
	defaults(c);
	git_libgit2_init();
	int rc = read_file(c, path);
	git_libgit2_shutdown();
	if (rc == 0) {
		defaults_after(c);
		rc = check(c, path);
	}
	if (rc < 0) {
		xeci_agent_config_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void xeci_agent_config_free(xeci_agent_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < sizeof(str_keys) / sizeof(str_keys[0]); i++)
		free(*(char **)((char *)c + str_keys[i].offset));
	for (size_t i = 0; i < c->ncaps; i++)
		free(c->caps[i]);
	free(c->caps);
	free(c);
}
