/* libcurl loaded on first use, for the `xeci` command line only (xecid and
 * xeci-agent link libcurl as usual). Why: libcurl (here Debian's, over
 * OpenSSL, with LDAP, RTMP, SSH, PSL, IDN, HTTP/2, brotli, zstd, Kerberos)
 * brings 17 more shared libraries, and mapping and relocating them at every
 * start of `xeci` cost more CPU than the rest of a one-message ingest of a
 * local inbox, which never makes an HTTP request.
 *
 * These are the libcurl entry points xeci uses (daemon/http.c), with the same
 * names and ABI: each one dlopens libcurl.so.4 the first time, then calls the
 * real function. When libcurl cannot be loaded, they fail the way libcurl
 * fails (CURLE_FAILED_INIT, NULL) and curl_easy_strerror says why. The xeci
 * binary does not export these symbols, so libcurl's own internal calls still
 * bind to libcurl. */
#define CURL_DISABLE_TYPECHECK /* the typecheck macros would rename our definitions */
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#define LIBCURL "libcurl.so.4"

typedef void (*fnptr)(void);

static struct {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	void (*easy_cleanup)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
} lib;
static int loaded; /* 1: every entry point found */
static char why[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
	void *h = dlopen(LIBCURL, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(why, sizeof(why), "cannot load %s: %s", LIBCURL, dlerror());
		return;
	}
	/* POSIX: a function pointer goes through dlsym's void * */
#define SYM(field, name)                                                                                     \
	do {                                                                                                 \
		*(void **)&lib.field = dlsym(h, name);                                                       \
		if (!lib.field) {                                                                            \
			snprintf(why, sizeof(why), "%s: no %s", LIBCURL, name);                              \
			return;                                                                              \
		}                                                                                            \
	} while (0)
	SYM(global_init, "curl_global_init");
	SYM(easy_init, "curl_easy_init");
	SYM(easy_setopt, "curl_easy_setopt");
	SYM(easy_perform, "curl_easy_perform");
	SYM(easy_cleanup, "curl_easy_cleanup");
	SYM(easy_getinfo, "curl_easy_getinfo");
	SYM(easy_strerror, "curl_easy_strerror");
	SYM(slist_append, "curl_slist_append");
	SYM(slist_free_all, "curl_slist_free_all");
#undef SYM
	loaded = 1; /* h stays open for the life of the process */
}

static int ready(void)
{
	pthread_once(&once, load);
	return loaded;
}

CURLcode curl_global_init(long flags)
{
	return ready() ? lib.global_init(flags) : CURLE_FAILED_INIT;
}

CURL *curl_easy_init(void)
{
	return ready() ? lib.easy_init() : NULL;
}

/* The one argument's type follows from the option's number range, as in
 * libcurl's own curl_easy_setopt (CURLOPTTYPE_*). */
CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
	va_list ap;
	CURLcode rc;
	if (!ready())
		return CURLE_FAILED_INIT;
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = lib.easy_setopt(h, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
		rc = lib.easy_setopt(h, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_OFF_T)
		rc = lib.easy_setopt(h, opt, va_arg(ap, fnptr));
	else if (opt < CURLOPTTYPE_BLOB)
		rc = lib.easy_setopt(h, opt, va_arg(ap, curl_off_t));
	else
		rc = lib.easy_setopt(h, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

CURLcode curl_easy_perform(CURL *h)
{
	return ready() ? lib.easy_perform(h) : CURLE_FAILED_INIT;
}

void curl_easy_cleanup(CURL *h)
{
	if (ready())
		lib.easy_cleanup(h);
}

/* Every CURLINFO takes one pointer. */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	va_list ap;
	if (!ready())
		return CURLE_FAILED_INIT;
	va_start(ap, info);
	CURLcode rc = lib.easy_getinfo(h, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

const char *curl_easy_strerror(CURLcode code)
{
	return ready() ? lib.easy_strerror(code) : why;
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *s)
{
	return ready() ? lib.slist_append(list, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *list)
{
	if (ready())
		lib.slist_free_all(list);
}
