#include <stdio.h>
#include <stdlib.h>
#include "cli.h"
const char *xeci_cli_db_path(const char *opt_db)
{
	if (opt_db)
		return opt_db;
	const char *e = getenv("XECI_DB");
	return e ? e : "xeci.db";
}
int xeci_cmd_mail_list(int argc, char **argv) { return XECI_EXIT_FAIL; }
int xeci_cmd_series_list(int argc, char **argv) { return XECI_EXIT_FAIL; }
int xeci_cmd_series_show(int argc, char **argv) { return XECI_EXIT_FAIL; }
