/* Private to procs.c and procs-watch.c. */
#ifndef RMON_PROCS_INT_H
#define RMON_PROCS_INT_H

#include <stdatomic.h>

#include "procevents.h"
#include "procs.h"

struct member {
	int32_t pid;
	bool alive;
	bool classified;
	char category[CLASSIFY_NAME_MAX];
	double cpu_s;        /* last known CPU time (exact at exit with accounting) */
	uint64_t rss, pss;   /* last sample */
	uint64_t gpu_mem;    /* last GPU memory reading, when have_gpu */
	bool have_gpu;
};

struct watch {
	uint32_t id;         /* 0: free slot */
	struct watch_spec spec;
	struct member *m;
	unsigned nm, capm;
	struct watch_exit *exits;
	unsigned nexits, capexits;
	bool ended;
	struct run_acct run;
};

struct procs {
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;          /* guards everything below marked (L) */
	pthread_cond_t cond;
	bool stop;                     /* (L) */
	bool new_opts;                 /* (L) procs_set_opts gave new_o: take it up */
	struct procs_opts new_o;       /* (L) */
	bool reclassify;               /* (L) the rules changed: classify every entry anew */
	int wake[2];                   /* self-pipe: procs_stop wakes the thread's poll */
	/* Chained to the host sampler (procs_kick): the tick due at due_ns
	 * runs when the sampler's tick ends, or at due_ns + PROCS_CHAIN_GRACE_NS */
	_Atomic bool chained;
	_Atomic uint64_t due_ns;       /* 0: none due (ticking, or stopping) */
	_Atomic bool kicked;           /* this due has been kicked */

	struct procs_opts o;
	struct collect_env env;
	const struct classifier *cls;
	struct proctab *pt;
	struct procevents *pe;
	uint64_t events_idle_since;    /* (L) mono ns: no watch since; 0: a watch exists */
	struct ring *ring;
	int lane_proc, lane_thread;
	void (*on_tick)(void *);
	void *on_tick_arg;

	struct watch *watches;         /* (L) */
	unsigned nwatches, capwatches; /* (L) */
	uint32_t next_watch_id;        /* (L) */
	uint64_t next_run_id;          /* (L) */

	struct proc_snap *snap;        /* (L) sorted by pid */
	unsigned nsnap;                /* (L) */
	uint64_t snap_ts;              /* (L) */
	struct procs_stats stats;      /* (L) */

	/* procs thread only */
#define PROCS_COST_TICKS 100
	uint64_t cost[PROCS_COST_TICKS];   /* the last ticks' CPU ns, a ring */
	uint64_t cost_sum;
	unsigned cost_at, cost_n;
	int32_t *tracked;
	unsigned ntracked, captracked;
	uint64_t tick_rt_ns;
	struct rm_rec rec;
};

/* Kernel process events are read at most this often (wait_tick). */
#define PROCS_EVENT_BATCH_NS (10 * 1000000ull)

/* Chained, a due tick waits this long past its deadline for the
 * sampler's kick before it runs on its own (a slow or stopped sampler). */
#define PROCS_CHAIN_GRACE_NS (20 * 1000000ull)

/* Kernel process events are paused after this long without a watch. */
#define PROCS_EVENTS_IDLE_NS (10 * 1000000000ull)

/* procs-watch.c, called with the lock held by the procs thread. */
void procs__on_event(struct procs *p, const struct proc_ev *ev);
void procs__events_idle(struct procs *p, uint64_t now);
void procs__adopt_children(struct procs *p);
void procs__account(struct procs *p);
void procs__member_gone(struct procs *p, int32_t pid);
void procs__track_add(struct procs *p, int32_t pid);
/* Append the live members of every watch to p->tracked. */
void procs__watched_pids(struct procs *p);
struct proc_snap *procs__snap_find(struct procs *p, int32_t pid);
int procs__push_tracked(struct procs *p, int32_t pid);

#endif
