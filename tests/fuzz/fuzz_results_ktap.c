/* libFuzzer target: the KTAP parser over any bytes; every result must be in
 * bounds of the parser's own text, and the JSON lines it writes must be
 * valid JSON objects with a known status. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "results_ktap.h"

static void check_lines(const char *buf, size_t size)
{
	const char *p = buf, *end = buf + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			abort(); /* every line ends */
		json_error_t err;
		json_t *j = json_loadb(p, (size_t)(nl - p), JSON_ALLOW_NUL, &err);
		if (!j || !json_is_string(json_object_get(j, "path")) ||
		    !json_is_string(json_object_get(j, "status")))
			abort();
		json_decref(j);
		p = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	xeci_ktap_results *r;
	if (xeci_ktap_parse(&r, (const char *)data, size) != 0)
		abort();
	for (size_t i = 0; i < xeci_ktap_results_count(r); i++) {
		const xeci_ktap_result *t = xeci_ktap_results_get(r, i);
		if (!t->path || (unsigned)t->status > XECI_KTAP_INCOMPLETE)
			abort();
		/* Touch every byte so ASan sees a view out of bounds. */
		volatile char sink = 0;
		for (size_t k = 0; k < t->path_len; k++)
			sink ^= t->path[k];
		for (size_t k = 0; k < t->log_len; k++)
			sink ^= t->log[k];
		for (size_t k = 0; t->directive && k < t->directive_len; k++)
			sink ^= t->directive[k];
		(void)sink;
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f || xeci_ktap_write_jsonl(f, r) != 0)
		abort();
	fclose(f);
	check_lines(buf, len);
	free(buf);
	xeci_ktap_results_free(r);
	return 0;
}
