#include "cli.h"
int xeci_cmd_ingest(int argc, char **argv) { return XECI_EXIT_FAIL; }
