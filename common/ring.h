/*
 * The shared ring: one mapped region holding one lane per record kind.
 *
 * A lane is a circular array of fixed-size records.  Each lane has exactly
 * one writer thread; any number of readers read without locks.  Every slot
 * carries a sequence word (seqlock): the writer of record n sets it to
 * 2n+1 while writing and 2n+2 when done, so a reader that copies a slot
 * keeps the copy only if the word was 2n+2 before and after the copy.  A
 * slot also carries a checksum of its payload, so recovery after a crash
 * (or a torn page after power loss) keeps only whole records.
 *
 * Records are opaque bytes to the ring except for one rule: each record
 * starts with a uint64_t timestamp (ns), non-decreasing within a lane, so
 * readers can binary-search by time.
 *
 * The region is a file in the state directory (history survives restarts
 * and crashes) or anonymous memory.  On open, a file with another magic,
 * version or schema hash is renamed aside ("<path>.incompatible-<time>")
 * with a log line, never overwritten.  A compatible file whose lane layout
 * differs from the one asked for (another budget or retention) is migrated:
 * the newest records that fit are copied into a new file.
 */
#ifndef RMON_RING_H
#define RMON_RING_H

#include <stddef.h>
#include <stdint.h>

#define RING_LANES_MAX 16

struct ring;

struct ring_lane_spec {
	uint32_t id;        /* caller's lane id (the record kind) */
	uint32_t rec_size;  /* bytes per record, >= 8 */
	uint64_t capacity;  /* records kept, >= 1 */
};

struct ring_opts {
	const char *path;           /* NULL: in-memory ring */
	uint64_t schema_hash;       /* stored in, and checked against, the file */
	const struct ring_lane_spec *lanes;
	unsigned nlanes;            /* <= RING_LANES_MAX */
	int may_persist;            /* memory ring that ring_persist may make a file
	                               later: its pushes take a lane gate until then */
};

/* What opening found, for the daemon's log line and `status`. */
struct ring_open_info {
	int created;            /* a new file (or memory) was set up */
	int migrated;           /* records were copied from a file of another layout */
	char moved_aside[512];  /* where an incompatible file went, or "" */
	uint64_t recovered;     /* whole records found in the file */
	uint64_t torn;          /* slots rejected (odd sequence or bad checksum) */
};

/* Open or create.  Returns 0, or -errno with a message in err. */
int ring_open(const struct ring_opts *o, struct ring **out,
              struct ring_open_info *info, char *err, size_t errlen);

/* msync (file mode), unmap, free.  NULL is fine. */
void ring_close(struct ring *r);

/* Flush the mapping to its file; a no-op in memory mode.  0 or -errno. */
int ring_sync(struct ring *r);

/* Make a memory ring (ring_open without a path) a file at path, keeping
 * its records, its numbers and its address: writer threads and readers
 * go on using the same struct ring.  For a daemon that started on memory
 * because the state directory was unwritable or full.  The file is built
 * as "<path>.tmp" with its blocks written out (no room: -ENOSPC before any
 * writer waits), then every lane's writer is held while the records are
 * copied, the file renamed to path and mapped over the memory (so a
 * reader never sees a torn record).  A file already at path is moved
 * aside (never overwritten); its new name goes to moved_aside ("" if
 * none).  A file ring: 0 at once.  Call from one thread at a time.
 * Returns 0, or -errno with a message in err (the ring is unchanged);
 * -EINVAL for a memory ring opened without may_persist.  Until it
 * succeeds each push of a may_persist ring takes an uncontended per-lane
 * mutex; afterwards pushes take none, and other rings never do. */
int ring_persist(struct ring *r, const char *path, char *moved_aside,
                 size_t aside_len, char *err, size_t errlen);

/* Lane index of a caller's lane id, or -1. */
int ring_lane(const struct ring *r, uint32_t id);

uint64_t ring_capacity(const struct ring *r, unsigned lane);
uint32_t ring_rec_size(const struct ring *r, unsigned lane);
size_t ring_bytes(const struct ring *r);   /* size of the whole region */

/* Bytes one record of rec_size occupies in a lane (its slot): what a
 * memory budget must count. */
size_t ring_slot_bytes(uint32_t rec_size);
int ring_is_file(const struct ring *r);

/* Records ever written to the lane: the next record gets this number. */
uint64_t ring_head(const struct ring *r, unsigned lane);

/* The oldest record number still held (head - capacity, or 0). */
uint64_t ring_tail(const struct ring *r, unsigned lane);

/* Append one record (rec_size bytes).  Only the lane's writer thread may
 * call this.  Returns the record's number. */
uint64_t ring_push(struct ring *r, unsigned lane, const void *rec);

/* Copy record n into out (rec_size bytes).  Returns 0, -ENOENT when n is
 * not held (overwritten or not yet written), -EAGAIN when the writer was
 * on that slot during the copy (the caller may retry or move on). */
int ring_read(const struct ring *r, unsigned lane, uint64_t n, void *out);

/* The first record number in [tail, head) whose timestamp is >= ts_ns, or
 * head when none is.  Binary search; a slot being rewritten during the
 * search counts as newer than any timestamp. */
uint64_t ring_seek_time(const struct ring *r, unsigned lane, uint64_t ts_ns);

#endif
