/*
 * NVML binding against our own fake libnvidia-ml.so (tests/fakenvml/), which
 * this test builds at start-up with cc (the test skips when cc is absent).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "nvml.h"

static char tmpdir[256];
static char lib_path[512];
static char lib_nopower_path[512];
static char cfg_path[512];
static int built;
static char build_msg[1024];

static int build_so(const char *src, const char *out, const char *extra)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "cc -shared -fPIC %s -o '%s' '%s' 2>&1", extra, out, src);
	return system(cmd);
}

static int group_setup(void **state)
{
	const char *t = getenv("TMPDIR");
	const char *srcdir = getenv("RMON_SRCDIR");
	char src[512];
	(void)state;

	if (!srcdir || !*srcdir)
		srcdir = ".";
	snprintf(tmpdir, sizeof tmpdir, "%s/rmon-nvml-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		snprintf(build_msg, sizeof build_msg, "mkdtemp %s failed", tmpdir);
		return 0;
	}
	snprintf(cfg_path, sizeof cfg_path, "%s/fake.conf", tmpdir);
	snprintf(lib_path, sizeof lib_path, "%s/libnvidia-ml-fake.so", tmpdir);
	snprintf(lib_nopower_path, sizeof lib_nopower_path, "%s/libnvidia-ml-fake-nopower.so",
		 tmpdir);
	snprintf(src, sizeof src, "%s/tests/fakenvml/fake-nvml.c", srcdir);
	if (access(src, R_OK) != 0) {
		snprintf(build_msg, sizeof build_msg, "%s not found (set RMON_SRCDIR)", src);
		return 0;
	}
	if (system("command -v cc >/dev/null 2>&1") != 0) {
		snprintf(build_msg, sizeof build_msg, "no cc to build the fake NVML library");
		return 0;
	}
	if (build_so(src, lib_path, "") != 0 ||
	    build_so(src, lib_nopower_path, "-DFAKE_NO_POWER") != 0) {
		snprintf(build_msg, sizeof build_msg, "building the fake NVML library failed");
		return 0;
	}
	setenv("FAKE_NVML_CONFIG", cfg_path, 1);
	built = 1;
	return 0;
}

static int group_teardown(void **state)
{
	char p[600];
	(void)state;
	unlink(lib_path);
	unlink(lib_nopower_path);
	unlink(cfg_path);
	snprintf(p, sizeof p, "%s/fake.conf.tmp", tmpdir);
	unlink(p);
	rmdir(tmpdir);
	return 0;
}

#define NEED_FAKE() do { if (!built) { print_message("skip: %s\n", build_msg); skip(); } } while (0)

/* Write the config atomically (new inode → the fake re-reads it). */
static void write_cfg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void write_cfg(const char *fmt, ...)
{
	char tmp[600];
	va_list ap;
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp", cfg_path);
	f = fopen(tmp, "w");
	assert_non_null(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, cfg_path), 0);
}

static struct nvml *open_ok(const char *path)
{
	struct nvml *n = NULL;
	char err[256];
	int rc = nvml_open(path, &n, err, sizeof err);
	if (rc != 0)
		fail_msg("nvml_open(%s) = %d: %s", path, rc, err);
	assert_non_null(n);
	return n;
}

#define GPU0 "gpu 0 name \"NVIDIA H100\" uuid GPU-1111 busid 00000000:3B:00.0 util 55 memutil 20 " \
	"memused 1073741824 memtotal 85899345920 temp 61 power 300000 powerlimit 700000 " \
	"sm 1980 mem 2619 gen 5 width 16 maxgen 5 maxwidth 16 tx 1000 rx 2000 replay 3 throttle 4\n"
#define GPU1 "gpu 1 name \"NVIDIA L4\" uuid GPU-2222 busid 00000000:5E:00.0 util 7 memutil 1 " \
	"memused 1048576 memtotal 24000000000 temp 40 power 20000 powerlimit 72000 " \
	"sm 210 mem 405 gen 1 width 16 maxgen 4 maxwidth 16 tx 5 rx 6 replay 0 throttle 1\n"

static void check_gpu0(const struct nvml_dev_sample *s)
{
	assert_string_equal(s->name, "NVIDIA H100");
	assert_string_equal(s->uuid, "GPU-1111");
	assert_string_equal(s->pci_bus_id, "00000000:3B:00.0");
	assert_int_equal(s->gpu_util_pct, 55);
	assert_int_equal(s->mem_util_pct, 20);
	assert_true(s->mem_used_bytes == 1073741824ull);
	assert_true(s->mem_total_bytes == 85899345920ull);
	assert_int_equal(s->temp_c, 61);
	assert_true(s->power_w > 299.99 && s->power_w < 300.01);
	assert_true(s->power_limit_w > 699.99 && s->power_limit_w < 700.01);
	assert_int_equal(s->sm_clock_mhz, 1980);
	assert_int_equal(s->mem_clock_mhz, 2619);
	assert_int_equal(s->link_gen, 5);
	assert_int_equal(s->link_width, 16);
	assert_int_equal(s->link_gen_max, 5);
	assert_int_equal(s->link_width_max, 16);
	assert_int_equal(s->pcie_replay, 3);
	assert_true(s->throttle_reasons == 4);
	assert_int_equal(s->errors, 0);
}

#define ALL_BUT_TPUT (NVML_HAS_NAME | NVML_HAS_UUID | NVML_HAS_BUSID | NVML_HAS_UTIL | \
	NVML_HAS_MEM | NVML_HAS_TEMP | NVML_HAS_POWER | NVML_HAS_POWER_LIMIT | \
	NVML_HAS_SM_CLOCK | NVML_HAS_MEM_CLOCK | NVML_HAS_LINK_GEN | NVML_HAS_LINK_WIDTH | \
	NVML_HAS_LINK_GEN_MAX | NVML_HAS_LINK_WIDTH_MAX | NVML_HAS_PCIE_REPLAY | \
	NVML_HAS_THROTTLE)
#define ALL (ALL_BUT_TPUT | NVML_HAS_PCIE_TX | NVML_HAS_PCIE_RX)

static void test_two_gpus_all_metrics(void **state)
{
	struct nvml *n;
	struct nvml_dev_sample s;
	(void)state;
	NEED_FAKE();
	write_cfg("gpus 2\n" GPU0 GPU1);
	n = open_ok(lib_path);
	assert_int_equal(nvml_count(n), 2);
	assert_string_equal(nvml_driver_version(n), "550.54.14");
	assert_int_equal(nvml_proc_stride(n), 24);

	assert_int_equal(nvml_sample(n, 0, NVML_SAMPLE_PCIE_THROUGHPUT, &s), 0);
	assert_int_equal(s.present, ALL);
	check_gpu0(&s);
	assert_int_equal(s.pcie_tx_kbps, 1000);
	assert_int_equal(s.pcie_rx_kbps, 2000);

	/* without the flag the slow throughput counters are not read */
	assert_int_equal(nvml_sample(n, 0, 0, &s), 0);
	assert_int_equal(s.present, ALL_BUT_TPUT);
	assert_int_equal(s.pcie_tx_kbps, 0);

	assert_int_equal(nvml_sample(n, 1, NVML_SAMPLE_PCIE_THROUGHPUT, &s), 0);
	assert_int_equal(s.present, ALL);
	assert_string_equal(s.name, "NVIDIA L4");
	assert_string_equal(s.uuid, "GPU-2222");
	assert_int_equal(s.link_gen, 1);
	assert_int_equal(s.link_gen_max, 4);
	assert_true(s.power_w > 19.99 && s.power_w < 20.01);
	assert_int_equal(s.pcie_rx_kbps, 6);

	assert_int_equal(nvml_sample(n, 2, 0, &s), -EINVAL);

	/* values change mid-run; static strings are read once per handle */
	write_cfg("gpus 2\n" GPU0 GPU1 "gpu 0 util 99 name \"Renamed\"\n");
	assert_int_equal(nvml_sample(n, 0, 0, &s), 0);
	assert_int_equal(s.gpu_util_pct, 99);
	assert_string_equal(s.name, "NVIDIA H100");
	nvml_close(n);
}

static void test_power_not_supported_one_gpu(void **state)
{
	struct nvml *n;
	struct nvml_dev_sample s;
	(void)state;
	NEED_FAKE();
	write_cfg("gpus 2\n" GPU0 GPU1 "gpu 1 power notsupported temp error\n");
	n = open_ok(lib_path);
	assert_int_equal(nvml_sample(n, 1, 0, &s), 0);
	assert_false(s.present & NVML_HAS_POWER);
	assert_false(s.present & NVML_HAS_TEMP);
	assert_true(s.present & NVML_HAS_POWER_LIMIT);
	assert_true(s.present & NVML_HAS_UTIL);
	assert_int_equal(s.gpu_util_pct, 7);
	assert_int_equal(s.errors, 1);              /* temp: unexpected error, counted */
	assert_int_equal(nvml_error_count(n, 1), 1);
	assert_true(s.power_w == 0.0);

	assert_int_equal(nvml_sample(n, 0, 0, &s), 0);
	assert_int_equal(s.present, ALL_BUT_TPUT);
	check_gpu0(&s);
	assert_int_equal(nvml_error_count(n, 0), 0);

	/* NOT_SUPPORTED is not asked again; a transient error is */
	write_cfg("gpus 2\n" GPU0 GPU1);
	assert_int_equal(nvml_sample(n, 1, 0, &s), 0);
	assert_false(s.present & NVML_HAS_POWER);
	assert_true(s.present & NVML_HAS_TEMP);
	nvml_close(n);
}

static void test_gpu_lost_midrun(void **state)
{
	struct nvml *n;
	struct nvml_dev_sample s;
	struct nvml_proc p[4];
	(void)state;
	NEED_FAKE();
	write_cfg("gpus 2\n" GPU0 GPU1);
	n = open_ok(lib_path);
	assert_int_equal(nvml_sample(n, 0, 0, &s), 0);
	assert_int_equal(nvml_sample(n, 1, 0, &s), 0);

	write_cfg("gpus 2\n" GPU0 GPU1 "gpu 1 lost\n");
	assert_int_equal(nvml_sample(n, 1, 0, &s), -ENODEV);
	assert_int_equal(s.present, 0);
	assert_int_equal(nvml_sample(n, 1, 0, &s), -ENODEV);   /* handle re-acquire fails too */
	assert_int_equal(nvml_processes(n, 1, p, 4), -ENODEV);
	assert_int_equal(nvml_sample(n, 0, NVML_SAMPLE_PCIE_THROUGHPUT, &s), 0);
	assert_int_equal(s.present, ALL);
	check_gpu0(&s);

	/* one metric reporting loss mid-sample */
	write_cfg("gpus 2\n" GPU0 GPU1 "gpu 0 replay lost\n");
	assert_int_equal(nvml_sample(n, 0, 0, &s), -ENODEV);
	assert_int_equal(nvml_sample(n, 1, 0, &s), 0);          /* came back */
	assert_string_equal(s.uuid, "GPU-2222");
	nvml_close(n);
}

static void test_processes(void **state)
{
	struct nvml *n;
	struct nvml_proc p[8];
	int k;
	unsigned me = (unsigned)getpid(), parent = (unsigned)getppid();
	(void)state;
	NEED_FAKE();
	write_cfg("gpus 2\n" GPU0 GPU1
		  "proc 0 %u 1073741824\n"
		  "proc 0 %u 18446744073709551615\n"
		  "gproc 0 %u 2048\n"
		  "proc 1 %u 4096\n", me, parent, me, me);
	n = open_ok(lib_path);
	k = nvml_processes(n, 0, p, 8);
	assert_int_equal(k, 2);
	assert_int_equal(p[0].pid, me);
	assert_int_equal(p[0].kind, NVML_PROC_COMPUTE | NVML_PROC_GRAPHICS);
	assert_true(p[0].used_bytes == 1073741824ull);
	assert_int_equal(kill((pid_t)p[0].pid, 0), 0);   /* a live process */
	assert_int_equal(p[1].pid, parent);
	assert_true(p[1].used_bytes == NVML_PROC_MEM_UNKNOWN);

	k = nvml_processes(n, 1, p, 8);
	assert_int_equal(k, 1);
	assert_true(p[0].used_bytes == 4096);

	/* max caps the output */
	assert_int_equal(nvml_processes(n, 0, p, 1), 1);
	assert_int_equal(p[0].pid, me);

	/* no processes */
	write_cfg("gpus 2\n" GPU0 GPU1);
	assert_int_equal(nvml_processes(n, 0, p, 8), 0);
	nvml_close(n);
}

static void test_stride32_driver(void **state)
{
	struct nvml *n;
	struct nvml_proc p[8];
	unsigned me = (unsigned)getpid();
	(void)state;
	NEED_FAKE();

	assert_int_equal(nvml_stride_for_driver("535.54.03"), 32);
	assert_int_equal(nvml_stride_for_driver("535.43.02"), 32);
	assert_int_equal(nvml_stride_for_driver("535.86.10"), 32);
	assert_int_equal(nvml_stride_for_driver("535.98"), 24);
	assert_int_equal(nvml_stride_for_driver("535.42"), 24);
	assert_int_equal(nvml_stride_for_driver("550.54.14"), 24);
	assert_int_equal(nvml_stride_for_driver(""), 24);
	assert_int_equal(nvml_stride_for_driver(NULL), 24);

	write_cfg("driver 535.54.03\ngpus 1\n" GPU0
		  "proc 0 %u 111\nproc 0 %u 222\nproc 0 %u 333\n", me, me + 1, me + 2);
	n = open_ok(lib_path);
	assert_int_equal(nvml_proc_stride(n), 32);
	assert_int_equal(nvml_processes(n, 0, p, 8), 3);
	assert_int_equal(p[0].pid, me);
	assert_true(p[0].used_bytes == 111);
	assert_int_equal(p[1].pid, me + 1);
	assert_true(p[1].used_bytes == 222);
	assert_int_equal(p[2].pid, me + 2);
	assert_true(p[2].used_bytes == 333);
	nvml_close(n);

	/* the version says 24 but the driver writes 32: the probe corrects it */
	write_cfg("driver 550.54.14\nstride 32\ngpus 1\n" GPU0
		  "proc 0 %u 111\nproc 0 %u 222\n", me, me + 1);
	n = open_ok(lib_path);
	assert_int_equal(nvml_proc_stride(n), 24);
	assert_int_equal(nvml_processes(n, 0, p, 8), 2);
	assert_int_equal(nvml_proc_stride(n), 32);
	assert_int_equal(p[1].pid, me + 1);
	assert_true(p[1].used_bytes == 222);
	nvml_close(n);
}

static void test_library_missing(void **state)
{
	struct nvml *n = (struct nvml *)1;
	char err[512];
	const char *path = "/nonexistent/dir/libnvidia-ml.so.1";
	(void)state;
	assert_int_equal(nvml_open(path, &n, err, sizeof err), -ENOENT);
	assert_null(n);
	assert_non_null(strstr(err, path));
	nvml_close(NULL);
}

static void test_init_fails(void **state)
{
	struct nvml *n = NULL;
	char err[512];
	(void)state;
	NEED_FAKE();
	write_cfg("init_fail 9\ngpus 1\n");
	assert_int_equal(nvml_open(lib_path, &n, err, sizeof err), -EIO);
	assert_null(n);
	assert_non_null(strstr(err, lib_path));
	assert_non_null(strstr(err, "no driver"));
}

static void test_symbol_missing(void **state)
{
	struct nvml *n;
	struct nvml_dev_sample s;
	(void)state;
	NEED_FAKE();
	write_cfg("gpus 2\n" GPU0 GPU1);
	n = open_ok(lib_nopower_path);
	assert_int_equal(nvml_sample(n, 0, 0, &s), 0);
	assert_int_equal(s.present, ALL_BUT_TPUT & ~(uint32_t)NVML_HAS_POWER);
	assert_true(s.present & NVML_HAS_POWER_LIMIT);
	assert_int_equal(s.errors, 0);
	nvml_close(n);
}

static void test_stall(void **state)
{
	struct nvml *n;
	struct nvml_dev_sample s;
	struct timespec a, b;
	double ms;
	(void)state;
	NEED_FAKE();
	write_cfg("gpus 1\n" GPU0);
	n = open_ok(lib_path);
	write_cfg("gpus 1\nsleep_ms 5\n" GPU0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(nvml_sample(n, 0, 0, &s), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	/* 3 static + 15 dynamic calls, 5 ms each: a stall is visible to the caller */
	assert_true(ms >= 50.0);
	check_gpu0(&s);
	write_cfg("gpus 1\n" GPU0);
	nvml_close(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_gpus_all_metrics),
		cmocka_unit_test(test_power_not_supported_one_gpu),
		cmocka_unit_test(test_gpu_lost_midrun),
		cmocka_unit_test(test_processes),
		cmocka_unit_test(test_stride32_driver),
		cmocka_unit_test(test_library_missing),
		cmocka_unit_test(test_init_fails),
		cmocka_unit_test(test_symbol_missing),
		cmocka_unit_test(test_stall),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
