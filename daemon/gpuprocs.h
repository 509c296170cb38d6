/*
 * Who is using the GPUs: one process-wide table of per-process GPU use,
 * (pid, start time) -> memory and busy share on each GPU, with two writers
 * and many readers.
 *
 *   GPU thread    gpuprocs_refresh_nvml(), about once a second: NVML's
 *                 compute and graphics processes of each device, with the
 *                 memory each holds (NVIDIA's driver has no DRM stats).
 *   procs thread  gpuprocs_drm_tick(), every tracked tick (it reads at most
 *                 once a second): the DRM fdinfo usage stats (amdgpu, i915,
 *                 xe, ...) of the tracked processes, memory and engine busy
 *                 share.  Only when the machine has a render node whose
 *                 driver can export them; otherwise it never reads a file.
 *   readers       gpuprocs_fill_record() (every proc record: top, get,
 *                 watch, the ring), gpuprocs_lookup() (run accounting),
 *                 gpuprocs_items() (status).
 *
 * A process is its pid and start time, so a reused pid never shows the
 * GPU memory of the process that had it before.  NVML names processes by
 * pid only: their start time is read from /proc/PID/stat when they are
 * listed.  Each writer replaces what it said before (a process that freed
 * its GPU memory drops out at the next refresh), and an entry that is not
 * refreshed for 3 s, or three of its writer's intervals when those are
 * longer, expires: a stopped writer cannot leave stale readings behind.
 *
 * The table is a singleton, like the log: gpuprocs_init() at start-up,
 * gpuprocs_shutdown() after both writer threads have stopped.  Readers may
 * call in before init (or without it, as unit tests do): the table is then
 * empty and they cost one atomic load.
 */
#ifndef RMON_GPUPROCS_H
#define RMON_GPUPROCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collect.h"
#include "procgpu.h"
#include "proctab.h"
#include "schema.h"

struct nvml;

#define GPUPROCS_START_UNKNOWN UINT64_MAX  /* NVML pid whose start time could not be read */

enum gpuprocs_source { GPUPROCS_NVML, GPUPROCS_DRM };

/* One process on one GPU, as one writer last saw it. */
struct gpuprocs_item {
	int32_t pid;
	uint64_t start_ticks;              /* or GPUPROCS_START_UNKNOWN */
	enum gpuprocs_source source;
	int nvml_index;                    /* NVML: the device index (the gpu:N key); DRM: -1 */
	char dev[PROCGPU_DEV_ID_MAX];      /* DRM: the PCI address (else the driver); NVML: "" */
	char driver[PROCGPU_DRIVER_MAX];   /* "nvidia", "amdgpu", ... */
	uint64_t mem_bytes;
	double busy_pct;
	bool have_mem, have_busy;
	uint64_t updated_ns, ttl_ns;       /* CLOCK_MONOTONIC */
};

/* One process over every GPU. */
struct gpuprocs_usage {
	uint64_t mem_bytes;                /* summed */
	double busy_pct;                   /* the busiest GPU */
	bool have_mem, have_busy;
	unsigned gpus;                     /* items found */
};

/* Where to read /proc (and /sys, to find DRM devices): env's roots, which
 * must stay open until gpuprocs_shutdown(). */
void gpuprocs_init(const struct collect_env *env);
void gpuprocs_shutdown(void);

/*
 * GPU thread: NVML's process lists of devices 0..ndev-1 at now_mono_ns,
 * except those whose bit is set in skip (sleeping or lost: asking would
 * wake them, or wait on them).  A device skipped or whose list fails keeps
 * its entries until they expire.  When counts is not NULL, counts[i]
 * receives device i's number of processes (the gpu record's `processes`),
 * or -1 when it was skipped or its list failed.  Returns the number of
 * processes listed, or -EIO when every device asked failed.
 */
int gpuprocs_refresh_nvml(struct nvml *nv, unsigned ndev, uint64_t skip, uint64_t now_mono_ns,
                          int *counts);

/* procs thread, each tracked tick: the DRM usage of the processes pids
 * (their proc_info from pt), read when a second has passed since the last
 * reading. */
void gpuprocs_drm_tick(const struct proctab *pt, const int32_t *pids, unsigned n,
                       uint64_t now_mono_ns);

/* A process's GPU use at now_mono_ns; false when no live entry has it. */
bool gpuprocs_lookup(int32_t pid, uint64_t start_ticks, uint64_t now_mono_ns,
                     struct gpuprocs_usage *out);

/* Set a proc record's gpu_mem_bytes and gpu_busy_pct when there is a
 * reading (left absent otherwise: no GPU is not zero GPU). */
void gpuprocs_fill_record(struct rm_rec *r, int32_t pid, uint64_t start_ticks);

/* Every live entry, malloc'd (the caller frees); the count. */
unsigned gpuprocs_items(struct gpuprocs_item **out, uint64_t now_mono_ns);

/* The drivers whose fdinfo is read ("amdgpu,i915"), "" when none. */
void gpuprocs_drm_drivers(char *buf, size_t len);

#endif
