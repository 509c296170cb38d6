/* A vendor stats file read twice into egpu records: rates, aliases,
 * malformed lines, resets, a missing file, a GPU that went away. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vstats.h"

static char path[256];
static char buf[VSTATS_FILE_MAX];

static void put(const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void read_fill(struct vstats_file *f, struct rm_rec *r)
{
	vstats_read(f, buf, sizeof buf);
	rec_init(r, 1, "1");
	vstats_fill(f, r);
}

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof path, "%s/rmon-test-vstats-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 (int)getpid());
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void test_rates_and_aliases(void **state)
{
	struct vstats_file f;
	struct rm_rec r;
	(void)state;
	vstats_init(&f, path);
	put("tx_bytes: 1000\nrx_bytes: 10\nconnections: 3\nerrors: 7\ndma_latency_ns: 900 ns\n"
	    "queue_depth: 4\n");
	read_fill(&f, &r);
	assert_true(f.read);
	assert_false(f.rated);   /* the first reading only baselines */
	assert_false(rec_has(&r, RM_EGPU_TX_BPS));
	assert_true(rec_has(&r, RM_EGPU_CONNECTIONS));   /* "connections" is tb_connections */
	assert_true(r.v[RM_EGPU_CONNECTIONS] == 3);
	assert_true(r.v[RM_EGPU_DMA_LAT] == 900);
	assert_true(r.v[RM_EGPU_STATS_MALFORMED] == 0);
	/* aliased keys are not extras; unknown ones are */
	assert_int_equal(f.cur.nextra, 1);
	assert_string_equal(f.cur.extra[0].name, "queue_depth");
	usleep(20000);
	put("tx_bytes: 2001000\nrx_bytes: 10\nconnections: 3\nerrors: 9\n"
	    "dma_latency_ns_sum: 5000\ndma_latency_samples: 10\nbad\n");
	read_fill(&f, &r);
	assert_true(f.rated);
	assert_true(r.v[RM_EGPU_TX_BPS] > 1e6);   /* 2 MB in about 20 ms */
	assert_true(r.v[RM_EGPU_RX_BPS] == 0);
	assert_true(r.v[RM_EGPU_ERRORS_PS] > 0);
	assert_true(r.v[RM_EGPU_STATS_MALFORMED] == 1);
	assert_false(rec_has(&r, RM_EGPU_DMA_LAT));   /* no gauge, and no pair in the reading before */
	usleep(20000);
	put("tx_bytes: 2001000\nrx_bytes: 10\ndma_latency_ns_sum: 8000\ndma_latency_samples: 13\n");
	read_fill(&f, &r);
	assert_true(r.v[RM_EGPU_DMA_LAT] == 1000);   /* (8000 - 5000) / 3: the interval mean */
	assert_false(rec_has(&r, RM_EGPU_CONNECTIONS));   /* gone from the file: absent, not 0 */
}

static void test_reset_missing_skip(void **state)
{
	struct vstats_file f;
	struct rm_rec r;
	(void)state;
	vstats_init(&f, path);
	put("epoch: 1\ntx_bytes: 500\n");
	read_fill(&f, &r);
	usleep(10000);
	put("epoch: 2\ntx_bytes: 90000000000\n");   /* larger, but a new epoch */
	read_fill(&f, &r);
	assert_true(f.rated);
	assert_true(f.rates.reset);
	assert_false(rec_has(&r, RM_EGPU_TX_BPS));
	usleep(10000);
	read_fill(&f, &r);
	assert_true(r.v[RM_EGPU_TX_BPS] == 0);
	/* a missing file: no fields at all, the error kept for status */
	unlink(path);
	read_fill(&f, &r);
	assert_false(f.read);
	assert_int_equal(f.error, -ENOENT);
	assert_int_equal(r.present, 0);
	/* back: a first reading again */
	put("epoch: 2\ntx_bytes: 90000000000\n");
	read_fill(&f, &r);
	assert_false(f.rated);
	assert_int_equal(f.error, 0);
	/* the GPU went away: the next reading only baselines */
	vstats_skip(&f);
	rec_init(&r, 1, "1");
	vstats_fill(&f, &r);
	assert_int_equal(r.present, 0);
	read_fill(&f, &r);
	assert_false(f.rated);
	/* a newer format is refused whole */
	put("format_version: 2\ntx_bytes: 1\n");
	read_fill(&f, &r);
	assert_false(f.read);
	assert_int_equal(f.error, -EPROTONOSUPPORT);
	assert_int_equal(r.present, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rates_and_aliases),
		cmocka_unit_test(test_reset_missing_skip),
	};
	return cmocka_run_group_tests_name("vstats", tests, setup, teardown);
}
