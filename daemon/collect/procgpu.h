/*
 * Per-process GPU use from the kernel's per-client GPU accounting: on
 * Linux, the DRM usage stats in /proc/PID/fdinfo of a process's
 * /dev/dri files (collect/linux/procgpu.c, amdgpu, i915, xe, msm,
 * panfrost, ...).  NVIDIA's proprietary driver has none: NVML gives its
 * per-process memory (gpuprocs.c).
 *
 * One reader belongs to one thread (the procs thread).  A reading is
 * costly (listing /proc/PID/fd and readlink of every fd), so the reader
 * keeps each process's DRM fd numbers and lists its fds again only every
 * few seconds, or at once when one of them no longer reads as a DRM file.
 */
#ifndef RMON_PROCGPU_H
#define RMON_PROCGPU_H

#include <stdbool.h>
#include <stdint.h>

#include "collect.h"

#define PROCGPU_DEVS_MAX   4
#define PROCGPU_DEV_ID_MAX 24
#define PROCGPU_DRIVER_MAX 24

/* One process on one GPU. */
struct procgpu_dev {
	char id[PROCGPU_DEV_ID_MAX];       /* PCI address ("0000:03:00.0"), else the driver name */
	char driver[PROCGPU_DRIVER_MAX];   /* "amdgpu", "i915", "xe", ... */
	uint64_t mem_bytes;                /* summed over the process's clients and regions */
	double busy_pct;                   /* the busiest engine, % of it */
	bool have_mem, have_busy;          /* busy needs two readings */
};

struct procgpu_usage {
	struct procgpu_dev dev[PROCGPU_DEVS_MAX];
	unsigned ndev;                     /* 0: the process has no GPU client with usage stats */
};

struct procgpu_stats {
	uint64_t listings;    /* /proc/PID/fd listings */
	uint64_t reads;       /* fdinfo files read */
	uint64_t malformed;   /* fdinfo lines skipped */
	uint64_t asleep;      /* fds not read: their GPU was runtime-suspended */
};

struct procgpu;

/* A reader over env's procfs and sysfs roots (kept, not owned).  -ENOENT
 * when the machine has no GPU whose driver can export usage stats (no DRM
 * render node, or only NVIDIA's): then there is nothing to read. */
int procgpu_open(const struct collect_env *env, struct procgpu **out);
void procgpu_close(struct procgpu *pg);
/* The drivers of the render nodes found, "amdgpu,i915" (for the log). */
const char *procgpu_drivers(const struct procgpu *pg);

/* Process pid (with start_ticks, its identity) at mono_ns.  0 with *out
 * filled (ndev 0 when it uses no GPU), -ESRCH when it is gone, -EACCES
 * when its fds may not be read (another user's process). */
int procgpu_read(struct procgpu *pg, int32_t pid, uint64_t start_ticks, uint64_t mono_ns,
                 struct procgpu_usage *out);
/* Forget the processes not read since the previous sweep. */
void procgpu_sweep(struct procgpu *pg);
void procgpu_get_stats(const struct procgpu *pg, struct procgpu_stats *out);

/* The start time (clock ticks since boot) of pid under procfd: what makes
 * a pid that a GPU driver names (NVML) one process.  0 or -errno. */
int procgpu_start_ticks(int procfd, int32_t pid, uint64_t *start_ticks);

#endif
