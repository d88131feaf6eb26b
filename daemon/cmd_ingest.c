/* xeci ingest: one-shot fetch of public-inbox archives, or import of an mbox
 * or a Maildir, into the database; prints a summary and exits. Run again, it
 * reads only what is new (the cursors are in the database). */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "cli.h"
#include "config.h"
#include "error.h"
#include "ingest.h"
#include "log.h"
#include "mbox.h"
#include "util.h"

typedef struct progress_state {
	uint64_t start_ms;
	bool tty;
} progress_state;

static void show_progress(const xeci_ingest_stats *s, int epoch, void *payload)
{
	progress_state *ps = payload;
	if (!ps->tty)
		return;
	double secs = (double)(xeci_time_ms() - ps->start_ms) / 1000.0;
	fprintf(stderr, "\r%s%d: %llu messages, %.0f/s   ", epoch >= 0 ? "epoch " : "", epoch >= 0 ? epoch : 0,
		(unsigned long long)s->messages, secs > 0 ? (double)s->messages / secs : 0.0);
}

static int64_t count(xeci_db *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;
	if (sqlite3_prepare_v2(xeci_db_handle(db), sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* The summary: this run's figures; with --totals, the database's too. The
 * totals scan the messages and series_versions tables (7 MB, ~7 ms at
 * 50,000 messages, growing with the archive): most of a one-message run,
 * which is why they are asked for rather than always printed. */
static void print_summary(xeci_db *db, const xeci_ingest_stats *s, uint64_t ms, bool totals)
{
	printf("fetched: %llu messages (%llu new, %llu duplicates, %llu errors, %llu removed) in %.2f s\n",
	       (unsigned long long)s->messages, (unsigned long long)s->stored,
	       (unsigned long long)s->duplicates, (unsigned long long)s->errors,
	       (unsigned long long)s->removed, (double)ms / 1000.0);
	printf("series: %llu versions completed\n", (unsigned long long)s->completed);
	if (!totals)
		return;
	printf("database: %lld messages, %lld errors, %lld series, %lld versions, %lld complete, "
	       "%lld incomplete, %lld ignored\n",
	       (long long)count(db, "SELECT count(*) FROM messages"),
	       (long long)count(db, "SELECT count(*) FROM messages WHERE status != 'ok' AND status = 'error'"),
	       (long long)count(db, "SELECT count(*) FROM series"),
	       (long long)count(db, "SELECT count(*) FROM series_versions"),
	       (long long)count(db, "SELECT count(*) FROM series_versions WHERE completed_at IS NOT NULL"),
	       (long long)count(db, "SELECT count(*) FROM series_versions WHERE state = 'incomplete'"),
	       (long long)count(db, "SELECT count(*) FROM series_versions WHERE state = 'ignored'"));
}

/* Reads an mbox or every file of a Maildir through one ingest. */
static int import_files(xeci_ingest *ing, const char *mbox, const char *maildir, bool mboxrd)
{
	char src[4096];
	if (mbox) {
		xeci_mbox *mb;
		const char *msg;
		size_t len, i = 0;
		int rc;
		if (xeci_mbox_open(&mb, mbox, mboxrd ? XECI_MBOX_RD : 0) < 0)
			return XECI_EIO;
		while ((rc = xeci_mbox_next(&msg, &len, mb)) == 0) {
			snprintf(src, sizeof(src), "%s#%zu", mbox, i++);
			xeci_inbox_msg m = {.data = msg, .len = len, .epoch = -1, .source = src};
			if ((rc = xeci_ingest_add(&m, ing)) < 0)
				break;
		}
		xeci_mbox_free(mb);
		return rc == XECI_ITEROVER ? 0 : rc;
	}
	char **paths;
	size_t n;
	if (xeci_maildir_list(&paths, &n, maildir) < 0)
		return XECI_EIO;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char *data;
		size_t len;
		if (rc == 0 && xeci_file_read(&data, &len, paths[i]) == 0) {
			xeci_inbox_msg m = {.data = data, .len = len, .epoch = -1, .source = paths[i]};
			rc = xeci_ingest_add(&m, ing);
			free(data);
		} else if (rc == 0) {
			XECI_ERR("%s", xeci_error_last());
		}
	}
	xeci_maildir_list_free(paths, n);
	return rc;
}

static void usage(void)
{
	fprintf(stderr, "usage: xeci ingest [--config FILE] [--db FILE] [--name NAME] [--transport git|atom] [--totals]\n"
			"                   (--inbox URL_OR_DIR | --mbox FILE [--mboxrd] | --maildir DIR)\n"
			"       without a source, fetches every [inbox] of the configuration once\n");
}

int xeci_cmd_ingest(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, 0, 'c'}, {"db", required_argument, 0, 'd'},
		{"inbox", required_argument, 0, 'i'}, {"mbox", required_argument, 0, 'm'},
		{"maildir", required_argument, 0, 'M'}, {"mboxrd", no_argument, 0, 'r'},
		{"name", required_argument, 0, 'n'}, {"transport", required_argument, 0, 't'},
		{"totals", no_argument, 0, 'T'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	const char *cfgpath = NULL, *dbpath = NULL, *inbox = NULL, *mbox = NULL, *maildir = NULL;
	const char *name = NULL, *transport = "git";
	bool mboxrd = false, totals = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': cfgpath = optarg; break;
		case 'd': dbpath = optarg; break;
		case 'i': inbox = optarg; break;
		case 'm': mbox = optarg; break;
		case 'M': maildir = optarg; break;
		case 'r': mboxrd = true; break;
		case 'n': name = optarg; break;
		case 't': transport = optarg; break;
		case 'T': totals = true; break;
		case 'h': usage(); return XECI_EXIT_OK;
		default: usage(); return XECI_EXIT_USAGE;
		}
	}
	if (optind != argc || (!!inbox + !!mbox + !!maildir) > 1 ||
	    (strcmp(transport, "git") && strcmp(transport, "atom"))) {
		usage();
		return XECI_EXIT_USAGE;
	}

	/* One libgit2 set-up for the whole run: xeci.conf is read with its config
	 * API, and each init after a full shutdown parses the system CA bundle
	 * again (mbedTLS, 5-15 ms); the fetch takes its own reference, if it
	 * needs libgit2 at all. */
	git_libgit2_init();
	xeci_config *cfg;
	if (xeci_cli_config_load(&cfg, cfgpath, dbpath) < 0) {
		git_libgit2_shutdown();
		return XECI_EXIT_FAIL;
	}
	xeci_db *db;
	if (xeci_db_open(&db, cfg->db_path) < 0) {
		fprintf(stderr, "xeci: %s\n", xeci_error_last());
		xeci_config_free(cfg);
		git_libgit2_shutdown();
		return XECI_EXIT_FAIL;
	}
	xeci_mail_global_init();

	progress_state ps = {xeci_time_ms(), isatty(2)};
	xeci_series_opts sopts = {NULL, cfg->incomplete_wait};
	xeci_ingest_opts opts = {.max_message_size = cfg->max_message_size, .series = &sopts,
				 .progress = show_progress, .progress_payload = &ps};
	xeci_ingest_stats total = {0};
	int rc = 0;

	if (mbox || maildir) {
		int64_t id;
		xeci_ingest *ing;
		const char *path = mbox ? mbox : maildir;
		char url[4200];
		snprintf(url, sizeof(url), "file:%s", path);
		rc = xeci_ingest_inbox_ensure(&id, db, name ? name : "local", url, "local");
		if (rc == 0) {
			xeci_ingest_new(&ing, db, id, &opts);
			rc = import_files(ing, mbox, maildir, mboxrd);
			int frc = xeci_ingest_flush(ing);
			rc = rc ? rc : frc;
			xeci_ingest_stats_get(&total, ing);
			xeci_ingest_free(ing);
		}
	} else if (inbox) {
		char *tmp = xeci_strdup(inbox);
		size_t l = strlen(tmp);
		while (l > 1 && tmp[l - 1] == '/')
			tmp[--l] = '\0';
		xeci_config_inbox ib = {.name = (char *)(name ? name : basename(tmp)), .url = (char *)inbox,
					.transport = (char *)transport};
		const xeci_config_inbox *known = xeci_config_inbox_find(cfg, ib.name);
		if (known)
			sopts.filter = &known->filter;
		char mirror[4096];
		snprintf(mirror, sizeof(mirror), "%s/mirrors/%s", cfg->data_dir, ib.name);
		rc = xeci_ingest_fetch(&total, db, &ib, mirror, &opts);
		free(tmp);
	} else {
		for (size_t i = 0; i < cfg->ninboxes; i++) {
			const xeci_config_inbox *ib = &cfg->inboxes[i];
			char mirror[4096];
			xeci_ingest_stats s = {0};
			snprintf(mirror, sizeof(mirror), "%s/mirrors/%s", cfg->data_dir, ib->name);
			sopts.filter = &ib->filter;
			int r = xeci_ingest_fetch(&s, db, ib, mirror, &opts);
			if (r < 0) {
				fprintf(stderr, "xeci: %s\n", xeci_error_last());
				rc = r;
			}
			total.messages += s.messages, total.stored += s.stored, total.errors += s.errors;
			total.duplicates += s.duplicates, total.removed += s.removed;
			total.completed += s.completed;
		}
		if (!cfg->ninboxes)
			fprintf(stderr, "xeci: no inbox given and none configured\n");
	}
	if (ps.tty)
		fprintf(stderr, "\n");
	if (rc < 0 && (inbox || mbox || maildir))
		fprintf(stderr, "xeci: %s\n", xeci_error_last());
	print_summary(db, &total, xeci_time_ms() - ps.start_ms, totals);
	xeci_db_close(db);
	xeci_config_free(cfg);
	git_libgit2_shutdown();
	return rc < 0 ? XECI_EXIT_FAIL : XECI_EXIT_OK;
}
