/* xeci_mail as JSON (what `xeci mail parse` prints and the store keeps) and
 * back. The message and patch text are not in it: from_json leaves them
 * NULL but keeps has_patch and patch_sha256. All strings are UTF-8 already
 * (the parser sanitizes them), so jansson takes them as they are. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "mail_internal.h"
#include "util.h"

static json_t *str_or_null(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;
	return j ? j : json_null();
}

static json_t *strv(char **v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_string(v[i]);
		if (s)
			json_array_append_new(a, s);
	}
	return a;
}

static json_t *int_or_null(int v)
{
	return v < 0 ? json_null() : json_integer(v);
}

json_t *xeci_subject_tags_to_json(const xeci_subject_tags *t)
{
	json_t *o = json_object();
	json_object_set_new(o, "version", json_integer(t->version));
	json_object_set_new(o, "index", int_or_null(t->index));
	json_object_set_new(o, "total", int_or_null(t->total));
	json_object_set_new(o, "rfc", json_boolean(t->rfc));
	json_object_set_new(o, "resend", json_boolean(t->resend));
	json_object_set_new(o, "is_patch", json_boolean(t->is_patch));
	json_object_set_new(o, "is_pull", json_boolean(t->is_pull));
	json_object_set_new(o, "prefixes", strv(t->prefixes, t->nprefixes));
	return o;
}

json_t *xeci_mail_to_json(const xeci_mail *m)
{
	json_t *o = json_object();
	char iso[21];
	json_object_set_new(o, "message_id", str_or_null(m->message_id));
	json_object_set_new(o, "in_reply_to", str_or_null(m->in_reply_to));
	json_object_set_new(o, "references", strv(m->references, m->nreferences));
	json_object_set_new(o, "author_name", str_or_null(m->author_name));
	json_object_set_new(o, "author_email", str_or_null(m->author_email));
	if (m->date) {
		xeci_time_iso(iso, m->date);
		json_object_set_new(o, "date", json_string(iso));
	} else {
		json_object_set_new(o, "date", json_null());
	}
	json_object_set_new(o, "date_raw", str_or_null(m->date_raw));
	json_object_set_new(o, "subject", str_or_null(m->subject));
	json_object_set_new(o, "subject_clean", str_or_null(m->subject_clean));
	json_object_set_new(o, "tags", xeci_subject_tags_to_json(&m->tags));
	json_object_set_new(o, "has_patch", json_boolean(m->has_patch));
	json_object_set_new(o, "patch_sha256", m->has_patch ? json_string(m->patch_sha256) : json_null());
	json_object_set_new(o, "files", strv(m->files, m->nfiles));
	json_t *tr = json_array();
	for (size_t i = 0; i < m->ntrailers; i++)
		json_array_append_new(tr, json_pack("{s:s, s:s}", "name", m->trailers[i].name,
						    "value", m->trailers[i].value));
	json_object_set_new(o, "trailers", tr);
	json_object_set_new(o, "base_commit", str_or_null(m->base_commit));
	json_object_set_new(o, "change_id", str_or_null(m->change_id));
	json_object_set_new(o, "prerequisite_patch_ids", strv(m->prereq_patch_ids, m->nprereq_patch_ids));
	json_object_set_new(o, "depends_on", strv(m->depends_on, m->ndepends_on));
	json_object_set_new(o, "is_pull_request", json_boolean(m->is_pull_request));
	json_object_set_new(o, "list_id", str_or_null(m->list_id));
	json_object_set_new(o, "mailinfo_error", json_boolean(m->mailinfo_error));
	return o;
}

/* --- back from JSON --- */

static int get_str(char **out, const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return xeci_error_setc(XECI_EINVALID, "mail json: %s is not a string", key);
	*out = xeci_strdup(json_string_value(v));
	return 0;
}

static int get_strv(char ***out, size_t *n, const json_t *o, const char *key)
{
	json_t *a = json_object_get(o, key), *v;
	size_t i;
	*out = NULL;
	*n = 0;
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return xeci_error_setc(XECI_EINVALID, "mail json: %s is not an array", key);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return xeci_error_setc(XECI_EINVALID, "mail json: %s[%zu] is not a string", key, i);
		xeci_strv_push(out, n, xeci_strdup(json_string_value(v)));
	}
	return 0;
}

static bool get_bool(const json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

static int get_int(const json_t *o, const char *key, int dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

static int tags_from_json(xeci_subject_tags *t, const json_t *o)
{
	if (!json_is_object(o))
		return 0;
	t->version = get_int(o, "version", 1);
	t->index = get_int(o, "index", -1);
	t->total = get_int(o, "total", -1);
	t->rfc = get_bool(o, "rfc");
	t->resend = get_bool(o, "resend");
	t->is_patch = get_bool(o, "is_patch");
	t->is_pull = get_bool(o, "is_pull");
	return get_strv(&t->prefixes, &t->nprefixes, o, "prefixes");
}

static int64_t parse_iso(const char *s)
{
	struct tm tm = {0};
	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

static int trailers_from_json(xeci_mail *m, const json_t *a)
{
	size_t i;
	json_t *v;
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return xeci_error_setc(XECI_EINVALID, "mail json: trailers is not an array");
	m->trailers = xeci_calloc(json_array_size(a) + 1, sizeof(*m->trailers));
	json_array_foreach(a, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *value = json_string_value(json_object_get(v, "value"));
		if (!name || !value)
			return xeci_error_setc(XECI_EINVALID, "mail json: trailers[%zu] needs name and value", i);
		m->trailers[m->ntrailers].name = xeci_strdup(name);
		m->trailers[m->ntrailers++].value = xeci_strdup(value);
	}
	return 0;
}

int xeci_mail_from_json(xeci_mail **out, const json_t *o)
{
	*out = NULL;
	if (!json_is_object(o))
		return xeci_error_setc(XECI_EINVALID, "mail json: not an object");
	xeci_mail *m = xeci_calloc(1, sizeof(*m));
	char *date = NULL, *sha = NULL;
	int rc = get_str(&m->message_id, o, "message_id");
	rc = rc ? rc : get_str(&m->in_reply_to, o, "in_reply_to");
	rc = rc ? rc : get_strv(&m->references, &m->nreferences, o, "references");
	rc = rc ? rc : get_str(&m->author_name, o, "author_name");
	rc = rc ? rc : get_str(&m->author_email, o, "author_email");
	rc = rc ? rc : get_str(&date, o, "date");
	rc = rc ? rc : get_str(&m->date_raw, o, "date_raw");
	rc = rc ? rc : get_str(&m->subject, o, "subject");
	rc = rc ? rc : get_str(&m->subject_clean, o, "subject_clean");
	rc = rc ? rc : tags_from_json(&m->tags, json_object_get(o, "tags"));
	rc = rc ? rc : get_str(&sha, o, "patch_sha256");
	rc = rc ? rc : get_strv(&m->files, &m->nfiles, o, "files");
	rc = rc ? rc : trailers_from_json(m, json_object_get(o, "trailers"));
	rc = rc ? rc : get_str(&m->base_commit, o, "base_commit");
	rc = rc ? rc : get_str(&m->change_id, o, "change_id");
	rc = rc ? rc : get_strv(&m->prereq_patch_ids, &m->nprereq_patch_ids, o, "prerequisite_patch_ids");
	rc = rc ? rc : get_strv(&m->depends_on, &m->ndepends_on, o, "depends_on");
	rc = rc ? rc : get_str(&m->list_id, o, "list_id");
	if (!json_object_get(o, "tags")) {
		m->tags.version = 1;
		m->tags.index = m->tags.total = -1;
	}
	if (!rc && sha && strlen(sha) != 64)
		rc = xeci_error_setc(XECI_EINVALID, "mail json: patch_sha256 is not a sha256");
	if (rc) {
		free(date);
		free(sha);
		xeci_mail_free(m);
		return rc;
	}
	m->date = parse_iso(date);
	m->has_patch = get_bool(o, "has_patch");
	if (sha)
		memcpy(m->patch_sha256, sha, 65);
	m->is_pull_request = get_bool(o, "is_pull_request");
	m->mailinfo_error = get_bool(o, "mailinfo_error");
	free(date);
	free(sha);
	*out = m;
	return 0;
}
