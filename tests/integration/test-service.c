/*
 * rmond as a service: the sd_notify protocol against a datagram socket
 * that plays systemd's part (READY=1, STATUS=, WATCHDOG=1, STOPPING=1, a
 * path and an abstract name, a WATCHDOG_PID meant for someone else);
 * `make install` with DESTDIR and PREFIX; `systemd-analyze verify` of the
 * installed unit; the sysusers and tmpfiles snippets applied to a
 * scratch root; the launchd plist's structure; the man pages' markup and
 * their agreement with `rmonctl --help` and `rmond --check-config`; the
 * bash completion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "harness.h"

/* ---- helpers ---- */

static const char *srcdir(void)
{
	const char *s = getenv("RMON_SRCDIR");
	return s && *s ? s : ".";
}

/* The build dir as an absolute path (tests run from the source root). */
static const char *build_abs(void)
{
	static char path[PATH_MAX];
	if (!*path && !realpath(harness_build_dir(), path))
		fail_msg("no build dir %s", harness_build_dir());
	return path;
}

/* Runs cmd under sh with stderr joined to stdout; the exit status. */
static int sh(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sh(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	char full[8300];
	snprintf(full, sizeof full, "( %s ) 2>&1", cmd);
	FILE *p = popen(full, "r");
	assert_non_null(p);
	size_t n = 0;
	char scratch[4096];
	for (;;) {
		size_t r = fread(n + 1 < outlen ? out + n : scratch, 1,
		                 n + 1 < outlen ? outlen - n - 1 : sizeof scratch, p);
		if (r == 0)
			break;
		if (n + 1 < outlen)
			n += r;
	}
	while (n > 0 && n < outlen && out[n - 1] == '\n')
		n--;   /* "true\n" is "true" */
	if (outlen)
		out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int have(const char *prog)
{
	char out[256];
	return sh(out, sizeof out, "command -v %s", prog) == 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	char *buf = malloc(1 << 20);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void rm_rf(const char *dir)
{
	char out[256];
	assert_int_equal(sh(out, sizeof out, "rm -rf '%s'", dir), 0);
}

/* `make install` of what this build dir holds (-o all: nothing is
 * rebuilt) with these variables; 0 or make's status. */
static int make_install(char *out, size_t outlen, const char *vars)
{
	return sh(out, outlen, "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory "
	          "-C '%s' -o all BUILD='%s' %s install", srcdir(), build_abs(), vars);
}

/* ---- the notify protocol ---- */

struct fake_systemd {
	int fd;
	char name[128];
	char got[256][64];   /* datagrams in order of arrival */
	uint64_t at[256];    /* when each arrived, mono ns */
	unsigned n;
};

static void fake_bind(struct fake_systemd *s, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	memset(s, 0, sizeof *s);
	snprintf(s->name, sizeof s->name, "%s", name);
	assert_true(len < sizeof sa.sun_path);
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, salen), 0);
}

/* Receive datagrams for up to ms. */
static void fake_listen(struct fake_systemd *s, int ms)
{
	uint64_t end = clock_mono_ns() + (uint64_t)ms * 1000000u;
	for (uint64_t now; (now = clock_mono_ns()) < end && s->n < 256; ) {
		struct pollfd p = { s->fd, POLLIN, 0 };
		if (poll(&p, 1, (int)((end - now) / 1000000u) + 1) <= 0)
			continue;
		ssize_t r = recv(s->fd, s->got[s->n], sizeof s->got[0] - 1, 0);
		if (r < 0)
			continue;
		s->got[s->n][r] = '\0';
		s->at[s->n++] = clock_mono_ns();
	}
}

/* Listen until a datagram starting with prefix (and holding needle, if
 * any) arrives, for up to ms; its index (from index from on) or -1. */
static int fake_wait_from(struct fake_systemd *s, unsigned from, const char *prefix,
                          const char *needle, int ms)
{
	uint64_t end = clock_mono_ns() + (uint64_t)ms * 1000000u;
	unsigned seen = from;
	do {
		for (; seen < s->n; seen++)
			if (strncmp(s->got[seen], prefix, strlen(prefix)) == 0 &&
			    (!needle || strstr(s->got[seen], needle)))
				return (int)seen;
		fake_listen(s, 50);
	} while (clock_mono_ns() < end);
	for (; seen < s->n; seen++)
		if (strncmp(s->got[seen], prefix, strlen(prefix)) == 0 &&
		    (!needle || strstr(s->got[seen], needle)))
			return (int)seen;
	return -1;
}

static int fake_wait(struct fake_systemd *s, const char *prefix, const char *needle, int ms)
{
	return fake_wait_from(s, 0, prefix, needle, ms);
}

static unsigned fake_count(const struct fake_systemd *s, const char *msg, uint64_t from, uint64_t to)
{
	unsigned c = 0;
	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->got[i], msg) == 0 && s->at[i] >= from && s->at[i] <= to)
			c++;
	return c;
}

static void start_under_fake_systemd(struct daemon_proc *d, struct fake_systemd *s,
                                     const char *watchdog_pid)
{
	setenv("NOTIFY_SOCKET", s->name, 1);
	setenv("WATCHDOG_USEC", "400000", 1);
	if (watchdog_pid)
		setenv("WATCHDOG_PID", watchdog_pid, 1);
	else
		unsetenv("WATCHDOG_PID");
	int rc = harness_start(d, NULL);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	assert_int_equal(rc, 0);
}

static void test_notify_path_socket(void **state)
{
	struct daemon_proc d;
	struct fake_systemd s;
	char path[400];
	(void)state;
	harness_init(&d);
	snprintf(path, sizeof path, "%s/notify", d.dir);
	fake_bind(&s, path);
	start_under_fake_systemd(&d, &s, NULL);

	/* READY=1 first: the harness saw the socket answer, so it was sent */
	assert_int_equal(fake_wait(&s, "READY=1", NULL, 2000), 0);
	assert_string_equal(s.got[0], "READY=1");
	int st = fake_wait(&s, "STATUS=", NULL, 3000);
	assert_true(st > 0);
	assert_non_null(strstr(s.got[st], "STATUS=sampling every 100 ms, "));
	assert_non_null(strstr(s.got[st], "% full"));

	/* keepalives at half of WATCHDOG_USEC (400 ms): about 5 a second */
	uint64_t t0 = clock_mono_ns();
	fake_listen(&s, 1200);
	unsigned pets = fake_count(&s, "WATCHDOG=1", t0, t0 + 1200000000u);
	if (pets < 3 || pets > 12)
		fail_msg("%u WATCHDOG=1 in 1.2 s, expected about 6", pets);

	/* a client connects: the status line says so within its period */
	int fd = harness_hello(d.sock);
	assert_true(fd >= 0);
	int one = fake_wait(&s, "STATUS=", " 1 client,", 4000);
	if (one < 0)
		fail_msg("no STATUS= with 1 client; last: %s", s.n ? s.got[s.n - 1] : "(none)");
	close(fd);

	assert_int_equal(harness_stop(&d), 0);
	assert_true(fake_wait(&s, "STOPPING=1", NULL, 2000) >= 0);
	close(s.fd);
	harness_cleanup(&d);
}

/* An abstract NOTIFY_SOCKET ("@name"), and a WATCHDOG_PID that names
 * another process: no keepalives from us then. */
static void test_notify_abstract_socket(void **state)
{
	struct daemon_proc d;
	struct fake_systemd s;
	char name[64];
	(void)state;
	harness_init(&d);
	snprintf(name, sizeof name, "@rmon-test-service-%ld", (long)getpid());
	fake_bind(&s, name);
	start_under_fake_systemd(&d, &s, "1");
	assert_int_equal(fake_wait(&s, "READY=1", NULL, 2000), 0);
	assert_true(fake_wait(&s, "STATUS=sampling every", NULL, 3000) > 0);
	fake_listen(&s, 800);
	assert_int_equal(fake_count(&s, "WATCHDOG=1", 0, UINT64_MAX), 0);
	assert_int_equal(harness_stop(&d), 0);
	assert_true(fake_wait(&s, "STOPPING=1", NULL, 2000) >= 0);
	close(s.fd);
	harness_cleanup(&d);
}

/* The thread of pid named comm, or -1. */
static pid_t thread_named(pid_t pid, const char *comm)
{
	char path[128], name[64];
	for (pid_t tid = pid; tid < pid + 64; tid++) {
		snprintf(path, sizeof path, "/proc/%d/task/%d/comm", (int)pid, (int)tid);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		int ok = fgets(name, sizeof name, f) != NULL;
		fclose(f);
		name[strcspn(name, "\n")] = '\0';
		if (ok && strcmp(name, comm) == 0)
			return tid;
	}
	return -1;
}

/* A hung sampler, made by stopping its thread alone with ptrace: the
 * keepalives stop (STATUS= says why), so systemd would restart rmond; when
 * it runs again they resume. */
static void test_watchdog_hung_sampler(void **state)
{
	struct daemon_proc d;
	struct fake_systemd s;
	char path[400];
	(void)state;
	if (getenv("RMON_VALGRIND"))
		skip();   /* valgrind runs the threads itself */
	harness_init(&d);
	snprintf(path, sizeof path, "%s/notify", d.dir);
	fake_bind(&s, path);
	start_under_fake_systemd(&d, &s, NULL);
	pid_t tid = thread_named(d.pid, "rmond-sampler");
	assert_true(tid > 0);

	int hung = -1;
	/* The thread could be stopped holding its stats lock, which the loop
	 * then waits for: no keepalives, but no message either.  Try again. */
	for (int attempt = 0; attempt < 3 && hung < 0; attempt++) {
		if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
			if (errno == EPERM)
				skip();   /* no ptrace here (a container without CAP_SYS_PTRACE) */
			fail_msg("PTRACE_SEIZE: %s", strerror(errno));
		}
		assert_int_equal(ptrace(PTRACE_INTERRUPT, tid, NULL, NULL), 0);
		int st;
		assert_int_equal(waitpid(tid, &st, __WALL), tid);
		hung = fake_wait(&s, "STATUS=sampler hung", NULL, 2500);
		if (hung >= 0) {
			/* nothing after the message: it comes instead of a keepalive */
			fake_listen(&s, 800);
			for (unsigned i = (unsigned)hung; i < s.n; i++)
				assert_string_not_equal(s.got[i], "WATCHDOG=1");
		}
		assert_int_equal(ptrace(PTRACE_DETACH, tid, NULL, NULL), 0);
		if (hung < 0)
			usleep(300000);
	}
	if (hung < 0)
		fail_msg("no STATUS=sampler hung while the sampler was stopped");
	assert_true(fake_wait_from(&s, (unsigned)hung, "WATCHDOG=1", NULL, 2000) > hung);
	assert_true(fake_wait_from(&s, (unsigned)hung, "STATUS=sampling every", NULL, 2000) > hung);
	assert_int_equal(harness_stop(&d), 0);
	close(s.fd);
	harness_cleanup(&d);
}

/* ---- make install ---- */

static void expect_file(const char *root, const char *rel, mode_t mode)
{
	char path[1024];
	struct stat st;
	snprintf(path, sizeof path, "%s%s", root, rel);
	if (stat(path, &st) < 0)
		fail_msg("make install did not install %s", rel);
	assert_true(S_ISREG(st.st_mode));
	if ((st.st_mode & 07777) != mode)
		fail_msg("%s: mode %o, expected %o", rel, st.st_mode & 07777, mode);
}

static void test_install_destdir(void **state)
{
	char dir[] = "/tmp/rmon-test-install-XXXXXX", out[16384], vars[512];
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(vars, sizeof vars, "DESTDIR='%s' PREFIX=/usr", dir);
	if (make_install(out, sizeof out, vars) != 0)
		fail_msg("make install failed:\n%s", out);
	expect_file(dir, "/usr/bin/rmond", 0755);
	expect_file(dir, "/usr/bin/rmonctl", 0755);
	expect_file(dir, "/usr/share/rmon/rmond.yaml.example", 0644);
	expect_file(dir, "/etc/rmon/rmond.yaml", 0644);
	expect_file(dir, "/usr/share/rmon/org.rmon.rmond.plist", 0644);
	expect_file(dir, "/usr/lib/systemd/system/rmond.service", 0644);
	expect_file(dir, "/usr/lib/sysusers.d/rmon.conf", 0644);
	expect_file(dir, "/usr/lib/tmpfiles.d/rmon.conf", 0644);
	expect_file(dir, "/usr/share/man/man8/rmond.8", 0644);
	expect_file(dir, "/usr/share/man/man1/rmonctl.1", 0644);
	expect_file(dir, "/usr/share/man/man5/rmond.yaml.5", 0644);
	expect_file(dir, "/usr/share/bash-completion/completions/rmonctl", 0644);
	expect_file(dir, "/usr/share/doc/rmon/README.md", 0644);

	char path[600];
	snprintf(path, sizeof path, "%s/usr/lib/systemd/system/rmond.service", dir);
	char *unit = slurp(path);
	assert_null(strstr(unit, "@PREFIX@"));
	assert_null(strstr(unit, "@SYSCONFDIR@"));
	assert_non_null(strstr(unit, "\nExecStart=/usr/bin/rmond --foreground --config /etc/rmon/rmond.yaml\n"));
	free(unit);
	snprintf(path, sizeof path, "%s/usr/share/rmon/org.rmon.rmond.plist", dir);
	char *plist = slurp(path);
	assert_non_null(strstr(plist, "<string>/usr/bin/rmond</string>"));
	free(plist);

	/* the installed rmond runs and the example config is valid */
	assert_int_equal(sh(out, sizeof out, "'%s/usr/bin/rmond' --check-config -c '%s/etc/rmon/rmond.yaml'",
	                    dir, dir), 0);

	/* an edited config survives a second install */
	snprintf(path, sizeof path, "%s/etc/rmon/rmond.yaml", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("log:\n  level: debug\n", f);
	fclose(f);
	if (make_install(out, sizeof out, vars) != 0)
		fail_msg("second make install failed:\n%s", out);
	char *kept = slurp(path);
	assert_string_equal(kept, "log:\n  level: debug\n");
	free(kept);
	rm_rf(dir);

	/* PREFIX=/usr/local: everything under it, systemd's too */
	char dir2[] = "/tmp/rmon-test-install-XXXXXX";
	assert_non_null(mkdtemp(dir2));
	snprintf(vars, sizeof vars, "DESTDIR='%s' PREFIX=/usr/local", dir2);
	if (make_install(out, sizeof out, vars) != 0)
		fail_msg("make install PREFIX=/usr/local failed:\n%s", out);
	expect_file(dir2, "/usr/local/bin/rmond", 0755);
	expect_file(dir2, "/usr/local/lib/systemd/system/rmond.service", 0644);
	expect_file(dir2, "/usr/local/lib/sysusers.d/rmon.conf", 0644);
	expect_file(dir2, "/usr/local/share/man/man1/rmonctl.1", 0644);
	expect_file(dir2, "/usr/local/share/bash-completion/completions/rmonctl", 0644);
	expect_file(dir2, "/etc/rmon/rmond.yaml", 0644);
	snprintf(path, sizeof path, "%s/usr/local/lib/systemd/system/rmond.service", dir2);
	unit = slurp(path);
	assert_non_null(strstr(unit, "\nExecStart=/usr/local/bin/rmond "));
	free(unit);
	rm_rf(dir2);
}

/* ---- systemd-analyze verify, sysusers, tmpfiles ---- */

/* The unit installed with a real PREFIX in a temp dir (no DESTDIR), so
 * that ExecStart= names an executable that exists, and MANPATH there, so
 * that its Documentation=man: pages are found. */
static void test_systemd_verify(void **state)
{
	char dir[] = "/tmp/rmon-test-verify-XXXXXX", out[16384], vars[512];
	(void)state;
	if (!have("systemd-analyze"))
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(vars, sizeof vars, "PREFIX='%s/usr' SYSCONFDIR='%s/etc'", dir, dir);
	if (make_install(out, sizeof out, vars) != 0)
		fail_msg("make install failed:\n%s", out);
	int rc = sh(out, sizeof out, "cd '%s/usr/lib/systemd/system' && MANPATH='%s/usr/share/man' "
	            "SYSTEMD_LOG_LEVEL=notice systemd-analyze verify ./rmond.service", dir, dir);
	if (rc != 0 || *out)
		fail_msg("systemd-analyze verify: exit %d:\n%s", rc, out);

	/* what verify does not check: the hardening the unit promises */
	char path[600];
	snprintf(path, sizeof path, "%s/usr/lib/systemd/system/rmond.service", dir);
	char *unit = slurp(path);
	static const char *const want[] = {
		"\nType=notify\n", "\nWatchdogSec=30s\n", "\nUser=rmon\n", "\nGroup=rmon\n",
		"\nRuntimeDirectory=rmon\n", "\nStateDirectory=rmon\n",
		"\nAmbientCapabilities=CAP_SYS_PTRACE CAP_DAC_READ_SEARCH\n",
		"\nCapabilityBoundingSet=CAP_SYS_PTRACE CAP_DAC_READ_SEARCH\n",
		"\nNoNewPrivileges=yes\n", "\nProtectSystem=strict\n", "\nProtectHome=read-only\n",
		"\nPrivateTmp=yes\n", "\nProtectKernelTunables=yes\n",
		"\nRestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK\n",
		"\nExecReload=/bin/kill -HUP $MAINPID\n",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		if (!strstr(unit, want[i]))
			fail_msg("rmond.service lacks %s", want[i] + 1);
	free(unit);

	/* the ExecStart command line as systemd would run it parses its config */
	rc = sh(out, sizeof out, "'%s/usr/bin/rmond' --check-config --config '%s/etc/rmon/rmond.yaml'",
	        dir, dir);
	if (rc != 0)
		fail_msg("rmond --check-config on the installed config: %s", out);
	rm_rf(dir);
}

/* The sysusers snippet makes user and group rmon, and the tmpfiles one
 * their directories owned by them, in a scratch root (root only: it
 * chowns). */
static void test_sysusers_tmpfiles(void **state)
{
	char dir[] = "/tmp/rmon-test-sysusers-XXXXXX", out[16384], vars[512], path[600];
	(void)state;
	if (geteuid() != 0 || !have("systemd-sysusers") || !have("systemd-tmpfiles"))
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(vars, sizeof vars, "DESTDIR='%s' PREFIX=/usr", dir);
	if (make_install(out, sizeof out, vars) != 0)
		fail_msg("make install failed:\n%s", out);
	int rc = sh(out, sizeof out, "systemd-sysusers --root='%s' '%s/usr/lib/sysusers.d/rmon.conf'",
	            dir, dir);
	if (rc != 0)
		fail_msg("systemd-sysusers: %s", out);
	snprintf(path, sizeof path, "%s/etc/passwd", dir);
	char *pw = slurp(path);
	char *line = strstr(pw, "rmon:");
	if (!line)
		fail_msg("no user rmon in %s:\n%s", path, pw);
	unsigned uid = 0, gid = 0;
	assert_int_equal(sscanf(line, "rmon:x:%u:%u:", &uid, &gid), 2);
	assert_true(uid > 0 && uid < 1000);   /* a system user */
	assert_non_null(strstr(line, ":/var/lib/rmon:/usr/sbin/nologin"));
	free(pw);
	snprintf(path, sizeof path, "%s/etc/group", dir);
	char *gr = slurp(path);
	char want[64];
	snprintf(want, sizeof want, "rmon:x:%u:", gid);
	assert_non_null(strstr(gr, want));
	free(gr);

	rc = sh(out, sizeof out, "systemd-tmpfiles --root='%s' --create '%s/usr/lib/tmpfiles.d/rmon.conf'",
	        dir, dir);
	if (rc != 0)
		fail_msg("systemd-tmpfiles: %s", out);
	struct stat st;
	snprintf(path, sizeof path, "%s/var/lib/rmon", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
	snprintf(path, sizeof path, "%s/run/rmon", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_uid, uid);
	rm_rf(dir);
}

/* ---- the service's environment, without systemd ---- */

#define NOBODY 65534

/* rmond as the unit runs it, as far as we can without systemd: an
 * unprivileged user, RUNTIME_DIRECTORY and STATE_DIRECTORY set, no
 * --socket or --state-dir, and (caps) the unit's two ambient
 * capabilities.  Returns the pid once the socket answers. */
static pid_t start_as_service(const char *dir, int caps, char *sock, size_t socklen)
{
	char run[400], state[400], logf[400];
	snprintf(run, sizeof run, "%s/run", dir);
	snprintf(state, sizeof state, "%s/state", dir);
	snprintf(logf, sizeof logf, "%s/rmond.log", dir);
	snprintf(sock, socklen, "%s/rmond.sock", run);
	assert_int_equal(mkdir(run, 0755), 0);
	assert_int_equal(mkdir(state, 0750), 0);
	assert_int_equal(chown(run, NOBODY, NOBODY), 0);
	assert_int_equal(chown(state, NOBODY, NOBODY), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	char bin[PATH_MAX + 16];
	snprintf(bin, sizeof bin, "%s/rmond", build_abs());
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setenv("RUNTIME_DIRECTORY", run, 1);
		setenv("STATE_DIRECTORY", state, 1);
		const char *with[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		                       "--inh-caps=+sys_ptrace,+dac_read_search",
		                       "--ambient-caps=+sys_ptrace,+dac_read_search",
		                       bin, "--foreground", NULL };
		const char *without[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		                          bin, "--foreground", NULL };
		execvp("setpriv", (char *const *)(caps ? with : without));
		_exit(127);
	}
	for (int i = 0; i < 1000; i++) {
		int fd = harness_hello(sock);
		if (fd >= 0) {
			close(fd);
			return pid;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			break;
		usleep(10000);
	}
	fail_msg("rmond did not start as a service; see %s", logf);
	return -1;
}

static int stop_pid(pid_t pid)
{
	int st;
	kill(pid, SIGTERM);
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Whether process pid shows an I/O rate in `rmonctl top --json` (read
 * from /proc/PID/io, which needs ptrace-read access): 1, 0, or -1 when
 * the process is not listed or has no rates yet. */
static int proc_has_io(const char *sock, pid_t pid)
{
	static char out[1 << 20];
	char err[4096], want[64];
	int rc = harness_ctl(sock, out, sizeof out, err, sizeof err, "top", "--json", "-n", "1000", NULL);
	if (rc != 0)
		fail_msg("rmonctl top: %d %s", rc, err);
	snprintf(want, sizeof want, ",\"pid\":%d,", (int)pid);
	char *p = strstr(out, want);
	if (!p)
		return -1;
	char *end = strchr(p, '}');
	assert_non_null(end);
	*end = '\0';
	if (!strstr(p, "\"cpu_pct\":"))
		return -1;   /* seen once: no rates yet */
	return strstr(p, "\"read_bps\":") != NULL;
}

/* proc_has_io once the process has rates (two scans), up to 10 s. */
static int proc_has_io_wait(const char *sock, pid_t pid)
{
	int rc = -1;
	for (int i = 0; i < 100 && (rc = proc_has_io(sock, pid)) < 0; i++)
		usleep(100000);
	return rc;
}

static void test_service_environment(void **state)
{
	char out[4096], err[4096], sock[500], ring[500];
	struct stat st;
	(void)state;
	if (geteuid() != 0 || !have("setpriv"))
		skip();   /* needs to become another user with capabilities */

	struct daemon_proc d;
	harness_init(&d);
	pid_t pid = start_as_service(d.dir, 1, sock, sizeof sock);
	/* the socket where RuntimeDirectory= put it, for its group */
	assert_int_equal(stat(sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(st.st_uid, NOBODY);
	assert_int_equal(st.st_gid, NOBODY);
	snprintf(ring, sizeof ring, "%s/state/rmon.ring", d.dir);
	assert_int_equal(stat(ring, &st), 0);
	assert_int_equal(st.st_uid, NOBODY);
	/* a member of the group gets in; anyone else does not */
	const char *argv[] = { "rmonctl", "--socket", sock, "version", NULL };
	int rc = harness_run_as(4242, NOBODY, argv, out, sizeof out, err, sizeof err);
	if (rc != 0)
		fail_msg("a member of the socket's group: exit %d: %s", rc, err);
	rc = harness_run_as(4242, 4242, argv, out, sizeof out, err, sizeof err);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "permission denied"));
	/* CAP_SYS_PTRACE: the I/O of a root process (this test) is read */
	assert_int_equal(proc_has_io_wait(sock, getpid()), 1);
	assert_int_equal(stop_pid(pid), 0);
	harness_cleanup(&d);

	/* without them, none: the capabilities are what makes it work */
	harness_init(&d);
	pid = start_as_service(d.dir, 0, sock, sizeof sock);
	assert_int_equal(proc_has_io_wait(sock, getpid()), 0);
	assert_int_equal(stop_pid(pid), 0);
	harness_cleanup(&d);
}

/* ---- launchd ---- */

/* An XPath 1.0 expression that must be true of the plist. */
static void plist_true(const char *file, const char *expr)
{
	char out[4096];
	int rc = sh(out, sizeof out, "xmllint --nonet --xpath \"boolean(%s)\" '%s'", expr, file);
	if (rc != 0 || strcmp(out, "true") != 0)
		fail_msg("%s: %s is not true (xmllint: %d %s)", file, expr, rc, out);
}

/* The value element after <key>K</key> in the top dict. */
#define PVAL(k) "/plist/dict/key[.='" k "']/following-sibling::*[1]"

static void check_plist(const char *file)
{
	char out[4096];
	int rc = sh(out, sizeof out, "xmllint --nonet --noout '%s'", file);
	if (rc != 0 || *out)
		fail_msg("xmllint --noout %s: %d %s", file, rc, out);
	plist_true(file, "count(/plist) = 1 and /plist/@version = '1.0' and count(/plist/*) = 1 "
	                 "and count(/plist/dict) = 1");
	/* keys and values alternate in a dict */
	plist_true(file, "count(/plist/dict/key) * 2 = count(/plist/dict/*)");
	plist_true(file, "name(" PVAL("Label") ") = 'string' and string-length(" PVAL("Label") ") > 0");
	plist_true(file, "name(" PVAL("ProgramArguments") ") = 'array'");
	plist_true(file, "count(" PVAL("ProgramArguments") "/*) >= 1 and "
	                 "count(" PVAL("ProgramArguments") "/*[name() != 'string']) = 0");
	plist_true(file, "starts-with(" PVAL("ProgramArguments") "/string[1], '/')");
	plist_true(file, PVAL("ProgramArguments") "/string[. = '--foreground']");
	plist_true(file, "name(" PVAL("RunAtLoad") ") = 'true'");
	plist_true(file, "name(" PVAL("KeepAlive") ") = 'true' or name(" PVAL("KeepAlive") ") = 'dict'");
	plist_true(file, "name(" PVAL("StandardOutPath") ") = 'string' and starts-with(" PVAL("StandardOutPath") ", '/')");
	plist_true(file, "name(" PVAL("StandardErrorPath") ") = 'string' and starts-with(" PVAL("StandardErrorPath") ", '/')");
}

static void test_launchd_plist(void **state)
{
	char path[600], bad[600];
	(void)state;
	if (!have("xmllint"))
		skip();   /* Debian: libxml2-utils (make deps) */
	snprintf(path, sizeof path, "%s/launchd/org.rmon.rmond.plist", srcdir());
	check_plist(path);

	/* the checks do fail: a plist with RunAtLoad false is refused */
	struct daemon_proc d;
	char out[4096];
	harness_init(&d);
	snprintf(bad, sizeof bad, "%s/bad.plist", d.dir);
	assert_int_equal(sh(out, sizeof out, "sed 's|<true/>|<false/>|' '%s' > '%s' && "
	                    "xmllint --nonet --xpath \"boolean(name(" PVAL("RunAtLoad") ") = 'true')\" '%s'",
	                    path, bad, bad), 0);
	assert_string_equal(out, "false");
	harness_cleanup(&d);
}

/* ---- man pages ---- */

static void man_path(char *buf, size_t len, const char *page)
{
	snprintf(buf, len, "%s/docs/man/%s", srcdir(), page);
}

static void test_man_pages_lint(void **state)
{
	static const char *const pages[] = { "rmond.8", "rmonctl.1", "rmond.yaml.5" };
	char path[600], out[16384];
	(void)state;
	if (!have("groff"))
		skip();   /* Debian: groff-base */
	for (size_t i = 0; i < 3; i++) {
		man_path(path, sizeof path, pages[i]);
		int rc = sh(out, sizeof out, "groff -man -ww -z '%s'", path);
		if (rc != 0 || *out)
			fail_msg("groff -man -ww -z %s: %d\n%s", pages[i], rc, out);
		if (have("man")) {
			rc = sh(out, sizeof out, "MANPAGER=cat MANWIDTH=80 man --warnings -l '%s' 2>&1 >/dev/null",
			        path);
			if (rc != 0 || *out)
				fail_msg("man --warnings -l %s: %d\n%s", pages[i], rc, out);
		}
		/* it renders to something with its name in it */
		rc = sh(out, sizeof out, "MANPAGER=cat MANWIDTH=80 man -l '%s' 2>/dev/null | head -n 5", path);
		assert_int_equal(rc, 0);
		assert_non_null(strstr(out, "NAME"));
	}
}

/* "--no-color" as man source writes it: "\-\-no\-color". */
static void man_escape(char *buf, size_t len, const char *s)
{
	size_t n = 0;
	for (; *s && n + 3 < len; s++) {
		if (*s == '-')
			buf[n++] = '\\';
		buf[n++] = *s;
	}
	buf[n] = '\0';
}

/* Appends " label" to missing when page lacks text. */
static void need(const char *page, const char *text, const char *label, char *missing, size_t len)
{
	if (!strstr(page, text)) {
		strncat(missing, " ", len - strlen(missing) - 1);
		strncat(missing, label, len - strlen(missing) - 1);
	}
}

/* The man page's source, and what argv (a build's binary) prints to out. */
static char *man_and_output(const char *page_name, const char *const *argv, char *out, size_t outlen)
{
	char path[600], err[4096];
	man_path(path, sizeof path, page_name);
	char *page = slurp(path);
	if (harness_run(argv, out, outlen, err, sizeof err) != 0)
		fail_msg("%s %s: %s", argv[0], argv[1], err);
	return page;
}

static void man_verdict(char *page, const char *page_name, const char *missing)
{
	free(page);
	if (*missing)
		fail_msg("docs/man/%s lacks:%s", page_name, missing);
}

/* Every command `rmonctl --help` lists has a section in rmonctl(1), and
 * every option `rmonctl help CMD` lists is in it. */
static void test_man_rmonctl_commands(void **state)
{
	char out[16384], help[16384], missing[4096] = "";
	const char *argv[] = { "rmonctl", "--help", NULL };
	(void)state;
	char *page = man_and_output("rmonctl.1", argv, help, sizeof help);
	char *p = strstr(help, "\ncommands:\n");
	assert_non_null(p);
	unsigned ncmds = 0;
	for (p = strchr(p + 1, '\n') + 1; p[0] == ' ' && p[1] == ' '; p = strchr(p, '\n') + 1) {
		char cmd[32], want[64];
		assert_int_equal(sscanf(p, " %31s", cmd), 1);
		ncmds++;
		snprintf(want, sizeof want, "\n.SS %s\n", cmd);
		need(page, want, cmd, missing, sizeof missing);
		if (!strstr(page, want))
			continue;
		const char *hargv[] = { "rmonctl", "help", cmd, NULL };
		if (strcmp(cmd, "help") == 0)
			continue;
		assert_int_equal(harness_run(hargv, out, sizeof out, NULL, 0), 0);
		char *o = strstr(out, "\noptions:\n");
		assert_non_null(o);
		for (char *tok = strstr(o, "--"); tok; tok = strstr(tok + 2, "--")) {
			char opt[64], esc[160];
			if (tok[-1] != ' ')
				continue;
			if (sscanf(tok, "%63[-a-z]", opt) != 1 || strlen(opt) < 3)
				continue;
			char item[100];
			man_escape(esc, sizeof esc, opt);
			snprintf(item, sizeof item, "%s:%s", cmd, opt);
			need(page, esc, item, missing, sizeof missing);
		}
	}
	assert_true(ncmds >= 9);
	man_verdict(page, "rmonctl.1", missing);
}

/* Every option `rmond --help` lists is in rmond(8). */
static void test_man_rmond_options(void **state)
{
	char out[16384], missing[2048] = "";
	const char *argv[] = { "rmond", "--help", NULL };
	(void)state;
	char *page = man_and_output("rmond.8", argv, out, sizeof out);
	unsigned nopts = 0;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		char a[64] = "", b[64] = "", esc[160];
		if (sscanf(line, " %63s %63s", a, b) < 1)
			continue;
		const char *opt = strncmp(a, "--", 2) == 0 ? a : strncmp(b, "--", 2) == 0 ? b : NULL;
		if (!opt || line[0] != ' ')
			continue;
		nopts++;
		man_escape(esc, sizeof esc, opt);
		need(page, esc, opt, missing, sizeof missing);
	}
	assert_true(nopts >= 10);
	man_verdict(page, "rmond.8", missing);
}

/* Every key `rmond --check-config` prints (the whole config table) is in
 * rmond.yaml(5), as its dotted path. */
static void test_man_config_keys(void **state)
{
	char out[32768], missing[4096] = "";
	const char *argv[] = { "rmond", "--check-config", NULL };
	(void)state;
	char *page = man_and_output("rmond.yaml.5", argv, out, sizeof out);
	char section[4][64] = { "" };
	unsigned nkeys = 0;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		if (*line == '#')
			continue;
		unsigned depth = (unsigned)(strspn(line, " ") / 2);
		char key[64];
		if (depth >= 4 || sscanf(line + depth * 2, "%63[a-z0-9_]:", key) != 1)
			continue;
		const char *rest = strchr(line, ':') + 1;
		snprintf(section[depth], sizeof section[depth], "%s", key);
		if (*rest == '\0')
			continue;   /* a section header */
		char dotted[300] = "";
		for (unsigned i = 0; i <= depth; i++) {
			strncat(dotted, section[i], sizeof dotted - strlen(dotted) - 1);
			if (i < depth)
				strncat(dotted, ".", sizeof dotted - strlen(dotted) - 1);
		}
		nkeys++;
		char want[320];
		snprintf(want, sizeof want, "\n.B %s\n", dotted);
		need(page, want, dotted, missing, sizeof missing);
	}
	assert_true(nkeys >= 25);
	man_verdict(page, "rmond.yaml.5", missing);
}

/* ---- bash completion ---- */

/* Completes the words (the last is the one being typed) with
 * completions/rmonctl in a fresh bash; the candidates, space-separated. */
static void complete(char *out, size_t len, const char *words)
{
	char path[600];
	snprintf(path, sizeof path, "%s/completions/rmonctl", srcdir());
	int rc = sh(out, len, "PATH='%s':\"$PATH\" bash --norc --noprofile -c '"
	            "source \"$0\" || exit 9; complete -p rmonctl >/dev/null || exit 8; "
	            "COMP_WORDS=(%s); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); "
	            "COMP_LINE=\"${COMP_WORDS[*]}\"; COMP_POINT=${#COMP_LINE}; "
	            "_rmonctl; echo -n \"${COMPREPLY[*]}\"' '%s'", build_abs(), words, path);
	if (rc != 0)
		fail_msg("bash completion of %s: exit %d: %s", words, rc, out);
}

static void test_bash_completion(void **state)
{
	char out[65536];
	(void)state;
	if (!have("bash"))
		skip();
	complete(out, sizeof out, "rmonctl wa");
	assert_string_equal(out, "watch");
	complete(out, sizeof out, "rmonctl --no-color st");
	assert_string_equal(out, "status");
	complete(out, sizeof out, "rmonctl watch --ch");
	assert_string_equal(out, "--children");
	complete(out, sizeof out, "rmonctl top --sort m");
	assert_string_equal(out, "mem");
	complete(out, sizeof out, "rmonctl query --agg p");
	assert_string_equal(out, "p95");
	complete(out, sizeof out, "rmonctl get sy");
	assert_string_equal(out, "system.");
	complete(out, sizeof out, "rmonctl get system.load1");
	assert_string_equal(out, "system.load1 system.load15");
	complete(out, sizeof out, "rmonctl config re");
	assert_string_equal(out, "reload");
	/* bash splits at ':'; the candidate replaces what follows it */
	complete(out, sizeof out, "rmonctl get cpu : 0.busy_p");
	assert_string_equal(out, "0.busy_pct");
	complete(out, sizeof out, "rmonctl help ver");
	assert_string_equal(out, "version");

	/* every command of `rmonctl --help`, and nothing else */
	char help[16384], want[1024] = "";
	const char *argv[] = { "rmonctl", "--help", NULL };
	assert_int_equal(harness_run(argv, help, sizeof help, NULL, 0), 0);
	char *p = strstr(help, "\ncommands:\n");
	assert_non_null(p);
	for (p = strchr(p + 1, '\n') + 1; p[0] == ' ' && p[1] == ' '; p = strchr(p, '\n') + 1) {
		char cmd[32];
		assert_int_equal(sscanf(p, " %31s", cmd), 1);
		if (*want)
			strcat(want, " ");
		strcat(want, cmd);
	}
	complete(out, sizeof out, "rmonctl \"\"");
	assert_string_equal(out, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify_path_socket),
		cmocka_unit_test(test_notify_abstract_socket),
		cmocka_unit_test(test_watchdog_hung_sampler),
		cmocka_unit_test(test_install_destdir),
		cmocka_unit_test(test_systemd_verify),
		cmocka_unit_test(test_sysusers_tmpfiles),
		cmocka_unit_test(test_service_environment),
		cmocka_unit_test(test_launchd_plist),
		cmocka_unit_test(test_man_pages_lint),
		cmocka_unit_test(test_man_rmonctl_commands),
		cmocka_unit_test(test_man_rmond_options),
		cmocka_unit_test(test_man_config_keys),
		cmocka_unit_test(test_bash_completion),
	};
	return cmocka_run_group_tests_name("service", tests, NULL, NULL);
}
