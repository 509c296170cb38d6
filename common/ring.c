/*
 * The shared ring (see ring.h for the contract, docs/ring.md for the file
 * format).
 *
 * Layout of the region, file or memory alike:
 *
 *   header (HDR_SIZE bytes): magic, version, schema hash, lane table
 *   lane 0: lane header (one cache line: head, lo), then capacity slots
 *   lane 1: ...                      (each lane starts on a cache line)
 *
 * A slot is { seq, sum, payload words }.  Every field that a reader may
 * see while the writer changes it is an _Atomic uint64_t, payload
 * included, so the seqlock below is a correct C11 program and not just a
 * benign data race; relaxed 64-bit loads and stores are plain moves on
 * x86_64 and aarch64.
 */
#include "ring.h"

#include "log.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#if ATOMIC_LONG_LOCK_FREE != 2 && ATOMIC_LLONG_LOCK_FREE != 2
#error "the ring needs lock-free 64-bit atomics"
#endif

#define RING_MAGIC   "RMONRING"
#define RING_VERSION 1u
#define RING_ORDER   0x01020304u  /* reads otherwise on another byte order */
#define LINE         64u          /* cache line: header and lanes align to it */
#define SLOT_HDR     16u          /* seq + sum */

/* On-disk lane table entry.  offset and slot_size are derived from the
 * other fields (hdr_layout), and checked against them on open. */
struct ring_lane_desc {
	uint32_t id;
	uint32_t rec_size;
	uint64_t capacity;
	uint64_t offset;    /* of the lane header, from the start of the region */
	uint64_t slot_size; /* SLOT_HDR + rec_size rounded up to 8 */
};

struct ring_hdr {
	char magic[8];
	uint32_t version;
	uint32_t byte_order;
	uint32_t hdr_size;
	uint32_t nlanes;
	uint64_t schema_hash;
	uint64_t file_size;
	uint64_t sum;       /* hdr_sum() of the header with this field zero */
	struct ring_lane_desc lane[RING_LANES_MAX];
};

#define HDR_SIZE ((sizeof(struct ring_hdr) + LINE - 1) / LINE * LINE)

/* The lane's own cache line, so readers polling head never share a line
 * with the slot the writer is filling. */
struct lane_hdr {
	_Atomic uint64_t head; /* records ever written: the next n */
	_Atomic uint64_t lo;   /* first record held, as recovery found it */
	uint64_t spare[6];
};

struct slot {
	_Atomic uint64_t seq;  /* 0 empty, 2n+1 writing n, 2n+2 holds n */
	_Atomic uint64_t sum;  /* slot_sum() of n and the payload words */
	_Atomic uint64_t w[];  /* payload, zero-padded to whole words */
};

_Static_assert(sizeof(struct ring_lane_desc) == 32, "lane table packs");
_Static_assert(sizeof(struct ring_hdr) == 48 + 32 * RING_LANES_MAX,
               "header has no padding, so hdr_sum sees only fields");
_Static_assert(sizeof(struct lane_hdr) == LINE, "lane header is a line");
_Static_assert(sizeof(struct slot) == SLOT_HDR, "slot header");
_Static_assert(sizeof(_Atomic uint64_t) == 8, "atomic u64 is a u64");

/* The process's view of one lane. */
struct lane {
	uint32_t id;
	uint32_t rec_size;
	uint64_t cap;
	size_t slot_size;
	struct lane_hdr *hdr;
	unsigned char *slots;
	pthread_mutex_t gate;  /* held by the writer while the ring is gated */
};

struct ring {
	unsigned char *base;
	size_t size;
	int fd;             /* -1 in memory mode; holds the flock otherwise */
	/* A may_persist memory ring may become a file (ring_persist): until
	 * then each push holds its lane's gate, so the switch can stop every
	 * writer.  Other rings are never gated. */
	_Atomic int gated;
	int gates_init;
	unsigned nlanes;
	struct lane lane[RING_LANES_MAX];
};

/* What opening makes of an existing file; positive, so that a negative
 * return can carry -errno. */
enum verdict { V_SAME = 1, V_MIGRATE, V_INCOMPATIBLE };

static int fail(char *err, size_t len, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t len, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* "64 MiB", for messages about sizes a human configured. */
static const char *human_size(uint64_t n, char *buf, size_t len)
{
	static const char *const unit[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	unsigned u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0 || v == (double)(uint64_t)v)
		snprintf(buf, len, "%.0f %s", v, unit[u]);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}

/* ---- checksums ---- */

/* Each step is a bijection of h for a given w, and of w for a given h, so
 * a change confined to one word always changes the sum. */
static uint64_t mix(uint64_t h, uint64_t w)
{
	h ^= w;
	h *= 0x9e3779b97f4a7c15u;
	return h ^ (h >> 32);
}

static uint64_t sum_seed(uint64_t n, uint32_t rec_size)
{
	return mix(mix(0xcbf29ce484222325u, n), rec_size);
}

static uint64_t hdr_sum(const struct ring_hdr *h)
{
	struct ring_hdr c = *h;
	uint64_t s = sum_seed(0, (uint32_t)sizeof c), w;

	c.sum = 0;
	for (size_t i = 0; i < sizeof c; i += 8) {
		memcpy(&w, (const unsigned char *)&c + i, 8);
		s = mix(s, w);
	}
	return s;
}

/* ---- slots ---- */

static struct slot *slot_at(const struct lane *l, uint64_t n)
{
	return (struct slot *)(l->slots + (size_t)(n % l->cap) * l->slot_size);
}

/* Record bytes <-> payload words; the last word is zero-padded so the
 * checksum covers exactly what is stored. */
static uint64_t rec_word(const struct lane *l, const unsigned char *p, size_t i)
{
	uint64_t w = 0;
	size_t left = l->rec_size - 8 * i;

	memcpy(&w, p + 8 * i, left < 8 ? left : 8);
	return w;
}

static void rec_put_word(const struct lane *l, unsigned char *p, size_t i,
                         uint64_t w)
{
	size_t left = l->rec_size - 8 * i;

	memcpy(p + 8 * i, &w, left < 8 ? left : 8);
}

static size_t lane_words(const struct lane *l)
{
	return (l->rec_size + 7u) / 8u;
}

/* Write record n into its slot.  The release fence after the odd seq
 * keeps it ahead of every payload store for a reader that sees any of
 * them (fence-fence synchronisation with the reader's acquire fence); the
 * release store of the even seq publishes the payload and its sum. */
static void slot_write(const struct lane *l, uint64_t n, const void *rec)
{
	struct slot *s = slot_at(l, n);
	uint64_t h = sum_seed(n, l->rec_size);

	atomic_store_explicit(&s->seq, 2 * n + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (size_t i = 0; i < lane_words(l); i++) {
		uint64_t w = rec_word(l, rec, i);
		atomic_store_explicit(&s->w[i], w, memory_order_relaxed);
		h = mix(h, w);
	}
	atomic_store_explicit(&s->sum, h, memory_order_relaxed);
	atomic_store_explicit(&s->seq, 2 * n + 2, memory_order_release);
}

/* Copy record n out under the seqlock: the seq must be 2n+2 before the
 * copy and unchanged after it. */
static int slot_read(const struct lane *l, uint64_t n, void *out)
{
	struct slot *s = slot_at(l, n);
	uint64_t s0 = atomic_load_explicit(&s->seq, memory_order_acquire);

	if (s0 != 2 * n + 2)
		return s0 == 2 * n + 1 ? -EAGAIN : -ENOENT;
	for (size_t i = 0; i < lane_words(l); i++)
		rec_put_word(l, out, i,
		             atomic_load_explicit(&s->w[i], memory_order_relaxed));
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&s->seq, memory_order_relaxed) != s0)
		return -EAGAIN;
	return 0;
}

enum ts_state { TS_OK, TS_NEWER, TS_HOLE };

/* The timestamp (first word) of record n, under the same protocol.  A seq
 * below 2n+1 for an n under head can only be a slot recovery cleared. */
static enum ts_state slot_ts(const struct lane *l, uint64_t n, uint64_t *ts)
{
	struct slot *s = slot_at(l, n);
	uint64_t s0 = atomic_load_explicit(&s->seq, memory_order_acquire);

	if (s0 < 2 * n + 1)
		return TS_HOLE;
	if (s0 != 2 * n + 2)
		return TS_NEWER;
	*ts = atomic_load_explicit(&s->w[0], memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&s->seq, memory_order_relaxed) != s0)
		return TS_NEWER;
	return TS_OK;
}

/* Sum of the payload as stored, for recovery (no writer runs yet). */
static uint64_t slot_sum(const struct lane *l, struct slot *s, uint64_t n)
{
	uint64_t h = sum_seed(n, l->rec_size);

	for (size_t i = 0; i < lane_words(l); i++)
		h = mix(h, atomic_load_explicit(&s->w[i], memory_order_relaxed));
	return h;
}

/* ---- recovery ---- */

static struct slot *slot_idx(const struct lane *l, uint64_t i)
{
	return (struct slot *)(l->slots + (size_t)i * l->slot_size);
}

/* 1: slot i holds a whole record (its number in *n); 0: never written;
 * -1: torn (odd seq) or corrupt (wrong place, bad sum). */
static int slot_check(const struct lane *l, uint64_t i, uint64_t *n)
{
	struct slot *s = slot_idx(l, i);
	uint64_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);

	if (seq == 0)
		return 0;
	if (seq & 1)
		return -1;
	*n = seq / 2 - 1;
	if (*n % l->cap != i)
		return -1;
	if (slot_sum(l, s, *n) != atomic_load_explicit(&s->sum, memory_order_relaxed))
		return -1;
	return 1;
}

static void slot_clear(const struct lane *l, uint64_t i)
{
	struct slot *s = slot_idx(l, i);

	atomic_store_explicit(&s->sum, 0, memory_order_relaxed);
	atomic_store_explicit(&s->seq, 0, memory_order_relaxed);
}

/* Drop whole records that are older than the window [head-cap, head): an
 * overwrite whose new record never reached the disk leaves the old one,
 * which must not appear between newer records.  Returns records held. */
static uint64_t lane_trim(const struct lane *l, uint64_t head)
{
	uint64_t low = head > l->cap ? head - l->cap : 0, held = 0;

	for (uint64_t i = 0; i < l->cap; i++) {
		uint64_t seq = atomic_load_explicit(&slot_idx(l, i)->seq,
		                                    memory_order_relaxed);
		if (seq == 0)
			continue;
		if (seq / 2 - 1 < low)
			slot_clear(l, i);
		else
			held++;
	}
	return held;
}

/* Scan every slot: clear torn ones, set head after the newest whole
 * record and lo at the oldest, so tail skips leading holes. */
static void lane_recover(const struct lane *l, struct ring_open_info *info)
{
	uint64_t head = 0, n = 0, first;

	for (uint64_t i = 0; i < l->cap; i++) {
		int v = slot_check(l, i, &n);
		if (v < 0) {
			info->torn++;
			slot_clear(l, i);
		} else if (v > 0 && n >= head) {
			head = n + 1;
		}
	}
	info->recovered += lane_trim(l, head);
	first = head > l->cap ? head - l->cap : 0;
	while (first < head && atomic_load_explicit(&slot_at(l, first)->seq,
	                                            memory_order_relaxed) != 2 * first + 2)
		first++;
	atomic_store_explicit(&l->hdr->lo, first, memory_order_relaxed);
	atomic_store_explicit(&l->hdr->head, head, memory_order_release);
}

/* ---- header and layout ---- */

/* Derive slot sizes, lane offsets and the region size from ids, record
 * sizes and capacities.  -EINVAL for a bad lane, -EFBIG when too large. */
static int hdr_layout(struct ring_hdr *h)
{
	uint64_t off = HDR_SIZE;

	if (h->nlanes < 1 || h->nlanes > RING_LANES_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < h->nlanes; i++) {
		struct ring_lane_desc *d = &h->lane[i];
		uint64_t bytes;

		for (unsigned j = 0; j < i; j++)
			if (h->lane[j].id == d->id)
				return -EINVAL;
		if (d->rec_size < 8 || d->capacity < 1)
			return -EINVAL;
		d->slot_size = SLOT_HDR + ((uint64_t)d->rec_size + 7) / 8 * 8;
		if (d->capacity > (UINT64_MAX / 2 - off) / d->slot_size)
			return -EFBIG;
		bytes = LINE + d->capacity * d->slot_size;
		d->offset = off;
		off += (bytes + LINE - 1) / LINE * LINE;
	}
	if (off > (uint64_t)INT64_MAX || off > SIZE_MAX)
		return -EFBIG;
	h->file_size = off;
	return 0;
}

static const char *ring_name(const struct ring_opts *o)
{
	return o->path ? o->path : "(memory)";
}

/* The header a ring of these options has. */
static int hdr_build(const struct ring_opts *o, struct ring_hdr *h,
                     char *err, size_t len)
{
	int rc;

	memset(h, 0, sizeof *h);
	if (o->path && !*o->path)
		return fail(err, len, -EINVAL, "ring: empty path");
	if (o->nlanes < 1 || o->nlanes > RING_LANES_MAX || !o->lanes)
		return fail(err, len, -EINVAL, "ring %s: %u lanes, want 1 to %d",
		            ring_name(o), o->nlanes, RING_LANES_MAX);
	memcpy(h->magic, RING_MAGIC, 8);
	h->version = RING_VERSION;
	h->byte_order = RING_ORDER;
	h->hdr_size = (uint32_t)HDR_SIZE;
	h->nlanes = o->nlanes;
	h->schema_hash = o->schema_hash;
	for (unsigned i = 0; i < o->nlanes; i++) {
		h->lane[i].id = o->lanes[i].id;
		h->lane[i].rec_size = o->lanes[i].rec_size;
		h->lane[i].capacity = o->lanes[i].capacity;
	}
	rc = hdr_layout(h);
	if (rc == -EINVAL)
		return fail(err, len, rc, "ring %s: bad lane table (a record size "
		            "under 8, a capacity of 0 or a repeated lane id)",
		            ring_name(o));
	if (rc < 0)
		return fail(err, len, rc, "ring %s: lanes too large to map",
		            ring_name(o));
	h->sum = hdr_sum(h);
	return 0;
}

static const struct ring_lane_desc *hdr_find(const struct ring_hdr *h,
                                             uint32_t id)
{
	for (unsigned i = 0; i < h->nlanes && i < RING_LANES_MAX; i++)
		if (h->lane[i].id == id)
			return &h->lane[i];
	return NULL;
}

/* Compare a compatible file's lanes with the ones asked for.  A record
 * size that changed means the schema changed under the same hash: that
 * file is incompatible, not migrated. */
static enum verdict layout_diff(const struct ring_hdr *have,
                                const struct ring_hdr *want,
                                char *why, size_t len)
{
	enum verdict v = have->nlanes == want->nlanes ? V_SAME : V_MIGRATE;

	for (unsigned i = 0; i < want->nlanes; i++) {
		const struct ring_lane_desc *w = &want->lane[i];
		const struct ring_lane_desc *d = hdr_find(have, w->id);

		if (!d) {
			v = V_MIGRATE;
		} else if (d->rec_size != w->rec_size) {
			snprintf(why, len, "lane %" PRIu32 " has %" PRIu32 "-byte records, "
			         "expected %" PRIu32, w->id, d->rec_size, w->rec_size);
			return V_INCOMPATIBLE;
		} else if (d->capacity != w->capacity) {
			v = V_MIGRATE;
		}
	}
	return v;
}

/* Judge a file's header against the one wanted; on V_INCOMPATIBLE, why
 * says what is wrong. */
static enum verdict hdr_check(const struct ring_hdr *have,
                              const struct ring_hdr *want, uint64_t size,
                              char *why, size_t len)
{
	struct ring_hdr c = *have;

	if (memcmp(have->magic, RING_MAGIC, 8) != 0)
		snprintf(why, len, "not a ring file (bad magic)");
	else if (have->byte_order != RING_ORDER)
		snprintf(why, len, "written on a machine of another byte order");
	else if (have->version != RING_VERSION)
		snprintf(why, len, "format version %" PRIu32 ", this build reads %u",
		         have->version, RING_VERSION);
	else if (have->hdr_size != HDR_SIZE || hdr_sum(have) != have->sum)
		snprintf(why, len, "corrupt header (bad checksum)");
	else if (have->schema_hash != want->schema_hash)
		snprintf(why, len, "schema hash %016" PRIx64 ", expected %016" PRIx64,
		         have->schema_hash, want->schema_hash);
	else if (hdr_layout(&c) < 0 || memcmp(&c, have, sizeof c) != 0)
		snprintf(why, len, "corrupt lane table");
	else if (size != have->file_size)
		snprintf(why, len, "file is %" PRIu64 " bytes, header says %" PRIu64
		         " (truncated?)", size, have->file_size);
	else
		return layout_diff(have, want, why, len);
	return V_INCOMPATIBLE;
}

/* ---- the process's view ---- */

/* Point the lanes at the region.  With o, lane i is the caller's lane i
 * (found by id, wherever the file put it); without, the file's order. */
static void ring_attach(struct ring *r, void *base, const struct ring_hdr *h,
                        const struct ring_opts *o)
{
	r->base = base;
	r->size = (size_t)h->file_size;
	r->nlanes = o ? o->nlanes : h->nlanes;
	for (unsigned i = 0; i < r->nlanes; i++) {
		const struct ring_lane_desc *d =
			hdr_find(h, o ? o->lanes[i].id : h->lane[i].id);
		struct lane *l = &r->lane[i];

		assert(d);
		l->id = d->id;
		l->rec_size = d->rec_size;
		l->cap = d->capacity;
		l->slot_size = (size_t)d->slot_size;
		l->hdr = (struct lane_hdr *)(r->base + d->offset);
		l->slots = r->base + d->offset + LINE;
	}
}

static void ring_release(struct ring *r)
{
	if (r->base)
		munmap(r->base, r->size);
	if (r->fd >= 0)
		close(r->fd);
	r->base = NULL;
	r->fd = -1;
}

static int map_region(int fd, uint64_t size, const char *name, void **base,
                      char *err, size_t len)
{
	int flags = fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED;
	char hs[32];
	int e;

	*base = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (*base != MAP_FAILED)
		return 0;
	e = errno;
	*base = NULL;
	return fail(err, len, -e, "ring %s: cannot map %s: %s", name,
	            human_size(size, hs, sizeof hs), strerror(e));
}

static int mem_open(struct ring *r, const struct ring_hdr *want,
                    const struct ring_opts *o, struct ring_open_info *info,
                    char *err, size_t len)
{
	void *base;
	int rc = map_region(-1, want->file_size, ring_name(o), &base, err, len);

	if (rc < 0)
		return rc;
	memcpy(base, want, sizeof *want);
	ring_attach(r, base, want, o);
	atomic_store_explicit(&r->gated, o->may_persist != 0, memory_order_relaxed);
	info->created = 1;
	return 0;
}

/* ---- files ---- */

/* One writer per file: a second daemon on the same state directory would
 * interleave records in every lane. */
static int lock_file(int fd, const char *path, char *err, size_t len)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		return fail(err, len, -EBUSY, "ring %s: in use by another process",
		            path);
	return fail(err, len, -errno, "ring %s: cannot lock: %s", path,
	            strerror(errno));
}

/* Make a rename durable: the directory entry lives in the directory. */
static void sync_dir(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd;

	snprintf(dir, sizeof dir, "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);  /* best effort: some filesystems refuse it */
		close(fd);
	}
}

/* "<path>.tmp" may be left by a crash mid-create; it is ours to remove
 * unless another process holds it (and is creating it right now). */
static int tmp_open(const char *tmp, char *err, size_t len)
{
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);

	if (fd < 0 && errno == EEXIST) {
		int old = open(tmp, O_RDWR | O_CLOEXEC);
		int busy = old >= 0 && flock(old, LOCK_EX | LOCK_NB) < 0 &&
		           errno == EWOULDBLOCK;

		if (old >= 0)
			close(old);
		if (busy)
			return fail(err, len, -EBUSY, "ring %s: being created by "
			            "another process", tmp);
		unlink(tmp);
		fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	}
	if (fd < 0)
		return fail(err, len, -errno, "ring %s: cannot create: %s", tmp,
		            strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		return fail(err, len, -e, "ring %s: cannot lock: %s", tmp, strerror(e));
	}
	return fd;
}

/* Size the file and write it out with zeros.  Writing (rather than
 * posix_fallocate) reserves the blocks, so a full disk fails here and not
 * as a SIGBUS on a later store into a hole, and it leaves written extents:
 * fallocate's unwritten extents would be converted one page at a time on
 * the sampler's first store to each page, which costs the sampler far more
 * than the tick itself during the ring's first lap. */
static int tmp_size(int fd, const char *tmp, uint64_t size, char *err,
                    size_t len)
{
	static const char zeros[1 << 16];
	char hs[32];
	int e;

	if (ftruncate(fd, (off_t)size) < 0) {
		e = errno;
		return fail(err, len, -e, "ring %s: cannot size to %s: %s", tmp,
		            human_size(size, hs, sizeof hs), strerror(e));
	}
	for (uint64_t off = 0; off < size; ) {
		size_t n = size - off < sizeof zeros ? (size_t)(size - off) : sizeof zeros;
		ssize_t w = pwrite(fd, zeros, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w < 0 ? errno : ENOSPC;
			return fail(err, len, -e, "ring %s: cannot allocate %s: %s", tmp,
			            human_size(size, hs, sizeof hs), strerror(e));
		}
		off += (uint64_t)w;
	}
	return 0;
}

/* Create "<path>.tmp" holding an empty ring with header h, mapped into r.
 * Nothing appears at path until tmp_commit. */
static int tmp_create(struct ring *r, const struct ring_hdr *h,
                      const struct ring_opts *o, char *tmp, char *err,
                      size_t len)
{
	void *base;
	int w = snprintf(tmp, PATH_MAX, "%s.tmp", o->path), fd, rc;

	if (w < 0 || w >= PATH_MAX)
		return fail(err, len, -ENAMETOOLONG, "ring %s: path too long",
		            o->path);
	fd = tmp_open(tmp, err, len);
	if (fd < 0)
		return fd;
	rc = tmp_size(fd, tmp, h->file_size, err, len);
	if (rc == 0)
		rc = map_region(fd, h->file_size, tmp, &base, err, len);
	if (rc < 0) {
		close(fd);
		unlink(tmp);
		return rc;
	}
	memcpy(base, h, sizeof *h);
	r->fd = fd;
	ring_attach(r, base, h, o);
	return 0;
}

/* Flush the new file, then give it its name: a crash before the rename
 * leaves the old file (or none) at path, never half of the new one. */
static int tmp_commit(struct ring *r, const char *tmp, const char *path,
                      char *err, size_t len)
{
	int rc = 0;

	if (msync(r->base, r->size, MS_SYNC) < 0)
		rc = fail(err, len, -errno, "ring %s: cannot write: %s", tmp,
		          strerror(errno));
	else if (rename(tmp, path) < 0)
		rc = fail(err, len, -errno, "ring %s: cannot rename %s over it: %s",
		          path, tmp, strerror(errno));
	if (rc < 0) {
		ring_release(r);
		unlink(tmp);
		return rc;
	}
	sync_dir(path);
	return 0;
}

static int file_create(struct ring *r, const struct ring_hdr *want,
                       const struct ring_opts *o, struct ring_open_info *info,
                       char *err, size_t len)
{
	char tmp[PATH_MAX];
	int rc = tmp_create(r, want, o, tmp, err, len);

	if (rc == 0)
		rc = tmp_commit(r, tmp, o->path, err, len);
	if (rc == 0)
		info->created = 1;
	return rc;
}

/* Rename, but never over an existing file: link() refuses to.  Where the
 * filesystem has no hard links, check first (racy, but only against
 * ourselves a second later). */
static int rename_noreplace(const char *from, const char *to)
{
	struct stat st;

	if (link(from, to) == 0)
		return unlink(from) < 0 ? -errno : 0;
	if (errno == EEXIST || lstat(to, &st) == 0)
		return -EEXIST;
	return rename(from, to) < 0 ? -errno : 0;
}

static int move_aside(const char *path, const char *why,
                      struct ring_open_info *info, char *err, size_t len)
{
	char aside[PATH_MAX];
	long long now = (long long)time(NULL);

	for (int i = 0; i < 100; i++) {
		int w = i == 0
			? snprintf(aside, sizeof aside, "%s.incompatible-%lld", path, now)
			: snprintf(aside, sizeof aside, "%s.incompatible-%lld.%d", path,
			           now, i);
		int rc;

		if (w < 0 || (size_t)w >= sizeof aside)
			return fail(err, len, -ENAMETOOLONG, "ring %s: path too long",
			            path);
		rc = rename_noreplace(path, aside);
		if (rc == -EEXIST)
			continue;
		if (rc < 0)
			return fail(err, len, rc, "ring %s: %s, and cannot move it "
			            "aside: %s", path, why, strerror(-rc));
		log_warnx("ring %s: %s; moved it to %s, starting a new ring",
		          path, why, aside);
		/* A name longer than the field is cut: the log line has it whole. */
		w = w < (int)sizeof info->moved_aside ? w
		                                      : (int)sizeof info->moved_aside - 1;
		memcpy(info->moved_aside, aside, (size_t)w);
		info->moved_aside[w] = '\0';
		return 0;
	}
	return fail(err, len, -EEXIST, "ring %s: %s, and too many files set "
	            "aside already", path, why);
}

/* Read and judge the header of an open file.  Returns a verdict, or
 * -errno when the file cannot be judged at all (then it is left alone). */
static int file_judge(int fd, const struct ring_opts *o,
                      const struct ring_hdr *want, struct ring_hdr *have,
                      char *why, size_t whylen, char *err, size_t len)
{
	struct stat st;
	ssize_t got;

	if (fstat(fd, &st) < 0)
		return fail(err, len, -errno, "ring %s: %s", o->path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(err, len, -EINVAL, "ring %s: not a regular file", o->path);
	got = pread(fd, have, sizeof *have, 0);
	if (got < 0)
		return fail(err, len, -errno, "ring %s: cannot read: %s", o->path,
		            strerror(errno));
	if ((size_t)got < sizeof *have) {
		snprintf(why, whylen, "truncated header (%lld bytes)",
		         (long long)st.st_size);
		return V_INCOMPATIBLE;
	}
	return (int)hdr_check(have, want, (uint64_t)st.st_size, why, whylen);
}

/* Copy the newest records of one lane that fit, keeping their numbers so
 * a client's cursor stays meaningful.  Returns records copied or -ENOMEM. */
static int64_t lane_copy(const struct lane *to, const struct lane *from)
{
	uint64_t head = atomic_load_explicit(&from->hdr->head, memory_order_relaxed);
	uint64_t lo = atomic_load_explicit(&from->hdr->lo, memory_order_relaxed);
	uint64_t n = head - (head - lo < to->cap ? head - lo : to->cap);
	uint64_t first = head;
	int64_t kept = 0;
	void *buf = malloc(from->rec_size);

	if (!buf)
		return -ENOMEM;
	for (; n < head; n++) {
		if (slot_read(from, n, buf) < 0)
			continue;  /* a hole recovery left */
		slot_write(to, n, buf);
		if (first == head)
			first = n;
		kept++;
	}
	free(buf);
	atomic_store_explicit(&to->hdr->lo, first, memory_order_relaxed);
	atomic_store_explicit(&to->hdr->head, head, memory_order_relaxed);
	return kept;
}

static int64_t ring_copy(const struct ring *to, const struct ring *from)
{
	int64_t kept = 0;

	for (unsigned i = 0; i < to->nlanes; i++) {
		int j = ring_lane(from, to->lane[i].id);
		int64_t k = j < 0 ? 0 : lane_copy(&to->lane[i], &from->lane[j]);

		if (k < 0)
			return k;
		kept += k;
	}
	return kept;
}

static void ring_recover(const struct ring *r, struct ring_open_info *info)
{
	for (unsigned i = 0; i < r->nlanes; i++)
		lane_recover(&r->lane[i], info);
}

/* The file is compatible but laid out otherwise: recover it, copy what
 * fits into "<path>.tmp" with the new layout, rename that over it. */
static int file_migrate(struct ring *r, int fd, const struct ring_hdr *have,
                        const struct ring_hdr *want, const struct ring_opts *o,
                        struct ring_open_info *info, char *err, size_t len)
{
	struct ring old = { .fd = fd };
	char tmp[PATH_MAX];
	void *base;
	int64_t kept;
	int rc = map_region(fd, have->file_size, o->path, &base, err, len);

	if (rc < 0) {
		close(fd);
		return rc;
	}
	ring_attach(&old, base, have, NULL);
	ring_recover(&old, info);
	rc = tmp_create(r, want, o, tmp, err, len);
	kept = rc < 0 ? 0 : ring_copy(r, &old);
	if (kept < 0) {
		ring_release(r);
		unlink(tmp);
		rc = fail(err, len, (int)kept, "ring %s: out of memory", o->path);
	}
	if (rc == 0)
		rc = tmp_commit(r, tmp, o->path, err, len);
	ring_release(&old);
	if (rc < 0)
		return rc;
	info->migrated = 1;
	log_info("ring %s: lane layout changed; kept %" PRId64 " of %" PRIu64
	         " records", o->path, kept, info->recovered);
	return 0;
}

static int file_reuse(struct ring *r, int fd, const struct ring_hdr *have,
                      const struct ring_opts *o, struct ring_open_info *info,
                      char *err, size_t len)
{
	void *base;
	int rc = map_region(fd, have->file_size, o->path, &base, err, len);

	if (rc < 0) {
		close(fd);
		return rc;
	}
	r->fd = fd;
	ring_attach(r, base, have, o);
	ring_recover(r, info);
	return 0;
}

static int file_open(struct ring *r, const struct ring_hdr *want,
                     const struct ring_opts *o, struct ring_open_info *info,
                     char *err, size_t len)
{
	struct ring_hdr have;
	char why[256];
	int v, fd = open(o->path, O_RDWR | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		return file_create(r, want, o, info, err, len);
	if (fd < 0)
		return fail(err, len, -errno, "ring %s: cannot open: %s", o->path,
		            strerror(errno));
	v = lock_file(fd, o->path, err, len);
	if (v == 0)
		v = file_judge(fd, o, want, &have, why, sizeof why, err, len);
	if (v == V_SAME)
		return file_reuse(r, fd, &have, o, info, err, len);
	if (v == V_MIGRATE)
		return file_migrate(r, fd, &have, want, o, info, err, len);
	if (v == V_INCOMPATIBLE)
		v = move_aside(o->path, why, info, err, len);
	close(fd);
	if (v < 0)
		return v;
	return file_create(r, want, o, info, err, len);
}

/* ---- the API ---- */

int ring_open(const struct ring_opts *o, struct ring **out,
              struct ring_open_info *info, char *err, size_t errlen)
{
	struct ring_open_info scratch;
	struct ring_hdr want;
	struct ring *r;
	int rc;

	*out = NULL;
	if (!info)
		info = &scratch;
	memset(info, 0, sizeof *info);
	rc = hdr_build(o, &want, err, errlen);
	if (rc < 0)
		return rc;
	r = calloc(1, sizeof *r);
	if (!r)
		return fail(err, errlen, -ENOMEM, "ring %s: out of memory",
		            ring_name(o));
	r->fd = -1;
	rc = o->path ? file_open(r, &want, o, info, err, errlen)
	             : mem_open(r, &want, o, info, err, errlen);
	if (rc < 0) {
		free(r);
		return rc;
	}
	for (unsigned i = 0; i < r->nlanes; i++)
		pthread_mutex_init(&r->lane[i].gate, NULL);
	r->gates_init = 1;
	*out = r;
	return 0;
}

void ring_close(struct ring *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		msync(r->base, r->size, MS_SYNC);
	ring_release(r);
	for (unsigned i = 0; r->gates_init && i < r->nlanes; i++)
		pthread_mutex_destroy(&r->lane[i].gate);
	free(r);
}

int ring_sync(struct ring *r)
{
	if (r->fd < 0)
		return 0;
	return msync(r->base, r->size, MS_ASYNC) < 0 ? -errno : 0;
}

int ring_lane(const struct ring *r, uint32_t id)
{
	for (unsigned i = 0; i < r->nlanes; i++)
		if (r->lane[i].id == id)
			return (int)i;
	return -1;
}

uint64_t ring_capacity(const struct ring *r, unsigned lane)
{
	assert(lane < r->nlanes);
	return r->lane[lane].cap;
}

uint32_t ring_rec_size(const struct ring *r, unsigned lane)
{
	assert(lane < r->nlanes);
	return r->lane[lane].rec_size;
}

size_t ring_bytes(const struct ring *r)
{
	return r->size;
}

int ring_is_file(const struct ring *r)
{
	return r->fd >= 0;
}

uint64_t ring_head(const struct ring *r, unsigned lane)
{
	assert(lane < r->nlanes);
	return atomic_load_explicit(&r->lane[lane].hdr->head, memory_order_acquire);
}

uint64_t ring_tail(const struct ring *r, unsigned lane)
{
	const struct lane *l = &r->lane[lane];
	uint64_t head = ring_head(r, lane);
	uint64_t lo = atomic_load_explicit(&l->hdr->lo, memory_order_relaxed);
	uint64_t tail = head > l->cap ? head - l->cap : 0;

	return lo > tail ? lo : tail;
}

uint64_t ring_push(struct ring *r, unsigned lane, const void *rec)
{
	struct lane *l = &r->lane[lane];
	int gated = atomic_load_explicit(&r->gated, memory_order_acquire);
	uint64_t n;

	assert(lane < r->nlanes);
	if (gated)
		pthread_mutex_lock(&l->gate);
	n = atomic_load_explicit(&l->hdr->head, memory_order_relaxed);
	slot_write(l, n, rec);
	atomic_store_explicit(&l->hdr->head, n + 1, memory_order_release);
	if (gated)
		pthread_mutex_unlock(&l->gate);
	return n;
}

int ring_read(const struct ring *r, unsigned lane, uint64_t n, void *out)
{
	assert(lane < r->nlanes);
	if (n >= ring_head(r, lane) || n < ring_tail(r, lane))
		return -ENOENT;
	return slot_read(&r->lane[lane], n, out);
}

/* Timestamp for the search: a record being rewritten (or already gone)
 * is newer than anything; a hole takes the next whole record's time, so
 * the predicate stays monotonic. */
static uint64_t probe_ts(const struct lane *l, uint64_t n, uint64_t hi)
{
	uint64_t ts = UINT64_MAX;

	for (; n < hi; n++) {
		enum ts_state st = slot_ts(l, n, &ts);
		if (st == TS_OK)
			return ts;
		if (st == TS_NEWER)
			return UINT64_MAX;
	}
	return UINT64_MAX;
}

uint64_t ring_seek_time(const struct ring *r, unsigned lane, uint64_t ts_ns)
{
	const struct lane *l = &r->lane[lane];
	uint64_t lo = ring_tail(r, lane), hi = ring_head(r, lane), end = hi, ts;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (probe_ts(l, mid, end) >= ts_ns)
			hi = mid;
		else
			lo = mid + 1;
	}
	/* Land on a record, not on a hole before it. */
	while (lo < end && slot_ts(l, lo, &ts) == TS_HOLE)
		lo++;
	return lo;
}

size_t ring_slot_bytes(uint32_t rec_size)
{
	return SLOT_HDR + (((size_t)rec_size + 7u) & ~(size_t)7u);
}

/* ---- a memory ring becomes a file ---- */

/* Write the region into the file, skipping 64 KiB runs of zeros (the
 * file is zeros already).  0 or -errno. */
static int region_write(int fd, const unsigned char *base, size_t size)
{
	static const unsigned char zeros[1 << 16];

	for (size_t off = 0; off < size; ) {
		size_t n = size - off < sizeof zeros ? size - off : sizeof zeros;
		ssize_t w;

		if (memcmp(base + off, zeros, n) == 0) {
			off += n;
			continue;
		}
		w = pwrite(fd, base + off, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += (size_t)w;
	}
	return 0;
}

/* Not enough room for the file: fail at once rather than write zeros
 * until the disk is full again (ring_persist is retried on a timer). */
static int room_check(int fd, const char *tmp, uint64_t size, char *err,
                      size_t len)
{
	struct statvfs sv;
	char hs[32], fs[32];
	uint64_t avail;

	if (fstatvfs(fd, &sv) < 0)
		return 0;   /* cannot tell: tmp_size finds out */
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (avail >= size)
		return 0;
	return fail(err, len, -ENOSPC, "ring %s: cannot allocate %s: %s (%s free)",
	            tmp, human_size(size, hs, sizeof hs), strerror(ENOSPC),
	            human_size(avail, fs, sizeof fs));
}

static void gates_close(struct ring *r)
{
	for (unsigned i = 0; i < r->nlanes; i++)
		pthread_mutex_lock(&r->lane[i].gate);
}

static void gates_open(struct ring *r, int for_good)
{
	if (for_good)
		atomic_store_explicit(&r->gated, 0, memory_order_release);
	for (unsigned i = r->nlanes; i-- > 0; )
		pthread_mutex_unlock(&r->lane[i].gate);
}

int ring_persist(struct ring *r, const char *path, char *moved_aside,
                 size_t aside_len, char *err, size_t len)
{
	struct ring_open_info scratch;
	char tmp[PATH_MAX];
	struct stat st;
	void *probe;
	int fd, rc, w;

	if (moved_aside && aside_len)
		moved_aside[0] = '\0';
	if (r->fd >= 0)
		return 0;
	if (!r->gates_init || !atomic_load_explicit(&r->gated, memory_order_acquire))
		return fail(err, len, -EINVAL, "ring %s: not opened by ring_open with may_persist",
		            path);
	w = snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (w < 0 || w >= (int)sizeof tmp)
		return fail(err, len, -ENAMETOOLONG, "ring %s: path too long", path);
	fd = tmp_open(tmp, err, len);
	if (fd < 0)
		return fd;
	rc = room_check(fd, tmp, r->size, err, len);
	if (rc == 0)
		rc = tmp_size(fd, tmp, r->size, err, len);
	if (rc == 0)
		rc = map_region(fd, r->size, tmp, &probe, err, len);
	if (rc == 0)
		munmap(probe, r->size);
	/* A file already at path is history this ring does not hold (it
	 * could not be opened when the daemon started): keep it aside. */
	if (rc == 0 && lstat(path, &st) == 0) {
		memset(&scratch, 0, sizeof scratch);
		rc = move_aside(path, "not opened at start, replaced by the memory ring",
		                &scratch, err, len);
		if (rc == 0 && moved_aside && aside_len)
			snprintf(moved_aside, aside_len, "%s", scratch.moved_aside);
	}
	if (rc < 0) {
		close(fd);
		unlink(tmp);
		return rc;
	}
	/* Writers wait from here until the region is the file's mapping. */
	gates_close(r);
	rc = region_write(fd, r->base, r->size);
	if (rc < 0)
		rc = fail(err, len, rc, "ring %s: cannot write: %s", tmp, strerror(-rc));
	else if (fdatasync(fd) < 0)
		rc = fail(err, len, -errno, "ring %s: cannot write: %s", tmp,
		          strerror(errno));
	else if (rename(tmp, path) < 0)
		rc = fail(err, len, -errno, "ring %s: cannot rename %s over it: %s",
		          path, tmp, strerror(errno));
	if (rc < 0) {
		gates_open(r, 0);
		close(fd);
		unlink(tmp);
		return rc;
	}
	/* The file now holds what the memory holds; mapping it over the same
	 * address keeps every pointer into the region (the writer threads',
	 * a reader's) valid, and a reader mid-copy sees the same bytes. */
	if (mmap(r->base, r->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
	         fd, 0) == MAP_FAILED) {
		/* The probe mapped it a moment ago; only an out-of-memory in the
		 * kernel gets here, and the region may be gone. */
		log_errx("ring %s: cannot map over the memory ring: %s", path,
		         strerror(errno));
		abort();
	}
	r->fd = fd;
	gates_open(r, 1);
	sync_dir(path);
	return 0;
}
