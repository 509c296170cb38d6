/* proc_meminfo, proc_vmstat and proc_pressure: the memory and pressure
 * fields of the system record; vmstat's head-only reads. */
#include "test-collect.h"

#include <time.h>

#include "readfile.h"

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

/* ---- vmstat: reading only the head ----------------------------------- */

static const struct collector *const VM = &proc_vmstat_collector;

/* A fixture file of the vmstat-head case, whole, in a static buffer. */
static const char *vm_fixture(const char *rel)
{
	static char buf[8192];
	char p[PATH_MAX + 64];
	fx_fmt(p, sizeof p, "%s/vmstat-head/%s", fx_base(), rel);
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	assert_true(n > 0 && n < sizeof buf - 1);
	buf[n] = '\0';
	return buf;
}

/* Offset just past the line "key value" in text. */
static size_t vm_line_end(const char *text, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl);
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ')
			return (size_t)(nl - text) + 1;
		p = nl + 1;
	}
	fail_msg("no %s line", key);
	return 0;
}

/* What the collector should read after a whole read whose last wanted
 * line ended at upto: upto plus an eighth, at least 256 bytes. */
static size_t vm_head_for(size_t upto)
{
	return upto + (upto / 8 > 256 ? upto / 8 : 256);
}

/* Rewrite proc/vmstat with text followed by 2 MiB of other lines: more
 * than the collector's buffer may grow to, so a whole read fails with
 * EFBIG and only a head read can succeed. */
static void vm_write_with_tail(struct fx_root *r, const char *text)
{
	static const char line[] = "nr_tail_filler 1\n";
	size_t tl = strlen(text), n = (2u << 20) / (sizeof line - 1);
	char *big = malloc(tl + n * (sizeof line - 1) + 1);
	assert_non_null(big);
	memcpy(big, text, tl);
	for (size_t i = 0; i < n; i++)
		memcpy(big + tl + i * (sizeof line - 1), line, sizeof line - 1);
	big[tl + n * (sizeof line - 1)] = '\0';
	fx_write(r, "proc/vmstat", big);
	free(big);
}

/* Replace the value of "key old" in text by new (same length). */
static void vm_set(char *text, const char *key, const char *old, const char *new_value)
{
	char pat[64];
	fx_fmt(pat, sizeof pat, "\n%s %s\n", key, old);
	char *at = strstr(text, pat);
	assert_non_null(at);
	assert_int_equal(strlen(old), strlen(new_value));
	memcpy(at + 1 + strlen(key) + 1, new_value, strlen(new_value));
}

/* A whole read teaches the head (on a 6.x layout, about half the file);
 * the next tick reads only that: a tail too big to read whole does not
 * matter, and the four rates are right. */
static void test_vmstat_reads_head_only(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "vmstat-head/t0");
	void *st = fx_open(VM, &root);
	assert_int_equal(proc_vmstat_head(st), 0);   /* nothing learnt yet */
	assert_int_equal(fx_sample(VM, st, &cap, FX_SEC), 0);
	char text[8192];
	fx_fmt(text, sizeof text, "%s", vm_fixture("t0/proc/vmstat"));
	size_t upto = vm_line_end(text, "pgmajfault");   /* the last of the four */
	assert_true(vm_line_end(text, "pswpout") < upto && vm_line_end(text, "pgfault") < upto);
	size_t head = proc_vmstat_head(st);
	assert_int_equal(head, vm_head_for(upto));
	assert_true(head < strlen(text));
	/* 1 s later: +3000 faults, +20 major, +10 in, +0 out. */
	vm_set(text, "pgfault", "1000000", "1003000");
	vm_set(text, "pgmajfault", "1000", "1020");
	vm_set(text, "pswpin", "100", "110");
	vm_write_with_tail(&root, text);
	assert_int_equal(fx_sample(VM, st, &cap, 2 * FX_SEC), 0);
	assert_field(&cap.sys, RM_SYS_PGFAULT_PS, 3000);
	assert_field(&cap.sys, RM_SYS_PGMAJFAULT_PS, 20);
	assert_field(&cap.sys, RM_SYS_PSWPIN_PS, 10);
	assert_field(&cap.sys, RM_SYS_PSWPOUT_PS, 0);
	assert_int_equal(proc_vmstat_head(st), head);
	VM->close(st);
	/* The same file read whole, by a collector with nothing learnt:
	 * it does not fit, which is what made the tick above a head read. */
	st = fx_open(VM, &root);
	assert_int_equal(fx_sample(VM, st, &cap, FX_SEC), -EFBIG);
	VM->close(st);
	fx_root_close(&root);
}

/* The four lines move to the end of the file: the head lacks them, the
 * same tick reads the whole file (no field lost) and learns the new head. */
static void test_vmstat_keys_moved_to_end(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "vmstat-head/t0");
	void *st = fx_open(VM, &root);
	assert_int_equal(fx_sample(VM, st, &cap, FX_SEC), 0);
	size_t head0 = proc_vmstat_head(st);
	fx_overlay(&root, "vmstat-head/t1");
	const char *t1 = vm_fixture("t1/proc/vmstat");
	assert_true(vm_line_end(t1, "pgfault") > head0);   /* out of the head */
	assert_int_equal(fx_sample(VM, st, &cap, 2 * FX_SEC), 0);
	assert_field(&cap.sys, RM_SYS_PGFAULT_PS, 2000);
	assert_field(&cap.sys, RM_SYS_PGMAJFAULT_PS, 10);
	assert_field(&cap.sys, RM_SYS_PSWPIN_PS, 5);
	assert_field(&cap.sys, RM_SYS_PSWPOUT_PS, 0);
	assert_int_equal(proc_vmstat_head(st), vm_head_for(vm_line_end(t1, "pswpout")));
	/* The new head holds them: the next tick reads it and has all four. */
	assert_int_equal(fx_sample(VM, st, &cap, 3 * FX_SEC), 0);
	assert_field(&cap.sys, RM_SYS_PGFAULT_PS, 0);
	assert_field(&cap.sys, RM_SYS_PSWPIN_PS, 0);
	VM->close(st);
	fx_root_close(&root);
}

/* The head's limit falls inside the last wanted line, cutting its number
 * ("pgfault 10" of "pgfault 1000500"): that line is not taken as a
 * value (a rate from 10 would be a reset, an absent field); the whole
 * file is read and the rate is right. */
static void test_vmstat_cut_line_reads_whole(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "wrap/t0");
	static const char t0[] = "pgmajfault 10\npswpin 1\npswpout 2\npgfault 1000\nnr_after 5\n";
	fx_write(&root, "proc/vmstat", t0);
	void *st = fx_open(VM, &root);
	assert_int_equal(fx_sample(VM, st, &cap, FX_SEC), 0);
	size_t head = proc_vmstat_head(st);
	assert_int_equal(head, vm_head_for(vm_line_end(t0, "pgfault")));
	static const char keys[] = "pgmajfault 20\npswpin 1\npswpout 2\n";
	char t1[1024];
	size_t pad = head - 10 - (sizeof keys - 1);   /* pgfault starts 10 before the limit */
	assert_true(pad >= 2 && pad + 64 < sizeof t1);
	memcpy(t1, keys, sizeof keys - 1);
	memset(t1 + sizeof keys - 1, 'z', pad - 1);
	t1[sizeof keys - 1 + pad - 1] = '\n';
	fx_fmt(t1 + sizeof keys - 1 + pad, sizeof t1 - (sizeof keys - 1 + pad), "%s",
	       "pgfault 1000500\nnr_after 5\n");
	assert_int_equal(vm_line_end(t1, "pgfault") - 16, head - 10);
	fx_write(&root, "proc/vmstat", t1);
	assert_int_equal(fx_sample(VM, st, &cap, 2 * FX_SEC), 0);
	assert_field(&cap.sys, RM_SYS_PGFAULT_PS, 999500);
	assert_field(&cap.sys, RM_SYS_PGMAJFAULT_PS, 10);
	assert_field(&cap.sys, RM_SYS_PSWPOUT_PS, 0);
	assert_int_equal(proc_vmstat_head(st), vm_head_for(vm_line_end(t1, "pgfault")));
	VM->close(st);
	fx_root_close(&root);
}

/* A name this kernel does not have stays absent, and does not send
 * every tick back to the whole file. */
static void test_vmstat_absent_key_keeps_head(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "wrap/t0");
	fx_write(&root, "proc/vmstat", "pgfault 1000\npgmajfault 10\npswpout 2\nnr_after 5\n");
	void *st = fx_open(VM, &root);
	assert_int_equal(fx_sample(VM, st, &cap, FX_SEC), 0);
	assert_true(proc_vmstat_head(st) > 0);
	vm_write_with_tail(&root, "pgfault 1100\npgmajfault 10\npswpout 2\nnr_after 5\n");
	assert_int_equal(fx_sample(VM, st, &cap, 2 * FX_SEC), 0);
	assert_field(&cap.sys, RM_SYS_PGFAULT_PS, 100);
	assert_field(&cap.sys, RM_SYS_PGMAJFAULT_PS, 0);
	assert_no_field(&cap.sys, RM_SYS_PSWPIN_PS);
	VM->close(st);
	fx_root_close(&root);
}

/* This machine's /proc/vmstat: the learnt head holds every wanted name
 * the whole file has, and ticks read through it give rates. */
static void test_vmstat_live(void **state)
{
	(void)state;
	struct collect_env env = { .procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC),
				   .sysfd = -1, .clk_tck = 100 };
	assert_true(env.procfd >= 0);
	void *st = NULL;
	if (VM->open(&env, &st) == -ENOENT) {
		close(env.procfd);
		skip();
	}
	assert_non_null(st);
	assert_int_equal(fx_sample(VM, st, &cap, FX_SEC), 0);
	size_t head = proc_vmstat_head(st);
	assert_true(head > 0);   /* every kernel has pgfault */
	struct kept_file k;
	struct vmstat whole, part;
	assert_int_equal(kept_open(&k, env.procfd, "vmstat", 4096, 1u << 20), 0);
	ssize_t n = kept_read(&k);
	assert_true(n > 0);
	proc_vmstat_parse(k.buf.p, (size_t)n, &whole);
	n = kept_read_head(&k, head);
	assert_true(n > 0 && (size_t)n <= head && k.buf.p[n - 1] == '\n');
	proc_vmstat_parse(k.buf.p, (size_t)n, &part);
	assert_true(part.found == whole.found);
	kept_close(&k);
	for (int i = 2; i <= 3; i++) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		assert_int_equal(fx_sample(VM, st, &cap, (uint64_t)i * FX_SEC), 0);
		assert_true(rec_has(&cap.sys, RM_SYS_PGFAULT_PS) &&
			    rec_has(&cap.sys, RM_SYS_PGMAJFAULT_PS));
		assert_int_equal(proc_vmstat_head(st), head);
	}
	VM->close(st);
	close(env.procfd);
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
		cmocka_unit_test(test_vmstat_reads_head_only),
		cmocka_unit_test(test_vmstat_keys_moved_to_end),
		cmocka_unit_test(test_vmstat_cut_line_reads_whole),
		cmocka_unit_test(test_vmstat_absent_key_keeps_head),
		cmocka_unit_test(test_vmstat_live),
		cmocka_unit_test(test_psi_parse),
		cmocka_unit_test(test_psi_normal),
		cmocka_unit_test(test_psi_cpu_some_only),
		cmocka_unit_test(test_psi_missing),
		cmocka_unit_test(test_psi_partial_and_reset),
	};
	return cmocka_run_group_tests_name("proc_mem", tests, NULL, NULL);
}
