/*
 * Messages: parse a frame's payload into a request or a reply, and pack
 * replies, errors and events.  Payloads are untrusted: every accessor
 * checks types, and a parse error says what was wrong.
 */
#ifndef RMON_MSG_H
#define RMON_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "proto.h"

struct msg_request {
	bool has_id;                 /* id was readable (an error can echo it) */
	uint64_t id;
	int op;                      /* enum proto_op, or -1 when unknown */
	char op_name[32];            /* as sent, truncated, for error text */
	const msgpack_object *args;  /* a map, or NULL when absent or nil */
};

/* Parse a request payload; the object tree lives in zone z, and its
 * strings point into p: both must outlive req->args (clear or destroy z
 * after the request is answered).  Returns PROTO_OK or an error code with
 * a message in err:
 *   BAD_FRAME    not exactly one msgpack map (garbage, truncated, trailing
 *                bytes, another type, a container declaring more items than
 *                the payload holds, nesting deeper than 32)
 *   BAD_REQUEST  id missing or not a uint, op missing or not a string,
 *                args neither absent, nil nor a map
 *   UNKNOWN_OP   a well-formed request for an op we lack (req->op == -1,
 *                req->op_name as sent, control bytes shown as '?')
 *   INTERNAL     out of memory (msgpack-c failed on a checked payload)
 * has_id is set as soon as the id was read, so the error can echo it. */
enum proto_err msg_parse_request(const uint8_t *p, size_t n, msgpack_zone *z,
                                 struct msg_request *req, char *err, size_t errlen);

/* What came back to a client: a reply (ok or error) or a stream event. */
struct msg_reply {
	uint64_t id;
	bool is_event;
	bool ok;
	const msgpack_object *result;   /* reply ok: result (may be NULL) */
	char err_code[32];              /* reply error */
	char err_msg[256];
	char ev[32];                    /* event name */
	const msgpack_object *data;     /* event data (may be NULL) */
};

/* Same rules as msg_parse_request for the frame (BAD_FRAME); a map that is
 * not a reply or event (no uint id, no string ev, no bool ok, an error
 * without a string code) is BAD_REQUEST.  Text fields are truncated and
 * their control bytes shown as '?'. */
enum proto_err msg_parse_reply(const uint8_t *p, size_t n, msgpack_zone *z,
                               struct msg_reply *rep, char *err, size_t errlen);

/* Map access on untrusted objects.  Each returns NULL / false when the key
 * is absent or the value has another type. */
const msgpack_object *msg_map_get(const msgpack_object *map, const char *key);
bool msg_get_u64(const msgpack_object *map, const char *key, uint64_t *out);
bool msg_get_i64(const msgpack_object *map, const char *key, int64_t *out);
bool msg_get_f64(const msgpack_object *map, const char *key, double *out); /* ints too */
bool msg_get_bool(const msgpack_object *map, const char *key, bool *out);
/* A string value copied into out (NUL-terminated); false if absent, not a
 * string, longer than outlen-1, or holding a NUL byte. */
bool msg_get_str(const msgpack_object *map, const char *key, char *out, size_t outlen);
const msgpack_object *msg_get_array(const msgpack_object *map, const char *key);
const msgpack_object *msg_get_map(const msgpack_object *map, const char *key);
/* msgpack string equality against a C string. */
bool msg_str_eq(const msgpack_object *o, const char *s);

/* Packing.  Each writes the opening of a map whose last value the caller
 * packs next: msg_pack_ok → result, msg_pack_event → data. */
void msg_pack_ok(msgpack_packer *pk, uint64_t id);
void msg_pack_event(msgpack_packer *pk, uint64_t id, const char *ev);
void msg_pack_error(msgpack_packer *pk, uint64_t id, enum proto_err code, const char *msg);
void msg_pack_request(msgpack_packer *pk, uint64_t id, const char *op); /* then args */
void msg_pack_str(msgpack_packer *pk, const char *s);
void msg_pack_kv_str(msgpack_packer *pk, const char *k, const char *v);
void msg_pack_kv_u64(msgpack_packer *pk, const char *k, uint64_t v);
void msg_pack_kv_f64(msgpack_packer *pk, const char *k, double v);
void msg_pack_kv_bool(msgpack_packer *pk, const char *k, bool v);

#endif
