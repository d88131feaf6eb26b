/* libFuzzer: the input is an mbox; every message that parses goes into
 * series assembly, and every version found is turned into JSON. Seeds:
 * the .mbox files of tests/data/series and of the corpus mail folders. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "mbox.h"
#include "series.h"
#include "util.h"

#define MAX_MAILS 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	if (!init) {
		xeci_mail_global_init();
		init = 1;
	}
	xeci_mbox *mb;
	if (xeci_mbox_open_buffer(&mb, (const char *)data, size, 0) < 0)
		return 0;
	xeci_mail *mails[MAX_MAILS];
	size_t n = 0;
	const char *msg;
	size_t len;
	while (n < MAX_MAILS && xeci_mbox_next(&msg, &len, mb) == 0) {
		xeci_mail *m;
		if (xeci_mail_parse(&m, msg, len, 1 << 20) == 0)
			mails[n++] = m;
	}
	xeci_mbox_free(mb);
	xeci_series_set *set;
	if (xeci_series_assemble(&set, mails, n) == 0) {
		for (size_t i = 0; i < xeci_series_set_count(set); i++) {
			json_t *j = xeci_series_version_to_json(xeci_series_set_get(set, i));
			char *s = json_dumps(j, JSON_COMPACT);
			free(s);
			json_decref(j);
		}
		xeci_series_set_free(set);
	}
	for (size_t i = 0; i < n; i++)
		xeci_mail_free(mails[i]);
	return 0;
}
