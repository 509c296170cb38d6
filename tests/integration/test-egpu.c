/*
 * eGPU links end to end: a real rmond on a copy of the egpu fixture tree
 * (tests/fixtures/linux/egpu: an AMD GPU in a root port, an NVIDIA GPU in
 * a Razer Core X Chroma behind a discrete TB3 controller, x4 of x16 and
 * gen3 of gen4 with AER counts, and an Intel GPU behind a USB4 root port,
 * runtime-suspended), with a vendor stats file the test writes.  The
 * test changes the tree under the running daemon: AER counts grow, the
 * enclosure is unplugged and plugged back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct daemon_proc the_daemon;
static char sys_dir[400], stats_path[400], fixture[400];
static char out[8 << 20], err[4096];   /* status --json holds every tracked thread */

#define PORT_DIR "devices/pci0000:00/0000:00:1c.0/0000:03:00.0/0000:04:01.0"
#define GPU_DIR PORT_DIR "/0000:05:00.0"
#define ROUTER_DIR "devices/pci0000:00/0000:00:1c.0/0000:03:00.0/0000:04:00.0/0000:06:00.0/" \
	"domain0/0-0/0-1"

#define ctl(...) harness_ctl(the_daemon.sock, out, sizeof out, err, sizeof err, __VA_ARGS__)

/* Polls are generous: under valgrind the daemon runs far slower. */
static int patience_ms(void)
{
	return getenv("RMON_VALGRIND") ? 20000 : 5000;
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

/* Replace a file whole (a reader never sees half of it). */
static void write_file(const char *path, const char *text)
{
	char tmp[512];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(rename(tmp, path), 0);
}

static void write_sys(const char *rel, const char *text)
{
	char p[600];
	snprintf(p, sizeof p, "%s/%s", sys_dir, rel);
	write_file(p, text);
}

/* "@1763720000.123": now, as a --since argument. */
static void since_now(char *buf, size_t len)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, len, "@%lld.%03ld", (long long)ts.tv_sec, ts.tv_nsec / 1000000);
}

/* The single value `rmonctl get SEL` prints, or NAN (no reading). */
static double get_value(const char *sel)
{
	if (ctl("get", sel, NULL) != 0)
		return NAN;
	return strtod(out, NULL);
}

/* Wait until `get sel` reads want. */
static void wait_value(const char *sel, double want)
{
	for (int ms = 0; ms < patience_ms(); ms += 50) {
		if (get_value(sel) == want)
			return;
		usleep(50000);
	}
	fail_msg("%s never read %g (last: %s%s)", sel, want, out, err);
}

/* Events since `since` as CSV (ts_ns,time,code,index,text). */
static const char *events_since(const char *since)
{
	if (ctl("query", "event.*", "--since", since, "--format", "csv", NULL) != 0)
		return "";
	return out;
}

static void wait_event(const char *since, const char *text)
{
	for (int ms = 0; ms < patience_ms(); ms += 50) {
		if (strstr(events_since(since), text))
			return;
		usleep(50000);
	}
	char log[8192] = "";
	FILE *f = fopen(the_daemon.log, "r");
	if (f) {
		log[fread(log, 1, sizeof log - 1, f)] = '\0';
		fclose(f);
	}
	fail_msg("no event \"%s\" since %s; events:\n%s%s\nrmond's log:\n%s", text, since, out,
		 err, log);
}

/* Every value of a single-series CSV query: n, with nil as NAN. */
static unsigned csv_values(double *v, unsigned cap)
{
	unsigned n = 0;
	const char *p = strchr(out, '\n');   /* past the header */
	while (p && p[1] && n < cap) {
		p++;
		const char *c = strchr(p, ',');
		c = c ? strchr(c + 1, ',') : NULL;   /* past ts_ns and time */
		if (!c)
			break;
		v[n++] = c[1] == '\n' || c[1] == '\0' ? NAN : strtod(c + 1, NULL);
		p = strchr(c, '\n');
	}
	return n;
}

/* Some line of out holds both a and b, a first. */
static bool line_has(const char *a, const char *b)
{
	for (const char *p = out; (p = strstr(p, a)); p++) {
		const char *nl = strchr(p, '\n'), *q = strstr(p, b);
		if (q && (!nl || q < nl))
			return true;
	}
	return false;
}

/* The largest value of a single-series CSV query (0 when none). */
static double csv_max(unsigned *n)
{
	double v[512], max = 0;
	*n = csv_values(v, 512);
	for (unsigned i = 0; i < *n; i++)
		if (!isnan(v[i]) && v[i] > max)
			max = v[i];
	return max;
}

static int start_daemon(void **state)
{
	char cfg[400];
	(void)state;
	harness_init(&the_daemon);
	snprintf(fixture, sizeof fixture, "%s/tests/fixtures/linux/egpu/sys",
	         getenv("RMON_SRCDIR") ? getenv("RMON_SRCDIR") : ".");
	snprintf(sys_dir, sizeof sys_dir, "%s/sys", the_daemon.dir);
	snprintf(stats_path, sizeof stats_path, "%s/acme-stats", the_daemon.dir);
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", fixture, sys_dir);
	if (system(cmd) != 0)
		return -1;
	write_file(stats_path, "format_version: 1\nepoch: 1\ntx_bytes: 1000\nrx_bytes: 0\n"
			       "dma_latency_ns: 850 ns\nconnections: 2\nerrors: 0\nvendor_queue: 7\n");
	snprintf(cfg, sizeof cfg, "%s/rmond.yaml", the_daemon.dir);
	FILE *f = fopen(cfg, "w");
	if (!f)
		return -1;
	fprintf(f, "gpu:\n  nvidia:\n    library: ''\n"
	           "egpu:\n  interval: 100ms\n  stats_files:\n    - path: '%s'\n      gpu: 05:00.0\n",
	        stats_path);
	fclose(f);
	const char *extra[] = { "--config", cfg, "--memory", "--sysfs", sys_dir, NULL };
	if (harness_start(&the_daemon, extra) < 0)
		return -1;
	return 0;
}

static int stop_daemon(void **state)
{
	(void)state;
	int rc = harness_stop(&the_daemon);
	harness_cleanup(&the_daemon);
	return rc == 0 ? 0 : -1;
}

/* Indices in PCI address order; the degraded eGPU link, as get reads it. */
static void test_links(void **state)
{
	(void)state;
	/* the event waits for the state to hold 3 ticks; the field does not */
	wait_event("1m", "egpu 1 degraded: gen3 x4 of gen4 x16");
	assert_true(get_value("egpu:1.degraded") == 1);
	assert_true(get_value("egpu:1.link_width") == 4);
	assert_true(get_value("egpu:1.link_width_max") == 16);
	assert_true(get_value("egpu:1.link_gen") == 3);
	assert_true(get_value("egpu:1.link_gen_max") == 4);
	assert_true(get_value("egpu:1.link_gts") == 8);
	assert_true(get_value("egpu:1.behind_tb") == 1);
	assert_true(get_value("egpu:1.tb_gen") == 3);
	assert_true(get_value("egpu:1.tb_rx_gbps") == 40);
	assert_true(get_value("egpu:1.tb_authorized") == 1);
	assert_true(get_value("egpu:1.aer_nonfatal_total") == 3);
	assert_true(get_value("egpu:0.degraded") == 0);
	assert_true(get_value("egpu:0.behind_tb") == 0);
	assert_true(isnan(get_value("egpu:0.aer_cor_total")));   /* no AER files: no reading */
	assert_true(isnan(get_value("egpu:0.tb_gen")));
	/* runtime-suspended: its link is not read (that would wake it) */
	assert_true(get_value("egpu:2.behind_tb") == 1);
	assert_true(isnan(get_value("egpu:2.link_width")));
	assert_true(get_value("egpu:2.link_width_max") == 16);

	assert_int_equal(ctl("status", "--json", NULL), 0);
	assert_non_null(strstr(out, "\"egpu\":true"));
	assert_non_null(strstr(out, "{\"index\":0,\"connected\":true,\"name\":\"AMD 1002:73bf\","
				    "\"pci\":\"0000:01:00.0\""));
	assert_non_null(strstr(out, "{\"index\":1,\"connected\":true,\"name\":\"Razer Core X Chroma\","
				    "\"pci\":\"0000:05:00.0\""));
	assert_non_null(strstr(out, "\"router\":\"0-1\",\"tb_via\":\"tb-switch\""));
	assert_non_null(strstr(out, "{\"index\":2,\"connected\":true,\"name\":\"Intel 8086:56a0\","
				    "\"pci\":\"0000:0a:00.0\""));
	assert_non_null(strstr(out, "\"tb_via\":\"removable\",\"suspended\":true"));
	assert_non_null(strstr(out, "\"label\":\"Razer Core X Chroma\""));

	assert_int_equal(ctl("status", NULL), 0);
	assert_non_null(strstr(out, "eGPU"));
	assert_non_null(strstr(out, "Razer Core X Chroma    gen3 x4 / gen4 x16  DEGRADED"));
	assert_non_null(strstr(out, "TB3 40 Gb/s 0-1"));
	assert_non_null(strstr(out, "suspended"));
	assert_non_null(strstr(out, "egpu 1 degraded: gen3 x4 of gen4 x16"));   /* the last event */
}

/* AER counters that grow between ticks give a rate; status shows both. */
static void test_aer_rates(void **state)
{
	char since[40];
	unsigned n;
	(void)state;
	since_now(since, sizeof since);
	write_sys(GPU_DIR "/aer_dev_correctable", "Receiver Error 23\nBad TLP 1\nBad DLLP 2\n"
						 "TOTAL_ERR_COR 25\n");
	wait_value("egpu:1.aer_cor_total", 25);
	assert_int_equal(ctl("query", "egpu:1.aer_cor_ps", "--since", since, "--format", "csv", NULL), 0);
	double max = csv_max(&n);
	print_message("aer_cor_ps over %u ticks: max %.1f/s\n", n, max);
	assert_true(max > 20);   /* 20 errors in one tick of ~100 ms */
	assert_true(get_value("egpu:1.aer_fatal_ps") == 0);

	assert_int_equal(ctl("status", NULL), 0);
	assert_non_null(strstr(out, "AER total 25/3/0"));
	assert_int_equal(ctl("status", "--json", NULL), 0);
	assert_non_null(strstr(out, "\"aer_cor_total\":25"));
	assert_non_null(strstr(out, "\"aer_cor_ps\":"));
}

/* The vendor stats file: rates from growing counters, malformed lines
 * counted, an epoch change never read as traffic. */
static void test_stats_file(void **state)
{
	char since[40];
	double v[512];
	(void)state;
	wait_value("egpu:1.connections", 2);   /* "connections:" is tb_connections */
	assert_true(get_value("egpu:1.dma_latency_ns") == 850);
	assert_true(get_value("egpu:1.stats_malformed") == 0);
	assert_true(get_value("egpu:1.tx_bps") == 0);
	assert_true(isnan(get_value("egpu:0.tx_bps")));   /* no stats file for that one */

	since_now(since, sizeof since);
	write_file(stats_path, "format_version: 1\nepoch: 1\ntx_bytes: 50001000\nrx_bytes: 0\n"
			       "dma_latency_ns: 900 ns\nconnections: 2\nerrors: 5\nvendor_queue: 7\n"
			       "this line is not key: value\ntx_bytes 12\n");
	wait_value("egpu:1.stats_malformed", 2);
	wait_value("egpu:1.dma_latency_ns", 900);
	assert_int_equal(ctl("query", "egpu:1.tx_bps", "--since", since, "--format", "csv", NULL), 0);
	unsigned n;
	double max = csv_max(&n);
	print_message("tx_bps after 50 MB in one tick: max %.3g B/s\n", max);
	assert_true(max > 1e8);   /* 5e7 bytes over ~0.1 s */

	assert_int_equal(ctl("status", "--json", NULL), 0);
	assert_non_null(strstr(out, "\"malformed\":2,\"extra\":{\"vendor_queue\":7}"));
	assert_int_equal(ctl("status", NULL), 0);
	assert_non_null(strstr(out, "2 malformed lines  vendor_queue 7"));

	/* The driver reset its counters and says so with a new epoch; the new
	 * tx_bytes is larger than the old, so only the epoch tells. */
	since_now(since, sizeof since);
	write_file(stats_path, "format_version: 1\nepoch: 2\ntx_bytes: 900000000000\nrx_bytes: 0\n");
	for (int ms = 0; ms < patience_ms(); ms += 50) {
		usleep(50000);
		if (ctl("query", "egpu:1.tx_bps", "--since", since, "--format", "csv", NULL) == 0 &&
		    csv_values(v, 512) >= 4)
			break;
	}
	n = csv_values(v, 512);
	unsigned nil = 0;
	for (unsigned i = 0; i < n; i++) {
		if (isnan(v[i]))
			nil++;
		else
			assert_true(v[i] == 0);   /* never 9e11 bytes in one tick */
	}
	assert_true(n >= 4);
	assert_int_equal(nil, 1);   /* the tick of the reset: no rate */
	assert_true(isnan(get_value("egpu:1.dma_latency_ns")));   /* no longer in the file */
}

/* Unplug: link down and disconnected, one last record, its lane stops;
 * plug back: the same index again. */
static void test_unplug_replug(void **state)
{
	char since[40], a[600], b[600];
	(void)state;
	since_now(since, sizeof since);
	snprintf(a, sizeof a, "%s/" GPU_DIR, sys_dir);
	snprintf(b, sizeof b, "%s/" ROUTER_DIR, sys_dir);
	sh("rm -rf '%s' '%s' '%s/bus/pci/devices/0000:05:00.0' '%s/bus/thunderbolt/devices/0-1'",
	   a, b, sys_dir, sys_dir);
	wait_event(since, "egpu 1 disconnected: Razer Core X Chroma");
	const char *ev = events_since(since);
	const char *down = strstr(ev, ",2,1,link down: Razer Core X Chroma (0-1)");
	const char *gone = strstr(ev, ",3,1,egpu 1 disconnected: Razer Core X Chroma");
	assert_non_null(down);
	assert_non_null(gone);
	assert_true(down < gone);   /* in the order they happened */
	assert_int_not_equal(ctl("get", "egpu:1.link_width", NULL), 0);   /* no record now */
	/* one last record says connected 0, then the lane stops */
	double v[512];
	assert_int_equal(ctl("query", "egpu:1.connected", "--since", since, "--format", "csv", NULL), 0);
	unsigned n = csv_values(v, 512);
	assert_true(n >= 1);
	assert_true(v[n - 1] == 0);
	usleep(400000);
	assert_int_equal(ctl("query", "egpu:1.connected", "--since", since, "--format", "csv", NULL), 0);
	assert_int_equal(csv_values(v, 512), n);
	assert_int_equal(ctl("status", "--json", NULL), 0);
	assert_non_null(strstr(out, "{\"index\":1,\"connected\":false,\"name\":\"Razer Core X Chroma\""));
	assert_non_null(strstr(out, "\"error\":\"GPU not present\""));
	assert_int_equal(ctl("status", NULL), 0);
	assert_true(line_has("Razer Core X Chroma", "disconnected"));

	/* plugged in: the router first (its PCIe tunnel comes once it is
	 * authorized), then the GPU behind it.  Each directory appears whole
	 * (copied aside, then renamed), and the rest of the tree (the bus
	 * links) is copied without overwriting what is there: a tick must not
	 * see a half-written router or GPU, as no kernel shows one. */
	since_now(since, sizeof since);
	sh("cp -a '%s/" ROUTER_DIR "' '%s/" ROUTER_DIR ".new' && mv '%s/" ROUTER_DIR ".new' '%s/"
	   ROUTER_DIR "' && cp -a '%s/" GPU_DIR "' '%s/" GPU_DIR ".new' && mv '%s/" GPU_DIR ".new' '%s/"
	   GPU_DIR "' && cp -an '%s/.' '%s/'", fixture, sys_dir, sys_dir, sys_dir, fixture, sys_dir,
	   sys_dir, sys_dir, fixture, sys_dir);
	wait_event(since, "egpu 1 reconnected: Razer Core X Chroma");
	wait_event(since, "link up: Razer Core X Chroma (0-1)");   /* maybe a tick apart */
	ev = events_since(since);
	assert_non_null(strstr(ev, ",1,1,\"link up: Razer Core X Chroma (0-1), 40 Gb/s\""));
	assert_non_null(strstr(ev, ",4,1,egpu 1 reconnected: Razer Core X Chroma"));
	wait_value("egpu:1.link_width", 4);
	wait_event(since, "egpu 1 degraded: gen3 x4 of gen4 x16");   /* a new link, a new verdict */
	assert_true(get_value("egpu:1.connected") == 1);
	assert_true(get_value("egpu:1.aer_cor_total") == 5);   /* the fixture's again */
	assert_int_equal(ctl("get", "egpu:*.index", NULL), 0);
	assert_non_null(strstr(out, "egpu:1.index 1"));
	assert_null(strstr(out, "egpu:3."));   /* no new index */

	/* the link trains up to x16 gen4: restored */
	since_now(since, sizeof since);
	write_sys(GPU_DIR "/current_link_width", "16\n");
	write_sys(GPU_DIR "/current_link_speed", "16.0 GT/s PCIe\n");
	wait_event(since, "egpu 1 restored: gen4 x16");
	assert_true(get_value("egpu:1.degraded") == 0);
}

/* A dock on the same Thunderbolt domain: link up and down with no GPU
 * index, listed in status as a router without a GPU; the GPU keeps its
 * enclosure. */
static void test_dock(void **state)
{
	char since[40];
	(void)state;
	since_now(since, sizeof since);
	sh("cd '%s' && D=" ROUTER_DIR "/../0-3 && mkdir $D && cp " ROUTER_DIR "/* $D/ && "
	   "echo CalDigit > $D/vendor_name && echo 'TS3 Plus' > $D/device_name && "
	   "echo 11111111-2222-3333-4444-555555555555 > $D/unique_id && "
	   "ln -s ../../../" ROUTER_DIR "/../0-3 bus/thunderbolt/devices/0-3", sys_dir);
	wait_event(since, "link up: CalDigit TS3 Plus (0-3)");
	assert_non_null(strstr(events_since(since), ",1,,\"link up: CalDigit TS3 Plus (0-3), 40 Gb/s\""));
	usleep(300000);
	assert_int_equal(ctl("status", "--json", NULL), 0);
	assert_non_null(strstr(out, "{\"id\":\"0-1\",\"name\":\"Razer Core X Chroma\",\"authorized\":1,"
				    "\"generation\":3,\"rx_gbps\":40.0,\"tx_gbps\":40.0,\"rx_lanes\":2,"
				    "\"tx_lanes\":2,\"gpu\":1}"));
	assert_non_null(strstr(out, "{\"id\":\"0-3\",\"name\":\"CalDigit TS3 Plus\""));
	assert_non_null(strstr(out, "\"gpu\":null}"));
	assert_int_equal(ctl("status", NULL), 0);
	assert_non_null(strstr(out, "Thunderbolt 0-3 CalDigit TS3 Plus: TB3 40 Gb/s authorized, no GPU"));
	assert_non_null(strstr(out, "TB3 40 Gb/s 0-1"));   /* the GPU's router is still known */
	since_now(since, sizeof since);
	sh("cd '%s' && rm -rf " ROUTER_DIR "/../0-3 bus/thunderbolt/devices/0-3", sys_dir);
	wait_event(since, "link down: CalDigit TS3 Plus (0-3)");
	assert_non_null(strstr(events_since(since), ",2,,link down: CalDigit TS3 Plus (0-3)"));
}

/* The enclosure comes back at another PCI address (the bus numbers were
 * handed out again): its router's unique_id gives it its old index. */
static void test_replug_new_address(void **state)
{
	char since[40], gpu[600], router[600];
	(void)state;
	snprintf(gpu, sizeof gpu, "%s/" GPU_DIR, sys_dir);
	snprintf(router, sizeof router, "%s/" ROUTER_DIR, sys_dir);
	since_now(since, sizeof since);
	sh("rm -rf '%s' '%s' '%s/bus/pci/devices/0000:05:00.0' '%s/bus/thunderbolt/devices/0-1'",
	   gpu, router, sys_dir, sys_dir);
	wait_event(since, "egpu 1 disconnected");
	since_now(since, sizeof since);
	sh("cp -a '%s/" ROUTER_DIR "' '%s' && cp -a '%s/bus/thunderbolt/devices/0-1' "
	   "'%s/bus/thunderbolt/devices/' && "
	   "cp -a '%s/" GPU_DIR "' '%s/" PORT_DIR "/0000:07:00.0' && "
	   "ln -s ../../../" PORT_DIR "/0000:07:00.0 '%s/bus/pci/devices/0000:07:00.0'",
	   fixture, router, fixture, sys_dir, fixture, sys_dir, sys_dir);
	wait_event(since, "egpu 1 reconnected: Razer Core X Chroma");
	assert_int_equal(ctl("status", "--json", NULL), 0);
	assert_non_null(strstr(out, "{\"index\":1,\"connected\":true,\"name\":\"Razer Core X Chroma\","
				    "\"pci\":\"0000:07:00.0\""));
	assert_null(strstr(out, "{\"index\":3,"));
	wait_value("egpu:1.link_width", 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_aer_rates),
		cmocka_unit_test(test_stats_file),
		cmocka_unit_test(test_unplug_replug),
		cmocka_unit_test(test_dock),
		cmocka_unit_test(test_replug_new_address),
	};
	return cmocka_run_group_tests_name("egpu", tests, start_daemon, stop_daemon);
}
