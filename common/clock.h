/* Clocks in nanoseconds: CLOCK_MONOTONIC for intervals and rates,
 * CLOCK_REALTIME for the timestamps people see. */
#ifndef RMON_CLOCK_H
#define RMON_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t clock_mono_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
static inline uint64_t clock_rt_ns(void) { return clock_ns(CLOCK_REALTIME); }

#endif
