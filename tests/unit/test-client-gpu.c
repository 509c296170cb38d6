/*
 * What rmonctl shows of per-process GPU use: the GPUMEM column of top and
 * of watch's process rows (only when a process holds GPU memory), the
 * summed GPU memory of watch's live view, the peaks in the watch and run
 * summaries (and the run's category table), and status's GPU processes.
 * Replies are built by hand, as rmond packs them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "client-test-helpers.h"
#include "cmd.h"
#include "msg.h"
#include "watch-view.h"

#define GIB 1073741824ull

/* A proc record: pid, comm, RSS, and GPU memory when gpu is not 0. */
static void pack_proc(msgpack_packer *pk, unsigned pid, const char *comm, uint64_t gpu)
{
	msgpack_pack_map(pk, 5 + (gpu ? 1u : 0u));
	msg_pack_kv_u64(pk, "pid", pid);
	msg_pack_kv_str(pk, "label", comm);
	msg_pack_kv_u64(pk, "rss_bytes", 1048576);
	msg_pack_kv_f64(pk, "cpu_pct", 1.5);
	msg_pack_kv_str(pk, "category", "ml/pytorch");
	if (gpu)
		msg_pack_kv_u64(pk, "gpu_mem_bytes", gpu);
}

static const msgpack_object *procs(struct obj *o, bool with_gpu)
{
	msgpack_packer *pk = obj_begin(o);
	msgpack_pack_array(pk, 2);
	pack_proc(pk, 4242, "python", with_gpu ? 12 * GIB : 0);
	pack_proc(pk, 7, "bash", 0);
	return obj_end(o);
}

static void test_table_column(void **state)
{
	struct obj o;
	struct mem m;
	(void)state;
	struct proc_table t = { 0, false, false, 0 };
	proc_table_print(mem_open(&m), procs(&o, true), &t);
	char *s = mem_close(&m);
	assert_non_null(strstr(s, "RSS    GPUMEM"));
	assert_non_null(strstr(s, "12.0 GiB"));
	char *bash = strstr(s, "\n      7 ");
	assert_non_null(bash);
	assert_non_null(strstr(bash, " 1.00 MiB         - "));   /* no reading: "-", not 0 */
	free(s);
	obj_free(&o);

	proc_table_print(mem_open(&m), procs(&o, false), &t);   /* nobody on a GPU */
	s = mem_close(&m);
	assert_null(strstr(s, "GPUMEM"));
	free(s);
	obj_free(&o);

	/* a narrow terminal: READ/s and WRITE/s go first, GPUMEM stays */
	t = (struct proc_table){ 80, true, false, 0 };
	proc_table_print(mem_open(&m), procs(&o, true), &t);
	s = mem_close(&m);
	assert_null(strstr(s, "READ/s"));
	assert_non_null(strstr(s, "GPUMEM"));
	free(s);
	obj_free(&o);
	t.width = 50;   /* ... and goes last */
	proc_table_print(mem_open(&m), procs(&o, true), &t);
	s = mem_close(&m);
	assert_null(strstr(s, "GPUMEM"));
	free(s);
	obj_free(&o);
}

static void test_live_view(void **state)
{
	struct obj o;
	struct mem m;
	struct watch_view v;
	(void)state;
	msgpack_packer *pk = obj_begin(&o);
	msgpack_pack_map(pk, 3);
	msg_pack_kv_u64(pk, "ts", 1000);
	msg_pack_str(pk, "total");
	msgpack_pack_map(pk, 2);
	msg_pack_kv_u64(pk, "rss_bytes", 1048576);
	msg_pack_kv_u64(pk, "gpu_mem_bytes", 3 * GIB);
	msg_pack_str(pk, "procs");   /* two: the view shows a table of them */
	msgpack_pack_array(pk, 2);
	pack_proc(pk, 4242, "python", 3 * GIB);
	pack_proc(pk, 4243, "python", 0);
	const msgpack_object *sample = obj_end(&o);
	watch_view_init(&v);
	v.width = 120;
	v.height = 40;
	watch_view_render(mem_open(&m), &v, sample);
	char *s = mem_close(&m);
	assert_non_null(strstr(s, "   GPU 3.00 GiB\n"));   /* on the Memory line */
	assert_non_null(strstr(s, "GPUMEM"));
	free(s);
	v.compact = true;
	watch_view_render(mem_open(&m), &v, sample);
	s = mem_close(&m);
	assert_non_null(strstr(s, "  GPU 3.00 GiB"));
	free(s);
	obj_free(&o);
}

/* A run summary with a category on the GPU and one not. */
static const msgpack_object *run_reply(struct obj *o, bool gpu)
{
	msgpack_packer *pk = obj_begin(o);
	msgpack_pack_map(pk, 2);
	msg_pack_str(pk, "peak");
	msgpack_pack_map(pk, 1 + (gpu ? 1u : 0u));
	msg_pack_kv_u64(pk, "rss_bytes", GIB);
	if (gpu)
		msg_pack_kv_u64(pk, "gpu_mem_bytes", 6 * GIB);
	msg_pack_str(pk, "run");
	msgpack_pack_map(pk, 2 + (gpu ? 1u : 0u));
	msg_pack_kv_u64(pk, "peak_rss_bytes", GIB);
	if (gpu)
		msg_pack_kv_u64(pk, "peak_gpu_mem_bytes", 6 * GIB);
	msg_pack_str(pk, "categories");
	msgpack_pack_array(pk, 2);
	msgpack_pack_map(pk, 4 + (gpu ? 1u : 0u));
	msg_pack_kv_str(pk, "name", "ml/pytorch");
	msg_pack_kv_u64(pk, "processes", 1);
	msg_pack_kv_f64(pk, "cpu_s", 90);
	msg_pack_kv_u64(pk, "peak_rss_bytes", GIB);
	if (gpu)
		msg_pack_kv_u64(pk, "peak_gpu_mem_bytes", 6 * GIB);
	msgpack_pack_map(pk, 4);
	msg_pack_kv_str(pk, "name", "script");
	msg_pack_kv_u64(pk, "processes", 2);
	msg_pack_kv_f64(pk, "cpu_s", 1);
	msg_pack_kv_u64(pk, "peak_rss_bytes", 1048576);
	return obj_end(o);
}

static void test_summaries(void **state)
{
	struct obj o;
	struct mem m;
	struct run_end e = { "python train.py", true, 0, 0, 0 };
	(void)state;
	watch_run_summary_print(mem_open(&m), run_reply(&o, true), &e, false);
	char *s = mem_close(&m);
	assert_non_null(strstr(s, "  GPU        peak memory 6.00 GiB\n"));
	assert_non_null(strstr(s, "peak RSS   peak GPU\n"));
	char *ml = strstr(s, "\n  ml/pytorch ");
	assert_non_null(ml);
	assert_non_null(strstr(ml, "1.00 GiB   6.00 GiB\n"));
	char *script = strstr(s, "\n  script ");
	assert_non_null(script);
	assert_non_null(strstr(script, "1.00 MiB          -\n"));   /* none: "-" */
	free(s);
	obj_free(&o);

	watch_run_summary_print(mem_open(&m), run_reply(&o, false), &e, false);
	s = mem_close(&m);
	assert_null(strstr(s, "GPU"));   /* no GPU process: no GPU figures at all */
	free(s);
	obj_free(&o);

	watch_summary_print(mem_open(&m), run_reply(&o, true), false);
	s = mem_close(&m);
	assert_non_null(strstr(s, "  GPU        peak memory 6.00 GiB\n"));
	free(s);
	obj_free(&o);
	watch_summary_print(mem_open(&m), run_reply(&o, false), false);
	s = mem_close(&m);
	assert_null(strstr(s, "GPU"));
	free(s);
	obj_free(&o);
}

static void test_status(void **state)
{
	struct obj o;
	struct mem m;
	struct status_view v = { false, 120 };
	(void)state;
	msgpack_packer *pk = obj_begin(&o);
	msgpack_pack_map(pk, 1);
	msg_pack_str(pk, "gpu_processes");
	msgpack_pack_array(pk, 2);
	msgpack_pack_map(pk, 7);
	msg_pack_kv_u64(pk, "gpu", 0);
	msg_pack_kv_str(pk, "pci", "0000:3b:00.0");
	msg_pack_kv_str(pk, "driver", "nvidia");
	msg_pack_kv_str(pk, "source", "nvml");
	msg_pack_kv_u64(pk, "pid", 4242);
	msg_pack_kv_str(pk, "comm", "python");
	msg_pack_kv_u64(pk, "gpu_mem_bytes", 12 * GIB);
	msgpack_pack_map(pk, 6);   /* an i915 GPU rmon has no gpu record for */
	msg_pack_kv_str(pk, "pci", "0000:00:02.0");
	msg_pack_kv_str(pk, "driver", "i915");
	msg_pack_kv_str(pk, "source", "drm");
	msg_pack_kv_u64(pk, "pid", 77);
	msg_pack_kv_str(pk, "comm", "");
	msg_pack_kv_f64(pk, "gpu_busy_pct", 42.5);
	cmd_status_render(mem_open(&m), obj_end(&o), &v);
	char *s = mem_close(&m);
	assert_non_null(strstr(s, "GPU process      PID COMM"));
	assert_non_null(strstr(s, "\n0               4242 python             12.0 GiB      - nvidia\n"));
	assert_non_null(strstr(s, "\n0000:00:02.0      77 -                         -   42.5 i915\n"));
	free(s);
	obj_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_column),
		cmocka_unit_test(test_live_view),
		cmocka_unit_test(test_summaries),
		cmocka_unit_test(test_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
