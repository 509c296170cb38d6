/*
 * What the Linux collectors share, and the pure parse/rate functions each
 * of them exposes so tests can call them on literal buffers.
 *
 * Every collector file has the same shape: open (resolve paths under the
 * env's procfs/sysfs dirfds, keep fds), sample (pread, parse into a plain
 * struct, turn two consecutive parses into rates with the tick's
 * CLOCK_MONOTONIC dt, emit), close.  A rate's first sample, a counter that
 * went backwards and a device that just appeared give no reading: the
 * presence bit stays clear, never a zero.  Every instance present in the
 * source (online CPU, whole disk, interface, sensor) still gets its record
 * each time it is read, even with no field set: the instance exists, and
 * the sampler sizes its ring lanes by counting a first tick's records.
 *
 * All host collectors run on the sampler thread, so nothing here locks.
 * The env's procfd and sysfd must stay open until close: diskstats and
 * cpufreq look things up under sysfs after open.
 */
#ifndef RMON_COLLECT_LINUX_H
#define RMON_COLLECT_LINUX_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>

#include "collect.h"
#include "schema.h"

/* ---- the collectors, in platform.c's order ---------------------------- */

extern const struct collector sys_cpufreq_collector;
extern const struct collector sys_thermal_collector;
extern const struct collector proc_stat_collector;
extern const struct collector proc_loadavg_collector;
extern const struct collector proc_meminfo_collector;
extern const struct collector proc_vmstat_collector;
extern const struct collector proc_pressure_collector;
extern const struct collector proc_diskstats_collector;
extern const struct collector proc_net_dev_collector;

/* opendir of path relative to dirfd (close-on-exec), or NULL with errno. */
DIR *linux_opendir_at(int dirfd, const char *path);

/* devdir/power/runtime_status (devdir relative to the sysfs root dirfd)
 * says "suspended" or "suspending": 1, else 0 (also with no such file).
 * The file is a software field: reading it wakes nothing. */
int linux_runtime_suspended(int sysfd, const char *devdir);

/* ---- counters and time ------------------------------------------------ */

/* Seconds between two ticks, or 0 when time did not move forward. */
static inline double tick_dt(uint64_t prev_ns, uint64_t now_ns)
{
	return now_ns > prev_ns ? (double)(now_ns - prev_ns) / 1e9 : 0.0;
}

/* Δ of a 64-bit counter: 0, or -1 when it went backwards (a reset: the
 * caller gives no reading this tick and re-baselines). */
static inline int ctr_delta(uint64_t old, uint64_t cur, uint64_t *d)
{
	if (cur < old)
		return -1;
	*d = cur - old;
	return 0;
}

/* Δ of a counter the kernel may keep in 32 bits (diskstats' ms fields are
 * printed as unsigned int): a decrease of a value that fits 32 bits is a
 * wrap when the modular delta is under half the range (serial-number
 * arithmetic, RFC 1982); anything else is a reset. */
static inline int ctr_delta32(uint64_t old, uint64_t cur, uint64_t *d)
{
	if (cur >= old) {
		*d = cur - old;
		return 0;
	}
	if (old > UINT32_MAX)
		return -1;
	uint64_t m = (cur - old) & UINT32_MAX;
	if (m >= (UINT64_C(1) << 31))
		return -1;
	*d = m;
	return 0;
}

/* "17" into key (RM_KEY_MAX bytes), no snprintf on the hot path. */
void linux_key_uint(char *key, unsigned n);

/* ---- keyed instances (disks, interfaces) ------------------------------ */

/* Entries are esize bytes and start with struct inst.  Lookup starts at
 * the slot after the previous hit, so a file that lists its devices in
 * the same order every tick costs one compare per line. */
struct inst {
	char name[RM_KEY_MAX];
	uint32_t gen;        /* the sample generation that last saw it */
};
struct instab {
	unsigned char *v;
	size_t esize;
	unsigned n, cap, hint;
};

void instab_init(struct instab *t, size_t esize);
void instab_free(struct instab *t);
/* The entry for name[0..len) (truncated to the key size), marked seen in
 * gen.  A new entry is zeroed and *fresh set.  NULL on ENOMEM.  Pointers
 * are valid until the next instab_get or instab_sweep. */
void *instab_get(struct instab *t, const char *name, size_t len, uint32_t gen, int *fresh);
/* Forget entries not seen in gen (a device that went away). */
void instab_sweep(struct instab *t, uint32_t gen);

/* ---- per-CPU values published for proc_stat -------------------------- */

/*
 * cpufreq and thermal read sources that belong on the cpu records, which
 * proc_stat emits.  Rather than coupling three collectors, the two run
 * before proc_stat in the tick and publish into this board, stamped with
 * the tick; proc_stat takes what carries the current stamp.  A publisher
 * that is absent, failed or ran late leaves a stale stamp, and the field
 * is simply absent.  One static board: one sampler thread, one tick at a
 * time.  CPU numbers at or above CPUBOARD_MAX are not published.
 */
#define CPUBOARD_MAX 8192
void cpuboard_put_freq(unsigned cpu, uint64_t tick_ns, double mhz);
void cpuboard_put_temp(unsigned cpu, uint64_t tick_ns, double c);
/* Package temperature for cpu:all: the hottest package of the tick. */
void cpuboard_put_pkg_temp(uint64_t tick_ns, double c);
int cpuboard_freq(unsigned cpu, uint64_t tick_ns, double *mhz);
int cpuboard_temp(unsigned cpu, uint64_t tick_ns, double *c);
int cpuboard_pkg_temp(uint64_t tick_ns, double *c);
/* A publisher's close: its values must not outlive it (a collector
 * reopened with the same tick times, as tests do, would see them). */
void cpuboard_forget_freq(void);
void cpuboard_forget_temp(void);

/* ---- /proc/stat ------------------------------------------------------- */

/* The columns that add up to elapsed time.  guest and guest_nice follow
 * steal in the file but are already counted in user and nice: excluded. */
enum stat_col {
	STAT_USER, STAT_NICE, STAT_SYSTEM, STAT_IDLE, STAT_IOWAIT,
	STAT_IRQ, STAT_SOFTIRQ, STAT_STEAL, STAT__COLS
};
struct stat_times {
	uint64_t t[STAT__COLS];
};
struct stat_cpu {
	unsigned cpu;               /* the N of cpuN */
	struct stat_times times;
};
enum {
	STAT_HAS_ALL = 1 << 0, STAT_HAS_CTXT = 1 << 1, STAT_HAS_INTR = 1 << 2,
	STAT_HAS_FORKS = 1 << 3, STAT_HAS_RUNNING = 1 << 4,
	STAT_HAS_BLOCKED = 1 << 5, STAT_HAS_BTIME = 1 << 6,
};
#define STAT_CPU_MAX 16384          /* cpuN lines beyond are ignored */
struct stat_snap {
	unsigned has;               /* STAT_HAS_* */
	struct stat_times all;
	uint64_t ctxt, intr, forks, running, blocked, btime;
	struct stat_cpu *cpus;      /* the caller's array ... */
	unsigned cap;               /* ... of this many */
	unsigned ncpus;             /* cpuN lines seen; when > cap, only cap
				     * were stored and the caller grows */
};
void proc_stat_parse(const char *buf, size_t len, struct stat_snap *s);
/* CPU shares over [prev, cur] into r's cpu fields.  0, or -1 when there
 * is no reading: no time accounted, or the total went backwards. */
int proc_stat_pct(const struct stat_times *prev, const struct stat_times *cur,
		  struct rm_rec *r);

/* ---- /proc/loadavg ---------------------------------------------------- */

struct loadavg {
	double avg[3];
};
int proc_loadavg_parse(const char *buf, size_t len, struct loadavg *la);

/* ---- /proc/meminfo ---------------------------------------------------- */

enum meminfo_slot {
	MI_TOTAL, MI_FREE, MI_AVAIL, MI_BUFFERS, MI_CACHED, MI_SRECLAIMABLE,
	MI_SHMEM, MI_DIRTY, MI_SWAP_TOTAL, MI_SWAP_FREE, MI__COUNT
};
struct meminfo {
	uint64_t kb[MI__COUNT];
	uint64_t found;             /* bit per slot */
};
void proc_meminfo_parse(const char *buf, size_t len, struct meminfo *m);
/* The system record's memory fields, free(1)'s way. */
void proc_meminfo_fill(const struct meminfo *m, struct rm_rec *sys);

/* ---- /proc/vmstat ----------------------------------------------------- */

enum vmstat_slot { VM_PGFAULT, VM_PGMAJFAULT, VM_PSWPIN, VM_PSWPOUT, VM__COUNT };
struct vmstat {
	uint64_t v[VM__COUNT];
	uint64_t found;
};
void proc_vmstat_parse(const char *buf, size_t len, struct vmstat *vm);
void proc_vmstat_rate(const struct vmstat *prev, const struct vmstat *cur, double dt_s,
		      struct rm_rec *sys);
/* Bytes the collector's next tick reads of the file (the head that held
 * the wanted keys last time, plus a margin); 0: all of it. */
size_t proc_vmstat_head(const void *state);

/* ---- /proc/pressure/{cpu,memory,io} ---------------------------------- */

enum psi_res { PSI_CPU, PSI_MEM, PSI_IO, PSI__RES };
enum psi_kind { PSI_SOME, PSI_FULL, PSI__KINDS };
struct psi_file {
	unsigned has;               /* bit per psi_kind */
	double avg10[PSI__KINDS], avg60[PSI__KINDS];
	uint64_t total_us[PSI__KINDS];
};
void proc_pressure_parse(const char *buf, size_t len, struct psi_file *f);
/* avg fields from cur; stall_pct from prev (NULL: first sample) and cur
 * over dt_s. */
void proc_pressure_fill(enum psi_res res, const struct psi_file *prev,
			const struct psi_file *cur, double dt_s, struct rm_rec *sys);

/* ---- /proc/diskstats -------------------------------------------------- */

enum disk_col {
	DISK_RD_IOS, DISK_RD_MERGES, DISK_RD_SECTORS, DISK_RD_MS,
	DISK_WR_IOS, DISK_WR_MERGES, DISK_WR_SECTORS, DISK_WR_MS,
	DISK_INFLIGHT, DISK_IO_MS, DISK_WEIGHTED_MS, DISK__COLS
};
struct disk_line {
	const char *name;
	size_t namelen;
	uint64_t c[DISK__COLS];
};
/* One line [p, end): 0, or -EINVAL unless it has major, minor, name and
 * the 11 counters every kernel since 2.6 prints (14, 18 or 20 columns;
 * more are tolerated). */
int proc_diskstats_parse_line(const char *p, const char *end, struct disk_line *d);
/* Rates over dt_s into r (inflight is the caller's: it is a gauge).
 * 0, or -1 on a reset. */
int proc_diskstats_rate(const uint64_t *prev, const uint64_t *cur, double dt_s,
			struct rm_rec *r);

/* ---- /proc/net/dev ---------------------------------------------------- */

enum net_col {
	NET_RX_BYTES, NET_RX_PACKETS, NET_RX_ERRS, NET_RX_DROP,
	NET_TX_BYTES, NET_TX_PACKETS, NET_TX_ERRS, NET_TX_DROP, NET__COLS
};
struct net_line {
	const char *name;
	size_t namelen;
	uint64_t c[NET__COLS];
};
/* One line [p, end): 0, 1 for a line that is not an interface (the two
 * headers), -EINVAL when malformed. */
int proc_net_dev_parse_line(const char *p, const char *end, struct net_line *n);
int proc_net_dev_rate(const uint64_t *prev, const uint64_t *cur, double dt_s,
		      struct rm_rec *r);

/* ---- sysfs ------------------------------------------------------------ */

/* "2400000\n" (kHz) → MHz.  0 or -EINVAL. */
int sys_cpufreq_parse(const char *buf, size_t len, double *mhz);
/* "45500\n" (m°C) → °C.  0 or -EINVAL. */
int sys_thermal_parse_temp(const char *buf, size_t len, double *c);
/* A key part from free text: lower case, [a-z0-9_] kept, runs of
 * anything else become one '_', no '_' at either end.  Length. */
size_t sys_thermal_sanitize(char *dst, size_t cap, const char *src, size_t len);

/* Directory helpers for the sysfs scans done at open. */
/* Numbers N of the entries "<prefix>N<suffix>" of a directory, sorted.
 * Count, or -errno; *out is malloc'd (free it) when the count is > 0. */
int linux_dir_numbers(int dirfd, const char *path, const char *prefix, const char *suffix,
		      unsigned **out);

#endif
