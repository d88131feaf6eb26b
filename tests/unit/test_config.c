/* xeci.conf: values read, embedded defaults, and clear errors on bad files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "error.h"

static char *data_path(const char *name)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s/tests/data/config/%s", getenv("XECI_SRC"), name);
	return buf;
}

static void reads_every_key(void **state)
{
	xeci_config *cfg;
	assert_int_equal(xeci_config_load(&cfg, data_path("full.conf")), 0);
	assert_string_equal(cfg->db_path, "/var/lib/xeci/xeci.db");
	assert_string_equal(cfg->data_dir, "/var/lib/xeci");
	assert_int_equal(cfg->incomplete_wait, 3600);
	assert_int_equal(cfg->max_message_size, 1048576);
	assert_int_equal(cfg->ninboxes, 2);
	const xeci_config_inbox *xe = xeci_config_inbox_find(cfg, "intel-xe");
	assert_non_null(xe);
	assert_string_equal(xe->url, "https://lore.kernel.org/intel-xe");
	assert_string_equal(xe->transport, "git");
	assert_int_equal(xe->poll_interval, 120);
	assert_int_equal(xe->filter.npaths, 2);
	assert_string_equal(xe->filter.paths[0], "drivers/gpu/drm/xe/");
	assert_string_equal(xe->filter.paths[1], "mm/");
	assert_int_equal(xe->filter.nprefixes, 1);
	assert_string_equal(xe->filter.prefixes[0], "drm-xe-next");
	const xeci_config_inbox *dri = xeci_config_inbox_find(cfg, "dri-devel");
	assert_non_null(dri);
	assert_string_equal(dri->transport, "atom");
	assert_int_equal(dri->poll_interval, 300);
	assert_int_equal(dri->filter.npaths + dri->filter.nprefixes, 0);
	assert_null(xeci_config_inbox_find(cfg, "Intel-Xe"));
	xeci_config_free(cfg);
}

static void defaults_without_a_file(void **state)
{
	xeci_config *cfg;
	unsetenv("XECI_CONFIG");
	assert_int_equal(xeci_config_load(&cfg, NULL), 0);
	assert_string_equal(cfg->db_path, "xeci.db");
	assert_int_equal(cfg->ninboxes, 0);
	assert_int_equal(cfg->incomplete_wait, 24 * 3600);
	xeci_config_free(cfg);
}

static void rejects(const char *file, const char *needle)
{
	xeci_config *cfg = NULL;
	assert_true(xeci_config_load(&cfg, data_path(file)) < 0);
	assert_null(cfg);
	if (!strstr(xeci_error_last(), needle))
		fail_msg("%s: error '%s' does not say '%s'", file, xeci_error_last(), needle);
}

static void bad_files_give_clear_errors(void **state)
{
	rejects("bad-transport.conf", "expected git or atom");
	rejects("no-url.conf", "has no url");
	rejects("bad-filter.conf", "expected path:P or prefix:P");
	rejects("syntax.conf", "syntax.conf");
	rejects("does-not-exist.conf", "does-not-exist.conf");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_every_key),
		cmocka_unit_test(defaults_without_a_file),
		cmocka_unit_test(bad_files_give_clear_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
