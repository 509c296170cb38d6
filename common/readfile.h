/*
 * Reading /proc and /sys: the one way to do it, plus the scanners that
 * parse what was read.
 *
 * Three parts, three prefixes:
 *   readfile_*  open relative to a root dirfd, keep the fd, and re-read it
 *               with pread(fd, buf, cap, 0) until pread returns 0.  Kernel
 *               files return short reads (about a page per read for
 *               multi-record seq_files) and st_size lies (0 in procfs,
 *               4096 in sysfs), so never size a buffer from stat() and
 *               never stop at the first read.  pread at offset 0 makes the
 *               kernel regenerate the content; a plain read() after EOF
 *               would return 0 forever.
 *               Two cheaper reads where the kernel allows them:
 *               *_single for single_open seq_files (/proc/stat, meminfo,
 *               loadavg, pressure/{cpu,memory,io}), which the kernel
 *               formats whole on a read from 0 and hands back entire when
 *               the buffer is larger: one short pread is the whole file,
 *               and the pread to meet EOF is saved.  kept_read_head: the
 *               first bytes of a file in whole lines, for a caller that
 *               wants only keys near its top (vmstat).  Iterator seq_files
 *               (vmstat read whole, diskstats, net/dev) return at most
 *               about a page per read whatever the buffer: a short read
 *               there is not the end.
 *   scan_*      bounded scanners over [p, end): no sscanf on whole lines,
 *               no locale, no allocation.  Each returns the position after
 *               what it consumed, or NULL when nothing matched.
 *   kv_*        one tokenizer for every "Key: value" / "key value" file
 *               (meminfo, vmstat), driven by a const key -> slot table.
 *
 * Errors are negative errno values.  Nothing here logs.
 */
#ifndef RMON_READFILE_H
#define RMON_READFILE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/* ---- reading ---------------------------------------------------------- */

/* openat(dirfd, path, O_RDONLY|O_CLOEXEC): an fd to keep, or -errno. */
int readfile_open(int dirfd, const char *path);

/* The whole file into buf[0..cap-1], NUL-terminated.  Returns the length,
 * or -EFBIG when it does not fit, or -errno from pread. */
ssize_t readfile_pread(int fd, char *buf, size_t cap);

/* The same for a single_open seq_file (or a regular file): one pread,
 * and a second only when the first filled buf (is there more?). */
ssize_t readfile_pread_single(int fd, char *buf, size_t cap);

/* One-shot open + readfile_pread + close, for files read once (sysfs
 * names and labels at discovery time). */
ssize_t readfile_at(int dirfd, const char *path, char *buf, size_t cap);

/* A buffer that grows (by doubling, up to max) until the file fits, then
 * stays: no allocation in steady state.  p[len] is always NUL. */
struct readfile_buf {
	char *p;
	size_t len;
	size_t cap;
	size_t max;
};

/* 0 or -ENOMEM.  cap is the first allocation, max the hard limit. */
int readfile_buf_init(struct readfile_buf *b, size_t cap, size_t max);
void readfile_buf_free(struct readfile_buf *b);

/* Re-read fd from offset 0 into b; when it does not fit, grow and read
 * again from 0 (one consistent snapshot, not two halves of two).  The
 * length, or -EFBIG past max, -ENOMEM, or -errno from pread. */
ssize_t readfile_buf_fill(struct readfile_buf *b, int fd);

/* readfile_buf_fill for a single_open seq_file (or a regular file): a
 * short read is the whole file, so it stops there; a read that fills b
 * grows it and reads again from 0. */
ssize_t readfile_buf_fill_single(struct readfile_buf *b, int fd);

/* A source file kept open for the daemon's life and re-read each tick with
 * pread from 0: the fd and its buffer, which every collector of one
 * /proc file needs. */
struct kept_file {
	int fd;
	struct readfile_buf buf;
};

/* Open path under dirfd with a buffer of cap bytes that may grow to max.
 * 0, or -errno (then the file is closed: kept_close is still safe). */
int kept_open(struct kept_file *k, int dirfd, const char *path, size_t cap, size_t max);
/* The whole file, fresh: bytes in k->buf.p, or -errno. */
ssize_t kept_read(struct kept_file *k);
/* kept_read for a single_open seq_file: readfile_buf_fill_single. */
ssize_t kept_read_single(struct kept_file *k);
/* The first want bytes of the file or more (a seq_file read from 0
 * formats only what is asked for), cut back to the last whole line: a
 * line cut by the limit, its number perhaps too, is left out.  All of
 * the file when it is shorter; want 0 is kept_read.  The length kept in
 * k->buf.p (NUL after it), or -errno; -EFBIG when want does not fit
 * under the buffer's max. */
ssize_t kept_read_head(struct kept_file *k, size_t want);
void kept_close(struct kept_file *k);

/* ---- scanning --------------------------------------------------------- */

/* The line starting at *ls = *p: returns its end (its '\n', or end) and
 * moves *p past it.  Loop with while (p < end). */
static inline const char *scan_line(const char **p, const char *end, const char **ls)
{
	const char *le = memchr(*p, '\n', (size_t)(end - *p));
	*ls = *p;
	le = le ? le : end;
	*p = le < end ? le + 1 : end;
	return le;
}

/* Past spaces and tabs (not newlines). */
static inline const char *scan_blank(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* Past the next '\n', or end. */
const char *scan_eol(const char *p, const char *end);

/* An unsigned decimal starting at p (no blanks skipped).  Saturates at
 * UINT64_MAX rather than wrapping.  NULL when p is not a digit. */
const char *scan_u64(const char *p, const char *end, uint64_t *v);

/* Same after skipping blanks: the way to walk columns of numbers. */
static inline const char *scan_next_u64(const char *p, const char *end, uint64_t *v)
{
	return scan_u64(scan_blank(p, end), end, v);
}

/* An optionally negative decimal ("-12", "45000"). */
const char *scan_i64(const char *p, const char *end, int64_t *v);

/* A non-negative fixed-point decimal ("0.25", "12", "100.00"), as the
 * kernel prints load averages and PSI averages. */
const char *scan_f64(const char *p, const char *end, double *v);

/* ---- key/value files -------------------------------------------------- */

/* One key of interest: its name as printed (no ':'), and where its value
 * goes in the caller's array. */
struct kv_key {
	const char *name;
	unsigned char len;
	unsigned char slot;   /* < 64: also the bit in the found mask */
};
#define KV_KEY(str, slot) { str, (unsigned char)(sizeof(str) - 1), slot }

/* For every line "key[:] value ..." whose key is in keys[], store the
 * first number of the value in vals[slot]; *found receives the mask of
 * the slots stored (a slot whose bit is clear was absent: not zero).
 * Units after the number ("kB") are left to the caller, who knows the
 * file.  Unknown keys and lines without a number are skipped; parsing
 * stops early once every key of the table has been found. */
void kv_parse(const char *buf, size_t len, const struct kv_key *keys, unsigned nkeys,
	      uint64_t *vals, uint64_t *found);
/* kv_parse that also says how much of buf the stored keys need: the
 * offset just past the line of the last key stored (0 when none was). */
size_t kv_parse_upto(const char *buf, size_t len, const struct kv_key *keys, unsigned nkeys,
		     uint64_t *vals, uint64_t *found);

#endif
