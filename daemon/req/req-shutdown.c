/* shutdown: admins only (dispatch checks REQ_ADMIN).  The reply goes out
 * first, then the daemon sends itself SIGTERM: the loop handles it on its
 * next turn exactly as a SIGTERM from outside (threads finish their tick,
 * ring synced, sessions and socket closed, exit 0). */
#include <signal.h>
#include <unistd.h>

#include "log.h"
#include "req.h"

static void shutdown_exec(struct conn *c, const struct msg_request *req)
{
	struct reply rep;
	reply_begin(&rep);
	msg_pack_ok(&rep.pk, req->id);
	msgpack_pack_map(&rep.pk, 0);
	reply_send(c, &rep, req->id);
	log_info("shutdown by uid %ld pid %ld", (long)c->uid, (long)c->pid);
	if (kill(getpid(), SIGTERM) < 0)
		log_warn("shutdown: sending SIGTERM to myself");
}

const struct req_entry req_shutdown = { PROTO_OP_SHUTDOWN, REQ_ADMIN, shutdown_exec };
