/*
 * The threads of one tracked process: task/TID/{stat,schedstat,io} on kept
 * fds, per-thread rates, and the process's CPU from its CPU clock
 * (ns-precise, where /proc/PID/stat counts whole clock ticks).
 *
 * Every tick starts with the process's CPU clock (proc_pid_idle, read by
 * proctab_sample): unmoved, nothing is read (proc_threads_idle); moved,
 * its movement is the process's CPU over the tick, quiet threads' too.
 * /proc/PID/stat whole is read every tick for a process of up to
 * PT_WS_THREADS threads, and at full passes only for bigger ones (the
 * kernel walks every thread for it, twice; SOURCES §2.7): num_threads
 * decides the re-listing of task/ (between full passes of a big process,
 * task/'s link count does), the faults the process's fault rates, and
 * the leader's comm, state and CPU come with it.  Without the clock (a
 * fixture tree), stat is read every tick and its utime+stime stand in.
 *
 *   task/      re-listed only when the thread count differs from the threads we
 *              have, after a gap (below), or PT_RELIST_NS passed (PT_RELIST_BIG_NS
 *              for a big process) (a thread that ended and one
 *              born in between leave the count alone; the ended one's kept
 *              fd fails with ESRCH and changes it).
 * Cadence (SOURCES §2.6: schedstat about 1-2 us, stat about 3, io more):
 *   every tick   schedstat alone, on a kept fd, of every busy thread:
 *                cpu_pct (Δrun_ns/Δwall), ctxsw_ps (Δtimeslices),
 *                runq_wait_pct (Δwait_ns).
 *   full pass    every PT_TFULL_NS (1 s): stat and io too (name, state,
 *                last CPU, the utime:stime split, io rates), and a
 *                thread's first read.  /proc/PID/io whole for the
 *                process's io rates.
 *   quiet        a thread whose last reading was below quiet_pct (default
 *                PT_QUIET_PCT, procs.quiet_thread_pct; 0: none) of a
 *                core (most threads of a big process sleep) is read only
 *                at a sweep: every PT_QSWEEP_NS (5 s, at a full pass),
 *                when together they used PT_QSWEEP_PCT of a core since
 *                the last (the clock less what the threads read account
 *                for), else every PT_QSWEEP_MAX_NS (30 s): schedstat, and
 *                stat and io when PT_QFULL_NS (20 s) passed.  Only
 *                threads read are reported: a quiet thread's history is a
 *                record every few seconds.  A quiet
 *                thread that wakes up busy shows in the whole-process
 *                CPU (its clock, or stat's ticks): when the process used
 *                more CPU since the last sweep than the threads read
 *                since then account for, by more than PT_QGAP_NS (stat's
 *                ticks are truncated to 10 ms, twice) plus PT_QGAP_PCT of
 *                a core (the quiet threads' own wake-ups), every quiet
 *                thread is read at once.
 *   schedstat  absent or all zero for a thread that has used CPU (no
 *              CONFIG_SCHED_INFO): that thread reads stat every tick,
 *              cpu_pct from its ticks.
 *
 * user_pct and sys_pct split cpu_pct in the proportion of the utime and
 * stime ticks of the last stat interval (of the totals so far when no tick
 * moved): user + sys = cpu, with the kernel's own tick-sampled split.
 *
 * The process's cpu_pct is its CPU clock's movement over the tick, split
 * user:sys as the threads read split theirs; without the clock, the sum of
 * the threads read this tick (a quiet thread's CPU then lands at the tick
 * that reads it, and a thread new since the previous pass adds its
 * totals).  A thread that ended is
 * reported once more, with state 'X' and no readings.  cpu_time_s and the
 * fault rates come from /proc/PID/stat, the io rates from /proc/PID/io.
 */
#include "proctab_linux.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linux.h"

struct thr_sum {
	uint64_t cpu_ns;
	double user_ns;              /* the user part of cpu_ns, by each thread's split */
};

static void thr_close(struct proctab *pt, struct pt_thread *t)
{
	proctab__close_fd(pt, &t->fd_stat);
	proctab__close_fd(pt, &t->fd_sched);
	proctab__close_fd(pt, &t->fd_io);
}

void proc_threads_free(struct proctab *pt, struct pt_proc *p)
{
	for (unsigned i = 0; i < p->nthr; i++)
		thr_close(pt, &p->thr[i]);
	free(p->thr);
	p->thr = NULL;
	p->nthr = p->thrcap = 0;
	proctab__close_fd(pt, &p->fd_task);
	p->flags &= ~(unsigned)PT_T_PREV;
}

/* task/TID/name of thread t: kept fd, or opened relative to the process. */
static ssize_t thr_file(struct proctab *pt, struct pt_proc *p, const struct pt_thread *t,
			int *fd, const char *name, uint64_t mono, const char **out)
{
	char rel[48];
	rel[0] = '\0';
	if (*fd == PT_FD_NONE) {
		char num[16];
		linux_key_uint(num, (unsigned)t->tid);
		size_t a = strlen(num), b = strlen(name);
		if (5 + a + 1 + b >= sizeof rel)
			return -ENAMETOOLONG;
		memcpy(rel, "task/", 5);
		memcpy(rel + 5, num, a);
		rel[5 + a] = '/';
		memcpy(rel + 6 + a, name, b + 1);
	}
	return proctab__read(pt, p, fd, rel, mono, out);
}

static int thr_stat(struct proctab *pt, struct pt_proc *p, struct pt_thread *t, uint64_t mono,
		    struct pid_stat *s)
{
	const char *buf;
	ssize_t n = thr_file(pt, p, t, &t->fd_stat, "stat", mono, &buf);
	if (n <= 0 || proc_pid_parse_stat(buf, (size_t)n, s) < 0 || s->pid != t->tid)
		return -ESRCH;
	return 0;
}

static struct pt_thread *thr_find(struct pt_proc *p, int32_t tid)
{
	unsigned lo = 0, hi = p->nthr;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (p->thr[mid].tid == tid)
			return &p->thr[mid];
		if (p->thr[mid].tid < tid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A thread seen to have ended: one last report with state 'X' and no
 * readings (the thread lane then tells when it ended), and its fds closed. */
static void thr_ended(struct proctab *pt, struct pt_thread *t,
		      void (*cb)(void *arg, const struct thread_info *ti), void *arg)
{
	if (t->prev & PT_TP_STAT) {
		t->info.state = 'X';
		t->info.have = 0;
		cb(arg, &t->info);
	}
	thr_close(pt, t);
}

/* List task/ and merge with the threads we have (both sorted by tid):
 * kept threads keep their fds and baselines, new ones start empty, gone
 * ones are reported ended.  0 or -ESRCH. */
static int thr_relist(struct proctab *pt, struct pt_proc *p, uint64_t mono,
		      void (*cb)(void *arg, const struct thread_info *ti), void *arg)
{
	int fd = p->fd_task, kept = fd >= 0;
	if (!kept) {
		fd = proctab__open(pt, p, "task", O_RDONLY | O_DIRECTORY);
		if (fd < 0)
			return -ESRCH;
		if (proctab__may_keep(pt, p, mono)) {
			p->fd_task = fd;
			pt->nfds++;
			kept = 1;
		}
	}
	int got = proctab__list(pt, fd, &pt->tids, &pt->tidcap);
	if (!kept)
		close(fd);
	if (got <= 0)
		return -ESRCH;
	unsigned n = (unsigned)got;
	if (n > pt->tscratch_cap) {
		struct pt_thread *v = realloc(pt->tscratch, n * sizeof *v);
		if (!v)
			return -ENOMEM;
		pt->tscratch = v;
		pt->tscratch_cap = n;
	}
	struct pt_thread *out = pt->tscratch;
	unsigned a = 0, b = 0, m = 0;
	while (a < p->nthr || b < n) {
		if (b == n || (a < p->nthr && p->thr[a].tid < pt->tids[b])) {
			thr_ended(pt, &p->thr[a++], cb, arg);
		} else if (a < p->nthr && p->thr[a].tid == pt->tids[b]) {
			out[m++] = p->thr[a++];
			b++;
		} else {
			struct pt_thread *t = &out[m++];
			memset(t, 0, sizeof *t);
			t->tid = pt->tids[b++];
			t->fd_stat = t->fd_sched = t->fd_io = PT_FD_NONE;
		}
	}
	if (p->thrcap >= m) {
		/* Copy back rather than swap: each process's array keeps its
		 * own size, so processes of different sizes sharing the one
		 * scratch do not make it shrink and grow again. */
		memcpy(p->thr, out, m * sizeof *out);
	} else {
		pt->tscratch = p->thr;
		pt->tscratch_cap = p->thrcap;
		p->thr = out;
		p->thrcap = n;
	}
	p->nthr = m;
	p->list_mono = mono;
	return 0;
}

/* user + sys = cpu, in the proportion su:ss (all user when both are 0). */
static void thr_split(double cpu, uint64_t su, uint64_t ss, double *user, double *sys)
{
	*user = su + ss ? cpu * (double)su / (double)(su + ss) : cpu;
	*sys = cpu - *user;
}

static double thr_user_ns(uint64_t cpu_ns, uint64_t su, uint64_t ss)
{
	return su + ss ? (double)cpu_ns * (double)su / (double)(su + ss) : (double)cpu_ns;
}

/* schedstat: 1 read, 0 no reading, -ESRCH gone. */
static int thr_sched(struct proctab *pt, struct pt_proc *p, struct pt_thread *t,
		     const struct pid_stat *s, uint64_t mono, uint64_t v[3])
{
	const char *buf;
	if (t->fd_sched == PT_FD_NA)
		return 0;
	ssize_t n = thr_file(pt, p, t, &t->fd_sched, "schedstat", mono, &buf);
	if (n == -ESRCH)
		return -ESRCH;
	int ok = n > 0 && proc_pid_parse_schedstat(buf, (size_t)n, &v[0], &v[1], &v[2]) == 0;
	if (ok && (v[0] | v[1] | v[2]))
		return 1;
	if (!ok || s->utime + s->stime > 0) {   /* absent, or sched_info off */
		proctab__close_fd(pt, &t->fd_sched);
		t->fd_sched = PT_FD_NA;
	}
	return 0;
}

/* io: 1 read, 0 unavailable, -ESRCH gone. */
static int thr_io(struct proctab *pt, struct pt_proc *p, struct pt_thread *t, uint64_t mono,
		  uint64_t *rd, uint64_t *wr)
{
	const char *buf;
	if (t->fd_io == PT_FD_NA)
		return 0;
	ssize_t n = thr_file(pt, p, t, &t->fd_io, "io", mono, &buf);
	if (n == -ESRCH)
		return -ESRCH;
	if (n > 0 && proc_pid_parse_io(buf, (size_t)n, rd, wr) == 0)
		return 1;
	proctab__close_fd(pt, &t->fd_io);
	t->fd_io = PT_FD_NA;
	return 0;
}

/* A full read: stat (given for the leader), schedstat, io.  cpu_pct over
 * the schedstat interval (the previous tick), or over the stat interval
 * without schedstat; the user:sys split, faults and io over the stat
 * interval (the previous full read). */
static void thr_rates(struct proctab *pt, struct pt_thread *t, const struct pid_stat *s,
		      int sched, const uint64_t sv[3], int io, uint64_t rd, uint64_t wr,
		      uint64_t mono, int born, struct thr_sum *sum)
{
	struct thread_info *ti = &t->info;
	uint64_t du, ds, dmin, dmaj;
	ti->have = 0;
	ti->cpu_pct = ti->user_pct = ti->sys_pct = ti->ctxsw_ps = ti->runq_wait_pct = 0;
	ti->read_bps = ti->write_bps = 0;
	t->su = s->utime;
	t->ss = s->stime;
	if (!(t->prev & PT_TP_STAT)) {
		/* First sight: a thread born since the last pass brings its
		 * totals into the process's interval. */
		if (born) {
			uint64_t ns = sched ? sv[0]
					    : (s->utime + s->stime) * 1000000000ull / pt->clk_tck;
			sum->cpu_ns += ns;
			sum->user_ns += thr_user_ns(ns, s->utime, s->stime);
		}
		return;
	}
	if (mono <= t->f_mono || mono <= t->mono || ctr_delta(t->utime, s->utime, &du) ||
	    ctr_delta(t->stime, s->stime, &ds) || ctr_delta(t->minflt, s->minflt, &dmin) ||
	    ctr_delta(t->majflt, s->majflt, &dmaj))
		return;
	if (du + ds) {
		t->su = du;
		t->ss = ds;
	}
	double dt = tick_dt(t->mono, mono), dtf = tick_dt(t->f_mono, mono);
	int sched_d = sched && (t->prev & PT_TP_SCHED) && sv[0] >= t->run_ns &&
		      sv[1] >= t->wait_ns && sv[2] >= t->slices;
	uint64_t cpu_ns = sched_d ? sv[0] - t->run_ns : (du + ds) * 1000000000ull / pt->clk_tck;
	ti->cpu_pct = (double)cpu_ns / 1e9 * 100.0 / (sched_d ? dt : dtf);
	thr_split(ti->cpu_pct, t->su, t->ss, &ti->user_pct, &ti->sys_pct);
	ti->have |= THREAD_HAVE_RATES;
	sum->cpu_ns += cpu_ns;
	sum->user_ns += thr_user_ns(cpu_ns, t->su, t->ss);
	if (sched_d) {
		ti->ctxsw_ps = (double)(sv[2] - t->slices) / dt;
		ti->runq_wait_pct = (double)(sv[1] - t->wait_ns) / 1e9 * 100.0 / dt;
		ti->have |= THREAD_HAVE_SCHED;
	}
	uint64_t dr, dw;
	if (io && (t->prev & PT_TP_IO) && !ctr_delta(t->rbytes, rd, &dr) &&
	    !ctr_delta(t->wbytes, wr, &dw)) {
		ti->read_bps = (double)dr / dtf;
		ti->write_bps = (double)dw / dtf;
		ti->have |= THREAD_HAVE_IO;
	}
}

/* The steady tick: schedstat alone.  1 done, 0 no usable reading (the
 * caller does a full read, which also tells a gone thread from one without
 * schedstat), -ESRCH gone.  Between full reads the thread keeps its name,
 * state and last CPU (the leader's are fresh: its stat is read every tick
 * anyway), splits cpu_pct by its last stat interval's utime:stime, and
 * keeps its last io rates and THREAD_HAVE_IO: a 10 Hz series then shows
 * io as a 1 s step, not a value every tenth sample and gaps between. */
static int thr_fast(struct proctab *pt, struct pt_proc *p, struct pt_thread *t,
		    const struct pid_stat *given, uint64_t mono, struct thr_sum *sum)
{
	const char *buf;
	uint64_t v[3];
	ssize_t n = thr_file(pt, p, t, &t->fd_sched, "schedstat", mono, &buf);
	if (n == -ESRCH)
		return -ESRCH;
	if (n <= 0 || proc_pid_parse_schedstat(buf, (size_t)n, &v[0], &v[1], &v[2]) ||
	    !(v[0] | v[1] | v[2]) || mono <= t->mono || v[0] < t->run_ns || v[1] < t->wait_ns ||
	    v[2] < t->slices)
		return 0;
	struct thread_info *ti = &t->info;
	double dt = tick_dt(t->mono, mono);
	uint64_t cpu_ns = v[0] - t->run_ns;
	ti->cpu_pct = (double)cpu_ns / 1e9 * 100.0 / dt;
	thr_split(ti->cpu_pct, t->su, t->ss, &ti->user_pct, &ti->sys_pct);
	ti->ctxsw_ps = (double)(v[2] - t->slices) / dt;
	ti->runq_wait_pct = (double)(v[1] - t->wait_ns) / 1e9 * 100.0 / dt;
	ti->have = (ti->have & THREAD_HAVE_IO) | THREAD_HAVE_RATES | THREAD_HAVE_SCHED;
	if (given) {
		memcpy(ti->name, given->comm, sizeof ti->name);
		ti->state = given->state;
		ti->last_cpu = given->processor;
	}
	sum->cpu_ns += cpu_ns;
	sum->user_ns += thr_user_ns(cpu_ns, t->su, t->ss);
	t->run_ns = v[0];
	t->wait_ns = v[1];
	t->slices = v[2];
	t->mono = mono;
	return 1;
}

/* Read thread t and compute its rates: schedstat alone unless full (or
 * the thread is new, or has no schedstat).  For the leader, fresh gives
 * its name, state and CPU on a schedstat-only read (/proc/PID/stat).
 * 0, or -ESRCH when it is gone. */
static int thr_read_one(struct proctab *pt, struct pt_proc *p, struct pt_thread *t,
			const struct pid_stat *fresh, uint64_t mono, int born, int full,
			struct thr_sum *sum)
{
	struct pid_stat s;
	uint64_t sv[3] = { 0 }, rd = 0, wr = 0;
	if (!full && (t->prev & PT_TP_SCHED) && t->fd_sched != PT_FD_NA) {
		int r = thr_fast(pt, p, t, fresh, mono, sum);
		if (r)
			return r < 0 ? r : 0;
	}
	if (thr_stat(pt, p, t, mono, &s))
		return -ESRCH;
	int sched = thr_sched(pt, p, t, &s, mono, sv);
	int io = sched < 0 ? sched : thr_io(pt, p, t, mono, &rd, &wr);
	if (sched < 0 || io < 0)
		return -ESRCH;
	struct thread_info *ti = &t->info;
	ti->tid = t->tid;
	ti->pid = p->info.pid;
	memcpy(ti->name, s.comm, sizeof ti->name);
	ti->state = s.state;
	ti->last_cpu = s.processor;
	thr_rates(pt, t, &s, sched, sv, io, rd, wr, mono, born, sum);
	t->utime = s.utime;
	t->stime = s.stime;
	t->minflt = s.minflt;
	t->majflt = s.majflt;
	t->prev = PT_TP_STAT;
	if (sched) {
		t->run_ns = sv[0];
		t->wait_ns = sv[1];
		t->slices = sv[2];
		t->prev |= PT_TP_SCHED;
	}
	if (io) {
		t->rbytes = rd;
		t->wbytes = wr;
		t->prev |= PT_TP_IO;
	}
	t->mono = t->f_mono = mono;
	return 0;
}

/* thr_read_one, then whether the thread is quiet now; a thread that is
 * gone is marked so (closed and dropped after the pass). */
static void thr_read(struct proctab *pt, struct pt_proc *p, struct pt_thread *t,
		     const struct pid_stat *fresh, uint64_t mono,
		     int born, int full, struct thr_sum *sum)
{
	t->read = 1;
	if (thr_read_one(pt, p, t, fresh, mono, born, full, sum)) {
		t->gone = 1;
		return;
	}
	t->quiet = (t->info.have & THREAD_HAVE_RATES) && t->info.cpu_pct < pt->quiet_pct;
}

/* The user share of a process's CPU over a tick whose threads read
 * used none (quiet ones ran): its stat ticks of the tick, else of its
 * life so far. */
static double thr_user_share(const struct pt_proc *p, const struct pid_stat *ws)
{
	uint64_t du = ws && ws->utime >= p->utime ? ws->utime - p->utime : 0;
	uint64_t ds = ws && ws->stime >= p->stime ? ws->stime - p->stime : 0;
	if (du + ds == 0) {
		du = ws ? ws->utime : p->utime;
		ds = ws ? ws->stime : p->stime;
	}
	return du + ds ? (double)du / (double)(du + ds) : 1.0;
}

/* The process's own figures: cpu from its CPU clock's movement over the
 * tick (all its threads, the quiet ones too, exact), split user:sys as
 * the threads read split theirs; without the clock (fixtures), the sum of
 * the threads read.  cpu_time_s and faults from /proc/PID/stat (ws), io
 * from /proc/PID/io at full passes (carried in between). */
static int thr_proc(struct proctab *pt, struct pt_proc *p, const struct thr_sum *s,
		    const struct thr_sum *qs, const struct pid_stat *ws, uint64_t mono, int full,
		    const uint64_t *clk)
{
	struct proc_info *in = &p->info;
	double dt = tick_dt(p->t_mono, mono);
	in->have &= ~PROC_HAVE_RATES;
	if (dt > 0) {
		double all = (double)(s->cpu_ns + qs->cpu_ns), all_user = s->user_ns + qs->user_ns;
		double cpu_ns = all;
		if (clk && (p->flags & PT_T_CLK) && *clk >= p->t_clk) {
			/* the clock's movement since it was last read, less what
			 * the ticks in between reported (a big process's) */
			double delta = (double)(*clk - p->t_clk), seen = p->c_read_ns + (double)s->cpu_ns;
			double win = mono > p->c_mono ? (double)(mono - p->c_mono) : 0;
			double due = delta - p->c_rep_ns - p->c_owe;   /* an estimate too high: owed */
			cpu_ns = due > 0 ? due : 0;
			p->c_owe = due < 0 ? -due : 0;
			p->c_quiet = win > 0 && delta > seen ? (delta - seen) / win : 0;
		} else if (!clk && pt->cpuclock && (p->flags & PT_T_CLK)) {
			/* a big process between full passes: its busy threads,
			 * and its quiet ones at their rate over the last second */
			cpu_ns = (double)s->cpu_ns + p->c_quiet * dt * 1e9;
			p->c_read_ns += (double)s->cpu_ns;
			p->c_rep_ns += cpu_ns;
		}
		double user_ns = all > 0 ? cpu_ns * all_user / all : cpu_ns * thr_user_share(p, ws);
		in->cpu_pct = cpu_ns / 1e9 * 100.0 / dt;
		in->user_pct = user_ns / 1e9 * 100.0 / dt;
		if (in->user_pct > in->cpu_pct)
			in->user_pct = in->cpu_pct;
		in->sys_pct = in->cpu_pct - in->user_pct;
		in->have |= PROC_HAVE_RATES;
	}
	if (ws)
		proc_pid_stat_rates(pt, p, ws, mono, 0);
	if (clk)   /* exact; stat's ticks are scaled to it anyway */
		in->cpu_time_s = (double)*clk / 1e9;
	else if (pt->cpuclock && (p->flags & PT_T_CLK))
		in->cpu_time_s = ((double)p->t_clk + p->c_rep_ns) / 1e9;
	proc_pid_rates_done(p);
	return full ? proc_pid_read_io(pt, p, mono) : 0;
}

/* Has the process used more CPU since the last sweep than the threads
 * read since then account for?  By its CPU clock, or else by ws's utime
 * and stime, whole ticks each truncated: PT_QGAP_NS is above that error.
 * The quiet threads' own small wake-ups add up too (2000 threads waking
 * once a second for 10 us are 2 % of a core): PT_QGAP_PCT of a core is
 * theirs.  Without a baseline to compare with, yes. */
static int thr_gap(const struct proctab *pt, const struct pt_proc *p, const struct pid_stat *ws,
		   uint64_t mono, const uint64_t *clk)
{
	uint64_t ns;
	if (!(p->flags & PT_Q_BASE) || mono < p->q_mono)
		return 1;
	if (clk && (p->flags & PT_Q_CLK)) {
		if (*clk < p->q_clk)
			return 1;
		ns = *clk - p->q_clk;
	} else if (!clk && pt->cpuclock) {
		return 0;   /* a big process between full passes: at the next one */
	} else if (clk) {
		return 1;   /* the last sweep had no clock: sweep, to have one */
	} else {
		if (!ws || ws->utime + ws->stime < p->q_ticks)
			return 1;
		ns = (ws->utime + ws->stime - p->q_ticks) * (1000000000ull / pt->clk_tck);
	}
	return ns > p->q_act_ns + PT_QGAP_NS + (mono - p->q_mono) / 100 * PT_QGAP_PCT;
}

/* Is a sweep of the quiet threads worth its cost?  Their CPU since the
 * last sweep is what the process's clock counted beyond the threads read
 * since: below PT_QSWEEP_PCT of a core, or below PT_QSWEEP_PPM of a core
 * for each of them (2,000 threads that each wake for 10 us a second are
 * 2 % of a core, 10 ppm each), reading them all would find each where it
 * was, give or take microseconds, so they wait, up to PT_QSWEEP_MAX_NS.
 * Without the clock, always. */
static int thr_sweep_worth(const struct pt_proc *p, uint64_t mono, const uint64_t *clk)
{
	if (!clk || !(p->flags & PT_Q_CLK) || *clk < p->q_clk ||
	    mono - p->q_mono >= PT_QSWEEP_MAX_NS)
		return 1;
	uint64_t quiet_ns = *clk - p->q_clk > p->q_act_ns ? *clk - p->q_clk - p->q_act_ns : 0;
	uint64_t nquiet = 0, span = mono - p->q_mono;
	for (unsigned i = 0; i < p->nthr; i++)
		nquiet += p->thr[i].quiet;
	uint64_t by_pct = span / 100 * PT_QSWEEP_PCT, by_count = span / 1000000 * PT_QSWEEP_PPM * nquiet;
	return quiet_ns >= (by_pct > by_count ? by_pct : by_count);
}

/* The process's thread count from its task/ directory's link count (2 +
 * threads; the kernel counts them without walking them).  0 or -ESRCH. */
static int thr_count(const struct pt_proc *p, uint64_t *n)
{
	struct stat st;
	if (fstat(p->fd_task, &st) != 0 || st.st_nlink < 3)
		return -ESRCH;
	*n = (uint64_t)st.st_nlink - 2;
	return 0;
}

int proc_threads_pass(struct proctab *pt, struct pt_proc *p, uint64_t mono, int proc_too,
		      const uint64_t *clk,
		      void (*cb)(void *arg, const struct thread_info *ti), void *arg)
{
	int listed = 0;
	if (p->nthr == 0) {
		if (thr_relist(pt, p, mono, cb, arg))
			return -ESRCH;
		listed = 1;
	}
	int had = (p->flags & PT_T_PREV) != 0;
	int full = !had || mono < p->tf_mono || mono - p->tf_mono >= PT_TFULL_NS;
	/* /proc/PID/stat whole, every tick, unless the process has many
	 * threads: producing it walks them all, twice (SOURCES §2.7), which
	 * for 2,000 threads with cold caches costs more than the rest of the
	 * tick.  Such a process reads it, and its CPU clock (another walk;
	 * proctab_sample), at full passes only: faults, state, ppid, an exec
	 * and a quiet thread waking up busy show within 1 s; its thread
	 * count comes from task/'s link count in between. */
	struct pid_stat ws_buf, *ws = NULL;
	uint64_t nthreads;
	if (full || p->nthr <= PT_WS_THREADS || p->fd_task < 0 || !pt->cpuclock) {
		ws = &ws_buf;
		if (proc_pid_read_stat(pt, p, mono, ws) || ws->starttime != p->info.start_ticks)
			return -ESRCH;
		nthreads = ws->num_threads;
	} else if (thr_count(p, &nthreads)) {
		return -ESRCH;
	}
	uint64_t relist_ns = p->nthr > PT_WS_THREADS ? PT_RELIST_BIG_NS : PT_RELIST_NS;
	if (!listed && (nthreads != p->nthr || mono - p->list_mono >= relist_ns)) {
		if (thr_relist(pt, p, mono, cb, arg))
			return -ESRCH;
		listed = 1;
	}
	struct pt_thread *lead = thr_find(p, p->info.pid);
	if (!lead)
		return -ESRCH;
	if (proc_too) {
		if (ws)
			proc_pid_apply_stat(pt, p, ws);
		else
			p->info.threads = nthreads > UINT32_MAX ? UINT32_MAX : (uint32_t)nthreads;
		if (proc_pid_read_mem(pt, p, mono))
			return -ESRCH;
	}
	struct thr_sum sum = { 0 }, qsum = { 0 };   /* busy threads; quiet ones */
	/* quiet threads: every PT_QSWEEP_NS, at a full pass (half a pass of
	 * slack, so that the sweeps do not drift to every 6th pass), when
	 * they did something worth reading */
	int sweep = pt->quiet_pct <= 0 || !(p->flags & PT_Q_BASE) || mono < p->q_mono ||
		    (full && mono - p->q_mono + PT_TFULL_NS / 2 >= PT_QSWEEP_NS &&
		     thr_sweep_worth(p, mono, clk));
	for (unsigned i = 0; i < p->nthr; i++)
		p->thr[i].read = p->thr[i].gone = 0;
	for (unsigned i = 0; i < p->nthr; i++) {
		struct pt_thread *t = &p->thr[i];
		if (!sweep && t->quiet)
			continue;
		int tfull = full && (!t->quiet || mono - t->f_mono >= PT_QFULL_NS);
		thr_read(pt, p, t, t == lead ? ws : NULL, mono, had, tfull, t->quiet ? &qsum : &sum);
	}
	if (!sweep) {
		p->q_act_ns += sum.cpu_ns;
		if (thr_gap(pt, p, ws, mono, clk)) {
			/* and list task/ anew next pass: a thread born since
			 * the last listing, with the same count, is unseen */
			p->list_mono = 0;
			for (unsigned i = 0; i < p->nthr; i++) {
				struct pt_thread *t = &p->thr[i];
				if (!t->read)
					thr_read(pt, p, t, t == lead ? ws : NULL, mono, had, 0, &qsum);
			}
			sweep = 1;
		}
	}
	if (ws && !lead->gone && (lead->prev & PT_TP_STAT)) {   /* fresh even when not read */
		memcpy(lead->info.name, ws->comm, sizeof lead->info.name);
		lead->info.state = ws->state;
		lead->info.last_cpu = ws->processor;
	}
	if (sweep) {
		if (ws)
			p->q_ticks = ws->utime + ws->stime;
		p->q_mono = mono;
		p->q_act_ns = 0;
		p->flags |= PT_Q_BASE;
		p->flags &= ~(unsigned)PT_Q_CLK;
		if (clk) {
			p->q_clk = *clk;
			p->flags |= PT_Q_CLK;
		}
	}
	unsigned m = 0;
	for (unsigned i = 0; i < p->nthr; i++) {
		struct pt_thread *t = &p->thr[i];
		if (t->gone) {
			thr_ended(pt, t, cb, arg);
			continue;
		}
		if (t->read)
			cb(arg, &t->info);
		if (m != i)
			p->thr[m] = *t;
		m++;
	}
	p->nthr = m;
	int err = proc_too ? thr_proc(pt, p, &sum, &qsum, ws, mono, full, clk) : 0;
	p->t_mono = mono;
	if (clk) {                    /* a new window of the clock */
		p->t_clk = *clk;
		p->c_mono = mono;
		p->c_rep_ns = p->c_read_ns = 0;
		p->flags |= PT_T_CLK;
	} else if (!pt->cpuclock) {
		p->flags &= ~(unsigned)PT_T_CLK;
	}
	if (full)
		p->tf_mono = mono;
	p->flags |= PT_T_PREV;
	return err ? -ESRCH : 0;
}

/* An idle tick (proc_pid_idle: the process's CPU clock has not moved since
 * the last pass).  No thread ran, so every counter is where it was: the
 * cpu baselines move to now (the next reading's rates are over the tick
 * that moved, not diluted over the idle ones), a thread that last showed
 * CPU or switches is reported once at zero and is quiet now, and a full
 * pass due now is one with nothing to read (io rates zero). */
void proc_threads_idle(struct proctab *pt, struct pt_proc *p, uint64_t mono,
		       void (*cb)(void *arg, const struct thread_info *ti), void *arg)
{
	int full = mono < p->tf_mono || mono - p->tf_mono >= PT_TFULL_NS;
	for (unsigned i = 0; i < p->nthr; i++) {
		struct pt_thread *t = &p->thr[i];
		struct thread_info *ti = &t->info;
		if (!(t->prev & PT_TP_STAT))
			continue;                 /* never read: no baseline to move */
		int was_busy = ti->cpu_pct != 0 || ti->ctxsw_ps != 0 || ti->runq_wait_pct != 0;
		int had_io = full && (ti->read_bps != 0 || ti->write_bps != 0);
		t->mono = mono;
		if (full && !t->quiet)
			t->f_mono = mono;
		if (!was_busy && !had_io)
			continue;
		ti->cpu_pct = ti->user_pct = ti->sys_pct = ti->ctxsw_ps = ti->runq_wait_pct = 0;
		if (full)
			ti->read_bps = ti->write_bps = 0;
		t->quiet = pt->quiet_pct > 0;
		cb(arg, ti);
	}
	proc_pid_idle_rates(p, mono, full);
	p->t_mono = mono;
	if (full)
		p->tf_mono = mono;
	/* the clock has not moved since its window began: anything the
	 * window's ticks reported beyond it was an estimate, now dropped */
	p->c_mono = mono;
	p->c_owe += p->c_rep_ns;
	p->c_rep_ns = p->c_read_ns = p->c_quiet = 0;
}
