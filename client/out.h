/*
 * Output helpers for rmonctl: a JSON writer for any msgpack object, the
 * number, byte, time and bar formats of the human screens, colour only
 * on a terminal, and series sets (query, and later watch) rendered as a
 * table, CSV or JSON.
 *
 * The formatting hints come from the schema (common/schema.h): a field
 * of type U64 prints as an integer, F64 as a short decimal.
 */
#ifndef RMON_CLIENT_OUT_H
#define RMON_CLIENT_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <msgpack.h>

#include "schema.h"

/* ---- JSON ---- */

/* Compact JSON, no newline.  Strings: quotes, backslash and control
 * characters escaped, valid UTF-8 passed through, invalid bytes become
 * U+FFFD.  Integers stay integers; floats are the shortest form that
 * reads back exactly (always with a '.' or exponent); NaN/inf: null. */
void out_json(FILE *f, const msgpack_object *o);
void out_json_str(FILE *f, const char *s, size_t n);
void out_json_num(FILE *f, double v);
/* A map with one more string entry first: {"tag":"val", ...the map's
 * entries}; a value that is not a map becomes {"tag":"val","data":...}.
 * For NDJSON streams ({"ev":"sample",...}).  No newline. */
void out_json_tagged(FILE *f, const char *tag, const char *val, const msgpack_object *map);
/* The entries of a map, each written as ,"key":value (for callers that
 * open the object themselves).  Nothing for a non-map. */
void out_json_entries(FILE *f, const msgpack_object *map);

/* ---- numbers ---- */

/* Up to 6 significant digits, no exponent for ordinary magnitudes, no
 * trailing zeros: 0.25, 1520, 1234568, 0.000123.  NaN: "-". */
void out_num(char *buf, size_t len, double v);
/* By schema type: U64 rounds to an integer, F64 is out_num. */
void out_value(char *buf, size_t len, double v, enum rm_type type);
/* The schema field of a metric name ("cpu:3.busy_pct"), or NULL. */
const struct rm_field *out_metric_field(const char *name);
/* out_value with the type of that metric (F64 when unknown). */
void out_metric_value(char *buf, size_t len, const char *name, double v);

/* 1536 → "1.50 KiB", 0 → "0 B"; binary units up to EiB. */
void out_bytes(char *buf, size_t len, double v);
/* Counts and rates: 12, 0.5, 1.2k, 34M. */
void out_si(char *buf, size_t len, double v);
/* 61.2 → "1m1s", 90000 → "1d1h": the two largest units. */
void out_secs(char *buf, size_t len, double secs);

/* Control characters (escape sequences from a confused peer) become
 * '?' before a string reaches a terminal.  Returns s. */
char *out_clean(char *s);

/* ---- time ---- */

/* Local "HH:MM:SS.mmm", or "YYYY-MM-DD HH:MM:SS.mmm" with_date. */
void out_time_local(char *buf, size_t len, uint64_t ns, bool with_date);
/* ISO 8601 UTC with milliseconds: "2026-11-21T11:20:00.100Z". */
void out_time_utc(char *buf, size_t len, uint64_t ns);

/* ---- terminal ---- */

#define OUT_RESET "\033[0m"
#define OUT_BOLD "\033[1m"
#define OUT_DIM "\033[2m"
#define OUT_GREEN "\033[32m"
#define OUT_YELLOW "\033[33m"
#define OUT_RED "\033[31m"

/* Colour: f is a terminal, no --no-color, NO_COLOR unset or empty. */
bool out_want_color(FILE *f, bool no_color);
/* Columns of the terminal f is, else $COLUMNS, else 80. */
int out_term_width(FILE *f);
/* Rows of the terminal f is, else $LINES, else 24. */
int out_term_height(FILE *f);
/* Columns s takes on a terminal: one per UTF-8 character (wide CJK
 * characters are counted as one; close enough for names). */
int out_text_width(const char *s);
/* Copy src into dst cut to at most cols columns, ending in "…" when
 * cut, never in the middle of a UTF-8 sequence.  cols <= 0: no limit.
 * Returns dst. */
char *out_fit(char *dst, size_t len, const char *src, int cols);
/* "[|||||     ]": width cells inside the brackets, pct clamped to
 * 0..100; NaN gives an empty bar. */
void out_bar(char *buf, size_t len, double pct, int width);
/* Green below 60 %, yellow below 85 %, red above. */
const char *out_level_color(double pct);

/* ---- series (query results) ---- */

struct out_series {
	char *name;
	char *unit;
	uint64_t *t;     /* ns since the epoch, ascending once finished */
	double *v;       /* NAN: no reading */
	char **lab;      /* text points (mark.text): each point's label, else NULL */
	size_t n, cap;
};

struct out_series_set {
	struct out_series *s;
	size_t n, cap;
};

/* Append one `series` event's data ({name, unit, t, v}); a chunk with a
 * name already seen extends that series.  0, or -1 with err set. */
int out_series_add(struct out_series_set *ss, const msgpack_object *data, char *err, size_t errlen);
/* Sort each series by time (chunks may in principle come out of order). */
void out_series_finish(struct out_series_set *ss);
void out_series_free(struct out_series_set *ss);

/* Rows = union of timestamps, one column per series, "-" where a series
 * has no point or no reading.  Time local, with the date when asked. */
void out_series_table(FILE *f, const struct out_series_set *ss, bool with_date);
/* Header "ts_ns,time,name...", time ISO 8601 UTC; empty field: missing. */
void out_series_csv(FILE *f, const struct out_series_set *ss);
/* {"series":[{"name","unit","t":[...],"v":[...]}]} and a newline. */
void out_series_json(FILE *f, const struct out_series_set *ss);

#endif
