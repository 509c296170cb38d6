/*
 * status's "gpu_processes": the per-process GPU table (gpuprocs.c) grouped
 * by GPU, each GPU's processes by memory, with the process's comm.
 *
 * A GPU is named by its gpu:N index when rmon samples it (NVML's devices,
 * amdgpu cards: the DRM address is matched to the card's PCI address), and
 * by its PCI address otherwise (an i915 or xe GPU seen only through DRM
 * fdinfo).
 */
#include "req-gpuprocs.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "gpuprocs.h"
#include "msg.h"
#include "rmond.h"

struct gp_row {
	const struct gpuprocs_item *it;
	int gpu;                      /* gpu:N, or -1 when rmon has no record for it */
	char pci[32];
};

/* The gpu:N of an item and its PCI address, from the GPU thread's devices. */
static void place(struct gp_row *r)
{
	struct gpu_dev_info di;
	r->gpu = r->it->nvml_index;
	r->pci[0] = '\0';
	if (r->it->source == GPUPROCS_DRM && strchr(r->it->dev, ':'))
		snprintf(r->pci, sizeof r->pci, "%s", r->it->dev);
	for (unsigned i = 0; gpu_device_info(the_rmond.gpu, i, &di) == 0; i++) {
		if (r->gpu >= 0 && di.index == (unsigned)r->gpu) {
			snprintf(r->pci, sizeof r->pci, "%s", di.pci);
			return;
		}
		if (r->gpu < 0 && r->pci[0] && strcasecmp(di.pci, r->pci) == 0) {
			r->gpu = (int)di.index;
			return;
		}
	}
}

/* GPUs with an index first, in index order, then by PCI address; within
 * one GPU, most memory first (no reading last). */
static int cmp_rows(const void *a, const void *b)
{
	const struct gp_row *x = a, *y = b;
	if ((x->gpu < 0) != (y->gpu < 0))
		return x->gpu < 0 ? 1 : -1;
	if (x->gpu != y->gpu)
		return x->gpu < y->gpu ? -1 : 1;
	int c = strcmp(x->pci, y->pci);
	if (c)
		return c;
	uint64_t mx = x->it->have_mem ? x->it->mem_bytes + 1 : 0;
	uint64_t my = y->it->have_mem ? y->it->mem_bytes + 1 : 0;
	if (mx != my)
		return mx > my ? -1 : 1;
	return (x->it->pid > y->it->pid) - (x->it->pid < y->it->pid);
}

static bool same_gpu(const struct gp_row *a, const struct gp_row *b)
{
	return a->gpu == b->gpu && (a->gpu >= 0 || strcmp(a->pci, b->pci) == 0);
}

static void pack_row(msgpack_packer *pk, const struct gp_row *r)
{
	const struct gpuprocs_item *it = r->it;
	struct proc_snap s;
	bool known = the_rmond.procs && procs_lookup(the_rmond.procs, it->pid, &s) &&
	             (it->start_ticks == GPUPROCS_START_UNKNOWN ||
	              s.info.start_ticks == it->start_ticks);
	uint32_t n = 4 + (r->gpu >= 0) + (r->pci[0] != 0) + it->have_mem + it->have_busy;
	msgpack_pack_map(pk, n);
	if (r->gpu >= 0)
		msg_pack_kv_u64(pk, "gpu", (uint64_t)r->gpu);
	if (r->pci[0])
		msg_pack_kv_str(pk, "pci", r->pci);
	msg_pack_kv_str(pk, "driver", it->driver);
	msg_pack_kv_str(pk, "source", it->source == GPUPROCS_NVML ? "nvml" : "drm");
	msg_pack_kv_u64(pk, "pid", (uint64_t)it->pid);
	msg_pack_kv_str(pk, "comm", known ? s.info.comm : "");
	if (it->have_mem)
		msg_pack_kv_u64(pk, "gpu_mem_bytes", it->mem_bytes);
	if (it->have_busy)
		msg_pack_kv_f64(pk, "gpu_busy_pct", it->busy_pct);
}

void req_pack_gpu_processes(msgpack_packer *pk, unsigned per_gpu)
{
	struct gpuprocs_item *items;
	unsigned n = gpuprocs_items(&items, clock_mono_ns()), shown = 0;
	struct gp_row *rows = malloc((n ? n : 1) * sizeof *rows);
	if (!rows)
		n = 0;
	for (unsigned i = 0; i < n; i++) {
		rows[i].it = &items[i];
		place(&rows[i]);
	}
	if (n)
		qsort(rows, n, sizeof *rows, cmp_rows);
	/* keep the first per_gpu of each GPU, in place */
	for (unsigned i = 0, run = 0; i < n; i++) {
		run = i && same_gpu(&rows[i], &rows[i - 1]) ? run + 1 : 0;
		if (run < per_gpu)
			rows[shown++] = rows[i];
	}
	msg_pack_str(pk, "gpu_processes");
	msgpack_pack_array(pk, shown);
	for (unsigned i = 0; i < shown; i++)
		pack_row(pk, &rows[i]);
	free(rows);
	free(items);
}
