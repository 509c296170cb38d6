/*
 * The GPU thread: samples every GPU on its own clock grid and is the single
 * writer of the gpu lane.  NVML calls take milliseconds and a sick GPU can
 * hang one for seconds, so they never run on the host sampler's thread nor
 * the loop's: a stalled GPU delays only GPU records.
 *
 * Two sources, one lane: NVIDIA GPUs through NVML take indices 0..n-1 in
 * NVML's order, then AMD cards through amdgpu sysfs take the next ones in
 * card order (a card found later, such as a plugged eGPU, gets the next
 * free index; a card that goes and comes back keeps its own).  Either
 * source may be missing: the thread runs when NVML is loaded or an amdgpu
 * card was found.  docs/gpu.md has the rules.
 */
#ifndef RMON_GPU_H
#define RMON_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ring.h"

#define GPU_MAX 64

struct gpu;

struct gpu_opts {
	const char *nvml_library;   /* gpu.nvidia.library; NULL or "": no NVML */
	int sysfd;                  /* sysfs root dirfd (duplicated); -1: no amdgpu */
	uint64_t interval_ns;
};

/* Where a device stands after the last tick. */
enum gpu_state {
	GPU_STATE_OK,          /* sampled */
	GPU_STATE_SLEEPING,    /* runtime-suspended: left alone (amdgpu) */
	GPU_STATE_LOST,        /* NVML: GPU is lost */
	GPU_STATE_GONE,        /* amdgpu: its sysfs device went away */
	GPU_STATE_FAILED,      /* no handle this tick (NVML) */
};

struct gpu_dev_info {
	unsigned index;          /* gpu:N */
	const char *driver;      /* "nvml" or "amdgpu" (static strings) */
	const char *vendor;      /* "NVIDIA" or "AMD" */
	char name[96];
	char pci[32];            /* "0000:03:00.0", "" until known */
	char uuid[96];           /* NVML UUID or amdgpu unique_id, may be "" */
	bool has_temp_crit;      /* amdgpu hwmon temp1_crit */
	double temp_crit_c;
	enum gpu_state state;
};

struct gpu_stats {
	uint64_t ticks, missed, last_tick_ns;
	unsigned devices;
	uint64_t lost;          /* bit per device currently lost or gone */
	uint64_t sleeping;      /* bit per device currently runtime-suspended */
	uint64_t tick_wall_ns;  /* the last tick's wall time */
	bool nvml;              /* NVML loaded */
	bool amdgpu;            /* an amdgpu card seen */
};

/* Open NVML (when o->nvml_library names one) and find the amdgpu cards
 * under o->sysfd.  0 when either source is there; -ENODEV when neither
 * is, with the reasons in err: the daemon then runs without GPU records. */
int gpu_open(struct gpu **out, const struct gpu_opts *o, char *err, size_t errlen);
unsigned gpu_devices(const struct gpu *g);
int gpu_start(struct gpu *g, struct ring *ring, void (*on_tick)(void *), void *arg);
void gpu_stop(struct gpu *g);
/* A new interval (reload): the thread re-aligns its grid at once.  NULL ok. */
void gpu_set_interval(struct gpu *g, uint64_t interval_ns);
void gpu_close(struct gpu *g);
void gpu_get_stats(struct gpu *g, struct gpu_stats *out);
/* Device i's identity and state: 0, or -ENOENT past the last device. */
int gpu_device_info(struct gpu *g, unsigned i, struct gpu_dev_info *out);
/* "ok", "sleeping", "lost", "gone", "failed". */
const char *gpu_state_name(enum gpu_state s);

#endif
