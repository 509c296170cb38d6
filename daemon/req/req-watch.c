/*
 * watch: follow processes live.
 *
 * The procs thread keeps each watch's members (the pids asked for, and
 * their descendants) and writes their samples into the proc and thread
 * lanes; this stream reads the newest committed tick back from the ring on
 * each tick notification, keeps its members' records, and sends one
 * `sample` per interval.  Threads go as changes: the first sample has the
 * newest record of every thread, later ones the records written since the
 * previous sample (a busy thread's every tick, a quiet one's about once a
 * second, an ended one's last with state "X"); clients keep the newest
 * record of each thread.  Most threads of a big process are quiet, so a
 * sample costs what changed, not what exists.  When the session's queue is full a due sample is
 * skipped and counted, and the next one is preceded by a `lagged` event:
 * the sampler never waits, and the daemon's memory does not grow.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "clock.h"
#include "req.h"
#include "req-watch-dev.h"
#include "rmond.h"
#include "runs.h"
#include "watch-summary.h"

struct watch_stream {
	struct stream base;
	uint32_t wid;
	struct watch_spec spec;
	uint64_t interval_ns;
	uint64_t last_ts;          /* tick of the last sample sent (or skipped) */
	uint64_t lost;             /* skipped since the last lagged event */
	bool started;
	bool done;                 /* the final reply has been sent */
	uint64_t mark_next;        /* the next mark record to look at */
	uint64_t thr_next;         /* the next thread record to look at */
	bool thr_started;          /* the first sample (all threads) was sent */
	struct rm_rec *pend;       /* thread changes over a sample's share of a */
	unsigned npend;            /* frame: the least busy, for the next sample */
	struct watch_totals totals;
};

static bool pid_in(const int32_t *v, unsigned n, int32_t pid)
{
	for (unsigned i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

void req_pack_proc(msgpack_packer *pk, const struct conn *c, const struct rm_rec *r,
                   const struct proc_snap *s)
{
	bool same = s && rec_has(r, RM_PROC_START) && fabs(s->info.start_time - r->v[RM_PROC_START]) < 1;
	bool see = same && access_may_see_cmdline(c, &the_rmond.cfg, s->info.uid);
	req_pack_record_extra(pk, RM_KIND_PROC, r, 1 + (see ? 2u : 0u));
	msg_pack_kv_str(pk, "category", same ? s->category : "other");
	if (see) {
		msg_pack_kv_str(pk, "cmdline", s->info.cmdline);
		msg_pack_kv_str(pk, "exe", s->info.exe);
	}
}

static int cmp_thread_cpu(const void *a, const void *b)
{
	const struct rm_rec *x = a, *y = b;
	double cx = rec_has(x, RM_THREAD_CPU) ? x->v[RM_THREAD_CPU] : -1;
	double cy = rec_has(y, RM_THREAD_CPU) ? y->v[RM_THREAD_CPU] : -1;
	return (cx < cy) - (cx > cy);
}

/* Keep only the members' records (threads: key "pid/tid"). */
static unsigned keep_members(struct rm_rec *recs, unsigned n, const struct watch_view *v, int is_thread)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		int32_t pid = (int32_t)strtol(recs[i].key, NULL, 10);
		(void)is_thread;
		if (pid_in(v->members, v->nmembers, pid))
			recs[k++] = recs[i];
	}
	return k;
}

/* Thread records a sample may hold: half the frame cap at a generous
 * size each (a packed thread record is about 250 bytes). */
static unsigned thread_cap(const struct conn *c)
{
	return (unsigned)(c->srv->frame_max / 2 / 400);
}

/* The members' thread records to send: all (the newest of each) in the
 * first sample, then those written since the previous sample, the newest
 * of each thread.  More than a sample may hold: the busiest go now, the
 * rest with the next sample. */
static unsigned thread_changes(struct watch_stream *w, const struct conn *c,
                               const struct watch_view *v, uint64_t ts, struct rm_rec **out)
{
	int lane = req_lane(RM_KIND_THREAD);
	unsigned n;
	if (!w->thr_started) {
		n = req_latest_window(lane, ts, REQ_THREAD_WINDOW_NS, out, &w->thr_next);
		w->thr_started = true;
	} else {
		n = req_lane_since(lane, &w->thr_next, ts, out);
	}
	if (w->npend) {   /* older than what came now: newest_per_key keeps the new */
		struct rm_rec *all = realloc(*out, (n + w->npend) * sizeof *all);
		if (all) {
			memcpy(all + n, w->pend, w->npend * sizeof *all);
			*out = all;
			n += w->npend;
		}
		free(w->pend);
		w->pend = NULL;
		w->npend = 0;
	}
	n = req_newest_per_key(*out, keep_members(*out, n, v, 1));
	unsigned cap = thread_cap(c);
	if (n > cap) {
		qsort(*out, n, sizeof **out, cmp_thread_cpu);
		if ((w->pend = malloc((n - cap) * sizeof *w->pend))) {
			memcpy(w->pend, *out + cap, (n - cap) * sizeof *w->pend);
			w->npend = n - cap;
		}
		n = cap;
	}
	return n;
}

/* Marks since the previous sample that are about no process in
 * particular or about a watched one; *n set, malloc'd (NULL when none). */
static struct rm_rec *new_marks(struct watch_stream *w, const struct watch_view *v, unsigned *n)
{
	int lane = req_lane(RM_KIND_MARK);
	*n = 0;
	if (lane < 0)
		return NULL;
	struct ring *ring = the_rmond.ring;
	uint64_t head = ring_head(ring, (unsigned)lane), tail = ring_tail(ring, (unsigned)lane);
	if (w->mark_next < tail)
		w->mark_next = tail;
	if (w->mark_next >= head)
		return NULL;
	struct rm_rec *out = malloc((size_t)(head - w->mark_next) * sizeof *out);
	for (; out && w->mark_next < head; w->mark_next++) {
		struct rm_rec *r = &out[*n];
		if (ring_read(ring, (unsigned)lane, w->mark_next, r) < 0)
			continue;
		int32_t about = rec_has(r, RM_MARK_PID) ? (int32_t)r->v[RM_MARK_PID] : 0;
		if (about == 0 || pid_in(v->members, v->nmembers, about))
			(*n)++;
	}
	return out;
}

static void send_sample(struct watch_stream *w, struct conn *c, const struct watch_view *v,
                        struct rm_rec *procs, unsigned np, struct rm_rec *thr, unsigned nt,
                        uint64_t ts)
{
	unsigned nmarks;
	struct rm_rec *marks = new_marks(w, v, &nmarks);
	struct watch_totals now;
	watch_totals_of(procs, np, &now);
	watch_totals_add(&w->totals, &now, ts);
	struct reply r;
	reply_begin(&r);
	msg_pack_event(&r.pk, w->base.id, "sample");
	msgpack_pack_map(&r.pk, (w->spec.threads ? 4u : 3u) + (nmarks ? 1u : 0u));
	msg_pack_kv_u64(&r.pk, "ts", ts);
	msg_pack_str(&r.pk, "total");
	watch_totals_pack(&r.pk, &now);
	msg_pack_str(&r.pk, "procs");
	msgpack_pack_array(&r.pk, np);
	for (unsigned i = 0; i < np; i++) {
		struct proc_snap s;
		bool known = the_rmond.procs &&
		             procs_lookup(the_rmond.procs, (int32_t)procs[i].v[RM_PROC_PID], &s);
		req_pack_proc(&r.pk, c, &procs[i], known ? &s : NULL);
	}
	if (w->spec.threads) {
		if (nt > 1)   /* thr is NULL when no thread changed */
			qsort(thr, nt, sizeof *thr, cmp_thread_cpu);
		msg_pack_str(&r.pk, "threads");
		msgpack_pack_array(&r.pk, nt);
		for (unsigned i = 0; i < nt; i++)
			req_pack_record(&r.pk, RM_KIND_THREAD, &thr[i]);
	}
	if (nmarks) {
		msg_pack_str(&r.pk, "marks");
		msgpack_pack_array(&r.pk, nmarks);
		for (unsigned i = 0; i < nmarks; i++)
			req_pack_record(&r.pk, RM_KIND_MARK, &marks[i]);
	}
	free(marks);
	reply_send(c, &r, w->base.id);
}

static void send_exits(struct watch_stream *w, struct conn *c, const struct watch_view *v)
{
	for (unsigned i = 0; i < v->nexits; i++) {
		struct reply r;
		reply_begin(&r);
		msg_pack_event(&r.pk, w->base.id, "exit");
		msgpack_pack_map(&r.pk, 3);
		msg_pack_kv_u64(&r.pk, "pid", (uint64_t)v->exits[i].pid);
		msg_pack_kv_str(&r.pk, "comm", v->exits[i].comm);
		msg_pack_str(&r.pk, "status");
		if (v->exits[i].status >= 0)
			msgpack_pack_int32(&r.pk, v->exits[i].status);
		else
			msgpack_pack_nil(&r.pk);
		reply_send(c, &r, w->base.id);
	}
}

static void finish(struct watch_stream *w, struct conn *c, const char *reason,
                   const struct watch_view *v)
{
	if (w->spec.run) {
		struct run_rec rr = { v->run.run_id, v->run.start_rt_ns,
		                      v->run.end_rt_ns ? v->run.end_rt_ns : clock_rt_ns(), "",
		                      v->all, v->nall };
		snprintf(rr.label, sizeof rr.label, "%s", w->spec.label);
		runs_add(&rr);
	}
	struct reply r;
	reply_begin(&r);
	msg_pack_ok(&r.pk, w->base.id);
	watch_summary_pack(&r.pk, reason, &w->totals, w->spec.run ? &v->run : NULL, w->spec.label);
	reply_send(c, &r, w->base.id);
	w->done = true;
}

/* The newest committed tracked tick: send a sample if one is due. */
static void watch_on_tick(struct stream *st, struct conn *c)
{
	struct watch_stream *w = (struct watch_stream *)st;
	struct watch_view v;
	struct procs_stats ps;
	if (w->done || procs_watch_view(the_rmond.procs, w->wid, &v) < 0)
		return;
	procs_get_stats(the_rmond.procs, &ps);
	uint64_t ts = ps.last_tick_rt_ns;
	if (ts && ts != w->last_ts && ts - w->last_ts + 50000000u >= w->interval_ns) {
		w->last_ts = ts;
		if (!conn_has_room(c)) {
			w->lost++;
		} else {
			struct rm_rec *procs, *thr = NULL;
			unsigned np = req_latest_lane(req_lane(RM_KIND_PROC), ts, &procs), nt = 0;
			np = keep_members(procs, np, &v, 0);
			if (w->spec.threads && np)   /* consumed only when sent */
				nt = thread_changes(w, c, &v, ts, &thr);
			if (w->lost)
				req_send_lagged(c, w->base.id, &w->lost);
			if (np)
				send_sample(w, c, &v, procs, np, thr, nt, ts);
			free(procs);
			free(thr);
		}
	}
	send_exits(w, c, &v);
	if (v.ended)
		finish(w, c, "exited", &v);
	watch_view_free(&v);
}

static int watch_pump(struct stream *st, struct conn *c)
{
	(void)c;
	return ((struct watch_stream *)st)->done ? STREAM_DONE : STREAM_IDLE;
}

static void watch_free(struct stream *st)
{
	struct watch_stream *w = (struct watch_stream *)st;
	if (the_rmond.procs)
		procs_watch_remove(the_rmond.procs, w->wid);
	free(w->pend);
	free(w);
}

static void watch_cancel(struct stream *st, struct conn *c)
{
	struct watch_stream *w = (struct watch_stream *)st;
	struct watch_view v;
	if (w->done || procs_watch_view(the_rmond.procs, w->wid, &v) < 0)
		return;
	send_exits(w, c, &v);
	if (!v.run.end_rt_ns)
		v.run.end_rt_ns = clock_rt_ns();
	finish(w, c, "cancelled", &v);
	watch_view_free(&v);
}

static const struct stream_ops watch_ops = { watch_pump, watch_on_tick, watch_free, watch_cancel,
                                             CONN_TICK_PROCS };

/* pids, children, threads, interval, run, label → spec; -1 after bad_args. */
static int parse_watch(struct conn *c, const struct msg_request *req, struct watch_stream *w)
{
	const msgpack_object *pids = msg_get_array(req->args, "pids");
	if (!pids || pids->via.array.size == 0 || pids->via.array.size > WATCH_PIDS_MAX) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "pids: expected an array of 1 to %d pids",
		                WATCH_PIDS_MAX);
		return -1;
	}
	for (uint32_t i = 0; i < pids->via.array.size; i++) {
		const msgpack_object *o = &pids->via.array.ptr[i];
		if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 == 0 || o->via.u64 > INT32_MAX) {
			conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "pids[%u]: expected a pid", i);
			return -1;
		}
		w->spec.pids[w->spec.npids++] = (int32_t)o->via.u64;
	}
	w->interval_ns = 1000000000u;
	if (msg_map_get(req->args, "interval") &&
	    (!msg_get_u64(req->args, "interval", &w->interval_ns) || w->interval_ns < 100000000u)) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "interval: expected at least 100 ms (in ns)");
		return -1;
	}
	bool b;
	if (msg_get_bool(req->args, "children", &b))
		w->spec.children = b;
	if (msg_get_bool(req->args, "threads", &b))
		w->spec.threads = b;
	if (msg_get_bool(req->args, "run", &b))
		w->spec.run = b;
	if (msg_map_get(req->args, "label") &&
	    !msg_get_str(req->args, "label", w->spec.label, sizeof w->spec.label)) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "label: expected a string under 256 bytes");
		return -1;
	}
	return 0;
}

static void send_started(struct watch_stream *w, struct conn *c, uint64_t run_id)
{
	struct watch_view v;
	procs_watch_view(the_rmond.procs, w->wid, &v);
	struct reply r;
	reply_begin(&r);
	msg_pack_event(&r.pk, w->base.id, "started");
	msgpack_pack_map(&r.pk, 3);
	msg_pack_kv_u64(&r.pk, "run_id", run_id);
	msg_pack_str(&r.pk, "pids");
	msgpack_pack_array(&r.pk, v.nmembers);
	for (unsigned i = 0; i < v.nmembers; i++)
		msgpack_pack_uint32(&r.pk, (uint32_t)v.members[i]);
	msg_pack_kv_bool(&r.pk, "events", v.events);
	reply_send(c, &r, w->base.id);
	watch_view_free(&v);
}

static void watch_exec(struct conn *c, const struct msg_request *req)
{
	if (req_watch_dev_wanted(req)) {   /* gpu or egpu: devices, not processes */
		req_watch_dev_exec(c, req);
		return;
	}
	if (!the_rmond.procs) {
		conn_send_error(c, req->id, PROTO_ERR_INTERNAL, "process tracking is not available on this machine");
		return;
	}
	struct watch_stream *w = req_stream_new(c, req, sizeof *w, &watch_ops);
	if (!w)
		return;
	if (parse_watch(c, req, w) < 0) {
		free(w);
		return;
	}
	uint64_t run_id;
	int rc = procs_watch_add(the_rmond.procs, &w->spec, &w->wid, &run_id);
	if (rc < 0) {
		conn_send_error(c, req->id, rc == -ENOENT ? PROTO_ERR_NOT_FOUND : PROTO_ERR_BUSY,
		                rc == -ENOENT ? "no such process" : "too many watches");
		free(w);
		return;
	}
	w->mark_next = req_lane(RM_KIND_MARK) >= 0 ?
	               ring_head(the_rmond.ring, (unsigned)req_lane(RM_KIND_MARK)) : 0;
	watch_totals_init(&w->totals, clock_rt_ns());
	conn_add_stream(c, &w->base);
	send_started(w, c, run_id);
}

const struct req_entry req_watch = { PROTO_OP_WATCH, 0, watch_exec };
