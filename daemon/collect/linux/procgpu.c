/*
 * Per-process GPU use from DRM fdinfo (procgpu.h): find a process's
 * /dev/dri files, read their fdinfo (drm_fdinfo.c parses it), count each
 * DRM client once, and turn two readings into engine busy shares.
 *
 * Clients.  A client is one struct drm_file, named by (drm-pdev,
 * drm-client-id); dup'ed fds and fds inherited across fork show the same
 * one, so within a process it is counted once.  (A client shared by two
 * processes is shown in both: the kernel does not say whose it is.)  A
 * driver without drm-client-id gets one client per fd.
 *
 * Rates.  Per client and engine, Δbusy / Δwall (or Δcycles / Δtotal
 * cycles), divided by the engine's capacity; a process's engine is the sum
 * of its clients', its device's busy share the busiest engine.  An engine
 * with a counter that went back has no rate this time (and keeps the
 * larger value as its baseline); a client seen for the first time gives
 * none either.
 */
#include "procgpu.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "drm_fdinfo.h"
#include "linux.h"
#include "proctab_linux.h"
#include "readfile.h"

#define RELIST_NS (5ull * 1000000000ull)
#define RELIST_COST_X 100   /* a listing that took t waits 100 t: 1 % of a core */
#define FDS_MAX 32          /* DRM fds kept per process */
#define CLIENTS_MAX 16      /* DRM clients per process */

struct client {
	char pdev[DRM_PDEV_MAX];
	char driver[DRM_DRIVER_MAX];
	uint64_t id;            /* drm-client-id, or the fd number when by_fd */
	bool by_fd;
	bool have_mem;
	uint64_t mem;
	struct drm_engine eng[DRM_ENGINES_MAX];
	unsigned neng;
};

struct pproc {
	int32_t pid;
	uint64_t start;
	uint32_t gen;           /* the sweep round that last read it */
	uint64_t listed_ns;     /* last fd listing; 0: never */
	uint64_t relist_ns;     /* the next one is due this long after it */
	int fds[FDS_MAX];
	char node[FDS_MAX][16]; /* their /dev/dri name: "renderD128", "card0" */
	unsigned nfds;
	struct client *cl;      /* the last reading's clients, for rates */
	unsigned ncl;
	uint64_t read_ns;       /* when they were read; 0: never */
};

/* Engine accumulator of one device while a reading is summed. */
struct acc {
	char name[DRM_NAME_MAX];
	double sum;
	unsigned nrate;
	bool back;              /* a counter went back: no rate */
};

struct procgpu {
	int procfd, sysfd;
	char drivers[64];
	struct pproc *p;
	unsigned n, cap;
	uint32_t gen;
	struct readfile_buf buf;
	struct drm_fdinfo fi;                   /* scratch */
	struct client cur[CLIENTS_MAX];         /* scratch: this reading */
	struct acc acc[PROCGPU_DEVS_MAX][DRM_ENGINES_MAX];
	struct procgpu_stats stats;
};

/* ---- which GPUs ------------------------------------------------------- */

/* The driver of render node `name`: the basename of its device/driver
 * link.  NVIDIA's driver ("nvidia") exports no usage stats. */
static void add_render_node(struct procgpu *pg, const char *name)
{
	char path[300], link[256];
	snprintf(path, sizeof path, "class/drm/%s/device/driver", name);
	ssize_t n = readlinkat(pg->sysfd, path, link, sizeof link - 1);
	if (n <= 0)
		return;
	link[n] = '\0';
	const char *drv = strrchr(link, '/');
	drv = drv ? drv + 1 : link;
	if (!*drv || strcmp(drv, "nvidia") == 0 || strstr(pg->drivers, drv))
		return;
	size_t len = strlen(pg->drivers);
	snprintf(pg->drivers + len, sizeof pg->drivers - len, "%s%s", len ? "," : "", drv);
}

static int find_gpus(struct procgpu *pg)
{
	DIR *d = linux_opendir_at(pg->sysfd, "class/drm");
	if (!d)
		return -ENOENT;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "renderD", 7) == 0)
			add_render_node(pg, de->d_name);
	closedir(d);
	return pg->drivers[0] ? 0 : -ENOENT;
}

int procgpu_open(const struct collect_env *env, struct procgpu **out)
{
	struct procgpu *pg = calloc(1, sizeof *pg);
	if (!pg)
		return -ENOMEM;
	pg->procfd = env->procfd;
	pg->sysfd = env->sysfd;
	int rc = find_gpus(pg);
	if (rc == 0)
		rc = readfile_buf_init(&pg->buf, 4096, 1 << 16);
	if (rc < 0) {
		free(pg);
		return rc;
	}
	*out = pg;
	return 0;
}

void procgpu_close(struct procgpu *pg)
{
	if (!pg)
		return;
	for (unsigned i = 0; i < pg->n; i++)
		free(pg->p[i].cl);
	free(pg->p);
	readfile_buf_free(&pg->buf);
	free(pg);
}

const char *procgpu_drivers(const struct procgpu *pg)
{
	return pg->drivers;
}

void procgpu_get_stats(const struct procgpu *pg, struct procgpu_stats *out)
{
	*out = pg->stats;
}

/* ---- the processes ---------------------------------------------------- */

static void pproc_reset(struct pproc *pp, int32_t pid, uint64_t start)
{
	free(pp->cl);
	memset(pp, 0, sizeof *pp);
	pp->pid = pid;
	pp->start = start;
}

/* The entry of (pid, start); a reused pid starts afresh. */
static struct pproc *pproc_get(struct procgpu *pg, int32_t pid, uint64_t start)
{
	for (unsigned i = 0; i < pg->n; i++)
		if (pg->p[i].pid == pid) {
			if (pg->p[i].start != start)
				pproc_reset(&pg->p[i], pid, start);
			return &pg->p[i];
		}
	if (pg->n == pg->cap) {
		unsigned cap = pg->cap ? pg->cap * 2 : 32;
		struct pproc *np = realloc(pg->p, cap * sizeof *np);
		if (!np)
			return NULL;
		pg->p = np;
		pg->cap = cap;
	}
	struct pproc *pp = &pg->p[pg->n++];
	pp->cl = NULL;
	pproc_reset(pp, pid, start);
	return pp;
}

void procgpu_sweep(struct procgpu *pg)
{
	unsigned k = 0;
	for (unsigned i = 0; i < pg->n; i++) {
		if (pg->p[i].gen == pg->gen)
			pg->p[k++] = pg->p[i];
		else
			free(pg->p[i].cl);
	}
	pg->n = k;
	pg->gen++;
}

/* List /proc/PID/fd and keep the fds that are DRM files.  A readlink per
 * fd: tens of microseconds for a few fds, 100 ms for 10000 here, so a
 * process with many fds is listed less often (RELIST_COST_X). */
static int list_fds(struct procgpu *pg, struct pproc *pp, uint64_t now)
{
	char path[32], link[64];
	uint64_t t0 = clock_mono_ns();
	pp->listed_ns = now ? now : 1;
	pp->relist_ns = RELIST_NS;
	pp->nfds = 0;
	pg->stats.listings++;
	snprintf(path, sizeof path, "%d/fd", (int)pp->pid);
	DIR *d = linux_opendir_at(pg->procfd, path);
	if (!d)
		return errno == ENOENT ? -ESRCH : -errno;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long n = strtol(de->d_name, &end, 10);
		if (*end || end == de->d_name || n < 0 || n > INT32_MAX)
			continue;
		ssize_t len = readlinkat(dirfd(d), de->d_name, link, sizeof link - 1);
		if (len < 9 || memcmp(link, "/dev/dri/", 9) != 0 || pp->nfds == FDS_MAX)
			continue;
		size_t nl = (size_t)len - 9;   /* "renderD128"; a longer name: unknown */
		if (nl >= sizeof pp->node[0])
			nl = 0;
		memcpy(pp->node[pp->nfds], link + 9, nl);
		pp->node[pp->nfds][nl] = '\0';
		pp->fds[pp->nfds++] = (int)n;
	}
	closedir(d);
	uint64_t cost = (clock_mono_ns() - t0) * RELIST_COST_X;
	pp->relist_ns = cost > RELIST_NS ? cost : RELIST_NS;
	return 0;
}

static struct client *client_find(struct client *v, unsigned n, const struct client *key)
{
	for (unsigned i = 0; i < n; i++)
		if (v[i].by_fd == key->by_fd && v[i].id == key->id &&
		    strcmp(v[i].pdev, key->pdev) == 0)
			return &v[i];
	return NULL;
}

/* The parsed fdinfo of fd as a client, unless one like it is there. */
static void client_add(struct procgpu *pg, unsigned *ncur, int fd)
{
	const struct drm_fdinfo *f = &pg->fi;
	struct client c;
	memset(&c, 0, sizeof c);
	memcpy(c.pdev, f->pdev, sizeof c.pdev);
	memcpy(c.driver, f->driver, sizeof c.driver);
	c.by_fd = !(f->have & DRM_HAVE_CLIENT_ID);
	c.id = c.by_fd ? (uint64_t)fd : f->client_id;
	c.have_mem = drm_fdinfo_mem(f, &c.mem);
	c.neng = f->neng;
	memcpy(c.eng, f->eng, f->neng * sizeof *f->eng);
	if ((!c.have_mem && !c.neng) || *ncur == CLIENTS_MAX || client_find(pg->cur, *ncur, &c))
		return;   /* no usage stats, too many, or counted already */
	pg->cur[(*ncur)++] = c;
}

/* Is the GPU behind /dev/dri/<node> runtime-suspended?  Reading fdinfo
 * can wake it (xe takes a runtime-PM reference to read its engine
 * clock), and a process whose GPU sleeps is not using it: its fds are
 * skipped.  runtime_status itself is a software field; reading it wakes
 * nothing.  No file (no runtime PM, a fixture): awake. */
static bool asleep(struct procgpu *pg, const char *node)
{
	char dev[96];
	if (!node[0] || strchr(node, '/') || strstr(node, ".."))
		return false;
	snprintf(dev, sizeof dev, "class/drm/%s/device", node);
	return linux_runtime_suspended(pg->sysfd, dev);
}

/* Read the kept fds' fdinfo into pg->cur.  -ESTALE when one of them is
 * gone (closed): list again. */
static int read_clients(struct procgpu *pg, struct pproc *pp, unsigned *ncur)
{
	char path[64];
	int rc = 0;
	*ncur = 0;
	for (unsigned i = 0; i < pp->nfds; i++) {
		if (asleep(pg, pp->node[i])) {
			pg->stats.asleep++;
			continue;
		}
		snprintf(path, sizeof path, "%d/fdinfo/%d", (int)pp->pid, pp->fds[i]);
		int fd = readfile_open(pg->procfd, path);
		if (fd == -EACCES)
			return fd;
		if (fd < 0) {
			rc = -ESTALE;
			continue;
		}
		ssize_t len = readfile_buf_fill(&pg->buf, fd);
		close(fd);
		pg->stats.reads++;
		/* not (or no longer) a DRM file with usage stats: an old kernel
		 * prints none; a reused fd number is seen at the next listing */
		if (len < 0 || drm_fdinfo_parse(pg->buf.p, (size_t)len, &pg->fi) < 0)
			continue;
		pg->stats.malformed += pg->fi.malformed;
		client_add(pg, ncur, pp->fds[i]);
	}
	return rc;
}

/* ---- one reading as usage --------------------------------------------- */

static int dev_slot(struct procgpu_usage *out, const struct client *c)
{
	const char *id = c->pdev[0] ? c->pdev : c->driver;
	for (unsigned i = 0; i < out->ndev; i++)
		if (strcmp(out->dev[i].id, id) == 0)
			return (int)i;
	if (out->ndev == PROCGPU_DEVS_MAX)
		return -1;
	struct procgpu_dev *d = &out->dev[out->ndev];
	snprintf(d->id, sizeof d->id, "%s", id);
	snprintf(d->driver, sizeof d->driver, "%s", c->driver);
	return (int)out->ndev++;
}

static struct acc *acc_get(struct acc *a, const char *name)
{
	for (unsigned i = 0; i < DRM_ENGINES_MAX; i++) {
		if (!a[i].name[0])
			memcpy(a[i].name, name, sizeof a[i].name);
		if (strcmp(a[i].name, name) == 0)
			return &a[i];
	}
	return NULL;
}

/* Each client's engines against its previous reading, summed per device
 * and engine. */
static void add_rates(struct procgpu *pg, const struct pproc *pp, const struct client *c, int dev,
                      uint64_t dt)
{
	const struct client *prev = pp->read_ns ? client_find(pp->cl, pp->ncl, c) : NULL;
	for (unsigned e = 0; e < c->neng; e++) {
		struct acc *a = acc_get(pg->acc[dev], c->eng[e].name);
		const struct drm_engine *pe = NULL;
		for (unsigned j = 0; prev && j < prev->neng && !pe; j++)
			if (strcmp(prev->eng[j].name, c->eng[e].name) == 0)
				pe = &prev->eng[j];
		double pct;
		if (!a || !pe)
			continue;
		if (drm_engine_pct(pe, &c->eng[e], dt, &pct)) {
			a->sum += pct;
			a->nrate++;
		} else {
			a->back = true;   /* went back, or the clock did not move */
		}
	}
}

/* The busiest engine of a device.  An engine whose counter went back
 * leaves the device without a reading: it might have been the busiest. */
static void dev_busy(const struct acc *acc, struct procgpu_dev *d)
{
	for (unsigned e = 0; e < DRM_ENGINES_MAX && acc[e].name[0]; e++)
		if (acc[e].back) {
			d->have_busy = false;
			return;
		}
	for (unsigned e = 0; e < DRM_ENGINES_MAX && acc[e].name[0]; e++) {
		if (!acc[e].nrate)
			continue;
		double pct = acc[e].sum > 100.0 ? 100.0 : acc[e].sum;
		if (!d->have_busy || pct > d->busy_pct)
			d->busy_pct = pct;
		d->have_busy = true;
	}
}

static void summarise(struct procgpu *pg, const struct pproc *pp, unsigned ncur, uint64_t now,
                      struct procgpu_usage *out)
{
	uint64_t dt = now > pp->read_ns ? now - pp->read_ns : 0;
	memset(pg->acc, 0, sizeof pg->acc);
	for (unsigned i = 0; i < ncur; i++) {
		const struct client *c = &pg->cur[i];
		int dev = dev_slot(out, c);
		if (dev < 0)
			continue;
		struct procgpu_dev *d = &out->dev[dev];
		if (c->have_mem) {
			d->mem_bytes = c->mem > UINT64_MAX - d->mem_bytes ? UINT64_MAX
			                                                   : d->mem_bytes + c->mem;
			d->have_mem = true;
		}
		add_rates(pg, pp, c, dev, dt);
	}
	for (unsigned i = 0; i < out->ndev; i++)
		dev_busy(pg->acc[i], &out->dev[i]);
}

/* This reading becomes the baseline, each engine advanced from its
 * previous one (a counter that went back keeps the larger value). */
static void keep_reading(struct procgpu *pg, struct pproc *pp, unsigned ncur, uint64_t now)
{
	struct client *next = ncur ? malloc(ncur * sizeof *next) : NULL;
	if (ncur && !next) {
		ncur = 0;   /* no baseline: the next reading gives no rate */
		now = 0;
	}
	for (unsigned i = 0; i < ncur; i++) {
		next[i] = pg->cur[i];
		const struct client *prev = client_find(pp->cl, pp->ncl, &pg->cur[i]);
		for (unsigned e = 0; prev && e < next[i].neng; e++)
			for (unsigned j = 0; j < prev->neng; j++)
				if (strcmp(prev->eng[j].name, next[i].eng[e].name) == 0) {
					next[i].eng[e] = prev->eng[j];
					drm_engine_advance(&next[i].eng[e], &pg->cur[i].eng[e]);
					break;
				}
	}
	free(pp->cl);
	pp->cl = next;
	pp->ncl = ncur;
	pp->read_ns = now;
}

int procgpu_read(struct procgpu *pg, int32_t pid, uint64_t start_ticks, uint64_t mono_ns,
                 struct procgpu_usage *out)
{
	memset(out, 0, sizeof *out);
	struct pproc *pp = pproc_get(pg, pid, start_ticks);
	if (!pp)
		return -ENOMEM;
	pp->gen = pg->gen;
	bool listed = false;
	if (!pp->listed_ns || mono_ns - pp->listed_ns >= pp->relist_ns) {
		int rc = list_fds(pg, pp, mono_ns);
		if (rc < 0)
			return rc;
		listed = true;
	}
	unsigned ncur;
	int rc = read_clients(pg, pp, &ncur);
	if (rc == -ESTALE && !listed) {
		if ((rc = list_fds(pg, pp, mono_ns)) < 0)
			return rc;
		rc = read_clients(pg, pp, &ncur);
	}
	if (rc < 0 && rc != -ESTALE)
		return rc;
	summarise(pg, pp, ncur, mono_ns, out);
	keep_reading(pg, pp, ncur, mono_ns);
	return 0;
}

/* ---- identity ----------------------------------------------------------- */

int procgpu_start_ticks(int procfd, int32_t pid, uint64_t *start_ticks)
{
	char path[32], buf[2048];
	struct pid_stat s;
	snprintf(path, sizeof path, "%d/stat", (int)pid);
	ssize_t n = readfile_at(procfd, path, buf, sizeof buf);
	if (n < 0)
		return n == -ENOENT ? -ESRCH : (int)n;
	if (proc_pid_parse_stat(buf, (size_t)n, &s) < 0 || s.pid != pid)
		return -EINVAL;
	*start_ticks = s.starttime;
	return 0;
}
