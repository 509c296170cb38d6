/*
 * The system collectors' CPU cost per tick on this machine, next to the
 * floor: the same files read whole with pread on kept fds and not parsed,
 * the cheapest way to get all of each, as the collectors read them
 * (single_open seq_files with one pread; iterator seq_files and sysfs
 * until EOF).  tick/floor is what parsing, rates and emitting add to the
 * unavoidable kernel work of generating the files.  Except for vmstat:
 * its collector reads only the head that holds its four keys (see
 * proc_vmstat.c), less than the floor's whole file, so its ratio is
 * below 1 and so is part of the total's.
 *
 *   bench-collect [-n ticks] [-s sleep_us]
 *
 * Both are measured in the same run, interleaved tick by tick (alternating
 * which goes first), as thread CPU time (CLOCK_THREAD_CPUTIME_ID); the
 * medians are printed, then the same per collector.  A short sleep
 * between ticks (default 1 ms) keeps the counters moving so records are
 * really emitted.  Thermal sensors are read at most once a second, by
 * the collector and by the floor alike.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collect.h"
#include "collect/linux/linux.h"
#include "readfile.h"

#define MAXC 16
#define MAXF 4096
#define THERMAL_NS 1000000000ull

struct floor_file {
	int fd;
	dev_t dev;
	ino_t ino;
	int coll;                    /* index in collect_platform */
	int slow;                    /* thermal: at most once a second */
	int single;                  /* single_open: one short pread is all */
};

static struct floor_file files[MAXF];
static unsigned nfiles;
static struct readfile_buf fbuf;
static void *state[MAXC];
static int opened[MAXC];
static uint64_t last_slow;
static struct rm_rec sink;
static unsigned long nrecs;

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static double median_us(uint64_t *v, unsigned n)
{
	qsort(v, n, sizeof *v, cmp_u64);
	return (double)v[n / 2] / 1000.0;
}

static int coll_index(const char *name)
{
	for (unsigned i = 0; i < collect_platform_count; i++)
		if (strcmp(collect_platform[i]->name, name) == 0)
			return (int)i;
	return -1;
}

static void floor_add(int dirfd, const char *path, const char *coll, int slow, int single)
{
	int c = coll_index(coll);
	if (c < 0 || !opened[c] || nfiles == MAXF)
		return;
	int fd = readfile_open(dirfd, path);
	struct stat sb = { 0 };
	if (fd < 0)
		return;
	/* CPUs of one cpufreq policy share a file: the collector reads it
	 * once per tick, so does the floor. */
	if (fstat(fd, &sb) == 0) {
		for (unsigned i = 0; i < nfiles; i++) {
			if (files[i].dev == sb.st_dev && files[i].ino == sb.st_ino) {
				close(fd);
				return;
			}
		}
	}
	files[nfiles++] = (struct floor_file){ fd, sb.st_dev, sb.st_ino, c, slow, single };
}

static void floor_cpufreq(int sysfd)
{
	unsigned *cpu = NULL;
	int n = linux_dir_numbers(sysfd, "devices/system/cpu", "cpu", "", &cpu);
	for (int i = 0; i < n; i++) {
		char p[96];
		snprintf(p, sizeof p, "devices/system/cpu/cpu%u/cpufreq/scaling_cur_freq", cpu[i]);
		floor_add(sysfd, p, "sys_cpufreq", 0, 0);
	}
	if (n > 0)
		free(cpu);
}

static void floor_thermal(int sysfd)
{
	unsigned *z = NULL, *h = NULL;
	int nz = linux_dir_numbers(sysfd, "class/thermal", "thermal_zone", "", &z);
	for (int i = 0; i < nz; i++) {
		char p[96];
		snprintf(p, sizeof p, "class/thermal/thermal_zone%u/temp", z[i]);
		floor_add(sysfd, p, "sys_thermal", 1, 0);
	}
	int nh = linux_dir_numbers(sysfd, "class/hwmon", "hwmon", "", &h);
	for (int i = 0; i < nh; i++) {
		for (unsigned k = 1; k < 32; k++) {
			char p[96];
			snprintf(p, sizeof p, "class/hwmon/hwmon%u/temp%u_input", h[i], k);
			floor_add(sysfd, p, "sys_thermal", 1, 0);
		}
	}
	if (nz > 0)
		free(z);
	if (nh > 0)
		free(h);
}

/* The files the collectors read, as each collector opens them. */
static void floor_open(const struct collect_env *env)
{
	static const struct { const char *path, *coll; int single; } proc[] = {
		{ "stat", "proc_stat", 1 }, { "loadavg", "proc_loadavg", 1 },
		{ "meminfo", "proc_meminfo", 1 }, { "vmstat", "proc_vmstat", 0 },
		{ "pressure/cpu", "proc_pressure", 1 }, { "pressure/memory", "proc_pressure", 1 },
		{ "pressure/io", "proc_pressure", 1 }, { "diskstats", "proc_diskstats", 0 },
		{ "net/dev", "proc_net_dev", 0 },
	};
	for (unsigned i = 0; i < sizeof proc / sizeof proc[0]; i++)
		floor_add(env->procfd, proc[i].path, proc[i].coll, 0, proc[i].single);
	floor_cpufreq(env->sysfd);
	floor_thermal(env->sysfd);
}

/* Read the floor files of collector c (-1: all).  CPU ns spent. */
static uint64_t floor_pass(int c, uint64_t mono)
{
	int slow = mono - last_slow >= THERMAL_NS;
	uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	for (unsigned i = 0; i < nfiles; i++) {
		if ((c >= 0 && files[i].coll != c) || (files[i].slow && !slow))
			continue;
		if (files[i].single)
			readfile_buf_fill_single(&fbuf, files[i].fd);
		else
			readfile_buf_fill(&fbuf, files[i].fd);
	}
	uint64_t t1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	if (slow)
		last_slow = mono;
	return t1 - t0;
}

static void bench_emit(struct collect_tick *t, enum rm_kind kind, const struct rm_rec *r)
{
	(void)t;
	(void)kind;
	memcpy(&sink, r, sizeof sink);   /* what a ring push costs, about */
	nrecs++;
}

/* One tick of collector c (-1: all of them).  CPU ns spent. */
static uint64_t tick_pass(int c, uint64_t mono)
{
	struct rm_rec sys;
	struct collect_tick t = {
		.mono_ns = mono, .rt_ns = clock_ns(CLOCK_REALTIME), .sys = &sys, .emit = bench_emit,
	};
	uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	rec_init(&sys, t.rt_ns, NULL);
	for (unsigned i = 0; i < collect_platform_count; i++)
		if (opened[i] && (c < 0 || (int)i == c))
			collect_platform[i]->sample(state[i], &t);
	t.emit(&t, RM_KIND_SYSTEM, &sys);
	return clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
}

/* n interleaved rounds; medians of tick and floor CPU time, in µs. */
static void measure(int c, unsigned n, long sleep_us, double *tick, double *flr)
{
	uint64_t *a = calloc(n, sizeof *a), *b = calloc(n, sizeof *b);
	if (!a || !b) {
		perror("calloc");
		exit(1);
	}
	struct timespec ts = { 0, sleep_us * 1000 };
	for (unsigned i = 0; i < n; i++) {
		uint64_t mono = clock_ns(CLOCK_MONOTONIC);
		if (i & 1) {
			b[i] = floor_pass(c, mono);
			a[i] = tick_pass(c, mono);
		} else {
			a[i] = tick_pass(c, mono);
			b[i] = floor_pass(c, mono);
		}
		if (sleep_us > 0)
			nanosleep(&ts, NULL);
	}
	*tick = median_us(a, n);
	*flr = median_us(b, n);
	free(a);
	free(b);
}

static void open_all(struct collect_env *env)
{
	env->procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	env->sysfd = open("/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
	env->clk_tck = sysconf(_SC_CLK_TCK);
	if (env->procfd < 0 || collect_platform_count > MAXC) {
		perror("/proc");
		exit(1);
	}
	for (unsigned i = 0; i < collect_platform_count; i++) {
		int err = collect_platform[i]->open(env, &state[i]);
		opened[i] = err == 0;
		if (err)
			printf("  (%s: %s)\n", collect_platform[i]->name, strerror(-err));
	}
}

int main(int argc, char **argv)
{
	unsigned n = 2000;
	long sleep_us = 1000;
	int opt;
	while ((opt = getopt(argc, argv, "n:s:")) != -1) {
		if (opt == 'n')
			n = (unsigned)strtoul(optarg, NULL, 10);
		else if (opt == 's')
			sleep_us = strtol(optarg, NULL, 10);
		else {
			fprintf(stderr, "usage: bench-collect [-n ticks] [-s sleep_us]\n");
			return 2;
		}
	}
	if (n < 10)
		n = 10;
	struct collect_env env;
	open_all(&env);
	if (readfile_buf_init(&fbuf, 16384, 64u << 20))
		return 1;
	floor_open(&env);
	double tick, flr;
	measure(-1, 50, 0, &tick, &flr);   /* warm up: buffers, baselines */
	measure(-1, n, sleep_us, &tick, &flr);
	printf("collect tick: median %.1f us cpu (n=%u); floor %.1f us; ratio %.2f"
	       " (floor: every file whole; vmstat's collector reads less)\n",
	       tick, n, flr, tick / flr);
	for (unsigned i = 0; i < collect_platform_count; i++) {
		if (!opened[i])
			continue;
		measure((int)i, n / 2, sleep_us, &tick, &flr);
		printf("  %-15s median %6.2f us; floor %6.2f us; ratio %.2f%s\n",
		       collect_platform[i]->name, tick, flr, flr > 0 ? tick / flr : 0.0,
		       collect_platform[i] == &proc_vmstat_collector ? "  (reads only a head)" : "");
	}
	for (unsigned i = 0; i < collect_platform_count; i++)
		if (opened[i])
			collect_platform[i]->close(state[i]);
	for (unsigned i = 0; i < nfiles; i++)
		close(files[i].fd);
	readfile_buf_free(&fbuf);
	return nrecs ? 0 : 1;
}
