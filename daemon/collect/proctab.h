/*
 * The process table: every process, scanned at a low rate (1 s), plus a
 * fast path for tracked processes and their threads (100 ms).  Platform
 * code implements it in collect/<os>/ (Linux: /proc with kept fds, so a
 * pid reused by another process is never mistaken for the old one).
 *
 * Only the procs thread calls these; the loop thread sees copies.
 */
#ifndef RMON_PROCTAB_H
#define RMON_PROCTAB_H

#include <stddef.h>
#include <stdint.h>

#include "collect.h"

#define PROC_COMM_MAX 64
#define PROC_CMDLINE_MAX 256
#define PROC_EXE_MAX 256

/* Which fields of a proc_info are readings (a clear bit: not available). */
#define PROC_HAVE_RATES    (1u << 0)  /* cpu %, fault and switch rates: not on first sight */
#define PROC_HAVE_MEM      (1u << 1)  /* rss, vms (not for kernel threads or zombies) */
#define PROC_HAVE_CTX      (1u << 2)  /* status readable: uid, context switch totals */
#define PROC_HAVE_IO       (1u << 3)  /* io readable (ptrace access): totals */
#define PROC_HAVE_IO_RATES (1u << 4)
#define PROC_HAVE_PSS      (1u << 5)  /* smaps_rollup read at least once */
#define PROC_HAVE_CMDLINE  (1u << 6)  /* cmdline readable (may be empty: kernel thread) */
#define PROC_HAVE_EXE      (1u << 7)

struct proc_info {
	int32_t pid, ppid;
	uint32_t uid;
	uint64_t start_ticks;          /* with pid, the identity: boot-relative, clock ticks */
	double start_time;             /* seconds since the epoch */
	char comm[PROC_COMM_MAX];      /* raw comm, may hold spaces and ')' */
	char cmdline[PROC_CMDLINE_MAX];/* NULs shown as spaces, truncated; "" if none */
	char exe[PROC_EXE_MAX];        /* readlink of exe, "" if not readable */
	char state;                    /* R S D Z T t I X ... */
	uint8_t kthread;               /* a kernel thread */
	uint32_t threads;
	uint64_t rss, vms, pss;        /* bytes */
	double cpu_pct, user_pct, sys_pct;   /* 100 = one core */
	double majflt_ps, minflt_ps, vctx_ps, nvctx_ps;
	double read_bps, write_bps;
	double cpu_time_s;             /* utime + stime so far */
	uint64_t read_bytes, write_bytes; /* io totals so far */
	uint32_t have;                 /* PROC_HAVE_* */
	uint32_t generation;           /* bumped when the process execs (comm changes) */
};

#define THREAD_HAVE_RATES (1u << 0)
#define THREAD_HAVE_SCHED (1u << 1)  /* schedstat: ctxsw_ps, runq_wait_pct */
#define THREAD_HAVE_IO    (1u << 2)

struct thread_info {
	int32_t tid, pid;
	char name[PROC_COMM_MAX];
	char state;
	int32_t last_cpu;
	double cpu_pct, user_pct, sys_pct;
	double ctxsw_ps, runq_wait_pct;
	double read_bps, write_bps;
	uint32_t have;                 /* THREAD_HAVE_* */
};

struct proctab;

int proctab_open(const struct collect_env *env, struct proctab **out);
void proctab_close(struct proctab *pt);

/* Full scan: list every process, refresh each entry (rates since that
 * process's previous read, whichever path read it), drop the gone ones.
 * A process that vanishes mid-read is skipped silently.  Returns the
 * number of processes, or -errno when the listing itself failed.  On our
 * own /proc the listing is kept while the kernel says no task was born
 * or released since it was made (/proc/loadavg), for PT_LIST_MAX_NS. */
int proctab_scan(struct proctab *pt, uint64_t mono_ns);
/* How many times scans have listed /proc (the others kept the listing). */
unsigned proctab_lists(const struct proctab *pt);

/* The table as of the last scan or sample; pointers stay valid until the
 * next proctab_scan. */
unsigned proctab_count(const struct proctab *pt);
/* How many of them the last scan read: the others had not run since
 * their last reading (their CPU clock said so), or are sampled by the
 * tracked ticks, and were not read. */
unsigned proctab_scan_read(const struct proctab *pt);
const struct proc_info *proctab_at(const struct proctab *pt, unsigned i);
const struct proc_info *proctab_find(const struct proctab *pt, int32_t pid);

/* Fast path for one process (it need not be in the table yet: a process
 * just forked is added).  Re-reads it on kept fds and, when thread_cb is
 * set, its threads: thread_cb gets every thread read this time (a quiet
 * one every 5 s: proctab_set_quiet_pct), and a thread that
 * ended once more with state 'X' and no readings.  Returns 0, or -ESRCH
 * when the process is gone (then *out is its last state, with state 'X'). */
int proctab_sample(struct proctab *pt, int32_t pid, uint64_t mono_ns,
                   const struct proc_info **out,
                   void (*thread_cb)(void *arg, const struct thread_info *ti), void *arg);

/* Threads whose last reading was below pct % of a core are "quiet": read
 * every 5 s instead of every sample, unless the whole process's CPU
 * shows one woke up (see proc_threads.c).  0: every thread, every sample.
 * The default is 1. */
void proctab_set_quiet_pct(struct proctab *pt, unsigned pct);

/* PSS from smaps_rollup: costly (page-table walk), so tracked processes
 * only, at a low rate; a process that has not run since its last PSS
 * reading (its CPU clock says so) keeps it, for up to 30 s.  0 or -errno
 * (EACCES: not permitted). */
int proctab_read_pss(struct proctab *pt, int32_t pid);

#endif
