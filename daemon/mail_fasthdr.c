/* Fast paths for the well-formed headers nearly every list mail carries:
 * a Message-ID "<local@domain>" of plain atoms, a References list of them,
 * an RFC 5322 date "Www, D Mmm YYYY HH:MM:SS +ZZZZ", a Subject of printable
 * ASCII without encoded words. Each answers only when its input has that
 * exact shape, and then what GMime answers; anything else (comments,
 * quoting, obsolete forms, zone names, 8-bit bytes, encoded words) is left
 * to GMime. GMime's general parsers were ~4% of a bulk ingest's CPU.
 * tests/unit/test_mail_fasthdr.c checks each against GMime. */
#include <stdlib.h>
#include <string.h>

#include "mail_internal.h"
#include "util.h"

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 5322 atext: letters, digits and these (a table: this runs per byte) */
static bool is_atext(unsigned char c)
{
	static const bool special[128] = {
		['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
		['-'] = 1, ['/'] = 1, ['='] = 1, ['?'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['{'] = 1,
		['|'] = 1, ['}'] = 1, ['~'] = 1,
	};
	return is_alnum(c) || (c < 128 && special[c]);
}

static bool is_dtext(unsigned char c)
{
	return is_alnum(c) || c == '-';
}

/* A dot-atom of class ok: no empty atom (leading, trailing, double dots). */
static bool dot_atom(const char *s, size_t n, bool (*ok)(unsigned char))
{
	if (!n || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i - 1] == '.')
				return false;
		} else if (!ok((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/* "<local@domain>" at s (n bytes, exactly): its length inside the brackets,
 * or 0 when it is not of that plain shape. */
static size_t plain_id(const char *s, size_t n)
{
	if (n < 5 || s[0] != '<' || s[n - 1] != '>')
		return 0;
	const char *at = memchr(s + 1, '@', n - 2);
	if (!at || !dot_atom(s + 1, (size_t)(at - s - 1), is_atext) ||
	    !dot_atom(at + 1, (size_t)(s + n - 1 - at - 1), is_dtext))
		return 0;
	return n - 2;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

bool xeci_fasthdr_msgid(char **out, const char *raw)
{
	size_t n = strlen(raw);
	while (n && is_blank(raw[n - 1]))
		n--;
	while (n && is_blank(*raw))
		raw++, n--;
	size_t in = plain_id(raw, n);
	if (!in)
		return false;
	*out = xeci_strndup(raw + 1, in);
	return true;
}

/* The next blank-separated token at or after *p: its start, *p past it;
 * NULL at the end. */
static const char *next_token(const char **p)
{
	const char *t = *p;
	while (is_blank(*t))
		t++;
	if (!*t)
		return NULL;
	const char *e = t;
	while (*e && !is_blank(*e))
		e++;
	*p = e;
	return t;
}

bool xeci_fasthdr_references(char ***v, size_t *n, const char *raw)
{
	/* all or nothing: every token must be a plain id, else GMime reads it */
	const char *t, *p = raw;
	while ((t = next_token(&p)))
		if (!plain_id(t, (size_t)(p - t)))
			return false;
	for (p = raw; (t = next_token(&p));)
		xeci_strv_push(v, n, xeci_strndup(t + 1, (size_t)(p - t) - 2));
	return true;
}

bool xeci_fasthdr_text(char **out, const char *raw)
{
	for (const char *p = raw; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c < 0x20 && c != '\t') || c >= 0x7f || (c == '=' && p[1] == '?'))
			return false;
	}
	*out = xeci_strdup(raw);
	return true;
}

/* n digits at *p, moved past them; -1 when they are not there. */
static int digits(const char **p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

static int month_of(const char *p)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	for (int i = 0; i < 12; i++)
		if (!strncmp(p, names + 3 * i, 3)) /* strncmp: stops at the NUL */
			return i + 1;
	return 0;
}

static bool weekday(const char *p)
{
	static const char names[] = "MonTueWedThuFriSatSun";
	for (int i = 0; i < 7; i++)
		if (!strncmp(p, names + 3 * i, 3))
			return true;
	return false;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int era = y / 400;
	int yoe = y - era * 400;
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int64_t)era * 146097 + doe - 719468;
}

static int month_days(int y, int m)
{
	static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : len[m - 1];
}

bool xeci_fasthdr_date(int64_t *out, const char *raw)
{
	const char *p = raw;
	if (weekday(p) && p[3] == ',' && p[4] == ' ')
		p += 5;
	/* every byte read below follows one checked not to be the NUL */
	int day = p[0] && p[1] == ' ' ? digits(&p, 1) : digits(&p, 2);
	if (day < 1 || *p++ != ' ')
		return false;
	int mon = month_of(p);
	if (!mon || p[3] != ' ')
		return false;
	p += 4;
	int year = digits(&p, 4);
	if (year < 1970 || year > 2099 || *p++ != ' ' || day > month_days(year, mon))
		return false;
	int hh = digits(&p, 2);
	if (hh < 0 || hh > 23 || *p++ != ':')
		return false;
	int mm = digits(&p, 2);
	if (mm < 0 || mm > 59 || *p++ != ':')
		return false;
	int ss = digits(&p, 2);
	if (ss < 0 || ss > 59 || *p++ != ' ' || (*p != '+' && *p != '-'))
		return false;
	int sign = *p++ == '-' ? -1 : 1;
	int zh = digits(&p, 2), zm = digits(&p, 2);
	if (zh < 0 || zh > 14 || zm < 0 || zm > 59)
		return false;
	if (*p) /* a trailing "(PST)" comment and the like: GMime's */
		return false;
	*out = days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss -
	       sign * (zh * 3600 + zm * 60);
	return true;
}
