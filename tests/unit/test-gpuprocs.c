/*
 * The per-process GPU table (gpuprocs.c): NVML's process lists through our
 * fake libnvidia-ml.so (built here with cc from tests/fakenvml/; the NVML
 * tests skip without cc), naming this test process and a child it forks,
 * which really exist in /proc; and DRM fdinfo of the tracked processes of
 * the fixture tree tests/fixtures/linux/fdinfo through a real process table.
 * Identity by start time, expiry, a freed allocation, a lost device.
 */
#include "test-collect.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "clock.h"
#include "gpuprocs.h"
#include "nvml.h"
#include "procgpu.h"
#include "proctab.h"

#define S(x) ((uint64_t)((x) * 1e9))
#define MIB (1024ull * 1024ull)

static char tmpdir[256], lib_path[512], cfg_path[512], why_not[256];
static int built;
static pid_t child = -1;

static int group_setup(void **state)
{
	const char *src = getenv("RMON_SRCDIR");
	char cmd[2048];
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/rmon-gpuprocs-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(lib_path, sizeof lib_path, "%s/libnvidia-ml-fake.so", tmpdir);
	snprintf(cfg_path, sizeof cfg_path, "%s/fake.conf", tmpdir);
	snprintf(cmd, sizeof cmd, "cc -shared -fPIC -o '%s' '%s/tests/fakenvml/fake-nvml.c' 2>&1",
	         lib_path, src && *src ? src : ".");
	if (system("command -v cc >/dev/null 2>&1") != 0)
		snprintf(why_not, sizeof why_not, "no cc to build the fake NVML library");
	else if (system(cmd) != 0)
		snprintf(why_not, sizeof why_not, "building the fake NVML library failed");
	else
		built = 1;
	setenv("FAKE_NVML_CONFIG", cfg_path, 1);
	child = fork();   /* another live process for NVML to name */
	if (child == 0) {
		pause();
		_exit(0);
	}
	return child > 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	unlink(lib_path);
	unlink(cfg_path);
	rmdir(tmpdir);
	return 0;
}

/* The fake re-reads its config when the file is replaced. */
static void fake_cfg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fake_cfg(const char *fmt, ...)
{
	char tmp[600];
	va_list ap;
	snprintf(tmp, sizeof tmp, "%s.tmp", cfg_path);
	FILE *f = fopen(tmp, "w");
	assert_non_null(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, cfg_path), 0);
}

static struct nvml *nvml_fake(void)
{
	struct nvml *nv = NULL;
	char err[256];
	if (!built) {
		print_message("skip: %s\n", why_not);
		skip();
	}
	/* the fake counts its devices at nvmlInit: write its config first */
	if (nvml_open(lib_path, &nv, err, sizeof err) != 0)
		fail_msg("nvml_open: %s", err);
	return nv;
}

/* gpuprocs over this machine's /proc (and a sysfs without DRM devices). */
static int live_procfd = -1;
static void init_live(struct fx_root *sys)
{
	fx_root_open(sys, "normal");
	live_procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(live_procfd >= 0);
	struct collect_env env = { live_procfd, sys->env.sysfd, 100 };
	gpuprocs_init(&env);
}

static void done_live(struct fx_root *sys)
{
	gpuprocs_shutdown();
	close(live_procfd);
	fx_root_close(sys);
}

static uint64_t start_of(pid_t pid)
{
	uint64_t st = 0;
	assert_int_equal(procgpu_start_ticks(live_procfd, pid, &st), 0);
	return st;
}

static uint64_t mem_of(pid_t pid, uint64_t start, uint64_t now)
{
	struct gpuprocs_usage u;
	if (!gpuprocs_lookup(pid, start, now, &u))
		fail_msg("pid %d has no GPU entry", (int)pid);
	assert_true(u.have_mem);
	return u.mem_bytes;
}

static bool has_entry(pid_t pid, uint64_t start, uint64_t now)
{
	struct gpuprocs_usage u;
	return gpuprocs_lookup(pid, start, now, &u);
}

static void test_nvml_identity_and_expiry(void **state)
{
	(void)state;
	struct fx_root sys;
	int self = getpid(), counts[2];
	fake_cfg("gpus 2\nproc 0 %d 1048576\ngproc 1 %d 2097152\nproc 1 %d 4096\n", self, self,
	         (int)child);
	struct nvml *nv = nvml_fake();   /* counts its devices now */
	init_live(&sys);
	uint64_t me = start_of(self), kid = start_of(child);

	assert_int_equal(gpuprocs_refresh_nvml(nv, 2, 0, S(100), counts), 3);
	assert_int_equal(counts[0], 1);
	assert_int_equal(counts[1], 2);
	assert_int_equal(mem_of(self, me, S(100)), 3 * MIB);   /* both GPUs */
	assert_int_equal(mem_of(child, kid, S(100)), 4096);
	assert_false(has_entry(self, me + 1, S(100)));        /* same pid, another process */
	assert_false(has_entry(self, me, S(103)));            /* not refreshed for 3 s */

	struct gpuprocs_item *it;
	unsigned n = gpuprocs_items(&it, S(100));
	assert_int_equal(n, 3);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(it[i].source, GPUPROCS_NVML);
		assert_string_equal(it[i].driver, "nvidia");
		assert_true(it[i].nvml_index == 0 || it[i].nvml_index == 1);
	}
	free(it);

	/* the child freed its memory: gone at once, not at expiry */
	fake_cfg("gpus 2\nproc 0 %d 1048576\ngproc 1 %d 2097152\n", self, self);
	assert_int_equal(gpuprocs_refresh_nvml(nv, 2, 0, S(101), NULL), 2);
	assert_false(has_entry(child, kid, S(101)));

	/* GPU 1 lost: GPU 0 is refreshed, GPU 1's entry lives out its time */
	fake_cfg("gpus 2\nproc 0 %d 5242880\ngpu 1 lost\n", self);
	assert_int_equal(gpuprocs_refresh_nvml(nv, 2, 0, S(102), counts), 1);
	assert_int_equal(counts[1], -1);
	assert_int_equal(mem_of(self, me, S(102)), 5 * MIB + 2 * MIB);
	assert_int_equal(mem_of(self, me, S(104.5)), 5 * MIB);   /* GPU 1's: 101 + 3 s */
	fake_cfg("gpus 2\ngpu 0 lost\ngpu 1 lost\n");
	assert_int_equal(gpuprocs_refresh_nvml(nv, 2, 0, S(105), NULL), -EIO);
	assert_int_equal(gpuprocs_refresh_nvml(nv, 0, 0, S(105), NULL), 0);

	/* a sleeping GPU is not asked (that would wake it): no count, no entry */
	fake_cfg("gpus 2\nproc 0 %d 1048576\nproc 1 %d 4096\n", self, (int)child);
	assert_int_equal(gpuprocs_refresh_nvml(nv, 2, 1u << 1, S(106), counts), 1);
	assert_int_equal(counts[0], 1);
	assert_int_equal(counts[1], -1);
	assert_false(has_entry(child, kid, S(106)));
	assert_int_equal(gpuprocs_refresh_nvml(nv, 2, 3, S(106), counts), 0);   /* none asked */

	/* a writer refreshing every 10 s: its entries live 30 s */
	fake_cfg("gpus 1\nproc 0 %d 1048576\n", self);
	assert_int_equal(gpuprocs_refresh_nvml(nv, 1, 0, S(200), NULL), 1);
	assert_int_equal(gpuprocs_refresh_nvml(nv, 1, 0, S(210), NULL), 1);
	assert_true(has_entry(self, me, S(239)));
	assert_false(has_entry(self, me, S(240)));

	nvml_close(nv);
	done_live(&sys);
}

/* NVML names a pid that no longer exists, or gives no memory figure. */
static void test_nvml_gone_and_unknown(void **state)
{
	(void)state;
	struct fx_root sys;
	int self = getpid();
	fake_cfg("gpus 1\n");
	struct nvml *nv = nvml_fake();
	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	assert_int_equal(waitpid(dead, NULL, 0), dead);   /* reaped: the pid is free */
	init_live(&sys);
	uint64_t me = start_of(self);

	fake_cfg("gpus 1\nproc 0 %d 4096\nproc 0 %d 18446744073709551615\n", (int)dead, self);
	assert_int_equal(gpuprocs_refresh_nvml(nv, 1, 0, clock_mono_ns(), NULL), 2);
	struct gpuprocs_item *it;
	assert_int_equal(gpuprocs_items(&it, clock_mono_ns()), 1);   /* the dead one is skipped */
	free(it);
	struct gpuprocs_usage u;
	assert_true(gpuprocs_lookup(self, me, clock_mono_ns(), &u));  /* on the GPU ... */
	assert_false(u.have_mem);                                     /* ... memory unknown */

	/* the proc record: no figure, no field (not a 0) */
	struct proc_info in = { .pid = self, .start_ticks = me };
	struct rm_rec r;
	rec_init(&r, 1, "x");
	gpuprocs_fill_record(&r, in.pid, in.start_ticks);
	assert_false(rec_has(&r, RM_PROC_GPU_MEM));
	assert_false(rec_has(&r, RM_PROC_GPU_BUSY));
	fake_cfg("gpus 1\nproc 0 %d 123456789\n", self);
	assert_int_equal(gpuprocs_refresh_nvml(nv, 1, 0, clock_mono_ns(), NULL), 1);
	gpuprocs_fill_record(&r, in.pid, in.start_ticks);
	assert_field(&r, RM_PROC_GPU_MEM, 123456789);
	assert_false(rec_has(&r, RM_PROC_GPU_BUSY));   /* NVML gives no per-process busy */
	nvml_close(nv);
	done_live(&sys);
}

/* Client 17 on fds 5 and 6 and client 18 on fd 7 of pid 1000, with these
 * gfx busy times. */
static void amd_clients(struct fx_root *r, unsigned long long gfx17, unsigned long long gfx18)
{
	char buf[512];
	for (int fd = 5; fd <= 7; fd++) {
		char rel[64];
		fx_fmt(buf, sizeof buf, "drm-driver:\tamdgpu\ndrm-pdev:\t0000:03:00.0\n"
		       "drm-client-id:\t%d\ndrm-memory-vram:\t%d KiB\ndrm-engine-gfx:\t%llu ns\n",
		       fd == 7 ? 18 : 17, fd == 7 ? 2048 : 1024, fd == 7 ? gfx18 : gfx17);
		fx_fmt(rel, sizeof rel, "proc/1000/fdinfo/%d", fd);
		fx_write(r, rel, buf);
	}
}

static void test_drm_tracked(void **state)
{
	(void)state;
	struct fx_root r;
	struct proctab *pt = NULL;
	struct gpuprocs_usage u;
	char drivers[64];
	fx_root_tmp(&r, "fdinfo");
	amd_clients(&r, 1000000000ull, 0);
	gpuprocs_init(&r.env);
	assert_int_equal(proctab_open(&r.env, &pt), 0);
	assert_true(proctab_scan(pt, S(1)) >= 6);
	const int32_t tracked[] = { 1000, 2000, 4000, 6000 };

	gpuprocs_drm_tick(pt, tracked, 4, S(10));
	gpuprocs_drm_drivers(drivers, sizeof drivers);
	assert_non_null(strstr(drivers, "amdgpu"));
	assert_int_equal(mem_of(1000, 5000, S(10)), 3 * MIB);   /* client 17 once, and 18 */
	assert_int_equal(mem_of(2000, 6000, S(10)), 6044 * 1024);
	assert_false(has_entry(4000, 8000, S(10)));              /* no GPU */
	assert_false(has_entry(6000, 9500, S(10)));              /* no usage stats */
	assert_false(has_entry(1000, 5001, S(10)));              /* identity */
	assert_true(gpuprocs_lookup(1000, 5000, S(10), &u));
	assert_false(u.have_busy);                               /* one reading */

	/* half a second later nothing is read; a second later, rates */
	amd_clients(&r, 1500000000ull, 200000000ull);
	gpuprocs_drm_tick(pt, tracked, 4, S(10.5));
	assert_true(gpuprocs_lookup(1000, 5000, S(10.5), &u));
	assert_false(u.have_busy);
	gpuprocs_drm_tick(pt, tracked, 4, S(11));
	assert_true(gpuprocs_lookup(1000, 5000, S(11), &u));
	assert_true(u.have_busy);
	assert_near(u.busy_pct, 70, 1e-6);   /* 50 % + 20 % of gfx */

	struct gpuprocs_item *it;
	unsigned n = gpuprocs_items(&it, S(11));
	assert_int_equal(n, 2);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(it[i].source, GPUPROCS_DRM);
		assert_int_equal(it[i].nvml_index, -1);
		if (it[i].pid == 1000) {
			assert_string_equal(it[i].dev, "0000:03:00.0");
			assert_string_equal(it[i].driver, "amdgpu");
		}
	}
	free(it);

	/* no longer tracked: its entry expires 3 s after its last reading */
	gpuprocs_drm_tick(pt, NULL, 0, S(12));
	assert_true(has_entry(1000, 5000, S(13.9)));
	assert_false(has_entry(1000, 5000, S(14)));

	proctab_close(pt);
	gpuprocs_shutdown();
	fx_root_close(&r);
}

/* A process younger than a second is not read yet: listing its fds is the
 * cost, and most such processes are a build's short-lived ones. */
static void test_drm_young(void **state)
{
	(void)state;
	struct fx_root r;
	struct proctab *pt = NULL;
	char stat[256];
	fx_root_tmp(&r, "fdinfo");
	/* booted 50 s ago: pid 1000 (start 5000 ticks) started just now */
	fx_fmt(stat, sizeof stat, "cpu  1 0 1 1 0 0 0 0 0 0\nbtime %lld\n",
	       (long long)time(NULL) - 50);
	fx_write(&r, "proc/stat", stat);
	gpuprocs_init(&r.env);
	assert_int_equal(proctab_open(&r.env, &pt), 0);
	assert_true(proctab_scan(pt, S(1)) >= 6);
	const int32_t tracked[] = { 1000 };
	gpuprocs_drm_tick(pt, tracked, 1, S(10));
	assert_false(has_entry(1000, 5000, S(10)));
	proctab_close(pt);
	gpuprocs_shutdown();
	fx_root_close(&r);
}

/* A machine whose only render node is NVIDIA's: fdinfo is never read. */
static void test_drm_not_on_nvidia(void **state)
{
	(void)state;
	struct fx_root procs, nv;
	struct proctab *pt = NULL;
	char drivers[64];
	fx_root_open(&procs, "fdinfo");
	fx_root_open(&nv, "fdinfo-nvidia");
	struct collect_env env = { procs.env.procfd, nv.env.sysfd, 100 };
	gpuprocs_init(&env);
	assert_int_equal(proctab_open(&env, &pt), 0);
	assert_true(proctab_scan(pt, S(1)) >= 6);
	const int32_t tracked[] = { 1000, 2000 };
	gpuprocs_drm_tick(pt, tracked, 2, S(10));
	assert_false(has_entry(1000, 5000, S(10)));
	gpuprocs_drm_drivers(drivers, sizeof drivers);
	assert_string_equal(drivers, "");
	proctab_close(pt);
	gpuprocs_shutdown();
	fx_root_close(&nv);
	fx_root_close(&procs);
}

/* Readers before init (unit tests, a daemon without GPUs): an empty table. */
static void test_empty(void **state)
{
	(void)state;
	struct gpuprocs_usage u;
	struct gpuprocs_item *it;
	struct rm_rec r;
	gpuprocs_shutdown();
	assert_false(gpuprocs_lookup(getpid(), 1, S(1), &u));
	assert_int_equal(gpuprocs_items(&it, S(1)), 0);
	assert_null(it);
	rec_init(&r, 1, "x");
	gpuprocs_fill_record(&r, getpid(), 1);
	assert_int_equal(r.present, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_nvml_identity_and_expiry),
		cmocka_unit_test(test_nvml_gone_and_unknown),
		cmocka_unit_test(test_drm_tracked),
		cmocka_unit_test(test_drm_young),
		cmocka_unit_test(test_drm_not_on_nvidia),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
