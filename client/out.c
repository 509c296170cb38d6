/*
 * rmonctl's output helpers: JSON, numbers, times, bars, series tables.
 */
#include "out.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"

/* ---- JSON ---- */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp, min;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2, cp = s[0] & 0x1fu, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3, cp = s[0] & 0x0fu, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4, cp = s[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void out_json_str(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c >= 0x80) {
			size_t l = utf8_len(s + i, n - i);
			if (l) {
				fwrite(s + i, 1, l, f);
				i += l;
			} else {
				fputs("\\ufffd", f);
				i++;
			}
			continue;
		}
		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
		i++;
	}
	fputc('"', f);
}

void out_json_num(FILE *f, double v)
{
	char buf[40];

	if (!isfinite(v)) {
		fputs("null", f);
		return;
	}
	snprintf(buf, sizeof buf, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof buf, "%.17g", v);
	if (strspn(buf, "-0123456789") == strlen(buf))
		strcat(buf, ".0");   /* keep it a float for typed readers */
	fputs(buf, f);
}

/* A map key that is not a string still has to be a JSON string. */
static void json_key(FILE *f, const msgpack_object *k)
{
	char buf[40];

	switch (k->type) {
	case MSGPACK_OBJECT_STR:
		out_json_str(f, k->via.str.ptr, k->via.str.size);
		return;
	case MSGPACK_OBJECT_BIN:
		out_json_str(f, k->via.bin.ptr, k->via.bin.size);
		return;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		snprintf(buf, sizeof buf, "%" PRIu64, k->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		snprintf(buf, sizeof buf, "%" PRId64, k->via.i64);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		snprintf(buf, sizeof buf, "%s", k->via.boolean ? "true" : "false");
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		snprintf(buf, sizeof buf, "%.17g", k->via.f64);
		break;
	default:
		snprintf(buf, sizeof buf, "%s", k->type == MSGPACK_OBJECT_NIL ? "null" : "?");
	}
	out_json_str(f, buf, strlen(buf));
}

void out_json(FILE *f, const msgpack_object *o)
{
	if (!o) {
		fputs("null", f);
		return;
	}
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		fputs("null", f);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		fputs(o->via.boolean ? "true" : "false", f);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		fprintf(f, "%" PRIu64, o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		fprintf(f, "%" PRId64, o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		out_json_num(f, o->via.f64);
		break;
	case MSGPACK_OBJECT_STR:
		out_json_str(f, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		out_json_str(f, o->via.bin.ptr, o->via.bin.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		fputc('[', f);
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i)
				fputc(',', f);
			out_json(f, &o->via.array.ptr[i]);
		}
		fputc(']', f);
		break;
	case MSGPACK_OBJECT_MAP:
		fputc('{', f);
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			if (i)
				fputc(',', f);
			json_key(f, &o->via.map.ptr[i].key);
			fputc(':', f);
			out_json(f, &o->via.map.ptr[i].val);
		}
		fputc('}', f);
		break;
	default:   /* ext: nothing JSON can say */
		fputs("null", f);
	}
}

void out_json_entries(FILE *f, const msgpack_object *map)
{
	for (uint32_t i = 0; map && map->type == MSGPACK_OBJECT_MAP && i < map->via.map.size; i++) {
		fputc(',', f);
		json_key(f, &map->via.map.ptr[i].key);
		fputc(':', f);
		out_json(f, &map->via.map.ptr[i].val);
	}
}

void out_json_tagged(FILE *f, const char *tag, const char *val, const msgpack_object *map)
{
	fputc('{', f);
	out_json_str(f, tag, strlen(tag));
	fputc(':', f);
	out_json_str(f, val, strlen(val));
	if (map && map->type == MSGPACK_OBJECT_MAP) {
		out_json_entries(f, map);
	} else if (map) {
		fputs(",\"data\":", f);
		out_json(f, map);
	}
	fputc('}', f);
}

/* ---- numbers ---- */

void out_num(char *buf, size_t len, double v)
{
	double a = fabs(v);

	if (isnan(v)) {
		snprintf(buf, len, "-");
		return;
	}
	if (v == 0)
		v = 0;   /* no "-0" */
	if (a >= 1e6 && a < 1e18)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.6g", v);
}

void out_value(char *buf, size_t len, double v, enum rm_type type)
{
	if (type == RM_CHAR && v >= 33 && v < 127)
		snprintf(buf, len, "%c", (char)v);
	else if (type == RM_U64 && isfinite(v) && fabs(v) < 1e19)
		snprintf(buf, len, "%.0f", v == 0 ? 0 : v);
	else
		out_num(buf, len, v);
}

const struct rm_field *out_metric_field(const char *name)
{
	const char *colon = strchr(name, ':'), *dot = strrchr(name, '.');
	if (!dot)
		return NULL;
	size_t klen = (size_t)((colon && colon < dot ? colon : dot) - name);
	int k = schema_kind_find(name, klen);
	if (k < 0)
		return NULL;
	int fi = schema_field_find((enum rm_kind)k, dot + 1, strlen(dot + 1));
	return fi < 0 ? NULL : &rm_kinds[k].fields[fi];
}

void out_metric_value(char *buf, size_t len, const char *name, double v)
{
	const struct rm_field *fd = out_metric_field(name);
	out_value(buf, len, v, fd ? fd->type : RM_F64);
}

void out_bytes(char *buf, size_t len, double v)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned i = 0;

	if (!isfinite(v)) {
		snprintf(buf, len, "-");
		return;
	}
	while (fabs(v) >= 1024 && i + 1 < sizeof units / sizeof units[0]) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%.0f B", v);
	else if (fabs(v) < 9.995)
		snprintf(buf, len, "%.2f %s", v, units[i]);
	else if (fabs(v) < 99.95)
		snprintf(buf, len, "%.1f %s", v, units[i]);
	else
		snprintf(buf, len, "%.0f %s", v, units[i]);
}

void out_si(char *buf, size_t len, double v)
{
	static const char *const units[] = { "", "k", "M", "G", "T", "P" };
	unsigned i = 0;

	if (!isfinite(v)) {
		snprintf(buf, len, "-");
		return;
	}
	while (fabs(v) >= 999.5 && i + 1 < sizeof units / sizeof units[0]) {
		v /= 1000;
		i++;
	}
	if (i == 0 && fabs(v) < 9.95 && v != floor(v))
		snprintf(buf, len, "%.1f", v);
	else if (i == 0)
		snprintf(buf, len, "%.0f", v);
	else if (fabs(v) < 9.95)
		snprintf(buf, len, "%.1f%s", v, units[i]);
	else
		snprintf(buf, len, "%.0f%s", v, units[i]);
}

void out_secs(char *buf, size_t len, double secs)
{
	static const struct { const char *name; uint64_t s; } units[] = {
		{ "d", 86400 }, { "h", 3600 }, { "m", 60 }, { "s", 1 },
	};

	if (!isfinite(secs) || secs < 0) {
		snprintf(buf, len, "-");
		return;
	}
	if (secs < 10 && secs != floor(secs)) {
		snprintf(buf, len, "%.1fs", secs);
		return;
	}
	uint64_t s = (uint64_t)(secs + 0.5);
	for (unsigned i = 0; i < 4; i++) {
		if (s < units[i].s && i < 3)
			continue;
		uint64_t a = s / units[i].s, rest = s % units[i].s;
		if (i < 3 && rest / units[i + 1].s)
			snprintf(buf, len, "%" PRIu64 "%s%" PRIu64 "%s", a, units[i].name,
				 rest / units[i + 1].s, units[i + 1].name);
		else
			snprintf(buf, len, "%" PRIu64 "%s", a, units[i].name);
		return;
	}
}

char *out_clean(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

/* ---- time ---- */

void out_time_local(char *buf, size_t len, uint64_t ns, bool with_date)
{
	time_t t = (time_t)(ns / 1000000000u);
	unsigned ms = (unsigned)(ns % 1000000000u / 1000000u);
	struct tm tm;
	char s[40];

	if (!localtime_r(&t, &tm) ||
	    !strftime(s, sizeof s, with_date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm))
		snprintf(s, sizeof s, "@%lld", (long long)t);
	snprintf(buf, len, "%s.%03u", s, ms);
}

void out_time_utc(char *buf, size_t len, uint64_t ns)
{
	time_t t = (time_t)(ns / 1000000000u);
	unsigned ms = (unsigned)(ns % 1000000000u / 1000000u);
	struct tm tm;
	char s[40];

	if (!gmtime_r(&t, &tm) || !strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm))
		snprintf(s, sizeof s, "@%lld", (long long)t);
	snprintf(buf, len, "%s.%03uZ", s, ms);
}

/* ---- terminal ---- */

bool out_want_color(FILE *f, bool no_color)
{
	const char *nc = getenv("NO_COLOR");
	return !no_color && !(nc && *nc) && isatty(fileno(f));
}

int out_term_width(FILE *f)
{
	struct winsize ws;
	const char *cols = getenv("COLUMNS");

	if (isatty(fileno(f)) && ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (cols && atoi(cols) > 0)
		return atoi(cols);
	return 80;
}

int out_term_height(FILE *f)
{
	struct winsize ws;
	const char *lines = getenv("LINES");

	if (isatty(fileno(f)) && ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
		return ws.ws_row;
	if (lines && atoi(lines) > 0)
		return atoi(lines);
	return 24;
}

int out_text_width(const char *s)
{
	int w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		w += (*p & 0xc0) != 0x80;   /* count every byte but continuations */
	return w;
}

char *out_fit(char *dst, size_t len, const char *src, int cols)
{
	static const char ell[] = "\u2026";   /* one column, three bytes */
	size_t n = strlen(src), i = 0;
	int w = 0;

	if (len == 0)
		return dst;
	if ((cols <= 0 || out_text_width(src) <= cols) && n < len) {
		memcpy(dst, src, n + 1);
		return dst;
	}
	/* Whole characters while they fit, leaving room for the ellipsis. */
	size_t room = len >= sizeof ell ? len - sizeof ell : len - 1;
	while (src[i]) {
		size_t c = 1;
		while (((unsigned char)src[i + c] & 0xc0) == 0x80)
			c++;
		if ((cols > 0 && w >= cols - 1) || i + c > room)
			break;
		i += c;
		w++;
	}
	memcpy(dst, src, i);
	dst[i] = '\0';
	if (len - 1 - i >= sizeof ell - 1)
		memcpy(dst + i, ell, sizeof ell);
	return dst;
}

void out_bar(char *buf, size_t len, double pct, int width)
{
	int fill = 0;
	size_t i = 0;

	if (len < 3 || width < 0)
		return;
	if ((size_t)width > len - 3)
		width = (int)(len - 3);
	if (isfinite(pct))
		fill = (int)(pct < 0 ? 0 : pct > 100 ? width : pct * width / 100 + 0.5);
	buf[i++] = '[';
	for (int k = 0; k < width; k++)
		buf[i++] = k < fill ? '|' : ' ';
	buf[i++] = ']';
	buf[i] = '\0';
}

const char *out_level_color(double pct)
{
	return !(pct >= 60) ? OUT_GREEN : pct < 85 ? OUT_YELLOW : OUT_RED;
}

/* ---- series ---- */

static struct out_series *series_get(struct out_series_set *ss, const char *name, size_t nlen)
{
	for (size_t i = 0; i < ss->n; i++)
		if (strlen(ss->s[i].name) == nlen && memcmp(ss->s[i].name, name, nlen) == 0)
			return &ss->s[i];
	if (ss->n == ss->cap) {
		size_t cap = ss->cap ? ss->cap * 2 : 8;
		struct out_series *s = realloc(ss->s, cap * sizeof *s);
		if (!s)
			return NULL;
		ss->s = s;
		ss->cap = cap;
	}
	struct out_series *s = &ss->s[ss->n];
	memset(s, 0, sizeof *s);
	s->name = strndup(name, nlen);
	if (!s->name)
		return NULL;
	out_clean(s->name);
	ss->n++;
	return s;
}

static int series_grow(struct out_series *s, size_t more)
{
	if (s->n + more <= s->cap)
		return 0;
	size_t cap = s->cap ? s->cap : 64;
	while (cap < s->n + more)
		cap *= 2;
	uint64_t *t = realloc(s->t, cap * sizeof *t);
	if (!t)
		return -1;
	s->t = t;
	double *v = realloc(s->v, cap * sizeof *v);
	if (!v)
		return -1;
	s->v = v;
	s->cap = cap;
	return 0;
}

/* The label array follows the points' capacity. */
static int series_grow_labels(struct out_series *s)
{
	char **l = realloc(s->lab, (s->cap ? s->cap : 1) * sizeof *l);
	if (!l)
		return -1;
	s->lab = l;
	return 0;
}

int out_series_add(struct out_series_set *ss, const msgpack_object *data, char *err, size_t errlen)
{
	const msgpack_object *name = data ? msg_map_get(data, "name") : NULL;
	const msgpack_object *t = data ? msg_get_array(data, "t") : NULL;
	const msgpack_object *v = data ? msg_get_array(data, "v") : NULL;
	const msgpack_object *unit = data ? msg_map_get(data, "unit") : NULL;

	if (!name || name->type != MSGPACK_OBJECT_STR || !t || !v || t->via.array.size != v->via.array.size) {
		snprintf(err, errlen, "series event without name, or t and v of different lengths");
		return -1;
	}
	struct out_series *s = series_get(ss, name->via.str.ptr, name->via.str.size);
	if (!s || series_grow(s, t->via.array.size) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	const msgpack_object *labels = msg_get_array(data, "labels");
	if (labels && labels->via.array.size != t->via.array.size) {
		snprintf(err, errlen, "series %s: labels and t of different lengths", s->name);
		return -1;
	}
	if (labels && !s->lab && s->n == 0)
		s->lab = calloc(s->cap ? s->cap : 1, sizeof *s->lab);
	if (s->lab && series_grow_labels(s) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!s->unit && unit && unit->type == MSGPACK_OBJECT_STR)
		s->unit = strndup(unit->via.str.ptr, unit->via.str.size);
	if (s->unit)
		out_clean(s->unit);
	for (uint32_t i = 0; i < t->via.array.size; i++) {
		const msgpack_object *ti = &t->via.array.ptr[i], *vi = &v->via.array.ptr[i];
		if (ti->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
			snprintf(err, errlen, "series %s: a timestamp is not a uint", s->name);
			return -1;
		}
		s->t[s->n] = ti->via.u64;
		if (vi->type == MSGPACK_OBJECT_FLOAT64 || vi->type == MSGPACK_OBJECT_FLOAT32)
			s->v[s->n] = vi->via.f64;
		else if (vi->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			s->v[s->n] = (double)vi->via.u64;
		else if (vi->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
			s->v[s->n] = (double)vi->via.i64;
		else
			s->v[s->n] = NAN;
		if (s->lab) {
			const msgpack_object *li = labels ? &labels->via.array.ptr[i] : NULL;
			char *l = li && li->type == MSGPACK_OBJECT_STR
			          ? strndup(li->via.str.ptr, li->via.str.size) : NULL;
			s->lab[s->n] = l ? out_clean(l) : NULL;
		}
		s->n++;
	}
	return 0;
}

struct tv {
	uint64_t t;
	double v;
	char *lab;
};

static int tv_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct tv *)a)->t, y = ((const struct tv *)b)->t;
	return x < y ? -1 : x > y;
}

void out_series_finish(struct out_series_set *ss)
{
	for (size_t k = 0; k < ss->n; k++) {
		struct out_series *s = &ss->s[k];
		size_t i = 1;
		while (i < s->n && s->t[i - 1] <= s->t[i])
			i++;
		if (i >= s->n)
			continue;
		struct tv *p = malloc(s->n * sizeof *p);
		if (!p)
			continue;
		for (i = 0; i < s->n; i++)
			p[i] = (struct tv){ s->t[i], s->v[i], s->lab ? s->lab[i] : NULL };
		qsort(p, s->n, sizeof *p, tv_cmp);
		for (i = 0; i < s->n; i++) {
			s->t[i] = p[i].t, s->v[i] = p[i].v;
			if (s->lab)
				s->lab[i] = p[i].lab;
		}
		free(p);
	}
}

void out_series_free(struct out_series_set *ss)
{
	for (size_t i = 0; i < ss->n; i++) {
		for (size_t j = 0; ss->s[i].lab && j < ss->s[i].n; j++)
			free(ss->s[i].lab[j]);
		free(ss->s[i].lab);
		free(ss->s[i].name);
		free(ss->s[i].unit);
		free(ss->s[i].t);
		free(ss->s[i].v);
	}
	free(ss->s);
	memset(ss, 0, sizeof *ss);
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Sorted distinct timestamps of every series; *n set.  NULL if none. */
static uint64_t *union_times(const struct out_series_set *ss, size_t *n)
{
	size_t total = 0, k = 0;
	for (size_t i = 0; i < ss->n; i++)
		total += ss->s[i].n;
	*n = 0;
	uint64_t *t = total ? malloc(total * sizeof *t) : NULL;
	if (!t)
		return NULL;
	for (size_t i = 0; i < ss->n; i++)
		for (size_t j = 0; j < ss->s[i].n; j++)
			t[k++] = ss->s[i].t[j];
	qsort(t, total, sizeof *t, u64_cmp);
	for (size_t i = 0; i < total; i++)
		if (*n == 0 || t[*n - 1] != t[i])
			t[(*n)++] = t[i];
	return t;
}

/* Walks the rows: for row time ts, the value of series s or NULL. */
static const double *cell(const struct out_series *s, size_t *cur, uint64_t ts)
{
	while (*cur < s->n && s->t[*cur] < ts)
		(*cur)++;
	if (*cur < s->n && s->t[*cur] == ts)
		return &s->v[(*cur)++];
	return NULL;
}

/* Cell text; missing or no reading gives miss.  Text points print their
 * label. */
static void cell_text(char *buf, size_t len, const struct out_series *s, const double *v,
		      const char *miss)
{
	if (v && s->lab) {
		const char *l = s->lab[v - s->v];
		snprintf(buf, len, "%s", l && *l ? l : miss);
	} else if (!v || isnan(*v))
		snprintf(buf, len, "%s", miss);
	else
		out_metric_value(buf, len, s->name, *v);
}

void out_series_table(FILE *f, const struct out_series_set *ss, bool with_date)
{
	size_t nt, *cur = calloc(ss->n + 1, sizeof *cur), *w = calloc(ss->n + 1, sizeof *w);
	uint64_t *times = union_times(ss, &nt);
	char buf[64];
	int tw = with_date ? 23 : 12;

	if (!cur || !w)
		goto out;
	for (size_t k = 0; k < ss->n; k++) {
		w[k] = strlen(ss->s[k].name);
		for (size_t j = 0; j < ss->s[k].n; j++) {
			cell_text(buf, sizeof buf, &ss->s[k], &ss->s[k].v[j], "-");
			if (strlen(buf) > w[k])
				w[k] = strlen(buf);
		}
	}
	fprintf(f, "%-*s", tw, "time");
	for (size_t k = 0; k < ss->n; k++)
		fprintf(f, "  %*s", (int)w[k], ss->s[k].name);
	fputc('\n', f);
	for (size_t r = 0; r < nt; r++) {
		out_time_local(buf, sizeof buf, times[r], with_date);
		fprintf(f, "%-*s", tw, buf);
		for (size_t k = 0; k < ss->n; k++) {
			cell_text(buf, sizeof buf, &ss->s[k], cell(&ss->s[k], &cur[k], times[r]), "-");
			fprintf(f, "  %*s", (int)w[k], buf);
		}
		fputc('\n', f);
	}
out:
	free(times);
	free(cur);
	free(w);
}

static void csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

void out_series_csv(FILE *f, const struct out_series_set *ss)
{
	size_t nt, *cur = calloc(ss->n + 1, sizeof *cur);
	uint64_t *times = union_times(ss, &nt);
	char buf[64];

	fputs("ts_ns,time", f);
	for (size_t k = 0; k < ss->n; k++) {
		fputc(',', f);
		csv_field(f, ss->s[k].name);
	}
	fputc('\n', f);
	for (size_t r = 0; cur && r < nt; r++) {
		out_time_utc(buf, sizeof buf, times[r]);
		fprintf(f, "%" PRIu64 ",%s", times[r], buf);
		for (size_t k = 0; k < ss->n; k++) {
			cell_text(buf, sizeof buf, &ss->s[k], cell(&ss->s[k], &cur[k], times[r]), "");
			fputc(',', f);
			csv_field(f, buf);
		}
		fputc('\n', f);
	}
	free(times);
	free(cur);
}

void out_series_json(FILE *f, const struct out_series_set *ss)
{
	fputs("{\"series\":[", f);
	for (size_t k = 0; k < ss->n; k++) {
		const struct out_series *s = &ss->s[k];
		const char *unit = s->unit ? s->unit : "";
		fputs(k ? ",{\"name\":" : "{\"name\":", f);
		out_json_str(f, s->name, strlen(s->name));
		fputs(",\"unit\":", f);
		out_json_str(f, unit, strlen(unit));
		fputs(",\"t\":[", f);
		for (size_t i = 0; i < s->n; i++)
			fprintf(f, i ? ",%" PRIu64 : "%" PRIu64, s->t[i]);
		fputs("],\"v\":[", f);
		for (size_t i = 0; i < s->n; i++) {
			if (i)
				fputc(',', f);
			out_json_num(f, s->v[i]);
		}
		if (s->lab) {
			fputs("],\"labels\":[", f);
			for (size_t i = 0; i < s->n; i++) {
				const char *l = s->lab[i] ? s->lab[i] : "";
				if (i)
					fputc(',', f);
				out_json_str(f, l, strlen(l));
			}
		}
		fputs("]}", f);
	}
	fputs("]}\n", f);
}
