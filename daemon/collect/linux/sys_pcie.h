/*
 * PCIe link health of one PCI device from sysfs (SOURCES.md §6.2-6.4):
 * current/max link speed and width, the "degraded" verdict, the AER
 * totals, and whether the device sits behind a Thunderbolt/USB4 port.
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
};

/* Why a device is taken to be behind Thunderbolt/USB4. */
enum pcie_tb_reason {
	PCIE_TB_NONE = 0,
	PCIE_TB_IS_THUNDERBOLT,   /* an ancestor bridge has is_thunderbolt = 1 */
	PCIE_TB_DOMAIN,           /* an ancestor is a thunderbolt domain device */
	PCIE_TB_REMOVABLE,        /* the device or an ancestor reads `removable` */
};

struct pcie_link {
	unsigned has;                 /* PCIE_HAS_* */
	double cur_gts, max_gts;      /* GT/s */
	unsigned cur_gen, max_gen;    /* 1..6, 0 = speed not in the table */
	unsigned cur_width, max_width;
	int degraded;                 /* current speed or width below max */
	uint64_t aer_cor, aer_nonfatal, aer_fatal;   /* TOTAL_ERR_* */
	int behind_tb;
	enum pcie_tb_reason tb_reason;
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

/* Walk from the resolved device directory up to the root: 1 behind
 * Thunderbolt/USB4, 0 not, -errno.  *reason and via (the deciding
 * directory, may be NULL) are filled. */
int pcie_behind_thunderbolt(int sysfd, const char *resolved, enum pcie_tb_reason *reason,
			    char *via, size_t via_cap);

/* Read everything above for the device at devpath under sysfd
 * ("bus/pci/devices/0000:05:00.0", "class/drm/card0/device").  0 when the
 * device directory exists (attributes may all be absent), -errno when not. */
int pcie_read(int sysfd, const char *devpath, struct pcie_link *out);

#endif
