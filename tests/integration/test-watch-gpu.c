/*
 * rmonctl watch --gpu / --egpu end to end: a real rmond with our fake NVML
 * (2 GPUs), then one reading the egpu fixture as its sysfs.  The host
 * sampler and the procs thread run at 1 s here, so samples 200 ms apart
 * can only come from the GPU thread waking the stream.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct daemon_proc the_daemon;
static char out[1 << 20], err[4096];

#define ctl(...) harness_ctl(the_daemon.sock, out, sizeof out, err, sizeof err, __VA_ARGS__)

static const char *const two_gpus =
	"gpus 2\n"
	"gpu 0 name \"NVIDIA H100\" uuid GPU-1111 util 55 memutil 20 memused 1073741824 "
	"memtotal 85899345920 temp 61 power 300000 powerlimit 700000 sm 1980 mem 2619 "
	"gen 5 width 16 maxgen 5 maxwidth 16 tx 1000 rx 2000 replay 3 throttle 4\n"
	"gpu 1 name \"NVIDIA A100\" uuid GPU-2222 util 5 memutil 1 memused 1048576 "
	"memtotal 42949672960 temp 40 power notsupported powerlimit 400000\n";

static int start_gpus(void **state)
{
	char cfg[400], yaml[400];
	(void)state;
	harness_init(&the_daemon);
	if (harness_fake_nvml(&the_daemon, two_gpus,
			      "sampling:\n  system: 1s\nprocs:\n  tracked_interval: 1s\n",
			      cfg, sizeof cfg, yaml, sizeof yaml) < 0)
		return -1;
	const char *extra[] = { "--config", yaml, "--memory", NULL };
	if (harness_start(&the_daemon, extra) < 0)
		return -1;
	usleep(300000);
	return 0;
}

static int stop(void **state)
{
	(void)state;
	int rc = harness_stop(&the_daemon);
	harness_cleanup(&the_daemon);
	unsetenv("FAKE_NVML_CONFIG");
	return rc == 0 ? 0 : -1;
}

/* The NDJSON lines of `out` whose "ev" is ev, in order: up to max. */
static int lines_of(const char *ev, const char **lines, int max)
{
	char tag[64];
	int n = 0;
	snprintf(tag, sizeof tag, "{\"ev\":\"%s\"", ev);
	for (const char *p = out; *p && n < max; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "") {
		assert_true(*p == '{');   /* every line one JSON object */
		if (strncmp(p, tag, strlen(tag)) == 0)
			lines[n++] = p;
	}
	return n;
}

/* Does the line (up to its newline) hold s? */
static bool line_has(const char *line, const char *s)
{
	const char *nl = strchr(line, '\n'), *hit = strstr(line, s);
	return hit && (!nl || hit < nl);
}

static unsigned long long ts_of(const char *line)
{
	const char *p = strstr(line, "\"ts\":");
	assert_non_null(p);
	return strtoull(p + 5, NULL, 10);
}

/* gpu 1 only, with the fake's values, as NDJSON; then the summary. */
static void test_one_gpu_json(void **state)
{
	const char *s[64];
	(void)state;
	assert_int_equal(ctl("watch", "--gpu", "1", "--json", "--duration", "1500ms", NULL), 0);
	assert_int_equal(lines_of("started", s, 64), 1);
	assert_true(line_has(s[0], "\"kind\":\"gpu\",\"devices\":[1]"));
	int n = lines_of("sample", s, 64);
	print_message("%d samples in 1.5 s at 1 s\n", n);
	assert_true(n >= 1 && n <= 3);
	for (int i = 0; i < n; i++) {
		assert_true(line_has(s[i], "\"kind\":\"gpu\""));
		assert_true(line_has(s[i], "\"key\":\"1\",\"label\":\"NVIDIA A100\",\"index\":1"));
		assert_true(line_has(s[i], "\"util_pct\":5"));
		assert_true(line_has(s[i], "\"temp_c\":40"));
		assert_true(line_has(s[i], "\"mem_total_bytes\":42949672960"));
		assert_true(line_has(s[i], "\"power_limit_w\":400"));
		assert_false(line_has(s[i], "\"power_w\""));   /* not supported there: absent */
		assert_false(line_has(s[i], "\"key\":\"0\""));
		assert_false(line_has(s[i], "H100"));
	}
	assert_int_equal(lines_of("summary", s, 64), 1);
	assert_true(line_has(s[0], "\"reason\":\"cancelled\""));
}

/* All GPUs every 200 ms: the GPU thread's ticks wake the stream (the host
 * ticks only once a second here). */
static void test_all_gpus_interval(void **state)
{
	const char *s[64];
	(void)state;
	assert_int_equal(ctl("watch", "--gpu", "all", "--interval", "200ms", "--duration", "1500ms",
			     "--json", NULL), 0);
	int n = lines_of("sample", s, 64);
	print_message("%d samples in 1.5 s at 200 ms\n", n);
	assert_true(n >= 6 && n <= 9);
	for (int i = 0; i < n; i++) {
		assert_true(line_has(s[i], "\"key\":\"0\",\"label\":\"NVIDIA H100\""));
		assert_true(line_has(s[i], "\"key\":\"1\",\"label\":\"NVIDIA A100\""));
		assert_true(line_has(s[i], "\"util_pct\":55"));
		assert_true(line_has(s[i], "\"pcie_tx_bps\":1024000"));   /* 1000 KB/s */
		assert_true(line_has(s[i], "\"pcie_rx_bps\":2048000"));
		if (i == 0)
			continue;
		unsigned long long dt = ts_of(s[i]) - ts_of(s[i - 1]);
		if (dt < 150000000ull || dt > 260000000ull)
			fail_msg("samples %d and %d are %llu ns apart, not ~200 ms", i - 1, i, dt);
	}
}

static void test_unknown_gpu(void **state)
{
	(void)state;
	assert_int_equal(ctl("watch", "--gpu", "7", "--json", "--duration", "1s", NULL), 4);
	print_message("stderr: %s", err);
	assert_non_null(strstr(err, "no GPU 7 (GPUs: 0, 1)"));
	assert_int_equal(ctl("watch", "--gpu", "0,7", NULL), 4);
}

static void test_usage(void **state)
{
	(void)state;
	assert_int_equal(ctl("watch", "--gpu", "0", "--pid", "1", NULL), 2);
	assert_non_null(strstr(err, "--pid and --gpu exclude each other"));
	assert_int_equal(ctl("watch", "--gpu", "x", NULL), 2);
	assert_int_equal(ctl("watch", "--gpu", "0", "--egpu", NULL), 2);
	assert_int_equal(ctl("watch", "--egpu", "--threads", NULL), 2);
	assert_int_equal(ctl("watch", NULL), 2);
}

/* ---- GPU links, against a copy of the egpu fixture ---- */

#define GPU_DIR "devices/pci0000:00/0000:00:1c.0/0000:03:00.0/0000:04:01.0/0000:05:00.0"
#define ROUTER_DIR "devices/pci0000:00/0000:00:1c.0/0000:03:00.0/0000:04:00.0/0000:06:00.0/" \
	"domain0/0-0/0-1"

static char sys_dir[300];

/* The eGPU (index 1, 05:00.0, behind router 0-1) with a vendor stats file,
 * the link thread at 100 ms. */
static int start_egpu(void **state)
{
	char cmd[1024], stats[300], yaml[300];
	(void)state;
	harness_init(&the_daemon);
	snprintf(sys_dir, sizeof sys_dir, "%s/sys", the_daemon.dir);
	snprintf(cmd, sizeof cmd, "cp -a '%s/tests/fixtures/linux/egpu/sys' '%s'",
		 getenv("RMON_SRCDIR") ? getenv("RMON_SRCDIR") : ".", sys_dir);
	snprintf(stats, sizeof stats, "%s/acme-stats", the_daemon.dir);
	snprintf(yaml, sizeof yaml, "%s/rmond.yaml", the_daemon.dir);
	FILE *f = fopen(yaml, "w");
	if (system(cmd) != 0 || !f ||
	    harness_replace_file(stats, "tx_bytes: 1000\nrx_bytes: 0\ndma_latency_ns: 850\nerrors: 0\n") < 0)
		return -1;
	fprintf(f, "gpu:\n  nvidia:\n    library: ''\n"
		   "egpu:\n  interval: 100ms\n  stats_files:\n    - path: '%s'\n      gpu: 05:00.0\n",
		stats);
	fclose(f);
	const char *extra[] = { "--config", yaml, "--memory", "--sysfs", sys_dir, NULL };
	return harness_start(&the_daemon, extra) < 0 ? -1 : 0;
}

/* The link thread's first tick comes after its interval. */
static bool egpu_records(void)
{
	for (int i = 0; i < 40; i++) {
		if (ctl("get", "egpu:*.connected", NULL) == 0)
			return true;
		usleep(100000);
	}
	return false;
}

/* egpu 1 only: its records with the vendor's figures; then unplugged
 * mid-watch: the link-down and disconnected events, as NDJSON. */
static void test_egpu_json_and_events(void **state)
{
	const char *s[256];
	char cmd[2000];
	(void)state;
	if (!egpu_records()) {
		print_message("rmond wrote no egpu record from the egpu fixture in 4 s: the GPU link "
			      "thread (daemon/egpu.c) is not started by rmond in this tree\n");
		skip();
	}
	snprintf(cmd, sizeof cmd, "'%s/rmonctl' --socket '%s' watch --egpu 1 --interval 200ms "
		 "--duration 2500ms --json", harness_build_dir(), the_daemon.sock);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	usleep(1200000);
	snprintf(cmd, sizeof cmd, "rm -rf '%s/" GPU_DIR "' '%s/" ROUTER_DIR "' "
		 "'%s/bus/pci/devices/0000:05:00.0' '%s/bus/thunderbolt/devices/0-1'",
		 sys_dir, sys_dir, sys_dir, sys_dir);
	assert_int_equal(system(cmd), 0);
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	assert_int_equal(lines_of("started", s, 256), 1);
	assert_true(line_has(s[0], "\"kind\":\"egpu\",\"devices\":[1]"));
	int ns = lines_of("sample", s, 256);
	print_message("%d samples in 2.5 s at 200 ms\n", ns);
	assert_true(ns >= 8);
	assert_true(line_has(s[0], "\"key\":\"1\",\"label\":\"Razer Core X Chroma\""));
	assert_true(line_has(s[0], "\"behind_tb\":1"));
	assert_true(line_has(s[0], "\"dma_latency_ns\":850"));
	assert_false(line_has(s[0], "\"key\":\"0\""));
	assert_true(line_has(s[ns - 1], "\"devices\":[]"));   /* gone: no record */
	/* in the order they happened (a "degraded" may come first: the fixture's
	 * link runs below its maximum) */
	int ne = lines_of("event", s, 256), down = -1, gone = -1;
	for (int i = 0; i < ne; i++) {
		assert_true(line_has(s[i], "\"index\":1}"));   /* only about egpu 1 */
		if (line_has(s[i], "\"label\":\"link down: Razer Core X Chroma (0-1)\",\"code\":2,"))
			down = i;
		if (line_has(s[i], "\"label\":\"egpu 1 disconnected: Razer Core X Chroma\",\"code\":3,"))
			gone = i;
	}
	assert_true(down >= 0 && gone > down);
	assert_int_equal(ctl("watch", "--egpu", "31", "--duration", "1s", NULL), 4);
	assert_non_null(strstr(err, "no eGPU link for GPU 31"));
}

int main(void)
{
	const struct CMUnitTest gpu_tests[] = {
		cmocka_unit_test(test_one_gpu_json),
		cmocka_unit_test(test_all_gpus_interval),
		cmocka_unit_test(test_unknown_gpu),
		cmocka_unit_test(test_usage),
	};
	const struct CMUnitTest egpu_tests[] = {
		cmocka_unit_test(test_egpu_json_and_events),
	};
	int rc = cmocka_run_group_tests_name("watch-gpu", gpu_tests, start_gpus, stop);
	return rc | cmocka_run_group_tests_name("watch-egpu", egpu_tests, start_egpu, stop);
}
