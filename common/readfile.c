/* Reading /proc and /sys with kept fds, and scanning what was read.
 * Which read suits which kernel file: see readfile.h. */
#include "readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int readfile_open(int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

/* pread at off, retrying EINTR: bytes, 0 at EOF, or -errno. */
static ssize_t readfile_chunk(int fd, char *buf, size_t n, size_t off)
{
	for (;;) {
		ssize_t r = pread(fd, buf, n, (off_t)off);
		if (r >= 0)
			return r;
		if (errno != EINTR)
			return -errno;
	}
}

/* Read from offset 0 until EOF or until buf[0..cap-1] is full.  Returns
 * the length; *full is set when the buffer filled before EOF was seen
 * (the caller grows it or gives up). */
static ssize_t readfile_until(int fd, char *buf, size_t cap, int *full)
{
	size_t len = 0;
	*full = 0;
	while (len < cap - 1) {
		ssize_t r = readfile_chunk(fd, buf + len, cap - 1 - len, len);
		if (r < 0)
			return r;
		if (r == 0)
			return (ssize_t)len;
		len += (size_t)r;
	}
	*full = 1;
	return (ssize_t)len;
}

/* One pread from 0, for a single_open seq_file (or a regular file): a
 * short read is the whole file.  *full as for readfile_until. */
static ssize_t readfile_once(int fd, char *buf, size_t cap, int *full)
{
	ssize_t n = readfile_chunk(fd, buf, cap - 1, 0);
	*full = n >= 0 && (size_t)n == cap - 1;
	return n;
}

/* A full buffer may hold the whole file exactly: one byte more tells. */
static int readfile_at_eof(int fd, size_t len)
{
	char c;
	ssize_t r = readfile_chunk(fd, &c, 1, len);
	return r < 0 ? (int)r : r == 0;
}

/* readfile_pread and readfile_pread_single.  A buffer that filled may
 * have left some behind (a single_open seq_file keeps the rest for a read
 * at that offset): one byte more tells. */
static ssize_t readfile_pread_as(int fd, char *buf, size_t cap, int single)
{
	int full;
	if (cap < 2)
		return -EINVAL;
	ssize_t n = single ? readfile_once(fd, buf, cap, &full)
			   : readfile_until(fd, buf, cap, &full);
	if (n < 0)
		return n;
	if (full) {
		int eof = readfile_at_eof(fd, (size_t)n);
		if (eof <= 0)
			return eof < 0 ? eof : -EFBIG;
	}
	buf[n] = '\0';
	return n;
}

ssize_t readfile_pread(int fd, char *buf, size_t cap)
{
	return readfile_pread_as(fd, buf, cap, 0);
}

ssize_t readfile_pread_single(int fd, char *buf, size_t cap)
{
	return readfile_pread_as(fd, buf, cap, 1);
}

ssize_t readfile_at(int dirfd, const char *path, char *buf, size_t cap)
{
	int fd = readfile_open(dirfd, path);
	if (fd < 0)
		return fd;
	ssize_t n = readfile_pread(fd, buf, cap);
	close(fd);
	return n;
}

int readfile_buf_init(struct readfile_buf *b, size_t cap, size_t max)
{
	if (cap < 2)
		cap = 2;
	if (max < cap)
		max = cap;
	b->p = malloc(cap);
	if (!b->p)
		return -ENOMEM;
	b->p[0] = '\0';
	b->len = 0;
	b->cap = cap;
	b->max = max;
	return 0;
}

void readfile_buf_free(struct readfile_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static int readfile_buf_grow(struct readfile_buf *b)
{
	if (b->cap >= b->max)
		return -EFBIG;
	size_t cap = b->cap * 2 > b->max ? b->max : b->cap * 2;
	char *p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* readfile_buf_fill and readfile_buf_fill_single. */
static ssize_t readfile_buf_fill_as(struct readfile_buf *b, int fd, int single)
{
	int full;
	for (;;) {
		ssize_t n = single ? readfile_once(fd, b->p, b->cap, &full)
				   : readfile_until(fd, b->p, b->cap, &full);
		if (n < 0)
			return n;
		if (!full) {
			b->p[n] = '\0';
			b->len = (size_t)n;
			return n;
		}
		/* Too small (or exactly full: one needless doubling, once).
		 * Grow and read again from 0 rather than go on: a seq_file
		 * read at another position than the last one regenerates
		 * the file, and the two halves would not match. */
		int err = readfile_buf_grow(b);
		if (err)
			return err;
	}
}

ssize_t readfile_buf_fill(struct readfile_buf *b, int fd)
{
	return readfile_buf_fill_as(b, fd, 0);
}

ssize_t readfile_buf_fill_single(struct readfile_buf *b, int fd)
{
	return readfile_buf_fill_as(b, fd, 1);
}

const char *scan_eol(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl ? nl + 1 : end;
}

const char *scan_u64(const char *p, const char *end, uint64_t *v)
{
	if (p >= end || (unsigned)(*p - '0') > 9)
		return NULL;
	uint64_t x = 0;
	for (; p < end && (unsigned)(*p - '0') <= 9; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (x > (UINT64_MAX - d) / 10)
			x = UINT64_MAX;   /* saturate, keep consuming digits */
		else
			x = x * 10 + d;
	}
	*v = x;
	return p;
}

const char *scan_i64(const char *p, const char *end, int64_t *v)
{
	int neg = p < end && *p == '-';
	uint64_t u;
	const char *q = scan_u64(p + neg, end, &u);
	if (!q)
		return NULL;
	if (u > (uint64_t)INT64_MAX)
		u = (uint64_t)INT64_MAX;
	*v = neg ? -(int64_t)u : (int64_t)u;
	return q;
}

const char *scan_f64(const char *p, const char *end, double *v)
{
	uint64_t ip;
	const char *q = scan_u64(p, end, &ip);
	if (!q)
		return NULL;
	double x = (double)ip;
	if (q < end && *q == '.') {
		uint64_t frac = 0, scale = 1;
		for (q++; q < end && (unsigned)(*q - '0') <= 9; q++) {
			if (scale < 10000000000000000000ULL / 10) {   /* 19 digits */
				frac = frac * 10 + (uint64_t)(*q - '0');
				scale *= 10;
			}
		}
		x += (double)frac / (double)scale;
	}
	*v = x;
	return q;
}

/* The key of a line ends at ':', a blank or the newline. */
static const char *kv_key_end(const char *p, const char *end)
{
	while (p < end && *p != ':' && *p != ' ' && *p != '\t' && *p != '\n')
		p++;
	return p;
}

static const struct kv_key *kv_lookup(const struct kv_key *keys, unsigned nkeys,
				      const char *k, size_t klen)
{
	for (unsigned i = 0; i < nkeys; i++)
		if (keys[i].len == klen && memcmp(keys[i].name, k, klen) == 0)
			return &keys[i];
	return NULL;
}

void kv_parse(const char *buf, size_t len, const struct kv_key *keys, unsigned nkeys,
	      uint64_t *vals, uint64_t *found)
{
	kv_parse_upto(buf, len, keys, nkeys, vals, found);
}

size_t kv_parse_upto(const char *buf, size_t len, const struct kv_key *keys, unsigned nkeys,
		     uint64_t *vals, uint64_t *found)
{
	/* A first-byte filter: most lines of vmstat (nr_*) are rejected
	 * without touching the table.  Built per call: nkeys steps. */
	uint64_t first[4] = { 0 };
	uint64_t want = 0;
	for (unsigned i = 0; i < nkeys; i++) {
		unsigned char c = (unsigned char)keys[i].name[0];
		first[c >> 6] |= (uint64_t)1 << (c & 63);
		want |= (uint64_t)1 << keys[i].slot;
	}
	uint64_t got = 0;
	const char *p = buf, *end = buf + len, *upto = buf;
	while (p < end && (got & want) != want) {
		unsigned char c = (unsigned char)*p;
		if (!((first[c >> 6] >> (c & 63)) & 1)) {
			p = scan_eol(p, end);
			continue;
		}
		const char *ke = kv_key_end(p, end);
		const struct kv_key *k = kv_lookup(keys, nkeys, p, (size_t)(ke - p));
		if (k) {
			const char *q = ke < end && *ke == ':' ? ke + 1 : ke;
			uint64_t v;
			if (scan_next_u64(q, end, &v)) {
				vals[k->slot] = v;
				got |= (uint64_t)1 << k->slot;
				upto = scan_eol(ke, end);
			}
		}
		p = scan_eol(ke, end);
	}
	*found = got;
	return (size_t)(upto - buf);
}

int kept_open(struct kept_file *k, int dirfd, const char *path, size_t cap, size_t max)
{
	memset(&k->buf, 0, sizeof k->buf);
	k->fd = readfile_open(dirfd, path);
	if (k->fd < 0)
		return k->fd;
	int err = readfile_buf_init(&k->buf, cap, max);
	if (err) {
		kept_close(k);
		return err;
	}
	return 0;
}

ssize_t kept_read(struct kept_file *k)
{
	return readfile_buf_fill(&k->buf, k->fd);
}

ssize_t kept_read_single(struct kept_file *k)
{
	return readfile_buf_fill_single(&k->buf, k->fd);
}

ssize_t kept_read_head(struct kept_file *k, size_t want)
{
	struct readfile_buf *b = &k->buf;
	if (want == 0)
		return kept_read(k);
	while (b->cap - 1 < want) {
		int err = readfile_buf_grow(b);
		if (err)
			return err;
	}
	int full;
	ssize_t n = readfile_until(k->fd, b->p, want + 1, &full);
	if (n < 0)
		return n;
	size_t len = (size_t)n;
	if (full) {
		/* Stopped by want, not by EOF: the last line may be cut
		 * ("pgfault 12" of "pgfault 1234"), so it is dropped. */
		const char *nl = memrchr(b->p, '\n', len);
		len = nl ? (size_t)(nl - b->p) + 1 : 0;
	}
	b->p[len] = '\0';
	b->len = len;
	return (ssize_t)len;
}

void kept_close(struct kept_file *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	readfile_buf_free(&k->buf);
}
