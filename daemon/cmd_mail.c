/* placeholder until the mail parser lands (owned by the mail-parser work) */
#include <stdio.h>
#include "cli.h"
int xeci_cmd_mail_parse(int argc, char **argv)
{
	fprintf(stderr, "xeci: mail parse: not implemented yet\n");
	return XECI_EXIT_FAIL;
}
