/* libFuzzer target: the IGT results-directory parser. The input is split
 * into chunks (selector byte, 16-bit little-endian length, bytes) that become
 * the files of a results directory: selector % 8 picks metadata.txt,
 * joblist.txt, aborted.txt or journal/out/err/dmesg.txt of job 0 or 1; files
 * no chunk names are absent, except metadata.txt and joblist.txt, which get
 * defaults (from the first byte) so the per-job parsing is reached. Then
 * parse, write the JSON lines and read every accessor. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "results_igt.h"

static char root[] = "/tmp/fuzz_results_igt.XXXXXX";

static const char *const files[] = {
	"metadata.txt",
	"joblist.txt",
	"aborted.txt",
	"0/journal.txt",
	"0/out.txt",
	"0/err.txt",
	"0/dmesg.txt",
	NULL, /* selector 7: one of `more`, chosen by the next selector bits */
};
static const char *const more[] = {"1/journal.txt", "1/out.txt", "1/err.txt", "1/dmesg.txt", "0/comms", "1/comms"};
#define NMORE (sizeof(more) / sizeof(more[0]))

static void write_file(const char *name, const uint8_t *data, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		abort();
	if (len && fwrite(data, 1, len, f) != len)
		abort();
	fclose(f);
}

static void remove_all(void)
{
	char path[512];
	for (size_t i = 0; i < 7; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, files[i]);
		unlink(path);
	}
	for (size_t i = 0; i < NMORE; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, more[i]);
		unlink(path);
	}
}

static void read_all(const xeci_igt_results *r)
{
	FILE *devnull = fopen("/dev/null", "w");
	if (!devnull || xeci_igt_results_write_jsonl(devnull, r) != 0)
		abort();
	fclose(devnull);
	for (size_t i = 0; i < xeci_igt_results_count(r); i++) {
		const xeci_igt_test *t = xeci_igt_results_get(r, i);
		size_t len;
		double d;
		if (!t || xeci_igt_results_find(r, xeci_igt_test_name(t)) != t)
			abort();
		if (strlen(xeci_igt_test_out(t, &len)) != len || strlen(xeci_igt_test_err(t, &len)) != len ||
		    strlen(xeci_igt_test_dmesg(t, &len)) != len ||
		    strlen(xeci_igt_test_dmesg_warnings(t, &len)) != len)
			abort();
		xeci_igt_test_duration(&d, t);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		char path[512];
		if (!mkdtemp(root))
			abort();
		snprintf(path, sizeof(path), "%s/0", root);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/1", root);
		mkdir(path, 0755);
		ready = 1;
	}
	remove_all();
	bool have_meta = false, have_jobs = false;
	size_t p = 0;
	while (p + 3 <= size) {
		unsigned sel = data[p];
		size_t len = (size_t)data[p + 1] | (size_t)data[p + 2] << 8;
		p += 3;
		if (len > size - p)
			len = size - p;
		const char *name = files[sel % 8] ? files[sel % 8] : more[(sel / 8) % NMORE];
		write_file(name, data + p, len);
		have_meta |= sel % 8 == 0;
		have_jobs |= sel % 8 == 1;
		p += len;
	}
	if (!have_meta) {
		char meta[128];
		int n = snprintf(meta, sizeof(meta), "prune_mode : %d\npiglit_style_dmesg : %d\nmultiple_mode : %d\n",
				 size ? data[0] % 4 : 2, size ? (data[0] >> 2) & 1 : 0, size ? (data[0] >> 3) & 1 : 0);
		write_file("metadata.txt", (const uint8_t *)meta, (size_t)n);
	}
	if (!have_jobs) {
		static const char jobs[] = "bin a,b,c@d\nsolo\n";
		write_file("joblist.txt", (const uint8_t *)jobs, sizeof(jobs) - 1);
	}
	xeci_igt_results *r;
	if (xeci_igt_results_parse(&r, root) != 0)
		abort(); /* both files exist */
	read_all(r);
	xeci_igt_results_free(r);
	return 0;
}
