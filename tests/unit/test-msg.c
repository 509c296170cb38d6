/*
 * Messages: request and reply round trips, and everything a hostile peer
 * can send instead (garbage, trailing bytes, wrong types, unknown and huge
 * ops, deep nesting, containers that declare more than they hold), plus
 * every accessor on every wrong type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"
#include "msg.h"
#include "proto.h"

/* A packer writing into its own buffer. */
struct buf {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static void buf_init(struct buf *b)
{
	msgpack_sbuffer_init(&b->sb);
	msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
}

static void buf_free(struct buf *b)
{
	msgpack_sbuffer_destroy(&b->sb);
}

static void buf_raw(struct buf *b, const void *p, size_t n)
{
	msgpack_sbuffer_write(&b->sb, p, n);
}

#define RAW(b, lit) buf_raw((b), (lit), sizeof(lit) - 1)

/* Parse b as a request / reply with a fresh zone each time. */
struct parsed {
	msgpack_zone z;
	struct msg_request req;
	struct msg_reply rep;
	char err[128];
};

static enum proto_err parse_req_n(struct parsed *ps, const void *p, size_t n)
{
	msgpack_zone_init(&ps->z, 1024);
	return msg_parse_request(p, n, &ps->z, &ps->req, ps->err, sizeof(ps->err));
}

static enum proto_err parse_req(struct parsed *ps, const struct buf *b)
{
	return parse_req_n(ps, b->sb.data, b->sb.size);
}

static enum proto_err parse_rep(struct parsed *ps, const struct buf *b)
{
	msgpack_zone_init(&ps->z, 1024);
	return msg_parse_reply((const uint8_t *)b->sb.data, b->sb.size, &ps->z, &ps->rep,
	                       ps->err, sizeof(ps->err));
}

static void parsed_free(struct parsed *ps)
{
	msgpack_zone_destroy(&ps->z);
}

/* Parse a raw request payload and expect code; returns nothing so that
 * table-driven tests stay one line each. */
static void expect_req(const void *p, size_t n, enum proto_err want)
{
	struct parsed ps;
	enum proto_err e = parse_req_n(&ps, p, n);
	if (e != want)
		fail_msg("want %s, got %s (%s)", proto_err_name(want), proto_err_name(e), ps.err);
	if (want != PROTO_OK)
		assert_true(ps.err[0] != '\0');
	parsed_free(&ps);
}

/* {"id": 7, "op": op, "args": <caller packs>} with n keys (2 or 3). */
static void pack_head(struct buf *b, size_t n, const char *op)
{
	msgpack_pack_map(&b->pk, n);
	msg_pack_kv_u64(&b->pk, "id", 7);
	msg_pack_kv_str(&b->pk, "op", op);
	if (n == 3)
		msg_pack_str(&b->pk, "args");
}

static void test_names(void **state)
{
	(void)state;
	for (int i = 0; i < PROTO_OP__COUNT; i++) {
		const char *n = proto_op_name((enum proto_op)i);
		assert_non_null(n);
		assert_int_equal(proto_op_find(n, (unsigned)strlen(n)), i);
	}
	for (int i = PROTO_OK + 1; i < PROTO_ERR__COUNT; i++) {
		const char *n = proto_err_name((enum proto_err)i);
		assert_non_null(n);
		assert_int_equal(proto_err_find(n, (unsigned)strlen(n)), i);
	}
	assert_string_equal(proto_op_name(PROTO_OP_HELLO), "hello");
	assert_string_equal(proto_err_name(PROTO_ERR_BAD_FRAME), "bad_frame");
	assert_string_equal(proto_err_name(PROTO_OK), "ok");
	assert_int_equal(proto_err_find("ok", 2), -1);
	assert_null(proto_op_name(PROTO_OP__COUNT));
	assert_null(proto_op_name((enum proto_op)-1));
	assert_null(proto_err_name(PROTO_ERR__COUNT));
	assert_int_equal(proto_op_find("hell", 4), -1);
	assert_int_equal(proto_op_find("hello\0", 6), -1);
	assert_int_equal(proto_op_find("helloo", 6), -1);
	assert_int_equal(proto_op_find("", 0), -1);
	assert_int_equal(proto_op_find(NULL, 0), -1);
	assert_int_equal(proto_op_find("getx", 3), PROTO_OP_GET);   /* length rules */
}

/* Pack a request, frame it, read it back through a frame_reader, parse. */
static void test_request_roundtrip(void **state)
{
	(void)state;
	struct buf b;
	struct frame_reader fr;
	struct parsed ps;
	const uint8_t *p;
	size_t len;
	char s[16];
	uint64_t u;
	int64_t i;
	double d;
	bool t;

	buf_init(&b);
	size_t start = frame_begin(&b.sb);
	msg_pack_request(&b.pk, 42, "get");
	msgpack_pack_map(&b.pk, 6);
	msg_pack_str(&b.pk, "selectors");
	msgpack_pack_array(&b.pk, 2);
	msg_pack_str(&b.pk, "system.load1");
	msg_pack_str(&b.pk, "net:*.rx_bps");
	msg_pack_kv_u64(&b.pk, "since", 5);
	msg_pack_kv_f64(&b.pk, "f", 1.5);
	msg_pack_kv_bool(&b.pk, "flag", true);
	msg_pack_kv_str(&b.pk, "name", "x");
	msg_pack_str(&b.pk, "neg");
	msgpack_pack_int64(&b.pk, -3);
	assert_int_equal(frame_end(&b.sb, start, PROTO_FRAME_MAX), 0);

	frame_reader_init(&fr, PROTO_FRAME_MAX);
	assert_int_equal(frame_reader_feed(&fr, b.sb.data, b.sb.size), 0);
	assert_int_equal(frame_reader_next(&fr, &p, &len), 1);
	assert_int_equal(parse_req_n(&ps, p, len), PROTO_OK);
	assert_true(ps.req.has_id);
	assert_int_equal(ps.req.id, 42);
	assert_int_equal(ps.req.op, PROTO_OP_GET);
	assert_string_equal(ps.req.op_name, "get");
	const msgpack_object *a = ps.req.args;
	assert_non_null(a);
	const msgpack_object *sel = msg_get_array(a, "selectors");
	assert_non_null(sel);
	assert_int_equal(sel->via.array.size, 2);
	assert_true(msg_str_eq(&sel->via.array.ptr[1], "net:*.rx_bps"));
	assert_true(msg_get_u64(a, "since", &u) && u == 5);
	assert_true(msg_get_f64(a, "f", &d) && d == 1.5);
	assert_true(msg_get_bool(a, "flag", &t) && t);
	assert_true(msg_get_str(a, "name", s, sizeof(s)));
	assert_string_equal(s, "x");
	assert_true(msg_get_i64(a, "neg", &i) && i == -3);
	parsed_free(&ps);
	frame_reader_free(&fr);
	buf_free(&b);
}

static void test_request_every_op(void **state)
{
	(void)state;
	for (int op = 0; op < PROTO_OP__COUNT; op++) {
		struct buf b;
		struct parsed ps;
		buf_init(&b);
		msg_pack_request(&b.pk, (uint64_t)op, proto_op_name((enum proto_op)op));
		msgpack_pack_nil(&b.pk);
		assert_int_equal(parse_req(&ps, &b), PROTO_OK);
		assert_int_equal(ps.req.op, op);
		assert_int_equal(ps.req.id, (uint64_t)op);
		assert_null(ps.req.args);
		parsed_free(&ps);
		buf_free(&b);
	}
}

static void test_request_args_forms(void **state)
{
	(void)state;
	struct buf b;
	struct parsed ps;

	/* absent */
	buf_init(&b);
	pack_head(&b, 2, "status");
	assert_int_equal(parse_req(&ps, &b), PROTO_OK);
	assert_null(ps.req.args);
	parsed_free(&ps);
	buf_free(&b);
	/* empty map */
	buf_init(&b);
	pack_head(&b, 3, "status");
	msgpack_pack_map(&b.pk, 0);
	assert_int_equal(parse_req(&ps, &b), PROTO_OK);
	assert_non_null(ps.req.args);
	assert_int_equal(ps.req.args->via.map.size, 0);
	parsed_free(&ps);
	buf_free(&b);
	/* extra keys are ignored (forward compatible); id may be UINT64_MAX */
	buf_init(&b);
	msgpack_pack_map(&b.pk, 3);
	msg_pack_kv_str(&b.pk, "op", "status");
	msg_pack_kv_u64(&b.pk, "id", UINT64_MAX);
	msg_pack_kv_str(&b.pk, "later", "x");
	assert_int_equal(parse_req(&ps, &b), PROTO_OK);
	assert_int_equal(ps.req.id, UINT64_MAX);
	parsed_free(&ps);
	buf_free(&b);
}

static void test_garbage(void **state)
{
	(void)state;
	static const struct { const char *b; size_t n; } cases[] = {
		{ "\xc1", 1 },                 /* never-used type byte */
		{ "\x81", 1 },                 /* map missing its entry */
		{ "\x81\xa2i", 3 },            /* truncated key */
		{ "\x82\xa2id\x01", 5 },       /* map missing its second entry */
		{ "\xff\xff\xff\xff", 4 },
		{ "GET / HTTP/1.1\r\n", 16 },
		{ "\x81\xa2id\xc1", 5 },       /* bad value */
		{ "\x81\xa2id\xcf\x00", 6 },   /* truncated uint64 */
		{ "\x81\xc1\x01", 3 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_req(cases[i].b, cases[i].n, PROTO_ERR_BAD_FRAME);
	expect_req("", 0, PROTO_ERR_BAD_FRAME);
	expect_req(NULL, 0, PROTO_ERR_BAD_FRAME);

	/* A fixed pseudo-random buffer: whatever it is, no crash, no OK. */
	uint8_t rnd[512];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(rnd); i++) {
		x = x * 1103515245u + 12345u;
		rnd[i] = (uint8_t)(x >> 16);
	}
	for (size_t n = 1; n <= sizeof(rnd); n *= 2) {
		struct parsed ps;
		assert_int_not_equal(parse_req_n(&ps, rnd, n), PROTO_OK);
		parsed_free(&ps);
	}
}

static void test_trailing_bytes(void **state)
{
	(void)state;
	struct buf b;
	struct parsed ps;

	buf_init(&b);
	pack_head(&b, 2, "status");
	expect_req(b.sb.data, b.sb.size, PROTO_OK);
	RAW(&b, "\x00");
	assert_int_equal(parse_req(&ps, &b), PROTO_ERR_BAD_FRAME);
	assert_non_null(strstr(ps.err, "trailing"));
	assert_false(ps.req.has_id);
	parsed_free(&ps);
	buf_free(&b);

	/* Two maps in one frame. */
	buf_init(&b);
	pack_head(&b, 2, "status");
	pack_head(&b, 2, "status");
	expect_req(b.sb.data, b.sb.size, PROTO_ERR_BAD_FRAME);
	buf_free(&b);
}

static void test_not_a_map(void **state)
{
	(void)state;
	expect_req("\x90", 1, PROTO_ERR_BAD_FRAME);          /* [] */
	expect_req("\x92\x01\x02", 3, PROTO_ERR_BAD_FRAME);
	expect_req("\x01", 1, PROTO_ERR_BAD_FRAME);
	expect_req("\xa2id", 3, PROTO_ERR_BAD_FRAME);
	expect_req("\xc0", 1, PROTO_ERR_BAD_FRAME);
	expect_req("\xc3", 1, PROTO_ERR_BAD_FRAME);
	expect_req("\x80", 1, PROTO_ERR_BAD_REQUEST);        /* {}: a map, but no id */
}

/* id: every wrong type is bad_request, and has_id stays false. */
static void test_bad_id(void **state)
{
	(void)state;
	static const char *const values[] = {
		"\xff",             /* -1 */
		"\xd3\x80\x00\x00\x00\x00\x00\x00\x00", /* INT64_MIN */
		"\xa1\x31",
		"\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00", /* 1.0 */
		"\xc0",
		"\xc3",
		"\x90",
		"\x80",
	};
	static const size_t lens[] = { 1, 9, 2, 9, 1, 1, 1, 1 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct buf b;
		struct parsed ps;
		buf_init(&b);
		msgpack_pack_map(&b.pk, 2);
		msg_pack_kv_str(&b.pk, "op", "status");
		msg_pack_str(&b.pk, "id");
		buf_raw(&b, values[i], lens[i]);
		assert_int_equal(parse_req(&ps, &b), PROTO_ERR_BAD_REQUEST);
		assert_false(ps.req.has_id);
		parsed_free(&ps);
		buf_free(&b);
	}
	struct buf b;
	buf_init(&b);
	msgpack_pack_map(&b.pk, 1);
	msg_pack_kv_str(&b.pk, "op", "status");
	expect_req(b.sb.data, b.sb.size, PROTO_ERR_BAD_REQUEST);
	buf_free(&b);
}

/* op of the wrong type: bad_request, but the id is echoed. */
static void test_bad_op(void **state)
{
	(void)state;
	static const char *const values[] = { "\x01", "\xc0", "\xc4\x05hello", "\x91\xa5hello", "\xc2" };
	static const size_t lens[] = { 1, 1, 7, 7, 1 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]) + 1; i++) {
		struct buf b;
		struct parsed ps;
		buf_init(&b);
		msgpack_pack_map(&b.pk, i < 5 ? 2 : 1);
		msg_pack_kv_u64(&b.pk, "id", 9);
		if (i < 5) {
			msg_pack_str(&b.pk, "op");
			buf_raw(&b, values[i], lens[i]);
		}
		assert_int_equal(parse_req(&ps, &b), PROTO_ERR_BAD_REQUEST);
		assert_true(ps.req.has_id);
		assert_int_equal(ps.req.id, 9);
		assert_int_equal(ps.req.op, -1);
		parsed_free(&ps);
		buf_free(&b);
	}
}

static void test_bad_args(void **state)
{
	(void)state;
	static const char *const values[] = { "\x90", "\x01", "\xa1x", "\xc3", "\xc4\x00" };
	static const size_t lens[] = { 1, 1, 2, 1, 2 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct buf b;
		struct parsed ps;
		buf_init(&b);
		/* an unknown op with bad args: the structure is checked first */
		pack_head(&b, 3, i % 2 ? "status" : "nosuchop");
		buf_raw(&b, values[i], lens[i]);
		assert_int_equal(parse_req(&ps, &b), PROTO_ERR_BAD_REQUEST);
		assert_non_null(strstr(ps.err, "args"));
		assert_true(ps.req.has_id);
		assert_null(ps.req.args);
		parsed_free(&ps);
		buf_free(&b);
	}
}

static void test_unknown_op(void **state)
{
	(void)state;
	struct buf b;
	struct parsed ps;

	buf_init(&b);
	pack_head(&b, 3, "nope");
	msgpack_pack_map(&b.pk, 0);
	assert_int_equal(parse_req(&ps, &b), PROTO_ERR_UNKNOWN_OP);
	assert_int_equal(ps.req.op, -1);
	assert_string_equal(ps.req.op_name, "nope");
	assert_true(ps.req.has_id);
	assert_int_equal(ps.req.id, 7);
	assert_non_null(strstr(ps.err, "nope"));
	parsed_free(&ps);
	buf_free(&b);

	static const struct { const char *op; size_t n; const char *shown; } cases[] = {
		{ "", 0, "" },
		{ "HELLO", 5, "HELLO" },
		{ "hello\0", 6, "hello?" },            /* NUL: no match, shown safely */
		{ "hel\x1b[2Jlo", 9, "hel?[2Jlo" },    /* escape sequence neutralised */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_init(&b);
		msgpack_pack_map(&b.pk, 2);
		msg_pack_kv_u64(&b.pk, "id", 1);
		msg_pack_str(&b.pk, "op");
		msgpack_pack_str(&b.pk, cases[i].n);
		msgpack_pack_str_body(&b.pk, cases[i].op, cases[i].n);
		assert_int_equal(parse_req(&ps, &b), PROTO_ERR_UNKNOWN_OP);
		assert_string_equal(ps.req.op_name, cases[i].shown);
		parsed_free(&ps);
		buf_free(&b);
	}
}

static void pack_op_bytes(struct buf *b, const char *op, size_t n)
{
	msgpack_pack_map(&b->pk, 2);
	msg_pack_kv_u64(&b->pk, "id", 1);
	msg_pack_str(&b->pk, "op");
	msgpack_pack_str(&b->pk, n);
	msgpack_pack_str_body(&b->pk, op, n);
}

/* A huge op is unknown, shown cut to 31 bytes; 31 bytes fit exactly; a cut
 * never splits a UTF-8 character. */
static void test_huge_op(void **state)
{
	(void)state;
	struct buf b;
	struct parsed ps;
	size_t big = 100000;
	char *op = malloc(big);

	assert_non_null(op);
	memset(op, 'A', big);
	buf_init(&b);
	pack_op_bytes(&b, op, big);
	assert_int_equal(parse_req(&ps, &b), PROTO_ERR_UNKNOWN_OP);
	assert_int_equal(strlen(ps.req.op_name), 31);
	assert_non_null(strstr(ps.err, "..."));
	parsed_free(&ps);
	buf_free(&b);

	buf_init(&b);
	pack_op_bytes(&b, op, 31);
	assert_int_equal(parse_req(&ps, &b), PROTO_ERR_UNKNOWN_OP);
	assert_int_equal(strlen(ps.req.op_name), 31);
	assert_null(strstr(ps.err, "..."));
	parsed_free(&ps);
	buf_free(&b);

	memcpy(op + 30, "\xc3\xa9", 2);    /* 'é' across the cut at 31 */
	buf_init(&b);
	pack_op_bytes(&b, op, 32);
	assert_int_equal(parse_req(&ps, &b), PROTO_ERR_UNKNOWN_OP);
	assert_int_equal(strlen(ps.req.op_name), 30);
	parsed_free(&ps);
	buf_free(&b);
	free(op);
}

/* {"id":7,"op":"hello","args":{"x": <levels-2 nested arrays>}}: levels
 * counts every container, the outer map included. */
static void pack_nested(struct buf *b, int levels)
{
	pack_head(b, 3, "hello");
	msgpack_pack_map(&b->pk, 1);
	msg_pack_str(&b->pk, "x");
	for (int i = 0; i < levels - 3; i++)
		msgpack_pack_array(&b->pk, 1);
	msgpack_pack_array(&b->pk, 0);
}

static void test_deep_nesting(void **state)
{
	(void)state;
	struct buf b;
	struct parsed ps;
	msgpack_zone z;
	msgpack_object o;

	/* msgpack-c's own fixed stack refuses 100 levels cleanly. */
	uint8_t deep[100];
	memset(deep, 0x91, sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = 0x90;
	msgpack_zone_init(&z, 1024);
	assert_true(msgpack_unpack((const char *)deep, sizeof(deep), NULL, &z, &o) < 0);
	msgpack_zone_destroy(&z);

	buf_init(&b);
	pack_nested(&b, 100);
	assert_int_equal(parse_req(&ps, &b), PROTO_ERR_BAD_FRAME);
	assert_non_null(strstr(ps.err, "nesting"));
	parsed_free(&ps);
	buf_free(&b);

	/* The limit is 32 levels, as in docs/protocol.md and msgpack-c. */
	for (int levels = 31; levels <= 34; levels++) {
		enum proto_err want = levels <= 32 ? PROTO_OK : PROTO_ERR_BAD_FRAME;
		buf_init(&b);
		pack_nested(&b, levels);
		assert_int_equal(parse_req(&ps, &b), want);
		parsed_free(&ps);
		msgpack_zone_init(&z, 1024);
		msgpack_unpack_return r = msgpack_unpack(b.sb.data, b.sb.size, NULL, &z, &o);
		assert_int_equal(r == MSGPACK_UNPACK_SUCCESS, want == PROTO_OK);
		msgpack_zone_destroy(&z);
		buf_free(&b);
	}
}

/* A container or string that declares more than the frame holds is refused
 * before msgpack-c allocates for it (array32 of 2^32-1 items would be a
 * 96 GiB zone allocation). */
static void test_huge_counts(void **state)
{
	(void)state;
	static const struct { const char *b; size_t n; } values[] = {
		{ "\xdd\xff\xff\xff\xff", 5 },            /* array32 */
		{ "\xdf\xff\xff\xff\xff", 5 },            /* map32 */
		{ "\xdc\xff\xff", 3 },                    /* array16 */
		{ "\xde\x00\x02\x01\x01\x01", 6 },        /* map16 of 2 with 3 items */
		{ "\xdb\xff\xff\xff\xff", 5 },            /* str32 */
		{ "\xc6\xff\xff\xff\xff", 5 },            /* bin32 */
		{ "\xc9\xff\xff\xff\xff\x01", 6 },        /* ext32 */
		{ "\xd8\x01", 2 },                        /* fixext16, short */
	};
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		struct buf b;
		buf_init(&b);
		pack_head(&b, 3, "hello");
		msgpack_pack_map(&b.pk, 1);
		msg_pack_str(&b.pk, "x");
		buf_raw(&b, values[i].b, values[i].n);
		expect_req(b.sb.data, b.sb.size, PROTO_ERR_BAD_FRAME);
		buf_free(&b);
	}
	expect_req("\xdf\xff\xff\xff\xff", 5, PROTO_ERR_BAD_FRAME);
	expect_req("\xdd\xff\xff\xff\xff\x01\x01", 7, PROTO_ERR_BAD_FRAME);
}

/* Every msgpack encoding, in its widest forms too: the pre-scan must agree
 * with msgpack-c on valid input, and every truncation of it is refused. */
static const struct { const char *b; size_t n; } all_values[] = {
#define V(lit) { lit, sizeof(lit) - 1 }
	V("\x00"), V("\x7f"), V("\xe0"), V("\xff"), V("\xc0"), V("\xc2"), V("\xc3"),
	V("\xcc\x01"), V("\xcd\x01\x02"), V("\xce\x01\x02\x03\x04"),
	V("\xcf\x01\x02\x03\x04\x05\x06\x07\x08"),
	V("\xd0\x81"), V("\xd1\x81\x02"), V("\xd2\x81\x02\x03\x04"),
	V("\xd3\x81\x02\x03\x04\x05\x06\x07\x08"),
	V("\xca\x3f\x80\x00\x00"), V("\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00"),
	V("\xa3" "abc"), V("\xd9\x01" "a"), V("\xda\x00\x01" "a"), V("\xdb\x00\x00\x00\x01" "a"),
	V("\xc4\x01z"), V("\xc5\x00\x01z"), V("\xc6\x00\x00\x00\x01z"),
	V("\xd4\x05\x01"), V("\xd5\x05\x01\x02"), V("\xd6\x05\x01\x02\x03\x04"),
	V("\xd7\x05\x01\x02\x03\x04\x05\x06\x07\x08"),
	V("\xd8\x05\x01\x02\x03\x04\x05\x06\x07\x08\x01\x02\x03\x04\x05\x06\x07\x08"),
	V("\xc7\x02\x05" "ab"), V("\xc8\x00\x02\x05" "ab"), V("\xc9\x00\x00\x00\x02\x05" "ab"),
	V("\x92\x01\xa1x"), V("\xdc\x00\x01\x01"), V("\xdd\x00\x00\x00\x01\x01"),
	V("\x81\xa1k\x01"), V("\xde\x00\x01\xa1k\x01"), V("\xdf\x00\x00\x00\x01\xa1k\x01"),
	V("\xde\x00\x00"), V("\xdd\x00\x00\x00\x00"),
#undef V
};

static void test_every_encoding(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(all_values) / sizeof(all_values[0]); i++) {
		struct buf b;
		buf_init(&b);
		pack_head(&b, 3, "hello");
		msgpack_pack_map(&b.pk, 1);
		msg_pack_str(&b.pk, "x");
		buf_raw(&b, all_values[i].b, all_values[i].n);
		expect_req(b.sb.data, b.sb.size, PROTO_OK);
		/* The value is the last thing in the frame: any cut of it is
		 * a truncated frame. */
		for (size_t cut = 1; cut <= all_values[i].n; cut++)
			expect_req(b.sb.data, b.sb.size - cut, PROTO_ERR_BAD_FRAME);
		buf_free(&b);
	}
}

/* An args map holding one value of each type, for the accessor tests. */
static const msgpack_object *typed_args(struct parsed *ps, struct buf *b)
{
	buf_init(b);
	pack_head(b, 3, "get");
	msgpack_pack_map(&b->pk, 13);
	msg_pack_kv_u64(&b->pk, "u", 5);
	msg_pack_kv_u64(&b->pk, "umax", UINT64_MAX);
	msg_pack_str(&b->pk, "neg");
	msgpack_pack_int64(&b->pk, -5);
	msg_pack_kv_f64(&b->pk, "f64", 2.5);
	msg_pack_str(&b->pk, "f32");
	msgpack_pack_float(&b->pk, 0.5f);
	msg_pack_kv_bool(&b->pk, "b", false);
	msg_pack_kv_str(&b->pk, "s", "abc");
	msg_pack_kv_str(&b->pk, "empty", "");
	msg_pack_str(&b->pk, "nul");
	msgpack_pack_str(&b->pk, 3);
	msgpack_pack_str_body(&b->pk, "a\0b", 3);
	msg_pack_str(&b->pk, "nil");
	msgpack_pack_nil(&b->pk);
	msg_pack_str(&b->pk, "arr");
	msgpack_pack_array(&b->pk, 0);
	msg_pack_str(&b->pk, "map");
	msgpack_pack_map(&b->pk, 0);
	msgpack_pack_int(&b->pk, 1);          /* a non-string key */
	msgpack_pack_int(&b->pk, 1);
	assert_int_equal(parse_req(ps, b), PROTO_OK);
	assert_non_null(ps->req.args);
	return ps->req.args;
}

static const char *const all_keys[] = {
	"u", "umax", "neg", "f64", "f32", "b", "s", "empty", "nul", "nil", "arr", "map",
	"missing",
};

/* Each accessor on each key: true only for the types it accepts. */
static void test_accessors_types(void **state)
{
	(void)state;
	struct buf b;
	struct parsed ps;
	const msgpack_object *a = typed_args(&ps, &b);

	for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
		const char *k = all_keys[i];
		uint64_t u = 0;
		int64_t s64 = 0;
		double d = 0;
		bool t = true;
		char s[8];
		bool want;

		want = !strcmp(k, "u") || !strcmp(k, "umax");
		assert_int_equal(msg_get_u64(a, k, &u), want);
		want = !strcmp(k, "u") || !strcmp(k, "neg");
		assert_int_equal(msg_get_i64(a, k, &s64), want);
		want = !strcmp(k, "u") || !strcmp(k, "umax") || !strcmp(k, "neg") ||
		       !strcmp(k, "f64") || !strcmp(k, "f32");
		assert_int_equal(msg_get_f64(a, k, &d), want);
		assert_int_equal(msg_get_bool(a, k, &t), !strcmp(k, "b"));
		assert_int_equal(msg_get_str(a, k, s, sizeof(s)), !strcmp(k, "s") || !strcmp(k, "empty"));
		assert_int_equal(msg_get_array(a, k) != NULL, !strcmp(k, "arr"));
		assert_int_equal(msg_get_map(a, k) != NULL, !strcmp(k, "map"));
		assert_int_equal(msg_map_get(a, k) != NULL, strcmp(k, "missing") != 0);
	}
	parsed_free(&ps);
	buf_free(&b);
}

static void test_accessors_values(void **state)
{
	(void)state;
	struct buf b;
	struct parsed ps;
	const msgpack_object *a = typed_args(&ps, &b);
	uint64_t u;
	int64_t i;
	double d;
	bool t = true;
	char s[4];

	assert_true(msg_get_u64(a, "umax", &u) && u == UINT64_MAX);
	assert_true(msg_get_i64(a, "neg", &i) && i == -5);
	assert_true(msg_get_f64(a, "neg", &d) && d == -5.0);
	assert_true(msg_get_f64(a, "f32", &d) && d == 0.5);
	assert_true(msg_get_f64(a, "f64", &d) && d == 2.5);
	assert_true(msg_get_bool(a, "b", &t) && !t);
	assert_true(msg_get_str(a, "s", s, 4));          /* exactly fits */
	assert_string_equal(s, "abc");
	assert_false(msg_get_str(a, "s", s, 3));         /* one short */
	assert_false(msg_get_str(a, "s", s, 0));
	assert_false(msg_get_str(a, "s", NULL, 4));
	assert_true(msg_get_str(a, "empty", s, 1));
	assert_string_equal(s, "");
	assert_false(msg_get_str(a, "nul", s, sizeof(s)));
	assert_true(msg_map_get(a, "nil")->type == MSGPACK_OBJECT_NIL);

	/* Non-maps and NULLs, as map or key. */
	const msgpack_object *arr = msg_get_array(a, "arr");
	const msgpack_object *str = msg_map_get(a, "s");
	const msgpack_object *objs[] = { NULL, arr, str, msg_map_get(a, "u"), msg_map_get(a, "nil") };
	for (size_t k = 0; k < sizeof(objs) / sizeof(objs[0]); k++) {
		assert_null(msg_map_get(objs[k], "s"));
		assert_false(msg_get_u64(objs[k], "u", &u));
		assert_false(msg_get_i64(objs[k], "u", &i));
		assert_false(msg_get_f64(objs[k], "u", &d));
		assert_false(msg_get_bool(objs[k], "b", &t));
		assert_false(msg_get_str(objs[k], "s", s, sizeof(s)));
		assert_null(msg_get_array(objs[k], "arr"));
		assert_null(msg_get_map(objs[k], "map"));
	}
	assert_null(msg_map_get(a, NULL));

	assert_true(msg_str_eq(str, "abc"));
	assert_false(msg_str_eq(str, "ab"));
	assert_false(msg_str_eq(str, "abcd"));
	assert_false(msg_str_eq(str, NULL));
	assert_false(msg_str_eq(NULL, "abc"));
	assert_false(msg_str_eq(arr, ""));
	assert_true(msg_str_eq(msg_map_get(a, "empty"), ""));
	assert_false(msg_str_eq(msg_map_get(a, "nul"), "a"));
	parsed_free(&ps);
	buf_free(&b);
}

static void test_reply_roundtrip(void **state)
{
	(void)state;
	struct buf b;
	struct parsed ps;
	uint64_t u;

	buf_init(&b);
	msg_pack_ok(&b.pk, 3);
	msgpack_pack_map(&b.pk, 1);
	msg_pack_kv_u64(&b.pk, "x", 1);
	assert_int_equal(parse_rep(&ps, &b), PROTO_OK);
	assert_int_equal(ps.rep.id, 3);
	assert_false(ps.rep.is_event);
	assert_true(ps.rep.ok);
	assert_true(msg_get_u64(ps.rep.result, "x", &u) && u == 1);
	parsed_free(&ps);
	buf_free(&b);

	buf_init(&b);
	msg_pack_error(&b.pk, 4, PROTO_ERR_NOT_FOUND, "no such metric");
	assert_int_equal(parse_rep(&ps, &b), PROTO_OK);
	assert_int_equal(ps.rep.id, 4);
	assert_false(ps.rep.ok);
	assert_string_equal(ps.rep.err_code, "not_found");
	assert_string_equal(ps.rep.err_msg, "no such metric");
	assert_int_equal(proto_err_find(ps.rep.err_code, (unsigned)strlen(ps.rep.err_code)),
	                 PROTO_ERR_NOT_FOUND);
	parsed_free(&ps);
	buf_free(&b);

	buf_init(&b);
	msg_pack_event(&b.pk, 5, "series");
	msgpack_pack_array(&b.pk, 2);
	msgpack_pack_uint64(&b.pk, 1);
	msgpack_pack_nil(&b.pk);
	assert_int_equal(parse_rep(&ps, &b), PROTO_OK);
	assert_int_equal(ps.rep.id, 5);
	assert_true(ps.rep.is_event);
	assert_string_equal(ps.rep.ev, "series");
	assert_non_null(ps.rep.data);
	assert_int_equal(ps.rep.data->type, MSGPACK_OBJECT_ARRAY);
	parsed_free(&ps);
	buf_free(&b);

	/* ok with a nil result; an event without data; an unknown code and
	 * no msg: kept as sent */
	buf_init(&b);
	msg_pack_ok(&b.pk, 6);
	msgpack_pack_nil(&b.pk);
	assert_int_equal(parse_rep(&ps, &b), PROTO_OK);
	assert_int_equal(ps.rep.result->type, MSGPACK_OBJECT_NIL);
	parsed_free(&ps);
	buf_free(&b);
	buf_init(&b);
	msgpack_pack_map(&b.pk, 2);
	msg_pack_kv_u64(&b.pk, "id", 6);
	msg_pack_kv_str(&b.pk, "ev", "end");
	assert_int_equal(parse_rep(&ps, &b), PROTO_OK);
	assert_null(ps.rep.data);
	parsed_free(&ps);
	buf_free(&b);
	buf_init(&b);
	msgpack_pack_map(&b.pk, 3);
	msg_pack_kv_u64(&b.pk, "id", 6);
	msg_pack_kv_bool(&b.pk, "ok", false);
	msg_pack_str(&b.pk, "error");
	msgpack_pack_map(&b.pk, 1);
	msg_pack_kv_str(&b.pk, "code", "from_the_future");
	assert_int_equal(parse_rep(&ps, &b), PROTO_OK);
	assert_string_equal(ps.rep.err_code, "from_the_future");
	assert_string_equal(ps.rep.err_msg, "");
	parsed_free(&ps);
	buf_free(&b);
}

/* Replies that are maps but not replies: bad_request; non-maps: bad_frame. */
static void test_reply_bad(void **state)
{
	(void)state;
	static const struct { const char *b; size_t n; enum proto_err e; } cases[] = {
#define C(lit, e) { lit, sizeof(lit) - 1, e }
		C("\x91\x01", PROTO_ERR_BAD_FRAME),
		C("\x81\xa2id", PROTO_ERR_BAD_FRAME),
		C("\x81\xa2id\x01\x00", PROTO_ERR_BAD_FRAME),
		C("\x81\xa2ok\xc3", PROTO_ERR_BAD_REQUEST),                  /* no id */
		C("\x82\xa2id\xff\xa2ok\xc3", PROTO_ERR_BAD_REQUEST),        /* id -1 */
		C("\x81\xa2id\x01", PROTO_ERR_BAD_REQUEST),                  /* no ok/ev */
		C("\x82\xa2id\x01\xa2ok\x01", PROTO_ERR_BAD_REQUEST),        /* ok: 1 */
		C("\x82\xa2id\x01\xa2" "ev\x01", PROTO_ERR_BAD_REQUEST),        /* ev: 1 */
		C("\x82\xa2id\x01\xa2ok\xc2", PROTO_ERR_BAD_REQUEST),        /* no error */
		C("\x83\xa2id\x01\xa2ok\xc2\xa5" "error\x90", PROTO_ERR_BAD_REQUEST),
		C("\x83\xa2id\x01\xa2ok\xc2\xa5" "error\x80", PROTO_ERR_BAD_REQUEST),
		C("\x83\xa2id\x01\xa2ok\xc2\xa5" "error\x81\xa4" "code\x01", PROTO_ERR_BAD_REQUEST),
#undef C
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct parsed ps;
		msgpack_zone_init(&ps.z, 1024);
		enum proto_err e = msg_parse_reply((const uint8_t *)cases[i].b, cases[i].n, &ps.z,
		                                   &ps.rep, ps.err, sizeof(ps.err));
		if (e != cases[i].e)
			fail_msg("case %zu: want %s, got %s (%s)", i, proto_err_name(cases[i].e),
			         proto_err_name(e), ps.err);
		assert_true(ps.err[0] != '\0');
		parsed_free(&ps);
	}
}

/* A long error message is cut to fit, on a character boundary, with
 * control bytes neutralised. */
static void test_reply_text(void **state)
{
	(void)state;
	struct buf b;
	struct parsed ps;
	char msg[1000];

	memset(msg, 'm', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	memcpy(msg + 253, "\xe2\x82\xac", 3);   /* '€' across the cut at 255 */
	msg[10] = '\n';
	buf_init(&b);
	msg_pack_error(&b.pk, 1, PROTO_ERR_INTERNAL, msg);
	assert_int_equal(parse_rep(&ps, &b), PROTO_OK);
	assert_int_equal(strlen(ps.rep.err_msg), 253);
	assert_int_equal(ps.rep.err_msg[10], '?');
	parsed_free(&ps);
	buf_free(&b);
}

/* A bad error code still goes out as a valid one. */
static void test_pack_error_codes(void **state)
{
	(void)state;
	const enum proto_err bad[] = { PROTO_OK, PROTO_ERR__COUNT, (enum proto_err)-1 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct buf b;
		struct parsed ps;
		buf_init(&b);
		msg_pack_error(&b.pk, 1, bad[i], NULL);
		assert_int_equal(parse_rep(&ps, &b), PROTO_OK);
		assert_string_equal(ps.rep.err_code, "internal");
		assert_string_equal(ps.rep.err_msg, "");
		parsed_free(&ps);
		buf_free(&b);
	}
}

static void test_pack_helpers(void **state)
{
	(void)state;
	struct buf b;
	msgpack_zone z;
	msgpack_object o;
	char s[8];
	double d;

	buf_init(&b);
	msgpack_pack_map(&b.pk, 2);
	msg_pack_kv_str(&b.pk, "n", NULL);
	msg_pack_kv_f64(&b.pk, "d", -0.25);
	msgpack_zone_init(&z, 256);
	assert_int_equal(msgpack_unpack(b.sb.data, b.sb.size, NULL, &z, &o), MSGPACK_UNPACK_SUCCESS);
	assert_true(msg_get_str(&o, "n", s, sizeof(s)));
	assert_string_equal(s, "");
	assert_true(msg_get_f64(&o, "d", &d) && d == -0.25);
	msgpack_zone_destroy(&z);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_request_roundtrip),
		cmocka_unit_test(test_request_every_op),
		cmocka_unit_test(test_request_args_forms),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_trailing_bytes),
		cmocka_unit_test(test_not_a_map),
		cmocka_unit_test(test_bad_id),
		cmocka_unit_test(test_bad_op),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_unknown_op),
		cmocka_unit_test(test_huge_op),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_huge_counts),
		cmocka_unit_test(test_every_encoding),
		cmocka_unit_test(test_accessors_types),
		cmocka_unit_test(test_accessors_values),
		cmocka_unit_test(test_reply_roundtrip),
		cmocka_unit_test(test_reply_bad),
		cmocka_unit_test(test_reply_text),
		cmocka_unit_test(test_pack_error_codes),
		cmocka_unit_test(test_pack_helpers),
	};
	return cmocka_run_group_tests_name("msg", tests, NULL, NULL);
}
