/* Results from the serial console of a qemu run (backend_qemu.c): the
 * kernel's KTAP (KUnit, before /init) and each suite the initramfs's /init
 * ran between its `xeci-suite-begin: S` and `xeci-suite-end: S rc=N`
 * lines (kernel/initramfs.sh), read with common/results_ktap. */
#ifndef XECI_AGENT_CONSOLE_H
#define XECI_AGENT_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

#include "job.h"
#include "results.h"

/* How the run ended, for the tests the console leaves open. */
typedef enum xeci_console_end {
	XECI_CONSOLE_DONE,    /* the init finished (or qemu exited) */
	XECI_CONSOLE_TIMEOUT, /* the agent killed qemu at the run timeout */
} xeci_console_end;

/* Adds the results of every kunit:* and ktap:* suite of the job. A test
 * the console shows started and unfinished is "crash" (a kernel panic) or
 * "timeout"; a suite that never started is one "notrun" result named
 * after it. The console's last lines go in `dmesg` of crashed tests. */
void xeci_console_results(xeci_agent_results *res, const xeci_job *j, const char *console, size_t len,
			  xeci_console_end end);

/* Did the kernel get far enough to run tests (KTAP or the init's start)? */
bool xeci_console_booted(const char *console, size_t len);
/* The result lines so far ("ok N" / "not ok N" at any depth), and the
 * name of the last one in *last (free() it; may be NULL). */
int xeci_console_progress(const char *console, size_t len, char **last);

#endif
