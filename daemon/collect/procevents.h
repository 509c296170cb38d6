/*
 * Process lifecycle events from the kernel, so that a process that lives
 * 5 ms is still seen: fork (who is whose child), exec, exit (with its exit
 * status and, where the kernel gives it, its CPU time and peak memory).
 *
 * Linux: the netlink proc connector (and taskstats for exit accounting).
 * Taskstats needs CAP_NET_ADMIN; the connector did too before Linux 6.6,
 * and since then lets any user listen.  So a per-user rmond gets events
 * without accounting on a new kernel, and none on an old one, where `run`
 * falls back to polling (and says so).  docs/procevents.md has the
 * details, failure modes included.
 *
 * Only process-level events are reported: a thread creating a thread and
 * a thread other than the main one exiting are filtered out.
 *
 * One EXIT per process, when its main thread (pid == tgid) exits, with
 * the process's accounting (taskstats) merged in when the kernel gives
 * it.  The kernel queues a thread's taskstats record before its connector
 * exit, so for a single-threaded process, or one whose main thread exits
 * last, the record is there when the EXIT is read.  When the main thread
 * exits while other threads still run (exit_group() races, pthread_exit()),
 * the EXIT is held until the last thread's record comes, at most 1 s; then
 * it carries the whole process's status and accounting.  The fd becomes
 * readable when a held EXIT is due, so a caller that polls it and reads
 * never has to do anything else.  No accounting at all when taskstats is
 * not available, or its record was lost (socket overflow).
 *
 * A non-main thread that execs makes the kernel kill the main thread and
 * give its pid to the exec'ing thread: that exit is no process exit, and
 * is dropped (the EXEC follows, the process lives on).  Without taskstats
 * nothing can be held or told apart, so then (and past the hold) a main
 * thread that calls pthread_exit() while other threads run gives an EXIT
 * for a process that is still alive, and an exec from a non-main thread
 * gives an EXIT (status 0) followed by an EXEC of the same pid, which
 * lives on.  See docs/procevents.md.
 */
#ifndef RMON_PROCEVENTS_H
#define RMON_PROCEVENTS_H

#include <stdint.h>

enum proc_ev_type { PROC_EV_FORK, PROC_EV_EXEC, PROC_EV_EXIT };

/* Which accounting fields of an EXIT are readings (proc_ev.acct). */
#define PROC_ACCT_CPU  (1u << 0)   /* utime_s, stime_s */
#define PROC_ACCT_RSS  (1u << 1)   /* hiwater_rss */
#define PROC_ACCT_IO   (1u << 2)   /* read_bytes, write_bytes */
#define PROC_ACCT_COMM (1u << 3)   /* comm */

struct proc_ev {
	enum proc_ev_type type;
	int32_t pid;          /* the process (thread-group leader) */
	int32_t ppid;         /* FORK: the parent process; EXIT: the parent
	                         at exit (0: unknown); EXEC: 0 */
	int32_t exit_code;    /* EXIT: wait(2) status (WIFEXITED etc. apply) */
	uint64_t ts_ns;       /* kernel timestamp, CLOCK_MONOTONIC ns (EXIT:
	                         when the main thread exited) */
	/* EXIT with accounting: */
	int have_acct;        /* CPU and RSS below are readings */
	uint32_t acct;        /* PROC_ACCT_*, finer: a single-threaded process
	                         has all four; a multi-threaded one RSS and COMM,
	                         and CPU where the kernel sums it per process
	                         (6.18 does), never IO (the kernel keeps it per
	                         thread).  COMM alone: a held EXIT that timed
	                         out. */
	double utime_s, stime_s;    /* whole process, tick-granular */
	uint64_t hiwater_rss;       /* peak RSS, bytes */
	uint64_t read_bytes, write_bytes;   /* storage I/O, bytes */
	char comm[32];              /* NUL-terminated; the main thread's name */
};

struct procevents;

/* 0, or -errno: -EPERM / -EPROTONOSUPPORT when this machine or user cannot
 * have them (the caller then polls).  Taskstats failing alone is not an
 * error: events then come without accounting (procevents_acct_status). */
int procevents_open(struct procevents **out);
void procevents_close(struct procevents *pe);

/* A file descriptor to poll for POLLIN (an epoll fd covering the connector
 * and taskstats sockets and the hold timer). */
int procevents_fd(const struct procevents *pe);

/* 0 when exit accounting (taskstats) is on, else why not: -EPERM,
 * -ENOENT (no TASKSTATS family: CONFIG_TASKSTATS off), -errno. */
int procevents_acct_status(const struct procevents *pe);

/* Stops (on 0) or resumes (on 1) the kernel's sending of events: leaves
 * or rejoins the connector's multicast group and deregisters or registers
 * exit accounting.  Every fork, exec and exit on the machine costs a
 * listener a message (a build: thousands a second), so the caller pauses
 * them while nobody needs them.  Events already queued are still read;
 * events while paused are never seen.  0 or -errno; a no-op when already
 * so.  Open starts listening. */
int procevents_listen(struct procevents *pe, int on);
int procevents_listening(const struct procevents *pe);

/* Drain what is queued, without blocking; cb for every process-level event
 * (thread forks and exits are filtered out).  Returns the number of events,
 * or -errno.  -ENOBUFS means the kernel dropped events (the socket
 * overflowed): the count lost is unknown, and the caller should rescan.
 * The events read in that same call were still passed to cb, and the next
 * call goes on normally.  One call reads a bounded number of messages (a
 * few thousand); under a storm the fd stays readable and the caller comes
 * back.  Not thread-safe: one thread per procevents. */
int procevents_read(struct procevents *pe, void (*cb)(void *arg, const struct proc_ev *ev), void *arg);

#endif
