/* The header fast paths (daemon/mail_fasthdr.c) against GMime: wherever a
 * fast path answers, GMime answers the same; the common shapes do take the
 * fast path; the shapes it must leave to GMime do not. Dates: every month,
 * day and zone form over 1970-2099 (a fixed pseudo-random sample). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gmime/gmime.h>

#include "mail.h"
#include "mail_internal.h"

static int64_t gmime_date(const char *s)
{
	GDateTime *dt = g_mime_utils_header_decode_date(s);
	if (!dt)
		return 0;
	int64_t t = g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	return t;
}

static void dates(void **state)
{
	(void)state;
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	static const char *const wd[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
	uint64_t x = 88172645463325252ull; /* xorshift: the same sample every run */
	int fast = 0;
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		char s[96];
		int y = 1970 + (int)(x % 130), m = (int)((x >> 8) % 12), d = 1 + (int)((x >> 16) % 31);
		int hh = (int)((x >> 24) % 24), mm = (int)((x >> 32) % 60), ss = (int)((x >> 40) % 60);
		int zh = (int)((x >> 48) % 15), zm = (int)((x >> 52) % 4) * 15;
		char sign = (x >> 60) & 1 ? '-' : '+';
		if ((x >> 61) & 1)
			snprintf(s, sizeof(s), "%s, %d %s %04d %02d:%02d:%02d %c%02d%02d", wd[(x >> 5) % 7], d,
				 mon[m], y, hh, mm, ss, sign, zh, zm);
		else
			snprintf(s, sizeof(s), "%02d %s %04d %02d:%02d:%02d %c%02d%02d", d, mon[m], y, hh, mm,
				 ss, sign, zh, zm);
		int64_t t;
		if (xeci_fasthdr_date(&t, s)) {
			fast++;
			if (t != gmime_date(s))
				fail_msg("%s: fast %lld, GMime %lld", s, (long long)t, (long long)gmime_date(s));
		}
	}
	assert_true(fast > 15000); /* only impossible days (Feb 30, ...) fall back */
	int64_t t;
	assert_true(xeci_fasthdr_date(&t, "Mon, 4 Mar 2024 01:16:26 +0000"));
	assert_int_equal(t, 1709514986);
	/* left to GMime */
	static const char *const slow[] = {"Mon, 4 Mar 2024 01:16:26 +0000 (UTC)", "4 Mar 2024 01:16 +0000",
					   "Mon, 4 Mar 24 01:16:26 +0000", "Mon, 4 Mar 2024 01:16:26 GMT",
					   "Mon,  4 Mar 2024 01:16:26 +0000", "Mon, 31 Apr 2024 01:16:26 +0000",
					   "Mon, 4 Mar 2024 01:16:60 +0000", "Mon, 4 mar 2024 01:16:26 +0000", "",
					   "M", "Mon", "Mon,", "1", "1 Ma", "1 Mar 2024 01:16:26 +"};
	for (size_t i = 0; i < sizeof(slow) / sizeof(slow[0]); i++)
		if (xeci_fasthdr_date(&t, slow[i]))
			fail_msg("%s: took the fast path", slow[i]);
}

static void check_id(const char *raw, bool want_fast)
{
	char *fast = NULL;
	bool took = xeci_fasthdr_msgid(&fast, raw);
	if (took != want_fast)
		fail_msg("%s: fast path %s", raw, took ? "taken" : "not taken");
	if (took) {
		char *g = g_mime_utils_decode_message_id(raw);
		assert_non_null(g);
		assert_string_equal(fast, g);
		g_free(g);
	}
	free(fast);
}

static void message_ids(void **state)
{
	(void)state;
	check_id("<20240814091112.1630315-1-mverkuil@linux-foundation.org>", true);
	check_id("<20240304-xe-fault-v2-3-0123456789ab@intel.com>", true);
	check_id("  <a+b=c/d_e@mail.gmail.com>  ", true);
	check_id("<CAHk-=whx4_Jk@mail.gmail.com>", true);
	check_id("<DM4PR11MB5456.namprd11.prod.outlook.com@DM4PR11MB5456>", true);
	check_id("<a@b>", true);
	check_id("<a..b@c>", false);
	check_id("<.a@c>", false);
	check_id("<a@c.>", false);
	check_id("<\"quoted\"@c>", false);
	check_id("<a@[127.0.0.1]>", false);
	check_id("<a@b> (comment)", false);
	check_id("<a@b@c>", false);
	check_id("<nodomain>", false);
	check_id("a@b", false);
	check_id("<a b@c>", false);
	check_id("<a@b_c>", false);
	check_id("<caf\xc3\xa9@b>", false);
}

static void references(void **state)
{
	(void)state;
	static const char *const ok[] = {"<a@b>", "<a@b> <c.d@e.f>", "<a@b>\t<c@d>  <e@f>", "  <x@y>  "};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char **v = NULL;
		size_t n = 0;
		assert_true(xeci_fasthdr_references(&v, &n, ok[i]));
		GMimeReferences *refs = g_mime_references_parse(NULL, ok[i]);
		assert_int_equal(n, (size_t)g_mime_references_length(refs));
		for (size_t k = 0; k < n; k++)
			assert_string_equal(v[k], g_mime_references_get_message_id(refs, (int)k));
		g_mime_references_free(refs);
		xeci_strv_free(v, n);
	}
	static const char *const slow[] = {"<a@b><c@d>", "<a@b> junk", "<a@b>, <c@d>", "<a@b> (c)"};
	for (size_t i = 0; i < sizeof(slow) / sizeof(slow[0]); i++) {
		char **v = NULL;
		size_t n = 0;
		assert_false(xeci_fasthdr_references(&v, &n, slow[i]));
		assert_int_equal(n, 0);
		assert_null(v);
	}
}

static void texts(void **state)
{
	(void)state;
	static const char *const ok[] = {"[PATCH v3 2/7] drm/xe: don't leak the bo on error",
					 "Re: [PATCH]  two  spaces\tand a tab", " leading and trailing ",
					 "= ? not an encoded word ?=", ""};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char *fast = NULL;
		assert_true(xeci_fasthdr_text(&fast, ok[i]));
		char *g = g_mime_utils_header_decode_text(NULL, ok[i]);
		assert_string_equal(fast, g);
		g_free(g);
		free(fast);
	}
	static const char *const slow[] = {"=?UTF-8?q?caf=C3=A9?=", "caf\xc3\xa9", "a\x01b", "del\x7f"};
	for (size_t i = 0; i < sizeof(slow) / sizeof(slow[0]); i++) {
		char *fast = NULL;
		assert_false(xeci_fasthdr_text(&fast, slow[i]));
		assert_null(fast);
	}
}

int main(void)
{
	xeci_mail_global_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dates),
		cmocka_unit_test(message_ids),
		cmocka_unit_test(references),
		cmocka_unit_test(texts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
