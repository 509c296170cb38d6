/* proc_meminfo, proc_vmstat and proc_pressure: the memory and pressure
 * fields of the system record. */
#include "test-collect.h"

static struct fx_cap cap;

#define KB(x) ((double)(x) * 1024.0)

/* ---- meminfo ---------------------------------------------------------- */

static void test_meminfo_normal(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_open(&root, "normal");
	void *st = fx_open(&proc_meminfo_collector, &root);
	assert_int_equal(fx_sample(&proc_meminfo_collector, st, &cap, FX_SEC), 0);
	const struct rm_rec *s = &cap.sys;
	assert_field(s, RM_SYS_MEM_TOTAL, KB(24684084));
	assert_field(s, RM_SYS_MEM_AVAIL, KB(24347168));
	assert_field(s, RM_SYS_MEM_USED, KB(24684084 - 24347168));
	assert_field(s, RM_SYS_MEM_USED_PCT, 100.0 * (24684084 - 24347168) / 24684084.0);
	assert_field(s, RM_SYS_MEM_FREE, KB(24252816));
	assert_field(s, RM_SYS_MEM_BUFFERS, KB(3044));
	assert_field(s, RM_SYS_MEM_CACHED, KB(281632 + 50308));
	assert_field(s, RM_SYS_MEM_SHARED, KB(8872));
	assert_field(s, RM_SYS_MEM_DIRTY, KB(64));
	assert_field(s, RM_SYS_SWAP_TOTAL, KB(2097148));
	assert_field(s, RM_SYS_SWAP_USED, KB(97148));
	proc_meminfo_collector.close(st);
	fx_root_close(&root);
}

/* Before 3.14: no MemAvailable, no SReclaimable, no Shmem. */
static void test_meminfo_old_kernel(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_open(&root, "old");
	void *st = fx_open(&proc_meminfo_collector, &root);
	assert_int_equal(fx_sample(&proc_meminfo_collector, st, &cap, FX_SEC), 0);
	assert_field(&cap.sys, RM_SYS_MEM_AVAIL, KB(512000));
	assert_field(&cap.sys, RM_SYS_MEM_USED, KB(2048000 - 512000));
	assert_field(&cap.sys, RM_SYS_MEM_USED_PCT, 75);
	assert_field(&cap.sys, RM_SYS_MEM_CACHED, KB(200000));
	assert_field(&cap.sys, RM_SYS_SWAP_USED, 0);
	assert_no_field(&cap.sys, RM_SYS_MEM_SHARED);
	proc_meminfo_collector.close(st);
	fx_root_close(&root);
}

static void fill(const char *text, struct rm_rec *sys)
{
	struct meminfo m;
	rec_init(sys, 0, NULL);
	proc_meminfo_parse(text, strlen(text), &m);
	proc_meminfo_fill(&m, sys);
}

static void test_meminfo_fallbacks(void **state)
{
	(void)state;
	struct rm_rec s;
	/* MemAvailable above MemTotal (lxcfs): MemFree stands in. */
	fill("MemTotal: 1000 kB\nMemFree: 300 kB\nMemAvailable: 2000 kB\n", &s);
	assert_field(&s, RM_SYS_MEM_AVAIL, KB(300));
	assert_field(&s, RM_SYS_MEM_USED, KB(700));
	assert_field(&s, RM_SYS_MEM_USED_PCT, 70);
	/* No MemTotal: nothing derived from it. */
	fill("MemFree: 5 kB\nWeird line\n:\n\n", &s);
	assert_field(&s, RM_SYS_MEM_FREE, KB(5));
	assert_no_field(&s, RM_SYS_MEM_TOTAL);
	assert_no_field(&s, RM_SYS_MEM_USED);
	assert_no_field(&s, RM_SYS_MEM_USED_PCT);
	assert_no_field(&s, RM_SYS_MEM_AVAIL);
	assert_no_field(&s, RM_SYS_SWAP_USED);
	/* SwapFree without SwapTotal: no swap_used. */
	fill("MemTotal: 10 kB\nSwapFree: 5 kB\n", &s);
	assert_no_field(&s, RM_SYS_SWAP_USED);
	assert_no_field(&s, RM_SYS_MEM_USED);
	/* Garbage only: nothing, and the collector says so. */
	fill("\x01\x02\x03", &s);
	assert_true(s.present == 0);
}

/* ---- vmstat ----------------------------------------------------------- */

static void test_vmstat_rates(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "normal");
	void *st = fx_open(&proc_vmstat_collector, &root);
	assert_int_equal(fx_sample(&proc_vmstat_collector, st, &cap, FX_SEC), 0);
	assert_no_field(&cap.sys, RM_SYS_PGFAULT_PS);
	/* +1000 faults, +10 major, +5 in, +0 out in 0.5 s; no pswpin line
	 * is not a zero. */
	fx_write(&root, "proc/vmstat",
		 "nr_free_pages 1\npswpout 20\npgfault 1068883\npgmajfault 1004\n");
	assert_int_equal(fx_sample(&proc_vmstat_collector, st, &cap, FX_SEC + FX_SEC / 2), 0);
	assert_field(&cap.sys, RM_SYS_PGFAULT_PS, 2000);
	assert_field(&cap.sys, RM_SYS_PGMAJFAULT_PS, 20);
	assert_field(&cap.sys, RM_SYS_PSWPOUT_PS, 0);
	assert_no_field(&cap.sys, RM_SYS_PSWPIN_PS);
	proc_vmstat_collector.close(st);
	fx_root_close(&root);
}

static void test_vmstat_reset(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "wrap/t0");
	void *st = fx_open(&proc_vmstat_collector, &root);
	assert_int_equal(fx_sample(&proc_vmstat_collector, st, &cap, FX_SEC), 0);
	fx_overlay(&root, "wrap/t1");
	assert_int_equal(fx_sample(&proc_vmstat_collector, st, &cap, 2 * FX_SEC), 0);
	assert_no_field(&cap.sys, RM_SYS_PGFAULT_PS);   /* went backwards */
	assert_field(&cap.sys, RM_SYS_PGMAJFAULT_PS, 10);
	fx_overlay(&root, "wrap/t2");
	assert_int_equal(fx_sample(&proc_vmstat_collector, st, &cap, 3 * FX_SEC), 0);
	assert_field(&cap.sys, RM_SYS_PGFAULT_PS, 100);
	proc_vmstat_collector.close(st);
	fx_root_close(&root);
}

/* ---- pressure --------------------------------------------------------- */

static const struct collector *const PSI = &proc_pressure_collector;

static void test_psi_parse(void **state)
{
	(void)state;
	struct psi_file f;
	static const char ok[] = "some avg10=2.89 avg60=1.16 avg300=0.64 total=2920425 new=1\n"
				 "full avg10=0.50 avg60=0.25 avg300=0.00 total=7\n";
	proc_pressure_parse(ok, sizeof ok - 1, &f);
	assert_int_equal(f.has, 3);
	assert_near(f.avg10[PSI_SOME], 2.89, 1e-12);
	assert_near(f.avg60[PSI_FULL], 0.25, 1e-12);
	assert_true(f.total_us[PSI_SOME] == 2920425 && f.total_us[PSI_FULL] == 7);
	/* A line missing total, or with a bad number, does not count. */
	static const char bad[] = "some avg10=1.00 avg60=1.00 avg300=1.00\n"
				  "full avg10=x avg60=1.00 total=3\nsomething else\n";
	proc_pressure_parse(bad, sizeof bad - 1, &f);
	assert_int_equal(f.has, 0);
	proc_pressure_parse("", 0, &f);
	assert_int_equal(f.has, 0);
}

static void test_psi_normal(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "normal");
	void *st = fx_open(PSI, &root);
	assert_int_equal(fx_sample(PSI, st, &cap, FX_SEC), 0);
	assert_field(&cap.sys, RM_SYS_PSI_CPU_SOME10, 2.89);
	assert_field(&cap.sys, RM_SYS_PSI_CPU_SOME60, 1.16);
	assert_field(&cap.sys, RM_SYS_PSI_MEM_FULL60, 0.06);
	assert_field(&cap.sys, RM_SYS_PSI_IO_FULL10, 0.15);
	assert_no_field(&cap.sys, RM_SYS_PSI_CPU_SOME_RATE);   /* first sample */
	/* 1 s later: cpu some +250 ms, memory some +1 ms, io unchanged. */
	fx_write(&root, "proc/pressure/cpu",
		 "some avg10=3.00 avg60=1.20 avg300=0.64 total=3170425\n"
		 "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
	fx_write(&root, "proc/pressure/memory",
		 "some avg10=0.10 avg60=0.20 avg300=0.30 total=2000\n"
		 "full avg10=0.05 avg60=0.06 avg300=0.07 total=500\n");
	assert_int_equal(fx_sample(PSI, st, &cap, 2 * FX_SEC), 0);
	assert_field(&cap.sys, RM_SYS_PSI_CPU_SOME10, 3.00);
	assert_field(&cap.sys, RM_SYS_PSI_CPU_SOME_RATE, 25);
	assert_field(&cap.sys, RM_SYS_PSI_CPU_FULL_RATE, 0);
	assert_field(&cap.sys, RM_SYS_PSI_MEM_SOME_RATE, 0.1);
	assert_field(&cap.sys, RM_SYS_PSI_MEM_FULL_RATE, 0);
	assert_field(&cap.sys, RM_SYS_PSI_IO_SOME_RATE, 0);
	/* A stall longer than the interval (clock skew) is clamped. */
	fx_write(&root, "proc/pressure/cpu",
		 "some avg10=3.00 avg60=1.20 avg300=0.64 total=5170425\n");
	assert_int_equal(fx_sample(PSI, st, &cap, 3 * FX_SEC), 0);
	assert_field(&cap.sys, RM_SYS_PSI_CPU_SOME_RATE, 100);
	assert_no_field(&cap.sys, RM_SYS_PSI_CPU_FULL10);
	PSI->close(st);
	fx_root_close(&root);
}

/* An older cpu file has only "some": the full fields are absent. */
static void test_psi_cpu_some_only(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_open(&root, "offline");
	void *st = fx_open(PSI, &root);
	assert_int_equal(fx_sample(PSI, st, &cap, FX_SEC), 0);
	assert_field(&cap.sys, RM_SYS_PSI_CPU_SOME10, 1.5);
	assert_no_field(&cap.sys, RM_SYS_PSI_CPU_FULL10);
	assert_no_field(&cap.sys, RM_SYS_PSI_CPU_FULL60);
	assert_field(&cap.sys, RM_SYS_PSI_MEM_FULL10, 0);
	assert_int_equal(fx_sample(PSI, st, &cap, 2 * FX_SEC), 0);
	assert_field(&cap.sys, RM_SYS_PSI_CPU_SOME_RATE, 0);
	assert_no_field(&cap.sys, RM_SYS_PSI_CPU_FULL_RATE);
	PSI->close(st);
	fx_root_close(&root);
}

static void test_psi_missing(void **state)
{
	(void)state;
	struct fx_root root;
	void *st = NULL;
	fx_root_open(&root, "old");
	assert_int_equal(PSI->open(&root.env, &st), -ENOENT);
	assert_null(st);
	fx_root_close(&root);
}

/* Only pressure/cpu exists; its some total goes backwards. */
static void test_psi_partial_and_reset(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "wrap/t0");
	void *st = fx_open(PSI, &root);
	assert_int_equal(fx_sample(PSI, st, &cap, FX_SEC), 0);
	assert_no_field(&cap.sys, RM_SYS_PSI_MEM_SOME10);
	fx_overlay(&root, "wrap/t1");
	assert_int_equal(fx_sample(PSI, st, &cap, 2 * FX_SEC), 0);
	assert_no_field(&cap.sys, RM_SYS_PSI_CPU_SOME_RATE);
	assert_field(&cap.sys, RM_SYS_PSI_CPU_FULL_RATE, 0);
	fx_overlay(&root, "wrap/t2");
	assert_int_equal(fx_sample(PSI, st, &cap, 3 * FX_SEC), 0);
	assert_field(&cap.sys, RM_SYS_PSI_CPU_SOME_RATE, 25);
	PSI->close(st);
	fx_root_close(&root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meminfo_normal),
		cmocka_unit_test(test_meminfo_old_kernel),
		cmocka_unit_test(test_meminfo_fallbacks),
		cmocka_unit_test(test_vmstat_rates),
		cmocka_unit_test(test_vmstat_reset),
		cmocka_unit_test(test_psi_parse),
		cmocka_unit_test(test_psi_normal),
		cmocka_unit_test(test_psi_cpu_some_only),
		cmocka_unit_test(test_psi_missing),
		cmocka_unit_test(test_psi_partial_and_reset),
	};
	return cmocka_run_group_tests_name("proc_mem", tests, NULL, NULL);
}
