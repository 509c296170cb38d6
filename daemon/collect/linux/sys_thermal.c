/*
 * Temperatures: class/thermal/thermal_zoneN/{type,temp} and
 * class/hwmon/hwmonN/{name,tempK_input,tempK_label,tempK_crit}, in m°C.
 *
 * Keys are stable names, not the hwmonN/zoneN numbers (which change
 * between boots): a zone is its sanitized type ("acpitz",
 * "x86_pkg_temp"); an hwmon sensor is "<chip>.<label>" ("coretemp.core_0")
 * or "<chip>.tempK" without a label, or just "<chip>" for a chip with a
 * single unlabelled input.  Chips that share a name (two coretemp
 * packages, two nvme drives) are told apart by their hwmonN/device link
 * ("coretemp_0", "nvme1"); any clash left gets ".2", ".3"... in zone or
 * hwmon order.  The thermal core mirrors every zone as an hwmon chip
 * named after the zone type: such chips are skipped.  Sensors that
 * appear after open (hot-plugged drives) are not picked up.
 *
 * Reading a sensor can do I/O (ACPI _TMP, drives) or wake a device, so
 * sensors are read at most every THERMAL_PERIOD_NS; temp records are
 * emitted when read.  Errors (EAGAIN, ENODATA, EIO...) mean no reading
 * for that sensor.
 *
 * For the cpu records (via the cpuboard, see linux.h): a coretemp "Core N"
 * label is the core with core_id N in its chip's package ("Package id P"),
 * so it goes to every CPU whose topology matches, SMT siblings included;
 * without topology files, Core N is taken to be cpu N.  "Package id P" and
 * the x86_pkg_temp zone are cpu:all's temperature (the hottest package).
 * The cached values are published every tick, so cpu records always
 * carry the latest reading.  The mapping is built at open.
 */
#include "linux.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "readfile.h"

#define THERMAL_PERIOD_NS 1000000000ull
#define THERMAL_TRIPS_MAX 32

struct tsensor {
	char key[RM_KEY_MAX];
	int fd;
	int is_pkg;                 /* a package (cpu:all) temperature */
	int pkg;                    /* package of a Core/Package sensor */
	int core;                   /* N of "Core N", or -1 */
	int has_crit;
	double crit_c;
	int valid;                  /* last read gave a value */
	double temp_c;
};

struct thermal_cpu {
	unsigned cpu;
	unsigned sensor;
};

struct sys_thermal {
	struct tsensor *s;
	unsigned n, cap;
	struct thermal_cpu *cpus;   /* CPU → its core's sensor */
	unsigned ncpus;
	uint64_t last_read;
	int have_read;
};

/* A discovery scan: the zones' keys (sanitized types), for the hwmon
 * dedupe. */
struct thermal_scan {
	int sysfd;
	char (*zone_type)[RM_KEY_MAX];
	unsigned nzones;
};

int sys_thermal_parse_temp(const char *buf, size_t len, double *c)
{
	int64_t mc;
	const char *end = buf + len;
	const char *p = scan_i64(scan_blank(buf, end), end, &mc);
	if (!p || (p < end && *p != '\n' && *p != ' '))
		return -EINVAL;
	*c = (double)mc / 1000.0;
	return 0;
}

size_t sys_thermal_sanitize(char *dst, size_t cap, const char *src, size_t len)
{
	size_t n = 0;
	int gap = 0;
	for (size_t i = 0; i < len && n + 1 < cap; i++) {
		char ch = src[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
		if (!ok) {
			gap = n > 0;
			continue;
		}
		if (gap && n + 2 < cap)
			dst[n++] = '_';
		gap = 0;
		dst[n++] = ch;
	}
	dst[n] = '\0';
	return n;
}

/* A small text attribute, without its trailing newline.  Length or -errno. */
static int thermal_text(int sysfd, const char *path, char *buf, size_t cap)
{
	ssize_t n = readfile_at(sysfd, path, buf, cap);
	if (n < 0)
		return (int)n;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return (int)n;
}

/* A m°C attribute read once (crit trip points), or -errno. */
static int thermal_value(int sysfd, const char *path, double *c)
{
	char buf[32];
	ssize_t n = readfile_at(sysfd, path, buf, sizeof buf);
	if (n < 0)
		return (int)n;
	return sys_thermal_parse_temp(buf, (size_t)n, c);
}

/* dst = a, sep, b, truncated to cap (keys are truncated, not refused). */
static void thermal_join(char *dst, size_t cap, const char *a, char sep, const char *b)
{
	size_t n = strnlen(a, cap - 1);
	memmove(dst, a, n);   /* a may be dst itself */
	if (sep && n + 1 < cap)
		dst[n++] = sep;
	size_t m = strnlen(b, cap - 1 - n);
	memcpy(dst + n, b, m);
	dst[n + m] = '\0';
}

static int thermal_key_taken(const struct sys_thermal *st, const char *key)
{
	for (unsigned i = 0; i < st->n; i++)
		if (strcmp(st->s[i].key, key) == 0)
			return 1;
	return 0;
}

/* A new sensor with a unique key built from base ("acpitz", then
 * "acpitz.2"...); NULL on ENOMEM. */
static struct tsensor *thermal_add(struct sys_thermal *st, const char *base, int fd)
{
	if (st->n == st->cap) {
		unsigned cap = st->cap ? st->cap * 2 : 8;
		struct tsensor *v = realloc(st->s, cap * sizeof *v);
		if (!v)
			return NULL;
		st->s = v;
		st->cap = cap;
	}
	struct tsensor *s = &st->s[st->n];
	memset(s, 0, sizeof *s);
	s->fd = fd;
	s->pkg = s->core = -1;
	thermal_join(s->key, sizeof s->key, base, 0, "");
	for (unsigned dup = 2; thermal_key_taken(st, s->key); dup++) {
		char n[12];
		linux_key_uint(n, dup);
		thermal_join(s->key, sizeof s->key - strlen(n) - 1, base, 0, "");
		thermal_join(s->key, sizeof s->key, s->key, '.', n);
	}
	st->n++;
	return s;
}

/* ---- thermal zones ---------------------------------------------------- */

/* The zone's "critical" trip point, if it has one. */
static void thermal_zone_crit(int sysfd, const char *dir, struct tsensor *s)
{
	char path[160], type[32];
	for (unsigned k = 0; k < THERMAL_TRIPS_MAX; k++) {
		snprintf(path, sizeof path, "%s/trip_point_%u_type", dir, k);
		if (thermal_text(sysfd, path, type, sizeof type) < 0)
			return;
		if (strcmp(type, "critical") != 0)
			continue;
		snprintf(path, sizeof path, "%s/trip_point_%u_temp", dir, k);
		s->has_crit = thermal_value(sysfd, path, &s->crit_c) == 0;
		return;
	}
}

static int thermal_zone(struct sys_thermal *st, struct thermal_scan *sc, unsigned z)
{
	char dir[64], path[160], type[64], key[RM_KEY_MAX];
	snprintf(dir, sizeof dir, "class/thermal/thermal_zone%u", z);
	snprintf(path, sizeof path, "%s/type", dir);
	int n = thermal_text(sc->sysfd, path, type, sizeof type);
	if (n <= 0 || !sys_thermal_sanitize(key, sizeof key, type, (size_t)n))
		return 0;
	memcpy(sc->zone_type[sc->nzones++], key, sizeof key);
	snprintf(path, sizeof path, "%s/temp", dir);
	int fd = readfile_open(sc->sysfd, path);
	if (fd < 0)
		return 0;
	struct tsensor *s = thermal_add(st, key, fd);
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->is_pkg = strcmp(key, "x86_pkg_temp") == 0;
	thermal_zone_crit(sc->sysfd, dir, s);
	return 0;
}

static int thermal_zones(struct sys_thermal *st, struct thermal_scan *sc)
{
	unsigned *z = NULL;
	int n = linux_dir_numbers(sc->sysfd, "class/thermal", "thermal_zone", "", &z);
	if (n <= 0)
		return 0;
	int err = 0;
	sc->zone_type = calloc((size_t)n, sizeof *sc->zone_type);
	if (!sc->zone_type)
		err = -ENOMEM;
	for (int i = 0; i < n && !err; i++)
		err = thermal_zone(st, sc, z[i]);
	free(z);
	return err;
}

/* ---- hwmon ------------------------------------------------------------ */

/* "Core 3" → core 3; "Package id 1" → package 1. */
static void thermal_label_role(struct tsensor *s, const char *label)
{
	uint64_t v;
	const char *end = label + strlen(label);
	if (strncmp(label, "Core ", 5) == 0 && scan_u64(label + 5, end, &v) == end && v < 1u << 20)
		s->core = (int)v;
	else if (strncmp(label, "Package id ", 11) == 0 && scan_u64(label + 11, end, &v) == end &&
		 v < 1u << 20) {
		s->is_pkg = 1;
		s->pkg = (int)v;
	}
}

/* The key of input K: "<chip>.<label>", "<chip>.tempK", or "<chip>" for
 * the only input of a chip. */
static void thermal_input_key(char *key, const char *chip, const char *label, unsigned k,
			      int single)
{
	char part[RM_KEY_MAX];
	if (label[0] && sys_thermal_sanitize(part, sizeof part, label, strlen(label))) {
		thermal_join(key, RM_KEY_MAX, chip, '.', part);
	} else if (single) {
		thermal_join(key, RM_KEY_MAX, chip, 0, "");
	} else {
		memcpy(part, "temp", 4);
		linux_key_uint(part + 4, k);
		thermal_join(key, RM_KEY_MAX, chip, '.', part);
	}
}

static int thermal_input(struct sys_thermal *st, int sysfd, const char *dir, const char *chip,
			 unsigned k, int single)
{
	char path[160], label[64], key[RM_KEY_MAX];
	snprintf(path, sizeof path, "%s/temp%u_input", dir, k);
	int fd = readfile_open(sysfd, path);
	if (fd < 0)
		return 0;
	snprintf(path, sizeof path, "%s/temp%u_label", dir, k);
	if (thermal_text(sysfd, path, label, sizeof label) < 0)
		label[0] = '\0';
	thermal_input_key(key, chip, label, k, single);
	struct tsensor *s = thermal_add(st, key, fd);
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	thermal_label_role(s, label);
	snprintf(path, sizeof path, "%s/temp%u_crit", dir, k);
	s->has_crit = thermal_value(sysfd, path, &s->crit_c) == 0;
	return 0;
}

/* Core sensors belong to their chip's package (the chip's "Package id"). */
static void thermal_chip_package(struct sys_thermal *st, unsigned first)
{
	int pkg = 0;
	for (unsigned i = first; i < st->n; i++)
		if (st->s[i].is_pkg && st->s[i].pkg >= 0)
			pkg = st->s[i].pkg;
	for (unsigned i = first; i < st->n; i++)
		if (st->s[i].core >= 0)
			st->s[i].pkg = pkg;
}

static int thermal_is_zone_mirror(const struct thermal_scan *sc, const char *name)
{
	for (unsigned i = 0; i < sc->nzones; i++)
		if (strcmp(sc->zone_type[i], name) == 0)
			return 1;
	return 0;
}

/* An hwmon chip: where its attributes are, and the key part naming it. */
#define THERMAL_CHIP_MAX 20
struct thermal_chip {
	unsigned h;
	char dir[48];
	char key[THERMAL_CHIP_MAX + 1];
	int shared;                 /* another chip has the same name */
};

/* Chip hwmonN's name and directory: 1 when it is one to read (it has a
 * name and does not mirror a thermal zone). */
static int thermal_chip_find(const struct thermal_scan *sc, unsigned h, struct thermal_chip *c)
{
	char path[96], name[64];
	c->h = h;
	/* Before 2.6.3x the attributes lived in hwmonN/device/. */
	snprintf(c->dir, sizeof c->dir, "class/hwmon/hwmon%u", h);
	snprintf(path, sizeof path, "%s/name", c->dir);
	int n = thermal_text(sc->sysfd, path, name, sizeof name);
	if (n < 0) {
		snprintf(c->dir, sizeof c->dir, "class/hwmon/hwmon%u/device", h);
		snprintf(path, sizeof path, "%s/name", c->dir);
		n = thermal_text(sc->sysfd, path, name, sizeof name);
	}
	return n > 0 && sys_thermal_sanitize(c->key, sizeof c->key, name, (size_t)n) &&
	       !thermal_is_zone_mirror(sc, c->key);
}

/* Chips sharing a name (two coretemp packages, two nvme drives) are told
 * apart by what hwmonN/device points to, which unlike N survives a
 * reboot: "coretemp.0" → "coretemp_0", "nvme1" → "nvme1", else
 * "<name>_<device>".  Without the link, thermal_add's ".2" remains. */
static void thermal_chip_qualify(int sysfd, struct thermal_chip *c)
{
	char path[64], link[256], dev[64], key[THERMAL_CHIP_MAX + 1];
	snprintf(path, sizeof path, "class/hwmon/hwmon%u/device", c->h);
	ssize_t n = readlinkat(sysfd, path, link, sizeof link - 1);
	if (n <= 0)
		return;
	link[n] = '\0';
	const char *base = strrchr(link, '/');
	base = base ? base + 1 : link;
	if (!sys_thermal_sanitize(dev, sizeof dev, base, strlen(base)))
		return;
	if (strncmp(dev, c->key, strlen(c->key)) == 0)
		thermal_join(key, sizeof key, dev, 0, "");
	else
		thermal_join(key, sizeof key, c->key, '_', dev);
	memcpy(c->key, key, sizeof key);
}

static int thermal_chip_inputs(struct sys_thermal *st, int sysfd, const struct thermal_chip *c)
{
	unsigned *k = NULL, first = st->n;
	int nk = linux_dir_numbers(sysfd, c->dir, "temp", "_input", &k);
	int err = 0;
	for (int i = 0; i < nk && !err; i++)
		err = thermal_input(st, sysfd, c->dir, c->key, k[i], nk == 1);
	if (nk > 0)
		free(k);
	thermal_chip_package(st, first);
	return err;
}

static void thermal_chips_qualify(int sysfd, struct thermal_chip *c, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < n; j++)
			if (j != i && strcmp(c[i].key, c[j].key) == 0)
				c[i].shared = 1;
	for (unsigned i = 0; i < n; i++)
		if (c[i].shared)
			thermal_chip_qualify(sysfd, &c[i]);
}

static int thermal_chips(struct sys_thermal *st, struct thermal_scan *sc)
{
	unsigned *h = NULL, nc = 0;
	int n = linux_dir_numbers(sc->sysfd, "class/hwmon", "hwmon", "", &h);
	if (n <= 0)
		return 0;
	struct thermal_chip *c = calloc((size_t)n, sizeof *c);
	int err = c ? 0 : -ENOMEM;
	for (int i = 0; i < n && c; i++)
		if (thermal_chip_find(sc, h[i], &c[nc]))
			nc++;
	if (c)
		thermal_chips_qualify(sc->sysfd, c, nc);
	for (unsigned i = 0; i < nc && !err; i++)
		err = thermal_chip_inputs(st, sc->sysfd, &c[i]);
	free(c);
	free(h);
	return err;
}

/* ---- CPU mapping ------------------------------------------------------ */

/* cpu's (package, core) from topology/, or -1. */
static int thermal_topology(int sysfd, unsigned cpu, int *pkg, int *core)
{
	char path[96], buf[32];
	uint64_t v;
	snprintf(path, sizeof path, "devices/system/cpu/cpu%u/topology/core_id", cpu);
	ssize_t n = readfile_at(sysfd, path, buf, sizeof buf);
	if (n <= 0 || !scan_u64(buf, buf + n, &v))
		return -1;
	*core = (int)(v & 0xfffff);
	*pkg = 0;
	snprintf(path, sizeof path, "devices/system/cpu/cpu%u/topology/physical_package_id", cpu);
	n = readfile_at(sysfd, path, buf, sizeof buf);
	if (n > 0 && scan_u64(buf, buf + n, &v))
		*pkg = (int)(v & 0xfffff);
	return 0;
}

static int thermal_core_sensor(const struct sys_thermal *st, int pkg, int core)
{
	for (unsigned i = 0; i < st->n; i++)
		if (st->s[i].core == core && st->s[i].pkg == pkg)
			return (int)i;
	return -1;
}

static void thermal_map_cpus(struct sys_thermal *st, int sysfd)
{
	unsigned *cpu = NULL;
	int n = linux_dir_numbers(sysfd, "devices/system/cpu", "cpu", "", &cpu);
	if (n <= 0 || !(st->cpus = calloc((size_t)n, sizeof *st->cpus))) {
		if (n > 0)
			free(cpu);
		return;
	}
	for (int i = 0; i < n; i++) {
		int pkg, core, s;
		if (thermal_topology(sysfd, cpu[i], &pkg, &core) < 0) {
			pkg = 0;   /* no topology: Core N is taken to be cpu N */
			core = (int)cpu[i];
		}
		if ((s = thermal_core_sensor(st, pkg, core)) >= 0)
			st->cpus[st->ncpus++] = (struct thermal_cpu){ cpu[i], (unsigned)s };
	}
	free(cpu);
}

/* ---- collector -------------------------------------------------------- */

static void thermal_close(void *state)
{
	struct sys_thermal *st = state;
	if (!st)
		return;
	cpuboard_forget_temp();
	for (unsigned i = 0; i < st->n; i++)
		close(st->s[i].fd);
	free(st->s);
	free(st->cpus);
	free(st);
}

static int thermal_open(const struct collect_env *env, void **state)
{
	struct sys_thermal *st = calloc(1, sizeof *st);
	if (!st)
		return -ENOMEM;
	struct thermal_scan sc = { .sysfd = env->sysfd };
	int err = thermal_zones(st, &sc);
	if (!err)
		err = thermal_chips(st, &sc);
	free(sc.zone_type);
	if (!err && st->n == 0)
		err = -ENOENT;
	if (err) {
		thermal_close(st);
		return err;
	}
	thermal_map_cpus(st, env->sysfd);
	*state = st;
	return 0;
}

/* Read every sensor and emit its record (temp_c absent when the read
 * failed).  0 when any sensor gave a value. */
static int thermal_read(struct sys_thermal *st, struct collect_tick *t)
{
	int good = 0, err = -ENODATA;
	for (unsigned i = 0; i < st->n; i++) {
		struct tsensor *s = &st->s[i];
		struct rm_rec r;
		char buf[32];
		ssize_t n = readfile_pread(s->fd, buf, sizeof buf);
		s->valid = n >= 0 && sys_thermal_parse_temp(buf, (size_t)n, &s->temp_c) == 0;
		rec_init(&r, t->rt_ns, s->key);
		if (s->valid) {
			rec_set(&r, RM_TEMP_TEMP, s->temp_c);
			good = 1;
		} else {
			err = n < 0 ? (int)n : -EINVAL;
		}
		if (s->has_crit)
			rec_set(&r, RM_TEMP_CRIT, s->crit_c);
		t->emit(t, RM_KIND_TEMP, &r);
	}
	return good ? 0 : err;
}

static void thermal_publish(const struct sys_thermal *st, uint64_t tick)
{
	for (unsigned i = 0; i < st->ncpus; i++) {
		const struct tsensor *s = &st->s[st->cpus[i].sensor];
		if (s->valid)
			cpuboard_put_temp(st->cpus[i].cpu, tick, s->temp_c);
	}
	for (unsigned i = 0; i < st->n; i++)
		if (st->s[i].is_pkg && st->s[i].valid)
			cpuboard_put_pkg_temp(tick, st->s[i].temp_c);
}

static int thermal_sample(void *state, struct collect_tick *t)
{
	struct sys_thermal *st = state;
	int err = 0;
	if (!st->have_read || t->mono_ns - st->last_read >= THERMAL_PERIOD_NS) {
		err = thermal_read(st, t);
		st->last_read = t->mono_ns;
		st->have_read = 1;
	}
	thermal_publish(st, t->mono_ns);
	return err;
}

const struct collector sys_thermal_collector = {
	.name = "sys_thermal",
	.cap = COLLECT_CAP_THERMAL,
	.open = thermal_open,
	.sample = thermal_sample,
	.close = thermal_close,
};
