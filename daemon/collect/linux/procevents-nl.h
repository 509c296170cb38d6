/*
 * Internals of procevents on Linux, shared by procevents.c (the proc
 * connector, merging) and taskstats.c (generic netlink exit accounting),
 * and exposed so tests can feed them literal datagrams.
 */
#ifndef RMON_PROCEVENTS_NL_H
#define RMON_PROCEVENTS_NL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "procevents.h"

/* The receive buffers we ask the kernel for (a fork burst must not
 * overflow them): 4 MiB holds about 10 000 connector events (5 000 short
 * processes) here; a taskstats record takes about 4 times the room, so
 * its socket gets twice the space, for about 5 000 records.  And the
 * buffer one recvmsg() reads into. */
#define PE_SOCK_RCVBUF (4 << 20)
#define PE_TS_RCVBUF   (8 << 20)
#define PE_RECV_BUF    (64 << 10)

/* One datagram: its length (> 0), 0 when it was dropped (not from the
 * kernel, or truncated), -EAGAIN when nothing is queued, -ENOBUFS, -errno. */
ssize_t pe_nl_recv(int fd, void *buf, size_t cap);

/* The netlink message header at off, checked against the datagram: 1 with
 * *h filled, 0 at the end, -EINVAL when it lies about its length. */
struct nlmsghdr;
int pe_nl_next(const unsigned char *buf, size_t len, size_t off, struct nlmsghdr *h);

/* ---- taskstats ------------------------------------------------------- */

enum ts_kind {
	TS_THREAD,   /* a thread other than the main one: nothing for us */
	TS_LEADER,   /* the main thread, while other threads live on */
	TS_PROCESS,  /* the last thread out: the whole process is gone */
};

/* One exit message, reduced to what procevents uses. */
struct ts_rec {
	enum ts_kind kind;
	int32_t pid;        /* the thread that exited */
	int32_t tgid;       /* its process (== pid where the kernel cannot say) */
	int32_t ppid;       /* parent process, 0 if unknown */
	int32_t exit_code;  /* the thread's wait status, -1 if not sent */
	uint32_t acct;      /* PROC_ACCT_* fields set below */
	double utime_s, stime_s;
	uint64_t hiwater_rss, read_bytes, write_bytes;
	char comm[32];
};

typedef void ts_cb(void *arg, const struct ts_rec *rec);

struct ts_sock {
	int fd;             /* -1: not open */
	uint16_t family;    /* the TASKSTATS generic netlink family id */
	uint32_t portid;
	uint32_t seq;
	char cpumask[256];  /* what we registered, for deregistering */
};

/* Resolve the family, register for exit records of every CPU.  Records
 * that arrive while it waits for the kernel's answers go to cb.  0 or
 * -errno (-EPERM without CAP_NET_ADMIN, -ENOENT without the family). */
int ts_open(struct ts_sock *ts, void *buf, size_t cap, ts_cb *cb, void *arg);
void ts_close(struct ts_sock *ts);
/* Registers (on) or deregisters the exit records of every CPU. */
int ts_listen(struct ts_sock *ts, int on);

/* Read one datagram and pass its record to cb: 1 when one was read, 0 when
 * nothing is queued, -ENOBUFS when records were dropped, or -errno. */
int ts_recv(struct ts_sock *ts, void *buf, size_t cap, ts_cb *cb, void *arg);

/* Parse one datagram from the kernel.  Returns the number of records
 * passed to cb, or -EINVAL when it is malformed (records before the fault
 * were passed).  Messages of other families and types are skipped. */
int ts_parse(const void *buf, size_t len, uint16_t family, ts_cb *cb, void *arg);

/* The CPU list to register ("0-3"), from sysfs (possible, else online),
 * else sysconf.  0 or -errno. */
int ts_cpumask(char *out, size_t cap);

/* ---- proc connector -------------------------------------------------- */

typedef void cn_cb(void *arg, const struct proc_ev *ev);

/* Parse one connector datagram; cb for each process-level FORK, EXEC and
 * EXIT (no accounting).  Returns the number passed to cb, or -EINVAL when
 * it is malformed (events before the fault were passed). */
int cn_parse(const void *buf, size_t len, cn_cb *cb, void *arg);

/* ---- for tests: a procevents with no sockets --------------------------- */

/* acct_on: behave as if taskstats were open (merge, hold), with the
 * family id PE_TEST_FAMILY. */
#define PE_TEST_FAMILY 0x7f
struct procevents *procevents_detached(int acct_on);
/* Feed one datagram as if read from the connector (ts = 0) or taskstats
 * (ts = 1) at now_ns (CLOCK_MONOTONIC; 0: now), then send what has waited
 * long enough; buf NULL: only that.  cb receives what procevents_read
 * would pass.  Returns the number of events passed, or -EINVAL. */
int procevents_feed(struct procevents *pe, int ts, const void *buf, size_t len, uint64_t now_ns,
		    void (*cb)(void *arg, const struct proc_ev *ev), void *arg);

/* Shrink (or grow) the connector socket's receive buffer, to make it
 * overflow on purpose.  0 or -errno. */
int procevents_set_rcvbuf(struct procevents *pe, int bytes);

#endif
