/* top: the process table as of the last scan, sorted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "req.h"
#include "rmond.h"

enum top_sort { TOP_CPU, TOP_MEM, TOP_IO };

static enum top_sort sort_key;

static double key_of(const struct proc_snap *s)
{
	switch (sort_key) {
	case TOP_MEM: return (double)s->info.rss;
	case TOP_IO: return s->info.read_bps + s->info.write_bps;
	default: return s->info.cpu_pct;
	}
}

static int cmp_desc(const void *a, const void *b)
{
	double x = key_of(a), y = key_of(b);
	if (x != y)
		return (x < y) - (x > y);
	return ((const struct proc_snap *)a)->info.pid - ((const struct proc_snap *)b)->info.pid;
}

static int parse_top(struct conn *c, const struct msg_request *req, uint64_t *n)
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
		sort_key = TOP_CPU;
	else if (strcmp(sort, "mem") == 0)
		sort_key = TOP_MEM;
	else if (strcmp(sort, "io") == 0)
		sort_key = TOP_IO;
	else {
		conn_send_error(c, req->id, PROTO_ERR_BAD_ARGS, "sort: expected cpu, mem or io");
		return -1;
	}
	return 0;
}

static void top_exec(struct conn *c, const struct msg_request *req)
{
	uint64_t n, ts;
	struct proc_snap *snap;
	if (parse_top(c, req, &n) < 0)
		return;
	if (!the_rmond.procs) {
		conn_send_error(c, req->id, PROTO_ERR_INTERNAL, "process tracking is not available on this machine");
		return;
	}
	unsigned count = procs_snapshot(the_rmond.procs, &snap, &ts);
	qsort(snap, count, sizeof *snap, cmp_desc);
	uint32_t rows = count < n ? count : (uint32_t)n;
	struct reply r;
	struct rm_rec rec;
	reply_begin(&r);
	msg_pack_ok(&r.pk, req->id);
	msgpack_pack_map(&r.pk, 3);
	msg_pack_kv_u64(&r.pk, "ts", ts);
	msg_pack_kv_u64(&r.pk, "processes", count);
	msg_pack_str(&r.pk, "procs");
	msgpack_pack_array(&r.pk, rows);
	for (uint32_t i = 0; i < rows; i++) {
		req_snap_record(&snap[i], ts, &rec);
		req_pack_proc(&r.pk, c, &rec, &snap[i]);
	}
	reply_send(c, &r, req->id);
	free(snap);
}

const struct req_entry req_top = { PROTO_OP_TOP, 0, top_exec };
