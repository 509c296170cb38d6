/*
 * query: history from the ring, streamed.
 *
 * The stream walks each selector's lane from the first record at or after
 * `since`, a bounded number of records per pump, so a long query neither
 * stalls the loop nor outruns a slow reader (the session pumps only while
 * its output queue has room).  Points are buffered per series and sent as
 * `series` events when a series' chunk is full or when everything buffered
 * reaches a cap, which bounds the memory of any query.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "req.h"
#include "clock.h"
#include "rmond.h"
#include "runs.h"

#define QUERY_CHUNK 4096          /* points per series event */
#define QUERY_BUFFERED_MAX 16384  /* points held before everything is flushed */
#define QUERY_RECS_PER_PUMP 4096  /* ring records examined per pump */
#define QUERY_SERIES_MAX 8192

enum query_agg { AGG_AVG, AGG_MIN, AGG_MAX, AGG_LAST, AGG_P95 };
static const char *const agg_names[] = { "avg", "min", "max", "last", "p95" };

struct series {
	char name[128];
	unsigned pass;             /* the selector that made it */
	const char *unit;
	uint64_t *t;
	double *v;                 /* NAN: no reading */
	char (*lab)[RM_LABEL_MAX]; /* the text series of marks: each point's label */
	unsigned n;
	uint64_t bucket;           /* aggregation: current bucket index */
	unsigned cnt;
	double sum, min, max, last;
	double *vals;              /* p95 only */
	unsigned nvals, capvals;
};

struct query {
	struct stream base;
	struct selector sels[REQ_SELECTORS_MAX];
	unsigned nsels, pass;
	int lane;
	uint64_t n, head;
	uint64_t since, until, step;
	enum query_agg agg;
	const struct run_rec *run;  /* restrict proc/thread records to a run's pids */
	struct series *series;
	unsigned nseries, capseries;
	unsigned buffered;
	uint64_t points;
};

static struct series *series_find(struct query *q, const char *name, int *is_new)
{
	*is_new = 0;
	for (unsigned i = 0; i < q->nseries; i++)
		if (strcmp(q->series[i].name, name) == 0)
			return &q->series[i];
	if (q->nseries == QUERY_SERIES_MAX)
		return NULL;
	if (q->nseries == q->capseries) {
		unsigned cap = q->capseries ? q->capseries * 2 : 16;
		struct series *s = realloc(q->series, cap * sizeof *s);
		if (!s)
			return NULL;
		q->series = s;
		q->capseries = cap;
	}
	struct series *s = &q->series[q->nseries++];
	memset(s, 0, sizeof *s);
	snprintf(s->name, sizeof s->name, "%s", name);
	s->pass = q->pass;
	s->t = malloc(QUERY_CHUNK * sizeof *s->t);
	s->v = malloc(QUERY_CHUNK * sizeof *s->v);
	s->bucket = UINT64_MAX;
	*is_new = 1;
	return s;
}

static void series_flush(struct query *q, struct series *s, struct conn *c)
{
	if (s->n == 0)
		return;
	struct reply r;
	reply_begin(&r);
	msg_pack_event(&r.pk, q->base.id, "series");
	msgpack_pack_map(&r.pk, s->lab ? 5 : 4);
	msg_pack_kv_str(&r.pk, "name", s->name);
	msg_pack_kv_str(&r.pk, "unit", s->unit);
	msg_pack_str(&r.pk, "t");
	msgpack_pack_array(&r.pk, s->n);
	for (unsigned i = 0; i < s->n; i++)
		msgpack_pack_uint64(&r.pk, s->t[i]);
	msg_pack_str(&r.pk, "v");
	msgpack_pack_array(&r.pk, s->n);
	for (unsigned i = 0; i < s->n; i++) {
		if (isnan(s->v[i]))
			msgpack_pack_nil(&r.pk);
		else
			msgpack_pack_double(&r.pk, s->v[i]);
	}
	if (s->lab) {
		msg_pack_str(&r.pk, "labels");
		msgpack_pack_array(&r.pk, s->n);
		for (unsigned i = 0; i < s->n; i++)
			msg_pack_str(&r.pk, s->lab[i]);
	}
	reply_send(c, &r, q->base.id);
	q->buffered -= s->n;
	s->n = 0;
}

static void series_add(struct query *q, struct series *s, uint64_t t, double v, struct conn *c)
{
	s->t[s->n] = t;
	s->v[s->n] = v;
	s->n++;
	q->buffered++;
	q->points++;
	if (s->n == QUERY_CHUNK)
		series_flush(q, s, c);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Close the current bucket into one point. */
static void bucket_close(struct query *q, struct series *s, struct conn *c)
{
	if (s->cnt == 0)
		return;
	double v = s->last;
	switch (q->agg) {
	case AGG_AVG: v = s->sum / s->cnt; break;
	case AGG_MIN: v = s->min; break;
	case AGG_MAX: v = s->max; break;
	case AGG_LAST: v = s->last; break;
	case AGG_P95:
		qsort(s->vals, s->nvals, sizeof *s->vals, cmp_double);
		v = s->vals[(size_t)ceil(0.95 * s->nvals) - 1];
		break;
	}
	series_add(q, s, q->since + s->bucket * q->step, v, c);
	s->cnt = 0;
	s->nvals = 0;
}

static void bucket_add(struct query *q, struct series *s, uint64_t ts, double v, struct conn *c)
{
	uint64_t b = (ts - q->since) / q->step;
	if (b != s->bucket) {
		bucket_close(q, s, c);
		s->bucket = b;
	}
	if (isnan(v))
		return;
	if (s->cnt == 0 || v < s->min)
		s->min = v;
	if (s->cnt == 0 || v > s->max)
		s->max = v;
	s->sum = s->cnt ? s->sum + v : v;
	s->last = v;
	s->cnt++;
	if (q->agg == AGG_P95) {
		if (s->nvals == s->capvals) {
			unsigned cap = s->capvals ? s->capvals * 2 : 64;
			double *nv = realloc(s->vals, cap * sizeof *nv);
			if (!nv)
				return;
			s->vals = nv;
			s->capvals = cap;
		}
		s->vals[s->nvals++] = v;
	}
}

static void add_record(struct query *q, const struct selector *sel, const struct rm_rec *r,
                       struct conn *c)
{
	const struct rm_kind_desc *kd = &rm_kinds[sel->kind];
	unsigned f0 = sel->field < 0 ? 0 : (unsigned)sel->field;
	unsigned f1 = sel->field < 0 ? kd->nfields : f0 + 1;
	char name[128];
	int is_new;
	for (unsigned f = f0; f < f1; f++) {
		selector_name(sel->kind, r->key, (int)f, name, sizeof name);
		struct series *s = series_find(q, name, &is_new);
		if (!s || s->pass != q->pass || !s->t || !s->v)
			continue;   /* an earlier selector already covers it */
		if (is_new)
			s->unit = kd->fields[f].unit;
		double v = rec_has(r, (int)f) ? r->v[f] : NAN;
		if (q->step)
			bucket_add(q, s, r->ts_ns, v, c);
		else
			series_add(q, s, r->ts_ns, v, c);
	}
}

/* Raw marks and events also come as the series "mark.text" and
 * "event.text": each point's label is the mark's or event's text (the
 * fields are numbers; the text is what people read). */
static void add_label_text(struct query *q, enum rm_kind kind, const struct rm_rec *r,
			   struct conn *c)
{
	int is_new;
	struct series *s = series_find(q, kind == RM_KIND_MARK ? "mark.text" : "event.text", &is_new);
	if (!s || s->pass != q->pass || !s->t || !s->v)
		return;
	if (is_new) {
		s->unit = "";
		s->lab = malloc(QUERY_CHUNK * sizeof *s->lab);
	}
	if (!s->lab)
		return;
	memcpy(s->lab[s->n], r->label, sizeof s->lab[s->n]);   /* before: series_add may flush */
	series_add(q, s, r->ts_ns, NAN, c);
}

static void flush_all(struct query *q, struct conn *c, int close_buckets)
{
	for (unsigned i = 0; i < q->nseries; i++) {
		if (close_buckets && q->step)
			bucket_close(q, &q->series[i], c);
		series_flush(q, &q->series[i], c);
	}
}

/* Position on the next selector's lane.  Returns 0 when none is left. */
static int next_pass(struct query *q)
{
	while (q->pass < q->nsels) {
		q->lane = req_lane(q->sels[q->pass].kind);
		if (q->lane >= 0) {
			q->n = ring_seek_time(the_rmond.ring, (unsigned)q->lane, q->since);
			q->head = ring_head(the_rmond.ring, (unsigned)q->lane);
			return 1;
		}
		q->pass++;
	}
	return 0;
}

static void finish(struct query *q, struct conn *c)
{
	flush_all(q, c, 1);
	if (q->points == 0) {
		conn_send_error(c, q->base.id, PROTO_ERR_NOT_FOUND,
		                "no records match in that time range");
		return;
	}
	struct reply r;
	reply_begin(&r);
	msg_pack_ok(&r.pk, q->base.id);
	msgpack_pack_map(&r.pk, 2);
	msg_pack_kv_u64(&r.pk, "series", q->nseries);
	msg_pack_kv_u64(&r.pk, "points", q->points);
	reply_send(c, &r, q->base.id);
}

/* With a run: process and thread records only of the run's processes
 * (their key starts with the pid). */
static bool in_run(const struct query *q, enum rm_kind kind, const struct rm_rec *r)
{
	if (!q->run || (kind != RM_KIND_PROC && kind != RM_KIND_THREAD))
		return true;
	int32_t pid = (int32_t)strtol(r->key, NULL, 10);
	for (unsigned i = 0; i < q->run->npids; i++)
		if (q->run->pids[i] == pid)
			return true;
	return false;
}

static int query_pump(struct stream *st, struct conn *c)
{
	struct query *q = (struct query *)st;
	struct ring *ring = the_rmond.ring;
	struct rm_rec r;
	unsigned budget = QUERY_RECS_PER_PUMP;

	while (q->pass < q->nsels && budget) {
		const struct selector *sel = &q->sels[q->pass];
		for (; q->n < q->head && budget; q->n++, budget--) {
			int rc = ring_read(ring, (unsigned)q->lane, q->n, &r);
			if (rc == -ENOENT && q->n < ring_tail(ring, (unsigned)q->lane)) {
				q->n = ring_tail(ring, (unsigned)q->lane) - 1;   /* lapped */
				continue;
			}
			if (rc < 0 || !selector_match_key(sel, r.key) || !in_run(q, sel->kind, &r))
				continue;
			if (r.ts_ns > q->until) {
				q->n = q->head;
				break;
			}
			add_record(q, sel, &r, c);
			if ((sel->kind == RM_KIND_MARK || sel->kind == RM_KIND_EVENT) && !q->step)
				add_label_text(q, sel->kind, &r, c);
		}
		if (q->n >= q->head) {
			q->pass++;
			next_pass(q);
		}
	}
	if (q->buffered >= QUERY_BUFFERED_MAX)
		flush_all(q, c, 0);
	if (q->pass < q->nsels)
		return STREAM_MORE;
	finish(q, c);
	return STREAM_DONE;
}

static void query_free(struct stream *st)
{
	struct query *q = (struct query *)st;
	for (unsigned i = 0; i < q->nseries; i++) {
		free(q->series[i].t);
		free(q->series[i].v);
		free(q->series[i].vals);
		free(q->series[i].lab);
	}
	free(q->series);
	free(q);
}

static void query_cancel(struct stream *st, struct conn *c)
{
	struct query *q = (struct query *)st;
	q->pass = q->nsels;
	flush_all(q, c, 1);
	struct reply r;
	reply_begin(&r);
	msg_pack_ok(&r.pk, q->base.id);
	msgpack_pack_map(&r.pk, 3);
	msg_pack_kv_u64(&r.pk, "series", q->nseries);
	msg_pack_kv_u64(&r.pk, "points", q->points);
	msg_pack_kv_bool(&r.pk, "cancelled", true);
	reply_send(c, &r, q->base.id);
}

static const struct stream_ops query_ops = { query_pump, NULL, query_free, query_cancel, 0 };

/* since/until/step/agg; sends bad_args and returns -1 on error. */
static int parse_range(struct conn *c, const struct msg_request *req, struct query *q)
{
	char agg[8] = "avg";
	const msgpack_object *o;
	uint64_t run_id;
	if (msg_map_get(req->args, "run")) {
		if (!msg_get_u64(req->args, "run", &run_id)) {
			conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "run: expected a run id");
			return -1;
		}
		if (!(q->run = runs_find(run_id))) {
			conn_send_error(c, req->id, PROTO_ERR_NOT_FOUND, "no finished run %llu",
			                (unsigned long long)run_id);
			return -1;
		}
	}
	if (q->run && !msg_map_get(req->args, "since")) {
		q->since = q->run->start_ns;
	} else if (!msg_get_u64(req->args, "since", &q->since)) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "since: expected a uint (ns since the epoch)");
		return -1;
	}
	q->until = q->run ? q->run->end_ns : clock_rt_ns();
	if ((o = msg_map_get(req->args, "until")) && !msg_get_u64(req->args, "until", &q->until)) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "until: expected a uint (ns since the epoch)");
		return -1;
	}
	if ((o = msg_map_get(req->args, "step")) && !msg_get_u64(req->args, "step", &q->step)) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "step: expected a uint (ns)");
		return -1;
	}
	if (q->since > q->until) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "since is after until");
		return -1;
	}
	if (q->step && q->step < 1000000) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "step: at least 1 ms");
		return -1;
	}
	if (msg_map_get(req->args, "agg") && !msg_get_str(req->args, "agg", agg, sizeof agg)) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "agg: expected avg, min, max, last or p95");
		return -1;
	}
	for (q->agg = AGG_AVG; q->agg <= AGG_P95; q->agg++)
		if (strcmp(agg, agg_names[q->agg]) == 0)
			return 0;
	conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "agg: expected avg, min, max, last or p95, got %s", agg);
	return -1;
}

static void query_exec(struct conn *c, const struct msg_request *req)
{
	struct query *q = req_stream_new(c, req, sizeof *q, &query_ops);
	if (!q)
		return;
	if (req_parse_selectors(c, req, q->sels, &q->nsels) < 0 || parse_range(c, req, q) < 0) {
		free(q);
		return;
	}
	next_pass(q);
	conn_add_stream(c, &q->base);
	conn_pump(c);
}

const struct req_entry req_query = { PROTO_OP_QUERY, 0, query_exec };
