/* hello: version check and what this server offers. */
#include <stdio.h>

#include "req.h"
#include "rmond.h"

static void hello_exec(struct conn *c, const struct msg_request *req)
{
	uint64_t version;
	char hash[32];
	struct sampler_stats st;

	if (!msg_get_u64(req->args, "version", &version)) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "version: expected a uint");
		return;
	}
	if (version > PROTO_VERSION) {
		conn_send_error(c, req->id, PROTO_ERR_VERSION,
		                "client speaks protocol %llu, this rmond speaks %d: upgrade rmond",
		                (unsigned long long)version, PROTO_VERSION);
		return;
	}
	c->hello = true;
	sampler_get_stats(&the_rmond.sampler, &st);
	snprintf(hash, sizeof hash, "%016llx", (unsigned long long)schema_hash());

	struct reply r;
	reply_begin(&r);
	msg_pack_ok(&r.pk, req->id);
	msgpack_pack_map(&r.pk, 7);
	msg_pack_kv_u64(&r.pk, "protocol", PROTO_VERSION);
	msg_pack_kv_u64(&r.pk, "protocol_minor", PROTO_VERSION_MINOR);
	msg_pack_kv_str(&r.pk, "server", "rmond " RMON_VERSION);
	msg_pack_kv_str(&r.pk, "schema_hash", hash);
	msg_pack_kv_u64(&r.pk, "frame_max", c->srv->frame_max);
	uint32_t nops = 0;
	for (int op = 0; op < PROTO_OP__COUNT; op++)
		nops += (uint32_t)dispatch_has_op((enum proto_op)op);
	msg_pack_str(&r.pk, "ops");
	msgpack_pack_array(&r.pk, nops);
	for (int op = 0; op < PROTO_OP__COUNT; op++)
		if (dispatch_has_op((enum proto_op)op))
			msg_pack_str(&r.pk, proto_op_name((enum proto_op)op));
	uint32_t caps = req_caps(), ncaps = (uint32_t)__builtin_popcount(caps);
	msg_pack_str(&r.pk, "capabilities");
	msgpack_pack_array(&r.pk, ncaps);
	for (int i = 0; i < COLLECT_CAP__COUNT; i++)
		if (caps & (1u << i))
			msg_pack_str(&r.pk, collect_caps[i].name);
	reply_send(c, &r, req->id);
}

const struct req_entry req_hello = { PROTO_OP_HELLO, REQ_BEFORE_HELLO, hello_exec };
