/* `xeci series assemble MBOX [--mboxrd]`: every series version found in an
 * mbox, one JSON object per line, in the set's stable order (first mail's
 * date, then posting key). Mails that do not parse are reported and left
 * out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "mbox.h"
#include "series.h"
#include "util.h"

static int read_mails(xeci_mail ***out, size_t *n, const char *path, unsigned flags)
{
	xeci_mbox *mb;
	const char *msg;
	size_t len, cap = 0;
	int rc;
	*out = NULL;
	*n = 0;
	if ((rc = xeci_mbox_open(&mb, path, flags)) < 0)
		return rc;
	while ((rc = xeci_mbox_next(&msg, &len, mb)) == 0) {
		xeci_mail *m;
		if (xeci_mail_parse(&m, msg, len, 0) < 0) {
			fprintf(stderr, "xeci: %s: message %zu skipped: %s\n", path, *n + 1,
				xeci_error_last());
			continue;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*out = xeci_realloc(*out, cap * sizeof(**out));
		}
		(*out)[(*n)++] = m;
	}
	xeci_mbox_free(mb);
	return rc == XECI_ITEROVER ? 0 : rc;
}

int xeci_cmd_series_assemble(int argc, char **argv)
{
	const char *path = NULL;
	unsigned flags = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mboxrd"))
			flags |= XECI_MBOX_RD;
		else if (argv[i][0] == '-' || path) {
			fprintf(stderr, "usage: xeci series assemble MBOX [--mboxrd]\n");
			return XECI_EXIT_USAGE;
		} else
			path = argv[i];
	}
	if (!path) {
		fprintf(stderr, "usage: xeci series assemble MBOX [--mboxrd]\n");
		return XECI_EXIT_USAGE;
	}
	xeci_mail_global_init();

	xeci_mail **mails;
	size_t n;
	xeci_series_set *set = NULL;
	int ret = XECI_EXIT_OK;
	if (read_mails(&mails, &n, path, flags) < 0 || xeci_series_assemble(&set, mails, n) < 0) {
		fprintf(stderr, "xeci: series assemble: %s\n", xeci_error_last());
		ret = XECI_EXIT_FAIL;
	}
	for (size_t i = 0; i < xeci_series_set_count(set); i++) {
		json_t *j = xeci_series_version_to_json(xeci_series_set_get(set, i));
		char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
		puts(s);
		free(s);
		json_decref(j);
	}
	xeci_series_set_free(set);
	for (size_t i = 0; i < n; i++)
		xeci_mail_free(mails[i]);
	free(mails);
	return ret;
}
