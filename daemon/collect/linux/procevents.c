/*
 * procevents on Linux: the netlink proc connector for fork/exec/exit,
 * taskstats (taskstats.c) for exit accounting, merged into the EXIT as
 * procevents.h describes.
 *
 * Merging.  For one exiting thread the kernel queues the taskstats record
 * (taskstats_exit) before the connector event (proc_exit_connector, later
 * in do_exit), each on its own socket.  So when the connector says the
 * main thread of P exited, the record that describes the whole of P is
 * either already on the taskstats socket (P single-threaded, or its main
 * thread was the last one out) or will come when P's last thread exits,
 * and then the main thread's own record (no AGROUP flag) is already
 * there to say so.  Taskstats is read lazily: when an EXIT finds no
 * record waiting, the taskstats socket is read until one turns up or it
 * is empty; what is read meanwhile waits in a small fixed table (pend)
 * keyed by pid:
 *
 *   LEADER  the main thread's record while other threads live on
 *   DONE    the process's record, waiting for its connector EXIT
 *   HELD    the EXIT, waiting up to PE_HOLD_NS for the process's record
 *           (a timerfd in the epoll set wakes the caller when it is due)
 *
 * A LEADER or DONE entry lives PE_PEND_TTL_NS; when the table is full
 * the oldest goes, and a HELD one that goes is sent without accounting:
 * a lost record costs accounting, never an event.  A record matches an
 * EXIT only when their parents agree (pid reuse).
 *
 * Exec from a non-main thread (de_thread): the kernel kills the main
 * thread (status 0, a LEADER record) and gives its pid to the exec'ing
 * thread, which sends EXEC.  The main thread's EXIT, if it carries P at
 * all, comes before that EXEC.  So an EXEC of P drops a HELD EXIT of P,
 * and a process record whose last thread is P itself after a LEADER
 * record of P marks one EXIT of P, before the EXEC, to be dropped.
 */
#include "procevents-nl.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>

#include "clock.h"

#define PE_PEND 512
#define PE_PEND_TTL_NS (30 * 1000000000ull)
#define PE_HOLD_NS (1000 * 1000000ull)  /* longest an EXIT waits for its record */
#define PE_BUDGET 4096        /* datagrams per socket per procevents_read */
#define PE_ACK_WAIT_MS 1000   /* for the connector's answer to LISTEN */

enum { PEND_FREE, PEND_LEADER, PEND_DONE, PEND_HELD };

struct pend {
	uint64_t t_ns;           /* when it came in (our clock) */
	int32_t ppid;
	uint8_t state;
	uint8_t swallow;         /* DONE: drop P's next EXIT if before an EXEC */
	/* DONE: the record; LEADER, HELD: the main thread's name only */
	uint32_t acct;
	double utime_s, stime_s;
	uint64_t hiwater_rss, read_bytes, write_bytes;
	int32_t rec_exit;        /* the record's exit status (-1: none) */
	char comm[32];
	/* HELD: the EXIT */
	int32_t exit_code;
	uint64_t ev_ts;
};

struct procevents {
	int cn_fd, ep_fd, timer_fd;
	uint32_t cn_portid, cn_seq, cn_ack;
	int acct_on, acct_err;
	int paused;                    /* procevents_listen(pe, 0) */
	struct ts_sock ts;

	/* during procevents_read / procevents_feed */
	void (*cb)(void *arg, const struct proc_ev *ev);
	void *arg;
	int count;
	uint64_t now_ns;
	int ts_budget;

	int nheld;
	uint64_t timer_at;             /* armed for (0: not armed) */
	uint64_t malformed, ts_lost;   /* for a debugger */

	int32_t pend_pid[PE_PEND];     /* 0: free */
	struct pend pend[PE_PEND];

	_Alignas(8) unsigned char cn_buf[PE_RECV_BUF];
	_Alignas(8) unsigned char ts_buf[PE_RECV_BUF];
};

/* ---- parsing the connector ------------------------------------------- */

static size_t nl_align(size_t n)
{
	return (n + NLMSG_ALIGNTO - 1) & ~(size_t)(NLMSG_ALIGNTO - 1);
}

typedef int cn_fn(void *arg, const struct cn_msg *cm, const unsigned char *data);

/* Every connector message of the proc connector in a datagram; fn returns
 * how many events it passed on, or -EINVAL. */
static int cn_walk(const void *buf, size_t len, cn_fn *fn, void *arg)
{
	const unsigned char *b = buf;
	size_t off = 0;
	struct nlmsghdr h;
	int n = 0, r;
	while ((r = pe_nl_next(b, len, off, &h)) > 0) {
		/* The connector sends each message as NLMSG_DONE. */
		if (h.nlmsg_type == NLMSG_DONE) {
			size_t plen = h.nlmsg_len - NLMSG_HDRLEN;
			struct cn_msg cm;
			if (plen < sizeof cm)
				return -EINVAL;
			memcpy(&cm, b + off + NLMSG_HDRLEN, sizeof cm);
			if (cm.len > plen - sizeof cm)
				return -EINVAL;
			if (cm.id.idx == CN_IDX_PROC && cm.id.val == CN_VAL_PROC) {
				int k = fn(arg, &cm, b + off + NLMSG_HDRLEN + sizeof cm);
				if (k < 0)
					return k;
				n += k;
			}
		}
		off += nl_align(h.nlmsg_len);
	}
	return r < 0 ? -EINVAL : n;
}

#define EV_HDR offsetof(struct proc_event, event_data)
#define EV_NEED(len, m, f) \
	((len) >= EV_HDR + offsetof(struct m, f) + sizeof(((struct m *)0)->f))

struct cn_parse_ctx {
	cn_cb *cb;
	void *arg;
};

static int cn_one(void *arg, const struct cn_msg *cm, const unsigned char *data)
{
	const struct cn_parse_ctx *c = arg;
	size_t len = cm->len;
	uint32_t what;
	struct proc_event e;
	if (len < EV_HDR)
		return -EINVAL;
	memset(&e, 0, sizeof e);
	memcpy(&e, data, len < sizeof e ? len : sizeof e);
	memcpy(&what, data, sizeof what);

	struct proc_ev ev;
	memset(&ev, 0, sizeof ev);
	ev.ts_ns = e.timestamp_ns;
	switch (what) {
	case PROC_EVENT_FORK:
		if (!EV_NEED(len, fork_proc_event, child_tgid))
			return -EINVAL;
		/* A thread: pid != tgid.  Its "parent" is the creator's parent. */
		if (e.event_data.fork.child_pid != e.event_data.fork.child_tgid)
			return 0;
		ev.type = PROC_EV_FORK;
		ev.pid = e.event_data.fork.child_tgid;
		ev.ppid = e.event_data.fork.parent_tgid;
		break;
	case PROC_EVENT_EXEC:
		if (!EV_NEED(len, exec_proc_event, process_tgid))
			return -EINVAL;
		if (e.event_data.exec.process_pid != e.event_data.exec.process_tgid)
			return 0;
		ev.type = PROC_EV_EXEC;
		ev.pid = e.event_data.exec.process_tgid;
		break;
	case PROC_EVENT_EXIT:
		/* parent_pid/parent_tgid came later (4.x): optional. */
		if (!EV_NEED(len, exit_proc_event, exit_signal))
			return -EINVAL;
		if (e.event_data.exit.process_pid != e.event_data.exit.process_tgid)
			return 0;
		ev.type = PROC_EV_EXIT;
		ev.pid = e.event_data.exit.process_tgid;
		ev.exit_code = (int32_t)e.event_data.exit.exit_code;
		if (EV_NEED(len, exit_proc_event, parent_tgid))
			ev.ppid = e.event_data.exit.parent_tgid;
		break;
	default:
		return 0;   /* ack, uid, gid, sid, ptrace, comm, coredump */
	}
	if (ev.pid <= 0)
		return -EINVAL;
	c->cb(c->arg, &ev);
	return 1;
}

int cn_parse(const void *buf, size_t len, cn_cb *cb, void *arg)
{
	struct cn_parse_ctx c = { cb, arg };
	return cn_walk(buf, len, cn_one, &c);
}

/* ---- the pending table ----------------------------------------------- */

static void emit(struct procevents *pe, const struct proc_ev *ev)
{
	if (!pe->cb)
		return;
	pe->cb(pe->arg, ev);
	pe->count++;
}

/* have_acct: the fields the original contract promised (CPU and RSS). */
static void acct_to_ev(struct proc_ev *ev, const struct pend *p)
{
	ev->acct = p->acct;
	ev->have_acct = (p->acct & (PROC_ACCT_CPU | PROC_ACCT_RSS)) ==
			(PROC_ACCT_CPU | PROC_ACCT_RSS);
	ev->utime_s = p->utime_s;
	ev->stime_s = p->stime_s;
	ev->hiwater_rss = p->hiwater_rss;
	ev->read_bytes = p->read_bytes;
	ev->write_bytes = p->write_bytes;
	memcpy(ev->comm, p->comm, sizeof ev->comm);
	ev->comm[sizeof ev->comm - 1] = 0;
	/* A main thread that left by pthread_exit() exited 0; the process's
	 * status is the last thread's. */
	if (ev->exit_code == 0 && p->rec_exit > 0)
		ev->exit_code = p->rec_exit;
}

/* The held EXIT of p, with what p has (a name at most). */
static void held_to_ev(struct proc_ev *ev, int32_t pid, const struct pend *p)
{
	memset(ev, 0, sizeof *ev);
	ev->type = PROC_EV_EXIT;
	ev->pid = pid;
	ev->ppid = p->ppid;
	ev->exit_code = p->exit_code;
	ev->ts_ns = p->ev_ts;
}

/* Free slot i; a HELD EXIT goes out (without accounting) first. */
static void pend_release(struct procevents *pe, int i)
{
	struct pend *p = &pe->pend[i];
	if (pe->pend_pid[i] && p->state == PEND_HELD) {
		struct proc_ev ev;
		held_to_ev(&ev, pe->pend_pid[i], p);
		acct_to_ev(&ev, p);
		pe->nheld--;
		emit(pe, &ev);
	}
	pe->pend_pid[i] = 0;
	p->state = PEND_FREE;
}

static int expired(const struct procevents *pe, const struct pend *p)
{
	uint64_t ttl = p->state == PEND_HELD ? PE_HOLD_NS : PE_PEND_TTL_NS;
	return pe->now_ns - p->t_ns >= ttl;
}

static struct pend *pend_find(struct procevents *pe, int32_t pid)
{
	for (int i = 0; i < PE_PEND; i++) {
		if (pe->pend_pid[i] != pid)
			continue;
		if (expired(pe, &pe->pend[i])) {
			pend_release(pe, i);
			return NULL;
		}
		return &pe->pend[i];
	}
	return NULL;
}

static struct pend *pend_new(struct procevents *pe, int32_t pid)
{
	int slot = -1, oldest = 0;
	for (int i = 0; i < PE_PEND; i++) {
		if (!pe->pend_pid[i] || expired(pe, &pe->pend[i])) {
			slot = i;
			break;
		}
		if (pe->pend[i].t_ns < pe->pend[oldest].t_ns)
			oldest = i;
	}
	if (slot < 0)
		slot = oldest;
	pend_release(pe, slot);
	pe->pend_pid[slot] = pid;
	struct pend *p = &pe->pend[slot];
	memset(p, 0, sizeof *p);
	p->t_ns = pe->now_ns;
	p->rec_exit = -1;
	return p;
}

static void pend_free(struct procevents *pe, struct pend *p)
{
	if (p->state == PEND_HELD)
		pe->nheld--;
	p->state = PEND_FREE;
	pe->pend_pid[p - pe->pend] = 0;
}

/* Parents agree, or one side does not know. */
static int same_parent(int32_t a, int32_t b)
{
	return a <= 0 || b <= 0 || a == b;
}

/* Send the HELD EXITs that waited long enough; arm the timer for the next. */
static void pend_sweep(struct procevents *pe)
{
	uint64_t next = 0;
	for (int i = 0; pe->nheld > 0 && i < PE_PEND; i++) {
		struct pend *p = &pe->pend[i];
		if (!pe->pend_pid[i] || p->state != PEND_HELD)
			continue;
		if (expired(pe, p))
			pend_release(pe, i);
		else if (!next || p->t_ns + PE_HOLD_NS < next)
			next = p->t_ns + PE_HOLD_NS;
	}
	if (pe->timer_fd < 0 || next == pe->timer_at)
		return;
	struct itimerspec it;
	memset(&it, 0, sizeof it);
	it.it_value.tv_sec = (time_t)(next / 1000000000u);
	it.it_value.tv_nsec = (long)(next % 1000000000u);
	if (timerfd_settime(pe->timer_fd, TFD_TIMER_ABSTIME, &it, NULL) == 0)
		pe->timer_at = next;
}

/* ---- events ---------------------------------------------------------- */

static void rec_to_pend(struct pend *p, const struct ts_rec *r)
{
	p->acct = r->acct;
	p->utime_s = r->utime_s;
	p->stime_s = r->stime_s;
	p->hiwater_rss = r->hiwater_rss;
	p->read_bytes = r->read_bytes;
	p->write_bytes = r->write_bytes;
	p->rec_exit = r->exit_code;
	memcpy(p->comm, r->comm, sizeof p->comm);
}

static void on_ts(void *arg, const struct ts_rec *r)
{
	struct procevents *pe = arg;
	struct pend *p;
	if (r->tgid <= 0)
		return;
	switch (r->kind) {
	case TS_THREAD:
		return;
	case TS_LEADER:
		p = pend_find(pe, r->tgid);
		if (p && p->state != PEND_LEADER)
			return;
		if (!p)
			p = pend_new(pe, r->tgid);
		p->state = PEND_LEADER;
		p->ppid = r->ppid;
		p->acct = r->acct & PROC_ACCT_COMM;
		memcpy(p->comm, r->comm, sizeof p->comm);
		p->t_ns = pe->now_ns;
		return;
	case TS_PROCESS:
		break;
	}
	p = pend_find(pe, r->tgid);
	/* The main thread exited before, yet the last thread out is P itself:
	 * another thread exec'd, the kernel killed the main thread and gave
	 * P to the exec'ing one, and this record ends what it exec'd.  The
	 * main thread's exit was none: a held EXIT goes, one still to come
	 * (it precedes P's EXEC) will be dropped. */
	int swallow = 0;
	if (p && (p->state == PEND_LEADER || p->state == PEND_HELD) && r->pid == r->tgid &&
	    same_parent(p->ppid, r->ppid)) {
		swallow = p->state == PEND_LEADER;
		pend_free(pe, p);
		p = NULL;
	}
	/* Keep the main thread's name: the last thread's may be its own. */
	char comm[32];
	int main_comm = p && (p->state == PEND_LEADER || p->state == PEND_HELD) &&
			(p->acct & PROC_ACCT_COMM);
	if (main_comm)
		memcpy(comm, p->comm, sizeof comm);
	if (p && p->state == PEND_HELD) {
		if (same_parent(p->ppid, r->ppid)) {
			/* The EXIT that waited for this. */
			struct proc_ev ev;
			held_to_ev(&ev, r->tgid, p);
			rec_to_pend(p, r);
			if (main_comm) {
				memcpy(p->comm, comm, sizeof p->comm);
				p->acct |= PROC_ACCT_COMM;
			}
			acct_to_ev(&ev, p);
			pend_free(pe, p);
			emit(pe, &ev);
			return;
		}
		pend_release(pe, (int)(p - pe->pend));
		p = NULL;
		main_comm = 0;
	}
	if (!p)
		p = pend_new(pe, r->tgid);
	rec_to_pend(p, r);
	if (main_comm) {
		memcpy(p->comm, comm, sizeof p->comm);
		p->acct |= PROC_ACCT_COMM;
	}
	p->state = PEND_DONE;
	p->swallow = (uint8_t)swallow;
	p->ppid = r->ppid;
	p->t_ns = pe->now_ns;
}

/* Read taskstats until pid's process record is in (pid > 0), or until
 * nothing is queued. */
static void ts_drain(struct procevents *pe, int32_t pid)
{
	while (pe->ts_budget > 0) {
		pe->ts_budget--;
		int r = ts_recv(&pe->ts, pe->ts_buf, sizeof pe->ts_buf, on_ts, pe);
		if (r == -ENOBUFS) {
			pe->ts_lost++;
			continue;
		}
		if (r <= 0)
			return;
		if (pid > 0) {
			struct pend *p = pend_find(pe, pid);
			if (p && p->state == PEND_DONE)
				return;
		}
	}
}

static void on_cn(void *arg, const struct proc_ev *cev)
{
	struct procevents *pe = arg;
	if (cev->type == PROC_EV_EXEC && pe->acct_on) {
		/* P lives on after an exec.  A held EXIT of P was its main
		 * thread, killed because another thread exec'd; and no EXIT of
		 * P from before the exec is still to come. */
		struct pend *p = pend_find(pe, cev->pid);
		if (p && p->state == PEND_HELD)
			pend_free(pe, p);
		else if (p)
			p->swallow = 0;
	}
	if (cev->type != PROC_EV_EXIT || !pe->acct_on) {
		emit(pe, cev);
		return;
	}
	struct proc_ev ev = *cev;
	struct pend *p = pend_find(pe, ev.pid);
	if (p && p->state == PEND_HELD) {   /* pid reused within the hold */
		pend_release(pe, (int)(p - pe->pend));
		p = NULL;
	}
	if (!p || p->state != PEND_DONE) {
		ts_drain(pe, ev.pid);
		p = pend_find(pe, ev.pid);
	}
	if (p && !same_parent(p->ppid, ev.ppid)) {
		pend_free(pe, p);   /* an earlier process's */
		p = NULL;
	}
	if (p && p->state == PEND_DONE && p->swallow) {
		p->swallow = 0;   /* the main thread an exec killed: no exit */
		return;
	}
	if (p && p->state == PEND_DONE) {
		acct_to_ev(&ev, p);
		pend_free(pe, p);
	} else if (p && p->state == PEND_LEADER) {
		/* Other threads still run: wait for the last one's record. */
		p->state = PEND_HELD;
		p->ppid = ev.ppid;
		p->exit_code = ev.exit_code;
		p->ev_ts = ev.ts_ns;
		p->t_ns = pe->now_ns;
		pe->nheld++;
		return;
	}
	emit(pe, &ev);
}

int procevents_read(struct procevents *pe, void (*cb)(void *arg, const struct proc_ev *ev), void *arg)
{
	int overflow = 0, err = 0;
	pe->cb = cb;
	pe->arg = arg;
	pe->count = 0;
	pe->now_ns = clock_mono_ns();
	pe->ts_budget = PE_BUDGET;
	if (pe->timer_fd >= 0 && pe->timer_at && pe->now_ns >= pe->timer_at) {
		uint64_t ticks;
		if (read(pe->timer_fd, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
			err = -errno;
		pe->timer_at = 0;
	}
	int cn_empty = 0;
	for (int i = 0; i < PE_BUDGET && !err; i++) {
		ssize_t n = pe_nl_recv(pe->cn_fd, pe->cn_buf, sizeof pe->cn_buf);
		if (n == -EAGAIN) {
			cn_empty = 1;
			break;
		}
		if (n == -ENOBUFS) {
			overflow = 1;   /* lost some; what is still queued is good */
			continue;
		}
		if (n < 0) {
			err = (int)n;
			break;
		}
		if (n > 0 && cn_parse(pe->cn_buf, (size_t)n, on_cn, pe) < 0)
			pe->malformed++;
	}
	/* Records for held EXITs, and records whose EXIT is still to come;
	 * not when connector events are left for the next call: reading
	 * their records now would only crowd the table. */
	if (pe->acct_on && cn_empty)
		ts_drain(pe, 0);
	pend_sweep(pe);
	pe->cb = NULL;
	pe->arg = NULL;
	if (err)
		return err;
	return overflow ? -ENOBUFS : pe->count;
}

/* ---- open / close ---------------------------------------------------- */

static int cn_send_op(struct procevents *pe, uint32_t op)
{
	unsigned char m[NLMSG_HDRLEN + sizeof(struct cn_msg) + sizeof op];
	struct nlmsghdr h = {
		.nlmsg_len = sizeof m,
		.nlmsg_type = NLMSG_DONE,
		.nlmsg_seq = pe->cn_seq,
		.nlmsg_pid = pe->cn_portid,
	};
	struct cn_msg cm;
	memset(&cm, 0, sizeof cm);
	cm.id.idx = CN_IDX_PROC;
	cm.id.val = CN_VAL_PROC;
	cm.seq = pe->cn_seq;
	cm.ack = pe->cn_ack;
	cm.len = sizeof op;
	memcpy(m, &h, sizeof h);
	memcpy(m + NLMSG_HDRLEN, &cm, sizeof cm);
	memcpy(m + NLMSG_HDRLEN + sizeof cm, &op, sizeof op);
	struct sockaddr_nl k = { .nl_family = AF_NETLINK };
	ssize_t n;
	do
		n = sendto(pe->cn_fd, m, sizeof m, 0, (struct sockaddr *)&k, sizeof k);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

struct ack_ctx {
	uint32_t ack;
	int found, err;
};

static int cn_ack(void *arg, const struct cn_msg *cm, const unsigned char *data)
{
	struct ack_ctx *a = arg;
	uint32_t what, err;
	if (cm->len < EV_HDR + sizeof err)
		return 0;
	memcpy(&what, data, sizeof what);
	/* The kernel answers with our ack + 1; it overwrites seq with its own
	 * counter (and other listeners' answers come to us too). */
	if (what != PROC_EVENT_NONE || cm->ack != a->ack + 1)
		return 0;
	memcpy(&err, data + EV_HDR, sizeof err);
	a->found = 1;
	a->err = (int)err;
	return 0;
}

/* The kernel acks LISTEN on the group with PROC_EVENT_NONE: wait for it,
 * so that a refusal is an error here and not silence later.  Events that
 * come first are dropped: nobody is listening yet. */
static int cn_wait_ack(struct procevents *pe)
{
	uint64_t deadline = clock_mono_ns() + (uint64_t)PE_ACK_WAIT_MS * 1000000u;
	struct ack_ctx a = { .ack = pe->cn_ack };
	for (;;) {
		ssize_t n = pe_nl_recv(pe->cn_fd, pe->cn_buf, sizeof pe->cn_buf);
		if (n == -EAGAIN) {
			uint64_t now = clock_mono_ns();
			/* No answer at all: the kernel ignores LISTEN from outside
			 * the initial user and pid namespaces. */
			if (now >= deadline)
				return -EPERM;
			struct pollfd p = { .fd = pe->cn_fd, .events = POLLIN };
			if (poll(&p, 1, (int)((deadline - now) / 1000000u) + 1) < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		if (n == -ENOBUFS || n == 0)
			continue;
		if (n < 0)
			return (int)n;
		(void)cn_walk(pe->cn_buf, (size_t)n, cn_ack, &a);
		if (a.found)
			return a.err ? -a.err : 0;
	}
}

static void set_rcvbuf(int fd)
{
	int sz = PE_SOCK_RCVBUF;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
}

static int cn_open(struct procevents *pe)
{
	pe->cn_fd = socket(PF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR);
	if (pe->cn_fd < 0)
		/* No connector in this network namespace, or none at all. */
		return errno == EAFNOSUPPORT ? -EPROTONOSUPPORT : -errno;
	set_rcvbuf(pe->cn_fd);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC };
	socklen_t sl = sizeof sa;
	/* Joining the group needs CAP_NET_ADMIN: EPERM otherwise. */
	if (bind(pe->cn_fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    getsockname(pe->cn_fd, (struct sockaddr *)&sa, &sl) < 0)
		return -errno;
	pe->cn_portid = sa.nl_pid;
	pe->cn_seq = 1;
	pe->cn_ack = ((uint32_t)clock_mono_ns() ^ (sa.nl_pid << 12)) & 0x7fffffffu;
	int err = cn_send_op(pe, PROC_CN_MCAST_LISTEN);
	return err ? err : cn_wait_ack(pe);
}

static struct procevents *pe_alloc(void)
{
	struct procevents *pe = calloc(1, sizeof *pe);
	if (!pe)
		return NULL;
	pe->cn_fd = pe->ep_fd = pe->timer_fd = pe->ts.fd = -1;
	return pe;
}

int procevents_open(struct procevents **out)
{
	struct procevents *pe = pe_alloc();
	if (!pe)
		return -ENOMEM;
	int err = cn_open(pe);
	if (!err) {
		pe->ep_fd = epoll_create1(EPOLL_CLOEXEC);
		pe->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		struct epoll_event e = { .events = EPOLLIN };
		if (pe->ep_fd < 0 || pe->timer_fd < 0 ||
		    epoll_ctl(pe->ep_fd, EPOLL_CTL_ADD, pe->cn_fd, &e) < 0 ||
		    epoll_ctl(pe->ep_fd, EPOLL_CTL_ADD, pe->timer_fd, &e) < 0)
			err = -errno;
	}
	if (err) {
		procevents_close(pe);
		return err;
	}
	pe->now_ns = clock_mono_ns();
	pe->acct_err = ts_open(&pe->ts, pe->ts_buf, sizeof pe->ts_buf, on_ts, pe);
	if (!pe->acct_err) {
		struct epoll_event e = { .events = EPOLLIN };
		if (epoll_ctl(pe->ep_fd, EPOLL_CTL_ADD, pe->ts.fd, &e) < 0) {
			pe->acct_err = -errno;
			ts_close(&pe->ts);
		}
	}
	pe->acct_on = !pe->acct_err;
	*out = pe;
	return 0;
}

void procevents_close(struct procevents *pe)
{
	if (!pe)
		return;
	if (pe->cn_fd >= 0) {
		if (pe->cn_portid && !pe->paused)
			(void)cn_send_op(pe, PROC_CN_MCAST_IGNORE);
		close(pe->cn_fd);
	}
	ts_close(&pe->ts);
	if (pe->timer_fd >= 0)
		close(pe->timer_fd);
	if (pe->ep_fd >= 0)
		close(pe->ep_fd);
	free(pe);
}

int procevents_listen(struct procevents *pe, int on)
{
	if (pe->cn_fd < 0 || !pe->paused == !!on)
		return 0;
	int group = CN_IDX_PROC, err = 0;
	/* The group first: a paused socket gets nothing even while other
	 * programs keep the kernel's listener count up.  LISTEN/IGNORE keep
	 * that count right; the ack of a LISTEN arrives as an event of type
	 * NONE, which the reader steps over. */
	if (on) {
		if (setsockopt(pe->cn_fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0)
			return -errno;
		err = cn_send_op(pe, PROC_CN_MCAST_LISTEN);
	} else {
		err = cn_send_op(pe, PROC_CN_MCAST_IGNORE);
		if (setsockopt(pe->cn_fd, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &group, sizeof group) < 0 &&
		    !err)
			err = -errno;
	}
	if (pe->acct_on)
		(void)ts_listen(&pe->ts, on);
	pe->paused = !on;
	return err;
}

int procevents_listening(const struct procevents *pe)
{
	return pe->cn_fd >= 0 && !pe->paused;
}

int procevents_fd(const struct procevents *pe)
{
	return pe->ep_fd;
}

int procevents_acct_status(const struct procevents *pe)
{
	return pe->acct_err;
}

/* ---- for tests ------------------------------------------------------- */

struct procevents *procevents_detached(int acct_on)
{
	struct procevents *pe = pe_alloc();
	if (!pe)
		return NULL;
	pe->acct_on = acct_on;
	pe->acct_err = acct_on ? 0 : -ENOENT;
	pe->ts.family = PE_TEST_FAMILY;
	return pe;
}

int procevents_feed(struct procevents *pe, int ts, const void *buf, size_t len, uint64_t now_ns,
		    void (*cb)(void *arg, const struct proc_ev *ev), void *arg)
{
	pe->cb = cb;
	pe->arg = arg;
	pe->count = 0;
	pe->now_ns = now_ns ? now_ns : clock_mono_ns();
	pe->ts_budget = PE_BUDGET;
	int r = 0;
	if (buf)
		r = ts ? ts_parse(buf, len, pe->ts.family, on_ts, pe)
		       : cn_parse(buf, len, on_cn, pe);
	pend_sweep(pe);
	pe->cb = NULL;
	pe->arg = NULL;
	return r < 0 ? r : pe->count;
}

int procevents_set_rcvbuf(struct procevents *pe, int bytes)
{
	if (setsockopt(pe->cn_fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) < 0 &&
	    setsockopt(pe->cn_fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) < 0)
		return -errno;
	return 0;
}
