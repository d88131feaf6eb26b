/* `xeci results parse --format igt DIR | --format ktap FILE`: the agents'
 * test-result parsers (common/results_*.c) on files, one JSON object per
 * test per line: {"name", "result"} for IGT (as igt_resultgen decides),
 * {"path", "status"} for KTAP (as the kernel's kunit.py decides). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "results_igt.h"
#include "results_ktap.h"
#include "util.h"

static const char usage_text[] = "usage: xeci results parse --format igt DIR\n"
				 "       xeci results parse --format ktap FILE\n";

static int parse_igt(const char *dir)
{
	xeci_igt_results *r = NULL;
	if (xeci_igt_results_parse(&r, dir) < 0) {
		fprintf(stderr, "xeci: results: %s: %s\n", dir, xeci_error_last());
		return XECI_EXIT_FAIL;
	}
	int rc = xeci_igt_results_write_jsonl(stdout, r);
	xeci_igt_results_free(r);
	return rc < 0 ? XECI_EXIT_FAIL : XECI_EXIT_OK;
}

static int parse_ktap(const char *file)
{
	char *text = NULL;
	size_t len = 0;
	xeci_ktap_results *r = NULL;
	if (xeci_file_read(&text, &len, file) < 0 || xeci_ktap_parse(&r, text, len) < 0) {
		fprintf(stderr, "xeci: results: %s: %s\n", file, xeci_error_last());
		free(text);
		return XECI_EXIT_FAIL;
	}
	int rc = xeci_ktap_write_jsonl(stdout, r);
	xeci_ktap_results_free(r);
	free(text);
	return rc < 0 ? XECI_EXIT_FAIL : XECI_EXIT_OK;
}

int xeci_cmd_results_parse(int argc, char **argv)
{
	const char *format = NULL, *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--format") && i + 1 < argc)
			format = argv[++i];
		else if (argv[i][0] != '-' && !path)
			path = argv[i];
		else {
			fputs(usage_text, stderr);
			return XECI_EXIT_USAGE;
		}
	}
	if (!format || !path || (strcmp(format, "igt") && strcmp(format, "ktap"))) {
		fputs(usage_text, stderr);
		return XECI_EXIT_USAGE;
	}
	return !strcmp(format, "igt") ? parse_igt(path) : parse_ktap(path);
}
