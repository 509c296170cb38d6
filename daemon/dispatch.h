/*
 * Requests to handlers.  Each op has one entry in daemon/req/ (req-*.c
 * exports a const struct req_entry); this table checks what every handler
 * would otherwise check: hello first, access, argument shape.
 */
#ifndef RMON_DISPATCH_H
#define RMON_DISPATCH_H

#include "conn.h"
#include "msg.h"

#define REQ_BEFORE_HELLO 0x1  /* allowed before hello (hello itself) */
#define REQ_ADMIN        0x2  /* root or a configured admin only */

struct req_entry {
	enum proto_op op;
	unsigned flags;
	void (*exec)(struct conn *c, const struct msg_request *req);
};

void dispatch_request(struct conn *c, const struct msg_request *req);

/* The permission_denied error for what (an op, "config reload"), which is
 * for admins only. */
void dispatch_deny(struct conn *c, uint64_t id, const char *what);

/* Which ops this server implements (for hello). */
int dispatch_has_op(enum proto_op op);

#endif
