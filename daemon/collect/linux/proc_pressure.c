/*
 * /proc/pressure/{cpu,memory,io}: pressure stall information.
 *
 * Each file has a "some" line and usually a "full" line:
 *   some avg10=2.89 avg60=1.16 avg300=0.64 total=2920425
 * avg10/avg60 are the kernel's own averages; *_stall_pct is ours, from
 * Δtotal (µs) over the tick interval, so it has the sampling resolution.
 * The cpu file of older kernels has no "full" line: those fields are then
 * absent.  Without CONFIG_PSI (or with psi=0) the directory is missing or
 * reads fail with EOPNOTSUPP: the capability is off.
 *
 * The files are single_open seq_files of about 100 bytes: one pread into
 * a 512-byte buffer returns all of one (readfile_pread_single; no second
 * pread for EOF).
 */
#include "linux.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "readfile.h"

static const char *const psi_path[PSI__RES] = {
	[PSI_CPU] = "pressure/cpu",
	[PSI_MEM] = "pressure/memory",
	[PSI_IO] = "pressure/io",
};

/* The six fields of a resource follow each other in schema.def. */
static const int psi_base[PSI__RES] = {
	[PSI_CPU] = RM_SYS_PSI_CPU_SOME10,
	[PSI_MEM] = RM_SYS_PSI_MEM_SOME10,
	[PSI_IO] = RM_SYS_PSI_IO_SOME10,
};
enum { PSI_OFF_AVG10, PSI_OFF_AVG60, PSI_OFF_RATE, PSI_OFF__KIND };
#define PSI_LAYOUT(R)                                                         \
	_Static_assert(RM_SYS_PSI_##R##_SOME60 == RM_SYS_PSI_##R##_SOME10 + 1 && \
		       RM_SYS_PSI_##R##_SOME_RATE == RM_SYS_PSI_##R##_SOME10 + 2 && \
		       RM_SYS_PSI_##R##_FULL10 == RM_SYS_PSI_##R##_SOME10 + 3 && \
		       RM_SYS_PSI_##R##_FULL60 == RM_SYS_PSI_##R##_SOME10 + 4 && \
		       RM_SYS_PSI_##R##_FULL_RATE == RM_SYS_PSI_##R##_SOME10 + 5, \
		       "psi fields of " #R " out of order")
PSI_LAYOUT(CPU);
PSI_LAYOUT(MEM);
PSI_LAYOUT(IO);

struct proc_pressure {
	int fd[PSI__RES];           /* -1: that file is missing */
	struct psi_file prev[PSI__RES];
	uint64_t prev_mono;
	int have_prev;
};

/* "name=value" at p: the value's start, or NULL. */
static const char *psi_tag(const char *p, const char *end, const char *name, size_t len)
{
	if ((size_t)(end - p) <= len || memcmp(p, name, len) != 0 || p[len] != '=')
		return NULL;
	return p + len + 1;
}

/* One "tag=value" token at p into f: where the token's value ends, or p
 * when the tag is unknown or its value malformed (the caller skips it). */
static const char *psi_token(const char *p, const char *end, struct psi_file *f, int k,
			     unsigned *got)
{
	const char *v, *q = NULL;
	unsigned bit = 0;
	if ((v = psi_tag(p, end, "avg10", 5))) {
		q = scan_f64(v, end, &f->avg10[k]);
		bit = 1;
	} else if ((v = psi_tag(p, end, "avg60", 5))) {
		q = scan_f64(v, end, &f->avg60[k]);
		bit = 2;
	} else if ((v = psi_tag(p, end, "total", 5))) {
		q = scan_u64(v, end, &f->total_us[k]);
		bit = 4;
	}
	if (!q)
		return p;
	*got |= bit;
	return q;
}

/* One "some|full avg10=.. avg60=.. avg300=.. total=.." line; unknown
 * tags are skipped, all of avg10, avg60 and total are required. */
static void psi_parse_line(const char *p, const char *end, struct psi_file *f, int k)
{
	unsigned got = 0;
	while ((p = scan_blank(p, end)) < end) {
		p = psi_token(p, end, f, k, &got);
		while (p < end && *p != ' ' && *p != '\t')
			p++;
	}
	if (got == 7)
		f->has |= 1u << k;
}

void proc_pressure_parse(const char *buf, size_t len, struct psi_file *f)
{
	const char *p = buf, *end = buf + len;
	f->has = 0;
	while (p < end) {
		const char *ls, *le = scan_line(&p, end, &ls);
		if (le - ls > 4 && memcmp(ls, "some", 4) == 0)
			psi_parse_line(ls + 4, le, f, PSI_SOME);
		else if (le - ls > 4 && memcmp(ls, "full", 4) == 0)
			psi_parse_line(ls + 4, le, f, PSI_FULL);
	}
}

void proc_pressure_fill(enum psi_res res, const struct psi_file *prev,
			const struct psi_file *cur, double dt_s, struct rm_rec *sys)
{
	for (int k = 0; k < PSI__KINDS; k++) {
		int base = psi_base[res] + k * PSI_OFF__KIND;
		uint64_t d;
		if (!(cur->has & (1u << k)))
			continue;
		rec_set(sys, base + PSI_OFF_AVG10, cur->avg10[k]);
		rec_set(sys, base + PSI_OFF_AVG60, cur->avg60[k]);
		if (!prev || !(prev->has & (1u << k)) || dt_s <= 0 ||
		    ctr_delta(prev->total_us[k], cur->total_us[k], &d))
			continue;
		/* Skew between the kernel's clock and ours can exceed 100 a
		 * little; a stall cannot last longer than the interval. */
		double pct = (double)d / (dt_s * 1e6) * 100.0;
		rec_set(sys, base + PSI_OFF_RATE, pct > 100.0 ? 100.0 : pct);
	}
}

static void pressure_close(void *state)
{
	struct proc_pressure *st = state;
	if (!st)
		return;
	for (int r = 0; r < PSI__RES; r++)
		if (st->fd[r] >= 0)
			close(st->fd[r]);
	free(st);
}

/* Open one file and read it once: with psi=0 it opens but reading fails
 * with EOPNOTSUPP, which means absent as much as ENOENT does. */
static int pressure_open_one(int procfd, enum psi_res r)
{
	char buf[512];
	int fd = readfile_open(procfd, psi_path[r]);
	if (fd < 0)
		return fd;
	ssize_t n = readfile_pread_single(fd, buf, sizeof buf);
	if (n < 0) {
		close(fd);
		return n == -EOPNOTSUPP ? -ENOENT : (int)n;
	}
	return fd;
}

static int pressure_open(const struct collect_env *env, void **state)
{
	struct proc_pressure *st = calloc(1, sizeof *st);
	if (!st)
		return -ENOMEM;
	int any = 0, err = -ENOENT;
	for (int r = 0; r < PSI__RES; r++) {
		st->fd[r] = pressure_open_one(env->procfd, (enum psi_res)r);
		if (st->fd[r] >= 0)
			any = 1;
		else if (st->fd[r] != -ENOENT)
			err = st->fd[r];
	}
	if (!any) {
		pressure_close(st);
		return err;
	}
	*state = st;
	return 0;
}

static int pressure_sample(void *state, struct collect_tick *t)
{
	struct proc_pressure *st = state;
	struct psi_file cur[PSI__RES];
	double dt = st->have_prev ? tick_dt(st->prev_mono, t->mono_ns) : 0;
	int err = 0;
	for (int r = 0; r < PSI__RES; r++) {
		char buf[512];
		cur[r].has = 0;
		if (st->fd[r] < 0)
			continue;
		ssize_t n = readfile_pread_single(st->fd[r], buf, sizeof buf);
		if (n < 0) {
			err = (int)n;
			continue;
		}
		proc_pressure_parse(buf, (size_t)n, &cur[r]);
		proc_pressure_fill((enum psi_res)r, st->have_prev ? &st->prev[r] : NULL, &cur[r],
				   dt, t->sys);
	}
	memcpy(st->prev, cur, sizeof cur);
	st->prev_mono = t->mono_ns;
	st->have_prev = 1;
	return err;
}

const struct collector proc_pressure_collector = {
	.name = "proc_pressure",
	.cap = COLLECT_CAP_PSI,
	.open = pressure_open,
	.sample = pressure_sample,
	.close = pressure_close,
};
