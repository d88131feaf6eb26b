/* xeci: the command line. Queries, admin, and offline tools that run one
 * stage on files. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"

typedef struct command {
	const char *group; /* first word, or NULL for a one-word command */
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
} command;

static const command commands[] = {
	{"mail", "parse", xeci_cmd_mail_parse, "mail parse FILE       parse a message or an mbox, one JSON object per message"},
	{"mail", "list", xeci_cmd_mail_list, "mail list [--errors] [--db FILE]   messages in the database"},
	{"series", "assemble", xeci_cmd_series_assemble, "series assemble MBOX   series versions found in an mbox, as JSON"},
	{"series", "list", xeci_cmd_series_list, "series list [--db FILE] [--json]"},
	{"series", "show", xeci_cmd_series_show, "series show ID [--db FILE] [--json]"},
	{NULL, "ingest", xeci_cmd_ingest,
	 "ingest (--inbox URL_OR_DIR | --mbox FILE | --maildir DIR) [--db FILE]   fetch into the database"},
	{NULL, "apply", xeci_cmd_apply, "apply --repo GITDIR --mbox FILE [--branch BRANCH] [--ref REF]   base detection and apply, as JSON"},
	{"build", "show", xeci_cmd_build_show, "build show ID [--json] [--db FILE]   one build: state, base, artifacts, checks"},
	{"build", "log", xeci_cmd_build_log, "build log ID [--db FILE]   the build's log"},
	{NULL, "build", xeci_cmd_build,
	 "build --repo GITDIR --rev REV --config NAME --out DIR [--work DIR]   one sandboxed kernel build"},
	{"agent", "add", xeci_cmd_agent_add, "agent add NAME --platform P   a new agent; prints its token once"},
	{"agent", "release", xeci_cmd_agent_release, "agent release NAME   out of quarantine"},
	{"agent", "remove", xeci_cmd_agent_remove, "agent remove NAME   its token stops working; its jobs go back to the queue"},
	{NULL, "agents", xeci_cmd_agents, "agents [--json]   agents, their state and running job"},
	{NULL, "jobs", xeci_cmd_jobs, "jobs [--state S] [--json]   test jobs"},
	{"job", "show", xeci_cmd_job_show, "job show ID [--json]   one job: leases and per-test results"},
	{NULL, "requeue", xeci_cmd_requeue, "requeue JOB_ID   run a job again"},
	{"results", "parse", xeci_cmd_results_parse,
	 "results parse --format igt DIR | --format ktap FILE   test results as JSON lines"},
	{NULL, "builds", xeci_cmd_builds, "builds [--state STATE] [--json] [--db FILE]   the build queue and results"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: xeci COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  xeci %s\n", commands[i].usage);
}

int main(int argc, char **argv)
{
	xeci_log_init_from_env();
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? XECI_EXIT_USAGE : XECI_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const command *c = &commands[i];
		if (!c->group && !strcmp(argv[1], c->name))
			return c->fn(argc - 1, argv + 1);
		if (c->group && !strcmp(argv[1], c->group) && argc >= 3 && !strcmp(argv[2], c->name))
			return c->fn(argc - 2, argv + 2);
	}
	fprintf(stderr, "xeci: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return XECI_EXIT_USAGE;
}
