/*
 * metrics: the Prometheus exposition of the newest records (daemon/prom.c
 * builds it), the same text the HTTP listener serves at /metrics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "proto.h"
#include "prom.h"
#include "req.h"
#include "rmond.h"

/* rmon's own health: what status tells, as families of their own. */
static void put_own(struct prom_buf *b)
{
	struct rmond *d = &the_rmond;
	struct sampler_stats st;
	char hash[20];
	sampler_get_stats(&d->sampler, &st);
	snprintf(hash, sizeof hash, "%016llx", (unsigned long long)schema_hash());

	prom_put_own(b, true, "rmon_up", false, "1 while rmond serves metrics", NULL, NULL, 1);
	prom_printf(b, "# HELP rmon_build_info rmond's version, protocol and schema hash\n"
	               "# TYPE rmon_build_info gauge\n"
	               "rmon_build_info{version=\"");
	prom_put_label_value(b, RMON_VERSION, strlen(RMON_VERSION));
	prom_printf(b, "\",protocol=\"%d\",schema=\"%s\"} 1\n", PROTO_VERSION, hash);
	prom_put_own(b, true, "rmon_start_time_seconds", false,
	             "when rmond started, seconds since the epoch", NULL, NULL,
	             (double)d->started_rt_ns / 1e9);
	prom_put_own(b, true, "rmon_uptime_seconds", false, "time since rmond started", NULL, NULL,
	             (double)(clock_mono_ns() - d->started_mono_ns) / 1e9);
	prom_put_own(b, true, "rmon_sampler_ticks_total", true, "host sampler ticks run", NULL,
	             NULL, (double)st.ticks);
	prom_put_own(b, true, "rmon_sampler_missed_ticks_total", true,
	             "host sampler deadlines skipped because a tick ran long", NULL, NULL,
	             (double)st.missed);
	if (!d->ring)
		return;
	prom_put_own(b, true, "rmon_ring_size_bytes", false, "size of the ring (all lanes)", NULL,
	             NULL, (double)ring_bytes(d->ring));
	bool first = true;
	for (int k = 0; k < RM_KIND__COUNT; k++) {
		int lane = req_lane((enum rm_kind)k);
		if (lane < 0)
			continue;
		uint64_t held = ring_head(d->ring, (unsigned)lane) - ring_tail(d->ring, (unsigned)lane);
		prom_put_own(b, first, "rmon_ring_records", false, "records the ring holds, per kind",
		             "kind", rm_kinds[k].name, (double)held);
		first = false;
	}
}

char *req_metrics_text(size_t *len)
{
	struct prom_buf b = { 0 };
	for (int k = 0; k < RM_KIND__COUNT; k++) {
		if (!prom_kind_exported((enum rm_kind)k))
			continue;
		struct rm_rec *recs;
		unsigned n = req_latest((enum rm_kind)k, &recs);
		prom_put_kind(&b, (enum rm_kind)k, recs, n);
		free(recs);
	}
	put_own(&b);
	if (b.failed) {
		prom_buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return b.data;
}

static void metrics_exec(struct conn *c, const struct msg_request *req)
{
	size_t len;
	char *text = req_metrics_text(&len);
	if (!text) {
		conn_send_error(c, req->id, PROTO_ERR_INTERNAL, "out of memory");
		return;
	}
	struct reply r;
	reply_begin(&r);
	msg_pack_ok(&r.pk, req->id);
	msgpack_pack_map(&r.pk, 2);
	msg_pack_kv_str(&r.pk, "content_type", PROM_CONTENT_TYPE);
	msg_pack_str(&r.pk, "text");
	msgpack_pack_str_with_body(&r.pk, text, len);
	reply_send(c, &r, req->id);
	free(text);
}

const struct req_entry req_metrics = { PROTO_OP_METRICS, 0, metrics_exec };
