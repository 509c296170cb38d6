/* cancel: end one of this session's streams early. */
#include "req.h"

static void cancel_exec(struct conn *c, const struct msg_request *req)
{
	uint64_t id;
	if (!msg_get_u64(req->args, "stream", &id)) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "stream: expected the uint id of a stream");
		return;
	}
	struct stream *st = conn_find_stream(c, id);
	if (!st) {
		conn_send_error(c, req->id, PROTO_ERR_NOT_FOUND, "no stream %llu on this session",
		                (unsigned long long)id);
		return;
	}
	if (st->ops->cancel)
		st->ops->cancel(st, c);
	conn_remove_stream(c, st);
	struct reply r;
	reply_begin(&r);
	msg_pack_ok(&r.pk, req->id);
	msgpack_pack_map(&r.pk, 0);
	reply_send(c, &r, req->id);
}

const struct req_entry req_cancel = { PROTO_OP_CANCEL, 0, cancel_exec };
