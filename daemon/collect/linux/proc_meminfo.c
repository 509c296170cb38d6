/*
 * /proc/meminfo: memory the way free(1) (procps-ng 4) shows it.
 *
 *   used      = MemTotal - MemAvailable
 *   cached    = Cached + SReclaimable   (free's buff/cache minus Buffers)
 *   shared    = Shmem
 *   swap used = SwapTotal - SwapFree
 *
 * procps' fallbacks are kept: when MemAvailable is missing (kernels
 * before 3.14) or larger than MemTotal (lxcfs-style distortions), MemFree
 * stands in for it, in mem_avail_bytes too, as free's "available" column
 * does.  Any other missing key leaves its field absent.
 *
 * A single_open seq_file: one short pread is the whole file
 * (kept_read_single, no pread for EOF).
 */
#include "linux.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "readfile.h"

#define MI_BIT(s) ((uint64_t)1 << (s))

static const struct kv_key meminfo_keys[] = {
	KV_KEY("MemTotal", MI_TOTAL),
	KV_KEY("MemFree", MI_FREE),
	KV_KEY("MemAvailable", MI_AVAIL),
	KV_KEY("Buffers", MI_BUFFERS),
	KV_KEY("Cached", MI_CACHED),
	KV_KEY("SReclaimable", MI_SRECLAIMABLE),
	KV_KEY("Shmem", MI_SHMEM),
	KV_KEY("Dirty", MI_DIRTY),
	KV_KEY("SwapTotal", MI_SWAP_TOTAL),
	KV_KEY("SwapFree", MI_SWAP_FREE),
};

struct proc_meminfo {
	struct kept_file file;
};

void proc_meminfo_parse(const char *buf, size_t len, struct meminfo *m)
{
	kv_parse(buf, len, meminfo_keys, sizeof meminfo_keys / sizeof meminfo_keys[0],
		 m->kb, &m->found);
}

static int mi_has(const struct meminfo *m, enum meminfo_slot s)
{
	return (m->found & MI_BIT(s)) != 0;
}

/* A kB value as bytes, when the key was there. */
static void mi_set(const struct meminfo *m, enum meminfo_slot s, struct rm_rec *r, int field)
{
	if (mi_has(m, s))
		rec_set(r, field, (double)m->kb[s] * 1024.0);
}

static void meminfo_fill_used(const struct meminfo *m, struct rm_rec *sys)
{
	uint64_t total = m->kb[MI_TOTAL], avail;
	if (mi_has(m, MI_AVAIL) && m->kb[MI_AVAIL] <= total)
		avail = m->kb[MI_AVAIL];
	else if (mi_has(m, MI_FREE))
		avail = m->kb[MI_FREE];
	else
		return;
	rec_set(sys, RM_SYS_MEM_AVAIL, (double)avail * 1024.0);
	/* procps: a negative result falls back to MemTotal - MemFree. */
	uint64_t used;
	if (avail <= total)
		used = total - avail;
	else if (mi_has(m, MI_FREE) && m->kb[MI_FREE] <= total)
		used = total - m->kb[MI_FREE];
	else
		return;
	rec_set(sys, RM_SYS_MEM_USED, (double)used * 1024.0);
	if (total)
		rec_set(sys, RM_SYS_MEM_USED_PCT, 100.0 * (double)used / (double)total);
}

void proc_meminfo_fill(const struct meminfo *m, struct rm_rec *sys)
{
	mi_set(m, MI_TOTAL, sys, RM_SYS_MEM_TOTAL);
	if (mi_has(m, MI_TOTAL))
		meminfo_fill_used(m, sys);
	mi_set(m, MI_FREE, sys, RM_SYS_MEM_FREE);
	mi_set(m, MI_BUFFERS, sys, RM_SYS_MEM_BUFFERS);
	mi_set(m, MI_SHMEM, sys, RM_SYS_MEM_SHARED);
	mi_set(m, MI_DIRTY, sys, RM_SYS_MEM_DIRTY);
	mi_set(m, MI_SWAP_TOTAL, sys, RM_SYS_SWAP_TOTAL);
	if (mi_has(m, MI_CACHED)) {
		/* SReclaimable is missing only before 2.6.19: Cached alone. */
		uint64_t c = m->kb[MI_CACHED] +
			     (mi_has(m, MI_SRECLAIMABLE) ? m->kb[MI_SRECLAIMABLE] : 0);
		rec_set(sys, RM_SYS_MEM_CACHED, (double)c * 1024.0);
	}
	if (mi_has(m, MI_SWAP_TOTAL) && mi_has(m, MI_SWAP_FREE)) {
		uint64_t tot = m->kb[MI_SWAP_TOTAL], fr = m->kb[MI_SWAP_FREE];
		rec_set(sys, RM_SYS_SWAP_USED, tot > fr ? (double)(tot - fr) * 1024.0 : 0.0);
	}
}

static void meminfo_close(void *state)
{
	struct proc_meminfo *st = state;
	if (!st)
		return;
	kept_close(&st->file);
	free(st);
}

static int meminfo_open(const struct collect_env *env, void **state)
{
	struct proc_meminfo *st = calloc(1, sizeof *st);
	if (!st)
		return -ENOMEM;
	int err = kept_open(&st->file, env->procfd, "meminfo", 4096, 1u << 20);
	if (err) {
		meminfo_close(st);
		return err;
	}
	*state = st;
	return 0;
}

static int meminfo_sample(void *state, struct collect_tick *t)
{
	struct proc_meminfo *st = state;
	struct meminfo m;
	ssize_t n = kept_read_single(&st->file);
	if (n < 0)
		return (int)n;
	proc_meminfo_parse(st->file.buf.p, (size_t)n, &m);
	if (!m.found)
		return -EINVAL;
	proc_meminfo_fill(&m, t->sys);
	return 0;
}

const struct collector proc_meminfo_collector = {
	.name = "proc_meminfo",
	.cap = COLLECT_CAP_MEMINFO,
	.open = meminfo_open,
	.sample = meminfo_sample,
	.close = meminfo_close,
};
