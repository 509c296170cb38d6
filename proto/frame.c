/*
 * Framing: a 4-byte big-endian payload length, then the payload.
 *
 * The reader is the first thing hostile bytes meet, so it checks every
 * header before it stores or allocates anything: a peer that declares a
 * 4 GiB frame costs us four bytes, not four gigabytes.  Headers are
 * checked once each (fr->scan remembers how far), so feeding a stream one
 * byte at a time stays linear.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "proto.h"

/* Small first allocation: most requests are a few dozen bytes. */
#define FRAME_BUF_MIN 256

void frame_reader_init(struct frame_reader *fr, size_t max)
{
	memset(fr, 0, sizeof(*fr));
	/* The wire length is 32 bits: a larger cap would mean "no cap" and
	 * would let 4 + max overflow on 32-bit hosts. */
	if (max > UINT32_MAX)
		max = UINT32_MAX;
	if (max > SIZE_MAX - PROTO_HDR_LEN)
		max = SIZE_MAX - PROTO_HDR_LEN;
	fr->max = max;
}

void frame_reader_free(struct frame_reader *fr)
{
	free(fr->buf);
	fr->buf = NULL;
	fr->len = fr->off = fr->cap = fr->scan = 0;
}

/* Byte i of the logical stream "held bytes, then the n new ones". */
static uint8_t frame_byte(const struct frame_reader *fr, const uint8_t *p, size_t i)
{
	return i < fr->len ? fr->buf[i] : p[i - fr->len];
}

/* Check the headers that start in [*scan, len + n).  Returns 0, or the
 * error with *scan left on the bad header. */
static int frame_check(const struct frame_reader *fr, const uint8_t *p, size_t n,
                       size_t *scan)
{
	size_t end = fr->len + n, pos = *scan;
	int rc = 0;

	while (pos <= end && end - pos >= PROTO_HDR_LEN) {
		uint8_t h[PROTO_HDR_LEN];
		for (size_t i = 0; i < PROTO_HDR_LEN; i++)
			h[i] = frame_byte(fr, p, pos + i);
		uint32_t plen = frame_get_u32(h);
		if (plen == 0 || plen > fr->max) {
			rc = plen == 0 ? -EPROTO : -EMSGSIZE;
			break;
		}
		pos += PROTO_HDR_LEN + (size_t)plen;
	}
	*scan = pos;
	return rc;
}

/* The size to allocate for need bytes: doubling from the current size,
 * but never past 4 + max (limit) unless the bytes held need more. */
static size_t frame_target(const struct frame_reader *fr, size_t need, size_t limit)
{
	if (need > limit)
		return need;
	size_t cap = fr->cap && fr->cap <= limit ? fr->cap : FRAME_BUF_MIN;
	while (cap < need && cap <= SIZE_MAX / 2)
		cap *= 2;
	return cap > limit ? limit : cap;
}

/* Room for n more bytes at buf + len.  Moves the held bytes to the front
 * only when the tail is too short (or to shrink).  A buffer that had to pass 4 + max
 * (one feed bringing the end of a frame and the start of the next) goes
 * back under it at the next feed that fits. */
static int frame_reserve(struct frame_reader *fr, size_t n)
{
	size_t limit = PROTO_HDR_LEN + fr->max;

	if (fr->cap - fr->len >= n && fr->cap <= limit)
		return 0;
	if (fr->off > 0) {
		memmove(fr->buf, fr->buf + fr->off, fr->len - fr->off);
		fr->len -= fr->off;
		fr->scan -= fr->off;
		fr->off = 0;
	}
	if (n > SIZE_MAX - fr->len)
		return -ENOMEM;
	size_t need = fr->len + n;
	if (fr->cap >= need && (fr->cap <= limit || need > limit))
		return 0;
	size_t cap = frame_target(fr, need, limit);
	uint8_t *nb = realloc(fr->buf, cap);
	if (!nb)
		return fr->cap >= need ? 0 : -ENOMEM;   /* a failed shrink is harmless */
	fr->buf = nb;
	fr->cap = cap;
	return 0;
}

static int frame_append(struct frame_reader *fr, const uint8_t *p, size_t n)
{
	if (n == 0)
		return 0;
	int rc = frame_reserve(fr, n);
	if (rc)
		return rc;
	memcpy(fr->buf + fr->len, p, n);
	fr->len += n;
	return 0;
}

int frame_reader_feed(struct frame_reader *fr, const void *data, size_t n)
{
	const uint8_t *p = data;

	if (fr->failed)
		return fr->failed;
	if (n == 0)
		return 0;
	/* Nothing held: start at the front again, no memmove needed. */
	if (fr->off == fr->len) {
		fr->scan -= fr->off;
		fr->len = fr->off = 0;
	}
	/* Check first, commit after the append: a failed allocation leaves
	 * the reader as it was. */
	size_t scan = fr->scan;
	int bad = frame_check(fr, p, n, &scan);
	size_t rel = scan - fr->off;   /* survives compaction by the append */
	/* Before a bad header, keep the whole frames: they were sent in good
	 * faith and the caller may still answer them. */
	size_t keep = !bad ? n : scan > fr->len ? scan - fr->len : 0;
	int rc = frame_append(fr, p, keep);
	if (rc == 0)
		fr->scan = fr->off + rel;
	else if (bad)
		fr->scan = fr->off;   /* frames lost: next reports the failure now */
	if (bad)
		fr->failed = bad;
	return rc ? rc : bad;
}

int frame_reader_next(struct frame_reader *fr, const uint8_t **payload, size_t *len)
{
	size_t held = fr->len - fr->off;

	if (fr->failed && fr->off >= fr->scan)
		return fr->failed;
	if (held < PROTO_HDR_LEN)
		return 0;
	/* Checked by frame_check when it arrived. */
	size_t plen = frame_get_u32(fr->buf + fr->off);
	if (held - PROTO_HDR_LEN < plen)
		return 0;
	*payload = fr->buf + fr->off + PROTO_HDR_LEN;
	*len = plen;
	/* The bytes stay where they are until the next feed, so *payload
	 * remains valid; the feed reuses the space. */
	fr->off += PROTO_HDR_LEN + plen;
	return 1;
}

size_t frame_reader_pending(const struct frame_reader *fr)
{
	return fr->len - fr->off;
}

size_t frame_begin(msgpack_sbuffer *sb)
{
	static const char zero[PROTO_HDR_LEN];
	size_t start = sb->size;

	(void)msgpack_sbuffer_write(sb, zero, sizeof(zero));
	return start;
}

int frame_end(msgpack_sbuffer *sb, size_t start, size_t max)
{
	int rc = 0;

	/* A failed frame_begin (out of memory) leaves no room for the
	 * header; an empty payload is not a map. */
	if (sb->size < start || sb->size - start <= PROTO_HDR_LEN)
		rc = -EPROTO;
	else if (sb->size - start - PROTO_HDR_LEN > max ||
	         sb->size - start - PROTO_HDR_LEN > UINT32_MAX)
		rc = -EMSGSIZE;
	if (rc) {
		if (sb->size > start)
			sb->size = start;
		return rc;
	}
	frame_put_u32((uint8_t *)sb->data + start,
	              (uint32_t)(sb->size - start - PROTO_HDR_LEN));
	return 0;
}
