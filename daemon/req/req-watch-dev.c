/*
 * watch with `gpu` or `egpu`: follow devices live.
 *
 * The devices' own threads write their lanes (the GPU thread the gpu lane,
 * the eGPU link sampler the egpu lane and the event lane) and wake the
 * loop after each committed tick, as every sampling thread does.  This
 * stream reads the newest committed tick of its lane back on each wake-up
 * and, when a sample is due, sends the selected devices' records; events
 * about them go out as they appear.  As for process watches, a sample due
 * while the session's queue is full is skipped and counted, and the next
 * one is preceded by `lagged`: the sampling threads never wait, and the
 * daemon's memory does not grow.
 */
#include "req-watch-dev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "req.h"
#include "rmond.h"

#define DEV_MAX 64   /* indices 0..63: a bit each (the GPU thread's limit too) */

struct dev_stream {
	struct stream base;
	enum rm_kind kind;         /* RM_KIND_GPU or RM_KIND_EGPU */
	uint64_t want;             /* bit per selected device index; all: every bit */
	uint64_t have;             /* the devices there were at the start */
	uint64_t interval_ns;
	uint64_t seen_ts;          /* the newest device tick looked at */
	uint64_t sent_ts;          /* the tick of the last sample sent (or skipped) */
	uint64_t tick_gap;         /* spacing of the writer's ticks, as seen */
	uint64_t lost;             /* skipped since the last lagged event */
	uint64_t lost_total, samples;
	uint64_t event_next;       /* the next event record to look at */
	uint64_t start_rt;
	bool done;
};

/* A record's device index: its key ("3"); -1 when it is not one. */
static int rec_index(const struct rm_rec *r)
{
	char *end;
	unsigned long v = strtoul(r->key, &end, 10);
	return end != r->key && *end == '\0' && v < DEV_MAX ? (int)v : -1;
}

static bool wanted(const struct dev_stream *w, int idx)
{
	return idx >= 0 && (w->want >> idx & 1u);
}

/* Due when a whole interval has passed since the last sample, give or
 * take half a writer tick (the ticks' timestamps jitter around the grid). */
static bool due(const struct dev_stream *w, uint64_t ts)
{
	if (!w->sent_ts)
		return true;
	uint64_t gap = w->tick_gap < w->interval_ns ? w->tick_gap : w->interval_ns;
	return ts > w->sent_ts && ts - w->sent_ts + gap / 2 >= w->interval_ns;
}

static void send_sample(struct dev_stream *w, struct conn *c, const struct rm_rec *recs,
                        unsigned n, uint64_t ts)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++)
		k += wanted(w, rec_index(&recs[i]));
	struct reply r;
	reply_begin(&r);
	msg_pack_event(&r.pk, w->base.id, "sample");
	msgpack_pack_map(&r.pk, 3);
	msg_pack_kv_u64(&r.pk, "ts", ts);
	msg_pack_kv_str(&r.pk, "kind", rm_kinds[w->kind].name);
	msg_pack_str(&r.pk, "devices");
	msgpack_pack_array(&r.pk, k);
	for (unsigned i = 0; i < n; i++)
		if (wanted(w, rec_index(&recs[i])))
			req_pack_record(&r.pk, w->kind, &recs[i]);
	reply_send(c, &r, w->base.id);
	w->samples++;
}

/* Events about a selected device, or about none in particular, in the
 * order they were written.  One that finds the queue full waits in the
 * ring for the next wake-up (events are rare; the ring bounds them). */
static void send_events(struct dev_stream *w, struct conn *c)
{
	int lane = req_lane(RM_KIND_EVENT);
	if (lane < 0)
		return;
	struct ring *ring = the_rmond.ring;
	uint64_t head = ring_head(ring, (unsigned)lane), tail = ring_tail(ring, (unsigned)lane);
	if (w->event_next < tail)
		w->event_next = tail;
	for (; w->event_next < head && conn_has_room(c); w->event_next++) {
		struct rm_rec e;
		if (ring_read(ring, (unsigned)lane, w->event_next, &e) < 0)
			continue;   /* overwritten meanwhile */
		if (rec_has(&e, RM_EVENT_INDEX) &&
		    !(e.v[RM_EVENT_INDEX] >= 0 && e.v[RM_EVENT_INDEX] < DEV_MAX &&
		      wanted(w, (int)e.v[RM_EVENT_INDEX])))
			continue;
		struct reply r;
		reply_begin(&r);
		msg_pack_event(&r.pk, w->base.id, "event");
		req_pack_record(&r.pk, RM_KIND_EVENT, &e);
		reply_send(c, &r, w->base.id);
	}
}

static void dev_on_tick(struct stream *st, struct conn *c)
{
	struct dev_stream *w = (struct dev_stream *)st;
	if (w->done)
		return;
	send_events(w, c);
	struct rm_rec *recs;
	unsigned n = req_latest(w->kind, &recs);
	uint64_t ts = n ? recs[0].ts_ns : 0;
	if (ts > w->seen_ts) {
		if (w->seen_ts)
			w->tick_gap = ts - w->seen_ts;
		w->seen_ts = ts;
		if (due(w, ts)) {
			w->sent_ts = ts;
			if (!conn_has_room(c)) {
				w->lost++;
				w->lost_total++;
			} else {
				if (w->lost)
					req_send_lagged(c, w->base.id, &w->lost);
				send_sample(w, c, recs, n, ts);
			}
		}
	}
	free(recs);
}

static int dev_pump(struct stream *st, struct conn *c)
{
	(void)c;
	return ((struct dev_stream *)st)->done ? STREAM_DONE : STREAM_IDLE;
}

static void dev_free(struct stream *st)
{
	free(st);
}

/* The reply: the stream only ends when cancelled. */
static void dev_cancel(struct stream *st, struct conn *c)
{
	struct dev_stream *w = (struct dev_stream *)st;
	if (w->done)
		return;
	struct reply r;
	reply_begin(&r);
	msg_pack_ok(&r.pk, w->base.id);
	msgpack_pack_map(&r.pk, 5);
	msg_pack_kv_str(&r.pk, "reason", "cancelled");
	msg_pack_kv_str(&r.pk, "kind", rm_kinds[w->kind].name);
	msg_pack_kv_f64(&r.pk, "duration_s", (double)(clock_rt_ns() - w->start_rt) / 1e9);
	msg_pack_kv_u64(&r.pk, "samples", w->samples);
	msg_pack_kv_u64(&r.pk, "lost", w->lost_total);
	reply_send(c, &r, w->base.id);
	w->done = true;
}

static const struct stream_ops dev_ops = { dev_pump, dev_on_tick, dev_free, dev_cancel,
                                           CONN_TICK_GPU | CONN_TICK_EGPU };

/* The devices there are: bit per index.  GPUs are the GPU thread's (a lost
 * one keeps its index); GPU links are those of the newest egpu tick. */
static uint64_t present(enum rm_kind kind)
{
	uint64_t have = 0;
	if (kind == RM_KIND_GPU) {
		struct gpu_stats gs;
		gpu_get_stats(the_rmond.gpu, &gs);   /* no GPU thread: zeros */
		for (unsigned i = 0; i < gs.devices && i < DEV_MAX; i++)
			have |= (uint64_t)1 << i;
		return have;
	}
	struct rm_rec *recs;
	unsigned n = req_latest(kind, &recs);
	for (unsigned i = 0; i < n; i++)
		if (rec_index(&recs[i]) >= 0)
			have |= (uint64_t)1 << rec_index(&recs[i]);
	free(recs);
	return have;
}

/* "0-1", "0, 2" for messages. */
static void list_bits(char *buf, size_t len, uint64_t bits)
{
	size_t off = 0;
	buf[0] = '\0';
	for (int i = 0; i < DEV_MAX && off < len; i++)
		if (bits >> i & 1u)
			off += (size_t)snprintf(buf + off, len - off, "%s%d", off ? ", " : "", i);
}

static int no_device(struct conn *c, const struct msg_request *req, enum rm_kind kind,
                     uint64_t have, uint64_t idx)
{
	char list[256];
	const char *what = kind == RM_KIND_GPU ? "GPU" : "eGPU link for GPU";
	if (!have) {
		conn_send_error(c, req->id, PROTO_ERR_NOT_FOUND, "%s",
		                kind == RM_KIND_GPU ? "no GPUs on this machine" :
		                "no GPU links on this machine (no egpu records)");
		return -1;
	}
	list_bits(list, sizeof list, have);
	conn_send_error(c, req->id, PROTO_ERR_NOT_FOUND, "no %s %llu (%s: %s)", what,
	                (unsigned long long)idx, kind == RM_KIND_GPU ? "GPUs" : "links for GPUs",
	                list);
	return -1;
}

/* gpu or egpu (an array of indices, empty: all), interval; -1 after an
 * error reply. */
static int parse_dev(struct conn *c, const struct msg_request *req, struct dev_stream *w)
{
	bool g = msg_map_get(req->args, "gpu") != NULL, e = msg_map_get(req->args, "egpu") != NULL;
	if ((g && e) || msg_map_get(req->args, "pids")) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "pids, gpu and egpu exclude each other");
		return -1;
	}
	const char *name = g ? "gpu" : "egpu";
	w->kind = g ? RM_KIND_GPU : RM_KIND_EGPU;
	const msgpack_object *arr = msg_get_array(req->args, name);
	if (!arr || arr->via.array.size > DEV_MAX) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS,
		                "%s: expected an array of device indices (empty: all)", name);
		return -1;
	}
	uint64_t have = w->have = present(w->kind);
	if (!have)
		return no_device(c, req, w->kind, have, 0);
	for (uint32_t i = 0; i < arr->via.array.size; i++) {
		const msgpack_object *o = &arr->via.array.ptr[i];
		if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
			conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "%s[%u]: expected an index", name, i);
			return -1;
		}
		if (o->via.u64 >= DEV_MAX || !(have >> o->via.u64 & 1u))
			return no_device(c, req, w->kind, have, o->via.u64);
		w->want |= (uint64_t)1 << o->via.u64;
	}
	if (!w->want)
		w->want = UINT64_MAX;   /* all: those that appear later too (a plugged eGPU) */
	w->interval_ns = 1000000000u;
	if (msg_map_get(req->args, "interval") &&
	    (!msg_get_u64(req->args, "interval", &w->interval_ns) || w->interval_ns < 100000000u)) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "interval: expected at least 100 ms (in ns)");
		return -1;
	}
	return 0;
}

/* The devices followed now (all: those there are). */
static void send_started(struct dev_stream *w, struct conn *c)
{
	unsigned n = 0;
	for (int i = 0; i < DEV_MAX; i++)
		n += wanted(w, i) && (w->have >> i & 1u);
	struct reply r;
	reply_begin(&r);
	msg_pack_event(&r.pk, w->base.id, "started");
	msgpack_pack_map(&r.pk, 3);
	msg_pack_kv_str(&r.pk, "kind", rm_kinds[w->kind].name);
	msg_pack_str(&r.pk, "devices");
	msgpack_pack_array(&r.pk, n);
	for (int i = 0; i < DEV_MAX; i++)
		if (wanted(w, i) && (w->have >> i & 1u))
			msgpack_pack_uint32(&r.pk, (uint32_t)i);
	msg_pack_kv_u64(&r.pk, "interval", w->interval_ns);
	reply_send(c, &r, w->base.id);
}

bool req_watch_dev_wanted(const struct msg_request *req)
{
	return msg_map_get(req->args, "gpu") || msg_map_get(req->args, "egpu");
}

void req_watch_dev_exec(struct conn *c, const struct msg_request *req)
{
	struct dev_stream *w = req_stream_new(c, req, sizeof *w, &dev_ops);
	if (!w)
		return;
	if (parse_dev(c, req, w) < 0) {
		free(w);
		return;
	}
	w->start_rt = clock_rt_ns();
	int lane = req_lane(RM_KIND_EVENT);
	w->event_next = lane >= 0 ? ring_head(the_rmond.ring, (unsigned)lane) : 0;
	conn_add_stream(c, &w->base);
	send_started(w, c);
}
