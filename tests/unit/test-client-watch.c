/*
 * The pure parts of rmonctl watch, top, run and mark: trend arrows and
 * their dead band, the watch view within the terminal's size, the watch
 * and run summaries from crafted replies, the top table on partial
 * records, run's exit-status mapping and command label, text fitting,
 * tagged JSON lines, the new commands in the table, and the wake-up and
 * cancel hooks of the connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd.h"
#include "ctl.h"
#include "frame.h"
#include "msg.h"
#include "out.h"
#include "watch-view.h"

#define T0 UINT64_C(1763720000000000000)
#define NS UINT64_C(1000000000)

#include "client-test-helpers.h"

/* Columns of a line: UTF-8 characters, escape sequences not counted. */
static size_t columns(const char *p, size_t n)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\033') {
			while (i < n && !((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z')))
				i++;
			continue;
		}
		w += ((unsigned char)p[i] & 0xc0) != 0x80;
	}
	return w;
}

/* Every line at most width columns; returns the number of lines. */
static int assert_fits(const char *text, size_t width)
{
	int lines = 0;
	for (const char *p = text; *p; lines++) {
		size_t n = strcspn(p, "\n");
		if (columns(p, n) > width)
			fail_msg("line wider than %zu: '%.*s'", width, (int)n, p);
		p += n + (p[n] == '\n');
	}
	return lines;
}

static void kv_f(msgpack_packer *pk, const char *k, double v)
{
	msg_pack_kv_f64(pk, k, v);
}

/* ---- trends ---- */

static void test_trend(void **state)
{
	(void)state;
	assert_int_equal(watch_trend(100, 101, 2, 0.05), WATCH_TREND_FLAT);
	assert_int_equal(watch_trend(100, 104.9, 2, 0.05), WATCH_TREND_FLAT);   /* 5 % band */
	assert_int_equal(watch_trend(100, 105.1, 2, 0.05), WATCH_TREND_UP);
	assert_int_equal(watch_trend(100, 94, 2, 0.05), WATCH_TREND_DOWN);
	assert_int_equal(watch_trend(0, 1.5, 2, 0.05), WATCH_TREND_FLAT);        /* abs band near 0 */
	assert_int_equal(watch_trend(0, 2.5, 2, 0.05), WATCH_TREND_UP);
	assert_int_equal(watch_trend(NAN, 5, 2, 0.05), WATCH_TREND_NONE);
	assert_int_equal(watch_trend(5, NAN, 2, 0.05), WATCH_TREND_NONE);
	assert_int_equal(watch_trend(7, 7, 0, 0), WATCH_TREND_FLAT);

	/* The per-metric bands: CPU 2 points, memory 1 %, threads any change. */
	assert_int_equal(watch_metric_trend(WM_CPU, 50, 51.5), WATCH_TREND_FLAT);
	assert_int_equal(watch_metric_trend(WM_CPU, 50, 53), WATCH_TREND_UP);
	assert_int_equal(watch_metric_trend(WM_RSS, 1e9, 1.005e9), WATCH_TREND_FLAT);
	assert_int_equal(watch_metric_trend(WM_RSS, 1e9, 1.02e9), WATCH_TREND_UP);
	assert_int_equal(watch_metric_trend(WM_RSS, 1e6, 1e6 + 100e3), WATCH_TREND_FLAT); /* < 256 KiB */
	assert_int_equal(watch_metric_trend(WM_READ, 0, 1000), WATCH_TREND_FLAT);
	assert_int_equal(watch_metric_trend(WM_READ, 1e6, 5e5), WATCH_TREND_DOWN);
	assert_int_equal(watch_metric_trend(WM_THREADS, 10, 11), WATCH_TREND_UP);
	assert_int_equal(watch_metric_trend(WM_THREADS, 10, 10), WATCH_TREND_FLAT);
	assert_int_equal(watch_metric_trend(WM__COUNT, 1, 2), WATCH_TREND_NONE);

	assert_string_equal(watch_trend_arrow(WATCH_TREND_UP), "\u2191");
	assert_string_equal(watch_trend_arrow(WATCH_TREND_DOWN), "\u2193");
	assert_string_equal(watch_trend_arrow(WATCH_TREND_FLAT), "\u2192");
	assert_string_equal(watch_trend_arrow(WATCH_TREND_NONE), " ");

	assert_string_equal(watch_cpu_color(10), OUT_GREEN);
	assert_string_equal(watch_cpu_color(50), OUT_YELLOW);
	assert_string_equal(watch_cpu_color(90), OUT_YELLOW);
	assert_string_equal(watch_cpu_color(95), OUT_RED);
	assert_string_equal(watch_cpu_color(NAN), OUT_GREEN);
}

/* ---- text fitting ---- */

static void test_fit(void **state)
{
	char b[64], tiny[5];
	(void)state;
	assert_int_equal(out_text_width("abc"), 3);
	assert_int_equal(out_text_width("h\u00e9\u2192"), 3);
	assert_string_equal(out_fit(b, sizeof b, "hello", 10), "hello");
	assert_string_equal(out_fit(b, sizeof b, "hello", 5), "hello");
	assert_string_equal(out_fit(b, sizeof b, "hello world", 6), "hello\u2026");
	assert_int_equal(out_text_width(b), 6);
	assert_string_equal(out_fit(b, sizeof b, "hello", 1), "\u2026");
	assert_string_equal(out_fit(b, sizeof b, "hello", 0), "hello");   /* no limit */
	/* Never half a character: é is two bytes, → three. */
	assert_string_equal(out_fit(b, sizeof b, "\u00e9\u00e9\u00e9\u00e9", 3), "\u00e9\u00e9\u2026");
	assert_string_equal(out_fit(b, sizeof b, "a\u2192b\u2192c", 4), "a\u2192b\u2026");
	/* A buffer too small for the text: cut by bytes, still whole characters. */
	assert_string_equal(out_fit(tiny, sizeof tiny, "abcdef", 0), "a\u2026");
	assert_string_equal(out_fit(tiny, sizeof tiny, "\u00e9\u00e9", 0), "\u00e9\u00e9");
	assert_string_equal(out_fit(tiny, 3, "\u00e9\u00e9", 0), "\u00e9");
	assert_string_equal(out_fit(tiny, 2, "\u00e9", 0), "");
	assert_string_equal(out_fit(tiny, 1, "abc", 0), "");
}

/* ---- the watch view ---- */

static void pack_proc(msgpack_packer *pk, uint64_t pid, const char *comm, double cpu, bool full)
{
	char key[16];
	snprintf(key, sizeof key, "%llu", (unsigned long long)pid);
	msgpack_pack_map(pk, full ? 12 : 3);
	msg_pack_kv_str(pk, "key", key);
	msg_pack_kv_str(pk, "label", comm);
	kv_f(pk, "pid", (double)pid);
	if (!full)
		return;
	kv_f(pk, "cpu_pct", cpu);
	kv_f(pk, "rss_bytes", 1.5 * 1024 * 1024 * 1024);
	kv_f(pk, "read_bps", 12e6);
	kv_f(pk, "write_bps", 0);
	kv_f(pk, "threads", 24);
	kv_f(pk, "state", 'R');
	kv_f(pk, "uid", 0);
	msg_pack_kv_str(pk, "category", "ml/pytorch");
	msg_pack_kv_str(pk, "cmdline", "python train.py --epochs 300 --data /very/long/path/to/the/dataset");
}

static void pack_thread(msgpack_packer *pk, uint64_t tid, const char *name, double cpu)
{
	msgpack_pack_map(pk, 4);
	kv_f(pk, "tid", (double)tid);
	msg_pack_kv_str(pk, "label", name);
	kv_f(pk, "cpu_pct", cpu);
	kv_f(pk, "state", 'S');
}

/* A sample: nproc processes (the first is pid 4242), nthreads threads in
 * ascending CPU order (the view sorts them). */
static const msgpack_object *make_sample(struct obj *o, double cpu, double rss, int nproc, int nthreads)
{
	msgpack_packer *pk = obj_begin(o);
	msgpack_pack_map(pk, 4);
	msg_pack_kv_u64(pk, "ts", T0 + 72 * NS);
	msg_pack_str(pk, "total");
	msgpack_pack_map(pk, 9);
	kv_f(pk, "cpu_pct", cpu);
	kv_f(pk, "user_pct", cpu * 0.9);
	kv_f(pk, "system_pct", cpu * 0.1);
	kv_f(pk, "rss_bytes", rss);
	kv_f(pk, "pss_bytes", rss * 0.9);
	kv_f(pk, "read_bps", 12e6);
	kv_f(pk, "write_bps", 0);
	kv_f(pk, "threads", 24);
	kv_f(pk, "processes", nproc);
	msg_pack_str(pk, "procs");
	msgpack_pack_array(pk, (size_t)nproc);
	for (int i = 0; i < nproc; i++)
		pack_proc(pk, 4242u + (unsigned)i, i ? "worker" : "train.py", 10.0 * i, true);
	msg_pack_str(pk, "threads");
	msgpack_pack_array(pk, (size_t)nthreads);
	for (int i = 0; i < nthreads; i++)
		pack_thread(pk, 5000u + (unsigned)i, i == nthreads - 1 ? "busiest" : "worker", i);
	return obj_end(o);
}

static char *render(struct watch_view *v, const msgpack_object *sample)
{
	struct mem m;
	watch_view_render(mem_open(&m), v, sample);
	return mem_close(&m);
}

static void test_view_full(void **state)
{
	static const uint64_t pids[] = { 4242 };
	struct watch_view v;
	struct obj o1, o2;
	(void)state;

	watch_view_init(&v);
	v.pids = pids;
	v.npids = 1;
	v.start_ns = T0;
	v.interval_ns = NS;
	v.width = 100;
	v.height = 40;
	char *s = render(&v, make_sample(&o1, 150, 1e9, 1, 0));
	assert_non_null(strstr(s, "4242 train.py (ml/pytorch)"));
	assert_non_null(strstr(s, "elapsed 1m12s"));
	assert_non_null(strstr(s, "150.0%"));
	assert_non_null(strstr(s, "of 200%"));          /* 1.5 cores: the bar's scale is 2 */
	assert_non_null(strstr(s, "RSS 954 MiB"));
	assert_non_null(strstr(s, "read 11.4 MiB/s"));
	assert_null(strstr(s, "\u2191"));               /* no previous sample: no arrows */
	assert_null(strstr(s, "PID S"));                /* one process: no rows */
	assert_null(strstr(s, "\033["));                /* no colour asked */
	assert_fits(s, 100);
	free(s);

	/* Second sample: CPU up, RSS flat within its band, threads flat. */
	s = render(&v, make_sample(&o2, 180, 1.001e9, 1, 0));
	assert_non_null(strstr(s, "180.0% \u2191"));
	assert_non_null(strstr(s, "RSS 955 MiB \u2192"));
	assert_non_null(strstr(s, "threads 24 \u2192"));
	free(s);
	obj_free(&o1);
	obj_free(&o2);

	/* Colour: the bar in red above 90 % of its scale. */
	v.color = true;
	s = render(&v, make_sample(&o1, 195, 1e9, 1, 0));
	assert_non_null(strstr(s, OUT_RED "["));
	assert_fits(s, 100);
	free(s);
	obj_free(&o1);
}

static void test_view_fits_terminal(void **state)
{
	static const uint64_t pids[] = { 4242, 4243 };
	struct watch_view v;
	struct obj o;
	(void)state;

	/* A roomy terminal: process rows, then the top 20 threads, busiest first. */
	watch_view_init(&v);
	v.pids = pids;
	v.npids = 2;
	v.threads = true;
	v.width = 120;
	v.height = 60;
	char *s = render(&v, make_sample(&o, 100, 1e9, 3, 30));
	assert_non_null(strstr(s, "PID S"));
	assert_non_null(strstr(s, "python train.py --epochs"));
	assert_non_null(strstr(s, "TID S"));
	char *first = strchr(strstr(s, "TID S"), '\n') + 1;   /* the first thread row */
	assert_true(strstr(first, "busiest") < strchr(first, '\n'));
	int lines = assert_fits(s, 120);
	assert_true(lines <= 59);
	int nthreads = 0;
	for (const char *p = first; (p = strstr(p, " S ")) != NULL; p++)
		nthreads++;
	assert_int_equal(nthreads, WATCH_THREAD_ROWS);
	free(s);

	/* Small terminals of every size: never wider, never taller. */
	for (int h = 2; h <= 30; h += 4)
		for (int w = 20; w <= 90; w += 14) {
			v.width = w;
			v.height = h;
			s = render(&v, &o.u.data);
			assert_true(assert_fits(s, (size_t)w) <= h - 1);
			free(s);
		}
	/* Compact: three lines at most, the top thread on the third. */
	v.compact = true;
	v.width = 80;
	v.height = 24;
	s = render(&v, &o.u.data);
	assert_true(assert_fits(s, 80) <= 3);
	assert_non_null(strstr(s, "top thread 5029 busiest"));
	free(s);
	obj_free(&o);
}

static void test_view_empty(void **state)
{
	static const uint64_t pids[] = { 7 };
	struct watch_view v;
	struct obj o;
	(void)state;

	/* An empty map, then something that is not a map at all. */
	watch_view_init(&v);
	v.pids = pids;
	v.npids = 1;
	v.threads = true;
	msgpack_pack_map(obj_begin(&o), 0);
	char *s = render(&v, obj_end(&o));
	assert_non_null(strstr(s, "7 (gone)"));
	assert_non_null(strstr(s, "CPU      - "));
	assert_non_null(strstr(s, "RSS -"));
	assert_fits(s, 80);
	free(s);
	obj_free(&o);
	msgpack_pack_array(obj_begin(&o), 0);
	s = render(&v, obj_end(&o));
	free(s);
	v.compact = true;
	s = render(&v, NULL);
	assert_fits(s, 80);
	free(s);
	obj_free(&o);
}

/* ---- summaries ---- */

static const msgpack_object *make_reply(struct obj *o, bool run, bool partial)
{
	msgpack_packer *pk = obj_begin(o);
	msgpack_pack_map(pk, partial ? 2 : 8 + run);
	msg_pack_kv_str(pk, "reason", "exited");
	kv_f(pk, "duration_s", 83.4);
	if (!partial) {
		msg_pack_kv_u64(pk, "samples", 83);
		msg_pack_str(pk, "peak");
		msgpack_pack_map(pk, 4);
		kv_f(pk, "cpu_pct", 1480);
		kv_f(pk, "rss_bytes", 3.2 * 1024 * 1024 * 1024);
		kv_f(pk, "pss_bytes", 2.5 * 1024 * 1024 * 1024);
		kv_f(pk, "threads", 90);
		msg_pack_str(pk, "avg");
		msgpack_pack_map(pk, 1);
		kv_f(pk, "cpu_pct", 1234.5);
		msg_pack_str(pk, "io");
		msgpack_pack_map(pk, 2);
		kv_f(pk, "read_bytes", 1024 * 1024);
		kv_f(pk, "write_bytes", 2048);
		msg_pack_kv_u64(pk, "threads_min", 1);
		msg_pack_kv_u64(pk, "threads_max", 90);
	}
	if (!run || partial)
		return obj_end(o);
	msg_pack_str(pk, "run");
	msgpack_pack_map(pk, 10);
	msg_pack_kv_u64(pk, "run_id", 17);
	msg_pack_kv_str(pk, "label", "make -j16");
	msg_pack_kv_u64(pk, "processes", 1423);
	kv_f(pk, "cpu_s", 1029.5);
	msg_pack_str(pk, "categories");
	msgpack_pack_array(pk, 4);
	static const struct { const char *name; double procs, cpu, rss; } cats[] = {
		{ "link/ld", 12, 40.1, 800e6 },
		{ "compile/cc1plus", 1100, 900, 1.2e9 },
		{ "compile/cc1", 100, 80, 3e8 },
		{ "script", 211, 9.4, 5e6 },
	};
	for (size_t i = 0; i < 4; i++) {
		msgpack_pack_map(pk, 4);
		msg_pack_kv_str(pk, "name", cats[i].name);
		kv_f(pk, "processes", cats[i].procs);
		kv_f(pk, "cpu_s", cats[i].cpu);
		kv_f(pk, "peak_rss_bytes", cats[i].rss);
	}
	kv_f(pk, "peak_rss_bytes", 3.5 * 1024 * 1024 * 1024);
	msg_pack_str(pk, "pressure");
	msgpack_pack_map(pk, 3);
	kv_f(pk, "cpu_some_avg", 12.5);
	kv_f(pk, "io_some_avg", 0.25);
	kv_f(pk, "mem_some_avg", 0);
	kv_f(pk, "cpu_util_pct", 77.2);
	msg_pack_kv_str(pk, "verdict", "cpu-bound");
	msg_pack_kv_str(pk, "evidence", "CPUs 77% busy, cpu pressure 12.5%, iowait 0.1%");
	return obj_end(o);
}

static void test_watch_summary(void **state)
{
	struct obj o;
	struct mem m;
	(void)state;

	watch_summary_print(mem_open(&m), make_reply(&o, false, false), false);
	char *s = mem_close(&m);
	assert_non_null(strstr(s, "1m23s, 83 samples, all watched processes exited"));
	assert_non_null(strstr(s, "peak 1480.0%   average 1234.5%"));
	assert_non_null(strstr(s, "peak RSS 3.20 GiB   peak PSS 2.50 GiB"));
	assert_non_null(strstr(s, "read 1.00 MiB   written 2.00 KiB"));
	assert_non_null(strstr(s, "threads    1 to 90"));
	free(s);
	obj_free(&o);

	/* Partial: dashes, never zeros; and nothing at all. */
	watch_summary_print(mem_open(&m), make_reply(&o, false, true), false);
	s = mem_close(&m);
	assert_non_null(strstr(s, "1m23s, - samples"));
	assert_non_null(strstr(s, "peak -   average -"));
	assert_non_null(strstr(s, "peak RSS -"));
	assert_null(strstr(s, " 0 B"));
	free(s);
	obj_free(&o);
	watch_summary_print(mem_open(&m), NULL, true);
	free(mem_close(&m));
}

static void test_run_summary(void **state)
{
	struct obj o;
	struct mem m;
	struct run_end e = { "make -j16", true, 0, T0, T0 + 83 * NS + 400000000u };
	(void)state;

	watch_run_summary_print(mem_open(&m), make_reply(&o, true, false), &e, false);
	char *s = mem_close(&m);
	assert_non_null(strstr(s, "rmonctl run: make -j16\n"));
	assert_non_null(strstr(s, "exit       status 0"));
	assert_non_null(strstr(s, "1m23s (10:13:20 to 10:14:43)"));
	assert_non_null(strstr(s, "1029.5 s (77.2% of all CPUs)"));
	assert_non_null(strstr(s, "peak RSS 3.50 GiB   peak PSS 2.50 GiB"));   /* PSS from peak */
	assert_non_null(strstr(s, "processes  1423"));
	assert_non_null(strstr(s, "verdict    cpu-bound: CPUs 77% busy"));
	assert_non_null(strstr(s, "cpu 12.5%  io 0.2%  memory 0.0%"));
	assert_non_null(strstr(s, "iowait -"));
	/* Grouped by major, the biggest first; a lone minor on one row. */
	char *compile = strstr(s, "\n  compile "), *cc1plus = strstr(s, "\n    cc1plus "),
	     *cc1 = strstr(s, "\n    cc1 "), *link = strstr(s, "\n  link/ld "), *script = strstr(s, "\n  script ");
	assert_non_null(compile);
	assert_non_null(cc1plus);
	assert_non_null(cc1);
	assert_non_null(link);
	assert_non_null(script);
	assert_true(compile < cc1plus && cc1plus < cc1 && cc1 < link && link < script);
	assert_non_null(strstr(compile, "1200     980.0"));
	assert_non_null(strstr(s, "run 17; for example: rmonctl query 'proc:*.rss_bytes' --run 17"));
	free(s);
	obj_free(&o);

	/* Killed by a signal; rmond sent no summary. */
	e.wstatus = SIGKILL;
	watch_run_summary_print(mem_open(&m), NULL, &e, false);
	s = mem_close(&m);
	assert_non_null(strstr(s, "killed by signal 9"));
	assert_non_null(strstr(s, "exit code 137"));
	assert_non_null(strstr(s, "none: rmond did not send one"));
	free(s);

	/* A partial reply: no crash, dashes. */
	e = (struct run_end){ NULL, false, 0, 0, 0 };
	watch_run_summary_print(mem_open(&m), make_reply(&o, true, true), &e, true);
	s = mem_close(&m);
	assert_non_null(strstr(s, "unknown"));
	assert_non_null(strstr(s, "peak RSS -"));
	free(s);
	obj_free(&o);
}

/* ---- top ---- */

static const msgpack_object *make_top(struct obj *o)
{
	msgpack_packer *pk = obj_begin(o);
	msgpack_pack_map(pk, 3);
	msg_pack_kv_u64(pk, "ts", T0);
	msg_pack_kv_u64(pk, "processes", 183);
	msg_pack_str(pk, "procs");
	msgpack_pack_array(pk, 6);
	pack_proc(pk, 4242, "train.py", 398.5, true);
	pack_proc(pk, 812, "rmond", 0, false);          /* only key, label, pid */
	msgpack_pack_map(pk, 0);                          /* nothing at all */
	msgpack_pack_map(pk, 4);                          /* cmdline as an array, odd types */
	msg_pack_kv_str(pk, "key", "99");
	msg_pack_str(pk, "cmdline");
	msgpack_pack_array(pk, 3);
	msg_pack_str(pk, "sh");
	msg_pack_str(pk, "-c");
	msg_pack_str(pk, "echo\thi");
	msg_pack_kv_str(pk, "cpu_pct", "lots");
	msg_pack_kv_u64(pk, "uid", 4000000000u);
	msgpack_pack_nil(pk);                             /* not a map */
	msgpack_pack_map(pk, 2);                          /* empty cmdline: the comm */
	msg_pack_kv_str(pk, "label", "kworker/0:1");
	msg_pack_kv_str(pk, "cmdline", "");
	return obj_end(o);
}

static void test_top_table(void **state)
{
	struct obj o;
	struct mem m;
	(void)state;

	/* Not a terminal: every column, nothing cut. */
	struct proc_table t = { 0, true, false, 0 };
	cmd_top_render(mem_open(&m), make_top(&o), &t, false);
	char *s = mem_close(&m);
	assert_non_null(strstr(s, "    PID USER     S   CPU%       RSS    READ/s   WRITE/s  THR CATEGORY   COMMAND\n"));
	assert_non_null(strstr(s, "   4242 root     R  398.5  1.50 GiB  11.4 MiB       0 B   24 ml/pytorch "
				  "python train.py --epochs 300 --data /very/long/path/to/the/dataset\n"));
	assert_non_null(strstr(s, "    812 -        -      -         -         -         -    - -          [rmond]\n"));
	assert_non_null(strstr(s, "     99 4000000\u2026 - "));
	assert_non_null(strstr(s, "sh -c echo?hi\n"));
	assert_non_null(strstr(s, "[kworker/0:1]\n"));
	assert_null(strstr(s, "processes"));
	free(s);

	/* A terminal: the header line, and every width fits. */
	for (int w = 30; w <= 140; w += 5) {
		t.width = w;
		cmd_top_render(mem_open(&m), &o.u.data, &t, true);
		s = mem_close(&m);
		assert_non_null(strstr(s, "183 processes at 10:13:20.000\n"));
		assert_fits(s, (size_t)w);
		if (w == 80) {   /* IO columns gone before the command is cut to nothing */
			assert_null(strstr(s, "READ/s"));
			assert_non_null(strstr(s, "python train.py"));
			assert_non_null(strstr(s, "\u2026\n"));
		}
		if (w >= 110)
			assert_non_null(strstr(s, "READ/s"));
		free(s);
	}
	obj_free(&o);

	/* Nothing to show. */
	msgpack_pack_map(obj_begin(&o), 0);
	cmd_top_render(mem_open(&m), obj_end(&o), &t, true);
	s = mem_close(&m);
	assert_non_null(strstr(s, "PID USER"));
	free(s);
	obj_free(&o);

	/* max_rows: the rest summed up on one line. */
	t = (struct proc_table){ 0, false, false, 3 };
	assert_int_equal(proc_table_print(mem_open(&m), msg_get_array(make_top(&o), "procs"), &t), 4);
	s = mem_close(&m);
	assert_int_equal(assert_fits(s, 200), 4);
	assert_non_null(strstr(s, "\u2026 4 more\n"));
	free(s);
	obj_free(&o);
}

/* ---- run ---- */

static void test_run_exit_code(void **state)
{
	(void)state;
	assert_int_equal(run_exit_code(0), 0);
	assert_int_equal(run_exit_code(3 << 8), 3);
	assert_int_equal(run_exit_code(255 << 8), 255);
	assert_int_equal(run_exit_code(SIGKILL), 128 + SIGKILL);
	assert_int_equal(run_exit_code(SIGSEGV | 0x80), 128 + SIGSEGV);   /* core dumped */

	/* And from real children. */
	int st;
	pid_t p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		signal(SIGTERM, SIG_DFL);
		raise(SIGTERM);
		_exit(0);
	}
	assert_int_equal(waitpid(p, &st, 0), p);
	assert_int_equal(run_exit_code(st), 128 + SIGTERM);
	p = fork();
	assert_true(p >= 0);
	if (p == 0)
		_exit(42);
	assert_int_equal(waitpid(p, &st, 0), p);
	assert_int_equal(run_exit_code(st), 42);
}

static void test_run_label(void **state)
{
	char b[256], small[12];
	(void)state;
	char *a1[] = { "make", "-j16", "CFLAGS=-O2", "./src/a.c", NULL };
	assert_string_equal(run_label(b, sizeof b, 4, a1), "make -j16 CFLAGS=-O2 ./src/a.c");
	char *a2[] = { "python", "train.py", "--name", "big run", "", NULL };
	assert_string_equal(run_label(b, sizeof b, 5, a2), "python train.py --name 'big run' ''");
	char *a3[] = { "sh", "-c", "echo it's $HOME; ls *", NULL };
	assert_string_equal(run_label(b, sizeof b, 3, a3), "sh -c 'echo it'\\''s $HOME; ls *'");
	char *a4[] = { "printf", "a\nb", NULL };
	assert_string_equal(run_label(b, sizeof b, 2, a4), "printf 'a?b'");   /* no raw newline */
	char *a5[] = { "caf\u00e9", NULL };
	assert_string_equal(run_label(b, sizeof b, 1, a5), "'caf\u00e9'");
	assert_string_equal(run_label(small, sizeof small, 4, a1), "make -j1\u2026");
	assert_string_equal(run_label(b, sizeof b, 0, a1), "");
}

/* ---- JSON lines ---- */

static void test_json_tagged(void **state)
{
	struct obj o;
	struct mem m;
	(void)state;

	msgpack_packer *pk = obj_begin(&o);
	msgpack_pack_map(pk, 2);
	msg_pack_kv_u64(pk, "pid", 4242);
	msg_pack_kv_str(pk, "comm", "train.py");
	out_json_tagged(mem_open(&m), "ev", "exit", obj_end(&o));
	char *s = mem_close(&m);
	assert_string_equal(s, "{\"ev\":\"exit\",\"pid\":4242,\"comm\":\"train.py\"}");
	free(s);
	obj_free(&o);

	msgpack_pack_uint64(obj_begin(&o), 3);
	out_json_tagged(mem_open(&m), "ev", "odd", obj_end(&o));
	s = mem_close(&m);
	assert_string_equal(s, "{\"ev\":\"odd\",\"data\":3}");
	free(s);
	out_json_tagged(mem_open(&m), "ev", "lagged", NULL);
	s = mem_close(&m);
	assert_string_equal(s, "{\"ev\":\"lagged\"}");
	free(s);
	obj_free(&o);
}

/* ---- the command table ---- */

static void test_commands(void **state)
{
	char err[256];
	(void)state;
	assert_string_equal(cmd_find("w", err, sizeof err)->name, "watch");
	assert_string_equal(cmd_find("t", err, sizeof err)->name, "top");
	assert_string_equal(cmd_find("r", err, sizeof err)->name, "run");
	assert_string_equal(cmd_find("ma", err, sizeof err)->name, "mark");
	assert_string_equal(cmd_find("me", err, sizeof err)->name, "metrics");
	assert_string_equal(cmd_find("m", err, sizeof err)->name, "metrics");   /* kept */
	assert_null(cmd_find("mx", err, sizeof err));

	/* Each new command: --help exits 0; a bad option or value exits 2,
	 * before any daemon is asked. */
	static const char *const bad[][4] = {
		{ "watch", NULL },                          /* no pid */
		{ "watch", "--pid", "12,x", NULL },
		{ "watch", "--pid", "0", NULL },
		{ "watch", "--pid", "1", "--interval" },    /* missing value (argc 4) */
		{ "top", "--sort", "name", NULL },
		{ "top", "-n", "0", NULL },
		{ "top", "-n", "1001", NULL },
		{ "mark", NULL },
		{ "mark", "", NULL },
		{ "mark", "--pid", "-3", NULL },
		{ "run", NULL },
		{ "run", "--interval", "50ms", NULL },
	};
	int devnull = open("/dev/null", O_WRONLY), saved = dup(STDERR_FILENO), saved_out = dup(STDOUT_FILENO);
	assert_true(devnull >= 0 && saved >= 0 && saved_out >= 0);
	dup2(devnull, STDERR_FILENO);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *argv[5] = { 0 };
		int argc = 0;
		while (argc < 4 && bad[i][argc])
			argv[argc] = (char *)bad[i][argc], argc++;
		struct cmd_ctx ctx = { .socket = "/nonexistent/rmond.sock" };
		int rc = cmd_run(cmd_find(argv[0], err, sizeof err), &ctx, argc, argv);
		if (rc != CMD_EXIT_USAGE)
			fail_msg("rmonctl %s %s: exit %d, not 2", argv[0], argv[1] ? argv[1] : "", rc);
	}
	char long_text[80];
	memset(long_text, 'x', 64);
	long_text[64] = '\0';
	char *argv[] = { "mark", long_text, NULL };
	struct cmd_ctx ctx = { .socket = "/nonexistent/rmond.sock" };
	assert_int_equal(cmd_run(cmd_find("mark", err, sizeof err), &ctx, 2, argv), CMD_EXIT_USAGE);
	long_text[63] = '\0';   /* 63 bytes are fine: then no daemon, exit 3 */
	assert_int_equal(cmd_run(cmd_find("mark", err, sizeof err), &ctx, 2, argv), CMD_EXIT_UNREACHABLE);
	/* run without rmond: exit 3, and the command does not run. */
	char marker[] = "/tmp/rmon-test-run-XXXXXX";
	int mfd = mkstemp(marker);
	assert_true(mfd >= 0);
	close(mfd);
	unlink(marker);
	char *rargv[] = { "run", "--", "touch", marker, NULL };
	assert_int_equal(cmd_run(cmd_find("run", err, sizeof err), &ctx, 4, rargv), CMD_EXIT_UNREACHABLE);
	assert_int_equal(access(marker, F_OK), -1);
	dup2(devnull, STDOUT_FILENO);
	static const char *const cmds[] = { "watch", "top", "run", "mark" };
	for (size_t i = 0; i < 4; i++) {
		char *hargv[] = { (char *)cmds[i], "--help", NULL };
		assert_int_equal(cmd_run(cmd_find(cmds[i], err, sizeof err), &ctx, 2, hargv), 0);
	}
	fflush(stdout);
	dup2(saved, STDERR_FILENO);
	dup2(saved_out, STDOUT_FILENO);
	close(saved);
	close(saved_out);
	close(devnull);
}

/* ---- the connection's wake-up hook and cancel ---- */

static int wakes;

static int wake_thrice(void *arg)
{
	(void)arg;
	return ++wakes == 3 ? 7 : 0;
}

static void test_ctl_wake_cancel(void **state)
{
	int sv[2];
	struct ctl_conn c;
	struct ctl_reply r;
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ctl_attach(&c, sv[0]);
	c.timeout_ms = 5000;
	c.wake = wake_thrice;
	c.wake_ms = 10;
	/* Nothing comes: the hook runs every 10 ms and its 7 ends the wait. */
	assert_int_equal(ctl_wait(&c, 5, NULL, NULL, &r), 7);
	assert_int_equal(wakes, 3);
	ctl_reply_free(&r);

	/* cancel goes out as {id, op: cancel, args: {stream}}. */
	assert_int_equal(ctl_cancel(&c, 5), 0);
	uint8_t buf[256];
	ssize_t n = read(sv[1], buf, sizeof buf);
	assert_true(n > 4 && frame_get_u32(buf) == (uint32_t)(n - 4));
	msgpack_zone z;
	struct msg_request req;
	char err[128];
	uint64_t stream = 0;
	msgpack_zone_init(&z, 1024);
	assert_int_equal(msg_parse_request(buf + 4, (size_t)n - 4, &z, &req, err, sizeof err), PROTO_OK);
	assert_int_equal(req.op, PROTO_OP_CANCEL);
	assert_true(msg_get_u64(req.args, "stream", &stream) && stream == 5);
	msgpack_zone_destroy(&z);

	/* Timing out still works with a hook. */
	c.timeout_ms = 30;
	c.wake_ms = 0;
	wakes = -1000;
	assert_int_equal(ctl_wait(&c, 5, NULL, NULL, &r), CMD_EXIT_UNREACHABLE);
	ctl_reply_free(&r);
	close(sv[1]);
	ctl_close(&c);
}

static int group_setup(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	unsetenv("NO_COLOR");
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trend),
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_view_full),
		cmocka_unit_test(test_view_fits_terminal),
		cmocka_unit_test(test_view_empty),
		cmocka_unit_test(test_watch_summary),
		cmocka_unit_test(test_run_summary),
		cmocka_unit_test(test_top_table),
		cmocka_unit_test(test_run_exit_code),
		cmocka_unit_test(test_run_label),
		cmocka_unit_test(test_json_tagged),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_ctl_wake_cancel),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
