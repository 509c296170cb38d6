/*
 * The eGPU link thread (see egpu.h and docs/egpu.md).
 *
 * One tick: list the Thunderbolt routers and the GPUs on the PCI bus,
 * match each GPU to its index (slot), read its link, tie it to a router
 * where the PCI tree allows, read the stats files, then write events
 * (unplug before plug, so a query reads them in the order they happened)
 * and one egpu record per present GPU.
 */
#include "egpu.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "linux/sys_pcie.h"
#include "linux/sys_thunderbolt.h"
#include "log.h"
#include "schema.h"
#include "vstats.h"

/* Idle GPUs downtrain their link and train it up again under load, so a
 * degraded/restored event waits until the new state has held this many
 * ticks; the record's `degraded` field is the raw reading. */
#define DEGRADED_HOLD 3

enum ev_code { EV_LINK_UP = 1, EV_LINK_DOWN, EV_DISCONNECTED, EV_RECONNECTED, EV_DEGRADED,
	       EV_RESTORED };

enum { AER_COR, AER_NONFATAL, AER_FATAL, AER_N };

_Static_assert(EGPU_PCI_MAX == PCIE_BDF_MAX, "a slot's address is copied from the bus list");
_Static_assert(EGPU_ROUTERS_MAX >= TB_DEVICES_MAX, "every listed router is published");
_Static_assert(sizeof(((struct egpu_link_info *)0)->name) == RM_LABEL_MAX, "names are labels");

/* One GPU index. */
struct slot {
	bool used, present, claimed;
	char bdf[EGPU_PCI_MAX];
	unsigned vendor, device;
	char uid[TB_NAME_MAX];          /* its router's unique_id, once one was tied */
	char router[TB_ID_MAX];         /* the router tied to it this tick, or "" */
	char prev_router[TB_ID_MAX];    /* ... and last tick */
	char name[RM_LABEL_MAX];
	struct pcie_link link;
	bool aer_has[AER_N];
	uint64_t aer[AER_N], aer_mono;
	double aer_ps[AER_N];
	bool aer_ps_has[AER_N];
	int deg_reported;               /* -1: nothing reported since it appeared */
	int deg_pending;
	unsigned deg_count;
	int file;                       /* its stats file this tick (into files), or -1 */
};

/* A vendor stats file and the GPU it describes. */
struct stats_file {
	struct vstats_file v;
	char pci[EGPU_PCI_MAX];         /* by address, or "" */
	int index;                      /* by index */
};

struct egpu {
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;           /* guards stop, stats and info */
	pthread_cond_t cond;
	bool stop;
	bool regrid;                   /* interval_ns changed (reload): re-align the grid */
	struct egpu_stats stats;
	struct egpu_link_info info[EGPU_MAX];
	struct egpu_router_info routers[EGPU_ROUTERS_MAX];

	int sysfd;
	uint64_t interval_ns;
	unsigned at_open;
	struct ring *ring;
	int lane, event_lane;
	void (*on_tick)(void *);
	void *on_tick_arg;

	struct slot slot[EGPU_MAX];
	unsigned nslots;
	struct pcie_gpu_list gpus[2];   /* this tick's and the last */
	struct tb_list tb[2];
	unsigned cur;                   /* which of the pairs is this tick's */
	bool have_tb_prev, warned_full, warned_list;
	struct stats_file *files;
	unsigned nfiles;
	struct stats_file *new_files;   /* (lock) egpu_set_stats_files's, for the next tick */
	unsigned new_nfiles;
	bool have_new_files;
	char buf[VSTATS_FILE_MAX];
	uint64_t events;
	unsigned tick_events;           /* written this tick */
};

/* A label or event text; cut to fit (RM_LABEL_MAX). */
static void textf(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void textf(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
}

static const char *vendor_name(unsigned id)
{
	switch (id) {
	case 0x10de: return "NVIDIA";
	case 0x1002: return "AMD";
	case 0x8086: return "Intel";
	case 0x1a03: return "ASPEED";
	case 0x1af4: return "virtio";
	default: return "PCI";
	}
}

/* ---- events ---------------------------------------------------------------- */

static void event(struct egpu *e, bool emit, uint64_t rt, enum ev_code code, int index,
		  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void event(struct egpu *e, bool emit, uint64_t rt, enum ev_code code, int index,
		  const char *fmt, ...)
{
	char text[RM_LABEL_MAX];
	va_list ap;
	if (!emit)
		return;   /* the baseline sample: nothing has happened yet */
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	bool bad = code == EV_LINK_DOWN || code == EV_DISCONNECTED || code == EV_DEGRADED;
	log_msg(bad ? LOG_LVL_WARN : LOG_LVL_INFO, 0, "egpu: %s", text);
	if (e->event_lane < 0)
		return;
	/* Events of one tick are 1 ns apart, in the order they happened, so
	 * that a table of the lane (one row per timestamp) shows them all. */
	struct rm_rec r;
	rec_init(&r, rt + e->tick_events++, "");
	rec_set_label(&r, text, strlen(text));
	rec_set(&r, RM_EVENT_CODE, code);
	if (index >= 0)
		rec_set(&r, RM_EVENT_INDEX, index);
	ring_push(e->ring, (unsigned)e->event_lane, &r);
	e->events++;
}

/* ---- matching GPUs to indices and routers ---------------------------------- */

static bool uid_compatible(const char *a, const char *b)
{
	return !a[0] || !b[0] || strcmp(a, b) == 0;
}

/* The index of the GPU at bdf whose router (if any) has unique_id uid:
 * the same device still present; else an absent one with that router (a
 * re-plugged enclosure, perhaps at a new address); else an absent one at
 * that address; else a new index.  -1 when all are taken. */
static int find_slot(struct egpu *e, const char *bdf, const char *uid)
{
	for (unsigned i = 0; i < e->nslots; i++) {
		const struct slot *s = &e->slot[i];
		if (s->present && !s->claimed && strcmp(s->bdf, bdf) == 0 && uid_compatible(s->uid, uid))
			return (int)i;
	}
	for (unsigned i = 0; uid[0] && i < e->nslots; i++) {
		const struct slot *s = &e->slot[i];
		if (!s->present && !s->claimed && strcmp(s->uid, uid) == 0)
			return (int)i;
	}
	for (unsigned i = 0; i < e->nslots; i++) {
		const struct slot *s = &e->slot[i];
		if (!s->present && !s->claimed && strcmp(s->bdf, bdf) == 0 && uid_compatible(s->uid, uid))
			return (int)i;
	}
	if (e->nslots == EGPU_MAX)
		return -1;
	struct slot *s = &e->slot[e->nslots];
	memset(s, 0, sizeof *s);
	s->deg_reported = -1;
	s->file = -1;
	return (int)e->nslots++;
}

static unsigned router_domain(const char *id)
{
	return (unsigned)strtoul(id, NULL, 10);
}

/* The authorized router the GPU's tunnel goes through, when the PCI tree
 * leaves one candidate (or the candidates include the one it had). */
static const struct tb_device *tie_router(const struct pcie_link *l, const struct tb_list *tb,
					  const char *had_uid)
{
	const struct tb_device *one = NULL;
	unsigned n = 0;
	if (!(l->has & PCIE_HAS_TB) || !l->behind_tb)
		return NULL;
	for (unsigned i = 0; i < tb->n; i++) {
		const struct tb_device *d = &tb->dev[i];
		unsigned dom = router_domain(d->id);
		if (dom >= 32 || !(l->tb_domains & (1u << dom)))
			continue;
		if ((d->has & TB_HAS_AUTHORIZED) && d->authorized == 0)
			continue;   /* no PCIe tunnel through it */
		if (had_uid[0] && strcmp(d->unique_id, had_uid) == 0)
			return d;
		one = d;
		n++;
	}
	return n == 1 ? one : NULL;
}

/* "Razer Core X Chroma": the router's DROM names (one may be absent). */
static void router_name(const struct tb_device *d, char *dst, size_t cap)
{
	bool v = d->has & TB_HAS_VENDOR_NAME, n = d->has & TB_HAS_DEVICE_NAME;
	textf(dst, cap, "%s%s%s", v ? d->vendor_name : "", v && n ? " " : "", n ? d->device_name : "");
}

/* The enclosure's name when a router is tied to the GPU, else its vendor
 * and PCI ids (sysfs has no model names).  A GPU that was in an enclosure
 * keeps its name while no router is tied to it (the router may show up a
 * tick after the GPU, or be ambiguous among several). */
static void slot_name(struct slot *s, const struct tb_device *r)
{
	if (r)
		router_name(r, s->name, sizeof s->name);
	else if (!s->uid[0] || !s->name[0])
		textf(s->name, sizeof s->name, "%s %04x:%04x", vendor_name(s->vendor), s->vendor,
		      s->device);
}

/* ---- rates ------------------------------------------------------------------- */

static void aer_update(struct slot *s, uint64_t mono)
{
	static const unsigned bit[AER_N] = { PCIE_HAS_AER_COR, PCIE_HAS_AER_NONFATAL,
					     PCIE_HAS_AER_FATAL };
	const uint64_t now[AER_N] = { s->link.aer_cor, s->link.aer_nonfatal, s->link.aer_fatal };
	double dt = (double)(mono - s->aer_mono) / 1e9;
	for (int k = 0; k < AER_N; k++) {
		bool has = s->link.has & bit[k];
		/* a counter that went back (re-enumerated) re-baselines */
		s->aer_ps_has[k] = has && s->aer_has[k] && now[k] >= s->aer[k] && dt > 0;
		if (s->aer_ps_has[k])
			s->aer_ps[k] = (double)(now[k] - s->aer[k]) / dt;
		s->aer_has[k] = has;
		s->aer[k] = now[k];
	}
	s->aer_mono = mono;
}

/* Where the link leaves the degraded reading: an event once a new state
 * has held DEGRADED_HOLD ticks (a GPU first seen healthy makes none). */
static void degraded_update(struct egpu *e, struct slot *s, unsigned idx, bool emit, uint64_t rt)
{
	const struct pcie_link *l = &s->link;
	if (!(l->has & PCIE_HAS_DEGRADED)) {
		s->deg_count = 0;
		return;
	}
	if (l->degraded == s->deg_reported) {
		s->deg_count = 0;
		return;
	}
	if (s->deg_count == 0 || l->degraded != s->deg_pending) {
		s->deg_pending = l->degraded;
		s->deg_count = 0;
	}
	if (++s->deg_count < DEGRADED_HOLD)
		return;
	if (l->degraded)
		event(e, emit, rt, EV_DEGRADED, (int)idx, "egpu %u degraded: gen%u x%u of gen%u x%u", idx,
		      l->cur_gen, l->cur_width, l->max_gen, l->max_width);
	else if (s->deg_reported == 1)
		event(e, emit, rt, EV_RESTORED, (int)idx, "egpu %u restored: gen%u x%u", idx,
		      l->cur_gen, l->cur_width);
	s->deg_reported = l->degraded;
	s->deg_count = 0;
}

/* ---- vendor stats files ------------------------------------------------------ */

static int file_target(const struct egpu *e, const struct stats_file *f)
{
	for (unsigned i = 0; i < e->nslots; i++) {
		const struct slot *s = &e->slot[i];
		if (s->present && (f->pci[0] ? strcmp(s->bdf, f->pci) == 0 : (int)i == f->index))
			return (int)i;
	}
	return -1;
}

/* Each file whose GPU is present this tick. */
static void files_read(struct egpu *e)
{
	for (unsigned i = 0; i < e->nfiles; i++) {
		struct stats_file *f = &e->files[i];
		int slot = file_target(e, f);
		if (slot < 0) {
			vstats_skip(&f->v);
			continue;
		}
		e->slot[slot].file = (int)i;
		vstats_read(&f->v, e->buf, sizeof e->buf);
	}
}

/* ---- records ------------------------------------------------------------------ */

static void fill_link(struct rm_rec *r, const struct pcie_link *l)
{
	if ((l->has & PCIE_HAS_CUR_SPEED) && l->cur_gen)
		rec_set(r, RM_EGPU_LINK_GEN, l->cur_gen);
	if (l->has & PCIE_HAS_CUR_SPEED)
		rec_set(r, RM_EGPU_LINK_GTS, l->cur_gts);
	if ((l->has & PCIE_HAS_MAX_SPEED) && l->max_gen)
		rec_set(r, RM_EGPU_LINK_GEN_MAX, l->max_gen);
	if (l->has & PCIE_HAS_MAX_SPEED)
		rec_set(r, RM_EGPU_LINK_GTS_MAX, l->max_gts);
	if (l->has & PCIE_HAS_CUR_WIDTH)
		rec_set(r, RM_EGPU_LINK_WIDTH, l->cur_width);
	if (l->has & PCIE_HAS_MAX_WIDTH)
		rec_set(r, RM_EGPU_LINK_WIDTH_MAX, l->max_width);
	if (l->has & PCIE_HAS_DEGRADED)
		rec_set(r, RM_EGPU_DEGRADED, l->degraded);
	if (l->has & PCIE_HAS_AER_COR)
		rec_set(r, RM_EGPU_AER_COR, (double)l->aer_cor);
	if (l->has & PCIE_HAS_AER_NONFATAL)
		rec_set(r, RM_EGPU_AER_NONFATAL, (double)l->aer_nonfatal);
	if (l->has & PCIE_HAS_AER_FATAL)
		rec_set(r, RM_EGPU_AER_FATAL, (double)l->aer_fatal);
}

static void fill_tb(struct rm_rec *r, const struct tb_device *d)
{
	double g;
	if (d->has & TB_HAS_GENERATION)
		rec_set(r, RM_EGPU_TB_GEN, d->generation);
	if (d->has & TB_HAS_AUTHORIZED)
		rec_set(r, RM_EGPU_TB_AUTHORIZED, d->authorized);
	if (tb_link_gbps(d, 0, &g) == 0)
		rec_set(r, RM_EGPU_TB_RX_GBPS, g);
	if (tb_link_gbps(d, 1, &g) == 0)
		rec_set(r, RM_EGPU_TB_TX_GBPS, g);
	if (d->has & TB_HAS_RX_LANES)
		rec_set(r, RM_EGPU_TB_LANES, d->rx_lanes);
}

static void push_record(struct egpu *e, unsigned idx, uint64_t rt)
{
	const struct slot *s = &e->slot[idx];
	struct rm_rec r;
	char key[16];
	if (e->lane < 0)
		return;
	snprintf(key, sizeof key, "%u", idx);
	rec_init(&r, rt, key);
	rec_set_label(&r, s->name, strlen(s->name));
	rec_set(&r, RM_EGPU_INDEX, idx);
	rec_set(&r, RM_EGPU_CONNECTED, s->present);
	if (s->link.has & PCIE_HAS_TB)
		rec_set(&r, RM_EGPU_BEHIND_TB, s->link.behind_tb);
	if (s->present) {
		static const int aer_ps[AER_N] = { RM_EGPU_AER_COR_PS, RM_EGPU_AER_NONFATAL_PS,
						   RM_EGPU_AER_FATAL_PS };
		fill_link(&r, &s->link);
		for (int k = 0; k < AER_N; k++)
			if (s->aer_ps_has[k])
				rec_set(&r, aer_ps[k], s->aer_ps[k]);
		const struct tb_device *d = s->router[0] ? tb_list_find(&e->tb[e->cur], s->router) : NULL;
		if (d)
			fill_tb(&r, d);
		if (s->file >= 0)
			vstats_fill(&e->files[s->file].v, &r);
	}
	ring_push(e->ring, (unsigned)e->lane, &r);
}

/* ---- the tick ------------------------------------------------------------------- */

/* Match this tick's GPUs to indices and read their links.  Fills back[]
 * with the indices that came back (reconnected). */
static unsigned match_gpus(struct egpu *e, const struct pcie_gpu_list *gl, const struct tb_list *tb,
			   uint64_t mono, unsigned *back)
{
	unsigned nback = 0;
	for (unsigned i = 0; i < gl->n; i++) {
		const struct pcie_gpu *g = &gl->gpu[i];
		struct pcie_link link;
		char path[64];
		snprintf(path, sizeof path, "bus/pci/devices/%s", g->bdf);
		if (pcie_read(e->sysfd, path, &link) < 0)
			continue;   /* vanished since the listing */
		const char *had = "";
		for (unsigned j = 0; j < e->nslots; j++)
			if (e->slot[j].present && strcmp(e->slot[j].bdf, g->bdf) == 0)
				had = e->slot[j].uid;
		const struct tb_device *r = tie_router(&link, tb, had);
		int idx = find_slot(e, g->bdf, r && (r->has & TB_HAS_UNIQUE_ID) ? r->unique_id : "");
		if (idx < 0) {
			if (!e->warned_full)
				log_warnx("egpu: more than %d GPUs; %s and later ones are not sampled",
					  EGPU_MAX, g->bdf);
			e->warned_full = true;
			continue;
		}
		struct slot *s = &e->slot[idx];
		if (!s->used)
			log_info("egpu %d: %04x:%04x at %s%s", idx, g->vendor, g->device, g->bdf,
				 link.behind_tb ? ", behind Thunderbolt/USB4" : "");
		else if (!s->present) {
			back[nback++] = (unsigned)idx;
			memset(s->aer_has, 0, sizeof s->aer_has);   /* counters restart on re-plug */
			s->deg_reported = -1;
			s->deg_count = 0;
		}
		s->used = s->present = s->claimed = true;
		memcpy(s->bdf, g->bdf, sizeof s->bdf);   /* same size, NUL-terminated */
		s->vendor = g->vendor;
		s->device = g->device;
		s->link = link;
		memcpy(s->router, r ? r->id : "", r ? sizeof s->router : 1);
		if (r && (r->has & TB_HAS_UNIQUE_ID))
			memcpy(s->uid, r->unique_id, sizeof s->uid);
		slot_name(s, r);
		aer_update(s, mono);
	}
	return nback;
}

static int slot_of_router(const struct egpu *e, const struct tb_device *d, bool prev)
{
	for (unsigned i = 0; i < e->nslots; i++) {
		const struct slot *s = &e->slot[i];
		if (strcmp(prev ? s->prev_router : s->router, d->id) == 0 &&
		    (!(d->has & TB_HAS_UNIQUE_ID) || uid_compatible(s->uid, d->unique_id)))
			return (int)i;
	}
	return -1;
}

static void link_events(struct egpu *e, bool emit, uint64_t rt, const struct tb_list *prev,
			const struct tb_list *cur, bool up)
{
	struct tb_diff df;
	if (!e->have_tb_prev)
		return;
	tb_list_diff(prev, cur, &df);
	char name[RM_LABEL_MAX];
	for (unsigned i = 0; !up && i < df.ndisappeared; i++) {
		const struct tb_device *d = &prev->dev[df.disappeared[i]];
		router_name(d, name, sizeof name);
		event(e, emit, rt, EV_LINK_DOWN, slot_of_router(e, d, true), "link down: %s (%s)", name,
		      d->id);
	}
	for (unsigned i = 0; up && i < df.nappeared; i++) {
		const struct tb_device *d = &cur->dev[df.appeared[i]];
		double g = 0;
		char rate[32] = "";
		if (tb_link_gbps(d, 0, &g) == 0)
			textf(rate, sizeof rate, ", %.0f Gb/s", g);
		router_name(d, name, sizeof name);
		event(e, emit, rt, EV_LINK_UP, slot_of_router(e, d, false), "link up: %s (%s)%s", name,
		      d->id, rate);
	}
}

static void publish(struct egpu *e, uint64_t t0, uint64_t rt, int pci_rc, int tb_rc);

static void egpu_sample(struct egpu *e, bool emit)
{
	uint64_t t0 = clock_mono_ns(), rt = clock_rt_ns();
	unsigned prev = e->cur, cur = e->cur ^ 1u, back[EGPU_MAX];
	const struct pcie_gpu_list *gprev = &e->gpus[prev];
	struct pcie_gpu_list *gl = &e->gpus[cur];
	struct tb_list *tb = &e->tb[cur];

	e->tick_events = 0;
	int tb_rc = tb_list_read(e->sysfd, tb);
	int pci_rc = pcie_gpus_read(e->sysfd, gprev->nnames ? gprev : NULL, gl);
	/* A listing that failed (not "no such bus": EMFILE, ENOMEM) says
	 * nothing about what is plugged in: keep the last one rather than
	 * report every GPU or router gone. */
	bool tb_failed = tb_rc < 0 && tb_rc != -ENOENT, pci_failed = pci_rc < 0 && pci_rc != -ENOENT;
	if (tb_failed)
		*tb = e->tb[prev];
	if (pci_failed)
		*gl = *gprev;
	if ((tb_failed || pci_failed) && !e->warned_list)
		log_warnx("egpu: cannot list %s: %s (keeping the last listing)",
			  pci_failed ? "bus/pci/devices" : "bus/thunderbolt/devices",
			  strerror(pci_failed ? -pci_rc : -tb_rc));
	e->warned_list = tb_failed || pci_failed;
	if (gl->truncated && !e->warned_full)
		log_warnx("egpu: more than %d GPUs on the bus; the rest are not sampled", PCIE_GPUS_MAX);
	e->warned_full = e->warned_full || gl->truncated;
	e->cur = cur;
	for (unsigned i = 0; i < e->nslots; i++) {
		struct slot *s = &e->slot[i];
		s->claimed = false;
		s->file = -1;
		memcpy(s->prev_router, s->router, sizeof s->router);
	}
	unsigned nback = match_gpus(e, gl, tb, t0, back);
	bool gone[EGPU_MAX] = { false };
	for (unsigned i = 0; i < e->nslots; i++) {
		struct slot *s = &e->slot[i];
		if (s->present && !s->claimed) {
			gone[i] = true;
			s->present = false;
			s->router[0] = '\0';
		}
	}
	files_read(e);

	link_events(e, emit, rt, &e->tb[prev], tb, false);
	for (unsigned i = 0; i < e->nslots; i++)
		if (gone[i])
			event(e, emit, rt, EV_DISCONNECTED, (int)i, "egpu %u disconnected: %s", i,
			      e->slot[i].name);
	link_events(e, emit, rt, &e->tb[prev], tb, true);
	for (unsigned i = 0; i < nback; i++)
		event(e, emit, rt, EV_RECONNECTED, (int)back[i], "egpu %u reconnected: %s", back[i],
		      e->slot[back[i]].name);
	for (unsigned i = 0; i < e->nslots; i++)
		if (e->slot[i].present)
			degraded_update(e, &e->slot[i], i, emit, rt);
	e->have_tb_prev = true;

	/* one record per present GPU, and a last one (connected 0) for each
	 * that just went away */
	for (unsigned i = 0; emit && i < e->nslots; i++)
		if (e->slot[i].present || gone[i])
			push_record(e, i, rt);
	publish(e, t0, rt, pci_rc, tb_rc);
}

static void link_info(const struct egpu *e, unsigned i, struct egpu_link_info *o)
{
	const struct slot *s = &e->slot[i];
	memset(o, 0, sizeof *o);
	o->index = i;
	o->connected = s->present;
	/* whole arrays, NUL-terminated in the slot (snprintf from a field of
	 * e into o trips gcc's -Wrestrict under the sanitizers) */
	_Static_assert(sizeof o->pci == sizeof s->bdf, "pci sizes");
	_Static_assert(sizeof o->router == sizeof s->router, "router sizes");
	memcpy(o->name, s->name, sizeof o->name);
	memcpy(o->pci, s->bdf, sizeof o->pci);
	o->vendor = s->vendor;
	o->device = s->device;
	memcpy(o->router, s->router, sizeof o->router);
	if (s->link.behind_tb)
		snprintf(o->tb_reason, sizeof o->tb_reason, "%s",
			 s->link.tb_reason == PCIE_TB_REMOVABLE ? "removable" : "tb-switch");
	o->suspended = s->link.suspended;
	for (unsigned j = 0; j < e->nfiles; j++) {
		const struct stats_file *f = &e->files[j];
		if (f->pci[0] ? strcmp(f->pci, s->bdf) != 0 : f->index != (int)i)
			continue;
		snprintf(o->stats_path, sizeof o->stats_path, "%s", f->v.path);
		o->stats_error = !s->present ? ENODEV : f->v.read ? 0 : -f->v.error;
		if (s->present && f->v.read) {
			o->stats_malformed = f->v.cur.malformed;
			o->nextra = f->v.cur.nextra < EGPU_EXTRA_MAX ? f->v.cur.nextra : EGPU_EXTRA_MAX;
			memcpy(o->extra, f->v.cur.extra, o->nextra * sizeof o->extra[0]);
		}
	}
}

static void router_info(const struct egpu *e, const struct tb_device *d, struct egpu_router_info *o)
{
	double g;
	memset(o, 0, sizeof *o);
	snprintf(o->id, sizeof o->id, "%s", d->id);
	router_name(d, o->name, sizeof o->name);
	o->authorized = (d->has & TB_HAS_AUTHORIZED) ? (int)d->authorized : -1;
	o->generation = (d->has & TB_HAS_GENERATION) ? (int)d->generation : -1;
	o->rx_gbps = tb_link_gbps(d, 0, &g) == 0 ? g : -1;
	o->tx_gbps = tb_link_gbps(d, 1, &g) == 0 ? g : -1;
	o->rx_lanes = (d->has & TB_HAS_RX_LANES) ? (int)d->rx_lanes : -1;
	o->tx_lanes = (d->has & TB_HAS_TX_LANES) ? (int)d->tx_lanes : -1;
	o->gpu = slot_of_router(e, d, false);
}

static void publish(struct egpu *e, uint64_t t0, uint64_t rt, int pci_rc, int tb_rc)
{
	unsigned connected = 0;
	const struct tb_list *tb = &e->tb[e->cur];
	pthread_mutex_lock(&e->lock);
	for (unsigned i = 0; i < e->nslots; i++) {
		link_info(e, i, &e->info[i]);
		connected += e->slot[i].present;
	}
	for (unsigned i = 0; i < tb->n; i++)
		router_info(e, &tb->dev[i], &e->routers[i]);
	e->stats.gpus = e->nslots;
	e->stats.connected = connected;
	e->stats.routers = e->tb[e->cur].n;
	e->stats.pci_bus = pci_rc == 0;
	e->stats.tb_bus = tb_rc == 0;
	e->stats.events = e->events;
	e->stats.last_tick_ns = rt + (e->tick_events ? e->tick_events - 1 : 0);
	e->stats.tick_wall_ns = clock_mono_ns() - t0;
	pthread_mutex_unlock(&e->lock);
}

/* ---- the thread ------------------------------------------------------------------ */

static void egpu_tick(struct egpu *e)
{
	egpu_sample(e, true);
	pthread_mutex_lock(&e->lock);
	e->stats.ticks++;
	pthread_mutex_unlock(&e->lock);
	if (e->on_tick)
		e->on_tick(e->on_tick_arg);
}

/* The first deadline of the grid for interval iv after now. */
static uint64_t grid_start(uint64_t iv)
{
	return (clock_mono_ns() / iv + 1) * iv + iv / 100 * 27;
}

/* Sleep until *next, a stop request or a new interval (then *iv and *next
 * move to the new grid and the wait goes on).  True when stopping. */
static bool wait_until(struct egpu *e, uint64_t *next, uint64_t *iv)
{
	struct timespec ts = { (time_t)(*next / 1000000000u), (long)(*next % 1000000000u) };
	pthread_mutex_lock(&e->lock);
	for (;;) {
		while (!e->stop && !e->regrid &&
		       pthread_cond_timedwait(&e->cond, &e->lock, &ts) != ETIMEDOUT)
			;
		if (e->stop || !e->regrid)
			break;
		e->regrid = false;
		*iv = e->interval_ns;
		*next = grid_start(*iv);
		ts = (struct timespec){ (time_t)(*next / 1000000000u), (long)(*next % 1000000000u) };
	}
	bool stop = e->stop;
	pthread_mutex_unlock(&e->lock);
	return stop;
}

/* Between ticks, the thread adopts the files a reload gave (only it reads
 * e->files, so the old array is freed here, never under a reader). */
static void take_new_files(struct egpu *e)
{
	struct stats_file *old = NULL;
	pthread_mutex_lock(&e->lock);
	if (e->have_new_files) {
		old = e->files;
		e->files = e->new_files;
		e->nfiles = e->new_nfiles;
		e->new_files = NULL;
		e->have_new_files = false;
	}
	pthread_mutex_unlock(&e->lock);
	free(old);
}

static void *egpu_main(void *arg)
{
	struct egpu *e = arg;
	/* Off the host sampler's and the GPU thread's grids (multiples of
	 * their intervals, and those plus half): see gpu.c. */
	uint64_t iv = e->interval_ns, next = grid_start(iv);
	while (!wait_until(e, &next, &iv)) {
		take_new_files(e);
		egpu_tick(e);
		next += iv;
		uint64_t now = clock_mono_ns();
		if (now >= next) {   /* a slow sysfs or stats file: count the ticks it cost */
			uint64_t skipped = (now - next) / iv + 1;
			pthread_mutex_lock(&e->lock);
			e->stats.missed += skipped;
			pthread_mutex_unlock(&e->lock);
			next += skipped * iv;
		}
	}
	return NULL;
}

/* The stats files of specs[0..n), or NULL (n == 0, or out of memory). */
static struct stats_file *files_new(const struct egpu_stats_spec *specs, unsigned n)
{
	struct stats_file *files = n ? calloc(n, sizeof *files) : NULL;
	for (unsigned i = 0; files && i < n; i++) {
		struct stats_file *f = &files[i];
		vstats_init(&f->v, specs[i].path);
		snprintf(f->pci, sizeof f->pci, "%s", specs[i].gpu_pci ? specs[i].gpu_pci : "");
		f->index = specs[i].gpu_index;
	}
	return files;
}

int egpu_set_stats_files(struct egpu *e, const struct egpu_stats_spec *files, unsigned nfiles)
{
	struct stats_file *nf = files_new(files, nfiles), *old;
	if (nfiles && !nf)
		return -ENOMEM;
	pthread_mutex_lock(&e->lock);
	old = e->new_files;
	e->new_files = nf;
	e->new_nfiles = nfiles;
	e->have_new_files = true;
	pthread_mutex_unlock(&e->lock);
	free(old);
	if (!e->started)
		take_new_files(e);
	return 0;
}

void egpu_set_interval(struct egpu *e, uint64_t interval_ns)
{
	pthread_mutex_lock(&e->lock);
	if (e->interval_ns != interval_ns) {
		e->interval_ns = interval_ns;
		e->stats.interval_ns = interval_ns;
		e->regrid = true;
		pthread_cond_signal(&e->cond);
	}
	pthread_mutex_unlock(&e->lock);
}

int egpu_open(struct egpu **out, const struct egpu_opts *o)
{
	struct egpu *e = calloc(1, sizeof *e);
	if (!e)
		return -ENOMEM;
	e->files = files_new(o->files, o->nfiles);
	if (o->nfiles && !e->files) {
		free(e);
		return -ENOMEM;
	}
	e->nfiles = o->nfiles;
	e->sysfd = o->sysfd;
	e->interval_ns = o->interval_ns;
	e->stats.interval_ns = o->interval_ns;
	e->lane = e->event_lane = -1;
	pthread_mutex_init(&e->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->cond, &ca);
	pthread_condattr_destroy(&ca);
	/* the baseline: GPUs present now get 0..n-1 in PCI address order (the
	 * bus list is sorted), and rates have a first reading */
	egpu_sample(e, false);
	e->at_open = e->nslots;
	*out = e;
	return 0;
}

unsigned egpu_count(const struct egpu *e)
{
	return e ? e->at_open : 0;
}

int egpu_start(struct egpu *e, struct ring *ring, void (*on_tick)(void *), void *arg)
{
	e->ring = ring;
	e->lane = ring_lane(ring, RM_KIND_EGPU);
	e->event_lane = ring_lane(ring, RM_KIND_EVENT);
	e->on_tick = on_tick;
	e->on_tick_arg = arg;
	int rc = pthread_create(&e->thread, NULL, egpu_main, e);
	if (rc)
		return -rc;
	pthread_setname_np(e->thread, "rmond-egpu");   /* top -H, ps -L, perf */
	e->started = true;
	return 0;
}

void egpu_stop(struct egpu *e)
{
	if (!e || !e->started)
		return;
	pthread_mutex_lock(&e->lock);
	e->stop = true;
	pthread_cond_signal(&e->cond);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->thread, NULL);
	e->started = false;
}

void egpu_close(struct egpu *e)
{
	if (!e)
		return;
	egpu_stop(e);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->cond);
	free(e->files);
	free(e->new_files);
	free(e);
}

void egpu_get_stats(struct egpu *e, struct egpu_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	*out = e->stats;
	pthread_mutex_unlock(&e->lock);
}

unsigned egpu_get_routers(struct egpu *e, struct egpu_router_info *out, unsigned max)
{
	unsigned n = 0;
	if (!e)
		return 0;
	pthread_mutex_lock(&e->lock);
	for (; n < e->stats.routers && n < max; n++)
		out[n] = e->routers[n];
	pthread_mutex_unlock(&e->lock);
	return n;
}

unsigned egpu_get_links(struct egpu *e, struct egpu_link_info *out, unsigned max)
{
	unsigned n = 0;
	if (!e)
		return 0;
	pthread_mutex_lock(&e->lock);
	for (; n < e->stats.gpus && n < max; n++)
		out[n] = e->info[n];
	pthread_mutex_unlock(&e->lock);
	return n;
}
