/*
 * Config reload and access control against a real rmond started with
 * -c FILE: SIGHUP and `rmonctl config reload` change the host sampler's
 * interval live (the system lane's record spacing follows) without
 * dropping a watch stream or losing history; a bad file is rejected with
 * file:line:col and changes nothing; a restart-only key is named and kept;
 * non-admins get permission_denied until a reload makes them admins;
 * `rmonctl shutdown` stops the daemon with exit 0.
 */
#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "msg.h"

static struct daemon_proc the_daemon;
static char cfg_path[400];
static char out[1 << 20], err[1 << 14];

#define ctl(...) harness_ctl(the_daemon.sock, out, sizeof out, err, sizeof err, __VA_ARGS__)

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void write_config(const char *text)
{
	assert_int_equal(harness_replace_file(cfg_path, text), 0);
}

static int start_daemon(void **state)
{
	(void)state;
	harness_init(&the_daemon);
	snprintf(cfg_path, sizeof cfg_path, "%s/rmond.yaml", the_daemon.dir);
	if (harness_replace_file(cfg_path, "sampling:\n  system: 100ms\n") != 0)
		return -1;
	const char *extra[] = { "--config", cfg_path, NULL };
	return harness_start(&the_daemon, extra);
}

static int stop_daemon(void **state)
{
	(void)state;
	int rc = the_daemon.pid > 0 ? harness_stop(&the_daemon) : 0;
	harness_cleanup(&the_daemon);
	return rc == 0 ? 0 : -1;
}

/* The median spacing (ms) of the system lane's records in [from, to),
 * from `rmonctl query --csv` (first column ts_ns); -1 with < 3 records. */
static double spacing_ms(uint64_t from, uint64_t to)
{
	static uint64_t ts[4096];
	double gaps[4096];
	unsigned n = 0;
	assert_int_equal(ctl("query", "system.mem_total_bytes", "--since", "1m", "--csv", NULL), 0);
	for (char *p = strchr(out, '\n'); p && p[1] && n < 4096; p = strchr(p + 1, '\n')) {
		uint64_t t = strtoull(p + 1, NULL, 10);
		if (t >= from && t < to)
			ts[n++] = t;
	}
	if (n < 3)
		return -1;
	for (unsigned i = 1; i < n; i++)
		gaps[i - 1] = (double)(ts[i] - ts[i - 1]) / 1e6;
	for (unsigned i = 1; i < n - 1; i++)   /* insertion sort: a few dozen gaps */
		for (unsigned j = i; j > 0 && gaps[j] < gaps[j - 1]; j--) {
			double g = gaps[j];
			gaps[j] = gaps[j - 1];
			gaps[j - 1] = g;
		}
	return gaps[(n - 1) / 2];
}

static bool log_has(const char *needle)
{
	return harness_log_has(&the_daemon, needle);
}

/* Events on fd until a sample arrives (1), or -1 on timeout/EOF. */
static int next_sample(int fd, int timeout_ms)
{
	for (int i = 0; i < 50; i++) {
		msgpack_zone z;
		struct msg_reply rep;
		msgpack_zone_init(&z, 65536);
		int rc = harness_recv(fd, &z, &rep, timeout_ms);
		bool sample = rc == 0 && rep.is_event && strcmp(rep.ev, "sample") == 0;
		msgpack_zone_destroy(&z);
		if (rc < 0)
			return -1;
		if (sample)
			return 1;
	}
	return -1;
}

/* 100 ms -> 500 ms by SIGHUP, back to 100 ms by `rmonctl config reload`:
 * the spacing follows each time, history from before stays, and a watch
 * opened before keeps streaming. */
static void test_interval_reload(void **state)
{
	(void)state;
	int32_t pids[1] = { (int32_t)getpid() };
	int fd = harness_hello(the_daemon.sock);
	assert_true(fd >= 0);
	assert_int_equal(harness_send_watch(fd, 1, pids, 1, 100000000u, 0), 0);
	assert_int_equal(next_sample(fd, 5000), 1);
	usleep(700000);
	uint64_t t_start = now_ns() - 600000000u;

	uint64_t t_hup = now_ns();
	write_config("sampling:\n  system: 500ms\n");
	assert_int_equal(kill(the_daemon.pid, SIGHUP), 0);
	usleep(2300000);
	uint64_t t_after = now_ns();
	double before = spacing_ms(t_start, t_hup), after = spacing_ms(t_hup + 100000000u, t_after);
	assert_true(before > 80 && before < 130);
	assert_true(after > 450 && after < 560);
	assert_true(log_has("config reload (SIGHUP): applied"));
	assert_int_equal(next_sample(fd, 5000), 1);   /* the watch was not dropped */

	write_config("sampling:\n  system: 100ms\n");
	assert_int_equal(ctl("config", "reload", NULL), 0);
	assert_non_null(strstr(out, "sampling.system: 500ms -> 100ms"));
	uint64_t t_ctl = now_ns();
	usleep(800000);
	double again = spacing_ms(t_ctl + 100000000u, now_ns());
	assert_true(again > 80 && again < 130);
	assert_true(spacing_ms(t_start, t_hup) > 0);   /* history from before is still there */
	assert_int_equal(next_sample(fd, 5000), 1);
	close(fd);

	assert_int_equal(ctl("config", "show", NULL), 0);
	assert_non_null(strstr(out, "\nsampling:\n  system: 100ms\n"));
	assert_int_equal(ctl("status", "--json", NULL), 0);
	assert_non_null(strstr(out, "\"reloads\":2"));
	assert_non_null(strstr(out, "\"last_reload\":\"applied\""));
}

/* A bad key: rejected with file:line:col to the client and the log; the
 * running interval stays. */
static void test_invalid_rejected(void **state)
{
	char want[512];
	(void)state;
	write_config("sampling:\n  system: 500ms\n  bogus: 1\n");
	assert_int_equal(ctl("config", "reload", NULL), 1);
	snprintf(want, sizeof want, "%s:3:3: unknown key \"sampling.bogus\"", cfg_path);
	assert_non_null(strstr(err, want));
	assert_true(log_has(want));
	uint64_t t = now_ns();
	usleep(700000);
	double sp = spacing_ms(t, now_ns());
	assert_true(sp > 80 && sp < 130);
	assert_int_equal(ctl("status", "--json", NULL), 0);
	assert_non_null(strstr(out, "\"reloads_failed\":1"));
	write_config("sampling:\n  system: 100ms\n");
}

/* ring.budget cannot change live: named with the value that keeps running,
 * the rest of the file (procs.top_n) is applied. */
static void test_restart_key(void **state)
{
	(void)state;
	write_config("sampling:\n  system: 100ms\nring:\n  budget: 64MiB\nprocs:\n  top_n: 7\n");
	assert_int_equal(ctl("config", "reload", NULL), 0);
	assert_non_null(strstr(out, "ring.budget changed: needs a restart; still 128MiB"));
	assert_non_null(strstr(out, "procs.top_n: 5 -> 7"));
	assert_true(log_has("ring.budget changed: needs a restart; still 128MiB"));
	assert_int_equal(ctl("config", "show", NULL), 0);
	assert_non_null(strstr(out, "  budget: 128MiB\n"));
	assert_non_null(strstr(out, "  top_n: 7\n"));
}

/* A loopback TCP socket listening on a port the kernel picked; *port set. */
static int listen_any_port(unsigned *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* curl's exit status for GET /metrics on port (0: served, 7: refused). */
static int get_metrics(unsigned port)
{
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/metrics", port);
	const char *argv[] = { "/usr/bin/curl", "-s", "-f", "--max-time", "3", url, NULL };
	return harness_run(argv, out, sizeof out, err, sizeof err);
}

/* prometheus.* apply live: the listener opens on a reload, moves, and a
 * port that is taken keeps it where it was (said so, the rest applies);
 * listen "" closes it. */
static void test_prometheus_reload(void **state)
{
	char text[256];
	unsigned p1, p2;
	(void)state;
	int fd = listen_any_port(&p1);
	close(fd);   /* free again: the daemon takes it */
	snprintf(text, sizeof text, "prometheus:\n  listen: \"127.0.0.1:%u\"\n", p1);
	write_config(text);
	assert_int_equal(ctl("config", "reload", NULL), 0);
	assert_int_equal(get_metrics(p1), 0);
	assert_non_null(strstr(out, "rmon_up 1"));

	int taken = listen_any_port(&p2);
	snprintf(text, sizeof text, "prometheus:\n  listen: \"127.0.0.1:%u\"\nprocs:\n  top_n: 3\n", p2);
	write_config(text);
	assert_int_equal(ctl("config", "reload", NULL), 0);
	char want[128];
	snprintf(want, sizeof want, "address already in use; kept \"127.0.0.1:%u\"", p1);
	if (!strstr(out, want))
		fail_msg("no \"%s\" in: %s", want, out);
	assert_non_null(strstr(out, "procs.top_n"));
	close(taken);
	assert_int_equal(get_metrics(p1), 0);
	assert_int_equal(ctl("config", "show", NULL), 0);
	snprintf(want, sizeof want, "listen: \"127.0.0.1:%u\"", p1);
	assert_non_null(strstr(out, want));

	write_config("sampling:\n  system: 100ms\n");
	assert_int_equal(ctl("config", "reload", NULL), 0);
	assert_int_equal(get_metrics(p1), 7);
}

/* pid 1's cmdline in `top --json` as seen by argv's user. */
static bool sees_pid1_cmdline(const struct passwd *pw)
{
	const char *argv[] = { "rmonctl", "--socket", the_daemon.sock, "top", "-n", "1000", "--json",
	                       NULL };
	assert_int_equal(harness_run_as(pw->pw_uid, pw->pw_gid, argv, out, sizeof out, err,
	                                sizeof err), 0);
	const char *one = strstr(out, "\"key\":\"1\"");
	assert_non_null(one);
	const char *cmd = strstr(one, "\"cmdline\"");
	return cmd && cmd < strchr(one, '}');
}

static int ctl_as(const struct passwd *pw, const char *a1, const char *a2)
{
	const char *argv[] = { "rmonctl", "--socket", the_daemon.sock, a1, a2, NULL };
	return harness_run_as(pw->pw_uid, pw->pw_gid, argv, out, sizeof out, err, sizeof err);
}

/* A non-root user: no reload, no shutdown, no root cmdlines; after a
 * reload that names the user in access.admins and its group in
 * access.cmdline_groups (by name), and opens the socket by socket_mode,
 * all three work. */
static void test_access(void **state)
{
	char yaml[512];
	struct stat st;
	(void)state;
	struct passwd *pw = harness_test_user();
	if (!pw)
		skip();
	char user[64], group[64];
	snprintf(user, sizeof user, "%s", pw->pw_name);
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	struct group *gr = getgrgid(gid);
	assert_non_null(gr);
	snprintf(group, sizeof group, "%s", gr->gr_name);
	struct passwd me = { .pw_uid = uid, .pw_gid = gid };

	assert_int_equal(chmod(the_daemon.dir, 0755), 0);
	write_config("sampling:\n  system: 100ms\nsocket_mode: \"0666\"\n");
	assert_int_equal(ctl("config", "reload", NULL), 0);
	assert_int_equal(stat(the_daemon.sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0666);

	assert_int_equal(ctl_as(&me, "config", "reload"), 1);
	assert_non_null(strstr(err, "permission_denied"));
	assert_non_null(strstr(err, "config reload is for root and access.admins/access.admin_groups"));
	assert_int_equal(ctl_as(&me, "shutdown", NULL), 1);
	assert_non_null(strstr(err, "permission_denied"));
	assert_non_null(strstr(err, "shutdown is for root"));
	assert_int_equal(ctl_as(&me, "config", "show"), 0);   /* anyone may read it */
	assert_non_null(strstr(out, "socket_mode: \"0666\""));
	assert_false(sees_pid1_cmdline(&me));

	snprintf(yaml, sizeof yaml, "sampling:\n  system: 100ms\nsocket_mode: \"0666\"\n"
	         "access:\n  admins: [%s]\n  cmdline_groups: [%s]\n", user, group);
	write_config(yaml);
	assert_int_equal(ctl("config", "reload", NULL), 0);
	assert_true(sees_pid1_cmdline(&me));
	assert_int_equal(ctl_as(&me, "config", "reload"), 0);
	assert_non_null(strstr(out, "reloaded"));

	/* an unknown name is a config error at its line:col */
	write_config("access:\n  admins: [no-such-user-rmon]\n");
	assert_int_equal(ctl("config", "reload", NULL), 1);
	assert_non_null(strstr(err, ":2:12: access.admins[0]: no such user \"no-such-user-rmon\""));
	write_config(yaml);
	assert_int_equal(ctl_as(&me, "shutdown", NULL), 0);   /* an admin now */
	for (int i = 0; i < 500 && kill(the_daemon.pid, 0) == 0; i++) {
		int st_code;
		if (waitpid(the_daemon.pid, &st_code, WNOHANG) == the_daemon.pid) {
			assert_true(WIFEXITED(st_code));
			assert_int_equal(WEXITSTATUS(st_code), 0);
			the_daemon.pid = 0;
			break;
		}
		usleep(10000);
	}
	assert_int_equal(the_daemon.pid, 0);
	assert_true(log_has("shutdown by uid"));
	chmod(the_daemon.dir, 0700);
	const char *extra[] = { "--config", cfg_path, NULL };
	assert_int_equal(harness_start(&the_daemon, extra), 0);   /* for the next test */
}

/* Root's `rmonctl shutdown`: the daemon stops cleanly, exit 0, socket gone. */
static void test_shutdown(void **state)
{
	struct stat st;
	(void)state;
	assert_int_equal(ctl("shutdown", NULL), 0);
	int code = -1;
	for (int i = 0; i < 1000; i++) {
		int s;
		if (waitpid(the_daemon.pid, &s, WNOHANG) == the_daemon.pid) {
			code = WIFEXITED(s) ? WEXITSTATUS(s) : 128 + WTERMSIG(s);
			the_daemon.pid = 0;
			break;
		}
		usleep(10000);
	}
	assert_int_equal(code, 0);
	assert_int_equal(stat(the_daemon.sock, &st), -1);
	assert_true(log_has("shutdown by uid"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interval_reload),
		cmocka_unit_test(test_invalid_rejected),
		cmocka_unit_test(test_restart_key),
		cmocka_unit_test(test_prometheus_reload),
		cmocka_unit_test(test_access),
		cmocka_unit_test(test_shutdown),
	};
	return cmocka_run_group_tests(tests, start_daemon, stop_daemon);
}
