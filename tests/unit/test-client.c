/*
 * rmonctl's pure parts: command lookup and option parsing, the JSON
 * writer, number/byte/time formats, --since/--until parsing, series
 * rendering, the status screen on partial results, get's output and the
 * metrics listing.  (The daemon round trips are integration tests.)
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd.h"
#include "ctl.h"
#include "frame.h"
#include "msg.h"
#include "out.h"
#include "schema.h"
#include "timearg.h"

#define NS UINT64_C(1000000000)

#include "client-test-helpers.h"

static void pack_nil_kv(msgpack_packer *pk, const char *k)
{
	msg_pack_str(pk, k);
	msgpack_pack_nil(pk);
}

/* Every line at most width columns (no colour in these renders). */
static void assert_fits(const char *text, size_t width)
{
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		if (n > width)
			fail_msg("line wider than %zu: '%.*s'", width, (int)n, p);
		p += n + (p[n] == '\n');
	}
}

/* ---- commands ---- */

static int nop_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	return 0;
}

static const struct cmd_entry e_status = { .name = "status", .alias = "stat", .exec = nop_exec };
static const struct cmd_entry e_stop = { .name = "stop", .exec = nop_exec };
static const struct cmd_entry e_metrics = { .name = "metrics", .exec = nop_exec };
static const struct cmd_entry e_mark = { .name = "mark", .exec = nop_exec };
static const struct cmd_entry *const fake_table[] = { &e_status, &e_stop, &e_metrics, &e_mark, NULL };

static void test_cmd_find(void **state)
{
	char err[256];
	(void)state;
	assert_ptr_equal(cmd_find_in(fake_table, "status", err, sizeof err), &e_status);
	assert_ptr_equal(cmd_find_in(fake_table, "stat", err, sizeof err), &e_status);
	assert_ptr_equal(cmd_find_in(fake_table, "sta", err, sizeof err), &e_status);
	assert_ptr_equal(cmd_find_in(fake_table, "sto", err, sizeof err), &e_stop);
	assert_ptr_equal(cmd_find_in(fake_table, "met", err, sizeof err), &e_metrics);
	assert_ptr_equal(cmd_find_in(fake_table, "mark", err, sizeof err), &e_mark);

	assert_null(cmd_find_in(fake_table, "st", err, sizeof err));
	assert_non_null(strstr(err, "ambiguous"));
	assert_non_null(strstr(err, "status"));
	assert_non_null(strstr(err, "stop"));
	assert_null(strstr(err, "metrics"));
	assert_null(cmd_find_in(fake_table, "m", err, sizeof err));
	assert_non_null(strstr(err, "metrics"));
	assert_non_null(strstr(err, "mark"));

	assert_null(cmd_find_in(fake_table, "x", err, sizeof err));
	assert_non_null(strstr(err, "unknown command 'x'"));
	assert_null(cmd_find_in(fake_table, "", err, sizeof err));
	assert_null(cmd_find_in(fake_table, "statusx", err, sizeof err));
	/* A tiny buffer still ends up terminated. */
	char small[8];
	assert_null(cmd_find_in(fake_table, "s", small, sizeof small));
	assert_true(strlen(small) < sizeof small);
}

static void test_cmd_find_real(void **state)
{
	char err[256];
	(void)state;
	assert_string_equal(cmd_find("s", err, sizeof err)->name, "status");
	assert_string_equal(cmd_find("g", err, sizeof err)->name, "get");
	assert_string_equal(cmd_find("q", err, sizeof err)->name, "query");
	assert_string_equal(cmd_find("m", err, sizeof err)->name, "metrics");
	assert_string_equal(cmd_find("ver", err, sizeof err)->name, "version");
	for (size_t i = 0; cmd_table[i]; i++) {
		assert_non_null(cmd_table[i]->help);
		assert_non_null(cmd_table[i]->exec);
	}
}

/* A command whose exec records what cmd_getopt gave it. */
static struct {
	bool json;
	const char *since;
	int nargs, rc;
	char first[32];
} seen;

enum { T_JSON = 0x100, T_SINCE };
static const struct cmd_opt t_opts[] = {
	{ "json", T_JSON, NULL, "json", false },
	{ "since", T_SINCE, "T", "since", true },
	{ NULL, 0, NULL, NULL, false },
};

static int t_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	int o;
	memset(&seen, 0, sizeof seen);
	while ((o = cmd_getopt(ctx, argc, argv)) != -1) {
		if (o == CMD_OPT_DONE)
			return seen.rc = ctx->rc;
		if (o == T_JSON)
			seen.json = true;
		if (o == T_SINCE)
			seen.since = optarg;
	}
	seen.nargs = argc - optind;
	if (seen.nargs)
		snprintf(seen.first, sizeof seen.first, "%s", argv[optind]);
	return 0;
}

static const struct cmd_entry t_entry = {
	.name = "t", .args_usage = "SEL...", .min_args = 1, .max_args = 2,
	.opts = t_opts, .help = "test", .exec = t_exec,
};

static int run_t(struct cmd_ctx *ctx, char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	memset(ctx, 0, sizeof *ctx);
	return cmd_run(&t_entry, ctx, argc, argv);
}

static void test_cmd_getopt(void **state)
{
	struct cmd_ctx ctx;
	(void)state;
	{
		char *argv[] = { "t", "--since", "5m", "sel", "--json", "--socket", "/x.sock", "--no-color", NULL };
		assert_int_equal(run_t(&ctx, argv), 0);
		assert_true(seen.json);
		assert_string_equal(seen.since, "5m");
		assert_int_equal(seen.nargs, 1);
		assert_string_equal(seen.first, "sel");
		assert_string_equal(ctx.socket, "/x.sock");
		assert_true(ctx.no_color);
	}
	{
		char *argv[] = { "t", "--since=1h", "a", "b", NULL };
		assert_int_equal(run_t(&ctx, argv), 0);
		assert_string_equal(seen.since, "1h");
		assert_int_equal(seen.nargs, 2);
		assert_false(seen.json);
	}
	{
		char *argv[] = { "t", "--bogus", "a", NULL };
		assert_int_equal(run_t(&ctx, argv), CMD_EXIT_USAGE);
	}
	{
		char *argv[] = { "t", "a", "--since", NULL };
		assert_int_equal(run_t(&ctx, argv), CMD_EXIT_USAGE);
	}
	{
		char *argv[] = { "t", NULL };   /* too few positional */
		assert_int_equal(run_t(&ctx, argv), CMD_EXIT_USAGE);
	}
	{
		char *argv[] = { "t", "a", "b", "c", NULL };   /* too many */
		assert_int_equal(run_t(&ctx, argv), CMD_EXIT_USAGE);
	}
}

static void test_cmd_help(void **state)
{
	struct mem m;
	(void)state;
	cmd_print_usage(mem_open(&m));
	char *s = mem_close(&m);
	for (size_t i = 0; cmd_table[i]; i++)
		assert_non_null(strstr(s, cmd_table[i]->name));
	assert_non_null(strstr(s, "exit codes"));
	assert_non_null(strstr(s, "3  rmond unreachable"));
	assert_non_null(strstr(s, "4  not found"));
	free(s);

	cmd_print_help(mem_open(&m), &t_entry);
	s = mem_close(&m);
	assert_non_null(strstr(s, "usage: rmonctl t [--json] --since T SEL..."));
	assert_non_null(strstr(s, "--socket PATH"));
	assert_non_null(strstr(s, "-h, --help"));
	free(s);
	assert_int_equal(cmd_exit_for_error("not_found"), CMD_EXIT_NOT_FOUND);
	assert_int_equal(cmd_exit_for_error("bad_args"), CMD_EXIT_USAGE);
	assert_int_equal(cmd_exit_for_error("internal"), CMD_EXIT_ERROR);
}

/* ---- JSON ---- */

static char *json_of(const msgpack_object *o)
{
	struct mem m;
	out_json(mem_open(&m), o);
	return mem_close(&m);
}

static void test_json_scalars_nested(void **state)
{
	struct obj o;
	msgpack_packer *pk = obj_begin(&o);
	(void)state;
	msgpack_pack_map(pk, 13);
	msg_pack_kv_u64(pk, "i", 42);
	msg_pack_str(pk, "n");
	msgpack_pack_int64(pk, -7);
	msg_pack_kv_u64(pk, "big", UINT64_MAX);
	msg_pack_kv_f64(pk, "f", 1.5);
	msg_pack_kv_f64(pk, "g", 2.0);
	msg_pack_kv_f64(pk, "h", 0.1);
	msg_pack_kv_f64(pk, "nan", NAN);
	msg_pack_kv_f64(pk, "inf", -INFINITY);
	pack_nil_kv(pk, "nil");
	msg_pack_kv_bool(pk, "t", true);
	msg_pack_str(pk, "arr");
	msgpack_pack_array(pk, 3);
	msgpack_pack_uint64(pk, 1);
	msgpack_pack_array(pk, 2);
	msgpack_pack_double(pk, 2.5);
	msgpack_pack_nil(pk);
	msgpack_pack_map(pk, 0);
	msgpack_pack_uint64(pk, 5);     /* a non-string key */
	msg_pack_str(pk, "intkey");
	msg_pack_str(pk, "fl32");
	msgpack_pack_float(pk, 0.5f);
	char *s = json_of(obj_end(&o));
	assert_string_equal(s, "{\"i\":42,\"n\":-7,\"big\":18446744073709551615,\"f\":1.5,"
			       "\"g\":2.0,\"h\":0.1,\"nan\":null,\"inf\":null,\"nil\":null,"
			       "\"t\":true,\"arr\":[1,[2.5,null],{}],\"5\":\"intkey\",\"fl32\":0.5}");
	free(s);
	obj_free(&o);
	assert_null(NULL);
	s = json_of(NULL);
	assert_string_equal(s, "null");
	free(s);
}

static void test_json_numbers(void **state)
{
	static const struct { double v; const char *out; } cases[] = {
		{ 0.0, "0.0" }, { -3.0, "-3.0" }, { 0.30000000000000004, "0.30000000000000004" },
		{ 1e300, "1e+300" }, { 1e21, "1e+21" }, { 123456.789, "123456.789" },
		{ 1.0 / 3, "0.33333333333333331" }, { NAN, "null" }, { INFINITY, "null" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mem m;
		out_json_num(mem_open(&m), cases[i].v);
		char *s = mem_close(&m);
		assert_string_equal(s, cases[i].out);
		if (isfinite(cases[i].v))
			assert_true(strtod(s, NULL) == cases[i].v);
		free(s);
	}
}

static void test_json_strings(void **state)
{
	static const struct { const char *in; size_t n; const char *out; } cases[] = {
		{ "plain", 5, "\"plain\"" },
		{ "q\"b\\s/", 6, "\"q\\\"b\\\\s/\"" },
		{ "\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\"" },
		{ "\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"" },
		{ "nul\0x", 5, "\"nul\\u0000x\"" },
		{ "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80", 14, "\"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80\"" },
		{ "\xff", 1, "\"\\ufffd\"" },
		{ "\xc0\xaf", 2, "\"\\ufffd\\ufffd\"" },            /* overlong '/' */
		{ "\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"" },  /* a surrogate */
		{ "a\xe2\x9c", 3, "\"a\\ufffd\\ufffd\"" },           /* cut short */
		{ "\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" }, /* > U+10FFFF */
		{ "", 0, "\"\"" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mem m;
		out_json_str(mem_open(&m), cases[i].in, cases[i].n);
		char *s = mem_close(&m);
		assert_string_equal(s, cases[i].out);
		free(s);
	}
}

/* ---- numbers ---- */

static void test_out_bytes_si(void **state)
{
	static const struct { double v; const char *out; } bytes[] = {
		{ 0, "0 B" }, { 512, "512 B" }, { 1023, "1023 B" }, { 1024, "1.00 KiB" },
		{ 1536, "1.50 KiB" }, { 10.5 * 1048576, "10.5 MiB" }, { 3.0 * 1073741824, "3.00 GiB" },
		{ 200.0 * 1073741824, "200 GiB" }, { 2.0 * 1099511627776.0, "2.00 TiB" }, { NAN, "-" },
	};
	static const struct { double v; const char *out; } si[] = {
		{ 0, "0" }, { 0.5, "0.5" }, { 12, "12" }, { 12.4, "12" }, { 999, "999" },
		{ 1234, "1.2k" }, { 56789, "57k" }, { 2.5e6, "2.5M" }, { 3e9, "3.0G" }, { NAN, "-" },
	};
	char buf[32];
	(void)state;
	for (size_t i = 0; i < sizeof bytes / sizeof bytes[0]; i++) {
		out_bytes(buf, sizeof buf, bytes[i].v);
		assert_string_equal(buf, bytes[i].out);
	}
	for (size_t i = 0; i < sizeof si / sizeof si[0]; i++) {
		out_si(buf, sizeof buf, si[i].v);
		assert_string_equal(buf, si[i].out);
	}
}

static void test_out_num_value(void **state)
{
	static const struct { double v; const char *out; } nums[] = {
		{ 0.25, "0.25" }, { 1520, "1520" }, { 1234567.8, "1234568" }, { 0.000123, "0.000123" },
		{ -0.0, "0" }, { 3.14159265, "3.14159" }, { 100.0, "100" }, { NAN, "-" },
	};
	char buf[32];
	(void)state;
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		out_num(buf, sizeof buf, nums[i].v);
		assert_string_equal(buf, nums[i].out);
	}
	out_value(buf, sizeof buf, 3.0, RM_U64);
	assert_string_equal(buf, "3");
	out_value(buf, sizeof buf, 1e12, RM_U64);
	assert_string_equal(buf, "1000000000000");
	out_value(buf, sizeof buf, 17179869184.0, RM_U64);
	assert_string_equal(buf, "17179869184");
	out_value(buf, sizeof buf, 2.5, RM_F64);
	assert_string_equal(buf, "2.5");

	out_metric_value(buf, sizeof buf, "disk:vda.inflight", 3);
	assert_string_equal(buf, "3");
	out_metric_value(buf, sizeof buf, "system.mem_total_bytes", 16e9);
	assert_string_equal(buf, "16000000000");
	out_metric_value(buf, sizeof buf, "system.load1", 0.5);
	assert_string_equal(buf, "0.5");
	out_metric_value(buf, sizeof buf, "unknown.thing", 0.5);
	assert_string_equal(buf, "0.5");
	const struct rm_field *f = out_metric_field("net:eth0.100.rx_bps");
	assert_non_null(f);
	assert_string_equal(f->name, "rx_bps");
	assert_string_equal(f->unit, "B/s");
	assert_null(out_metric_field("bogus.x"));
	assert_null(out_metric_field("cpu:3.nope"));
	assert_null(out_metric_field("nodot"));
}

static void test_out_bar_secs_time(void **state)
{
	char buf[64];
	(void)state;
	out_bar(buf, sizeof buf, 50, 10);
	assert_string_equal(buf, "[|||||     ]");
	out_bar(buf, sizeof buf, 0, 4);
	assert_string_equal(buf, "[    ]");
	out_bar(buf, sizeof buf, 100, 4);
	assert_string_equal(buf, "[||||]");
	out_bar(buf, sizeof buf, 150, 4);
	assert_string_equal(buf, "[||||]");
	out_bar(buf, sizeof buf, -5, 4);
	assert_string_equal(buf, "[    ]");
	out_bar(buf, sizeof buf, NAN, 4);
	assert_string_equal(buf, "[    ]");
	out_bar(buf, 6, 100, 20);   /* clipped to the buffer */
	assert_string_equal(buf, "[|||]");

	static const struct { double s; const char *out; } secs[] = {
		{ 61.2, "1m1s" }, { 45, "45s" }, { 3600, "1h" }, { 90000, "1d1h" },
		{ 0.5, "0.5s" }, { 7320, "2h2m" }, { 0, "0s" }, { -1, "-" },
	};
	for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++) {
		out_secs(buf, sizeof buf, secs[i].s);
		assert_string_equal(buf, secs[i].out);
	}
	out_time_utc(buf, sizeof buf, 1763720000 * NS + 100000000);
	assert_string_equal(buf, "2025-11-21T10:13:20.100Z");
	out_time_local(buf, sizeof buf, 1763720000 * NS + 5000000, false);
	assert_string_equal(buf, "10:13:20.005");   /* TZ=UTC (group setup) */
	out_time_local(buf, sizeof buf, 1763720000 * NS, true);
	assert_string_equal(buf, "2025-11-21 10:13:20.000");

	char dirty[] = "eth\033[31m0\n";
	assert_string_equal(out_clean(dirty), "eth?[31m0?");
}

/* ---- timearg ---- */

static void test_timearg_good(void **state)
{
	const uint64_t now = 1795260000 * NS + 500000000;  /* 2026-11-21T11:20:00.5Z */
	static const struct { const char *in; int64_t back_s; uint64_t abs_ns; } cases[] = {
		{ "now", 0, 0 },
		{ "5m", 300, 0 },
		{ "-5m", 300, 0 },
		{ "1h30m", 5400, 0 },
		{ "90", 90, 0 },
		{ "250ms", -1, 1795260000 * NS + 250000000 },
		{ "@1763720000", -1, 1763720000 * NS },
		{ "@1763720000.25", -1, 1763720000 * NS + 250000000 },
		{ "2026-11-21T11:20:00Z", -1, 1795260000 * NS },
		{ "2026-11-21t11:20:00z", -1, 1795260000 * NS },
		{ "2026-11-21T11:20:00.125Z", -1, 1795260000 * NS + 125000000 },
		{ "2026-11-21T12:20:00+01:00", -1, 1795260000 * NS },
		{ "2026-11-21T10:50:00-0030", -1, 1795260000 * NS },
		{ "2026-11-21 11:20:00", -1, 1795260000 * NS },     /* local = UTC here */
		{ "2026-11-21 11:20", -1, 1795260000 * NS },
		{ "2026-11-21", -1, 1795219200 * NS },
		{ "2024-02-29", -1, 1709164800 * NS },
		{ "11:00", -1, (1795260000 - 1200) * NS },           /* today */
		{ "11:19:30", -1, (1795260000 - 30) * NS },
		{ "12:00", -1, (1795260000 - 86400 + 2400) * NS },   /* still to come: yesterday */
	};
	char err[256];
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t out = 0;
		uint64_t want = cases[i].back_s >= 0 ? now - (uint64_t)cases[i].back_s * NS
						     : cases[i].abs_ns;
		err[0] = '\0';
		if (timearg_parse(cases[i].in, now, &out, err, sizeof err) != 0 || out != want)
			fail_msg("'%s': got %llu want %llu (%s)", cases[i].in, (unsigned long long)out,
				 (unsigned long long)want, err);
	}
	assert_true(timearg_now() > 1763720000 * NS);
}

static void test_timearg_bad(void **state)
{
	static const char *const bad[] = {
		"", "5q", "yesterday", "@", "@12x", "@-5", "2026-13-01", "2026-02-30", "2025-02-29",
		"2026-11-21T25:00:00Z", "2026-11-21T11:60", "2026-11-21T11:20:00+1", "2026-11-21T11:20:00+01:",
		"2026-11-21T11:20:00Q", "2026-11-21 11", "1969-12-31", "26-11-21", "25:00", "11:5",
		"1763720000", "100000d", "5m ", " 5m", "@1.", "2026-11-21T11:20:00.Z",
	};
	char err[256];
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t out = 7;
		err[0] = '\0';
		if (timearg_parse(bad[i], 1795260000 * NS, &out, err, sizeof err) != -EINVAL)
			fail_msg("'%s' was accepted (%llu)", bad[i], (unsigned long long)out);
		assert_true(strlen(err) > 0);
		assert_true(out == 7);
	}
	uint64_t out;
	timearg_parse("1763720000", 1795260000 * NS, &out, err, sizeof err);
	assert_non_null(strstr(err, "@1763720000"));   /* the hint */
	assert_int_equal(timearg_parse(NULL, 0, &out, err, sizeof err), -EINVAL);
}

/* ---- series ---- */

static void pack_series(msgpack_packer *pk, const char *name, const char *unit, size_t n,
			const uint64_t *t, const double *v)
{
	msgpack_pack_map(pk, 4);
	msg_pack_kv_str(pk, "name", name);
	msg_pack_kv_str(pk, "unit", unit);
	msg_pack_str(pk, "t");
	msgpack_pack_array(pk, n);
	for (size_t i = 0; i < n; i++)
		msgpack_pack_uint64(pk, t[i]);
	msg_pack_str(pk, "v");
	msgpack_pack_array(pk, n);
	for (size_t i = 0; i < n; i++)
		isnan(v[i]) ? msgpack_pack_nil(pk) : msgpack_pack_double(pk, v[i]);
}

static void add_series(struct out_series_set *ss, const char *name, const char *unit, size_t n,
		       const uint64_t *t, const double *v)
{
	struct obj o;
	char err[128];
	pack_series(obj_begin(&o), name, unit, n, t, v);
	assert_int_equal(out_series_add(ss, obj_end(&o), err, sizeof err), 0);
	obj_free(&o);
}

#define T0 (UINT64_C(1763720000) * NS)

static void build_set(struct out_series_set *ss)
{
	const uint64_t ta[] = { T0 + 2 * NS }, ta0[] = { T0, T0 + NS };
	const double va[] = { 2.25 }, va0[] = { 1.5, NAN };
	const uint64_t tb[] = { T0 + NS, T0 + 3 * NS + 100000000 };
	const double vb[] = { 3.0, 20.0 };
	memset(ss, 0, sizeof *ss);
	/* The second chunk of a first, out of order, to check the sort. */
	add_series(ss, "cpu:0.busy_pct", "%", 2, ta0, va0);
	add_series(ss, "disk:vda.inflight", "", 2, tb, vb);
	add_series(ss, "cpu:0.busy_pct", "%", 1, ta, va);
	out_series_finish(ss);
}

static void test_series_render(void **state)
{
	struct out_series_set ss;
	struct mem m;
	(void)state;
	build_set(&ss);
	assert_int_equal(ss.n, 2);
	assert_int_equal(ss.s[0].n, 3);

	out_series_table(mem_open(&m), &ss, false);
	char *s = mem_close(&m);
	assert_string_equal(s,
		"time          cpu:0.busy_pct  disk:vda.inflight\n"
		"10:13:20.000             1.5                  -\n"
		"10:13:21.000               -                  3\n"
		"10:13:22.000            2.25                  -\n"
		"10:13:23.100               -                 20\n");
	free(s);

	out_series_table(mem_open(&m), &ss, true);
	s = mem_close(&m);
	assert_non_null(strstr(s, "\n2025-11-21 10:13:23.100"));
	free(s);

	out_series_csv(mem_open(&m), &ss);
	s = mem_close(&m);
	assert_string_equal(s,
		"ts_ns,time,cpu:0.busy_pct,disk:vda.inflight\n"
		"1763720000000000000,2025-11-21T10:13:20.000Z,1.5,\n"
		"1763720001000000000,2025-11-21T10:13:21.000Z,,3\n"
		"1763720002000000000,2025-11-21T10:13:22.000Z,2.25,\n"
		"1763720003100000000,2025-11-21T10:13:23.100Z,,20\n");
	free(s);

	out_series_json(mem_open(&m), &ss);
	s = mem_close(&m);
	assert_string_equal(s,
		"{\"series\":[{\"name\":\"cpu:0.busy_pct\",\"unit\":\"%\","
		"\"t\":[1763720000000000000,1763720001000000000,1763720002000000000],"
		"\"v\":[1.5,null,2.25]},{\"name\":\"disk:vda.inflight\",\"unit\":\"\","
		"\"t\":[1763720001000000000,1763720003100000000],\"v\":[3.0,20.0]}]}\n");
	free(s);
	out_series_free(&ss);

	/* Empty set: headers only. */
	out_series_csv(mem_open(&m), &ss);
	s = mem_close(&m);
	assert_string_equal(s, "ts_ns,time\n");
	free(s);
	out_series_table(mem_open(&m), &ss, false);
	s = mem_close(&m);
	assert_string_equal(s, "time        \n");
	free(s);
}

static void test_series_bad_and_csv_quoting(void **state)
{
	struct out_series_set ss = { 0 };
	struct obj o;
	struct mem m;
	char err[128];
	(void)state;
	/* t and v of different lengths */
	msgpack_packer *pk = obj_begin(&o);
	msgpack_pack_map(pk, 3);
	msg_pack_kv_str(pk, "name", "x.y");
	msg_pack_str(pk, "t");
	msgpack_pack_array(pk, 1);
	msgpack_pack_uint64(pk, 1);
	msg_pack_str(pk, "v");
	msgpack_pack_array(pk, 0);
	assert_int_equal(out_series_add(&ss, obj_end(&o), err, sizeof err), -1);
	obj_free(&o);
	assert_int_equal(out_series_add(&ss, NULL, err, sizeof err), -1);

	/* A timestamp that is not a uint. */
	pk = obj_begin(&o);
	msgpack_pack_map(pk, 3);
	msg_pack_kv_str(pk, "name", "x.y");
	msg_pack_str(pk, "t");
	msgpack_pack_array(pk, 1);
	msg_pack_str(pk, "soon");
	msg_pack_str(pk, "v");
	msgpack_pack_array(pk, 1);
	msgpack_pack_double(pk, 1);
	assert_int_equal(out_series_add(&ss, obj_end(&o), err, sizeof err), -1);
	obj_free(&o);

	out_series_free(&ss);
	const uint64_t t[] = { T0 };
	const double v[] = { 1 };
	add_series(&ss, "net:a,\"b\".rx_bps", "B/s", 1, t, v);
	out_series_csv(mem_open(&m), &ss);
	char *s = mem_close(&m);
	assert_string_equal(s, "ts_ns,time,\"net:a,\"\"b\"\".rx_bps\"\n"
			       "1763720000000000000,2025-11-21T10:13:20.000Z,1\n");
	free(s);
	out_series_free(&ss);
}

/* ---- status ---- */

static char *render_status(const msgpack_object *res, int width)
{
	struct mem m;
	struct status_view v = { false, width };
	cmd_status_render(mem_open(&m), res, &v);
	return mem_close(&m);
}

static void pack_cpu(msgpack_packer *pk, const char *key, double busy, bool full)
{
	msgpack_pack_map(pk, full ? 9 : 3);
	msg_pack_kv_u64(pk, "ts", T0);
	msg_pack_kv_str(pk, "key", key);
	if (isnan(busy))
		pack_nil_kv(pk, "busy_pct");
	else
		msg_pack_kv_f64(pk, "busy_pct", busy);
	if (full) {
		msg_pack_kv_f64(pk, "user_pct", busy * 0.75);
		msg_pack_kv_f64(pk, "system_pct", busy * 0.25);
		msg_pack_kv_f64(pk, "iowait_pct", 0.5);
		msg_pack_kv_f64(pk, "steal_pct", 0);
		msg_pack_kv_f64(pk, "freq_mhz", 2400);
		msg_pack_kv_f64(pk, "temp_c", 54);
	}
}

static void test_status_partial(void **state)
{
	struct obj o;
	msgpack_packer *pk;
	char *s;
	(void)state;

	/* Not a map, an empty map: nothing, no crash. */
	assert_null(NULL);
	s = render_status(NULL, 80);
	assert_string_equal(s, "");
	free(s);
	pk = obj_begin(&o);
	msgpack_pack_map(pk, 0);
	s = render_status(obj_end(&o), 80);
	assert_string_equal(s, "");
	free(s);
	obj_free(&o);

	/* Only the server. */
	pk = obj_begin(&o);
	msgpack_pack_map(pk, 1);
	msg_pack_str(pk, "server");
	msgpack_pack_map(pk, 4);
	msg_pack_kv_str(pk, "version", "0.1.0");
	msg_pack_kv_u64(pk, "pid", 4242);
	msg_pack_kv_f64(pk, "uptime_s", 61.2);
	msg_pack_kv_str(pk, "socket", "/run/rmon/rmond.sock");
	s = render_status(obj_end(&o), 80);
	assert_string_equal(s, "rmond 0.1.0  up 1m1s  pid 4242  socket /run/rmon/rmond.sock\n");
	free(s);
	obj_free(&o);

	/* A system record with load1 only, PSI absent from capabilities. */
	pk = obj_begin(&o);
	msgpack_pack_map(pk, 2);
	msg_pack_str(pk, "latest");
	msgpack_pack_map(pk, 1);
	msg_pack_str(pk, "system");
	msgpack_pack_map(pk, 2);
	msg_pack_kv_u64(pk, "ts", T0);
	msg_pack_kv_f64(pk, "load1", 0.25);
	msg_pack_str(pk, "capabilities");
	msgpack_pack_map(pk, 3);
	msg_pack_kv_bool(pk, "psi", false);
	msg_pack_kv_bool(pk, "cpu", true);
	msg_pack_kv_bool(pk, "thermal", false);
	s = render_status(obj_end(&o), 80);
	assert_non_null(strstr(s, "Load 0.25 - -   tasks - running, - blocked"));
	assert_null(strstr(s, "Mem"));
	assert_null(strstr(s, "CPU"));
	assert_non_null(strstr(s, "Pressure: not available on this machine"));
	assert_non_null(strstr(s, "Missing on this machine: psi, thermal\n"));
	free(s);
	obj_free(&o);

	/* Wrong types everywhere: skipped, not trusted. */
	pk = obj_begin(&o);
	msgpack_pack_map(pk, 5);
	msg_pack_kv_u64(pk, "server", 5);
	msg_pack_str(pk, "latest");
	msgpack_pack_map(pk, 4);
	msg_pack_kv_str(pk, "cpu", "many");
	msg_pack_str(pk, "system");
	msgpack_pack_array(pk, 1);
	msgpack_pack_uint64(pk, 1);
	msg_pack_str(pk, "disk");
	msgpack_pack_array(pk, 2);
	msgpack_pack_nil(pk);
	msgpack_pack_uint64(pk, 3);
	msg_pack_str(pk, "temp");
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	msg_pack_kv_str(pk, "key", "acpi");   /* no temp_c: left out */
	msg_pack_kv_str(pk, "sampler", "x");
	msg_pack_str(pk, "ring");
	msgpack_pack_map(pk, 1);
	msg_pack_kv_str(pk, "lanes", "none");
	msg_pack_str(pk, "capabilities");
	msgpack_pack_array(pk, 0);
	s = render_status(obj_end(&o), 80);
	assert_non_null(strstr(s, "Disk"));
	assert_non_null(strstr(s, "?  "));         /* a record without a key */
	assert_non_null(strstr(s, "Ring    ?"));
	free(s);
	obj_free(&o);
}

/* A plausible two-core machine. */
static const msgpack_object *full_status(struct obj *o, int ncores)
{
	msgpack_packer *pk = obj_begin(o);
	char key[8];

	msgpack_pack_map(pk, 5);
	msg_pack_str(pk, "server");
	msgpack_pack_map(pk, 4);
	msg_pack_kv_str(pk, "version", "0.1.0");
	msg_pack_kv_u64(pk, "pid", 4242);
	msg_pack_kv_f64(pk, "uptime_s", 11520);
	msg_pack_kv_str(pk, "socket", "/run/user/1000/rmon/rmond.sock");
	msg_pack_str(pk, "sampler");
	msgpack_pack_map(pk, 5);
	msg_pack_kv_u64(pk, "interval_ns", 100000000);
	msg_pack_kv_u64(pk, "ticks", 612);
	msg_pack_kv_u64(pk, "missed_ticks", 0);
	msg_pack_kv_u64(pk, "late_ticks", 1);
	msg_pack_kv_f64(pk, "tick_cpu_us", 85.5);
	msg_pack_str(pk, "ring");
	msgpack_pack_map(pk, 5);
	msg_pack_kv_str(pk, "mode", "file");
	msg_pack_kv_str(pk, "path", "/var/lib/rmon/rmon.ring");
	msg_pack_kv_u64(pk, "bytes", 12u << 20);
	msg_pack_kv_u64(pk, "retention_ns", 3600 * NS);
	msg_pack_str(pk, "lanes");
	msgpack_pack_array(pk, 2);
	msgpack_pack_map(pk, 2);
	msg_pack_kv_str(pk, "kind", "cpu");
	msg_pack_kv_u64(pk, "records", 1000);
	msgpack_pack_map(pk, 2);
	msg_pack_kv_str(pk, "kind", "system");
	msg_pack_kv_u64(pk, "records", 234);
	msg_pack_str(pk, "capabilities");
	msgpack_pack_map(pk, 2);
	msg_pack_kv_bool(pk, "psi", true);
	msg_pack_kv_bool(pk, "cpufreq", false);

	msg_pack_str(pk, "latest");
	msgpack_pack_map(pk, 5);
	msg_pack_str(pk, "system");
	msgpack_pack_map(pk, 14);
	msg_pack_kv_f64(pk, "load1", 0.25);
	msg_pack_kv_f64(pk, "load5", 0.3);
	msg_pack_kv_f64(pk, "load15", 0.28);
	msg_pack_kv_u64(pk, "procs_running", 2);
	msg_pack_kv_u64(pk, "procs_blocked", 0);
	msg_pack_kv_f64(pk, "ctxt_ps", 1234);
	msg_pack_kv_f64(pk, "intr_ps", 800);
	msg_pack_kv_u64(pk, "mem_total_bytes", 16ull << 30);
	msg_pack_kv_u64(pk, "mem_used_bytes", 4ull << 30);
	msg_pack_kv_u64(pk, "mem_avail_bytes", 12ull << 30);
	msg_pack_kv_u64(pk, "swap_total_bytes", 0);
	msg_pack_kv_f64(pk, "psi_cpu_some_avg10", 1.5);
	msg_pack_kv_f64(pk, "psi_io_full_avg60", 0.25);
	pack_nil_kv(pk, "psi_mem_some_avg10");
	msg_pack_str(pk, "cpu");
	msgpack_pack_array(pk, (size_t)ncores + 1);
	pack_cpu(pk, "all", 23.1, true);
	for (int i = 0; i < ncores; i++) {
		snprintf(key, sizeof key, "%d", i);
		pack_cpu(pk, key, i == 1 ? NAN : 10.0 * i, i < 2);
	}
	msg_pack_str(pk, "disk");
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 4);
	msg_pack_kv_str(pk, "key", "vda");
	msg_pack_kv_f64(pk, "read_bps", 1536);
	msg_pack_kv_f64(pk, "write_iops", 40);
	msg_pack_kv_f64(pk, "busy_pct", 3);
	msg_pack_str(pk, "net");
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 4);
	msg_pack_kv_str(pk, "key", "enp0s31f6");
	msg_pack_kv_f64(pk, "rx_bps", 10.5 * 1048576);
	msg_pack_kv_f64(pk, "tx_pps", 12);
	msg_pack_kv_f64(pk, "rx_errs_ps", 1);
	msg_pack_str(pk, "temp");
	msgpack_pack_array(pk, 2);
	msgpack_pack_map(pk, 3);
	msg_pack_kv_str(pk, "key", "coretemp/Package id 0");
	msg_pack_kv_f64(pk, "temp_c", 54);
	msg_pack_kv_f64(pk, "crit_c", 100);
	msgpack_pack_map(pk, 2);
	msg_pack_kv_str(pk, "key", "acpitz");
	msg_pack_kv_f64(pk, "temp_c", 40);
	return obj_end(o);
}

static void test_status_full(void **state)
{
	struct obj o;
	(void)state;
	char *s = render_status(full_status(&o, 2), 80);
	obj_free(&o);
	assert_fits(s, 80);
	assert_non_null(strstr(s, "rmond 0.1.0  up 3h12m  pid 4242"));
	assert_non_null(strstr(s, "\nCPU                           busy  user   sys  wait steal   MHz temp\n"));
	assert_non_null(strstr(s, "\nall  [|||||               ]  23.1%  17.3   5.8   0.5   0.0  2400   54\n"));
	assert_non_null(strstr(s, "\n0    [                    ]   0.0%   0.0   0.0   0.5   0.0  2400   54\n"));
	/* nil busy: an empty bar and "-", never 0 */
	assert_non_null(strstr(s, "\n1    [                    ]      -     -     -   0.5   0.0  2400   54\n"));
	assert_non_null(strstr(s, "Mem  [|||||               ]  25.0%  4.00 GiB of 16.0 GiB  avail 12.0 GiB\nSwap none\n"));
	assert_non_null(strstr(s, "Swap none"));
	assert_non_null(strstr(s, "Load 0.25 0.30 0.28   tasks 2 running, 0 blocked   ctxt 1.2k/s  intr 800/s"));
	assert_non_null(strstr(s, "\n  cpu                       1.50      -            -      -\n"));
	assert_non_null(strstr(s, "\n  memory                       -      -            -      -\n"));
	assert_non_null(strstr(s, "\n  io                           -      -            -   0.25\n"));
	assert_non_null(strstr(s, "\nvda        1.50 KiB          -       -      40    3.0        -\n"));
	assert_non_null(strstr(s, "\nenp0s31f6   10.5 MiB          -        -       12      1      -\n"));
	assert_non_null(strstr(s, "Temp  coretemp/Package id 0 54C (crit 100C)  acpitz 40C"));
	assert_non_null(strstr(s, "Sampler every 100ms  ticks 612  missed 0  late 1  tick 86us cpu, -us wall\n"));
	assert_non_null(strstr(s, "Ring    file /var/lib/rmon/rmon.ring  12.0 MiB  keeps 1h  records 1234\n"));
	assert_non_null(strstr(s, "Missing on this machine: cpufreq"));
	free(s);

	/* Colour: bars coloured by level, every attribute reset on its line. */
	struct mem m;
	struct status_view v = { true, 80 };
	cmd_status_render(mem_open(&m), full_status(&o, 2), &v);
	obj_free(&o);
	s = mem_close(&m);
	assert_non_null(strstr(s, "\033[32m[|||||               ]\033[0m  23.1%"));
	assert_null(strstr(s, "\n\033[0m"));
	free(s);
}

static void test_status_many_cores(void **state)
{
	struct obj o;
	(void)state;
	char *s = render_status(full_status(&o, 16), 80);
	obj_free(&o);
	assert_fits(s, 80);
	/* A grid: three cells a line at 80 columns. */
	assert_non_null(strstr(s, "\n   0 [          ]   0.0%     1 [          ]      -     2 [||        ]  20.0%\n"));
	assert_non_null(strstr(s, "  15 [||||||||||] 150.0%"));
	free(s);
	s = render_status(full_status(&o, 16), 40);
	obj_free(&o);
	assert_non_null(strstr(s, "\n   0 [          ]   0.0%\n   1 "));
	free(s);
}

/* ---- get ---- */

static void test_get_print(void **state)
{
	struct obj o;
	struct mem out, err;
	msgpack_packer *pk;
	(void)state;

	pk = obj_begin(&o);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 2);
	msg_pack_kv_str(pk, "name", "system.psi_cpu_some_avg10");
	pack_nil_kv(pk, "value");
	const msgpack_object *v = obj_end(&o);
	mem_open(&out);
	mem_open(&err);
	assert_int_equal(cmd_get_print(out.f, err.f, v, true), CMD_EXIT_NOT_FOUND);
	char *so = mem_close(&out), *se = mem_close(&err);
	assert_string_equal(so, "");
	assert_non_null(strstr(se, "rmonctl: system.psi_cpu_some_avg10: no reading"));
	free(so);
	free(se);
	/* The same with a wildcard: "-", exit 0. */
	mem_open(&out);
	assert_int_equal(cmd_get_print(out.f, stderr, v, false), 0);
	so = mem_close(&out);
	assert_string_equal(so, "system.psi_cpu_some_avg10 -\n");
	free(so);
	obj_free(&o);

	pk = obj_begin(&o);
	msgpack_pack_array(pk, 3);
	msgpack_pack_map(pk, 2);
	msg_pack_kv_str(pk, "name", "cpu:0.busy_pct");
	msg_pack_kv_f64(pk, "value", 12.5);
	msgpack_pack_map(pk, 2);
	msg_pack_kv_str(pk, "name", "disk:vda.inflight");
	msg_pack_kv_f64(pk, "value", 3.0);
	msgpack_pack_map(pk, 2);
	msg_pack_kv_str(pk, "name", "system.mem_total_bytes");
	msg_pack_kv_u64(pk, "value", 17179869184ull);
	v = obj_end(&o);
	mem_open(&out);
	assert_int_equal(cmd_get_print(out.f, stderr, v, false), 0);
	so = mem_close(&out);
	assert_string_equal(so, "cpu:0.busy_pct 12.5\ndisk:vda.inflight 3\n"
				"system.mem_total_bytes 17179869184\n");
	free(so);
	obj_free(&o);

	pk = obj_begin(&o);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 2);
	msg_pack_kv_str(pk, "name", "system.load1");
	msg_pack_kv_f64(pk, "value", 0.123456789);
	mem_open(&out);
	assert_int_equal(cmd_get_print(out.f, stderr, obj_end(&o), true), 0);
	so = mem_close(&out);
	assert_string_equal(so, "0.123457\n");
	free(so);
	obj_free(&o);
}

/* ---- metrics ---- */

static void test_metrics_markdown(void **state)
{
	struct mem m;
	char want[256];
	(void)state;
	cmd_metrics_markdown(mem_open(&m));
	char *s = mem_close(&m);
	assert_true(strncmp(s, "# rmon metrics\n", 15) == 0);
	for (const char *ex = "system.load1\0cpu:3.busy_pct\0net:eth0.rx_bps\0disk:vda.busy_pct\0"; *ex;
	     ex += strlen(ex) + 1) {
		snprintf(want, sizeof want, "`%s`", ex);
		assert_non_null(strstr(s, want));
	}
	for (int k = 0; k < RM_KIND__COUNT; k++) {
		const struct rm_kind_desc *kd = &rm_kinds[k];
		snprintf(want, sizeof want, "\n## %s\n", kd->name);
		assert_non_null(strstr(s, want));
		for (unsigned i = 0; i < kd->nfields; i++) {
			snprintf(want, sizeof want, "| `%s%s.%s` | %s | %s | ", kd->name,
				 kd->keyed ? ":*" : "", kd->fields[i].name,
				 schema_type_name(kd->fields[i].type), kd->fields[i].unit);
			if (!strstr(s, want))
				fail_msg("metrics.md lacks %s", want);
		}
	}
	free(s);

	cmd_metrics_list(mem_open(&m));
	s = mem_close(&m);
	assert_non_null(strstr(s, "cpu:*.busy_pct"));
	assert_non_null(strstr(s, "system.mem_used_pct"));
	free(s);

	cmd_metrics_json(mem_open(&m));
	s = mem_close(&m);
	assert_true(strncmp(s, "{\"kinds\":[{\"name\":\"system\",\"keyed\":false,", 41) == 0);
	assert_non_null(strstr(s, "{\"name\":\"busy_pct\",\"type\":\"f64\",\"unit\":\"%\","));
	free(s);
}

/* ---- conn over a socketpair: events, stray frames, errors, timeouts ---- */

static void send_frame(int fd, void (*fill)(msgpack_packer *, void *), void *arg)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	size_t start = frame_begin(&sb);
	fill(&pk, arg);
	assert_int_equal(frame_end(&sb, start, 1u << 20), 0);
	assert_int_equal(write(fd, sb.data, sb.size), (ssize_t)sb.size);
	msgpack_sbuffer_destroy(&sb);
}

static void f_series(msgpack_packer *pk, void *arg)
{
	const uint64_t t[] = { T0, T0 + NS };
	const double v[] = { 1, 2 };
	msg_pack_event(pk, *(uint64_t *)arg, "series");
	pack_series(pk, "cpu:0.busy_pct", "%", 2, t, v);
}

static void f_ok(msgpack_packer *pk, void *arg)
{
	msg_pack_ok(pk, *(uint64_t *)arg);
	msgpack_pack_map(pk, 1);
	msg_pack_kv_u64(pk, "series", 1);
}

static void f_not_found(msgpack_packer *pk, void *arg)
{
	msg_pack_error(pk, *(uint64_t *)arg, PROTO_ERR_NOT_FOUND, "no instance 99 of cpu");
}

static void f_end(msgpack_packer *pk, void *arg)
{
	msg_pack_event(pk, *(uint64_t *)arg, "end");
	msgpack_pack_map(pk, 1);
	msg_pack_kv_str(pk, "reason", "cancelled");
}

static int count_events(void *arg, const struct msg_reply *ev)
{
	struct out_series_set *ss = arg;
	char err[128];
	assert_string_equal(ev->ev, "series");
	return out_series_add(ss, ev->data, err, sizeof err) < 0 ? 99 : 0;
}

static int stop_events(void *arg, const struct msg_reply *ev)
{
	(void)arg, (void)ev;
	return 42;
}

static void test_conn_wait(void **state)
{
	int sv[2];
	struct ctl_conn c;
	struct ctl_reply r;
	struct out_series_set ss = { 0 };
	uint64_t id, other = 9, zero = 0;
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ctl_attach(&c, sv[0]);
	c.timeout_ms = 2000;

	/* The request goes out as one frame {id, op, args}. */
	msgpack_pack_map(ctl_request(&c, "query", &id), 0);
	assert_int_equal(ctl_send(&c), 0);
	uint8_t buf[256];
	ssize_t n = read(sv[1], buf, sizeof buf);
	assert_true(n > 4 && frame_get_u32(buf) == (uint32_t)(n - 4));
	{
		msgpack_zone z;
		struct msg_request req;
		char err[128];
		msgpack_zone_init(&z, 1024);
		assert_int_equal(msg_parse_request(buf + 4, (size_t)n - 4, &z, &req, err, sizeof err), PROTO_OK);
		assert_int_equal(req.op, PROTO_OP_QUERY);
		assert_true(req.id == id);
		msgpack_zone_destroy(&z);
	}

	/* Events of ours, an event and a reply of another request, then ours. */
	send_frame(sv[1], f_series, &id);
	send_frame(sv[1], f_series, &other);
	send_frame(sv[1], f_ok, &other);
	send_frame(sv[1], f_series, &id);
	send_frame(sv[1], f_ok, &id);
	assert_int_equal(ctl_wait(&c, id, count_events, &ss, &r), 0);
	assert_true(r.rep.ok && !r.rep.is_event);
	uint64_t nseries = 0;
	assert_true(msg_get_u64(r.rep.result, "series", &nseries) && nseries == 1);
	ctl_reply_free(&r);
	assert_int_equal(ss.n, 1);
	assert_int_equal(ss.s[0].n, 4);   /* two chunks of ours, joined */
	out_series_free(&ss);

	/* A server error: its exit code and "code: msg". */
	send_frame(sv[1], f_not_found, &id);
	assert_int_equal(ctl_wait(&c, id, NULL, NULL, &r), CMD_EXIT_NOT_FOUND);
	assert_string_equal(c.err, "not_found: no instance 99 of cpu");
	assert_string_equal(r.rep.err_code, "not_found");
	ctl_reply_free(&r);

	/* A connection-level error (id 0) ends the wait too. */
	send_frame(sv[1], f_not_found, &zero);
	assert_int_equal(ctl_wait(&c, id, NULL, NULL, &r), CMD_EXIT_NOT_FOUND);
	ctl_reply_free(&r);

	/* The end event of a stream is its last word. */
	send_frame(sv[1], f_end, &id);
	assert_int_equal(ctl_wait(&c, id, NULL, NULL, &r), 0);
	assert_true(r.rep.is_event);
	assert_string_equal(r.rep.ev, "end");
	ctl_reply_free(&r);

	/* A callback that stops the wait. */
	send_frame(sv[1], f_series, &id);
	assert_int_equal(ctl_wait(&c, id, stop_events, NULL, &r), 42);
	ctl_reply_free(&r);

	/* Silence: a timeout, exit 3. */
	c.timeout_ms = 50;
	assert_int_equal(ctl_wait(&c, id, NULL, NULL, &r), CMD_EXIT_UNREACHABLE);
	assert_non_null(strstr(c.err, "did not answer"));
	ctl_reply_free(&r);

	/* Half a frame, then the peer goes away. */
	assert_int_equal(write(sv[1], "\0\0\0\x10\x81", 5), 5);
	close(sv[1]);
	assert_int_equal(ctl_wait(&c, id, NULL, NULL, &r), CMD_EXIT_ERROR);
	assert_non_null(strstr(c.err, "in the middle of a frame"));
	ctl_reply_free(&r);
	ctl_close(&c);
}

static int group_setup(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmd_find),
		cmocka_unit_test(test_cmd_find_real),
		cmocka_unit_test(test_cmd_getopt),
		cmocka_unit_test(test_cmd_help),
		cmocka_unit_test(test_json_scalars_nested),
		cmocka_unit_test(test_json_numbers),
		cmocka_unit_test(test_json_strings),
		cmocka_unit_test(test_out_bytes_si),
		cmocka_unit_test(test_out_num_value),
		cmocka_unit_test(test_out_bar_secs_time),
		cmocka_unit_test(test_timearg_good),
		cmocka_unit_test(test_timearg_bad),
		cmocka_unit_test(test_series_render),
		cmocka_unit_test(test_series_bad_and_csv_quoting),
		cmocka_unit_test(test_status_partial),
		cmocka_unit_test(test_status_full),
		cmocka_unit_test(test_status_many_cores),
		cmocka_unit_test(test_get_print),
		cmocka_unit_test(test_metrics_markdown),
		cmocka_unit_test(test_conn_wait),
	};
	return cmocka_run_group_tests_name("client", tests, group_setup, NULL);
}
