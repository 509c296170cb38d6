/*
 * The GPU thread: samples every GPU on its own clock grid and is the single
 * writer of the gpu lane.  NVML calls take milliseconds and a sick GPU can
 * hang one for seconds, so they never run on the host sampler's thread nor
 * the loop's: a stalled GPU delays only GPU records.
 */
#ifndef RMON_GPU_H
#define RMON_GPU_H

#include <stdint.h>

#include "ring.h"

struct gpu;

struct gpu_stats {
	uint64_t ticks, missed, last_tick_ns;
	unsigned devices;
	uint64_t lost;          /* bit per device currently lost */
	uint64_t tick_wall_ns;  /* the last tick's wall time */
};

/* Load NVML from lib and count the devices.  0, or -errno when there is
 * no NVML (or no GPU): the daemon then runs without GPU records, and says
 * why in err. */
int gpu_open(struct gpu **out, const char *lib, uint64_t interval_ns, char *err, size_t errlen);
unsigned gpu_devices(const struct gpu *g);
int gpu_start(struct gpu *g, struct ring *ring, void (*on_tick)(void *), void *arg);
void gpu_stop(struct gpu *g);
void gpu_close(struct gpu *g);
void gpu_get_stats(struct gpu *g, struct gpu_stats *out);

#endif
