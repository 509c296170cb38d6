/*
 * The Linux process table, inside: what proctab.c (the table, the fd
 * budget, scan and sample), proc_pid.c (one process's files), proc_threads.c
 * (one tracked process's threads) and proc_pid_parse.c (pure parsers) share.
 * Nothing outside collect/linux/ includes this; tests do, for the parsers.
 *
 * Identity.  An entry is keyed by (pid, starttime).  It keeps an O_PATH
 * dirfd of /proc/PID and fds of the files it reads (stat, statm, status, io,
 * and per thread task/TID/{stat,schedstat,io}); once the process is reaped
 * every one of them fails with ESRCH, so a kept fd never reads another
 * process that got the same pid (SOURCES §2.8).  Entries read by path (over
 * the fd budget, or a fixture tree) compare starttime instead.
 *
 * Baselines.  Rates come from three independent pairs of readings, each over
 * the time since its own previous reading: /proc/PID/stat (cpu, faults),
 * status (context switches) and io.  A tracked process sampled with its
 * threads takes its cpu from a fourth: its CPU clock's movement (ns, where
 * stat counts 10 ms ticks; without the clock, the sum of its threads'
 * schedstat deltas); its stat gives the faults every tick (every full
 * pass for a process of many threads), its io the io at the 1 s full
 * thread pass (proc_threads.c).  The same clock, unmoved, means the
 * process did not run: then nothing is read (proc_pid_idle).
 */
#ifndef RMON_PROCTAB_LINUX_H
#define RMON_PROCTAB_LINUX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proctab.h"
#include "readfile.h"

/* ---- parsers (proc_pid_parse.c) --------------------------------------- */

#define PID_PF_KTHREAD 0x00200000u   /* stat field 9: a kernel thread */

/* /proc/PID/stat and task/TID/stat; field numbers as in proc(5). */
struct pid_stat {
	int32_t pid;                 /* 1 */
	char comm[PROC_COMM_MAX];    /* 2, raw, truncated to PROC_COMM_MAX-1 */
	char state;                  /* 3 */
	int32_t ppid;                /* 4 */
	uint64_t flags;              /* 9 */
	uint64_t minflt, majflt;     /* 10, 12 */
	uint64_t utime, stime;       /* 14, 15: clock ticks */
	uint64_t num_threads;        /* 20 */
	uint64_t starttime;          /* 22: ticks after boot */
	uint64_t vsize;              /* 23: bytes */
	uint64_t rss;                /* 24: pages (approximate, a fallback) */
	int32_t processor;           /* 39, or -1 when the kernel is older */
};
/* 0, or -EINVAL when buf is not a stat line (empty, no "(comm)", fewer
 * than 24 fields).  comm is between the first '(' and the LAST ')': it may
 * hold spaces, parentheses and newlines. */
int proc_pid_parse_stat(const char *buf, size_t len, struct pid_stat *s);

/* statm: size and resident, in pages.  0 or -EINVAL. */
int proc_pid_parse_statm(const char *buf, size_t len, uint64_t *size, uint64_t *resident);

#define PID_STATUS_UID  (1u << 0)
#define PID_STATUS_CTX  (1u << 1)    /* both switch counters */
#define PID_STATUS_TGID (1u << 2)
struct pid_status {
	unsigned has;                /* PID_STATUS_* */
	uint32_t uid;                /* real */
	int32_t tgid;
	uint64_t vctx, nvctx;
};
void proc_pid_parse_status(const char *buf, size_t len, struct pid_status *st);

/* io: read_bytes and write_bytes (what reached the block layer).  0, or
 * -EINVAL when either is missing. */
int proc_pid_parse_io(const char *buf, size_t len, uint64_t *rd, uint64_t *wr);

/* smaps_rollup: Pss in bytes.  0 or -EINVAL. */
int proc_pid_parse_pss(const char *buf, size_t len, uint64_t *pss);

/* schedstat: "run_ns wait_ns timeslices".  0 or -EINVAL. */
int proc_pid_parse_schedstat(const char *buf, size_t len, uint64_t *run_ns, uint64_t *wait_ns,
			     uint64_t *slices);

/* cmdline in place: NULs become spaces, trailing NULs are dropped.  The
 * new length (buf[len] is set to NUL: buf must have room for it). */
size_t proc_pid_parse_cmdline(char *buf, size_t len);

/* ---- the table's insides ---------------------------------------------- */

#define PT_FD_NONE (-1)      /* no kept fd: open, read, close each time */
#define PT_FD_NA   (-2)      /* unavailable (EACCES...): not tried again until exec */

#define PT_PROC_FDS 5        /* dirfd, stat, statm, status, io */
#define PT_FD_RESERVE 256    /* fds left to the rest of the daemon */
#define PT_TRACK_NS   (5ull * 1000000000ull)   /* tracked: sampled this recently */
#define PT_RELIST_NS  (5ull * 1000000000ull)   /* task/ re-listed at least this often, */
#define PT_RELIST_BIG_NS (30ull * 1000000000ull) /* ... a big process's (> PT_WS_THREADS) */
#define PT_STATUS_NS  (5ull * 1000000000ull)   /* status of an idle process: this often */
#define PT_TFULL_NS   (1ull * 1000000000ull)   /* threads' stat and io: this often */
#define PT_QUIET_PCT  1u                        /* default: below 1 % of a core, a quiet thread */
#define PT_QSWEEP_NS  (5ull * 1000000000ull)   /* quiet threads are read this often, */
#define PT_QSWEEP_PCT 1u                        /* ... if they used this share of a core since, */
#define PT_QSWEEP_PPM 100u                      /* ... and this (ppm of a core) per quiet thread, */
#define PT_QSWEEP_MAX_NS (30ull * 1000000000ull) /* ... and at least this often */
#define PT_PSS_IDLE_NS (30ull * 1000000000ull) /* PSS of a process that has not run: this often */
#define PT_QFULL_NS   (20ull * 1000000000ull)  /* a quiet thread's stat and io: this often */
#define PT_QGAP_NS    (30ull * 1000000ull)     /* CPU the read threads leave unexplained: sweep */
#define PT_QGAP_PCT   5u                        /* ... plus this share of a core since the sweep */
#define PT_WS_THREADS 16u                       /* more threads: /proc/PID/stat at full passes */
#define PT_IDLE_NS    (3ull * 1000000000ull)   /* an idle process's statm: this often, */
#define PT_IDLE_SPREAD 5u                       /* ... plus (pid % this) seconds; */
#define PT_IDLE_FULL_NS (60ull * 1000000000ull) /* ... all of it: this often */
#define PT_LIST_MAX_NS (30ull * 1000000000ull) /* /proc listed at least this often */

struct pt_thread {
	int32_t tid;
	int fd_stat, fd_sched, fd_io;
	unsigned prev;               /* PT_TP_*: which previous readings exist */
	uint8_t quiet;               /* its last reading was below PT_QUIET_PCT */
	uint8_t read;                /* read in this pass */
	uint8_t gone;                /* found gone in this pass */
	uint64_t mono;               /* when the cpu baseline (schedstat, else stat) was read */
	uint64_t f_mono;             /* when stat and io were read (a full read) */
	uint64_t utime, stime, minflt, majflt;
	uint64_t run_ns, wait_ns, slices;
	uint64_t rbytes, wbytes;
	uint64_t su, ss;             /* user:sys ticks of the last stat interval (or totals) */
	struct thread_info info;
};
#define PT_TP_STAT  (1u << 0)
#define PT_TP_SCHED (1u << 1)
#define PT_TP_IO    (1u << 2)

/* Entry flags. */
#define PT_KNOWN    (1u << 0)    /* read at least once: identity set */
#define PT_KEEP     (1u << 1)    /* has a dirfd and may keep its files' fds */
#define PT_DEAD     (1u << 2)    /* gone (sample saw it): state 'X' until the next scan */
#define PT_GONE     (1u << 3)    /* dropped by this scan, freed at its end */
#define PT_W_PREV   (1u << 4)    /* a /proc/PID/stat baseline */
#define PT_IO_PREV  (1u << 5)    /* an io baseline */
#define PT_CTX_OK   (1u << 6)    /* status was readable last time */
#define PT_CTX_RATE (1u << 7)    /* vctx_ps/nvctx_ps computed at least once */
#define PT_T_PREV   (1u << 8)    /* a thread-pass baseline (t_mono) */
#define PT_Q_BASE   (1u << 9)    /* a sweep's whole-process CPU baseline (q_ticks) */
#define PT_CLK      (1u << 10)   /* clk_ns: its CPU clock at its last reading */
#define PT_T_CLK    (1u << 11)   /* t_clk: its CPU clock at the last thread pass */
#define PT_Q_CLK    (1u << 12)   /* q_clk: its CPU clock at the last sweep */

struct pt_proc {
	struct proc_info info;
	int dirfd;                   /* O_PATH /proc/PID, or -1: files by path */
	int fd_stat, fd_statm, fd_status, fd_io, fd_task;
	unsigned flags;              /* PT_* */
	uint64_t track_mono;         /* last proctab_sample; 0 never */
	/* /proc/PID/stat baseline */
	uint64_t w_mono, utime, stime, minflt, majflt;
	/* status baseline; s_cpu: utime+stime when it was read */
	uint64_t s_mono, s_cpu, vctx, nvctx;
	unsigned s_reads;
	/* io baseline */
	uint64_t io_mono, rbytes, wbytes;
	/* threads, sorted by tid (tracked processes sampled with a thread_cb) */
	struct pt_thread *thr;
	unsigned nthr, thrcap;
	uint64_t list_mono, t_mono;
	/* the last full thread pass (stat, io) */
	uint64_t tf_mono;
	/* the whole-process CPU (stat ticks) at the last sweep of the quiet
	 * threads, and the CPU the threads read since then account for */
	uint64_t q_ticks, q_act_ns, q_mono;
	/* the process's CPU clock (ns, all its threads) when its files were
	 * last read, and when that was: unchanged, it has not run since */
	uint64_t clk_ns, r_mono;
	uint64_t m_mono;             /* its statm's last reading (idle: every PT_IDLE_NS) */
	/* the same clock at the last thread pass (the process's cpu_pct is
	 * its movement over the tick, exact to the ns, quiet threads' CPU
	 * included) and at the last sweep of the quiet threads */
	uint64_t t_clk, q_clk;
	/* a big process (> PT_WS_THREADS) reads its clock at full passes
	 * only: since the last reading (at c_mono) its ticks reported
	 * c_rep_ns of CPU, c_read_ns of it read from busy threads, the rest
	 * c_quiet (ns per ns) of its quiet threads', their rate over the
	 * window before; the next reading reports what the clock counted
	 * beyond c_rep_ns, so the ticks add up to the clock; what they
	 * reported beyond it (the quiet rate fell) is c_owe, taken from the
	 * next readings */
	uint64_t c_mono;
	double c_rep_ns, c_read_ns, c_quiet, c_owe;
	/* its CPU clock (clk_ns) when PSS was last read, and when */
	uint64_t pss_clk, pss_mono;
};

struct proctab {
	int procfd;                  /* the env's root (not ours) */
	int listfd;                  /* the root opened for reading: getdents64 */
	uint64_t clk_tck, pagesize;
	double btime;                /* NAN when /proc/stat has none */
	struct pt_proc **tab, **tmp; /* sorted by pid; tmp: the next scan's */
	unsigned n, cap, tmpcap;
	int32_t *pids, *tids;        /* listings */
	unsigned pidcap, tidcap;
	struct pt_thread *tscratch;  /* a re-listing merges into it, then swaps */
	unsigned tscratch_cap;
	unsigned nfds, budget;       /* fds kept, and how many may be */
	int scanning;                /* the old array is being merged: no demotions */
	uint64_t now;                /* mono of the scan or sample under way */
	double quiet_pct;            /* threads below it are quiet; 0: none is */
	int cpuclock;                /* the root is our own /proc: processes' CPU clocks
	                              * can tell the idle ones (proc_pid_idle) */
	unsigned scan_read;          /* processes the last scan read (not idle) */
	unsigned npids;              /* the last listing: pids[0..npids) */
	int loadfd;                  /* /proc/loadavg (own /proc only), or -1 */
	char tasks_sig[32];          /* its "nr_threads last_pid" before the last listing */
	uint64_t list_mono;          /* when that listing was made */
	unsigned lists;              /* listings made (proctab_lists: tests) */
	struct readfile_buf big;     /* files that do not fit buf */
	_Alignas(8) char dents[16384];
	char buf[4096];              /* one file at a time */
};

/* proctab.c: fds and listings. */
ssize_t proctab__read(struct proctab *pt, struct pt_proc *p, int *fd, const char *rel,
		      uint64_t mono, const char **out);
/* rel relative to the entry's dirfd, or "PID/rel" under the root (in buf):
 * the dirfd to use goes to *dfd.  NULL when buf is too small. */
const char *proctab__path(const struct proctab *pt, const struct pt_proc *p, const char *rel,
			  char *buf, size_t cap, int *dfd);
int proctab__open(struct proctab *pt, const struct pt_proc *p, const char *rel, int flags);
/* May p keep one more fd (counted by the caller when it does)? */
int proctab__may_keep(struct proctab *pt, struct pt_proc *p, uint64_t mono);
void proctab__close_fd(struct proctab *pt, int *fd);
int proctab__keep_dir(struct proctab *pt, struct pt_proc *p, uint64_t mono);
int proctab__list(struct proctab *pt, int fd, int32_t **ids, unsigned *cap);
int proctab__tracked(const struct pt_proc *p, uint64_t mono);
/* procfd's loadavg, when procfs wrote it, or -1.  Not a file mounted over
 * it (lxcfs's FUSE file refreshes every few seconds, from a cgroup's
 * view): pt_listing would trust a listing that missed a fork. */
int proctab__open_loadavg(int procfd);
/* "nr_threads last_pid" of /proc/loadavg's b[0..n) into sig, and the
 * task count: 0, or -1 when malformed, too long, or zero (a stand-in). */
int proctab__loadavg_sig(const char *b, size_t n, char *sig, size_t cap, uint64_t *tasks);
/* Is pid in the last scan's listing (sorted; or is there none to tell)? */
int proctab__listed(const struct proctab *pt, int32_t pid);
/* A bounded prefix of a file (cmdline): at most cap-1 bytes, NUL-terminated. */
ssize_t proctab__prefix(int fd, char *buf, size_t cap);

/* proc_pid.c: one process. */
#define PP_SCAN   1          /* the full scan: status when due */
#define PP_SAMPLE 0          /* the fast path: stat, statm, io */
int proc_pid_read(struct proctab *pt, struct pt_proc *p, uint64_t mono, int mode);
/* Identity and comm from a leader's stat (exec: generation, cmdline, exe). */
void proc_pid_apply_stat(struct proctab *pt, struct pt_proc *p, const struct pid_stat *s);
/* /proc/PID/stat, whole: 0 or -ESRCH. */
int proc_pid_read_stat(struct proctab *pt, struct pt_proc *p, uint64_t mono, struct pid_stat *s);
/* The rates from this and the previous reading of /proc/PID/stat: faults,
 * and with cpu_too the cpu counted in ticks (a tracked process's comes
 * from its threads instead); the baseline and cpu_time_s move on.  With
 * cpu_too a reading without a previous one clears PROC_HAVE_RATES;
 * without, the fault rates keep their last values. */
void proc_pid_stat_rates(struct proctab *pt, struct pt_proc *p, const struct pid_stat *s,
			 uint64_t mono, int cpu_too);
int proc_pid_read_mem(struct proctab *pt, struct pt_proc *p, uint64_t mono);
int proc_pid_read_io(struct proctab *pt, struct pt_proc *p, uint64_t mono);
/* HAVE_RATES may be set: stat-group rates done and ctx rates known. */
void proc_pid_rates_done(struct pt_proc *p);
/* The idle gate.  With pt->cpuclock, a process with a full set of rates
 * whose CPU clock has not moved since its files were last read did not
 * run: 1, and nothing needs reading (proc_pid_idle_rates zeroes its rates
 * and moves its baselines; proc_pid_idle_mem reads its statm when due);
 * 0: read it, then proc_pid_clock_read(p, clk, mono) records the clock
 * taken here.  Forced to 0 when its parent is no longer listed (it was
 * reparented) and every PT_IDLE_FULL_NS. */
int proc_pid_idle(const struct proctab *pt, const struct pt_proc *p, uint64_t mono,
		  uint64_t *clk);
/* An idle process's RSS and VMS: reclaim can take pages from a sleeper,
 * so statm is read every PT_IDLE_NS (+ a spread by pid, so that processes
 * first seen together are not read together).  0 or -ESRCH. */
int proc_pid_idle_mem(struct proctab *pt, struct pt_proc *p, uint64_t mono);
void proc_pid_clock_read(struct pt_proc *p, uint64_t clk, uint64_t mono);
/* An idle tick or scan: the rates the process owns over [its baseline,
 * mono] are zero (nothing ran): its cpu, and with full (a scan, or a
 * tracked tick at which a full pass is due) its faults, switches and io,
 * whose baselines move to mono (between full passes a tracked process
 * carries them). */
void proc_pid_idle_rates(struct pt_proc *p, uint64_t mono, int full);
/* The threads' share of an idle tick: busy threads reported at zero,
 * every baseline moved to mono (proc_threads.c). */
void proc_threads_idle(struct proctab *pt, struct pt_proc *p, uint64_t mono,
		       void (*cb)(void *arg, const struct thread_info *ti), void *arg);

/* The scan's share of a process the tracked ticks sample: status when
 * due (the ticks read everything else, fresher).  0 or -ESRCH. */
int proc_pid_scan_tracked(struct proctab *pt, struct pt_proc *p, uint64_t mono);

/* Close every fd and forget every reading; the pid stays. */
void proc_pid_reset(struct proctab *pt, struct pt_proc *p);
void proc_pid_close(struct proctab *pt, struct pt_proc *p);

/* proc_threads.c: the threads of one tracked process.  proc_too: the
 * process's own fields come from its threads (it has a thread baseline);
 * else the caller read /proc/PID/stat this tick.  clk: the process's CPU
 * clock, read just before (proc_pid_idle), or NULL (a fixture tree).
 * 0 or -ESRCH. */
int proc_threads_pass(struct proctab *pt, struct pt_proc *p, uint64_t mono, int proc_too,
		      const uint64_t *clk,
		      void (*cb)(void *arg, const struct thread_info *ti), void *arg);
void proc_threads_free(struct proctab *pt, struct pt_proc *p);

#endif
