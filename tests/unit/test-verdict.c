/*
 * run_verdict: the bottleneck of a run from its evidence, each rule and
 * the order they are tried in (docs/protocol.md, run summary).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rmond.h"
#include "watch-summary.h"

struct rmond the_rmond;   /* watch-summary.c's lane means need it; unused here */

/* 10 s on 4 CPUs, nothing else known. */
static struct run_evidence base(double cpu_s)
{
	struct run_evidence e = { 10, cpu_s, 4, NAN, NAN, NAN, NAN, NAN, NAN };
	return e;
}

static const char *verdict(const struct run_evidence *e)
{
	static char ev[256];
	return run_verdict(e, ev, sizeof ev);
}

static void test_rules(void **state)
{
	(void)state;
	struct run_evidence e = base(36);               /* 90 % of 4 CPUs */
	assert_string_equal(verdict(&e), "cpu-bound");
	e = base(1);
	assert_string_equal(verdict(&e), "idle");
	e = base(12);                                    /* 30 %: neither */
	assert_string_equal(verdict(&e), "mixed");
	e.busy_pct = 90;                                 /* others keep the CPUs busy */
	e.psi_cpu = 15;
	assert_string_equal(verdict(&e), "cpu-bound");
	e = base(12);
	e.iowait_pct = 25;
	assert_string_equal(verdict(&e), "io-bound");
	e = base(12);
	e.psi_io = 30;
	assert_string_equal(verdict(&e), "io-bound");
	e = base(12);
	e.psi_mem = 12;
	e.psi_io = 30;                                   /* memory comes first */
	assert_string_equal(verdict(&e), "memory-bound");
	e = base(36);
	e.gpu_util = 95;                                 /* the GPU before everything */
	e.psi_mem = 12;
	assert_string_equal(verdict(&e), "gpu-bound");
	e.gpu_util = 40;
	assert_string_equal(verdict(&e), "memory-bound");
}

static void test_evidence(void **state)
{
	(void)state;
	char ev[256];
	struct run_evidence e = base(20);
	e.busy_pct = 60;
	e.psi_cpu = 2.5;
	e.iowait_pct = 1;
	run_verdict(&e, ev, sizeof ev);
	assert_string_equal(ev, "used 50% of 4 CPUs (machine busy 60%); pressure: cpu 2.5%, "
	                        "io 0.0%, memory 0.0%; iowait 1.0%");
	e.gpu_util = 81;
	run_verdict(&e, ev, sizeof ev);
	assert_non_null(strstr(ev, "; GPU busy 81%"));
	/* a short buffer is cut, not overrun */
	char small[16];
	memset(small, 'x', sizeof small);
	run_verdict(&e, small, 8);
	assert_int_equal(strlen(small), 7);
	assert_int_equal(small[8], 'x');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_evidence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
