/* xeci-agent's pure parts: the PCI id table and detection on a fake sysfs
 * tree, the config file, the host back-end's state file round trip, test
 * list shards, the kernel's build id note, results naming and UTF-8, and
 * the qemu console read into results (a panic, a timeout, a suite that
 * never started). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/config.h"
#include "agent/console.h"
#include "agent/host_state.h"
#include "agent/igt.h"
#include "agent/job.h"
#include "agent/platform.h"
#include "agent/results.h"
#include "error.h"
#include "util.h"

static char *tmpdir(void)
{
	char *d = xeci_strdup("/tmp/xeci-agent-unit.XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static void rm_rf(const char *d)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	assert_int_equal(xeci_mkdir_p(path, 0755), 0);
	*slash = '/';
	assert_int_equal(xeci_file_write_atomic(path, text, strlen(text)), 0);
}

/* ---- PCI table ------------------------------------------------------------ */

static void test_pci_table(void **state)
{
	(void)state;
	/* LNL and BMG: the platforms where 6.12 allows fault mode */
	assert_string_equal(xeci_platform_of_pci(0x8086, 0x6420), "lnl");
	assert_string_equal(xeci_platform_of_pci(0x8086, 0x64a0), "lnl");
	assert_string_equal(xeci_platform_of_pci(0x8086, 0x64b0), "lnl");
	for (unsigned id = 0xe202; id <= 0xe212; id++) {
		bool bmg = id == 0xe202 || id == 0xe20b || id == 0xe20c || id == 0xe20d || id == 0xe212;
		if (bmg)
			assert_string_equal(xeci_platform_of_pci(0x8086, id), "bmg");
		else
			assert_null(xeci_platform_of_pci(0x8086, id));
	}
	assert_string_equal(xeci_platform_of_pci(0x8086, 0x56a0), "dg2");
	assert_string_equal(xeci_platform_of_pci(0x8086, 0x7d55), "mtl");
	assert_string_equal(xeci_platform_of_pci(0x8086, 0xb080), "ptl");
	assert_string_equal(xeci_platform_of_pci(0x8086, 0x9a49), "tgl");
	/* the table's ends, for the binary search */
	assert_string_equal(xeci_platform_of_pci(0x8086, 0x0b69), "pvc");
	assert_string_equal(xeci_platform_of_pci(0x8086, 0xe212), "bmg");
	assert_null(xeci_platform_of_pci(0x8086, 0x0000));
	assert_null(xeci_platform_of_pci(0x8086, 0xffff));
	assert_null(xeci_platform_of_pci(0x1002, 0x6420)); /* not Intel */
}

static void test_detect(void **state)
{
	(void)state;
	char *d = tmpdir();
	write_file(d, "class/drm/card0/device/vendor", "0x8086\n");
	write_file(d, "class/drm/card0/device/device", "0xe20b\n");
	write_file(d, "class/drm/card0-DP-1/device/vendor", "0x8086\n"); /* a connector, not a card */
	write_file(d, "class/drm/card1/device/vendor", "0x1af4\n");     /* virtio-gpu */
	write_file(d, "class/drm/card1/device/device", "0x1050\n");
	char *platform;
	json_t *ids;
	int n;
	xeci_platform_detect(&platform, &ids, &n, d);
	assert_int_equal(n, 1);
	assert_string_equal(platform, "bmg");
	assert_int_equal(json_array_size(ids), 1);
	assert_string_equal(json_string_value(json_array_get(ids, 0)), "8086:e20b");
	free(platform);
	json_decref(ids);
	xeci_platform_detect(&platform, &ids, &n, "/nonexistent");
	assert_int_equal(n, 0);
	assert_null(platform);
	json_decref(ids);
	rm_rf(d);
	free(d);
}

static void test_build_id(void **state)
{
	(void)state;
	/* two notes: a Xen one, then NT_GNU_BUILD_ID, as /sys/kernel/notes has them */
	unsigned char notes[64] = {0};
	unsigned char *p = notes;
	uint32_t hdr1[3] = {4, 4, 6};
	memcpy(p, hdr1, 12), p += 12;
	memcpy(p, "Xen", 4), p += 4;
	memcpy(p, "\1\2\3\4", 4), p += 4;
	uint32_t hdr2[3] = {4, 20, 3};
	memcpy(p, hdr2, 12), p += 12;
	memcpy(p, "GNU", 4), p += 4;
	for (int i = 0; i < 20; i++)
		*p++ = (unsigned char)(0xa0 + i);
	char out[129];
	assert_int_equal(xeci_platform_build_id(out, sizeof(out), notes, (size_t)(p - notes)), 0);
	assert_string_equal(out, "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3");
	/* cut inside the descriptor: not read past the end */
	assert_int_equal(xeci_platform_build_id(out, sizeof(out), notes, (size_t)(p - notes) - 1), XECI_ENOTFOUND);
}

/* ---- config ------------------------------------------------------------- */

static int load(xeci_agent_config **c, const char *dir, const char *text)
{
	write_file(dir, "agent.conf", text);
	char path[1024];
	snprintf(path, sizeof(path), "%s/agent.conf", dir);
	return xeci_agent_config_load(c, path);
}

static void test_config(void **state)
{
	(void)state;
	char *d = tmpdir();
	xeci_agent_config *c;
	assert_int_equal(load(&c, d,
			      "[agent]\n\tserver = http://127.0.0.1:8080/\n\ttoken = abc\n\tbackend = qemu\n"
			      "\tcapabilities = fault-mode svm\n\tcapabilities = more\n\tworkDir = /w\n"
			      "[qemu]\n\tmemory = 1024\n\tkvm = auto\n\tbootTimeout = 30\n"),
			 0);
	assert_string_equal(c->server, "http://127.0.0.1:8080"); /* no trailing slash */
	assert_string_equal(c->token, "abc");
	assert_string_equal(c->backend, "qemu");
	assert_string_equal(c->work_dir, "/w");
	assert_int_equal(c->ncaps, 3);
	assert_string_equal(c->caps[0], "fault-mode");
	assert_string_equal(c->caps[1], "svm");
	assert_string_equal(c->caps[2], "more");
	assert_int_equal(c->qemu.memory_mb, 1024);
	assert_int_equal(c->qemu.cpus, 2);             /* default */
	assert_int_equal(c->qemu.boot_timeout_s, 30);
	assert_int_equal(c->qemu.run_timeout_s, 600);  /* default */
	assert_string_equal(c->qemu.kvm, "auto");
	assert_int_equal(c->heartbeat_s, 30);
	assert_string_equal(c->host.state_file, "/w/host-state");
	xeci_agent_config_free(c);

	assert_int_equal(load(&c, d,
			      "[agent]\n\tserver = http://x\n\ttoken = t\n\tbackend = host\n"
			      "[host]\n\tknownGood = 6.1.0-18-amd64\n\tboot = bootentry\n\tpowerCommand = ipmitool power cycle\n"),
			 0);
	assert_string_equal(c->host.known_good, "6.1.0-18-amd64");
	assert_string_equal(c->host.boot, "bootentry");
	assert_string_equal(c->host.power_command, "ipmitool power cycle");
	assert_string_equal(c->host.igt, "/usr/libexec/igt-gpu-tools");
	assert_string_equal(c->qemu.kvm, "off"); /* KVM guests hang here: off unless asked */
	xeci_agent_config_free(c);

	/* what must be refused, each with the key named */
	static const struct {
		const char *text, *says;
	} bad[] = {
		{"[agent]\n\ttoken = t\n\tbackend = sim\n[sim]\n\tscript = s\n", "agent.server"},
		{"[agent]\n\tserver = http://x\n\tbackend = sim\n[sim]\n\tscript = s\n", "agent.token"},
		{"[agent]\n\tserver = http://x\n\ttoken = t\n\tbackend = lava\n", "lava"},
		{"[agent]\n\tserver = http://x\n\ttoken = t\n\tbackend = sim\n", "sim.script"},
		{"[agent]\n\tserver = http://x\n\ttoken = t\n\tbackend = host\n", "knownGood"},
		{"[agent]\n\tserver = http://x\n\ttoken = t\n\tbackend = qemu\n\tsevrer = y\n", "agent.sevrer"},
		{"[agent]\n\tserver = http://x\n\ttoken = t\n\tbackend = qemu\n[qemu]\n\tmemory = lots\n", "qemu.memory"},
		{"[agent]\n\tserver = http://x\n\ttoken = t\n\tbackend = qemu\n[qemu]\n\tkvm = maybe\n", "qemu.kvm"},
		{"[agent]\n\tserver = http://x\n\ttoken = t\n\tbackend = qemu\n[qemu]\n\tcpus = 0\n", "qemu.cpus"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = NULL;
		assert_int_equal(load(&c, d, bad[i].text), XECI_EINVALID);
		assert_null(c);
		if (!strstr(xeci_error_last(), bad[i].says))
			fail_msg("case %zu: '%s' does not name %s", i, xeci_error_last(), bad[i].says);
	}
	rm_rf(d);
	free(d);
}

/* ---- host state ----------------------------------------------------------- */

static void test_host_state(void **state)
{
	(void)state;
	char *d = tmpdir(), path[1024];
	snprintf(path, sizeof(path), "%s/state", d);
	xeci_host_state st = XECI_HOST_STATE_INIT, back;
	assert_int_equal(xeci_host_state_load(&back, path), XECI_ENOTFOUND);
	json_error_t e;
	st.job = json_loads("{\"job\": {\"id\": 7, \"lease\": 12, \"build\": 3, \"suites\": [\"igt:x.testlist\"], "
			    "\"artifacts\": [], \"shard\": 1, \"shards\": 2}}", 0, &e);
	st.phase = xeci_strdup("booting");
	st.release = xeci_strdup("6.12.117-xeci");
	st.build_id = xeci_strdup("0123abcd");
	st.known_good = xeci_strdup("6.1.0-18-amd64");
	assert_int_equal(xeci_host_state_save(path, &st), 0);
	assert_int_equal(xeci_host_state_load(&back, path), 0);
	assert_string_equal(back.phase, "booting");
	assert_string_equal(back.release, "6.12.117-xeci");
	assert_string_equal(back.build_id, "0123abcd");
	assert_string_equal(back.known_good, "6.1.0-18-amd64");
	assert_true(json_equal(back.job, st.job));
	/* the saved lease answer is a job again, with its lease (the fencing token) */
	xeci_job *j;
	assert_int_equal(xeci_job_parse(&j, back.job), 0);
	assert_int_equal(j->id, 7);
	assert_int_equal(j->lease, 12);
	assert_int_equal(j->shard, 1);
	assert_int_equal(j->shards, 2);
	assert_string_equal(j->suites[0], "igt:x.testlist");
	xeci_job_free(j);
	xeci_host_state_clear(&back);
	xeci_host_state_clear(&st);
	/* garbage is refused, not half-read */
	write_file(d, "state", "{\"phase\": \"testing\"");
	assert_int_equal(xeci_host_state_load(&back, path), XECI_EINVALID);
	assert_int_equal(xeci_host_state_remove(path), 0);
	assert_int_equal(xeci_host_state_load(&back, path), XECI_ENOTFOUND);
	rm_rf(d);
	free(d);
}

static void test_job_parse_refuses_path_names(void **state)
{
	(void)state;
	json_error_t e;
	const char *sha = "0000000000000000000000000000000000000000000000000000000000000000";
	char text[512];
	snprintf(text, sizeof(text),
		 "{\"job\": {\"id\": 1, \"lease\": 2, \"suites\": [\"kunit:xe\"], \"artifacts\": "
		 "[{\"name\": \"../../etc/passwd\", \"size\": 1, \"sha256\": \"%s\", \"url\": \"/x\"}]}}", sha);
	json_t *a = json_loads(text, 0, &e);
	xeci_job *j = NULL;
	assert_int_equal(xeci_job_parse(&j, a), XECI_EINVALID);
	assert_null(j);
	json_decref(a);
}

/* ---- IGT test lists ------------------------------------------------------- */

static void test_shards(void **state)
{
	(void)state;
	const char *list = "# xe fault BAT\nigt@a@1\n\nigt@a@2  \n  igt@a@3\n#igt@a@off\nigt@a@4\r\nigt@a@5";
	char **t;
	size_t n;
	assert_int_equal(xeci_igt_testlist_shard(&t, &n, list, 0, 1), 0);
	assert_int_equal(n, 5);
	assert_string_equal(t[1], "igt@a@2");
	assert_string_equal(t[2], "igt@a@3");
	assert_string_equal(t[3], "igt@a@4");
	xeci_igt_tests_free(t, n);
	assert_int_equal(xeci_igt_testlist_shard(&t, &n, list, 1, 2), 0);
	assert_int_equal(n, 2);
	assert_string_equal(t[0], "igt@a@2");
	assert_string_equal(t[1], "igt@a@4");
	xeci_igt_tests_free(t, n);
	assert_int_equal(xeci_igt_testlist_shard(&t, &n, list, 2, 2), XECI_EINVALID);
}

/* ---- results ---------------------------------------------------------------- */

static json_t *find_test(const json_t *arr, const char *name)
{
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o)
		if (!strcmp(json_string_value(json_object_get(o, "test")), name))
			return o;
	return NULL;
}

static void test_results_names_and_utf8(void **state)
{
	(void)state;
	xeci_agent_results *r;
	xeci_agent_results_new(&r);
	const char bad[] = "ok\xff\xc3(\0end";
	xeci_agent_results_add(r, "s.t", "kunit:xe", "pass", 5, bad, sizeof(bad) - 1, NULL, 0, NULL, 0);
	xeci_agent_results_add(r, "s.t", "kunit:xe", "fail", -1, NULL, 0, NULL, 0, NULL, 0);
	const json_t *a = xeci_agent_results_json(r);
	assert_int_equal(json_array_size(a), 2);
	json_t *one = find_test(a, "s.t"), *two = find_test(a, "s.t #2");
	assert_non_null(one);
	assert_non_null(two);
	assert_string_equal(json_string_value(json_object_get(one, "out")), "ok?" "?(?end");
	assert_int_equal(json_integer_value(json_object_get(one, "duration_ms")), 5);
	assert_null(json_object_get(two, "duration_ms"));
	assert_string_equal(json_string_value(json_object_get(two, "status")), "fail");
	assert_int_equal(xeci_agent_results_count_status(r, "pass"), 1);
	xeci_agent_results_free(r);
}

/* ---- qemu console ----------------------------------------------------------- */

static xeci_job *job_of(const char *suites)
{
	char text[512];
	snprintf(text, sizeof(text), "{\"job\": {\"id\": 1, \"lease\": 1, \"suites\": %s, \"artifacts\": []}}", suites);
	json_error_t e;
	json_t *a = json_loads(text, 0, &e);
	xeci_job *j;
	assert_int_equal(xeci_job_parse(&j, a), 0);
	json_decref(a);
	return j;
}

static const char *status_of(const xeci_agent_results *r, const char *test, const char *suite)
{
	json_t *o = find_test(xeci_agent_results_json(r), test);
	if (!o)
		fail_msg("no result for %s", test);
	assert_string_equal(json_string_value(json_object_get(o, "suite")), suite);
	return json_string_value(json_object_get(o, "status"));
}

#define KUNIT                                                                                                \
	"Linux version 6.12\r\nKTAP version 1\r\n1..2\r\n    KTAP version 1\r\n    # Subtest: xe_pci\r\n"     \
	"    1..2\r\n    ok 1 fake_data\r\n    ok 2 other # SKIP no GPU\r\nok 1 xe_pci\r\n"                 \
	"    KTAP version 1\r\n    # Subtest: xe_rtp\r\n    1..1\r\n    not ok 1 rules\r\nnot ok 2 xe_rtp\r\n"

static void test_console_full_run(void **state)
{
	(void)state;
	const char *con = KUNIT "Run /init\r\nxeci-init: start\r\nxeci-suite-begin: ktap:hmm-tests\r\n"
			  "TAP version 13\r\n1..2\r\n# Starting 2 tests from 1 test cases.\r\n"
			  "ok 1 hmm.hmm_device_private.open_close\r\nok 2 hmm.hmm.anon_write # SKIP no hugetlb\r\n"
			  "# Totals: pass:1 fail:0\r\nxeci-suite-end: ktap:hmm-tests rc=0\r\nxeci-init: done\r\n";
	xeci_job *j = job_of("[\"kunit:xe\", \"ktap:hmm-tests\", \"igt:x.testlist\"]");
	xeci_agent_results *r;
	xeci_agent_results_new(&r);
	assert_true(xeci_console_booted(con, strlen(con)));
	xeci_console_results(r, j, con, strlen(con), XECI_CONSOLE_DONE);
	assert_int_equal(xeci_agent_results_count(r), 6);
	assert_string_equal(status_of(r, "xe_pci.fake_data", "kunit:xe"), "pass");
	assert_string_equal(status_of(r, "xe_pci.other", "kunit:xe"), "skip");
	assert_string_equal(status_of(r, "xe_rtp.rules", "kunit:xe"), "fail");
	assert_string_equal(status_of(r, "hmm.hmm_device_private.open_close", "ktap:hmm-tests"), "pass");
	assert_string_equal(status_of(r, "hmm.hmm.anon_write", "ktap:hmm-tests"), "skip");
	/* qemu has no IGT: said, not dropped */
	assert_string_equal(status_of(r, "x.testlist", "igt:x.testlist"), "notrun");
	char *last = NULL;
	assert_int_equal(xeci_console_progress(con, strlen(con), &last), 7);
	assert_string_equal(last, "hmm.hmm.anon_write");
	free(last);
	xeci_agent_results_free(r);
	xeci_job_free(j);
}

static void test_console_panic_in_hmm_tests(void **state)
{
	(void)state;
	const char *con = KUNIT "xeci-init: start\r\nxeci-suite-begin: ktap:hmm-tests\r\nTAP version 13\r\n1..3\r\n"
			  "ok 1 hmm.a\r\n# RUN hmm.b\r\nBUG: kernel NULL pointer dereference\r\n"
			  "Kernel panic - not syncing: Fatal exception\r\n";
	xeci_job *j = job_of("[\"kunit:xe\", \"ktap:hmm-tests\"]");
	xeci_agent_results *r;
	xeci_agent_results_new(&r);
	xeci_console_results(r, j, con, strlen(con), XECI_CONSOLE_DONE);
	assert_string_equal(status_of(r, "xe_pci.fake_data", "kunit:xe"), "pass");
	assert_string_equal(status_of(r, "hmm.a", "ktap:hmm-tests"), "pass");
	/* the one running when the kernel died crashed; the next never started */
	assert_string_equal(status_of(r, "#2", "ktap:hmm-tests"), "crash");
	assert_string_equal(status_of(r, "#3", "ktap:hmm-tests"), "incomplete");
	json_t *o = find_test(xeci_agent_results_json(r), "#2");
	assert_non_null(strstr(json_string_value(json_object_get(o, "dmesg")), "Kernel panic"));
	xeci_agent_results_free(r);
	xeci_job_free(j);
}

static void test_console_timeout_and_never_started(void **state)
{
	(void)state;
	/* KUnit stuck in its second suite when qemu was killed: hmm-tests never ran */
	const char *con = "KTAP version 1\r\n1..2\r\n    KTAP version 1\r\n    # Subtest: xe_pci\r\n    1..1\r\n"
			  "    ok 1 fake_data\r\nok 1 xe_pci\r\n    KTAP version 1\r\n    # Subtest: xe_bo\r\n    1..1\r\n";
	xeci_job *j = job_of("[\"kunit:xe\", \"ktap:hmm-tests\"]");
	xeci_agent_results *r;
	xeci_agent_results_new(&r);
	xeci_console_results(r, j, con, strlen(con), XECI_CONSOLE_TIMEOUT);
	assert_string_equal(status_of(r, "xe_pci.fake_data", "kunit:xe"), "pass");
	assert_string_equal(status_of(r, "xe_bo.#1", "kunit:xe"), "timeout");
	assert_string_equal(status_of(r, "hmm-tests", "ktap:hmm-tests"), "notrun");
	xeci_agent_results_free(r);
	/* no KTAP at all: not booted */
	const char *dead = "SeaBIOS\r\nBooting from ROM..\r\n";
	assert_false(xeci_console_booted(dead, strlen(dead)));
	/* the init could not run the suite (no test_hmm.ko): a failure, with why */
	const char *cant = KUNIT "xeci-init: start\r\nxeci-suite-begin: ktap:hmm-tests\r\nxeci: cannot load test_hmm.ko\r\n"
			   "xeci-suite-end: ktap:hmm-tests rc=125\r\n";
	xeci_agent_results_new(&r);
	xeci_console_results(r, j, cant, strlen(cant), XECI_CONSOLE_DONE);
	assert_string_equal(status_of(r, "hmm-tests", "ktap:hmm-tests"), "fail");
	json_t *o = find_test(xeci_agent_results_json(r), "hmm-tests");
	assert_non_null(strstr(json_string_value(json_object_get(o, "out")), "cannot load test_hmm.ko"));
	xeci_agent_results_free(r);
	xeci_job_free(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pci_table),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_build_id),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_host_state),
		cmocka_unit_test(test_job_parse_refuses_path_names),
		cmocka_unit_test(test_shards),
		cmocka_unit_test(test_results_names_and_utf8),
		cmocka_unit_test(test_console_full_run),
		cmocka_unit_test(test_console_panic_in_hmm_tests),
		cmocka_unit_test(test_console_timeout_and_never_started),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
