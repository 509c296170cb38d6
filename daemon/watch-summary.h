/*
 * What a watch adds up: the totals of each sample (summed over the watched
 * processes), the running peaks and averages, and at the end the summary,
 * with, for runs, the accounting per category and a verdict on the
 * bottleneck drawn from the system lanes over the run's time.
 */
#ifndef RMON_WATCH_SUMMARY_H
#define RMON_WATCH_SUMMARY_H

#include <msgpack.h>

#include "procs.h"
#include "schema.h"

struct watch_totals {
	/* one sample */
	double cpu, user, sys, read_bps, write_bps;
	uint64_t rss, pss;
	uint64_t gpu_mem;           /* summed over the processes with a reading */
	bool have_gpu;              /* one of them had one: else no GPU figures at all */
	unsigned threads, processes;
	/* accumulated */
	uint64_t start_ns, last_ts;
	uint64_t samples;
	double peak_cpu, sum_cpu;
	uint64_t peak_rss, peak_pss;
	uint64_t peak_gpu_mem;
	bool have_peak_gpu;
	unsigned thr_min, thr_max;
	double read_bytes, write_bytes;
};

void watch_totals_init(struct watch_totals *t, uint64_t start_ns);
/* The totals of one sample's proc records. */
void watch_totals_of(const struct rm_rec *procs, unsigned n, struct watch_totals *now);
/* Fold one sample into the running figures. */
void watch_totals_add(struct watch_totals *acc, const struct watch_totals *now, uint64_t ts);
/* A sample's "total" map. */
void watch_totals_pack(msgpack_packer *pk, const struct watch_totals *now);
/* The final reply's result. */
void watch_summary_pack(msgpack_packer *pk, const char *reason, const struct watch_totals *t,
                        const struct run_acct *run, const char *label);

/* The verdict from figures (pure, for tests). */
struct run_evidence {
	double duration_s, cpu_s;
	unsigned ncpus;
	double busy_pct, iowait_pct;            /* cpu:all averages, or NAN */
	double psi_cpu, psi_io, psi_mem;        /* some stall %, averages, or NAN */
	double gpu_util;                        /* the busiest GPU the run used, mean util %;
	                                           NAN when it used none rmon sees */
};
const char *run_verdict(const struct run_evidence *e, char *evidence, size_t len);

#endif
