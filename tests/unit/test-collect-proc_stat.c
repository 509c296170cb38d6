/* proc_stat and proc_loadavg: CPU shares per core and in total, the
 * system counters, offline CPUs, counters going backwards, 128 CPUs. */
#include "test-collect.h"

static struct fx_cap cap;
static const struct collector *const ST = &proc_stat_collector;

/* The normal fixture one interval later (see the hand computation in
 * each test). */
static const char normal_t1[] =
	"cpu  2030 110 1015 20120 315 52 53 15 53 10\n"
	"cpu0 1010 50 505 10080 155 25 25 5 23 2\n"
	"cpu1 1020 60 510 10040 160 27 28 10 30 8\n"
	"intr 502000 10 20 0\n"
	"ctxt 1005000\n"
	"btime 1700000000\n"
	"processes 5050\n"
	"procs_running 4\n"
	"procs_blocked 0\n";

static void check_cpu(const struct rm_rec *r, double busy, double user, double nice,
		      double sys, double iowait, double irq, double softirq, double steal,
		      double idle)
{
	assert_field(r, RM_CPU_BUSY, busy);
	assert_field(r, RM_CPU_USER, user);
	assert_field(r, RM_CPU_NICE, nice);
	assert_field(r, RM_CPU_SYSTEM, sys);
	assert_field(r, RM_CPU_IOWAIT, iowait);
	assert_field(r, RM_CPU_IRQ, irq);
	assert_field(r, RM_CPU_SOFTIRQ, softirq);
	assert_field(r, RM_CPU_STEAL, steal);
	assert_field(r, RM_CPU_IDLE, idle);
}

static void test_parse_normal(void **state)
{
	(void)state;
	static const char buf[] = "cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 11 12 13 14 15 16 17 18 19 20\n"
				  "cpu7 1 1 1 1\nintr 99 1 2 3\nctxt 5\nbtime 6\nprocesses 7\n"
				  "procs_running 8\nprocs_blocked 9\nsoftirq 1 2\n";
	struct stat_cpu cpus[4];
	struct stat_snap s = { .cpus = cpus, .cap = 4 };
	proc_stat_parse(buf, sizeof buf - 1, &s);
	assert_int_equal(s.has, 0x7f);
	assert_int_equal(s.ncpus, 2);
	assert_true(s.all.t[STAT_USER] == 1 && s.all.t[STAT_STEAL] == 8);
	assert_int_equal(cpus[0].cpu, 0);
	assert_true(cpus[0].times.t[STAT_IDLE] == 14);
	/* Old kernels print fewer columns: the rest are 0. */
	assert_int_equal(cpus[1].cpu, 7);
	assert_true(cpus[1].times.t[STAT_IDLE] == 1 && cpus[1].times.t[STAT_IOWAIT] == 0);
	assert_true(s.intr == 99 && s.ctxt == 5 && s.btime == 6 && s.forks == 7);
	assert_true(s.running == 8 && s.blocked == 9);
}

static void test_parse_counts_beyond_cap(void **state)
{
	(void)state;
	static const char buf[] = "cpu  1 1 1 1\ncpu0 1\ncpu1 1\ncpu2 1\n";
	struct stat_cpu cpus[1];
	struct stat_snap s = { .cpus = cpus, .cap = 1 };
	proc_stat_parse(buf, sizeof buf - 1, &s);
	assert_int_equal(s.ncpus, 3);   /* the caller grows to 3 and parses again */
}

static void test_parse_malformed(void **state)
{
	(void)state;
	static const char buf[] = "cpu  1 2\ncpuX 1\ncpu99999999 1 2\n\n\nintr\nctxt abc\n"
				  "procs_runningx 3\ncpu\nprocs_running 5";
	struct stat_cpu cpus[4];
	struct stat_snap s = { .cpus = cpus, .cap = 4 };
	proc_stat_parse(buf, sizeof buf - 1, &s);
	assert_int_equal(s.has, STAT_HAS_ALL | STAT_HAS_RUNNING);
	assert_int_equal(s.ncpus, 0);
	assert_true(s.running == 5);
	proc_stat_parse("", 0, &s);
	assert_int_equal(s.has, 0);
}

static void test_pct_rules(void **state)
{
	(void)state;
	struct stat_times a = { { 100, 0, 100, 1000, 50, 0, 0, 0 } };
	struct stat_times b = a;
	struct rm_rec r;
	/* No time accounted: no reading. */
	rec_init(&r, 0, "0");
	assert_int_equal(proc_stat_pct(&a, &b, &r), -1);
	assert_true(r.present == 0);
	/* idle steps back 20 while iowait rises 30 and user 90: idle clamps
	 * at 0, total = 120. */
	b.t[STAT_IDLE] -= 20;
	b.t[STAT_IOWAIT] += 30;
	b.t[STAT_USER] += 90;
	assert_int_equal(proc_stat_pct(&a, &b, &r), 0);
	assert_field(&r, RM_CPU_IDLE, 0.0);
	assert_field(&r, RM_CPU_BUSY, 75.0);
	assert_field(&r, RM_CPU_IOWAIT, 25.0);
	/* The whole total went backwards: re-baseline, no reading. */
	rec_init(&r, 0, "0");
	assert_int_equal(proc_stat_pct(&b, &a, &r), -1);
	assert_true(r.present == 0);
}

static void test_normal_two_samples(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "normal");
	void *st = fx_open(ST, &root);
	assert_int_equal(fx_sample(ST, st, &cap, 1 * FX_SEC), 0);
	/* First sample: gauges only; the CPUs' records have no field. */
	assert_int_equal(fx_count(&cap, RM_KIND_CPU), 3);
	assert_empty(fx_find(&cap, RM_KIND_CPU, "0"));
	assert_empty(fx_find(&cap, RM_KIND_CPU, "all"));
	assert_field(&cap.sys, RM_SYS_PROCS_RUNNING, 2);
	assert_field(&cap.sys, RM_SYS_PROCS_BLOCKED, 1);
	assert_field(&cap.sys, RM_SYS_NCPU_ONLINE, 2);
	assert_field(&cap.sys, RM_SYS_UPTIME, 101.0);
	assert_no_field(&cap.sys, RM_SYS_CTXT_PS);
	assert_no_field(&cap.sys, RM_SYS_INTR_PS);
	assert_no_field(&cap.sys, RM_SYS_FORKS_PS);

	fx_write(&root, "proc/stat", normal_t1);
	assert_int_equal(fx_sample(ST, st, &cap, 1 * FX_SEC + FX_SEC / 2), 0);
	assert_int_equal(fx_count(&cap, RM_KIND_CPU), 3);
	/* cpu0: +10 user, +5 system, +80 idle, +5 iowait (+3 guest, not
	 * counted) = 100 ticks. */
	check_cpu(fx_find(&cap, RM_KIND_CPU, "0"), 15, 10, 0, 5, 5, 0, 0, 0, 80);
	/* cpu1: user 20 nice 10 system 10 idle 40 iowait 10 irq 2 softirq 3
	 * steal 5 = 100; user_pct has nice, system_pct has irq+softirq. */
	check_cpu(fx_find(&cap, RM_KIND_CPU, "1"), 50, 30, 10, 15, 10, 2, 3, 5, 40);
	/* Total: 200 ticks, 120 idle, 15 iowait. */
	check_cpu(fx_find(&cap, RM_KIND_CPU, "all"), 32.5, 20, 5, 10, 7.5, 1, 1.5, 2.5, 60);
	assert_no_field(fx_find(&cap, RM_KIND_CPU, "all"), RM_CPU_FREQ);
	/* 0.5 s: +2000 interrupts, +5000 switches, +50 forks. */
	assert_field(&cap.sys, RM_SYS_INTR_PS, 4000);
	assert_field(&cap.sys, RM_SYS_CTXT_PS, 10000);
	assert_field(&cap.sys, RM_SYS_FORKS_PS, 100);
	assert_field(&cap.sys, RM_SYS_PROCS_RUNNING, 4);
	assert_field(&cap.sys, RM_SYS_UPTIME, 101.5);
	assert_int_equal(cap.rec[0].ts_ns, FX_RT0 + FX_SEC + FX_SEC / 2);
	ST->close(st);
	fx_root_close(&root);
}

static void sample_stat(struct fx_root *root, void *st, const char *content, uint64_t t)
{
	fx_write(root, "proc/stat", content);
	assert_int_equal(fx_sample(ST, st, &cap, t), 0);
}

static void test_offline_cpu(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "offline");
	void *st = fx_open(ST, &root);
	assert_int_equal(fx_sample(ST, st, &cap, FX_SEC), 0);
	assert_field(&cap.sys, RM_SYS_NCPU_ONLINE, 3);

	/* cpu1 is offline: records for 0, 2, 3 and all only. */
	sample_stat(&root, st,
		    "cpu  4060 0 2035 40205 100 0 0 0 0 0\n"
		    "cpu0 1050 0 525 10025 25 0 0 0 0 0\n"
		    "cpu2 1010 0 510 10080 25 0 0 0 0 0\n"
		    "cpu3 1000 0 500 10100 25 0 0 0 0 0\n", 2 * FX_SEC);
	assert_int_equal(fx_count(&cap, RM_KIND_CPU), 4);
	assert_null(fx_find(&cap, RM_KIND_CPU, "1"));
	assert_field(fx_find(&cap, RM_KIND_CPU, "0"), RM_CPU_BUSY, 75);
	assert_field(fx_find(&cap, RM_KIND_CPU, "2"), RM_CPU_BUSY, 20);
	assert_field(fx_find(&cap, RM_KIND_CPU, "3"), RM_CPU_BUSY, 0);
	assert_field(fx_find(&cap, RM_KIND_CPU, "all"), RM_CPU_BUSY, 95.0 / 3.0);

	/* cpu1 comes back with lower counters and the total's idle drops
	 * (the 358-tick trap): cpu1 and all only re-baseline. */
	sample_stat(&root, st,
		    "cpu  4570 0 2235 39847 160 0 0 0 0 0\n"
		    "cpu0 1050 0 525 10125 25 0 0 0 0 0\n"
		    "cpu1 500 0 200 3000 10 0 0 0 0 0\n"
		    "cpu2 1010 0 510 10180 25 0 0 0 0 0\n"
		    "cpu3 1000 0 500 10200 25 0 0 0 0 0\n", 3 * FX_SEC);
	assert_field(&cap.sys, RM_SYS_NCPU_ONLINE, 4);
	assert_empty(fx_find(&cap, RM_KIND_CPU, "1"));
	assert_empty(fx_find(&cap, RM_KIND_CPU, "all"));
	assert_field(fx_find(&cap, RM_KIND_CPU, "0"), RM_CPU_IDLE, 100);

	/* Next tick everything has a reading again. */
	sample_stat(&root, st,
		    "cpu  4620 0 2235 40197 160 0 0 0 0 0\n"
		    "cpu0 1050 0 525 10225 25 0 0 0 0 0\n"
		    "cpu1 550 0 200 3050 10 0 0 0 0 0\n"
		    "cpu2 1010 0 510 10280 25 0 0 0 0 0\n"
		    "cpu3 1000 0 500 10300 25 0 0 0 0 0\n", 4 * FX_SEC);
	assert_int_equal(fx_count(&cap, RM_KIND_CPU), 5);
	assert_field(fx_find(&cap, RM_KIND_CPU, "1"), RM_CPU_BUSY, 50);
	assert_field(fx_find(&cap, RM_KIND_CPU, "all"), RM_CPU_BUSY, 12.5);
	ST->close(st);
	fx_root_close(&root);
}

static void test_counters_backwards(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "wrap/t0");
	void *st = fx_open(ST, &root);
	assert_int_equal(fx_sample(ST, st, &cap, FX_SEC), 0);
	fx_overlay(&root, "wrap/t1");
	assert_int_equal(fx_sample(ST, st, &cap, 2 * FX_SEC), 0);
	/* cpu0's total went backwards: no reading, never a negative one. */
	assert_empty(fx_find(&cap, RM_KIND_CPU, "0"));
	check_cpu(fx_find(&cap, RM_KIND_CPU, "1"), 60, 50, 0, 10, 0, 0, 0, 0, 40);
	assert_field(fx_find(&cap, RM_KIND_CPU, "all"), RM_CPU_BUSY, 75);
	/* ctxt was reset: absent; the others are plain rates over 1 s. */
	assert_no_field(&cap.sys, RM_SYS_CTXT_PS);
	assert_field(&cap.sys, RM_SYS_FORKS_PS, 10);
	assert_field(&cap.sys, RM_SYS_INTR_PS, 1000);
	fx_overlay(&root, "wrap/t2");
	assert_int_equal(fx_sample(ST, st, &cap, 3 * FX_SEC), 0);
	assert_field(fx_find(&cap, RM_KIND_CPU, "0"), RM_CPU_BUSY, 70);
	assert_field(&cap.sys, RM_SYS_CTXT_PS, 1000);
	ST->close(st);
	fx_root_close(&root);
}

static void test_128_cpus(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "many/t0");
	void *st = fx_open(ST, &root);
	assert_int_equal(fx_sample(ST, st, &cap, FX_SEC), 0);
	fx_overlay(&root, "many/t1");
	assert_int_equal(fx_sample(ST, st, &cap, 2 * FX_SEC), 0);
	assert_int_equal(fx_count(&cap, RM_KIND_CPU), 129);
	assert_field(&cap.sys, RM_SYS_NCPU_ONLINE, 128);
	for (unsigned n = 0; n < 128; n++) {
		char key[8];
		linux_key_uint(key, n);
		const struct rm_rec *r = fx_find(&cap, RM_KIND_CPU, key);
		double b = n % 50;
		check_cpu(r, b + 10, b, 0, 10, 5, 0, 0, 0, 85 - b);
	}
	/* Σ(N%50 + 10) over 128 CPUs = 4108 of 12800 ticks. */
	assert_field(fx_find(&cap, RM_KIND_CPU, "all"), RM_CPU_BUSY, 4108.0 / 128.0);
	ST->close(st);
	fx_root_close(&root);
}

/* CPU numbers far apart: state grows by N, not by line. */
static void test_sparse_high_cpu_numbers(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "offline");
	void *st = fx_open(ST, &root);
	sample_stat(&root, st, "cpu  2 0 0 2\ncpu0 1 0 0 1\ncpu4095 1 0 0 1\n", FX_SEC);
	sample_stat(&root, st, "cpu  4 0 0 4\ncpu0 2 0 0 2\ncpu4095 2 0 0 2\n", 2 * FX_SEC);
	assert_field(fx_find(&cap, RM_KIND_CPU, "4095"), RM_CPU_BUSY, 50);
	assert_field(fx_find(&cap, RM_KIND_CPU, "all"), RM_CPU_BUSY, 50);
	ST->close(st);
	fx_root_close(&root);
}

static void test_missing_and_unreadable(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "offline");
	void *st = NULL;
	/* No stat under this root: absent. */
	struct collect_env env = root.env;
	env.procfd = root.env.sysfd;
	assert_int_equal(ST->open(&env, &st), -ENOENT);
	/* A stat that opens but cannot be read: -errno, nothing emitted. */
	char p[PATH_MAX + 16];
	snprintf(p, sizeof p, "%s/sys/stat", root.dir);
	assert_int_equal(mkdir(p, 0755), 0);
	st = fx_open(ST, &(struct fx_root){ .env = env });
	assert_int_equal(fx_sample(ST, st, &cap, FX_SEC), -EISDIR);
	assert_int_equal(cap.n, 0);
	assert_true(cap.sys.present == 0);
	ST->close(st);
	/* Garbage is not a crash: no cpu line, -EINVAL. */
	st = fx_open(ST, &root);
	sample_stat(&root, st, "cpu  1 1 1 1\n", FX_SEC);
	fx_write(&root, "proc/stat", "\x01\xff garbage\ncpu0\n");
	assert_int_equal(fx_sample(ST, st, &cap, 2 * FX_SEC), -EINVAL);
	ST->close(st);
	fx_root_close(&root);
}

static void test_loadavg(void **state)
{
	(void)state;
	struct loadavg la;
	static const char ok[] = "0.25 0.12 0.04 3/101 4033\n", bad[] = "0.25 0.12\n";
	assert_int_equal(proc_loadavg_parse(ok, sizeof ok - 1, &la), 0);
	assert_near(la.avg[2], 0.04, 1e-12);
	assert_int_equal(proc_loadavg_parse(bad, sizeof bad - 1, &la), -EINVAL);

	struct fx_root root;
	fx_root_tmp(&root, "normal");
	void *st = fx_open(&proc_loadavg_collector, &root);
	assert_int_equal(fx_sample(&proc_loadavg_collector, st, &cap, FX_SEC), 0);
	assert_field(&cap.sys, RM_SYS_LOAD1, 0.25);
	assert_field(&cap.sys, RM_SYS_LOAD5, 0.12);
	assert_field(&cap.sys, RM_SYS_LOAD15, 0.04);
	fx_write(&root, "proc/loadavg", bad);
	assert_int_equal(fx_sample(&proc_loadavg_collector, st, &cap, 2 * FX_SEC), -EINVAL);
	assert_no_field(&cap.sys, RM_SYS_LOAD1);
	proc_loadavg_collector.close(st);
	fx_root_close(&root);

	fx_root_open(&root, "thermal");
	assert_int_equal(proc_loadavg_collector.open(&root.env, &st), -ENOENT);
	fx_root_close(&root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_normal),
		cmocka_unit_test(test_parse_counts_beyond_cap),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_pct_rules),
		cmocka_unit_test(test_normal_two_samples),
		cmocka_unit_test(test_offline_cpu),
		cmocka_unit_test(test_counters_backwards),
		cmocka_unit_test(test_128_cpus),
		cmocka_unit_test(test_sparse_high_cpu_numbers),
		cmocka_unit_test(test_missing_and_unreadable),
		cmocka_unit_test(test_loadavg),
	};
	return cmocka_run_group_tests_name("proc_stat", tests, NULL, NULL);
}
