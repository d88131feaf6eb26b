#include "backend.h"
#include "error.h"
int xeci_backend_qemu_run(xeci_run *r) { xeci_run_fail(r, true, "todo"); return XECI_ERROR; }
