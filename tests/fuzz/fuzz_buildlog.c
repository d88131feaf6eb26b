/* libFuzzer: the input is a build log from untrusted code, and checkpatch
 * output. Its first half updates a base map, the whole is compared with
 * it; the map must survive its JSON round trip, and everything parsed must
 * serialize (json_dumps fails on a string that is not UTF-8: that would be
 * a log no report could quote). Seeds: tests/data/buildlog. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "buildlog.h"
#include "checkpatch.h"

static void must_dump(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	if (!s)
		abort();
	free(s);
	json_decref(j);
}

static void base_round_trip(const xeci_buildlog_base *base)
{
	json_t *j = xeci_buildlog_base_to_json(base);
	xeci_buildlog_base *again;
	if (xeci_buildlog_base_from_json(&again, j) < 0)
		abort();
	json_t *k = xeci_buildlog_base_to_json(again);
	if (!json_equal(j, k))
		abort();
	json_decref(k);
	xeci_buildlog_base_free(again);
	must_dump(j);
}

static void logs(const char *text, size_t size)
{
	xeci_buildlog *first, *whole;
	xeci_buildlog_base *base;
	if (xeci_buildlog_parse(&first, text, size / 2, "/srv/src") < 0 ||
	    xeci_buildlog_parse(&whole, text, size, "../linux/") < 0 || xeci_buildlog_base_new(&base) < 0)
		abort();
	xeci_buildlog_base_update(base, first);
	xeci_buildlog_base_update(base, whole);
	xeci_buildlog_base_update(base, first);
	base_round_trip(base);
	xeci_diag_list fresh, errors;
	xeci_buildlog_new_warnings(&fresh, base, whole);
	xeci_buildlog_errors(&errors, whole);
	for (size_t i = 0; i < fresh.count; i++)
		if (fresh.items[i]->kind != XECI_DIAG_WARNING)
			abort();
	const xeci_diag *e = xeci_buildlog_first_error(whole);
	if ((e != NULL) != (errors.count > 0) || (e && e != errors.items[0]))
		abort();
	if (e)
		free(xeci_diag_format(e));
	xeci_diag_list_clear(&fresh);
	xeci_diag_list_clear(&errors);
	must_dump(xeci_buildlog_to_json(whole));
	xeci_buildlog_base_free(base);
	xeci_buildlog_free(first);
	xeci_buildlog_free(whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	logs(text, size);
	xeci_checkpatch_result r;
	if (xeci_checkpatch_parse(&r, text, size) == 0) {
		must_dump(xeci_checkpatch_to_json(&r));
		xeci_checkpatch_result_clear(&r);
	} else if (r.nfindings || r.findings) {
		abort(); /* a refused output leaves nothing behind */
	}
	return 0;
}
