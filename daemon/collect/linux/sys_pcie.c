/*
 * PCIe link health from sysfs: see sys_pcie.h.
 *
 * Paths are resolved by hand (readlinkat component by component) rather
 * than with realpath(3), so that a fixture tree opened as the root dirfd
 * behaves exactly like /sys: relative links are followed inside it, and
 * an absolute "/sys/..." target is taken relative to the root.
 */
#include "sys_pcie.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

static int is_domain_name(const char *b)
{
	if (strncmp(b, "domain", 6) != 0 || !b[6])
		return 0;
	for (const char *q = b + 6; *q; q++)
		if (*q < '0' || *q > '9')
			return 0;
	return 1;
}

/* A thunderbolt domain device: named domainN, with the domain's
 * `security` attribute or a subsystem link ending in "thunderbolt". */
static int is_tb_domain(int sysfd, const char *dir)
{
	const char *b = strrchr(dir, '/');
	b = b ? b + 1 : dir;
	if (!is_domain_name(b))
		return 0;
	char buf[64];
	if (read_attr(sysfd, dir, "security", buf, sizeof buf) >= 0)
		return 1;
	char p[PCIE_PATH_MAX + 16], tgt[PCIE_PATH_MAX];
	int n = snprintf(p, sizeof p, "%s/subsystem", dir);
	if (n < 0 || (size_t)n >= sizeof p)
		return 0;
	ssize_t m = readlinkat(sysfd, p, tgt, sizeof tgt - 1);
	if (m <= 0)
		return 0;
	tgt[m] = '\0';
	const char *s = strrchr(tgt, '/');
	return strcmp(s ? s + 1 : tgt, "thunderbolt") == 0;
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

int pcie_behind_thunderbolt(int sysfd, const char *resolved, enum pcie_tb_reason *reason,
			    char *via, size_t via_cap)
{
	char dir[PCIE_PATH_MAX];
	enum pcie_tb_reason r = PCIE_TB_NONE;
	if (!resolved || strlen(resolved) >= sizeof dir)
		return -EINVAL;
	strcpy(dir, resolved);
	if (via && via_cap)
		via[0] = '\0';
	size_t len = strlen(dir);
	while (len > 0 && strcmp(dir, "devices") != 0) {
		if (attr_equals(sysfd, dir, "is_thunderbolt", "1"))
			r = PCIE_TB_IS_THUNDERBOLT;
		else if (is_tb_domain(sysfd, dir))
			r = PCIE_TB_DOMAIN;
		else if (attr_equals(sysfd, dir, "removable", "removable"))
			r = PCIE_TB_REMOVABLE;
		if (r != PCIE_TB_NONE) {
			if (via && via_cap)
				snprintf(via, via_cap, "%s", dir);
			break;
		}
		pop_component(dir, &len);
	}
	if (reason)
		*reason = r;
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

	if ((n = read_attr(sysfd, d, "current_link_speed", buf, sizeof buf)) >= 0 &&
	    pcie_parse_speed(buf, (size_t)n, &out->cur_gts, &out->cur_gen) == 0)
		out->has |= PCIE_HAS_CUR_SPEED;
	if ((n = read_attr(sysfd, d, "max_link_speed", buf, sizeof buf)) >= 0 &&
	    pcie_parse_speed(buf, (size_t)n, &out->max_gts, &out->max_gen) == 0)
		out->has |= PCIE_HAS_MAX_SPEED;
	if ((n = read_attr(sysfd, d, "current_link_width", buf, sizeof buf)) >= 0 &&
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

	rc = pcie_behind_thunderbolt(sysfd, d, &out->tb_reason, out->tb_via, sizeof out->tb_via);
	if (rc >= 0) {
		out->behind_tb = rc;
		out->has |= PCIE_HAS_TB;
	}
	return 0;
}
