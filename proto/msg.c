/*
 * Messages: payload bytes → checked request / reply, and the packers for
 * what goes back.
 *
 * Every payload is hostile.  Before msgpack-c sees it, msg_scan walks it
 * once without allocating: msgpack-c allocates a container's whole item
 * array as soon as it reads the header, so a 5-byte array32 header of
 * 0xffffffff items would ask the zone for 96 GiB.  The scan refuses a
 * container that declares more items than bytes remain (each item takes
 * at least one), nesting deeper than MSG_DEPTH_MAX, truncation and
 * trailing bytes.  After it, the object tree costs at most about
 * sizeof(msgpack_object) per payload byte.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "msg.h"

/* docs/protocol.md: "nesting deeper than 32" is a bad frame.  msgpack-c
 * has the same limit (MSGPACK_EMBED_STACK_SIZE); we check it ourselves so
 * the limit is ours, not a library build option. */
#define MSG_DEPTH_MAX 32

enum msg_item { MSG_ITEM_BAD = -1, MSG_ITEM_LEAF, MSG_ITEM_CONTAINER };

__attribute__((format(printf, 3, 4)))
static void msg_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Sizes of one msgpack header: lsz bytes of big-endian length or count
 * follow the type byte, then fixed bytes plus the length for a leaf.
 * Returns MSG_ITEM_CONTAINER with *items (a map counts keys and values)
 * or MSG_ITEM_LEAF, or MSG_ITEM_BAD for 0xc1 (never used). */
static enum msg_item msg_header(uint8_t b, size_t *lsz, size_t *fixed, uint64_t *items)
{
	*lsz = 0;
	*fixed = 0;
	*items = 0;
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		return MSG_ITEM_LEAF;
	if (b <= 0x8f) {
		*items = 2u * (b & 0x0fu);
		return MSG_ITEM_CONTAINER;
	}
	if (b <= 0x9f) {
		*items = b & 0x0fu;
		return MSG_ITEM_CONTAINER;
	}
	if (b <= 0xbf) {
		*fixed = b & 0x1fu;
		return MSG_ITEM_LEAF;
	}
	switch (b) {
	case 0xc4: case 0xd9: *lsz = 1; return MSG_ITEM_LEAF;    /* bin8, str8 */
	case 0xc5: case 0xda: *lsz = 2; return MSG_ITEM_LEAF;
	case 0xc6: case 0xdb: *lsz = 4; return MSG_ITEM_LEAF;
	case 0xc7: *lsz = 1; *fixed = 1; return MSG_ITEM_LEAF;   /* ext: + type */
	case 0xc8: *lsz = 2; *fixed = 1; return MSG_ITEM_LEAF;
	case 0xc9: *lsz = 4; *fixed = 1; return MSG_ITEM_LEAF;
	case 0xcc: case 0xd0: *fixed = 1; return MSG_ITEM_LEAF;
	case 0xcd: case 0xd1: *fixed = 2; return MSG_ITEM_LEAF;
	case 0xca: case 0xce: case 0xd2: *fixed = 4; return MSG_ITEM_LEAF;
	case 0xcb: case 0xcf: case 0xd3: *fixed = 8; return MSG_ITEM_LEAF;
	case 0xd4: *fixed = 2; return MSG_ITEM_LEAF;             /* fixext 1 */
	case 0xd5: *fixed = 3; return MSG_ITEM_LEAF;
	case 0xd6: *fixed = 5; return MSG_ITEM_LEAF;
	case 0xd7: *fixed = 9; return MSG_ITEM_LEAF;
	case 0xd8: *fixed = 17; return MSG_ITEM_LEAF;
	case 0xdc: case 0xde: *lsz = 2; return MSG_ITEM_CONTAINER;
	case 0xdd: case 0xdf: *lsz = 4; return MSG_ITEM_CONTAINER;
	default: return MSG_ITEM_BAD;
	}
}

/* One item's header at *off (and a leaf's body).  Returns its kind, with
 * *items for a container; MSG_ITEM_BAD when invalid or truncated. */
static enum msg_item msg_scan_item(const uint8_t *p, size_t n, size_t *off, uint64_t *items)
{
	size_t o = *off, lsz, fixed;

	if (o >= n)
		return MSG_ITEM_BAD;
	uint8_t b = p[o++];
	enum msg_item k = msg_header(b, &lsz, &fixed, items);
	if (k == MSG_ITEM_BAD || n - o < lsz)
		return MSG_ITEM_BAD;
	uint64_t v = 0;
	for (size_t i = 0; i < lsz; i++)
		v = v << 8 | p[o++];
	if (k == MSG_ITEM_CONTAINER) {
		if (lsz)
			*items = (b == 0xde || b == 0xdf) ? 2 * v : v;
	} else {
		if (n - o < fixed || n - o - fixed < v)
			return MSG_ITEM_BAD;
		o += fixed + (size_t)v;
	}
	*off = o;
	return k;
}

/* Walk exactly one object; see the top of the file for why. */
static enum proto_err msg_scan(const uint8_t *p, size_t n, char *err, size_t errlen)
{
	uint64_t left[MSG_DEPTH_MAX + 1];   /* items still due per open level */
	int depth = 0;
	size_t off = 0;

	left[0] = 1;
	while (depth >= 0) {
		if (left[depth] == 0) {
			depth--;
			continue;
		}
		left[depth]--;
		uint64_t items;
		enum msg_item k = msg_scan_item(p, n, &off, &items);
		if (k == MSG_ITEM_BAD) {
			msg_err(err, errlen, "invalid or truncated msgpack at byte %zu", off);
			return PROTO_ERR_BAD_FRAME;
		}
		if (k == MSG_ITEM_LEAF)
			continue;
		if (depth == MSG_DEPTH_MAX) {
			msg_err(err, errlen, "nesting deeper than %d", MSG_DEPTH_MAX);
			return PROTO_ERR_BAD_FRAME;
		}
		if (items > n - off) {
			msg_err(err, errlen, "container at byte %zu declares more items than the frame holds", off);
			return PROTO_ERR_BAD_FRAME;
		}
		left[++depth] = items;
	}
	if (off != n) {
		msg_err(err, errlen, "trailing bytes after the map (%zu)", n - off);
		return PROTO_ERR_BAD_FRAME;
	}
	return PROTO_OK;
}

/* Payload → one map in zone z. */
static enum proto_err msg_unpack(const uint8_t *p, size_t n, msgpack_zone *z,
                                 msgpack_object *root, char *err, size_t errlen)
{
	if (!p || n == 0) {
		msg_err(err, errlen, "empty frame");
		return PROTO_ERR_BAD_FRAME;
	}
	enum proto_err e = msg_scan(p, n, err, errlen);
	if (e != PROTO_OK)
		return e;
	/* Refuse a non-map before allocating its tree. */
	if (!((p[0] >= 0x80 && p[0] <= 0x8f) || p[0] == 0xde || p[0] == 0xdf)) {
		msg_err(err, errlen, "the frame is not a map");
		return PROTO_ERR_BAD_FRAME;
	}
	/* msgpack_unpack reports every failure, out of memory included, as
	 * a parse error.  After the scan only running out of memory can
	 * fail it (the fuzzer checks that the two agree), so say so. */
	msgpack_unpack_return r = msgpack_unpack((const char *)p, n, NULL, z, root);
	if (r != MSGPACK_UNPACK_SUCCESS || root->type != MSGPACK_OBJECT_MAP) {
		msg_err(err, errlen, "cannot unpack the frame (%d): out of memory?", (int)r);
		return PROTO_ERR_INTERNAL;
	}
	return PROTO_OK;
}

/* Copy a wire string for display: at most outlen-1 bytes, cut at a UTF-8
 * character boundary, control bytes (NUL included) shown as '?' so that
 * a peer cannot put escape sequences into logs and terminals.  Returns
 * true when it had to cut. */
static bool msg_copy_text(char *out, size_t outlen, const char *s, size_t len)
{
	bool cut = false;

	if (outlen == 0)
		return len > 0;
	if (len > outlen - 1) {
		len = outlen - 1;
		cut = true;
		/* Cut inside a character: drop its lead byte too. */
		if (((uint8_t)s[len] & 0xc0) == 0x80) {
			size_t k = len;
			while (k > 0 && len - k < 3 && ((uint8_t)s[k - 1] & 0xc0) == 0x80)
				k--;
			if (k > 0 && ((uint8_t)s[k - 1] & 0xc0) == 0xc0)
				len = k - 1;
		}
	}
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)s[i];
		out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[len] = '\0';
	return cut;
}

static enum proto_err msg_req_id(const msgpack_object *root, struct msg_request *req,
                                 char *err, size_t errlen)
{
	const msgpack_object *v = msg_map_get(root, "id");

	if (!v) {
		msg_err(err, errlen, "missing id");
		return PROTO_ERR_BAD_REQUEST;
	}
	if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		msg_err(err, errlen, "id must be an unsigned integer");
		return PROTO_ERR_BAD_REQUEST;
	}
	req->id = v->via.u64;
	req->has_id = true;
	return PROTO_OK;
}

static enum proto_err msg_req_op(const msgpack_object *root, struct msg_request *req,
                                 bool *cut, char *err, size_t errlen)
{
	const msgpack_object *v = msg_map_get(root, "op");

	if (!v) {
		msg_err(err, errlen, "missing op");
		return PROTO_ERR_BAD_REQUEST;
	}
	if (v->type != MSGPACK_OBJECT_STR) {
		msg_err(err, errlen, "op must be a string");
		return PROTO_ERR_BAD_REQUEST;
	}
	*cut = msg_copy_text(req->op_name, sizeof(req->op_name), v->via.str.ptr, v->via.str.size);
	/* No name is 32 bytes long: a longer one is simply unknown. */
	if (!*cut)
		req->op = proto_op_find(v->via.str.ptr, v->via.str.size);
	return PROTO_OK;
}

enum proto_err msg_parse_request(const uint8_t *p, size_t n, msgpack_zone *z,
                                 struct msg_request *req, char *err, size_t errlen)
{
	msgpack_object root;
	bool cut = false;

	memset(req, 0, sizeof(*req));
	req->op = -1;
	msg_err(err, errlen, "%s", "");
	enum proto_err e = msg_unpack(p, n, z, &root, err, errlen);
	if (e == PROTO_OK)
		e = msg_req_id(&root, req, err, errlen);
	if (e == PROTO_OK)
		e = msg_req_op(&root, req, &cut, err, errlen);
	if (e != PROTO_OK)
		return e;
	const msgpack_object *args = msg_map_get(&root, "args");
	if (args && args->type != MSGPACK_OBJECT_NIL && args->type != MSGPACK_OBJECT_MAP) {
		msg_err(err, errlen, "args must be a map");
		return PROTO_ERR_BAD_REQUEST;
	}
	req->args = args && args->type == MSGPACK_OBJECT_MAP ? args : NULL;
	if (req->op < 0) {
		msg_err(err, errlen, "unknown op \"%s%s\"", req->op_name, cut ? "..." : "");
		return PROTO_ERR_UNKNOWN_OP;
	}
	return PROTO_OK;
}

static enum proto_err msg_reply_error(const msgpack_object *root, struct msg_reply *rep,
                                      char *err, size_t errlen)
{
	const msgpack_object *e = msg_get_map(root, "error");
	const msgpack_object *code = e ? msg_map_get(e, "code") : NULL;
	const msgpack_object *m = e ? msg_map_get(e, "msg") : NULL;

	if (!code || code->type != MSGPACK_OBJECT_STR) {
		msg_err(err, errlen, "error reply without a string error.code");
		return PROTO_ERR_BAD_REQUEST;
	}
	msg_copy_text(rep->err_code, sizeof(rep->err_code), code->via.str.ptr, code->via.str.size);
	if (m && m->type == MSGPACK_OBJECT_STR)
		msg_copy_text(rep->err_msg, sizeof(rep->err_msg), m->via.str.ptr, m->via.str.size);
	return PROTO_OK;
}

enum proto_err msg_parse_reply(const uint8_t *p, size_t n, msgpack_zone *z,
                               struct msg_reply *rep, char *err, size_t errlen)
{
	msgpack_object root;

	memset(rep, 0, sizeof(*rep));
	msg_err(err, errlen, "%s", "");
	enum proto_err e = msg_unpack(p, n, z, &root, err, errlen);
	if (e != PROTO_OK)
		return e;
	if (!msg_get_u64(&root, "id", &rep->id)) {
		msg_err(err, errlen, "reply without an unsigned id");
		return PROTO_ERR_BAD_REQUEST;
	}
	const msgpack_object *ev = msg_map_get(&root, "ev");
	if (ev) {
		if (ev->type != MSGPACK_OBJECT_STR) {
			msg_err(err, errlen, "ev must be a string");
			return PROTO_ERR_BAD_REQUEST;
		}
		rep->is_event = true;
		msg_copy_text(rep->ev, sizeof(rep->ev), ev->via.str.ptr, ev->via.str.size);
		rep->data = msg_map_get(&root, "data");
		return PROTO_OK;
	}
	if (!msg_get_bool(&root, "ok", &rep->ok)) {
		msg_err(err, errlen, "reply without a boolean ok or a string ev");
		return PROTO_ERR_BAD_REQUEST;
	}
	if (rep->ok) {
		rep->result = msg_map_get(&root, "result");
		return PROTO_OK;
	}
	return msg_reply_error(&root, rep, err, errlen);
}

/* ---- accessors: safe on any object, NULL included ---- */

bool msg_str_eq(const msgpack_object *o, const char *s)
{
	if (!o || !s || o->type != MSGPACK_OBJECT_STR)
		return false;
	size_t len = strlen(s);
	return o->via.str.size == len && (len == 0 || memcmp(o->via.str.ptr, s, len) == 0);
}

const msgpack_object *msg_map_get(const msgpack_object *map, const char *key)
{
	if (!map || !key || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object_kv *kv = &map->via.map.ptr[i];
		if (msg_str_eq(&kv->key, key))
			return &kv->val;
	}
	return NULL;
}

bool msg_get_u64(const msgpack_object *map, const char *key, uint64_t *out)
{
	const msgpack_object *v = msg_map_get(map, key);

	if (!v || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return false;
	*out = v->via.u64;
	return true;
}

bool msg_get_i64(const msgpack_object *map, const char *key, int64_t *out)
{
	const msgpack_object *v = msg_map_get(map, key);

	if (v && v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*out = v->via.i64;
		return true;
	}
	if (v && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX) {
		*out = (int64_t)v->via.u64;
		return true;
	}
	return false;
}

bool msg_get_f64(const msgpack_object *map, const char *key, double *out)
{
	const msgpack_object *v = msg_map_get(map, key);

	if (!v)
		return false;
	switch (v->type) {
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		*out = v->via.f64;
		return true;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*out = (double)v->via.u64;
		return true;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*out = (double)v->via.i64;
		return true;
	default:
		return false;
	}
}

bool msg_get_bool(const msgpack_object *map, const char *key, bool *out)
{
	const msgpack_object *v = msg_map_get(map, key);

	if (!v || v->type != MSGPACK_OBJECT_BOOLEAN)
		return false;
	*out = v->via.boolean;
	return true;
}

bool msg_get_str(const msgpack_object *map, const char *key, char *out, size_t outlen)
{
	const msgpack_object *v = msg_map_get(map, key);

	if (!v || v->type != MSGPACK_OBJECT_STR || !out || v->via.str.size >= outlen)
		return false;
	/* An embedded NUL would silently shorten the C string: "a\0b" is
	 * not the name "a". */
	if (v->via.str.size && memchr(v->via.str.ptr, '\0', v->via.str.size))
		return false;
	if (v->via.str.size)
		memcpy(out, v->via.str.ptr, v->via.str.size);
	out[v->via.str.size] = '\0';
	return true;
}

const msgpack_object *msg_get_array(const msgpack_object *map, const char *key)
{
	const msgpack_object *v = msg_map_get(map, key);

	return v && v->type == MSGPACK_OBJECT_ARRAY ? v : NULL;
}

const msgpack_object *msg_get_map(const msgpack_object *map, const char *key)
{
	const msgpack_object *v = msg_map_get(map, key);

	return v && v->type == MSGPACK_OBJECT_MAP ? v : NULL;
}

/* ---- packing ---- */

void msg_pack_str(msgpack_packer *pk, const char *s)
{
	size_t len = s ? strlen(s) : 0;

	(void)msgpack_pack_str(pk, len);
	if (len)
		(void)msgpack_pack_str_body(pk, s, len);
}

void msg_pack_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
	msg_pack_str(pk, k);
	msg_pack_str(pk, v);
}

void msg_pack_kv_u64(msgpack_packer *pk, const char *k, uint64_t v)
{
	msg_pack_str(pk, k);
	(void)msgpack_pack_uint64(pk, v);
}

void msg_pack_kv_f64(msgpack_packer *pk, const char *k, double v)
{
	msg_pack_str(pk, k);
	(void)msgpack_pack_double(pk, v);
}

void msg_pack_kv_bool(msgpack_packer *pk, const char *k, bool v)
{
	msg_pack_str(pk, k);
	(void)(v ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
}

void msg_pack_ok(msgpack_packer *pk, uint64_t id)
{
	(void)msgpack_pack_map(pk, 3);
	msg_pack_kv_u64(pk, "id", id);
	msg_pack_kv_bool(pk, "ok", true);
	msg_pack_str(pk, "result");
}

void msg_pack_event(msgpack_packer *pk, uint64_t id, const char *ev)
{
	(void)msgpack_pack_map(pk, 3);
	msg_pack_kv_u64(pk, "id", id);
	msg_pack_kv_str(pk, "ev", ev);
	msg_pack_str(pk, "data");
}

void msg_pack_error(msgpack_packer *pk, uint64_t id, enum proto_err code, const char *msg)
{
	const char *name = code == PROTO_OK ? NULL : proto_err_name(code);

	(void)msgpack_pack_map(pk, 3);
	msg_pack_kv_u64(pk, "id", id);
	msg_pack_kv_bool(pk, "ok", false);
	msg_pack_str(pk, "error");
	(void)msgpack_pack_map(pk, 2);
	/* A bad code is our bug, but the peer must still get a valid one. */
	msg_pack_kv_str(pk, "code", name ? name : proto_err_name(PROTO_ERR_INTERNAL));
	msg_pack_kv_str(pk, "msg", msg ? msg : "");
}

void msg_pack_request(msgpack_packer *pk, uint64_t id, const char *op)
{
	(void)msgpack_pack_map(pk, 3);
	msg_pack_kv_u64(pk, "id", id);
	msg_pack_kv_str(pk, "op", op);
	msg_pack_str(pk, "args");
}
