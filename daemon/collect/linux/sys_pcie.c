/*
 * PCIe link health from sysfs: see sys_pcie.h.
 *
 * Paths are resolved by hand (readlinkat component by component) rather
 * than with realpath(3), so that a fixture tree opened as the root dirfd
 * behaves exactly like /sys: relative links are followed inside it, and
 * an absolute "/sys/..." target is taken relative to the root.
 */
#include "sys_pcie.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linux.h"
#include "readfile.h"

#define PCIE_LINKS_MAX 40

static const struct {
	double gts;
	unsigned gen;
} gen_table[] = {
	{ 2.5, 1 }, { 5.0, 2 }, { 8.0, 3 }, { 16.0, 4 }, { 32.0, 5 }, { 64.0, 6 },
};

unsigned pcie_gts_to_gen(double gts)
{
	for (size_t i = 0; i < sizeof gen_table / sizeof gen_table[0]; i++)
		if (fabs(gts - gen_table[i].gts) < 0.05)
			return gen_table[i].gen;
	return 0;
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

int pcie_parse_speed(const char *buf, size_t len, double *gts, unsigned *gen)
{
	if (!buf)
		return -EINVAL;
	const char *end = buf + len;
	const char *p = skip_ws(buf, end);
	double v;
	const char *q = scan_f64(p, end, &v);
	if (!q || !(v > 0) || !isfinite(v))
		return -EINVAL;
	/* The number must be a whole token: "8 GT/s", "16.0 GT/s PCIe", "8". */
	if (q < end && *q != ' ' && *q != '\t' && *q != '\n' && *q != '\r')
		return -EINVAL;
	*gts = v;
	*gen = pcie_gts_to_gen(v);
	return 0;
}

int pcie_parse_width(const char *buf, size_t len, unsigned *w)
{
	if (!buf)
		return -EINVAL;
	const char *end = buf + len;
	uint64_t v;
	const char *q = scan_u64(skip_ws(buf, end), end, &v);
	if (!q || skip_ws(q, end) != end || v == 0 || v > 64)
		return -EINVAL;
	*w = (unsigned)v;
	return 0;
}

int pcie_parse_aer_total(const char *buf, size_t len, uint64_t *total)
{
	if (!buf)
		return -EINVAL;
	const char *p = buf, *end = buf + len;
	int found = 0, ok = 0;
	uint64_t v = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *s = scan_blank(p, e);
		if ((size_t)(e - s) >= 10 && memcmp(s, "TOTAL_ERR_", 10) == 0) {
			/* the last token of the line is the number */
			const char *t = e;
			while (t > s && (t[-1] == ' ' || t[-1] == '\t' || t[-1] == '\r'))
				t--;
			const char *te = t;
			while (t > s && t[-1] != ' ' && t[-1] != '\t')
				t--;
			uint64_t x;
			const char *q = (t > s) ? scan_u64(t, te, &x) : NULL;
			found = 1;
			ok = q == te;
			if (ok)
				v = x;
		}
		p = nl ? nl + 1 : end;
	}
	if (!found)
		return -ENODATA;
	if (!ok)
		return -EINVAL;
	*total = v;
	return 0;
}

int pcie_link_eval_degraded(struct pcie_link *l)
{
	int known = 0, deg = 0;
	if ((l->has & (PCIE_HAS_CUR_SPEED | PCIE_HAS_MAX_SPEED)) ==
	    (PCIE_HAS_CUR_SPEED | PCIE_HAS_MAX_SPEED)) {
		known = 1;
		if (l->cur_gts + 0.05 < l->max_gts)
			deg = 1;
	}
	if ((l->has & (PCIE_HAS_CUR_WIDTH | PCIE_HAS_MAX_WIDTH)) ==
	    (PCIE_HAS_CUR_WIDTH | PCIE_HAS_MAX_WIDTH)) {
		known = 1;
		if (l->cur_width < l->max_width)
			deg = 1;
	}
	if (!known) {
		l->has &= ~(unsigned)PCIE_HAS_DEGRADED;
		l->degraded = 0;
		return -1;
	}
	l->has |= PCIE_HAS_DEGRADED;
	l->degraded = deg;
	return deg;
}

/* ---- path resolution ---------------------------------------------------- */

static void pop_component(char *res, size_t *rlen)
{
	char *s = strrchr(res, '/');
	*rlen = s ? (size_t)(s - res) : 0;
	res[*rlen] = '\0';
}

int pcie_resolve(int sysfd, const char *path, char *out, size_t cap)
{
	char res[PCIE_PATH_MAX] = "";
	char rest[2 * PCIE_PATH_MAX];
	size_t rlen = 0;
	int links = 0;

	if (!path || !out || cap == 0)
		return -EINVAL;
	if (strlen(path) >= sizeof rest)
		return -ENAMETOOLONG;
	strcpy(rest, path);
	size_t pos = 0;
	while (rest[pos]) {
		while (rest[pos] == '/')
			pos++;
		if (!rest[pos])
			break;
		size_t c0 = pos;
		while (rest[pos] && rest[pos] != '/')
			pos++;
		size_t clen = pos - c0;
		if (clen == 1 && rest[c0] == '.')
			continue;
		if (clen == 2 && rest[c0] == '.' && rest[c0 + 1] == '.') {
			pop_component(res, &rlen);   /* ".." at the root stays there */
			continue;
		}
		if (rlen + 1 + clen >= sizeof res)
			return -ENAMETOOLONG;
		if (rlen)
			res[rlen++] = '/';
		memcpy(res + rlen, rest + c0, clen);
		rlen += clen;
		res[rlen] = '\0';

		char tgt[PCIE_PATH_MAX];
		ssize_t n = readlinkat(sysfd, res, tgt, sizeof tgt - 1);
		if (n < 0) {
			if (errno == EINVAL)
				continue;   /* exists, not a link */
			return -errno;
		}
		if ((size_t)n >= sizeof tgt - 1)
			return -ENAMETOOLONG;
		tgt[n] = '\0';
		if (++links > PCIE_LINKS_MAX)
			return -ELOOP;
		pop_component(res, &rlen);   /* the link's directory */
		const char *t = tgt;
		if (t[0] == '/') {
			res[0] = '\0';
			rlen = 0;
			if (strncmp(t, "/sys/", 5) == 0)
				t += 5;
			else if (strcmp(t, "/sys") == 0)
				t += 4;
		}
		/* new rest = target + "/" + what was left */
		char tmp[2 * PCIE_PATH_MAX];
		int m = snprintf(tmp, sizeof tmp, "%s/%s", t, rest + pos);
		if (m < 0 || (size_t)m >= sizeof tmp)
			return -ENAMETOOLONG;
		memcpy(rest, tmp, (size_t)m + 1);
		pos = 0;
	}
	if (rlen + 1 > cap)
		return -ENAMETOOLONG;
	memcpy(out, res, rlen + 1);
	return 0;
}

/* ---- reading ------------------------------------------------------------ */

/* dir/name into buf (NUL-terminated): the length, or -errno. */
static ssize_t read_attr(int sysfd, const char *dir, const char *name, char *buf, size_t cap)
{
	char p[PCIE_PATH_MAX + 64];
	int n = snprintf(p, sizeof p, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof p)
		return -ENAMETOOLONG;
	return readfile_at(sysfd, p, buf, cap);
}

static int attr_equals(int sysfd, const char *dir, const char *name, const char *want)
{
	char buf[64];
	ssize_t n = read_attr(sysfd, dir, name, buf, sizeof buf);
	if (n < 0)
		return 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return strcmp(buf, want) == 0;
}

/* "0000:05:00.0": a PCI device directory, not a root bus "pci0000:00". */
static int is_bdf(const char *name)
{
	static const char shape[] = "xxxx:xx:xx.x";
	if (strlen(name) != sizeof shape - 1)
		return 0;
	for (size_t i = 0; shape[i]; i++) {
		char c = name[i];
		int hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
		if (shape[i] == 'x' ? !hex : c != shape[i])
			return 0;
	}
	return 1;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

/* path is dir or below it. */
static int path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* One thunderbolt domain as the PCI tree shows it. */
struct tb_domain_place {
	unsigned id;
	int discrete;                   /* NHI below a downstream port of a switch */
	char nhi_port[PCIE_PATH_MAX];   /* the port above the NHI */
	char sw[PCIE_PATH_MAX];         /* the switch's upstream port (discrete) */
};

/* bus/thunderbolt/devices/domainN: where its NHI sits.  0, or -1 when the
 * entry is not a domain or cannot be resolved. */
static int domain_place(int sysfd, const char *name, struct tb_domain_place *d)
{
	char link[64], res[PCIE_PATH_MAX];
	char *end;
	if (strncmp(name, "domain", 6) != 0 || name[6] < '0' || name[6] > '9' ||
	    (name[6] == '0' && name[7]))
		return -1;
	unsigned long id = strtoul(name + 6, &end, 10);
	if (*end || id >= 32)
		return -1;
	snprintf(link, sizeof link, "bus/thunderbolt/devices/domain%lu", id);
	if (pcie_resolve(sysfd, link, res, sizeof res) < 0)
		return -1;
	size_t len = strlen(res);
	pop_component(res, &len);                 /* the NHI */
	pop_component(res, &len);                 /* the port above it */
	memset(d, 0, sizeof *d);
	d->id = (unsigned)id;
	snprintf(d->nhi_port, sizeof d->nhi_port, "%s", res);
	/* A discrete controller (Alpine/Titan Ridge): root port, switch
	 * upstream port, downstream port, NHI.  Its hot-plug ports are the
	 * switch's other downstream ports.  An integrated one (Ice Lake and
	 * later, AMD USB4) has its NHI on the root bus or below a root port. */
	if (!is_bdf(base_name(res)))
		return 0;
	pop_component(res, &len);
	if (is_bdf(base_name(res)) && strchr(res, '/')) {
		char above[PCIE_PATH_MAX];
		size_t alen = len;
		memcpy(above, res, len + 1);
		pop_component(above, &alen);
		if (is_bdf(base_name(above))) {   /* res is a switch, not a root port */
			d->discrete = 1;
			snprintf(d->sw, sizeof d->sw, "%s", res);
		}
	}
	return 0;
}

/* The domains that may carry the device at resolved: 1 when a discrete
 * controller's switch holds it (*mask = that domain, via = the switch),
 * else 0 with *mask = every integrated domain. */
static int domain_walk(int sysfd, const char *resolved, unsigned *mask, char *via, size_t via_cap)
{
	unsigned integrated = 0;
	*mask = 0;
	DIR *dir = linux_opendir_at(sysfd, "bus/thunderbolt/devices");
	if (!dir)
		return 0;
	struct dirent *de;
	struct tb_domain_place d;
	int found = 0;
	while (!found && (de = readdir(dir)) != NULL) {
		if (domain_place(sysfd, de->d_name, &d) < 0)
			continue;
		if (!d.discrete) {
			integrated |= 1u << d.id;
			continue;
		}
		if (path_under(resolved, d.sw) && !path_under(resolved, d.nhi_port) &&
		    strcmp(resolved, d.sw) != 0) {
			*mask = 1u << d.id;
			if (via && via_cap)
				snprintf(via, via_cap, "%s", d.sw);
			found = 1;
		}
	}
	closedir(dir);
	if (!found)
		*mask = integrated;
	return found;
}

int pcie_behind_thunderbolt(int sysfd, const char *resolved, enum pcie_tb_reason *reason,
			    char *via, size_t via_cap, unsigned *domains)
{
	char dir[PCIE_PATH_MAX];
	enum pcie_tb_reason r = PCIE_TB_NONE;
	unsigned mask = 0;
	if (!resolved || strlen(resolved) >= sizeof dir)
		return -EINVAL;
	strcpy(dir, resolved);
	if (via && via_cap)
		via[0] = '\0';
	size_t len = strlen(dir);
	while (len > 0 && strcmp(dir, "devices") != 0) {
		if (attr_equals(sysfd, dir, "removable", "removable")) {
			r = PCIE_TB_REMOVABLE;
			if (via && via_cap)
				snprintf(via, via_cap, "%s", dir);
			break;
		}
		pop_component(dir, &len);
	}
	char sw[PCIE_PATH_MAX];
	if (domain_walk(sysfd, resolved, &mask, sw, sizeof sw) && r == PCIE_TB_NONE) {
		r = PCIE_TB_DOMAIN;
		if (via && via_cap)
			snprintf(via, via_cap, "%s", sw);
	}
	if (reason)
		*reason = r;
	if (domains)
		*domains = r != PCIE_TB_NONE ? mask : 0;
	return r != PCIE_TB_NONE;
}

int pcie_read(int sysfd, const char *devpath, struct pcie_link *out)
{
	memset(out, 0, sizeof *out);
	int rc = pcie_resolve(sysfd, devpath, out->resolved, sizeof out->resolved);
	if (rc < 0)
		return rc;
	const char *d = out->resolved;
	char buf[4096];
	ssize_t n;

	/* Reading current_link_* resumes a runtime-suspended device
	 * (pci_config_pm_runtime_get): a sampler must not keep a laptop's
	 * idle GPU awake, so a sleeping device is left alone. */
	if (read_attr(sysfd, d, "power/runtime_status", buf, sizeof buf) >= 0) {
		out->has |= PCIE_HAS_PM;
		out->suspended = strncmp(buf, "suspended", 9) == 0;
	}
	if (!out->suspended && (n = read_attr(sysfd, d, "current_link_speed", buf, sizeof buf)) >= 0 &&
	    pcie_parse_speed(buf, (size_t)n, &out->cur_gts, &out->cur_gen) == 0)
		out->has |= PCIE_HAS_CUR_SPEED;
	if ((n = read_attr(sysfd, d, "max_link_speed", buf, sizeof buf)) >= 0 &&
	    pcie_parse_speed(buf, (size_t)n, &out->max_gts, &out->max_gen) == 0)
		out->has |= PCIE_HAS_MAX_SPEED;
	if (!out->suspended && (n = read_attr(sysfd, d, "current_link_width", buf, sizeof buf)) >= 0 &&
	    pcie_parse_width(buf, (size_t)n, &out->cur_width) == 0)
		out->has |= PCIE_HAS_CUR_WIDTH;
	if ((n = read_attr(sysfd, d, "max_link_width", buf, sizeof buf)) >= 0 &&
	    pcie_parse_width(buf, (size_t)n, &out->max_width) == 0)
		out->has |= PCIE_HAS_MAX_WIDTH;
	pcie_link_eval_degraded(out);

	if ((n = read_attr(sysfd, d, "aer_dev_correctable", buf, sizeof buf)) >= 0 &&
	    pcie_parse_aer_total(buf, (size_t)n, &out->aer_cor) == 0)
		out->has |= PCIE_HAS_AER_COR;
	if ((n = read_attr(sysfd, d, "aer_dev_nonfatal", buf, sizeof buf)) >= 0 &&
	    pcie_parse_aer_total(buf, (size_t)n, &out->aer_nonfatal) == 0)
		out->has |= PCIE_HAS_AER_NONFATAL;
	if ((n = read_attr(sysfd, d, "aer_dev_fatal", buf, sizeof buf)) >= 0 &&
	    pcie_parse_aer_total(buf, (size_t)n, &out->aer_fatal) == 0)
		out->has |= PCIE_HAS_AER_FATAL;

	rc = pcie_behind_thunderbolt(sysfd, d, &out->tb_reason, out->tb_via, sizeof out->tb_via,
				     &out->tb_domains);
	if (rc >= 0) {
		out->behind_tb = rc;
		out->has |= PCIE_HAS_TB;
	}
	return 0;
}

/* ---- GPUs on the bus ---------------------------------------------------- */

/* "0x030000\n": 0 and *v, or -1. */
static int parse_hex_attr(const char *buf, unsigned *v)
{
	char *end;
	if (strncmp(buf, "0x", 2) != 0)
		return -1;
	errno = 0;
	unsigned long x = strtoul(buf + 2, &end, 16);
	if (errno || end == buf + 2 || x > 0xffffffffu || (*end && *end != '\n'))
		return -1;
	*v = (unsigned)x;
	return 0;
}

static int read_hex(int sysfd, const char *bdf, const char *name, unsigned *v)
{
	char p[96], buf[32];
	snprintf(p, sizeof p, "bus/pci/devices/%s/%s", bdf, name);
	return readfile_at(sysfd, p, buf, sizeof buf) < 0 ? -1 : parse_hex_attr(buf, v);
}

/* FNV-1a of one name, summed over the listing: the same set in any
 * readdir order gives the same signature. */
static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

static int cmp_gpu(const void *a, const void *b)
{
	return strcmp(((const struct pcie_gpu *)a)->bdf, ((const struct pcie_gpu *)b)->bdf);
}

int pcie_gpus_read(int sysfd, const struct pcie_gpu_list *prev, struct pcie_gpu_list *out)
{
	memset(out, 0, sizeof *out);
	DIR *dir = linux_opendir_at(sysfd, "bus/pci/devices");
	if (!dir)
		return -errno;
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		if (!is_bdf(de->d_name))
			continue;
		out->nnames++;
		out->names_sig += name_hash(de->d_name);
	}
	if (prev && prev->nnames == out->nnames && prev->names_sig == out->names_sig &&
	    !prev->unread) {
		closedir(dir);
		*out = *prev;
		return 0;
	}
	rewinddir(dir);
	while ((de = readdir(dir)) != NULL) {
		unsigned cls;
		if (!is_bdf(de->d_name))
			continue;
		if (read_hex(sysfd, de->d_name, "class", &cls) < 0) {
			out->unread++;
			continue;
		}
		if ((cls >> 16) != 0x03)
			continue;
		if (out->n == PCIE_GPUS_MAX) {
			out->truncated++;
			continue;
		}
		struct pcie_gpu *g = &out->gpu[out->n++];
		size_t len = strnlen(de->d_name, sizeof g->bdf - 1);   /* is_bdf: it fits */
		memcpy(g->bdf, de->d_name, len);
		g->bdf[len] = '\0';
		g->class_code = cls;
		if (read_hex(sysfd, de->d_name, "vendor", &g->vendor) < 0)
			g->vendor = 0;
		if (read_hex(sysfd, de->d_name, "device", &g->device) < 0)
			g->device = 0;
	}
	closedir(dir);
	qsort(out->gpu, out->n, sizeof out->gpu[0], cmp_gpu);
	return 0;
}
