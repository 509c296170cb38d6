/*
 * One process: its files under /proc/PID, read on kept fds (or by path),
 * turned into a proc_info and rates.
 *
 *   stat    every read: identity (starttime), state, ppid, comm, threads,
 *           cpu and fault counters.  The first read opens the dirfd.
 *   statm   every read, except kernel threads and zombies (no mm): rss and
 *           vms in pages (statm's resident is precise; stat's rss is not).
 *   status  uid and context-switch counters.  It is the dearest of these
 *           files (about twice stat), so the scan reads it only when it can
 *           have changed much: the first two reads, after an exec, when the
 *           process used CPU since status was last read, and at least every
 *           PT_STATUS_NS.  Switch rates are over the time between two
 *           status reads; in between they carry the last value.  The fast
 *           path (sample) reads it only for the first two reads.
 *   io      every read unless unavailable (EACCES: no ptrace access; the
 *           file absent): then not tried again until an exec.
 *   cmdline, exe   at first sight and when comm changes (an exec).
 *
 * The idle gate (proc_pid_idle).  Most processes sleep through most
 * scans, and reading their files only to find every counter where it was
 * is most of a scan's cost.  A process's CPU clock (the kernel's
 * sum_exec_runtime of all its threads, dead ones included, in ns) moves
 * whenever any of its threads runs, and nothing the files above count
 * moves without that: faults, switches, io, a new thread, an exec, a
 * state change all happen while it runs.  So when the clock is where it
 * was at the last reading, the rates over the interval are zero and the
 * files are not read.  The clock is read with clock_gettime on the
 * process's CPU-time clock id, which Linux lets any process do; it costs
 * a fifth of a stat read.  Two things can change without the process
 * running: its RSS (reclaim takes pages from sleepers), so an idle
 * process's statm is still read every PT_IDLE_NS plus a spread by pid (so
 * that processes first seen together are not read together), and its
 * parent (reparenting when the parent exits), so one whose parent is no
 * longer listed is read whole; and every PT_IDLE_FULL_NS it is read whole
 * anyway (a write to its comm, say).  The gate needs the root to
 * be our own pid namespace's /proc (clock ids are pids of ours): not for
 * fixture trees.  A pid reused between two scans by a process whose clock
 * happens to equal the old one's to the nanosecond would pass for the old
 * one until the forced read; the listing and the kept fds catch every
 * other reuse.
 *
 * ESRCH anywhere is the process gone; the caller drops it.  A file that is
 * just unreadable clears its PROC_HAVE_* bit.
 */
#include "proctab_linux.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "linux.h"

static void pp_cmdline(struct proctab *pt, struct pt_proc *p)
{
	struct proc_info *in = &p->info;
	in->cmdline[0] = '\0';
	in->have &= ~PROC_HAVE_CMDLINE;
	if (in->kthread) {              /* known to have none: nothing to read */
		in->have |= PROC_HAVE_CMDLINE;
		return;
	}
	int fd = proctab__open(pt, p, "cmdline", O_RDONLY);
	if (fd < 0)
		return;
	ssize_t n = proctab__prefix(fd, in->cmdline, sizeof in->cmdline);
	close(fd);
	if (n < 0) {
		in->cmdline[0] = '\0';
		return;
	}
	proc_pid_parse_cmdline(in->cmdline, (size_t)n);
	in->have |= PROC_HAVE_CMDLINE;
}

static void pp_exe(struct proctab *pt, struct pt_proc *p)
{
	struct proc_info *in = &p->info;
	char buf[96];
	int dfd;
	in->exe[0] = '\0';
	in->have &= ~PROC_HAVE_EXE;
	const char *path = proctab__path(pt, p, "exe", buf, sizeof buf, &dfd);
	if (in->kthread || !path)
		return;
	ssize_t n = readlinkat(dfd, path, in->exe, sizeof in->exe - 1);
	if (n <= 0) {
		in->exe[0] = '\0';
		return;
	}
	in->exe[n] = '\0';
	in->have |= PROC_HAVE_EXE;
}

/* Returns 1 when comm changed (an exec, or a rename). */
static int pp_apply(struct proctab *pt, struct pt_proc *p, const struct pid_stat *s)
{
	struct proc_info *in = &p->info;
	int first = !(p->flags & PT_KNOWN);
	int changed = !first && strcmp(in->comm, s->comm) != 0;
	in->ppid = s->ppid;
	in->state = s->state;
	in->threads = s->num_threads > UINT32_MAX ? UINT32_MAX : (uint32_t)s->num_threads;
	/* kthreadd's children are kernel threads, unless they have an mm (a
	 * usermode helper before it execs). */
	in->kthread = (s->flags & PID_PF_KTHREAD) || s->pid == 2 ||
		      (s->ppid == 2 && s->vsize == 0);
	in->start_ticks = s->starttime;
	in->start_time = pt->btime + (double)s->starttime / (double)pt->clk_tck;
	p->flags |= PT_KNOWN;
	if (first || changed) {
		memcpy(in->comm, s->comm, sizeof in->comm);
		if (changed) {
			in->generation++;
			if (p->fd_io == PT_FD_NA)   /* new credentials, maybe */
				p->fd_io = PT_FD_NONE;
		}
		pp_cmdline(pt, p);
		pp_exe(pt, p);
	}
	return changed;
}

void proc_pid_apply_stat(struct proctab *pt, struct pt_proc *p, const struct pid_stat *s)
{
	pp_apply(pt, p, s);
}

/* stat: 0, or -ESRCH (gone, or not a stat file). */
static int pp_stat(struct proctab *pt, struct pt_proc *p, uint64_t mono, struct pid_stat *s)
{
	const char *buf;
	ssize_t n = proctab__read(pt, p, &p->fd_stat, "stat", mono, &buf);
	if (n <= 0 || proc_pid_parse_stat(buf, (size_t)n, s) < 0 || s->pid != p->info.pid)
		return -ESRCH;
	return 0;
}

int proc_pid_read_stat(struct proctab *pt, struct pt_proc *p, uint64_t mono, struct pid_stat *s)
{
	return pp_stat(pt, p, mono, s);
}

void proc_pid_stat_rates(struct proctab *pt, struct pt_proc *p, const struct pid_stat *s,
			 uint64_t mono, int cpu_too)
{
	struct proc_info *in = &p->info;
	uint64_t du, ds, dmin, dmaj;
	double hz = (double)pt->clk_tck;
	if (cpu_too) {
		in->have &= ~PROC_HAVE_RATES;
		in->cpu_pct = in->user_pct = in->sys_pct = in->minflt_ps = in->majflt_ps = 0;
	}
	if ((p->flags & PT_W_PREV) && mono > p->w_mono && !ctr_delta(p->utime, s->utime, &du) &&
	    !ctr_delta(p->stime, s->stime, &ds) && !ctr_delta(p->minflt, s->minflt, &dmin) &&
	    !ctr_delta(p->majflt, s->majflt, &dmaj)) {
		double dt = tick_dt(p->w_mono, mono);
		if (cpu_too) {
			in->user_pct = (double)du * 100.0 / hz / dt;
			in->sys_pct = (double)ds * 100.0 / hz / dt;
			in->cpu_pct = (double)(du + ds) * 100.0 / hz / dt;
			in->have |= PROC_HAVE_RATES;
		}
		in->minflt_ps = (double)dmin / dt;
		in->majflt_ps = (double)dmaj / dt;
	}
	p->utime = s->utime;
	p->stime = s->stime;
	p->minflt = s->minflt;
	p->majflt = s->majflt;
	p->w_mono = mono;
	p->flags |= PT_W_PREV;
	in->cpu_time_s = (double)(s->utime + s->stime) / hz;
}

int proc_pid_read_mem(struct proctab *pt, struct pt_proc *p, uint64_t mono)
{
	struct proc_info *in = &p->info;
	in->have &= ~PROC_HAVE_MEM;
	if (in->kthread || in->state == 'Z' || in->state == 'X')
		return 0;
	const char *buf;
	uint64_t size, res;
	ssize_t n = proctab__read(pt, p, &p->fd_statm, "statm", mono, &buf);
	if (n == -ESRCH)
		return -ESRCH;
	/* All zero: the mm is already gone (exiting), not a reading. */
	if (n <= 0 || proc_pid_parse_statm(buf, (size_t)n, &size, &res) < 0 || size == 0)
		return 0;
	in->rss = res * pt->pagesize;
	in->vms = size * pt->pagesize;
	in->have |= PROC_HAVE_MEM;
	return 0;
}

static int pp_want_status(const struct pt_proc *p, uint64_t mono, int mode, int changed)
{
	if (p->s_reads < 2 || changed)
		return 1;
	if (mode != PP_SCAN)
		return 0;
	return !(p->flags & PT_CTX_OK) || p->utime + p->stime != p->s_cpu ||
	       mono - p->s_mono >= PT_STATUS_NS;
}

/* 0, -ESRCH (gone), or -ECHILD: the pid is a thread, not a process. */
static int pp_status(struct proctab *pt, struct pt_proc *p, uint64_t mono)
{
	struct proc_info *in = &p->info;
	struct pid_status st;
	const char *buf;
	ssize_t n = proctab__read(pt, p, &p->fd_status, "status", mono, &buf);
	if (n == -ESRCH)
		return -ESRCH;
	p->s_reads++;
	if (n <= 0) {
		in->have &= ~PROC_HAVE_CTX;
		p->flags &= ~(unsigned)(PT_CTX_OK | PT_CTX_RATE);
		return 0;
	}
	proc_pid_parse_status(buf, (size_t)n, &st);
	if ((st.has & PID_STATUS_TGID) && st.tgid != in->pid)
		return -ECHILD;
	if (st.has & PID_STATUS_UID)
		in->uid = st.uid;
	if ((st.has & (PID_STATUS_UID | PID_STATUS_CTX)) != (PID_STATUS_UID | PID_STATUS_CTX)) {
		in->have &= ~PROC_HAVE_CTX;
		p->flags &= ~(unsigned)(PT_CTX_OK | PT_CTX_RATE);
		return 0;
	}
	uint64_t dv, dn;
	if ((p->flags & PT_CTX_OK) && mono > p->s_mono && !ctr_delta(p->vctx, st.vctx, &dv) &&
	    !ctr_delta(p->nvctx, st.nvctx, &dn)) {
		double dt = tick_dt(p->s_mono, mono);
		in->vctx_ps = (double)dv / dt;
		in->nvctx_ps = (double)dn / dt;
		p->flags |= PT_CTX_RATE;
	}
	p->vctx = st.vctx;
	p->nvctx = st.nvctx;
	p->s_mono = mono;
	p->s_cpu = p->utime + p->stime;
	p->flags |= PT_CTX_OK;
	in->have |= PROC_HAVE_CTX;
	return 0;
}

int proc_pid_read_io(struct proctab *pt, struct pt_proc *p, uint64_t mono)
{
	struct proc_info *in = &p->info;
	const char *buf;
	uint64_t rd, wr, dr, dw;
	in->have &= ~(PROC_HAVE_IO | PROC_HAVE_IO_RATES);
	if (p->fd_io == PT_FD_NA)
		return 0;
	ssize_t n = proctab__read(pt, p, &p->fd_io, "io", mono, &buf);
	if (n == -ESRCH)
		return -ESRCH;
	if (n <= 0 || proc_pid_parse_io(buf, (size_t)n, &rd, &wr) < 0) {
		/* EACCES (ptrace check, at open or at read), absent, a
		 * directory: unavailable until the process execs. */
		proctab__close_fd(pt, &p->fd_io);
		p->fd_io = PT_FD_NA;
		p->flags &= ~(unsigned)PT_IO_PREV;
		return 0;
	}
	if ((p->flags & PT_IO_PREV) && mono > p->io_mono && !ctr_delta(p->rbytes, rd, &dr) &&
	    !ctr_delta(p->wbytes, wr, &dw)) {
		double dt = tick_dt(p->io_mono, mono);
		in->read_bps = (double)dr / dt;
		in->write_bps = (double)dw / dt;
		in->have |= PROC_HAVE_IO_RATES;
	}
	p->rbytes = in->read_bytes = rd;
	p->wbytes = in->write_bytes = wr;
	p->io_mono = mono;
	p->flags |= PT_IO_PREV;
	in->have |= PROC_HAVE_IO;
	return 0;
}

void proc_pid_rates_done(struct pt_proc *p)
{
	/* Context-switch rates are part of the rates: until two status
	 * reads gave one, there are none. */
	if ((p->info.have & PROC_HAVE_CTX) && !(p->flags & PT_CTX_RATE))
		p->info.have &= ~PROC_HAVE_RATES;
}

/* The CPU-time clock of another process: the kernel's
 * MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED), ~pid << 3 | 2, the ABI behind
 * clock_getcpuclockid(3) (which spends a clock_getres call checking it).
 * 0, or -errno (EINVAL: no such process). */
static int pp_cpu_clock(int32_t pid, uint64_t *ns)
{
	clockid_t id = (clockid_t)((~(uint32_t)pid << 3) | 2u);
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return -errno;
	*ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return 0;
}

int proc_pid_idle(const struct proctab *pt, const struct pt_proc *p, uint64_t mono,
		  uint64_t *clk)
{
	if (!pt->cpuclock || p->info.pid <= 0 || pp_cpu_clock(p->info.pid, clk) != 0)
		return -1;
	return (p->flags & (PT_CLK | PT_KNOWN | PT_DEAD)) == (PT_CLK | PT_KNOWN) &&
	       *clk == p->clk_ns && (p->info.have & PROC_HAVE_RATES) && mono >= p->r_mono &&
	       mono - p->r_mono < PT_IDLE_FULL_NS && proctab__listed(pt, p->info.ppid);
}

int proc_pid_idle_mem(struct proctab *pt, struct pt_proc *p, uint64_t mono)
{
	uint64_t limit = PT_IDLE_NS + (uint64_t)p->info.pid % PT_IDLE_SPREAD * 1000000000ull;
	if (mono >= p->m_mono && mono - p->m_mono < limit)
		return 0;
	p->m_mono = mono;
	return proc_pid_read_mem(pt, p, mono);
}

void proc_pid_clock_read(struct pt_proc *p, uint64_t clk, uint64_t mono)
{
	p->clk_ns = clk;
	p->r_mono = p->m_mono = mono;
	p->flags |= PT_CLK;
}

void proc_pid_idle_rates(struct pt_proc *p, uint64_t mono, int full)
{
	struct proc_info *in = &p->info;
	in->cpu_pct = in->user_pct = in->sys_pct = 0;
	if (!full)
		return;
	in->minflt_ps = in->majflt_ps = 0;
	p->w_mono = mono;
	if (p->flags & PT_CTX_OK) {
		in->vctx_ps = in->nvctx_ps = 0;
		p->s_mono = mono;
	}
	if (p->flags & PT_IO_PREV) {
		in->read_bps = in->write_bps = 0;
		p->io_mono = mono;
	}
}

int proc_pid_read(struct proctab *pt, struct pt_proc *p, uint64_t mono, int mode)
{
	struct pid_stat s;
	int first = !(p->flags & PT_KNOWN);
	uint64_t clk = 0;
	int gate = mode == PP_SCAN ? proc_pid_idle(pt, p, mono, &clk) : -1;
	if (gate == 1) {
		proc_pid_idle_rates(p, mono, 1);
		return proc_pid_idle_mem(pt, p, mono);
	}
	if (first && proctab__keep_dir(pt, p, mono) < 0)
		return -ESRCH;
	if (pp_stat(pt, p, mono, &s))
		return -ESRCH;
	if (!first && s.starttime != p->info.start_ticks) {
		/* Read by path (over the fd budget, or a fixture): another
		 * process got the pid.  The scan starts afresh with it; the
		 * fast path reports the one it tracked gone. */
		if (mode != PP_SCAN)
			return -ESRCH;
		proc_pid_reset(pt, p);
		return proc_pid_read(pt, p, mono, mode);
	}
	int changed = pp_apply(pt, p, &s);
	proc_pid_stat_rates(pt, p, &s, mono, 1);
	int err = proc_pid_read_mem(pt, p, mono);
	if (!err && pp_want_status(p, mono, mode, first || changed))
		err = pp_status(pt, p, mono);
	if (!err)
		err = proc_pid_read_io(pt, p, mono);
	if (err)
		return -ESRCH;
	proc_pid_rates_done(p);
	if (mode == PP_SCAN) {   /* a sample records its clock itself (proctab_sample) */
		if (gate == 0)
			proc_pid_clock_read(p, clk, mono);
		else
			p->flags &= ~(unsigned)PT_CLK;
		pt->scan_read++;
	}
	return 0;
}

int proc_pid_scan_tracked(struct proctab *pt, struct pt_proc *p, uint64_t mono)
{
	if (!pp_want_status(p, mono, PP_SCAN, 0))
		return 0;
	int err = pp_status(pt, p, mono);
	if (!err)
		proc_pid_rates_done(p);
	return err == -ESRCH ? -ESRCH : 0;
}

void proc_pid_close(struct proctab *pt, struct pt_proc *p)
{
	proc_threads_free(pt, p);
	int *fds[] = { &p->fd_stat, &p->fd_statm, &p->fd_status, &p->fd_io, &p->fd_task, &p->dirfd };
	for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++)
		proctab__close_fd(pt, fds[i]);
	p->flags &= ~(unsigned)PT_KEEP;
}

void proc_pid_reset(struct proctab *pt, struct pt_proc *p)
{
	int32_t pid = p->info.pid;
	uint64_t track = p->track_mono;
	proc_pid_close(pt, p);
	memset(p, 0, sizeof *p);
	p->info.pid = pid;
	p->track_mono = track;
	p->dirfd = p->fd_stat = p->fd_statm = p->fd_status = p->fd_io = p->fd_task = PT_FD_NONE;
}
