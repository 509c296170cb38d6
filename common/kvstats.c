/* The vendor-driver stats file parser and its rates (see kvstats.h). */
#include "kvstats.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static const char *const key_names[KVS_NKEYS] = {
	[KVS_TX_BYTES] = "tx_bytes",
	[KVS_RX_BYTES] = "rx_bytes",
	[KVS_DMA_LATENCY_NS] = "dma_latency_ns",
	[KVS_DMA_LATENCY_NS_SUM] = "dma_latency_ns_sum",
	[KVS_DMA_LATENCY_SAMPLES] = "dma_latency_samples",
	[KVS_TB_CONNECTIONS] = "tb_connections",
	[KVS_TB_CONNECTS_TOTAL] = "tb_connects_total",
	[KVS_TB_ERRORS] = "tb_errors",
	[KVS_FORMAT_VERSION] = "format_version",
	[KVS_EPOCH] = "epoch",
};

#define KEY_MAX_LEN 64   /* [a-z][a-z0-9_]{0,63} */
#define VALUE_MAX_DIGITS 20

const char *kvstats_key_name(enum kvstats_key k)
{
	return (unsigned)k < KVS_NKEYS ? key_names[k] : NULL;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int lookup_key(const char *k, size_t n)
{
	for (int i = 0; i < KVS_NKEYS; i++)
		if (strlen(key_names[i]) == n && memcmp(key_names[i], k, n) == 0)
			return i;
	return -1;
}

static int unit_ok(const char *u, size_t n)
{
	static const char *const units[] = { "ns", "us", "B", "bytes" };
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strlen(units[i]) == n && memcmp(units[i], u, n) == 0)
			return 1;
	return 0;
}

static void put_extra(struct kvstats *out, const char *k, size_t n, uint64_t v)
{
	for (unsigned i = 0; i < out->nextra; i++)
		if (strlen(out->extra[i].name) == n && memcmp(out->extra[i].name, k, n) == 0) {
			out->extra[i].value = v;   /* duplicate: last wins */
			return;
		}
	if (n > KVSTATS_EXTRA_NAME_MAX || out->nextra >= KVSTATS_EXTRA_MAX) {
		out->extra_dropped++;
		return;
	}
	struct kvstats_extra *e = &out->extra[out->nextra++];
	memcpy(e->name, k, n);
	e->name[n] = '\0';
	e->value = v;
}

/* One line [p, e) without its '\n' (and without a trailing '\r').
 * 0 parsed or ignorable, -1 malformed. */
static int parse_line(const char *p, const char *e, struct kvstats *out)
{
	while (p < e && is_blank(*p))
		p++;
	if (p == e || *p == '#')
		return 0;
	/* key */
	const char *k = p;
	if (*p < 'a' || *p > 'z')
		return -1;
	while (p < e && ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
		p++;
	size_t klen = (size_t)(p - k);
	if (klen > KEY_MAX_LEN || p == e || *p != ':')
		return -1;
	p++;
	while (p < e && is_blank(*p))
		p++;
	/* value: 1..20 digits, no overflow */
	uint64_t v = 0;
	const char *d = p;
	while (p < e && *p >= '0' && *p <= '9') {
		unsigned dig = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - dig) / 10)
			return -1;   /* u64 overflow */
		v = v * 10 + dig;
		p++;
	}
	if (p == d || p - d > VALUE_MAX_DIGITS)
		return -1;
	/* [ws unit] ws* */
	if (p < e) {
		if (!is_blank(*p))
			return -1;   /* "12ns", "12x", "1.5" */
		while (p < e && is_blank(*p))
			p++;
		const char *u = p;
		while (p < e && !is_blank(*p))
			p++;
		if (p > u && !unit_ok(u, (size_t)(p - u)))
			return -1;
		while (p < e && is_blank(*p))
			p++;
		if (p != e)
			return -1;
	}
	int i = lookup_key(k, klen);
	if (i >= 0) {
		out->v[i] = v;
		out->present |= 1u << (unsigned)i;
	} else {
		put_extra(out, k, klen, v);
	}
	return 0;
}

int kvstats_parse(const char *buf, size_t len, struct kvstats *out)
{
	if (!out || (!buf && len))
		return -EINVAL;
	memset(out, 0, sizeof *out);
	const char *p = buf, *end = buf ? buf + len : buf;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *le = e;
		if (le > p && le[-1] == '\r')
			le--;
		/* A NUL inside a line makes it malformed (the loop would stop at
		 * it as at any other unexpected byte). */
		if (parse_line(p, le, out) < 0)
			out->malformed++;
		p = nl ? nl + 1 : end;
	}
	if (kvstats_has(out, KVS_FORMAT_VERSION) && out->v[KVS_FORMAT_VERSION] > KVSTATS_FORMAT_MAX)
		return -EPROTONOSUPPORT;
	return 0;
}

int kvstats_extra_get(const struct kvstats *s, const char *name, uint64_t *v)
{
	for (unsigned i = 0; i < s->nextra; i++)
		if (strcmp(s->extra[i].name, name) == 0) {
			if (v)
				*v = s->extra[i].value;
			return 0;
		}
	return -ENOENT;
}

/* ---- rates ---------------------------------------------------------------- */

static const enum kvstats_key counters[] = {
	KVS_TX_BYTES, KVS_RX_BYTES, KVS_DMA_LATENCY_NS_SUM, KVS_DMA_LATENCY_SAMPLES,
	KVS_TB_CONNECTS_TOTAL, KVS_TB_ERRORS,
};

static int both(const struct kvstats *a, const struct kvstats *b, enum kvstats_key k)
{
	return kvstats_has(a, k) && kvstats_has(b, k);
}

int kvstats_rates(const struct kvstats *prev, const struct kvstats *cur, double dt_s,
		  struct kvstats_rates *out)
{
	if (!prev || !cur || !out || !isfinite(dt_s) || dt_s <= 0)
		return -EINVAL;
	memset(out, 0, sizeof *out);

	/* Gauges of cur are reported whatever happened to the counters. */
	if (kvstats_has(cur, KVS_DMA_LATENCY_NS)) {
		out->dma_latency_ns = (double)cur->v[KVS_DMA_LATENCY_NS];
		out->present |= KVR_DMA_GAUGE;
	}
	if (kvstats_has(cur, KVS_TB_CONNECTIONS)) {
		out->tb_connections = cur->v[KVS_TB_CONNECTIONS];
		out->present |= KVR_CONNECTIONS;
	}

	/* Reset: epoch changed (or appeared/vanished), or a counter went down. */
	if (kvstats_has(prev, KVS_EPOCH) != kvstats_has(cur, KVS_EPOCH) ||
	    (both(prev, cur, KVS_EPOCH) && prev->v[KVS_EPOCH] != cur->v[KVS_EPOCH]))
		out->reset = 1;
	for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
		if (both(prev, cur, counters[i]) && cur->v[counters[i]] < prev->v[counters[i]])
			out->reset = 1;
	if (out->reset)
		return 0;

	uint64_t dtx = 0, drx = 0;
	if (both(prev, cur, KVS_TX_BYTES)) {
		dtx = cur->v[KVS_TX_BYTES] - prev->v[KVS_TX_BYTES];
		out->tx_Bps = (double)dtx / dt_s;
		out->tx_MBps = out->tx_Bps / 1e6;
		out->present |= KVR_TX_BPS;
	}
	if (both(prev, cur, KVS_RX_BYTES)) {
		drx = cur->v[KVS_RX_BYTES] - prev->v[KVS_RX_BYTES];
		out->rx_Bps = (double)drx / dt_s;
		out->rx_MBps = out->rx_Bps / 1e6;
		out->present |= KVR_RX_BPS;
	}
	if (both(prev, cur, KVS_TB_ERRORS)) {
		uint64_t derr = cur->v[KVS_TB_ERRORS] - prev->v[KVS_TB_ERRORS];
		out->errors_per_s = (double)derr / dt_s;
		out->present |= KVR_ERRORS_PER_S;
		/* per GB only over more than 1 MB moved (tx and rx both known) */
		double bytes = (double)dtx + (double)drx;
		if ((out->present & (KVR_TX_BPS | KVR_RX_BPS)) == (KVR_TX_BPS | KVR_RX_BPS) &&
		    bytes > 1e6) {
			out->errors_per_GB = (double)derr / (bytes / 1e9);
			out->present |= KVR_ERRORS_PER_GB;
		}
	}
	if (both(prev, cur, KVS_DMA_LATENCY_NS_SUM) && both(prev, cur, KVS_DMA_LATENCY_SAMPLES)) {
		uint64_t ds = cur->v[KVS_DMA_LATENCY_SAMPLES] - prev->v[KVS_DMA_LATENCY_SAMPLES];
		uint64_t dsum = cur->v[KVS_DMA_LATENCY_NS_SUM] - prev->v[KVS_DMA_LATENCY_NS_SUM];
		if (ds > 0) {
			out->dma_latency_mean_ns = (double)dsum / (double)ds;
			out->present |= KVR_DMA_MEAN;
		}
	}
	if (both(prev, cur, KVS_TB_CONNECTS_TOTAL)) {
		out->connect_rate = (double)(cur->v[KVS_TB_CONNECTS_TOTAL] -
					     prev->v[KVS_TB_CONNECTS_TOTAL]) / dt_s;
		out->present |= KVR_CONNECT_RATE;
	}
	return 0;
}
