/* `xeci mail parse [--mboxrd] [--scissors] FILE`: one JSON object per line
 * for each message of FILE (an mbox, or one message), split as
 * `git mailsplit` splits. A message that does not parse prints
 * {"error": ..., "index": N} and the others go on; exit 1 if any failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "mail.h"
#include "mbox.h"

static int usage(void)
{
	fprintf(stderr, "usage: xeci mail parse [--mboxrd] [--scissors] FILE\n");
	return XECI_EXIT_USAGE;
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
	json_decref(j);
}

int xeci_cmd_mail_parse(int argc, char **argv)
{
	unsigned flags = 0;
	xeci_mail_opts opts = {0};
	const char *path = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mboxrd"))
			flags |= XECI_MBOX_RD;
		else if (!strcmp(argv[i], "--scissors"))
			opts.scissors = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return usage();
		else if (argv[i][0] == '-' && argv[i][1])
			return usage();
		else if (path)
			return usage();
		else
			path = argv[i];
	}
	if (!path)
		return usage();

	xeci_mbox *mb;
	if (xeci_mbox_open(&mb, path, flags) < 0) {
		fprintf(stderr, "xeci: %s\n", xeci_error_last());
		return XECI_EXIT_FAIL;
	}
	xeci_mail_global_init();
	int failed = 0, rc;
	long index = 0;
	const char *msg;
	size_t len;
	while ((rc = xeci_mbox_next(&msg, &len, mb)) == 0) {
		xeci_mail *m;
		if (xeci_mail_parse_ext(&m, msg, len, &opts) < 0) {
			print_json(json_pack("{s:s, s:i}", "error", xeci_error_last(), "index", (json_int_t)index));
			failed = 1;
		} else {
			print_json(xeci_mail_to_json(m));
			xeci_mail_free(m);
		}
		index++;
	}
	if (rc != XECI_ITEROVER) {
		fprintf(stderr, "xeci: %s: %s\n", path, xeci_error_last());
		failed = 1;
	} else if (index == 0) {
		fprintf(stderr, "xeci: %s: empty mbox\n", path);
		failed = 1;
	}
	xeci_mbox_free(mb);
	fflush(stdout);
	return failed ? XECI_EXIT_FAIL : XECI_EXIT_OK;
}
