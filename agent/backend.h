/* The DUT back-ends. Each runs one job: it fills the run's results and
 * returns 0 (they are uploaded, final), or returns < 0 having said why with
 * xeci_run_fail() (the job's fail call), or returns XECI_ESTALE when the
 * run was cancelled (lease lost, agent stopping: nothing is sent). */
#ifndef XECI_AGENT_BACKEND_H
#define XECI_AGENT_BACKEND_H

#include "config.h"
#include "run.h"

/* qemu: boots the build's bzImage with an initramfs of its modules and
 * selftests; KUnit and TAP results from the console (backend_qemu.c). */
int xeci_backend_qemu_run(xeci_run *r);
/* sim: scripted outcomes (backend_sim.c). */
int xeci_backend_sim_run(xeci_run *r);
/* host: a real Xe machine, IGT (backend_host.c). */
int xeci_backend_host_run(xeci_run *r);

/* host only: at agent start, a job interrupted by the reboot into the
 * kernel under test (or back from it) continues from the state file.
 * Returns 0 when there was nothing to resume or it was finished here. */
int xeci_backend_host_resume(xeci_client *c, const xeci_agent_config *cfg, volatile sig_atomic_t *stop);

#endif
