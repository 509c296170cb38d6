#include "gpu.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "nvml.h"
#include "schema.h"

#define GPU_MAX 64
#define PCIE_THROUGHPUT_EVERY_NS 1000000000u  /* it blocks ~20 ms per counter */

struct gpu {
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;          /* guards stop and stats */
	pthread_cond_t cond;
	bool stop;
	struct gpu_stats stats;

	struct nvml *nv;
	unsigned ndev;
	uint64_t interval_ns;
	struct ring *ring;
	int lane;
	void (*on_tick)(void *);
	void *on_tick_arg;
	/* per device, for rates */
	bool have_replay[GPU_MAX];
	unsigned replay[GPU_MAX];
	uint64_t replay_mono[GPU_MAX];
	uint64_t next_pcie_ns;
	/* PCIe throughput is read once a second (each read blocks ~20 ms);
	 * the records between reads carry the newest reading */
	bool have_tp[GPU_MAX];
	double tx[GPU_MAX], rx[GPU_MAX];
};

int gpu_open(struct gpu **out, const char *lib, uint64_t interval_ns, char *err, size_t errlen)
{
	struct gpu *g = calloc(1, sizeof *g);
	if (!g)
		return -ENOMEM;
	int rc = nvml_open(lib, &g->nv, err, errlen);
	if (rc < 0) {
		free(g);
		return rc;
	}
	g->ndev = nvml_count(g->nv);
	if (g->ndev > GPU_MAX)
		g->ndev = GPU_MAX;
	g->interval_ns = interval_ns;
	g->lane = -1;
	g->stats.devices = g->ndev;
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

/* One device's NVML sample as a gpu record. */
static void fill(struct gpu *g, unsigned i, const struct nvml_dev_sample *s, uint64_t rt,
                 uint64_t mono, struct rm_rec *r)
{
	char key[16];
	snprintf(key, sizeof key, "%u", i);
	rec_init(r, rt, key);
	if (s->present & NVML_HAS_NAME)
		rec_set_label(r, s->name, strnlen(s->name, sizeof s->name));
	rec_set(r, RM_GPU_INDEX, i);
	if (s->present & NVML_HAS_UTIL) {
		rec_set(r, RM_GPU_UTIL, s->gpu_util_pct);
		rec_set(r, RM_GPU_MEM_UTIL, s->mem_util_pct);
	}
	if (s->present & NVML_HAS_MEM) {
		rec_set(r, RM_GPU_MEM_USED, (double)s->mem_used_bytes);
		rec_set(r, RM_GPU_MEM_TOTAL, (double)s->mem_total_bytes);
		if (s->mem_total_bytes)
			rec_set(r, RM_GPU_MEM_USED_PCT,
			        100.0 * (double)s->mem_used_bytes / (double)s->mem_total_bytes);
	}
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
		g->tx[i] = (double)s->pcie_tx_kbps * 1024.0;
		g->rx[i] = (double)s->pcie_rx_kbps * 1024.0;
		g->have_tp[i] = true;
	}
	if (g->have_tp[i]) {
		rec_set(r, RM_GPU_PCIE_TX, g->tx[i]);
		rec_set(r, RM_GPU_PCIE_RX, g->rx[i]);
	}
	if (s->present & NVML_HAS_THROTTLE)
		rec_set(r, RM_GPU_THROTTLE, (double)s->throttle_reasons);
	if (s->present & NVML_HAS_PCIE_REPLAY) {
		/* a rate between two readings; a counter that went back re-baselines */
		if (g->have_replay[i] && s->pcie_replay >= g->replay[i] && mono > g->replay_mono[i])
			rec_set(r, RM_GPU_REPLAY_PS, (double)(s->pcie_replay - g->replay[i]) /
			        ((double)(mono - g->replay_mono[i]) / 1e9));
		g->have_replay[i] = true;
		g->replay[i] = s->pcie_replay;
		g->replay_mono[i] = mono;
	}
}

/* Sample every device.  A device that fails or is lost skips this tick
 * (logged when its state changes); the others go on. */
static void gpu_tick(struct gpu *g)
{
	uint64_t t0 = clock_mono_ns(), rt = clock_rt_ns();
	unsigned flags = 0;
	if (t0 >= g->next_pcie_ns) {
		flags |= NVML_SAMPLE_PCIE_THROUGHPUT;
		g->next_pcie_ns = t0 + PCIE_THROUGHPUT_EVERY_NS;
	}
	uint64_t lost = 0;
	for (unsigned i = 0; i < g->ndev; i++) {
		struct nvml_dev_sample s;
		struct rm_rec r;
		int rc = nvml_sample(g->nv, i, flags, &s);
		if (rc == -ENODEV) {
			lost |= (uint64_t)1 << i;
			continue;
		}
		if (rc < 0)
			continue;
		fill(g, i, &s, rt, clock_mono_ns(), &r);
		if (g->lane >= 0)
			ring_push(g->ring, (unsigned)g->lane, &r);
	}
	pthread_mutex_lock(&g->lock);
	uint64_t changed = lost ^ g->stats.lost;
	for (unsigned i = 0; i < g->ndev; i++)
		if (changed & ((uint64_t)1 << i))
			log_warnx("gpu %u: %s", i, lost & ((uint64_t)1 << i) ?
			          "lost (NVML: GPU is lost); the other GPUs go on" : "back");
	g->stats.lost = lost;
	g->stats.ticks++;
	g->stats.last_tick_ns = rt;
	g->stats.tick_wall_ns = clock_mono_ns() - t0;
	pthread_mutex_unlock(&g->lock);
	if (g->on_tick)
		g->on_tick(g->on_tick_arg);
}

static bool wait_until(struct gpu *g, uint64_t deadline)
{
	struct timespec ts = { (time_t)(deadline / 1000000000u), (long)(deadline % 1000000000u) };
	pthread_mutex_lock(&g->lock);
	while (!g->stop && pthread_cond_timedwait(&g->cond, &g->lock, &ts) != ETIMEDOUT)
		;
	bool stop = g->stop;
	pthread_mutex_unlock(&g->lock);
	return stop;
}

static void *gpu_main(void *arg)
{
	struct gpu *g = arg;
	uint64_t iv = g->interval_ns, next = (clock_mono_ns() / iv + 1) * iv;
	while (!wait_until(g, next)) {
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
	g->started = true;
	return 0;
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
