/*
 * Framing: bytes in, whole msgpack payloads out; and the length prefix on
 * the way out.  No libuv here: the daemon's read callback, the client's
 * blocking loop, the tests and the fuzzer all drive the same code.
 */
#ifndef RMON_FRAME_H
#define RMON_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

struct frame_reader {
	uint8_t *buf;   /* bytes received and not yet consumed */
	size_t len;     /* bytes in buf */
	size_t off;     /* start of the next unconsumed frame */
	size_t cap;     /* allocated */
	size_t max;     /* payload cap */
	int failed;     /* an oversized header was seen: the stream is dead */
};

void frame_reader_init(struct frame_reader *fr, size_t max);
void frame_reader_free(struct frame_reader *fr);

/* Append received bytes.  Returns 0, -EMSGSIZE as soon as a frame header
 * declares a payload over max (before allocating anything for it; the
 * reader stays failed), or -ENOMEM. */
int frame_reader_feed(struct frame_reader *fr, const void *p, size_t n);

/* The next whole frame: returns 1 with *payload and *len set (valid until
 * the next feed or next call), 0 when more bytes are needed, -EMSGSIZE
 * when the reader has failed. */
int frame_reader_next(struct frame_reader *fr, const uint8_t **payload, size_t *len);

/* Bytes of an incomplete frame held (0 between frames): a peer that
 * disconnects with this non-zero left a truncated frame. */
size_t frame_reader_pending(const struct frame_reader *fr);

/* Writing: reserve the 4-byte header in sb, pack one map after it, then
 * frame_end fills the length in.  frame_end returns -EMSGSIZE if the
 * payload exceeds max (the caller then sends an error instead). */
size_t frame_begin(msgpack_sbuffer *sb);
int frame_end(msgpack_sbuffer *sb, size_t start, size_t max);

/* Big-endian helpers. */
static inline uint32_t frame_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void frame_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
