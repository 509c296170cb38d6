/*
 * Framing: split and merged frames, the size cap enforced before any
 * allocation, truncation, and the writer side.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"
#include "proto.h"

/* Append one frame (header + payload of `len` bytes, each byte = seed + i)
 * to buf at *pos. */
static void put_frame(uint8_t *buf, size_t *pos, uint32_t len, uint8_t seed)
{
	frame_put_u32(buf + *pos, len);
	for (uint32_t i = 0; i < len; i++)
		buf[*pos + PROTO_HDR_LEN + i] = (uint8_t)(seed + i);
	*pos += PROTO_HDR_LEN + len;
}

static void check_payload(const uint8_t *p, size_t len, size_t want_len, uint8_t seed)
{
	assert_int_equal(len, want_len);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(p[i], (uint8_t)(seed + i));
}

static void test_one_frame(void **state)
{
	(void)state;
	struct frame_reader fr;
	uint8_t buf[64];
	size_t n = 0;
	const uint8_t *p;
	size_t len;

	frame_reader_init(&fr, 1024);
	put_frame(buf, &n, 10, 1);
	assert_int_equal(frame_reader_feed(&fr, buf, n), 0);
	assert_int_equal(frame_reader_next(&fr, &p, &len), 1);
	check_payload(p, len, 10, 1);
	assert_int_equal(frame_reader_next(&fr, &p, &len), 0);
	assert_int_equal(frame_reader_pending(&fr), 0);
	frame_reader_free(&fr);
}

/* Three frames, one byte per feed: each frame comes out exactly when its
 * last byte arrives, and pending says how much of a frame is held. */
static void test_byte_by_byte(void **state)
{
	(void)state;
	struct frame_reader fr;
	uint8_t buf[256];
	size_t n = 0, ends[3];
	const uint32_t lens[3] = { 1, 100, 7 };

	for (int i = 0; i < 3; i++) {
		put_frame(buf, &n, lens[i], (uint8_t)(i * 50));
		ends[i] = n;
	}
	frame_reader_init(&fr, 1024);
	int got = 0;
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p;
		size_t len;
		assert_int_equal(frame_reader_feed(&fr, buf + i, 1), 0);
		int rc = frame_reader_next(&fr, &p, &len);
		if (i + 1 == ends[got]) {
			assert_int_equal(rc, 1);
			check_payload(p, len, lens[got], (uint8_t)(got * 50));
			start = ends[got];
			got++;
			assert_int_equal(frame_reader_next(&fr, &p, &len), 0);
			assert_int_equal(frame_reader_pending(&fr), 0);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(frame_reader_pending(&fr), i + 1 - start);
		}
	}
	assert_int_equal(got, 3);
	frame_reader_free(&fr);
}

/* Several frames and the start of another in one feed. */
static void test_several_in_one_feed(void **state)
{
	(void)state;
	struct frame_reader fr;
	uint8_t buf[512];
	size_t n = 0;
	const uint8_t *p;
	size_t len;

	for (int i = 0; i < 5; i++)
		put_frame(buf, &n, (uint32_t)(20 + i), (uint8_t)i);
	size_t whole = n;
	put_frame(buf, &n, 30, 9);
	frame_reader_init(&fr, 1024);
	assert_int_equal(frame_reader_feed(&fr, buf, whole + 10), 0);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(frame_reader_next(&fr, &p, &len), 1);
		check_payload(p, len, (size_t)(20 + i), (uint8_t)i);
	}
	assert_int_equal(frame_reader_next(&fr, &p, &len), 0);
	assert_int_equal(frame_reader_pending(&fr), 10);
	assert_int_equal(frame_reader_feed(&fr, buf + whole + 10, n - whole - 10), 0);
	assert_int_equal(frame_reader_next(&fr, &p, &len), 1);
	check_payload(p, len, 30, 9);
	assert_int_equal(frame_reader_pending(&fr), 0);
	frame_reader_free(&fr);
}

/* A header over the cap is refused on the spot, with nothing allocated. */
static void test_oversized_header(void **state)
{
	(void)state;
	struct frame_reader fr;
	uint8_t hdr[8] = { 0 };
	const uint8_t *p;
	size_t len;

	frame_reader_init(&fr, 1024);
	frame_put_u32(hdr, 1025);
	assert_int_equal(frame_reader_feed(&fr, hdr, sizeof(hdr)), -EMSGSIZE);
	assert_int_equal(fr.cap, 0);
	assert_null(fr.buf);
	assert_int_equal(frame_reader_next(&fr, &p, &len), -EMSGSIZE);
	/* The stream stays dead. */
	assert_int_equal(frame_reader_feed(&fr, "x", 1), -EMSGSIZE);
	frame_reader_free(&fr);

	/* 4 GiB declared, header split across feeds: only the first two
	 * header bytes were ever stored. */
	frame_reader_init(&fr, PROTO_FRAME_MAX);
	frame_put_u32(hdr, UINT32_MAX);
	assert_int_equal(frame_reader_feed(&fr, hdr, 2), 0);
	assert_int_equal(frame_reader_next(&fr, &p, &len), 0);
	assert_int_equal(frame_reader_feed(&fr, hdr + 2, 6), -EMSGSIZE);
	assert_true(fr.cap <= 256);
	assert_int_equal(frame_reader_next(&fr, &p, &len), -EMSGSIZE);
	frame_reader_free(&fr);
}

/* Frames before a bad header in the same feed can still be taken. */
static void test_oversized_after_good(void **state)
{
	(void)state;
	struct frame_reader fr;
	uint8_t buf[64];
	size_t n = 0;
	const uint8_t *p;
	size_t len;

	put_frame(buf, &n, 5, 3);
	frame_put_u32(buf + n, 100);
	n += 4;
	frame_reader_init(&fr, 50);
	assert_int_equal(frame_reader_feed(&fr, buf, n), -EMSGSIZE);
	assert_int_equal(frame_reader_next(&fr, &p, &len), 1);
	check_payload(p, len, 5, 3);
	assert_int_equal(frame_reader_next(&fr, &p, &len), -EMSGSIZE);
	assert_int_equal(frame_reader_next(&fr, &p, &len), -EMSGSIZE);
	frame_reader_free(&fr);
}

static void test_exactly_max(void **state)
{
	(void)state;
	struct frame_reader fr;
	uint8_t buf[4 + 64];
	size_t n = 0;
	const uint8_t *p;
	size_t len;

	put_frame(buf, &n, 64, 0);
	frame_reader_init(&fr, 64);
	assert_int_equal(frame_reader_feed(&fr, buf, n), 0);
	assert_int_equal(frame_reader_next(&fr, &p, &len), 1);
	check_payload(p, len, 64, 0);
	assert_true(fr.cap <= 4 + 64);
	frame_reader_free(&fr);
}

static void test_zero_length(void **state)
{
	(void)state;
	struct frame_reader fr;
	uint8_t buf[16];
	size_t n = 0;
	const uint8_t *p;
	size_t len;

	put_frame(buf, &n, 2, 0);
	frame_put_u32(buf + n, 0);
	n += 4;
	frame_reader_init(&fr, 1024);
	assert_int_equal(frame_reader_feed(&fr, buf, n), -EPROTO);
	assert_int_equal(frame_reader_next(&fr, &p, &len), 1);
	assert_int_equal(len, 2);
	assert_int_equal(frame_reader_next(&fr, &p, &len), -EPROTO);
	assert_int_equal(frame_reader_feed(&fr, buf, 1), -EPROTO);
	frame_reader_free(&fr);
}

static void test_truncated(void **state)
{
	(void)state;
	struct frame_reader fr;
	uint8_t buf[64];
	size_t n = 0;
	const uint8_t *p;
	size_t len;

	put_frame(buf, &n, 40, 0);
	frame_reader_init(&fr, 1024);
	assert_int_equal(frame_reader_pending(&fr), 0);
	assert_int_equal(frame_reader_feed(&fr, buf, 2), 0);   /* half a header */
	assert_int_equal(frame_reader_next(&fr, &p, &len), 0);
	assert_int_equal(frame_reader_pending(&fr), 2);
	assert_int_equal(frame_reader_feed(&fr, buf + 2, 20), 0);
	assert_int_equal(frame_reader_next(&fr, &p, &len), 0);
	assert_int_equal(frame_reader_pending(&fr), 22);
	frame_reader_free(&fr);
}

/* Many frames through a small reader, drained after each feed: the buffer
 * grows only with bytes received (never past 4 + max, or the held partial
 * frame plus the feed when that is more), and compaction keeps the bytes
 * intact.  Fed one frame at a time, it never passes 4 + max. */
static void test_cap_bounded(void **state)
{
	(void)state;
	enum { MAX = 1000, FRAMES = 50 };
	struct frame_reader fr;
	uint8_t *buf = malloc(FRAMES * (4 + MAX));
	size_t n = 0;
	uint32_t lens[FRAMES];

	assert_non_null(buf);
	for (int i = 0; i < FRAMES; i++) {
		lens[i] = (uint32_t)(1 + (i * 397) % MAX);
		put_frame(buf, &n, lens[i], (uint8_t)i);
	}
	frame_reader_init(&fr, MAX);
	int got = 0, over = 0;
	size_t high = 4 + MAX;
	for (size_t pos = 0, chunk = 1; pos < n; pos += chunk, chunk = chunk % 333 + 7) {
		const uint8_t *p;
		size_t len;
		if (chunk > n - pos)
			chunk = n - pos;
		size_t need = frame_reader_pending(&fr) + chunk;
		if (need > high)
			high = need;
		assert_int_equal(frame_reader_feed(&fr, buf + pos, chunk), 0);
		assert_true(fr.cap <= high);
		if (need <= 4 + MAX)
			assert_true(fr.cap <= 4 + MAX);
		else
			over++;
		while (frame_reader_next(&fr, &p, &len) == 1) {
			check_payload(p, len, lens[got], (uint8_t)got);
			got++;
		}
	}
	assert_int_equal(got, FRAMES);
	assert_true(over > 0);   /* the case above was exercised */
	assert_int_equal(frame_reader_pending(&fr), 0);
	frame_reader_free(&fr);

	frame_reader_init(&fr, MAX);
	got = 0;
	for (size_t pos = 0; pos < n; pos += 4 + lens[got++]) {
		const uint8_t *p;
		size_t len;
		assert_int_equal(frame_reader_feed(&fr, buf + pos, 4 + lens[got]), 0);
		assert_true(fr.cap <= 4 + MAX);
		assert_int_equal(frame_reader_next(&fr, &p, &len), 1);
		check_payload(p, len, lens[got], (uint8_t)got);
	}
	frame_reader_free(&fr);
	free(buf);
}

/* Payloads stay valid until the next feed, even across next calls. */
static void test_payload_lifetime(void **state)
{
	(void)state;
	struct frame_reader fr;
	uint8_t buf[64];
	size_t n = 0;
	const uint8_t *p1, *p2;
	size_t l1, l2;

	put_frame(buf, &n, 3, 10);
	put_frame(buf, &n, 4, 20);
	frame_reader_init(&fr, 64);
	assert_int_equal(frame_reader_feed(&fr, buf, n), 0);
	assert_int_equal(frame_reader_next(&fr, &p1, &l1), 1);
	assert_int_equal(frame_reader_next(&fr, &p2, &l2), 1);
	check_payload(p1, l1, 3, 10);
	check_payload(p2, l2, 4, 20);
	frame_reader_free(&fr);
}

static void test_empty_and_free(void **state)
{
	(void)state;
	struct frame_reader fr;
	const uint8_t *p;
	size_t len;

	frame_reader_init(&fr, 64);
	assert_int_equal(frame_reader_feed(&fr, NULL, 0), 0);
	assert_int_equal(frame_reader_next(&fr, &p, &len), 0);
	frame_reader_free(&fr);
	frame_reader_free(&fr);   /* idempotent */
}

static void test_writer(void **state)
{
	(void)state;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct frame_reader fr;
	const uint8_t *p;
	size_t len;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_sbuffer_write(&sb, "junk", 4);   /* frames may follow others */
	size_t start = frame_begin(&sb);
	assert_int_equal(start, 4);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str(&pk, 1);
	msgpack_pack_str_body(&pk, "a", 1);
	msgpack_pack_uint64(&pk, 7);
	assert_int_equal(frame_end(&sb, start, 64), 0);
	assert_int_equal(frame_get_u32((uint8_t *)sb.data + start), sb.size - start - 4);

	frame_reader_init(&fr, 64);
	assert_int_equal(frame_reader_feed(&fr, sb.data + start, sb.size - start), 0);
	assert_int_equal(frame_reader_next(&fr, &p, &len), 1);
	assert_int_equal(len, sb.size - start - 4);
	assert_memory_equal(p, sb.data + start + 4, len);
	frame_reader_free(&fr);

	/* Too large: cut back so an error frame can take its place. */
	size_t before = sb.size;
	start = frame_begin(&sb);
	static const char big[100];
	msgpack_pack_str(&pk, sizeof(big));
	msgpack_pack_str_body(&pk, big, sizeof(big));
	assert_int_equal(frame_end(&sb, start, 10), -EMSGSIZE);
	assert_int_equal(sb.size, before);

	/* Nothing packed: not a frame. */
	start = frame_begin(&sb);
	assert_int_equal(frame_end(&sb, start, 10), -EPROTO);
	assert_int_equal(sb.size, before);
	msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_frame),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_several_in_one_feed),
		cmocka_unit_test(test_oversized_header),
		cmocka_unit_test(test_oversized_after_good),
		cmocka_unit_test(test_exactly_max),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_cap_bounded),
		cmocka_unit_test(test_payload_lifetime),
		cmocka_unit_test(test_empty_and_free),
		cmocka_unit_test(test_writer),
	};
	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
