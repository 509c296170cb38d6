/*
 * CPU frequency: devices/system/cpu/cpuN/cpufreq/scaling_cur_freq (kHz).
 *
 * The values belong on proc_stat's cpu records, so this collector emits
 * nothing itself: it runs first in the tick and puts each CPU's MHz on
 * the cpuboard (linux.h), and proc_stat picks them up.  That keeps one
 * collector per source and one owner per record.
 *
 * CPUs sharing a cpufreq policy share the file (cpuN/cpufreq is a link to
 * policyM): each distinct file is opened and read once per tick and its
 * value given to every CPU of the policy.  A CPU whose file is missing or
 * went away (offline: ENODEV, or EBUSY for an inactive policy) gets no
 * value; missing files are retried every CPUFREQ_RESCAN_NS.  VMs usually
 * have no cpufreq at all: open then returns -ENOENT.
 */
#include "linux.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readfile.h"

#define CPUFREQ_RESCAN_NS (10ull * 1000000000ull)

struct cpufreq_cpu {
	unsigned cpu;
	int src;                    /* index into srcs[], or -1 */
};

struct cpufreq_src {
	int fd;
	dev_t dev;
	ino_t ino;
	double mhz;
	int ok;                     /* read this tick */
};

struct sys_cpufreq {
	int sysfd;
	struct cpufreq_cpu *cpus;
	unsigned ncpus;
	struct cpufreq_src *srcs;   /* at most ncpus */
	unsigned nsrcs;
	uint64_t next_rescan;
};

int sys_cpufreq_parse(const char *buf, size_t len, double *mhz)
{
	uint64_t khz;
	const char *end = buf + len;
	const char *p = scan_u64(scan_blank(buf, end), end, &khz);
	if (!p || (p < end && *p != '\n' && *p != ' '))
		return -EINVAL;
	*mhz = (double)khz / 1000.0;
	return 0;
}

/* Where cpuN's file is: "devices/system/cpu/cpuN/cpufreq/scaling_cur_freq". */
static void cpufreq_path(char *path, unsigned cpu)
{
	static const char head[] = "devices/system/cpu/cpu", tail[] = "/cpufreq/scaling_cur_freq";
	memcpy(path, head, sizeof head - 1);
	linux_key_uint(path + sizeof head - 1, cpu);
	strcat(path, tail);
}

/* Open cpu's file, sharing the source of a CPU of the same policy. */
static void cpufreq_attach(struct sys_cpufreq *st, struct cpufreq_cpu *c)
{
	char path[96];
	struct stat sb = { 0 };
	cpufreq_path(path, c->cpu);
	int fd = readfile_open(st->sysfd, path);
	if (fd < 0)
		return;
	if (fstat(fd, &sb) == 0) {
		for (unsigned i = 0; i < st->nsrcs; i++) {
			if (st->srcs[i].fd >= 0 && st->srcs[i].dev == sb.st_dev &&
			    st->srcs[i].ino == sb.st_ino) {
				close(fd);
				c->src = (int)i;
				return;
			}
		}
	}
	/* A slot freed by cpufreq_drop, or a new one: live sources never
	 * outnumber the CPUs using them, so one is always there. */
	unsigned i = 0;
	while (i < st->nsrcs && st->srcs[i].fd >= 0)
		i++;
	if (i == st->nsrcs)
		st->nsrcs++;
	struct cpufreq_src *s = &st->srcs[i];
	memset(s, 0, sizeof *s);
	s->fd = fd;
	s->dev = sb.st_dev;
	s->ino = sb.st_ino;
	c->src = (int)i;
}

static void cpufreq_close(void *state)
{
	struct sys_cpufreq *st = state;
	if (!st)
		return;
	cpuboard_forget_freq();
	for (unsigned i = 0; i < st->nsrcs; i++)
		if (st->srcs[i].fd >= 0)
			close(st->srcs[i].fd);
	free(st->cpus);
	free(st->srcs);
	free(st);
}

static int cpufreq_open(const struct collect_env *env, void **state)
{
	unsigned *nums = NULL;
	int n = linux_dir_numbers(env->sysfd, "devices/system/cpu", "cpu", "", &nums);
	if (n <= 0)
		return n < 0 ? n : -ENOENT;
	struct sys_cpufreq *st = calloc(1, sizeof *st);
	if (st) {
		st->cpus = calloc((size_t)n, sizeof *st->cpus);
		st->srcs = calloc((size_t)n, sizeof *st->srcs);
	}
	if (!st || !st->cpus || !st->srcs) {
		free(nums);
		cpufreq_close(st);
		return -ENOMEM;
	}
	st->sysfd = env->sysfd;
	st->ncpus = (unsigned)n;
	for (unsigned i = 0; i < st->ncpus; i++) {
		st->cpus[i].cpu = nums[i];
		st->cpus[i].src = -1;
		cpufreq_attach(st, &st->cpus[i]);
	}
	free(nums);
	if (st->nsrcs == 0) {
		cpufreq_close(st);
		return -ENOENT;
	}
	*state = st;
	return 0;
}

/* Drop a source that went away (ENODEV/ENOENT: the CPU or its policy is
 * gone) so the rescan may find it again. */
static void cpufreq_drop(struct sys_cpufreq *st, unsigned i)
{
	close(st->srcs[i].fd);
	st->srcs[i].fd = -1;
	for (unsigned c = 0; c < st->ncpus; c++)
		if (st->cpus[c].src == (int)i)
			st->cpus[c].src = -1;
}

static void cpufreq_rescan(struct sys_cpufreq *st, uint64_t now)
{
	if (now < st->next_rescan)
		return;
	st->next_rescan = now + CPUFREQ_RESCAN_NS;
	for (unsigned c = 0; c < st->ncpus; c++)
		if (st->cpus[c].src < 0)
			cpufreq_attach(st, &st->cpus[c]);
}

static int cpufreq_sample(void *state, struct collect_tick *t)
{
	struct sys_cpufreq *st = state;
	int good = 0, err = 0;
	cpufreq_rescan(st, t->mono_ns);
	for (unsigned i = 0; i < st->nsrcs; i++) {
		struct cpufreq_src *s = &st->srcs[i];
		char buf[32];
		s->ok = 0;
		if (s->fd < 0)
			continue;
		ssize_t n = readfile_pread(s->fd, buf, sizeof buf);
		if (n == -ENODEV || n == -ENOENT)
			cpufreq_drop(st, i);
		if (n < 0)
			err = (int)n;
		else if (sys_cpufreq_parse(buf, (size_t)n, &s->mhz) == 0)
			s->ok = good = 1;
	}
	for (unsigned c = 0; c < st->ncpus; c++) {
		int src = st->cpus[c].src;
		if (src >= 0 && st->srcs[src].ok)
			cpuboard_put_freq(st->cpus[c].cpu, t->mono_ns, st->srcs[src].mhz);
	}
	return good ? 0 : err;
}

const struct collector sys_cpufreq_collector = {
	.name = "sys_cpufreq",
	.cap = COLLECT_CAP_CPUFREQ,
	.open = cpufreq_open,
	.sample = cpufreq_sample,
	.close = cpufreq_close,
};
