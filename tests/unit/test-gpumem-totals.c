/*
 * GPU memory in what a watch adds up (watch-summary.c): each sample's
 * summed gpu_mem_bytes, the peak, and the run's peak overall and per
 * category -- present only when a process had a reading, never a 0
 * standing for "no GPU".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "client-test-helpers.h"
#include "msg.h"
#include "rmond.h"
#include "watch-summary.h"

struct rmond the_rmond;   /* no ring: the verdict's lane means are NAN */

#define GIB 1073741824ull

static void proc_rec(struct rm_rec *r, int pid, uint64_t rss, uint64_t gpu)
{
	char key[16];
	snprintf(key, sizeof key, "%d", pid);
	rec_init(r, 1, key);
	rec_set(r, RM_PROC_PID, pid);
	rec_set(r, RM_PROC_RSS, (double)rss);
	if (gpu)
		rec_set(r, RM_PROC_GPU_MEM, (double)gpu);
}

static uint64_t u64_at(const msgpack_object *map, const char *sub, const char *key, bool *found)
{
	uint64_t v = 0;
	const msgpack_object *m = sub ? msg_get_map(map, sub) : map;
	*found = m && msg_get_u64(m, key, &v);
	return v;
}

static void test_sample_totals(void **state)
{
	struct rm_rec r[3];
	struct watch_totals now, acc;
	struct obj o;
	bool found;
	(void)state;
	proc_rec(&r[0], 10, 100, GIB);
	proc_rec(&r[1], 11, 100, 0);
	proc_rec(&r[2], 12, 100, 2 * GIB);
	watch_totals_init(&acc, 1);
	watch_totals_of(r, 3, &now);
	assert_true(now.have_gpu);
	assert_int_equal(now.gpu_mem, 3 * GIB);
	watch_totals_add(&acc, &now, 2);
	watch_totals_pack(obj_begin(&o), &now);
	assert_int_equal(u64_at(obj_end(&o), NULL, "gpu_mem_bytes", &found), 3 * GIB);
	assert_true(found);
	obj_free(&o);

	/* the GPU processes freed everything: 0 is a reading now */
	proc_rec(&r[0], 10, 100, 0);
	proc_rec(&r[2], 12, 100, 0);
	rec_set(&r[2], RM_PROC_GPU_MEM, 0);
	watch_totals_of(r, 3, &now);
	assert_true(now.have_gpu);
	assert_int_equal(now.gpu_mem, 0);
	watch_totals_add(&acc, &now, 3);
	assert_int_equal(acc.peak_gpu_mem, 3 * GIB);

	/* no process with a reading: no key */
	watch_totals_of(r, 2, &now);
	assert_false(now.have_gpu);
	watch_totals_pack(obj_begin(&o), &now);
	u64_at(obj_end(&o), NULL, "gpu_mem_bytes", &found);
	assert_false(found);
	obj_free(&o);

	watch_summary_pack(obj_begin(&o), "exited", &acc, NULL, "");
	assert_int_equal(u64_at(obj_end(&o), "peak", "gpu_mem_bytes", &found), 3 * GIB);
	assert_true(found);
	obj_free(&o);
	watch_totals_init(&acc, 1);
	watch_totals_add(&acc, &now, 2);
	watch_summary_pack(obj_begin(&o), "exited", &acc, NULL, "");
	u64_at(obj_end(&o), "peak", "gpu_mem_bytes", &found);
	assert_false(found);
	obj_free(&o);
}

static void test_run_peaks(void **state)
{
	struct watch_totals acc;
	struct run_acct run;
	struct obj o;
	bool found;
	(void)state;
	memset(&run, 0, sizeof run);
	run.start_rt_ns = 1;
	run.end_rt_ns = 2000000001;
	run.ncats = 2;
	snprintf(run.cats[0].name, sizeof run.cats[0].name, "ml/pytorch");
	run.cats[0].peak_gpu_mem = 5 * GIB;
	run.cats[0].have_gpu_mem = true;
	snprintf(run.cats[1].name, sizeof run.cats[1].name, "script");
	run.peak_gpu_mem = 5 * GIB;
	run.have_gpu_mem = true;
	watch_totals_init(&acc, 1);
	watch_summary_pack(obj_begin(&o), "exited", &acc, &run, "train");
	const msgpack_object *res = obj_end(&o);
	assert_int_equal(u64_at(res, "run", "peak_gpu_mem_bytes", &found), 5 * GIB);
	assert_true(found);
	const msgpack_object *cats = msg_get_array(msg_get_map(res, "run"), "categories");
	assert_non_null(cats);
	assert_int_equal(cats->via.array.size, 2);
	assert_int_equal(u64_at(&cats->via.array.ptr[0], NULL, "peak_gpu_mem_bytes", &found), 5 * GIB);
	assert_true(found);
	u64_at(&cats->via.array.ptr[1], NULL, "peak_gpu_mem_bytes", &found);
	assert_false(found);   /* that category had no GPU reading */
	obj_free(&o);

	run.have_gpu_mem = false;
	run.cats[0].have_gpu_mem = false;
	watch_summary_pack(obj_begin(&o), "exited", &acc, &run, "train");
	u64_at(obj_end(&o), "run", "peak_gpu_mem_bytes", &found);
	assert_false(found);
	obj_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_totals),
		cmocka_unit_test(test_run_peaks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
