/* common/readfile: kept-fd reads (whole, single_open, a head of lines),
 * scanners, the key/value tokenizer; and the small shared pieces of
 * collect/linux (instances, counters). */
#include "test-collect.h"

#include "readfile.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/rmon-rf-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, fx_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* A file in tmpdir with content; returns a dirfd of tmpdir. */
static int put(const char *name, const char *content, size_t len)
{
	char p[128];
	snprintf(p, sizeof p, "%s/%s", tmpdir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	close(fd);
	int dfd = open(tmpdir, O_PATH | O_DIRECTORY);
	assert_true(dfd >= 0);
	return dfd;
}

static void test_pread_fits_and_not(void **state)
{
	(void)state;
	int dfd = put("f", "0123456789", 10);
	char buf[16];
	assert_int_equal(readfile_at(dfd, "f", buf, sizeof buf), 10);
	assert_string_equal(buf, "0123456789");
	/* Exactly cap-1 bytes fit; one more does not. */
	assert_int_equal(readfile_at(dfd, "f", buf, 11), 10);
	assert_int_equal(readfile_at(dfd, "f", buf, 10), -EFBIG);
	assert_int_equal(readfile_at(dfd, "missing", buf, sizeof buf), -ENOENT);
	close(dfd);
	dfd = put("empty", "", 0);
	assert_int_equal(readfile_at(dfd, "empty", buf, sizeof buf), 0);
	assert_string_equal(buf, "");
	close(dfd);
}

static void test_pread_kept_fd_rereads(void **state)
{
	(void)state;
	int dfd = put("g", "first\n", 6);
	int fd = readfile_open(dfd, "g");
	assert_true(fd >= 0);
	char buf[32];
	assert_int_equal(readfile_pread(fd, buf, sizeof buf), 6);
	close(put("g", "second!\n", 8));
	assert_int_equal(readfile_pread(fd, buf, sizeof buf), 8);
	assert_string_equal(buf, "second!\n");
	close(fd);
	close(dfd);
}

static void test_buf_grows_to_max(void **state)
{
	(void)state;
	char big[10000];
	memset(big, 'x', sizeof big);
	int dfd = put("big", big, sizeof big);
	int fd = readfile_open(dfd, "big");
	struct readfile_buf b;
	assert_int_equal(readfile_buf_init(&b, 64, 1 << 14), 0);
	assert_int_equal(readfile_buf_fill(&b, fd), (ssize_t)sizeof big);
	assert_int_equal(b.p[sizeof big], '\0');
	size_t cap = b.cap;
	/* Steady state: a second read does not grow again. */
	assert_int_equal(readfile_buf_fill(&b, fd), (ssize_t)sizeof big);
	assert_int_equal(b.cap, cap);
	readfile_buf_free(&b);
	assert_int_equal(readfile_buf_init(&b, 64, 4096), 0);
	assert_int_equal(readfile_buf_fill(&b, fd), -EFBIG);
	readfile_buf_free(&b);
	close(fd);
	close(dfd);
}

/* A multi-page seq_file comes back a page per read: all of it is read. */
static void test_buf_reads_multi_page_proc(void **state)
{
	(void)state;
	int fd = open("/proc/self/smaps", O_RDONLY);
	if (fd < 0)
		skip();
	struct readfile_buf b;
	assert_int_equal(readfile_buf_init(&b, 512, 64 << 20), 0);
	ssize_t n = readfile_buf_fill(&b, fd);
	assert_true(n > 8192);
	assert_int_equal(b.p[n - 1], '\n');
	assert_non_null(strstr(b.p, "[stack]"));
	readfile_buf_free(&b);
	close(fd);
}

/* ---- single_open files: one pread ------------------------------------ */

static void test_pread_single(void **state)
{
	(void)state;
	int dfd = put("s", "0123456789", 10);
	int fd = readfile_open(dfd, "s");
	char buf[16];
	assert_int_equal(readfile_pread_single(fd, buf, sizeof buf), 10);
	assert_string_equal(buf, "0123456789");
	/* Exactly cap-1 bytes fit (a second pread finds EOF); one more
	 * does not. */
	assert_int_equal(readfile_pread_single(fd, buf, 11), 10);
	assert_string_equal(buf, "0123456789");
	assert_int_equal(readfile_pread_single(fd, buf, 10), -EFBIG);
	assert_int_equal(readfile_pread_single(fd, buf, 1), -EINVAL);
	close(put("s", "new\n", 4));   /* same inode, kept fd re-reads */
	assert_int_equal(readfile_pread_single(fd, buf, sizeof buf), 4);
	assert_string_equal(buf, "new\n");
	close(fd);
	close(dfd);
	dfd = put("e", "", 0);
	fd = readfile_open(dfd, "e");
	assert_int_equal(readfile_pread_single(fd, buf, sizeof buf), 0);
	close(fd);
	close(dfd);
}

/* A file larger than the buffer: grow, read again from 0, keep the size. */
static void test_single_grows_and_rereads(void **state)
{
	(void)state;
	char big[10000];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)('a' + i % 26);
	int dfd = put("big1", big, sizeof big);
	struct kept_file k;
	assert_int_equal(kept_open(&k, dfd, "big1", 64, 1 << 14), 0);
	assert_int_equal(kept_read_single(&k), (ssize_t)sizeof big);
	assert_memory_equal(k.buf.p, big, sizeof big);
	assert_int_equal(k.buf.p[sizeof big], '\0');
	assert_true(k.buf.len == sizeof big);
	size_t cap = k.buf.cap;
	assert_int_equal(kept_read_single(&k), (ssize_t)sizeof big);
	assert_true(k.buf.cap == cap);
	kept_close(&k);
	/* Past max: EFBIG, as kept_read says. */
	assert_int_equal(kept_open(&k, dfd, "big1", 64, 4096), 0);
	assert_int_equal(kept_read_single(&k), -EFBIG);
	kept_close(&k);
	close(dfd);
	/* Exactly cap-1 bytes: maybe more, so one doubling, then all. */
	dfd = put("fit", big, 63);
	assert_int_equal(kept_open(&k, dfd, "fit", 64, 4096), 0);
	assert_int_equal(kept_read_single(&k), 63);
	assert_true(k.buf.cap == 128);
	assert_memory_equal(k.buf.p, big, 63);
	kept_close(&k);
	close(dfd);
}

static unsigned count_lines(const char *p, size_t n)
{
	unsigned lines = 0;
	for (size_t i = 0; i < n; i++)
		lines += p[i] == '\n';
	return lines;
}

/* The kernel's single_open files: one read from a small buffer grows and
 * comes back whole (as many lines as a read to EOF finds). */
static void test_single_live_proc(void **state)
{
	(void)state;
	int procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(procfd >= 0);
	static const char *const files[] = { "meminfo", "stat", "loadavg", "pressure/cpu" };
	for (unsigned i = 0; i < sizeof files / sizeof files[0]; i++) {
		struct kept_file a, b;
		if (kept_open(&a, procfd, files[i], 16, 1 << 20) == -ENOENT)
			continue;   /* no PSI here */
		assert_int_equal(kept_open(&b, procfd, files[i], 16, 1 << 20), 0);
		ssize_t n = kept_read_single(&a), m = kept_read(&b);
		if (n == -EOPNOTSUPP && m == -EOPNOTSUPP) {   /* psi=0 */
			kept_close(&a);
			kept_close(&b);
			continue;
		}
		assert_true(n > 16 && m > 16);
		assert_int_equal(a.buf.p[n - 1], '\n');
		assert_int_equal(count_lines(a.buf.p, (size_t)n), count_lines(b.buf.p, (size_t)m));
		assert_memory_equal(a.buf.p, b.buf.p, 3);   /* same first key */
		kept_close(&a);
		kept_close(&b);
	}
	int fd = readfile_open(procfd, "loadavg");
	char buf[256];
	ssize_t n = readfile_pread_single(fd, buf, sizeof buf);
	assert_true(n > 10 && buf[n - 1] == '\n');
	close(fd);
	close(procfd);
}

/* The single read is one pread: on an iterator seq_file (smaps, a page
 * per read) it would stop at the first page, which is why the collectors
 * of diskstats, net/dev and vmstat (whole) keep reading to EOF. */
static void test_single_is_one_read(void **state)
{
	(void)state;
	int fd = open("/proc/self/smaps", O_RDONLY);
	if (fd < 0)
		skip();
	struct readfile_buf a, b;
	assert_int_equal(readfile_buf_init(&a, 1 << 20, 1 << 22), 0);
	assert_int_equal(readfile_buf_init(&b, 1 << 20, 1 << 22), 0);
	ssize_t whole = readfile_buf_fill(&b, fd);
	ssize_t one = readfile_buf_fill_single(&a, fd);
	assert_true(whole > 8192);
	assert_true(one > 0 && one < whole);
	readfile_buf_free(&a);
	readfile_buf_free(&b);
	close(fd);
}

/* ---- the head of a file, in whole lines -------------------------------- */

static void test_read_head(void **state)
{
	(void)state;
	static const char text[] = "a 1\nbb 22\nccc 333\n";   /* lines end at 4, 10, 18 */
	int dfd = put("h", text, sizeof text - 1);
	struct kept_file k;
	assert_int_equal(kept_open(&k, dfd, "h", 8, 64), 0);
	assert_int_equal(kept_read_head(&k, 10), 10);   /* ends on a line end */
	assert_string_equal(k.buf.p, "a 1\nbb 22\n");
	assert_int_equal(kept_read_head(&k, 12), 10);   /* "cc" cut: dropped */
	assert_string_equal(k.buf.p, "a 1\nbb 22\n");
	assert_true(k.buf.len == 10);
	assert_int_equal(kept_read_head(&k, 3), 0);   /* no whole line */
	assert_string_equal(k.buf.p, "");
	assert_int_equal(kept_read_head(&k, 17), 10);
	assert_int_equal(kept_read_head(&k, 18), 18);
	assert_int_equal(kept_read_head(&k, 40), 18);   /* shorter file: all of it */
	assert_string_equal(k.buf.p, text);
	assert_int_equal(kept_read_head(&k, 0), 18);    /* 0: kept_read */
	assert_int_equal(kept_read_head(&k, 64), -EFBIG);   /* over max */
	kept_close(&k);
	/* A last line without '\n' at EOF is whole. */
	close(put("h", "x 1\ny 2", 7));
	assert_int_equal(kept_open(&k, dfd, "h", 8, 64), 0);
	assert_int_equal(kept_read_head(&k, 30), 7);
	kept_close(&k);
	close(dfd);
}

/* A head longer than a page of a seq_file takes several preads. */
static void test_read_head_multi_page_proc(void **state)
{
	(void)state;
	int procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct kept_file k;
	assert_int_equal(kept_open(&k, procfd, "self/smaps", 512, 1 << 20), 0);
	ssize_t n = kept_read_head(&k, 6000);
	assert_true(n > 6000 - 512 && n <= 6000);
	assert_int_equal(k.buf.p[n - 1], '\n');
	assert_int_equal(k.buf.p[n], '\0');
	kept_close(&k);
	close(procfd);
}

static void test_scan_u64(void **state)
{
	(void)state;
	const char s[] = "123456 x";
	uint64_t v;
	assert_ptr_equal(scan_u64(s, s + 6, &v), s + 6);
	assert_true(v == 123456);
	assert_ptr_equal(scan_u64(s, s + 3, &v), s + 3);   /* bounded by end */
	assert_true(v == 123);
	assert_null(scan_u64(s + 6, s + 8, &v));
	assert_null(scan_u64(s, s, &v));
	const char big[] = "99999999999999999999999";
	assert_non_null(scan_u64(big, big + sizeof big - 1, &v));
	assert_true(v == UINT64_MAX);
	const char cols[] = "  7\t 8";
	const char *p = scan_next_u64(cols, cols + 6, &v);
	assert_true(v == 7);
	assert_non_null(scan_next_u64(p, cols + 6, &v));
	assert_true(v == 8);
}

static void test_scan_i64_f64(void **state)
{
	(void)state;
	int64_t i;
	double d;
	const char a[] = "-5000", b[] = "45000\n", c[] = "0.25 ", e[] = "100.00", f[] = ".5",
		   g[] = "12", h[] = "-";
	assert_non_null(scan_i64(a, a + 5, &i));
	assert_true(i == -5000);
	assert_non_null(scan_i64(b, b + 6, &i));
	assert_true(i == 45000);
	assert_null(scan_i64(h, h + 1, &i));
	assert_ptr_equal(scan_f64(c, c + 5, &d), c + 4);
	assert_near(d, 0.25, 1e-12);
	assert_non_null(scan_f64(e, e + 6, &d));
	assert_near(d, 100.0, 1e-12);
	assert_null(scan_f64(f, f + 2, &d));
	assert_non_null(scan_f64(g, g + 2, &d));
	assert_near(d, 12.0, 1e-12);
}

enum { K_A, K_B, K_C, K_D };
static const struct kv_key kv_keys[] = {
	KV_KEY("Cached", K_A), KV_KEY("MemFree", K_B), KV_KEY("pgfault", K_C), KV_KEY("Zz", K_D),
};

static void test_kv_parse(void **state)
{
	(void)state;
	/* SwapCached must not match Cached; a key without a number is not
	 * found; unknown keys are skipped; no trailing newline. */
	const char buf[] = "SwapCached:   7 kB\nMemFree:\t  42 kB\nCached: 5 kB\n"
			   "Unknown: 9\nZz: none\npgfault 1067883";
	uint64_t v[4] = { 0 }, found;
	kv_parse(buf, sizeof buf - 1, kv_keys, 4, v, &found);
	assert_true(found == ((1u << K_A) | (1u << K_B) | (1u << K_C)));
	assert_true(v[K_A] == 5 && v[K_B] == 42 && v[K_C] == 1067883);
	kv_parse("", 0, kv_keys, 4, v, &found);
	assert_true(found == 0);
}

/* How much of the buffer the stored keys need: past the last one's line. */
static void test_kv_parse_upto(void **state)
{
	(void)state;
	const char buf[] = "MemFree: 42 kB\nCached: 5 kB\nZz: none\nOther 1\n";
	uint64_t v[4] = { 0 }, found;
	/* Zz has no number: the span ends after Cached's line. */
	assert_int_equal(kv_parse_upto(buf, sizeof buf - 1, kv_keys, 4, v, &found),
			 strlen("MemFree: 42 kB\nCached: 5 kB\n"));
	assert_true(found == ((1u << K_A) | (1u << K_B)));
	const char last[] = "x 1\npgfault 7";   /* no newline at the end */
	assert_int_equal(kv_parse_upto(last, sizeof last - 1, kv_keys, 4, v, &found),
			 sizeof last - 1);
	assert_int_equal(kv_parse_upto("x 1\n", 4, kv_keys, 4, v, &found), 0);
	assert_true(found == 0);
}

static void test_kv_parse_stops_when_all_found(void **state)
{
	(void)state;
	static const struct kv_key one[] = { KV_KEY("a", 0) };
	const char buf[] = "a 1\na 2\n";
	uint64_t v[1], found;
	kv_parse(buf, sizeof buf - 1, one, 1, v, &found);
	assert_true(found == 1 && v[0] == 1);
}

static void test_counter_deltas(void **state)
{
	(void)state;
	uint64_t d;
	assert_int_equal(ctr_delta(10, 15, &d), 0);
	assert_true(d == 5);
	assert_int_equal(ctr_delta(15, 10, &d), -1);
	/* A 32-bit wrap is a small modular step... */
	assert_int_equal(ctr_delta32(4294967000u, 200, &d), 0);
	assert_true(d == 496);
	/* ...a big one is a reset, and so is any decrease above 2^32. */
	assert_int_equal(ctr_delta32(5000, 100, &d), -1);
	assert_int_equal(ctr_delta32(UINT64_C(1) << 40, 100, &d), -1);
	assert_near(tick_dt(FX_SEC, 3 * FX_SEC / 2), 0.5, 1e-12);
	assert_near(tick_dt(FX_SEC, FX_SEC), 0.0, 0);
}

struct ent {
	struct inst hdr;
	int v;
};

static void test_instab(void **state)
{
	(void)state;
	struct instab t;
	int fresh;
	instab_init(&t, sizeof(struct ent));
	for (int i = 0; i < 20; i++) {
		char name[8];
		snprintf(name, sizeof name, "d%d", i);
		struct ent *e = instab_get(&t, name, strlen(name), 1, &fresh);
		assert_true(fresh);
		e->v = i;
	}
	/* Generation 2 sees only the odd ones: the rest are forgotten. */
	for (int i = 1; i < 20; i += 2) {
		char name[8];
		snprintf(name, sizeof name, "d%d", i);
		struct ent *e = instab_get(&t, name, strlen(name), 2, &fresh);
		assert_false(fresh);
		assert_int_equal(e->v, i);
	}
	instab_sweep(&t, 2);
	assert_int_equal(t.n, 10);
	struct ent *e = instab_get(&t, "d4", 2, 3, &fresh);
	assert_true(fresh);
	assert_int_equal(e->v, 0);
	/* "d1" is not a prefix match of "d11". */
	e = instab_get(&t, "d1", 2, 3, &fresh);
	assert_false(fresh);
	assert_int_equal(e->v, 1);
	/* Over-long names are truncated to the key size. */
	const char *longname = "abcdefghijklmnopqrstuvwxyz0123456789";
	e = instab_get(&t, longname, strlen(longname), 3, &fresh);
	assert_int_equal(strlen(e->hdr.name), RM_KEY_MAX - 1);
	instab_free(&t);
}

static void test_key_uint(void **state)
{
	(void)state;
	char k[RM_KEY_MAX];
	linux_key_uint(k, 0);
	assert_string_equal(k, "0");
	linux_key_uint(k, 4095);
	assert_string_equal(k, "4095");
	linux_key_uint(k, 4294967295u);
	assert_string_equal(k, "4294967295");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pread_fits_and_not),
		cmocka_unit_test(test_pread_kept_fd_rereads),
		cmocka_unit_test(test_buf_grows_to_max),
		cmocka_unit_test(test_buf_reads_multi_page_proc),
		cmocka_unit_test(test_pread_single),
		cmocka_unit_test(test_single_grows_and_rereads),
		cmocka_unit_test(test_single_live_proc),
		cmocka_unit_test(test_single_is_one_read),
		cmocka_unit_test(test_read_head),
		cmocka_unit_test(test_read_head_multi_page_proc),
		cmocka_unit_test(test_scan_u64),
		cmocka_unit_test(test_scan_i64_f64),
		cmocka_unit_test(test_kv_parse),
		cmocka_unit_test(test_kv_parse_upto),
		cmocka_unit_test(test_kv_parse_stops_when_all_found),
		cmocka_unit_test(test_counter_deltas),
		cmocka_unit_test(test_instab),
		cmocka_unit_test(test_key_uint),
	};
	return cmocka_run_group_tests_name("readfile", tests, setup, teardown);
}
