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
	size_t max;     /* payload cap (at most UINT32_MAX) */
	size_t scan;    /* private: buf offset of the next header to check
	                 * (may lie beyond len while a payload is incomplete) */
	int failed;     /* 0, or -EMSGSIZE / -EPROTO: a bad header was seen
	                 * and the stream is dead */
};

void frame_reader_init(struct frame_reader *fr, size_t max);
void frame_reader_free(struct frame_reader *fr);

/* Append received bytes.  Every frame header in them is checked before
 * anything is appended or allocated, so a declared length never causes an
 * allocation: returns 0; -EMSGSIZE as soon as a header declares a payload
 * over max; -EPROTO for a header declaring length 0 (a bad frame: there is
 * no empty map); or -ENOMEM.  After -EMSGSIZE/-EPROTO the reader stays
 * failed, and the whole frames received before the bad header can still be
 * taken with frame_reader_next (which then returns the error).
 * The buffer grows only with bytes actually received, and not past 4 + max
 * while the held bytes plus the feed fit in that; a feed that brings the
 * end of one frame and the start of the next may pass it, and the buffer
 * shrinks back at the next feed that fits.  Drain with next after each
 * feed: frames left undrained are held too. */
int frame_reader_feed(struct frame_reader *fr, const void *p, size_t n);

/* The next whole frame: returns 1 with *payload and *len set (valid until
 * the next feed; len is never 0), 0 when more bytes are needed, or the
 * failure (-EMSGSIZE / -EPROTO) once the frames before a bad header are
 * taken. */
int frame_reader_next(struct frame_reader *fr, const uint8_t **payload, size_t *len);

/* Bytes received and not yet returned by next; after draining, those of an
 * incomplete frame (0 between frames): a peer that disconnects with this
 * non-zero left a truncated frame. */
size_t frame_reader_pending(const struct frame_reader *fr);

/* Writing: reserve the 4-byte header in sb, pack one map after it, then
 * frame_end fills the length in and returns 0.  frame_end returns
 * -EMSGSIZE if the payload exceeds max (or UINT32_MAX), and -EPROTO if it
 * is empty or the header is missing; on error sb is cut back to start, so
 * the caller can pack an error frame in its place. */
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
