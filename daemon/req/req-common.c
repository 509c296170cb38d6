/* What the request handlers share: selectors, record packing, latest. */
#include <stdlib.h>
#include <string.h>

#include "req.h"
#include "rmond.h"

int req_parse_selectors(struct conn *c, const struct msg_request *req,
                        struct selector *sels, unsigned *nsels)
{
	const msgpack_object *arr = msg_get_array(req->args, "selectors");
	char err[256], buf[256];

	if (!arr || arr->via.array.size == 0 || arr->via.array.size > REQ_SELECTORS_MAX) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS,
		                "selectors: expected an array of 1 to %d strings", REQ_SELECTORS_MAX);
		return -1;
	}
	for (uint32_t i = 0; i < arr->via.array.size; i++) {
		const msgpack_object *o = &arr->via.array.ptr[i];
		if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= sizeof buf) {
			conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS,
			                "selectors[%u]: expected a string shorter than %zu bytes",
			                i, sizeof buf);
			return -1;
		}
		memcpy(buf, o->via.str.ptr, o->via.str.size);
		buf[o->via.str.size] = '\0';
		if (selector_parse(buf, &sels[i], err, sizeof err) < 0) {
			conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "%s", err);
			return -1;
		}
	}
	*nsels = arr->via.array.size;
	return 0;
}

void req_pack_record(msgpack_packer *pk, enum rm_kind kind, const struct rm_rec *r)
{
	req_pack_record_extra(pk, kind, r, 0);
}

void req_pack_record_extra(msgpack_packer *pk, enum rm_kind kind, const struct rm_rec *r,
                           uint32_t extra)
{
	const struct rm_kind_desc *kd = &rm_kinds[kind];
	uint32_t n = 1 + (kd->keyed ? 1u : 0u) + (r->label[0] ? 1u : 0u) + extra;
	for (unsigned i = 0; i < kd->nfields; i++)
		n += (uint32_t)rec_has(r, (int)i);
	msgpack_pack_map(pk, n);
	msg_pack_kv_u64(pk, "ts", r->ts_ns);
	if (kd->keyed) {
		msg_pack_str(pk, "key");
		msgpack_pack_str_with_body(pk, r->key, strnlen(r->key, sizeof r->key));
	}
	if (r->label[0]) {
		msg_pack_str(pk, "label");
		msgpack_pack_str_with_body(pk, r->label, strnlen(r->label, sizeof r->label));
	}
	for (unsigned i = 0; i < kd->nfields; i++) {
		if (!rec_has(r, (int)i))
			continue;
		double v = r->v[i];
		/* integer-typed fields go out as integers (the schema says which) */
		if (kd->fields[i].type != RM_F64 && v >= 0 && v < 1.8e19 && v == (double)(uint64_t)v)
			msg_pack_kv_u64(pk, kd->fields[i].name, (uint64_t)v);
		else
			msg_pack_kv_f64(pk, kd->fields[i].name, v);
	}
}

int req_lane(enum rm_kind kind)
{
	return the_rmond.ring ? ring_lane(the_rmond.ring, (uint32_t)kind) : -1;
}

/* The committed tick of a lane's writer: the sampler for host kinds, the
 * procs thread for processes and threads; marks are written by the loop
 * itself, so all of them are committed. */
static uint64_t committed_ns(enum rm_kind kind)
{
	if (kind == RM_KIND_MARK)
		return UINT64_MAX;
	if (kind == RM_KIND_GPU) {
		struct gpu_stats gs;
		gpu_get_stats(the_rmond.gpu, &gs);
		return gs.last_tick_ns;
	}
	if (kind == RM_KIND_EGPU || kind == RM_KIND_EVENT) {   /* the eGPU link thread's */
		struct egpu_stats es;
		egpu_get_stats(the_rmond.egpu, &es);
		return es.last_tick_ns;
	}
	if (kind == RM_KIND_PROC || kind == RM_KIND_THREAD) {
		struct procs_stats ps;
		if (!the_rmond.procs)
			return 0;
		procs_get_stats(the_rmond.procs, &ps);
		return ps.last_tick_rt_ns;
	}
	struct sampler_stats st;
	sampler_get_stats(&the_rmond.sampler, &st);
	return st.last_tick_ns;
}

void req_send_lagged(struct conn *c, uint64_t id, uint64_t *lost)
{
	struct reply r;
	reply_begin(&r);
	msg_pack_event(&r.pk, id, "lagged");
	msgpack_pack_map(&r.pk, 1);
	msg_pack_kv_u64(&r.pk, "lost", *lost);
	reply_send(c, &r, id);
	*lost = 0;
}

void *req_stream_new(struct conn *c, const struct msg_request *req, size_t size,
                     const struct stream_ops *ops)
{
	if (conn_find_stream(c, req->id)) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "a stream with id %llu already runs",
		                (unsigned long long)req->id);
		return NULL;
	}
	struct stream *st = calloc(1, size);
	if (!st) {
		conn_send_error(c, req->id, PROTO_ERR_INTERNAL, "out of memory");
		return NULL;
	}
	st->id = req->id;
	st->ops = ops;
	return st;
}

static bool thread_ended(const struct rm_rec *r)
{
	return rec_has(r, RM_THREAD_STATE) && r->v[RM_THREAD_STATE] == 'X';
}

unsigned req_latest(enum rm_kind kind, struct rm_rec **out)
{
	if (kind != RM_KIND_THREAD)
		return req_latest_lane(req_lane(kind), committed_ns(kind), out);
	unsigned n = req_latest_window(req_lane(kind), committed_ns(kind), REQ_THREAD_WINDOW_NS,
	                               out, NULL), k = 0;
	for (unsigned i = 0; i < n; i++)
		if (!thread_ended(&(*out)[i]))
			(*out)[k++] = (*out)[i];
	return k;
}

static int cmp_key_newest(const void *a, const void *b)
{
	const struct rm_rec *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->ts_ns < y->ts_ns) - (x->ts_ns > y->ts_ns);
}

unsigned req_newest_per_key(struct rm_rec *recs, unsigned n)
{
	if (n < 2)
		return n;
	qsort(recs, n, sizeof *recs, cmp_key_newest);
	unsigned k = 1;
	for (unsigned i = 1; i < n; i++)
		if (strcmp(recs[i].key, recs[k - 1].key) != 0)
			recs[k++] = recs[i];
	return k;
}

unsigned req_latest_window(int lane, uint64_t committed, uint64_t window_ns,
                           struct rm_rec **out, uint64_t *next)
{
	*out = NULL;
	if (lane < 0)
		return 0;
	struct ring *ring = the_rmond.ring;
	uint64_t head = ring_head(ring, (unsigned)lane), tail = ring_tail(ring, (unsigned)lane);
	uint64_t from = committed > window_ns ? committed - window_ns : 0, n = head;
	struct rm_rec r;
	/* past the tick being written, then back to the window's start */
	for (; n > tail; n--)
		if (ring_read(ring, (unsigned)lane, n - 1, &r) == 0 && r.ts_ns <= committed)
			break;
	uint64_t newest = n;
	if (next)
		*next = newest;
	uint64_t first = ring_seek_time(ring, (unsigned)lane, from);
	if (first >= newest)
		return 0;
	/* The window can hold many records per key (a busy thread's every
	 * tick): the buffer is compacted to the newest of each key whenever
	 * it fills, so it stays about the number of keys, not of records. */
	unsigned count = 0, cap = newest - first < 1024 ? (unsigned)(newest - first) : 1024;
	struct rm_rec *v = malloc(sizeof *v * cap);
	for (uint64_t i = first; v && i < newest; i++) {
		if (count == cap) {
			count = req_newest_per_key(v, count);
			if (count > cap / 2) {
				struct rm_rec *w = realloc(v, sizeof *v * cap * 2);
				if (!w)
					break;
				v = w;
				cap *= 2;
			}
		}
		if (ring_read(ring, (unsigned)lane, i, &v[count]) == 0 && v[count].ts_ns >= from &&
		    v[count].ts_ns <= committed)
			count++;
	}
	*out = v;
	return v ? req_newest_per_key(v, count) : 0;
}

unsigned req_lane_since(int lane, uint64_t *next, uint64_t committed, struct rm_rec **out)
{
	*out = NULL;
	if (lane < 0)
		return 0;
	struct ring *ring = the_rmond.ring;
	uint64_t head = ring_head(ring, (unsigned)lane), tail = ring_tail(ring, (unsigned)lane);
	if (*next < tail)
		*next = tail;
	if (*next >= head)
		return 0;
	*out = malloc(sizeof **out * (size_t)(head - *next));
	unsigned count = 0;
	for (; *out && *next < head; (*next)++) {
		int rc = ring_read(ring, (unsigned)lane, *next, &(*out)[count]);
		if (rc == 0 && (*out)[count].ts_ns > committed)
			break;   /* the tick being written: next time */
		if (rc == 0)
			count++;  /* else overwritten under us: gone */
	}
	return count;
}

/* Walk back from the head past records of a tick still being written
 * (newer than the last committed tick) to the newest committed tick. */
unsigned req_latest_lane(int lane, uint64_t committed, struct rm_rec **out)
{
	*out = NULL;
	if (lane < 0)
		return 0;
	struct ring *ring = the_rmond.ring;
	uint64_t head = ring_head(ring, (unsigned)lane), tail = ring_tail(ring, (unsigned)lane);
	uint64_t tick_ts = 0, first = head;
	struct rm_rec r;
	for (uint64_t n = head; n > tail; n--) {
		if (ring_read(ring, (unsigned)lane, n - 1, &r) < 0)
			break;
		if (r.ts_ns > committed)
			continue;
		if (tick_ts && r.ts_ns != tick_ts)
			break;
		tick_ts = r.ts_ns;
		first = n - 1;
	}
	if (!tick_ts)
		return 0;
	unsigned count = 0;
	*out = malloc(sizeof **out * (size_t)(head - first));
	for (uint64_t n = first; *out && n < head; n++)
		if (ring_read(ring, (unsigned)lane, n, &(*out)[count]) == 0 &&
		    (*out)[count].ts_ns == tick_ts)
			count++;
	return count;
}

/* A snapshot entry as a proc record, so top rows look like watch rows. */
void req_snap_record(const struct proc_snap *s, uint64_t ts, struct rm_rec *r)
{
	procs_fill_record(r, &s->info, ts);
}

uint32_t req_caps(void)
{
	struct sampler_stats st;
	sampler_get_stats(&the_rmond.sampler, &st);
	struct gpu_stats gs;
	gpu_get_stats(the_rmond.gpu, &gs);
	struct egpu_stats es;
	egpu_get_stats(the_rmond.egpu, &es);
	return st.caps | (gs.nvml ? 1u << COLLECT_CAP_NVML : 0u) |
	       (gs.amdgpu ? 1u << COLLECT_CAP_AMDGPU : 0u) |
	       (es.pci_bus || es.tb_bus ? 1u << COLLECT_CAP_EGPU : 0u);
}
