#include "gpu.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "gpuprocs.h"
#include "log.h"
#include "nvml.h"
#include "schema.h"
#include "linux/sys_amdgpu.h"

#define SLOW_EVERY_NS 1000000000u  /* NVML PCIe throughput (~20 ms per counter),
                                     * amdgpu link/cap and the card rescan */
#define AMDGPU_SLOW_HAS (AMDGPU_HAS_POWER_CAP | AMDGPU_HAS_LINK_GEN | AMDGPU_HAS_LINK_WIDTH | \
                         AMDGPU_HAS_LINK_GEN_MAX | AMDGPU_HAS_LINK_WIDTH_MAX | AMDGPU_HAS_REPLAY)

struct gpu_dev {
	struct gpu_dev_info info;      /* guarded by the lock: status reads it */
	/* the rest is the GPU thread's own */
	unsigned src;                  /* NVML index or amdgpu slot */
	bool have_replay;              /* for the replay rate */
	uint64_t replay, replay_mono;
	/* NVML PCIe throughput is read once a second (each read blocks
	 * ~20 ms); the records between reads carry the newest reading */
	bool have_tp;
	double tx, rx;
	/* amdgpu: the once-a-second reads, carried the same way */
	uint64_t next_slow_ns;
	struct amdgpu_sample slow;     /* only AMDGPU_SLOW_HAS bits */
	bool have_replay_ps;
	double replay_ps;
	/* NVML: processes using it, from the once-a-second process lists
	 * (gpuprocs), carried between them; -1 none known */
	int nprocs;
};

struct gpu {
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;          /* guards stop, stats and dev[].info */
	pthread_cond_t cond;
	bool stop;
	bool regrid;                   /* interval_ns changed (reload): re-align the grid */
	struct gpu_stats stats;

	struct nvml *nv;               /* NULL: no NVML */
	struct amdgpu *amd;            /* NULL: no sysfs root */
	int sysfd;
	unsigned nnv;                  /* NVML devices: indices 0..nnv-1 */
	unsigned ndev;                 /* all devices */
	struct gpu_dev dev[GPU_MAX];
	uint64_t interval_ns;
	struct ring *ring;
	int lane;
	void (*on_tick)(void *);
	void *on_tick_arg;
	uint64_t next_slow_ns;
};

const char *gpu_state_name(enum gpu_state s)
{
	switch (s) {
	case GPU_STATE_OK: return "ok";
	case GPU_STATE_SLEEPING: return "sleeping";
	case GPU_STATE_LOST: return "lost";
	case GPU_STATE_GONE: return "gone";
	case GPU_STATE_FAILED: return "failed";
	}
	return "?";
}

/* ---- devices ---------------------------------------------------------- */

static void add_nvml_devices(struct gpu *g)
{
	g->nnv = nvml_count(g->nv);
	if (g->nnv > GPU_MAX)
		g->nnv = GPU_MAX;
	for (unsigned i = 0; i < g->nnv; i++) {
		struct gpu_dev_info *in = &g->dev[i].info;
		g->dev[i].src = i;
		g->dev[i].nprocs = -1;
		in->index = i;
		in->driver = "nvml";
		in->vendor = "NVIDIA";
	}
	g->ndev = g->nnv;
}

/* amdgpu slots not yet given an index get the next ones.  Called with
 * the lock held (or before the thread starts). */
static unsigned add_amdgpu_devices(struct gpu *g)
{
	unsigned added = 0, slots = amdgpu_count(g->amd);
	for (unsigned j = g->ndev - g->nnv; j < slots && g->ndev < GPU_MAX; j++) {
		const struct amdgpu_info *ai = amdgpu_info(g->amd, j);
		struct gpu_dev *d = &g->dev[g->ndev];
		memset(d, 0, sizeof *d);
		d->src = j;
		d->info.index = g->ndev;
		d->info.driver = "amdgpu";
		d->info.vendor = "AMD";
		snprintf(d->info.name, sizeof d->info.name, "%s", ai->name);
		snprintf(d->info.pci, sizeof d->info.pci, "%s", ai->pci);
		snprintf(d->info.uuid, sizeof d->info.uuid, "%s", ai->unique_id);
		d->info.has_temp_crit = ai->has_temp_crit;
		d->info.temp_crit_c = ai->temp_crit_c;
		log_info("amdgpu: gpu:%u is card%u, %s (%s)", g->ndev, ai->card, ai->name, ai->pci);
		g->ndev++;
		added++;
	}
	g->stats.devices = g->ndev;
	g->stats.amdgpu = g->stats.amdgpu || slots > 0;
	return added;
}

int gpu_open(struct gpu **out, const struct gpu_opts *o, char *err, size_t errlen)
{
	char nverr[512];
	struct gpu *g = calloc(1, sizeof *g);
	if (!g)
		return -ENOMEM;
	g->sysfd = -1;
	if (o->nvml_library && o->nvml_library[0]) {
		if (nvml_open(o->nvml_library, &g->nv, nverr, sizeof nverr) < 0) {
			g->nv = NULL;
			log_info("nvml: not available (%s): no NVIDIA GPU records", nverr);
		}
	}
	if (o->sysfd >= 0 && (g->sysfd = fcntl(o->sysfd, F_DUPFD_CLOEXEC, 0)) >= 0 &&
	    amdgpu_open(g->sysfd, &g->amd) < 0)
		g->amd = NULL;
	if (g->nv)
		add_nvml_devices(g);
	if (g->amd)
		add_amdgpu_devices(g);
	g->stats.nvml = g->nv != NULL;
	g->stats.devices = g->ndev;
	if (!g->nv && !g->stats.amdgpu) {
		snprintf(err, errlen, "no NVML%s and no amdgpu card",   /* NVML's reason is logged */
		         o->nvml_library && o->nvml_library[0] ? "" : " (gpu.nvidia.library is empty)");
		amdgpu_close(g->amd);
		if (g->sysfd >= 0)
			close(g->sysfd);
		free(g);
		return -ENODEV;
	}
	g->interval_ns = o->interval_ns;
	g->lane = -1;
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = g;
	return 0;
}

unsigned gpu_devices(const struct gpu *g)
{
	return g ? g->ndev : 0;
}

/* ---- records ---------------------------------------------------------- */

static void rec_begin(const struct gpu_dev *d, uint64_t rt, const char *name, struct rm_rec *r)
{
	char key[16];
	snprintf(key, sizeof key, "%u", d->info.index);
	rec_init(r, rt, key);
	if (name[0])
		rec_set_label(r, name, strnlen(name, RM_LABEL_MAX));
	rec_set(r, RM_GPU_INDEX, d->info.index);
}

static void set_mem(struct rm_rec *r, uint64_t used, uint64_t total)
{
	rec_set(r, RM_GPU_MEM_USED, (double)used);
	rec_set(r, RM_GPU_MEM_TOTAL, (double)total);
	if (total)
		rec_set(r, RM_GPU_MEM_USED_PCT, 100.0 * (double)used / (double)total);
}

/* A counter's rate between two readings; a counter that went back
 * re-baselines.  true when *ps was set. */
static bool replay_rate(struct gpu_dev *d, uint64_t count, uint64_t mono, double *ps)
{
	bool ok = false;
	if (d->have_replay && count >= d->replay && mono > d->replay_mono) {
		*ps = (double)(count - d->replay) / ((double)(mono - d->replay_mono) / 1e9);
		ok = true;
	}
	d->have_replay = true;
	d->replay = count;
	d->replay_mono = mono;
	return ok;
}

/* One device's NVML sample as a gpu record. */
static void fill_nvml(struct gpu_dev *d, const struct nvml_dev_sample *s, uint64_t rt,
                      uint64_t mono, struct rm_rec *r)
{
	rec_begin(d, rt, (s->present & NVML_HAS_NAME) ? s->name : "", r);
	if (s->present & NVML_HAS_UTIL) {
		rec_set(r, RM_GPU_UTIL, s->gpu_util_pct);
		rec_set(r, RM_GPU_MEM_UTIL, s->mem_util_pct);
	}
	if (s->present & NVML_HAS_MEM)
		set_mem(r, s->mem_used_bytes, s->mem_total_bytes);
	if (s->present & NVML_HAS_TEMP)
		rec_set(r, RM_GPU_TEMP, s->temp_c);
	if (s->present & NVML_HAS_POWER)
		rec_set(r, RM_GPU_POWER, s->power_w);
	if (s->present & NVML_HAS_POWER_LIMIT)
		rec_set(r, RM_GPU_POWER_LIMIT, s->power_limit_w);
	if (s->present & NVML_HAS_SM_CLOCK)
		rec_set(r, RM_GPU_SM_CLOCK, s->sm_clock_mhz);
	if (s->present & NVML_HAS_MEM_CLOCK)
		rec_set(r, RM_GPU_MEM_CLOCK, s->mem_clock_mhz);
	if (s->present & NVML_HAS_LINK_GEN)
		rec_set(r, RM_GPU_PCIE_GEN, s->link_gen);
	if (s->present & NVML_HAS_LINK_WIDTH)
		rec_set(r, RM_GPU_PCIE_WIDTH, s->link_width);
	if (s->present & NVML_HAS_LINK_GEN_MAX)
		rec_set(r, RM_GPU_PCIE_GEN_MAX, s->link_gen_max);
	if (s->present & NVML_HAS_LINK_WIDTH_MAX)
		rec_set(r, RM_GPU_PCIE_WIDTH_MAX, s->link_width_max);
	if ((s->present & NVML_HAS_PCIE_TX) && (s->present & NVML_HAS_PCIE_RX)) {
		d->tx = (double)s->pcie_tx_kbps * 1024.0;
		d->rx = (double)s->pcie_rx_kbps * 1024.0;
		d->have_tp = true;
	}
	if (d->have_tp) {
		rec_set(r, RM_GPU_PCIE_TX, d->tx);
		rec_set(r, RM_GPU_PCIE_RX, d->rx);
	}
	if (s->present & NVML_HAS_THROTTLE)
		rec_set(r, RM_GPU_THROTTLE, (double)s->throttle_reasons);
	double ps;
	if ((s->present & NVML_HAS_PCIE_REPLAY) && replay_rate(d, s->pcie_replay, mono, &ps))
		rec_set(r, RM_GPU_REPLAY_PS, ps);
	if (d->nprocs >= 0)
		rec_set(r, RM_GPU_PROCS, d->nprocs);
}

/* One card's amdgpu sample as a gpu record.  The once-a-second fields
 * are carried between their reads, as NVML's PCIe throughput is. */
static void fill_amdgpu(struct gpu_dev *d, struct amdgpu_sample *s, bool slow, uint64_t rt,
                        uint64_t mono, struct rm_rec *r)
{
	if (slow) {
		d->slow = *s;
		d->slow.has &= AMDGPU_SLOW_HAS;
		d->have_replay_ps = (s->has & AMDGPU_HAS_REPLAY) &&
		                    replay_rate(d, s->replay, mono, &d->replay_ps);
	}
	const struct amdgpu_sample *c = &d->slow;
	rec_begin(d, rt, d->info.name, r);
	if (s->has & AMDGPU_HAS_BUSY)
		rec_set(r, RM_GPU_UTIL, s->busy_pct);
	if (s->has & AMDGPU_HAS_MEM_BUSY)
		rec_set(r, RM_GPU_MEM_UTIL, s->mem_busy_pct);
	if ((s->has & (AMDGPU_HAS_VRAM_USED | AMDGPU_HAS_VRAM_TOTAL)) ==
	    (AMDGPU_HAS_VRAM_USED | AMDGPU_HAS_VRAM_TOTAL))
		set_mem(r, s->vram_used, s->vram_total);
	if (s->has & AMDGPU_HAS_GTT_USED)
		rec_set(r, RM_GPU_GTT_USED, (double)s->gtt_used);
	if (s->has & AMDGPU_HAS_GTT_TOTAL)
		rec_set(r, RM_GPU_GTT_TOTAL, (double)s->gtt_total);
	if (s->has & AMDGPU_HAS_TEMP)
		rec_set(r, RM_GPU_TEMP, s->temp_c);
	if (s->has & AMDGPU_HAS_POWER)
		rec_set(r, RM_GPU_POWER, s->power_w);
	if (s->has & AMDGPU_HAS_SCLK)
		rec_set(r, RM_GPU_SM_CLOCK, s->sclk_mhz);
	if (s->has & AMDGPU_HAS_MCLK)
		rec_set(r, RM_GPU_MEM_CLOCK, s->mclk_mhz);
	if (c->has & AMDGPU_HAS_POWER_CAP)
		rec_set(r, RM_GPU_POWER_LIMIT, c->power_cap_w);
	if (c->has & AMDGPU_HAS_LINK_GEN)
		rec_set(r, RM_GPU_PCIE_GEN, c->link_gen);
	if (c->has & AMDGPU_HAS_LINK_WIDTH)
		rec_set(r, RM_GPU_PCIE_WIDTH, c->link_width);
	if (c->has & AMDGPU_HAS_LINK_GEN_MAX)
		rec_set(r, RM_GPU_PCIE_GEN_MAX, c->link_gen_max);
	if (c->has & AMDGPU_HAS_LINK_WIDTH_MAX)
		rec_set(r, RM_GPU_PCIE_WIDTH_MAX, c->link_width_max);
	if (d->have_replay_ps)
		rec_set(r, RM_GPU_REPLAY_PS, d->replay_ps);
}

/* ---- the tick --------------------------------------------------------- */

static void push(struct gpu *g, const struct rm_rec *r)
{
	if (g->lane >= 0)
		ring_push(g->ring, (unsigned)g->lane, r);
}

static enum gpu_state tick_nvml(struct gpu *g, struct gpu_dev *d, unsigned flags, uint64_t rt)
{
	struct nvml_dev_sample s;
	struct rm_rec r;
	/* A runtime-suspended GPU (its PCI address known from an earlier
	 * sample) is not asked: any NVML query would wake it.  Like a
	 * sleeping amdgpu card it gets a record with nothing read. */
	if (collect_pci_suspended(g->sysfd, d->info.pci)) {
		d->have_tp = d->have_replay = false;
		rec_begin(d, rt, d->info.name, &r);
		push(g, &r);
		return GPU_STATE_SLEEPING;
	}
	int rc = nvml_sample(g->nv, d->src, flags, &s);
	if (rc == -ENODEV)
		return GPU_STATE_LOST;
	if (rc < 0)
		return GPU_STATE_FAILED;
	fill_nvml(d, &s, rt, clock_mono_ns(), &r);
	push(g, &r);
	pthread_mutex_lock(&g->lock);   /* the identity NVML gave, for status */
	if (s.present & NVML_HAS_NAME)
		snprintf(d->info.name, sizeof d->info.name, "%s", s.name);
	if (s.present & NVML_HAS_UUID)
		snprintf(d->info.uuid, sizeof d->info.uuid, "%s", s.uuid);
	if (s.present & NVML_HAS_BUSID) {   /* "00000000:3B:00.0" → "0000:3b:00.0" */
		size_t n = strlen(s.pci_bus_id);
		const char *b = n > 12 ? s.pci_bus_id + n - 12 : s.pci_bus_id;
		size_t k = 0;
		for (; b[k] && k + 1 < sizeof d->info.pci; k++)
			d->info.pci[k] = (char)(b[k] >= 'A' && b[k] <= 'F' ? b[k] - 'A' + 'a' : b[k]);
		d->info.pci[k] = '\0';
	}
	pthread_mutex_unlock(&g->lock);
	return GPU_STATE_OK;
}

/* A sleeping card gets a record with nothing read (the card is there);
 * a gone one none.  Either way its carried values are dropped, and its
 * slow reads are due as soon as it is sampled again. */
static enum gpu_state tick_amdgpu(struct gpu *g, struct gpu_dev *d, uint64_t rt, uint64_t mono)
{
	struct amdgpu_sample s;
	struct rm_rec r;
	bool slow = mono >= d->next_slow_ns;
	int rc = amdgpu_sample(g->amd, d->src, slow ? AMDGPU_SAMPLE_SLOW : 0, &s);
	if (rc != AMDGPU_ACTIVE) {
		d->slow.has = 0;
		d->have_replay = d->have_replay_ps = false;
		d->next_slow_ns = 0;
	}
	if (rc < 0)
		return GPU_STATE_GONE;
	if (rc == AMDGPU_SLEEPING) {
		rec_begin(d, rt, d->info.name, &r);
		push(g, &r);
		return GPU_STATE_SLEEPING;
	}
	if (slow)
		d->next_slow_ns = mono + SLOW_EVERY_NS;
	fill_amdgpu(d, &s, slow, rt, mono, &r);
	push(g, &r);
	return GPU_STATE_OK;
}

/* Log what changed state: lost, gone and back at warning level (the other
 * GPUs go on), sleeping and waking at debug level (laptops do it all day). */
static void log_changes(struct gpu *g, const enum gpu_state *was, const enum gpu_state *now)
{
	for (unsigned i = 0; i < g->ndev; i++) {
		const struct gpu_dev *d = &g->dev[i];
		if (was[i] == now[i])
			continue;
		if (now[i] == GPU_STATE_GONE)
			log_warnx("gpu %u: gone (amdgpu %s: its sysfs device went away); "
			          "the other GPUs go on", i, d->info.pci);
		else if (now[i] == GPU_STATE_LOST)
			log_warnx("gpu %u: lost (NVML: GPU is lost); the other GPUs go on", i);
		else if (was[i] == GPU_STATE_LOST || was[i] == GPU_STATE_GONE)
			log_warnx("gpu %u: back", i);
		else if (now[i] == GPU_STATE_SLEEPING || was[i] == GPU_STATE_SLEEPING)
			log_debug("gpu %u: %s", i, now[i] == GPU_STATE_SLEEPING ?
			          "sleeping (runtime-suspended): not sampled until it wakes" : "awake");
	}
}

/* Sample every device.  A device that fails, sleeps or is lost skips this
 * tick (logged when its state changes); the others go on. */
static void gpu_tick(struct gpu *g)
{
	uint64_t t0 = clock_mono_ns(), rt = clock_rt_ns();
	unsigned flags = 0;
	enum gpu_state was[GPU_MAX], now[GPU_MAX];
	if (t0 >= g->next_slow_ns) {
		flags |= NVML_SAMPLE_PCIE_THROUGHPUT;
		g->next_slow_ns = t0 + SLOW_EVERY_NS;
		if (g->amd && amdgpu_rescan(g->amd) + g->nnv > g->ndev) {
			pthread_mutex_lock(&g->lock);   /* a card appeared, or a new one */
			add_amdgpu_devices(g);
			pthread_mutex_unlock(&g->lock);
		}
	}
	if (g->nv && (flags & NVML_SAMPLE_PCIE_THROUGHPUT)) {
		/* Per-process GPU memory, once a second, before the devices so
		 * that this tick's records carry the counts.  Lost and sleeping
		 * devices (as of the last tick) are not asked: it would block
		 * on them or wake them; their entries expire. */
		int counts[GPU_MAX];
		gpuprocs_refresh_nvml(g->nv, g->nnv, g->stats.lost | g->stats.sleeping, t0, counts);
		for (unsigned i = 0; i < g->nnv; i++)
			g->dev[i].nprocs = counts[i];
	}
	uint64_t lost = 0, sleeping = 0;
	for (unsigned i = 0; i < g->ndev; i++) {
		struct gpu_dev *d = &g->dev[i];
		was[i] = d->info.state;
		now[i] = i < g->nnv ? tick_nvml(g, d, flags, rt) : tick_amdgpu(g, d, rt, t0);
		lost |= (uint64_t)(now[i] == GPU_STATE_LOST || now[i] == GPU_STATE_GONE) << i;
		sleeping |= (uint64_t)(now[i] == GPU_STATE_SLEEPING) << i;
	}
	log_changes(g, was, now);
	pthread_mutex_lock(&g->lock);
	for (unsigned i = 0; i < g->ndev; i++)
		g->dev[i].info.state = now[i];
	g->stats.lost = lost;
	g->stats.sleeping = sleeping;
	g->stats.ticks++;
	g->stats.last_tick_ns = rt;
	g->stats.tick_wall_ns = clock_mono_ns() - t0;
	pthread_mutex_unlock(&g->lock);
	if (g->on_tick)
		g->on_tick(g->on_tick_arg);
}

/* ---- the thread ------------------------------------------------------- */

/* The first deadline of the grid for interval iv after now. */
static uint64_t grid_start(uint64_t iv)
{
	return (clock_mono_ns() / iv + 1) * iv + iv / 2;
}

/* Sleep until *next, a stop request or a new interval (then *iv and *next
 * move to the new grid and the wait goes on).  True when stopping. */
static bool wait_until(struct gpu *g, uint64_t *next, uint64_t *iv)
{
	struct timespec ts = { (time_t)(*next / 1000000000u), (long)(*next % 1000000000u) };
	pthread_mutex_lock(&g->lock);
	for (;;) {
		while (!g->stop && !g->regrid &&
		       pthread_cond_timedwait(&g->cond, &g->lock, &ts) != ETIMEDOUT)
			;
		if (g->stop || !g->regrid)
			break;
		g->regrid = false;
		*iv = g->interval_ns;
		*next = grid_start(*iv);
		ts = (struct timespec){ (time_t)(*next / 1000000000u), (long)(*next % 1000000000u) };
	}
	bool stop = g->stop;
	pthread_mutex_unlock(&g->lock);
	return stop;
}

static void *gpu_main(void *arg)
{
	struct gpu *g = arg;
	/* Half an interval off the host sampler's grid (multiples of its
	 * interval): waking at the same instant, the two would compete for a
	 * CPU and the host ticks would start later (bench-gpu measured it). */
	uint64_t iv = g->interval_ns, next = grid_start(iv);
	while (!wait_until(g, &next, &iv)) {
		gpu_tick(g);
		next += iv;
		uint64_t now = clock_mono_ns();
		if (now >= next) {   /* a slow GPU: count the ticks it cost, move on */
			uint64_t skipped = (now - next) / iv + 1;
			pthread_mutex_lock(&g->lock);
			g->stats.missed += skipped;
			pthread_mutex_unlock(&g->lock);
			next += skipped * iv;
		}
	}
	return NULL;
}

int gpu_start(struct gpu *g, struct ring *ring, void (*on_tick)(void *), void *arg)
{
	g->ring = ring;
	g->lane = ring_lane(ring, RM_KIND_GPU);
	g->on_tick = on_tick;
	g->on_tick_arg = arg;
	int rc = pthread_create(&g->thread, NULL, gpu_main, g);
	if (rc)
		return -rc;
	pthread_setname_np(g->thread, "rmond-gpu");   /* top -H, ps -L, perf */
	g->started = true;
	return 0;
}

void gpu_set_interval(struct gpu *g, uint64_t interval_ns)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	if (g->interval_ns != interval_ns) {
		g->interval_ns = interval_ns;
		g->regrid = true;
		pthread_cond_signal(&g->cond);
	}
	pthread_mutex_unlock(&g->lock);
}

void gpu_stop(struct gpu *g)
{
	if (!g || !g->started)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);   /* waits for an NVML call in progress */
	g->started = false;
}

void gpu_close(struct gpu *g)
{
	if (!g)
		return;
	gpu_stop(g);
	nvml_close(g->nv);
	amdgpu_close(g->amd);
	if (g->sysfd >= 0)
		close(g->sysfd);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->cond);
	free(g);
}

void gpu_get_stats(struct gpu *g, struct gpu_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	*out = g->stats;
	pthread_mutex_unlock(&g->lock);
}

int gpu_device_info(struct gpu *g, unsigned i, struct gpu_dev_info *out)
{
	int rc = -ENOENT;
	if (!g)
		return rc;
	pthread_mutex_lock(&g->lock);
	if (i < g->ndev) {
		*out = g->dev[i].info;
		rc = 0;
	}
	pthread_mutex_unlock(&g->lock);
	return rc;
}
