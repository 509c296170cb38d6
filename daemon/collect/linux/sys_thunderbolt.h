/*
 * Thunderbolt/USB4 routers from bus/thunderbolt/devices (SOURCES.md §6.1):
 * a listing of the device routers (not domains "domainN", not host
 * routers "N-0", not XDomain services "N-R.K" or retimers "N-R:P.I") and a
 * diff of two listings for link up/down events.
 *
 * Read relative to a sysfs root dirfd.  Missing attributes are absent
 * (TB_HAS_* bit clear), never zero.  Nothing logs or allocates.
 */
#ifndef RMON_SYS_THUNDERBOLT_H
#define RMON_SYS_THUNDERBOLT_H

#include <stddef.h>

#define TB_DEVICES_MAX 32
#define TB_ID_MAX      32
#define TB_NAME_MAX    64

enum tb_has {
	TB_HAS_VENDOR_NAME = 1u << 0,
	TB_HAS_DEVICE_NAME = 1u << 1,
	TB_HAS_AUTHORIZED  = 1u << 2,
	TB_HAS_GENERATION  = 1u << 3,
	TB_HAS_RX_SPEED    = 1u << 4,
	TB_HAS_TX_SPEED    = 1u << 5,
	TB_HAS_RX_LANES    = 1u << 6,
	TB_HAS_TX_LANES    = 1u << 7,
	TB_HAS_UNIQUE_ID   = 1u << 8,
};

struct tb_device {
	char id[TB_ID_MAX];                 /* "0-1", "0-301" */
	char vendor_name[TB_NAME_MAX];
	char device_name[TB_NAME_MAX];
	char unique_id[TB_NAME_MAX];
	unsigned has;                       /* TB_HAS_* */
	unsigned authorized;                /* 0, 1, 2 */
	unsigned generation;                /* 1-3 TB1-3, 4 USB4 */
	double rx_gbps, tx_gbps;            /* per lane */
	unsigned rx_lanes, tx_lanes;
};

struct tb_list {
	unsigned n;
	unsigned truncated;                 /* devices beyond TB_DEVICES_MAX */
	struct tb_device dev[TB_DEVICES_MAX];   /* sorted by id */
};

/* "20.0 Gb/s" → 20.0: 0, or -EINVAL. */
int tb_parse_speed(const char *buf, size_t len, double *gbps);

/* 1 when a bus/thunderbolt/devices entry name is a device router
 * ("D-R" with R != 0), else 0. */
int tb_is_device_name(const char *name);

/* Raw link rate in Gb/s (speed per lane × lanes) for rx (tx = 0) or tx
 * (tx = 1): 0 and *gbps, or -ENODATA when speed or lanes is absent. */
int tb_link_gbps(const struct tb_device *d, int tx, double *gbps);

/* List the device routers under sysfd's bus/thunderbolt/devices.  0 (the
 * list may be empty), or -ENOENT when there is no thunderbolt bus (the
 * list is then empty too), or -errno. */
int tb_list_read(int sysfd, struct tb_list *out);

/* The device with this id, or NULL. */
const struct tb_device *tb_list_find(const struct tb_list *l, const char *id);

/* Devices in cur and not in prev (appeared: indices into cur->dev) and in
 * prev and not in cur (disappeared: indices into prev->dev).  Same id but
 * a different unique_id (another device on the same route) counts as
 * both. */
struct tb_diff {
	unsigned nappeared, ndisappeared;
	unsigned appeared[TB_DEVICES_MAX];
	unsigned disappeared[TB_DEVICES_MAX];
};
void tb_list_diff(const struct tb_list *prev, const struct tb_list *cur, struct tb_diff *out);

#endif
