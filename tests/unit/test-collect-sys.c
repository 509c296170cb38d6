/* sys_cpufreq and sys_thermal, and how their values reach proc_stat's cpu
 * records through the cpuboard. */
#include "test-collect.h"

static struct fx_cap cap;
static const struct collector *const CF = &sys_cpufreq_collector;
static const struct collector *const TH = &sys_thermal_collector;
static const struct collector *const ST = &proc_stat_collector;

/* One tick running a then b, as the sampler does (platform order). */
static void tick2(const struct collector *a, void *sa, const struct collector *b, void *sb,
		  uint64_t t)
{
	struct collect_tick *tk = fx_tick(&cap, t);
	a->sample(sa, tk);
	assert_int_equal(b->sample(sb, tk), 0);
}

/* ---- cpufreq ---------------------------------------------------------- */

static void test_cpufreq_parse(void **state)
{
	(void)state;
	double mhz;
	assert_int_equal(sys_cpufreq_parse("2400000\n", 8, &mhz), 0);
	assert_near(mhz, 2400, 1e-9);
	assert_int_equal(sys_cpufreq_parse("<unknown>\n", 10, &mhz), -EINVAL);
	assert_int_equal(sys_cpufreq_parse("", 0, &mhz), -EINVAL);
	assert_int_equal(sys_cpufreq_parse("12ab", 4, &mhz), -EINVAL);
}

static void test_cpufreq_into_cpu_records(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "normal");
	void *cf = fx_open(CF, &root), *st = fx_open(ST, &root);
	/* First tick: no CPU shares yet, but the frequency is a reading. */
	tick2(CF, cf, ST, st, FX_SEC);
	assert_field(fx_find(&cap, RM_KIND_CPU, "0"), RM_CPU_FREQ, 2400);
	assert_field(fx_find(&cap, RM_KIND_CPU, "1"), RM_CPU_FREQ, 1800);
	assert_field(fx_find(&cap, RM_KIND_CPU, "all"), RM_CPU_FREQ, 2100);
	assert_no_field(fx_find(&cap, RM_KIND_CPU, "0"), RM_CPU_BUSY);
	assert_no_field(fx_find(&cap, RM_KIND_CPU, "0"), RM_CPU_TEMP);
	/* A malformed value: that CPU has none, the mean is over the rest. */
	fx_write(&root, "sys/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq", "junk\n");
	fx_write(&root, "proc/stat", "cpu  4000 100 1000 22000 300 50 50 10\n"
				     "cpu0 2000 50 500 11000 150 25 25 5\n"
				     "cpu1 2000 50 500 11000 150 25 25 5\n");
	tick2(CF, cf, ST, st, 2 * FX_SEC);
	assert_field(fx_find(&cap, RM_KIND_CPU, "0"), RM_CPU_FREQ, 2400);
	assert_no_field(fx_find(&cap, RM_KIND_CPU, "1"), RM_CPU_FREQ);
	assert_field(fx_find(&cap, RM_KIND_CPU, "all"), RM_CPU_FREQ, 2400);
	/* proc_stat alone in a later tick: last tick's values are stale. */
	fx_write(&root, "proc/stat", "cpu  4000 100 1000 22200 300 50 50 10\n"
				     "cpu0 2000 50 500 11100 150 25 25 5\n"
				     "cpu1 2000 50 500 11100 150 25 25 5\n");
	assert_int_equal(fx_sample(ST, st, &cap, 3 * FX_SEC), 0);
	assert_no_field(fx_find(&cap, RM_KIND_CPU, "0"), RM_CPU_FREQ);
	assert_no_field(fx_find(&cap, RM_KIND_CPU, "all"), RM_CPU_FREQ);
	CF->close(cf);
	ST->close(st);
	fx_root_close(&root);
}

/* cpu1/cpufreq a link to cpu0's policy: one file, read once, both CPUs. */
static void test_cpufreq_shared_policy(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "normal");
	char p[PATH_MAX + 64];
	fx_fmt(p, sizeof p, "%s/sys/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq", root.dir);
	assert_int_equal(unlink(p), 0);
	fx_fmt(p, sizeof p, "%s/sys/devices/system/cpu/cpu1/cpufreq", root.dir);
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(symlink("../cpu0/cpufreq", p), 0);
	void *cf = fx_open(CF, &root), *st = fx_open(ST, &root);
	tick2(CF, cf, ST, st, FX_SEC);
	assert_field(fx_find(&cap, RM_KIND_CPU, "1"), RM_CPU_FREQ, 2400);
	assert_field(fx_find(&cap, RM_KIND_CPU, "all"), RM_CPU_FREQ, 2400);
	CF->close(cf);
	ST->close(st);
	fx_root_close(&root);
}

static void test_cpufreq_absent(void **state)
{
	(void)state;
	struct fx_root root;
	void *st = NULL;
	fx_root_open(&root, "offline");
	assert_int_equal(CF->open(&root.env, &st), -ENOENT);
	fx_root_close(&root);
	fx_root_open(&root, "old");   /* no devices/system/cpu at all */
	assert_int_equal(CF->open(&root.env, &st), -ENOENT);
	fx_root_close(&root);
}

/* ---- thermal ---------------------------------------------------------- */

static void test_thermal_parse_and_sanitize(void **state)
{
	(void)state;
	double c;
	char k[RM_KEY_MAX];
	assert_int_equal(sys_thermal_parse_temp("45000\n", 6, &c), 0);
	assert_near(c, 45.0, 1e-12);
	assert_int_equal(sys_thermal_parse_temp("-5500", 5, &c), 0);
	assert_near(c, -5.5, 1e-12);
	assert_int_equal(sys_thermal_parse_temp("", 0, &c), -EINVAL);
	assert_int_equal(sys_thermal_parse_temp("45000x", 6, &c), -EINVAL);
	assert_int_equal(sys_thermal_sanitize(k, sizeof k, "Package id 0", 12), 12);
	assert_string_equal(k, "package_id_0");
	sys_thermal_sanitize(k, sizeof k, "  Core 1 ", 9);
	assert_string_equal(k, "core_1");
	sys_thermal_sanitize(k, sizeof k, "ACPI-TZ.01", 10);
	assert_string_equal(k, "acpi_tz_01");
	sys_thermal_sanitize(k, sizeof k, "x86_pkg_temp", 12);
	assert_string_equal(k, "x86_pkg_temp");
	assert_int_equal(sys_thermal_sanitize(k, 4, "abcdef", 6), 3);
	assert_int_equal(sys_thermal_sanitize(k, sizeof k, "-- --", 5), 0);
}

static void check_temp(const char *key, double c)
{
	const struct rm_rec *r = fx_find(&cap, RM_KIND_TEMP, key);
	if (!r)
		fail_msg("no temp record '%s'", key);
	assert_field(r, RM_TEMP_TEMP, c);
}

static void test_thermal_sensors(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_open(&root, "thermal");
	void *th = fx_open(TH, &root);
	assert_int_equal(fx_sample(TH, th, &cap, FX_SEC), 0);
	/* Zones by type; hwmon by chip.label; acpitz's hwmon mirror skipped;
	 * the sensor that reads empty has a record without a reading. */
	assert_int_equal(fx_count(&cap, RM_KIND_TEMP), 9);
	assert_empty(fx_find(&cap, RM_KIND_TEMP, "broken"));
	check_temp("acpitz", 45);
	assert_field(fx_find(&cap, RM_KIND_TEMP, "acpitz"), RM_TEMP_CRIT, 105);
	check_temp("x86_pkg_temp", 52);
	assert_no_field(fx_find(&cap, RM_KIND_TEMP, "x86_pkg_temp"), RM_TEMP_CRIT);
	check_temp("coretemp.package_id_0", 52);
	assert_field(fx_find(&cap, RM_KIND_TEMP, "coretemp.package_id_0"), RM_TEMP_CRIT, 100);
	check_temp("coretemp.core_0", 50);
	check_temp("coretemp.core_1", 48);
	assert_no_field(fx_find(&cap, RM_KIND_TEMP, "coretemp.core_1"), RM_TEMP_CRIT);
	/* Two chips named nvme: told apart by their device link, not by
	 * the unstable hwmonN number. */
	check_temp("nvme0", 38.85);
	check_temp("nvme1", 40);
	check_temp("oldchip", -5);   /* attributes under hwmonN/device/ */
	assert_null(fx_find(&cap, RM_KIND_TEMP, "acpitz.2"));
	TH->close(th);
	fx_root_close(&root);
}

/* Core N goes to every CPU with core_id N (SMT siblings too); the
 * package is cpu:all. */
static void test_thermal_into_cpu_records(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_open(&root, "thermal");
	void *th = fx_open(TH, &root), *st = fx_open(ST, &root);
	tick2(TH, th, ST, st, FX_SEC);
	assert_field(fx_find(&cap, RM_KIND_CPU, "0"), RM_CPU_TEMP, 50);
	assert_field(fx_find(&cap, RM_KIND_CPU, "1"), RM_CPU_TEMP, 48);
	assert_field(fx_find(&cap, RM_KIND_CPU, "2"), RM_CPU_TEMP, 50);
	assert_field(fx_find(&cap, RM_KIND_CPU, "3"), RM_CPU_TEMP, 48);
	assert_field(fx_find(&cap, RM_KIND_CPU, "all"), RM_CPU_TEMP, 52);
	assert_no_field(fx_find(&cap, RM_KIND_CPU, "all"), RM_CPU_FREQ);
	TH->close(th);
	ST->close(st);
	fx_root_close(&root);
}

static void test_thermal_no_topology(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "thermal");
	for (int c = 0; c < 4; c++) {
		char p[PATH_MAX + 64];
		fx_fmt(p, sizeof p, "%s/sys/devices/system/cpu/cpu%d/topology/core_id", root.dir, c);
		assert_int_equal(unlink(p), 0);
	}
	void *th = fx_open(TH, &root), *st = fx_open(ST, &root);
	tick2(TH, th, ST, st, FX_SEC);
	/* Without topology, Core N is cpu N. */
	assert_field(fx_find(&cap, RM_KIND_CPU, "0"), RM_CPU_TEMP, 50);
	assert_field(fx_find(&cap, RM_KIND_CPU, "1"), RM_CPU_TEMP, 48);
	assert_empty(fx_find(&cap, RM_KIND_CPU, "2"));
	TH->close(th);
	ST->close(st);
	fx_root_close(&root);
}

/* Sensors are read at most once a second; cpu records keep the cached
 * value in between. */
static void test_thermal_rate_limit(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "thermal");
	void *th = fx_open(TH, &root), *st = fx_open(ST, &root);
	tick2(TH, th, ST, st, FX_SEC);
	fx_write(&root, "sys/class/hwmon/hwmon1/temp2_input", "60000\n");
	fx_write(&root, "sys/class/hwmon/hwmon3/temp1_input", "41000\n");
	tick2(TH, th, ST, st, FX_SEC + FX_SEC / 2);
	assert_int_equal(fx_count(&cap, RM_KIND_TEMP), 0);
	assert_field(fx_find(&cap, RM_KIND_CPU, "0"), RM_CPU_TEMP, 50);
	tick2(TH, th, ST, st, 2 * FX_SEC);
	assert_int_equal(fx_count(&cap, RM_KIND_TEMP), 9);
	check_temp("coretemp.core_0", 60);
	check_temp("broken", 41);
	assert_field(fx_find(&cap, RM_KIND_CPU, "2"), RM_CPU_TEMP, 60);
	TH->close(th);
	ST->close(st);
	fx_root_close(&root);
}

/* Two zones of one type get distinct, stable keys. */
static void test_thermal_duplicate_keys(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "thermal");
	char p[PATH_MAX + 64];
	fx_fmt(p, sizeof p, "%s/sys/class/thermal/thermal_zone7", root.dir);
	assert_int_equal(mkdir(p, 0755), 0);
	fx_write(&root, "sys/class/thermal/thermal_zone7/type", "acpitz\n");
	fx_write(&root, "sys/class/thermal/thermal_zone7/temp", "30000\n");
	void *th = fx_open(TH, &root);
	assert_int_equal(fx_sample(TH, th, &cap, FX_SEC), 0);
	check_temp("acpitz", 45);
	check_temp("acpitz.2", 30);
	TH->close(th);
	fx_root_close(&root);
}

static void test_thermal_absent(void **state)
{
	(void)state;
	struct fx_root root;
	void *st = NULL;
	/* class/thermal with only a cooling device, no hwmon. */
	fx_root_open(&root, "normal");
	assert_int_equal(TH->open(&root.env, &st), -ENOENT);
	fx_root_close(&root);
	fx_root_open(&root, "old");
	assert_int_equal(TH->open(&root.env, &st), -ENOENT);
	fx_root_close(&root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpufreq_parse),
		cmocka_unit_test(test_cpufreq_into_cpu_records),
		cmocka_unit_test(test_cpufreq_shared_policy),
		cmocka_unit_test(test_cpufreq_absent),
		cmocka_unit_test(test_thermal_parse_and_sanitize),
		cmocka_unit_test(test_thermal_sensors),
		cmocka_unit_test(test_thermal_into_cpu_records),
		cmocka_unit_test(test_thermal_no_topology),
		cmocka_unit_test(test_thermal_rate_limit),
		cmocka_unit_test(test_thermal_duplicate_keys),
		cmocka_unit_test(test_thermal_absent),
	};
	return cmocka_run_group_tests_name("sys", tests, NULL, NULL);
}
