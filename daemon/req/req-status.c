/* status: daemon health, ring, capabilities, the newest tick of each kind. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "req.h"
#include "clock.h"
#include "rmond.h"

static void pack_server(msgpack_packer *pk)
{
	struct rmond *d = &the_rmond;
	msg_pack_str(pk, "server");
	msgpack_pack_map(pk, 6);
	msg_pack_kv_str(pk, "version", RMON_VERSION);
	msg_pack_kv_u64(pk, "pid", (uint64_t)getpid());
	msg_pack_kv_u64(pk, "started_ns", d->started_rt_ns);
	msg_pack_kv_f64(pk, "uptime_s", (double)(clock_mono_ns() - d->started_mono_ns) / 1e9);
	msg_pack_kv_str(pk, "socket", d->server.path);
	msg_pack_kv_str(pk, "config", d->config_path);
}

static void pack_sampler(msgpack_packer *pk, const struct sampler_stats *st)
{
	msg_pack_str(pk, "sampler");
	msgpack_pack_map(pk, 7);
	msg_pack_kv_u64(pk, "interval_ns", the_rmond.sampler.interval_ns);
	msg_pack_kv_u64(pk, "ticks", st->ticks);
	msg_pack_kv_u64(pk, "missed_ticks", st->missed);
	msg_pack_kv_u64(pk, "late_ticks", st->late);
	msg_pack_kv_u64(pk, "last_tick_ns", st->last_tick_ns);
	msg_pack_kv_f64(pk, "tick_cpu_us", (double)st->tick_cpu_ns / 1e3);
	msg_pack_kv_f64(pk, "tick_wall_us", (double)st->tick_wall_ns / 1e3);
}

static void pack_lane(msgpack_packer *pk, struct ring *ring, unsigned lane, enum rm_kind kind)
{
	uint64_t head = ring_head(ring, lane), tail = ring_tail(ring, lane);
	uint64_t oldest = 0, newest = 0;
	struct rm_rec r;
	if (head > tail && ring_read(ring, lane, tail, &r) == 0)
		oldest = r.ts_ns;
	if (head > tail && ring_read(ring, lane, head - 1, &r) == 0)
		newest = r.ts_ns;
	msgpack_pack_map(pk, 6);
	msg_pack_kv_str(pk, "kind", rm_kinds[kind].name);
	msg_pack_kv_u64(pk, "capacity", ring_capacity(ring, lane));
	msg_pack_kv_u64(pk, "records", head - tail);
	msg_pack_kv_u64(pk, "written", head);
	msg_pack_kv_u64(pk, "oldest_ns", oldest);
	msg_pack_kv_u64(pk, "newest_ns", newest);
}

static void pack_ring(msgpack_packer *pk)
{
	struct rmond *d = &the_rmond;
	msg_pack_str(pk, "ring");
	msgpack_pack_map(pk, 9);
	msg_pack_kv_str(pk, "mode", ring_is_file(d->ring) ? "file" : "memory");
	msg_pack_kv_str(pk, "path", ring_is_file(d->ring) ? d->ring_path : "");
	msg_pack_kv_u64(pk, "bytes", ring_bytes(d->ring));
	msg_pack_kv_u64(pk, "budget_bytes", d->cfg.ring_budget_bytes);
	msg_pack_kv_u64(pk, "retention_ns", d->cfg.ring_retention_ns);
	msg_pack_kv_u64(pk, "recovered", d->ring_info.recovered);
	msg_pack_kv_u64(pk, "torn", d->ring_info.torn);
	msg_pack_kv_str(pk, "moved_aside", d->ring_info.moved_aside);
	uint32_t nlanes = 0;
	for (int k = 0; k < RM_KIND__COUNT; k++)
		nlanes += req_lane((enum rm_kind)k) >= 0;
	msg_pack_str(pk, "lanes");
	msgpack_pack_array(pk, nlanes);
	for (int k = 0; k < RM_KIND__COUNT; k++) {
		int lane = req_lane((enum rm_kind)k);
		if (lane >= 0)
			pack_lane(pk, d->ring, (unsigned)lane, (enum rm_kind)k);
	}
}

static void pack_caps(msgpack_packer *pk, uint32_t caps)
{
	msg_pack_str(pk, "capabilities");
	msgpack_pack_map(pk, COLLECT_CAP__COUNT);
	for (int i = 0; i < COLLECT_CAP__COUNT; i++)
		msg_pack_kv_bool(pk, collect_caps[i].name, (caps >> i) & 1u);
}

static void pack_latest(msgpack_packer *pk)
{
	msg_pack_str(pk, "latest");
	msgpack_pack_map(pk, RM_KIND__COUNT);
	for (int k = 0; k < RM_KIND__COUNT; k++) {
		struct rm_rec *recs;
		unsigned n = req_latest((enum rm_kind)k, &recs);
		msg_pack_str(pk, rm_kinds[k].name);
		if (!rm_kinds[k].keyed) {
			if (n)
				req_pack_record(pk, (enum rm_kind)k, &recs[n - 1]);
			else
				msgpack_pack_nil(pk);
		} else {
			msgpack_pack_array(pk, n);
			for (unsigned i = 0; i < n; i++)
				req_pack_record(pk, (enum rm_kind)k, &recs[i]);
		}
		free(recs);
	}
}

static void pack_procs(msgpack_packer *pk)
{
	struct procs_stats ps;
	msg_pack_str(pk, "procs");
	if (!the_rmond.procs) {
		msgpack_pack_nil(pk);
		return;
	}
	procs_get_stats(the_rmond.procs, &ps);
	msgpack_pack_map(pk, 11);
	msg_pack_kv_u64(pk, "processes", ps.processes);
	msg_pack_kv_u64(pk, "tracked", ps.tracked);
	msg_pack_kv_u64(pk, "watches", ps.watches);
	msg_pack_kv_u64(pk, "scans", ps.scans);
	msg_pack_kv_u64(pk, "tracked_ticks", ps.tracked_ticks);
	msg_pack_kv_u64(pk, "missed_ticks", ps.missed);
	msg_pack_kv_f64(pk, "scan_cpu_us", (double)ps.scan_cpu_ns / 1e3);
	msg_pack_kv_f64(pk, "tick_cpu_us", (double)ps.tick_cpu_ns / 1e3);
	msg_pack_kv_u64(pk, "tracked_interval_ns", the_rmond.cfg.procs_tracked_interval_ns);
	msg_pack_kv_bool(pk, "events", ps.events);
	msg_pack_kv_u64(pk, "events_lost", ps.events_lost);
}

static void status_exec(struct conn *c, const struct msg_request *req)
{
	struct sampler_stats st;
	struct reply r;
	sampler_get_stats(&the_rmond.sampler, &st);
	reply_begin(&r);
	msg_pack_ok(&r.pk, req->id);
	msgpack_pack_map(&r.pk, 6);
	pack_server(&r.pk);
	pack_sampler(&r.pk, &st);
	pack_procs(&r.pk);
	pack_ring(&r.pk);
	pack_caps(&r.pk, req_caps());
	pack_latest(&r.pk);
	reply_send(c, &r, req->id);
}

const struct req_entry req_status = { PROTO_OP_STATUS, 0, status_exec };
