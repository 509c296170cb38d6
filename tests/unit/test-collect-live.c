/* Every Linux collector against this machine's real /proc and /sys, and
 * the platform and capability tables. */
#include "test-collect.h"

#include <time.h>

static struct fx_cap cap;

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * FX_SEC + (uint64_t)ts.tv_nsec;
}

struct live {
	struct collect_env env;
	void *st[16];
	int open_err[16];
};

static void live_open(struct live *l)
{
	assert_true(collect_platform_count <= 16);
	l->env.procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	l->env.sysfd = open("/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
	l->env.clk_tck = sysconf(_SC_CLK_TCK);
	assert_true(l->env.procfd >= 0 && l->env.sysfd >= 0);
	for (unsigned i = 0; i < collect_platform_count; i++) {
		const struct collector *c = collect_platform[i];
		l->st[i] = NULL;
		l->open_err[i] = c->open(&l->env, &l->st[i]);
		/* Absent hardware is fine; any other failure is not. */
		if (l->open_err[i] && l->open_err[i] != -ENOENT)
			fail_msg("%s: open: %s", c->name, strerror(-l->open_err[i]));
	}
}

static void live_tick(struct live *l)
{
	struct collect_tick *t = fx_tick(&cap, now_ns(CLOCK_MONOTONIC));
	t->rt_ns = now_ns(CLOCK_REALTIME);
	for (unsigned i = 0; i < collect_platform_count; i++) {
		if (l->open_err[i])
			continue;
		int err = collect_platform[i]->sample(l->st[i], t);
		if (err)
			fail_msg("%s: sample: %s", collect_platform[i]->name, strerror(-err));
	}
}

static void live_close(struct live *l)
{
	for (unsigned i = 0; i < collect_platform_count; i++)
		if (!l->open_err[i])
			collect_platform[i]->close(l->st[i]);
	close(l->env.procfd);
	close(l->env.sysfd);
}

/* MemTotal from /proc/meminfo read the plain way, to compare with. */
static uint64_t memtotal_kb(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	unsigned long long kb = 0;
	assert_non_null(f);
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void check_cpu_records(void)
{
	const struct rm_rec *all = fx_find(&cap, RM_KIND_CPU, "all");
	assert_non_null(all);
	assert_true(rec_has(all, RM_CPU_BUSY));
	for (unsigned i = 0; i < cap.n; i++) {
		if (cap.kind[i] != RM_KIND_CPU)
			continue;
		for (int f = RM_CPU_BUSY; f <= RM_CPU_IDLE; f++) {
			double v = cap.rec[i].v[f];
			if (rec_has(&cap.rec[i], f) && !(v >= 0 && v <= 100))
				fail_msg("cpu:%s field %d = %.17g", cap.rec[i].key, f, v);
		}
	}
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	assert_int_equal(fx_count(&cap, RM_KIND_CPU), (unsigned)online + 1);
	assert_field(&cap.sys, RM_SYS_NCPU_ONLINE, online);
}

static void check_system(void)
{
	assert_field(&cap.sys, RM_SYS_MEM_TOTAL, (double)memtotal_kb() * 1024.0);
	assert_true(rec_has(&cap.sys, RM_SYS_LOAD1));
	assert_true(rec_has(&cap.sys, RM_SYS_CTXT_PS) && cap.sys.v[RM_SYS_CTXT_PS] >= 0);
	assert_true(rec_has(&cap.sys, RM_SYS_MEM_USED_PCT));
	assert_true(cap.sys.v[RM_SYS_MEM_USED_PCT] > 0 && cap.sys.v[RM_SYS_MEM_USED_PCT] < 100);
	/* btime-based uptime agrees with CLOCK_BOOTTIME to about a second. */
	double boot = (double)now_ns(CLOCK_BOOTTIME) / 1e9;
	assert_true(rec_has(&cap.sys, RM_SYS_UPTIME));
	assert_true(fabs(cap.sys.v[RM_SYS_UPTIME] - boot) < 2.5);
}

static void check_devices(void)
{
	assert_true(fx_find(&cap, RM_KIND_NET, "eth0") || fx_find(&cap, RM_KIND_NET, "lo"));
	for (unsigned i = 0; i < cap.n; i++) {
		const char *k = cap.rec[i].key;
		if (cap.kind[i] != RM_KIND_DISK)
			continue;
		assert_true(strncmp(k, "loop", 4) && strncmp(k, "ram", 3) && strncmp(k, "zram", 4));
		if (rec_has(&cap.rec[i], RM_DISK_BUSY))
			assert_true(cap.rec[i].v[RM_DISK_BUSY] <= 100);
	}
}

static void test_live_two_samples(void **state)
{
	(void)state;
	struct live l;
	live_open(&l);
	assert_int_equal(l.open_err[0] == 0 || l.open_err[0] == -ENOENT, 1);
	live_tick(&l);
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	live_tick(&l);
	check_cpu_records();
	check_system();
	check_devices();
	live_close(&l);
}

static void test_platform_table(void **state)
{
	(void)state;
	assert_int_equal(collect_platform_count, 9);
	for (unsigned i = 0; i < collect_platform_count; i++) {
		const struct collector *c = collect_platform[i];
		assert_true(c->name && c->open && c->sample && c->close);
		assert_true(c->cap < COLLECT_CAP__COUNT);
		for (unsigned j = 0; j < i; j++)
			assert_true(strcmp(c->name, collect_platform[j]->name) != 0);
	}
	/* The publishers of the cpuboard run before proc_stat. */
	unsigned stat_at = 0;
	for (unsigned i = 0; i < collect_platform_count; i++)
		if (collect_platform[i] == &proc_stat_collector)
			stat_at = i;
	for (unsigned i = 0; i < collect_platform_count; i++)
		if (collect_platform[i] == &sys_cpufreq_collector ||
		    collect_platform[i] == &sys_thermal_collector)
			assert_true(i < stat_at);
	for (int k = 0; k < COLLECT_CAP__COUNT; k++) {
		assert_true(collect_caps[k].name && collect_caps[k].help);
		for (int j = 0; j < k; j++)
			assert_true(strcmp(collect_caps[k].name, collect_caps[j].name) != 0);
	}
	assert_string_equal(collect_caps[COLLECT_CAP_PSI].name, "psi");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_platform_table),
		cmocka_unit_test(test_live_two_samples),
	};
	return cmocka_run_group_tests_name("collect_live", tests, NULL, NULL);
}
