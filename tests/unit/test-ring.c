/*
 * The shared ring: push/read, wrap-around, seek, files that persist, move
 * aside, migrate and recover, a reader/writer race that would show a torn
 * read, and a writer killed mid-flight.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "ring.h"

#define HASH 0x5eedf00dcafe0001u

/* Per test: a private directory and the ring path in it. */
struct fx {
	char dir[64];
	char path[128];
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/rmon-test-ring-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof f->path, "%s/rmon.ring", f->dir);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	DIR *d = opendir(f->dir);
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Records: ts at offset 0, then bytes that depend on n and position. */
static void fill(unsigned char *b, size_t size, uint64_t n, uint64_t ts)
{
	memcpy(b, &ts, 8);
	for (size_t i = 8; i < size; i++)
		b[i] = (unsigned char)(n * 131 + i * 7 + 1);
}

static int matches(const unsigned char *b, size_t size, uint64_t n)
{
	for (size_t i = 8; i < size; i++)
		if (b[i] != (unsigned char)(n * 131 + i * 7 + 1))
			return 0;
	return 1;
}

static uint64_t rec_ts(const unsigned char *b)
{
	uint64_t ts;

	memcpy(&ts, b, 8);
	return ts;
}

static struct ring *open_ok(const char *path, uint64_t hash,
                            const struct ring_lane_spec *lanes, unsigned n,
                            struct ring_open_info *info)
{
	struct ring_opts o = { .path = path, .schema_hash = hash,
	                       .lanes = lanes, .nlanes = n };
	struct ring *r = NULL;
	char err[256] = "";
	int rc = ring_open(&o, &r, info, err, sizeof err);

	if (rc != 0)
		print_error("ring_open: %s\n", err);
	assert_int_equal(rc, 0);
	assert_non_null(r);
	return r;
}

/* A memory ring that ring_persist may make a file. */
static struct ring *open_persistable(const struct ring_lane_spec *lanes, unsigned n)
{
	struct ring_opts o = { .schema_hash = HASH, .lanes = lanes, .nlanes = n,
	                       .may_persist = 1 };
	struct ring *r = NULL;
	char err[256] = "";
	if (ring_open(&o, &r, NULL, err, sizeof err) != 0)
		print_error("ring_open: %s\n", err);
	assert_non_null(r);
	return r;
}

static void push_n(struct ring *r, unsigned lane, uint64_t count)
{
	unsigned char b[256];
	size_t size = ring_rec_size(r, lane);

	assert_true(size <= sizeof b);
	for (uint64_t i = 0; i < count; i++) {
		uint64_t n = ring_head(r, lane);
		fill(b, size, n, 1000 + 10 * n);
		assert_int_equal(ring_push(r, lane, b), n);
	}
}

/* Every record in [from, to) reads back whole, in order. */
static void expect_records(struct ring *r, unsigned lane, uint64_t from,
                           uint64_t to)
{
	unsigned char b[256];
	size_t size = ring_rec_size(r, lane);

	for (uint64_t n = from; n < to; n++) {
		assert_int_equal(ring_read(r, lane, n, b), 0);
		assert_true(matches(b, size, n));
		assert_int_equal(rec_ts(b), 1000 + 10 * n);
	}
}

static void test_push_read_wrap(void **state)
{
	struct ring_lane_spec l = { .id = 7, .rec_size = 40, .capacity = 8 };
	struct ring_open_info info;
	struct ring *r = open_ok(NULL, HASH, &l, 1, &info);
	unsigned char b[40];

	(void)state;
	assert_int_equal(info.created, 1);
	assert_int_equal(ring_lane(r, 7), 0);
	assert_int_equal(ring_lane(r, 8), -1);
	assert_int_equal(ring_capacity(r, 0), 8);
	assert_int_equal(ring_rec_size(r, 0), 40);
	assert_int_equal(ring_head(r, 0), 0);
	assert_int_equal(ring_tail(r, 0), 0);
	assert_int_equal(ring_read(r, 0, 0, b), -ENOENT);
	push_n(r, 0, 5);
	assert_int_equal(ring_tail(r, 0), 0);
	expect_records(r, 0, 0, 5);
	push_n(r, 0, 15);
	assert_int_equal(ring_head(r, 0), 20);
	assert_int_equal(ring_tail(r, 0), 12);
	expect_records(r, 0, 12, 20);
	assert_int_equal(ring_read(r, 0, 11, b), -ENOENT);  /* overwritten */
	assert_int_equal(ring_read(r, 0, 0, b), -ENOENT);
	assert_int_equal(ring_read(r, 0, 20, b), -ENOENT);  /* not yet */
	ring_close(r);
}

static void test_odd_record_size(void **state)
{
	struct ring_lane_spec l = { .id = 1, .rec_size = 13, .capacity = 3 };
	struct ring *r = open_ok(NULL, HASH, &l, 1, NULL);
	unsigned char b[16];

	(void)state;
	push_n(r, 0, 7);
	memset(b, 0xee, sizeof b);
	assert_int_equal(ring_read(r, 0, 6, b), 0);
	assert_true(matches(b, 13, 6));
	assert_int_equal(b[13], 0xee);  /* exactly rec_size bytes written */
	ring_close(r);
}

static void test_seek_time(void **state)
{
	struct ring_lane_spec l = { .id = 1, .rec_size = 16, .capacity = 16 };
	struct ring *r = open_ok(NULL, HASH, &l, 1, NULL);
	unsigned char b[16];

	(void)state;
	assert_int_equal(ring_seek_time(r, 0, 0), 0);  /* empty: head */
	for (uint64_t n = 0; n < 30; n++) {  /* ts 0,0,100,100,200,... */
		fill(b, sizeof b, n, n / 2 * 100);
		ring_push(r, 0, b);
	}
	assert_int_equal(ring_tail(r, 0), 14);
	assert_int_equal(ring_seek_time(r, 0, 0), 14);
	assert_int_equal(ring_seek_time(r, 0, 700), 14);
	assert_int_equal(ring_seek_time(r, 0, 701), 16);
	assert_int_equal(ring_seek_time(r, 0, 1000), 20);
	assert_int_equal(ring_seek_time(r, 0, 1400), 28);
	assert_int_equal(ring_seek_time(r, 0, 1401), 30);
	assert_int_equal(ring_seek_time(r, 0, UINT64_MAX), 30);
	ring_close(r);
}

static void test_memory_lanes(void **state)
{
	struct ring_lane_spec l[3] = {
		{ .id = 10, .rec_size = 8, .capacity = 1 },
		{ .id = 20, .rec_size = 100, .capacity = 5 },
		{ .id = 30, .rec_size = 24, .capacity = 1000 },
	};
	struct ring *r = open_ok(NULL, HASH, l, 3, NULL);

	(void)state;
	assert_int_equal(ring_is_file(r), 0);
	assert_int_equal(ring_sync(r), 0);
	assert_true(ring_bytes(r) >= 8 + 5 * 100 + 1000 * 24);
	assert_int_equal(ring_lane(r, 30), 2);
	push_n(r, 0, 3);
	push_n(r, 1, 9);
	push_n(r, 2, 2);
	assert_int_equal(ring_tail(r, 0), 2);
	expect_records(r, 0, 2, 3);
	expect_records(r, 1, 4, 9);
	expect_records(r, 2, 0, 2);
	ring_close(r);
	ring_close(NULL);
}

static void test_open_errors(void **state)
{
	struct fx *f = *state;
	struct ring_lane_spec bad[2] = {
		{ .id = 1, .rec_size = 4, .capacity = 8 },
		{ .id = 1, .rec_size = 8, .capacity = 8 },
	};
	struct ring_opts o = { .schema_hash = HASH, .lanes = bad, .nlanes = 1 };
	struct ring *r = (struct ring *)1;
	char err[256] = "";
	char path[256];

	assert_int_equal(ring_open(&o, &r, NULL, err, sizeof err), -EINVAL);
	assert_null(r);
	assert_non_null(strstr(err, "ring (memory)"));
	bad[0].rec_size = 8;
	o.nlanes = 2;  /* a repeated id */
	assert_int_equal(ring_open(&o, &r, NULL, err, sizeof err), -EINVAL);
	o.nlanes = 0;
	assert_int_equal(ring_open(&o, &r, NULL, err, sizeof err), -EINVAL);
	o.nlanes = 1;
	bad[0].capacity = UINT64_MAX / 4;
	assert_int_equal(ring_open(&o, &r, NULL, err, sizeof err), -EFBIG);
	bad[0].capacity = 8;
	o.path = "";
	assert_int_equal(ring_open(&o, &r, NULL, err, sizeof err), -EINVAL);
	snprintf(path, sizeof path, "%s/no/such/dir/ring", f->dir);
	o.path = path;
	assert_int_equal(ring_open(&o, &r, NULL, err, sizeof err), -ENOENT);
	assert_non_null(strstr(err, path));
}

static void test_file_persists(void **state)
{
	struct fx *f = *state;
	struct ring_lane_spec l[2] = {
		{ .id = 1, .rec_size = 20, .capacity = 16 },
		{ .id = 2, .rec_size = 64, .capacity = 4 },
	};
	struct ring_open_info info;
	struct ring *r;
	struct stat st;
	mode_t old = umask(022);

	r = open_ok(f->path, HASH, l, 2, &info);
	umask(old);
	assert_int_equal(info.created, 1);
	assert_int_equal(ring_is_file(r), 1);
	push_n(r, 0, 10);
	push_n(r, 1, 6);
	assert_int_equal(ring_sync(r), 0);
	ring_close(r);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal((size_t)st.st_size % 64, 0);

	r = open_ok(f->path, HASH, l, 2, &info);
	assert_int_equal(info.created, 0);
	assert_int_equal(info.migrated, 0);
	assert_string_equal(info.moved_aside, "");
	assert_int_equal(info.recovered, 10 + 4);
	assert_int_equal(info.torn, 0);
	assert_int_equal(ring_head(r, 0), 10);
	assert_int_equal(ring_tail(r, 1), 2);
	expect_records(r, 0, 0, 10);
	expect_records(r, 1, 2, 6);
	push_n(r, 0, 1);  /* numbering continues */
	expect_records(r, 0, 0, 11);
	ring_close(r);
}

static void test_file_lane_order(void **state)
{
	struct fx *f = *state;
	struct ring_lane_spec l[2] = {
		{ .id = 1, .rec_size = 16, .capacity = 4 },
		{ .id = 2, .rec_size = 32, .capacity = 4 },
	};
	struct ring_lane_spec swapped[2] = { l[1], l[0] };
	struct ring_open_info info;
	struct ring *r = open_ok(f->path, HASH, l, 2, NULL);

	push_n(r, 0, 1);
	push_n(r, 1, 2);
	ring_close(r);
	r = open_ok(f->path, HASH, swapped, 2, &info);
	assert_int_equal(info.migrated, 0);  /* same lanes, by id */
	assert_int_equal(ring_lane(r, 2), 0);
	assert_int_equal(ring_head(r, 0), 2);
	assert_int_equal(ring_head(r, 1), 1);
	expect_records(r, 0, 0, 2);
	ring_close(r);
}

static void test_file_busy(void **state)
{
	struct fx *f = *state;
	struct ring_lane_spec l = { .id = 1, .rec_size = 8, .capacity = 4 };
	struct ring_opts o = { .path = f->path, .schema_hash = HASH,
	                       .lanes = &l, .nlanes = 1 };
	struct ring *r = open_ok(f->path, HASH, &l, 1, NULL), *r2 = NULL;
	char err[256] = "";

	assert_int_equal(ring_open(&o, &r2, NULL, err, sizeof err), -EBUSY);
	assert_null(r2);
	assert_non_null(strstr(err, "in use"));
	ring_close(r);
}

static size_t read_file(const char *path, unsigned char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t got;

	assert_true(fd >= 0);
	got = read(fd, buf, len);
	close(fd);
	assert_true(got >= 0);
	return (size_t)got;
}

static void test_schema_moved_aside(void **state)
{
	struct fx *f = *state;
	struct ring_lane_spec l = { .id = 1, .rec_size = 24, .capacity = 8 };
	struct ring_open_info info;
	struct ring *r = open_ok(f->path, HASH, &l, 1, NULL);
	char aside[512];

	push_n(r, 0, 5);
	ring_close(r);
	r = open_ok(f->path, HASH + 1, &l, 1, &info);
	assert_int_equal(info.created, 1);
	assert_non_null(strstr(info.moved_aside, ".incompatible-"));
	assert_int_equal(ring_head(r, 0), 0);
	ring_close(r);
	snprintf(aside, sizeof aside, "%s", info.moved_aside);

	/* The old file is intact under its new name. */
	r = open_ok(aside, HASH, &l, 1, &info);
	assert_int_equal(info.created, 0);
	assert_int_equal(info.recovered, 5);
	expect_records(r, 0, 0, 5);
	ring_close(r);
}

static void corrupt_at(const char *path, off_t off, const void *b, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0600);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, b, n, off), (ssize_t)n);
	close(fd);
}

static void expect_moved(struct fx *f, const struct ring_lane_spec *l,
                         const unsigned char *old, size_t oldlen)
{
	struct ring_open_info info;
	struct ring *r = open_ok(f->path, HASH, l, 1, &info);
	unsigned char buf[1024];

	assert_int_equal(info.created, 1);
	assert_int_not_equal(info.moved_aside[0], '\0');
	assert_int_equal(ring_head(r, 0), 0);
	ring_close(r);
	assert_int_equal(read_file(info.moved_aside, buf, sizeof buf), oldlen);
	assert_memory_equal(buf, old, oldlen);
	unlink(info.moved_aside);
}

static void test_corrupt_moved_aside(void **state)
{
	struct fx *f = *state;
	struct ring_lane_spec l = { .id = 1, .rec_size = 8, .capacity = 4 };
	unsigned char old[1024];
	size_t len;
	struct ring *r = open_ok(f->path, HASH, &l, 1, NULL);

	push_n(r, 0, 3);
	ring_close(r);
	corrupt_at(f->path, 0, "X", 1);  /* magic */
	len = read_file(f->path, old, sizeof old);
	assert_true(len < sizeof old);
	expect_moved(f, &l, old, len);

	corrupt_at(f->path, 40, "\x01", 1);  /* header checksum */
	len = read_file(f->path, old, sizeof old);
	expect_moved(f, &l, old, len);

	assert_int_equal(truncate(f->path, 700), 0);  /* truncated */
	len = read_file(f->path, old, sizeof old);
	expect_moved(f, &l, old, len);

	assert_int_equal(truncate(f->path, 0), 0);  /* empty */
	expect_moved(f, &l, old, 0);
}

static void test_rec_size_moved_aside(void **state)
{
	struct fx *f = *state;
	struct ring_lane_spec l = { .id = 1, .rec_size = 16, .capacity = 4 };
	struct ring_open_info info;
	struct ring *r = open_ok(f->path, HASH, &l, 1, NULL);

	push_n(r, 0, 3);
	ring_close(r);
	l.rec_size = 24;
	r = open_ok(f->path, HASH, &l, 1, &info);
	assert_int_equal(info.migrated, 0);
	assert_int_not_equal(info.moved_aside[0], '\0');
	assert_int_equal(ring_head(r, 0), 0);
	ring_close(r);
}

static void test_migrate(void **state)
{
	struct fx *f = *state;
	struct ring_lane_spec l[2] = {
		{ .id = 1, .rec_size = 24, .capacity = 16 },
		{ .id = 2, .rec_size = 32, .capacity = 4 },
	};
	struct ring_open_info info;
	struct ring *r = open_ok(f->path, HASH, l, 1, NULL);
	struct stat st;
	char tmp[160];

	push_n(r, 0, 40);
	ring_close(r);

	l[0].capacity = 8;  /* smaller, plus a new lane */
	r = open_ok(f->path, HASH, l, 2, &info);
	assert_int_equal(info.migrated, 1);
	assert_int_equal(info.created, 0);
	assert_string_equal(info.moved_aside, "");
	assert_int_equal(info.recovered, 16);
	assert_int_equal(ring_capacity(r, 0), 8);
	assert_int_equal(ring_head(r, 0), 40);
	assert_int_equal(ring_tail(r, 0), 32);
	expect_records(r, 0, 32, 40);
	assert_int_equal(ring_head(r, 1), 0);
	push_n(r, 1, 2);
	ring_close(r);

	l[0].capacity = 64;  /* larger: what was held stays, nothing invented */
	r = open_ok(f->path, HASH, l, 2, &info);
	assert_int_equal(info.migrated, 1);
	assert_int_equal(ring_tail(r, 0), 32);
	expect_records(r, 0, 32, 40);
	expect_records(r, 1, 0, 2);
	push_n(r, 0, 1);
	expect_records(r, 0, 32, 41);
	ring_close(r);
	snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
	assert_int_equal(stat(tmp, &st), -1);
}

/* Where record n's payload starts in the file: searched by content, so
 * the test depends only on the documented slot shape (seq, sum, payload). */
static off_t find_payload(const unsigned char *file, size_t len,
                          const unsigned char *rec, size_t size)
{
	for (size_t off = 0; off + size <= len; off += 8)
		if (memcmp(file + off, rec, size) == 0)
			return (off_t)off;
	fail_msg("record not found in the file");
	return -1;
}

static void test_torn_slots(void **state)
{
	struct fx *f = *state;
	struct ring_lane_spec l = { .id = 1, .rec_size = 32, .capacity = 16 };
	struct ring_open_info info;
	struct ring *r = open_ok(f->path, HASH, &l, 1, NULL);
	unsigned char file[8192];
	unsigned char rec[32];
	size_t len;
	uint64_t odd = 1;  /* record 0 "being written" */
	off_t p0, p5;

	push_n(r, 0, 10);
	ring_close(r);
	len = read_file(f->path, file, sizeof file);
	fill(rec, sizeof rec, 0, 1000);
	p0 = find_payload(file, len, rec, sizeof rec);
	fill(rec, sizeof rec, 5, 1050);
	p5 = find_payload(file, len, rec, sizeof rec);
	corrupt_at(f->path, p0 - 16, &odd, 8);   /* odd seq */
	corrupt_at(f->path, p5 + 20, "\xff\xfe", 2);  /* payload: bad sum */

	r = open_ok(f->path, HASH, &l, 1, &info);
	assert_int_equal(info.torn, 2);
	assert_int_equal(info.recovered, 8);
	assert_int_equal(ring_head(r, 0), 10);
	assert_int_equal(ring_tail(r, 0), 1);  /* leading hole skipped */
	assert_int_equal(ring_read(r, 0, 0, rec), -ENOENT);
	assert_int_equal(ring_read(r, 0, 5, rec), -ENOENT);
	expect_records(r, 0, 1, 5);
	expect_records(r, 0, 6, 10);
	assert_int_equal(ring_seek_time(r, 0, 1040), 4);
	assert_int_equal(ring_seek_time(r, 0, 1041), 6);  /* not the hole */
	push_n(r, 0, 1);
	expect_records(r, 0, 10, 11);
	ring_close(r);

	r = open_ok(f->path, HASH, &l, 1, &info);  /* clean after the scrub */
	assert_int_equal(info.torn, 0);
	assert_int_equal(info.recovered, 9);
	ring_close(r);
}

/* An overwrite that never reached the disk leaves the older record in its
 * slot, whole and with a good sum: recovery must not show it among newer
 * records, so it drops it and the window starts after the gap. */
static void test_lost_overwrite(void **state)
{
	struct fx *f = *state;
	struct ring_lane_spec l = { .id = 1, .rec_size = 24, .capacity = 4 };
	struct ring_open_info info;
	struct ring *r = open_ok(f->path, HASH, &l, 1, NULL);
	unsigned char file[4096], rec[24], slot2[16 + 24];
	size_t len;
	off_t p;

	push_n(r, 0, 3);
	ring_close(r);
	len = read_file(f->path, file, sizeof file);
	fill(rec, sizeof rec, 2, 1020);
	p = find_payload(file, len, rec, sizeof rec);
	memcpy(slot2, file + p - 16, sizeof slot2);  /* record 2, whole */

	r = open_ok(f->path, HASH, &l, 1, NULL);
	push_n(r, 0, 7);  /* 0..9; slot 2 now holds record 6 */
	ring_close(r);
	corrupt_at(f->path, p - 16, slot2, sizeof slot2);

	r = open_ok(f->path, HASH, &l, 1, &info);
	assert_int_equal(info.torn, 0);
	assert_int_equal(info.recovered, 3);
	assert_int_equal(ring_head(r, 0), 10);
	assert_int_equal(ring_tail(r, 0), 7);
	expect_records(r, 0, 7, 10);
	assert_int_equal(ring_read(r, 0, 6, rec), -ENOENT);
	assert_int_equal(ring_seek_time(r, 0, 0), 7);
	ring_close(r);
}

/* A crash while creating leaves "<path>.tmp" and nothing at path. */
static void test_stale_tmp(void **state)
{
	struct fx *f = *state;
	struct ring_lane_spec l = { .id = 1, .rec_size = 8, .capacity = 4 };
	struct ring_open_info info;
	struct ring *r;
	struct stat st;
	char tmp[160];

	snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
	corrupt_at(tmp, 0, "half a ring", 11);
	r = open_ok(f->path, HASH, &l, 1, &info);
	assert_int_equal(info.created, 1);
	assert_int_equal(stat(tmp, &st), -1);
	push_n(r, 0, 2);
	ring_close(r);
}

/* ---- a writer racing readers ---- */

#define STRESS_WORDS 32
#define STRESS_K 0x9e3779b97f4a7c15u

struct stress {
	struct ring *r;
	atomic_int stop;
	atomic_uint_fast64_t good, bad, again, pushed;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *stress_writer(void *arg)
{
	struct stress *s = arg;
	uint64_t w[STRESS_WORDS], n = 0, end = now_ns() + 1000000000u;

	for (;; n++) {
		for (unsigned i = 0; i < STRESS_WORDS; i++)
			w[i] = n * STRESS_K + i;
		ring_push(s->r, 0, w);
		if ((n & 1023) == 0 && now_ns() > end)
			break;
	}
	atomic_store(&s->pushed, n + 1);
	atomic_store(&s->stop, 1);
	return NULL;
}

static void *stress_reader(void *arg)
{
	struct stress *s = arg;
	uint64_t w[STRESS_WORDS], x = (uint64_t)(uintptr_t)&w | 1;
	uint64_t good = 0, bad = 0, again = 0;

	while (!atomic_load(&s->stop)) {
		uint64_t head = ring_head(s->r, 0), back, n;
		int rc, ok = 1;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		back = 1 + x % 72;  /* mostly held, the oldest being overwritten */
		if (head < back)
			continue;
		n = head - back;
		rc = ring_read(s->r, 0, n, w);
		if (rc == -EAGAIN)
			again++;
		if (rc != 0)
			continue;
		for (unsigned i = 0; i < STRESS_WORDS; i++)
			ok &= w[i] == n * STRESS_K + i;
		good += (uint64_t)ok;
		bad += (uint64_t)!ok;
	}
	atomic_fetch_add(&s->good, good);
	atomic_fetch_add(&s->bad, bad);
	atomic_fetch_add(&s->again, again);
	return NULL;
}

static void test_concurrent_readers(void **state)
{
	struct ring_lane_spec l = { .id = 1, .rec_size = 8 * STRESS_WORDS,
	                            .capacity = 64 };
	struct stress s = { .r = open_ok(NULL, HASH, &l, 1, NULL) };
	pthread_t w, rd[3];

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&rd[i], NULL, stress_reader, &s), 0);
	assert_int_equal(pthread_create(&w, NULL, stress_writer, &s), 0);
	pthread_join(w, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(rd[i], NULL);
	print_message("    pushed %llu, reads ok %llu, retry %llu, torn %llu\n",
	              (unsigned long long)atomic_load(&s.pushed),
	              (unsigned long long)atomic_load(&s.good),
	              (unsigned long long)atomic_load(&s.again),
	              (unsigned long long)atomic_load(&s.bad));
	assert_int_equal(atomic_load(&s.bad), 0);
	assert_true(atomic_load(&s.good) > 10000);
	assert_int_equal(ring_head(s.r, 0), atomic_load(&s.pushed));
	ring_close(s.r);
}

/* ---- a memory ring becomes a file ---- */

/* A memory ring opened without may_persist (ring.mode: memory) is never
 * gated and never becomes a file. */
static void test_persist_needs_may_persist(void **state)
{
	struct fx *f = *state;
	struct ring_lane_spec l = { .id = 1, .rec_size = 16, .capacity = 8 };
	struct ring *r = open_ok(NULL, HASH, &l, 1, NULL);
	char err[256] = "";
	struct stat st;

	push_n(r, 0, 3);
	assert_int_equal(ring_persist(r, f->path, NULL, 0, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "may_persist"));
	assert_int_equal(stat(f->path, &st), -1);
	assert_false(ring_is_file(r));
	expect_records(r, 0, 0, 3);
	ring_close(r);
}

static void test_persist_keeps_records(void **state)
{
	struct fx *f = *state;
	struct ring_lane_spec l[2] = { { .id = 1, .rec_size = 40, .capacity = 16 },
	                               { .id = 2, .rec_size = 13, .capacity = 8 } };
	struct ring *r = open_persistable(l, 2);
	struct ring_open_info info;
	char err[256] = "", aside[256] = "x";

	push_n(r, 0, 20);   /* wrapped: 4..19 held */
	push_n(r, 1, 3);
	assert_false(ring_is_file(r));
	assert_int_equal(ring_persist(r, f->path, aside, sizeof aside, err, sizeof err), 0);
	assert_string_equal(aside, "");
	assert_true(ring_is_file(r));
	expect_records(r, 0, 4, 20);
	expect_records(r, 1, 0, 3);
	push_n(r, 0, 5);    /* the writer goes on, now into the file */
	push_n(r, 1, 1);
	assert_int_equal(ring_persist(r, f->path, NULL, 0, err, sizeof err), 0);  /* no-op */
	ring_close(r);
	r = open_ok(f->path, HASH, l, 2, &info);
	assert_int_equal(info.created, 0);
	assert_int_equal(info.torn, 0);
	assert_int_equal(ring_head(r, 0), 25);
	assert_int_equal(ring_tail(r, 0), 9);
	expect_records(r, 0, 9, 25);
	assert_int_equal(ring_head(r, 1), 4);
	expect_records(r, 1, 0, 4);
	ring_close(r);
}

static void test_persist_errors(void **state)
{
	struct fx *f = *state;
	struct ring_lane_spec l = { .id = 1, .rec_size = 16, .capacity = 8 };
	struct ring *r = open_persistable(&l, 1);
	char path[256], err[256] = "", aside[256];
	struct stat st;

	push_n(r, 0, 3);
	snprintf(path, sizeof path, "%s/no/such/dir/rmon.ring", f->dir);
	assert_int_equal(ring_persist(r, path, aside, sizeof aside, err, sizeof err), -ENOENT);
	assert_non_null(strstr(err, "cannot create"));
	assert_false(ring_is_file(r));
	expect_records(r, 0, 0, 3);
	push_n(r, 0, 1);
	/* Something already at the path is kept aside, not overwritten. */
	FILE *old = fopen(f->path, "w");
	assert_non_null(old);
	fputs("older history", old);
	fclose(old);
	assert_int_equal(ring_persist(r, f->path, aside, sizeof aside, err, sizeof err), 0);
	assert_non_null(strstr(aside, ".incompatible-"));
	assert_int_equal(stat(aside, &st), 0);
	assert_int_equal(st.st_size, 13);
	expect_records(r, 0, 0, 4);
	ring_close(r);
}

/* A writer pushes flat out and readers check every record they copy
 * while the ring switches from memory to a file under them: no torn
 * read, no record lost, and the file holds the newest records. */
static void test_persist_live(void **state)
{
	struct fx *f = *state;
	struct ring_lane_spec l = { .id = 1, .rec_size = 8 * STRESS_WORDS, .capacity = 4096 };
	struct stress s = { .r = open_persistable(&l, 1) };
	uint64_t w[STRESS_WORDS], at;
	char err[256] = "";
	pthread_t wr, rd[2];

	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&rd[i], NULL, stress_reader, &s), 0);
	assert_int_equal(pthread_create(&wr, NULL, stress_writer, &s), 0);
	usleep(300000);
	at = ring_head(s.r, 0);
	assert_int_equal(ring_persist(s.r, f->path, NULL, 0, err, sizeof err), 0);
	pthread_join(wr, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(rd[i], NULL);
	print_message("    switched at record %llu of %llu; reads ok %llu, torn %llu\n",
	              (unsigned long long)at, (unsigned long long)atomic_load(&s.pushed),
	              (unsigned long long)atomic_load(&s.good),
	              (unsigned long long)atomic_load(&s.bad));
	assert_int_equal(atomic_load(&s.bad), 0);
	assert_true(at > 0 && at < atomic_load(&s.pushed));
	assert_int_equal(ring_head(s.r, 0), atomic_load(&s.pushed));
	ring_close(s.r);
	s.r = open_ok(f->path, HASH, &l, 1, NULL);
	assert_int_equal(ring_head(s.r, 0), atomic_load(&s.pushed));
	for (uint64_t n = ring_tail(s.r, 0); n < ring_head(s.r, 0); n++) {
		assert_int_equal(ring_read(s.r, 0, n, w), 0);
		for (unsigned i = 0; i < STRESS_WORDS; i++)
			assert_true(w[i] == n * STRESS_K + i);
	}
	ring_close(s.r);
}

/* ---- a writer killed mid-flight ---- */

#define CRASH_CAP 4096
#define CRASH_MIN 2000

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The child: push until killed; tell the parent once history exists.
 * Should the parent die first, stop rather than spin forever. */
static void crash_child(const char *path, const struct ring_lane_spec *l,
                        int ready, pid_t parent)
{
	struct ring_opts o = { .path = path, .schema_hash = HASH,
	                       .lanes = l, .nlanes = 1 };
	struct ring *r;
	unsigned char b[64];
	uint64_t ts = 0;
	char err[256];

	if (ring_open(&o, &r, NULL, err, sizeof err) != 0)
		_exit(1);
	for (uint64_t n = 0;; n++) {
		uint64_t now = wall_ns();
		ts = now > ts ? now : ts;
		fill(b, sizeof b, n, ts);
		ring_push(r, 0, b);
		if (n == CRASH_MIN && write(ready, "x", 1) != 1)
			_exit(1);
		if ((n & 4095) == 0 && getppid() != parent)
			_exit(1);
	}
}

static void test_crash_recovery(void **state)
{
	struct fx *f = *state;
	struct ring_lane_spec l = { .id = 3, .rec_size = 64, .capacity = CRASH_CAP };
	struct ring_open_info info;
	struct timespec nap = { 0, 150 * 1000 * 1000 };
	unsigned char b[64];
	uint64_t head, tail, prev = 0;
	int p[2], status;
	char c;
	ssize_t got;
	pid_t pid, parent = getpid();
	struct ring *r;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		crash_child(f->path, &l, p[1], parent);
	}
	close(p[1]);
	got = read(p[0], &c, 1);
	close(p[0]);
	nanosleep(&nap, NULL);
	kill(pid, SIGKILL);  /* before any assert, so no child outlives us */
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(got, 1);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	r = open_ok(f->path, HASH, &l, 1, &info);
	head = ring_head(r, 0);
	tail = ring_tail(r, 0);
	print_message("    head %llu, tail %llu, recovered %llu, torn %llu\n",
	              (unsigned long long)head, (unsigned long long)tail,
	              (unsigned long long)info.recovered,
	              (unsigned long long)info.torn);
	assert_true(info.torn <= 1);
	assert_true(head > CRASH_MIN);
	assert_true(head - tail >= CRASH_CAP - 1);
	assert_int_equal(info.recovered, head - tail);
	for (uint64_t n = tail; n < head; n++) {
		assert_int_equal(ring_read(r, 0, n, b), 0);
		assert_true(matches(b, sizeof b, n));
		assert_true(rec_ts(b) >= prev);
		prev = rec_ts(b);
	}
	ring_close(r);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_push_read_wrap),
		T(test_odd_record_size),
		T(test_seek_time),
		T(test_memory_lanes),
		T(test_open_errors),
		T(test_file_persists),
		T(test_file_lane_order),
		T(test_file_busy),
		T(test_schema_moved_aside),
		T(test_corrupt_moved_aside),
		T(test_rec_size_moved_aside),
		T(test_migrate),
		T(test_torn_slots),
		T(test_lost_overwrite),
		T(test_stale_tmp),
		T(test_concurrent_readers),
		T(test_crash_recovery),
		T(test_persist_needs_may_persist),
		T(test_persist_keeps_records),
		T(test_persist_errors),
		T(test_persist_live),
	};
#undef T
	/* Moving aside and migrating log on purpose; keep the summary clean. */
	log_init("test-ring", LOG_LVL_ERR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
