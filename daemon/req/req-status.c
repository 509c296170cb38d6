/* status: daemon health, ring, capabilities, the newest tick of each kind. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "req.h"
#include "req-gpuprocs.h"
#include "clock.h"
#include "persist.h"
#include "reload.h"
#include "rmond.h"

static void pack_server(msgpack_packer *pk)
{
	struct rmond *d = &the_rmond;
	struct reload_stats rs;
	reload_get_stats(&rs);
	msg_pack_str(pk, "server");
	msgpack_pack_map(pk, 10);
	msg_pack_kv_str(pk, "version", RMON_VERSION);
	msg_pack_kv_u64(pk, "pid", (uint64_t)getpid());
	msg_pack_kv_u64(pk, "started_ns", d->started_rt_ns);
	msg_pack_kv_f64(pk, "uptime_s", (double)(clock_mono_ns() - d->started_mono_ns) / 1e9);
	msg_pack_kv_str(pk, "socket", d->server.path);
	msg_pack_kv_str(pk, "config", d->config_path);
	msg_pack_kv_u64(pk, "reloads", rs.reloads);
	msg_pack_kv_u64(pk, "reloads_failed", rs.failed);
	msg_pack_kv_u64(pk, "last_reload_ns", rs.last_ns);
	msg_pack_kv_str(pk, "last_reload", rs.last_result);
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
	msgpack_pack_map(pk, 10);
	msg_pack_kv_str(pk, "mode", ring_is_file(d->ring) ? "file" : "memory");
	msg_pack_kv_str(pk, "persistence", persist_state());
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

/* Processes and threads are not in status: a 2000-thread process would
 * make it megabytes.  They are for top, get proc:/thread: and watch. */
static bool in_status(int k)
{
	return k != RM_KIND_PROC && k != RM_KIND_THREAD;
}

static void pack_latest(msgpack_packer *pk)
{
	uint32_t kinds = 0;
	for (int k = 0; k < RM_KIND__COUNT; k++)
		kinds += in_status(k);
	msg_pack_str(pk, "latest");
	msgpack_pack_map(pk, kinds);
	for (int k = 0; k < RM_KIND__COUNT; k++) {
		if (!in_status(k))
			continue;
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
	msgpack_pack_map(pk, 13);
	msg_pack_kv_u64(pk, "processes", ps.processes);
	msg_pack_kv_u64(pk, "tracked", ps.tracked);
	msg_pack_kv_u64(pk, "watches", ps.watches);
	msg_pack_kv_u64(pk, "scans", ps.scans);
	msg_pack_kv_u64(pk, "tracked_ticks", ps.tracked_ticks);
	msg_pack_kv_u64(pk, "missed_ticks", ps.missed);
	msg_pack_kv_f64(pk, "scan_cpu_us", (double)ps.scan_cpu_ns / 1e3);
	msg_pack_kv_u64(pk, "scan_read", ps.scan_read);
	msg_pack_kv_f64(pk, "tick_cpu_us", (double)ps.tick_cpu_ns / 1e3);
	msg_pack_kv_u64(pk, "tracked_interval_ns", the_rmond.cfg.procs_tracked_interval_ns);
	msg_pack_kv_bool(pk, "events", ps.events);
	msg_pack_kv_bool(pk, "events_paused", ps.events_paused);
	msg_pack_kv_u64(pk, "events_lost", ps.events_lost);
}

/* The GPU thread's health and every GPU it has, with its driver and state
 * (a lost GPU has no record in latest, a sleeping one an empty record). */
static void pack_gpu(msgpack_packer *pk)
{
	struct gpu_stats gs;
	struct gpu_dev_info di;
	msg_pack_str(pk, "gpu");
	if (!the_rmond.gpu) {
		msgpack_pack_nil(pk);
		return;
	}
	gpu_get_stats(the_rmond.gpu, &gs);
	msgpack_pack_map(pk, 5);
	msg_pack_kv_u64(pk, "interval_ns", the_rmond.cfg.gpu_interval_ns);
	msg_pack_kv_u64(pk, "ticks", gs.ticks);
	msg_pack_kv_u64(pk, "missed_ticks", gs.missed);
	msg_pack_kv_f64(pk, "tick_wall_us", (double)gs.tick_wall_ns / 1e3);
	msg_pack_str(pk, "devices");
	msgpack_pack_array(pk, gs.devices);   /* devices are added, never removed */
	for (unsigned i = 0; i < gs.devices; i++) {
		if (gpu_device_info(the_rmond.gpu, i, &di) < 0)
			memset(&di, 0, sizeof di);
		msgpack_pack_map(pk, 7 + di.has_temp_crit);
		msg_pack_kv_u64(pk, "index", i);
		msg_pack_kv_str(pk, "driver", di.driver ? di.driver : "");
		msg_pack_kv_str(pk, "vendor", di.vendor ? di.vendor : "");
		msg_pack_kv_str(pk, "name", di.name);
		msg_pack_kv_str(pk, "pci", di.pci);
		msg_pack_kv_str(pk, "uuid", di.uuid);
		msg_pack_kv_str(pk, "state", gpu_state_name(di.state));
		if (di.has_temp_crit)
			msg_pack_kv_f64(pk, "temp_crit_c", di.temp_crit_c);
	}
}

/* One link's stats file: path, the last read's error ("" when fine), the
 * lines skipped as malformed and the keys rmon has no field for. */
static void pack_egpu_stats(msgpack_packer *pk, const struct egpu_link_info *l)
{
	msg_pack_str(pk, "stats_file");
	if (!l->stats_path[0]) {
		msgpack_pack_nil(pk);
		return;
	}
	msgpack_pack_map(pk, 4);
	msg_pack_kv_str(pk, "path", l->stats_path);
	msg_pack_kv_str(pk, "error", l->stats_error == ENODEV ? "GPU not present"
				     : l->stats_error ? strerror(l->stats_error) : "");
	msg_pack_kv_u64(pk, "malformed", l->stats_malformed);
	msg_pack_str(pk, "extra");
	msgpack_pack_map(pk, l->nextra);
	for (unsigned i = 0; i < l->nextra; i++)
		msg_pack_kv_u64(pk, l->extra[i].name, l->extra[i].value);
}

/* A count or a rate, or nil when negative (unknown). */
static void pack_kv_known(msgpack_packer *pk, const char *k, double v, bool count)
{
	msg_pack_str(pk, k);
	if (v < 0)
		msgpack_pack_nil(pk);
	else if (count)
		msgpack_pack_uint64(pk, (uint64_t)v);
	else
		msgpack_pack_double(pk, v);
}

/* Every Thunderbolt/USB4 device router, a GPU behind it or not. */
static void pack_egpu_routers(msgpack_packer *pk)
{
	struct egpu_router_info ri[EGPU_ROUTERS_MAX];
	unsigned n = egpu_get_routers(the_rmond.egpu, ri, EGPU_ROUTERS_MAX);
	msg_pack_str(pk, "routers");
	msgpack_pack_array(pk, n);
	for (unsigned i = 0; i < n; i++) {
		msgpack_pack_map(pk, 9);
		msg_pack_kv_str(pk, "id", ri[i].id);
		msg_pack_kv_str(pk, "name", ri[i].name);
		pack_kv_known(pk, "authorized", ri[i].authorized, true);
		pack_kv_known(pk, "generation", ri[i].generation, true);
		pack_kv_known(pk, "rx_gbps", ri[i].rx_gbps, false);
		pack_kv_known(pk, "tx_gbps", ri[i].tx_gbps, false);
		pack_kv_known(pk, "rx_lanes", ri[i].rx_lanes, true);
		pack_kv_known(pk, "tx_lanes", ri[i].tx_lanes, true);
		pack_kv_known(pk, "gpu", ri[i].gpu, true);
	}
}

/* The eGPU link thread's health and every link it has given an index (one
 * that went away stays, connected false), with what the egpu record does
 * not hold: PCI address and ids, the Thunderbolt router tied to it, its
 * stats file. */
static void pack_egpu(msgpack_packer *pk)
{
	struct egpu_stats es;
	msg_pack_str(pk, "egpu");
	if (!the_rmond.egpu) {
		msgpack_pack_nil(pk);
		return;
	}
	egpu_get_stats(the_rmond.egpu, &es);
	struct egpu_link_info *li = malloc(EGPU_MAX * sizeof *li);
	unsigned n = li ? egpu_get_links(the_rmond.egpu, li, EGPU_MAX) : 0;
	msgpack_pack_map(pk, 8);
	msg_pack_kv_u64(pk, "interval_ns", es.interval_ns);
	msg_pack_kv_u64(pk, "ticks", es.ticks);
	msg_pack_kv_u64(pk, "missed_ticks", es.missed);
	msg_pack_kv_f64(pk, "tick_wall_us", (double)es.tick_wall_ns / 1e3);
	msg_pack_kv_u64(pk, "events", es.events);
	msg_pack_kv_bool(pk, "thunderbolt", es.tb_bus);
	pack_egpu_routers(pk);
	msg_pack_str(pk, "links");
	msgpack_pack_array(pk, n);
	for (unsigned i = 0; i < n; i++) {
		const struct egpu_link_info *l = &li[i];
		msgpack_pack_map(pk, 10);
		msg_pack_kv_u64(pk, "index", l->index);
		msg_pack_kv_bool(pk, "connected", l->connected);
		msg_pack_kv_str(pk, "name", l->name);
		msg_pack_kv_str(pk, "pci", l->pci);
		msg_pack_kv_u64(pk, "vendor_id", l->vendor);
		msg_pack_kv_u64(pk, "device_id", l->device);
		msg_pack_kv_str(pk, "router", l->router);
		msg_pack_kv_str(pk, "tb_via", l->tb_reason);
		msg_pack_kv_bool(pk, "suspended", l->suspended);
		pack_egpu_stats(pk, l);
	}
	free(li);
}

static void status_exec(struct conn *c, const struct msg_request *req)
{
	struct sampler_stats st;
	struct reply r;
	sampler_get_stats(&the_rmond.sampler, &st);
	reply_begin(&r);
	msg_pack_ok(&r.pk, req->id);
	msgpack_pack_map(&r.pk, 9);
	pack_server(&r.pk);
	pack_sampler(&r.pk, &st);
	pack_procs(&r.pk);
	pack_gpu(&r.pk);
	pack_egpu(&r.pk);
	req_pack_gpu_processes(&r.pk, REQ_GPU_PROCS_PER_GPU);
	pack_ring(&r.pk);
	pack_caps(&r.pk, req_caps());
	pack_latest(&r.pk);
	reply_send(c, &r, req->id);
}

const struct req_entry req_status = { PROTO_OP_STATUS, 0, status_exec };
