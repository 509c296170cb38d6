/*
 * /proc/vmstat: paging and swapping rates.  The file is the biggest of
 * the system files (about 190 lines), so only the four names we want are
 * looked at, through the shared key table, and parsing stops once they
 * have all been seen.  A missing name (they come and go between kernels)
 * leaves its field absent.
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

struct proc_vmstat {
	struct kept_file file;
	struct vmstat prev;         /* prev.found == 0: no baseline yet */
	uint64_t prev_mono;
};

void proc_vmstat_parse(const char *buf, size_t len, struct vmstat *vm)
{
	kv_parse(buf, len, vmstat_keys, sizeof vmstat_keys / sizeof vmstat_keys[0], vm->v,
		 &vm->found);
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

static int vmstat_sample(void *state, struct collect_tick *t)
{
	struct proc_vmstat *st = state;
	struct vmstat cur;
	ssize_t n = kept_read(&st->file);
	if (n < 0)
		return (int)n;
	proc_vmstat_parse(st->file.buf.p, (size_t)n, &cur);
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
