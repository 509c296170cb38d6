/* PCIe link health and Thunderbolt listing over the egpu fixture trees. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "linux/sys_pcie.h"
#include "linux/sys_thunderbolt.h"

#define GPU_RESOLVED "devices/pci0000:00/0000:00:1c.0/0000:03:00.0/0000:04:01.0/0000:05:00.0"

static int open_root(const char *tree)
{
	const char *src = getenv("RMON_SRCDIR");
	char p[1024];
	snprintf(p, sizeof p, "%s/tests/fixtures/linux/%s/sys", src ? src : ".", tree);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void test_speed_parse(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		double gts;
		unsigned gen;
	} ok[] = {
		{ "2.5 GT/s PCIe\n", 2.5, 1 }, { "5.0 GT/s PCIe\n", 5, 2 }, { "8.0 GT/s PCIe\n", 8, 3 },
		{ "16.0 GT/s PCIe\n", 16, 4 }, { "32.0 GT/s PCIe\n", 32, 5 }, { "64.0 GT/s PCIe\n", 64, 6 },
		{ "8 GT/s\n", 8, 3 }, { "5 GT/s", 5, 2 }, { "2.5", 2.5, 1 }, { "20.0 GT/s\n", 20, 0 },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		double g = -1;
		unsigned gen = 99;
		assert_int_equal(pcie_parse_speed(ok[i].in, strlen(ok[i].in), &g, &gen), 0);
		assert_true(g > ok[i].gts - 1e-9 && g < ok[i].gts + 1e-9);
		assert_int_equal(gen, ok[i].gen);
	}
	static const char *const bad[] = { "Unknown\n", "Unknown speed\n", "", "\n", "8x GT/s", "-8 GT/s" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		double g;
		unsigned gen;
		assert_int_equal(pcie_parse_speed(bad[i], strlen(bad[i]), &g, &gen), -EINVAL);
	}
	assert_int_equal(pcie_gts_to_gen(2.5), 1);
	assert_int_equal(pcie_gts_to_gen(64), 6);
	assert_int_equal(pcie_gts_to_gen(3), 0);
}

static void test_width_parse(void **state)
{
	(void)state;
	unsigned w = 0;
	assert_int_equal(pcie_parse_width("16\n", 3, &w), 0);
	assert_int_equal(w, 16);
	assert_int_equal(pcie_parse_width("4", 1, &w), 0);
	assert_int_equal(w, 4);
	assert_int_equal(pcie_parse_width("0\n", 2, &w), -EINVAL);
	assert_int_equal(pcie_parse_width("x4\n", 3, &w), -EINVAL);
	assert_int_equal(pcie_parse_width("", 0, &w), -EINVAL);
}

static void test_aer_parse(void **state)
{
	(void)state;
	uint64_t t = 0;
	const char *cor = "Receiver Error 2\nBad TLP 0\nTOTAL_ERR_COR 7\n";
	assert_int_equal(pcie_parse_aer_total(cor, strlen(cor), &t), 0);
	assert_int_equal(t, 7);
	const char *nonl = "RxErr 1\nTOTAL_ERR_FATAL 18446744073709551615";
	assert_int_equal(pcie_parse_aer_total(nonl, strlen(nonl), &t), 0);
	assert_true(t == UINT64_MAX);
	const char *none = "Receiver Error 2\nBad TLP 0\n";
	assert_int_equal(pcie_parse_aer_total(none, strlen(none), &t), -ENODATA);
	const char *junk = "TOTAL_ERR_COR abc\n";
	assert_int_equal(pcie_parse_aer_total(junk, strlen(junk), &t), -EINVAL);
}

static void test_degraded_eval(void **state)
{
	(void)state;
	struct pcie_link l = { 0 };
	assert_int_equal(pcie_link_eval_degraded(&l), -1);
	assert_false(l.has & PCIE_HAS_DEGRADED);
	l.has = PCIE_HAS_CUR_WIDTH | PCIE_HAS_MAX_WIDTH;
	l.cur_width = l.max_width = 16;
	assert_int_equal(pcie_link_eval_degraded(&l), 0);
	assert_true(l.has & PCIE_HAS_DEGRADED);
	l.has |= PCIE_HAS_CUR_SPEED | PCIE_HAS_MAX_SPEED;
	l.cur_gts = 8;
	l.max_gts = 16;
	assert_int_equal(pcie_link_eval_degraded(&l), 1);
}

static void test_egpu_link(void **state)
{
	(void)state;
	int fd = open_root("egpu");
	static const char *const paths[] = { "bus/pci/devices/0000:05:00.0", "class/drm/card0/device",
					     GPU_RESOLVED };
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		struct pcie_link l;
		assert_int_equal(pcie_read(fd, paths[i], &l), 0);
		assert_string_equal(l.resolved, GPU_RESOLVED);
		assert_true(l.has & PCIE_HAS_CUR_SPEED);
		assert_true(l.has & PCIE_HAS_MAX_SPEED);
		assert_int_equal(l.cur_gen, 3);
		assert_int_equal(l.max_gen, 4);
		assert_int_equal(l.cur_width, 4);
		assert_int_equal(l.max_width, 16);
		assert_true(l.has & PCIE_HAS_DEGRADED);
		assert_int_equal(l.degraded, 1);
		assert_true(l.has & PCIE_HAS_AER_COR);
		assert_true(l.has & PCIE_HAS_AER_NONFATAL);
		assert_true(l.has & PCIE_HAS_AER_FATAL);
		assert_int_equal(l.aer_cor, 5);   /* the TOTAL line, not the sum (6) */
		assert_int_equal(l.aer_nonfatal, 3);
		assert_int_equal(l.aer_fatal, 0);
		assert_true(l.has & PCIE_HAS_TB);
		assert_int_equal(l.behind_tb, 1);
		/* no `removable` (an older kernel): the domain's place decides */
		assert_int_equal(l.tb_reason, PCIE_TB_DOMAIN);
		assert_string_equal(l.tb_via, "devices/pci0000:00/0000:00:1c.0/0000:03:00.0");
		assert_int_equal(l.tb_domains, 1u << 0);
		assert_true(l.has & PCIE_HAS_PM);
		assert_int_equal(l.suspended, 0);
	}
	close(fd);
}

static void test_plain_root_port(void **state)
{
	(void)state;
	int fd = open_root("egpu");
	struct pcie_link l;
	assert_int_equal(pcie_read(fd, "class/drm/card1/device", &l), 0);
	assert_string_equal(l.resolved, "devices/pci0000:00/0000:00:01.0/0000:01:00.0");
	assert_int_equal(l.cur_gen, 4);
	assert_int_equal(l.max_gen, 4);
	assert_int_equal(l.cur_width, 16);
	assert_true(l.has & PCIE_HAS_DEGRADED);
	assert_int_equal(l.degraded, 0);
	/* no AER files: absent, not zero */
	assert_false(l.has & (PCIE_HAS_AER_COR | PCIE_HAS_AER_NONFATAL | PCIE_HAS_AER_FATAL));
	assert_true(l.has & PCIE_HAS_TB);
	/* its root port carries a stray is_thunderbolt file: not trusted */
	assert_int_equal(l.behind_tb, 0);
	assert_int_equal(l.tb_reason, PCIE_TB_NONE);
	assert_int_equal(l.tb_domains, 0);
	close(fd);
}

static void test_removable_and_domain(void **state)
{
	(void)state;
	int fd = open_root("egpu");
	struct pcie_link l;
	/* newer kernels: `removable`.  Runtime-suspended: current_* not read
	 * (the fixture has them; reading would wake a real device). */
	assert_int_equal(pcie_read(fd, "bus/pci/devices/0000:0a:00.0", &l), 0);
	assert_int_equal(l.behind_tb, 1);
	assert_int_equal(l.tb_reason, PCIE_TB_REMOVABLE);
	assert_string_equal(l.tb_via, "devices/pci0000:00/0000:00:07.0/0000:0a:00.0");
	assert_int_equal(l.tb_domains, 0);   /* domain0 is a discrete controller's */
	assert_true(l.has & PCIE_HAS_PM);
	assert_int_equal(l.suspended, 1);
	assert_false(l.has & (PCIE_HAS_CUR_SPEED | PCIE_HAS_CUR_WIDTH));
	assert_true(l.has & PCIE_HAS_MAX_SPEED);
	assert_true(l.has & PCIE_HAS_MAX_WIDTH);
	assert_int_equal(l.max_gen, 5);
	assert_false(l.has & PCIE_HAS_DEGRADED);   /* nothing to compare */
	/* the domain's resolved place in the tree */
	enum pcie_tb_reason r;
	char via[PCIE_PATH_MAX];
	char res[PCIE_PATH_MAX];
	unsigned dom = 99;
	assert_int_equal(pcie_resolve(fd, "bus/thunderbolt/devices/0-1", res, sizeof res), 0);
	assert_string_equal(res, "devices/pci0000:00/0000:00:1c.0/0000:03:00.0/0000:04:00.0/"
				 "0000:06:00.0/domain0/0-0/0-1");
	/* the NHI and its own port are not behind it; the switch itself is not */
	assert_int_equal(pcie_behind_thunderbolt(fd, "devices/pci0000:00/0000:00:1c.0/0000:03:00.0/"
						     "0000:04:00.0/0000:06:00.0", &r, via, sizeof via, &dom), 0);
	assert_int_equal(r, PCIE_TB_NONE);
	assert_int_equal(dom, 0);
	assert_int_equal(pcie_behind_thunderbolt(fd, "devices/pci0000:00/0000:00:1c.0/0000:03:00.0",
						 &r, NULL, 0, NULL), 0);
	/* the hot-plug port is */
	assert_int_equal(pcie_behind_thunderbolt(fd, "devices/pci0000:00/0000:00:1c.0/0000:03:00.0/"
						     "0000:04:01.0", &r, via, sizeof via, &dom), 1);
	assert_int_equal(r, PCIE_TB_DOMAIN);
	assert_int_equal(dom, 1);
	close(fd);
}

/* An integrated controller (NHI on the root bus, Ice Lake and later): its
 * domain is a candidate for every removable device. */
static void test_integrated_domain(void **state)
{
	(void)state;
	char dir[] = "/tmp/rmon-test-pcie-XXXXXX", cmd[512];
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof cmd,
		 "cd %s && mkdir -p devices/pci0000:00/0000:00:0d.2/domain1 "
		 "devices/pci0000:00/0000:00:07.0/0000:2c:00.0 bus/thunderbolt/devices && "
		 "echo user > devices/pci0000:00/0000:00:0d.2/domain1/security && "
		 "echo removable > devices/pci0000:00/0000:00:07.0/0000:2c:00.0/removable && "
		 "ln -s ../../../devices/pci0000:00/0000:00:0d.2/domain1 bus/thunderbolt/devices/domain1",
		 dir);
	assert_int_equal(system(cmd), 0);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	enum pcie_tb_reason r;
	unsigned dom = 0;
	assert_int_equal(pcie_behind_thunderbolt(fd, "devices/pci0000:00/0000:00:07.0/0000:2c:00.0",
						 &r, NULL, 0, &dom), 1);
	assert_int_equal(r, PCIE_TB_REMOVABLE);
	assert_int_equal(dom, 1u << 1);
	/* without `removable`, nothing ties a root port to an integrated NHI */
	assert_int_equal(pcie_behind_thunderbolt(fd, "devices/pci0000:00/0000:00:07.0", &r, NULL, 0,
						 &dom), 0);
	assert_int_equal(dom, 0);
	close(fd);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_gpu_list(void **state)
{
	(void)state;
	int fd = open_root("egpu");
	struct pcie_gpu_list *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(pcie_gpus_read(fd, NULL, a), 0);
	/* bridges (0x0604) and the NHI (0x0880) are not GPUs; PCI order */
	assert_int_equal(a->n, 3);
	assert_int_equal(a->nnames, 10);
	assert_string_equal(a->gpu[0].bdf, "0000:01:00.0");
	assert_int_equal(a->gpu[0].vendor, 0x1002);
	assert_int_equal(a->gpu[0].device, 0x73bf);
	assert_string_equal(a->gpu[1].bdf, "0000:05:00.0");
	assert_int_equal(a->gpu[1].vendor, 0x10de);
	assert_int_equal(a->gpu[1].class_code, 0x030000);
	assert_string_equal(a->gpu[2].bdf, "0000:0a:00.0");
	/* an unchanged bus reuses the list */
	b->gpu[0].vendor = 1;
	assert_int_equal(pcie_gpus_read(fd, a, b), 0);
	assert_memory_equal(a, b, sizeof *a);
	close(fd);
	/* unplugged: a different listing is read afresh */
	fd = open_root("egpu-removed");
	assert_int_equal(pcie_gpus_read(fd, a, b), 0);
	assert_int_equal(b->n, 2);
	assert_string_equal(b->gpu[0].bdf, "0000:01:00.0");
	assert_string_equal(b->gpu[1].bdf, "0000:0a:00.0");
	close(fd);
	/* no PCI bus */
	fd = open_root("normal");
	assert_int_equal(pcie_gpus_read(fd, NULL, b), -ENOENT);
	assert_int_equal(b->n, 0);
	close(fd);
	free(a);
	free(b);
}

static void test_resolve_edges(void **state)
{
	(void)state;
	int fd = open_root("egpu");
	char res[PCIE_PATH_MAX];
	assert_int_equal(pcie_resolve(fd, "./bus//pci/devices/../devices/0000:05:00.0/", res, sizeof res), 0);
	assert_string_equal(res, GPU_RESOLVED);
	assert_int_equal(pcie_resolve(fd, "../../bus/pci/devices/0000:01:00.0", res, sizeof res), 0);
	assert_string_equal(res, "devices/pci0000:00/0000:00:01.0/0000:01:00.0");
	assert_int_equal(pcie_resolve(fd, "bus/pci/devices/0000:05:00.0", res, 8), -ENAMETOOLONG);
	assert_int_equal(pcie_resolve(fd, "bus/pci/devices/0000:99:00.0", res, sizeof res), -ENOENT);
	struct pcie_link l;
	assert_int_equal(pcie_read(fd, "bus/pci/devices/0000:99:00.0", &l), -ENOENT);
	close(fd);
	/* removed tree: the eGPU is gone */
	fd = open_root("egpu-removed");
	assert_int_equal(pcie_read(fd, "bus/pci/devices/0000:05:00.0", &l), -ENOENT);
	assert_int_equal(pcie_read(fd, "class/drm/card0/device", &l), -ENOENT);
	assert_int_equal(pcie_read(fd, "class/drm/card1/device", &l), 0);
	close(fd);
}

/* This machine's own /sys: the listing works, finds only display-class
 * devices, and every GPU's link reads without error. */
static void test_live_sysfs(void **state)
{
	(void)state;
	int fd = open("/sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || faccessat(fd, "bus/pci/devices", R_OK, 0) != 0) {
		if (fd >= 0)
			close(fd);
		skip();
	}
	struct pcie_gpu_list *l = calloc(1, sizeof *l);
	struct tb_list *tb = calloc(1, sizeof *tb);
	assert_non_null(l);
	assert_non_null(tb);
	assert_int_equal(pcie_gpus_read(fd, NULL, l), 0);
	assert_true(l->nnames > 0);
	print_message("live: %u PCI devices, %u GPUs\n", l->nnames, l->n);
	for (unsigned i = 0; i < l->n; i++) {
		char p[64];
		struct pcie_link link;
		assert_int_equal(l->gpu[i].class_code >> 16, 0x03);
		snprintf(p, sizeof p, "bus/pci/devices/%s", l->gpu[i].bdf);
		assert_int_equal(pcie_read(fd, p, &link), 0);
	}
	int rc = tb_list_read(fd, tb);
	assert_true(rc == 0 || rc == -ENOENT);
	close(fd);
	free(l);
	free(tb);
}

/* ---- thunderbolt ---------------------------------------------------------- */

static void test_tb_names(void **state)
{
	(void)state;
	assert_true(tb_is_device_name("0-1"));
	assert_true(tb_is_device_name("0-301"));
	assert_true(tb_is_device_name("1-3"));
	assert_false(tb_is_device_name("0-0"));
	assert_false(tb_is_device_name("1-0"));
	assert_false(tb_is_device_name("domain0"));
	assert_false(tb_is_device_name("0-1.1"));
	assert_false(tb_is_device_name("0-0:1.1"));
	assert_false(tb_is_device_name("usb4_port1"));
	assert_false(tb_is_device_name("0-"));
	double g = 0;
	assert_int_equal(tb_parse_speed("20.0 Gb/s\n", 10, &g), 0);
	assert_true(g == 20.0);
	assert_int_equal(tb_parse_speed("40 Gb/s", 7, &g), 0);
	assert_true(g == 40.0);
	assert_int_equal(tb_parse_speed("fast\n", 5, &g), -EINVAL);
}

static void test_tb_list(void **state)
{
	(void)state;
	int fd = open_root("egpu");
	struct tb_list *l = calloc(1, sizeof *l);
	assert_non_null(l);
	assert_int_equal(tb_list_read(fd, l), 0);
	assert_int_equal(l->n, 1);   /* domain0 and host router 0-0 skipped */
	const struct tb_device *d = tb_list_find(l, "0-1");
	assert_non_null(d);
	assert_null(tb_list_find(l, "0-0"));
	assert_string_equal(d->vendor_name, "Razer");
	assert_string_equal(d->device_name, "Core X Chroma");
	assert_string_equal(d->unique_id, "00d4a9e0-8a5f-8a00-ffff-ffffffffffff");
	assert_true(d->has & TB_HAS_AUTHORIZED);
	assert_int_equal(d->authorized, 1);
	assert_int_equal(d->generation, 3);
	assert_true(d->rx_gbps == 20.0 && d->tx_gbps == 20.0);
	assert_int_equal(d->rx_lanes, 2);
	assert_int_equal(d->tx_lanes, 2);
	double g;
	assert_int_equal(tb_link_gbps(d, 0, &g), 0);
	assert_true(g == 40.0);
	assert_int_equal(tb_link_gbps(d, 1, &g), 0);
	assert_true(g == 40.0);
	struct tb_device none = { 0 };
	assert_int_equal(tb_link_gbps(&none, 0, &g), -ENODATA);
	close(fd);
	free(l);
}

static void test_tb_diff(void **state)
{
	(void)state;
	struct tb_list *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
	struct tb_diff df;
	assert_non_null(a);
	assert_non_null(b);
	int fd = open_root("egpu");
	assert_int_equal(tb_list_read(fd, a), 0);
	close(fd);
	fd = open_root("egpu-removed");
	assert_int_equal(tb_list_read(fd, b), 0);
	close(fd);
	assert_int_equal(b->n, 0);
	/* unplug */
	tb_list_diff(a, b, &df);
	assert_int_equal(df.nappeared, 0);
	assert_int_equal(df.ndisappeared, 1);
	assert_string_equal(a->dev[df.disappeared[0]].id, "0-1");
	/* plug */
	tb_list_diff(b, a, &df);
	assert_int_equal(df.nappeared, 1);
	assert_int_equal(df.ndisappeared, 0);
	assert_string_equal(a->dev[df.appeared[0]].id, "0-1");
	/* nothing changed */
	tb_list_diff(a, a, &df);
	assert_int_equal(df.nappeared + df.ndisappeared, 0);
	/* another enclosure on the same route: both events */
	*b = *a;
	strcpy(b->dev[0].unique_id, "11111111-2222-3333-4444-555555555555");
	tb_list_diff(a, b, &df);
	assert_int_equal(df.nappeared, 1);
	assert_int_equal(df.ndisappeared, 1);
	/* no thunderbolt bus at all */
	fd = open_root("normal");
	assert_int_equal(tb_list_read(fd, b), -ENOENT);
	assert_int_equal(b->n, 0);
	close(fd);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_speed_parse),
		cmocka_unit_test(test_width_parse),
		cmocka_unit_test(test_aer_parse),
		cmocka_unit_test(test_degraded_eval),
		cmocka_unit_test(test_egpu_link),
		cmocka_unit_test(test_plain_root_port),
		cmocka_unit_test(test_removable_and_domain),
		cmocka_unit_test(test_integrated_domain),
		cmocka_unit_test(test_gpu_list),
		cmocka_unit_test(test_live_sysfs),
		cmocka_unit_test(test_resolve_edges),
		cmocka_unit_test(test_tb_names),
		cmocka_unit_test(test_tb_list),
		cmocka_unit_test(test_tb_diff),
	};
	return cmocka_run_group_tests_name("pcie", tests, NULL, NULL);
}
