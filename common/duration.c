/*
 * Duration and size parsing.  Both are hostile input (config files, command
 * lines), so every step checks for overflow and anything unexpected is
 * -EINVAL rather than a best guess.
 */
#include "duration.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NS_PER_US  UINT64_C(1000)
#define NS_PER_MS  UINT64_C(1000000)
#define NS_PER_S   UINT64_C(1000000000)
#define NS_PER_MIN (60 * NS_PER_S)
#define NS_PER_H   (60 * NS_PER_MIN)
#define NS_PER_D   (24 * NS_PER_H)

/* Fraction digits kept: nanoseconds of a second, so nine is exact enough
 * for every unit; further digits are checked but ignored. */
#define FRAC_DIGITS 9

struct unit {
	const char *name;
	uint64_t scale;
};

/* Largest first: duration_format walks this table in order. */
static const struct unit duration_units[] = {
	{ "d", NS_PER_D }, { "h", NS_PER_H }, { "m", NS_PER_MIN },
	{ "s", NS_PER_S }, { "ms", NS_PER_MS }, { "us", NS_PER_US },
	{ "\xc2\xb5s", NS_PER_US }, /* µs, as some tools print it */
	{ "ns", 1 },
};

static const struct unit size_units[] = {
	{ "", 1 }, { "b", 1 },
	{ "k", UINT64_C(1) << 10 }, { "kb", UINT64_C(1) << 10 }, { "kib", UINT64_C(1) << 10 },
	{ "m", UINT64_C(1) << 20 }, { "mb", UINT64_C(1) << 20 }, { "mib", UINT64_C(1) << 20 },
	{ "g", UINT64_C(1) << 30 }, { "gb", UINT64_C(1) << 30 }, { "gib", UINT64_C(1) << 30 },
	{ "t", UINT64_C(1) << 40 }, { "tb", UINT64_C(1) << 40 }, { "tib", UINT64_C(1) << 40 },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A decimal number "123" or "1.25": whole part plus frac/fscale. */
struct decimal {
	uint64_t whole;
	uint64_t frac;
	uint64_t fscale;
};

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Parses digits[.digits] at *pp; no sign, no exponent, no spaces. */
static int decimal_parse(const char **pp, struct decimal *d)
{
	const char *p = *pp;
	*d = (struct decimal){ 0, 0, 1 };
	if (!is_digit(*p))
		return -EINVAL;
	for (; is_digit(*p); p++)
		if (__builtin_mul_overflow(d->whole, 10, &d->whole) ||
		    __builtin_add_overflow(d->whole, (uint64_t)(*p - '0'), &d->whole))
			return -EINVAL;
	if (*p == '.') {
		p++;
		if (!is_digit(*p))
			return -EINVAL;
		for (int n = 0; is_digit(*p); p++, n++)
			if (n < FRAC_DIGITS) {
				d->frac = d->frac * 10 + (uint64_t)(*p - '0');
				d->fscale *= 10;
			}
	}
	*pp = p;
	return 0;
}

/* d * scale, truncated; the fraction is split so that no intermediate
 * product can overflow (frac < fscale <= 1e9). */
static int decimal_scale(const struct decimal *d, uint64_t scale, uint64_t *out)
{
	uint64_t v, f;
	if (__builtin_mul_overflow(d->whole, scale, &v))
		return -EINVAL;
	f = d->frac * (scale / d->fscale) + d->frac * (scale % d->fscale) / d->fscale;
	if (__builtin_add_overflow(v, f, &v))
		return -EINVAL;
	*out = v;
	return 0;
}

static const struct unit *unit_find(const struct unit *tab, size_t n,
				    const char *s, size_t len, int nocase)
{
	for (size_t i = 0; i < n; i++) {
		if (strlen(tab[i].name) != len)
			continue;
		if (nocase ? strncasecmp(tab[i].name, s, len) == 0
			   : strncmp(tab[i].name, s, len) == 0)
			return &tab[i];
	}
	return NULL;
}

/* A unit is a run of letters (or the UTF-8 bytes of µ). */
static size_t unit_span(const char *p)
{
	size_t n = 0;
	while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
	       (unsigned char)p[n] >= 0x80)
		n++;
	return n;
}

int duration_parse(const char *s, uint64_t *ns)
{
	uint64_t total = 0;
	const char *p = s;
	if (s == NULL || *s == '\0')
		return -EINVAL;
	while (*p) {
		const char *start = p;
		struct decimal d;
		uint64_t scale, part;
		if (decimal_parse(&p, &d) < 0)
			return -EINVAL;
		size_t ulen = unit_span(p);
		if (ulen == 0) {
			/* A bare number means seconds, but only on its own: in
			 * "1h30" the 30 could be minutes or seconds. */
			if (start != s || *p != '\0')
				return -EINVAL;
			scale = NS_PER_S;
		} else {
			const struct unit *u = unit_find(duration_units, NELEM(duration_units),
							 p, ulen, 0);
			if (u == NULL)
				return -EINVAL;
			scale = u->scale;
		}
		if (decimal_scale(&d, scale, &part) < 0 ||
		    __builtin_add_overflow(total, part, &total))
			return -EINVAL;
		p += ulen;
	}
	*ns = total;
	return 0;
}

void duration_format(uint64_t ns, char *buf, size_t len)
{
	size_t off = 0;
	if (len == 0)
		return;
	buf[0] = '\0';
	if (ns == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	for (size_t i = 0; i < NELEM(duration_units) && ns > 0; i++) {
		const struct unit *u = &duration_units[i];
		if (u->name[0] == '\xc2' || ns < u->scale)
			continue;   /* µs is parsed, never printed */
		int n = snprintf(buf + off, len - off, "%" PRIu64 "%s", ns / u->scale, u->name);
		if (n < 0 || (size_t)n >= len - off)
			return;     /* truncated, still terminated */
		off += (size_t)n;
		ns %= u->scale;
	}
}

int size_parse(const char *s, uint64_t *bytes)
{
	struct decimal d;
	const char *p = s;
	if (s == NULL || decimal_parse(&p, &d) < 0)
		return -EINVAL;
	const struct unit *u = unit_find(size_units, NELEM(size_units), p, strlen(p), 1);
	if (u == NULL || decimal_scale(&d, u->scale, bytes) < 0)
		return -EINVAL;
	return 0;
}

void size_format(uint64_t bytes, char *buf, size_t len)
{
	static const struct unit units[] = {
		{ "TiB", UINT64_C(1) << 40 }, { "GiB", UINT64_C(1) << 30 },
		{ "MiB", UINT64_C(1) << 20 }, { "KiB", UINT64_C(1) << 10 },
	};
	if (len == 0)
		return;
	for (size_t i = 0; i < NELEM(units); i++)
		if (bytes != 0 && bytes % units[i].scale == 0) {
			snprintf(buf, len, "%" PRIu64 "%s", bytes / units[i].scale, units[i].name);
			return;
		}
	snprintf(buf, len, "%" PRIu64 "B", bytes);
}
