/*
 * Who is using the GPU, end to end: a real rmond loading our fake
 * libnvidia-ml.so (built here from tests/fakenvml/fake-nvml.c), whose
 * process list names a live process the test started (tests/helpers/
 * spinner) with GPU memory; the real rmonctl must show that memory in
 * `get`, `top`, `watch` and `status`, drop it when the process frees it,
 * and `run` must report the peak of a command that allocates some.
 *
 * The DRM fdinfo side runs a second rmond on the fixture tree
 * tests/fixtures/linux/fdinfo.
 *
 * The NVML process lists are read by the GPU thread once a second
 * (daemon/gpu.c calls gpuprocs_refresh_nvml), which also counts each
 * device's processes into its gpu record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static struct daemon_proc the_daemon;
static char fake_cfg[400];
static pid_t spin = -1;

#define ctl(out, outlen, err, errlen, ...) \
	harness_ctl(the_daemon.sock, out, outlen, err, errlen, __VA_ARGS__)

#define GPU0 "gpus 1\ngpu 0 name \"NVIDIA T4\" uuid GPU-3333 util 30 memutil 10 " \
	"memused 2147483648 memtotal 16106127360 temp 50\n"

/* The fake re-reads its config when the file is replaced. */
static void fake_config(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fake_config(const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	assert_int_equal(harness_replace_file(fake_cfg, text), 0);
}

static int start_daemon(void **state)
{
	char cfg[400], text[512];
	(void)state;
	harness_init(&the_daemon);
	const char *argv[] = { "spinner", "1", "0", "120", NULL };
	spin = harness_spawn_helper(argv);
	if (spin <= 0)
		return -1;
	snprintf(text, sizeof text, GPU0 "proc 0 %d 1073741824\n", (int)spin);
	if (harness_fake_nvml(&the_daemon, text, NULL, fake_cfg, sizeof fake_cfg, cfg,
	                      sizeof cfg) < 0)
		return -1;
	const char *extra[] = { "--config", cfg, "--memory", NULL };
	return harness_start(&the_daemon, extra);
}

static int stop_daemon(void **state)
{
	(void)state;
	if (spin > 0) {
		kill(spin, SIGKILL);
		waitpid(spin, NULL, 0);
	}
	int rc = harness_stop(&the_daemon);
	harness_cleanup(&the_daemon);
	unsetenv("FAKE_NVML_CONFIG");
	return rc == 0 ? 0 : -1;
}

/* `get proc:PID.gpu_mem_bytes` until it prints want (or "-": none), 5 s at most. */
static bool wait_gpu_mem(pid_t pid, const char *want)
{
	char sel[64], out[256], err[256];
	snprintf(sel, sizeof sel, "proc:%d.gpu_mem_bytes", (int)pid);
	for (int i = 0; i < 50; i++) {
		int rc = ctl(out, sizeof out, err, sizeof err, "get", sel, NULL);
		out[strcspn(out, "\n")] = '\0';
		if (strcmp(want, "-") == 0 ? rc != 0 || strcmp(out, "-") == 0 || !out[0]
		                           : rc == 0 && strcmp(out, want) == 0)
			return true;
		usleep(100000);
	}
	print_message("get %s: rc, last output '%s' / '%s', want %s\n", sel, out, err, want);
	return false;
}

static void test_get_top_status(void **state)
{
	static char out[1 << 18];
	char err[4096], want[64];
	(void)state;
	fake_config(GPU0 "proc 0 %d 1073741824\n", (int)spin);
	assert_true(wait_gpu_mem(spin, "1073741824"));
	/* the gpu record counts the processes of its device */
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "get", "gpu:0.processes", NULL), 0);
	assert_int_equal(strtol(out, NULL, 10), 1);

	/* top: GPU memory first with --sort gpu, in the JSON and as a column */
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "top", "--sort", "gpu", "-n", "3",
	                     "--json", NULL), 0);
	snprintf(want, sizeof want, "\"procs\":[{\"ts\":");
	assert_non_null(strstr(out, want));
	const char *first = strstr(out, "\"procs\":[{");
	const char *second = strstr(first + 10, "},{");
	snprintf(want, sizeof want, "\"pid\":%d,", (int)spin);
	const char *p = strstr(first, want);
	assert_true(p && (!second || p < second));   /* the first row */
	assert_non_null(strstr(first, "\"gpu_mem_bytes\":1073741824"));
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "top", "--sort", "gpu", "-n", "3",
	                     NULL), 0);
	assert_non_null(strstr(out, "GPUMEM"));
	assert_non_null(strstr(out, "1.00 GiB"));

	/* status: the GPU's top processes, with pid and comm */
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "status", "--json", NULL), 0);
	snprintf(want, sizeof want, "\"pid\":%d,\"comm\":\"spinner\"", (int)spin);
	assert_non_null(strstr(out, "\"gpu_processes\":[{\"gpu\":0,"));
	assert_non_null(strstr(out, want));
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "status", NULL), 0);
	assert_non_null(strstr(out, "GPU process"));
	assert_non_null(strstr(out, "spinner"));

	/* the process frees its GPU memory: gone at the next NVML refresh */
	fake_config(GPU0);
	assert_true(wait_gpu_mem(spin, "-"));
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "top", "-n", "1000", NULL), 0);
	assert_null(strstr(out, "GPUMEM"));   /* no process holds any: no column */
}

static void test_watch(void **state)
{
	static char out[1 << 18];
	char err[4096], pid[32];
	(void)state;
	fake_config(GPU0 "proc 0 %d 268435456\n", (int)spin);
	assert_true(wait_gpu_mem(spin, "268435456"));
	snprintf(pid, sizeof pid, "%d", (int)spin);
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "watch", "--pid", pid, "--json",
	                     "--interval", "500ms", "--duration", "1500ms", NULL), 0);
	/* each sample's process record and summed total, and the peak at the end */
	assert_non_null(strstr(out, "\"gpu_mem_bytes\":268435456"));
	assert_non_null(strstr(out, "\"total\":{"));
	const char *peak = strstr(out, "\"peak\":{");
	assert_non_null(peak);
	assert_non_null(strstr(peak, "\"gpu_mem_bytes\":268435456"));
	fake_config(GPU0);
}

/* A command that takes 512 MiB of GPU memory while it runs (it names
 * itself in the fake's process list) and 0 before. */
static void test_run_peak(void **state)
{
	static char out[1 << 18];
	char err[4096], script[2048];
	(void)state;
	fake_config(GPU0);
	snprintf(script, sizeof script,
	         "printf '" GPU0 "proc 0 %%s 536870912\\n' $$ > '%s.tmp' && mv '%s.tmp' '%s' && "
	         "sleep 3", fake_cfg, fake_cfg, fake_cfg);
	/* GPU0 holds a quoted name: fine inside printf's single quotes */
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "run", "--json", "--", "sh", "-c",
	                     script, NULL), 0);
	assert_non_null(strstr(out, "\"peak_gpu_mem_bytes\":536870912"));
	fake_config(GPU0);
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "run", "--", "sh", "-c", script,
	                     NULL), 0);
	/* the summary goes to stderr: stdout is the command's */
	assert_non_null(strstr(err, "peak memory 512 MiB"));
	assert_non_null(strstr(err, "peak GPU"));   /* the category table's column */
	fake_config(GPU0);
}

/* Without GPU processes nothing about GPUs is made up. */
static void test_no_gpu_process(void **state)
{
	static char out[1 << 18];
	char err[4096];
	(void)state;
	fake_config(GPU0);
	usleep(1500000);   /* past a refresh */
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "top", "--json", "--sort", "gpu",
	                     NULL), 0);
	assert_null(strstr(out, "gpu_mem_bytes"));
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "status", "--json", NULL), 0);
	assert_non_null(strstr(out, "\"gpu_processes\":[]"));
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "run", "--json", "--", "true", NULL), 0);
	assert_null(strstr(out, "gpu_mem"));
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "top", "--sort", "vram", NULL), 2);
}

/* DRM fdinfo end to end, no NVML needed: a second rmond on the fixture tree
 * tests/fixtures/linux/fdinfo (its README: an amdgpu process, an i915
 * one, ...), whose processes it tracks (the top 5 by memory). */
static void test_drm_fixture(void **state)
{
	static char out[1 << 18];
	char err[4096], fx[600], procfs[700], sysfs[700];
	struct daemon_proc d;
	(void)state;
	const char *src = getenv("RMON_SRCDIR");
	snprintf(fx, sizeof fx, "%s/tests/fixtures/linux/fdinfo", src && *src ? src : ".");
	snprintf(procfs, sizeof procfs, "%s/proc", fx);
	snprintf(sysfs, sizeof sysfs, "%s/sys", fx);
	harness_init(&d);
	const char *extra[] = { "--memory", "--procfs", procfs, "--sysfs", sysfs, NULL };
	assert_int_equal(harness_start(&d, extra), 0);
	int rc = -1;
	for (int i = 0; i < 50 && rc != 0; i++) {   /* the first reading comes within 2 s */
		usleep(100000);
		rc = harness_ctl(d.sock, out, sizeof out, err, sizeof err, "get",
		                 "proc:1000.gpu_mem_bytes", NULL);
		if (rc == 0 && strncmp(out, "346030080", 9) != 0)
			rc = -1;
	}
	assert_int_equal(rc, 0);   /* clients 17 (on two fds) and 18 of pid 1000 */
	usleep(1200000);           /* a second reading: busy shares */
	assert_int_equal(harness_ctl(d.sock, out, sizeof out, err, sizeof err, "top", "--sort",
	                             "gpu", "--json", NULL), 0);
	const char *first = strstr(out, "\"procs\":[{");
	assert_non_null(first);
	assert_non_null(strstr(first, "\"pid\":1000,"));
	assert_true(strstr(first, "\"pid\":1000,") < strstr(first, "\"pid\":3000,"));
	assert_non_null(strstr(out, "\"gpu_mem_bytes\":346030080"));
	assert_non_null(strstr(out, "\"gpu_busy_pct\":0"));   /* the files do not change */
	assert_non_null(strstr(out, "\"gpu_mem_bytes\":6189056"));
	assert_int_equal(harness_ctl(d.sock, out, sizeof out, err, sizeof err, "status", "--json",
	                             NULL), 0);
	assert_non_null(strstr(out, "{\"pci\":\"0000:03:00.0\",\"driver\":\"amdgpu\","
	                            "\"source\":\"drm\",\"pid\":1000,\"comm\":\"game\""));
	assert_non_null(strstr(out, "\"pci\":\"0000:00:02.0\",\"driver\":\"i915\""));
	assert_int_equal(harness_stop(&d), 0);
	harness_cleanup(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_top_status),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_run_peak),
		cmocka_unit_test(test_no_gpu_process),
		cmocka_unit_test(test_drm_fixture),
	};
	return cmocka_run_group_tests(tests, start_daemon, stop_daemon);
}
