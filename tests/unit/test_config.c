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
	rejects("tree-no-url.conf", "tree \"t\" has no url");
	rejects("tree-bad-interval.conf", "tree.t.fetchinterval = 'soon': expected a positive number");
	rejects("tree-zero-interval.conf", "expected a positive number of seconds");
	rejects("tree-unknown.conf", "inbox \"i\": unknown tree \"nope\"");
	rejects("tree-bad-name.conf", "one path component");
}

static void reads_trees(void **state)
{
	xeci_config *cfg;
	assert_int_equal(xeci_config_load(&cfg, data_path("trees.conf")), 0);
	assert_int_equal(cfg->ntrees, 3);
	const xeci_config_tree *tip = xeci_config_tree_find(cfg, "drm-tip");
	assert_non_null(tip);
	assert_string_equal(tip->url, "https://gitlab.freedesktop.org/drm/tip.git");
	assert_string_equal(tip->branch, "drm-tip");
	assert_int_equal(tip->fetch_interval, 3600);
	assert_int_equal(tip->nprefixes, 0);
	const xeci_config_tree *next = xeci_config_tree_find(cfg, "drm-xe-next");
	assert_non_null(next);
	assert_int_equal(next->fetch_interval, 600);
	assert_int_equal(next->nprefixes, 2);
	assert_string_equal(next->prefixes[0], "drm-xe-next");
	assert_string_equal(next->prefixes[1], "xe-next");
	const xeci_config_tree *fixes = xeci_config_tree_find(cfg, "fixes");
	assert_non_null(fixes);
	assert_string_equal(fixes->branch, "master");
	assert_string_equal(xeci_config_inbox_find(cfg, "intel-xe")->tree, "drm-tip");
	assert_null(xeci_config_inbox_find(cfg, "dri-devel")->tree);
	assert_null(xeci_config_tree_find(cfg, "nope"));
	xeci_config_free(cfg);
}

static void chooses_a_tree(void **state)
{
	xeci_config *cfg;
	char *none[] = {NULL};
	char *next[] = {"v2", "DRM-XE-NEXT"};
	char *fixes[] = {"drm-xe-fixes"};
	char *both[] = {"drm-xe-fixes", "xe-next"};
	char *other[] = {"net-next"};
	assert_int_equal(xeci_config_load(&cfg, data_path("trees.conf")), 0);
	/* a prefix wins over the inbox's default, whatever the inbox */
	assert_string_equal(xeci_config_tree_for(cfg, "intel-xe", next, 2)->name, "drm-xe-next");
	assert_string_equal(xeci_config_tree_for(cfg, "dri-devel", fixes, 1)->name, "fixes");
	assert_string_equal(xeci_config_tree_for(cfg, NULL, fixes, 1)->name, "fixes");
	/* two matching trees: the first in the file */
	assert_string_equal(xeci_config_tree_for(cfg, "intel-xe", both, 2)->name, "drm-xe-next");
	/* no matching prefix: the inbox's default tree, else none */
	assert_string_equal(xeci_config_tree_for(cfg, "intel-xe", other, 1)->name, "drm-tip");
	assert_string_equal(xeci_config_tree_for(cfg, "intel-xe", none, 0)->name, "drm-tip");
	assert_null(xeci_config_tree_for(cfg, "dri-devel", other, 1));
	assert_null(xeci_config_tree_for(cfg, "unknown-inbox", none, 0));
	xeci_config_free(cfg);

	/* no trees at all */
	assert_int_equal(xeci_config_load(&cfg, data_path("full.conf")), 0);
	assert_int_equal(cfg->ntrees, 0);
	assert_null(xeci_config_tree_for(cfg, "intel-xe", next, 2));
	xeci_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_every_key),
		cmocka_unit_test(defaults_without_a_file),
		cmocka_unit_test(bad_files_give_clear_errors),
		cmocka_unit_test(reads_trees),
		cmocka_unit_test(chooses_a_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
