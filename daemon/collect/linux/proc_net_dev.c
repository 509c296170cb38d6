/*
 * /proc/net/dev: per-interface traffic, every interface including lo.
 *
 *   "  eth0: 1234 56 0 0 0 0 0 0 7890 12 0 0 0 0 0 0"
 *
 * The name is right-aligned and ends at the first ':'; old kernels put no
 * space after the colon ("eth0:1234").  Names cannot contain ':' but can
 * contain '.', as VLANs do (eth0.100).  The counters are 64-bit: any
 * decrease is a reset (an interface re-created under the same name), so
 * that tick has no reading.  This file is per network namespace: a daemon
 * in a container sees its own interfaces.
 *
 * An iterator seq_file (a record per interface, at most a page per read):
 * a short read is not the end, so it is read until pread returns 0.
 */
#include "linux.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "readfile.h"

struct netif {
	struct inst hdr;
	int has_prev;
	uint64_t prev[NET__COLS];
};

struct proc_net_dev {
	struct kept_file file;
	struct instab ifs;
	uint32_t gen;
	uint64_t prev_mono;
};

/* rx bytes packets errs drop fifo frame compressed multicast, then tx
 * bytes packets errs drop ...: which of the first 12 columns we keep. */
static const signed char net_col_of[12] = {
	NET_RX_BYTES, NET_RX_PACKETS, NET_RX_ERRS, NET_RX_DROP, -1, -1, -1, -1,
	NET_TX_BYTES, NET_TX_PACKETS, NET_TX_ERRS, NET_TX_DROP,
};

static const int net_field[NET__COLS] = {
	[NET_RX_BYTES] = RM_NET_RX_BPS, [NET_RX_PACKETS] = RM_NET_RX_PPS,
	[NET_RX_ERRS] = RM_NET_RX_ERRS_PS, [NET_RX_DROP] = RM_NET_RX_DROP_PS,
	[NET_TX_BYTES] = RM_NET_TX_BPS, [NET_TX_PACKETS] = RM_NET_TX_PPS,
	[NET_TX_ERRS] = RM_NET_TX_ERRS_PS, [NET_TX_DROP] = RM_NET_TX_DROP_PS,
};

int proc_net_dev_parse_line(const char *p, const char *end, struct net_line *n)
{
	p = scan_blank(p, end);
	const char *colon = memchr(p, ':', (size_t)(end - p));
	if (!colon)
		return 1;   /* the two header lines */
	const char *ne = colon;
	while (ne > p && (ne[-1] == ' ' || ne[-1] == '\t'))
		ne--;
	if (ne == p || memchr(p, '|', (size_t)(ne - p)))
		return -EINVAL;
	n->name = p;
	n->namelen = (size_t)(ne - p);
	p = colon + 1;
	for (int i = 0; i < 12; i++) {
		uint64_t v;
		if (!(p = scan_next_u64(p, end, &v)))
			return -EINVAL;
		if (net_col_of[i] >= 0)
			n->c[net_col_of[i]] = v;
	}
	return 0;
}

int proc_net_dev_rate(const uint64_t *prev, const uint64_t *cur, double dt_s,
		      struct rm_rec *r)
{
	uint64_t d[NET__COLS];
	if (dt_s <= 0)
		return -1;
	for (int i = 0; i < NET__COLS; i++)
		if (ctr_delta(prev[i], cur[i], &d[i]))
			return -1;
	for (int i = 0; i < NET__COLS; i++)
		rec_set(r, net_field[i], (double)d[i] / dt_s);
	return 0;
}

static void net_dev_close(void *state)
{
	struct proc_net_dev *st = state;
	if (!st)
		return;
	kept_close(&st->file);
	instab_free(&st->ifs);
	free(st);
}

static int net_dev_open(const struct collect_env *env, void **state)
{
	struct proc_net_dev *st = calloc(1, sizeof *st);
	if (!st)
		return -ENOMEM;
	instab_init(&st->ifs, sizeof(struct netif));
	int err = kept_open(&st->file, env->procfd, "net/dev", 16384, 16u << 20);
	if (err) {
		net_dev_close(st);
		return err;
	}
	*state = st;
	return 0;
}

static void net_dev_line(struct proc_net_dev *st, const struct net_line *nl, double dt,
			 struct collect_tick *t)
{
	int fresh;
	struct netif *nif = instab_get(&st->ifs, nl->name, nl->namelen, st->gen, &fresh);
	if (!nif)
		return;
	struct rm_rec r;
	rec_init(&r, t->rt_ns, nif->hdr.name);
	if (nif->has_prev)
		proc_net_dev_rate(nif->prev, nl->c, dt, &r);
	memcpy(nif->prev, nl->c, sizeof nif->prev);
	nif->has_prev = 1;
	t->emit(t, RM_KIND_NET, &r);
}

static int net_dev_sample(void *state, struct collect_tick *t)
{
	struct proc_net_dev *st = state;
	ssize_t n = kept_read(&st->file);
	if (n < 0)
		return (int)n;
	double dt = st->gen ? tick_dt(st->prev_mono, t->mono_ns) : 0;
	st->gen++;
	const char *p = st->file.buf.p, *end = p + n;
	while (p < end) {
		struct net_line nl;
		const char *ls, *le = scan_line(&p, end, &ls);
		if (proc_net_dev_parse_line(ls, le, &nl) == 0)
			net_dev_line(st, &nl, dt, t);
	}
	instab_sweep(&st->ifs, st->gen);
	st->prev_mono = t->mono_ns;
	return 0;
}

const struct collector proc_net_dev_collector = {
	.name = "proc_net_dev",
	.cap = COLLECT_CAP_NET,
	.open = net_dev_open,
	.sample = net_dev_sample,
	.close = net_dev_close,
};
