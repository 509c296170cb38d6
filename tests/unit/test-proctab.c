/*
 * The process table (proctab.h) on the fixture tree tests/fixtures/linux/
 * procs/basic/proc and on this machine's /proc.
 *
 * The fixture holds the traps: a comm "a) R 1 (b c" (300), a zombie (301),
 * kthreadd (2) and a kworker whose name is 27 bytes (57), a process with
 * three threads (400), a pid whose stat is missing (500: it vanished between
 * readdir and open), and a process whose io is a directory and whose
 * smaps_rollup is a dangling symlink (600).  Rates use temporary copies whose
 * files are rewritten in place between scans (kept fds see the new content,
 * as in /proc).
 *
 * Permissions.  A fixture in git cannot carry mode bits reliably, and root
 * ignores them anyway, so "unreadable" is simulated two ways: 600's io is a
 * directory (open succeeds, read fails with EISDIR) and its smaps_rollup a
 * dangling symlink (ENOENT) -- both must read as "unavailable"; and a real
 * EACCES: a forked child drops to uid 65534 (when it is root) and reads a
 * copy whose io and smaps_rollup are mode 000.
 *
 * Every expected value below is worked out by hand from the fixture files
 * (clk_tck 100, btime 1700000000).
 */
#include "test-collect.h"

#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "collect/linux/proctab_linux.h"

#define S(x) ((uint64_t)(x) * FX_SEC)
#define MS(x) ((uint64_t)(x) * 1000000ull)
#define PROCS "procs/basic"

static long page(void)
{
	return sysconf(_SC_PAGESIZE);
}

static struct proctab *pt_open_root(struct fx_root *r)
{
	struct proctab *pt = NULL;
	int err = proctab_open(&r->env, &pt);
	if (err)
		fail_msg("proctab_open: %s", strerror(-err));
	return pt;
}

static const struct proc_info *must_find(struct proctab *pt, int32_t pid)
{
	const struct proc_info *pi = proctab_find(pt, pid);
	if (!pi)
		fail_msg("pid %d not in the table", (int)pid);
	return pi;
}

/* A stat line as the kernel prints it (52 fields). */
static void fx_stat(struct fx_root *r, const char *rel, int pid, const char *comm, char state,
		    int ppid, unsigned flags, unsigned minflt, unsigned majflt, unsigned utime,
		    unsigned stime, unsigned nthreads, unsigned start, unsigned long vsize,
		    unsigned rss, int cpu)
{
	char buf[1024];
	fx_fmt(buf, sizeof buf,
	       "%d (%s) %c %d %d %d 0 -1 %u %u 7 %u 1 %u %u 3 4 20 0 %u 0 %u %lu %u "
	       "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 %d 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
	       pid, comm, state, ppid, pid, pid, flags, minflt, majflt, utime, stime, nthreads,
	       start, vsize, rss, cpu);
	fx_write(r, rel, buf);
}

static void fx_status(struct fx_root *r, const char *rel, int pid, unsigned uid, unsigned vctx,
		      unsigned nvctx)
{
	char buf[512];
	fx_fmt(buf, sizeof buf,
	       "Name:\tx\nState:\tS (sleeping)\nTgid:\t%d\nPid:\t%d\nUid:\t%u\t%u\t%u\t%u\n"
	       "voluntary_ctxt_switches:\t%u\nnonvoluntary_ctxt_switches:\t%u\n",
	       pid, pid, uid, uid, uid, uid, vctx, nvctx);
	fx_write(r, rel, buf);
}

static void fx_io(struct fx_root *r, const char *rel, unsigned long rd, unsigned long wr)
{
	char buf[256];
	fx_fmt(buf, sizeof buf, "rchar: 1\nwchar: 1\nsyscr: 1\nsyscw: 1\nread_bytes: %lu\n"
	       "write_bytes: %lu\ncancelled_write_bytes: 0\n", rd, wr);
	fx_write(r, rel, buf);
}

/* fx_write for content with NULs. */
static void fx_write_n(struct fx_root *r, const char *rel, const char *content, size_t n)
{
	char p[PATH_MAX + 64];
	fx_fmt(p, sizeof p, "%s/%s", r->dir, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, n), (ssize_t)n);
	close(fd);
}
#define FX_WRITE_LIT(r, rel, lit) fx_write_n(r, rel, lit, sizeof(lit) - 1)

#define HAVE(pi, bits) assert_int_equal((pi)->have & (bits), (bits))
#define HAVE_NOT(pi, bits) assert_int_equal((pi)->have & (bits), 0)

/* ---- fixture: one scan ------------------------------------------------ */

static void test_scan_fixture(void **state)
{
	(void)state;
	struct fx_root r;
	fx_root_open(&r, PROCS);
	struct proctab *pt = pt_open_root(&r);
	assert_int_equal(proctab_scan(pt, S(1)), 7);
	assert_int_equal(proctab_count(pt), 7);
	static const int32_t order[] = { 1, 2, 57, 300, 301, 400, 600 };
	for (unsigned i = 0; i < 7; i++)
		assert_int_equal(proctab_at(pt, i)->pid, order[i]);
	assert_null(proctab_at(pt, 7));
	assert_null(proctab_find(pt, 500));      /* no stat: vanished, dropped silently */

	const struct proc_info *pi = must_find(pt, 1);
	assert_string_equal(pi->comm, "systemd");
	assert_int_equal(pi->state, 'S');
	assert_int_equal(pi->ppid, 0);
	assert_int_equal(pi->uid, 0);
	assert_int_equal(pi->kthread, 0);
	assert_int_equal(pi->threads, 1);
	assert_true(pi->start_ticks == 5);
	assert_near(pi->start_time, 1700000000.05, 1e-6);
	assert_true(pi->rss == 3336ull * (uint64_t)page());    /* statm, not stat's 3000 */
	assert_true(pi->vms == 41504ull * (uint64_t)page());
	assert_near(pi->cpu_time_s, 5.0, 1e-9);                 /* (300 + 200) / 100 */
	assert_true(pi->read_bytes == 1048576 && pi->write_bytes == 2097152);
	assert_string_equal(pi->cmdline, "/sbin/init splash");
	assert_string_equal(pi->exe, "/usr/lib/systemd/systemd");
	assert_int_equal(pi->have, PROC_HAVE_MEM | PROC_HAVE_CTX | PROC_HAVE_IO |
				   PROC_HAVE_CMDLINE | PROC_HAVE_EXE);   /* no rates yet */
	assert_int_equal(pi->generation, 0);

	pi = must_find(pt, 2);                   /* kthreadd: pid 2, PF_KTHREAD */
	assert_int_equal(pi->kthread, 1);
	HAVE_NOT(pi, PROC_HAVE_MEM | PROC_HAVE_EXE);
	HAVE(pi, PROC_HAVE_CMDLINE | PROC_HAVE_CTX | PROC_HAVE_IO);
	assert_string_equal(pi->cmdline, "");

	pi = must_find(pt, 57);
	assert_string_equal(pi->comm, "kworker/u8:0-events_unbound");
	assert_int_equal(pi->state, 'I');
	assert_int_equal(pi->ppid, 2);
	assert_int_equal(pi->kthread, 1);
	HAVE_NOT(pi, PROC_HAVE_MEM);
	assert_near(pi->cpu_time_s, 0.77, 1e-9);

	pi = must_find(pt, 300);                 /* the comm trap */
	assert_string_equal(pi->comm, "a) R 1 (b c");
	assert_int_equal(pi->state, 'S');
	assert_int_equal(pi->ppid, 1);
	assert_int_equal(pi->uid, 1000);         /* real, not effective (1001) */
	assert_true(pi->start_ticks == 1000);
	assert_near(pi->start_time, 1700000010.0, 1e-6);
	assert_true(pi->rss == 512ull * (uint64_t)page());
	assert_string_equal(pi->cmdline, "./trap");
	HAVE_NOT(pi, PROC_HAVE_EXE);             /* no exe link */
	HAVE(pi, PROC_HAVE_MEM | PROC_HAVE_CMDLINE | PROC_HAVE_IO);

	pi = must_find(pt, 301);                 /* zombie: listed, no memory */
	assert_int_equal(pi->state, 'Z');
	assert_int_equal(pi->kthread, 0);
	HAVE_NOT(pi, PROC_HAVE_MEM);
	assert_string_equal(pi->cmdline, "");
	HAVE(pi, PROC_HAVE_CMDLINE);

	pi = must_find(pt, 400);
	assert_int_equal(pi->threads, 3);
	assert_string_equal(pi->cmdline, "/usr/bin/worker --jobs 3");
	assert_string_equal(pi->exe, "/usr/bin/worker");

	pi = must_find(pt, 600);                 /* io is a directory: unavailable */
	HAVE_NOT(pi, PROC_HAVE_IO | PROC_HAVE_IO_RATES);
	HAVE(pi, PROC_HAVE_MEM | PROC_HAVE_CTX);

	/* PSS on demand. */
	assert_int_equal(proctab_read_pss(pt, 400), 0);
	pi = must_find(pt, 400);
	HAVE(pi, PROC_HAVE_PSS);
	assert_true(pi->pss == 30000ull * 1024);
	assert_int_equal(proctab_read_pss(pt, 600), -ENOENT);   /* dangling */
	HAVE_NOT(must_find(pt, 600), PROC_HAVE_PSS);
	assert_int_equal(proctab_read_pss(pt, 500), -ESRCH);
	assert_int_equal(proctab_read_pss(pt, 2), -ENOENT);     /* kthread: no file here */

	proctab_close(pt);
	fx_root_close(&r);
}

/* ---- fixture: rates, the status schedule, a process that went ---------- */

static void test_rates_fixture(void **state)
{
	(void)state;
	struct fx_root r;
	fx_root_tmp(&r, PROCS);
	struct proctab *pt = pt_open_root(&r);
	assert_int_equal(proctab_scan(pt, S(10)), 7);

	/* One second later: +50 user and +10 system ticks, +100 minor and
	 * +2 major faults, +100/+5 switches, +1 MiB read, +512 KiB written. */
	fx_stat(&r, "proc/1/stat", 1, "systemd", 'S', 0, 4194560, 5100, 102, 350, 210, 1, 5,
		170000000, 3000, 1);
	fx_status(&r, "proc/1/status", 1, 0, 1100, 55);
	fx_io(&r, "proc/1/io", 2097152, 2621440);
	assert_int_equal(proctab_scan(pt, S(11)), 7);
	const struct proc_info *pi = must_find(pt, 1);
	HAVE(pi, PROC_HAVE_RATES | PROC_HAVE_CTX | PROC_HAVE_IO | PROC_HAVE_IO_RATES);
	assert_near(pi->cpu_pct, 60.0, 1e-9);    /* 60 ticks / 100 Hz / 1 s */
	assert_near(pi->user_pct, 50.0, 1e-9);
	assert_near(pi->sys_pct, 10.0, 1e-9);
	assert_near(pi->minflt_ps, 100.0, 1e-9);
	assert_near(pi->majflt_ps, 2.0, 1e-9);
	assert_near(pi->vctx_ps, 100.0, 1e-9);
	assert_near(pi->nvctx_ps, 5.0, 1e-9);
	assert_near(pi->read_bps, 1048576.0, 1e-6);
	assert_near(pi->write_bps, 524288.0, 1e-6);
	assert_near(pi->cpu_time_s, 5.6, 1e-9);
	pi = must_find(pt, 300);                 /* unchanged: rates of zero */
	HAVE(pi, PROC_HAVE_RATES | PROC_HAVE_IO_RATES);
	assert_near(pi->cpu_pct, 0.0, 0);
	pi = must_find(pt, 600);
	HAVE(pi, PROC_HAVE_RATES);
	HAVE_NOT(pi, PROC_HAVE_IO | PROC_HAVE_IO_RATES);

	/* No CPU used since status was read: status is not read again, the
	 * switch rates carry their last value. */
	fx_status(&r, "proc/1/status", 1, 0, 1200, 60);
	assert_int_equal(proctab_scan(pt, S(12)), 7);
	pi = must_find(pt, 1);
	HAVE(pi, PROC_HAVE_RATES | PROC_HAVE_CTX);
	assert_near(pi->cpu_pct, 0.0, 0);
	assert_near(pi->vctx_ps, 100.0, 1e-9);
	/* PT_STATUS_NS (5 s) after the last status read it is read anyway:
	 * +100 and +5 over the 5.5 s since. */
	assert_int_equal(proctab_scan(pt, S(16) + MS(500)), 7);
	pi = must_find(pt, 1);
	assert_near(pi->vctx_ps, 100.0 / 5.5, 1e-9);
	assert_near(pi->nvctx_ps, 5.0 / 5.5, 1e-9);
	/* CPU used: read again at once. */
	fx_stat(&r, "proc/1/stat", 1, "systemd", 'S', 0, 4194560, 5100, 102, 351, 210, 1, 5,
		170000000, 3000, 1);
	fx_status(&r, "proc/1/status", 1, 0, 1300, 60);
	assert_int_equal(proctab_scan(pt, S(17)), 7);
	pi = must_find(pt, 1);
	assert_near(pi->cpu_pct, 2.0, 1e-9);     /* 1 tick in 0.5 s */
	assert_near(pi->vctx_ps, 200.0, 1e-9);
	assert_near(pi->nvctx_ps, 0.0, 0);

	/* A counter that went backwards: no reading, and a new baseline. */
	fx_io(&r, "proc/1/io", 4096, 0);
	assert_int_equal(proctab_scan(pt, S(18)), 7);
	pi = must_find(pt, 1);
	HAVE(pi, PROC_HAVE_IO);
	HAVE_NOT(pi, PROC_HAVE_IO_RATES);
	assert_true(pi->read_bytes == 4096);

	/* 600 exits: no longer listed. */
	char p[PATH_MAX + 32];
	fx_fmt(p, sizeof p, "%s/proc/600", r.dir);
	assert_int_equal(nftw(p, fx_rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
	assert_int_equal(proctab_scan(pt, S(19)), 6);
	assert_null(proctab_find(pt, 600));

	proctab_close(pt);
	fx_root_close(&r);
}

/* ---- fixture: pid reuse, exec ----------------------------------------- */

static void test_reuse_fixture(void **state)
{
	(void)state;
	struct fx_root r;
	fx_root_tmp(&r, PROCS);
	struct proctab *pt = pt_open_root(&r);
	assert_int_equal(proctab_scan(pt, S(10)), 7);
	fx_stat(&r, "proc/300/stat", 300, "a) R 1 (b c", 'S', 1, 4194560, 200, 3, 60, 25, 1, 1000,
		10000000, 500, 0);
	assert_int_equal(proctab_scan(pt, S(11)), 7);
	const struct proc_info *pi = must_find(pt, 300);
	HAVE(pi, PROC_HAVE_RATES);
	assert_near(pi->cpu_pct, 10.0, 1e-9);

	/* Same pid, another start time: another process.  Fewer ticks than
	 * the old one had would read as a counter going backwards; a new
	 * process has no rates at all. */
	fx_stat(&r, "proc/300/stat", 300, "impostor", 'R', 1, 4194560, 10, 0, 1, 0, 1, 5000,
		20000000, 100, 1);
	FX_WRITE_LIT(&r, "proc/300/cmdline", "impostor\0-x\0");
	fx_status(&r, "proc/300/status", 300, 0, 1, 0);
	assert_int_equal(proctab_scan(pt, S(12)), 7);
	pi = must_find(pt, 300);
	assert_true(pi->start_ticks == 5000);
	assert_near(pi->start_time, 1700000050.0, 1e-6);
	assert_string_equal(pi->comm, "impostor");
	assert_string_equal(pi->cmdline, "impostor -x");
	assert_int_equal(pi->uid, 0);
	assert_int_equal(pi->generation, 0);
	HAVE_NOT(pi, PROC_HAVE_RATES | PROC_HAVE_IO_RATES);
	assert_near(pi->cpu_time_s, 0.01, 1e-12);
	assert_int_equal(pi->state, 'R');
	/* ... and it gets rates of its own from the next scan on. */
	fx_stat(&r, "proc/300/stat", 300, "impostor", 'R', 1, 4194560, 10, 0, 21, 0, 1, 5000,
		20000000, 100, 1);
	assert_int_equal(proctab_scan(pt, S(13)), 7);
	pi = must_find(pt, 300);
	HAVE(pi, PROC_HAVE_RATES);
	assert_near(pi->cpu_pct, 20.0, 1e-9);

	/* Same start time, another comm: an exec.  Same process, rates go
	 * on, generation bumps, cmdline is read again. */
	fx_stat(&r, "proc/400/stat", 400, "worker2", 'S', 1, 4194560, 900, 9, 600, 150, 3, 2000,
		500000000, 10000, 0);
	char longcmd[400];
	memset(longcmd, 'x', sizeof longcmd);
	memcpy(longcmd, "/usr/bin/worker2\0--jobs\0", 24);
	fx_write_n(&r, "proc/400/cmdline", longcmd, sizeof longcmd);
	assert_int_equal(proctab_scan(pt, S(14)), 7);
	pi = must_find(pt, 400);
	assert_string_equal(pi->comm, "worker2");
	/* NULs as spaces, cut at PROC_CMDLINE_MAX - 1 bytes. */
	assert_int_equal(strlen(pi->cmdline), PROC_CMDLINE_MAX - 1);
	assert_memory_equal(pi->cmdline, "/usr/bin/worker2 --jobs xxx", 27);
	assert_int_equal(pi->cmdline[PROC_CMDLINE_MAX - 2], 'x');
	assert_int_equal(pi->generation, 1);
	HAVE(pi, PROC_HAVE_RATES);

	proctab_close(pt);
	fx_root_close(&r);
}

/* ---- fixture: threads ------------------------------------------------- */

#define MAXT 16
struct tcap {
	unsigned n;
	struct thread_info t[MAXT];
};

static void tcap_cb(void *arg, const struct thread_info *ti)
{
	struct tcap *c = arg;
	assert_true(c->n < MAXT);
	c->t[c->n++] = *ti;
}

static const struct thread_info *tcap_find(const struct tcap *c, int32_t tid)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->t[i].tid == tid)
			return &c->t[i];
	fail_msg("thread %d not reported", (int)tid);
	return NULL;
}

static void test_threads_fixture(void **state)
{
	(void)state;
	struct fx_root r;
	fx_root_tmp(&r, PROCS);
	struct proctab *pt = pt_open_root(&r);
	const struct proc_info *pi;
	struct tcap c = { 0 };
	assert_int_equal(proctab_scan(pt, S(9)), 7);

	/* First sample: every thread, no rates yet. */
	assert_int_equal(proctab_sample(pt, 400, S(10), &pi, tcap_cb, &c), 0);
	assert_int_equal(pi->pid, 400);
	assert_int_equal(c.n, 3);
	static const int32_t tids[] = { 400, 401, 402 };
	static const char *const names[] = { "worker", "worker-io", "worker-cpu" };
	static const char states[] = { 'S', 'D', 'R' };
	static const int32_t cpus[] = { 0, 1, 1 };
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(c.t[i].tid, tids[i]);
		assert_int_equal(c.t[i].pid, 400);
		assert_string_equal(c.t[i].name, names[i]);
		assert_int_equal(c.t[i].state, states[i]);
		assert_int_equal(c.t[i].last_cpu, cpus[i]);
		assert_int_equal(c.t[i].have, 0);
	}
	assert_near(pi->cpu_time_s, 7.5, 1e-9);  /* whole stat: 600 + 150 ticks */

	/* 1 s later (a full pass: stat and io too): 402 ran the whole time
	 * (+1 s run, +50 ms run-queue wait, +100 slices, +100 user ticks);
	 * 401 ran 200 ms (+10 user, +10 system ticks, +20 slices) and read
	 * 4000 KiB; 400 idle.  /proc/400/stat (whole: the threads' totals)
	 * gives the thread count, cpu_time_s and faults; /proc/400/io the
	 * process's io. */
	fx_stat(&r, "proc/400/task/402/stat", 402, "worker-cpu", 'R', 1, 4194368, 100, 1, 200, 10,
		3, 2020, 500000000, 10000, 0);
	fx_write(&r, "proc/400/task/402/schedstat", "2100000000 60000000 200\n");
	fx_stat(&r, "proc/400/task/401/stat", 401, "worker-io", 'S', 1, 4194368, 300, 3, 210, 50,
		3, 2010, 500000000, 10000, 1);
	fx_write(&r, "proc/400/task/401/schedstat", "2600000000 50000000 520\n");
	fx_io(&r, "proc/400/task/401/io", 4096 + 4096000, 8192);
	fx_stat(&r, "proc/400/stat", 400, "worker", 'S', 1, 4194560, 900, 9, 710, 160, 3, 2000,
		500000000, 10000, 0);
	fx_io(&r, "proc/400/io", 8192 + 4096000, 16384);
	c.n = 0;
	assert_int_equal(proctab_sample(pt, 400, S(11), &pi, tcap_cb, &c), 0);
	assert_int_equal(c.n, 3);
	const struct thread_info *t = tcap_find(&c, 402);
	assert_int_equal(t->have, THREAD_HAVE_RATES | THREAD_HAVE_SCHED | THREAD_HAVE_IO);
	assert_near(t->cpu_pct, 100.0, 1e-9);
	assert_near(t->user_pct, 100.0, 1e-9);
	assert_near(t->sys_pct, 0.0, 1e-9);
	assert_near(t->ctxsw_ps, 100.0, 1e-9);
	assert_near(t->runq_wait_pct, 5.0, 1e-9);
	assert_int_equal(t->last_cpu, 0);        /* migrated */
	t = tcap_find(&c, 401);
	assert_near(t->cpu_pct, 20.0, 1e-9);     /* schedstat: 200 ms / 1 s */
	assert_near(t->user_pct, 10.0, 1e-9);    /* split 1:1 like the ticks */
	assert_near(t->sys_pct, 10.0, 1e-9);
	assert_near(t->ctxsw_ps, 20.0, 1e-9);
	assert_near(t->runq_wait_pct, 0.0, 0);
	assert_near(t->read_bps, 4096000.0, 1e-6);
	assert_near(t->write_bps, 0.0, 0);
	assert_int_equal(t->state, 'S');
	t = tcap_find(&c, 400);
	assert_near(t->cpu_pct, 0.0, 0);
	/* The process: the sum of its threads. */
	HAVE(pi, PROC_HAVE_RATES | PROC_HAVE_IO | PROC_HAVE_IO_RATES | PROC_HAVE_MEM);
	assert_near(pi->cpu_pct, 120.0, 1e-9);
	assert_near(pi->user_pct, 110.0, 1e-9);  /* 100 + 20 split 1:1 */
	assert_near(pi->sys_pct, 10.0, 1e-9);
	assert_near(pi->read_bps, 4096000.0, 1e-6);
	assert_near(pi->write_bps, 0.0, 0);
	assert_near(pi->cpu_time_s, 8.7, 1e-9);
	assert_true(pi->read_bytes == 8192 + 4096000);
	assert_int_equal(pi->threads, 3);
	assert_string_equal(pi->comm, "worker");

	/* 100 ms later, a steady tick: schedstat alone.  Their stat and io
	 * are made garbage: read, they would drop the threads as gone.  402
	 * ran on (+100 ms, +5 ms wait, +10 slices), 401 ran 50 ms (+5
	 * slices), and the whole process's ticks agree (+15): 400, quiet
	 * since the full pass, is not read.  State, last CPU, the user:sys
	 * split and the io rates carry over from the full pass. */
	static const char *const junk[] = { "proc/400/task/401/stat", "proc/400/task/401/io",
					    "proc/400/task/402/stat", "proc/400/task/402/io" };
	for (unsigned i = 0; i < 4; i++)
		fx_write(&r, junk[i], "garbage\n");
	fx_write(&r, "proc/400/task/402/schedstat", "2200000000 65000000 210\n");
	fx_write(&r, "proc/400/task/401/schedstat", "2650000000 50000000 525\n");
	fx_write(&r, "proc/400/task/400/schedstat", "garbage\n");
	fx_stat(&r, "proc/400/stat", 400, "worker", 'S', 1, 4194560, 900, 9, 725, 160, 3, 2000,
		500000000, 10000, 0);
	c.n = 0;
	assert_int_equal(proctab_sample(pt, 400, S(11) + MS(100), &pi, tcap_cb, &c), 0);
	assert_int_equal(c.n, 2);                /* 400, quiet, is not read: no report */
	t = tcap_find(&c, 402);
	assert_int_equal(t->have, THREAD_HAVE_RATES | THREAD_HAVE_SCHED | THREAD_HAVE_IO);
	assert_near(t->cpu_pct, 100.0, 1e-9);
	assert_near(t->user_pct, 100.0, 1e-9);
	assert_near(t->ctxsw_ps, 100.0, 1e-9);
	assert_near(t->runq_wait_pct, 5.0, 1e-9);
	assert_int_equal(t->state, 'R');
	assert_int_equal(t->last_cpu, 0);
	assert_string_equal(t->name, "worker-cpu");
	t = tcap_find(&c, 401);
	assert_near(t->cpu_pct, 50.0, 1e-9);
	assert_near(t->user_pct, 25.0, 1e-9);
	assert_near(t->sys_pct, 25.0, 1e-9);
	assert_near(t->ctxsw_ps, 50.0, 1e-9);
	assert_near(t->read_bps, 4096000.0, 1e-6);   /* the last full pass's */
	assert_int_equal(t->state, 'S');
	assert_near(pi->cpu_pct, 150.0, 1e-9);
	assert_near(pi->user_pct, 125.0, 1e-9);
	assert_near(pi->sys_pct, 25.0, 1e-9);
	assert_near(pi->read_bps, 4096000.0, 1e-6);
	assert_near(pi->cpu_time_s, 8.85, 1e-9);
	assert_true(pi->read_bytes == 8192 + 4096000);

	/* 401 ends (task/ loses it, the count drops to 2): dropped silently. */
	char p[PATH_MAX + 64];
	fx_fmt(p, sizeof p, "%s/proc/400/task/401", r.dir);
	assert_int_equal(nftw(p, fx_rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
	fx_stat(&r, "proc/400/task/400/stat", 400, "worker", 'S', 1, 4194368, 500, 5, 300, 100, 2,
		2000, 500000000, 10000, 0);
	fx_write(&r, "proc/400/task/400/schedstat", "4000000000 100000000 1000\n");
	fx_stat(&r, "proc/400/stat", 400, "worker", 'S', 1, 4194560, 900, 9, 725, 160, 2, 2000,
		500000000, 10000, 0);
	c.n = 0;
	assert_int_equal(proctab_sample(pt, 400, S(11) + MS(200), &pi, tcap_cb, &c), 0);
	assert_int_equal(c.n, 2);                /* 401's end, then 402 (400 is quiet) */
	assert_int_equal(c.t[0].tid, 401);
	assert_int_equal(c.t[0].state, 'X');
	assert_int_equal(c.t[0].have, 0);
	assert_int_equal(c.t[1].tid, 402);
	assert_int_equal(pi->threads, 2);
	assert_near(pi->cpu_pct, 0.0, 0);

	/* 403 is born (count 3): listed and read at once (400 and 402 are
	 * quiet now); no rates of its own yet, but its 5 ms so far count in
	 * the process's interval: 5 % of 100 ms. */
	fx_fmt(p, sizeof p, "%s/proc/400/task/403", r.dir);
	assert_int_equal(mkdir(p, 0755), 0);
	fx_stat(&r, "proc/400/task/403/stat", 403, "worker-new", 'S', 1, 4194368, 0, 0, 0, 0, 3,
		2100, 500000000, 10000, 1);
	fx_write(&r, "proc/400/task/403/schedstat", "5000000 1000 3\n");
	fx_io(&r, "proc/400/task/403/io", 0, 0);
	fx_stat(&r, "proc/400/task/400/stat", 400, "worker", 'S', 1, 4194368, 500, 5, 300, 100, 3,
		2000, 500000000, 10000, 0);
	fx_stat(&r, "proc/400/stat", 400, "worker", 'S', 1, 4194560, 900, 9, 725, 160, 3, 2000,
		500000000, 10000, 0);
	c.n = 0;
	assert_int_equal(proctab_sample(pt, 400, S(11) + MS(300), &pi, tcap_cb, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(tcap_find(&c, 403)->have, 0);
	assert_string_equal(tcap_find(&c, 403)->name, "worker-new");
	assert_near(pi->cpu_pct, 5.0, 1e-9);

	/* A sample without threads reads the process whole. */
	fx_stat(&r, "proc/400/stat", 400, "worker", 'S', 1, 4194560, 900, 9, 735, 160, 3, 2000,
		500000000, 10000, 0);
	assert_int_equal(proctab_sample(pt, 400, S(11) + MS(400), &pi, NULL, NULL), 0);
	assert_near(pi->cpu_pct, 10.0 / 100.0 / 0.1 * 100.0, 1e-9); /* vs the previous tick's */

	/* A pid not in the table is added (a process just forked). */
	assert_int_equal(proctab_scan(pt, S(12)), 7);
	fx_fmt(p, sizeof p, "%s/proc/700", r.dir);
	assert_int_equal(mkdir(p, 0755), 0);
	fx_stat(&r, "proc/700/stat", 700, "child", 'R', 400, 4194560, 1, 0, 0, 0, 1, 2200, 1000000,
		10, 0);
	fx_write(&r, "proc/700/statm", "244 10 5 1 0 20 0\n");
	fx_status(&r, "proc/700/status", 700, 1000, 0, 0);
	assert_int_equal(proctab_sample(pt, 700, S(12) + MS(1), &pi, NULL, NULL), 0);
	assert_int_equal(pi->pid, 700);
	assert_int_equal(pi->ppid, 400);
	assert_int_equal(proctab_count(pt), 8);
	assert_non_null(proctab_find(pt, 700));
	assert_int_equal(proctab_at(pt, 6)->pid, 600);
	assert_int_equal(proctab_at(pt, 7)->pid, 700);
	/* A pid that does not exist is not. */
	assert_int_equal(proctab_sample(pt, 999, S(12) + MS(2), &pi, NULL, NULL), -ESRCH);
	assert_null(pi);
	assert_int_equal(proctab_count(pt), 8);

	proctab_close(pt);
	fx_root_close(&r);
}

/* Quiet threads: read at full passes only, unless the whole process's CPU
 * shows more than the busy threads account for. */
static void test_threads_quiet(void **state)
{
	(void)state;
	struct fx_root r;
	fx_root_tmp(&r, PROCS);
	struct proctab *pt = pt_open_root(&r);
	const struct proc_info *pi;
	struct tcap c = { 0 };
	assert_int_equal(proctab_scan(pt, S(9)), 7);
	assert_int_equal(proctab_sample(pt, 400, S(10), &pi, tcap_cb, &c), 0);

	/* A full pass 1 s later: 402 ran all of it; 400 and 401 did not
	 * (both quiet from now on). */
	fx_stat(&r, "proc/400/task/402/stat", 402, "worker-cpu", 'R', 1, 4194368, 100, 1, 200, 10,
		3, 2020, 500000000, 10000, 0);
	fx_write(&r, "proc/400/task/402/schedstat", "2100000000 10000000 200\n");
	fx_stat(&r, "proc/400/stat", 400, "worker", 'S', 1, 4194560, 900, 9, 700, 150, 3, 2000,
		500000000, 10000, 0);
	c.n = 0;
	assert_int_equal(proctab_sample(pt, 400, S(11), &pi, tcap_cb, &c), 0);
	assert_near(tcap_find(&c, 401)->cpu_pct, 0.0, 0);
	assert_near(tcap_find(&c, 402)->cpu_pct, 100.0, 1e-9);

	/* +100 ms: 402 ran on; 401 ran 5 ms, within what stat's ticks can
	 * tell (+10 ticks = 402's 100 ms): 401 is not read (nor reported). */
	fx_write(&r, "proc/400/task/402/schedstat", "2200000000 10000000 210\n");
	fx_write(&r, "proc/400/task/401/schedstat", "2405000000 50000000 501\n");
	fx_stat(&r, "proc/400/stat", 400, "worker", 'S', 1, 4194560, 950, 10, 710, 150, 3, 2000,
		500000000, 10000, 0);
	c.n = 0;
	assert_int_equal(proctab_sample(pt, 400, S(11) + MS(100), &pi, tcap_cb, &c), 0);
	assert_int_equal(c.n, 1);
	assert_near(tcap_find(&c, 402)->cpu_pct, 100.0, 1e-9);
	assert_near(pi->cpu_pct, 100.0, 1e-9);
	assert_near(pi->minflt_ps, 500.0, 1e-6);  /* the whole stat's faults: +50 in 100 ms */
	assert_near(pi->majflt_ps, 10.0, 1e-6);

	/* +200 ms: 401 woke up busy (150 ms since the full pass).  The
	 * process's ticks (+25) leave 150 ms unexplained by 402: every quiet
	 * thread is read now, 401's rate over its own 200 ms. */
	fx_write(&r, "proc/400/task/402/schedstat", "2300000000 10000000 220\n");
	fx_write(&r, "proc/400/task/401/schedstat", "2550000000 50000000 520\n");
	fx_stat(&r, "proc/400/stat", 400, "worker", 'S', 1, 4194560, 950, 10, 735, 150, 3, 2000,
		500000000, 10000, 0);
	c.n = 0;
	assert_int_equal(proctab_sample(pt, 400, S(11) + MS(200), &pi, tcap_cb, &c), 0);
	assert_near(tcap_find(&c, 401)->cpu_pct, 75.0, 1e-9);
	assert_near(tcap_find(&c, 400)->cpu_pct, 0.0, 0);
	assert_near(pi->cpu_pct, 250.0, 1e-9);   /* 401's 150 ms land in this tick */
	assert_near(pi->cpu_time_s, 8.85, 1e-9);

	/* +300 ms: 401 is busy now, read every tick; 400 stays quiet (its
	 * files are garbage: read, it would be dropped as gone). */
	fx_write(&r, "proc/400/task/401/schedstat", "2600000000 50000000 525\n");
	fx_write(&r, "proc/400/task/400/schedstat", "garbage\n");
	fx_write(&r, "proc/400/task/400/stat", "garbage\n");
	fx_stat(&r, "proc/400/stat", 400, "worker", 'S', 1, 4194560, 950, 10, 740, 150, 3, 2000,
		500000000, 10000, 0);
	c.n = 0;
	assert_int_equal(proctab_sample(pt, 400, S(11) + MS(300), &pi, tcap_cb, &c), 0);
	assert_int_equal(c.n, 2);
	assert_near(tcap_find(&c, 401)->cpu_pct, 50.0, 1e-9);
	assert_near(tcap_find(&c, 402)->cpu_pct, 0.0, 0);

	/* Full passes 1 s and 4 s after that sweep (nothing ran): only 401,
	 * busy at its last reading, is read (and is quiet from then on); 402
	 * went quiet at +300 ms.  4.8 s: the next sweep is due (half a pass
	 * of slack): all are read, and 400, garbage, is reported ended. */
	c.n = 0;
	assert_int_equal(proctab_sample(pt, 400, S(12) + MS(200), &pi, tcap_cb, &c), 0);
	assert_int_equal(c.n, 1);
	assert_non_null(tcap_find(&c, 401));
	c.n = 0;
	assert_int_equal(proctab_sample(pt, 400, S(15) + MS(200), &pi, tcap_cb, &c), 0);
	assert_int_equal(c.n, 0);
	c.n = 0;
	assert_int_equal(proctab_sample(pt, 400, S(16) + MS(200), &pi, tcap_cb, &c), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(tcap_find(&c, 400)->state, 'X');

	proctab_close(pt);
	fx_root_close(&r);
}

/* ---- fixture: EACCES for real ----------------------------------------- */

/* In a child: as uid 65534 (when root), io and smaps_rollup of 400 are
 * mode 000 in a copy.  Exit 0 ok, 77 skipped, else the failed check. */
static int eacces_child(struct fx_root *r)
{
	if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
		return 77;
	if (geteuid() == 0)
		return 77;
	struct proctab *pt = NULL;
	if (proctab_open(&r->env, &pt))
		return 2;
	if (proctab_scan(pt, S(1)) != 7)
		return 3;
	const struct proc_info *pi = proctab_find(pt, 400);
	if (!pi || (pi->have & PROC_HAVE_IO) || !(pi->have & PROC_HAVE_MEM))
		return 4;
	if (proctab_read_pss(pt, 400) != -EACCES || (pi->have & PROC_HAVE_PSS))
		return 5;
	if (proctab_scan(pt, S(2)) != 7 || !(pi = proctab_find(pt, 400)) ||
	    !(pi->have & PROC_HAVE_RATES) || (pi->have & PROC_HAVE_IO))
		return 6;
	proctab_close(pt);
	return 0;
}

static void test_eacces_fixture(void **state)
{
	(void)state;
	struct fx_root r;
	fx_root_tmp(&r, PROCS);
	char p[PATH_MAX + 64];
	assert_int_equal(chmod(r.dir, 0755), 0);
	fx_fmt(p, sizeof p, "%s/proc/400/io", r.dir);
	assert_int_equal(chmod(p, 0), 0);
	fx_fmt(p, sizeof p, "%s/proc/400/smaps_rollup", r.dir);
	assert_int_equal(chmod(p, 0), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(eacces_child(&r));
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77) {
		fx_root_close(&r);
		skip();
	}
	assert_int_equal(WEXITSTATUS(st), 0);
	fx_root_close(&r);
}

/* ---- live ------------------------------------------------------------- */

/* What a live test holds, released by the teardown even when an assertion
 * ends the test early (a spinning child must not outlive it). */
static struct {
	struct proctab *pt;
	int procfd;
	pid_t child;
} live = { NULL, -1, 0 };

static int live_teardown(void **state)
{
	(void)state;
	if (live.child > 0) {
		kill(live.child, SIGKILL);
		waitpid(live.child, NULL, 0);
	}
	live.child = 0;
	proctab_close(live.pt);
	live.pt = NULL;
	if (live.procfd >= 0)
		close(live.procfd);
	live.procfd = -1;
	return 0;
}

static struct proctab *live_open(void)
{
	struct collect_env env;
	env.procfd = live.procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	env.sysfd = -1;
	env.clk_tck = sysconf(_SC_CLK_TCK);
	assert_true(env.procfd >= 0);
	assert_int_equal(proctab_open(&env, &live.pt), 0);
	return live.pt;
}

static uint64_t clock_ns_of(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * FX_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * FX_SEC + (uint64_t)ts.tv_nsec;
}

static void read_text(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
}

static void test_live_self(void **state)
{
	(void)state;
	struct proctab *pt = live_open();
	int n = proctab_scan(pt, mono_now());
	assert_true(n > 1);
	const struct proc_info *pi = must_find(pt, getpid());
	char comm[64], exe[PATH_MAX];
	read_text("/proc/self/comm", comm, sizeof comm);
	assert_string_equal(pi->comm, comm);
	assert_int_equal(pi->ppid, getppid());
	assert_int_equal(pi->uid, getuid());
	assert_int_equal(pi->kthread, 0);
	HAVE(pi, PROC_HAVE_MEM | PROC_HAVE_CTX | PROC_HAVE_CMDLINE | PROC_HAVE_EXE);
	assert_true(pi->rss > 0 && pi->vms >= pi->rss);
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	assert_true(len > 0);
	exe[len] = '\0';
	assert_string_equal(pi->exe, exe);
	assert_true(strstr(pi->cmdline, "test-proctab") != NULL);
	/* Every entry is sorted and parsed. */
	for (unsigned i = 1; i < proctab_count(pt); i++)
		assert_true(proctab_at(pt, i - 1)->pid < proctab_at(pt, i)->pid);
	const struct proc_info *k = proctab_find(pt, 2);
	if (k) {                                  /* kthreadd, when visible */
		assert_int_equal(k->kthread, 1);
		HAVE_NOT(k, PROC_HAVE_MEM);
	}
	/* Burn 100 ms of CPU: the next scan sees it (ticks: to 10 ms). */
	double cpu0 = pi->cpu_time_s;
	uint64_t c0 = clock_ns_of(CLOCK_PROCESS_CPUTIME_ID);
	volatile uint64_t x = 0;
	while (clock_ns_of(CLOCK_PROCESS_CPUTIME_ID) - c0 < MS(100))
		x++;
	n = proctab_scan(pt, mono_now());
	double used = (double)(clock_ns_of(CLOCK_PROCESS_CPUTIME_ID) - c0) / 1e9;
	pi = must_find(pt, getpid());
	HAVE(pi, PROC_HAVE_RATES);
	assert_true(pi->cpu_pct > 0);
	if (pi->cpu_time_s - cpu0 < 0.08 || pi->cpu_time_s - cpu0 > used + 0.03)
		fail_msg("cpu_time_s grew by %.3f s, used %.3f s", pi->cpu_time_s - cpu0, used);
	/* PSS of ourselves; EACCES where the kernel refuses (even root is
	 * refused on a protected pid 1 in some sandboxes). */
	assert_int_equal(proctab_read_pss(pt, getpid()), 0);
	pi = must_find(pt, getpid());
	HAVE(pi, PROC_HAVE_PSS);
	assert_true(pi->pss > 0);
	int fd = open("/proc/1/smaps_rollup", O_RDONLY);
	char c;
	int probe = fd < 0 ? -errno : (read(fd, &c, 1) < 0 ? -errno : 0);
	if (fd >= 0)
		close(fd);
	if (probe == -EACCES && proctab_find(pt, 1)) {
		assert_int_equal(proctab_read_pss(pt, 1), -EACCES);
		HAVE_NOT(must_find(pt, 1), PROC_HAVE_PSS);
	}
	(void)pt;
	live_teardown(NULL);
}

/* The child: K threads, two of them spinning, the rest blocked. */
#define K_THREADS 6
#define K_SPIN 2
static pthread_barrier_t kbar;
/* Each spinner's own CPU time (CLOCK_THREAD_CPUTIME_ID), published in
 * shared memory: an independent measure to hold the table's figures to
 * when other work on the machine takes CPU from the spinners. */
static volatile uint64_t *kcpu;
static pthread_mutex_t kmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t kcv = PTHREAD_COND_INITIALIZER;

static void *kthread_main(void *arg)
{
	long i = (long)arg;
	char name[16] = "spin0";
	if (i >= K_SPIN)
		memcpy(name, "idle", 4);
	name[4] = (char)('0' + i % 10);
	prctl(PR_SET_NAME, name);
	pthread_barrier_wait(&kbar);
	if (i < K_SPIN) {
		for (;;) {
			struct timespec ts;
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
			kcpu[i] = (uint64_t)ts.tv_sec * FX_SEC + (uint64_t)ts.tv_nsec;
			for (volatile int x = 0; x < 20000; x++)
				;
		}
	}
	pthread_mutex_lock(&kmu);
	for (;;)
		pthread_cond_wait(&kcv, &kmu);
	return NULL;
}

static pid_t spawn_threads(void)
{
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	if (!kcpu) {
		void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		assert_true(m != MAP_FAILED);
		kcpu = m;
	}
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		pthread_barrier_init(&kbar, NULL, K_THREADS + 1);
		for (long i = 0; i < K_THREADS; i++) {
			pthread_t t;
			if (pthread_create(&t, NULL, kthread_main, (void *)i))
				_exit(1);
		}
		pthread_barrier_wait(&kbar);
		if (write(pfd[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	char c;
	assert_int_equal(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	return pid;
}

static void test_live_threads(void **state)
{
	(void)state;
	struct proctab *pt = live_open();
	pid_t child = live.child = spawn_threads();
	const struct proc_info *pi;
	struct tcap c = { 0 };
	assert_true(proctab_scan(pt, mono_now()) > 0);
	uint64_t w0 = mono_now(), k0[K_SPIN];
	for (int i = 0; i < K_SPIN; i++)
		k0[i] = kcpu[i];
	assert_int_equal(proctab_sample(pt, child, w0, &pi, tcap_cb, &c), 0);
	assert_int_equal(c.n, K_THREADS + 1);    /* and the main thread */
	struct timespec ts = { 0, 300 * 1000000L };
	nanosleep(&ts, NULL);
	c.n = 0;
	uint64_t w1 = mono_now();
	double own[K_SPIN];                      /* what each spinner measured */
	for (int i = 0; i < K_SPIN; i++)
		own[i] = (double)(kcpu[i] - k0[i]) * 100.0 / (double)(w1 - w0);
	assert_int_equal(proctab_sample(pt, child, w1, &pi, tcap_cb, &c), 0);
	assert_int_equal(c.n, K_THREADS + 1);
	assert_int_equal(pi->threads, K_THREADS + 1);
	unsigned spin = 0, idle = 0;
	for (unsigned i = 0; i < c.n; i++) {
		const struct thread_info *t = &c.t[i];
		assert_int_equal(t->pid, child);
		assert_true(t->have & THREAD_HAVE_RATES);
		if (strncmp(t->name, "spin", 4) == 0) {
			/* > 50 %, unless the machine did not give it that
			 * much: then within 15 points of its own figure. */
			double want = own[t->name[4] - '0'];
			if (want >= 70.0 ? t->cpu_pct <= 50.0 : fabs(t->cpu_pct - want) > 15.0)
				fail_msg("%s at %.1f %% (its own clock: %.1f %%)", t->name,
					 t->cpu_pct, want);
			assert_true(t->state == 'R' || t->state == 'S');
			spin++;
		} else {
			if (t->cpu_pct >= 10.0)
				fail_msg("%s at %.1f %%", t->name, t->cpu_pct);
			idle += strncmp(t->name, "idle", 4) == 0;
		}
	}
	print_message("      spinners at their own clocks' %.1f %% and %.1f %%; process %.1f %%\n",
		      own[0], own[1], pi->cpu_pct);
	assert_int_equal(spin, K_SPIN);
	assert_int_equal(idle, K_THREADS - K_SPIN);
	HAVE(pi, PROC_HAVE_RATES | PROC_HAVE_MEM);
	if (pi->cpu_pct < 0.8 * (own[0] + own[1]))
		fail_msg("process at %.1f %%, its spinners at %.1f %%", pi->cpu_pct, own[0] + own[1]);

	/* Killed, not reaped: a zombie, listed without memory. */
	kill(child, SIGKILL);
	siginfo_t si;
	assert_int_equal(waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT), 0);
	assert_int_equal(proctab_sample(pt, child, mono_now(), &pi, NULL, NULL), 0);
	assert_int_equal(pi->state, 'Z');
	HAVE_NOT(pi, PROC_HAVE_MEM);
	/* Reaped: gone, last state 'X' until the next scan. */
	assert_int_equal(waitpid(child, NULL, 0), child);
	live.child = 0;
	c.n = 0;
	assert_int_equal(proctab_sample(pt, child, mono_now(), &pi, tcap_cb, &c), -ESRCH);
	assert_non_null(pi);
	assert_int_equal(pi->pid, child);
	assert_int_equal(pi->state, 'X');
	assert_int_equal(c.n, 0);
	assert_int_equal(proctab_sample(pt, child, mono_now(), &pi, NULL, NULL), -ESRCH);
	assert_true(proctab_scan(pt, mono_now()) > 0);
	assert_null(proctab_find(pt, child));
	(void)pt;
	live_teardown(NULL);
}

/* ---- live: over the fd budget ----------------------------------------- */

/* fds of this process that name "/proc/<pid>" exactly (kept dirfds), and
 * all of them. */
static int count_fds(pid_t want, int *dirs_of_want, int *all)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	struct dirent *de;
	char target[64], link[PATH_MAX], p[300];
	snprintf(target, sizeof target, "/proc/%d", (int)want);
	*dirs_of_want = *all = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "/proc/self/fd/%s", de->d_name);
		ssize_t n = readlink(p, link, sizeof link - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		(*all)++;
		*dirs_of_want += strcmp(link, target) == 0;
	}
	closedir(d);
	return 0;
}

static int numeric_entries(void)
{
	DIR *d = opendir("/proc");
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL)
		n += de->d_name[0] >= '1' && de->d_name[0] <= '9';
	if (d)
		closedir(d);
	return n;
}

static void tnop(void *arg, const struct thread_info *ti)
{
	(*(unsigned *)arg)++;
	(void)ti;
}

/* Limit 300: the table may keep 44 fds, far fewer than the processes
 * need.  Exit 0 ok, else the failed check. */
static int budget_child(void)
{
	struct rlimit rl = { 300, 300 };
	if (setrlimit(RLIMIT_NOFILE, &rl))
		return 2;
	struct collect_env env = { open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC), -1,
				   sysconf(_SC_CLK_TCK) };
	struct proctab *pt = NULL;
	int dirs, before, all;
	count_fds(getpid(), &dirs, &before);
	if (env.procfd < 0 || proctab_open(&env, &pt))
		return 3;
	int listed = numeric_entries();
	int n = proctab_scan(pt, mono_now());
	if (n < listed - 10 - listed / 10 || n < 20)   /* nobody dropped for want of fds */
		return 4;
	static int32_t first[4096];
	unsigned nfirst = 0;
	for (unsigned i = 0; i < proctab_count(pt) && nfirst < 4096; i++)
		first[nfirst++] = proctab_at(pt, i)->pid;
	if (count_fds(getpid(), &dirs, &all) || all > before + 1 + 44)
		return 5;
	/* Tracked: it gets a dirfd, taken from an untracked process. */
	const struct proc_info *pi;
	unsigned nt = 0;
	if (proctab_sample(pt, getpid(), mono_now(), &pi, tnop, &nt) || nt < 1)
		return 6;
	if (count_fds(getpid(), &dirs, &all) || dirs != 1 || all > before + 1 + 44)
		return 7;
	struct timespec ts = { 0, 50 * 1000000L };
	nanosleep(&ts, NULL);
	n = proctab_scan(pt, mono_now());
	if (n < listed - 10 - listed / 10 || !(pi = proctab_find(pt, getpid())) ||
	    !(pi->have & PROC_HAVE_RATES))
		return 8;
	/* Processes read by path get rates too: every one that both scans
	 * saw (a process that execs keeps its rates; a reused pid would not). */
	unsigned missing = 0;
	for (unsigned i = 0; i < nfirst; i++) {
		const struct proc_info *q = proctab_find(pt, first[i]);
		missing += q && !(q->have & PROC_HAVE_RATES);
	}
	if (missing > 2)
		return 9;
	if (count_fds(getpid(), &dirs, &all) || dirs != 1 || all > before + 1 + 44)
		return 10;
	proctab_close(pt);
	count_fds(getpid(), &dirs, &all);
	return all == before ? 0 : 11;
}

static void test_live_fd_budget(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(budget_child());
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) != 0)
		fail_msg("budget child: check %d failed", WEXITSTATUS(st));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_fixture),
		cmocka_unit_test(test_rates_fixture),
		cmocka_unit_test(test_reuse_fixture),
		cmocka_unit_test(test_threads_fixture),
		cmocka_unit_test(test_threads_quiet),
		cmocka_unit_test(test_eacces_fixture),
		cmocka_unit_test_teardown(test_live_self, live_teardown),
		cmocka_unit_test_teardown(test_live_threads, live_teardown),
		cmocka_unit_test(test_live_fd_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
