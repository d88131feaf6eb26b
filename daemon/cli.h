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
/* Loads the configuration (--config FILE, else $XECI_CONFIG, else defaults)
 * with the database path from --db FILE, else $XECI_DB, else the file's
 * [database] path (default ./xeci.db). Prints the error on failure. */
int xeci_cli_config_load(struct xeci_config **out, const char *opt_config, const char *opt_db);

#endif
