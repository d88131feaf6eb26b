/* xeci-agent: one per device under test. Registers with xecid, then
 * leases jobs, boots the built kernel on its back-end (qemu, host, sim),
 * runs the tests and uploads the results. SIGTERM/SIGINT: the running job
 * is given up cleanly (no half upload) and the agent exits. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "client.h"
#include "config.h"
#include "error.h"
#include "log.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: xeci-agent --config FILE\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, 0, 'c'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	const char *path = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!path || optind != argc) {
		usage(stderr);
		return 2;
	}
	xeci_log_init_from_env();
	xeci_agent_config *cfg;
	if (xeci_agent_config_load(&cfg, path) < 0) {
		XECI_ERR("%s", xeci_error_last());
		return 1;
	}
	signals();
	xeci_client *client;
	xeci_client_new(&client, cfg->server, cfg->token, &stopping);
	XECI_INFO("xeci-agent: %s back-end, server %s, work dir %s", cfg->backend, cfg->server, cfg->work_dir);
	int rc = xeci_agent_loop(client, cfg, &stopping);
	xeci_client_free(client);
	xeci_agent_config_free(cfg);
	XECI_INFO("xeci-agent: stopped");
	return rc < 0 ? 1 : 0;
}
