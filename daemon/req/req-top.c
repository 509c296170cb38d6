/* top: the process table as of the last scan, sorted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "gpuprocs.h"
#include "req.h"
#include "rmond.h"

enum top_sort { TOP_CPU, TOP_MEM, TOP_IO, TOP_GPU };

/* A row's sort key, worked out once: GPU memory is a lookup, not a field
 * of the snapshot. */
struct row {
	double key;
	int32_t pid;
	unsigned idx;
};

static double key_of(enum top_sort sort, const struct proc_snap *s, uint64_t now)
{
	struct gpuprocs_usage u;
	switch (sort) {
	case TOP_MEM: return (double)s->info.rss;
	case TOP_IO: return s->info.read_bps + s->info.write_bps;
	case TOP_GPU:   /* processes without a GPU reading sort last */
		return gpuprocs_lookup(s->info.pid, s->info.start_ticks, now, &u) && u.have_mem ?
		       (double)u.mem_bytes : -1;
	default: return s->info.cpu_pct;
	}
}

static int cmp_desc(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->key != y->key)
		return (x->key < y->key) - (x->key > y->key);
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int parse_top(struct conn *c, const struct msg_request *req, uint64_t *n,
                     enum top_sort *sort_key)
{
	char sort[8] = "cpu";
	*n = 20;
	if (msg_map_get(req->args, "n") && (!msg_get_u64(req->args, "n", n) || *n < 1 || *n > 1000)) {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "n: expected 1 to 1000");
		return -1;
	}
	if (msg_map_get(req->args, "sort") && !msg_get_str(req->args, "sort", sort, sizeof sort))
		sort[0] = '\0';
	if (strcmp(sort, "cpu") == 0)
		*sort_key = TOP_CPU;
	else if (strcmp(sort, "mem") == 0)
		*sort_key = TOP_MEM;
	else if (strcmp(sort, "io") == 0)
		*sort_key = TOP_IO;
	else if (strcmp(sort, "gpu") == 0)
		*sort_key = TOP_GPU;
	else {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "sort: expected cpu, mem, io or gpu");
		return -1;
	}
	return 0;
}

static void top_exec(struct conn *c, const struct msg_request *req)
{
	uint64_t n, ts;
	enum top_sort sort;
	struct proc_snap *snap;
	if (parse_top(c, req, &n, &sort) < 0)
		return;
	if (!the_rmond.procs) {
		conn_send_error(c, req->id, PROTO_ERR_INTERNAL, "process tracking is not available on this machine");
		return;
	}
	unsigned count = procs_snapshot(the_rmond.procs, &snap, &ts);
	struct row *rows = malloc((count ? count : 1) * sizeof *rows);
	if (!rows) {
		free(snap);
		conn_send_error(c, req->id, PROTO_ERR_INTERNAL, "out of memory");
		return;
	}
	uint64_t now = clock_mono_ns();
	for (unsigned i = 0; i < count; i++)
		rows[i] = (struct row){ key_of(sort, &snap[i], now), snap[i].info.pid, i };
	qsort(rows, count, sizeof *rows, cmp_desc);
	uint32_t nrows = count < n ? count : (uint32_t)n;
	struct reply r;
	struct rm_rec rec;
	reply_begin(&r);
	msg_pack_ok(&r.pk, req->id);
	msgpack_pack_map(&r.pk, 3);
	msg_pack_kv_u64(&r.pk, "ts", ts);
	msg_pack_kv_u64(&r.pk, "processes", count);
	msg_pack_str(&r.pk, "procs");
	msgpack_pack_array(&r.pk, nrows);
	for (uint32_t i = 0; i < nrows; i++) {
		const struct proc_snap *s = &snap[rows[i].idx];
		req_snap_record(s, ts, &rec);
		req_pack_proc(&r.pk, c, &rec, s);
	}
	reply_send(c, &r, req->id);
	free(rows);
	free(snap);
}

const struct req_entry req_top = { PROTO_OP_TOP, 0, top_exec };
