/*
 * The host sampler: a thread that runs the platform's collectors on a
 * drift-free clock grid (absolute deadlines on CLOCK_MONOTONIC) and is the
 * single writer of the host lanes.  A tick that starts after its deadline
 * has passed by a whole interval is not run late: the deadlines it missed
 * are counted and the grid moves on, never silently shifted.
 */
#ifndef RMON_SAMPLER_H
#define RMON_SAMPLER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "collect.h"
#include "ring.h"

struct sampler_stats {
	uint64_t ticks;          /* ticks run */
	uint64_t missed;         /* deadlines skipped because a tick ran long */
	uint64_t late;           /* ticks started over half an interval late */
	uint64_t last_tick_ns;   /* CLOCK_REALTIME of the newest tick */
	uint64_t tick_cpu_ns;    /* mean thread CPU time of a tick, last 100 */
	uint64_t tick_wall_ns;   /* mean wall time of a tick, last 100 */
	uint32_t caps;           /* bit per enum collect_cap found on open */
};

struct sampler {
	pthread_t thread;
	int started;
	struct ring *ring;
	int lane[RM_KIND__COUNT];     /* ring lane per kind, -1: none */
	uint64_t interval_ns;
	struct collect_env env;
	void *state[16];              /* per collector, NULL: absent */
	unsigned ncoll;
	void (*on_tick)(void *arg);   /* called on the sampler thread after a commit */
	void *on_tick_arg;

	pthread_mutex_t lock;         /* guards stop, regrid, interval_ns writes + stats */
	pthread_cond_t cond;
	int stop;
	int regrid;                   /* interval_ns changed: re-align the grid */
	struct sampler_stats stats;
	uint64_t cpu_hist[100], wall_hist[100];
	uint64_t failing;             /* bit per collector in a failing state */
};

/* Open every collector (those whose source is missing stay off).  The
 * roots' dirfds in env stay owned by the caller. */
int sampler_open(struct sampler *s, const struct collect_env *env, uint64_t interval_ns);

/* Records per tick of each kind, measured by one baseline sample: the
 * ring sizes its lanes from it.  Call after open, before start. */
void sampler_count(struct sampler *s, unsigned counts[RM_KIND__COUNT]);

int sampler_start(struct sampler *s, struct ring *ring,
                  void (*on_tick)(void *), void *arg);

/* Ask the thread to stop, let it finish the tick in progress, join. */
void sampler_stop(struct sampler *s);

void sampler_close(struct sampler *s);

/* Run one tick on the caller's thread (tests and benchmarks). */
void sampler_tick(struct sampler *s);

void sampler_get_stats(struct sampler *s, struct sampler_stats *out);

/* A new interval (reload), taken up by the thread at once: the wait in
 * progress ends and the grid re-aligns to multiples of the new interval.
 * The loop thread is the only writer of interval_ns, so it may read it
 * without the lock. */
void sampler_set_interval(struct sampler *s, uint64_t interval_ns);

#endif
