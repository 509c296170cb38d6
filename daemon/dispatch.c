#include "dispatch.h"

#include "access.h"
#include "req/req.h"
#include "rmond.h"

static const struct req_entry *const req_table[PROTO_OP__COUNT] = {
	[PROTO_OP_HELLO] = &req_hello,
	[PROTO_OP_STATUS] = &req_status,
	[PROTO_OP_GET] = &req_get,
	[PROTO_OP_QUERY] = &req_query,
	[PROTO_OP_SCHEMA] = &req_schema,
	[PROTO_OP_CANCEL] = &req_cancel,
	[PROTO_OP_WATCH] = &req_watch,
	[PROTO_OP_TOP] = &req_top,
	[PROTO_OP_MARK] = &req_mark,
	[PROTO_OP_CONFIG] = &req_config,
	[PROTO_OP_SHUTDOWN] = &req_shutdown,
	[PROTO_OP_METRICS] = &req_metrics,
};

void dispatch_deny(struct conn *c, uint64_t id, const char *what)
{
	conn_send_error(c, id, PROTO_ERR_DENIED,
	                "%s is for root and access.admins/access.admin_groups (uid %ld is neither)",
	                what, (long)c->uid);
}

int dispatch_has_op(enum proto_op op)
{
	return op < PROTO_OP__COUNT && req_table[op] != NULL;
}

void dispatch_request(struct conn *c, const struct msg_request *req)
{
	const struct req_entry *e = req->op >= 0 ? req_table[req->op] : NULL;
	if (!e) {
		conn_send_error(c, req->id, PROTO_ERR_UNKNOWN_OP, "unknown op \"%s\"", req->op_name);
		return;
	}
	if (!c->hello && !(e->flags & REQ_BEFORE_HELLO)) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_REQUEST, "send hello first");
		return;
	}
	if ((e->flags & REQ_ADMIN) && !access_is_admin(c, &the_rmond.cfg)) {
		dispatch_deny(c, req->id, req->op_name);
		return;
	}
	e->exec(c, req);
}
