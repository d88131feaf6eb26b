/* libFuzzer target: the mbox splitter (mboxo and mboxrd) over the input,
 * then parse + to_json + from_json on each message and on the whole input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail.h"
#include "mbox.h"

static void parse_one(const char *data, size_t len)
{
	xeci_mail *m;
	xeci_mail_opts opts = {.scissors = len & 1};
	if (xeci_mail_parse_ext(&m, data, len, &opts) != 0)
		return;
	json_t *j = xeci_mail_to_json(m);
	if (!j)
		abort();
	char *s = json_dumps(j, JSON_COMPACT);
	if (!s)
		abort(); /* every string must be valid UTF-8 */
	free(s);
	xeci_mail *back;
	if (xeci_mail_from_json(&back, j) != 0)
		abort();
	json_t *again = xeci_mail_to_json(back);
	if (!json_equal(j, again))
		abort();
	json_decref(again);
	xeci_mail_free(back);
	json_decref(j);
	xeci_mail_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	xeci_mail_global_init();
	parse_one((const char *)data, size);
	for (unsigned flags = 0; flags <= XECI_MBOX_RD; flags += XECI_MBOX_RD) {
		xeci_mbox *mb;
		const char *msg;
		size_t len;
		if (xeci_mbox_open_buffer(&mb, (const char *)data, size, flags) != 0)
			abort();
		int n = 0;
		while (xeci_mbox_next(&msg, &len, mb) == 0 && n++ < 64)
			if (flags)
				parse_one(msg, len);
		xeci_mbox_free(mb);
	}
	return 0;
}
