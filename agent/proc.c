/* Child processes. See proc.h. */
#define _GNU_SOURCE
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "errors.h"
#include "util.h"

static void child(char *const argv[], const char *log_path, char *const envp_extra[])
{
	setpgid(0, 0);
	int in = open("/dev/null", O_RDONLY);
	int out = open(log_path ? log_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (in < 0 || out < 0)
		_exit(126);
	dup2(in, 0);
	dup2(out, 1);
	dup2(out, 2);
	for (char *const *e = envp_extra; e && *e; e++)
		putenv(*e);
	/* the agent ignores SIGPIPE; the child must not inherit that */
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], argv);
	dprintf(2, "xeci-agent: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int xeci_proc_spawn(pid_t *out, char *const argv[], const char *log_path, char *const envp_extra[])
{
	pid_t pid = fork();
	if (pid < 0)
		return xeci_error_setc(XECI_ERROR, "fork: %s", strerror(errno));
	if (pid == 0)
		child(argv, log_path, envp_extra);
	setpgid(pid, pid); /* also here: no race with a kill right after */
	*out = pid;
	return 0;
}

bool xeci_proc_exited(pid_t pid, int *status)
{
	if (pid <= 0) { /* not a child: nothing to wait for (an exit 127, as a failed exec) */
		*status = 127 << 8;
		return true;
	}
	return waitpid(pid, status, WNOHANG) == pid;
}

static void nap(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

void xeci_proc_kill(pid_t pid, unsigned grace_ms)
{
	int status;
	if (pid <= 0) /* never a group signal to init or to everything */
		return;
	kill(-pid, SIGTERM);
	for (unsigned t = 0; t < grace_ms; t += 50) {
		if (xeci_proc_exited(pid, &status)) {
			kill(-pid, SIGKILL); /* what it left behind in its group */
			return;
		}
		nap(50);
	}
	kill(-pid, SIGKILL);
	waitpid(pid, &status, 0);
}

int xeci_proc_wait(int *status, pid_t pid, unsigned long timeout_ms, bool (*cancel)(const void *), const void *arg)
{
	uint64_t start = xeci_time_ms();
	for (;;) {
		if (xeci_proc_exited(pid, status))
			return 0;
		if (cancel && cancel(arg)) {
			xeci_proc_kill(pid, 2000);
			return xeci_error_setc(XECI_ESTALE, "cancelled");
		}
		if (timeout_ms && xeci_time_ms() - start > timeout_ms) {
			xeci_proc_kill(pid, 2000);
			return xeci_error_setc(XECI_ETOOBIG, "timed out after %lu s", timeout_ms / 1000);
		}
		nap(100);
	}
}

int xeci_proc_sh(const char *cmd, const char *log_path, char *const envp_extra[], unsigned long timeout_ms)
{
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	pid_t pid = -1;
	int status = 0;
	int rc = xeci_proc_spawn(&pid, argv, log_path, envp_extra);
	if (rc == 0)
		rc = xeci_proc_wait(&status, pid, timeout_ms, NULL, NULL);
	if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		rc = xeci_error_setc(XECI_ERROR, "`%s` failed (%s %d)", cmd, WIFEXITED(status) ? "exit" : "signal",
				     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	else if (rc < 0)
		rc = xeci_agent_error_wrap(rc, "`%s`", cmd);
	return rc;
}
