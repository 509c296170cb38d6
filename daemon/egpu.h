/*
 * The eGPU link thread: the PCIe link of every GPU (any vendor), the
 * Thunderbolt/USB4 routers and the configured vendor stats files, sampled
 * on its own clock grid (1 s by default).  It is the single writer of the
 * egpu and event lanes.  Nothing here runs on the host sampler's thread:
 * sysfs link attributes take a runtime-PM reference and a vendor stats
 * file may live on a slow debugfs.  docs/egpu.md says what is read.
 *
 * Each GPU gets an index for the daemon's lifetime, keyed by its PCI
 * address and, when it sits behind a Thunderbolt router, the router's
 * unique_id (a re-plugged enclosure gets its old index back, even at a new
 * address).  GPUs present at start are numbered in PCI address order.
 */
#ifndef RMON_EGPU_H
#define RMON_EGPU_H

#include <stdint.h>

#include "kvstats.h"
#include "ring.h"

#define EGPU_MAX 32
#define EGPU_PCI_MAX 16          /* "0000:05:00.0" */
#define EGPU_EXTRA_MAX 16        /* unknown stats keys kept per link */
#define EGPU_ROUTERS_MAX 32      /* Thunderbolt device routers listed */

struct egpu;

/* A vendor stats file and the GPU it describes: a PCI address
 * ("0000:05:00.0"), or an index (gpu_pci "" and gpu_index >= 0). */
struct egpu_stats_spec {
	const char *path;
	const char *gpu_pci;
	int gpu_index;
};

struct egpu_opts {
	int sysfd;                    /* the sysfs root */
	uint64_t interval_ns;
	const struct egpu_stats_spec *files;
	unsigned nfiles;
};

struct egpu_stats {
	uint64_t interval_ns;
	uint64_t ticks, missed, last_tick_ns, tick_wall_ns;
	uint64_t events;              /* written to the event lane so far */
	unsigned gpus;                /* indices given so far */
	unsigned connected;           /* GPUs present now */
	unsigned routers;             /* Thunderbolt device routers now (egpu_get_routers) */
	int pci_bus;                  /* bus/pci/devices could be listed */
	int tb_bus;                   /* bus/thunderbolt exists */
};

/* What status shows about one link besides its record. */
struct egpu_link_info {
	unsigned index;
	int connected;
	char name[64];                /* the record's label: enclosure, else vendor and ids */
	char pci[EGPU_PCI_MAX];
	unsigned vendor, device;      /* PCI ids */
	char router[32];              /* "0-1", or "" when none is tied to it */
	char tb_reason[16];           /* "removable", "tb-switch", or "" */
	int suspended;                /* runtime-suspended: link not read */
	char stats_path[256];         /* "" without a stats file */
	int stats_error;              /* 0, or the errno of the last read */
	unsigned stats_malformed;
	unsigned nextra;
	struct kvstats_extra extra[EGPU_EXTRA_MAX];
};

/* A Thunderbolt/USB4 device router, with or without a GPU behind it.
 * Unknown numbers are -1 (authorized, generation, lanes, gpu) or a
 * negative rate. */
struct egpu_router_info {
	char id[32];                  /* "0-1" */
	char name[64];                /* vendor_name device_name */
	int authorized, generation;
	double rx_gbps, tx_gbps;      /* per-lane speed x lanes */
	int rx_lanes, tx_lanes;
	int gpu;                      /* the egpu index tied to it, or -1 */
};

/* Takes a baseline sample (no records, no events): the indices of the
 * GPUs present now, and primed rates.  0 or -ENOMEM. */
int egpu_open(struct egpu **out, const struct egpu_opts *o);
/* GPUs seen at open (to size the egpu lane). */
unsigned egpu_count(const struct egpu *e);
int egpu_start(struct egpu *e, struct ring *ring, void (*on_tick)(void *), void *arg);
void egpu_stop(struct egpu *e);
/* Reload: a new interval (the thread re-aligns its grid at once) and new
 * vendor stats files (taken up between two ticks; their rates restart). */
void egpu_set_interval(struct egpu *e, uint64_t interval_ns);
int egpu_set_stats_files(struct egpu *e, const struct egpu_stats_spec *files, unsigned nfiles);
void egpu_close(struct egpu *e);
void egpu_get_stats(struct egpu *e, struct egpu_stats *out);
/* The links as of the last tick, by index: how many were written to out. */
unsigned egpu_get_links(struct egpu *e, struct egpu_link_info *out, unsigned max);
/* The device routers as of the last tick, in id order. */
unsigned egpu_get_routers(struct egpu *e, struct egpu_router_info *out, unsigned max);

#endif
