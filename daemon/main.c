/* xecid: the daemon. One process, one libuv loop: timers and I/O on the
 * loop, blocking work (fetches, parsing, SQLite transactions) on the thread
 * pool. Every stage resumes from the database after a restart. */
#include <getopt.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "config.h"
#include "db.h"
#include "error.h"
#include "log.h"
#include "mail.h"
#include "api_agent.h"
#include "buildq.h"
#include "httpd.h"
#include "poller.h"
#include "router.h"
#include "dispatch.h"

static xeci_poller *poller;
static xeci_buildq *buildq;
static xeci_dispatch *dispatch;
static xeci_router *router;
static xeci_httpd *httpd;
static xeci_api *api;
static uv_signal_t sigint, sigterm;

static void on_signal(uv_signal_t *s, int signum)
{
	XECI_INFO("signal %d: stopping once running fetches finish; running builds are killed and run again at the next start", signum);
	xeci_poller_stop(poller);
	xeci_buildq_stop(buildq);
	xeci_dispatch_stop(dispatch);
	if (api)
		xeci_api_stop(api);
	if (httpd)
		xeci_httpd_stop(httpd);
	uv_close((uv_handle_t *)&sigint, NULL);
	uv_close((uv_handle_t *)&sigterm, NULL);
}

/* The HTTP server (the agent API now, the pages later) on [http] listen. A
 * port in use is logged, not fatal: ingest and builds go on without it. */
static void http_start(uv_loop_t *loop, const xeci_config *cfg)
{
	char *host = NULL;
	int port = 0;
	if (!cfg->http_listen || xeci_config_listen_parse(&host, &port, cfg->http_listen) < 0)
		return;
	xeci_httpd_opts o = XECI_HTTPD_OPTS_INIT;
	o.address = host;
	o.port = port;
	if (xeci_router_new(&router) < 0 || xeci_router_add_builtin(router) < 0 ||
	    xeci_api_new(&api, loop, cfg, router) < 0 || xeci_httpd_new(&httpd, loop, &o, router) < 0 ||
	    xeci_httpd_start(httpd) < 0) {
		XECI_ERR("http: cannot listen on %s: %s", cfg->http_listen, xeci_error_last());
		if (httpd) {
			xeci_httpd_stop(httpd);
		}
	} else {
		XECI_INFO("http: listening on %s:%d", host, xeci_httpd_port(httpd));
	}
	free(host);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: xecid [--config FILE] [--db FILE]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"config", required_argument, 0, 'c'},
						 {"db", required_argument, 0, 'd'},
						 {"help", no_argument, 0, 'h'},
						 {0, 0, 0, 0}};
	const char *cfgpath = NULL, *dbpath = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "c:d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': cfgpath = optarg; break;
		case 'd': dbpath = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	xeci_log_init_from_env();
	xeci_config *cfg;
	const char *env = getenv("XECI_DB");
	if (xeci_config_load_db(&cfg, cfgpath, dbpath ? dbpath : (env && *env ? env : NULL)) < 0) {
		XECI_ERR("%s", xeci_error_last());
		return 1;
	}
	/* Migrate before the loop starts (the only blocking database work on
	 * this thread), so that a bad database stops the daemon at once. */
	xeci_db *db;
	if (xeci_db_open(&db, cfg->db_path) < 0) {
		XECI_ERR("%s", xeci_error_last());
		xeci_config_free(cfg);
		return 1;
	}
	xeci_db_close(db);
	xeci_mail_global_init();
	/* libgit2 stays initialised for the daemon's life: fetches on the
	 * thread pool init and shut it down in turn, and a shutdown to zero
	 * would drop the per-thread error state of the pool's threads. */
	git_libgit2_init();

	uv_loop_t *loop = uv_default_loop();
	xeci_poller_new(&poller, loop, cfg);
	xeci_poller_start(poller);
	xeci_buildq_new(&buildq, loop, cfg);
	xeci_buildq_start(buildq);
	http_start(loop, cfg);
	xeci_dispatch_new(&dispatch, loop, cfg, api);
	xeci_dispatch_start(dispatch);
	uv_signal_init(loop, &sigint);
	uv_signal_init(loop, &sigterm);
	uv_signal_start(&sigint, on_signal, SIGINT);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	XECI_INFO("xecid: database %s, %zu inbox(es)", cfg->db_path, cfg->ninboxes);

	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	xeci_poller_free(poller);
	xeci_buildq_free(buildq);
	xeci_dispatch_free(dispatch);
	xeci_httpd_free(httpd);
	xeci_api_free(api);
	xeci_router_free(router);
	xeci_config_free(cfg);
	XECI_INFO("xecid: stopped");
	return 0;
}
