/*
 * The collector interface.  A collector is a table entry: open its sources
 * (keeping fds for pread), sample them each tick, close.  Platform code
 * lives in collect/<os>/ and each platform's platform.c lists its
 * collectors; nothing outside collect/<os>/ knows which OS it is on.
 */
#ifndef RMON_COLLECT_H
#define RMON_COLLECT_H

#include <stdint.h>

#include "schema.h"

/* Capability bits: which sources this machine has.  A collector whose
 * source is missing sets none, emits nothing, and status says so. */
#define COLLECT_CAPS(X)                                                     \
	X(CPU, "cpu", "per-CPU and total CPU time (/proc/stat)")           \
	X(LOADAVG, "loadavg", "load averages (/proc/loadavg)")             \
	X(MEMINFO, "meminfo", "memory (/proc/meminfo)")                     \
	X(VMSTAT, "vmstat", "paging and swapping rates (/proc/vmstat)")     \
	X(PSI, "psi", "pressure stall information (/proc/pressure)")       \
	X(DISK, "disk", "block device I/O (/proc/diskstats)")               \
	X(NET, "net", "network interfaces (/proc/net/dev)")                 \
	X(CPUFREQ, "cpufreq", "CPU frequency (/sys/devices/system/cpu/*/cpufreq)") \
	X(THERMAL, "thermal", "temperatures (/sys/class/thermal, /sys/class/hwmon)") \
	X(NVML, "nvml", "NVIDIA GPUs (NVML, gpu.nvidia.library)")           \
	X(AMDGPU, "amdgpu", "AMD GPUs (amdgpu sysfs, /sys/class/drm/card*)") \
	X(EGPU, "egpu", "GPU PCIe links and Thunderbolt/USB4 (/sys/bus/pci, /sys/bus/thunderbolt)")

enum collect_cap {
#define COLLECT_CAP_ENUM(ID, name, help) COLLECT_CAP_##ID,
	COLLECT_CAPS(COLLECT_CAP_ENUM)
#undef COLLECT_CAP_ENUM
	COLLECT_CAP__COUNT
};

struct collect_cap_desc {
	const char *name;
	const char *help;
};
extern const struct collect_cap_desc collect_caps[COLLECT_CAP__COUNT];

/* Where to read from: every path root is configurable so tests run on
 * fixture trees and a container can watch the host (/host/proc). */
struct collect_env {
	int procfd;          /* O_PATH|O_DIRECTORY fd of the procfs root */
	int sysfd;           /* same for sysfs */
	long clk_tck;        /* sysconf(_SC_CLK_TCK) */
};

/* One tick.  Collectors add fields to the shared system record and emit
 * keyed records (one per CPU, disk, interface...) through emit. */
struct collect_tick {
	uint64_t mono_ns;    /* CLOCK_MONOTONIC at the tick: rates use this */
	uint64_t rt_ns;      /* CLOCK_REALTIME: the records' timestamp */
	struct rm_rec *sys;  /* this tick's system record */
	void (*emit)(struct collect_tick *t, enum rm_kind kind, const struct rm_rec *r);
	void *emit_ctx;
};

struct collector {
	const char *name;
	enum collect_cap cap;
	/* Allocate state and open sources.  0, or -ENOENT when the source is
	 * absent on this machine (the collector is then skipped), or -errno. */
	int (*open)(const struct collect_env *env, void **state);
	/* Read and emit.  0, or -errno when the source failed this tick (the
	 * sampler logs state changes, not every failure). */
	int (*sample)(void *state, struct collect_tick *t);
	void (*close)(void *state);
};

/* This platform's collectors, in the order a tick runs them. */
extern const struct collector *const collect_platform[];
extern const unsigned collect_platform_count;

/* Is the PCI device bdf ("0000:3b:00.0") runtime-suspended, under the
 * sysfs root dirfd?  A query to its driver would wake it (NVML does, and
 * an open handle keeps it awake: laptops lose watts), so a sleeping GPU is
 * reported as such and left alone.  0 when awake, unknown or no runtime
 * PM (SOURCES §4.3). */
int collect_pci_suspended(int sysfd, const char *bdf);

#endif
