/* notify_send against a datagram socket we bind ourselves, standing in
 * for systemd's: a filesystem path and an abstract '@' name.  And the
 * watchdog's decisions: the period systemd asks for, whether the sampler
 * is alive, the status line.  (tests/integration/test-service.c runs a
 * real rmond against such a socket.) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "notify.h"
#include "watchdog.h"

/* Binds a datagram socket at name ("/path" or "@abstract"). */
static int bind_dgram(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	assert_true(len < sizeof sa.sun_path);
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, salen), 0);
	return fd;
}

static void expect_datagram(int fd, const char *want)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void test_unset(void **state)
{
	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(notify_send("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(notify_send("READY=1"), 0);
	unsetenv("NOTIFY_SOCKET");
}

static void test_path_socket(void **state)
{
	char dir[] = "/tmp/rmon-test-notify-XXXXXX", path[128];
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/notify", dir);
	int fd = bind_dgram(path);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(notify_send("READY=1"), 1);
	expect_datagram(fd, "READY=1");
	assert_int_equal(notify_sendf("STATUS=%d clients", 3), 1);
	expect_datagram(fd, "STATUS=3 clients");
	unsetenv("NOTIFY_SOCKET");
	close(fd);
	unlink(path);
	rmdir(dir);
}

static void test_abstract_socket(void **state)
{
	char name[64];
	(void)state;
	snprintf(name, sizeof name, "@rmon-test-notify-%ld", (long)getpid());
	int fd = bind_dgram(name);
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(notify_send("STOPPING=1"), 1);
	expect_datagram(fd, "STOPPING=1");
	unsetenv("NOTIFY_SOCKET");
	close(fd);
}

static void test_errors(void **state)
{
	char longname[200];
	(void)state;
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(notify_send("READY=1"), -EAFNOSUPPORT);
	setenv("NOTIFY_SOCKET", "/nonexistent/rmon/notify", 1);
	assert_int_equal(notify_send("READY=1"), -ENOENT);
	memset(longname, 'a', sizeof longname - 1);
	longname[0] = '/';
	longname[sizeof longname - 1] = '\0';
	setenv("NOTIFY_SOCKET", longname, 1);
	assert_int_equal(notify_send("READY=1"), -ENAMETOOLONG);
	unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog_period(void **state)
{
	char pid[32];
	(void)state;
	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
	assert_int_equal(watchdog_period_ns(), 0);
	setenv("WATCHDOG_USEC", "400000", 1);
	assert_int_equal(watchdog_period_ns(), 400000000u);
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(watchdog_period_ns(), 400000000u);
	snprintf(pid, sizeof pid, "%ld", (long)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);   /* for another process */
	assert_int_equal(watchdog_period_ns(), 0);
	setenv("WATCHDOG_PID", "12ab", 1);
	assert_int_equal(watchdog_period_ns(), 0);
	setenv("WATCHDOG_PID", "", 1);    /* empty: as unset */
	assert_int_equal(watchdog_period_ns(), 400000000u);
	static const char *const bad[] = { "", "0", "-5", "abc", "30s", " 5", "99999999999999999999" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		setenv("WATCHDOG_USEC", bad[i], 1);
		assert_int_equal(watchdog_period_ns(), 0);
	}
	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
}

#define S UINT64_C(1000000000)

static void test_watchdog_pulse(void **state)
{
	struct watchdog_pulse p;
	(void)state;
	/* 30 s watchdog, 100 ms sampling: hung after 30 s without a tick */
	watchdog_pulse_init(&p, 30 * S, S / 10, 5, 100 * S);
	assert_true(watchdog_pulse_alive(&p, 5, 110 * S));
	assert_true(watchdog_pulse_alive(&p, 5, 130 * S));
	assert_false(watchdog_pulse_alive(&p, 5, 130 * S + 1));
	assert_false(watchdog_pulse_alive(&p, 5, 200 * S));
	/* it ticks again: alive, and the clock restarts from there */
	assert_true(watchdog_pulse_alive(&p, 6, 201 * S));
	assert_true(watchdog_pulse_alive(&p, 6, 231 * S));
	assert_false(watchdog_pulse_alive(&p, 6, 232 * S));
	/* a slow sampler (10 s) under a short watchdog (1 s) is not hung
	 * between its ticks: three intervals of grace */
	watchdog_pulse_init(&p, 1 * S, 10 * S, 0, 0);
	assert_true(watchdog_pulse_alive(&p, 0, 25 * S));
	assert_false(watchdog_pulse_alive(&p, 0, 31 * S));
	/* a reload from 100 ms to 60 s sampling under a 30 s watchdog: a tick
	 * a minute is alive, three minutes without one is not */
	watchdog_pulse_init(&p, 30 * S, S / 10, 1, 0);
	watchdog_pulse_interval(&p, 30 * S, 60 * S);
	assert_true(watchdog_pulse_alive(&p, 1, 60 * S));
	assert_true(watchdog_pulse_alive(&p, 2, 120 * S));
	assert_true(watchdog_pulse_alive(&p, 2, 300 * S));
	assert_false(watchdog_pulse_alive(&p, 2, 300 * S + 1));
}

static void test_watchdog_status_text(void **state)
{
	char buf[128];
	(void)state;
	watchdog_status_text(buf, sizeof buf, 100000000u, 3, 42, 1);
	assert_string_equal(buf, "sampling every 100 ms, 3 clients, ring 42% full");
	watchdog_status_text(buf, sizeof buf, 1000000000u, 1, 0, 0);
	assert_string_equal(buf, "sampling every 1000 ms, 1 client, ring 0% full (in memory)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unset),
		cmocka_unit_test(test_path_socket),
		cmocka_unit_test(test_abstract_socket),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_watchdog_period),
		cmocka_unit_test(test_watchdog_pulse),
		cmocka_unit_test(test_watchdog_status_text),
	};
	return cmocka_run_group_tests_name("notify", tests, NULL, NULL);
}
