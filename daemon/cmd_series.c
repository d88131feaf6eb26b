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
	if (xeci_cli_read_mails(&mails, &n, path, flags) < 0 || xeci_series_assemble(&set, mails, n) < 0) {
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
