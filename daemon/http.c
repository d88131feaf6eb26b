/* Blocking HTTP GET over libcurl, for worker threads (see http.h). */
#include "http.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <zlib.h>

#include "error.h"
#include "util.h"

#define CONNECT_TIMEOUT_S 15L
#define LOW_SPEED_TIME_S 60L

static atomic_long default_timeout = 300;
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

void xeci_http_set_default_timeout(long seconds)
{
	atomic_store(&default_timeout, seconds > 0 ? seconds : 300);
}

long xeci_http_default_timeout(void)
{
	return atomic_load(&default_timeout);
}

/* curl_global_init is not thread-safe: run it once, whoever comes first. */
static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct transfer {
	xeci_http_response *resp;
	size_t max;
	bool too_big;
} transfer;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	transfer *t = userdata;
	size_t n = size * nmemb;

	if (t->resp->body.len + n > t->max) {
		t->too_big = true;
		return 0; /* makes curl fail with CURLE_WRITE_ERROR */
	}
	xeci_buf_put(&t->resp->body, ptr, n);
	return n;
}

/* Value of header `name` in the line, trimmed, or NULL. */
static char *header_value(const char *line, size_t len, const char *name)
{
	size_t nlen = strlen(name);

	if (len <= nlen || strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
		return NULL;
	const char *v = line + nlen + 1, *end = line + len;
	while (v < end && isspace((unsigned char)*v))
		v++;
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	return xeci_strndup(v, (size_t)(end - v));
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	transfer *t = userdata;
	size_t n = size * nmemb;
	char *v;

	/* A redirect brings a second header block: keep only the last one's. */
	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		free(t->resp->etag);
		free(t->resp->last_modified);
		t->resp->etag = t->resp->last_modified = NULL;
	} else if ((v = header_value(ptr, n, "ETag")) != NULL) {
		free(t->resp->etag);
		t->resp->etag = v;
	} else if ((v = header_value(ptr, n, "Last-Modified")) != NULL) {
		free(t->resp->last_modified);
		t->resp->last_modified = v;
	}
	return n;
}

static struct curl_slist *conditional_headers(const xeci_http_opts *o)
{
	struct curl_slist *h = NULL;
	xeci_buf b = XECI_BUF_INIT;

	if (o->if_none_match && *o->if_none_match) {
		xeci_buf_printf(&b, "If-None-Match: %s", o->if_none_match);
		h = curl_slist_append(h, b.ptr);
		xeci_buf_clear(&b);
	}
	if (o->if_modified_since && *o->if_modified_since) {
		xeci_buf_printf(&b, "If-Modified-Since: %s", o->if_modified_since);
		h = curl_slist_append(h, b.ptr);
	}
	xeci_buf_free(&b);
	return h;
}

static void setup(CURL *c, const char *url, const xeci_http_opts *o, transfer *t, char *errbuf)
{
	long timeout = o->timeout_s > 0 ? o->timeout_s : xeci_http_default_timeout();

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	/* Worker threads: no signals (they would hit another thread). */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S < timeout ? CONNECT_TIMEOUT_S : timeout);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_TIME_S < timeout ? LOW_SPEED_TIME_S : timeout);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t->max);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "xeci/0.1");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
}

/* Maps the outcome to an error code with a text naming the URL. */
static int outcome(CURLcode rc, const char *url, const transfer *t, const char *errbuf)
{
	long status = t->resp->status;

	if (t->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		return xeci_error_setc(XECI_ETOOBIG, "GET %s: body over the %zu-byte limit", url, t->max);
	if (rc != CURLE_OK)
		return xeci_error_setc(XECI_EIO, "GET %s: %s", url, *errbuf ? errbuf : curl_easy_strerror(rc));
	if (status == 304 || (status >= 200 && status < 300))
		return 0;
	if (status == 404 || status == 410)
		return xeci_error_setc(XECI_ENOTFOUND, "GET %s: HTTP %ld", url, status);
	return xeci_error_setc(XECI_EIO, "GET %s: HTTP %ld", url, status);
}

int xeci_http_get(xeci_http_response *out, const char *url, const xeci_http_opts *opts)
{
	static const xeci_http_opts defaults = XECI_HTTP_OPTS_INIT;
	const xeci_http_opts *o = opts ? opts : &defaults;
	char errbuf[CURL_ERROR_SIZE] = "";
	transfer t = {out, o->max_size ? o->max_size : XECI_HTTP_MAX_DEFAULT, false};
	struct curl_slist *headers;
	CURLcode rc;
	CURL *c;

	memset(out, 0, sizeof(*out));
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return xeci_error_setc(XECI_EIO, "curl_global_init: %s", curl_easy_strerror(global_rc));
	if (!(c = curl_easy_init()))
		return xeci_error_setc(XECI_EIO, "GET %s: curl_easy_init failed", url);
	setup(c, url, o, &t, errbuf);
	headers = conditional_headers(o);
	if (headers)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	xeci_buf_put(&out->body, "", 0); /* a body, even empty, is NUL-terminated */
	return outcome(rc, url, &t, errbuf);
}

void xeci_http_response_free(xeci_http_response *r)
{
	if (!r)
		return;
	xeci_buf_free(&r->body);
	free(r->etag);
	free(r->last_modified);
	r->etag = r->last_modified = NULL;
	r->status = 0;
}

int xeci_gunzip(xeci_buf *out, const void *data, size_t len, size_t max)
{
	z_stream z;
	int rc = Z_OK;
	size_t start = out->len;

	if (!max)
		max = XECI_HTTP_MAX_DEFAULT;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) /* 16: gzip wrapper */
		return xeci_error_setc(XECI_EIO, "gunzip: inflateInit2 failed");
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	while (z.avail_in > 0 || rc != Z_STREAM_END) {
		if (rc == Z_STREAM_END) /* concatenated members, as gzip(1) accepts */
			inflateReset(&z);
		xeci_buf_grow(out, 65536);
		z.next_out = (Bytef *)out->ptr + out->len;
		z.avail_out = (uInt)(out->cap - out->len - 1);
		size_t before = z.avail_out;
		rc = inflate(&z, Z_NO_FLUSH);
		out->len += before - z.avail_out;
		out->ptr[out->len] = '\0';
		if (out->len - start > max) {
			inflateEnd(&z);
			return xeci_error_setc(XECI_ETOOBIG, "gunzip: output over the %zu-byte limit", max);
		}
		if (rc == Z_STREAM_END && z.avail_in == 0)
			break;
		if (rc != Z_OK && rc != Z_STREAM_END) {
			const char *msg = z.msg ? z.msg : (rc == Z_BUF_ERROR ? "truncated input" : "corrupt input");
			inflateEnd(&z);
			return xeci_error_setc(XECI_EINVALID, "gunzip: %s", msg);
		}
	}
	inflateEnd(&z);
	return 0;
}
