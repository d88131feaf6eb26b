/* Option helpers shared by the command line's commands. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "error.h"
#include "mail.h"
#include "mbox.h"
#include "util.h"

int xeci_cli_config_load(xeci_config **out, const char *opt_config, const char *opt_db)
{
	const char *env = getenv("XECI_DB");
	int rc = xeci_config_load_db(out, opt_config, opt_db ? opt_db : (env && *env ? env : NULL));
	if (rc < 0)
		fprintf(stderr, "xeci: %s\n", xeci_error_last());
	return rc;
}

int xeci_cli_query_parse(xeci_cli_query *q, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, 0, 'd'}, {"config", required_argument, 0, 'c'},
		{"json", no_argument, 0, 'j'}, {"errors", no_argument, 0, 'e'},
		{"limit", required_argument, 0, 'l'}, {"state", required_argument, 0, 's'},
		{0, 0, 0, 0}};
	char *end;
	int c;
	memset(q, 0, sizeof(*q));
	q->limit = 50;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': q->db = optarg; break;
		case 'c': q->config = optarg; break;
		case 'j': q->json = true; break;
		case 'e': q->errors = true; break;
		case 's': q->state = optarg; break;
		case 'l':
			q->limit = strtol(optarg, &end, 10);
			if (*end || q->limit <= 0)
				return -1;
			break;
		default: return -1;
		}
	}
	return optind;
}

xeci_db *xeci_cli_open_db(const xeci_cli_query *q)
{
	xeci_config *cfg = NULL;
	xeci_db *db = NULL;
	if (xeci_cli_config_load(&cfg, q->config, q->db) < 0)
		return NULL;
	if (xeci_db_open(&db, cfg->db_path) < 0) {
		fprintf(stderr, "xeci: %s\n", xeci_error_last());
		db = NULL;
	}
	xeci_config_free(cfg);
	return db;
}

int xeci_cli_read_mails(xeci_mail ***out, size_t *n, const char *path, unsigned flags)
{
	xeci_mbox *mb;
	const char *msg;
	size_t len, cap = 0;
	int rc;
	*out = NULL;
	*n = 0;
	if ((rc = xeci_mbox_open(&mb, path, flags)) < 0)
		return rc;
	while ((rc = xeci_mbox_next(&msg, &len, mb)) == 0) {
		xeci_mail *m;
		if (xeci_mail_parse(&m, msg, len, 0) < 0) {
			fprintf(stderr, "xeci: %s: message %zu skipped: %s\n", path, *n + 1,
				xeci_error_last());
			continue;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*out = xeci_realloc(*out, cap * sizeof(**out));
		}
		(*out)[(*n)++] = m;
	}
	xeci_mbox_free(mb);
	return rc == XECI_ITEROVER ? 0 : rc;
}
