/* mark: an annotation in the mark lane, written by the loop thread (the
 * lane's one writer), with who sent it. */
#include <string.h>

#include "clock.h"
#include "req.h"
#include "rmond.h"

static void mark_exec(struct conn *c, const struct msg_request *req)
{
	char text[RM_LABEL_MAX];
	uint64_t pid = 0;
	if (!msg_get_str(req->args, "text", text, sizeof text) || !text[0]) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "text: expected a string of 1 to %d bytes",
		                RM_LABEL_MAX - 1);
		return;
	}
	if (msg_map_get(req->args, "pid") && (!msg_get_u64(req->args, "pid", &pid) || pid > INT32_MAX)) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "pid: expected a process id");
		return;
	}
	int lane = req_lane(RM_KIND_MARK);
	if (lane < 0) {
		conn_send_error(c, req->id, PROTO_ERR_INTERNAL, "no mark lane in this ring");
		return;
	}
	struct rm_rec r;
	uint64_t ts = clock_rt_ns();
	rec_init(&r, ts, "");
	rec_set_label(&r, text, strlen(text));
	rec_set(&r, RM_MARK_PID, (double)pid);
	rec_set(&r, RM_MARK_FROM_PID, c->pid);
	rec_set(&r, RM_MARK_UID, c->uid);
	ring_push(the_rmond.ring, (unsigned)lane, &r);

	struct reply rep;
	reply_begin(&rep);
	msg_pack_ok(&rep.pk, req->id);
	msgpack_pack_map(&rep.pk, 1);
	msg_pack_kv_u64(&rep.pk, "ts", ts);
	reply_send(c, &rep, req->id);
}

const struct req_entry req_mark = { PROTO_OP_MARK, 0, mark_exec };
