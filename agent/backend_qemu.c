/* The qemu back-end: the job's kernel (bzImage) boots in
 * qemu-system-x86_64 with an initramfs of the build's modules and
 * selftests (kernel/initramfs.sh, made once per build), on a serial console
 * written to JOBDIR/console.log. KUnit prints its KTAP at boot; the init
 * runs the ktap: suites and powers off. Results come from the console
 * (console.c).
 *
 * Timeouts: no sign of a booted kernel (KTAP or the init's start line)
 * within qemu.bootTimeout → the job fails, "kernel did not boot" (not an
 * infrastructure failure: the kernel under test is at fault; the console is
 * kept). The whole run is bounded by qemu.runTimeout: qemu is killed and
 * the tests left open are "timeout". A panic ends qemu by itself
 * (panic=-1, -no-reboot): the running test is "crash". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "buf.h"
#include "console.h"
#include "error.h"
#include "log.h"
#include "proc.h"
#include "util.h"

#define POLL_MS 200
#define INITRAMFS_TIMEOUT_MS (5 * 60 * 1000)
#define KVM_PROBE_MS 20000

static bool run_cancelled(const void *r)
{
	return xeci_run_cancelled(r);
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* ART/initramfs.cpio.gz, made once per build (the artifacts do not change). */
static int initramfs(char **out, xeci_run *r)
{
	const xeci_agent_config *cfg = xeci_run_config(r);
	char *path = xeci_run_artifact_path(r, "initramfs.cpio.gz");
	if (exists(path)) {
		*out = path;
		return 0;
	}
	char *log = NULL;
	if (asprintf(&log, "%s/initramfs.log", xeci_run_job_dir(r)) < 0)
		abort();
	char *argv[] = {cfg->qemu.initramfs, (char *)xeci_run_art_dir(r), path, NULL};
	pid_t pid = -1;
	int status = 0;
	int rc = xeci_proc_spawn(&pid, argv, log, NULL);
	if (rc == 0)
		rc = xeci_proc_wait(&status, pid, INITRAMFS_TIMEOUT_MS, run_cancelled, r);
	if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		rc = xeci_error_setc(XECI_ERROR, "%s failed (see %s)", cfg->qemu.initramfs, log);
	free(log);
	if (rc < 0) {
		free(path);
		return rc;
	}
	*out = path;
	return 0;
}

/* "kunit:xe,ktap:hmm-tests" for the init; KUnit is off when not asked for. */
static void cmdline(xeci_buf *b, const xeci_job *j, const char *extra)
{
	bool kunit = false;
	xeci_buf_puts(b, "console=ttyS0 panic=-1 xeci.suites=");
	for (size_t i = 0; i < j->nsuites; i++) {
		if (xeci_str_startswith(j->suites[i], "kunit:"))
			kunit = true;
		/* the command line is split at spaces: a suite name has none */
		if (!strpbrk(j->suites[i], " \t\n"))
			xeci_buf_printf(b, "%s%s", i ? "," : "", j->suites[i]);
	}
	xeci_buf_printf(b, " kunit.enable=%d", kunit ? 1 : 0);
	if (extra && *extra)
		xeci_buf_printf(b, " %s", extra);
}

typedef struct qemu_args {
	char *argv[40];
	int n;
	char mem[32], smp[32], serial[4200];
} qemu_args;

static void arg(qemu_args *a, const char *s)
{
	if (a->n < (int)(sizeof(a->argv) / sizeof(a->argv[0])) - 1)
		a->argv[a->n++] = (char *)s;
	a->argv[a->n] = NULL;
}

static void qemu_argv(qemu_args *a, const xeci_agent_config *cfg, bool kvm, const char *kernel,
		      const char *initrd, const char *append, const char *console)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->mem, sizeof(a->mem), "%lld", (long long)cfg->qemu.memory_mb);
	snprintf(a->smp, sizeof(a->smp), "%lld", (long long)cfg->qemu.cpus);
	snprintf(a->serial, sizeof(a->serial), "file:%s", console);
	const char *base[] = {cfg->qemu.binary, "-nodefaults", "-m", a->mem, "-smp", a->smp, "-kernel", kernel,
			      "-append", append, "-no-reboot", "-display", "none", "-monitor", "none", "-serial",
			      a->serial};
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		arg(a, base[i]);
	if (initrd) {
		arg(a, "-initrd");
		arg(a, initrd);
	}
	if (kvm) {
		arg(a, "-enable-kvm");
		arg(a, "-cpu");
		arg(a, "host");
	}
}

/* New console bytes into b. */
static void read_more(xeci_buf *b, int fd)
{
	char chunk[65536];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		xeci_buf_put(b, chunk, (size_t)n);
}

/* Does a KVM guest boot here? REFERENCE.md §1: /dev/kvm may exist and
 * still hang the guest, so auto boots the job's kernel once with KVM (no
 * initramfs: it panics at the root mount, which is proof enough) and
 * remembers the answer for the agent's life. */
static bool kvm_works(xeci_run *r, const char *kernel)
{
	static int known = -1;
	if (known >= 0)
		return known;
	known = 0;
	if (access("/dev/kvm", R_OK | W_OK) < 0)
		return false;
	char *con = NULL;
	if (asprintf(&con, "%s/kvm-probe.log", xeci_run_job_dir(r)) < 0)
		abort();
	unlink(con);
	qemu_args a;
	qemu_argv(&a, xeci_run_config(r), true, kernel, NULL, "console=ttyS0 panic=-1 kunit.enable=0", con);
	pid_t pid = -1;
	int status;
	if (xeci_proc_spawn(&pid, a.argv, NULL, NULL) == 0) {
		xeci_proc_wait(&status, pid, KVM_PROBE_MS, NULL, NULL);
		char *text = NULL;
		size_t len = 0;
		if (xeci_file_read(&text, &len, con) == 0)
			known = memmem(text, len, "Kernel panic", 12) || memmem(text, len, "Run /init", 9);
		free(text);
	}
	XECI_INFO("qemu: KVM %s (probe boot)", known ? "works" : "does not work: using TCG");
	free(con);
	return known;
}

typedef struct watch {
	xeci_buf con;
	bool booted, timed_out, boot_timeout;
	int status;
} watch;

/* Follows the console until qemu exits, a timeout, or cancellation
 * (XECI_ESTALE). */
static int follow(watch *w, xeci_run *r, pid_t pid, const char *console)
{
	const xeci_agent_config *cfg = xeci_run_config(r);
	uint64_t start = xeci_time_ms();
	int fd = -1, last_done = -1;
	for (;;) {
		bool exited = xeci_proc_exited(pid, &w->status);
		if (fd < 0)
			fd = open(console, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			read_more(&w->con, fd);
		if (!w->booted)
			w->booted = xeci_console_booted(w->con.ptr ? w->con.ptr : "", w->con.len);
		char *last = NULL;
		int done = xeci_console_progress(w->con.ptr ? w->con.ptr : "", w->con.len, &last);
		if (done != last_done)
			xeci_run_progress(r, last, done, 0);
		last_done = done;
		free(last);
		if (exited)
			break;
		uint64_t t = xeci_time_ms() - start;
		if (xeci_run_cancelled(r) || (!w->booted && t > (uint64_t)cfg->qemu.boot_timeout_s * 1000) ||
		    t > (uint64_t)cfg->qemu.run_timeout_s * 1000) {
			w->boot_timeout = !w->booted && !xeci_run_cancelled(r);
			w->timed_out = !xeci_run_cancelled(r);
			xeci_proc_kill(pid, 1000);
			if (fd >= 0)
				read_more(&w->con, fd);
			break;
		}
		xeci_run_sleep(r, POLL_MS);
	}
	if (fd >= 0)
		close(fd);
	return xeci_run_cancelled(r) ? XECI_ESTALE : 0;
}

/* A panic line, for the fail reason. */
static void panic_line(char *out, size_t n, const xeci_buf *con)
{
	const char *p = con->ptr ? memmem(con->ptr, con->len, "Kernel panic", 12) : NULL;
	out[0] = '\0';
	if (p)
		snprintf(out, n, ": %.*s", (int)strcspn(p, "\r\n"), p);
}

static int verdict(xeci_run *r, watch *w, const char *console)
{
	if (!w->booted) {
		char why[512];
		panic_line(why, sizeof(why), &w->con);
		if (!w->con.len && !w->boot_timeout) /* qemu itself did not start */
			xeci_run_fail(r, true, "qemu exited at once (status %d): see %s/qemu.log", w->status,
				      xeci_run_job_dir(r));
		else
			xeci_run_fail(r, false, "kernel did not boot%s%s (console kept: %s)",
				      w->boot_timeout ? " in time" : "", why, console);
		return XECI_ERROR;
	}
	xeci_console_results(xeci_run_results(r), xeci_run_job(r), w->con.ptr, w->con.len,
			     w->timed_out ? XECI_CONSOLE_TIMEOUT : XECI_CONSOLE_DONE);
	return 0;
}

static int boot(xeci_run *r, const char *kernel, const char *initrd)
{
	const xeci_agent_config *cfg = xeci_run_config(r);
	char *console = NULL, *log = NULL;
	if (asprintf(&console, "%s/console.log", xeci_run_job_dir(r)) < 0 ||
	    asprintf(&log, "%s/qemu.log", xeci_run_job_dir(r)) < 0)
		abort();
	unlink(console);
	bool kvm = !strcmp(cfg->qemu.kvm, "on") || (!strcmp(cfg->qemu.kvm, "auto") && kvm_works(r, kernel));
	xeci_buf append = XECI_BUF_INIT;
	cmdline(&append, xeci_run_job(r), cfg->qemu.append);
	qemu_args a;
	qemu_argv(&a, cfg, kvm, kernel, initrd, append.ptr, console);
	XECI_INFO("job %lld: booting %s (%s) with '%s'", (long long)xeci_run_job(r)->id, kernel, kvm ? "KVM" : "TCG",
		  append.ptr);
	watch w = {.con = XECI_BUF_INIT};
	pid_t pid = -1;
	int rc = xeci_proc_spawn(&pid, a.argv, log, NULL);
	if (rc < 0)
		xeci_run_fail(r, true, "qemu: %s", xeci_error_last());
	else if ((rc = follow(&w, r, pid, console)) == 0)
		rc = verdict(r, &w, console);
	xeci_buf_free(&w.con);
	xeci_buf_free(&append);
	free(console);
	free(log);
	return rc;
}

int xeci_backend_qemu_run(xeci_run *r)
{
	char *kernel = xeci_run_artifact_path(r, "bzImage"), *initrd = NULL;
	int rc;
	if (!xeci_job_artifact(xeci_run_job(r), "bzImage")) {
		xeci_run_fail(r, true, "the build has no bzImage artifact");
		rc = XECI_ENOTFOUND;
	} else if ((rc = initramfs(&initrd, r)) < 0) {
		if (rc != XECI_ESTALE)
			xeci_run_fail(r, true, "initramfs: %s", xeci_error_last());
	} else {
		rc = boot(r, kernel, initrd);
	}
	free(kernel);
	free(initrd);
	return rc == XECI_ESTALE || xeci_run_cancelled(r) ? XECI_ESTALE : rc;
}
