/*
 * The device screen of `rmonctl watch --gpu/--egpu` (client/dev-view.c):
 * canned samples in, the screen rendered into memory, and its graph
 * columns, scale, labels and colours checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client-test-helpers.h"
#include "dev-view.h"
#include "msg.h"

#define RED "\033[31m"
#define SEC 1000000000ull
#define T0 (1763720000ull * SEC)

/* One field of a canned record: a name and a value; NAN leaves it out. */
struct kv {
	const char *k;
	double v;
};

/* {ts, kind, devices: [{ts, key, label, fields...}]} for one device. */
static const msgpack_object *sample1(struct obj *o, uint64_t ts, const char *kind, const char *key,
				     const char *label, const struct kv *f, size_t nf)
{
	msgpack_packer *pk = obj_begin(o);
	uint32_t n = 3;
	for (size_t i = 0; i < nf; i++)
		n += !isnan(f[i].v);
	msgpack_pack_map(pk, 3);
	msg_pack_kv_u64(pk, "ts", ts);
	msg_pack_kv_str(pk, "kind", kind);
	msg_pack_str(pk, "devices");
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, n);
	msg_pack_kv_u64(pk, "ts", ts);
	msg_pack_kv_str(pk, "key", key);
	msg_pack_kv_str(pk, "label", label);
	for (size_t i = 0; i < nf; i++)
		if (!isnan(f[i].v))
			msg_pack_kv_f64(pk, f[i].k, f[i].v);
	return obj_end(o);
}

/* A healthy GPU: util and memory below the bars' yellow, no replays. */
static const msgpack_object *gpu_sample(struct obj *o, uint64_t ts, double tx, double rx,
					double replay)
{
	const struct kv f[] = {
		{ "index", 0 }, { "util_pct", 40 }, { "mem_used_bytes", 1073741824 },
		{ "mem_total_bytes", 85899345920.0 }, { "mem_used_pct", 1.25 }, { "temp_c", 61 },
		{ "power_w", 300 }, { "power_limit_w", 700 }, { "pcie_gen", 5 }, { "pcie_width", 16 },
		{ "pcie_gen_max", 5 }, { "pcie_width_max", 16 }, { "pcie_tx_bps", tx },
		{ "pcie_rx_bps", rx }, { "pcie_replay_ps", replay }, { "throttle_reasons", 0 },
	};
	return sample1(o, ts, "gpu", "0", "NVIDIA H100", f, sizeof f / sizeof f[0]);
}

static const msgpack_object *egpu_sample(struct obj *o, uint64_t ts, double aer_cor, double err_ps,
					 double lat)
{
	const struct kv f[] = {
		{ "index", 0 }, { "connected", 1 }, { "behind_tb", 1 }, { "link_gen", 3 },
		{ "link_gen_max", 3 }, { "link_width", 4 }, { "link_width_max", 4 }, { "link_gts", 8 },
		{ "link_gts_max", 8 }, { "degraded", 0 }, { "aer_cor_total", aer_cor },
		{ "aer_nonfatal_total", 0 }, { "aer_fatal_total", 0 }, { "aer_cor_ps", 0 },
		{ "aer_nonfatal_ps", 0 }, { "aer_fatal_ps", 0 }, { "tb_gen", 3 }, { "tb_authorized", 1 },
		{ "tb_rx_gbps", 40 }, { "tb_tx_gbps", 40 }, { "tb_lanes", 2 }, { "tx_bps", 1048576 },
		{ "rx_bps", 2097152 }, { "dma_latency_ns", lat }, { "errors_ps", err_ps },
	};
	return sample1(o, ts, "egpu", "0", "Razer Core X", f, sizeof f / sizeof f[0]);
}

static char *render(const struct dev_view *v, const msgpack_object *s)
{
	struct mem m;
	dev_view_render(mem_open(&m), v, s);
	return mem_close(&m);
}

/* The line starting with prefix (and the n-1 after it), or NULL. */
static const char *line_at(const char *text, const char *prefix, int after)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, strlen(prefix)) == 0) {
			for (int i = 0; i < after && p; i++)
				p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
			return p;
		}
	return NULL;
}

/* The graph cells of a graph line (between its two "│"), one UTF-8
 * character each, into cells[]; returns how many. */
static int graph_cells(const char *line, char cells[][5], int max)
{
	const char *bar = "│";
	const char *p = strstr(line, bar);
	assert_non_null(p);
	p += strlen(bar);
	int n = 0;
	while (*p && *p != '\n' && strncmp(p, bar, strlen(bar)) != 0 && n < max) {
		int len = 1;
		while ((p[len] & 0xc0) == 0x80)
			len++;
		memcpy(cells[n], p, (size_t)len);
		cells[n][len] = '\0';
		n++;
		p += len;
	}
	assert_true(strncmp(p, bar, strlen(bar)) == 0);
	return n;
}

/* Visible columns of a line: escape sequences skipped, one per UTF-8
 * character. */
static int visible_width(const char *p, const char *end)
{
	int w = 0;
	while (p < end) {
		if (*p == '\033') {
			while (p < end && *p != 'm')
				p++;
			p++;
			continue;
		}
		if ((*p & 0xc0) != 0x80)
			w++;
		p++;
	}
	return w;
}

static void test_level_scaling(void **state)
{
	(void)state;
	assert_int_equal(dev_graph_level(0, 10, 3), 0);
	assert_int_equal(dev_graph_level(10, 10, 3), 24);
	assert_int_equal(dev_graph_level(5, 10, 3), 12);
	assert_int_equal(dev_graph_level(0.001, 10, 3), 1);   /* any reading above zero shows */
	assert_int_equal(dev_graph_level(20, 10, 3), 24);     /* clamped */
	assert_int_equal(dev_graph_level(5, 0, 3), 0);        /* all zero: an empty graph */
	assert_int_equal(dev_graph_level(NAN, 10, 3), -1);
	assert_int_equal(dev_graph_level(10, 10, 1), 8);
	assert_string_equal(dev_graph_glyph(24, 2), "█");
	assert_string_equal(dev_graph_glyph(12, 0), "█");
	assert_string_equal(dev_graph_glyph(12, 1), "▄");
	assert_string_equal(dev_graph_glyph(12, 2), " ");
	assert_string_equal(dev_graph_glyph(3, 0), "▃");
	assert_string_equal(dev_graph_glyph(0, 0), " ");
	assert_string_equal(dev_graph_glyph(-1, 0), "·");    /* no reading: not a zero */
	assert_string_equal(dev_graph_glyph(-1, 1), " ");
}

static void test_fmt_ns(void **state)
{
	char b[32];
	(void)state;
	dev_fmt_ns(b, sizeof b, 850);
	assert_string_equal(b, "850 ns");
	dev_fmt_ns(b, sizeof b, 12345);
	assert_string_equal(b, "12.3 µs");
	dev_fmt_ns(b, sizeof b, 1.2e6);
	assert_string_equal(b, "1.20 ms");
	dev_fmt_ns(b, sizeof b, NAN);
	assert_string_equal(b, "-");
}

/* Ten samples, TX rising 0..900 B/s: the newest ten columns at the right,
 * scaled to 900, the rest of the window blank. */
static void test_graph_columns(void **state)
{
	static struct dev_view v;
	struct obj o;
	char cells[3][128][5];
	(void)state;
	dev_view_init(&v, false, SEC);
	v.width = 80;
	v.height = 40;
	for (int i = 0; i < 10; i++) {
		gpu_sample(&o, T0 + (uint64_t)i * SEC, 100.0 * i, 500, 0);
		dev_view_add(&v, &o.u.data);
		if (i < 9)
			obj_free(&o);
	}
	char *text = render(&v, &o.u.data);
	const char *tx = line_at(text, "  TX  │", 0);
	assert_non_null(tx);
	int n = 0;
	for (int r = 0; r < 3; r++)
		n = graph_cells(line_at(text, "  TX  │", r), cells[r], 128);
	assert_int_equal(n, 80 - 7 - 22);   /* the width less the axis and labels (< 60 s) */
	for (int c = 0; c < n - 10; c++)
		for (int r = 0; r < 3; r++)
			assert_string_equal(cells[r][c], " ");
	/* column of 100 B/s: ceil(100/900 × 24) = 3 eighths; 900: full */
	assert_string_equal(cells[2][n - 10], " ");   /* 0 B/s: nothing drawn */
	assert_string_equal(cells[2][n - 9], "▃");
	assert_string_equal(cells[1][n - 9], " ");
	assert_string_equal(cells[2][n - 1], "█");
	assert_string_equal(cells[0][n - 1], "█");
	/* 500 of 900: 14 eighths = bottom full, middle ▆ */
	assert_string_equal(cells[2][n - 5], "█");
	assert_string_equal(cells[1][n - 5], "▆");
	assert_string_equal(cells[0][n - 5], " ");
	assert_non_null(strstr(tx, "│ max 900 B/s"));
	assert_non_null(strstr(line_at(text, "  TX  │", 2), "│ now 900 B/s"));
	/* RX constant: every drawn column full */
	graph_cells(line_at(text, "  RX  │", 0), cells[0], 128);
	assert_string_equal(cells[0][n - 10], "█");
	assert_string_equal(cells[0][n - 11], " ");
	free(text);
	obj_free(&o);
}

/* The graph spans 60 s: a peak 70 samples back no longer sets the scale. */
static void test_rolling_window(void **state)
{
	static struct dev_view v;
	struct obj o;
	char cells[128][5];
	(void)state;
	dev_view_init(&v, false, SEC);
	v.width = 200;
	v.height = 40;
	for (int i = 0; i < 70; i++) {
		gpu_sample(&o, T0 + (uint64_t)i * SEC, i < 10 ? 1e9 : 1000, 1, 0);
		dev_view_add(&v, &o.u.data);
		if (i < 69)
			obj_free(&o);
	}
	char *text = render(&v, &o.u.data);
	int n = graph_cells(line_at(text, "  TX  │", 0), cells, 128);
	assert_int_equal(n, 60);   /* one column per sample, 60 s at 1 s */
	assert_non_null(strstr(line_at(text, "  TX  │", 0), "max 1000 B/s"));
	assert_string_equal(cells[0], "█");
	free(text);
	obj_free(&o);
}

/* Lost samples are gaps: "·" on the bottom row, not zeros. */
static void test_lost_samples_are_gaps(void **state)
{
	static struct dev_view v;
	struct obj o;
	char cells[128][5];
	(void)state;
	dev_view_init(&v, false, SEC);
	v.width = 80;
	v.height = 40;
	gpu_sample(&o, T0, 100, 100, 0);
	dev_view_add(&v, &o.u.data);
	obj_free(&o);
	gpu_sample(&o, T0 + SEC, 100, 100, 0);
	dev_view_add(&v, &o.u.data);
	obj_free(&o);
	dev_view_lost(&v, 3);
	gpu_sample(&o, T0 + 5 * SEC, 100, 100, 0);
	dev_view_add(&v, &o.u.data);
	char *text = render(&v, &o.u.data);
	int n = graph_cells(line_at(text, "  TX  │", 2), cells, 128);
	assert_string_equal(cells[n - 1], "█");
	for (int i = 2; i <= 4; i++)
		assert_string_equal(cells[n - i], "·");
	assert_string_equal(cells[n - 5], "█");
	assert_string_equal(cells[n - 6], "█");
	assert_string_equal(cells[n - 7], " ");
	assert_non_null(strstr(text, "3 samples lost"));
	assert_int_equal(v.spacing_ns, SEC);   /* the gap is not taken for the spacing */
	free(text);
	obj_free(&o);
}

/* Red appears only for a non-zero error counter, and only with colour. */
static void test_red_only_for_errors(void **state)
{
	static struct dev_view v;
	struct obj o;
	(void)state;
	dev_view_init(&v, false, SEC);
	v.width = 120;
	v.height = 40;
	v.color = true;
	gpu_sample(&o, T0, 10, 10, 0);
	dev_view_add(&v, &o.u.data);
	char *text = render(&v, &o.u.data);
	assert_null(strstr(text, RED));
	assert_non_null(strstr(text, "PCIe replays 0/s"));
	free(text);
	obj_free(&o);

	gpu_sample(&o, T0 + SEC, 10, 10, 2.5);
	dev_view_add(&v, &o.u.data);
	text = render(&v, &o.u.data);
	assert_non_null(strstr(text, "PCIe replays " RED "2.5/s"));
	free(text);
	v.color = false;
	text = render(&v, &o.u.data);
	assert_null(strstr(text, "\033["));
	assert_non_null(strstr(text, "PCIe replays 2.5/s"));
	free(text);
	obj_free(&o);

	dev_view_init(&v, true, SEC);
	v.width = 160;
	v.height = 40;
	v.color = true;
	egpu_sample(&o, T0, 0, 0, 1500);
	dev_view_add(&v, &o.u.data);
	text = render(&v, &o.u.data);
	assert_null(strstr(text, RED));
	assert_non_null(strstr(text, "AER correctable 0 (0/s)"));
	assert_non_null(strstr(text, "Thunderbolt 3 40/40 Gb/s x2"));
	assert_non_null(strstr(text, "now 1.5 µs"));
	free(text);
	obj_free(&o);
	egpu_sample(&o, T0 + SEC, 7, 0.5, 1500);
	dev_view_add(&v, &o.u.data);
	text = render(&v, &o.u.data);
	assert_non_null(strstr(text, "AER correctable " RED "7"));
	assert_non_null(strstr(text, "link errors " RED "0.5/s"));
	free(text);
	obj_free(&o);
}

/* Fields the record lacks print "-" or "no reading", never 0. */
static void test_missing_is_not_zero(void **state)
{
	static struct dev_view v;
	struct obj o;
	(void)state;
	dev_view_init(&v, true, SEC);
	v.width = 120;
	v.height = 40;
	egpu_sample(&o, T0, 0, NAN, NAN);
	dev_view_add(&v, &o.u.data);
	char *text = render(&v, &o.u.data);
	assert_non_null(strstr(text, "  DMA  no reading"));
	assert_null(strstr(text, "link errors"));   /* no vendor stats: not shown */
	assert_non_null(strstr(text, "AER correctable 0 (0/s)"));
	free(text);
	obj_free(&o);

	/* a link with neither AER nor vendor stats */
	const struct kv l[] = { { "index", 2 }, { "connected", 1 }, { "link_gen_max", 5 } };
	dev_view_init(&v, true, SEC);
	sample1(&o, T0, "egpu", "2", "Intel 8086:56a0", l, 3);
	dev_view_add(&v, &o.u.data);
	text = render(&v, &o.u.data);
	assert_non_null(strstr(text, "errors: no counters"));
	assert_non_null(strstr(text, "link PCIe - (max gen 5 x-)"));
	assert_non_null(strstr(text, "TX, RX, DMA latency: no reading"));
	free(text);
	obj_free(&o);

	const struct kv f[] = { { "index", 1 }, { "util_pct", 5 } };
	dev_view_init(&v, false, SEC);
	sample1(&o, T0, "gpu", "1", "NVIDIA A100", f, 2);
	dev_view_add(&v, &o.u.data);
	text = render(&v, &o.u.data);
	assert_non_null(strstr(text, "power - W"));
	assert_non_null(strstr(text, "PCIe replays -"));
	assert_non_null(strstr(text, "  TX, RX: no reading"));
	assert_null(strstr(text, "│"));   /* no graph */
	free(text);
	obj_free(&o);
}

/* Events: the newest three, red when they are bad news. */
static void test_events(void **state)
{
	static struct dev_view v;
	struct obj o, e;
	(void)state;
	dev_view_init(&v, true, SEC);
	v.width = 120;
	v.height = 40;
	v.color = true;
	const char *labels[] = { "link up: Core X", "link down: Core X",
				 "egpu 0 disconnected: 0000:05:00.0",
				 "egpu 0 reconnected: 0000:05:00.0" };
	const double codes[] = { 1, 2, 3, 4 };
	for (int i = 0; i < 4; i++) {
		msgpack_packer *pk = obj_begin(&e);
		msgpack_pack_map(pk, 4);
		msg_pack_kv_u64(pk, "ts", T0);
		msg_pack_kv_str(pk, "label", labels[i]);
		msg_pack_kv_f64(pk, "code", codes[i]);
		msg_pack_kv_f64(pk, "index", 0);
		dev_view_event(&v, obj_end(&e));
		obj_free(&e);
	}
	egpu_sample(&o, T0, 0, 0, 100);
	dev_view_add(&v, &o.u.data);
	char *text = render(&v, &o.u.data);
	assert_null(strstr(text, "link up"));   /* only the newest three */
	assert_non_null(strstr(text, RED));
	const char *p = strstr(text, "egpu 0 disconnected: 0000:05:00.0");
	assert_non_null(p);
	while (p > text && p[-1] != '\n')
		p--;
	assert_memory_equal(p, RED, strlen(RED));   /* the line starts red */
	p = strstr(text, "egpu 0 reconnected");
	assert_non_null(p);
	while (p > text && p[-1] != '\n')
		p--;
	assert_true(strncmp(p, RED, strlen(RED)) != 0);
	free(text);
	obj_free(&o);
}

/* Whatever the terminal, the screen fits it. */
static void test_fits_terminal(void **state)
{
	static struct dev_view v;
	struct obj o;
	(void)state;
	const int sizes[][2] = { { 80, 24 }, { 40, 10 }, { 200, 60 }, { 20, 5 } };
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		for (int compact = 0; compact < 2; compact++) {
			dev_view_init(&v, true, SEC);
			v.width = sizes[k][0];
			v.height = sizes[k][1];
			v.color = true;
			v.compact = compact;
			for (int i = 0; i < 5; i++) {
				egpu_sample(&o, T0 + (uint64_t)i * SEC, 3, 1, 1000.0 * i);
				dev_view_add(&v, &o.u.data);
				if (i < 4)
					obj_free(&o);
			}
			char *text = render(&v, &o.u.data);
			int lines = 0;
			for (const char *p = text, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
				assert_true(visible_width(p, nl) <= v.width);
				lines++;
			}
			assert_true(lines >= 1 && lines <= v.height - 1);
			free(text);
			obj_free(&o);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_level_scaling),
		cmocka_unit_test(test_fmt_ns),
		cmocka_unit_test(test_graph_columns),
		cmocka_unit_test(test_rolling_window),
		cmocka_unit_test(test_lost_samples_are_gaps),
		cmocka_unit_test(test_red_only_for_errors),
		cmocka_unit_test(test_missing_is_not_zero),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_fits_terminal),
	};
	return cmocka_run_group_tests_name("dev-view", tests, NULL, NULL);
}
