/*
 * /proc/diskstats: whole block devices.
 *
 * Skipped: loop*, ram*, zram*, and partitions, told apart through sysfs
 * rather than a name pattern (mmcblk0p1, nvme0n1p1, dm-0 all defeat
 * regexes): NAME is a partition when class/block/NAME/partition exists,
 * or when NAME is not in block/.  The verdict is taken once, when a
 * device first shows up, and kept with its state.  dm-* and md* are kept
 * as their own series (they re-count their members' I/O: never add them
 * to a disk total).
 *
 * Sectors are always 512 bytes here, whatever the device's block size.
 * The ms fields are 32-bit in the kernel and wrap; see ctr_delta32.
 *
 * An iterator seq_file (a record per device, at most a page per read):
 * a short read is not the end, so it is read until pread returns 0.
 */
#include "linux.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readfile.h"

struct disk {
	struct inst hdr;
	int skip;                   /* not a whole device: no record */
	int has_prev;
	uint64_t prev[DISK__COLS];
};

struct proc_diskstats {
	struct kept_file file;
	int sysfd;
	int sys_block;              /* sysfs has block/: the partition test works */
	struct instab disks;
	uint32_t gen;
	uint64_t prev_mono;
};

/* "major minor name": past the name, or NULL. */
static const char *disk_parse_name(const char *p, const char *end, struct disk_line *d)
{
	uint64_t major, minor;
	if (!(p = scan_next_u64(p, end, &major)) || !(p = scan_next_u64(p, end, &minor)))
		return NULL;
	p = scan_blank(p, end);
	d->name = p;
	while (p < end && *p != ' ' && *p != '\t')
		p++;
	d->namelen = (size_t)(p - d->name);
	return d->namelen ? p : NULL;
}

/* 11, 15 or 17 counters follow the name; the first 11 are all we use. */
static int disk_parse_counters(const char *p, const char *end, struct disk_line *d)
{
	for (int i = 0; i < DISK__COLS; i++)
		if (!(p = scan_next_u64(p, end, &d->c[i])))
			return -EINVAL;
	return 0;
}

int proc_diskstats_parse_line(const char *p, const char *end, struct disk_line *d)
{
	p = disk_parse_name(p, end, d);
	return p ? disk_parse_counters(p, end, d) : -EINVAL;
}

/* Δ of every column, wrap-aware; -1 when any column was reset. */
static int disk_deltas(const uint64_t *prev, const uint64_t *cur, uint64_t *d)
{
	for (int i = 0; i < DISK__COLS; i++) {
		if (i == DISK_INFLIGHT)
			continue;   /* a gauge */
		if (ctr_delta32(prev[i], cur[i], &d[i]))
			return -1;
	}
	return 0;
}

int proc_diskstats_rate(const uint64_t *prev, const uint64_t *cur, double dt_s,
			struct rm_rec *r)
{
	uint64_t d[DISK__COLS];
	if (dt_s <= 0 || disk_deltas(prev, cur, d))
		return -1;
	double dt_ms = dt_s * 1000.0;
	rec_set(r, RM_DISK_READ_BPS, (double)d[DISK_RD_SECTORS] * 512.0 / dt_s);
	rec_set(r, RM_DISK_WRITE_BPS, (double)d[DISK_WR_SECTORS] * 512.0 / dt_s);
	rec_set(r, RM_DISK_READ_IOPS, (double)d[DISK_RD_IOS] / dt_s);
	rec_set(r, RM_DISK_WRITE_IOPS, (double)d[DISK_WR_IOS] / dt_s);
	double busy = (double)d[DISK_IO_MS] / dt_ms * 100.0;
	rec_set(r, RM_DISK_BUSY, busy > 100.0 ? 100.0 : busy);
	rec_set(r, RM_DISK_QUEUE, (double)d[DISK_WEIGHTED_MS] / dt_ms);
	uint64_t ios = d[DISK_RD_IOS] + d[DISK_WR_IOS];
	if (ios)
		rec_set(r, RM_DISK_AWAIT_MS, (double)(d[DISK_RD_MS] + d[DISK_WR_MS]) / (double)ios);
	return 0;
}

/* ---- which devices ---------------------------------------------------- */

static int disk_name_prefix(const char *name, size_t len, const char *pfx)
{
	size_t pl = strlen(pfx);
	return len > pl && memcmp(name, pfx, pl) == 0;
}

/* dir/NAME/leaf exists under sysfs.  Names with '/' (cciss/c0d0) appear
 * in sysfs with '!'; "." and ".." are nobody's disk. */
static int disk_sys_exists(int sysfd, const char *dir, const char *name, size_t len,
			   const char *leaf)
{
	char path[128];
	size_t dl = strlen(dir), ll = strlen(leaf);
	if (dl + len + ll + 2 >= sizeof path || (name[0] == '.' && len <= 2))
		return 0;
	memcpy(path, dir, dl);
	for (size_t i = 0; i < len; i++)
		path[dl + i] = name[i] == '/' ? '!' : name[i];
	memcpy(path + dl + len, leaf, ll + 1);
	struct stat sb;
	return fstatat(sysfd, path, &sb, 0) == 0;
}

static int disk_is_whole(const struct proc_diskstats *st, const char *name, size_t len)
{
	if (disk_name_prefix(name, len, "loop") || disk_name_prefix(name, len, "ram") ||
	    disk_name_prefix(name, len, "zram"))
		return 0;
	if (!st->sys_block)
		return 1;   /* no sysfs to ask: keep it rather than drop disks */
	if (disk_sys_exists(st->sysfd, "class/block/", name, len, "/partition"))
		return 0;
	return disk_sys_exists(st->sysfd, "block/", name, len, "");
}

/* ---- collector -------------------------------------------------------- */

static void diskstats_close(void *state)
{
	struct proc_diskstats *st = state;
	if (!st)
		return;
	kept_close(&st->file);
	instab_free(&st->disks);
	free(st);
}

static int diskstats_open(const struct collect_env *env, void **state)
{
	struct proc_diskstats *st = calloc(1, sizeof *st);
	if (!st)
		return -ENOMEM;
	struct stat sb;
	st->sysfd = env->sysfd;
	st->sys_block = fstatat(env->sysfd, "block", &sb, 0) == 0 && S_ISDIR(sb.st_mode);
	instab_init(&st->disks, sizeof(struct disk));
	int err = kept_open(&st->file, env->procfd, "diskstats", 16384, 16u << 20);
	if (err) {
		diskstats_close(st);
		return err;
	}
	*state = st;
	return 0;
}

/* One line: the device is looked up by name first, so the counters of
 * skipped devices (loop0..loop7 on most machines) are never parsed. */
static void diskstats_line(struct proc_diskstats *st, const char *p, const char *end,
			   double dt, struct collect_tick *t)
{
	struct disk_line dl;
	int fresh;
	if (!(p = disk_parse_name(p, end, &dl)))
		return;
	struct disk *d = instab_get(&st->disks, dl.name, dl.namelen, st->gen, &fresh);
	if (!d)
		return;
	if (fresh)
		d->skip = !disk_is_whole(st, dl.name, dl.namelen);
	if (d->skip || disk_parse_counters(p, end, &dl))
		return;
	struct rm_rec r;
	rec_init(&r, t->rt_ns, d->hdr.name);
	rec_set(&r, RM_DISK_INFLIGHT, (double)dl.c[DISK_INFLIGHT]);
	/* A reset gives no rates this tick; the copy below re-baselines. */
	if (d->has_prev)
		proc_diskstats_rate(d->prev, dl.c, dt, &r);
	memcpy(d->prev, dl.c, sizeof d->prev);
	d->has_prev = 1;
	t->emit(t, RM_KIND_DISK, &r);
}

static int diskstats_sample(void *state, struct collect_tick *t)
{
	struct proc_diskstats *st = state;
	ssize_t n = kept_read(&st->file);
	if (n < 0)
		return (int)n;
	double dt = st->gen ? tick_dt(st->prev_mono, t->mono_ns) : 0;
	st->gen++;
	const char *p = st->file.buf.p, *end = p + n;
	while (p < end) {
		const char *ls, *le = scan_line(&p, end, &ls);
		diskstats_line(st, ls, le, dt, t);
	}
	instab_sweep(&st->disks, st->gen);
	st->prev_mono = t->mono_ns;
	return 0;
}

const struct collector proc_diskstats_collector = {
	.name = "proc_diskstats",
	.cap = COLLECT_CAP_DISK,
	.open = diskstats_open,
	.sample = diskstats_sample,
	.close = diskstats_close,
};
