#include "prom.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void prom_buf_free(struct prom_buf *b)
{
	free(b->data);
	*b = (struct prom_buf){ 0 };
}

static bool reserve(struct prom_buf *b, size_t more)
{
	if (b->failed)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *d = realloc(b->data, cap);
	if (!d) {
		b->failed = true;
		return false;
	}
	b->data = d;
	b->cap = cap;
	return true;
}

static void put(struct prom_buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void puts_(struct prom_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

void prom_printf(struct prom_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* The shortest decimal that reads back as v; Prometheus' spellings of
 * the special values. */
static void put_value(struct prom_buf *b, double v)
{
	char s[40];
	if (isnan(v)) {
		puts_(b, "NaN");
		return;
	}
	if (isinf(v)) {
		puts_(b, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		snprintf(s, sizeof s, "%.0f", v);
	else
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(s, sizeof s, "%.*g", prec, v);
			if (strtod(s, NULL) == v)
				break;
		}
	puts_(b, s);
}

/* Length of the valid UTF-8 sequence at s (of n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
	if (len == 0 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xf0 && s[1] < 0x90) ||
	    (s[0] == 0xf4 && s[1] > 0x8f) || (s[0] == 0xed && s[1] > 0x9f))
		return 0;   /* overlong, beyond U+10FFFF, or a surrogate */
	return len;
}

void prom_put_label_value(struct prom_buf *b, const char *s, size_t n)
{
	n = strnlen(s, n);
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\' || c == '"') {
			char e[2] = { '\\', (char)c };
			put(b, e, 2);
		} else if (c == '\n') {
			put(b, "\\n", 2);
		} else if ((c < 0x20 && c != '\t') || c == 0x7f) {
			put(b, "?", 1);
		} else if (c >= 0x80) {
			size_t len = utf8_len((const unsigned char *)s + i, n - i);
			put(b, len ? s + i : "?", len ? len : 1);
			i += len ? len : 1;
			continue;
		} else {
			put(b, s + i, 1);
		}
		i++;
	}
}

/* HELP text escapes only \ and newline. */
static void put_help(struct prom_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			put(b, "\\\\", 2);
		else if (*s == '\n')
			put(b, "\\n", 2);
		else
			put(b, s, 1);
	}
}

bool prom_kind_exported(enum rm_kind kind)
{
	switch (kind) {
	case RM_KIND_SYSTEM: case RM_KIND_CPU: case RM_KIND_DISK: case RM_KIND_NET:
	case RM_KIND_TEMP: case RM_KIND_GPU: case RM_KIND_EGPU:
		return true;
	default:
		return false;
	}
}

/* A schema unit, the word of a field name that says it, and what it
 * becomes in Prometheus' base units, at the end of the name
 * (link_gts_max -> link_max_transfers_per_second).  First match wins;
 * with no such word, the unit's last entry is appended.  A unit not
 * listed keeps the field's name as it is ("%" stays _pct, 0..100). */
static const struct unit_map {
	const char *unit, *word, *base;
	double scale;
} unit_maps[] = {
	{ "bytes", "bytes", "_bytes", 1 },
	{ "B/s", "bps", "_bytes_per_second", 1 },
	{ "/s", "pps", "_packets_per_second", 1 },
	{ "/s", "iops", "_ops_per_second", 1 },
	{ "/s", "ps", "_per_second", 1 },
	{ "MHz", "mhz", "_hertz", 1e6 },
	{ "C", "c", "_celsius", 1 },
	{ "ms", "ms", "_seconds", 1e-3 },
	{ "ns", "ns", "_seconds", 1e-9 },
	{ "s", "s", "_seconds", 1 },
	{ "W", "w", "_watts", 1 },
	{ "GT/s", "gts", "_transfers_per_second", 1e9 },
	{ "Gb/s", "gbps", "_bytes_per_second", 1e9 / 8 },
};

/* Words of field names that Prometheus' linters read as units: "tb"
 * (Thunderbolt) would be terabytes. */
static const char *const word_maps[][2] = {
	{ "tb", "thunderbolt" },
};

static bool word_is(const char *w, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(w, s, n) == 0;
}

/* Index of the last word of name equal to word, or -1. */
static int find_word(const char *name, const char *word)
{
	int found = -1, i = 0;
	for (const char *w = name; *w; i++) {
		size_t n = strcspn(w, "_");
		if (word_is(w, n, word))
			found = i;
		w += n + (w[n] == '_');
	}
	return found;
}

/* The words of name but word number `skip`, joined by '_', with
 * word_maps applied, appended to buf at *at (kept below len). */
static void put_words(char *buf, size_t len, size_t *at, const char *name, int skip)
{
	int i = 0;
	for (const char *w = name; *w; i++) {
		size_t n = strcspn(w, "_");
		const char *word = w;
		size_t wlen = n;
		w += n + (w[n] == '_');
		if (i == skip)
			continue;
		for (size_t m = 0; m < sizeof word_maps / sizeof word_maps[0]; m++)
			if (word_is(word, wlen, word_maps[m][0])) {
				word = word_maps[m][1];
				wlen = strlen(word);
			}
		int k = snprintf(buf + *at, len - *at, "%s%.*s", buf[*at - 1] == '_' ? "" : "_",
		                 (int)wlen, word);
		*at += k > 0 ? (size_t)k : 0;
		if (*at >= len)
			*at = len - 1;
	}
}

int prom_metric_name(enum rm_kind kind, unsigned field, char *buf, size_t len, double *scale,
                     bool *counter)
{
	const struct rm_field *f = &rm_kinds[kind].fields[field];
	const struct unit_map *hit = NULL;
	int skip = -1;
	for (size_t i = 0; i < sizeof unit_maps / sizeof unit_maps[0] && skip < 0; i++) {
		if (strcmp(unit_maps[i].unit, f->unit) != 0)
			continue;
		hit = &unit_maps[i];
		skip = find_word(f->name, hit->word);
	}
	*scale = hit ? hit->scale : 1;
	size_t nl = strlen(f->name);
	*counter = f->type == RM_U64 && nl > 6 && strcmp(f->name + nl - 6, "_total") == 0;
	int n = snprintf(buf, len, "rmon_%s_", rm_kinds[kind].name);
	if (n < 0 || (size_t)n + 1 >= len)
		return -1;
	size_t at = (size_t)n;
	put_words(buf, len, &at, f->name, skip);
	if (hit) {
		int k = snprintf(buf + at, len - at, "%s", hit->base);
		at += k > 0 ? (size_t)k : 0;
	}
	return at + 1 < len ? 0 : -1;
}

static void put_family_head(struct prom_buf *b, const char *name, bool counter, const char *help)
{
	prom_printf(b, "# HELP %s ", name);
	put_help(b, help);
	prom_printf(b, "\n# TYPE %s %s\n", name, counter ? "counter" : "gauge");
}

void prom_put_kind(struct prom_buf *b, enum rm_kind kind, const struct rm_rec *recs,
                   unsigned n)
{
	const struct rm_kind_desc *kd = &rm_kinds[kind];
	char name[PROM_NAME_MAX], help[512];
	for (unsigned f = 0; f < kd->nfields; f++) {
		unsigned have = 0;
		for (unsigned i = 0; i < n; i++)
			have += (unsigned)rec_has(&recs[i], (int)f);
		double scale;
		bool counter;
		if (!have || prom_metric_name(kind, f, name, sizeof name, &scale, &counter) < 0)
			continue;
		snprintf(help, sizeof help, "%s (rmon %s%s.%s)", kd->fields[f].help, kd->name,
		         kd->keyed ? ":*" : "", kd->fields[f].name);
		put_family_head(b, name, counter, help);
		for (unsigned i = 0; i < n; i++) {
			const struct rm_rec *r = &recs[i];
			if (!rec_has(r, (int)f))
				continue;
			puts_(b, name);
			if (kd->keyed) {
				prom_printf(b, "{%s=\"", kd->name);
				prom_put_label_value(b, r->key, sizeof r->key);
				if (r->label[0]) {
					puts_(b, "\",name=\"");
					prom_put_label_value(b, r->label, sizeof r->label);
				}
				puts_(b, "\"}");
			}
			puts_(b, " ");
			put_value(b, r->v[f] * scale);
			puts_(b, "\n");
		}
	}
}

void prom_put_own(struct prom_buf *b, bool first, const char *name, bool counter,
                  const char *help, const char *label, const char *label_value, double v)
{
	if (first)
		put_family_head(b, name, counter, help);
	puts_(b, name);
	if (label) {
		prom_printf(b, "{%s=\"", label);
		prom_put_label_value(b, label_value, strlen(label_value));
		puts_(b, "\"}");
	}
	puts_(b, " ");
	put_value(b, v);
	puts_(b, "\n");
}
