#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"

const char *harness_build_dir(void)
{
	const char *b = getenv("RMON_BUILD");
	return b && *b ? b : "build";
}

void harness_init(struct daemon_proc *d)
{
	memset(d, 0, sizeof *d);
	snprintf(d->dir, sizeof d->dir, "/tmp/rmon-test-XXXXXX");
	if (!mkdtemp(d->dir))
		abort();
	snprintf(d->sock, sizeof d->sock, "%s/rmond.sock", d->dir);
	snprintf(d->state, sizeof d->state, "%s/state", d->dir);
	snprintf(d->log, sizeof d->log, "%s/rmond.log", d->dir);
}

/* One frame reader for the test's current raw connection; a new
 * connection starts it afresh (fd numbers are reused, buffers must not be). */
static struct frame_reader reader;
static int reader_fd = -1;

static void reader_reset(int fd)
{
	frame_reader_free(&reader);
	frame_reader_init(&reader, 64u << 20);
	reader_fd = fd;
}

int harness_connect(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	reader_reset(fd);
	return fd;
}

/* Ready means answering with a committed sample, not just listening. */
static int sampled(const char *sock)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_zone z;
	struct msg_reply rep;
	int fd = harness_hello(sock), ok = 0;
	if (fd < 0)
		return 0;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	size_t start = frame_begin(&sb);
	msg_pack_request(&pk, 2, "get");
	msgpack_pack_map(&pk, 1);
	msg_pack_str(&pk, "selectors");
	msgpack_pack_array(&pk, 1);
	msg_pack_str(&pk, "system.uptime_s");
	frame_end(&sb, start, 1u << 20);
	msgpack_zone_init(&z, 4096);
	if (harness_send(fd, sb.data, sb.size) == 0 && harness_recv(fd, &z, &rep, 5000) == 0)
		ok = rep.ok;
	msgpack_zone_destroy(&z);
	msgpack_sbuffer_destroy(&sb);
	close(fd);
	return ok;
}

int harness_start(struct daemon_proc *d, const char *const *extra)
{
	char bin[512];
	const char *argv[32];
	int n = 0;
	snprintf(bin, sizeof bin, "%s/rmond", harness_build_dir());
	/* RMON_VALGRIND=1: the daemon runs under memcheck; any error or
	 * definite leak makes it exit 99, which harness_stop reports. */
	int vg = getenv("RMON_VALGRIND") != NULL;
	if (vg) {
		argv[n++] = "/usr/bin/valgrind";
		argv[n++] = "--quiet";
		argv[n++] = "--error-exitcode=99";
		argv[n++] = "--leak-check=full";
		argv[n++] = "--errors-for-leak-kinds=definite";
		argv[n++] = "--show-leak-kinds=definite";
	}
	argv[n++] = bin;
	argv[n++] = "--foreground";
	argv[n++] = "--socket";
	argv[n++] = d->sock;
	argv[n++] = "--state-dir";
	argv[n++] = d->state;
	for (; extra && *extra && n < 30; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	d->pid = fork();
	if (d->pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < (vg ? 6000 : 1000); i++) {   /* up to 10 s (60 s under valgrind) */
		if (sampled(d->sock))
			return 0;
		if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
			d->pid = 0;
			return -1;
		}
		usleep(10000);
	}
	return -1;
}

int harness_stop(struct daemon_proc *d)
{
	int st;
	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	for (int i = 0; i < 6000; i++) {   /* up to 60 s (valgrind is slow to exit) */
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		usleep(10000);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &st, 0);
	d->pid = 0;
	return 137;
}

void harness_cleanup(struct daemon_proc *d)
{
	char cmd[600];
	frame_reader_free(&reader);
	reader_fd = -1;
	if (d->pid > 0)
		harness_stop(d);
	if (getenv("RMON_KEEP_TEST_DIR")) {
		fprintf(stderr, "kept %s\n", d->dir);
		return;
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", d->dir);
}

/* Drain both pipes until the child exits. */
static void collect(int ofd, int efd, char *out, size_t outlen, char *err, size_t errlen)
{
	size_t on = 0, en = 0;
	struct pollfd p[2] = { { ofd, POLLIN, 0 }, { efd, POLLIN, 0 } };
	int open_fds = 2;
	while (open_fds > 0 && poll(p, 2, 20000) > 0) {
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			char *buf = i ? err : out;
			size_t *len = i ? &en : &on, cap = i ? errlen : outlen;
			char scratch[4096];
			ssize_t r = read(p[i].fd, *len + 1 < cap ? buf + *len : scratch,
			                 *len + 1 < cap ? cap - *len - 1 : sizeof scratch);
			if (r <= 0) {
				p[i].fd = -1;
				open_fds--;
			} else if (*len + 1 < cap) {
				*len += (size_t)r;
			}
		}
	}
	if (outlen)
		out[on] = '\0';
	if (errlen)
		err[en] = '\0';
}

int harness_run(const char *const *argv, char *out, size_t outlen, char *err, size_t errlen)
{
	return harness_run_as((uid_t)-1, (gid_t)-1, argv, out, outlen, err, errlen);
}

int harness_log_has(const struct daemon_proc *d, const char *what)
{
	static char text[1 << 20];
	FILE *f = fopen(d->log, "r");
	if (!f)
		return 0;
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	return strstr(text, what) != NULL;
}

struct passwd *harness_test_user(void)
{
	if (geteuid() != 0)
		return NULL;
	if (!getpwnam("rmontest") && system("useradd -M -r -s /usr/sbin/nologin rmontest") != 0)
		return NULL;
	return getpwnam("rmontest");
}

int harness_run_as(uid_t uid, gid_t gid, const char *const *argv, char *out, size_t outlen,
                   char *err, size_t errlen)
{
	char bin[512];
	int o[2], e[2], st;
	if (strchr(argv[0], '/'))   /* a system tool, e.g. /usr/bin/curl */
		snprintf(bin, sizeof bin, "%s", argv[0]);
	else
		snprintf(bin, sizeof bin, "%s/%s", harness_build_dir(), argv[0]);
	if (pipe(o) < 0 || pipe(e) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(o[1], 1);
		dup2(e[1], 2);
		close(o[0]);
		close(e[0]);
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		if (gid != (gid_t)-1 && (setgroups(0, NULL) < 0 || setgid(gid) < 0))
			_exit(126);
		if (uid != (uid_t)-1 && setuid(uid) < 0)
			_exit(126);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	char dummy[1];
	collect(o[0], e[0], out ? out : dummy, out ? outlen : 0, err ? err : dummy, err ? errlen : 0);
	close(o[0]);
	close(e[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int harness_send(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int harness_recv(int fd, msgpack_zone *z, struct msg_reply *rep, int timeout_ms)
{
	const uint8_t *p;
	size_t n;
	char err[256];
	if (reader_fd != fd)
		reader_reset(fd);
	for (;;) {
		int rc = frame_reader_next(&reader, &p, &n);
		if (rc == 1)
			return msg_parse_reply(p, n, z, rep, err, sizeof err) == PROTO_OK ? 0 : -1;
		if (rc < 0)
			return -1;
		struct pollfd pf = { fd, POLLIN, 0 };
		if (poll(&pf, 1, timeout_ms) <= 0)
			return -1;
		char buf[65536];
		ssize_t r = read(fd, buf, sizeof buf);
		if (r <= 0)
			return -1;
		if (frame_reader_feed(&reader, buf, (size_t)r) < 0)
			return -1;
	}
}

int harness_send_request(int fd, uint64_t id, const char *op, const char *unused)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	(void)unused;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	size_t start = frame_begin(&sb);
	msg_pack_request(&pk, id, op);
	msgpack_pack_map(&pk, 0);
	frame_end(&sb, start, 1u << 20);
	int rc = harness_send(fd, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

int harness_hello(const char *sock)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_zone z;
	struct msg_reply rep;
	int fd = harness_connect(sock);
	if (fd < 0)
		return -1;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	size_t start = frame_begin(&sb);
	msg_pack_request(&pk, 1, "hello");
	msgpack_pack_map(&pk, 1);
	msg_pack_kv_u64(&pk, "version", 1);
	frame_end(&sb, start, 1u << 20);
	int rc = harness_send(fd, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	msgpack_zone_init(&z, 4096);
	if (rc == 0)
		rc = harness_recv(fd, &z, &rep, 5000);
	if (rc == 0 && !rep.ok)
		rc = -1;
	msgpack_zone_destroy(&z);
	if (rc < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

pid_t harness_spawn_helper(const char *const *argv)
{
	char bin[512], line[64];
	int p[2];
	snprintf(bin, sizeof bin, "%s/tests/helpers/%s", harness_build_dir(), argv[0]);
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	ssize_t n = read(p[0], line, sizeof line);   /* "ready" */
	close(p[0]);
	return n > 0 ? pid : -1;
}

int harness_rss_meaningful(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return 0;
#else
	return getenv("RMON_VALGRIND") == NULL;
#endif
}

int harness_count_fds(pid_t pid)
{
	char path[64], link[384], target[256];
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	int n = 0;
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof link, "%s/%s", path, e->d_name);
		ssize_t len = readlink(link, target, sizeof target - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		n += strncmp(target, "/proc/", 6) != 0;
	}
	closedir(d);
	return n;
}

long harness_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

int harness_send_watch(int fd, uint64_t id, const int32_t *pids, unsigned n, uint64_t interval,
                       int threads)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	size_t start = frame_begin(&sb);
	msg_pack_request(&pk, id, "watch");
	msgpack_pack_map(&pk, 3);
	msg_pack_str(&pk, "pids");
	msgpack_pack_array(&pk, n);
	for (unsigned i = 0; i < n; i++)
		msgpack_pack_uint32(&pk, (uint32_t)pids[i]);
	msg_pack_kv_u64(&pk, "interval", interval);
	msg_pack_kv_bool(&pk, "threads", threads != 0);
	frame_end(&sb, start, 1u << 20);
	int rc = harness_send(fd, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

int harness_ctl(const char *sock, char *out, size_t outlen, char *err, size_t errlen, ...)
{
	const char *argv[40] = { "rmonctl", "--socket", sock };
	int n = 3;
	va_list ap;
	va_start(ap, errlen);
	for (const char *a; n < 39 && (a = va_arg(ap, const char *)); )
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return harness_run(argv, out, outlen, err, errlen);
}

int harness_replace_file(const char *path, const char *text)
{
	char tmp[1100];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	fputs(text, f);
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

int harness_fake_nvml(const struct daemon_proc *d, const char *cfg_text, const char *yaml_extra,
		      char *cfg, size_t cfglen, char *yaml, size_t yamllen)
{
	char lib[400], cmd[1200];
	const char *src = getenv("RMON_SRCDIR") ? getenv("RMON_SRCDIR") : ".";
	snprintf(lib, sizeof lib, "%s/libnvidia-ml-fake.so", d->dir);
	snprintf(cmd, sizeof cmd, "cc -shared -fPIC -o '%s' '%s/tests/fakenvml/fake-nvml.c'", lib, src);
	if (system(cmd) != 0)
		return -1;
	snprintf(cfg, cfglen, "%s/fake-nvml.cfg", d->dir);
	if (harness_replace_file(cfg, cfg_text) < 0)
		return -1;
	setenv("FAKE_NVML_CONFIG", cfg, 1);
	snprintf(yaml, yamllen, "%s/rmond.yaml", d->dir);
	FILE *f = fopen(yaml, "w");
	if (!f)
		return -1;
	fprintf(f, "gpu:\n  nvidia:\n    library: '%s'\n%s", lib, yaml_extra ? yaml_extra : "");
	return fclose(f) == 0 ? 0 : -1;
}
