/*
 * /proc/vmstat: paging and swapping rates.  The file is the biggest of
 * the system files (about 190 lines, 4 KB), so only the four names we
 * want are looked at, through the shared key table, and parsing stops
 * once they have all been seen.  A missing name (they come and go between
 * kernels) leaves its field absent.
 *
 * Nor is the whole file read each tick.  vmstat is an iterator seq_file:
 * a read from 0 makes the kernel format only as many lines as it asks
 * for, and the four names sit in the first half (pswpin near byte 1600,
 * pgmajfault near 2000 on 6.x).  A whole read teaches where the line of
 * the last wanted name ends; later ticks read that much plus a margin
 * for the counters above it that grow digits (an eighth, at least 256
 * bytes: years of growth; the kernel's cost is about 5 us per KB
 * formatted, so a wider margin is not free), and a line cut by that
 * limit is dropped.  When such a head lacks a name the whole read had
 * (the lines above grew past the margin), the whole file is read in the
 * same tick and the head learnt again, so no tick loses a field.
 */
#include "linux.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "readfile.h"

static const struct kv_key vmstat_keys[] = {
	KV_KEY("pgfault", VM_PGFAULT),
	KV_KEY("pgmajfault", VM_PGMAJFAULT),
	KV_KEY("pswpin", VM_PSWPIN),
	KV_KEY("pswpout", VM_PSWPOUT),
};

static const int vmstat_field[VM__COUNT] = {
	[VM_PGFAULT] = RM_SYS_PGFAULT_PS,
	[VM_PGMAJFAULT] = RM_SYS_PGMAJFAULT_PS,
	[VM_PSWPIN] = RM_SYS_PSWPIN_PS,
	[VM_PSWPOUT] = RM_SYS_PSWPOUT_PS,
};

#define VMSTAT_MARGIN_MIN 256

struct proc_vmstat {
	struct kept_file file;
	struct vmstat prev;         /* prev.found == 0: no baseline yet */
	uint64_t prev_mono;
	size_t head;                /* bytes to read; 0: the whole file */
	uint64_t head_found;        /* the names the last whole read had */
};

/* Parse, and return how much of buf the names found needed. */
static size_t vmstat_parse_upto(const char *buf, size_t len, struct vmstat *vm)
{
	return kv_parse_upto(buf, len, vmstat_keys, sizeof vmstat_keys / sizeof vmstat_keys[0],
			     vm->v, &vm->found);
}

void proc_vmstat_parse(const char *buf, size_t len, struct vmstat *vm)
{
	vmstat_parse_upto(buf, len, vm);
}

size_t proc_vmstat_head(const void *state)
{
	const struct proc_vmstat *st = state;
	return st->head;
}

void proc_vmstat_rate(const struct vmstat *prev, const struct vmstat *cur, double dt_s,
		      struct rm_rec *sys)
{
	if (dt_s <= 0)
		return;
	for (int i = 0; i < VM__COUNT; i++) {
		uint64_t bit = (uint64_t)1 << i, d;
		if ((prev->found & cur->found & bit) && ctr_delta(prev->v[i], cur->v[i], &d) == 0)
			rec_set(sys, vmstat_field[i], (double)d / dt_s);
	}
}

static void vmstat_close(void *state)
{
	struct proc_vmstat *st = state;
	if (!st)
		return;
	kept_close(&st->file);
	free(st);
}

static int vmstat_open(const struct collect_env *env, void **state)
{
	struct proc_vmstat *st = calloc(1, sizeof *st);
	if (!st)
		return -ENOMEM;
	int err = kept_open(&st->file, env->procfd, "vmstat", 8192, 1u << 20);
	if (err) {
		vmstat_close(st);
		return err;
	}
	*state = st;
	return 0;
}

/* The whole file; learn the head that holds what it had. */
static int vmstat_read_whole(struct proc_vmstat *st, struct vmstat *cur)
{
	ssize_t n = kept_read(&st->file);
	if (n < 0)
		return (int)n;
	size_t upto = vmstat_parse_upto(st->file.buf.p, (size_t)n, cur);
	size_t margin = upto / 8 > VMSTAT_MARGIN_MIN ? upto / 8 : VMSTAT_MARGIN_MIN;
	st->head = upto ? upto + margin : 0;
	st->head_found = cur->found;
	return 0;
}

/* The head when it holds every name the whole file had, else the whole
 * file.  A head read that fails is tried again whole: that read's error,
 * if any, is the tick's. */
static int vmstat_read(struct proc_vmstat *st, struct vmstat *cur)
{
	if (st->head) {
		ssize_t n = kept_read_head(&st->file, st->head);
		if (n >= 0) {
			proc_vmstat_parse(st->file.buf.p, (size_t)n, cur);
			if ((cur->found & st->head_found) == st->head_found)
				return 0;
		}
	}
	return vmstat_read_whole(st, cur);
}

static int vmstat_sample(void *state, struct collect_tick *t)
{
	struct proc_vmstat *st = state;
	struct vmstat cur;
	int err = vmstat_read(st, &cur);
	if (err)
		return err;
	if (st->prev.found)
		proc_vmstat_rate(&st->prev, &cur, tick_dt(st->prev_mono, t->mono_ns), t->sys);
	st->prev = cur;
	st->prev_mono = t->mono_ns;
	return 0;
}

const struct collector proc_vmstat_collector = {
	.name = "proc_vmstat",
	.cap = COLLECT_CAP_VMSTAT,
	.open = vmstat_open,
	.sample = vmstat_sample,
	.close = vmstat_close,
};
