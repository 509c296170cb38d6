/* Thunderbolt/USB4 routers from sysfs: see sys_thunderbolt.h. */
#include "sys_thunderbolt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linux.h"
#include "readfile.h"

#define TB_DIR "bus/thunderbolt/devices"

int tb_parse_speed(const char *buf, size_t len, double *gbps)
{
	if (!buf)
		return -EINVAL;
	const char *end = buf + len;
	const char *p = scan_blank(buf, end);
	double v;
	const char *q = scan_f64(p, end, &v);
	if (!q || !isfinite(v) || !(v > 0))
		return -EINVAL;
	if (q < end && *q != ' ' && *q != '\t' && *q != '\n' && *q != '\r')
		return -EINVAL;
	*gbps = v;
	return 0;
}

int tb_is_device_name(const char *name)
{
	/* D-R: decimal domain, '-', hex route (kernel prints %llx), R != 0 */
	const char *p = name;
	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p++ != '-')
		return 0;
	const char *r = p;
	int nonzero = 0;
	for (; *p; p++) {
		int hex = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f');
		if (!hex)
			return 0;   /* '.', ':' (xdomain, retimer) or junk */
		if (*p != '0')
			nonzero = 1;
	}
	return p > r && nonzero;
}

int tb_link_gbps(const struct tb_device *d, int tx, double *gbps)
{
	unsigned need = tx ? (TB_HAS_TX_SPEED | TB_HAS_TX_LANES) : (TB_HAS_RX_SPEED | TB_HAS_RX_LANES);
	if ((d->has & need) != need)
		return -ENODATA;
	*gbps = tx ? d->tx_gbps * d->tx_lanes : d->rx_gbps * d->rx_lanes;
	return 0;
}

static ssize_t read_attr(int sysfd, const char *id, const char *name, char *buf, size_t cap)
{
	char p[256];
	int n = snprintf(p, sizeof p, TB_DIR "/%s/%s", id, name);
	if (n < 0 || (size_t)n >= sizeof p)
		return -ENAMETOOLONG;
	return readfile_at(sysfd, p, buf, cap);
}

/* A text attribute, trailing newline and blanks dropped: 1 if read. */
static int read_text(int sysfd, const char *id, const char *name, char *dst, size_t cap)
{
	char buf[256];
	ssize_t n = read_attr(sysfd, id, name, buf, sizeof buf);
	if (n < 0)
		return 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	size_t m = (size_t)n < cap - 1 ? (size_t)n : cap - 1;   /* truncate long names */
	memcpy(dst, buf, m);
	dst[m] = '\0';
	return 1;
}

static int read_uint(int sysfd, const char *id, const char *name, unsigned *v)
{
	char buf[64];
	ssize_t n = read_attr(sysfd, id, name, buf, sizeof buf);
	if (n < 0)
		return 0;
	const char *end = buf + n;
	uint64_t x;
	const char *q = scan_u64(scan_blank(buf, end), end, &x);
	if (!q || x > UINT32_MAX)
		return 0;
	while (q < end && (*q == '\n' || *q == '\r' || *q == ' '))
		q++;
	if (q != end)
		return 0;
	*v = (unsigned)x;
	return 1;
}

static int read_speed(int sysfd, const char *id, const char *name, double *v)
{
	char buf[64];
	ssize_t n = read_attr(sysfd, id, name, buf, sizeof buf);
	return n >= 0 && tb_parse_speed(buf, (size_t)n, v) == 0;
}

/* Entries vanish on unplug mid-read: whatever could not be read is
 * simply absent. */
static void read_device(int sysfd, const char *id, struct tb_device *d)
{
	memset(d, 0, sizeof *d);
	size_t il = strlen(id);
	if (il >= sizeof d->id)
		il = sizeof d->id - 1;
	memcpy(d->id, id, il);
	d->id[il] = '\0';
	if (read_text(sysfd, id, "vendor_name", d->vendor_name, sizeof d->vendor_name))
		d->has |= TB_HAS_VENDOR_NAME;
	if (read_text(sysfd, id, "device_name", d->device_name, sizeof d->device_name))
		d->has |= TB_HAS_DEVICE_NAME;
	if (read_text(sysfd, id, "unique_id", d->unique_id, sizeof d->unique_id))
		d->has |= TB_HAS_UNIQUE_ID;
	if (read_uint(sysfd, id, "authorized", &d->authorized))
		d->has |= TB_HAS_AUTHORIZED;
	if (read_uint(sysfd, id, "generation", &d->generation))
		d->has |= TB_HAS_GENERATION;
	if (read_speed(sysfd, id, "rx_speed", &d->rx_gbps))
		d->has |= TB_HAS_RX_SPEED;
	if (read_speed(sysfd, id, "tx_speed", &d->tx_gbps))
		d->has |= TB_HAS_TX_SPEED;
	if (read_uint(sysfd, id, "rx_lanes", &d->rx_lanes) && d->rx_lanes > 0)
		d->has |= TB_HAS_RX_LANES;
	if (read_uint(sysfd, id, "tx_lanes", &d->tx_lanes) && d->tx_lanes > 0)
		d->has |= TB_HAS_TX_LANES;
}

static int cmp_dev(const void *a, const void *b)
{
	return strcmp(((const struct tb_device *)a)->id, ((const struct tb_device *)b)->id);
}

int tb_list_read(int sysfd, struct tb_list *out)
{
	memset(out, 0, sizeof *out);
	DIR *dir = linux_opendir_at(sysfd, TB_DIR);
	if (!dir)
		return -errno;
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		if (!tb_is_device_name(de->d_name) || strlen(de->d_name) >= TB_ID_MAX)
			continue;
		if (out->n >= TB_DEVICES_MAX) {
			out->truncated++;
			continue;
		}
		struct tb_device *d = &out->dev[out->n];
		read_device(sysfd, de->d_name, d);
		/* A device has a DROM identity: names (or vanished mid-read). */
		if (!(d->has & (TB_HAS_VENDOR_NAME | TB_HAS_DEVICE_NAME)))
			continue;
		out->n++;
	}
	closedir(dir);
	qsort(out->dev, out->n, sizeof out->dev[0], cmp_dev);
	return 0;
}

const struct tb_device *tb_list_find(const struct tb_list *l, const char *id)
{
	for (unsigned i = 0; i < l->n; i++)
		if (strcmp(l->dev[i].id, id) == 0)
			return &l->dev[i];
	return NULL;
}

static int same_device(const struct tb_device *a, const struct tb_device *b)
{
	if (strcmp(a->id, b->id) != 0)
		return 0;
	if ((a->has & TB_HAS_UNIQUE_ID) && (b->has & TB_HAS_UNIQUE_ID))
		return strcmp(a->unique_id, b->unique_id) == 0;
	return 1;
}

static int in_list(const struct tb_list *l, const struct tb_device *d)
{
	for (unsigned i = 0; i < l->n; i++)
		if (same_device(&l->dev[i], d))
			return 1;
	return 0;
}

void tb_list_diff(const struct tb_list *prev, const struct tb_list *cur, struct tb_diff *out)
{
	memset(out, 0, sizeof *out);
	for (unsigned i = 0; i < cur->n; i++)
		if (!in_list(prev, &cur->dev[i]))
			out->appeared[out->nappeared++] = i;
	for (unsigned i = 0; i < prev->n; i++)
		if (!in_list(cur, &prev->dev[i]))
			out->disappeared[out->ndisappeared++] = i;
}
