/* The /proc/PID and task/TID parsers on literal buffers: the comm trap
 * (spaces, parentheses, newlines, 64-byte kernel names), short and hostile
 * lines, status, io, smaps_rollup, schedstat, cmdline. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "collect/linux/proctab_linux.h"

#define LIT(s) s, sizeof(s) - 1

/* A real line (SOURCES §2.2: prctl(PR_SET_NAME, "a) R 1 (b c")). */
static const char trap[] =
	"7550 (a) R 1 (b c) S 7549 7549 5920 0 -1 4194304 99 0 2 0 13 7 0 0 20 0 1 0 "
	"186979 3133440 383 18446744073709551615 94625699885056 94625699904937 "
	"140734133954048 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94625699920944 94625699922560 "
	"94626311569408 140734133959111 140734133959131 140734133959131 140734133960683 0\n";

static void test_stat_comm_trap(void **state)
{
	(void)state;
	struct pid_stat s;
	assert_int_equal(proc_pid_parse_stat(LIT(trap), &s), 0);
	assert_int_equal(s.pid, 7550);
	assert_string_equal(s.comm, "a) R 1 (b c");
	assert_int_equal(s.state, 'S');         /* naive sscanf says 'R' */
	assert_int_equal(s.ppid, 7549);         /* and 1 */
	assert_true(s.flags == 4194304);
	assert_true(s.minflt == 99 && s.majflt == 2);
	assert_true(s.utime == 13 && s.stime == 7);
	assert_true(s.num_threads == 1);
	assert_true(s.starttime == 186979);
	assert_true(s.vsize == 3133440 && s.rss == 383);
	assert_int_equal(s.processor, 1);
}

static void test_stat_comm_newline_and_long(void **state)
{
	(void)state;
	struct pid_stat s;
	static const char nl[] = "12 (nl\nname) (x) R 1 1 1 0 -1 0 0 0 0 0 1 2 0 0 20 0 4 0 77 0 0";
	assert_int_equal(proc_pid_parse_stat(LIT(nl), &s), 0);
	assert_string_equal(s.comm, "nl\nname) (x");
	assert_int_equal(s.state, 'R');
	assert_true(s.utime == 1 && s.stime == 2 && s.num_threads == 4 && s.starttime == 77);
	assert_int_equal(s.processor, -1);     /* a kernel that prints 24 fields */

	/* A kernel thread's name is longer than 15 bytes (28 here). */
	static const char kw[] = "6 (kworker/R-kvfree_rcu_reclaim) I 2 0 0 0 -1 69238880 0 0 0 0 0 0 "
				 "0 0 0 -20 1 0 3 0 0 18446744073709551615 0 0 0 0 0 0 0 "
				 "2147483647 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
	assert_int_equal(proc_pid_parse_stat(LIT(kw), &s), 0);
	assert_string_equal(s.comm, "kworker/R-kvfree_rcu_reclaim");
	assert_true(s.flags & PID_PF_KTHREAD);
	assert_int_equal(s.ppid, 2);

	/* Longer than PROC_COMM_MAX: truncated, the rest still parsed. */
	char big[512];
	char name[100];
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	int n = snprintf(big, sizeof big, "9 (%s) S 1 0 0 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 8 0 0\n", name);
	assert_int_equal(proc_pid_parse_stat(big, (size_t)n, &s), 0);
	assert_int_equal(strlen(s.comm), PROC_COMM_MAX - 1);
	assert_true(s.utime == 5 && s.starttime == 8);
}

static void test_stat_negative_fields(void **state)
{
	(void)state;
	struct pid_stat s;
	/* Real-time priority -100, nice -20, exit_signal -1 style fields. */
	static const char rt[] = "30 (migration/0) S 2 0 0 0 -1 69238848 0 0 0 0 0 5 0 0 -100 0 1 0 "
				 "2 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 -1 0 "
				 "99 1 0 0 0 0 0 0 0 0 0 0 0\n";
	assert_int_equal(proc_pid_parse_stat(LIT(rt), &s), 0);
	assert_int_equal(s.processor, 0);
	assert_true(s.stime == 5 && s.starttime == 2);
	/* A negative rss (racing per-CPU counters, old kernels) is no count. */
	static const char neg[] = "5 (x) S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 4096 -3";
	assert_int_equal(proc_pid_parse_stat(LIT(neg), &s), 0);
	assert_true(s.rss == 0 && s.vsize == 4096);
}

static void test_stat_malformed(void **state)
{
	(void)state;
	struct pid_stat s;
	static const char *const bad[] = {
		"",
		"\n",
		"abc (x) S 1",
		"0 (x) S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0",   /* pid 0 */
		"12 x) S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0",   /* no '(' */
		"12 (x S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0",   /* no ')' */
		"12 (x) S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0",    /* 23 fields */
		"12 (x) S 1 0 0 0 -1 0 0 0 0 0 zz 0 0 0 20 0 1 0 1 0 0", /* utime */
		"12 (x)S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0",
		"12 (x) 5 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0",  /* state */
		"99999999999 (x) S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0",
	};
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (proc_pid_parse_stat(bad[i], strlen(bad[i]), &s) != -EINVAL)
			fail_msg("accepted: '%s'", bad[i]);
	}
	/* Bounded by len: the rest of the buffer is not read. */
	assert_int_equal(proc_pid_parse_stat(trap, 40, &s), -EINVAL);
}

static void test_statm(void **state)
{
	(void)state;
	uint64_t size, res;
	assert_int_equal(proc_pid_parse_statm(LIT("41504 3336 2000 300 0 5000 0\n"), &size, &res), 0);
	assert_true(size == 41504 && res == 3336);
	assert_int_equal(proc_pid_parse_statm(LIT("41504\n"), &size, &res), -EINVAL);
	assert_int_equal(proc_pid_parse_statm(LIT(""), &size, &res), -EINVAL);
}

static void test_status(void **state)
{
	(void)state;
	struct pid_status st;
	/* status escapes a newline in the name; the keys after it are found. */
	static const char buf[] = "Name:\tnl\\nname\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t77\n"
				  "Pid:\t78\nPPid:\t1\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\t5\t5\t5\n"
				  "voluntary_ctxt_switches:\t123\nnonvoluntary_ctxt_switches:\t45\n";
	proc_pid_parse_status(LIT(buf), &st);
	assert_int_equal(st.has, PID_STATUS_UID | PID_STATUS_CTX | PID_STATUS_TGID);
	assert_int_equal(st.uid, 1000);           /* the real uid, first */
	assert_int_equal(st.tgid, 77);
	assert_true(st.vctx == 123 && st.nvctx == 45);
	proc_pid_parse_status(LIT("Name:\tx\nvoluntary_ctxt_switches:\t1\n"), &st);
	assert_int_equal(st.has, 0);              /* one counter alone is none */
	proc_pid_parse_status(LIT(""), &st);
	assert_int_equal(st.has, 0);
}

static void test_io(void **state)
{
	(void)state;
	uint64_t rd, wr;
	static const char buf[] = "rchar: 6976\nwchar: 10\nsyscr: 10\nsyscw: 0\nread_bytes: 4096\n"
				  "write_bytes: 8192\ncancelled_write_bytes: 999999\n";
	assert_int_equal(proc_pid_parse_io(LIT(buf), &rd, &wr), 0);
	assert_true(rd == 4096 && wr == 8192);   /* not cancelled_write_bytes */
	assert_int_equal(proc_pid_parse_io(LIT("rchar: 1\nread_bytes: 1\n"), &rd, &wr), -EINVAL);
}

static void test_pss(void **state)
{
	(void)state;
	uint64_t pss;
	static const char buf[] = "55d0c8f2a000-7ffd3a1ff000 ---p 00000000 00:00 0    [rollup]\n"
				  "Rss:   40960 kB\nPss_Anon:  9999 kB\nPss:   30000 kB\n"
				  "Pss_Dirty:  1 kB\n";
	assert_int_equal(proc_pid_parse_pss(LIT(buf), &pss), 0);
	assert_true(pss == 30000ull * 1024);
	assert_int_equal(proc_pid_parse_pss(LIT("Pss_Anon: 5 kB\n"), &pss), -EINVAL);
}

static void test_schedstat(void **state)
{
	(void)state;
	uint64_t r, w, n;
	assert_int_equal(proc_pid_parse_schedstat(LIT("175884176 15719878 414\n"), &r, &w, &n), 0);
	assert_true(r == 175884176 && w == 15719878 && n == 414);
	assert_int_equal(proc_pid_parse_schedstat(LIT("1 2\n"), &r, &w, &n), -EINVAL);
}

static void test_cmdline(void **state)
{
	(void)state;
	char buf[32];
	memcpy(buf, "/sbin/init\0splash\0\0", 19);
	assert_int_equal(proc_pid_parse_cmdline(buf, 19), 17);
	assert_string_equal(buf, "/sbin/init splash");
	memcpy(buf, "\0\0", 2);
	assert_int_equal(proc_pid_parse_cmdline(buf, 2), 0);
	assert_string_equal(buf, "");
	/* setproctitle style: one string, no NULs */
	memcpy(buf, "nginx: worker", 13);
	assert_int_equal(proc_pid_parse_cmdline(buf, 13), 13);
	assert_string_equal(buf, "nginx: worker");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_comm_trap),
		cmocka_unit_test(test_stat_comm_newline_and_long),
		cmocka_unit_test(test_stat_negative_fields),
		cmocka_unit_test(test_stat_malformed),
		cmocka_unit_test(test_statm),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_io),
		cmocka_unit_test(test_pss),
		cmocka_unit_test(test_schedstat),
		cmocka_unit_test(test_cmdline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
