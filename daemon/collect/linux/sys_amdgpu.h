/*
 * AMD GPUs through the amdgpu driver's sysfs (SOURCES.md §5.1): every
 * class/drm/cardN whose device/driver is amdgpu (connectors such as
 * card0-DP-1 are not cards), read relative to a sysfs root dirfd (/sys, or
 * a fixture tree in tests).
 *
 * Per card, every tick: gpu_busy_percent, mem_busy_percent,
 * mem_info_{vram,gtt}_used, the hwmon's temp1_input (edge, m°C) and
 * power1_average or else power1_input (µW), and the current level ("*")
 * of pp_dpm_sclk and pp_dpm_mclk.  With AMDGPU_SAMPLE_SLOW (once a
 * second): the PCIe link, pcie_replay_count and power1_cap, which take a
 * runtime-PM reference or query the SMU and change rarely.  Read once at
 * open: the name (product_name, else the PCI ids), unique_id, the PCI
 * address, mem_info_{vram,gtt}_total, temp1_crit.  Every per-tick file is
 * a kept fd re-read with pread (SOURCES.md §0.1: 70-88 % cheaper than
 * open/read/close on sysfs attributes).
 *
 * Runtime PM: reading almost any of those attributes wakes a
 * runtime-suspended GPU (nvtop #267).  power/runtime_status is read first
 * each tick, and a "suspended" card is reported as sleeping with nothing
 * else touched.
 *
 * The link: an AMD discrete GPU sits behind its own PCIe switch, so the
 * GPU function's link attributes describe that internal link, not the
 * slot (SOURCES.md §5.1).  The link read is the topmost AMD (vendor
 * 0x1002) device on the path up from the GPU, which for a card with a
 * switch is the switch's upstream port.
 *
 * A card is a slot with a stable index: a card that goes away (its device
 * directory is gone or was replaced) is closed and reported gone, and
 * takes its slot back when a rescan finds its PCI address again.  Nothing
 * here logs: the GPU thread logs state changes.  A missing or unparsable
 * attribute is absent (its AMDGPU_HAS_* bit clear), never zero.
 *
 * Threading: one struct amdgpu belongs to one thread (the GPU thread).
 */
#ifndef RMON_SYS_AMDGPU_H
#define RMON_SYS_AMDGPU_H

#include <stddef.h>
#include <stdint.h>

#define AMDGPU_MAX 32            /* cards kept (slots); more are ignored */
#define AMDGPU_NAME_LEN 64
#define AMDGPU_ID_LEN 40
#define AMDGPU_PCI_LEN 32

enum amdgpu_has {
	AMDGPU_HAS_BUSY       = 1u << 0,
	AMDGPU_HAS_MEM_BUSY   = 1u << 1,
	AMDGPU_HAS_VRAM_USED  = 1u << 2,
	AMDGPU_HAS_VRAM_TOTAL = 1u << 3,
	AMDGPU_HAS_GTT_USED   = 1u << 4,
	AMDGPU_HAS_GTT_TOTAL  = 1u << 5,
	AMDGPU_HAS_TEMP       = 1u << 6,
	AMDGPU_HAS_POWER      = 1u << 7,
	AMDGPU_HAS_POWER_CAP  = 1u << 8,
	AMDGPU_HAS_SCLK       = 1u << 9,
	AMDGPU_HAS_MCLK       = 1u << 10,
	AMDGPU_HAS_LINK_GEN   = 1u << 11,
	AMDGPU_HAS_LINK_WIDTH = 1u << 12,
	AMDGPU_HAS_LINK_GEN_MAX   = 1u << 13,
	AMDGPU_HAS_LINK_WIDTH_MAX = 1u << 14,
	AMDGPU_HAS_REPLAY     = 1u << 15,
};

/* Flags for amdgpu_sample(). */
#define AMDGPU_SAMPLE_SLOW 0x1u   /* also the link, replay count, power cap */

struct amdgpu_sample {
	unsigned has;                 /* AMDGPU_HAS_* */
	double busy_pct, mem_busy_pct;
	uint64_t vram_used, vram_total, gtt_used, gtt_total;   /* bytes */
	double temp_c;
	double power_w, power_cap_w;
	double sclk_mhz, mclk_mhz;
	unsigned link_gen, link_width, link_gen_max, link_width_max;
	uint64_t replay;              /* pcie_replay_count, cumulative */
};

/* What a card is; fixed while it is open. */
struct amdgpu_info {
	unsigned card;                /* N of class/drm/cardN */
	char name[AMDGPU_NAME_LEN];   /* product_name, else "AMD GPU 1002:744c" */
	char unique_id[AMDGPU_ID_LEN];   /* "" when the card has none */
	char pci[AMDGPU_PCI_LEN];     /* "0000:03:00.0" */
	int has_temp_crit;
	double temp_crit_c;
};

/* amdgpu_sample() results besides -errno. */
enum amdgpu_state {
	AMDGPU_ACTIVE = 0,            /* sampled */
	AMDGPU_SLEEPING = 1,          /* runtime-suspended: not touched */
};

struct amdgpu;

/* ---- pure parsers ----------------------------------------------------- */

/* pp_dpm_sclk/mclk ("0: 500Mhz \n1: 2420Mhz *\n", "S: 19Mhz *"): the MHz of
 * the first level marked '*'.  0, or -ENODATA when no level is marked,
 * -EINVAL when that line has no number. */
int amdgpu_parse_dpm(const char *buf, size_t len, double *mhz);

/* A decimal attribute ("42\n"): 0 or -EINVAL. */
int amdgpu_parse_u64(const char *buf, size_t len, uint64_t *v);

/* power/runtime_status: 1 when "suspended" (or "suspending"), else 0. */
int amdgpu_parse_suspended(const char *buf, size_t len);

/* ---- the cards -------------------------------------------------------- */

/* Find every amdgpu card under sysfd (which must stay open until
 * amdgpu_close).  0 and *out, even with no card (amdgpu_count() is then 0);
 * -ENOMEM. */
int amdgpu_open(int sysfd, struct amdgpu **out);
void amdgpu_close(struct amdgpu *a);

/* Slots so far: cards found at open and since, gone ones included.  Slot
 * numbers never change. */
unsigned amdgpu_count(const struct amdgpu *a);

/* Look for cards again: a gone card whose PCI address is back takes its
 * slot again, a new one gets the next slot.  Returns the slot count. */
unsigned amdgpu_rescan(struct amdgpu *a);

/* Slot i's identity, or NULL for a bad index.  Valid until the next
 * rescan or close. */
const struct amdgpu_info *amdgpu_info(const struct amdgpu *a, unsigned i);

/* Sample slot i.  AMDGPU_ACTIVE (fields that failed are absent from
 * out->has), AMDGPU_SLEEPING (out->has is 0), -ENODEV when the card is gone
 * (closed; amdgpu_rescan brings it back), -EINVAL for a bad index. */
int amdgpu_sample(struct amdgpu *a, unsigned i, unsigned flags, struct amdgpu_sample *out);

#endif
