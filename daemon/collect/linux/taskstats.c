/*
 * Exit accounting from taskstats (generic netlink family "TASKSTATS"): we
 * register as a listener for the exit records of every CPU
 * (TASKSTATS_CMD_ATTR_REGISTER_CPUMASK) and the kernel unicasts one message
 * per exiting thread: an AGGR_PID (pid + struct taskstats), plus an
 * AGGR_TGID (tgid + the process's summed record) when the last thread of a
 * process that had several goes.
 *
 * struct taskstats only grows at its end and carries its version, so a
 * field is read only when the payload covers it and the version has it
 * (the kernel here sends version 16 in 560 bytes, Debian 12's header
 * knows version 13).  Everything from the socket is parsed as untrusted:
 * every length is checked before the bytes it covers are read, and
 * datagrams not sent by the kernel are dropped.
 */
#include "procevents-nl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>

#include "clock.h"

#ifndef AGROUP
#define AGROUP 0x20   /* linux/acct.h: the last thread of the process (v12+) */
#endif

/* The struct version that introduced what we read (taskstats.h history):
 * basic and extended accounting in 2, storage I/O by 4 at the latest,
 * ac_tgid and the AGROUP flag in 12. */
#define TS_V_BASIC 2
#define TS_V_IO    4
#define TS_V_TGID  12

/* Does a payload of len bytes cover field f of struct taskstats? */
#define TS_HAS(len, f) \
	((len) >= offsetof(struct taskstats, f) + sizeof(((struct taskstats *)0)->f))

#define TS_WAIT_MS 2000   /* for the kernel's answer to a request */

/* ---- receiving ------------------------------------------------------- */

ssize_t pe_nl_recv(int fd, void *buf, size_t cap)
{
	struct sockaddr_nl sa;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr m = {
		.msg_name = &sa, .msg_namelen = sizeof sa,
		.msg_iov = &iov, .msg_iovlen = 1,
	};
	ssize_t n;
	do
		n = recvmsg(fd, &m, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if ((m.msg_flags & MSG_TRUNC) || m.msg_namelen < sizeof sa ||
	    sa.nl_family != AF_NETLINK || sa.nl_pid != 0)
		return 0;
	return n;
}

int pe_nl_next(const unsigned char *buf, size_t len, size_t off, struct nlmsghdr *h)
{
	if (off >= len || len - off < NLMSG_HDRLEN)
		return 0;
	memcpy(h, buf + off, sizeof *h);
	if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > len - off)
		return -EINVAL;
	return 1;
}

static size_t nl_align(size_t n)
{
	return (n + NLMSG_ALIGNTO - 1) & ~(size_t)(NLMSG_ALIGNTO - 1);
}

/* An attribute at off within [0, len): 1 with type and payload, 0 at the
 * end, -EINVAL when its length is wrong. */
static int nla_next(const unsigned char *buf, size_t len, size_t *off,
		    uint16_t *type, const unsigned char **data, size_t *dlen)
{
	struct nlattr a;
	if (*off >= len || len - *off < NLA_HDRLEN)
		return 0;
	memcpy(&a, buf + *off, sizeof a);
	if (a.nla_len < NLA_HDRLEN || a.nla_len > len - *off)
		return -EINVAL;
	*type = (uint16_t)(a.nla_type & NLA_TYPE_MASK);
	*data = buf + *off + NLA_HDRLEN;
	*dlen = (size_t)a.nla_len - NLA_HDRLEN;
	size_t step = nl_align(a.nla_len);
	*off = step > len - *off ? len : *off + step;
	return 1;
}

/* ---- parsing records ------------------------------------------------- */

struct ts_part {
	int have;
	uint32_t id;             /* the pid or tgid attribute */
	size_t len;              /* payload bytes the kernel sent */
	struct taskstats st;     /* the first sizeof bytes of them, rest 0 */
};

/* An AGGR_PID / AGGR_TGID nest: the id attribute (idtype) and STATS. */
static int parse_aggr(const unsigned char *d, size_t dlen, uint16_t idtype, struct ts_part *out)
{
	size_t off = 0;
	uint16_t type;
	const unsigned char *p;
	size_t plen;
	int have_id = 0, have_st = 0, r;
	memset(out, 0, sizeof *out);
	while ((r = nla_next(d, dlen, &off, &type, &p, &plen)) > 0) {
		if (type == idtype) {
			if (plen < sizeof out->id)
				return -EINVAL;
			memcpy(&out->id, p, sizeof out->id);
			have_id = 1;
		} else if (type == TASKSTATS_TYPE_STATS) {
			out->len = plen;
			memcpy(&out->st, p, plen < sizeof out->st ? plen : sizeof out->st);
			have_st = 1;
		}
	}
	if (r < 0 || !have_id || !have_st || !TS_HAS(out->len, version))
		return -EINVAL;
	out->have = 1;
	return 0;
}

static void copy_comm(char dst[32], const char *src, size_t n)
{
	size_t k = 0;
	while (k < n && k < 31 && src[k])
		k++;
	memcpy(dst, src, k);
	dst[k] = 0;
}

/* The record of one message: the thread's (pid) and, for the last thread
 * of a multi-threaded process, the process's (tg). */
static void make_rec(const struct ts_part *pid, const struct ts_part *tg, struct ts_rec *r)
{
	const struct taskstats *s = &pid->st;
	size_t len = pid->len;
	unsigned v = s->version;
	memset(r, 0, sizeof *r);
	r->pid = (int32_t)pid->id;
	r->tgid = (int32_t)pid->id;
	r->exit_code = -1;
	if (TS_HAS(len, ac_exitcode))
		r->exit_code = (int32_t)s->ac_exitcode;

	uint32_t have = 0;   /* what the thread's record holds */
	if (v >= TS_V_BASIC) {
		if (TS_HAS(len, ac_comm) && s->ac_comm[0]) {
			copy_comm(r->comm, s->ac_comm, sizeof s->ac_comm);
			have |= PROC_ACCT_COMM;
		}
		if (TS_HAS(len, ac_ppid))
			r->ppid = (int32_t)s->ac_ppid;
		if (TS_HAS(len, ac_stime)) {
			r->utime_s = (double)s->ac_utime / 1e6;
			r->stime_s = (double)s->ac_stime / 1e6;
			have |= PROC_ACCT_CPU;
		}
		if (TS_HAS(len, hiwater_rss)) {
			r->hiwater_rss = (uint64_t)s->hiwater_rss * 1024;
			have |= PROC_ACCT_RSS;
		}
	}
	if (v >= TS_V_IO && TS_HAS(len, write_bytes)) {
		r->read_bytes = s->read_bytes;
		r->write_bytes = s->write_bytes;
		have |= PROC_ACCT_IO;
	}

	if (v >= TS_V_TGID && TS_HAS(len, ac_tgid)) {
		r->tgid = (int32_t)s->ac_tgid;
		if (tg->have)
			r->tgid = (int32_t)tg->id;
		if (s->ac_flag & AGROUP)
			r->kind = TS_PROCESS;
		else
			r->kind = r->pid == r->tgid ? TS_LEADER : TS_THREAD;
	} else {
		/* Older kernels cannot say which thread this is: the pid's own
		 * record stands for the process (exact when single-threaded). */
		if (tg->have)
			r->tgid = (int32_t)tg->id;
		r->kind = TS_PROCESS;
	}

	if (r->kind == TS_LEADER) {
		r->acct = have & PROC_ACCT_COMM;
		return;
	}
	if (r->kind != TS_PROCESS || !tg->have) {
		r->acct = r->kind == TS_PROCESS ? have : 0;
		return;
	}
	/* Multi-threaded: the thread's record has the process-wide peak RSS
	 * (the mm is shared) and a name, but only its own CPU and I/O.  The
	 * process record has summed CPU on kernels that sum it (6.18 does;
	 * older ones sum delay accounting only and leave the times 0). */
	r->acct = have & (PROC_ACCT_COMM | PROC_ACCT_RSS);
	r->utime_s = r->stime_s = 0;
	r->read_bytes = r->write_bytes = 0;
	const struct taskstats *t = &tg->st;
	if (TS_HAS(tg->len, ac_stime) && (t->ac_utime || t->ac_stime || t->ac_etime)) {
		r->utime_s = (double)t->ac_utime / 1e6;
		r->stime_s = (double)t->ac_stime / 1e6;
		r->acct |= PROC_ACCT_CPU;
	}
}

int ts_parse(const void *buf, size_t len, uint16_t family, ts_cb *cb, void *arg)
{
	const unsigned char *b = buf;
	size_t off = 0;
	struct nlmsghdr h;
	int n = 0, r;
	while ((r = pe_nl_next(b, len, off, &h)) > 0) {
		size_t hdr = NLMSG_HDRLEN + GENL_HDRLEN;
		if (h.nlmsg_type == family && h.nlmsg_len >= hdr) {
			struct genlmsghdr g;
			memcpy(&g, b + off + NLMSG_HDRLEN, sizeof g);
			if (g.cmd == TASKSTATS_CMD_NEW) {
				const unsigned char *a = b + off + hdr;
				size_t alen = h.nlmsg_len - hdr, aoff = 0, dlen;
				uint16_t type;
				const unsigned char *d;
				struct ts_part pid = { 0 }, tg = { 0 };
				int q;
				while ((q = nla_next(a, alen, &aoff, &type, &d, &dlen)) > 0) {
					if (type == TASKSTATS_TYPE_AGGR_PID)
						q = parse_aggr(d, dlen, TASKSTATS_TYPE_PID, &pid);
					else if (type == TASKSTATS_TYPE_AGGR_TGID)
						q = parse_aggr(d, dlen, TASKSTATS_TYPE_TGID, &tg);
					if (q < 0)
						return -EINVAL;
				}
				if (q < 0)
					return -EINVAL;
				if (pid.have) {
					struct ts_rec rec;
					make_rec(&pid, &tg, &rec);
					cb(arg, &rec);
					n++;
				}
			}
		}
		off += nl_align(h.nlmsg_len);
	}
	return r < 0 ? -EINVAL : n;
}

int ts_recv(struct ts_sock *ts, void *buf, size_t cap, ts_cb *cb, void *arg)
{
	if (ts->fd < 0)
		return 0;
	ssize_t n = pe_nl_recv(ts->fd, buf, cap);
	if (n == -EAGAIN)
		return 0;
	if (n < 0)
		return (int)n;
	if (n > 0)
		(void)ts_parse(buf, (size_t)n, ts->family, cb, arg);
	return 1;
}

/* ---- requests -------------------------------------------------------- */

static int ts_send(struct ts_sock *ts, uint16_t type, uint8_t cmd, uint16_t flags,
		   uint16_t attr, const void *data, size_t dlen)
{
	union {
		struct nlmsghdr h;
		unsigned char b[NLMSG_HDRLEN + GENL_HDRLEN + NLA_HDRLEN + 320];
	} m;
	if (dlen > sizeof m.b - (NLMSG_HDRLEN + GENL_HDRLEN + NLA_HDRLEN))
		return -EINVAL;
	memset(&m, 0, sizeof m);
	struct genlmsghdr g = { .cmd = cmd, .version = TASKSTATS_GENL_VERSION };
	struct nlattr a = { .nla_len = (uint16_t)(NLA_HDRLEN + dlen), .nla_type = attr };
	memcpy(m.b + NLMSG_HDRLEN, &g, sizeof g);
	memcpy(m.b + NLMSG_HDRLEN + GENL_HDRLEN, &a, sizeof a);
	memcpy(m.b + NLMSG_HDRLEN + GENL_HDRLEN + NLA_HDRLEN, data, dlen);
	m.h.nlmsg_len = (uint32_t)(NLMSG_HDRLEN + GENL_HDRLEN + nl_align(NLA_HDRLEN + dlen));
	m.h.nlmsg_type = type;
	m.h.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	m.h.nlmsg_seq = ++ts->seq;
	m.h.nlmsg_pid = ts->portid;
	struct sockaddr_nl k = { .nl_family = AF_NETLINK };
	ssize_t n;
	do
		n = sendto(ts->fd, m.b, m.h.nlmsg_len, 0, (struct sockaddr *)&k, sizeof k);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

/* The answer to request ts->seq: the NLMSG_ERROR's code (0 for an ack),
 * or for a family lookup its id in *family.  Exit records that come
 * meanwhile go to cb. */
static int ts_wait(struct ts_sock *ts, void *buf, size_t cap, uint16_t *family, ts_cb *cb, void *arg)
{
	uint64_t deadline = clock_mono_ns() + (uint64_t)TS_WAIT_MS * 1000000u;
	for (;;) {
		ssize_t n = pe_nl_recv(ts->fd, buf, cap);
		if (n == -EAGAIN) {
			uint64_t now = clock_mono_ns();
			if (now >= deadline)
				return -ETIMEDOUT;
			struct pollfd p = { .fd = ts->fd, .events = POLLIN };
			int ms = (int)((deadline - now) / 1000000u) + 1;
			if (poll(&p, 1, ms) < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		if (n == -ENOBUFS || n == 0)
			continue;
		if (n < 0)
			return (int)n;
		const unsigned char *b = buf;
		size_t len = (size_t)n, off = 0;
		struct nlmsghdr h;
		int r, mine = 0;
		while ((r = pe_nl_next(b, len, off, &h)) > 0) {
			if (h.nlmsg_seq == ts->seq && h.nlmsg_pid == ts->portid) {
				mine = 1;
				if (h.nlmsg_type == NLMSG_ERROR) {
					struct nlmsgerr e;
					if (h.nlmsg_len < NLMSG_HDRLEN + sizeof e.error)
						return -EINVAL;
					memcpy(&e.error, b + off + NLMSG_HDRLEN, sizeof e.error);
					return e.error > 0 ? -e.error : e.error;
				}
				if (family && h.nlmsg_type == GENL_ID_CTRL &&
				    h.nlmsg_len >= NLMSG_HDRLEN + GENL_HDRLEN) {
					const unsigned char *a = b + off + NLMSG_HDRLEN + GENL_HDRLEN;
					size_t alen = h.nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN, aoff = 0, dlen;
					uint16_t type, id;
					const unsigned char *d;
					while (nla_next(a, alen, &aoff, &type, &d, &dlen) > 0) {
						if (type == CTRL_ATTR_FAMILY_ID && dlen >= sizeof id) {
							memcpy(&id, d, sizeof id);
							*family = id;
							return 0;
						}
					}
					return -EINVAL;
				}
			}
			off += nl_align(h.nlmsg_len);
		}
		if (!mine && ts->family)
			(void)ts_parse(buf, len, ts->family, cb, arg);
	}
}

/* ---- the CPU list ---------------------------------------------------- */

static int read_cpulist(const char *path, char *out, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, out, cap - 1);
	int err = errno;
	close(fd);
	if (n < 0)
		return -err;
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		n--;
	out[n] = 0;
	if (n == 0 || (size_t)n >= cap - 1)
		return -EINVAL;
	for (ssize_t i = 0; i < n; i++)
		if (!((out[i] >= '0' && out[i] <= '9') || out[i] == ',' || out[i] == '-'))
			return -EINVAL;
	return 0;
}

int ts_cpumask(char *out, size_t cap)
{
	/* possible ⊇ online, so CPUs brought online later are covered too;
	 * the kernel accepts any subset of the possible CPUs. */
	if (read_cpulist("/sys/devices/system/cpu/possible", out, cap) == 0 ||
	    read_cpulist("/sys/devices/system/cpu/online", out, cap) == 0)
		return 0;
	long n = sysconf(_SC_NPROCESSORS_CONF);
	if (n < 1)
		n = 1;
	int w = n == 1 ? snprintf(out, cap, "0") : snprintf(out, cap, "0-%ld", n - 1);
	return w > 0 && (size_t)w < cap ? 0 : -EINVAL;
}

/* ---- open / close ---------------------------------------------------- */

static void set_rcvbuf(int fd)
{
	int sz = PE_TS_RCVBUF;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
}

int ts_open(struct ts_sock *ts, void *buf, size_t cap, ts_cb *cb, void *arg)
{
	memset(ts, 0, sizeof *ts);
	ts->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (ts->fd < 0)
		return -errno;
	set_rcvbuf(ts->fd);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t sl = sizeof sa;
	int err;
	if (bind(ts->fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    getsockname(ts->fd, (struct sockaddr *)&sa, &sl) < 0) {
		err = -errno;
		goto fail;
	}
	ts->portid = sa.nl_pid;
	ts->seq = (uint32_t)clock_mono_ns();

	uint16_t family = 0;
	err = ts_send(ts, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0, CTRL_ATTR_FAMILY_NAME,
		      TASKSTATS_GENL_NAME, sizeof TASKSTATS_GENL_NAME);
	if (!err)
		err = ts_wait(ts, buf, cap, &family, cb, arg);
	if (err)
		goto fail;   /* -ENOENT: no such family (CONFIG_TASKSTATS=n) */
	ts->family = family;

	err = ts_cpumask(ts->cpumask, sizeof ts->cpumask);
	if (!err)
		err = ts_send(ts, ts->family, TASKSTATS_CMD_GET, NLM_F_ACK,
			      TASKSTATS_CMD_ATTR_REGISTER_CPUMASK, ts->cpumask, strlen(ts->cpumask) + 1);
	if (!err)
		err = ts_wait(ts, buf, cap, NULL, cb, arg);
	if (err)
		goto fail;   /* -EPERM without CAP_NET_ADMIN */
	return 0;
fail:
	close(ts->fd);
	ts->fd = -1;
	return err;
}

int ts_listen(struct ts_sock *ts, int on)
{
	if (ts->fd < 0)
		return 0;
	/* No ack asked: a refusal comes back as an NLMSG_ERROR that the
	 * reader steps over; registering worked once at open, with the same
	 * credentials. */
	return ts_send(ts, ts->family, TASKSTATS_CMD_GET, 0,
		       on ? TASKSTATS_CMD_ATTR_REGISTER_CPUMASK : TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK,
		       ts->cpumask, strlen(ts->cpumask) + 1);
}

void ts_close(struct ts_sock *ts)
{
	if (ts->fd < 0)
		return;
	/* Best effort: the kernel also drops a listener whose socket is gone
	 * the next time it has something for it. */
	(void)ts_listen(ts, 0);
	close(ts->fd);
	ts->fd = -1;
}
