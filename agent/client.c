/* The agent's HTTP client. See client.h. */
#define _GNU_SOURCE
#include "client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "log.h"
#include "util.h"

#define BACKOFF_MAX_MS 60000
#define CONNECT_TIMEOUT_S 10

struct xeci_client {
	char *server;
	char *auth; /* "Authorization: Bearer TOKEN" */
	volatile sig_atomic_t *stop;
};

int xeci_client_new(xeci_client **out, const char *server, const char *token, volatile sig_atomic_t *stop)
{
	static int curl_ready;
	if (!curl_ready) { /* once, before any thread uses curl */
		curl_global_init(CURL_GLOBAL_DEFAULT);
		curl_ready = 1;
	}
	xeci_client *c = xeci_calloc(1, sizeof(*c));
	c->server = xeci_strdup(server);
	size_t n = strlen(token) + sizeof("Authorization: Bearer ");
	c->auth = xeci_malloc(n);
	snprintf(c->auth, n, "Authorization: Bearer %s", token);
	c->stop = stop;
	*out = c;
	return 0;
}

void xeci_client_free(xeci_client *c)
{
	if (!c)
		return;
	free(c->server);
	free(c->auth);
	free(c);
}

volatile sig_atomic_t *xeci_client_set_stop(xeci_client *c, volatile sig_atomic_t *stop)
{
	volatile sig_atomic_t *old = c->stop;
	c->stop = stop;
	return old;
}

bool xeci_client_sleep(xeci_client *c, unsigned ms)
{
	while (ms) {
		if (c->stop && *c->stop)
			return false;
		unsigned step = ms < 100 ? ms : 100;
		struct timespec ts = {0, (long)step * 1000000L};
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return !(c->stop && *c->stop);
}

static size_t to_buf(char *p, size_t size, size_t n, void *data)
{
	xeci_buf_put(data, p, size * n);
	return size * n;
}

/* A set stop flag ends a transfer at once (a 30 s long-poll included). */
static int progress(void *data, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	xeci_client *c = data;
	return c->stop && *c->stop;
}

static CURL *easy(xeci_client *c, const char *path, struct curl_slist **hdrs, long timeout_s)
{
	CURL *h = curl_easy_init();
	if (!h)
		return NULL;
	char *url = NULL;
	/* a path from the server is relative to it; a full URL is taken as is */
	bool full = xeci_str_startswith(path, "http://") || xeci_str_startswith(path, "https://");
	if (asprintf(&url, "%s%s", full ? "" : c->server, path) < 0) {
		curl_easy_cleanup(h);
		return NULL;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	free(url); /* curl copies it */
	*hdrs = curl_slist_append(*hdrs, c->auth);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* the heartbeat thread uses curl too */
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "xeci-agent");
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	return h;
}

int xeci_client_post(json_t **resp, long *status, xeci_client *c, const char *path, const json_t *body,
		     long timeout_s)
{
	*resp = NULL;
	*status = 0;
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip for large results */
	CURL *h = easy(c, path, &hdrs, timeout_s);
	if (!h) {
		curl_slist_free_all(hdrs);
		return xeci_error_setc(XECI_EIO, "curl: cannot make a handle");
	}
	char *text = json_dumps(body, JSON_COMPACT);
	xeci_buf out = XECI_BUF_INIT;
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, text ? text : "{}");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_buf);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
	CURLcode cc = curl_easy_perform(h);
	int rc = 0;
	if (cc != CURLE_OK) {
		rc = xeci_error_setc(XECI_EIO, "POST %s%s: %s", c->server, path, curl_easy_strerror(cc));
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
		if (out.len)
			*resp = json_loadb(out.ptr, out.len, 0, NULL);
		if (*status >= 400) {
			json_t *err = *resp ? json_object_get(*resp, "error") : NULL;
			xeci_error_set("POST %s: %ld %s", path, *status,
				       json_is_string(err) ? json_string_value(err) : (out.ptr ? out.ptr : ""));
		}
	}
	free(text);
	xeci_buf_free(&out);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	return rc;
}

int xeci_client_call(json_t **resp, long *status, xeci_client *c, const char *path, const json_t *body,
		     long timeout_s, unsigned tries)
{
	unsigned wait_ms = 1000;
	for (unsigned i = 1;; i++) {
		int rc = xeci_client_post(resp, status, c, path, body, timeout_s);
		if (rc == 0 && *status < 500)
			return 0;
		XECI_WARN("%s; retrying in %u s", xeci_error_last(), wait_ms / 1000);
		json_decref(*resp);
		*resp = NULL;
		if ((tries && i >= tries) || !xeci_client_sleep(c, wait_ms))
			return rc < 0 ? rc : xeci_error_setc(XECI_EIO, "POST %s: %ld", path, *status);
		wait_ms = wait_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : wait_ms * 2;
	}
}

typedef struct download {
	CURL *h;
	FILE *f;
	long offset;   /* bytes already in the file */
	bool checked;  /* the status was looked at */
	bool to_file;  /* a 2xx: body bytes go to the file */
	xeci_buf err;  /* an error answer's body */
} download;

static size_t to_file(char *p, size_t size, size_t n, void *data)
{
	download *d = data;
	if (!d->checked) {
		long st = 0;
		curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &st);
		d->checked = true;
		d->to_file = st == 200 || st == 206;
		/* the server ignored the range: start the file over */
		if (st == 200 && d->offset) {
			if (fflush(d->f) || ftruncate(fileno(d->f), 0) < 0)
				return 0;
			rewind(d->f);
		}
	}
	if (!d->to_file) {
		xeci_buf_put(&d->err, p, size * n);
		return size * n;
	}
	return fwrite(p, size, n, d->f) == n ? size * n : 0;
}

int xeci_client_download(long *status, xeci_client *c, const char *path, const char *file, long timeout_s)
{
	*status = 0;
	download d = {.err = XECI_BUF_INIT};
	d.f = fopen(file, "ab");
	if (!d.f)
		return xeci_error_setc(XECI_EIO, "%s: %s", file, strerror(errno));
	fseek(d.f, 0, SEEK_END);
	d.offset = ftell(d.f);
	struct curl_slist *hdrs = NULL;
	/* the Range header by hand, not CURLOPT_RESUME_FROM: curl fails a
	 * resume answered 200, where starting over is what is wanted */
	if (d.offset > 0) {
		char range[64];
		snprintf(range, sizeof(range), "Range: bytes=%ld-", d.offset);
		hdrs = curl_slist_append(hdrs, range);
	}
	d.h = easy(c, path, &hdrs, timeout_s);
	int rc = 0;
	if (!d.h) {
		rc = xeci_error_setc(XECI_EIO, "curl: cannot make a handle");
		goto out;
	}
	/* a stalled transfer ends (and resumes on the next try); a slow
	 * but moving one of a large kernel is not cut */
	curl_easy_setopt(d.h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(d.h, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(d.h, CURLOPT_WRITEFUNCTION, to_file);
	curl_easy_setopt(d.h, CURLOPT_WRITEDATA, &d);
	CURLcode cc = curl_easy_perform(d.h);
	curl_easy_getinfo(d.h, CURLINFO_RESPONSE_CODE, status);
	if (cc != CURLE_OK)
		rc = xeci_error_setc(XECI_EIO, "GET %s%s: %s", c->server, path, curl_easy_strerror(cc));
	else if (*status >= 400)
		rc = xeci_error_setc(*status == 416 ? XECI_EINVALID : XECI_EIO, "GET %s: %ld %.200s", path, *status,
				     d.err.ptr ? d.err.ptr : "");
out:
	if (fclose(d.f) && rc == 0)
		rc = xeci_error_setc(XECI_EIO, "%s: %s", file, strerror(errno));
	if (d.h)
		curl_easy_cleanup(d.h);
	curl_slist_free_all(hdrs);
	xeci_buf_free(&d.err);
	return rc;
}
