/* Per-test results. See results.h. */
#include "results.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "util.h"

struct xeci_agent_results {
	json_t *arr;
	json_t *seen; /* name -> times added */
};

int xeci_agent_results_new(xeci_agent_results **out)
{
	xeci_agent_results *r = xeci_calloc(1, sizeof(*r));
	r->arr = json_array();
	r->seen = json_object();
	*out = r;
	return 0;
}

void xeci_agent_results_free(xeci_agent_results *r)
{
	if (!r)
		return;
	json_decref(r->arr);
	json_decref(r->seen);
	free(r);
}

/* Length of the valid UTF-8 sequence at s (1-4), 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	unsigned min;
	if (c < 0x80)
		return c ? 1 : 0;
	if ((c & 0xe0) == 0xc0) n = 2, min = 0x80;
	else if ((c & 0xf0) == 0xe0) n = 3, min = 0x800;
	else if ((c & 0xf8) == 0xf0) n = 4, min = 0x10000;
	else return 0;
	if (n > len)
		return 0;
	unsigned cp = c & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

char *xeci_agent_utf8_clean(const char *s, size_t len)
{
	char *out = xeci_malloc(len + 1);
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		size_t n = utf8_seq(p + i, len - i);
		if (!n) {
			out[i++] = '?';
			continue;
		}
		memcpy(out + i, p + i, n);
		i += n;
	}
	out[len] = '\0';
	return out;
}

static void set_text(json_t *o, const char *key, const char *s, size_t len)
{
	if (!s)
		return;
	if (len > XECI_AGENT_LOG_MAX) { /* the end says how it ended */
		s += len - XECI_AGENT_LOG_MAX;
		len = XECI_AGENT_LOG_MAX;
	}
	char *clean = xeci_agent_utf8_clean(s, len);
	json_object_set_new(o, key, json_string(clean));
	free(clean);
}

void xeci_agent_results_add(xeci_agent_results *r, const char *test, const char *suite, const char *status,
			    int64_t duration_ms, const char *out, size_t out_len, const char *err, size_t err_len,
			    const char *dmesg, size_t dmesg_len)
{
	json_t *o = json_object();
	char *t = xeci_agent_utf8_clean(test, strlen(test));
	/* results are kept per (job, test): a name met again (KUnit has
	 * parameters with equal descriptions) becomes "name #2" rather than
	 * overwrite the first */
	json_int_t n = json_integer_value(json_object_get(r->seen, t)) + 1;
	json_object_set_new(r->seen, t, json_integer(n));
	if (n > 1) {
		size_t len = strlen(t) + 24;
		char *u = xeci_malloc(len);
		snprintf(u, len, "%s #%lld", t, (long long)n);
		json_object_set_new(o, "test", json_string(u));
		free(u);
	} else {
		json_object_set_new(o, "test", json_string(t));
	}
	free(t);
	json_object_set_new(o, "suite", json_string(suite));
	json_object_set_new(o, "status", json_string(status));
	if (duration_ms >= 0)
		json_object_set_new(o, "duration_ms", json_integer(duration_ms));
	set_text(o, "out", out, out_len);
	set_text(o, "err", err, err_len);
	set_text(o, "dmesg", dmesg, dmesg_len);
	json_array_append_new(r->arr, o);
}

size_t xeci_agent_results_count(const xeci_agent_results *r)
{
	return json_array_size(r->arr);
}

size_t xeci_agent_results_count_status(const xeci_agent_results *r, const char *status)
{
	size_t n = 0, i;
	json_t *o;
	json_array_foreach(r->arr, i, o)
		if (!strcmp(json_string_value(json_object_get(o, "status")), status))
			n++;
	return n;
}

const json_t *xeci_agent_results_json(const xeci_agent_results *r)
{
	return r->arr;
}
