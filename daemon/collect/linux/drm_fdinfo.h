/*
 * DRM client usage stats: the parser of one /proc/PID/fdinfo/N text of a
 * DRM file (Documentation/gpu/drm-usage-stats.rst), and the busy share of
 * an engine between two readings of one client.  Pure functions of their
 * arguments: no I/O, no allocation.  The reader that finds a process's
 * DRM files and keeps its clients between readings is procgpu.c.
 *
 * The keys (one "key:<blanks>value[ unit]" a line; whitespace after the
 * colon is tabs and/or spaces, amdgpu prints both):
 *
 *   drm-driver: amdgpu                 mandatory: without it, not a DRM file
 *   drm-pdev: 0000:03:00.0             the PCI device, when it is one
 *   drm-client-id: 17                  one per struct drm_file: dup'ed and
 *                                      inherited fds show the same client
 *   drm-engine-<e>: N ns               busy time of engine <e> for this client
 *   drm-engine-capacity-<e>: C         <e> is C identical engines (default 1)
 *   drm-cycles-<e>: N                  busy cycles, with
 *   drm-total-cycles-<e>: N            the engine's clock (xe): share = dN/dT
 *   drm-memory-<r>: N [KiB|MiB]        memory in region <r> (older, amdgpu)
 *   drm-total-<r>, drm-resident-<r>    the newer memory keys (bytes when no
 *                                      unit); drm-shared-, -active-,
 *                                      -purgeable- are parsed and not kept
 *
 * Anything not starting with "drm-" (pos, flags, pasid, amd-*) is ignored;
 * so are drm- keys we do not use (drm-client-name, drm-maxfreq-...).  A
 * drm- line we use whose value or unit cannot be read is skipped and
 * counted in malformed: the rest of the file still counts.
 */
#ifndef RMON_DRM_FDINFO_H
#define RMON_DRM_FDINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DRM_NAME_MAX     24   /* engine and region names, NUL included */
#define DRM_DRIVER_MAX   24
#define DRM_PDEV_MAX     24   /* "0000:03:00.0" */
#define DRM_ENGINES_MAX  16   /* amdgpu has 8 names, i915 5, xe 6 */
#define DRM_REGIONS_MAX  12

/* Which counters an engine has (struct drm_engine.have). */
enum {
	DRM_ENG_BUSY         = 1u << 0,   /* busy_ns */
	DRM_ENG_CYCLES       = 1u << 1,   /* cycles */
	DRM_ENG_TOTAL_CYCLES = 1u << 2,   /* total_cycles */
};

struct drm_engine {
	char name[DRM_NAME_MAX];
	uint64_t busy_ns;
	uint64_t cycles, total_cycles;
	uint32_t capacity;        /* >= 1 */
	uint32_t have;            /* DRM_ENG_* */
};

/* Which memory keys a region has (struct drm_region.have). */
enum {
	DRM_REG_MEMORY   = 1u << 0,   /* drm-memory-<r> */
	DRM_REG_TOTAL    = 1u << 1,   /* drm-total-<r> */
	DRM_REG_RESIDENT = 1u << 2,   /* drm-resident-<r> */
};

struct drm_region {
	char name[DRM_NAME_MAX];
	uint64_t memory, total, resident;   /* bytes (saturating) */
	uint32_t have;                      /* DRM_REG_* */
};

/* Which client keys were found (struct drm_fdinfo.have). */
enum {
	DRM_HAVE_DRIVER    = 1u << 0,
	DRM_HAVE_PDEV      = 1u << 1,
	DRM_HAVE_CLIENT_ID = 1u << 2,
};

struct drm_fdinfo {
	uint32_t have;                      /* DRM_HAVE_* */
	char driver[DRM_DRIVER_MAX];
	char pdev[DRM_PDEV_MAX];
	uint64_t client_id;
	struct drm_engine eng[DRM_ENGINES_MAX];
	unsigned neng;
	struct drm_region reg[DRM_REGIONS_MAX];
	unsigned nreg;
	unsigned malformed;   /* drm- lines skipped: no colon, bad number, unit or name */
	unsigned overflow;    /* engines or regions past the limits, ignored */
};

/* Parse buf[0..len).  0, or -ENOENT when there is no drm-driver line (not
 * a DRM file, or a driver without usage stats); *f is filled either way. */
int drm_fdinfo_parse(const char *buf, size_t len, struct drm_fdinfo *f);

/* Memory the client holds, over every region: per region drm-resident-,
 * else drm-memory- (amdgpu's older key for the same thing), else
 * drm-total-.  Saturates at UINT64_MAX.  false when no region has one. */
bool drm_fdinfo_mem(const struct drm_fdinfo *f, uint64_t *bytes);

/* The engine called name, or NULL. */
const struct drm_engine *drm_fdinfo_engine(const struct drm_fdinfo *f, const char *name);

/*
 * Busy share of one engine of one client between two readings, in % of
 * the engine (divided by its capacity; clamped to 0..100).  With cycles
 * and total cycles on both sides: dcycles / dtotal; else with busy ns on
 * both: dns / dt_ns.  false (no rate) when a counter went back, the clock
 * did not move, or the two readings have no counter in common.
 */
bool drm_engine_pct(const struct drm_engine *prev, const struct drm_engine *cur, uint64_t dt_ns,
                    double *pct);

/* The baseline for the next rate: cur's counters, except that a counter
 * that went back keeps base's larger value ("userspace is expected to stay
 * with that larger previous value until a monotonic update is seen"). */
void drm_engine_advance(struct drm_engine *base, const struct drm_engine *cur);

#endif
