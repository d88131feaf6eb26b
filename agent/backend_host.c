#include "backend.h"
#include "error.h"
int xeci_backend_host_run(xeci_run *r) { xeci_run_fail(r, true, "todo"); return XECI_ERROR; }
int xeci_backend_host_resume(xeci_client *c, const xeci_agent_config *cfg, volatile sig_atomic_t *stop) { return 0; }
