/*
 * The vendor-driver stats file (SOURCES.md §6.6): debugfs-style lines
 *
 *   # comment
 *   format_version: 1
 *   epoch: 3
 *   tx_bytes: 123456 bytes
 *   dma_latency_ns: 850 ns
 *
 * key := [a-z][a-z0-9_]{0,63}, value := 1..20 decimal digits that fit a
 * u64, then an optional unit (ns, us, B, bytes; informational only).
 * Blank lines, '#' comments, CRLF line ends and a missing final newline
 * are accepted.  A malformed line (bad key, no ':', no digits, overflow,
 * unknown unit, junk after the value) is skipped and counted; it never
 * invalidates the rest of the file.  A duplicate key: the last one wins.
 * Keys not in the schema are kept as extras (up to KVSTATS_EXTRA_MAX,
 * names up to KVSTATS_EXTRA_NAME_MAX chars; more are counted as dropped).
 *
 * Pure functions: no I/O, no allocation, no logging.
 */
#ifndef RMON_KVSTATS_H
#define RMON_KVSTATS_H

#include <stddef.h>
#include <stdint.h>

enum kvstats_key {
	KVS_TX_BYTES,
	KVS_RX_BYTES,
	KVS_DMA_LATENCY_NS,          /* gauge */
	KVS_DMA_LATENCY_NS_SUM,      /* counter */
	KVS_DMA_LATENCY_SAMPLES,     /* counter */
	KVS_TB_CONNECTIONS,          /* gauge */
	KVS_TB_CONNECTS_TOTAL,       /* counter */
	KVS_TB_ERRORS,               /* counter */
	KVS_FORMAT_VERSION,
	KVS_EPOCH,
	KVS_NKEYS
};

#define KVSTATS_FORMAT_MAX     1u   /* newest known format_version */
#define KVSTATS_EXTRA_MAX      32
#define KVSTATS_EXTRA_NAME_MAX 63

struct kvstats_extra {
	char name[KVSTATS_EXTRA_NAME_MAX + 1];
	uint64_t value;
};

struct kvstats {
	uint64_t v[KVS_NKEYS];
	uint32_t present;            /* bit k: v[k] was in the file */
	unsigned malformed;          /* lines skipped as malformed */
	unsigned nextra;
	unsigned extra_dropped;      /* unknown keys not kept (table full, name too long) */
	struct kvstats_extra extra[KVSTATS_EXTRA_MAX];
};

static inline int kvstats_has(const struct kvstats *s, enum kvstats_key k)
{
	return (int)((s->present >> (unsigned)k) & 1u);
}

/* The schema name of a key ("tx_bytes"), or NULL. */
const char *kvstats_key_name(enum kvstats_key k);

/* Parse buf[0..len) into *out (fully reset first).  0, or
 * -EPROTONOSUPPORT when format_version > KVSTATS_FORMAT_MAX (out is still
 * filled, for diagnostics), or -EINVAL for NULL arguments. */
int kvstats_parse(const char *buf, size_t len, struct kvstats *out);

/* An extra (unknown) key's value: 0 and *v, or -ENOENT. */
int kvstats_extra_get(const struct kvstats *s, const char *name, uint64_t *v);

/* ---- rates over a sample pair ------------------------------------------ */

enum kvstats_rate_bit {
	KVR_TX_BPS          = 1u << 0,   /* tx_Bps, tx_MBps */
	KVR_RX_BPS          = 1u << 1,   /* rx_Bps, rx_MBps */
	KVR_ERRORS_PER_S    = 1u << 2,
	KVR_ERRORS_PER_GB   = 1u << 3,   /* only when Δ(tx+rx) > 1 MB */
	KVR_DMA_MEAN        = 1u << 4,   /* exact interval mean from sum/samples */
	KVR_DMA_GAUGE       = 1u << 5,   /* cur's dma_latency_ns, as-is */
	KVR_CONNECT_RATE    = 1u << 6,
	KVR_CONNECTIONS     = 1u << 7,   /* cur's tb_connections, as-is */
};

struct kvstats_rates {
	unsigned present;            /* KVR_* bits */
	int reset;                   /* epoch changed or a counter went down: no rates */
	double tx_Bps, rx_Bps;       /* bytes/s */
	double tx_MBps, rx_MBps;     /* 1 MB = 1e6 bytes */
	double errors_per_s;
	double errors_per_GB;        /* per 1e9 bytes moved */
	double dma_latency_mean_ns;
	double dma_latency_ns;       /* gauge */
	double connect_rate;         /* connects/s */
	uint64_t tb_connections;
};

/* Rates from prev to cur over dt_s seconds (CLOCK_MONOTONIC at the reads).
 * A counter gives a rate only when present in both samples.  When the
 * epoch changed (value, or present in one sample only) or any counter
 * present in both decreased, out->reset = 1 and no rate is present (the
 * gauges of cur still are): re-baseline on cur.  0, or -EINVAL for NULL
 * arguments or dt_s <= 0 (or not finite). */
int kvstats_rates(const struct kvstats *prev, const struct kvstats *cur, double dt_s,
		  struct kvstats_rates *out);

#endif
