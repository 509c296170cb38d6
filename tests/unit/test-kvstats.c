/* The vendor stats-file parser and its rates: literal strings, no fs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kvstats.h"

static struct kvstats *parse(const char *s, int want_rc)
{
	struct kvstats *k = malloc(sizeof *k);
	assert_non_null(k);
	assert_int_equal(kvstats_parse(s, strlen(s), k), want_rc);
	return k;
}

static void test_good(void **state)
{
	(void)state;
	struct kvstats *k = parse("# acme_tb stats\n"
				  "format_version: 1\n"
				  "epoch: 7\n"
				  "\n"
				  "tx_bytes: 1000000 bytes\n"
				  "rx_bytes:\t2000 B\n"
				  "dma_latency_ns: 850 ns\n"
				  "dma_latency_ns_sum: 123456789 ns\n"
				  "dma_latency_samples: 1000\n"
				  "tb_connections: 1\n"
				  "tb_connects_total: 3\n"
				  "tb_errors: 0\n", 0);
	assert_int_equal(k->malformed, 0);
	assert_int_equal(k->nextra, 0);
	for (int i = 0; i < KVS_NKEYS; i++)
		assert_true(kvstats_has(k, (enum kvstats_key)i));
	assert_true(k->v[KVS_TX_BYTES] == 1000000);
	assert_true(k->v[KVS_RX_BYTES] == 2000);
	assert_true(k->v[KVS_DMA_LATENCY_NS] == 850);
	assert_true(k->v[KVS_DMA_LATENCY_NS_SUM] == 123456789);
	assert_true(k->v[KVS_EPOCH] == 7);
	assert_true(k->v[KVS_TB_ERRORS] == 0);
	assert_string_equal(kvstats_key_name(KVS_DMA_LATENCY_SAMPLES), "dma_latency_samples");
	free(k);

	/* a subset: missing keys are absent, not zero */
	k = parse("tx_bytes: 5\n", 0);
	assert_true(kvstats_has(k, KVS_TX_BYTES));
	assert_false(kvstats_has(k, KVS_RX_BYTES));
	assert_false(kvstats_has(k, KVS_EPOCH));
	free(k);
}

static void test_malformed(void **state)
{
	(void)state;
	struct kvstats *k = parse("tx_bytes 5\n"            /* no colon */
				  "Tx_bytes: 5\n"           /* uppercase key */
				  "_x: 1\n"                 /* key must start a-z */
				  "rx_bytes: \n"            /* no value */
				  "rx_bytes: -4\n"          /* negative */
				  "rx_bytes: 1.5\n"         /* not an integer */
				  "rx_bytes: 12ns\n"        /* unit glued on */
				  "rx_bytes: 12 parsecs\n"  /* unknown unit */
				  "rx_bytes: 12 ns extra\n" /* junk after unit */
				  "tb_errors: 4\n"          /* good */
				  ": 3\n"
				  "tx_bytes: 0x10\n", 0);
	assert_int_equal(k->malformed, 11);
	assert_true(kvstats_has(k, KVS_TB_ERRORS));
	assert_true(k->v[KVS_TB_ERRORS] == 4);
	assert_false(kvstats_has(k, KVS_TX_BYTES));
	assert_false(kvstats_has(k, KVS_RX_BYTES));
	free(k);

	/* a bad line later does not undo an earlier good one */
	k = parse("tx_bytes: 10\ntx_bytes: oops\n", 0);
	assert_true(kvstats_has(k, KVS_TX_BYTES));
	assert_true(k->v[KVS_TX_BYTES] == 10);
	assert_int_equal(k->malformed, 1);
	free(k);

	/* embedded NUL and binary junk: counted, never a crash */
	static const char bin[] = "tx_bytes: 1\0\n\xff\xfe: 2\nrx_bytes: 3\n";
	struct kvstats k2;
	assert_int_equal(kvstats_parse(bin, sizeof bin - 1, &k2), 0);
	assert_int_equal(k2.malformed, 2);
	assert_false(kvstats_has(&k2, KVS_TX_BYTES));
	assert_true(k2.v[KVS_RX_BYTES] == 3);
	assert_int_equal(kvstats_parse(NULL, 0, &k2), 0);
	assert_int_equal(kvstats_parse(NULL, 3, &k2), -EINVAL);
	assert_int_equal(kvstats_parse("x: 1\n", 5, NULL), -EINVAL);
}

static void test_huge(void **state)
{
	(void)state;
	struct kvstats *k = parse("tx_bytes: 18446744073709551615\n"   /* u64 max */
				  "rx_bytes: 18446744073709551616\n"   /* max + 1 */
				  "tb_errors: 99999999999999999999\n"  /* 20 digits, overflow */
				  "epoch: 000000000000000000001\n"     /* 21 digits */
				  "dma_latency_ns: 00000000000000000009\n", 0);
	assert_true(kvstats_has(k, KVS_TX_BYTES));
	assert_true(k->v[KVS_TX_BYTES] == UINT64_MAX);
	assert_false(kvstats_has(k, KVS_RX_BYTES));
	assert_false(kvstats_has(k, KVS_TB_ERRORS));
	assert_false(kvstats_has(k, KVS_EPOCH));
	assert_true(k->v[KVS_DMA_LATENCY_NS] == 9);
	assert_int_equal(k->malformed, 3);
	free(k);
}

static void test_duplicates_and_version(void **state)
{
	(void)state;
	struct kvstats *k = parse("tx_bytes: 1\ntx_bytes: 2\nfoo: 1\nfoo: 9\n", 0);
	assert_true(k->v[KVS_TX_BYTES] == 2);
	assert_int_equal(k->nextra, 1);
	uint64_t v = 0;
	assert_int_equal(kvstats_extra_get(k, "foo", &v), 0);
	assert_true(v == 9);
	free(k);
	k = parse("format_version: 2\ntx_bytes: 1\n", -EPROTONOSUPPORT);
	free(k);
	k = parse("format_version: 1\nformat_version: 0\n", 0);   /* last wins */
	assert_true(k->v[KVS_FORMAT_VERSION] == 0);
	free(k);
}

static void test_unknown_keys(void **state)
{
	(void)state;
	char buf[8192];
	size_t n = 0;
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "vendor_key_%02d: %d\n", i, i);
	/* a 63-char name is kept, a 64-char name is valid but too long to keep,
	 * a 65-char name is malformed */
	n += (size_t)snprintf(buf + n, sizeof buf - n, "%s: 1\n", "a23456789012345678901234567890123456789012345678901234567890123");
	n += (size_t)snprintf(buf + n, sizeof buf - n, "%s: 1\n", "a234567890123456789012345678901234567890123456789012345678901234");
	n += (size_t)snprintf(buf + n, sizeof buf - n, "%s: 1\n", "a2345678901234567890123456789012345678901234567890123456789012345");
	n += (size_t)snprintf(buf + n, sizeof buf - n, "tx_bytes: 77\n");
	struct kvstats *k = malloc(sizeof *k);
	assert_non_null(k);
	assert_int_equal(kvstats_parse(buf, n, k), 0);
	assert_int_equal(k->nextra, KVSTATS_EXTRA_MAX);
	assert_int_equal(k->extra_dropped, 40 - KVSTATS_EXTRA_MAX + 2);
	assert_int_equal(k->malformed, 1);
	assert_true(k->v[KVS_TX_BYTES] == 77);
	uint64_t v;
	assert_int_equal(kvstats_extra_get(k, "vendor_key_05", &v), 0);
	assert_true(v == 5);
	assert_int_equal(kvstats_extra_get(k, "vendor_key_39", &v), -ENOENT);
	free(k);
}

static void test_empty_newline_crlf(void **state)
{
	(void)state;
	struct kvstats *k = parse("", 0);
	assert_int_equal(k->present, 0);
	assert_int_equal(k->malformed, 0);
	free(k);
	k = parse("\n\n# only comments\n   \n", 0);
	assert_int_equal(k->present, 0);
	assert_int_equal(k->malformed, 0);
	free(k);
	k = parse("tx_bytes: 1\nrx_bytes: 42", 0);   /* no trailing newline */
	assert_true(k->v[KVS_RX_BYTES] == 42);
	assert_int_equal(k->malformed, 0);
	free(k);
	k = parse("tx_bytes: 1 bytes\r\nrx_bytes: 42\r\n# c\r\n\r\nepoch: 3\r\n", 0);
	assert_true(k->v[KVS_TX_BYTES] == 1);
	assert_true(k->v[KVS_RX_BYTES] == 42);
	assert_true(k->v[KVS_EPOCH] == 3);
	assert_int_equal(k->malformed, 0);
	free(k);
}

/* ---- rates ---------------------------------------------------------------- */

static void test_rates(void **state)
{
	(void)state;
	struct kvstats *a = parse("epoch: 1\ntx_bytes: 1000000\nrx_bytes: 0\ntb_errors: 2\n"
				  "dma_latency_ns_sum: 1000\ndma_latency_samples: 10\n"
				  "tb_connects_total: 1\ntb_connections: 1\n", 0);
	struct kvstats *b = parse("epoch: 1\ntx_bytes: 5000000\nrx_bytes: 2000000\ntb_errors: 5\n"
				  "dma_latency_ns_sum: 4000\ndma_latency_samples: 20\n"
				  "tb_connects_total: 3\ntb_connections: 2\ndma_latency_ns: 250\n", 0);
	struct kvstats_rates r;
	assert_int_equal(kvstats_rates(a, b, 2.0, &r), 0);
	assert_int_equal(r.reset, 0);
	assert_true(r.present & KVR_TX_BPS);
	assert_true(r.present & KVR_RX_BPS);
	assert_true(r.tx_Bps == 2000000.0);
	assert_true(r.tx_MBps == 2.0);
	assert_true(r.rx_Bps == 1000000.0);
	assert_true(r.rx_MBps == 1.0);
	assert_true(r.present & KVR_ERRORS_PER_S);
	assert_true(r.errors_per_s == 1.5);
	assert_true(r.present & KVR_ERRORS_PER_GB);
	assert_true(r.errors_per_GB > 499.99 && r.errors_per_GB < 500.01);   /* 3 errors / 6 MB */
	assert_true(r.present & KVR_DMA_MEAN);
	assert_true(r.dma_latency_mean_ns == 300.0);
	assert_true(r.present & KVR_DMA_GAUGE);
	assert_true(r.dma_latency_ns == 250.0);
	assert_true(r.present & KVR_CONNECT_RATE);
	assert_true(r.connect_rate == 1.0);
	assert_true(r.present & KVR_CONNECTIONS);
	assert_true(r.tb_connections == 2);
	/* no samples in the interval: no mean; tiny traffic: no per-GB */
	struct kvstats c = *a;
	c.v[KVS_TX_BYTES] += 10;
	c.v[KVS_TB_ERRORS] += 1;
	assert_int_equal(kvstats_rates(a, &c, 1.0, &r), 0);
	assert_false(r.present & KVR_DMA_MEAN);
	assert_false(r.present & KVR_ERRORS_PER_GB);
	assert_true(r.present & KVR_ERRORS_PER_S);
	/* a counter present in only one sample: no rate for it */
	c.present &= ~(1u << KVS_RX_BYTES);
	assert_int_equal(kvstats_rates(a, &c, 1.0, &r), 0);
	assert_false(r.present & KVR_RX_BPS);
	assert_true(r.present & KVR_TX_BPS);
	assert_int_equal(kvstats_rates(a, b, 0.0, &r), -EINVAL);
	assert_int_equal(kvstats_rates(a, b, -1.0, &r), -EINVAL);
	assert_int_equal(kvstats_rates(NULL, b, 1.0, &r), -EINVAL);
	free(a);
	free(b);
}

static void test_reset(void **state)
{
	(void)state;
	struct kvstats *a = parse("epoch: 1\ntx_bytes: 5000\nrx_bytes: 9000\ntb_connections: 1\n", 0);
	struct kvstats *b = parse("epoch: 1\ntx_bytes: 100\nrx_bytes: 9500\ntb_connections: 1\n", 0);
	struct kvstats_rates r;
	/* a counter went down */
	assert_int_equal(kvstats_rates(a, b, 1.0, &r), 0);
	assert_int_equal(r.reset, 1);
	assert_false(r.present & (KVR_TX_BPS | KVR_RX_BPS));
	assert_true(r.present & KVR_CONNECTIONS);   /* gauges still reported */
	free(b);
	/* epoch changed, counters happen to be higher */
	b = parse("epoch: 2\ntx_bytes: 6000\nrx_bytes: 9500\n", 0);
	assert_int_equal(kvstats_rates(a, b, 1.0, &r), 0);
	assert_int_equal(r.reset, 1);
	assert_int_equal(r.present & (KVR_TX_BPS | KVR_RX_BPS), 0);
	free(b);
	/* epoch vanished */
	b = parse("tx_bytes: 6000\n", 0);
	assert_int_equal(kvstats_rates(a, b, 1.0, &r), 0);
	assert_int_equal(r.reset, 1);
	free(b);
	/* u64 max to u64 max: zero rate, no reset */
	struct kvstats *m = parse("tx_bytes: 18446744073709551615\n", 0);
	assert_int_equal(kvstats_rates(m, m, 1.0, &r), 0);
	assert_int_equal(r.reset, 0);
	assert_true(r.tx_Bps == 0.0);
	/* 0 → u64 max: a huge but exact rate */
	struct kvstats *z = parse("tx_bytes: 0\n", 0);
	assert_int_equal(kvstats_rates(z, m, 1.0, &r), 0);
	assert_true(r.tx_Bps > 1.8e19);
	assert_int_equal(kvstats_rates(m, z, 1.0, &r), 0);
	assert_int_equal(r.reset, 1);
	free(m);
	free(z);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_duplicates_and_version),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_empty_newline_crlf),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_reset),
	};
	return cmocka_run_group_tests_name("kvstats", tests, NULL, NULL);
}
