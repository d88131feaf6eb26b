/* WAL checkpoints of a bulk ingest, off the store thread. A checkpoint
 * reads the log back, writes its pages into the database and fsyncs both;
 * done by the store thread's commit (autocheckpoint), its fsyncs stopped
 * the store thread, which is one of the two halves of the ingest pipeline
 * (ingest.c), for about a tenth of a bulk ingest. Here the store thread
 * only signals, from SQLite's WAL hook, and a thread of its own runs
 * PASSIVE checkpoints, which wait for no writer: the log is copied back
 * while the next commits are appended to it. */
#include "ingest_ckpt.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "error.h"
#include "log.h"
#include "util.h"

struct xeci_ingest_ckpt {
	xeci_db *db; /* the writer's: its WAL hook signals */
	char *path;
	int pages;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started, wanted, stop;
	unsigned runs;
};

static void *ckpt_main(void *arg)
{
	xeci_ingest_ckpt *c = arg;
	xeci_db *db = NULL;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->wanted && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (!c->wanted)
			break;
		c->wanted = false;
		pthread_mutex_unlock(&c->mu);
		if (!db && xeci_db_open(&db, c->path) < 0) {
			XECI_WARN("ingest checkpointer: %s", xeci_error_last());
			db = NULL;
		}
		if (db && xeci_db_exec(db, "PRAGMA wal_checkpoint(PASSIVE)") < 0)
			XECI_WARN("ingest checkpointer: %s", xeci_error_last());
		pthread_mutex_lock(&c->mu);
		c->runs++;
	}
	pthread_mutex_unlock(&c->mu);
	xeci_db_close(db);
	return NULL;
}

/* After each commit of the writer, on its thread: nframes are in the log. */
static int wal_hook(void *arg, sqlite3 *h, const char *name, int nframes)
{
	(void)h;
	(void)name;
	xeci_ingest_ckpt *c = arg;
	if (nframes < c->pages)
		return SQLITE_OK;
	pthread_mutex_lock(&c->mu);
	if (!c->started && !c->stop) {
		c->started = pthread_create(&c->thread, NULL, ckpt_main, c) == 0;
		if (!c->started) /* then the writer checkpoints, as without us */
			XECI_WARN("ingest: no checkpointer thread");
	}
	c->wanted = true;
	pthread_cond_signal(&c->cv);
	bool started = c->started;
	pthread_mutex_unlock(&c->mu);
	if (!started)
		sqlite3_wal_checkpoint_v2(h, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

int xeci_ingest_ckpt_start(xeci_ingest_ckpt **out, xeci_db *db, int pages)
{
	xeci_ingest_ckpt *c = xeci_calloc(1, sizeof(*c));
	const char *path = xeci_db_path(db);
	c->db = db;
	c->path = xeci_strdup(path ? path : "");
	c->pages = pages;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	sqlite3_wal_hook(xeci_db_handle(db), wal_hook, c); /* replaces the autocheckpoint */
	*out = c;
	return 0;
}

unsigned xeci_ingest_ckpt_runs(xeci_ingest_ckpt *c)
{
	pthread_mutex_lock(&c->mu);
	unsigned n = c->runs;
	pthread_mutex_unlock(&c->mu);
	return n;
}

void xeci_ingest_ckpt_stop(xeci_ingest_ckpt *c, int autocheckpoint_pages)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->cv);
	bool started = c->started;
	pthread_mutex_unlock(&c->mu);
	if (started) {
		pthread_join(c->thread, NULL);
		XECI_DEBUG("ingest: %u checkpoints on the checkpointer thread", c->runs);
	}
	sqlite3_wal_autocheckpoint(xeci_db_handle(c->db), autocheckpoint_pages);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c->path);
	free(c);
}
