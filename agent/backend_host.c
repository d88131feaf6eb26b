/* The host back-end: a real Xe machine. One job:
 *
 *   on the known-good kernel (a fresh lease)
 *     install the build's kernel and modules (host.installCommand),
 *     state file: phase "booting", then boot it once (host.boot: kexec, or
 *     a one-shot boot entry; host.bootCommand overrides both). The agent
 *     dies with the old kernel; the service manager starts it again.
 *   at agent start, on the kernel under test (xeci_backend_host_resume)
 *     check `uname -r` and the GNU build id against the build's; phase
 *     "testing"; igt_runner over the job's lists (igt.c), heartbeats
 *     meanwhile; upload; phase "returning"; reboot (host.rebootCommand):
 *     a plain reboot goes back through the firmware to the default entry,
 *     the known-good kernel (kexec and one-shot entries do not persist).
 *   at agent start, on the known-good kernel again
 *     phase "returning": done, the state file goes. phase "booting": the
 *     kernel under test never came up (the watchdog or host.powerCommand
 *     brought the machine back): the job fails, "kernel did not boot" (the
 *     kernel's fault, not the machine's). phase "testing": the machine
 *     died mid-run: whatever igt_runner left is uploaded (the open test is
 *     "incomplete"), else the job fails.
 *
 * A reboot that does not happen within REBOOT_WAIT_S is forced with
 * host.powerCommand (e.g. an ipmitool or PDU command), when configured.
 * Nothing here can be exercised without an Xe machine; the pure parts
 * (PCI table, state file, shards, build id) have unit tests. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent.h"
#include "backend.h"
#include "error.h"
#include "errors.h"
#include "host_state.h"
#include "igt.h"
#include "log.h"
#include "platform.h"
#include "proc.h"
#include "util.h"

#define REBOOT_WAIT_S 300
#define INSTALL_TIMEOUT_MS (15UL * 60 * 1000)

/* Modules under /lib/modules/REL, the image as /boot/vmlinuz-REL, an
 * initramfs when the distribution makes them, and grub's menu for
 * one-shot entries. */
#define DEFAULT_INSTALL                                                                                      \
	"set -e; tar -xzf \"$XECI_MODULES\" -C / --no-same-owner; "                                           \
	"install -m 644 \"$XECI_KERNEL\" \"/boot/vmlinuz-$XECI_RELEASE\"; depmod \"$XECI_RELEASE\"; "         \
	"if command -v update-initramfs >/dev/null; then update-initramfs -c -k \"$XECI_RELEASE\"; fi; "      \
	"if [ \"$XECI_BOOT\" = bootentry ] && command -v update-grub >/dev/null; then update-grub; fi"
#define DEFAULT_KEXEC                                                                                        \
	"set -e; i=/boot/initrd.img-$XECI_RELEASE; "                                                          \
	"if [ -f \"$i\" ]; then kexec -l \"/boot/vmlinuz-$XECI_RELEASE\" --initrd=\"$i\" --reuse-cmdline; "   \
	"else kexec -l \"/boot/vmlinuz-$XECI_RELEASE\" --reuse-cmdline; fi; systemctl kexec"
#define DEFAULT_BOOTENTRY                                                                                    \
	"set -e; grub-reboot \"Advanced options for $(. /etc/os-release; echo \"$NAME\")>"                     \
	"$(. /etc/os-release; echo \"$NAME\"), with Linux $XECI_RELEASE\"; systemctl reboot"
#define DEFAULT_REBOOT "systemctl reboot"

/* `uname -r`. XECI_AGENT_UNAME_R stands in for it in tests, which cannot
 * reboot the machine they run on into another kernel. */
static void running_release(char out[65])
{
	const char *fake = getenv("XECI_AGENT_UNAME_R");
	struct utsname u;
	if (!fake || !*fake)
		uname(&u);
	snprintf(out, 65, "%s", fake && *fake ? fake : u.release);
}

static char *trimmed_artifact(xeci_run *r, const char *name)
{
	char *path = xeci_run_artifact_path(r, name), *text = NULL;
	size_t len = 0;
	int rc = xeci_file_read(&text, &len, path);
	free(path);
	if (rc < 0)
		return NULL;
	text[strcspn(text, " \t\r\n")] = '\0';
	return text;
}

/* The running kernel's GNU build id ("" when unknown). */
static void running_build_id(char out[129])
{
	char *notes = NULL;
	size_t len = 0;
	out[0] = '\0';
	if (xeci_file_read(&notes, &len, "/sys/kernel/notes") == 0 &&
	    xeci_platform_build_id(out, 129, notes, len) < 0)
		out[0] = '\0';
	free(notes);
}

static void env_set(char *env[], size_t n, xeci_run *r, const char *release)
{
	const xeci_agent_config *cfg = xeci_run_config(r);
	char *k = xeci_run_artifact_path(r, "bzImage"), *m = xeci_run_artifact_path(r, "modules.tar.gz");
	if (asprintf(&env[0], "XECI_KERNEL=%s", k) < 0 || asprintf(&env[1], "XECI_MODULES=%s", m) < 0 ||
	    asprintf(&env[2], "XECI_RELEASE=%s", release) < 0 || asprintf(&env[3], "XECI_BOOT=%s", cfg->host.boot) < 0 ||
	    asprintf(&env[4], "XECI_ARTIFACTS=%s", xeci_run_art_dir(r)) < 0)
		abort();
	env[n - 1] = NULL;
	free(k);
	free(m);
}

static void env_free(char *env[])
{
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
}

/* Runs a reboot-like command and waits to be taken down with the machine;
 * still alive after REBOOT_WAIT_S, the power command forces it. Returns
 * only when neither worked. */
static int reboot_with(const xeci_agent_config *cfg, const char *cmd, char *const env[], const char *log)
{
	int rc = xeci_proc_sh(cmd, log, env, 120000);
	if (rc < 0) /* it did not even start: no power cycle behind its back */
		return rc;
	sleep(REBOOT_WAIT_S);
	if (cfg->host.power_command) {
		XECI_WARN("host: still running %d s after `%s`: power command", REBOOT_WAIT_S, cmd);
		if (xeci_proc_sh(cfg->host.power_command, log, env, 120000) == 0)
			sleep(REBOOT_WAIT_S);
	}
	return xeci_error_setc(XECI_ERROR, "the machine did not reboot (`%s`)", cmd);
}

static char *job_log(const xeci_run *r, const char *name)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", xeci_run_job_dir(r), name) < 0)
		abort();
	return p;
}

int xeci_backend_host_run(xeci_run *r)
{
	const xeci_agent_config *cfg = xeci_run_config(r);
	const xeci_job *j = xeci_run_job(r);
	char running[65];
	running_release(running);
	if (strcmp(running, cfg->host.known_good)) {
		xeci_run_fail(r, true, "the machine runs %s, not its known-good kernel %s", running, cfg->host.known_good);
		return XECI_ERROR;
	}
	char *release = trimmed_artifact(r, "kernelrelease"), *build_id = trimmed_artifact(r, "build-id");
	char *env[6] = {0}, *log = job_log(r, "host.log");
	int rc = 0;
	if (!release || !xeci_job_artifact(j, "bzImage") || !xeci_job_artifact(j, "modules.tar.gz")) {
		xeci_run_fail(r, true, "the build lacks kernelrelease, bzImage or modules.tar.gz");
		rc = XECI_ENOTFOUND;
		goto out;
	}
	env_set(env, 6, r, release);
	if ((rc = xeci_proc_sh(cfg->host.install_command ? cfg->host.install_command : DEFAULT_INSTALL, log, env,
			       INSTALL_TIMEOUT_MS)) < 0) {
		xeci_run_fail(r, true, "install: %s", xeci_error_last());
		goto out;
	}
	xeci_host_state st = {.phase = "booting", .job = j->answer, .release = release, .build_id = build_id,
			      .known_good = cfg->host.known_good};
	if ((rc = xeci_host_state_save(cfg->host.state_file, &st)) < 0) {
		xeci_run_fail(r, true, "%s", xeci_error_last());
		goto out;
	}
	const char *boot = cfg->host.boot_command ? cfg->host.boot_command
			   : !strcmp(cfg->host.boot, "kexec") ? DEFAULT_KEXEC : DEFAULT_BOOTENTRY;
	XECI_INFO("job %lld: booting %s (%s)", (long long)j->id, release, cfg->host.boot);
	rc = reboot_with(cfg, boot, env, log);
	/* still here: the kernel under test was never started */
	xeci_host_state_remove(cfg->host.state_file);
	xeci_run_fail(r, true, "boot of %s: %s", release, xeci_error_last());
out:
	env_free(env);
	free(release);
	free(build_id);
	free(log);
	return rc < 0 ? rc : XECI_ERROR;
}

/* ---- after a reboot --------------------------------------------------------- */

typedef struct resume {
	xeci_client *c;
	const xeci_agent_config *cfg;
	volatile sig_atomic_t *stop;
	xeci_host_state st;
	xeci_job *job;
	xeci_run *run;
} resume;

static int open_run(resume *s)
{
	char job_dir[4096], art_dir[4096];
	if (xeci_job_parse(&s->job, s->st.job) < 0)
		return xeci_agent_error_wrap(XECI_EINVALID, "state file");
	snprintf(job_dir, sizeof(job_dir), "%s/jobs/%lld", s->cfg->work_dir, (long long)s->job->id);
	snprintf(art_dir, sizeof(art_dir), "%s/artifacts/%lld", s->cfg->work_dir, (long long)s->job->build);
	xeci_mkdir_p(job_dir, 0755);
	xeci_run_new(&s->run, s->c, s->cfg, s->job, job_dir, art_dir, s->stop);
	return xeci_run_heartbeat_start(s->run);
}

static int set_phase(resume *s, const char *phase)
{
	free(s->st.phase);
	s->st.phase = xeci_strdup(phase);
	return xeci_host_state_save(s->cfg->host.state_file, &s->st);
}

/* On the kernel under test: the tests, the upload, the way back. */
static int test_here(resume *s)
{
	char running[129];
	running_build_id(running);
	if (s->st.build_id && *s->st.build_id && *running && strcmp(running, s->st.build_id)) {
		xeci_run_fail(s->run, true, "running build id %s, the build's is %s", running, s->st.build_id);
		xeci_agent_finish(s->c, s->run, XECI_ERROR);
		return 0;
	}
	int rc = set_phase(s, "testing");
	if (rc == 0)
		rc = xeci_igt_run_suites(s->run);
	else
		xeci_run_fail(s->run, true, "%s", xeci_error_last());
	xeci_run_heartbeat_stop(s->run);
	xeci_agent_finish(s->c, s->run, rc);
	return 0;
}

static int go_back(resume *s)
{
	char *log = NULL;
	if (asprintf(&log, "%s/host.log", s->cfg->work_dir) < 0)
		abort();
	set_phase(s, "returning");
	XECI_INFO("host: back to %s", s->cfg->host.known_good);
	int rc = reboot_with(s->cfg, s->cfg->host.reboot_command ? s->cfg->host.reboot_command : DEFAULT_REBOOT, NULL,
			     log);
	free(log);
	return rc;
}

/* Phase booting on the known-good kernel: the kernel under test never
 * came up. */
static void not_booted(resume *s, const char *release)
{
	xeci_run_fail(s->run, false, "kernel did not boot: the machine came back on %s", release);
	xeci_run_heartbeat_stop(s->run);
	xeci_agent_finish(s->c, s->run, XECI_ERROR);
}

/* Phase testing at start: the machine (or the agent) died mid-run. What
 * igt_runner left is read as a dead machine's directory. */
static void salvage(resume *s)
{
	xeci_igt_run_salvage(s->run);
	xeci_run_heartbeat_stop(s->run);
	if (xeci_agent_results_count(xeci_run_results(s->run))) {
		xeci_agent_finish(s->c, s->run, 0);
		return;
	}
	xeci_run_fail(s->run, false, "the machine rebooted during the tests and left no results");
	xeci_agent_finish(s->c, s->run, XECI_ERROR);
}

int xeci_backend_host_resume(xeci_client *c, const xeci_agent_config *cfg, volatile sig_atomic_t *stop)
{
	resume s = {.c = c, .cfg = cfg, .stop = stop};
	int rc = xeci_host_state_load(&s.st, cfg->host.state_file);
	if (rc == XECI_ENOTFOUND)
		return 0;
	if (rc < 0) {
		xeci_host_state_remove(cfg->host.state_file); /* unreadable: it cannot guide anything */
		return rc;
	}
	char running[65];
	running_release(running);
	bool on_test = s.st.release && !strcmp(running, s.st.release) && strcmp(running, cfg->host.known_good);
	XECI_INFO("host: resuming (phase %s, running %s)", s.st.phase, running);
	if (!strcmp(s.st.phase, "returning") && !on_test) {
		rc = xeci_host_state_remove(cfg->host.state_file);
	} else if (!strcmp(s.st.phase, "returning")) {
		rc = go_back(&s);
	} else if ((rc = open_run(&s)) == 0) {
		if (strcmp(s.st.phase, "booting"))
			salvage(&s);
		else if (on_test)
			test_here(&s);
		else
			not_booted(&s, running);
		/* stopped on the kernel under test (the machine shutting down?):
		 * the next start resumes from the same phase and goes back then */
		if (on_test && !*stop)
			rc = go_back(&s);
		else if (!on_test)
			rc = xeci_host_state_remove(cfg->host.state_file);
	}
	xeci_run_free(s.run);
	xeci_job_free(s.job);
	xeci_host_state_clear(&s.st);
	return rc;
}
