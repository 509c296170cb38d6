/* get: the newest value of every metric the selectors match. */
#include <stdlib.h>
#include <string.h>

#include "req.h"
#include "rmond.h"

struct get_match {
	enum rm_kind kind;
	const struct rm_rec *rec;
	int field;
};

/* Collect matches of one selector; -1 (and an error sent) when a concrete
 * key matches nothing. */
static int match_one(struct conn *c, uint64_t id, const struct selector *sel,
                     struct rm_rec *recs, unsigned nrecs,
                     struct get_match **m, size_t *nm, size_t *cap)
{
	const struct rm_kind_desc *kd = &rm_kinds[sel->kind];
	size_t before = *nm;
	for (unsigned i = 0; i < nrecs; i++) {
		if (!selector_match_key(sel, recs[i].key))
			continue;
		unsigned f0 = sel->field < 0 ? 0 : (unsigned)sel->field;
		unsigned f1 = sel->field < 0 ? kd->nfields : f0 + 1;
		for (unsigned f = f0; f < f1; f++) {
			if (*nm == *cap) {
				*cap = *cap ? *cap * 2 : 64;
				struct get_match *nmem = realloc(*m, *cap * sizeof **m);
				if (!nmem)
					return -1;
				*m = nmem;
			}
			(*m)[(*nm)++] = (struct get_match){ sel->kind, &recs[i], (int)f };
		}
	}
	if (*nm == before && !sel->key_any) {
		conn_send_error(c, id, PROTO_ERR_NOT_FOUND, "%s:%s%s: no such instance (now)",
		                kd->name, sel->key, sel->key_prefix ? "*" : "");
		return -1;
	}
	if (nrecs == 0) {
		conn_send_error(c, id, PROTO_ERR_NOT_FOUND, "no %s records yet%s", kd->name,
		                kd->keyed ? " (or this machine has none)" : "");
		return -1;
	}
	return 0;
}

static void pack_values(struct conn *c, uint64_t id, const struct get_match *m, size_t nm)
{
	struct reply r;
	char name[128];
	reply_begin(&r);
	msg_pack_ok(&r.pk, id);
	msgpack_pack_map(&r.pk, 1);
	msg_pack_str(&r.pk, "values");
	msgpack_pack_array(&r.pk, (uint32_t)nm);
	for (size_t i = 0; i < nm; i++) {
		const struct rm_field *fd = &rm_kinds[m[i].kind].fields[m[i].field];
		selector_name(m[i].kind, m[i].rec->key, m[i].field, name, sizeof name);
		msgpack_pack_map(&r.pk, 4);
		msg_pack_kv_str(&r.pk, "name", name);
		msg_pack_str(&r.pk, "value");
		if (rec_has(m[i].rec, m[i].field))
			msgpack_pack_double(&r.pk, m[i].rec->v[m[i].field]);
		else
			msgpack_pack_nil(&r.pk);
		msg_pack_kv_str(&r.pk, "unit", fd->unit);
		msg_pack_kv_u64(&r.pk, "ts", m[i].rec->ts_ns);
	}
	reply_send(c, &r, id);
}

/* A process that is not tracked has no history, but the process table
 * knows it: answer from the table (as of the last scan). */
static unsigned add_from_table(struct rm_rec **recs, unsigned n, const char *key)
{
	struct proc_snap s;
	uint64_t ts;
	char *end;
	for (unsigned i = 0; i < n; i++)
		if (strncmp((*recs)[i].key, key, RM_KEY_MAX) == 0)
			return n;
	long pid = strtol(key, &end, 10);
	if (*end || pid <= 0 || !the_rmond.procs || !procs_lookup(the_rmond.procs, (int32_t)pid, &s))
		return n;
	ts = procs_snapshot_time(the_rmond.procs);
	struct rm_rec *grown = realloc(*recs, (n + 1) * sizeof **recs);
	if (!grown)
		return n;
	*recs = grown;
	req_snap_record(&s, ts, &grown[n]);
	return n + 1;
}

static void get_exec(struct conn *c, const struct msg_request *req)
{
	struct selector sels[REQ_SELECTORS_MAX];
	unsigned nsels;
	struct rm_rec *latest[RM_KIND__COUNT] = { 0 };
	unsigned nlatest[RM_KIND__COUNT] = { 0 };
	struct get_match *m = NULL;
	size_t nm = 0, cap = 0;

	if (req_parse_selectors(c, req, sels, &nsels) < 0)
		return;
	for (unsigned i = 0; i < nsels; i++) {
		enum rm_kind k = sels[i].kind;
		if (!latest[k])
			nlatest[k] = req_latest(k, &latest[k]);
		if (k == RM_KIND_PROC && !sels[i].key_any && !sels[i].key_prefix)
			nlatest[k] = add_from_table(&latest[k], nlatest[k], sels[i].key);
		if (match_one(c, req->id, &sels[i], latest[k], nlatest[k], &m, &nm, &cap) < 0)
			goto out;
	}
	pack_values(c, req->id, m, nm);
out:
	free(m);
	for (int k = 0; k < RM_KIND__COUNT; k++)
		free(latest[k]);
}

const struct req_entry req_get = { PROTO_OP_GET, 0, get_exec };
