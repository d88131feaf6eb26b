/* The `xeci` command line: one function per command, each in the cmd_*.c
 * file of its stage. argv[0] is the command's last word ("parse", "list"). */
#ifndef XECI_CLI_H
#define XECI_CLI_H

/* exit codes */
enum { XECI_EXIT_OK = 0, XECI_EXIT_FAIL = 1, XECI_EXIT_USAGE = 2 };

int xeci_cmd_mail_parse(int argc, char **argv);     /* cmd_mail.c */
int xeci_cmd_mail_list(int argc, char **argv);      /* cmd_mail_list.c */
int xeci_cmd_series_assemble(int argc, char **argv); /* cmd_series.c */
int xeci_cmd_series_list(int argc, char **argv);    /* cmd_series_db.c */
int xeci_cmd_series_show(int argc, char **argv);    /* cmd_series_db.c */
int xeci_cmd_ingest(int argc, char **argv);         /* cmd_ingest.c */
int xeci_cmd_apply(int argc, char **argv);          /* cmd_apply.c */
int xeci_cmd_build(int argc, char **argv);          /* cmd_build.c */
int xeci_cmd_builds(int argc, char **argv);         /* cmd_build_db.c */
int xeci_cmd_build_show(int argc, char **argv);     /* cmd_build_db.c */
int xeci_cmd_build_log(int argc, char **argv);      /* cmd_build_db.c */
int xeci_cmd_agent_add(int argc, char **argv);      /* cmd_dispatch.c */
int xeci_cmd_agent_release(int argc, char **argv);  /* cmd_dispatch.c */
int xeci_cmd_agent_remove(int argc, char **argv);   /* cmd_dispatch.c */
int xeci_cmd_agents(int argc, char **argv);         /* cmd_dispatch.c */
int xeci_cmd_jobs(int argc, char **argv);           /* cmd_dispatch.c */
int xeci_cmd_job_show(int argc, char **argv);       /* cmd_dispatch.c */
int xeci_cmd_requeue(int argc, char **argv);        /* cmd_dispatch.c */
int xeci_cmd_results_parse(int argc, char **argv);  /* cmd_results.c */

/* Shared option helpers (cli.c). */
#include <stdbool.h>
#include <stddef.h>

struct xeci_config;
struct xeci_db;

/* The options of the query commands. */
typedef struct xeci_cli_query {
	const char *db;     /* --db FILE */
	const char *config; /* --config FILE */
	bool json;          /* --json */
	bool errors;        /* --errors */
	long limit;         /* --limit N (default 50) */
	const char *state;  /* --state STATE */
} xeci_cli_query;

/* Parses the query options; returns the index of the first positional
 * argument, or -1 on an unknown option or a bad value. */
int xeci_cli_query_parse(xeci_cli_query *q, int argc, char **argv);
/* Opens the database the options name (see xeci_cli_config_load); prints
 * the error and returns NULL on failure. */
struct xeci_db *xeci_cli_open_db(const xeci_cli_query *q);

struct xeci_mail;
/* Parses every message of the mbox at path (flags: XECI_MBOX_*); a message
 * that does not parse is reported on stderr and left out. */
int xeci_cli_read_mails(struct xeci_mail ***out, size_t *n, const char *path, unsigned flags);

/* Loads the configuration (--config FILE, else $XECI_CONFIG, else defaults)
 * with the database path from --db FILE, else $XECI_DB, else the file's
 * [database] path (default ./xeci.db). Prints the error on failure. */
int xeci_cli_config_load(struct xeci_config **out, const char *opt_config, const char *opt_db);

#endif
