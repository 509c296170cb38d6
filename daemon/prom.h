/*
 * The Prometheus text exposition (format 0.0.4) of rmon's newest records:
 * metric names, types and help come from the schema table, one family per
 * field, one sample per instance.  Pure text building, no daemon state:
 * the caller hands in the records (daemon/req/req-metrics.c).
 *
 * Names: rmon_KIND_FIELD with the schema unit turned into Prometheus base
 * units (read_bps -> read_bytes_per_second, await_ms -> await_seconds,
 * freq_mhz -> freq_hertz, temp_c -> temp_celsius; values scaled to
 * match); percentages stay 0..100 (_pct).  Fields named *_total are
 * counters, everything else is a gauge.  Instances are labelled with the
 * kind ({cpu="0"}, {disk="sda"}), plus name="..." where the record has one
 * (a GPU's model).  A field without a reading is left out.
 */
#ifndef RMON_PROM_H
#define RMON_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define PROM_NAME_MAX 128

/* A growing text buffer; once an allocation failed, `failed` stays set
 * and nothing more is appended. */
struct prom_buf {
	char *data;                  /* NUL-terminated while len > 0 */
	size_t len, cap;
	bool failed;
};

void prom_buf_free(struct prom_buf *b);

/* Kinds worth scraping: the host and GPU kinds.  Processes and threads
 * are left out (unbounded label sets; command lines are access-checked),
 * as are marks and events (not measurements). */
bool prom_kind_exported(enum rm_kind kind);

/* The name of a field's family into buf, the factor from the schema's
 * unit to the name's unit, and whether it is a counter.  0, or -1 when
 * the name does not fit. */
int prom_metric_name(enum rm_kind kind, unsigned field, char *buf, size_t len, double *scale,
                     bool *counter);

/* Every field of a kind that has a reading in at least one of recs[0..n)
 * (the newest record of each key), as # HELP, # TYPE and samples. */
void prom_put_kind(struct prom_buf *b, enum rm_kind kind, const struct rm_rec *recs,
                   unsigned n);

/* One family of rmon's own, with up to one label: name{label="v"} value.
 * A family with several label values is a run of calls with the same
 * name; the first one prints HELP and TYPE (first = true). */
void prom_put_own(struct prom_buf *b, bool first, const char *name, bool counter,
                  const char *help, const char *label, const char *label_value, double v);

/* Appends printf-style; internal to the builder but shared with tests. */
void prom_printf(struct prom_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A label value as the format wants it: \ " and newline escaped, invalid
 * UTF-8 bytes replaced by '?'.  n: bytes of s to take (up to a NUL). */
void prom_put_label_value(struct prom_buf *b, const char *s, size_t n);

#endif
