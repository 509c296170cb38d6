/* The Prometheus exposition builder: names from the schema, the text
 * format, escaping, absent values; and promtool's verdict on a page with
 * every exported field present. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prom.h"
#include "schema.h"

static void name_of(enum rm_kind k, const char *field, char *buf, double *scale, bool *counter)
{
	int f = schema_field_find(k, field, strlen(field));
	assert_true(f >= 0);
	assert_int_equal(prom_metric_name(k, (unsigned)f, buf, PROM_NAME_MAX, scale, counter), 0);
}

static void expect_name(enum rm_kind k, const char *field, const char *want, double want_scale,
                        bool want_counter)
{
	char name[PROM_NAME_MAX];
	double scale;
	bool counter;
	name_of(k, field, name, &scale, &counter);
	assert_string_equal(name, want);
	assert_true(fabs(scale - want_scale) <= 1e-12 * want_scale);
	assert_int_equal(counter, want_counter);
}

static void test_names_follow_units(void **state)
{
	(void)state;
	expect_name(RM_KIND_SYSTEM, "load1", "rmon_system_load1", 1, false);
	expect_name(RM_KIND_SYSTEM, "mem_total_bytes", "rmon_system_mem_total_bytes", 1, false);
	expect_name(RM_KIND_SYSTEM, "uptime_s", "rmon_system_uptime_seconds", 1, false);
	expect_name(RM_KIND_SYSTEM, "ctxt_ps", "rmon_system_ctxt_per_second", 1, false);
	expect_name(RM_KIND_CPU, "busy_pct", "rmon_cpu_busy_pct", 1, false);
	expect_name(RM_KIND_CPU, "freq_mhz", "rmon_cpu_freq_hertz", 1e6, false);
	expect_name(RM_KIND_CPU, "temp_c", "rmon_cpu_temp_celsius", 1, false);
	expect_name(RM_KIND_DISK, "read_bps", "rmon_disk_read_bytes_per_second", 1, false);
	expect_name(RM_KIND_DISK, "read_iops", "rmon_disk_read_ops_per_second", 1, false);
	expect_name(RM_KIND_DISK, "await_ms", "rmon_disk_await_seconds", 1e-3, false);
	expect_name(RM_KIND_NET, "rx_pps", "rmon_net_rx_packets_per_second", 1, false);
	expect_name(RM_KIND_GPU, "power_w", "rmon_gpu_power_watts", 1, false);
	expect_name(RM_KIND_EGPU, "link_gts", "rmon_egpu_link_transfers_per_second", 1e9, false);
	expect_name(RM_KIND_EGPU, "link_gts_max", "rmon_egpu_link_max_transfers_per_second", 1e9,
	            false);
	expect_name(RM_KIND_EGPU, "tb_rx_gbps", "rmon_egpu_thunderbolt_rx_bytes_per_second", 1e9 / 8, false);
	expect_name(RM_KIND_EGPU, "behind_tb", "rmon_egpu_behind_thunderbolt", 1, false);
	expect_name(RM_KIND_EGPU, "dma_latency_ns", "rmon_egpu_dma_latency_seconds", 1e-9, false);
	expect_name(RM_KIND_EGPU, "aer_cor_total", "rmon_egpu_aer_cor_total", 1, true);
}

/* The lint rules promtool applies, checked over the whole schema so that
 * a new field with a new unit cannot slip through untested. */
static bool has_token(const char *name, const char *tok)
{
	size_t n = strlen(tok);
	for (const char *p = strchr(name, '_'); p; p = strchr(p + 1, '_'))
		if (strncmp(p + 1, tok, n) == 0 && (p[1 + n] == '_' || p[1 + n] == '\0'))
			return true;
	return false;
}

static void test_every_name_valid_and_unique(void **state)
{
	static const char *const abbrev[] = { "s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb",
	                                      "tb", "pb", "m", "h", "d", "mhz", "c", "w", "bps",
	                                      "ps", "gts", "gbps" };
	char names[RM_KIND__COUNT * RM_FIELDS_MAX][PROM_NAME_MAX];
	unsigned nnames = 0;
	(void)state;
	for (int k = 0; k < RM_KIND__COUNT; k++) {
		if (!prom_kind_exported((enum rm_kind)k))
			continue;
		for (unsigned f = 0; f < rm_kinds[k].nfields; f++) {
			char *name = names[nnames];
			double scale;
			bool counter;
			assert_int_equal(prom_metric_name((enum rm_kind)k, f, name, PROM_NAME_MAX, &scale,
			                                  &counter), 0);
			for (const char *p = name; *p; p++)
				assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_');
			for (size_t a = 0; a < sizeof abbrev / sizeof abbrev[0]; a++)
				if (has_token(name, abbrev[a]))
					fail_msg("%s: abbreviated unit _%s", name, abbrev[a]);
			size_t len = strlen(name);
			bool total = len > 6 && strcmp(name + len - 6, "_total") == 0;
			assert_int_equal(total, counter);
			assert_true(scale > 0);
			for (unsigned i = 0; i < nnames; i++)
				if (strcmp(names[i], name) == 0)
					fail_msg("%s twice", name);
			nnames++;
		}
	}
	assert_true(nnames > 50);
}

static void test_exported_kinds(void **state)
{
	(void)state;
	assert_true(prom_kind_exported(RM_KIND_SYSTEM));
	assert_true(prom_kind_exported(RM_KIND_CPU));
	assert_true(prom_kind_exported(RM_KIND_GPU));
	assert_true(prom_kind_exported(RM_KIND_EGPU));
	assert_false(prom_kind_exported(RM_KIND_PROC));
	assert_false(prom_kind_exported(RM_KIND_THREAD));
	assert_false(prom_kind_exported(RM_KIND_MARK));
	assert_false(prom_kind_exported(RM_KIND_EVENT));
}

static void test_format_and_absent_values(void **state)
{
	struct rm_rec recs[2];
	struct prom_buf b = { 0 };
	(void)state;
	rec_init(&recs[0], 1, "0");
	rec_init(&recs[1], 1, "1");
	rec_set(&recs[0], RM_CPU_BUSY, 12.5);
	rec_set(&recs[1], RM_CPU_BUSY, 0.1);
	rec_set(&recs[1], RM_CPU_FREQ, 2400);   /* core 0 has no frequency reading */
	prom_put_kind(&b, RM_KIND_CPU, recs, 2);
	assert_false(b.failed);
	assert_string_equal(b.data,
		"# HELP rmon_cpu_busy_pct time not idle and not in iowait (rmon cpu:*.busy_pct)\n"
		"# TYPE rmon_cpu_busy_pct gauge\n"
		"rmon_cpu_busy_pct{cpu=\"0\"} 12.5\n"
		"rmon_cpu_busy_pct{cpu=\"1\"} 0.1\n"
		"# HELP rmon_cpu_freq_hertz current frequency (cpufreq scaling_cur_freq); all: mean "
		"over online CPUs (rmon cpu:*.freq_mhz)\n"
		"# TYPE rmon_cpu_freq_hertz gauge\n"
		"rmon_cpu_freq_hertz{cpu=\"1\"} 2400000000\n");
	prom_buf_free(&b);

	/* an unkeyed kind has no labels; a record with nothing set, no text */
	struct rm_rec sys;
	rec_init(&sys, 1, "");
	prom_put_kind(&b, RM_KIND_SYSTEM, &sys, 1);
	assert_int_equal(b.len, 0);
	prom_put_kind(&b, RM_KIND_SYSTEM, NULL, 0);
	assert_int_equal(b.len, 0);
	rec_set(&sys, RM_SYS_MEM_TOTAL, 17179869184.0);
	rec_set(&sys, RM_SYS_LOAD1, 1.0 / 3.0);
	prom_put_kind(&b, RM_KIND_SYSTEM, &sys, 1);
	assert_non_null(strstr(b.data, "\nrmon_system_load1 0.3333333333333333\n"));
	assert_non_null(strstr(b.data, "\nrmon_system_mem_total_bytes 17179869184\n"));
	assert_null(strstr(b.data, "load5"));
	assert_null(strstr(b.data, "{"));
	prom_buf_free(&b);

	struct rm_rec disk;
	rec_init(&disk, 1, "sda");
	rec_set(&disk, RM_DISK_AWAIT_MS, 2.5);
	prom_put_kind(&b, RM_KIND_DISK, &disk, 1);
	assert_non_null(strstr(b.data, "\nrmon_disk_await_seconds{disk=\"sda\"} 0.0025\n"));
	prom_buf_free(&b);
}

static void test_special_values(void **state)
{
	struct prom_buf b = { 0 };
	(void)state;
	prom_put_own(&b, true, "rmon_x", false, "h", NULL, NULL, NAN);
	prom_put_own(&b, false, "rmon_x", false, "h", NULL, NULL, INFINITY);
	prom_put_own(&b, false, "rmon_x", false, "h", NULL, NULL, -INFINITY);
	prom_put_own(&b, false, "rmon_x", false, "h", NULL, NULL, -2);
	assert_string_equal(b.data, "# HELP rmon_x h\n# TYPE rmon_x gauge\n"
	                            "rmon_x NaN\nrmon_x +Inf\nrmon_x -Inf\nrmon_x -2\n");
	prom_buf_free(&b);
}

static void test_escaping(void **state)
{
	struct prom_buf b = { 0 };
	struct rm_rec r;
	(void)state;
	/* a backslash, a quote, a newline, a tab (kept), a control byte,
	 * valid UTF-8 (kept) and invalid bytes: a lone continuation byte, a
	 * truncated sequence, an overlong '/' */
	rec_init(&r, 1, "a\\b\"c\nd\te\x01\xc3\xa9\x80\xe2\x82\xc0\xaf");
	rec_set_label(&r, "GPU \"X\"", 7);
	rec_set(&r, RM_GPU_UTIL, 50);
	prom_put_kind(&b, RM_KIND_GPU, &r, 1);
	assert_non_null(strstr(b.data, "\nrmon_gpu_util_pct{gpu=\"a\\\\b\\\"c\\nd\te?\xc3\xa9???\?\?\","
	                                "name=\"GPU \\\"X\\\"\"} 50\n"));
	prom_buf_free(&b);

	prom_put_own(&b, true, "rmon_y", true, "a \\ b\nc", "kind", "\"q\"", 1);
	assert_string_equal(b.data, "# HELP rmon_y a \\\\ b\\nc\n# TYPE rmon_y counter\n"
	                            "rmon_y{kind=\"\\\"q\\\"\"} 1\n");
	prom_buf_free(&b);
}

/* promtool check metrics: its exit status and everything it printed. */
static int promtool(const char *text, char *out, size_t outlen)
{
	char path[] = "/tmp/rmon-prom-XXXXXX", cmd[256];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void require_promtool(void)
{
	if (system("command -v promtool >/dev/null 2>&1") != 0)
		fail_msg("promtool not found: install the Debian package prometheus (make deps)");
}

/* Every field of every exported kind present, two instances each: the
 * names and the text must pass promtool without a single remark. */
static void test_promtool_full_page(void **state)
{
	struct prom_buf b = { 0 };
	char out[8192];
	(void)state;
	require_promtool();
	for (int k = 0; k < RM_KIND__COUNT; k++) {
		if (!prom_kind_exported((enum rm_kind)k))
			continue;
		struct rm_rec recs[2];
		unsigned n = rm_kinds[k].keyed ? 2 : 1;
		for (unsigned i = 0; i < n; i++) {
			rec_init(&recs[i], 1, rm_kinds[k].keyed ? (i ? "b\"1" : "a\xff") : "");
			if (k == RM_KIND_GPU && i == 0)
				rec_set_label(&recs[i], "NVIDIA H100", 11);
			for (unsigned f = 0; f < rm_kinds[k].nfields; f++)
				rec_set(&recs[i], (int)f, 1.5 * (f + 1) + i);
		}
		prom_put_kind(&b, (enum rm_kind)k, recs, n);
	}
	prom_put_own(&b, true, "rmon_up", false, "up", NULL, NULL, 1);
	prom_put_own(&b, true, "rmon_ring_records", false, "records", "kind", "cpu", 10);
	prom_put_own(&b, false, "rmon_ring_records", false, "records", "kind", "disk", 20);
	assert_false(b.failed);
	int rc = promtool(b.data, out, sizeof out);
	if (rc != 0 || out[0])
		fail_msg("promtool exit %d: %s", rc, out);
	/* and promtool does fail on a broken page (so the test can fail) */
	assert_int_not_equal(promtool("# TYPE x gauge\nx{a=\"b} 1\n", out, sizeof out), 0);
	assert_true(promtool("rmon_z_total 1\n# TYPE rmon_q_ms gauge\nrmon_q_ms 1\n", out,
	                     sizeof out) != 0 || out[0]);
	prom_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_follow_units),
		cmocka_unit_test(test_every_name_valid_and_unique),
		cmocka_unit_test(test_exported_kinds),
		cmocka_unit_test(test_format_and_absent_values),
		cmocka_unit_test(test_special_values),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_promtool_full_page),
	};
	return cmocka_run_group_tests_name("prom", tests, NULL, NULL);
}
