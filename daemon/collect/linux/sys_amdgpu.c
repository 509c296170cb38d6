/*
 * AMD GPUs through amdgpu sysfs: see sys_amdgpu.h.
 */
#include "sys_amdgpu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linux.h"
#include "readfile.h"
#include "sys_pcie.h"

#define AMD_PCI_VENDOR "0x1002"
#define DEV_PATH_MAX 64
#define HWMON_PATH_MAX 96

/* Files kept open per card.  Those before KF__TICK are read every tick,
 * the rest only with AMDGPU_SAMPLE_SLOW. */
enum kf {
	KF_RUNTIME, KF_BUSY, KF_MEM_BUSY, KF_VRAM_USED, KF_GTT_USED, KF_TEMP, KF_POWER,
	KF_SCLK, KF_MCLK, KF__TICK,
	KF_POWER_CAP = KF__TICK, KF_REPLAY, KF_LINK_SPEED, KF_LINK_WIDTH,
	KF_LINK_SPEED_MAX, KF_LINK_WIDTH_MAX, KF__COUNT
};

struct card {
	struct amdgpu_info info;
	int open;                       /* 0: gone (fds closed) */
	char dev[DEV_PATH_MAX];         /* "class/drm/card1/device" */
	dev_t st_dev;                   /* the device directory at open: */
	ino_t st_ino;                   /* another one there is another card */
	int fd[KF__COUNT];              /* -1: absent or not supported */
	unsigned has_static;            /* AMDGPU_HAS_{VRAM,GTT}_TOTAL */
	uint64_t vram_total, gtt_total;
};

struct amdgpu {
	int sysfd;
	unsigned n;
	struct card card[AMDGPU_MAX];
};

/* ---- pure parsers --------------------------------------------------- */

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

int amdgpu_parse_u64(const char *buf, size_t len, uint64_t *v)
{
	const char *end = buf + len;
	uint64_t x;
	const char *q = scan_u64(skip_ws(buf, end), end, &x);
	if (!q || skip_ws(q, end) != end)
		return -EINVAL;
	*v = x;
	return 0;
}

int amdgpu_parse_dpm(const char *buf, size_t len, double *mhz)
{
	const char *p = buf, *end = buf + len, *ls;
	while (p < end) {
		const char *le = scan_line(&p, end, &ls);
		if (!memchr(ls, '*', (size_t)(le - ls)))
			continue;
		/* "N: 1800Mhz *": the level's label, a colon, the clock */
		const char *colon = memchr(ls, ':', (size_t)(le - ls));
		uint64_t v;
		const char *q = colon ? scan_u64(scan_blank(colon + 1, le), le, &v) : NULL;
		if (!q)
			return -EINVAL;
		*mhz = (double)v;
		return 0;
	}
	return -ENODATA;
}

int amdgpu_parse_suspended(const char *buf, size_t len)
{
	const char *end = buf + len, *p = skip_ws(buf, end);
	size_t n = (size_t)(end - p);
	return (n >= 9 && memcmp(p, "suspended", 9) == 0) ||
	       (n >= 10 && memcmp(p, "suspending", 10) == 0);
}

/* ---- opening a card ----------------------------------------------------- */

static ssize_t read_at(int sysfd, const char *dir, const char *name, char *buf, size_t cap)
{
	char p[PCIE_PATH_MAX + 64];
	int n = snprintf(p, sizeof p, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof p)
		return -ENAMETOOLONG;
	return readfile_at(sysfd, p, buf, cap);
}

static int open_at(int sysfd, const char *dir, const char *name)
{
	char p[PCIE_PATH_MAX + 64];
	int n = snprintf(p, sizeof p, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof p)
		return -ENAMETOOLONG;
	return readfile_open(sysfd, p);
}

/* A one-line attribute, trimmed, into dst ("" when absent or empty). */
static void read_text(int sysfd, const char *dir, const char *name, char *dst, size_t cap)
{
	char buf[256];
	ssize_t n = read_at(sysfd, dir, name, buf, sizeof buf);
	dst[0] = '\0';
	if (n < 0)
		return;
	const char *s = skip_ws(buf, buf + n), *e = buf + n;
	while (e > s && (e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	snprintf(dst, cap, "%.*s", (int)(e - s), s);
}

static int read_u64_at(int sysfd, const char *dir, const char *name, uint64_t *v)
{
	char buf[64];
	ssize_t n = read_at(sysfd, dir, name, buf, sizeof buf);
	return n < 0 ? (int)n : amdgpu_parse_u64(buf, (size_t)n, v);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* "0000:03:00.0": a PCI function's directory name. */
static int is_pci_name(const char *b)
{
	static const char pat[] = "xxxx:xx:xx.x";
	if (strlen(b) != sizeof pat - 1)
		return 0;
	for (size_t i = 0; pat[i]; i++) {
		int hex = (b[i] >= '0' && b[i] <= '9') || (b[i] >= 'a' && b[i] <= 'f');
		if (pat[i] == 'x' ? !hex : b[i] != pat[i])
			return 0;
	}
	return 1;
}

/* The device whose link is the card's real one: the topmost AMD device
 * going up from the GPU (its PCIe switch's upstream port), else the GPU
 * itself.  link receives the resolved directory. */
static void link_device(int sysfd, const char *resolved, char *link, size_t cap)
{
	char dir[PCIE_PATH_MAX], vendor[16];
	snprintf(link, cap, "%s", resolved);
	snprintf(dir, sizeof dir, "%s", resolved);
	for (;;) {
		char *s = strrchr(dir, '/');
		if (!s)
			return;
		*s = '\0';
		if (!is_pci_name(base_name(dir)))
			return;
		read_text(sysfd, dir, "vendor", vendor, sizeof vendor);
		if (strcmp(vendor, AMD_PCI_VENDOR) != 0)
			return;
		snprintf(link, cap, "%s", dir);
	}
}

/* Name: product_name (cards with an FRU EEPROM), else the PCI ids. */
static void card_name(int sysfd, struct card *c)
{
	char vendor[16], device[16];
	read_text(sysfd, c->dev, "product_name", c->info.name, sizeof c->info.name);
	if (c->info.name[0])
		return;
	read_text(sysfd, c->dev, "vendor", vendor, sizeof vendor);
	read_text(sysfd, c->dev, "device", device, sizeof device);
	snprintf(c->info.name, sizeof c->info.name, "AMD GPU %s:%s",
	         vendor[0] ? vendor + (strncmp(vendor, "0x", 2) ? 0 : 2) : "?",
	         device[0] ? device + (strncmp(device, "0x", 2) ? 0 : 2) : "?");
}

/* The first hwmonN of the device (amdgpu registers one), into hw. */
static int card_hwmon(int sysfd, const char *dev, char *hw, size_t cap)
{
	char dir[DEV_PATH_MAX + 8];
	unsigned *nums = NULL;
	snprintf(dir, sizeof dir, "%s/hwmon", dev);
	int n = linux_dir_numbers(sysfd, dir, "hwmon", "", &nums);
	if (n <= 0)
		return n < 0 ? n : -ENOENT;
	snprintf(hw, cap, "%s/hwmon%u", dir, nums[0]);
	free(nums);
	return 0;
}

static void card_close(struct card *c)
{
	for (int k = 0; k < KF__COUNT; k++) {
		if (c->fd[k] >= 0)
			close(c->fd[k]);
		c->fd[k] = -1;
	}
	c->open = 0;
}

/* Open the kept files: the device's, the hwmon's, the link device's. */
static void card_open_files(int sysfd, struct card *c, const char *resolved)
{
	static const char *const dev_files[KF__COUNT] = {
		[KF_RUNTIME] = "power/runtime_status", [KF_BUSY] = "gpu_busy_percent", [KF_MEM_BUSY] = "mem_busy_percent",
		[KF_VRAM_USED] = "mem_info_vram_used", [KF_GTT_USED] = "mem_info_gtt_used",
		[KF_SCLK] = "pp_dpm_sclk", [KF_MCLK] = "pp_dpm_mclk",
		[KF_REPLAY] = "pcie_replay_count",
	};
	char hw[HWMON_PATH_MAX], link[PCIE_PATH_MAX];
	for (int k = 0; k < KF__COUNT; k++)
		c->fd[k] = dev_files[k] ? open_at(sysfd, c->dev, dev_files[k]) : -1;
	if (card_hwmon(sysfd, c->dev, hw, sizeof hw) == 0) {
		c->fd[KF_TEMP] = open_at(sysfd, hw, "temp1_input");
		/* newer ASICs have only one of them (SOURCES.md §5.1) */
		c->fd[KF_POWER] = open_at(sysfd, hw, "power1_average");
		if (c->fd[KF_POWER] < 0)
			c->fd[KF_POWER] = open_at(sysfd, hw, "power1_input");
		c->fd[KF_POWER_CAP] = open_at(sysfd, hw, "power1_cap");
		int64_t mc;
		char buf[64];
		ssize_t n = read_at(sysfd, hw, "temp1_crit", buf, sizeof buf);
		if (n > 0 && scan_i64(skip_ws(buf, buf + n), buf + n, &mc)) {
			c->info.has_temp_crit = 1;
			c->info.temp_crit_c = (double)mc / 1000.0;
		}
	}
	link_device(sysfd, resolved, link, sizeof link);
	c->fd[KF_LINK_SPEED] = open_at(sysfd, link, "current_link_speed");
	c->fd[KF_LINK_WIDTH] = open_at(sysfd, link, "current_link_width");
	c->fd[KF_LINK_SPEED_MAX] = open_at(sysfd, link, "max_link_speed");
	c->fd[KF_LINK_WIDTH_MAX] = open_at(sysfd, link, "max_link_width");
	for (int k = 0; k < KF__COUNT; k++)
		if (c->fd[k] < 0)
			c->fd[k] = -1;
}

/* Card N: 0 and c filled and open; -ENODEV when it is not an amdgpu card,
 * -errno when it is not there.  Reads only what needs no wake-up. */
static int card_open(int sysfd, unsigned n, struct card *c)
{
	char drv[PCIE_PATH_MAX], resolved[PCIE_PATH_MAX];
	struct stat st;
	memset(c, 0, sizeof *c);
	for (int k = 0; k < KF__COUNT; k++)
		c->fd[k] = -1;
	c->info.card = n;
	snprintf(c->dev, sizeof c->dev, "class/drm/card%u/device", n);
	snprintf(drv, sizeof drv, "%s/driver", c->dev);
	int rc = pcie_resolve(sysfd, drv, resolved, sizeof resolved);
	if (rc < 0)
		return rc;
	if (strcmp(base_name(resolved), "amdgpu") != 0)
		return -ENODEV;
	if ((rc = pcie_resolve(sysfd, c->dev, resolved, sizeof resolved)) < 0)
		return rc;
	if (fstatat(sysfd, c->dev, &st, 0) < 0)
		return -errno;
	c->st_dev = st.st_dev;
	c->st_ino = st.st_ino;
	snprintf(c->info.pci, sizeof c->info.pci, "%.*s", (int)sizeof c->info.pci - 1,
	         base_name(resolved));
	card_name(sysfd, c);
	read_text(sysfd, c->dev, "unique_id", c->info.unique_id, sizeof c->info.unique_id);
	if (read_u64_at(sysfd, c->dev, "mem_info_vram_total", &c->vram_total) == 0)
		c->has_static |= AMDGPU_HAS_VRAM_TOTAL;
	if (read_u64_at(sysfd, c->dev, "mem_info_gtt_total", &c->gtt_total) == 0)
		c->has_static |= AMDGPU_HAS_GTT_TOTAL;
	card_open_files(sysfd, c, resolved);
	c->open = 1;
	return 0;
}

/* ---- the set of cards ------------------------------------------------- */

int amdgpu_open(int sysfd, struct amdgpu **out)
{
	struct amdgpu *a = calloc(1, sizeof *a);
	if (!a)
		return -ENOMEM;
	a->sysfd = sysfd;
	amdgpu_rescan(a);
	*out = a;
	return 0;
}

void amdgpu_close(struct amdgpu *a)
{
	if (!a)
		return;
	for (unsigned i = 0; i < a->n; i++)
		card_close(&a->card[i]);
	free(a);
}

unsigned amdgpu_count(const struct amdgpu *a)
{
	return a ? a->n : 0;
}

const struct amdgpu_info *amdgpu_info(const struct amdgpu *a, unsigned i)
{
	return a && i < a->n ? &a->card[i].info : NULL;
}

static int card_in_use(const struct amdgpu *a, unsigned n)
{
	for (unsigned i = 0; i < a->n; i++)
		if (a->card[i].open && a->card[i].info.card == n)
			return 1;
	return 0;
}

/* Where a newly opened card goes: the slot of the same PCI address when
 * that one is gone, a new slot, or nowhere (-1). */
static int slot_for(const struct amdgpu *a, const struct card *c)
{
	for (unsigned i = 0; i < a->n; i++)
		if (strcmp(a->card[i].info.pci, c->info.pci) == 0)
			return a->card[i].open ? -1 : (int)i;
	return a->n < AMDGPU_MAX ? (int)a->n : -1;
}

unsigned amdgpu_rescan(struct amdgpu *a)
{
	unsigned *nums = NULL;
	int n = linux_dir_numbers(a->sysfd, "class/drm", "card", "", &nums);
	for (int j = 0; j < n; j++) {
		struct card c;
		if (card_in_use(a, nums[j]) || card_open(a->sysfd, nums[j], &c) < 0)
			continue;
		int slot = slot_for(a, &c);
		if (slot < 0) {
			card_close(&c);
			continue;
		}
		a->card[slot] = c;
		if ((unsigned)slot == a->n)
			a->n++;
	}
	if (n > 0)
		free(nums);
	return a->n;
}

/* ---- sampling --------------------------------------------------------- */

/* One sampling pass over a card: a buffer, and whether a read said the
 * device is gone (ENODEV: the sysfs files of a removed device). */
struct pass {
	struct card *c;
	int gone;
	char buf[4096];   /* pp_dpm_* tables are the longest: a few hundred bytes */
};

/* Kept file k, fresh, into p->buf: its length, or -errno.  A file that
 * says it is not supported is not asked again while the card stays open. */
static ssize_t kf_read(struct pass *p, int k)
{
	struct card *c = p->c;
	if (c->fd[k] < 0)
		return -ENOENT;
	ssize_t n = readfile_pread(c->fd[k], p->buf, sizeof p->buf);
	if (n == -EOPNOTSUPP) {
		close(c->fd[k]);
		c->fd[k] = -1;
	}
	if (n == -ENODEV)
		p->gone = 1;
	return n;
}

static int kf_u64(struct pass *p, int k, uint64_t *v)
{
	ssize_t n = kf_read(p, k);
	return n < 0 ? (int)n : amdgpu_parse_u64(p->buf, (size_t)n, v);
}

static int kf_dpm(struct pass *p, int k, double *mhz)
{
	ssize_t n = kf_read(p, k);
	return n < 0 ? (int)n : amdgpu_parse_dpm(p->buf, (size_t)n, mhz);
}

static int kf_temp(struct pass *p, double *c)
{
	ssize_t n = kf_read(p, KF_TEMP);
	return n < 0 ? (int)n : sys_thermal_parse_temp(p->buf, (size_t)n, c);
}

/* A link speed as a generation: one the table does not know is absent. */
static int kf_gen(struct pass *p, int k, unsigned *gen)
{
	double gts;
	ssize_t n = kf_read(p, k);
	if (n < 0 || pcie_parse_speed(p->buf, (size_t)n, &gts, gen) < 0)
		return -EINVAL;
	return *gen ? 0 : -EINVAL;
}

static int kf_width(struct pass *p, int k, unsigned *w)
{
	ssize_t n = kf_read(p, k);
	return n < 0 ? (int)n : pcie_parse_width(p->buf, (size_t)n, w);
}

/* Still the card that was opened: its device directory is there and is
 * the same one (a re-plugged card is a new directory). */
static int card_present(int sysfd, const struct card *c)
{
	struct stat st;
	return fstatat(sysfd, c->dev, &st, 0) == 0 && st.st_dev == c->st_dev &&
	       st.st_ino == c->st_ino;
}

/* Runtime-suspended: reading anything else would wake it.  A card
 * without runtime PM (no runtime_status) is always awake. */
static int card_sleeping(struct pass *p)
{
	ssize_t n = kf_read(p, KF_RUNTIME);
	return n >= 0 && amdgpu_parse_suspended(p->buf, (size_t)n);
}

static void sample_slow(struct pass *p, struct amdgpu_sample *s)
{
	uint64_t v;
	if (kf_u64(p, KF_POWER_CAP, &v) == 0) {
		s->power_cap_w = (double)v / 1e6;
		s->has |= AMDGPU_HAS_POWER_CAP;
	}
	if (kf_u64(p, KF_REPLAY, &s->replay) == 0)
		s->has |= AMDGPU_HAS_REPLAY;
	if (kf_gen(p, KF_LINK_SPEED, &s->link_gen) == 0)
		s->has |= AMDGPU_HAS_LINK_GEN;
	if (kf_width(p, KF_LINK_WIDTH, &s->link_width) == 0)
		s->has |= AMDGPU_HAS_LINK_WIDTH;
	if (kf_gen(p, KF_LINK_SPEED_MAX, &s->link_gen_max) == 0)
		s->has |= AMDGPU_HAS_LINK_GEN_MAX;
	if (kf_width(p, KF_LINK_WIDTH_MAX, &s->link_width_max) == 0)
		s->has |= AMDGPU_HAS_LINK_WIDTH_MAX;
}

/* A percentage attribute: 0..100, else absent. */
static int kf_pct(struct pass *p, int k, double *pct)
{
	uint64_t v;
	if (kf_u64(p, k, &v) < 0 || v > 100)
		return -EINVAL;
	*pct = (double)v;
	return 0;
}

static void sample_tick(struct pass *p, struct amdgpu_sample *s)
{
	uint64_t v;
	/* busy first: on SMU-based cards the reads after it share the
	 * metrics table it fetched */
	if (kf_pct(p, KF_BUSY, &s->busy_pct) == 0)
		s->has |= AMDGPU_HAS_BUSY;
	if (kf_pct(p, KF_MEM_BUSY, &s->mem_busy_pct) == 0)
		s->has |= AMDGPU_HAS_MEM_BUSY;
	if (kf_u64(p, KF_VRAM_USED, &s->vram_used) == 0)
		s->has |= AMDGPU_HAS_VRAM_USED;
	if (kf_u64(p, KF_GTT_USED, &s->gtt_used) == 0)
		s->has |= AMDGPU_HAS_GTT_USED;
	if (kf_temp(p, &s->temp_c) == 0)
		s->has |= AMDGPU_HAS_TEMP;
	if (kf_u64(p, KF_POWER, &v) == 0) {
		s->power_w = (double)v / 1e6;
		s->has |= AMDGPU_HAS_POWER;
	}
	if (kf_dpm(p, KF_SCLK, &s->sclk_mhz) == 0)
		s->has |= AMDGPU_HAS_SCLK;
	if (kf_dpm(p, KF_MCLK, &s->mclk_mhz) == 0)
		s->has |= AMDGPU_HAS_MCLK;
}

int amdgpu_sample(struct amdgpu *a, unsigned i, unsigned flags, struct amdgpu_sample *out)
{
	memset(out, 0, sizeof *out);
	if (!a || i >= a->n)
		return -EINVAL;
	struct pass p = { .c = &a->card[i] };
	if (!p.c->open)
		return -ENODEV;
	if (!card_present(a->sysfd, p.c)) {
		card_close(p.c);
		return -ENODEV;
	}
	int sleeping = card_sleeping(&p);
	if (!sleeping && !p.gone) {
		sample_tick(&p, out);
		if (flags & AMDGPU_SAMPLE_SLOW)
			sample_slow(&p, out);
	}
	if (p.gone) {
		card_close(p.c);
		memset(out, 0, sizeof *out);
		return -ENODEV;
	}
	if (sleeping)
		return AMDGPU_SLEEPING;
	out->vram_total = p.c->vram_total;
	out->gtt_total = p.c->gtt_total;
	out->has |= p.c->has_static;
	return AMDGPU_ACTIVE;
}
