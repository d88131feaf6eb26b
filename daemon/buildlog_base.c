/* The base warnings map (see buildlog.h): per compilation unit, the
 * diagnostics of the base tree's last build, kept beside the kbuild dir and
 * updated by every base build; a patched build's new warnings are its
 * diagnostics minus these. Counting per unit keeps an incremental build's
 * partial log correct: a unit it did not recompile keeps its entry. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "buildlog.h"
#include "buildlog_int.h"
#include "error.h"
#include "util.h"

/* Separates the parts of an identity key; cleaned strings never hold it. */
#define KEY_SEP '\x1f'

struct xeci_buildlog_base {
	json_t *units; /* unit -> [diag object without "unit"] */
};

/* "w\x1fFILE\x1fMESSAGE": what stays the same when a patch shifts lines. */
static char *identity(const char *kind, const char *file, const char *message)
{
	xeci_buf b = XECI_BUF_INIT;
	xeci_buf_printf(&b, "%c%c%s%c%s", kind[0], KEY_SEP, file, KEY_SEP, message);
	return xeci_buf_detach(&b);
}

static char *identity_of_json(const json_t *d)
{
	return identity(json_string_value(json_object_get(d, "kind")),
			json_string_value(json_object_get(d, "file")),
			json_string_value(json_object_get(d, "message")));
}

int xeci_buildlog_base_new(xeci_buildlog_base **out)
{
	*out = xeci_calloc(1, sizeof(**out));
	(*out)->units = json_object();
	return 0;
}

void xeci_buildlog_base_free(xeci_buildlog_base *base)
{
	if (!base)
		return;
	json_decref(base->units);
	free(base);
}

/* The "" entry: replaced when modpost ran, else grown by what is new. */
static void update_unattributed(xeci_buildlog_base *base, const xeci_buildlog *log, json_t *fresh)
{
	if (xeci_buildlog_linked(log)) {
		if (json_array_size(fresh))
			json_object_set(base->units, "", fresh);
		else
			json_object_del(base->units, "");
		return;
	}
	if (!json_array_size(fresh))
		return;
	json_t *old = json_object_get(base->units, "");
	if (!old)
		json_object_set_new(base->units, "", (old = json_array()));
	json_t *known = json_object();
	size_t i;
	json_t *d;
	json_array_foreach(old, i, d) {
		char *k = identity_of_json(d);
		json_object_set_new(known, k, json_true());
		free(k);
	}
	json_array_foreach(fresh, i, d) {
		char *k = identity_of_json(d);
		if (!json_object_get(known, k)) {
			json_array_append(old, d);
			json_object_set_new(known, k, json_true());
		}
		free(k);
	}
	json_decref(known);
}

int xeci_buildlog_base_update(xeci_buildlog_base *base, const xeci_buildlog *log)
{
	json_t *touched = json_object(), *none = json_array();
	for (size_t i = 0; i < xeci_buildlog_unit_count(log); i++) {
		const char *source = xeci_buildlog_unit_get(log, i)->source;
		if (!json_object_get(touched, source))
			json_object_set_new(touched, source, json_array());
	}
	for (size_t i = 0; i < xeci_buildlog_diag_count(log); i++) {
		const xeci_diag *d = xeci_buildlog_diag_get(log, i);
		if (!*d->unit) {
			json_array_append_new(none, xeci_diag_json(d, false));
			continue;
		}
		json_t *arr = json_object_get(touched, d->unit);
		if (!arr)
			json_object_set_new(touched, d->unit, (arr = json_array()));
		json_array_append_new(arr, xeci_diag_json(d, false));
	}
	const char *unit;
	json_t *arr;
	json_object_foreach(touched, unit, arr) {
		if (json_array_size(arr))
			json_object_set(base->units, unit, arr);
		else
			json_object_del(base->units, unit);
	}
	update_unattributed(base, log, none);
	json_decref(touched);
	json_decref(none);
	return 0;
}

json_t *xeci_buildlog_base_to_json(const xeci_buildlog_base *base)
{
	return json_pack("{s:i, s:O}", "version", 1, "units", base->units);
}

static bool valid_diag_json(const json_t *d)
{
	const char *kind = json_string_value(json_object_get(d, "kind"));
	return json_is_object(d) && kind && (!strcmp(kind, "warning") || !strcmp(kind, "error")) &&
	       json_is_string(json_object_get(d, "file")) &&
	       json_is_string(json_object_get(d, "message")) &&
	       json_is_integer(json_object_get(d, "line")) && json_is_integer(json_object_get(d, "col"));
}

int xeci_buildlog_base_from_json(xeci_buildlog_base **out, const json_t *json)
{
	const json_t *units = json_object_get(json, "units");
	json_t *v = json_object_get(json, "version");
	if (!json_is_object(units) || !json_is_integer(v) || json_integer_value(v) != 1)
		return xeci_error_setc(XECI_EINVALID, "base warnings: not a version 1 map");
	const char *unit;
	json_t *arr;
	json_object_foreach((json_t *)units, unit, arr) {
		size_t i;
		json_t *d;
		if (!json_is_array(arr))
			return xeci_error_setc(XECI_EINVALID, "base warnings: %s: not a list", unit);
		json_array_foreach(arr, i, d)
			if (!valid_diag_json(d))
				return xeci_error_setc(XECI_EINVALID, "base warnings: %s: bad entry %zu",
						       unit, i);
	}
	xeci_buildlog_base_new(out);
	json_decref((*out)->units);
	(*out)->units = json_deep_copy(units);
	return 0;
}

int xeci_buildlog_base_load(xeci_buildlog_base **out, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0 && errno == ENOENT)
		return xeci_buildlog_base_new(out);
	if (access(path, R_OK) < 0)
		return xeci_error_setc(XECI_EIO, "%s: %s", path, strerror(errno));
	json_error_t err;
	json_t *j = json_load_file(path, 0, &err);
	if (!j)
		return xeci_error_setc(XECI_EINVALID, "%s:%d: %s", path, err.line, err.text);
	int rc = xeci_buildlog_base_from_json(out, j);
	json_decref(j);
	return rc;
}

int xeci_buildlog_base_save(const xeci_buildlog_base *base, const char *path)
{
	json_t *j = xeci_buildlog_base_to_json(base);
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (!s)
		return xeci_error_setc(XECI_ERROR, "%s: cannot serialize the base warnings", path);
	int rc = xeci_file_write_atomic(path, s, strlen(s));
	free(s);
	return rc;
}

/* For every identity, the most times one unit has it. */
static json_t *base_counts(const xeci_buildlog_base *base)
{
	json_t *max = json_object();
	const char *unit;
	json_t *arr;
	json_object_foreach(base->units, unit, arr) {
		json_t *counts = json_object();
		size_t i;
		json_t *d;
		json_array_foreach(arr, i, d) {
			char *k = identity_of_json(d);
			json_int_t c = json_integer_value(json_object_get(counts, k)) + 1;
			json_object_set_new(counts, k, json_integer(c));
			free(k);
		}
		const char *k;
		json_t *c;
		json_object_foreach(counts, k, c)
			if (json_integer_value(c) > json_integer_value(json_object_get(max, k)))
				json_object_set(max, k, c);
		json_decref(counts);
	}
	return max;
}

/* For every identity of the log, the occurrences (diag indexes) in the unit
 * that has it most often ("" keeps the first only). */
static json_t *log_occurrences(const xeci_buildlog *log)
{
	json_t *by_unit = json_object(), *best = json_object();
	for (size_t i = 0; i < xeci_buildlog_diag_count(log); i++) {
		const xeci_diag *d = xeci_buildlog_diag_get(log, i);
		json_t *ids = json_object_get(by_unit, d->unit);
		if (!ids)
			json_object_set_new(by_unit, d->unit, (ids = json_object()));
		char *k = identity(xeci_diag_kind_name(d->kind), d->file, d->message);
		json_t *occ = json_object_get(ids, k);
		if (!occ)
			json_object_set_new(ids, k, (occ = json_array()));
		if (*d->unit || !json_array_size(occ))
			json_array_append_new(occ, json_integer((json_int_t)i));
		free(k);
	}
	const char *unit, *k;
	json_t *ids, *occ;
	json_object_foreach(by_unit, unit, ids)
		json_object_foreach(ids, k, occ)
			if (json_array_size(occ) > json_array_size(json_object_get(best, k)))
				json_object_set(best, k, occ);
	json_decref(by_unit);
	return best;
}

int xeci_buildlog_new_warnings(xeci_diag_list *out, const xeci_buildlog_base *base,
			       const xeci_buildlog *patched)
{
	out->items = NULL;
	out->count = 0;
	json_t *max = base_counts(base), *best = log_occurrences(patched);
	bool *fresh = xeci_calloc(xeci_buildlog_diag_count(patched) + 1, sizeof(*fresh));
	const char *k;
	json_t *occ;
	json_object_foreach(best, k, occ) {
		if (k[0] != 'w')
			continue;
		size_t had = (size_t)json_integer_value(json_object_get(max, k));
		for (size_t i = had; i < json_array_size(occ); i++)
			fresh[json_integer_value(json_array_get(occ, i))] = true;
	}
	for (size_t i = 0; i < xeci_buildlog_diag_count(patched); i++)
		if (fresh[i])
			xeci_diag_list_push(out, xeci_buildlog_diag_get(patched, i));
	free(fresh);
	json_decref(max);
	json_decref(best);
	return 0;
}
