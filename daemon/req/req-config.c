/* config: args {action: "show"} (anyone: the effective config, which
 * holds paths, intervals and uids, no secrets) or {action: "reload"}
 * (admins: re-read the config file, reload.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "reload.h"
#include "req.h"
#include "rmond.h"

static void config_show(struct conn *c, const struct msg_request *req)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f) {
		conn_send_error(c, req->id, PROTO_ERR_INTERNAL, "out of memory");
		return;
	}
	config_dump(&the_rmond.cfg, f);
	fclose(f);
	struct reply rep;
	reply_begin(&rep);
	msg_pack_ok(&rep.pk, req->id);
	msgpack_pack_map(&rep.pk, 2);
	msg_pack_kv_str(&rep.pk, "path", the_rmond.config_path);
	msg_pack_kv_str(&rep.pk, "config", text ? text : "");
	reply_send(c, &rep, req->id);
	free(text);
}

static void config_reload(struct conn *c, const struct msg_request *req)
{
	static struct reload_result res;   /* large; the loop thread only */
	char who[64];
	if (!access_is_admin(c, &the_rmond.cfg)) {
		dispatch_deny(c, req->id, "config reload");
		return;
	}
	snprintf(who, sizeof who, "uid %ld pid %ld", (long)c->uid, (long)c->pid);
	reload_run(&the_rmond, who, &res);
	struct reply rep;
	reply_begin(&rep);
	msg_pack_ok(&rep.pk, req->id);
	msgpack_pack_map(&rep.pk, res.applied ? 3 : 4);
	msg_pack_kv_bool(&rep.pk, "applied", res.applied);
	msg_pack_kv_str(&rep.pk, "path", the_rmond.config_path);
	if (!res.applied)
		msg_pack_kv_str(&rep.pk, "error", res.error);
	msg_pack_str(&rep.pk, "notes");
	msgpack_pack_array(&rep.pk, res.nnotes);
	for (unsigned i = 0; i < res.nnotes; i++)
		msg_pack_str(&rep.pk, res.notes[i]);
	reply_send(c, &rep, req->id);
}

static void config_exec(struct conn *c, const struct msg_request *req)
{
	char action[16];
	if (!msg_get_str(req->args, "action", action, sizeof action)) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "action: expected \"show\" or \"reload\"");
		return;
	}
	if (strcmp(action, "show") == 0)
		config_show(c, req);
	else if (strcmp(action, "reload") == 0)
		config_reload(c, req);
	else
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS,
		                "action: expected \"show\" or \"reload\", got \"%s\"", action);
}

const struct req_entry req_config = { PROTO_OP_CONFIG, 0, config_exec };
