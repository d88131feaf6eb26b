/* Child processes of the agent (qemu, initramfs.sh, igt_runner, kexec):
 * each in its own process group, so that killing it kills what it started. */
#ifndef XECI_AGENT_PROC_H
#define XECI_AGENT_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/* Starts argv[0] (looked up in PATH) with stdin from /dev/null and stdout
 * and stderr appended to log_path (NULL: /dev/null). envp_extra: "K=V"
 * strings added to the environment, NULL-terminated, may be NULL. */
int xeci_proc_spawn(pid_t *out, char *const argv[], const char *log_path, char *const envp_extra[]);
/* Non-blocking: true when it has exited (*status as waitpid's). */
bool xeci_proc_exited(pid_t pid, int *status);
/* SIGTERM to the group, then SIGKILL after grace_ms; reaps it. */
void xeci_proc_kill(pid_t pid, unsigned grace_ms);
/* Waits for it, polling `cancel` (may be NULL) every 100 ms and giving up
 * after timeout_ms (0: no limit): then kills it and returns XECI_ETOOBIG
 * (timeout) or XECI_ESTALE (cancelled). *status as waitpid's. */
int xeci_proc_wait(int *status, pid_t pid, unsigned long timeout_ms, bool (*cancel)(const void *), const void *arg);
/* `sh -c cmd`, waited for as xeci_proc_wait; 0 only for exit code 0. */
int xeci_proc_sh(const char *cmd, const char *log_path, char *const envp_extra[], unsigned long timeout_ms);

#endif
