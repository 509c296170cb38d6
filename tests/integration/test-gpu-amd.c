/*
 * AMD GPUs end to end: a real rmond reading a temporary copy of the
 * amdgpu fixture (tests/fixtures/linux/amdgpu) as its sysfs, changed under
 * it while it runs; then the same cards beside our fake NVML (see
 * test-gpu.c), NVIDIA first.
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

#define DEV "sys/devices/pci0000:00/0000:00:01.1/0000:01:00.0/0000:02:00.0/0000:03:00.0"
#define APU "sys/devices/pci0000:00/0000:00:08.1/0000:c1:00.0"

static struct daemon_proc the_daemon;
static char out[1 << 18];

#define ctl(...) harness_ctl(the_daemon.sock, out, sizeof out, err, sizeof err, __VA_ARGS__, NULL)

static const char *srcdir(void)
{
	return getenv("RMON_SRCDIR") ? getenv("RMON_SRCDIR") : ".";
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Rewrite a file of the copy in place (the daemon keeps it open). */
static void put(const char *rel, const char *text)
{
	char p[600];
	snprintf(p, sizeof p, "%s/%s", the_daemon.dir, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Poll `rmonctl args...` until its output holds want (or lacks it, when
 * absent is set): the GPU thread samples every 100 ms and rescans for
 * cards once a second.  10 s at most (valgrind is slow). */
static bool until(const char *want, bool absent, const char *const *args)
{
	char err[4096];
	for (int i = 0; i < 200; i++) {
		const char *a[8] = { 0 };
		for (int k = 0; k < 7 && args[k]; k++)
			a[k] = args[k];
		if (ctl(a[0], a[1], a[2], a[3], a[4], a[5], a[6]) == 0 &&
		    (strstr(out, want) != NULL) != absent)
			return true;
		usleep(50000);
	}
	print_message("waited for %s'%s', last output:\n%s\n", absent ? "no " : "", want, out);
	return false;
}
#define UNTIL(want, ...) until(want, false, (const char *const[]){ __VA_ARGS__, NULL })
#define UNTIL_NOT(want, ...) until(want, true, (const char *const[]){ __VA_ARGS__, NULL })

/* A temp dir holding a copy of the fixture. */
static int prepare(void)
{
	harness_init(&the_daemon);
	return sh("cp -a '%s/tests/fixtures/linux/amdgpu/sys' '%s/sys'", srcdir(), the_daemon.dir);
}

/* rmond on that copy, with the config file yaml. */
static int launch(const char *yaml)
{
	char sys[400];
	snprintf(sys, sizeof sys, "%s/sys", the_daemon.dir);
	const char *extra[] = { "--config", yaml, "--memory", "--sysfs", sys, NULL };
	return harness_start(&the_daemon, extra);
}

/* No NVML, whatever this machine has: only the fixture's cards. */
static int start_amd_only(void **state)
{
	char yaml[400];
	(void)state;
	if (prepare() != 0)
		return -1;
	snprintf(yaml, sizeof yaml, "%s/rmond.yaml", the_daemon.dir);
	return harness_replace_file(yaml, "gpu:\n  nvidia:\n    library: ''\n") == 0 ? launch(yaml) : -1;
}

static int stop(void **state)
{
	(void)state;
	int rc = harness_stop(&the_daemon);
	harness_cleanup(&the_daemon);
	unsetenv("FAKE_NVML_CONFIG");
	return rc == 0 ? 0 : -1;
}

static double get_num(const char *sel)
{
	char err[4096];
	assert_int_equal(ctl("get", sel), 0);
	char *end;
	double v = strtod(out, &end);
	if (end == out)
		fail_msg("%s: no number in '%s'", sel, out);
	return v;
}

/* Every field against the fixture's files. */
static void test_values(void **state)
{
	char err[4096];
	(void)state;
	assert_true(UNTIL("gpu:1.index", "get", "gpu:*.index"));
	assert_int_equal((int)get_num("gpu:0.util_pct"), 37);
	assert_int_equal((int)get_num("gpu:0.mem_util_pct"), 12);
	assert_true(get_num("gpu:0.mem_used_bytes") == 6442450944.0);
	assert_true(get_num("gpu:0.mem_total_bytes") == 51522830336.0);
	assert_true(get_num("gpu:0.gtt_used_bytes") == 125829120.0);
	assert_true(get_num("gpu:0.gtt_total_bytes") == 33336713216.0);
	assert_true(get_num("gpu:0.temp_c") == 52.0);
	assert_true(get_num("gpu:0.power_w") == 212.0);
	assert_true(get_num("gpu:0.power_limit_w") == 295.0);
	assert_true(get_num("gpu:0.sm_clock_mhz") == 2215.0);
	assert_true(get_num("gpu:0.mem_clock_mhz") == 1249.0);
	assert_true(get_num("gpu:0.pcie_gen") == 1.0);       /* the switch's slot link */
	assert_true(get_num("gpu:0.pcie_gen_max") == 4.0);
	assert_true(get_num("gpu:0.pcie_width") == 16.0);
	assert_int_equal((int)get_num("gpu:1.util_pct"), 4);
	assert_true(get_num("gpu:1.temp_c") == 45.0);
	/* the APU's hwmon has no power: absent, not 0 */
	assert_int_equal(ctl("get", "gpu:1.power_w", "gpu:1.mem_util_pct"), 0);
	assert_non_null(strstr(out, "gpu:1.power_w -"));
	assert_non_null(strstr(out, "gpu:1.mem_util_pct -"));
	assert_int_equal(ctl("status", "--json"), 0);
	assert_non_null(strstr(out, "\"amdgpu\":true"));
	assert_non_null(strstr(out, "\"nvml\":false"));
	assert_non_null(strstr(out, "\"label\":\"AMD Radeon PRO W7900\""));
	assert_non_null(strstr(out, "\"driver\":\"amdgpu\""));
	assert_non_null(strstr(out, "\"pci\":\"0000:c1:00.0\""));
	assert_non_null(strstr(out, "\"uuid\":\"5c2e4a1b3f0d9e87\",\"state\":\"ok\",\"temp_crit_c\":100"));
	assert_int_equal(ctl("status"), 0);
	assert_non_null(strstr(out, "amdgpu AMD Radeon PRO W7900"));
	assert_non_null(strstr(out, "GTT"));
	assert_non_null(strstr(out, "120 MiB / 31.0 GiB"));
}

static void test_new_value(void **state)
{
	(void)state;
	put(DEV "/gpu_busy_percent", "88\n");
	put(DEV "/pp_dpm_sclk", "0: 500Mhz *\n1: 2215Mhz \n2: 2495Mhz \n");
	assert_true(UNTIL("gpu:0.util_pct 88", "get", "gpu:*.util_pct"));
	assert_true(UNTIL("gpu:0.sm_clock_mhz 500", "get", "gpu:*.sm_clock_mhz"));
}

/* A runtime-suspended card is left alone: no reading until it wakes. */
static void test_sleeping(void **state)
{
	(void)state;
	put(APU "/power/runtime_status", "suspended\n");
	put(APU "/gpu_busy_percent", "66\n");
	assert_true(UNTIL("\"state\":\"sleeping\"", "status", "--json"));
	assert_true(UNTIL("gpu:1.util_pct -", "get", "gpu:*.util_pct"));
	assert_true(UNTIL("sleeping", "status"));
	put(APU "/power/runtime_status", "active\n");
	assert_true(UNTIL("gpu:1.util_pct 66", "get", "gpu:*.util_pct"));
}

/* The card's device directory goes away: logged, the other card goes on,
 * the daemon too; a fresh copy put back is sampled again. */
static void test_gone_and_back(void **state)
{
	char err[4096];
	(void)state;
	assert_int_equal(sh("rm -rf '%s/" DEV "'", the_daemon.dir), 0);
	assert_true(UNTIL_NOT("gpu:0.", "get", "gpu:*.util_pct"));
	assert_non_null(strstr(out, "gpu:1.util_pct"));
	assert_true(UNTIL("\"state\":\"gone\"", "status", "--json"));
	assert_true(harness_log_has(&the_daemon, "gpu 0: gone"));
	assert_int_equal(sh("cp -a '%s/tests/fixtures/linux/amdgpu/" DEV "' '%s/" DEV "'", srcdir(),
	                    the_daemon.dir), 0);
	assert_true(UNTIL("gpu:0.util_pct 37", "get", "gpu:*.util_pct"));
	assert_true(harness_log_has(&the_daemon, "gpu 0: back"));
	assert_int_equal(ctl("status", "--json"), 0);
	assert_null(strstr(out, "\"state\":\"gone\""));
	assert_true(get_num("gpu:0.pcie_gen_max") == 4.0);   /* its once-a-second reads too */
}

/* ---- with the fake NVML ------------------------------------------------ */

static int start_with_nvml(void **state)
{
	char cfg[400], yaml[400];
	(void)state;
	if (prepare() != 0 ||
	    harness_fake_nvml(&the_daemon, "gpus 1\ngpu 0 name \"NVIDIA H100\" util 55 "
	                      "memused 1073741824 memtotal 85899345920 temp 61 power 300000\n",
	                      NULL, cfg, sizeof cfg, yaml, sizeof yaml) != 0)
		return -1;
	return launch(yaml);
}

/* NVIDIA first (gpu:0), then the AMD cards in card order. */
static void test_nvml_then_amdgpu(void **state)
{
	char err[4096];
	(void)state;
	assert_true(UNTIL("gpu:2.index", "get", "gpu:*.index"));
	assert_int_equal((int)get_num("gpu:0.util_pct"), 55);
	assert_int_equal((int)get_num("gpu:1.util_pct"), 37);
	assert_int_equal((int)get_num("gpu:2.util_pct"), 4);
	assert_int_equal(ctl("get", "gpu:*.gtt_used_bytes"), 0);
	assert_non_null(strstr(out, "gpu:0.gtt_used_bytes -"));   /* NVML has no GTT */
	assert_int_equal(ctl("status", "--json"), 0);
	assert_non_null(strstr(out, "\"nvml\":true"));
	assert_non_null(strstr(out, "\"amdgpu\":true"));
	assert_non_null(strstr(out, "{\"index\":0,\"driver\":\"nvml\",\"vendor\":\"NVIDIA\""));
	assert_non_null(strstr(out, "{\"index\":1,\"driver\":\"amdgpu\",\"vendor\":\"AMD\""));
	assert_non_null(strstr(out, "\"label\":\"NVIDIA H100\""));
	assert_int_equal(ctl("status"), 0);
	assert_non_null(strstr(out, "0   nvml   NVIDIA H100"));
	assert_non_null(strstr(out, "1   amdgpu AMD Radeon PRO W7900"));
}

/* A runtime-suspended NVIDIA GPU (the fake's gpu 0 is at 0000:10:00.0)
 * is not asked, its record has no readings and status says sleeping; awake
 * again, it is sampled again. */
static void test_nvml_sleeping(void **state)
{
	char err[4096];
	(void)state;
	assert_true(UNTIL("gpu:0.util_pct 55", "get", "gpu:*.util_pct"));
	assert_int_equal(sh("mkdir -p '%s/sys/bus/pci/devices/0000:10:00.0/power'", the_daemon.dir), 0);
	put("sys/bus/pci/devices/0000:10:00.0/power/runtime_status", "suspended\n");
	assert_true(UNTIL("gpu:0.util_pct -", "get", "gpu:*.util_pct"));
	assert_int_equal(ctl("status", "--json"), 0);
	assert_non_null(strstr(out, "{\"index\":0,\"driver\":\"nvml\""));
	assert_true(UNTIL("\"state\":\"sleeping\"", "status", "--json"));
	put("sys/bus/pci/devices/0000:10:00.0/power/runtime_status", "active\n");
	assert_true(UNTIL("gpu:0.util_pct 55", "get", "gpu:*.util_pct"));
}

int main(void)
{
	const struct CMUnitTest amd[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_new_value),
		cmocka_unit_test(test_sleeping),
		cmocka_unit_test(test_gone_and_back),
	};
	const struct CMUnitTest both[] = {
		cmocka_unit_test(test_nvml_then_amdgpu),
		cmocka_unit_test(test_nvml_sleeping),
	};
	int failed = cmocka_run_group_tests_name("gpu-amd", amd, start_amd_only, stop);
	failed += cmocka_run_group_tests_name("gpu-nvml-amd", both, start_with_nvml, stop);
	return failed;
}
