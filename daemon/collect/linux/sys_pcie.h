/*
 * PCIe link health of one PCI device from sysfs (SOURCES.md §6.2-6.4):
 * current/max link speed and width, the "degraded" verdict, the AER
 * totals, and whether the device sits behind a Thunderbolt/USB4 port;
 * plus the list of GPUs (PCI class 0x03) on the bus.
 *
 * Everything is read relative to a sysfs root dirfd (/sys, or a fixture
 * tree in tests).  Pure parsers plus one small reader; nothing logs,
 * nothing allocates.  A missing or unparsable attribute is absent (its
 * PCIE_HAS_* bit clear), never zero.
 */
#ifndef RMON_SYS_PCIE_H
#define RMON_SYS_PCIE_H

#include <stddef.h>
#include <stdint.h>

#define PCIE_PATH_MAX 512

enum pcie_has {
	PCIE_HAS_CUR_SPEED   = 1u << 0,   /* cur_gts (cur_gen may still be 0: unmapped) */
	PCIE_HAS_MAX_SPEED   = 1u << 1,
	PCIE_HAS_CUR_WIDTH   = 1u << 2,
	PCIE_HAS_MAX_WIDTH   = 1u << 3,
	PCIE_HAS_DEGRADED    = 1u << 4,   /* `degraded` is meaningful */
	PCIE_HAS_AER_COR     = 1u << 5,
	PCIE_HAS_AER_NONFATAL = 1u << 6,
	PCIE_HAS_AER_FATAL   = 1u << 7,
	PCIE_HAS_TB          = 1u << 8,   /* behind_tb / tb_reason meaningful */
	PCIE_HAS_PM          = 1u << 9,   /* power/runtime_status read: `suspended` meaningful */
};

/* Why a device is taken to be behind Thunderbolt/USB4.  The kernel's own
 * flag (pci_dev->is_thunderbolt) is not in sysfs, so the walk relies on
 * what is: `removable` (set on everything below an external-facing port
 * since Linux 5.13) and the thunderbolt domains' place in the PCI tree. */
enum pcie_tb_reason {
	PCIE_TB_NONE = 0,
	PCIE_TB_REMOVABLE,        /* the device or an ancestor reads `removable` */
	PCIE_TB_DOMAIN,           /* below the PCIe switch of a discrete controller
	                           * whose NHI hosts a thunderbolt domain */
};

struct pcie_link {
	unsigned has;                 /* PCIE_HAS_* */
	double cur_gts, max_gts;      /* GT/s */
	unsigned cur_gen, max_gen;    /* 1..6, 0 = speed not in the table */
	unsigned cur_width, max_width;
	int degraded;                 /* current speed or width below max */
	uint64_t aer_cor, aer_nonfatal, aer_fatal;   /* TOTAL_ERR_* */
	int suspended;                /* runtime-suspended: current_* not read */
	int behind_tb;
	enum pcie_tb_reason tb_reason;
	unsigned tb_domains;          /* bit N: domainN may carry the tunnel */
	char tb_via[PCIE_PATH_MAX];   /* the ancestor that decided it, or "" */
	char resolved[PCIE_PATH_MAX]; /* canonical path under the root ("devices/...") */
};

/* ---- pure parsers ----------------------------------------------------- */

/* GT/s → PCIe generation (2.5→1, 5→2, 8→3, 16→4, 32→5, 64→6), 0 if none. */
unsigned pcie_gts_to_gen(double gts);

/* "16.0 GT/s PCIe", "8 GT/s", "2.5 GT/s": 0, *gts, *gen (0 if unmapped);
 * -EINVAL for "Unknown", "Unknown speed", empty or junk. */
int pcie_parse_speed(const char *buf, size_t len, double *gts, unsigned *gen);

/* A decimal lane count ("16\n"): 0 and *w, or -EINVAL (0 lanes is invalid). */
int pcie_parse_width(const char *buf, size_t len, unsigned *w);

/* An aer_dev_* file: the count of its TOTAL_ERR_* line (the last token of
 * the line).  0, or -ENODATA when there is no TOTAL_ERR_ line, -EINVAL
 * when that line has no number. */
int pcie_parse_aer_total(const char *buf, size_t len, uint64_t *total);

/* Sets l->degraded (and PCIE_HAS_DEGRADED) from what is present: speed is
 * compared when both speeds are, width when both widths are; unknown when
 * neither pair is.  Returns l->degraded, or -1 when unknown. */
int pcie_link_eval_degraded(struct pcie_link *l);

/* ---- sysfs ------------------------------------------------------------- */

/* Resolve path (relative to the root dirfd, symlinks followed with
 * readlinkat; ".." and absolute "/sys/..." targets kept inside the root)
 * into out ("devices/pci0000:00/.../0000:05:00.0").  0, -ENAMETOOLONG,
 * -ELOOP, -errno. */
int pcie_resolve(int sysfd, const char *path, char *out, size_t cap);

/* Is the device at `resolved` behind Thunderbolt/USB4?  1 yes, 0 no,
 * -EINVAL.  Two sources, in this order:
 *   - `removable` reads "removable" on the device or an ancestor;
 *   - a thunderbolt domain's NHI sits below a downstream port of a PCIe
 *     switch (a discrete TB3 controller) and the device is below another
 *     downstream port of that switch.
 * *reason, via (the deciding directory; may be NULL) and *domains (may be
 * NULL) are filled: bit N of *domains is set for domainN when the walk
 * names the domain (the switch case), else for every domain whose NHI is
 * integrated (on a root bus or directly below a root port), since such a
 * controller's tunnels start at root ports the tree cannot tie to it. */
int pcie_behind_thunderbolt(int sysfd, const char *resolved, enum pcie_tb_reason *reason,
			    char *via, size_t via_cap, unsigned *domains);

/* Read everything above for the device at devpath under sysfd
 * ("bus/pci/devices/0000:05:00.0", "class/drm/card0/device").  A device
 * whose power/runtime_status is "suspended" gets no current_* reads
 * (they would wake it: SOURCES.md §4.3); max_*, AER and the walk do not
 * touch the device.  0 when the device directory exists (attributes may
 * all be absent), -errno when not. */
int pcie_read(int sysfd, const char *devpath, struct pcie_link *out);

/* ---- GPUs on the bus ---------------------------------------------------- */

#define PCIE_GPUS_MAX 32
#define PCIE_BDF_MAX  16   /* "0000:05:00.0" */

struct pcie_gpu {
	char bdf[PCIE_BDF_MAX];
	unsigned vendor, device;      /* PCI ids; 0 when unreadable */
	unsigned class_code;          /* 0x03xxxx */
};

struct pcie_gpu_list {
	unsigned n;
	unsigned truncated;           /* GPUs beyond PCIE_GPUS_MAX */
	unsigned nnames;              /* entries in bus/pci/devices */
	uint64_t names_sig;           /* order-free signature of their names */
	unsigned unread;              /* entries whose class could not be read */
	struct pcie_gpu gpu[PCIE_GPUS_MAX];   /* sorted by address: PCI bus order */
};

/* The GPUs (class 0x03xxxx) listed under bus/pci/devices.  When prev is
 * not NULL and the bus lists the same names as when prev was read, prev
 * is copied and no attribute is read (a present device's class and ids do
 * not change): a tick then costs one readdir.  A list with an entry whose
 * class could not be read (a device still appearing) is never reused.  0 (the list may be empty),
 * or -errno (-ENOENT: no PCI bus), the list then empty. */
int pcie_gpus_read(int sysfd, const struct pcie_gpu_list *prev, struct pcie_gpu_list *out);

#endif
