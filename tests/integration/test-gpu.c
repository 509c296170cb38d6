/*
 * GPUs end to end: a real rmond loading our fake libnvidia-ml.so (built
 * here from tests/fakenvml/fake-nvml.c), driven through its config file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct daemon_proc the_daemon;
static char fake_cfg[400];

#define ctl(out, outlen, err, errlen, ...) \
	harness_ctl(the_daemon.sock, out, outlen, err, errlen, __VA_ARGS__)

/* The fake re-reads its config when the file changes: replace it whole. */
static void fake_config(const char *text)
{
	assert_int_equal(harness_replace_file(fake_cfg, text), 0);
}

static const char *const two_gpus =
	"gpus 2\n"
	"gpu 0 name \"NVIDIA H100\" uuid GPU-1111 util 55 memutil 20 memused 1073741824 "
	"memtotal 85899345920 temp 61 power 300000 powerlimit 700000 sm 1980 mem 2619 "
	"gen 5 width 16 maxgen 5 maxwidth 16 tx 1000 rx 2000 replay 3 throttle 4\n"
	"gpu 1 name \"NVIDIA A100\" uuid GPU-2222 util 5 memutil 1 memused 1048576 "
	"memtotal 42949672960 temp 40 power notsupported powerlimit 400000\n";

static int start_daemon(void **state)
{
	char cfg[400];
	(void)state;
	harness_init(&the_daemon);
	if (harness_fake_nvml(&the_daemon, two_gpus, NULL, fake_cfg, sizeof fake_cfg, cfg,
	                      sizeof cfg) < 0)
		return -1;
	const char *extra[] = { "--config", cfg, "--memory", NULL };
	if (harness_start(&the_daemon, extra) < 0)
		return -1;
	usleep(300000);
	return 0;
}

static int stop_daemon(void **state)
{
	(void)state;
	int rc = harness_stop(&the_daemon);
	harness_cleanup(&the_daemon);
	unsetenv("FAKE_NVML_CONFIG");
	return rc == 0 ? 0 : -1;
}

static void test_values(void **state)
{
	static char out[1 << 18];
	char err[4096];
	(void)state;
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "get", "gpu:0.util_pct", NULL), 0);
	assert_int_equal(strtol(out, NULL, 10), 55);
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "get", "gpu:*.power_w", NULL), 0);
	assert_non_null(strstr(out, "gpu:0.power_w 300"));
	assert_non_null(strstr(out, "gpu:1.power_w -"));   /* NOT_SUPPORTED there only */
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "status", "--json", NULL), 0);
	assert_non_null(strstr(out, "\"nvml\":true"));
	assert_non_null(strstr(out, "\"label\":\"NVIDIA H100\""));
}

/* One GPU lost mid-run: the other goes on. */
static void test_lost_gpu(void **state)
{
	char out[8192], err[4096], cfg[2048];
	(void)state;
	snprintf(cfg, sizeof cfg, "%sgpu 1 lost\ngpu 0 util 77\n", two_gpus);
	fake_config(cfg);
	usleep(500000);
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "get", "gpu:*.util_pct", NULL), 0);
	assert_non_null(strstr(out, "gpu:0.util_pct 77"));
	assert_null(strstr(out, "gpu:1."));
	fake_config(two_gpus);
	usleep(500000);
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "get", "gpu:*.util_pct", NULL), 0);
	assert_non_null(strstr(out, "gpu:1.util_pct 5"));   /* back */
}

static unsigned long long json_u64(const char *json, const char *key)
{
	const char *p = strstr(json, key);
	return p ? strtoull(p + strlen(key), NULL, 10) : ~0ull;
}

/* Every NVML call stalls 2 s: not one host sample is late. */
static void test_stall_does_not_delay_host(void **state)
{
	static char out[1 << 18];
	char err[4096], cfg[2048];
	(void)state;
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "status", "--json", NULL), 0);
	unsigned long long missed0 = json_u64(out, "\"missed_ticks\":");
	unsigned long long late0 = json_u64(out, "\"late_ticks\":");
	snprintf(cfg, sizeof cfg, "%ssleep_ms 2000\n", two_gpus);
	fake_config(cfg);
	sleep(3);
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "status", "--json", NULL), 0);
	unsigned long long missed1 = json_u64(out, "\"missed_ticks\":");
	unsigned long long late1 = json_u64(out, "\"late_ticks\":");
	print_message("host sampler during a 2 s GPU stall: missed %llu -> %llu, late %llu -> %llu\n",
	              missed0, missed1, late0, late1);
	assert_int_equal(missed1, missed0);
	assert_int_equal(late1, late0);
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "query", "system.uptime_s",
	                     "--since", "2s", "--format", "csv", NULL), 0);
	int rows = -1;   /* the header */
	for (const char *p = out; (p = strchr(p, '\n')); p++)
		rows++;
	print_message("system records in the last 2 s: %d\n", rows);
	assert_true(rows >= 17);   /* 20 at 10 Hz */
	fake_config(two_gpus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_lost_gpu),
		cmocka_unit_test(test_stall_does_not_delay_host),
	};
	return cmocka_run_group_tests_name("gpu", tests, start_daemon, stop_daemon);
}
