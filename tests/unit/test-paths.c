/* common/paths.c: where rmond listens and keeps its ring, and where
 * rmonctl looks for it, under systemd ($RUNTIME_DIRECTORY,
 * $STATE_DIRECTORY), as root and as an ordinary user.  The per-user
 * cases run in a child that became nobody when the test runs as root. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "paths.h"

#define NOBODY 65534

static void clear_env(void)
{
	unsetenv("RUNTIME_DIRECTORY");
	unsetenv("STATE_DIRECTORY");
	unsetenv("RMON_SOCKET");
	unsetenv("XDG_RUNTIME_DIR");
	unsetenv("XDG_STATE_HOME");
}

static void expect_socket(const char *explicit_path, enum paths_role role, const char *want)
{
	char out[PATHS_SOCKET_MAX];
	assert_int_equal(paths_socket(explicit_path, role, out, sizeof out), 0);
	assert_string_equal(out, want);
}

static void test_explicit_wins(void **state)
{
	(void)state;
	clear_env();
	setenv("RUNTIME_DIRECTORY", "/run/rmon", 1);
	setenv("RMON_SOCKET", "/tmp/env.sock", 1);
	expect_socket("/tmp/flag.sock", PATHS_DAEMON, "/tmp/flag.sock");
	expect_socket("/tmp/flag.sock", PATHS_CLIENT, "/tmp/flag.sock");
	clear_env();
}

/* RUNTIME_DIRECTORY is the daemon's own (a client run by some other
 * service would see that service's); RMON_SOCKET is the client's. */
static void test_runtime_directory(void **state)
{
	(void)state;
	clear_env();
	setenv("RUNTIME_DIRECTORY", "/run/rmon-x:/run/other", 1);
	setenv("RMON_SOCKET", "/tmp/env.sock", 1);
	expect_socket(NULL, PATHS_DAEMON, "/run/rmon-x/rmond.sock");
	expect_socket("", PATHS_DAEMON, "/run/rmon-x/rmond.sock");
	expect_socket(NULL, PATHS_CLIENT, "/tmp/env.sock");
	assert_int_equal(paths_per_user(), 0);
	setenv("RUNTIME_DIRECTORY", "relative", 1);   /* not systemd's: ignored */
	unsetenv("RMON_SOCKET");
	if (geteuid() == 0)
		expect_socket(NULL, PATHS_DAEMON, PATHS_SYSTEM_SOCKET);
	clear_env();
}

static void test_state_directory(void **state)
{
	char out[256];
	(void)state;
	clear_env();
	setenv("STATE_DIRECTORY", "/var/lib/rmon-x:/var/lib/other", 1);
	assert_int_equal(paths_state_dir(out, sizeof out), 0);
	assert_string_equal(out, "/var/lib/rmon-x");
	setenv("STATE_DIRECTORY", "", 1);
	assert_int_equal(paths_state_dir(out, sizeof out), 0);
	if (geteuid() == 0)
		assert_string_equal(out, "/var/lib/rmon");
	clear_env();
}

static void test_too_long(void **state)
{
	char longdir[200], out[PATHS_SOCKET_MAX];
	(void)state;
	clear_env();
	memset(longdir, 'a', sizeof longdir - 1);
	longdir[0] = '/';
	longdir[sizeof longdir - 1] = '\0';
	setenv("RUNTIME_DIRECTORY", longdir, 1);
	assert_int_equal(paths_socket(NULL, PATHS_DAEMON, out, sizeof out), -ENAMETOOLONG);
	clear_env();
}

/* The per-user checks; returns the number of the first that failed. */
static int per_user_checks(const char *xdg)
{
	char out[PATHS_SOCKET_MAX], own[PATHS_SOCKET_MAX], st[256];
	struct stat sb;
	int system_up = stat(PATHS_SYSTEM_SOCKET, &sb) == 0;

	clear_env();
	if (!paths_per_user())
		return 1;
	setenv("XDG_RUNTIME_DIR", xdg, 1);
	snprintf(own, sizeof own, "%s/rmon/rmond.sock", xdg);
	/* the daemon binds its own socket whatever exists */
	if (paths_socket(NULL, PATHS_DAEMON, out, sizeof out) || strcmp(out, own))
		return 2;
	/* no own daemon: the client goes to the service's when it is up */
	if (paths_socket(NULL, PATHS_CLIENT, out, sizeof out) ||
	    strcmp(out, system_up ? PATHS_SYSTEM_SOCKET : own))
		return 3;
	char dir[PATHS_SOCKET_MAX];
	snprintf(dir, sizeof dir, "%s/rmon", xdg);
	FILE *f = paths_mkdirs(dir, 0700) == 0 ? fopen(own, "w") : NULL;
	if (!f || fclose(f))
		return 4;
	/* its own daemon's socket exists: that one */
	if (paths_socket(NULL, PATHS_CLIENT, out, sizeof out) || strcmp(out, own))
		return 5;
	unlink(own);
	rmdir(dir);
	unsetenv("XDG_RUNTIME_DIR");
	snprintf(own, sizeof own, "/tmp/rmon-%u/rmond.sock", (unsigned)geteuid());
	if (paths_socket(NULL, PATHS_DAEMON, out, sizeof out) || strcmp(out, own))
		return 6;
	setenv("XDG_STATE_HOME", "/x/state", 1);
	if (paths_state_dir(st, sizeof st) || strcmp(st, "/x/state/rmon"))
		return 7;
	/* a service running as its own user: systemd's directories */
	setenv("RUNTIME_DIRECTORY", "/run/rmon", 1);
	setenv("STATE_DIRECTORY", "/var/lib/rmon", 1);
	if (paths_per_user())
		return 8;
	if (paths_socket(NULL, PATHS_DAEMON, out, sizeof out) || strcmp(out, PATHS_SYSTEM_SOCKET))
		return 9;
	if (paths_state_dir(st, sizeof st) || strcmp(st, "/var/lib/rmon"))
		return 10;
	return 0;
}

/* Binds a socket at the system path when none is there (root only), so
 * the client's fallback to it is tested; 1 when we made it. */
static int make_system_socket(void)
{
	struct stat sb;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (geteuid() != 0 || stat(PATHS_SYSTEM_SOCKET, &sb) == 0)
		return 0;
	if (paths_mkdirs("/run/rmon", 0755) < 0)
		return 0;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", PATHS_SYSTEM_SOCKET);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static void run_per_user(int with_system_socket)
{
	char xdg[] = "/tmp/rmon-test-paths-XXXXXX";
	assert_non_null(mkdtemp(xdg));
	int made = with_system_socket ? make_system_socket() : 0;
	if (geteuid() != 0) {
		assert_int_equal(per_user_checks(xdg), 0);
	} else {
		assert_int_equal(chown(xdg, NOBODY, NOBODY), 0);
		pid_t pid = fork();
		if (pid == 0) {
			if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
				_exit(99);
			_exit(per_user_checks(xdg));
		}
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	if (made) {
		unlink(PATHS_SYSTEM_SOCKET);
		rmdir("/run/rmon");   /* only if empty: someone else's stays */
	}
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", xdg);
	assert_int_equal(system(cmd), 0);
}

static void test_per_user(void **state)
{
	(void)state;
	run_per_user(0);
}

static void test_per_user_with_service(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();   /* cannot make /run/rmon/rmond.sock; test_per_user covers whichever exists */
	run_per_user(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_explicit_wins),
		cmocka_unit_test(test_runtime_directory),
		cmocka_unit_test(test_state_directory),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_per_user),
		cmocka_unit_test(test_per_user_with_service),
	};
	return cmocka_run_group_tests_name("paths", tests, NULL, NULL);
}
