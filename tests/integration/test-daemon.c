/*
 * End to end: a real rmond on a temporary socket and state directory,
 * driven by the real rmonctl and by raw frames.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "harness.h"
#include "msg.h"

static struct daemon_proc the_daemon;

static int start_daemon(void **state)
{
	(void)state;
	harness_init(&the_daemon);
	if (harness_start(&the_daemon, NULL) < 0)
		return -1;
	usleep(350000);   /* a few ticks, so rates have readings */
	return 0;
}

static int stop_daemon(void **state)
{
	(void)state;
	int rc = harness_stop(&the_daemon);
	harness_cleanup(&the_daemon);
	return rc == 0 ? 0 : -1;
}

/* rmonctl against the test's daemon */
#define ctl(out, outlen, err, errlen, ...) \
	harness_ctl(the_daemon.sock, out, outlen, err, errlen, __VA_ARGS__)

static unsigned long long meminfo_total_kb(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	unsigned long long kb = 0;
	assert_non_null(f);
	assert_int_equal(fscanf(f, "MemTotal: %llu kB", &kb), 1);
	fclose(f);
	return kb;
}

static void test_get_matches_proc(void **state)
{
	char out[65536], err[4096];
	(void)state;
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "get", "system.mem_total_bytes", NULL), 0);
	assert_int_equal(strtoull(out, NULL, 10), meminfo_total_kb() * 1024);

	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "get", "cpu:*.busy_pct", NULL), 0);
	long lines = 0;
	for (char *p = out; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, sysconf(_SC_NPROCESSORS_ONLN) + 1);   /* + cpu:all */
	assert_non_null(strstr(out, "cpu:all.busy_pct "));
}

static void test_status(void **state)
{
	char out[65536], err[4096];
	(void)state;
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "status", NULL), 0);
	assert_true(strlen(out) > 200);
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "status", "--json", NULL), 0);
	assert_non_null(strstr(out, "\"latest\""));
	assert_non_null(strstr(out, "\"missed_ticks\""));
	assert_non_null(strstr(out, "\"mem_total_bytes\""));
}

static void test_query_formats(void **state)
{
	char out[1 << 18], err[4096];
	(void)state;
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "query", "system.load1",
	                     "cpu:all.busy_pct", "--since", "1m", "--format", "csv", NULL), 0);
	assert_non_null(strstr(out, "system.load1"));
	assert_non_null(strstr(out, "cpu:all.busy_pct"));
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "query", "cpu:*.busy_pct",
	                     "--since", "1m", "--step", "100ms", "--agg", "max",
	                     "--format", "json", NULL), 0);
	assert_non_null(strstr(out, "\"series\""));
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "query", "nosuch.field",
	                     "--since", "1m", NULL), 2);
}

static void test_not_running(void **state)
{
	char out[4096], err[4096];
	const char *argv[] = { "rmonctl", "--socket", "/nonexistent/rmond.sock", "status", NULL };
	(void)state;
	assert_int_equal(harness_run(argv, out, sizeof out, err, sizeof err), 3);
	assert_non_null(strstr(err, "not running"));
	assert_non_null(strchr(err, '\n'));
	assert_string_equal(strchr(err, '\n') + 1, "");   /* one line */
}

static void test_second_daemon_refused(void **state)
{
	char out[4096], err[4096];
	const char *argv[] = { "rmond", "--foreground", "--socket", the_daemon.sock,
	                       "--memory", NULL };
	(void)state;
	assert_int_not_equal(harness_run(argv, out, sizeof out, err, sizeof err), 0);
	assert_non_null(strstr(err, "already serving"));
	/* and the first one still serves */
	int fd = harness_hello(the_daemon.sock);
	assert_true(fd >= 0);
	close(fd);
}

/* After each bad input, another client must still be served. */
static void assert_still_serving(void)
{
	msgpack_zone z;
	struct msg_reply rep;
	int fd = harness_hello(the_daemon.sock);
	assert_true(fd >= 0);
	assert_int_equal(harness_send_request(fd, 7, "status", NULL), 0);
	msgpack_zone_init(&z, 4096);
	assert_int_equal(harness_recv(fd, &z, &rep, 5000), 0);
	assert_true(rep.ok);
	assert_int_equal(rep.id, 7);
	msgpack_zone_destroy(&z);
	close(fd);
}

/* Expect an error reply with this code, then (if must_close) EOF. */
static void expect_error(int fd, const char *code, int must_close)
{
	msgpack_zone z;
	struct msg_reply rep;
	char b;
	msgpack_zone_init(&z, 4096);
	assert_int_equal(harness_recv(fd, &z, &rep, 5000), 0);
	assert_false(rep.ok);
	assert_string_equal(rep.err_code, code);
	msgpack_zone_destroy(&z);
	if (must_close)
		assert_int_equal(read(fd, &b, 1), 0);
}

static void test_bad_garbage(void **state)
{
	(void)state;
	int fd = harness_connect(the_daemon.sock);
	const uint8_t junk[] = { 0, 0, 0, 5, 0xc1, 0xc1, 0xff, 0x00, 0x13 };
	assert_int_equal(harness_send(fd, junk, sizeof junk), 0);
	expect_error(fd, "bad_frame", 1);
	close(fd);
	assert_still_serving();
}

static void test_bad_oversized(void **state)
{
	(void)state;
	int fd = harness_connect(the_daemon.sock);
	const uint8_t hdr[] = { 0x7f, 0xff, 0xff, 0xff };
	assert_int_equal(harness_send(fd, hdr, sizeof hdr), 0);
	expect_error(fd, "too_large", 1);
	close(fd);
	assert_still_serving();
}

static void test_bad_truncated_and_disconnect(void **state)
{
	(void)state;
	int fd = harness_connect(the_daemon.sock);
	const uint8_t part[] = { 0, 0, 0, 40, 0x83, 0xa2, 'i', 'd' };
	assert_int_equal(harness_send(fd, part, sizeof part), 0);
	usleep(20000);
	close(fd);
	assert_still_serving();
}

static void test_bad_unknown_op_and_types(void **state)
{
	(void)state;
	int fd = harness_connect(the_daemon.sock);
	assert_int_equal(harness_send_request(fd, 3, "status", NULL), 0);
	expect_error(fd, "bad_request", 0);   /* hello first */
	close(fd);

	fd = harness_hello(the_daemon.sock);
	assert_true(fd >= 0);
	assert_int_equal(harness_send_request(fd, 4, "frobnicate", NULL), 0);
	expect_error(fd, "unknown_op", 0);
	assert_int_equal(harness_send_request(fd, 5, "get", NULL), 0);   /* no selectors */
	expect_error(fd, "bad_args", 0);

	/* selectors of the wrong type, then a valid request on the same session */
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	size_t start = frame_begin(&sb);
	msg_pack_request(&pk, 6, "get");
	msgpack_pack_map(&pk, 1);
	msg_pack_kv_u64(&pk, "selectors", 5);
	frame_end(&sb, start, 1u << 20);
	assert_int_equal(harness_send(fd, sb.data, sb.size), 0);
	msgpack_sbuffer_destroy(&sb);
	expect_error(fd, "bad_args", 0);

	msgpack_zone z;
	struct msg_reply rep;
	assert_int_equal(harness_send_request(fd, 8, "schema", NULL), 0);
	msgpack_zone_init(&z, 65536);
	assert_int_equal(harness_recv(fd, &z, &rep, 5000), 0);
	assert_true(rep.ok);
	msgpack_zone_destroy(&z);
	close(fd);
	assert_still_serving();
}

/* Every op that docs/protocol.md documents ("### name") is implemented. */
static void test_documented_ops_exist(void **state)
{
	char line[512], path[600];
	int found = 0;
	(void)state;
	snprintf(path, sizeof path, "%s/docs/protocol.md", getenv("RMON_SRCDIR") ? getenv("RMON_SRCDIR") : ".");
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int fd = harness_hello(the_daemon.sock);
	assert_true(fd >= 0);
	int in_ops = 0;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "## ", 3) == 0)
			in_ops = strncmp(line, "## Operations", 13) == 0;
		if (!in_ops || strncmp(line, "### ", 4) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		const char *op = line + 4;
		if (strcmp(op, "shutdown") == 0)
			continue;   /* it would stop the daemon; test-reload runs it */
		msgpack_zone z;
		struct msg_reply rep;
		assert_int_equal(harness_send_request(fd, 100, op, NULL), 0);
		msgpack_zone_init(&z, 65536);
		assert_int_equal(harness_recv(fd, &z, &rep, 5000), 0);
		int missing = !rep.ok && strcmp(rep.err_code, "unknown_op") == 0;
		msgpack_zone_destroy(&z);
		if (missing)
			fail_msg("documented op %s is not implemented", op);
		found++;
	}
	fclose(f);
	close(fd);
	assert_true(found >= 6);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Stop (exit 0, socket removed), start again: the history before the
 * restart is still there. */
static void test_restart_keeps_history(void **state)
{
	char out[1 << 18], err[4096];
	struct stat st;
	(void)state;
	uint64_t before = now_ns();
	assert_int_equal(harness_stop(&the_daemon), 0);
	assert_int_equal(stat(the_daemon.sock, &st), -1);
	assert_int_equal(harness_start(&the_daemon, NULL), 0);
	usleep(200000);
	assert_int_equal(ctl(out, sizeof out, err, sizeof err, "query", "system.mem_total_bytes",
	                     "--since", "5m", "--format", "csv", NULL), 0);
	/* the csv's first column is ts_ns: look for a row from before the restart */
	int older = 0;
	for (char *p = strchr(out, '\n'); p && p[1]; p = strchr(p + 1, '\n'))
		older += strtoull(p + 1, NULL, 10) < before && strtoull(p + 1, NULL, 10) > 0;
	assert_true(older > 0);
}

static void test_socket_mode(void **state)
{
	struct stat st;
	(void)state;
	assert_int_equal(stat(the_daemon.sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, geteuid() == 0 ? 0660 : 0600);
}

/* A broken config names file:line:col, and rmond refuses to start. */
static void test_broken_config_refused(void **state)
{
	char out[4096], err[4096], cfg[400], sock[400], want[500];
	(void)state;
	snprintf(cfg, sizeof cfg, "%s/bad.yaml", the_daemon.dir);
	snprintf(sock, sizeof sock, "%s/other.sock", the_daemon.dir);
	FILE *f = fopen(cfg, "w");
	assert_non_null(f);
	fputs("ring:\n  budget: lots\n", f);
	fclose(f);
	const char *argv[] = { "rmond", "--foreground", "--config", cfg, "--socket", sock, NULL };
	assert_int_equal(harness_run(argv, out, sizeof out, err, sizeof err), 1);
	snprintf(want, sizeof want, "%s:2:11:", cfg);
	assert_non_null(strstr(err, want));
	assert_int_equal(access(sock, F_OK), -1);

	/* rmond --check-config FILE says the same and starts nothing; a good
	 * file prints the effective config and exits 0 */
	const char *check[] = { "rmond", "--check-config", cfg, NULL };
	assert_int_equal(harness_run(check, out, sizeof out, err, sizeof err), 1);
	assert_non_null(strstr(err, want));
	assert_int_equal(harness_replace_file(cfg, "ring:\n  budget: 64MiB\n"), 0);
	assert_int_equal(harness_run(check, out, sizeof out, err, sizeof err), 0);
	assert_non_null(strstr(out, "  budget: 64MiB\n"));
	/* -c and an argument naming another file: which one is meant? */
	const char *two[] = { "rmond", "--check-config", "-c", "/etc/hostname", cfg, NULL };
	assert_int_equal(harness_run(two, out, sizeof out, err, sizeof err), 2);
	assert_non_null(strstr(err, "two config files"));
	assert_int_equal(access(sock, F_OK), -1);
}

/* A socket file with no daemon behind it is replaced. */
static void test_stale_socket_replaced(void **state)
{
	struct daemon_proc d;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	(void)state;
	harness_init(&d);
	size_t len = strlen(d.sock);
	assert_true(len < sizeof sa.sun_path);
	memcpy(sa.sun_path, d.sock, len + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	close(fd);   /* the file stays, nobody listens */
	const char *extra[] = { "--memory", NULL };
	assert_int_equal(harness_start(&d, extra), 0);
	fd = harness_hello(d.sock);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(harness_stop(&d), 0);
	harness_cleanup(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_matches_proc),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_query_formats),
		cmocka_unit_test(test_not_running),
		cmocka_unit_test(test_second_daemon_refused),
		cmocka_unit_test(test_socket_mode),
		cmocka_unit_test(test_broken_config_refused),
		cmocka_unit_test(test_stale_socket_replaced),
		cmocka_unit_test(test_bad_garbage),
		cmocka_unit_test(test_bad_oversized),
		cmocka_unit_test(test_bad_truncated_and_disconnect),
		cmocka_unit_test(test_bad_unknown_op_and_types),
		cmocka_unit_test(test_documented_ops_exist),
		cmocka_unit_test(test_restart_keeps_history),
	};
	return cmocka_run_group_tests_name("daemon", tests, start_daemon, stop_daemon);
}
