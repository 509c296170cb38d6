/*
 * The process table's CPU cost on this machine, next to its floor: the same
 * files read with pread on kept fds and not parsed, in the same run,
 * interleaved round by round (alternating which goes first), as thread CPU
 * time (CLOCK_THREAD_CPUTIME_ID); medians are printed.
 *
 *   bench-procs [-n rounds] [-p idle_procs] [-t big_threads]
 *
 * It makes its own population first: 200 idle processes (fork + pause), one
 * process with 200 threads and one with 2000 (threads blocked on a
 * condvar), and kills it at the end, on SIGINT/SIGTERM, and (PDEATHSIG)
 * when the bench itself dies.
 *
 *   proc scan      proctab_scan over every process, per process.  Floor:
 *                  stat, statm (not for kernel threads or zombies) and io of
 *                  every process, which is what a steady-state scan reads
 *                  for a process that did not run (status is read again
 *                  only when the process used CPU, or every 5 s).  The
 *                  floor with status for every process, what a scan that
 *                  always reads it would cost, is shown next to it, and so
 *                  is the listing of /proc (getdents64 on a kept fd until
 *                  EOF): the scan cannot do without it, and its cost grows
 *                  with every task on the machine, threads included (the
 *                  kernel steps over each thread id to find the next
 *                  process), so the big population's 2200 threads make it
 *                  a visible part of the scan.
 *   thread sample  proctab_sample with a thread_cb on the big process, per
 *                  thread, on a full pass (the first, then one a second:
 *                  stat and io too, and task/ re-listed).  Floor:
 *                  task/TID/{stat,schedstat,io} of every thread.
 *     steady tick  the same, on the ticks between full passes (schedstat
 *                  alone).  Floor: task/TID/schedstat of every thread.
 *                  At 10 Hz a thread costs 9 steady ticks and one full
 *                  pass a second.
 *                  The samples are given a clock of their own (1 s, then
 *                  100 ms on) so that each round has one of each.
 *                  These two run with procs.quiet_thread_pct 0 (every
 *                  thread read every tick): the cost of reading a thread.
 *     default      the same process at the default quiet_thread_pct: its
 *                  threads are idle, so "quiet" (read every 5 s, the
 *                  process's /proc/PID/stat every tick instead), sampled
 *                  at 10 Hz of the samples' clock.  The median tick next
 *                  to the floor of reading every thread's schedstat, and
 *                  all the ticks' CPU per second as a share of one core.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "collect.h"
#include "proctab.h"

#define MAXKIDS 4096

static volatile pid_t kids[MAXKIDS];
static volatile int nkids;

static void kill_all(void)
{
	for (int i = 0; i < nkids; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL);
}

static void on_signal(int sig)
{
	kill_all();
	_exit(128 + sig);
}

static void reap_all(void)
{
	kill_all();
	for (int i = 0; i < nkids; i++)
		if (kids[i] > 0)
			waitpid(kids[i], NULL, 0);
	nkids = 0;
}

static void die(const char *what)
{
	perror(what);
	reap_all();
	exit(1);
}

/* ---- the population --------------------------------------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void *blocked(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	for (;;)
		pthread_cond_wait(&cv, &mu);
	return NULL;
}

/* A child with nthreads blocked threads (0: just pause). */
static pid_t spawn(unsigned nthreads)
{
	int pfd[2];
	if (pipe(pfd))
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(pfd[0]);
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 64 * 1024);
		for (unsigned i = 0; i < nthreads; i++) {
			pthread_t t;
			if (pthread_create(&t, &attr, blocked, NULL))
				_exit(1);
		}
		if (write(pfd[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	char c;
	if (read(pfd[0], &c, 1) != 1)
		die("population child");
	close(pfd[0]);
	kids[nkids++] = pid;
	return pid;
}

/* ---- floors ----------------------------------------------------------- */

struct floor {
	int *fd;
	unsigned n, cap;
	unsigned nstatus;            /* the status fds are the last nstatus */
	unsigned units;              /* processes or threads */
};

static void floor_add(struct floor *f, int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	char c;
	if (fd < 0)
		return;
	if (pread(fd, &c, 1, 0) < 0) {     /* io without ptrace access */
		close(fd);
		return;
	}
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 1024;
		f->fd = realloc(f->fd, f->cap * sizeof *f->fd);
		if (!f->fd)
			die("realloc");
	}
	f->fd[f->n++] = fd;
}

static char fbuf[4096];

/* One pread of each file (each fits the buffer: one read is the file). */
static uint64_t floor_pass(const struct floor *f, int with_status)
{
	unsigned n = with_status ? f->n : f->n - f->nstatus;
	uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	for (unsigned i = 0; i < n; i++)
		if (pread(f->fd[i], fbuf, sizeof fbuf, 0) < 0)
			continue;
	return clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
}

static _Alignas(8) char dbuf[32768];

/* The listing of /proc on a kept fd, as the scan reads it. */
static uint64_t floor_list(int fd)
{
	uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	if (lseek(fd, 0, SEEK_SET) == 0)
		while (getdents64(fd, dbuf, sizeof dbuf) > 0)
			;
	return clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
}

static void floor_free(struct floor *f)
{
	for (unsigned i = 0; i < f->n; i++)
		close(f->fd[i]);
	free(f->fd);
}

static int is_kthread(int procfd, const char *pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "%s/stat", pid);
	int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	if (!p)
		return 1;
	char state;
	unsigned long flags;
	/* setup only, not timed: field 3 and 9 */
	if (sscanf(p + 2, "%c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2)
		return 1;
	return (flags & 0x00200000ul) || state == 'Z';
}

static unsigned is_numeric(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static void floor_procs(struct floor *f, int procfd)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	char path[64];
	unsigned np = 0;
	char (*pids)[16] = NULL;
	unsigned cap = 0;
	while (d && (de = readdir(d)) != NULL) {
		if (!is_numeric(de->d_name) || strlen(de->d_name) > 10)
			continue;
		if (np == cap) {
			cap = cap ? cap * 2 : 512;
			pids = realloc(pids, cap * sizeof *pids);
			if (!pids)
				die("realloc");
		}
		snprintf(pids[np++], sizeof pids[0], "%s", de->d_name);
	}
	if (d)
		closedir(d);
	for (unsigned i = 0; i < np; i++) {
		snprintf(path, sizeof path, "%s/stat", pids[i]);
		floor_add(f, procfd, path);
		if (!is_kthread(procfd, pids[i])) {
			snprintf(path, sizeof path, "%s/statm", pids[i]);
			floor_add(f, procfd, path);
		}
		snprintf(path, sizeof path, "%s/io", pids[i]);
		floor_add(f, procfd, path);
	}
	unsigned before = f->n;
	for (unsigned i = 0; i < np; i++) {
		snprintf(path, sizeof path, "%s/status", pids[i]);
		floor_add(f, procfd, path);
	}
	f->nstatus = f->n - before;
	f->units = np;
	free(pids);
}

static void floor_threads(struct floor *f, int procfd, pid_t pid, int sched_only)
{
	char path[96];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL) {
		if (!is_numeric(de->d_name) || strlen(de->d_name) > 10)
			continue;
		static const char *const files[] = { "stat", "schedstat", "io" };
		for (unsigned i = sched_only ? 1 : 0; i < (sched_only ? 2u : 3u); i++) {
			snprintf(path, sizeof path, "%d/task/%s/%s", (int)pid, de->d_name, files[i]);
			floor_add(f, procfd, path);
		}
		f->units++;
	}
	if (d)
		closedir(d);
}

/* ---- measuring -------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static double median(uint64_t *v, unsigned n)
{
	qsort(v, n, sizeof *v, cmp_u64);
	return (double)v[n / 2];
}

static unsigned long ncb;
static void count_cb(void *arg, const struct thread_info *ti)
{
	(void)arg;
	(void)ti;
	ncb++;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };
	nanosleep(&ts, NULL);
}

static void bench_scan(struct proctab *pt, const struct floor *f, unsigned rounds)
{
	uint64_t *a = calloc(rounds, sizeof *a), *b = calloc(rounds, sizeof *b),
		 *c = calloc(rounds, sizeof *c), *l = calloc(rounds, sizeof *l);
	unsigned long nproc = 0;
	int lfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!a || !b || !c || !l || lfd < 0)
		die("calloc");
	if (proctab_scan(pt, clock_mono_ns()) < 0)   /* warm-up: first sight */
		die("proctab_scan");
	sleep_ms(5);
	proctab_scan(pt, clock_mono_ns());           /* the second read: status */
	for (unsigned i = 0; i < rounds; i++) {
		sleep_ms(5);
		uint64_t t0;
		int n;
		if (i & 1) {
			b[i] = floor_pass(f, 0);
			c[i] = floor_pass(f, 1);
			l[i] = floor_list(lfd);
		}
		t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		n = proctab_scan(pt, clock_mono_ns());
		a[i] = clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
		if (n <= 0)
			die("proctab_scan");
		a[i] /= (unsigned)n;
		nproc += (unsigned)n;
		if (!(i & 1)) {
			b[i] = floor_pass(f, 0);
			c[i] = floor_pass(f, 1);
			l[i] = floor_list(lfd);
		}
		b[i] /= f->units;
		c[i] /= f->units;
		l[i] /= f->units;
	}
	double scan = median(a, rounds) / 1000.0, flr = median(b, rounds) / 1000.0,
	       full = median(c, rounds) / 1000.0, list = median(l, rounds) / 1000.0;
	printf("proc scan: %.2f us/process cpu (n=%lu procs); floor %.2f us; ratio %.2f\n",
	       scan, nproc / rounds, flr, scan / flr);
	printf("  floor + listing /proc (%.2f us/process): %.2f us; ratio %.2f\n", list,
	       flr + list, scan / (flr + list));
	printf("  floor + status of every process: %.2f us; ratio %.2f\n", full, scan / full);
	close(lfd);
	free(a);
	free(b);
	free(c);
	free(l);
}

/* The samples' own clock: 1 s steps for full passes, 100 ms for steady
 * ticks; it only goes forward. */
static uint64_t vclock;

/* CPU ns of one sample, per thread (or whole, per_thread 0). */
static uint64_t sample_cost(struct proctab *pt, pid_t pid, uint64_t step,
			    const struct proc_info **pi, int per_thread)
{
	vclock += step;
	ncb = 0;
	uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	int err = proctab_sample(pt, pid, vclock, pi, count_cb, NULL);
	uint64_t d = clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
	if (err || (per_thread && ncb == 0))   /* quiet threads: none may be read */
		die("proctab_sample");
	return per_thread ? d / ncb : d;
}

static uint64_t sample_one(struct proctab *pt, pid_t pid, uint64_t step,
			   const struct proc_info **pi)
{
	return sample_cost(pt, pid, step, pi, 1);
}

static void bench_sample(struct proctab *pt, pid_t pid, const struct floor *f,
			 const struct floor *fs, unsigned rounds)
{
	uint64_t *a = calloc(rounds, sizeof *a), *b = calloc(rounds, sizeof *b),
		 *c = calloc(rounds, sizeof *c), *d = calloc(rounds, sizeof *d);
	const struct proc_info *pi;
	if (!a || !b || !c || !d)
		die("calloc");
	if (!vclock)
		vclock = clock_mono_ns();
	/* Warm-up: first sight, then the second read (status), then the
	 * thread baseline. */
	for (int i = 0; i < 3; i++) {
		sample_one(pt, pid, 1000000000ull, &pi);
		sleep_ms(2);
	}
	unsigned long threads = 0;
	for (unsigned i = 0; i < rounds; i++) {
		sleep_ms(2);
		if (i & 1) {
			b[i] = floor_pass(f, 1);
			d[i] = floor_pass(fs, 1);
		}
		a[i] = sample_one(pt, pid, 1000000000ull, &pi);     /* full pass */
		threads += ncb;
		sleep_ms(2);
		c[i] = sample_one(pt, pid, 100000000ull, &pi);      /* steady tick */
		if (!(i & 1)) {
			b[i] = floor_pass(f, 1);
			d[i] = floor_pass(fs, 1);
		}
		b[i] /= f->units;
		d[i] /= fs->units;
	}
	double s = median(a, rounds) / 1000.0, flr = median(b, rounds) / 1000.0;
	double st = median(c, rounds) / 1000.0, sflr = median(d, rounds) / 1000.0;
	printf("thread sample: %.2f us/thread cpu (n=%lu threads, %u-thread process); floor %.2f us;"
	       " ratio %.2f\n", s, threads / rounds, pi->threads, flr, s / flr);
	printf("  steady tick (schedstat only): %.2f us/thread cpu; floor %.2f us; ratio %.2f;"
	       " at 10 Hz %.2f us/thread/tick\n", st, sflr, st / sflr, (9.0 * st + s) / 10.0);
	free(a);
	free(b);
	free(c);
	free(d);
}

/* The default: idle threads are quiet.  Samples every 100 ms of the
 * samples' own clock (full passes, sweeps and steady ticks as they fall),
 * whole-sample CPU: the median tick and the total per second. */
static void bench_sample_quiet(struct proctab *pt, pid_t pid, const struct floor *fs,
			       unsigned rounds)
{
	unsigned n = rounds * 10;
	uint64_t *c = calloc(n, sizeof *c), *d = calloc(rounds, sizeof *d), total = 0;
	const struct proc_info *pi;
	if (!c || !d)
		die("calloc");
	proctab_set_quiet_pct(pt, 1);
	for (int i = 0; i < 3; i++) {   /* the threads' first readings make them quiet */
		sample_cost(pt, pid, 1000000000ull, &pi, 0);
		sleep_ms(2);
	}
	for (unsigned i = 0; i < n; i++) {
		if (i % 10 == 0) {
			sleep_ms(2);
			d[i / 10] = floor_pass(fs, 1);
			sleep_ms(2);
		}
		c[i] = sample_cost(pt, pid, 100000000ull, &pi, 0);
		total += c[i];
	}
	double st = median(c, n) / 1000.0, flr = median(d, rounds) / 1000.0;
	double per_s = (double)total / 1000.0 / ((double)n / 10.0);
	printf("  default (idle threads quiet), %u-thread process, %u samples at 10 Hz: median tick"
	       " %.1f us; floor (schedstat of every thread) %.1f us; ratio %.2f;"
	       " all ticks %.0f us/s = %.3f %% of one core\n", pi->threads, n, st, flr, st / flr,
	       per_s, per_s / 1e6 * 100.0);
	proctab_set_quiet_pct(pt, 0);
	free(c);
	free(d);
}

int main(int argc, char **argv)
{
	unsigned rounds = 50, idle = 200, big = 2000;
	int opt;
	while ((opt = getopt(argc, argv, "n:p:t:")) != -1) {
		if (opt == 'n')
			rounds = (unsigned)strtoul(optarg, NULL, 10);
		else if (opt == 'p')
			idle = (unsigned)strtoul(optarg, NULL, 10);
		else if (opt == 't')
			big = (unsigned)strtoul(optarg, NULL, 10);
		else {
			fprintf(stderr, "usage: bench-procs [-n rounds] [-p idle_procs] [-t big_threads]\n");
			return 2;
		}
	}
	if (rounds < 5)
		rounds = 5;
	if (idle > MAXKIDS - 2)
		idle = MAXKIDS - 2;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct collect_env env = { open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC), -1,
				   sysconf(_SC_CLK_TCK) };
	if (env.procfd < 0)
		die("/proc");
	struct proctab *pt = NULL;
	int err = proctab_open(&env, &pt);   /* also raises RLIMIT_NOFILE */
	if (err) {
		errno = -err;
		die("proctab_open");
	}
	uint64_t t0 = clock_mono_ns();
	for (unsigned i = 0; i < idle; i++)
		spawn(0);
	pid_t mid = spawn(200);
	pid_t pbig = spawn(big);
	printf("population: %u idle processes, 200 and %u threads (%.1f s to start)\n", idle, big,
	       (double)(clock_mono_ns() - t0) / 1e9);

	struct floor fp = { 0 }, f200 = { 0 }, fbig = { 0 }, s200 = { 0 }, sbig = { 0 };
	floor_procs(&fp, env.procfd);
	floor_threads(&f200, env.procfd, mid, 0);
	floor_threads(&fbig, env.procfd, pbig, 0);
	floor_threads(&s200, env.procfd, mid, 1);
	floor_threads(&sbig, env.procfd, pbig, 1);
	bench_scan(pt, &fp, rounds);
	proctab_set_quiet_pct(pt, 0);   /* first: the cost of reading each thread */
	bench_sample(pt, mid, &f200, &s200, rounds);
	bench_sample_quiet(pt, mid, &s200, rounds);
	bench_sample(pt, pbig, &fbig, &sbig, rounds);
	bench_sample_quiet(pt, pbig, &sbig, rounds);

	proctab_close(pt);
	floor_free(&fp);
	floor_free(&f200);
	floor_free(&fbig);
	floor_free(&s200);
	floor_free(&sbig);
	close(env.procfd);
	reap_all();
	return 0;
}
