/*
 * The process table's idle gate and CPU clock (proc_pid.c, proc_threads.c)
 * on this machine's /proc: a process that has not run since its last
 * reading is not read (its rates are zero, its baselines move), one that
 * ran is, an idle one's statm is still read every PT_IDLE_NS (+ a
 * spread), and all of it when reparented or every PT_IDLE_FULL_NS; a
 * tracked process's CPU is its CPU clock's movement, quiet threads' CPU
 * included; a thread that stopped is reported once at zero; and a fixture
 * tree has no gate (its pids are not ours).
 *
 * The scans below pass made-up monotonic times (a second apart, and past
 * the forced-read age) with the real clock of a real child: the gate only
 * compares the clock with itself, and the times with each other.
 */
#include "test-collect.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "collect/linux/proctab_linux.h"

#define MS(x) ((uint64_t)(x) * 1000000ull)
#define SEC(x) ((uint64_t)(x) * FX_SEC)

/* What the child's threads do, in memory shared with it.  Between
 * tasks they block in read(2) on a pipe: nothing of the child runs. */
struct ctl {
	volatile int spin;            /* the spinner spins while set (started by a byte on go[]) */
	volatile int duty;            /* the duty threads wake every 10 ms for ~60 us while set */
	volatile int ready;
	volatile int spinning;        /* the spinner's own word that it spins */
	int go[2], never[2], more[2];
};

static struct {
	struct proctab *pt;
	int procfd;
	pid_t child;
	struct ctl *ctl;
} L = { NULL, -1, 0, NULL };

static int teardown(void **state)
{
	(void)state;
	if (L.child > 0) {
		kill(L.child, SIGKILL);
		waitpid(L.child, NULL, 0);
	}
	L.child = 0;
	proctab_close(L.pt);
	L.pt = NULL;
	if (L.procfd >= 0)
		close(L.procfd);
	L.procfd = -1;
	if (L.ctl) {
		close(L.ctl->go[1]);
		close(L.ctl->never[1]);
		close(L.ctl->more[1]);
		munmap(L.ctl, sizeof *L.ctl);
	}
	L.ctl = NULL;
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

static uint64_t mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * FX_SEC + (uint64_t)ts.tv_nsec;
}

static void burn_us(long us)
{
	uint64_t end = mono_now() + (uint64_t)us * 1000u;
	while (mono_now() < end)
		;
}

static void *spin_main(void *arg)
{
	(void)arg;
	char c;
	while (read(L.ctl->go[0], &c, 1) == 1) {
		L.ctl->spinning = 1;
		while (L.ctl->spin)
			;
		L.ctl->spinning = 0;
	}
	return NULL;
}

/* Near quiet_thread_pct each (~0.6 % of a core, more with the wake-ups),
 * never all asleep for a tick; once duty is cleared, blocked for good. */
static void *duty_main(void *arg)
{
	(void)arg;
	char c;
	while (L.ctl->duty) {
		burn_us(60);
		sleep_ms(10);
	}
	if (read(L.ctl->never[0], &c, 1) < 0)
		_exit(1);
	return NULL;
}

static void *sleeper_main(void *arg)
{
	(void)arg;
	char c;
	if (read(L.ctl->never[0], &c, 1) < 0)
		_exit(1);
	return NULL;
}

static void spin_start(void)
{
	L.ctl->spin = 1;
	assert_int_equal(write(L.ctl->go[1], "g", 1), 1);
	while (!L.ctl->spinning)
		sleep_ms(1);
}

/* Stopped, and back in read(2): from here nothing of the child runs. */
static void spin_stop(void)
{
	L.ctl->spin = 0;
	while (L.ctl->spinning)
		sleep_ms(1);
	sleep_ms(5);
}

/* A child with one spinner thread (blocked until spin_start), three duty
 * threads (working from the start when duty, blocked once it is cleared)
 * and `sleepers` threads blocked for good; its main thread starts five
 * more sleepers for each byte on more[]. */
static pid_t spawn(int duty, int sleepers)
{
	void *m = mmap(NULL, sizeof *L.ctl, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	L.ctl = m;
	L.ctl->duty = duty;
	assert_int_equal(pipe(L.ctl->go), 0);
	assert_int_equal(pipe(L.ctl->never), 0);
	assert_int_equal(pipe(L.ctl->more), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, spin_main, NULL))
			_exit(1);
		for (int i = 0; i < 3; i++)
			if (pthread_create(&t, NULL, duty_main, NULL))
				_exit(1);
		for (int i = 0; i < sleepers; i++)
			if (pthread_create(&t, NULL, sleeper_main, NULL))
				_exit(1);
		L.ctl->ready = 1;
		char c;
		while (read(L.ctl->more[0], &c, 1) == 1) {
			for (int i = 0; i < 5; i++)
				if (pthread_create(&t, NULL, sleeper_main, NULL))
					_exit(1);
			L.ctl->ready++;
		}
		_exit(0);
	}
	while (!L.ctl->ready)
		sleep_ms(1);
	sleep_ms(20);   /* the threads settle into their sleeps */
	close(L.ctl->go[0]);
	close(L.ctl->never[0]);
	close(L.ctl->more[0]);
	return pid;
}

static struct proctab *open_live(void)
{
	struct collect_env env;
	env.procfd = L.procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	env.sysfd = -1;
	env.clk_tck = sysconf(_SC_CLK_TCK);
	assert_true(env.procfd >= 0);
	assert_int_equal(proctab_open(&env, &L.pt), 0);
	assert_true(L.pt->cpuclock);   /* our own /proc */
	return L.pt;
}

static struct pt_proc *entry(struct proctab *pt, pid_t pid)
{
	for (unsigned i = 0; i < pt->n; i++)
		if (pt->tab[i]->info.pid == pid)
			return pt->tab[i];
	fail_msg("pid %d not in the table", (int)pid);
	return NULL;
}

/* Scans: an idle child is not read, and reads as idle; one that ran is
 * read; an idle one's statm once PT_IDLE_NS (+ spread) passed, all of it
 * once PT_IDLE_FULL_NS did. */
static void test_scan_gate(void **state)
{
	(void)state;
	struct proctab *pt = open_live();
	pid_t child = L.child = spawn(0, 0);
	uint64_t t0 = mono_now();
	/* two readings: the second has rates, so the gate may act */
	assert_true(proctab_scan(pt, t0) > 0);
	assert_true(proctab_scan(pt, t0 + SEC(1)) > 0);
	struct pt_proc *p = entry(pt, child);
	assert_true(p->info.have & PROC_HAVE_RATES);
	assert_true(p->flags & PT_CLK);
	assert_int_equal(p->r_mono, t0 + SEC(1));

	/* asleep since (and for a while): not read */
	sleep_ms(100);
	unsigned n = (unsigned)proctab_scan(pt, t0 + SEC(2));
	p = entry(pt, child);
	assert_int_equal(p->r_mono, t0 + SEC(1));
	assert_true(proctab_scan_read(pt) < n);
	assert_true(p->info.have & PROC_HAVE_RATES);
	assert_true(p->info.cpu_pct == 0 && p->info.majflt_ps == 0);
	assert_int_equal(p->w_mono, t0 + SEC(2));   /* the baseline moved */

	/* it runs: read, with its CPU */
	spin_start();
	sleep_ms(60);
	spin_stop();
	proctab_scan(pt, t0 + SEC(3));
	p = entry(pt, child);
	assert_int_equal(p->r_mono, t0 + SEC(3));
	assert_true(p->info.cpu_pct > 0);
	print_message("      after 60 ms of spinning: %.1f %% over the 1 s interval\n",
		      p->info.cpu_pct);

	/* idle, but its statm is due: that alone */
	uint64_t late = t0 + SEC(3) + PT_IDLE_NS + PT_IDLE_SPREAD * SEC(1);
	proctab_scan(pt, late);
	p = entry(pt, child);
	assert_int_equal(p->r_mono, t0 + SEC(3));
	assert_int_equal(p->m_mono, late);
	assert_true(p->info.have & PROC_HAVE_MEM);
	assert_true(p->info.cpu_pct == 0);
	/* idle for PT_IDLE_FULL_NS: read whole */
	uint64_t later = t0 + SEC(3) + PT_IDLE_FULL_NS;
	proctab_scan(pt, later);
	p = entry(pt, child);
	assert_int_equal(p->r_mono, later);
	teardown(NULL);
}

/* An idle process whose parent exits is reparented without running: the
 * scan reads it whole when its parent is no longer listed. */
static void test_scan_reparented(void **state)
{
	(void)state;
	struct proctab *pt = open_live();
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	int up[2], down[2];   /* mid -> test: the grandchild's pid; test -> mid: exit */
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid_t mid = fork();
	assert_true(mid >= 0);
	if (mid == 0) {
		pid_t g = fork();
		if (g == 0) {
			for (;;)
				pause();
		}
		if (write(up[1], &g, sizeof g) != sizeof g)
			_exit(1);
		char c;
		if (read(down[0], &c, 1) < 0)   /* until the test says */
			_exit(1);
		_exit(0);
	}
	pid_t g;
	assert_int_equal(read(up[0], &g, sizeof g), (ssize_t)sizeof g);
	L.child = g;
	sleep_ms(20);
	uint64_t t0 = mono_now();
	assert_true(proctab_scan(pt, t0) > 0);
	assert_true(proctab_scan(pt, t0 + SEC(1)) > 0);
	assert_int_equal(entry(pt, g)->info.ppid, mid);
	/* idle: not read */
	assert_true(proctab_scan(pt, t0 + SEC(2)) > 0);
	assert_int_equal(entry(pt, g)->r_mono, t0 + SEC(1));
	/* its parent exits: it is ours now, and read */
	assert_int_equal(write(down[1], "x", 1), 1);
	assert_int_equal(waitpid(mid, NULL, 0), mid);
	for (int i = 0; i < 2; i++) {
		close(up[i]);
		close(down[i]);
	}
	assert_true(proctab_scan(pt, t0 + SEC(3)) > 0);   /* lists mid no more */
	assert_true(proctab_scan(pt, t0 + SEC(4)) > 0);
	struct pt_proc *p = entry(pt, g);
	assert_int_equal(p->info.ppid, getpid());
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	teardown(NULL);
}

struct tcap {
	unsigned n;
	struct thread_info t[64];
};

static void tcap_cb(void *arg, const struct thread_info *ti)
{
	struct tcap *c = arg;
	if (c->n < 64)
		c->t[c->n++] = *ti;
}

/* Samples: a process whose threads are all quiet (each ~0.6 % of a core)
 * shows its CPU at every tick, from its clock; a thread that stopped
 * spinning is reported once at zero, then nothing while nothing runs. */
static void test_sample_clock(void **state)
{
	(void)state;
	struct proctab *pt = open_live();
	pid_t child = L.child = spawn(1, 0);
	const struct proc_info *pi;
	struct tcap c = { 0 };
	assert_true(proctab_scan(pt, mono_now()) > 0);
	for (int i = 0; i < 3; i++) {   /* baselines; the duty threads turn quiet */
		assert_int_equal(proctab_sample(pt, child, mono_now(), &pi, tcap_cb, &c), 0);
		sleep_ms(100);
	}
	unsigned ticks = 20, shown = 0;
	double sum = 0;
	for (unsigned i = 0; i < ticks; i++) {
		c.n = 0;
		assert_int_equal(proctab_sample(pt, child, mono_now(), &pi, tcap_cb, &c), 0);
		assert_true(pi->have & PROC_HAVE_RATES);
		shown += pi->cpu_pct > 0.2;
		sum += pi->cpu_pct;
		sleep_ms(100);
	}
	print_message("      3 quiet threads: CPU shown at %u of %u ticks, mean %.2f %%\n", shown,
		      ticks, sum / ticks);
	/* before the clock: 0 at most ticks, then the sum at the 5 s sweep */
	assert_true(shown >= ticks - 2);
	assert_true(sum / ticks > 0.5 && sum / ticks < 20);

	/* the spinner: busy, then stopped */
	L.ctl->duty = 0;
	spin_start();
	sleep_ms(150);
	c.n = 0;
	assert_int_equal(proctab_sample(pt, child, mono_now(), &pi, tcap_cb, &c), 0);
	sleep_ms(100);
	spin_stop();
	sleep_ms(100);
	c.n = 0;
	assert_int_equal(proctab_sample(pt, child, mono_now(), &pi, tcap_cb, &c), 0);
	assert_true(pi->cpu_pct > 10);   /* it spun for half of that tick */
	sleep_ms(100);
	c.n = 0;
	assert_int_equal(proctab_sample(pt, child, mono_now(), &pi, tcap_cb, &c), 0);
	assert_true(pi->cpu_pct == 0);
	assert_true(pi->have & PROC_HAVE_RATES);
	unsigned spinner = 0;
	for (unsigned i = 0; i < c.n; i++) {
		assert_true(c.t[i].cpu_pct == 0);
		spinner += c.t[i].tid != child;
	}
	assert_true(spinner >= 1);          /* the spinner, at zero */
	sleep_ms(100);
	c.n = 0;
	assert_int_equal(proctab_sample(pt, child, mono_now(), &pi, tcap_cb, &c), 0);
	assert_int_equal(c.n, 0);           /* nothing ran, nothing new */
	assert_true(pi->cpu_pct == 0);
	teardown(NULL);
}

/* More threads than PT_WS_THREADS: between full passes the thread count
 * comes from task/'s link count, not /proc/PID/stat, and new threads are
 * found at the next tick all the same; the process's CPU is its clock's. */
static void test_many_threads(void **state)
{
	(void)state;
	struct proctab *pt = open_live();
	pid_t child = L.child = spawn(0, 30);   /* 1 + 1 + 3 + 30 threads */
	const struct proc_info *pi;
	struct tcap c = { 0 };
	assert_true(proctab_scan(pt, mono_now()) > 0);
	assert_int_equal(proctab_sample(pt, child, mono_now(), &pi, tcap_cb, &c), 0);
	assert_int_equal(pi->threads, 35);
	assert_true(PT_WS_THREADS < 35);
	spin_start();
	sleep_ms(100);
	c.n = 0;
	assert_int_equal(proctab_sample(pt, child, mono_now(), &pi, tcap_cb, &c), 0);
	/* five more, between two ticks 100 ms apart: no full pass between */
	int before = L.ctl->ready;
	assert_int_equal(write(L.ctl->more[1], "m", 1), 1);
	while (L.ctl->ready == before)
		sleep_ms(1);
	sleep_ms(100);
	c.n = 0;
	assert_int_equal(proctab_sample(pt, child, mono_now(), &pi, tcap_cb, &c), 0);
	assert_int_equal(pi->threads, 40);
	unsigned fresh = 0;
	for (unsigned i = 0; i < c.n; i++)
		fresh += !(c.t[i].have & THREAD_HAVE_RATES);   /* first sight: no rates yet */
	assert_int_equal(fresh, 5);
	if (pi->cpu_pct < 50)   /* the spinner, nearly a core, unless starved */
		print_message("      spinner's process at %.1f %% (a busy machine?)\n", pi->cpu_pct);
	assert_true(pi->cpu_pct > 5);
	spin_stop();
	teardown(NULL);
}

/* The CPU clock of another process, ns (what proc_pid_idle reads). */
static double pid_clock_ns(pid_t pid)
{
	struct timespec ts;
	assert_int_equal(clock_gettime((clockid_t)((~(uint32_t)pid << 3) | 2u), &ts), 0);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* A big process reads its clock at full passes only: in between, its
 * ticks show its busy threads plus its quiet ones at their last rate, and
 * each full pass reports what the clock counted beyond that (or owes what
 * the estimates overshot), so the ticks add up to the clock, and most of
 * them show the quiet threads' CPU rather than one tick a second all of
 * it. */
static void test_big_process_clock(void **state)
{
	(void)state;
	struct proctab *pt = open_live();
	pid_t child = L.child = spawn(1, 30);   /* 3 quiet threads at work, 35 in all */
	const struct proc_info *pi;
	struct tcap c = { 0 };
	assert_true(proctab_scan(pt, mono_now()) > 0);
	for (int i = 0; i < 12; i++) {   /* past a full pass: the clock's window is set */
		assert_int_equal(proctab_sample(pt, child, mono_now(), &pi, tcap_cb, &c), 0);
		sleep_ms(100);
	}
	struct pt_proc *p = entry(pt, child);
	assert_true(p->flags & PT_T_CLK);
	/* from one full pass to another: the window's ends */
	while (mono_now() - p->tf_mono < PT_TFULL_NS - MS(50))
		sleep_ms(10);
	while (mono_now() - p->tf_mono < PT_TFULL_NS)
		;
	c.n = 0;
	assert_int_equal(proctab_sample(pt, child, mono_now(), &pi, tcap_cb, &c), 0);
	double clk0 = (double)p->t_clk, owe0 = p->c_owe, sum = 0;
	uint64_t prev = p->t_mono, first_full = p->tf_mono;
	unsigned ticks = 0, shown = 0;
	while (ticks < 40 || p->tf_mono == first_full || p->t_mono != p->tf_mono) {
		sleep_ms(100);
		uint64_t now = mono_now();
		assert_int_equal(proctab_sample(pt, child, now, &pi, tcap_cb, &c), 0);
		sum += pi->cpu_pct / 100.0 * (double)(now - prev);
		shown += pi->cpu_pct > 0.2;
		prev = now;
		ticks++;
		assert_true(ticks < 80);
	}
	double clock_ns = (double)p->t_clk - clk0;   /* read at the last full pass */
	print_message("      %u ticks: %.2f ms reported (%.2f ms of it owed to the next), the clock "
		      "%.2f ms; CPU shown at %u\n", ticks, sum / 1e6, (p->c_owe - owe0) / 1e6,
		      clock_ns / 1e6, shown);
	/* to the ns but for rounding (what an estimate overshot is owed) */
	assert_true(fabs(sum - (p->c_owe - owe0) - clock_ns) < 1e4);
	assert_true(shown >= ticks * 8 / 10);
	assert_true(clock_ns < pid_clock_ns(child));
	teardown(NULL);
}

/* A big process's ticks between full passes read no quiet thread, also
 * after a time of reading every thread every tick (quiet_thread_pct 0,
 * whose sweeps had no clock to keep): a bench once found every tick
 * reading all of them. */
static void test_big_quiet_after_all(void **state)
{
	(void)state;
	struct proctab *pt = open_live();
	pid_t child = L.child = spawn(0, 30);   /* 35 threads, all asleep */
	const struct proc_info *pi;
	struct tcap c = { 0 };
	uint64_t t = mono_now();
	assert_true(proctab_scan(pt, t) > 0);
	proctab_set_quiet_pct(pt, 0);
	for (int i = 0; i < 15; i++) {
		c.n = 0;
		assert_int_equal(proctab_sample(pt, child, t += MS(100), &pi, tcap_cb, &c), 0);
		assert_int_equal(c.n, 35);   /* every thread, every tick */
	}
	proctab_set_quiet_pct(pt, 1);
	unsigned read_between = 0, ticks_between = 0;
	for (int i = 0; i < 30; i++) {
		c.n = 0;
		assert_int_equal(proctab_sample(pt, child, t += MS(100), &pi, tcap_cb, &c), 0);
		struct pt_proc *p = entry(pt, child);
		if (i >= 12 && p->tf_mono != t) {   /* past two full passes */
			read_between += c.n;
			ticks_between++;
		}
	}
	print_message("      %u thread readings over %u ticks between full passes\n", read_between,
		      ticks_between);
	assert_true(ticks_between >= 10);
	assert_int_equal(read_between, 0);
	teardown(NULL);
}

/* A scan leaves a process the tracked ticks sample to them: it reads
 * none of its files but status when due, and its figures stay the ticks'. */
static void test_scan_leaves_tracked(void **state)
{
	(void)state;
	struct proctab *pt = open_live();
	pid_t child = L.child = spawn(0, 0);
	const struct proc_info *pi;
	struct tcap c = { 0 };
	assert_true(proctab_scan(pt, mono_now()) > 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(proctab_sample(pt, child, mono_now(), &pi, tcap_cb, &c), 0);
		sleep_ms(50);
	}
	spin_start();   /* running: the gate would not spare it */
	sleep_ms(50);
	uint64_t tick = mono_now();
	assert_int_equal(proctab_sample(pt, child, tick, &pi, tcap_cb, &c), 0);
	double cpu = pi->cpu_pct;
	assert_true(cpu > 10);
	struct pt_proc *p = entry(pt, child);
	uint64_t w = p->w_mono, s_reads = p->s_reads;
	sleep_ms(50);
	assert_true(proctab_scan(pt, mono_now()) > 0);
	p = entry(pt, child);
	assert_int_equal(p->w_mono, w);               /* stat not read */
	assert_true(p->info.cpu_pct == cpu);         /* the tick's figure stands */
	assert_true(p->s_reads >= s_reads);          /* status, if it was due */
	/* not sampled for a full pass: the scan reads it again */
	sleep_ms(50);
	assert_true(proctab_scan(pt, tick + PT_TFULL_NS) > 0);
	p = entry(pt, child);
	assert_int_equal(p->w_mono, tick + PT_TFULL_NS);
	spin_stop();
	teardown(NULL);
}

/* A scan lists /proc only when a task was born or released since the
 * last listing (or PT_LIST_MAX_NS passed): a child forked shows at the
 * next scan, and one reaped is gone from it. */
static void test_scan_keeps_listing(void **state)
{
	(void)state;
	struct proctab *pt = open_live();
	uint64_t t0 = mono_now();
	assert_true(proctab_scan(pt, t0) > 0);
	assert_int_equal(proctab_lists(pt), 1);
	/* other tests, builds... may fork at any moment: some pair of
	 * back-to-back scans sees nothing born or released */
	int kept = 0;
	uint64_t t = t0;
	for (int i = 0; i < 2000 && !kept; i++) {
		unsigned before = proctab_lists(pt);
		t += MS(10);
		assert_true(proctab_scan(pt, t) > 0);
		kept = proctab_lists(pt) == before;
		if (!kept)
			sleep_ms(1);
	}
	assert_true(kept);
	t0 = t;
	unsigned before = proctab_lists(pt);
	pid_t child = L.child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		for (;;)
			pause();
	}
	assert_true(proctab_scan(pt, t0 + SEC(6)) > 0);
	assert_true(proctab_lists(pt) > before);
	assert_non_null(proctab_find(pt, child));
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, NULL, 0), child);
	L.child = 0;
	before = proctab_lists(pt);
	assert_true(proctab_scan(pt, t0 + SEC(7)) > 0);
	assert_true(proctab_lists(pt) > before);
	assert_null(proctab_find(pt, child));
	/* however quiet the machine, PT_LIST_MAX_NS after the last listing */
	before = proctab_lists(pt);
	assert_true(proctab_scan(pt, t0 + SEC(7) + PT_LIST_MAX_NS) > 0);
	assert_int_equal(proctab_lists(pt), before + 1);
	teardown(NULL);
}

/* loadavg's last two numbers, and what is not trusted: malformed, too
 * long, or a stand-in of zeros (a sandbox's that never moves). */
static void test_loadavg_sig(void **state)
{
	(void)state;
	char sig[32];
	uint64_t tasks = 0;
	const char *ok = "0.41 0.45 0.51 2/2731 8349\n";
	assert_int_equal(proctab__loadavg_sig(ok, strlen(ok), sig, sizeof sig, &tasks), 0);
	assert_string_equal(sig, "2731 8349");
	assert_int_equal(tasks, 2731);
	const char *no_nl = "0.00 0.00 0.00 1/90 77";
	assert_int_equal(proctab__loadavg_sig(no_nl, strlen(no_nl), sig, sizeof sig, &tasks), 0);
	assert_string_equal(sig, "90 77");
	const char *bad[] = {
		"0.00 0.00 0.00 0/0 0\n",        /* a stand-in */
		"0.00 0.00 0.00 1/0 5\n",
		"0.00 0.00 0.00 1/12 0\n",
		"0.00 0.00 0.00 1 2 3\n",        /* no slash */
		"0.00 0.00 0.00 1/x 3\n",
		"0.00 0.00 0.00 1/12\n",         /* no last pid */
		"0.00 0.00 0.00 1/12 34 56\n",   /* more than the kernel writes */
		"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(proctab__loadavg_sig(bad[i], strlen(bad[i]), sig, sizeof sig, &tasks), -1);
	const char *lng = "0 0 0 1/123456789012345 123456789012345\n";
	assert_int_equal(proctab__loadavg_sig(lng, strlen(lng), sig, 16, &tasks), -1);
}

/* Only procfs's own loadavg is trusted: a file of the same name
 * elsewhere (as lxcfs mounts one over it) is refused. */
static void test_loadavg_procfs_only(void **state)
{
	(void)state;
	int procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(procfd >= 0);
	int fd = proctab__open_loadavg(procfd);
	assert_true(fd >= 0);
	close(fd);
	close(procfd);
	char dir[] = "/tmp/rmon-notproc-XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/loadavg", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("0.00 0.00 0.00 1/300 4242\n", f);
	fclose(f);
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(proctab__open_loadavg(dfd), -1);
	close(dfd);
	unlink(path);
	rmdir(dir);
}

/* A loadavg whose task count is below the processes listed is not this
 * kernel's: it is dropped, and every scan lists. */
static void test_loadavg_not_ours(void **state)
{
	(void)state;
	struct proctab *pt = open_live();
	assert_true(pt->loadfd >= 0);
	char path[] = "/tmp/rmon-loadavg-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	const char *fake = "0.00 0.00 0.00 1/1 5\n";
	assert_int_equal(write(fd, fake, strlen(fake)), (ssize_t)strlen(fake));
	close(pt->loadfd);
	pt->loadfd = fd;
	uint64_t t0 = mono_now();
	for (int i = 0; i < 3; i++)
		assert_true(proctab_scan(pt, t0 + (uint64_t)i * MS(10)) > 1);
	assert_int_equal(pt->loadfd, -1);
	assert_int_equal(proctab_lists(pt), 3);
	teardown(NULL);
}

/* A fixture tree is not this machine's /proc: no gate, and every scan
 * lists it (its loadavg says nothing of its pids). */
static void test_fixture_no_gate(void **state)
{
	(void)state;
	struct fx_root r;
	fx_root_open(&r, "procs/basic");
	struct proctab *pt = NULL;
	assert_int_equal(proctab_open(&r.env, &pt), 0);
	assert_false(pt->cpuclock);
	assert_true(proctab_scan(pt, SEC(1)) > 0);
	assert_true(proctab_scan(pt, SEC(2)) > 0);
	assert_int_equal(proctab_lists(pt), 2);
	proctab_close(pt);
	fx_root_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_scan_gate, teardown),
		cmocka_unit_test_teardown(test_scan_reparented, teardown),
		cmocka_unit_test_teardown(test_sample_clock, teardown),
		cmocka_unit_test_teardown(test_many_threads, teardown),
		cmocka_unit_test_teardown(test_big_process_clock, teardown),
		cmocka_unit_test_teardown(test_scan_leaves_tracked, teardown),
		cmocka_unit_test_teardown(test_big_quiet_after_all, teardown),
		cmocka_unit_test_teardown(test_scan_keeps_listing, teardown),
		cmocka_unit_test(test_loadavg_sig),
		cmocka_unit_test(test_loadavg_procfs_only),
		cmocka_unit_test_teardown(test_loadavg_not_ours, teardown),
		cmocka_unit_test(test_fixture_no_gate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
