/*
 * libFuzzer target: bytes off the socket → frame_reader → msg_parse_request
 * and msg_parse_reply → accessors, as rmond and rmonctl would run them.
 *
 * The first input byte picks the feed chunk size (a stream split across
 * reads), the frame cap (a small one reaches the too-large path), and
 * whether the rest is one raw payload (reaches the msgpack checks without
 * having to learn the length prefix).  Besides sanitizer findings, it
 * aborts when an invariant breaks: a buffer grown past what was received,
 * a parse result outside its contract, or a request that does not survive
 * being packed again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "msg.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",   \
			        __FILE__, __LINE__, #cond);                \
			abort();                                           \
		}                                                          \
	} while (0)

static void check_text(const char *s, size_t cap)
{
	CHECK(memchr(s, '\0', cap) != NULL);
}

/* Every accessor, with key, on obj (any type, or NULL). */
static void poke(const msgpack_object *obj, const char *key)
{
	uint64_t u;
	int64_t i;
	double d;
	bool b;
	char s[64];

	(void)msg_get_u64(obj, key, &u);
	(void)msg_get_i64(obj, key, &i);
	(void)msg_get_f64(obj, key, &d);
	(void)msg_get_bool(obj, key, &b);
	if (msg_get_str(obj, key, s, sizeof(s)))
		CHECK(strlen(s) < sizeof(s));
	(void)msg_get_map(obj, key);
	const msgpack_object *a = msg_get_array(obj, key);
	if (a) {
		for (uint32_t k = 0; k < a->via.array.size; k++)
			(void)msg_str_eq(&a->via.array.ptr[k], key);
	}
}

/* The keys the daemon looks up, and every string key the peer sent. */
static void poke_all(const msgpack_object *obj)
{
	static const char *const keys[] = {
		"version", "client", "selectors", "since", "until", "step", "agg",
		"stream", "id", "", "code", "msg",
	};
	char key[64];

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		poke(obj, keys[k]);
	if (!obj || obj->type != MSGPACK_OBJECT_MAP)
		return;
	for (uint32_t k = 0; k < obj->via.map.size; k++) {
		const msgpack_object *o = &obj->via.map.ptr[k].key;
		if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= sizeof(key))
			continue;
		memcpy(key, o->via.str.ptr, o->via.str.size);
		key[o->via.str.size] = '\0';
		poke(obj, key);
	}
}

/* A parsed request packed again must parse to the same thing. */
static void repack(const struct msg_request *req)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_zone z;
	struct msg_request again;
	char err[128];

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msg_pack_request(&pk, req->id, proto_op_name((enum proto_op)req->op));
	if (req->args)
		msgpack_pack_object(&pk, *req->args);
	else
		msgpack_pack_nil(&pk);
	msgpack_zone_init(&z, 1024);
	enum proto_err e = msg_parse_request((const uint8_t *)sb.data, sb.size, &z, &again,
	                                     err, sizeof(err));
	CHECK(e == PROTO_OK);
	CHECK(again.id == req->id && again.op == req->op);
	CHECK((again.args == NULL) == (req->args == NULL));
	msgpack_zone_destroy(&z);
	msgpack_sbuffer_destroy(&sb);
}

/* Our pre-scan and msgpack-c must agree on what is one map.  A frame the
 * scan passed and msgpack-c refused comes back INTERNAL (never expected
 * here: no allocation fails at these sizes); one the scan refused is given
 * to msgpack-c too, unless it was refused for a container count larger
 * than the frame, which is the allocation the scan exists to prevent. */
static void differential(const uint8_t *p, size_t n, enum proto_err e, const char *err)
{
	msgpack_zone z;
	msgpack_object o;

	CHECK(e != PROTO_ERR_INTERNAL);
	if (e != PROTO_ERR_BAD_FRAME || n == 0 || strstr(err, "declares more items"))
		return;
	msgpack_zone_init(&z, 1024);
	msgpack_unpack_return r = msgpack_unpack((const char *)p, n, NULL, &z, &o);
	CHECK(!(r == MSGPACK_UNPACK_SUCCESS && o.type == MSGPACK_OBJECT_MAP));
	msgpack_zone_destroy(&z);
}

static void parse_request(const uint8_t *p, size_t n, msgpack_zone *z)
{
	struct msg_request req;
	char err[128];

	enum proto_err e = msg_parse_request(p, n, z, &req, err, sizeof(err));
	check_text(err, sizeof(err));
	check_text(req.op_name, sizeof(req.op_name));
	CHECK(e >= PROTO_OK && e < PROTO_ERR__COUNT);
	CHECK(!req.args || req.args->type == MSGPACK_OBJECT_MAP);
	differential(p, n, e, err);
	if (e == PROTO_OK) {
		CHECK(req.has_id && req.op >= 0 && req.op < PROTO_OP__COUNT);
		repack(&req);
	} else {
		CHECK(err[0] != '\0');
	}
	if (e == PROTO_ERR_UNKNOWN_OP)
		CHECK(req.op == -1 && req.has_id);
	poke_all(req.args);
}

static void parse_reply(const uint8_t *p, size_t n, msgpack_zone *z)
{
	struct msg_reply rep;
	char err[128];

	enum proto_err e = msg_parse_reply(p, n, z, &rep, err, sizeof(err));
	check_text(err, sizeof(err));
	CHECK(e >= PROTO_OK && e < PROTO_ERR__COUNT);
	if (e != PROTO_OK)
		return;
	check_text(rep.err_code, sizeof(rep.err_code));
	check_text(rep.err_msg, sizeof(rep.err_msg));
	check_text(rep.ev, sizeof(rep.ev));
	poke_all(rep.result);
	poke_all(rep.data);
}

static void parse_payload(const uint8_t *p, size_t n)
{
	msgpack_zone z;

	msgpack_zone_init(&z, 1024);
	parse_request(p, n, &z);
	msgpack_zone_clear(&z);
	parse_reply(p, n, &z);
	msgpack_zone_destroy(&z);
}

/* Feed in chunks, draining after each feed as the daemon does. */
static void run_framed(const uint8_t *data, size_t size, size_t chunk, size_t max)
{
	struct frame_reader fr;
	size_t high = PROTO_HDR_LEN + max;
	int rc = 0;

	frame_reader_init(&fr, max);
	for (size_t pos = 0; pos < size && rc == 0; pos += chunk) {
		size_t c = size - pos < chunk ? size - pos : chunk;
		size_t need = frame_reader_pending(&fr) + c;
		if (need > high)
			high = need;
		rc = frame_reader_feed(&fr, data + pos, c);
		CHECK(fr.cap <= high);
		const uint8_t *p;
		size_t len;
		int got;
		while ((got = frame_reader_next(&fr, &p, &len)) == 1) {
			CHECK(len > 0 && len <= max);
			parse_payload(p, len);
		}
		CHECK(got == 0 || got == rc);
	}
	CHECK(frame_reader_pending(&fr) <= size);
	frame_reader_free(&fr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t chunks[] = { 1, 2, 3, 7, 64, 4096, SIZE_MAX };

	if (size == 0)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	if (mode & 0x80) {
		parse_payload(data, size);
		return 0;
	}
	size_t chunk = chunks[(mode & 0x0f) % (sizeof(chunks) / sizeof(chunks[0]))];
	size_t max = (mode & 0x40) ? 64 : PROTO_FRAME_MAX;
	run_framed(data, size, chunk, max);
	return 0;
}
