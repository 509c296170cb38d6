/*
 * /proc/stat: CPU time per core and in total, context switches,
 * interrupts, forks, run queue.
 *
 * CPU lines are indexed by the N of cpuN, never by line number: offline
 * CPUs vanish from the file.  Per-CPU state is an array indexed by N that
 * grows when a higher N shows up.  A CPU that was not in the previous
 * sample (first sample, or back online) only sets its baseline; the total
 * does the same whenever the online set changed, because the kernel's
 * aggregate then jumps (idle fell by 358 ticks after re-onlining a CPU).
 *
 * Frequency and temperature come from the cpuboard (see linux.h), which
 * sys_cpufreq and sys_thermal fill earlier in the same tick.
 *
 * The kernel formats /proc/stat whole (single_open_size) on a read from
 * 0, so one pread shorter than the buffer is all of it: kept_read_single,
 * no second pread to meet EOF.
 */
#include "linux.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "readfile.h"

struct stat_cpu_state {
	struct stat_times prev;
	uint32_t gen;               /* sample that last saw this CPU; 0 never */
};

struct proc_stat {
	struct kept_file file;
	struct stat_snap snap;      /* snap.cpus: parse scratch, grows */
	struct stat_cpu_state *cpu; /* indexed by CPU number */
	unsigned ncpu;              /* entries in cpu[] */
	uint32_t gen;
	unsigned prev_online;
	struct stat_times prev_all;
	uint64_t prev_ctxt, prev_intr, prev_forks, prev_mono;
	unsigned prev_has;
};

/* Up to STAT__COLS numbers; columns a kernel does not print stay 0. */
static const char *stat_parse_times(const char *p, const char *end, struct stat_times *t)
{
	memset(t, 0, sizeof *t);
	for (int i = 0; i < STAT__COLS; i++) {
		const char *q = scan_next_u64(p, end, &t->t[i]);
		if (!q)
			break;
		p = q;
	}
	return p;
}

static void stat_parse_cpu(const char *p, const char *end, struct stat_snap *s)
{
	if (p < end && (*p == ' ' || *p == '\t')) {
		stat_parse_times(p, end, &s->all);
		s->has |= STAT_HAS_ALL;
		return;
	}
	uint64_t n;
	const char *q = scan_u64(p, end, &n);
	if (!q || n >= STAT_CPU_MAX)
		return;
	if (s->ncpus < s->cap) {
		struct stat_cpu *c = &s->cpus[s->ncpus];
		c->cpu = (unsigned)n;
		stat_parse_times(q, end, &c->times);
	}
	s->ncpus++;
}

/* "name value": when the line starts with name, the value. */
static int stat_field(const char *p, const char *end, const char *name, size_t len,
		      uint64_t *v)
{
	if ((size_t)(end - p) <= len || memcmp(p, name, len) != 0 || p[len] != ' ')
		return 0;
	return scan_next_u64(p + len, end, v) != NULL;
}
#define STAT_FIELD(p, end, lit, v) stat_field(p, end, lit, sizeof(lit) - 1, v)

static void stat_parse_line(const char *p, const char *end, struct stat_snap *s)
{
	switch (*p) {
	case 'c':
		if (end - p > 3 && memcmp(p, "cpu", 3) == 0)
			stat_parse_cpu(p + 3, end, s);
		else if (STAT_FIELD(p, end, "ctxt", &s->ctxt))
			s->has |= STAT_HAS_CTXT;
		break;
	case 'i':
		/* Only the total: the per-IRQ columns are most of the file. */
		if (STAT_FIELD(p, end, "intr", &s->intr))
			s->has |= STAT_HAS_INTR;
		break;
	case 'b':
		if (STAT_FIELD(p, end, "btime", &s->btime))
			s->has |= STAT_HAS_BTIME;
		break;
	case 'p':
		if (STAT_FIELD(p, end, "processes", &s->forks))
			s->has |= STAT_HAS_FORKS;
		else if (STAT_FIELD(p, end, "procs_running", &s->running))
			s->has |= STAT_HAS_RUNNING;
		else if (STAT_FIELD(p, end, "procs_blocked", &s->blocked))
			s->has |= STAT_HAS_BLOCKED;
		break;
	}
}

void proc_stat_parse(const char *buf, size_t len, struct stat_snap *s)
{
	const char *p = buf, *end = buf + len;
	s->has = 0;
	s->ncpus = 0;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;
		if (le > p)
			stat_parse_line(p, le, s);
		p = eol ? eol + 1 : end;
	}
}

int proc_stat_pct(const struct stat_times *prev, const struct stat_times *cur,
		  struct rm_rec *r)
{
	uint64_t d[STAT__COLS], total = 0, raw_prev = 0, raw_cur = 0;
	for (int i = 0; i < STAT__COLS; i++) {
		/* Single columns may step back (iowait, idle): clamp. */
		d[i] = cur->t[i] > prev->t[i] ? cur->t[i] - prev->t[i] : 0;
		total += d[i];
		raw_prev += prev->t[i];
		raw_cur += cur->t[i];
	}
	if (raw_cur < raw_prev || total == 0)
		return -1;
	/* x * 100 / total, not x * (100 / total): a share of the whole must
	 * come out as exactly 100, never 100.00000000000001. */
	double t = (double)total;
	uint64_t busy = total - d[STAT_IDLE] - d[STAT_IOWAIT];
	rec_set(r, RM_CPU_BUSY, (double)busy * 100.0 / t);
	rec_set(r, RM_CPU_USER, (double)(d[STAT_USER] + d[STAT_NICE]) * 100.0 / t);
	rec_set(r, RM_CPU_NICE, (double)d[STAT_NICE] * 100.0 / t);
	rec_set(r, RM_CPU_SYSTEM, (double)(d[STAT_SYSTEM] + d[STAT_IRQ] + d[STAT_SOFTIRQ]) * 100.0 / t);
	rec_set(r, RM_CPU_IOWAIT, (double)d[STAT_IOWAIT] * 100.0 / t);
	rec_set(r, RM_CPU_IRQ, (double)d[STAT_IRQ] * 100.0 / t);
	rec_set(r, RM_CPU_SOFTIRQ, (double)d[STAT_SOFTIRQ] * 100.0 / t);
	rec_set(r, RM_CPU_STEAL, (double)d[STAT_STEAL] * 100.0 / t);
	rec_set(r, RM_CPU_IDLE, (double)d[STAT_IDLE] * 100.0 / t);
	return 0;
}

/* ---- collector -------------------------------------------------------- */

static int stat_grow_cpus(struct proc_stat *st, unsigned n)
{
	if (n <= st->ncpu)
		return 0;
	unsigned cap = st->ncpu ? st->ncpu : 8;
	while (cap < n)
		cap *= 2;
	struct stat_cpu_state *v = realloc(st->cpu, cap * sizeof *v);
	if (!v)
		return -ENOMEM;
	memset(v + st->ncpu, 0, (cap - st->ncpu) * sizeof *v);
	st->cpu = v;
	st->ncpu = cap;
	return 0;
}

static int stat_grow_scratch(struct stat_snap *s, unsigned n)
{
	unsigned cap = s->cap ? s->cap : 8;
	while (cap < n)
		cap *= 2;
	struct stat_cpu *v = realloc(s->cpus, cap * sizeof *v);
	if (!v)
		return -ENOMEM;
	s->cpus = v;
	s->cap = cap;
	return 0;
}

static void stat_close(void *state)
{
	struct proc_stat *st = state;
	if (!st)
		return;
	kept_close(&st->file);
	free(st->snap.cpus);
	free(st->cpu);
	free(st);
}

static int stat_open(const struct collect_env *env, void **state)
{
	struct proc_stat *st = calloc(1, sizeof *st);
	if (!st)
		return -ENOMEM;
	int err = kept_open(&st->file, env->procfd, "stat", 16384, 64u << 20);
	if (!err)
		err = stat_grow_scratch(&st->snap, 64);
	if (err) {
		stat_close(st);
		return err;
	}
	*state = st;
	return 0;
}

/* Parse, growing the CPU scratch until every cpuN line fits. */
static int stat_read(struct proc_stat *st)
{
	ssize_t n = kept_read_single(&st->file);
	if (n < 0)
		return (int)n;
	for (;;) {
		proc_stat_parse(st->file.buf.p, (size_t)n, &st->snap);
		if (st->snap.ncpus <= st->snap.cap)
			return st->snap.has & STAT_HAS_ALL ? 0 : -EINVAL;
		int err = stat_grow_scratch(&st->snap, st->snap.ncpus);
		if (err)
			return err;
	}
}

/* Did the set of CPU lines change since the previous sample?  Every CPU
 * present now was seen last time and the count is the same. */
static int stat_online_changed(const struct proc_stat *st)
{
	if (st->snap.ncpus != st->prev_online)
		return 1;
	for (unsigned i = 0; i < st->snap.ncpus; i++) {
		unsigned c = st->snap.cpus[i].cpu;
		if (c >= st->ncpu || st->cpu[c].gen != st->gen)
			return 1;
	}
	return 0;
}

/* The board's values for cpu, and the running mean for cpu:all. */
static void stat_board(unsigned cpu, uint64_t tick, struct rm_rec *r, double *fsum,
		       unsigned *fn)
{
	double v;
	if (cpuboard_freq(cpu, tick, &v)) {
		rec_set(r, RM_CPU_FREQ, v);
		*fsum += v;
		(*fn)++;
	}
	if (cpuboard_temp(cpu, tick, &v))
		rec_set(r, RM_CPU_TEMP, v);
}

static void stat_per_cpu(struct proc_stat *st, struct collect_tick *t, double *fsum,
			 unsigned *fn)
{
	struct rm_rec r;
	for (unsigned i = 0; i < st->snap.ncpus; i++) {
		const struct stat_cpu *c = &st->snap.cpus[i];
		struct stat_cpu_state *cs = &st->cpu[c->cpu];
		rec_init(&r, t->rt_ns, NULL);
		linux_key_uint(r.key, c->cpu);
		if (cs->gen && cs->gen == st->gen - 1)
			proc_stat_pct(&cs->prev, &c->times, &r);
		stat_board(c->cpu, t->mono_ns, &r, fsum, fn);
		cs->prev = c->times;
		cs->gen = st->gen;
		t->emit(t, RM_KIND_CPU, &r);
	}
}

static void stat_total(struct proc_stat *st, struct collect_tick *t, int changed,
		       double fsum, unsigned fn)
{
	struct rm_rec r;
	double v;
	rec_init(&r, t->rt_ns, "all");
	if (st->gen > 1 && !changed)
		proc_stat_pct(&st->prev_all, &st->snap.all, &r);
	if (fn)
		rec_set(&r, RM_CPU_FREQ, fsum / fn);
	if (cpuboard_pkg_temp(t->mono_ns, &v))
		rec_set(&r, RM_CPU_TEMP, v);
	st->prev_all = st->snap.all;
	t->emit(t, RM_KIND_CPU, &r);
}

/* A counter's rate into the system record, when both samples have it. */
static void stat_rate(struct rm_rec *sys, int field, unsigned has, unsigned prev_has,
		      unsigned bit, uint64_t prev, uint64_t cur, double dt)
{
	uint64_t d;
	if ((has & bit) && (prev_has & bit) && dt > 0 && ctr_delta(prev, cur, &d) == 0)
		rec_set(sys, field, (double)d / dt);
}

static void stat_system(struct proc_stat *st, struct collect_tick *t)
{
	const struct stat_snap *s = &st->snap;
	struct rm_rec *sys = t->sys;
	double dt = st->gen > 1 ? tick_dt(st->prev_mono, t->mono_ns) : 0;
	stat_rate(sys, RM_SYS_CTXT_PS, s->has, st->prev_has, STAT_HAS_CTXT, st->prev_ctxt, s->ctxt, dt);
	stat_rate(sys, RM_SYS_INTR_PS, s->has, st->prev_has, STAT_HAS_INTR, st->prev_intr, s->intr, dt);
	stat_rate(sys, RM_SYS_FORKS_PS, s->has, st->prev_has, STAT_HAS_FORKS, st->prev_forks, s->forks, dt);
	if (s->has & STAT_HAS_RUNNING)
		rec_set(sys, RM_SYS_PROCS_RUNNING, (double)s->running);
	if (s->has & STAT_HAS_BLOCKED)
		rec_set(sys, RM_SYS_PROCS_BLOCKED, (double)s->blocked);
	/* Uptime from btime: no extra file, and a fixture controls it.
	 * btime is whole seconds, so this is good to about a second. */
	double now_s = (double)t->rt_ns / 1e9;
	if ((s->has & STAT_HAS_BTIME) && now_s >= (double)s->btime)
		rec_set(sys, RM_SYS_UPTIME, now_s - (double)s->btime);
	rec_set(sys, RM_SYS_NCPU_ONLINE, s->ncpus);
	st->prev_ctxt = s->ctxt;
	st->prev_intr = s->intr;
	st->prev_forks = s->forks;
	st->prev_has = s->has;
	st->prev_mono = t->mono_ns;
}

static int stat_sample(void *state, struct collect_tick *t)
{
	struct proc_stat *st = state;
	int err = stat_read(st);
	if (err)
		return err;
	unsigned maxcpu = 0;
	for (unsigned i = 0; i < st->snap.ncpus; i++)
		if (st->snap.cpus[i].cpu + 1 > maxcpu)
			maxcpu = st->snap.cpus[i].cpu + 1;
	err = stat_grow_cpus(st, maxcpu);
	if (err)
		return err;
	int changed = stat_online_changed(st);
	st->gen++;
	double fsum = 0;
	unsigned fn = 0;
	/* Per-CPU first: cpu:all's frequency is their mean. */
	stat_per_cpu(st, t, &fsum, &fn);
	stat_total(st, t, changed, fsum, fn);
	stat_system(st, t);
	st->prev_online = st->snap.ncpus;
	return 0;
}

const struct collector proc_stat_collector = {
	.name = "proc_stat",
	.cap = COLLECT_CAP_CPU,
	.open = stat_open,
	.sample = stat_sample,
	.close = stat_close,
};
