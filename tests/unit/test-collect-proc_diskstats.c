/* proc_diskstats: which devices, the 14/18/20-column formats, rates,
 * 32-bit wraps, resets, devices coming and going. */
#include "test-collect.h"

static struct fx_cap cap;
static const struct collector *const DS = &proc_diskstats_collector;

static void test_parse_formats(void **state)
{
	(void)state;
	struct disk_line d;
	static const char c14[] = "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11";
	static const char c18[] = "   8      16 sdb 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15";
	static const char c20[] = " 254       0 vda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17";
	static const char c04[] = "   8       1 sda1 10 20 30 40";
	assert_int_equal(proc_diskstats_parse_line(c14, c14 + sizeof c14 - 1, &d), 0);
	assert_int_equal(d.namelen, 3);
	assert_memory_equal(d.name, "sda", 3);
	assert_true(d.c[DISK_RD_IOS] == 1 && d.c[DISK_WEIGHTED_MS] == 11);
	assert_int_equal(proc_diskstats_parse_line(c18, c18 + sizeof c18 - 1, &d), 0);
	assert_true(d.c[DISK_INFLIGHT] == 9);
	assert_int_equal(proc_diskstats_parse_line(c20, c20 + sizeof c20 - 1, &d), 0);
	assert_true(d.c[DISK_IO_MS] == 10);
	/* Pre-2.6.25 partition lines and junk are rejected, not misread. */
	assert_int_equal(proc_diskstats_parse_line(c04, c04 + sizeof c04 - 1, &d), -EINVAL);
	assert_int_equal(proc_diskstats_parse_line(c04, c04, &d), -EINVAL);
	static const char junk[] = "8 0\n";
	assert_int_equal(proc_diskstats_parse_line(junk, junk + 3, &d), -EINVAL);
}

static void test_rate_clamps_busy(void **state)
{
	(void)state;
	uint64_t a[DISK__COLS] = { 0 }, b[DISK__COLS] = { 0 };
	struct rm_rec r;
	rec_init(&r, 0, "x");
	b[DISK_IO_MS] = 1500;   /* 1.5 s busy in 1 s: rounding at the kernel */
	assert_int_equal(proc_diskstats_rate(a, b, 1.0, &r), 0);
	assert_field(&r, RM_DISK_BUSY, 100);
	assert_no_field(&r, RM_DISK_AWAIT_MS);   /* no request completed */
	rec_init(&r, 0, "x");
	assert_int_equal(proc_diskstats_rate(a, b, 0.0, &r), -1);
	assert_true(r.present == 0);
}

static void test_whole_devices_only(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_open(&root, "normal");
	void *st = fx_open(DS, &root);
	assert_int_equal(fx_sample(DS, st, &cap, FX_SEC), 0);
	/* Kept: vda, dm-0, nvme0n1, mmcblk0.  Skipped: loop0, zram0 (by
	 * name), vda1, nvme0n1p1 (partition file), mmcblk0p1 (not in
	 * block/). */
	assert_int_equal(fx_count(&cap, RM_KIND_DISK), 4);
	assert_non_null(fx_find(&cap, RM_KIND_DISK, "vda"));
	assert_non_null(fx_find(&cap, RM_KIND_DISK, "dm-0"));
	assert_non_null(fx_find(&cap, RM_KIND_DISK, "mmcblk0"));
	const struct rm_rec *r = fx_find(&cap, RM_KIND_DISK, "nvme0n1");
	/* First sample: the gauge only. */
	assert_field(r, RM_DISK_INFLIGHT, 2);
	assert_no_field(r, RM_DISK_READ_BPS);
	assert_no_field(r, RM_DISK_BUSY);
	DS->close(st);
	fx_root_close(&root);
}

static const char normal_t1[] =
	" 254       0 vda 8951 4390 2136266 7748 17144 7795 709696 4212 3 4722 12628 3839 22 84888 206 284 10\n"
	" 254       1 vda1 8000 4000 2000000 7000 17000 7700 700000 4000 0 4400 11900 3800 22 84000 200 0 0\n"
	" 252       0 dm-0 100 0 800 50 200 0 1600 100 1 150 150 0 0 0 0 0 0\n"
	" 259       0 nvme0n1 1000 10 80000 300 2000 20 160000 600 2 700 900 0 0 0 0 10 5\n"
	" 179       0 mmcblk0 10 0 80 5 0 0 0 0 0 5 5 0 0 0 0 0 0\n";

static void test_rates(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "normal");
	void *st = fx_open(DS, &root);
	assert_int_equal(fx_sample(DS, st, &cap, FX_SEC), 0);
	fx_write(&root, "proc/diskstats", normal_t1);
	assert_int_equal(fx_sample(DS, st, &cap, FX_SEC + FX_SEC / 2), 0);
	/* vda over 0.5 s: +100 reads of 2000 sectors in 50 ms, +50 writes
	 * of 1000 sectors in 100 ms, 250 ms busy, 600 weighted ms. */
	const struct rm_rec *r = fx_find(&cap, RM_KIND_DISK, "vda");
	assert_field(r, RM_DISK_READ_BPS, 2000.0 * 512 / 0.5);
	assert_field(r, RM_DISK_WRITE_BPS, 1000.0 * 512 / 0.5);
	assert_field(r, RM_DISK_READ_IOPS, 200);
	assert_field(r, RM_DISK_WRITE_IOPS, 100);
	assert_field(r, RM_DISK_BUSY, 50);
	assert_field(r, RM_DISK_AWAIT_MS, 1.0);
	assert_field(r, RM_DISK_QUEUE, 1.2);
	assert_field(r, RM_DISK_INFLIGHT, 3);
	r = fx_find(&cap, RM_KIND_DISK, "dm-0");
	assert_field(r, RM_DISK_READ_BPS, 0);
	assert_field(r, RM_DISK_BUSY, 0);
	assert_no_field(r, RM_DISK_AWAIT_MS);
	DS->close(st);
	fx_root_close(&root);
}

static void test_appear_disappear(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "normal");
	void *st = fx_open(DS, &root);
	assert_int_equal(fx_sample(DS, st, &cap, FX_SEC), 0);
	/* nvme0n1 goes away: no record. */
	fx_write(&root, "proc/diskstats",
		 " 254       0 vda 8851 4390 2134266 7698 17094 7795 708696 4112 0 4472 12028\n");
	assert_int_equal(fx_sample(DS, st, &cap, 2 * FX_SEC), 0);
	assert_int_equal(fx_count(&cap, RM_KIND_DISK), 1);
	assert_field(fx_find(&cap, RM_KIND_DISK, "vda"), RM_DISK_BUSY, 0);
	/* It comes back (state was freed): a baseline, no rates. */
	fx_write(&root, "proc/diskstats",
		 " 254       0 vda 8851 4390 2134266 7698 17094 7795 708696 4112 0 4472 12028\n"
		 " 259       0 nvme0n1 5 0 40 1 0 0 0 0 0 1 1\n");
	assert_int_equal(fx_sample(DS, st, &cap, 3 * FX_SEC), 0);
	const struct rm_rec *r = fx_find(&cap, RM_KIND_DISK, "nvme0n1");
	assert_field(r, RM_DISK_INFLIGHT, 0);
	assert_no_field(r, RM_DISK_READ_BPS);
	assert_field(fx_find(&cap, RM_KIND_DISK, "vda"), RM_DISK_BUSY, 0);
	DS->close(st);
	fx_root_close(&root);
}

static void test_wrap_and_reset(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "wrap/t0");
	void *st = fx_open(DS, &root);
	assert_int_equal(fx_sample(DS, st, &cap, FX_SEC), 0);
	fx_overlay(&root, "wrap/t1");
	assert_int_equal(fx_sample(DS, st, &cap, 2 * FX_SEC), 0);
	/* vda's ms fields wrapped at 2^32: rd +496 ms, wr +2592 ms, busy
	 * +600 ms, weighted +1006 ms, over 1 s. */
	const struct rm_rec *r = fx_find(&cap, RM_KIND_DISK, "vda");
	assert_field(r, RM_DISK_READ_BPS, 800.0 * 512);
	assert_field(r, RM_DISK_WRITE_BPS, 1600.0 * 512);
	assert_field(r, RM_DISK_READ_IOPS, 100);
	assert_field(r, RM_DISK_BUSY, 60);
	assert_field(r, RM_DISK_QUEUE, 1.006);
	assert_field(r, RM_DISK_AWAIT_MS, (496.0 + 2592.0) / 200.0);
	/* sdb's counters were reset: the gauge, no rate, nothing absurd. */
	r = fx_find(&cap, RM_KIND_DISK, "sdb");
	assert_field(r, RM_DISK_INFLIGHT, 0);
	assert_no_field(r, RM_DISK_READ_BPS);
	assert_no_field(r, RM_DISK_BUSY);
	assert_no_field(r, RM_DISK_AWAIT_MS);
	/* Next tick sdb has rates from its new baseline. */
	fx_overlay(&root, "wrap/t2");
	assert_int_equal(fx_sample(DS, st, &cap, 3 * FX_SEC), 0);
	r = fx_find(&cap, RM_KIND_DISK, "sdb");
	assert_field(r, RM_DISK_READ_BPS, 80.0 * 512);
	assert_field(r, RM_DISK_WRITE_BPS, 160.0 * 512);
	assert_field(r, RM_DISK_WRITE_IOPS, 20);
	assert_field(r, RM_DISK_BUSY, 1);
	assert_field(r, RM_DISK_AWAIT_MS, 0.5);
	assert_field(r, RM_DISK_QUEUE, 0.02);
	DS->close(st);
	fx_root_close(&root);
}

/* 14 and 18 columns; an old 4-field partition line; a cciss name whose
 * sysfs entry spells '/' as '!'. */
static void test_old_formats(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "old");
	char p[PATH_MAX + 32];
	fx_fmt(p, sizeof p, "%s/sys/block/cciss!c0d0", root.dir);
	assert_int_equal(mkdir(p, 0755), 0);
	fx_write(&root, "proc/diskstats",
		 "   8       0 sda 100 20 3000 400 500 60 7000 800 1 900 1200\n"
		 "   8       1 sda1 10 20 30 40\n"
		 "   8      16 sdb 100 20 3000 400 500 60 7000 800 0 900 1200 5 0 80 3\n"
		 " 104       0 cciss/c0d0 1 0 8 1 0 0 0 0 0 1 1\n");
	void *st = fx_open(DS, &root);
	assert_int_equal(fx_sample(DS, st, &cap, FX_SEC), 0);
	assert_int_equal(fx_count(&cap, RM_KIND_DISK), 3);
	assert_field(fx_find(&cap, RM_KIND_DISK, "sda"), RM_DISK_INFLIGHT, 1);
	assert_non_null(fx_find(&cap, RM_KIND_DISK, "sdb"));
	assert_non_null(fx_find(&cap, RM_KIND_DISK, "cciss/c0d0"));
	DS->close(st);
	fx_root_close(&root);
}

/* Without sysfs the partition test cannot run: keep devices rather than
 * lose disks; loop/ram/zram still go by name. */
static void test_no_sysfs(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_open(&root, "normal");
	struct collect_env env = root.env;
	env.sysfd = -1;
	void *st = NULL;
	assert_int_equal(DS->open(&env, &st), 0);
	assert_int_equal(fx_sample(DS, st, &cap, FX_SEC), 0);
	assert_int_equal(fx_count(&cap, RM_KIND_DISK), 7);
	assert_null(fx_find(&cap, RM_KIND_DISK, "loop0"));
	assert_null(fx_find(&cap, RM_KIND_DISK, "zram0"));
	DS->close(st);
	fx_root_close(&root);
}

static void test_missing(void **state)
{
	(void)state;
	struct fx_root root;
	void *st = NULL;
	fx_root_open(&root, "thermal");
	assert_int_equal(DS->open(&root.env, &st), -ENOENT);
	fx_root_close(&root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_formats),
		cmocka_unit_test(test_rate_clamps_busy),
		cmocka_unit_test(test_whole_devices_only),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_appear_disappear),
		cmocka_unit_test(test_wrap_and_reset),
		cmocka_unit_test(test_old_formats),
		cmocka_unit_test(test_no_sysfs),
		cmocka_unit_test(test_missing),
	};
	return cmocka_run_group_tests_name("proc_diskstats", tests, NULL, NULL);
}
