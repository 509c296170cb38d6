/*
 * The procs thread: the process table (every process, every scan_interval),
 * the tracked processes and their threads (every tracked_interval), and the
 * kernel's process events.  It is the single writer of the proc and thread
 * lanes.
 *
 * Tracked = the members of every watch (the pids asked for, and with
 * `children` their descendants, present and future), the processes that a
 * classification rule puts in a category, and the top N by CPU and by
 * memory.
 *
 * The loop thread registers watches and reads what the procs thread
 * publishes (a snapshot of the table, each watch's members, exits and run
 * accounting) under one mutex, held briefly on both sides.
 */
#ifndef RMON_PROCS_H
#define RMON_PROCS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "classify.h"
#include "collect.h"
#include "proctab.h"
#include "ring.h"

#define WATCH_PIDS_MAX 64
#define RUN_CATEGORIES_MAX 32

struct procs;

struct procs_opts {
	uint64_t scan_ns, tracked_ns, pss_ns;
	unsigned top_n;
	unsigned max_watches;
	unsigned quiet_thread_pct;     /* proctab_set_quiet_pct */
};

/* What the loop sees of a process: the table entry and its category. */
struct proc_snap {
	struct proc_info info;
	char category[CLASSIFY_NAME_MAX];
	bool tracked;
};

struct watch_spec {
	int32_t pids[WATCH_PIDS_MAX];
	unsigned npids;
	bool children, threads, run;
	char label[256];
};

struct run_category {
	char name[CLASSIFY_NAME_MAX];
	unsigned processes;
	double cpu_s;
	uint64_t peak_rss;      /* peak of the category's summed RSS */
	uint64_t peak_gpu_mem;  /* peak of its summed GPU memory, when have_gpu_mem */
	bool have_gpu_mem;      /* one of its processes had a GPU memory reading */
};

struct run_acct {
	uint64_t run_id;
	uint64_t start_rt_ns, end_rt_ns;
	unsigned processes;          /* every process of the run, short-lived included */
	double cpu_s;
	uint64_t peak_rss, peak_pss; /* peaks of the summed RSS / PSS */
	uint64_t peak_gpu_mem;       /* peak of the summed GPU memory, when have_gpu_mem */
	bool have_gpu_mem;
	struct run_category cats[RUN_CATEGORIES_MAX];
	unsigned ncats;
};

struct watch_exit {
	int32_t pid;
	int32_t status;              /* wait status, or -1 when unknown */
	char comm[PROC_COMM_MAX];
};

/* A watch's state, copied out for the loop. */
struct watch_view {
	int32_t *members;            /* live members (malloc'd; the caller frees) */
	unsigned nmembers;
	struct watch_exit *exits;    /* exits since the previous view (malloc'd) */
	unsigned nexits;
	int32_t *all;                /* runs: every member, alive or not (malloc'd) */
	unsigned nall;
	bool ended;                  /* every member has exited */
	bool events;                 /* fork/exit seen through kernel events */
	struct run_acct run;
};

int procs_open(struct procs **out, const struct collect_env *env, const struct procs_opts *o,
               const struct classifier *cls);
int procs_start(struct procs *p, struct ring *ring, void (*on_tick)(void *), void *arg);
void procs_stop(struct procs *p);
void procs_close(struct procs *p);

/* Reload, loop thread.  New intervals, top_n, max_watches and
 * quiet_thread_pct: the thread takes them up at once (its wait ends and
 * the tracked grid restarts from now).  */
void procs_set_opts(struct procs *p, const struct procs_opts *o);
/* Swap *cls with the rules the thread classifies by (the classifier given
 * to procs_open), under the lock the thread classifies under: afterwards
 * *cls holds the old rules, which no one uses any more, for the caller to
 * free.  The next scan classifies every process anew. */
void procs_swap_classifier(struct procs *p, struct classifier *cls);

/* Loop thread. */
int procs_watch_add(struct procs *p, const struct watch_spec *spec, uint32_t *id, uint64_t *run_id);
void procs_watch_remove(struct procs *p, uint32_t id);
int procs_watch_view(struct procs *p, uint32_t id, struct watch_view *out);
void watch_view_free(struct watch_view *v);

/* A copy of the table as of the last scan (+ tracked updates), malloc'd. */
unsigned procs_snapshot(struct procs *p, struct proc_snap **out, uint64_t *ts_ns);
/* When the snapshot was taken (CLOCK_REALTIME ns). */
uint64_t procs_snapshot_time(struct procs *p);
/* One process's snapshot entry; false when unknown. */
bool procs_lookup(struct procs *p, int32_t pid, struct proc_snap *out);

/* A process as a proc record: key pid, label comm, each field that the
 * table has a reading for. */
void procs_fill_record(struct rm_rec *r, const struct proc_info *in, uint64_t ts);

/* Chained to the host sampler: called at the end of each of its ticks,
 * it starts the tracked tick due by then at once, on the CPU the sampler
 * just woke, instead of on a timer of its own.  On a VM a thread's
 * wake-up from idle costs ~60 us of CPU, two threads woken one after the
 * other on one CPU ~15 us more (bench/RESULTS.md).  Cheap when nothing is
 * due; never blocks. */
void procs_kick(struct procs *p);
/* Chain (procs_kick) or not: only when every tracked tick falls on a
 * sampler tick (procs_chainable), else each due tick would wait for a
 * kick that does not come. */
void procs_set_chained(struct procs *p, bool on);
#define procs_chainable(cfg) \
	((cfg)->system_interval_ns && (cfg)->procs_tracked_interval_ns % (cfg)->system_interval_ns == 0)

/* Counters for status. */
struct procs_stats {
	uint64_t scans, tracked_ticks, missed;
	uint64_t last_tick_rt_ns;             /* the newest committed tracked tick */
	unsigned processes, tracked, watches;
	unsigned scan_read;                   /* processes the last scan read: the rest were idle */
	uint64_t scan_cpu_ns, tick_cpu_ns;   /* last scan, mean of the last 100 tracked ticks */
	bool events;                          /* kernel process events available */
	bool events_paused;                   /* ... but paused: no watch for a while */
	uint64_t events_lost;
};
void procs_get_stats(struct procs *p, struct procs_stats *out);

#endif
