/*
 * Every parser on hostile input: each prefix of a real sample (a read cut
 * anywhere) and pseudo-random bytes, in heap buffers of the exact size
 * with no NUL after them, so that under ASan a read past the end fails.
 * The only assertion is "no crash, no overread"; values are checked by
 * the per-collector tests.
 */
#include "test-collect.h"

typedef void (*parse_fn)(const char *buf, size_t len);

static void p_stat(const char *b, size_t n)
{
	struct stat_cpu cpus[4];
	struct stat_snap s = { .cpus = cpus, .cap = 4 };
	proc_stat_parse(b, n, &s);
}

static void p_loadavg(const char *b, size_t n)
{
	struct loadavg la;
	proc_loadavg_parse(b, n, &la);
}

static void p_meminfo(const char *b, size_t n)
{
	struct meminfo m;
	struct rm_rec r;
	rec_init(&r, 0, NULL);
	proc_meminfo_parse(b, n, &m);
	proc_meminfo_fill(&m, &r);
}

static void p_vmstat(const char *b, size_t n)
{
	struct vmstat v;
	proc_vmstat_parse(b, n, &v);
}

static void p_pressure(const char *b, size_t n)
{
	struct psi_file f;
	proc_pressure_parse(b, n, &f);
}

static void p_diskstats(const char *b, size_t n)
{
	struct disk_line d;
	proc_diskstats_parse_line(b, b + n, &d);
}

static void p_net_dev(const char *b, size_t n)
{
	struct net_line l;
	proc_net_dev_parse_line(b, b + n, &l);
}

static void p_sysfs(const char *b, size_t n)
{
	double v;
	char k[RM_KEY_MAX];
	sys_cpufreq_parse(b, n, &v);
	sys_thermal_parse_temp(b, n, &v);
	sys_thermal_sanitize(k, sizeof k, b, n);
}

static const struct {
	const char *name;
	parse_fn fn;
	const char *sample;
} cases[] = {
	{ "stat", p_stat, "cpu  2000 100 1000 20000 300 50 50 10 40 5\ncpu0 1000 50 500 10000 150"
			  " 25 25 5 20 2\nintr 500000 10 20\nctxt 1000000\nbtime 1700000000\n"
			  "processes 5000\nprocs_running 2\nprocs_blocked 1\n" },
	{ "loadavg", p_loadavg, "0.25 0.12 0.04 3/101 4033\n" },
	{ "meminfo", p_meminfo, "MemTotal:       24684084 kB\nMemFree:        24252816 kB\n"
				"MemAvailable:   24347168 kB\nCached:           281632 kB\n" },
	{ "vmstat", p_vmstat, "nr_free_pages 6063204\npswpin 10\npgfault 1067883\npgmajfault 994\n" },
	{ "pressure", p_pressure, "some avg10=2.89 avg60=1.16 avg300=0.64 total=2920425\n"
				  "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n" },
	{ "diskstats", p_diskstats, " 254       0 vda 8851 4390 2134266 7698 17094 7795 708696 "
				    "4112 0 4472 12028 3839 22 84888 206 284 10" },
	{ "net_dev", p_net_dev, "  eth0: 18780509     536    1    2    0     0          0     "
				"    0    27417     331    3    4    0     0       0          0" },
	{ "sysfs", p_sysfs, "-45000\n" },
};

/* The parser on an exact-size copy of b[0..n). */
static void run_exact(parse_fn fn, const char *b, size_t n)
{
	char *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	memcpy(copy, b, n);
	fn(copy, n);
	free(copy);
}

static void test_every_prefix(void **state)
{
	(void)state;
	for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		size_t len = strlen(cases[c].sample);
		for (size_t n = 0; n <= len; n++)
			run_exact(cases[c].fn, cases[c].sample, n);
	}
}

static uint32_t rng = 12345;
static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Random bytes biased towards the characters parsers branch on. */
static void test_random_bytes(void **state)
{
	(void)state;
	static const char alphabet[] = "0123456789 \t\n:=.-|cpuintrsomefullavgtotal";
	char buf[256];
	for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		for (int iter = 0; iter < 3000; iter++) {
			size_t n = next() % sizeof buf;
			for (size_t i = 0; i < n; i++)
				buf[i] = next() & 1 ? alphabet[next() % (sizeof alphabet - 1)]
						    : (char)(next() & 0xff);
			run_exact(cases[c].fn, buf, n);
		}
	}
}

/* Long numbers saturate instead of wrapping; huge lines stay bounded. */
static void test_huge_values(void **state)
{
	(void)state;
	char big[8192];
	memset(big, '9', sizeof big);
	for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++)
		run_exact(cases[c].fn, big, sizeof big);
	struct loadavg la;
	assert_int_equal(proc_loadavg_parse(big, 100, &la), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_huge_values),
	};
	return cmocka_run_group_tests_name("collect_malformed", tests, NULL, NULL);
}
