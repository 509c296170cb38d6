/*
 * procevents on Linux: the connector and taskstats parsers on literal
 * datagrams (well-formed, lying about their lengths, truncated), the
 * merging of accounting into EXIT on a socketless procevents, and live
 * runs against this kernel (they need CAP_NET_ADMIN: skipped otherwise).
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>

#include "clock.h"
#include "linux/procevents-nl.h"
#include "procevents.h"

#define AGROUP_FLAG 0x20

/* ---- capturing events -------------------------------------------------- */

#define LOG_MAX 32768

struct evlog {
	int n, dropped;
	struct proc_ev ev[LOG_MAX];
};

static struct evlog logbuf;

/* Live tests see every process on the machine (colleagues' test runs
 * included): with watching on, only events of our own process tree are
 * kept, the tree growing with each FORK from inside it. */
#define WATCH_MAX 4096
static int watching, nwatch;
static int32_t watch[WATCH_MAX];

static int watched(int32_t pid)
{
	for (int i = 0; i < nwatch; i++)
		if (watch[i] == pid)
			return 1;
	return 0;
}

static void collect(void *arg, const struct proc_ev *ev)
{
	struct evlog *l = arg;
	if (watching) {
		if (!watched(ev->pid) && !(ev->ppid > 0 && watched(ev->ppid)))
			return;
		if (ev->type == PROC_EV_FORK && !watched(ev->pid) && nwatch < WATCH_MAX)
			watch[nwatch++] = ev->pid;
	}
	if (l->n < LOG_MAX)
		l->ev[l->n++] = *ev;
	else
		l->dropped++;
}

static void log_reset(struct evlog *l)
{
	l->n = l->dropped = 0;
	watching = nwatch = 0;
}

/* Keep only our own tree from now on. */
static void log_watch_me(struct evlog *l)
{
	log_reset(l);
	watching = 1;
	watch[nwatch++] = getpid();
}

static int count_ev(const struct evlog *l, enum proc_ev_type type, int32_t pid)
{
	int n = 0;
	for (int i = 0; i < l->n; i++)
		if (l->ev[i].type == type && l->ev[i].pid == pid)
			n++;
	return n;
}

static const struct proc_ev *find_ev(const struct evlog *l, enum proc_ev_type type, int32_t pid)
{
	for (int i = 0; i < l->n; i++)
		if (l->ev[i].type == type && l->ev[i].pid == pid)
			return &l->ev[i];
	return NULL;
}

/* Tracks the callback receiving only; for parser tests. */
struct cnlog {
	int n;
	struct proc_ev ev[8];
};

static void cn_collect(void *arg, const struct proc_ev *ev)
{
	struct cnlog *l = arg;
	assert_true(l->n < 8);
	l->ev[l->n++] = *ev;
}

struct tslog {
	int n;
	struct ts_rec rec[8];
};

static void ts_collect(void *arg, const struct ts_rec *r)
{
	struct tslog *l = arg;
	assert_true(l->n < 8);
	l->rec[l->n++] = *r;
}

/* The parsers read a copy of exactly len bytes: a read past the end is an
 * AddressSanitizer error in `make check`. */
static int cn_exact(const unsigned char *b, size_t len, struct cnlog *l)
{
	unsigned char *c = malloc(len ? len : 1);
	assert_non_null(c);
	memcpy(c, b, len);
	int r = cn_parse(c, len, cn_collect, l);
	free(c);
	return r;
}

static int ts_exact(const unsigned char *b, size_t len, uint16_t family, struct tslog *l)
{
	unsigned char *c = malloc(len ? len : 1);
	assert_non_null(c);
	memcpy(c, b, len);
	int r = ts_parse(c, len, family, ts_collect, l);
	free(c);
	return r;
}

/* ---- building connector datagrams -------------------------------------- */

#define EVH offsetof(struct proc_event, event_data)

/* Appends one connector message at b+off: the event header, then evlen
 * bytes of event data.  Returns the new end. */
static size_t put_cn(unsigned char *b, size_t off, uint32_t idx, uint32_t what,
		     uint64_t ts, const void *evdata, size_t evlen)
{
	size_t cnlen = EVH + evlen;
	struct nlmsghdr h = {
		.nlmsg_len = (uint32_t)(NLMSG_HDRLEN + sizeof(struct cn_msg) + cnlen),
		.nlmsg_type = NLMSG_DONE,
	};
	struct cn_msg cm = { .id = { idx, CN_VAL_PROC }, .len = (uint16_t)cnlen };
	unsigned char ev[sizeof(struct proc_event)] = { 0 };
	memcpy(ev, &what, sizeof what);
	memcpy(ev + offsetof(struct proc_event, timestamp_ns), &ts, sizeof ts);
	memcpy(ev + EVH, evdata, evlen);
	memcpy(b + off, &h, sizeof h);
	memcpy(b + off + NLMSG_HDRLEN, &cm, sizeof cm);
	memcpy(b + off + NLMSG_HDRLEN + sizeof cm, ev, cnlen);
	return off + NLMSG_ALIGN(h.nlmsg_len);
}

static size_t cn_fork(unsigned char *b, size_t off, int ppid, int ptgid, int cpid, int ctgid)
{
	struct fork_proc_event f = { ppid, ptgid, cpid, ctgid };
	return put_cn(b, off, CN_IDX_PROC, PROC_EVENT_FORK, 111, &f, sizeof f);
}

static size_t cn_exit(unsigned char *b, size_t off, int pid, int tgid, uint32_t code, int ptgid)
{
	struct exit_proc_event e = { pid, tgid, code, 17, ptgid, ptgid };
	return put_cn(b, off, CN_IDX_PROC, PROC_EVENT_EXIT, 333, &e, sizeof e);
}

static void test_cn_events(void **state)
{
	(void)state;
	unsigned char b[1024];
	struct cnlog l = { 0 };
	size_t n;

	n = cn_fork(b, 0, 100, 100, 200, 200);
	assert_int_equal(cn_exact(b, n, &l), 1);
	assert_int_equal(l.ev[0].type, PROC_EV_FORK);
	assert_int_equal(l.ev[0].pid, 200);
	assert_int_equal(l.ev[0].ppid, 100);
	assert_int_equal(l.ev[0].ts_ns, 111);
	assert_int_equal(l.ev[0].have_acct, 0);

	/* A thread forked by thread 101 of process 100: parent_tgid counts. */
	l.n = 0;
	n = cn_fork(b, 0, 101, 100, 201, 201);
	assert_int_equal(cn_exact(b, n, &l), 1);
	assert_int_equal(l.ev[0].ppid, 100);

	/* A new thread (pid != tgid): not a process. */
	l.n = 0;
	n = cn_fork(b, 0, 100, 100, 202, 200);
	assert_int_equal(cn_exact(b, n, &l), 0);
	assert_int_equal(l.n, 0);

	struct exec_proc_event x = { 200, 200 };
	l.n = 0;
	n = put_cn(b, 0, CN_IDX_PROC, PROC_EVENT_EXEC, 222, &x, sizeof x);
	assert_int_equal(cn_exact(b, n, &l), 1);
	assert_int_equal(l.ev[0].type, PROC_EV_EXEC);
	assert_int_equal(l.ev[0].pid, 200);
	struct exec_proc_event xt = { 203, 200 };
	n = put_cn(b, 0, CN_IDX_PROC, PROC_EVENT_EXEC, 222, &xt, sizeof xt);
	assert_int_equal(cn_exact(b, n, &l), 0);

	l.n = 0;
	n = cn_exit(b, 0, 200, 200, 7 << 8, 100);
	assert_int_equal(cn_exact(b, n, &l), 1);
	assert_int_equal(l.ev[0].type, PROC_EV_EXIT);
	assert_int_equal(l.ev[0].pid, 200);
	assert_int_equal(l.ev[0].ppid, 100);
	assert_true(WIFEXITED(l.ev[0].exit_code) && WEXITSTATUS(l.ev[0].exit_code) == 7);
	assert_int_equal(l.ev[0].ts_ns, 333);

	/* A thread's exit: filtered. */
	n = cn_exit(b, 0, 204, 200, 0, 100);
	assert_int_equal(cn_exact(b, n, &l), 0);

	/* An older kernel's exit event, without the parent: still an EXIT. */
	l.n = 0;
	uint32_t old[4] = { 300, 300, 9, 17 };
	n = put_cn(b, 0, CN_IDX_PROC, PROC_EVENT_EXIT, 1, old, sizeof old);
	assert_int_equal(cn_exact(b, n, &l), 1);
	assert_int_equal(l.ev[0].ppid, 0);
	assert_true(WIFSIGNALED(l.ev[0].exit_code) && WTERMSIG(l.ev[0].exit_code) == 9);

	/* Events we do not report, the LISTEN ack, another connector. */
	uint32_t uid[4] = { 200, 200, 0, 0 };
	n = put_cn(b, 0, CN_IDX_PROC, PROC_EVENT_UID, 1, uid, sizeof uid);
	assert_int_equal(cn_exact(b, n, &l), 0);
	uint32_t ack = 0;
	n = put_cn(b, 0, CN_IDX_PROC, PROC_EVENT_NONE, 1, &ack, sizeof ack);
	assert_int_equal(cn_exact(b, n, &l), 0);
	struct fork_proc_event f = { 1, 1, 2, 2 };
	n = put_cn(b, 0, CN_IDX_PROC + 5, PROC_EVENT_FORK, 1, &f, sizeof f);
	assert_int_equal(cn_exact(b, n, &l), 0);

	/* Two messages in one datagram. */
	l.n = 0;
	n = cn_fork(b, 0, 1, 1, 500, 500);
	n = cn_exit(b, n, 500, 500, 0, 1);
	assert_int_equal(cn_exact(b, n, &l), 2);
	assert_int_equal(l.ev[0].type, PROC_EV_FORK);
	assert_int_equal(l.ev[1].type, PROC_EV_EXIT);
}

static void set_u32(unsigned char *b, size_t off, uint32_t v) { memcpy(b + off, &v, sizeof v); }
static void set_u16(unsigned char *b, size_t off, uint16_t v) { memcpy(b + off, &v, sizeof v); }

#define CN_LEN_AT (NLMSG_HDRLEN + offsetof(struct cn_msg, len))

static void test_cn_malformed(void **state)
{
	(void)state;
	unsigned char b[1024];
	struct cnlog l = { 0 };
	size_t n = cn_fork(b, 0, 100, 100, 200, 200);

	/* nlmsg_len beyond the datagram, and below a header. */
	set_u32(b, 0, (uint32_t)n + 4);
	assert_int_equal(cn_exact(b, n, &l), -EINVAL);
	set_u32(b, 0, 8);
	assert_int_equal(cn_exact(b, n, &l), -EINVAL);
	set_u32(b, 0, (uint32_t)n);

	/* cn_msg.len beyond the netlink payload. */
	set_u16(b, CN_LEN_AT, (uint16_t)(n - NLMSG_HDRLEN - sizeof(struct cn_msg) + 1));
	assert_int_equal(cn_exact(b, n, &l), -EINVAL);
	/* cn_msg.len too short for a fork event (but inside the payload). */
	set_u16(b, CN_LEN_AT, (uint16_t)(EVH + 8));
	assert_int_equal(cn_exact(b, n, &l), -EINVAL);
	set_u16(b, CN_LEN_AT, (uint16_t)(EVH - 1));
	assert_int_equal(cn_exact(b, n, &l), -EINVAL);
	assert_int_equal(l.n, 0);

	/* A netlink payload shorter than a cn_msg. */
	set_u32(b, 0, NLMSG_HDRLEN + 8);
	assert_int_equal(cn_exact(b, NLMSG_HDRLEN + 8, &l), -EINVAL);

	/* Less than a header: nothing, no error. */
	assert_int_equal(cn_exact(b, 10, &l), 0);
	assert_int_equal(cn_exact(b, 0, &l), 0);

	/* A good message, then a broken one: the first still counts. */
	n = cn_fork(b, 0, 100, 100, 200, 200);
	size_t second = n;
	n = cn_exit(b, n, 200, 200, 0, 100);
	set_u32(b, second, (uint32_t)(n - second) + 64);
	l.n = 0;
	assert_int_equal(cn_exact(b, n, &l), -EINVAL);
	assert_int_equal(l.n, 1);

	/* Every truncation and every single-byte corruption of a two-event
	 * datagram: no crash, no read outside it, at most 2 events. */
	n = cn_fork(b, 0, 100, 100, 200, 200);
	n = cn_exit(b, n, 200, 200, 0, 100);
	for (size_t cut = 0; cut <= n; cut++) {
		l.n = 0;
		int r = cn_exact(b, cut, &l);
		assert_true(r == -EINVAL || (r >= 0 && r <= 2));
	}
	unsigned char c[1024];
	for (size_t i = 0; i < n; i++) {
		for (unsigned v = 0; v < 256; v += 51) {
			memcpy(c, b, n);
			c[i] = (unsigned char)v;
			l.n = 0;
			int r = cn_exact(c, n, &l);
			assert_true(r == -EINVAL || (r >= 0 && r <= 2));
		}
	}
}

/* ---- building taskstats datagrams -------------------------------------- */

#define FAM 0x33
#define KSTATS 560   /* what 6.18 sends (version 16) */

static size_t put_attr(unsigned char *b, size_t off, uint16_t type, const void *d, size_t dlen)
{
	struct nlattr a = { .nla_len = (uint16_t)(NLA_HDRLEN + dlen), .nla_type = type };
	memcpy(b + off, &a, sizeof a);
	if (dlen)
		memcpy(b + off + NLA_HDRLEN, d, dlen);
	return off + NLA_ALIGN(a.nla_len);
}

/* An aggregate nest (AGGR_PID with PID, or AGGR_TGID with TGID) holding a
 * stats payload of stlen bytes that starts with *st. */
static size_t put_aggr(unsigned char *b, size_t off, uint16_t aggr, uint16_t idt, uint32_t id,
		       const struct taskstats *st, size_t stlen)
{
	unsigned char pay[1024] = { 0 };
	memcpy(pay, st, stlen < sizeof *st ? stlen : sizeof *st);
	size_t start = off;
	off += NLA_HDRLEN;
	off = put_attr(b, off, idt, &id, sizeof id);
	off = put_attr(b, off, TASKSTATS_TYPE_STATS, pay, stlen);
	struct nlattr a = { .nla_len = (uint16_t)(off - start), .nla_type = aggr };
	memcpy(b + start, &a, sizeof a);
	return off;
}

/* One exit message: the thread's record and, when tg, the process's. */
static size_t ts_msg(unsigned char *b, uint16_t family, const struct taskstats *pid, size_t plen,
		     const struct taskstats *tg, size_t tlen)
{
	size_t off = NLMSG_HDRLEN;
	struct genlmsghdr g = { .cmd = TASKSTATS_CMD_NEW, .version = 1 };
	memcpy(b + off, &g, sizeof g);
	off += GENL_HDRLEN;
	off = put_aggr(b, off, TASKSTATS_TYPE_AGGR_PID, TASKSTATS_TYPE_PID, pid->ac_pid, pid, plen);
	if (tg)
		off = put_aggr(b, off, TASKSTATS_TYPE_AGGR_TGID, TASKSTATS_TYPE_TGID, pid->ac_tgid, tg, tlen);
	struct nlmsghdr h = { .nlmsg_len = (uint32_t)off, .nlmsg_type = family };
	memcpy(b, &h, sizeof h);
	return off;
}

static struct taskstats mk_ts(uint16_t version, uint32_t pid, uint32_t tgid, uint32_t ppid,
			      uint8_t flag, const char *comm)
{
	struct taskstats s;
	memset(&s, 0, sizeof s);
	s.version = version;
	s.ac_pid = pid;
	s.ac_tgid = tgid;
	s.ac_ppid = ppid;
	s.ac_flag = flag;
	snprintf(s.ac_comm, sizeof s.ac_comm, "%s", comm);
	s.ac_utime = 1500000;    /* µs */
	s.ac_stime = 250000;
	s.ac_etime = 2000000;
	s.hiwater_rss = 2048;    /* KB */
	s.read_bytes = 4096;
	s.write_bytes = 8192;
	return s;
}

static void test_ts_records(void **state)
{
	(void)state;
	unsigned char b[4096];
	struct tslog l = { 0 };

	/* Single-threaded process, struct larger than our header's. */
	struct taskstats s = mk_ts(16, 400, 400, 1, AGROUP_FLAG, "short");
	size_t n = ts_msg(b, FAM, &s, KSTATS, NULL, 0);
	assert_int_equal(ts_exact(b, n, FAM, &l), 1);
	struct ts_rec *r = &l.rec[0];
	assert_int_equal(r->kind, TS_PROCESS);
	assert_int_equal(r->pid, 400);
	assert_int_equal(r->tgid, 400);
	assert_int_equal(r->ppid, 1);
	assert_int_equal(r->acct, PROC_ACCT_CPU | PROC_ACCT_RSS | PROC_ACCT_IO | PROC_ACCT_COMM);
	assert_true(r->utime_s == 1.5 && r->stime_s == 0.25);
	assert_int_equal(r->hiwater_rss, 2048 * 1024);
	assert_int_equal(r->read_bytes, 4096);
	assert_int_equal(r->write_bytes, 8192);
	assert_string_equal(r->comm, "short");

	/* Another family, another command: not ours. */
	assert_int_equal(ts_exact(b, n, FAM + 1, &l), 0);

	/* A thread, and the main thread while others live on. */
	l.n = 0;
	s = mk_ts(16, 402, 401, 1, 0, "worker");
	n = ts_msg(b, FAM, &s, KSTATS, NULL, 0);
	assert_int_equal(ts_exact(b, n, FAM, &l), 1);
	assert_int_equal(l.rec[0].kind, TS_THREAD);
	assert_int_equal(l.rec[0].acct, 0);
	s = mk_ts(16, 401, 401, 1, 0, "main");
	n = ts_msg(b, FAM, &s, KSTATS, NULL, 0);
	assert_int_equal(ts_exact(b, n, FAM, &l), 1);
	assert_int_equal(l.rec[1].kind, TS_LEADER);
	assert_int_equal(l.rec[1].acct, PROC_ACCT_COMM);
	assert_string_equal(l.rec[1].comm, "main");

	/* The last thread of a multi-threaded process: CPU from the process
	 * record, RSS and name from the thread's, no I/O. */
	l.n = 0;
	s = mk_ts(16, 403, 401, 1, AGROUP_FLAG | 0x10, "worker");
	struct taskstats t;
	memset(&t, 0, sizeof t);
	t.version = 16;
	t.ac_utime = 8000;
	t.ac_etime = 41044;
	n = ts_msg(b, FAM, &s, KSTATS, &t, KSTATS);
	assert_int_equal(ts_exact(b, n, FAM, &l), 1);
	r = &l.rec[0];
	assert_int_equal(r->kind, TS_PROCESS);
	assert_int_equal(r->pid, 403);
	assert_int_equal(r->tgid, 401);
	assert_int_equal(r->acct, PROC_ACCT_CPU | PROC_ACCT_RSS | PROC_ACCT_COMM);
	assert_true(r->utime_s == 0.008 && r->stime_s == 0);
	assert_int_equal(r->hiwater_rss, 2048 * 1024);
	assert_int_equal(r->read_bytes, 0);

	/* A kernel that sums only delay accounting per process: no CPU. */
	l.n = 0;
	memset(&t, 0, sizeof t);
	t.cpu_count = 5;
	n = ts_msg(b, FAM, &s, KSTATS, &t, KSTATS);
	assert_int_equal(ts_exact(b, n, FAM, &l), 1);
	assert_int_equal(l.rec[0].acct, PROC_ACCT_RSS | PROC_ACCT_COMM);

	/* Version 11 (no ac_tgid, no AGROUP): the pid's record stands for
	 * the process; version 1 (delay accounting only): no fields. */
	l.n = 0;
	s = mk_ts(11, 404, 0, 1, 0, "old");
	n = ts_msg(b, FAM, &s, offsetof(struct taskstats, ac_tgid), NULL, 0);
	assert_int_equal(ts_exact(b, n, FAM, &l), 1);
	assert_int_equal(l.rec[0].kind, TS_PROCESS);
	assert_int_equal(l.rec[0].tgid, 404);
	assert_int_equal(l.rec[0].acct, PROC_ACCT_CPU | PROC_ACCT_RSS | PROC_ACCT_IO | PROC_ACCT_COMM);
	s = mk_ts(1, 405, 0, 1, 0, "v1");
	n = ts_msg(b, FAM, &s, offsetof(struct taskstats, ac_comm), NULL, 0);
	assert_int_equal(ts_exact(b, n, FAM, &l), 1);
	assert_int_equal(l.rec[1].acct, 0);
	/* A version that claims the fields in a payload that stops short:
	 * only what the payload covers. */
	s = mk_ts(16, 406, 406, 1, AGROUP_FLAG, "cut");
	n = ts_msg(b, FAM, &s, offsetof(struct taskstats, coremem), NULL, 0);
	assert_int_equal(ts_exact(b, n, FAM, &l), 1);
	assert_int_equal(l.rec[2].kind, TS_PROCESS);   /* v16 flag, but no ac_tgid: pid's own */
	assert_int_equal(l.rec[2].acct, PROC_ACCT_CPU | PROC_ACCT_COMM);

	/* A comm with no terminating NUL is cut to 31 bytes. */
	l.n = 0;
	s = mk_ts(16, 407, 407, 1, AGROUP_FLAG, "");
	memset(s.ac_comm, 'x', sizeof s.ac_comm);
	n = ts_msg(b, FAM, &s, KSTATS, NULL, 0);
	assert_int_equal(ts_exact(b, n, FAM, &l), 1);
	assert_int_equal(strlen(l.rec[0].comm), 31);
}

static void test_ts_malformed(void **state)
{
	(void)state;
	unsigned char b[4096], c[4096];
	struct tslog l = { 0 };
	struct taskstats s = mk_ts(16, 400, 400, 1, AGROUP_FLAG, "x");
	size_t n = ts_msg(b, FAM, &s, KSTATS, NULL, 0);
	size_t aggr = NLMSG_HDRLEN + GENL_HDRLEN;

	/* The aggregate's nla_len beyond the message. */
	memcpy(c, b, n);
	set_u16(c, aggr, (uint16_t)(n - aggr + 4));
	assert_int_equal(ts_exact(c, n, FAM, &l), -EINVAL);
	/* Below an attribute header. */
	set_u16(c, aggr, 2);
	assert_int_equal(ts_exact(c, n, FAM, &l), -EINVAL);
	/* The STATS attribute longer than its nest. */
	memcpy(c, b, n);
	set_u16(c, aggr + NLA_HDRLEN + NLA_ALIGN(NLA_HDRLEN + 4), (uint16_t)(KSTATS + 64));
	assert_int_equal(ts_exact(c, n, FAM, &l), -EINVAL);
	/* An aggregate without its STATS, and a pid attribute too short. */
	memcpy(c, b, n);
	set_u16(c, aggr, NLA_HDRLEN + NLA_ALIGN(NLA_HDRLEN + 4));
	assert_int_equal(ts_exact(c, n, FAM, &l), -EINVAL);
	memcpy(c, b, n);
	set_u16(c, aggr + NLA_HDRLEN, NLA_HDRLEN + 2);
	assert_int_equal(ts_exact(c, n, FAM, &l), -EINVAL);
	/* nlmsg_len beyond the datagram; a message shorter than its genl header. */
	memcpy(c, b, n);
	set_u32(c, 0, (uint32_t)n + 8);
	assert_int_equal(ts_exact(c, n, FAM, &l), -EINVAL);
	set_u32(c, 0, NLMSG_HDRLEN + 2);
	assert_int_equal(ts_exact(c, NLMSG_HDRLEN + 2, FAM, &l), 0);
	assert_int_equal(l.n, 0);

	/* Every truncation and a sweep of single-byte corruptions. */
	for (size_t cut = 0; cut <= n; cut++) {
		l.n = 0;
		int r = ts_exact(b, cut, FAM, &l);
		assert_true(r == -EINVAL || r == 0 || r == 1);
	}
	for (size_t i = 0; i < 64 && i < n; i++) {
		for (unsigned v = 0; v < 256; v += 17) {
			memcpy(c, b, n);
			c[i] = (unsigned char)v;
			l.n = 0;
			int r = ts_exact(c, n, FAM, &l);
			assert_true(r == -EINVAL || r == 0 || r == 1);
		}
	}
}

/* ---- merging, on a procevents without sockets --------------------------- */

static int feed_ts_at(struct procevents *pe, const struct taskstats *s, const struct taskstats *tg,
		      uint64_t now, struct evlog *l)
{
	unsigned char b[4096];
	size_t n = ts_msg(b, PE_TEST_FAMILY, s, KSTATS, tg, KSTATS);
	return procevents_feed(pe, 1, b, n, now, collect, l);
}

static int feed_ts(struct procevents *pe, const struct taskstats *s, const struct taskstats *tg,
		   struct evlog *l)
{
	return feed_ts_at(pe, s, tg, 0, l);
}

static int feed_exit_at(struct procevents *pe, int pid, int code, int ppid, uint64_t now,
			struct evlog *l)
{
	unsigned char b[256];
	size_t n = cn_exit(b, 0, pid, pid, (uint32_t)code, ppid);
	return procevents_feed(pe, 0, b, n, now, collect, l);
}

static int feed_exit(struct procevents *pe, int pid, int code, int ppid, struct evlog *l)
{
	return feed_exit_at(pe, pid, code, ppid, 0, l);
}

static int feed_exec(struct procevents *pe, int pid, struct evlog *l)
{
	unsigned char b[256];
	struct exec_proc_event x = { pid, pid };
	size_t n = put_cn(b, 0, CN_IDX_PROC, PROC_EVENT_EXEC, 444, &x, sizeof x);
	return procevents_feed(pe, 0, b, n, 0, collect, l);
}

#define ALL_ACCT (PROC_ACCT_CPU | PROC_ACCT_RSS | PROC_ACCT_IO | PROC_ACCT_COMM)
#define MT_ACCT (PROC_ACCT_CPU | PROC_ACCT_RSS | PROC_ACCT_COMM)

static void test_merge(void **state)
{
	(void)state;
	struct evlog *l = &logbuf;
	struct procevents *pe = procevents_detached(1);
	assert_non_null(pe);
	assert_int_equal(procevents_acct_status(pe), 0);
	log_reset(l);

	/* Single-threaded: the record comes first, the EXIT carries it. */
	struct taskstats s = mk_ts(16, 600, 600, 1, AGROUP_FLAG, "one");
	s.ac_exitcode = 3 << 8;
	assert_int_equal(feed_ts(pe, &s, NULL, l), 0);
	assert_int_equal(feed_exit(pe, 600, 3 << 8, 1, l), 1);
	const struct proc_ev *e = &l->ev[0];
	assert_int_equal(e->type, PROC_EV_EXIT);
	assert_int_equal(e->pid, 600);
	assert_int_equal(e->exit_code, 3 << 8);
	assert_true(e->have_acct);
	assert_int_equal(e->acct, ALL_ACCT);
	assert_string_equal(e->comm, "one");
	assert_true(e->utime_s == 1.5 && e->stime_s == 0.25);
	assert_int_equal(e->hiwater_rss, 2048 * 1024);
	/* Used up: a second EXIT of the same pid has none. */
	assert_int_equal(feed_exit(pe, 600, 0, 1, l), 1);
	assert_false(l->ev[1].have_acct);
	assert_int_equal(l->ev[1].acct, 0);

	/* Main thread first: the EXIT waits for the last thread's record,
	 * then carries the process's CPU and the main thread's name. */
	log_reset(l);
	s = mk_ts(16, 610, 610, 1, 0, "main");
	assert_int_equal(feed_ts(pe, &s, NULL, l), 0);
	assert_int_equal(feed_exit(pe, 610, 6 << 8, 1, l), 0);   /* held */
	s = mk_ts(16, 612, 610, 1, AGROUP_FLAG, "worker");
	s.ac_exitcode = 6 << 8;
	struct taskstats t;
	memset(&t, 0, sizeof t);
	t.version = 16;
	t.ac_utime = 3000000;
	t.ac_etime = 1;
	assert_int_equal(feed_ts(pe, &s, &t, l), 1);
	e = &l->ev[0];
	assert_int_equal(e->type, PROC_EV_EXIT);
	assert_int_equal(e->pid, 610);
	assert_int_equal(e->ppid, 1);
	assert_int_equal(e->exit_code, 6 << 8);
	assert_int_equal(e->ts_ns, 333);   /* the main thread's exit */
	assert_true(e->have_acct);
	assert_int_equal(e->acct, MT_ACCT);
	assert_string_equal(e->comm, "main");
	assert_true(e->utime_s == 3.0);
	/* Only once. */
	assert_int_equal(feed_ts(pe, &s, &t, l), 0);
	assert_int_equal(l->n, 1);

	/* pthread_exit() in main: it exited 0, the process with the last
	 * thread's status. */
	log_reset(l);
	s = mk_ts(16, 615, 615, 1, 0, "main");
	assert_int_equal(feed_ts(pe, &s, NULL, l), 0);
	assert_int_equal(feed_exit(pe, 615, 0, 1, l), 0);
	s = mk_ts(16, 616, 615, 1, AGROUP_FLAG, "main");
	s.ac_exitcode = 9 << 8;
	assert_int_equal(feed_ts(pe, &s, &t, l), 1);
	assert_int_equal(l->ev[0].exit_code, 9 << 8);

	/* A kernel that does not sum CPU per process: RSS and name only, and
	 * have_acct (CPU and RSS) not set. */
	log_reset(l);
	s = mk_ts(16, 617, 617, 1, 0, "main");
	assert_int_equal(feed_ts(pe, &s, NULL, l), 0);
	assert_int_equal(feed_exit(pe, 617, 0, 1, l), 0);
	struct taskstats delay_only;
	memset(&delay_only, 0, sizeof delay_only);
	s = mk_ts(16, 618, 617, 1, AGROUP_FLAG, "w");
	assert_int_equal(feed_ts(pe, &s, &delay_only, l), 1);
	assert_false(l->ev[0].have_acct);
	assert_int_equal(l->ev[0].acct, PROC_ACCT_RSS | PROC_ACCT_COMM);

	/* Main thread last (threads joined): merged at once. */
	log_reset(l);
	s = mk_ts(16, 620, 620, 1, AGROUP_FLAG, "joined");
	assert_int_equal(feed_ts(pe, &s, &t, l), 0);
	assert_int_equal(feed_exit(pe, 620, 0, 1, l), 1);
	assert_int_equal(l->ev[0].acct, MT_ACCT);
	assert_string_equal(l->ev[0].comm, "joined");

	/* The last thread's record read before the EXIT: merged at once. */
	log_reset(l);
	s = mk_ts(16, 625, 625, 1, 0, "main");
	assert_int_equal(feed_ts(pe, &s, NULL, l), 0);
	s = mk_ts(16, 626, 625, 1, AGROUP_FLAG, "worker");
	assert_int_equal(feed_ts(pe, &s, &t, l), 0);
	assert_int_equal(feed_exit(pe, 625, 0, 1, l), 1);
	assert_int_equal(l->ev[0].acct, MT_ACCT);
	assert_string_equal(l->ev[0].comm, "main");

	/* A held EXIT whose record never comes goes out after the hold,
	 * with the name; not before. */
	log_reset(l);
	uint64_t t0 = clock_mono_ns();
	s = mk_ts(16, 640, 640, 1, 0, "stuck");
	assert_int_equal(feed_ts_at(pe, &s, NULL, t0, l), 0);
	assert_int_equal(feed_exit_at(pe, 640, 0, 1, t0, l), 0);
	assert_int_equal(procevents_feed(pe, 0, NULL, 0, t0 + 900000000ull, collect, l), 0);
	assert_int_equal(procevents_feed(pe, 0, NULL, 0, t0 + 1000000000ull, collect, l), 1);
	assert_int_equal(l->ev[0].type, PROC_EV_EXIT);
	assert_int_equal(l->ev[0].pid, 640);
	assert_false(l->ev[0].have_acct);
	assert_int_equal(l->ev[0].acct, PROC_ACCT_COMM);
	assert_string_equal(l->ev[0].comm, "stuck");
	/* The record, late, is not an event. */
	s = mk_ts(16, 641, 640, 1, AGROUP_FLAG, "w");
	assert_int_equal(feed_ts_at(pe, &s, &t, t0 + 1100000000ull, l), 0);

	/* exec from another thread: the kernel kills the main thread (exit
	 * status 0, its record says other threads live on), and the exec'ing
	 * thread goes on as the same pid.  That exit is no process exit. */
	log_reset(l);
	s = mk_ts(16, 650, 650, 1, 0, "old");
	assert_int_equal(feed_ts(pe, &s, NULL, l), 0);
	assert_int_equal(feed_exit(pe, 650, 0, 1, l), 0);        /* held */
	assert_int_equal(feed_exec(pe, 650, l), 1);              /* and dropped */
	assert_int_equal(procevents_feed(pe, 0, NULL, 0, clock_mono_ns() + 2000000000ull, collect, l), 0);
	assert_int_equal(l->n, 1);
	assert_int_equal(l->ev[0].type, PROC_EV_EXEC);
	/* ... when what it exec'd ended before we read the main thread's
	 * exit: its record (pid == tgid, the last thread) comes first. */
	log_reset(l);
	s = mk_ts(16, 651, 651, 1, 0, "old");
	assert_int_equal(feed_ts(pe, &s, NULL, l), 0);
	s = mk_ts(16, 651, 651, 1, AGROUP_FLAG, "true");
	assert_int_equal(feed_ts(pe, &s, &t, l), 0);
	assert_int_equal(feed_exit(pe, 651, 0, 1, l), 0);        /* the main thread's */
	assert_int_equal(feed_exec(pe, 651, l), 1);
	assert_int_equal(feed_exit(pe, 651, 0, 1, l), 1);        /* the real one */
	assert_int_equal(l->ev[1].type, PROC_EV_EXIT);
	assert_true(l->ev[1].have_acct);
	assert_string_equal(l->ev[1].comm, "true");
	/* ... when the main thread's exit was held already. */
	log_reset(l);
	s = mk_ts(16, 652, 652, 1, 0, "old");
	assert_int_equal(feed_ts(pe, &s, NULL, l), 0);
	assert_int_equal(feed_exit(pe, 652, 0, 1, l), 0);
	s = mk_ts(16, 652, 652, 1, AGROUP_FLAG, "true");
	assert_int_equal(feed_ts(pe, &s, &t, l), 0);             /* held one dropped */
	assert_int_equal(feed_exec(pe, 652, l), 1);
	assert_int_equal(feed_exit(pe, 652, 0, 1, l), 1);
	assert_true(l->ev[1].have_acct);
	assert_string_equal(l->ev[1].comm, "true");
	/* ... and when the main thread's exit never shows as this pid (it
	 * was sent after the kernel swapped the pids: a thread's): the EXEC
	 * means no exit from before it is still to come. */
	log_reset(l);
	s = mk_ts(16, 653, 653, 1, 0, "old");
	assert_int_equal(feed_ts(pe, &s, NULL, l), 0);
	s = mk_ts(16, 653, 653, 1, AGROUP_FLAG, "true");
	assert_int_equal(feed_ts(pe, &s, &t, l), 0);
	assert_int_equal(feed_exec(pe, 653, l), 1);
	assert_int_equal(feed_exit(pe, 653, 0, 1, l), 1);
	assert_true(l->ev[1].have_acct);

	/* Another parent: the record is someone else's (pid reused). */
	log_reset(l);
	s = mk_ts(16, 630, 630, 10, AGROUP_FLAG, "other");
	assert_int_equal(feed_ts(pe, &s, NULL, l), 0);
	assert_int_equal(feed_exit(pe, 630, 0, 11, l), 1);
	assert_false(l->ev[0].have_acct);

	/* Threads' records, and records nobody exits for, fill the table:
	 * the oldest go, the newest still match. */
	log_reset(l);
	for (uint32_t p = 1000; p < 1000 + 2000; p++) {
		s = mk_ts(16, p, p, 1, AGROUP_FLAG, "many");
		assert_int_equal(feed_ts(pe, &s, NULL, l), 0);
		s = mk_ts(16, p + 100000, p, 1, 0, "thread");
		assert_int_equal(feed_ts(pe, &s, NULL, l), 0);
	}
	assert_int_equal(feed_exit(pe, 2999, 0, 1, l), 1);
	assert_true(l->ev[0].have_acct);
	assert_int_equal(feed_exit(pe, 1000, 0, 1, l), 1);
	assert_false(l->ev[1].have_acct);

	/* Held EXITs pushed out of a full table still go out. */
	log_reset(l);
	for (uint32_t p = 5000; p < 5000 + 600; p++) {
		s = mk_ts(16, p, p, 1, 0, "held");
		(void)feed_ts(pe, &s, NULL, l);
		assert_int_equal(feed_exit(pe, (int)p, 0, 1, l), 0);
	}
	assert_int_equal(l->n, 600 - 512);
	(void)procevents_feed(pe, 0, NULL, 0, clock_mono_ns() + 2000000000ull, collect, l);
	assert_int_equal(l->n, 600);
	for (int i = 0; i < l->n; i++) {
		assert_int_equal(l->ev[i].type, PROC_EV_EXIT);
		assert_int_equal(count_ev(l, PROC_EV_EXIT, l->ev[i].pid), 1);
	}

	/* FORK and EXEC pass through. */
	log_reset(l);
	unsigned char b[256];
	size_t n = cn_fork(b, 0, 1, 1, 700, 700);
	assert_int_equal(procevents_feed(pe, 0, b, n, 0, collect, l), 1);
	assert_int_equal(l->ev[0].type, PROC_EV_FORK);
	procevents_close(pe);

	/* Without taskstats: plain EXITs, never held. */
	pe = procevents_detached(0);
	assert_non_null(pe);
	assert_int_equal(procevents_acct_status(pe), -ENOENT);
	log_reset(l);
	assert_int_equal(feed_exit(pe, 800, 0, 1, l), 1);
	assert_false(l->ev[0].have_acct);
	procevents_close(pe);
}

/* ---- live --------------------------------------------------------------- */

/* Opens, or skips the test with the reason. */
static struct procevents *live_open(void)
{
	struct procevents *pe = NULL;
	int r = procevents_open(&pe);
	if (r == -EPERM) {
		/* Linux before 6.6 lets only CAP_NET_ADMIN join the proc
		 * connector's group; 6.6 and later let anyone. */
		print_message("[  SKIP    ] not permitted (%s): not root, and this kernel wants "
			      "CAP_NET_ADMIN for the proc connector\n", strerror(-r));
		skip();
	}
	if (r == -EPROTONOSUPPORT) {
		print_message("[  SKIP    ] no proc connector here (network namespace or "
			      "CONFIG_PROC_EVENTS off)\n");
		skip();
	}
	if (r)
		fail_msg("procevents_open: %s", strerror(-r));
	if (procevents_acct_status(pe))
		print_message("taskstats not available (%s%s): no accounting checks\n",
			      strerror(-procevents_acct_status(pe)),
			      geteuid() ? ", not root" : "");
	return pe;
}

/* Reads events into l until done(l, ctx) or timeout_ms.  Returns how many
 * reads reported -ENOBUFS. */
static int live_read(struct procevents *pe, struct evlog *l, int timeout_ms,
		     int (*done)(const struct evlog *, void *), void *ctx)
{
	uint64_t deadline = clock_mono_ns() + (uint64_t)timeout_ms * 1000000u;
	int nobufs = 0;
	for (;;) {
		struct pollfd p = { .fd = procevents_fd(pe), .events = POLLIN };
		int r = poll(&p, 1, 20);
		assert_true(r >= 0 || errno == EINTR);
		r = procevents_read(pe, collect, l);
		if (r == -ENOBUFS)
			nobufs++;
		else if (r < 0)
			fail_msg("procevents_read: %s", strerror(-r));
		if (done && done(l, ctx))
			return nobufs;
		if (clock_mono_ns() >= deadline)
			return nobufs;
	}
}

struct tree {
	pid_t child;
};

static int tree_done(const struct evlog *l, void *ctx)
{
	const struct tree *t = ctx;
	return count_ev(l, PROC_EV_EXIT, t->child) > 0;
}

#define GRANDCHILDREN 50

static void test_live_tree(void **state)
{
	(void)state;
	struct procevents *pe = live_open();
	struct evlog *l = &logbuf;
	int acct = procevents_acct_status(pe) == 0;
	log_watch_me(l);
	pid_t me = getpid();
	uint64_t t0 = clock_mono_ns();

	pid_t c = fork();
	assert_true(c >= 0);
	if (c == 0) {
		for (int i = 0; i < GRANDCHILDREN; i++) {
			pid_t g = fork();
			if (g == 0) {
				usleep(5000);
				if (i % 2 == 0) {
					execl("/bin/true", "true", (char *)NULL);
					_exit(127);
				}
				_exit(3);
			}
			if (g < 0)
				_exit(100);
		}
		while (wait(NULL) > 0)
			;
		_exit(7);
	}
	uint64_t t1 = clock_mono_ns();
	struct tree t = { c };
	int nobufs = live_read(pe, l, 5000, tree_done, &t);
	/* One more pass for stragglers. */
	(void)live_read(pe, l, 50, NULL, NULL);
	int st;
	assert_int_equal(waitpid(c, &st, 0), c);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 7);
	procevents_close(pe);

	assert_int_equal(nobufs, 0);
	assert_int_equal(l->dropped, 0);

	/* The child's fork, with our pid as parent and a kernel time in the
	 * window around fork(). */
	assert_int_equal(count_ev(l, PROC_EV_FORK, c), 1);
	const struct proc_ev *f = find_ev(l, PROC_EV_FORK, c);
	assert_int_equal(f->ppid, me);
	assert_true(f->ts_ns >= t0 && f->ts_ns <= t1);

	/* The grandchildren: forked by c, half exec, all exit. */
	int32_t gc[GRANDCHILDREN * 2];
	int ngc = 0;
	for (int i = 0; i < l->n; i++)
		if (l->ev[i].type == PROC_EV_FORK && l->ev[i].ppid == c && ngc < GRANDCHILDREN * 2)
			gc[ngc++] = l->ev[i].pid;
	assert_int_equal(ngc, GRANDCHILDREN);
	int execs = 0, st3 = 0, st0 = 0, gacct = 0;
	for (int i = 0; i < ngc; i++) {
		execs += count_ev(l, PROC_EV_EXEC, gc[i]);
		assert_int_equal(count_ev(l, PROC_EV_EXIT, gc[i]), 1);
		const struct proc_ev *x = find_ev(l, PROC_EV_EXIT, gc[i]);
		assert_int_equal(x->ppid, c);
		assert_true(WIFEXITED(x->exit_code));
		if (WEXITSTATUS(x->exit_code) == 3)
			st3++;
		else if (WEXITSTATUS(x->exit_code) == 0)
			st0++;
		if (x->have_acct) {
			gacct++;
			int execd = count_ev(l, PROC_EV_EXEC, gc[i]) > 0;
			assert_true(x->acct & PROC_ACCT_COMM);
			if (execd)
				assert_string_equal(x->comm, "true");
		}
	}
	assert_int_equal(execs, GRANDCHILDREN / 2);
	assert_int_equal(st3, GRANDCHILDREN / 2);
	assert_int_equal(st0, GRANDCHILDREN / 2);

	/* The child's exit: status 7, and its accounting. */
	assert_int_equal(count_ev(l, PROC_EV_EXIT, c), 1);
	const struct proc_ev *x = find_ev(l, PROC_EV_EXIT, c);
	assert_true(WIFEXITED(x->exit_code));
	assert_int_equal(WEXITSTATUS(x->exit_code), 7);
	assert_int_equal(x->ppid, me);
	assert_true(x->ts_ns > f->ts_ns);
	print_message("tree: %d events read; child exit acct=%#x comm=%s utime=%.3f stime=%.3f "
		      "hiwater_rss=%llu; %d/%d grandchildren with accounting\n",
		      l->n, x->acct, x->comm, x->utime_s, x->stime_s,
		      (unsigned long long)x->hiwater_rss, gacct, ngc);
	if (acct) {
		assert_true(x->have_acct);
		assert_int_equal(x->acct, PROC_ACCT_CPU | PROC_ACCT_RSS | PROC_ACCT_IO | PROC_ACCT_COMM);
		assert_true(x->comm[0] != 0);
		assert_true(x->utime_s >= 0 && x->stime_s >= 0 && x->utime_s + x->stime_s >= 0);
		assert_true(x->hiwater_rss > 0);
		/* Single-threaded: every record was there before its EXIT. */
		assert_int_equal(gacct, ngc);
	}
}

/* A child that exits with code at once; returns its pid, reaped. */
static pid_t quick_child(int code)
{
	pid_t c = fork();
	assert_true(c >= 0);
	if (c == 0)
		_exit(code);
	int st;
	assert_int_equal(waitpid(c, &st, 0), c);
	return c;
}

/* Paused, the kernel sends nothing (the child's fork and exit are never
 * seen, even with other listeners on the machine); resumed, events and
 * their accounting come again.  Twice, and a repeated call is a no-op. */
static void test_live_pause(void **state)
{
	(void)state;
	struct procevents *pe = live_open();
	struct evlog *l = &logbuf;
	int acct = procevents_acct_status(pe) == 0;
	for (int round = 0; round < 2; round++) {
		assert_int_equal(procevents_listen(pe, 0), 0);
		assert_int_equal(procevents_listen(pe, 0), 0);
		assert_false(procevents_listening(pe));
		(void)live_read(pe, l, 50, NULL, NULL);   /* what came before */
		log_watch_me(l);
		pid_t quiet = quick_child(5);
		(void)live_read(pe, l, 200, NULL, NULL);
		assert_int_equal(count_ev(l, PROC_EV_FORK, quiet), 0);
		assert_int_equal(count_ev(l, PROC_EV_EXIT, quiet), 0);

		assert_int_equal(procevents_listen(pe, 1), 0);
		assert_int_equal(procevents_listen(pe, 1), 0);
		assert_true(procevents_listening(pe));
		struct tree t = { quick_child(6) };
		(void)live_read(pe, l, 5000, tree_done, &t);
		assert_int_equal(count_ev(l, PROC_EV_FORK, t.child), 1);
		assert_int_equal(count_ev(l, PROC_EV_EXIT, t.child), 1);
		const struct proc_ev *x = find_ev(l, PROC_EV_EXIT, t.child);
		assert_int_equal(WEXITSTATUS(x->exit_code), 6);
		if (acct)
			assert_true(x->have_acct);
	}
	procevents_close(pe);
}

/* A child with 4 threads: it reports their tids through a pipe, then
 * either joins them (the main thread exits last) or exits under them. */
static int tid_pipe[2];

static void *thread_main(void *arg)
{
	int32_t tid = (int32_t)syscall(SYS_gettid);
	if (write(tid_pipe[1], &tid, sizeof tid) != sizeof tid)
		_exit(101);
	static volatile unsigned long spin;
	for (unsigned long i = 0; i < 2000000; i++)
		spin = spin + i;
	usleep(arg ? 10 * 1000 * 1000 : 20 * 1000);
	return NULL;
}

static pid_t threaded_child(int join, int code)
{
	pid_t c = fork();
	assert_true(c >= 0);
	if (c)
		return c;
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		if (pthread_create(&th[i], NULL, thread_main, join ? NULL : (void *)1))
			_exit(102);
	if (join) {
		for (int i = 0; i < 4; i++)
			pthread_join(th[i], NULL);
	} else {
		usleep(30 * 1000);
	}
	_exit(code);
}

struct threads {
	pid_t c[2];
	int acct;
};

static int acct_count(const struct evlog *l, pid_t p)
{
	int n = 0;
	for (int i = 0; i < l->n; i++)
		if (l->ev[i].type == PROC_EV_EXIT && l->ev[i].pid == p && l->ev[i].acct)
			n++;
	return n;
}

static int threads_done(const struct evlog *l, void *ctx)
{
	const struct threads *t = ctx;
	for (int k = 0; k < 2; k++) {
		if (!count_ev(l, PROC_EV_EXIT, t->c[k]))
			return 0;
		if (t->acct && !acct_count(l, t->c[k]))
			return 0;
	}
	return 1;
}

static void test_live_threads(void **state)
{
	(void)state;
	struct procevents *pe = live_open();
	struct evlog *l = &logbuf;
	log_watch_me(l);
	assert_int_equal(pipe(tid_pipe), 0);
	struct threads t = { .acct = procevents_acct_status(pe) == 0 };
	t.c[0] = threaded_child(1, 5);
	t.c[1] = threaded_child(0, 6);
	close(tid_pipe[1]);
	int32_t tids[8];
	for (int i = 0; i < 8; i++)
		assert_int_equal(read(tid_pipe[0], &tids[i], sizeof tids[i]), (ssize_t)sizeof tids[i]);
	close(tid_pipe[0]);

	int nobufs = live_read(pe, l, 5000, threads_done, &t);
	(void)live_read(pe, l, 100, NULL, NULL);
	int st;
	assert_int_equal(waitpid(t.c[0], &st, 0), t.c[0]);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 5);
	assert_int_equal(waitpid(t.c[1], &st, 0), t.c[1]);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 6);
	procevents_close(pe);
	assert_int_equal(nobufs, 0);

	for (int i = 0; i < 8; i++) {
		assert_int_equal(count_ev(l, PROC_EV_FORK, tids[i]), 0);
		assert_int_equal(count_ev(l, PROC_EV_EXEC, tids[i]), 0);
		assert_int_equal(count_ev(l, PROC_EV_EXIT, tids[i]), 0);
	}
	for (int k = 0; k < 2; k++) {
		pid_t c = t.c[k];
		assert_int_equal(count_ev(l, PROC_EV_FORK, c), 1);
		assert_int_equal(find_ev(l, PROC_EV_FORK, c)->ppid, getpid());
		int forks_by_c = 0;
		for (int i = 0; i < l->n; i++)
			if (l->ev[i].type == PROC_EV_FORK && l->ev[i].ppid == c)
				forks_by_c++;
		assert_int_equal(forks_by_c, 0);
		assert_int_equal(count_ev(l, PROC_EV_EXIT, c), 1);
		const struct proc_ev *x = find_ev(l, PROC_EV_EXIT, c);
		assert_true(WIFEXITED(x->exit_code));
		assert_int_equal(WEXITSTATUS(x->exit_code), 5 + k);
		print_message("%s child: exit acct=%#x comm=%s utime=%.3f stime=%.3f hiwater_rss=%llu\n",
			      k ? "exits-under-threads" : "joins-threads", x->acct, x->comm,
			      x->utime_s, x->stime_s, (unsigned long long)x->hiwater_rss);
		if (t.acct) {
			assert_true((x->acct & (PROC_ACCT_RSS | PROC_ACCT_COMM)) ==
				    (PROC_ACCT_RSS | PROC_ACCT_COMM));
			assert_false(x->acct & PROC_ACCT_IO);
			assert_true(x->hiwater_rss > 0);
			assert_string_equal(x->comm, "test-procevents");
			/* The 4 threads spun: the process's CPU counts them. */
			if (x->acct & PROC_ACCT_CPU)
				assert_true(x->have_acct && x->utime_s + x->stime_s >= 0);
		}
	}
}

/* The main thread leaves by pthread_exit(); the last thread exits 9 a
 * little later: with taskstats, one EXIT then, status 9.  And a thread
 * that execs: the process lives on as /bin/true, one EXIT at its end. */
static void *late_exit(void *arg)
{
	(void)arg;
	usleep(150 * 1000);
	_exit(9);   /* exit_group(); exit() would run LeakSanitizer here */
}

static void *exec_true(void *arg)
{
	(void)arg;
	usleep(20 * 1000);
	execl("/bin/true", "true", (char *)NULL);
	_exit(127);
}

struct two {
	pid_t c[2];
};

static int two_done(const struct evlog *l, void *ctx)
{
	const struct two *t = ctx;
	return count_ev(l, PROC_EV_EXIT, t->c[0]) && count_ev(l, PROC_EV_EXIT, t->c[1]);
}

static void test_live_main_thread(void **state)
{
	(void)state;
	struct procevents *pe = live_open();
	struct evlog *l = &logbuf;
	int acct = procevents_acct_status(pe) == 0;
	log_watch_me(l);
	struct two t;
	for (int k = 0; k < 2; k++) {
		t.c[k] = fork();
		assert_true(t.c[k] >= 0);
		if (t.c[k] == 0) {
			pthread_t th;
			if (pthread_create(&th, NULL, k ? exec_true : late_exit, NULL))
				_exit(102);
			if (k)
				pause();
			pthread_exit(NULL);
		}
	}
	uint64_t t0 = clock_mono_ns();
	int nobufs = live_read(pe, l, 5000, two_done, &t);
	(void)live_read(pe, l, 1200, NULL, NULL);   /* past the hold */
	int st;
	assert_int_equal(waitpid(t.c[0], &st, 0), t.c[0]);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 9);
	assert_int_equal(waitpid(t.c[1], &st, 0), t.c[1]);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	procevents_close(pe);
	assert_int_equal(nobufs, 0);

	const struct proc_ev *x = find_ev(l, PROC_EV_EXIT, t.c[0]);
	assert_non_null(x);
	print_message("pthread_exit main: %d EXIT, status %#x, acct %#x, read %.0f ms after start\n",
		      count_ev(l, PROC_EV_EXIT, t.c[0]), x->exit_code, x->acct,
		      (double)(x->ts_ns > t0 ? x->ts_ns - t0 : 0) / 1e6);
	print_message("exec from a thread: %d EXIT, %d EXEC, last status %#x\n",
		      count_ev(l, PROC_EV_EXIT, t.c[1]), count_ev(l, PROC_EV_EXEC, t.c[1]),
		      find_ev(l, PROC_EV_EXIT, t.c[1]) ? find_ev(l, PROC_EV_EXIT, t.c[1])->exit_code : -1);
	assert_int_equal(count_ev(l, PROC_EV_EXEC, t.c[1]), 1);
	if (!acct)
		return;   /* without taskstats the kernel's early exits show */
	assert_int_equal(count_ev(l, PROC_EV_EXIT, t.c[0]), 1);
	assert_true(WIFEXITED(x->exit_code) && WEXITSTATUS(x->exit_code) == 9);
	assert_true(x->acct & PROC_ACCT_RSS);
	assert_int_equal(count_ev(l, PROC_EV_EXIT, t.c[1]), 1);
	x = find_ev(l, PROC_EV_EXIT, t.c[1]);
	assert_true(WIFEXITED(x->exit_code) && WEXITSTATUS(x->exit_code) == 0);
	assert_true(x->have_acct);
	assert_string_equal(x->comm, "true");
	/* The EXEC came before the EXIT. */
	assert_true(find_ev(l, PROC_EV_EXEC, t.c[1]) < x);
}

/* The connector overflowing: one -ENOBUFS, then events again. */
static void test_live_overflow(void **state)
{
	(void)state;
	struct procevents *pe = live_open();
	struct evlog *l = &logbuf;
	log_watch_me(l);
	assert_int_equal(procevents_set_rcvbuf(pe, 4096), 0);
	pid_t kids[300];
	for (int i = 0; i < 300; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0)
			_exit(0);
	}
	for (int i = 0; i < 300; i++)
		assert_int_equal(waitpid(kids[i], NULL, 0), kids[i]);
	int r, reads = 0, before;
	do {
		before = l->n;
		r = procevents_read(pe, collect, l);
	} while (r != -ENOBUFS && ++reads < 100);
	assert_int_equal(r, -ENOBUFS);
	/* The events read in that call went to cb all the same. */
	print_message("overflow: -ENOBUFS after %d reads; that call passed %d events, "
		      "%d of ~600 kept in all\n", reads + 1, l->n - before, l->n);
	assert_int_equal(procevents_set_rcvbuf(pe, 4 << 20), 0);
	/* Once only: the next call goes on normally. */
	r = procevents_read(pe, collect, l);
	assert_true(r >= 0);

	/* And new events still come. */
	pid_t c = fork();
	assert_true(c >= 0);
	if (c == 0)
		_exit(4);
	struct tree t = { c };
	int nb = live_read(pe, l, 2000, tree_done, &t);
	assert_int_equal(waitpid(c, NULL, 0), c);
	procevents_close(pe);
	assert_int_equal(nb, 0);
	assert_int_equal(count_ev(l, PROC_EV_FORK, c), 1);
	assert_int_equal(count_ev(l, PROC_EV_EXIT, c), 1);
}

/* As an unprivileged user (uid 65534, no capabilities): the connector
 * refuses cleanly (before Linux 6.6), or works without accounting (6.6
 * and later let anyone listen; taskstats still wants CAP_NET_ADMIN). */
enum { NR_REFUSED = 10, NR_EVENTS = 11 };

static void nr_cb(void *arg, const struct proc_ev *ev)
{
	pid_t *kid = arg;
	if (ev->pid == kid[0])
		kid[ev->type == PROC_EV_FORK ? 1 : ev->type == PROC_EV_EXIT ? 2 : 3]++;
}

static int nonroot_child(void)
{
	struct procevents *pe = NULL;
	int r = procevents_open(&pe);
	if (r == -EPERM)
		return NR_REFUSED;
	if (r < 0)
		return 100 + (-r < 100 ? -r : 99);   /* another errno */
	if (procevents_acct_status(pe) != -EPERM)
		return 2;
	pid_t kid[4] = { fork(), 0, 0, 0 };
	if (kid[0] == 0)
		_exit(0);
	if (kid[0] < 0)
		return 3;
	uint64_t deadline = clock_mono_ns() + 2000000000ull;
	while ((kid[1] < 1 || kid[2] < 1) && clock_mono_ns() < deadline) {
		struct pollfd p = { .fd = procevents_fd(pe), .events = POLLIN };
		(void)poll(&p, 1, 20);
		if (procevents_read(pe, nr_cb, kid) < 0)
			return 4;
	}
	waitpid(kid[0], NULL, 0);
	procevents_close(pe);
	return kid[1] == 1 && kid[2] == 1 ? NR_EVENTS : 5;
}

static void test_nonroot(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		int code = nonroot_child();
		print_message("as uid %d: %s\n", (int)geteuid(),
			      code == NR_REFUSED ? "refused (EPERM)" : "events, no accounting");
		assert_true(code == NR_REFUSED || code == NR_EVENTS);
		return;
	}
	pid_t c = fork();
	assert_true(c >= 0);
	if (c == 0) {
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(1);
		_exit(nonroot_child());   /* _exit: no LeakSanitizer in the child */
	}
	int st;
	assert_int_equal(waitpid(c, &st, 0), c);
	assert_true(WIFEXITED(st));
	int code = WEXITSTATUS(st);
	print_message("uid 65534: %s (%d)\n",
		      code == NR_REFUSED ? "procevents_open refused: EPERM" :
		      code == NR_EVENTS ? "events work, accounting refused: EPERM" : "unexpected",
		      code);
	assert_true(code == NR_REFUSED || code == NR_EVENTS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cn_events),
		cmocka_unit_test(test_cn_malformed),
		cmocka_unit_test(test_ts_records),
		cmocka_unit_test(test_ts_malformed),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_nonroot),
		cmocka_unit_test(test_live_tree),
		cmocka_unit_test(test_live_pause),
		cmocka_unit_test(test_live_threads),
		cmocka_unit_test(test_live_main_thread),
		cmocka_unit_test(test_live_overflow),
	};
	return cmocka_run_group_tests_name("procevents", tests, NULL, NULL);
}
