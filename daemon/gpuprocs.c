/*
 * The per-process GPU table (gpuprocs.h).  A flat array of items under one
 * mutex: a machine has tens of GPU processes, not thousands, and every
 * reader holds the lock for one pass over it.  The item count is also kept
 * in an atomic so that the common case, a machine without GPU processes,
 * costs readers no lock.
 */
#include "gpuprocs.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "nvml.h"

#define SEC 1000000000ull
#define TTL_MIN_NS (3 * SEC)
#define PERIOD_MAX_NS (10 * SEC)     /* a stalled writer's entries live 30 s at most */
#define DRM_EVERY_NS SEC
#define DRM_RETRY_NS (30 * SEC)      /* look for a hot-plugged DRM GPU this often */
#define DRM_MIN_AGE_S 1.0            /* younger processes are not read (below) */
#define NVML_PROCS_MAX 1024          /* per device */

/* A writer's entries live three of its intervals, and at least 3 s. */
struct writer {
	uint64_t last_ns;
	uint64_t ttl_ns;
};

static struct {
	pthread_mutex_t lock;
	struct gpuprocs_item *v;       /* (lock) */
	unsigned n, cap;               /* (lock) */
	atomic_uint count;             /* n, readable without the lock */
	int procfd;
	struct collect_env env;
	struct writer nvml, drm;       /* each touched by its own thread only */
	/* procs thread only */
	struct procgpu *reader;
	uint64_t drm_next_ns, drm_retry_ns;
	char drivers[64];              /* (lock) */
} gp = { .lock = PTHREAD_MUTEX_INITIALIZER, .procfd = -1 };

static void writer_tick(struct writer *w, uint64_t now)
{
	uint64_t period = w->last_ns && now > w->last_ns ? now - w->last_ns : 0;
	if (period > PERIOD_MAX_NS)
		period = PERIOD_MAX_NS;
	w->ttl_ns = 3 * period > TTL_MIN_NS ? 3 * period : TTL_MIN_NS;
	w->last_ns = now;
}

static bool live(const struct gpuprocs_item *it, uint64_t now)
{
	return now < it->updated_ns + it->ttl_ns;
}

/* ---- the table (lock held) -------------------------------------------- */

static void drop_if(bool (*gone)(const struct gpuprocs_item *, const void *), const void *arg)
{
	unsigned k = 0;
	for (unsigned i = 0; i < gp.n; i++)
		if (!gone(&gp.v[i], arg))
			gp.v[k++] = gp.v[i];
	gp.n = k;
}

static bool is_expired(const struct gpuprocs_item *it, const void *arg)
{
	return !live(it, *(const uint64_t *)arg);
}

static bool is_nvml_dev(const struct gpuprocs_item *it, const void *arg)
{
	return it->source == GPUPROCS_NVML && it->nvml_index == *(const int *)arg;
}

static bool is_drm_pid(const struct gpuprocs_item *it, const void *arg)
{
	return it->source == GPUPROCS_DRM && it->pid == *(const int32_t *)arg;
}

static int append(const struct gpuprocs_item *items, unsigned n)
{
	if (n == 0)
		return 0;   /* (memcpy's pointers may not be NULL, even for 0 bytes) */
	if (gp.n + n > gp.cap) {
		unsigned cap = gp.cap ? gp.cap : 32;
		while (cap < gp.n + n)
			cap *= 2;
		struct gpuprocs_item *v = realloc(gp.v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		gp.v = v;
		gp.cap = cap;
	}
	memcpy(gp.v + gp.n, items, n * sizeof *items);
	gp.n += n;
	return 0;
}

static void publish(void)
{
	atomic_store(&gp.count, gp.n);
}

/* ---- NVML --------------------------------------------------------------- */

/* NVML's list of one device as items (start times read now). */
static unsigned nvml_items(const struct nvml_proc *np, int n, int dev, uint64_t now,
                           struct gpuprocs_item *out)
{
	unsigned k = 0;
	for (int i = 0; i < n; i++) {
		struct gpuprocs_item *it = &out[k];
		memset(it, 0, sizeof *it);
		it->pid = (int32_t)np[i].pid;
		it->start_ticks = GPUPROCS_START_UNKNOWN;
		if (gp.procfd >= 0) {
			int rc = procgpu_start_ticks(gp.procfd, it->pid, &it->start_ticks);
			if (rc == -ESRCH)
				continue;   /* gone since NVML listed it */
			if (rc < 0)
				it->start_ticks = GPUPROCS_START_UNKNOWN;
		}
		it->source = GPUPROCS_NVML;
		it->nvml_index = dev;
		snprintf(it->driver, sizeof it->driver, "nvidia");
		it->have_mem = np[i].used_bytes != NVML_PROC_MEM_UNKNOWN;
		it->mem_bytes = it->have_mem ? np[i].used_bytes : 0;
		it->updated_ns = now;
		it->ttl_ns = gp.nvml.ttl_ns;
		k++;
	}
	return k;
}

int gpuprocs_refresh_nvml(struct nvml *nv, unsigned ndev, uint64_t skip, uint64_t now_mono_ns,
                          int *counts)
{
	struct nvml_proc *np = malloc(NVML_PROCS_MAX * sizeof *np);
	struct gpuprocs_item *items = malloc(NVML_PROCS_MAX * sizeof *items);
	unsigned ok = 0, asked = 0, total = 0;
	writer_tick(&gp.nvml, now_mono_ns);
	for (unsigned i = 0; i < ndev; i++) {
		bool skipped = i < 64 && (skip >> i) & 1u;
		int n = skipped ? -EAGAIN : np && items ? nvml_processes(nv, i, np, NVML_PROCS_MAX)
		                                        : -ENOMEM;
		asked += !skipped;
		if (counts)
			counts[i] = n < 0 ? -1 : n;
		if (n < 0)
			continue;   /* skipped, lost or failing: its entries expire */
		int dev = (int)i;
		unsigned k = nvml_items(np, n, dev, now_mono_ns, items);
		pthread_mutex_lock(&gp.lock);
		drop_if(is_nvml_dev, &dev);
		append(items, k);
		drop_if(is_expired, &now_mono_ns);
		publish();
		pthread_mutex_unlock(&gp.lock);
		ok++;
		total += (unsigned)n;
	}
	free(np);
	free(items);
	return ok || !asked ? (int)total : -EIO;
}

/* ---- DRM fdinfo ----------------------------------------------------------- */

static void drm_open(uint64_t now)
{
	if (gp.reader || now < gp.drm_retry_ns || gp.procfd < 0)
		return;
	gp.drm_retry_ns = now + DRM_RETRY_NS;
	if (procgpu_open(&gp.env, &gp.reader) < 0) {
		gp.reader = NULL;
		return;
	}
	pthread_mutex_lock(&gp.lock);
	snprintf(gp.drivers, sizeof gp.drivers, "%s", procgpu_drivers(gp.reader));
	pthread_mutex_unlock(&gp.lock);
	log_info("per-process GPU use: DRM fdinfo of tracked processes (%s)",
	         procgpu_drivers(gp.reader));
}

/* One process's reading replaces what DRM said of it before. */
static void drm_put(const struct proc_info *in, const struct procgpu_usage *u, uint64_t now)
{
	struct gpuprocs_item items[PROCGPU_DEVS_MAX];
	unsigned k = 0;
	for (unsigned d = 0; d < u->ndev; d++) {
		const struct procgpu_dev *pd = &u->dev[d];
		if (!pd->have_mem && !pd->have_busy)
			continue;
		struct gpuprocs_item *it = &items[k++];
		memset(it, 0, sizeof *it);
		it->pid = in->pid;
		it->start_ticks = in->start_ticks;
		it->source = GPUPROCS_DRM;
		it->nvml_index = -1;
		memcpy(it->dev, pd->id, sizeof it->dev);
		memcpy(it->driver, pd->driver, sizeof it->driver);
		it->mem_bytes = pd->mem_bytes;
		it->busy_pct = pd->busy_pct;
		it->have_mem = pd->have_mem;
		it->have_busy = pd->have_busy;
		it->updated_ns = now;
		it->ttl_ns = gp.drm.ttl_ns;
	}
	pthread_mutex_lock(&gp.lock);
	drop_if(is_drm_pid, &in->pid);
	append(items, k);
	publish();
	pthread_mutex_unlock(&gp.lock);
}

void gpuprocs_drm_tick(const struct proctab *pt, const int32_t *pids, unsigned n,
                       uint64_t now_mono_ns)
{
	if (now_mono_ns < gp.drm_next_ns)
		return;
	gp.drm_next_ns = now_mono_ns + DRM_EVERY_NS;
	drm_open(now_mono_ns);
	if (!gp.reader)
		return;
	writer_tick(&gp.drm, now_mono_ns);
	/* Listing a new process's fds is the costly part, and a build starts
	 * hundreds of tracked processes a second that live less than one and
	 * touch no GPU: a process is read from its second second on. */
	double young = (double)clock_rt_ns() / 1e9 - DRM_MIN_AGE_S;
	for (unsigned i = 0; i < n; i++) {
		const struct proc_info *in = proctab_find(pt, pids[i]);
		struct procgpu_usage u;
		if (!in || in->kthread || in->state == 'Z' || in->state == 'X' ||
		    in->start_time > young)
			continue;
		if (procgpu_read(gp.reader, in->pid, in->start_ticks, now_mono_ns, &u) < 0)
			u.ndev = 0;   /* gone or not ours to read: no reading */
		drm_put(in, &u, now_mono_ns);
	}
	procgpu_sweep(gp.reader);
	pthread_mutex_lock(&gp.lock);
	drop_if(is_expired, &now_mono_ns);
	publish();
	pthread_mutex_unlock(&gp.lock);
}

void gpuprocs_drm_drivers(char *buf, size_t len)
{
	pthread_mutex_lock(&gp.lock);
	snprintf(buf, len, "%s", gp.drivers);
	pthread_mutex_unlock(&gp.lock);
}

/* ---- readers ---------------------------------------------------------------- */

bool gpuprocs_lookup(int32_t pid, uint64_t start_ticks, uint64_t now_mono_ns,
                     struct gpuprocs_usage *out)
{
	memset(out, 0, sizeof *out);
	if (atomic_load(&gp.count) == 0)
		return false;
	pthread_mutex_lock(&gp.lock);
	for (unsigned i = 0; i < gp.n; i++) {
		const struct gpuprocs_item *it = &gp.v[i];
		if (it->pid != pid || !live(it, now_mono_ns) ||
		    (it->start_ticks != start_ticks && it->start_ticks != GPUPROCS_START_UNKNOWN))
			continue;
		out->gpus++;
		if (it->have_mem) {
			out->mem_bytes = it->mem_bytes > UINT64_MAX - out->mem_bytes ?
			                 UINT64_MAX : out->mem_bytes + it->mem_bytes;
			out->have_mem = true;
		}
		if (it->have_busy && (!out->have_busy || it->busy_pct > out->busy_pct)) {
			out->busy_pct = it->busy_pct;
			out->have_busy = true;
		}
	}
	pthread_mutex_unlock(&gp.lock);
	return out->gpus > 0;
}

void gpuprocs_fill_record(struct rm_rec *r, int32_t pid, uint64_t start_ticks)
{
	struct gpuprocs_usage u;
	if (atomic_load(&gp.count) == 0 || !gpuprocs_lookup(pid, start_ticks, clock_mono_ns(), &u))
		return;
	if (u.have_mem)
		rec_set(r, RM_PROC_GPU_MEM, (double)u.mem_bytes);
	if (u.have_busy)
		rec_set(r, RM_PROC_GPU_BUSY, u.busy_pct);
}

unsigned gpuprocs_items(struct gpuprocs_item **out, uint64_t now_mono_ns)
{
	*out = NULL;
	if (atomic_load(&gp.count) == 0)
		return 0;
	pthread_mutex_lock(&gp.lock);
	unsigned k = 0;
	*out = malloc((gp.n ? gp.n : 1) * sizeof **out);
	for (unsigned i = 0; *out && i < gp.n; i++)
		if (live(&gp.v[i], now_mono_ns))
			(*out)[k++] = gp.v[i];
	pthread_mutex_unlock(&gp.lock);
	return k;
}

/* ---- life ------------------------------------------------------------------- */

void gpuprocs_init(const struct collect_env *env)
{
	gpuprocs_shutdown();
	gp.env = *env;
	gp.procfd = env->procfd;
}

void gpuprocs_shutdown(void)
{
	procgpu_close(gp.reader);
	gp.reader = NULL;
	pthread_mutex_lock(&gp.lock);
	free(gp.v);
	gp.v = NULL;
	gp.n = gp.cap = 0;
	gp.drivers[0] = '\0';
	publish();
	pthread_mutex_unlock(&gp.lock);
	gp.procfd = -1;
	memset(&gp.nvml, 0, sizeof gp.nvml);
	memset(&gp.drm, 0, sizeof gp.drm);
	gp.drm_next_ns = gp.drm_retry_ns = 0;
}
