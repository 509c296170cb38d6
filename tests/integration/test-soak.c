/*
 * A bounded soak: for RMON_SOAK_SECONDS (default 180; 30 under
 * RMON_VALGRIND=1) clients stream (watch), query, get, mark and send
 * status requests in a loop while the test sends SIGHUP (reload) every
 * few seconds.  Every few seconds it samples rmond's RssAnon and fd
 * count: after the warm-up (a fifth of the run) RSS stays flat (a
 * generous bound), and at the end, with the clients gone, the fd count
 * is what it was before they came.  No client may see an error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "msg.h"

#define WORKERS 4

static struct daemon_proc D;
static char cfg_path[400];
static _Atomic int *stop_flag;

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int stopping(void)
{
	return atomic_load(stop_flag);
}


/* ---- the clients: each a process, exit status = errors seen ---- */

/* A watch of the test process, reconnected every few seconds: its
 * samples must keep coming. */
static int worker_watch(unsigned slow)
{
	int errors = 0;
	int32_t pid = (int32_t)getppid();
	while (!stopping()) {
		int fd = harness_hello(D.sock);
		if (fd < 0 || harness_send_watch(fd, 1, &pid, 1, 200000000u, 1) < 0) {
			errors++;
			sleep(1);
			continue;
		}
		unsigned samples = 0;
		uint64_t end = mono_ms() + 4000;
		while (!stopping() && mono_ms() < end) {
			msgpack_zone z;
			struct msg_reply rep;
			msgpack_zone_init(&z, 65536);
			int rc = harness_recv(fd, &z, &rep, 5000 * (int)slow);
			if (rc < 0 || (!rep.is_event && !rep.ok)) {
				fprintf(stderr, "soak watch: %s\n", rc < 0 ? "no event" : rep.err_msg);
				errors++;
				msgpack_zone_destroy(&z);
				break;
			}
			samples += rep.is_event && strcmp(rep.ev, "sample") == 0;
			msgpack_zone_destroy(&z);
		}
		if (!stopping() && samples == 0) {
			fprintf(stderr, "soak watch: no sample in 4 s\n");
			errors++;
		}
		close(fd);
	}
	return errors;
}

/* status requests back to back on one connection, reconnecting now and
 * then. */
static int worker_status(unsigned slow)
{
	int errors = 0;
	uint64_t id = 1;
	while (!stopping()) {
		int fd = harness_hello(D.sock);
		if (fd < 0) {
			errors++;
			sleep(1);
			continue;
		}
		for (int i = 0; i < 200 && !stopping(); i++) {
			msgpack_zone z;
			struct msg_reply rep;
			msgpack_zone_init(&z, 65536);
			int rc = harness_send_request(fd, ++id, "status", NULL);
			if (rc == 0)
				rc = harness_recv(fd, &z, &rep, 5000 * (int)slow);
			if (rc < 0 || !rep.ok || rep.id != id) {
				fprintf(stderr, "soak status: %s\n", rc < 0 ? "no reply" : rep.err_msg);
				errors++;
			}
			msgpack_zone_destroy(&z);
			usleep(20000 * slow);
		}
		close(fd);
	}
	return errors;
}

/* The command line client: query (raw and bucketed), get, mark. */
static int worker_ctl(unsigned slow)
{
	static char out[1 << 20];
	char err[4096], text[64];
	int errors = 0;
	for (unsigned i = 0; !stopping(); i++) {
		int rc;
		switch (i % 4) {
		case 0:
			rc = harness_ctl(D.sock, out, sizeof out, err, sizeof err, "query", "--since",
			                 "30s", "--json", "system.load1", "cpu:*.busy_pct", NULL);
			break;
		case 1:
			rc = harness_ctl(D.sock, out, sizeof out, err, sizeof err, "query", "--since",
			                 "2m", "--step", "5s", "--agg", "p95", "net:*.rx_bps", NULL);
			break;
		case 2:
			rc = harness_ctl(D.sock, out, sizeof out, err, sizeof err, "get",
			                 "system.mem_used_bytes", "disk:*.read_bps", NULL);
			break;
		default:
			snprintf(text, sizeof text, "soak %u", i);
			rc = harness_ctl(D.sock, out, sizeof out, err, sizeof err, "mark", text, NULL);
			break;
		}
		/* get exits 4 for a metric without a reading (no disk here) */
		if (rc != 0 && !(i % 4 == 2 && rc == 4)) {
			fprintf(stderr, "soak rmonctl (%u): exit %d: %s\n", i % 4, rc, err);
			errors++;
		}
		usleep(100000 * slow);
	}
	return errors;
}

static void test_soak(void **state)
{
	(void)state;
	int vg = getenv("RMON_VALGRIND") != NULL;
	const char *env = getenv("RMON_SOAK_SECONDS");
	unsigned secs = env ? (unsigned)strtoul(env, NULL, 10) : vg ? 30 : 180;
	unsigned slow = vg ? 5 : 1;
	const char *args[] = { "--config", cfg_path, NULL };

	if (secs < 10)
		secs = 10;
	assert_int_equal(harness_start(&D, args), 0);
	usleep(500000);   /* the start-up probe's session closes */
	int fd_start = harness_count_fds(D.pid);
	int (*const fns[WORKERS])(unsigned) = { worker_watch, worker_status, worker_ctl,
	                                        worker_ctl };
	pid_t kids[WORKERS];
	for (int i = 0; i < WORKERS; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			/* a failed assertion ends the test without stopping us */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			int errors = fns[i](slow);
			_exit(errors > 255 ? 255 : errors);
		}
	}
	uint64_t start = mono_ms(), end = start + secs * 1000u, warm = start + secs * 200u;
	uint64_t next_hup = start + 5000, next_sample = start + 3000;
	long rss_base = 0, rss_max = 0, rss = 0;
	unsigned hups = 0, samples = 0;
	while (mono_ms() < end) {
		uint64_t now = mono_ms();
		if (now >= next_hup) {
			assert_int_equal(kill(D.pid, SIGHUP), 0);
			hups++;
			next_hup = now + 5000;
		}
		if (now >= next_sample) {
			rss = harness_rss_kb(D.pid);
			int fds = harness_count_fds(D.pid);
			assert_true(rss > 0);
			if (now >= warm && !rss_base)
				rss_base = rss;
			if (rss_base && rss > rss_max)
				rss_max = rss;
			print_message("    %3.0f s: RssAnon %ld kB, %d fds\n",
			              (double)(now - start) / 1000, rss, fds);
			samples++;
			next_sample = now + 3000;
		}
		usleep(50000);
		assert_int_equal(waitpid(D.pid, NULL, WNOHANG), 0);   /* still running */
	}
	atomic_store(stop_flag, 1);
	int errors = 0;
	for (int i = 0; i < WORKERS; i++) {
		int st;
		assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
		assert_true(WIFEXITED(st));
		errors += WEXITSTATUS(st);
	}
	int fd_end = harness_count_fds(D.pid);
	for (int i = 0; i < 100 && fd_end != fd_start; i++) {
		usleep(50000);
		fd_end = harness_count_fds(D.pid);
	}
	print_message("    %u s, %u reloads, %d client errors; fds %d at the start, %d at the end; "
	              "RssAnon %ld kB after the warm-up, at most %ld kB after it\n", secs, hups,
	              errors, fd_start, fd_end, rss_base, rss_max);
	assert_int_equal(errors, 0);
	assert_int_equal(fd_end, fd_start);
	/* Flat: no more than a quarter (or 4 MiB) over the warm level.
	 * Under valgrind or ASan RSS is theirs and says nothing. */
	if (harness_rss_meaningful()) {
		long slack = rss_base / 4 > 4096 ? rss_base / 4 : 4096;
		if (rss_max > rss_base + slack)
			fail_msg("RssAnon grew from %ld kB to %ld kB", rss_base, rss_max);
	}
	assert_int_equal(harness_stop(&D), 0);   /* 99 under valgrind on errors or leaks */
}

static int setup(void **state)
{
	(void)state;
	stop_flag = mmap(NULL, sizeof *stop_flag, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	                 -1, 0);
	if (stop_flag == MAP_FAILED)
		return -1;
	harness_init(&D);
	snprintf(cfg_path, sizeof cfg_path, "%s/rmond.yaml", D.dir);
	FILE *f = fopen(cfg_path, "w");
	if (!f)
		return -1;
	fprintf(f, "ring:\n  budget: 32MiB\n  retention: 10m\n"
	           "sampling:\n  system: 50ms\n"
	           "procs:\n  scan_interval: 500ms\n  tracked_interval: 100ms\n");
	return fclose(f) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	harness_cleanup(&D);
	munmap((void *)stop_flag, sizeof *stop_flag);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_soak),
	};
	return cmocka_run_group_tests_name("soak", tests, setup, teardown);
}
