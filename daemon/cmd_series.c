/* placeholder until series assembly lands (owned by the series work) */
#include <stdio.h>
#include "cli.h"
int xeci_cmd_series_assemble(int argc, char **argv)
{
	fprintf(stderr, "xeci: series assemble: not implemented yet\n");
	return XECI_EXIT_FAIL;
}
