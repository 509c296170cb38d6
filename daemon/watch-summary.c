#include "watch-summary.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "msg.h"
#include "req/req.h"
#include "rmond.h"

void watch_totals_init(struct watch_totals *t, uint64_t start_ns)
{
	memset(t, 0, sizeof *t);
	t->start_ns = start_ns;
	t->thr_min = UINT32_MAX;
}

static double field(const struct rm_rec *r, int f)
{
	return rec_has(r, f) ? r->v[f] : 0;
}

void watch_totals_of(const struct rm_rec *procs, unsigned n, struct watch_totals *now)
{
	memset(now, 0, sizeof *now);
	for (unsigned i = 0; i < n; i++) {
		const struct rm_rec *r = &procs[i];
		now->cpu += field(r, RM_PROC_CPU);
		now->user += field(r, RM_PROC_USER);
		now->sys += field(r, RM_PROC_SYSTEM);
		now->read_bps += field(r, RM_PROC_READ_BPS);
		now->write_bps += field(r, RM_PROC_WRITE_BPS);
		now->rss += (uint64_t)field(r, RM_PROC_RSS);
		now->pss += (uint64_t)field(r, RM_PROC_PSS);
		now->threads += (unsigned)field(r, RM_PROC_THREADS);
		if (rec_has(r, RM_PROC_GPU_MEM)) {
			now->gpu_mem += (uint64_t)r->v[RM_PROC_GPU_MEM];
			now->have_gpu = true;
		}
	}
	now->processes = n;
}

void watch_totals_add(struct watch_totals *acc, const struct watch_totals *now, uint64_t ts)
{
	if (acc->last_ts && ts > acc->last_ts) {
		double dt = (double)(ts - acc->last_ts) / 1e9;
		acc->read_bytes += now->read_bps * dt;
		acc->write_bytes += now->write_bps * dt;
	}
	acc->last_ts = ts;
	acc->samples++;
	acc->sum_cpu += now->cpu;
	acc->peak_cpu = fmax(acc->peak_cpu, now->cpu);
	acc->peak_rss = now->rss > acc->peak_rss ? now->rss : acc->peak_rss;
	acc->peak_pss = now->pss > acc->peak_pss ? now->pss : acc->peak_pss;
	if (now->have_gpu) {
		if (now->gpu_mem > acc->peak_gpu_mem)
			acc->peak_gpu_mem = now->gpu_mem;
		acc->have_peak_gpu = true;
	}
	if (now->threads < acc->thr_min)
		acc->thr_min = now->threads;
	if (now->threads > acc->thr_max)
		acc->thr_max = now->threads;
}

void watch_totals_pack(msgpack_packer *pk, const struct watch_totals *now)
{
	msgpack_pack_map(pk, 9 + (now->have_gpu ? 1u : 0u));
	msg_pack_kv_f64(pk, "cpu_pct", now->cpu);
	msg_pack_kv_f64(pk, "user_pct", now->user);
	msg_pack_kv_f64(pk, "system_pct", now->sys);
	msg_pack_kv_u64(pk, "rss_bytes", now->rss);
	msg_pack_kv_u64(pk, "pss_bytes", now->pss);
	msg_pack_kv_f64(pk, "read_bps", now->read_bps);
	msg_pack_kv_f64(pk, "write_bps", now->write_bps);
	msg_pack_kv_u64(pk, "threads", now->threads);
	msg_pack_kv_u64(pk, "processes", now->processes);
	if (now->have_gpu)
		msg_pack_kv_u64(pk, "gpu_mem_bytes", now->gpu_mem);
}

/* Mean of one field over [t0, t1] in a lane, records of one key; NAN when
 * there is none. */
static double lane_mean(enum rm_kind kind, const char *key, int f, uint64_t t0, uint64_t t1)
{
	int lane = req_lane(kind);
	if (lane < 0)
		return NAN;
	struct ring *ring = the_rmond.ring;
	uint64_t head = ring_head(ring, (unsigned)lane);
	double sum = 0;
	unsigned n = 0;
	struct rm_rec r;
	for (uint64_t i = ring_seek_time(ring, (unsigned)lane, t0); i < head; i++) {
		if (ring_read(ring, (unsigned)lane, i, &r) < 0)
			continue;
		if (r.ts_ns > t1)
			break;
		if (strncmp(r.key, key, sizeof r.key) == 0 && rec_has(&r, f)) {
			sum += r.v[f];
			n++;
		}
	}
	return n ? sum / n : NAN;
}

const char *run_verdict(const struct run_evidence *e, char *evidence, size_t len)
{
	double util = e->duration_s > 0 && e->ncpus ?
	              e->cpu_s / (e->duration_s * e->ncpus) * 100.0 : 0;
	double io = fmax(isnan(e->psi_io) ? 0 : e->psi_io, isnan(e->iowait_pct) ? 0 : e->iowait_pct);
	double mem = isnan(e->psi_mem) ? 0 : e->psi_mem;
	double cpu_psi = isnan(e->psi_cpu) ? 0 : e->psi_cpu;
	double busy = isnan(e->busy_pct) ? util : e->busy_pct;
	int n = snprintf(evidence, len,
	                 "used %.0f%% of %u CPUs (machine busy %.0f%%); pressure: cpu %.1f%%, "
	                 "io %.1f%%, memory %.1f%%; iowait %.1f%%",
	                 util, e->ncpus, busy, cpu_psi, isnan(e->psi_io) ? 0 : e->psi_io, mem,
	                 isnan(e->iowait_pct) ? 0 : e->iowait_pct);
	if (!isnan(e->gpu_util) && n > 0 && (size_t)n < len)
		snprintf(evidence + n, len - (size_t)n, "; GPU busy %.0f%%", e->gpu_util);
	if (!isnan(e->gpu_util) && e->gpu_util >= 70)
		return "gpu-bound";
	if (mem >= 10)
		return "memory-bound";
	if (io >= 20)
		return "io-bound";
	if (util >= 70 || (busy >= 85 && cpu_psi >= 10))
		return "cpu-bound";
	if (util < 10 && busy < 20 && io < 5)
		return "idle";
	return "mixed";
}

static void pack_categories(msgpack_packer *pk, const struct run_acct *run)
{
	msg_pack_str(pk, "categories");
	msgpack_pack_array(pk, run->ncats);
	for (unsigned i = 0; i < run->ncats; i++) {
		msgpack_pack_map(pk, 4 + (run->cats[i].have_gpu_mem ? 1u : 0u));
		msg_pack_kv_str(pk, "name", run->cats[i].name);
		msg_pack_kv_u64(pk, "processes", run->cats[i].processes);
		msg_pack_kv_f64(pk, "cpu_s", run->cats[i].cpu_s);
		msg_pack_kv_u64(pk, "peak_rss_bytes", run->cats[i].peak_rss);
		if (run->cats[i].have_gpu_mem)
			msg_pack_kv_u64(pk, "peak_gpu_mem_bytes", run->cats[i].peak_gpu_mem);
	}
}

/* The mean utilisation of the busiest GPU over the run, when one of the
 * run's processes held GPU memory (a GPU busy with someone else's work is
 * not this run's bottleneck); NAN otherwise. */
static double run_gpu_util(const struct run_acct *run, uint64_t end)
{
	double best = NAN;
	unsigned n = run->have_gpu_mem ? gpu_devices(the_rmond.gpu) : 0;
	for (unsigned i = 0; i < n; i++) {
		char key[16];
		snprintf(key, sizeof key, "%u", i);
		double u = lane_mean(RM_KIND_GPU, key, RM_GPU_UTIL, run->start_rt_ns, end);
		if (!isnan(u) && (isnan(best) || u > best))
			best = u;
	}
	return best;
}

static void pack_run(msgpack_packer *pk, const struct run_acct *run, const char *label)
{
	uint64_t end = run->end_rt_ns ? run->end_rt_ns : clock_rt_ns();
	struct run_evidence e = {
		(double)(end - run->start_rt_ns) / 1e9, run->cpu_s,
		(unsigned)sysconf(_SC_NPROCESSORS_ONLN),
		lane_mean(RM_KIND_CPU, "all", RM_CPU_BUSY, run->start_rt_ns, end),
		lane_mean(RM_KIND_CPU, "all", RM_CPU_IOWAIT, run->start_rt_ns, end),
		lane_mean(RM_KIND_SYSTEM, "", RM_SYS_PSI_CPU_SOME_RATE, run->start_rt_ns, end),
		lane_mean(RM_KIND_SYSTEM, "", RM_SYS_PSI_IO_SOME_RATE, run->start_rt_ns, end),
		lane_mean(RM_KIND_SYSTEM, "", RM_SYS_PSI_MEM_SOME_RATE, run->start_rt_ns, end),
		run_gpu_util(run, end),
	};
	char evidence[256];
	const char *verdict = run_verdict(&e, evidence, sizeof evidence);
	msg_pack_str(pk, "run");
	msgpack_pack_map(pk, 14 + (run->have_gpu_mem ? 1u : 0u) + (isnan(e.gpu_util) ? 0u : 1u));
	msg_pack_kv_u64(pk, "run_id", run->run_id);
	msg_pack_kv_str(pk, "label", label);
	msg_pack_kv_u64(pk, "start_ns", run->start_rt_ns);
	msg_pack_kv_u64(pk, "end_ns", end);
	msg_pack_kv_u64(pk, "processes", run->processes);
	msg_pack_kv_f64(pk, "cpu_s", run->cpu_s);
	msg_pack_kv_u64(pk, "peak_rss_bytes", run->peak_rss);
	msg_pack_kv_u64(pk, "peak_pss_bytes", run->peak_pss);
	if (run->have_gpu_mem)
		msg_pack_kv_u64(pk, "peak_gpu_mem_bytes", run->peak_gpu_mem);
	pack_categories(pk, run);
	msg_pack_str(pk, "pressure");
	msgpack_pack_map(pk, 3);
	msg_pack_kv_f64(pk, "cpu_some_avg", isnan(e.psi_cpu) ? 0 : e.psi_cpu);
	msg_pack_kv_f64(pk, "io_some_avg", isnan(e.psi_io) ? 0 : e.psi_io);
	msg_pack_kv_f64(pk, "mem_some_avg", isnan(e.psi_mem) ? 0 : e.psi_mem);
	msg_pack_kv_f64(pk, "iowait_pct", isnan(e.iowait_pct) ? 0 : e.iowait_pct);
	msg_pack_kv_f64(pk, "cpu_util_pct", e.duration_s > 0 && e.ncpus ?
	                e.cpu_s / (e.duration_s * e.ncpus) * 100.0 : 0);
	if (!isnan(e.gpu_util))
		msg_pack_kv_f64(pk, "gpu_util_pct", e.gpu_util);
	msg_pack_kv_str(pk, "verdict", verdict);
	msg_pack_kv_str(pk, "evidence", evidence);
}

void watch_summary_pack(msgpack_packer *pk, const char *reason, const struct watch_totals *t,
                        const struct run_acct *run, const char *label)
{
	uint64_t end = t->last_ts ? t->last_ts : clock_rt_ns();
	msgpack_pack_map(pk, 8 + (run ? 1u : 0u));
	msg_pack_kv_str(pk, "reason", reason);
	msg_pack_kv_f64(pk, "duration_s", end > t->start_ns ? (double)(end - t->start_ns) / 1e9 : 0);
	msg_pack_kv_u64(pk, "samples", t->samples);
	msg_pack_str(pk, "peak");
	msgpack_pack_map(pk, 4 + (t->have_peak_gpu ? 1u : 0u));
	msg_pack_kv_f64(pk, "cpu_pct", t->peak_cpu);
	msg_pack_kv_u64(pk, "rss_bytes", t->peak_rss);
	msg_pack_kv_u64(pk, "pss_bytes", t->peak_pss);
	msg_pack_kv_u64(pk, "threads", t->thr_max);
	if (t->have_peak_gpu)
		msg_pack_kv_u64(pk, "gpu_mem_bytes", t->peak_gpu_mem);
	msg_pack_str(pk, "avg");
	msgpack_pack_map(pk, 1);
	msg_pack_kv_f64(pk, "cpu_pct", t->samples ? t->sum_cpu / (double)t->samples : 0);
	msg_pack_str(pk, "io");
	msgpack_pack_map(pk, 2);
	msg_pack_kv_u64(pk, "read_bytes", (uint64_t)t->read_bytes);
	msg_pack_kv_u64(pk, "write_bytes", (uint64_t)t->write_bytes);
	msg_pack_kv_u64(pk, "threads_min", t->samples ? t->thr_min : 0);
	msg_pack_kv_u64(pk, "threads_max", t->thr_max);
	if (run)
		pack_run(pk, run, label);
}
