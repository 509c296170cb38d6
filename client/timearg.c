/*
 * Parse the time arguments of query (and later watch/run): see timearg.h.
 * Everything is checked: a typo is an error, never a silently odd range.
 */
#include "timearg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "duration.h"

#define NS UINT64_C(1000000000)

uint64_t timearg_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static bool isdig(char c)
{
	return c >= '0' && c <= '9';
}

/* Exactly n digits. */
static bool digits(const char **pp, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdig((*pp)[i]))
			return false;
		v = v * 10 + ((*pp)[i] - '0');
	}
	*pp += n;
	*out = v;
	return true;
}

/* ".123456789..." after the seconds: nanoseconds, extra digits dropped. */
static bool fraction(const char **pp, uint64_t *ns)
{
	const char *p = *pp;
	uint64_t v = 0, scale = NS;

	*ns = 0;
	if (*p != '.')
		return true;
	if (!isdig(*++p))
		return false;
	for (; isdig(*p); p++)
		if (scale > 1) {
			scale /= 10;
			v += (uint64_t)(*p - '0') * scale;
		}
	*pp = p;
	*ns = v;
	return true;
}

/* "@SECONDS[.frac]" */
static int parse_epoch(const char *p, uint64_t *out)
{
	uint64_t secs = 0, frac;
	if (!isdig(*p))
		return -EINVAL;
	for (; isdig(*p); p++)
		if (__builtin_mul_overflow(secs, 10, &secs) ||
		    __builtin_add_overflow(secs, (uint64_t)(*p - '0'), &secs))
			return -EINVAL;
	if (!fraction(&p, &frac) || *p || secs > UINT64_MAX / NS - 1)
		return -EINVAL;
	*out = secs * NS + frac;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : d[m - 1];
}

/* "HH:MM[:SS[.frac]]" into tm; *ns gets the fraction. */
static bool clock_part(const char **pp, struct tm *tm, uint64_t *ns)
{
	int h, mi, s = 0;
	if (!digits(pp, 2, &h) || **pp != ':' || (++*pp, !digits(pp, 2, &mi)))
		return false;
	if (**pp == ':') {
		++*pp;
		if (!digits(pp, 2, &s) || !fraction(pp, ns))
			return false;
	}
	if (h > 23 || mi > 59 || s > 60)
		return false;
	tm->tm_hour = h, tm->tm_min = mi, tm->tm_sec = s;
	return true;
}

/* Zone suffix: "" (local, *local set), "Z", "+HH:MM", "-HHMM". */
static bool zone_part(const char *p, bool *local, long *offset)
{
	int h, m;
	*local = false;
	*offset = 0;
	if (*p == '\0') {
		*local = true;
		return true;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
		return true;
	if (*p != '+' && *p != '-')
		return false;
	long sign = *p++ == '-' ? -1 : 1;
	if (!digits(&p, 2, &h) || (*p == ':' && !*++p) || !digits(&p, 2, &m) || *p || h > 23 || m > 59)
		return false;
	*offset = sign * (h * 3600L + m * 60L);
	return true;
}

static int to_ns(time_t t, uint64_t frac, uint64_t *out)
{
	if (t < 0)
		return -EINVAL;
	*out = (uint64_t)t * NS + frac;
	return 0;
}

/* "YYYY-MM-DD[(T| )HH:MM[:SS[.frac]]][Z|±HH:MM]" */
static int parse_date(const char *p, uint64_t *out)
{
	struct tm tm = { 0 };
	uint64_t frac = 0;
	int y, mo, d;
	bool local;
	long off;

	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d))
		return -EINVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -EINVAL;
	tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
	if ((*p == 'T' || *p == 't' || *p == ' ') && (++p, !clock_part(&p, &tm, &frac)))
		return -EINVAL;
	if (!zone_part(p, &local, &off))
		return -EINVAL;
	if (local) {
		tm.tm_isdst = -1;
		return to_ns(mktime(&tm), frac, out);
	}
	return to_ns(timegm(&tm) - off, frac, out);
}

/* "HH:MM[:SS]" today, local; yesterday when that is still to come. */
static int parse_clock(const char *p, uint64_t now_ns, uint64_t *out)
{
	time_t now = (time_t)(now_ns / NS);
	struct tm tm;
	uint64_t frac = 0;

	if (!localtime_r(&now, &tm) || !clock_part(&p, &tm, &frac) || *p)
		return -EINVAL;
	tm.tm_isdst = -1;
	time_t t = mktime(&tm);
	if (t > now) {
		tm.tm_mday--;
		tm.tm_isdst = -1;
		t = mktime(&tm);
	}
	return to_ns(t, frac, out);
}

static int parse_ago(const char *s, uint64_t now_ns, uint64_t *out, char *err, size_t errlen)
{
	const char *p = *s == '-' ? s + 1 : s;
	uint64_t d;

	if (duration_parse(p, &d) < 0)
		return -EINVAL;
	if (strspn(p, "0123456789") == strlen(p) && strlen(p) >= 9) {
		snprintf(err, errlen, "'%s' would be %s seconds ago; for epoch seconds write @%s",
			 s, p, p);
		return -ERANGE;
	}
	if (d > now_ns) {
		snprintf(err, errlen, "'%s' ago is before 1970", s);
		return -ERANGE;
	}
	*out = now_ns - d;
	return 0;
}

int timearg_parse(const char *s, uint64_t now_ns, uint64_t *out, char *err, size_t errlen)
{
	int rc;

	if (!s || !*s)
		rc = -EINVAL;
	else if (strcmp(s, "now") == 0)
		*out = now_ns, rc = 0;
	else if (*s == '@')
		rc = parse_epoch(s + 1, out);
	else if (strlen(s) >= 5 && isdig(s[0]) && isdig(s[3]) && s[4] == '-')
		rc = parse_date(s, out);
	else if (strlen(s) >= 5 && isdig(s[0]) && s[2] == ':')
		rc = parse_clock(s, now_ns, out);
	else
		rc = parse_ago(s, now_ns, out, err, errlen);
	if (rc == -ERANGE)
		return -EINVAL;   /* message already written */
	if (rc < 0)
		snprintf(err, errlen,
			 "bad time '%s': use a duration ago (5m, 1h30m), now, @EPOCH_SECONDS, "
			 "YYYY-MM-DD HH:MM:SS (local) or RFC 3339 (2026-11-21T11:20:00Z)",
			 s ? s : "");
	return rc;
}
