/* schema: every kind and field, straight from the schema table. */
#include "req.h"

static void schema_exec(struct conn *c, const struct msg_request *req)
{
	struct reply r;
	reply_begin(&r);
	msg_pack_ok(&r.pk, req->id);
	msgpack_pack_map(&r.pk, 1);
	msg_pack_str(&r.pk, "kinds");
	msgpack_pack_array(&r.pk, RM_KIND__COUNT);
	for (int k = 0; k < RM_KIND__COUNT; k++) {
		const struct rm_kind_desc *kd = &rm_kinds[k];
		msgpack_pack_map(&r.pk, 4);
		msg_pack_kv_str(&r.pk, "name", kd->name);
		msg_pack_kv_bool(&r.pk, "keyed", kd->keyed);
		msg_pack_kv_str(&r.pk, "help", kd->help);
		msg_pack_str(&r.pk, "fields");
		msgpack_pack_array(&r.pk, kd->nfields);
		for (unsigned i = 0; i < kd->nfields; i++) {
			msgpack_pack_map(&r.pk, 4);
			msg_pack_kv_str(&r.pk, "name", kd->fields[i].name);
			msg_pack_kv_str(&r.pk, "type", schema_type_name(kd->fields[i].type));
			msg_pack_kv_str(&r.pk, "unit", kd->fields[i].unit);
			msg_pack_kv_str(&r.pk, "help", kd->fields[i].help);
		}
	}
	reply_send(c, &r, req->id);
}

const struct req_entry req_schema = { PROTO_OP_SCHEMA, 0, schema_exec };
