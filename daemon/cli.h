/* The `xeci` command line: one function per command, each in the cmd_*.c
 * file of its stage. argv[0] is the command's last word ("parse", "list"). */
#ifndef XECI_CLI_H
#define XECI_CLI_H

/* exit codes */
enum { XECI_EXIT_OK = 0, XECI_EXIT_FAIL = 1, XECI_EXIT_USAGE = 2 };

int xeci_cmd_mail_parse(int argc, char **argv);     /* cmd_mail.c */
int xeci_cmd_mail_list(int argc, char **argv);      /* cmd_db.c */
int xeci_cmd_series_assemble(int argc, char **argv); /* cmd_series.c */
int xeci_cmd_series_list(int argc, char **argv);    /* cmd_db.c */
int xeci_cmd_series_show(int argc, char **argv);    /* cmd_db.c */
int xeci_cmd_ingest(int argc, char **argv);         /* cmd_ingest.c */

struct xeci_config;
/* The database path: --db FILE, else $XECI_DB, else the configuration's
 * [database] path (default ./xeci.db). */
const char *xeci_cli_db_path(const char *opt_db, const struct xeci_config *cfg);

#endif
