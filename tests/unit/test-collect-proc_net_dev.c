/* proc_net_dev: parsing (old kernels, dotted names), rates, resets,
 * interfaces coming and going. */
#include "test-collect.h"

static struct fx_cap cap;
static const struct collector *const ND = &proc_net_dev_collector;

static int parse(const char *line, struct net_line *n)
{
	return proc_net_dev_parse_line(line, line + strlen(line), n);
}

static void test_parse_lines(void **state)
{
	(void)state;
	struct net_line n;
	assert_int_equal(parse("    lo:    3267      29    1    2    0     0          0         0"
			       "     3268      30    3    4    0     0       0          0", &n), 0);
	assert_int_equal(n.namelen, 2);
	assert_memory_equal(n.name, "lo", 2);
	assert_true(n.c[NET_RX_BYTES] == 3267 && n.c[NET_RX_PACKETS] == 29);
	assert_true(n.c[NET_RX_ERRS] == 1 && n.c[NET_RX_DROP] == 2);
	assert_true(n.c[NET_TX_BYTES] == 3268 && n.c[NET_TX_PACKETS] == 30);
	assert_true(n.c[NET_TX_ERRS] == 3 && n.c[NET_TX_DROP] == 4);
	/* Old kernels: no space after the colon. */
	assert_int_equal(parse("  eth0:987654321   20000 1 2 0 0 0 0 123456789 15000 0 3 0 0 0 0", &n), 0);
	assert_memory_equal(n.name, "eth0", 4);
	assert_true(n.c[NET_RX_BYTES] == 987654321 && n.c[NET_TX_DROP] == 3);
	/* A VLAN's dot is part of the name. */
	assert_int_equal(parse("eth0.100: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", &n), 0);
	assert_int_equal(n.namelen, 8);
	assert_true(n.c[NET_TX_BYTES] == 9 && n.c[NET_TX_DROP] == 12);
	/* Headers, short lines, no name, a header-like name. */
	assert_int_equal(parse("Inter-|   Receive                    |  Transmit", &n), 1);
	assert_int_equal(parse(" face |bytes    packets errs drop fifo frame", &n), 1);
	assert_int_equal(parse("  bad0: 1 2 3", &n), -EINVAL);
	assert_int_equal(parse("   : 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", &n), -EINVAL);
	assert_int_equal(parse("a|b: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", &n), -EINVAL);
	assert_int_equal(parse("", &n), 1);
}

static const char normal_t1[] =
	"Inter-|   Receive                                                |  Transmit\n"
	" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
	"    lo:    4267      39    0    0    0     0          0         0     4267      39    0    0    0     0       0          0\n"
	"  eth0: 18830509     636    2    4    0     0          0         0    37417     351    6    8    0     0       0          0\n"
	" wlan0:  1000000    1000    0    0    0     0          0         0   500000     800    0    0    0     0       0          0\n"
	"eth0.100:     5500      55    0    0    0     0          0         0     6000      60    0    0    0     0       0          0\n";

static void test_rates(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "normal");
	void *st = fx_open(ND, &root);
	assert_int_equal(fx_sample(ND, st, &cap, FX_SEC), 0);
	/* Rates only: every interface has its record, none has a field. */
	assert_int_equal(fx_count(&cap, RM_KIND_NET), 4);
	assert_empty(fx_find(&cap, RM_KIND_NET, "eth0.100"));
	fx_write(&root, "proc/net/dev", normal_t1);
	assert_int_equal(fx_sample(ND, st, &cap, FX_SEC + FX_SEC / 2), 0);
	assert_int_equal(fx_count(&cap, RM_KIND_NET), 4);
	const struct rm_rec *r = fx_find(&cap, RM_KIND_NET, "eth0");
	/* Over 0.5 s: rx +50000 B +100 pkts +1 err +2 drop; tx +10000 B
	 * +20 pkts +3 errs +4 drops. */
	assert_field(r, RM_NET_RX_BPS, 100000);
	assert_field(r, RM_NET_RX_PPS, 200);
	assert_field(r, RM_NET_RX_ERRS_PS, 2);
	assert_field(r, RM_NET_RX_DROP_PS, 4);
	assert_field(r, RM_NET_TX_BPS, 20000);
	assert_field(r, RM_NET_TX_PPS, 40);
	assert_field(r, RM_NET_TX_ERRS_PS, 6);
	assert_field(r, RM_NET_TX_DROP_PS, 8);
	assert_field(fx_find(&cap, RM_KIND_NET, "lo"), RM_NET_RX_BPS, 2000);
	assert_field(fx_find(&cap, RM_KIND_NET, "wlan0"), RM_NET_TX_BPS, 0);
	assert_field(fx_find(&cap, RM_KIND_NET, "eth0.100"), RM_NET_RX_BPS, 1000);
	ND->close(st);
	fx_root_close(&root);
}

static void test_old_kernel(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "old");
	void *st = fx_open(ND, &root);
	assert_int_equal(fx_sample(ND, st, &cap, FX_SEC), 0);
	fx_write(&root, "proc/net/dev",
		 "Inter-|   Receive                                                |  Transmit\n"
		 " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
		 "    lo:12345678     100    0    0    0     0          0         0 12345678     100    0    0    0     0       0          0\n"
		 "  eth0:987655321   20010    1    2    0     0          0         0 123456789   15000    0    3    0     0       0          0\n"
		 "  bad0: 1 2 3\n");
	assert_int_equal(fx_sample(ND, st, &cap, 2 * FX_SEC), 0);
	assert_int_equal(fx_count(&cap, RM_KIND_NET), 2);
	assert_field(fx_find(&cap, RM_KIND_NET, "eth0"), RM_NET_RX_BPS, 1000);
	assert_field(fx_find(&cap, RM_KIND_NET, "eth0"), RM_NET_RX_PPS, 10);
	assert_null(fx_find(&cap, RM_KIND_NET, "bad0"));
	ND->close(st);
	fx_root_close(&root);
}

static void test_reset(void **state)
{
	(void)state;
	struct fx_root root;
	fx_root_tmp(&root, "wrap/t0");
	void *st = fx_open(ND, &root);
	assert_int_equal(fx_sample(ND, st, &cap, FX_SEC), 0);
	fx_overlay(&root, "wrap/t1");
	assert_int_equal(fx_sample(ND, st, &cap, 2 * FX_SEC), 0);
	/* eth0's 64-bit counters went backwards: no reading at all. */
	assert_empty(fx_find(&cap, RM_KIND_NET, "eth0"));
	assert_field(fx_find(&cap, RM_KIND_NET, "lo"), RM_NET_RX_BPS, 1000);
	fx_overlay(&root, "wrap/t2");
	assert_int_equal(fx_sample(ND, st, &cap, 3 * FX_SEC), 0);
	const struct rm_rec *r = fx_find(&cap, RM_KIND_NET, "eth0");
	assert_field(r, RM_NET_RX_BPS, 1000);
	assert_field(r, RM_NET_TX_BPS, 500);
	assert_field(r, RM_NET_RX_PPS, 10);
	ND->close(st);
	fx_root_close(&root);
}

static void test_appear_disappear(void **state)
{
	(void)state;
	static const char head[] =
		"Inter-|   Receive                                                |  Transmit\n"
		" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n";
	char buf[1024];
	struct fx_root root;
	fx_root_tmp(&root, "normal");
	void *st = fx_open(ND, &root);
	fx_fmt(buf, sizeof buf, "%s%s", head, "    lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n"
					      "  veth0: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n");
	fx_write(&root, "proc/net/dev", buf);
	assert_int_equal(fx_sample(ND, st, &cap, FX_SEC), 0);
	fx_fmt(buf, sizeof buf, "%s%s", head, "    lo: 2 2 0 0 0 0 0 0 2 2 0 0 0 0 0 0\n");
	fx_write(&root, "proc/net/dev", buf);
	assert_int_equal(fx_sample(ND, st, &cap, 2 * FX_SEC), 0);
	assert_int_equal(fx_count(&cap, RM_KIND_NET), 1);
	/* veth0 re-created with fresh counters: a baseline, not a rate. */
	fx_fmt(buf, sizeof buf, "%s%s", head, "    lo: 3 3 0 0 0 0 0 0 3 3 0 0 0 0 0 0\n"
					      "  veth0: 5000 5 0 0 0 0 0 0 5000 5 0 0 0 0 0 0\n");
	fx_write(&root, "proc/net/dev", buf);
	assert_int_equal(fx_sample(ND, st, &cap, 3 * FX_SEC), 0);
	assert_empty(fx_find(&cap, RM_KIND_NET, "veth0"));
	assert_field(fx_find(&cap, RM_KIND_NET, "lo"), RM_NET_RX_BPS, 1);
	ND->close(st);
	fx_root_close(&root);
}

static void test_missing(void **state)
{
	(void)state;
	struct fx_root root;
	void *st = NULL;
	fx_root_open(&root, "thermal");
	assert_int_equal(ND->open(&root.env, &st), -ENOENT);
	fx_root_close(&root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_lines),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_old_kernel),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_appear_disappear),
		cmocka_unit_test(test_missing),
	};
	return cmocka_run_group_tests_name("proc_net_dev", tests, NULL, NULL);
}
