/*
 * The Prometheus endpoint end to end: a real rmond with prometheus.listen
 * on a free loopback port, spoken to over TCP (answers, limits, the
 * deadline), its page checked by promtool, compared with `rmonctl
 * metrics`, and scraped by a real Prometheus server whose HTTP API must
 * then return rmon's series with plausible values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "harness.h"

#define MAX_CONNS 4

static struct daemon_proc the_daemon;
static unsigned the_port;

/* A port nobody listens on now (the kernel's pick for port 0). */
static unsigned free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void write_file(const char *path, const char *text)
{
	assert_int_equal(harness_replace_file(path, text), 0);
}

static int start_daemon(void **state)
{
	char yaml[512], text[256];
	(void)state;
	harness_init(&the_daemon);
	the_port = free_port();
	snprintf(yaml, sizeof yaml, "%s/rmond.yaml", the_daemon.dir);
	snprintf(text, sizeof text, "prometheus:\n  listen: \"127.0.0.1:%u\"\n"
	         "  max_connections: %d\n  timeout: 1s\n", the_port, MAX_CONNS);
	write_file(yaml, text);
	const char *extra[] = { "-c", yaml, NULL };
	if (harness_start(&the_daemon, extra) < 0)
		return -1;
	usleep(1200000);   /* a few ticks, so rates have readings */
	return 0;
}

static int stop_daemon(void **state)
{
	(void)state;
	int rc = harness_stop(&the_daemon);
	harness_cleanup(&the_daemon);
	return rc == 0 ? 0 : -1;
}

static int connect_port(unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

/* Everything the peer sends until it closes, within timeout_ms: bytes
 * read (a reset after some bytes still counts them), or -1. */
static ssize_t read_all(int fd, char *out, size_t outlen, int timeout_ms)
{
	size_t got = 0;
	uint64_t end = clock_mono_ns() + (uint64_t)timeout_ms * 1000000u;
	for (;;) {
		uint64_t now = clock_mono_ns();
		if (now >= end)
			return -1;
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, (int)((end - now) / 1000000u) + 1) <= 0)
			continue;
		ssize_t n = read(fd, out + got, outlen - 1 - got);
		if (n <= 0 || got + (size_t)n >= outlen - 1) {
			if (n > 0)
				got += (size_t)n;
			out[got] = '\0';
			return n < 0 && got == 0 ? -1 : (ssize_t)got;
		}
		got += (size_t)n;
	}
}

/* Send req (n bytes) to rmond's listener, read the whole answer. */
static ssize_t exchange(const char *req, size_t n, char *out, size_t outlen)
{
	int fd = connect_port(the_port);
	assert_int_equal(write(fd, req, n), (ssize_t)n);
	ssize_t got = read_all(fd, out, outlen, 5000);
	close(fd);
	return got;
}

static int status_of(const char *req)
{
	char out[4096];
	int status = 0;
	assert_true(exchange(req, strlen(req), out, sizeof out) > 0);
	assert_int_equal(sscanf(out, "HTTP/1.1 %d ", &status), 1);
	assert_non_null(strstr(out, "\r\nConnection: close\r\n"));
	return status;
}

/* The value of the sample line starting with `series ` in a page. */
static double sample(const char *page, const char *series)
{
	char want[256];
	snprintf(want, sizeof want, "\n%s ", series);
	const char *p = strstr(page, want);
	if (!p)
		fail_msg("no sample %s", series);
	return strtod(p + strlen(want), NULL);
}

static const char *body_of(const char *answer)
{
	const char *b = strstr(answer, "\r\n\r\n");
	assert_non_null(b);
	return b + 4;
}

static unsigned long long meminfo_total_bytes(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	unsigned long long kb = 0;
	assert_non_null(f);
	assert_int_equal(fscanf(f, "MemTotal: %llu kB", &kb), 1);
	fclose(f);
	return kb * 1024;
}

static char page[1 << 20];

static void get_page(const char *version)
{
	char req[128];
	snprintf(req, sizeof req, "GET /metrics %s\r\nHost: 127.0.0.1\r\n\r\n", version);
	ssize_t n = exchange(req, strlen(req), page, sizeof page);
	assert_true(n > 0);
}

static void test_get_metrics(void **state)
{
	(void)state;
	get_page("HTTP/1.1");
	assert_true(strncmp(page, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_non_null(strstr(page, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
	const char *body = body_of(page);
	const char *cl = strstr(page, "\r\nContent-Length: ");
	assert_non_null(cl);
	assert_int_equal(strtoul(cl + 18, NULL, 10), strlen(body));

	assert_non_null(strstr(body, "# HELP rmon_system_load1 "));
	assert_non_null(strstr(body, "\n# TYPE rmon_system_load1 gauge\n"));
	assert_true(sample(body, "rmon_up") == 1);
	assert_non_null(strstr(body, "\nrmon_build_info{version=\"" RMON_VERSION "\","));
	assert_true(sample(body, "rmon_system_mem_total_bytes") == (double)meminfo_total_bytes());
	double busy = sample(body, "rmon_cpu_busy_pct{cpu=\"all\"}");
	assert_true(busy >= 0 && busy <= 100);
	assert_true(sample(body, "rmon_uptime_seconds") > 0);
	assert_true(sample(body, "rmon_ring_records{kind=\"system\"}") > 0);
	/* processes, threads and marks are not exported */
	assert_null(strstr(body, "rmon_proc_"));
	assert_null(strstr(body, "rmon_thread_"));
	assert_null(strstr(body, "rmon_mark_"));

	get_page("HTTP/1.0");
	assert_true(strncmp(page, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_true(sample(body_of(page), "rmon_up") == 1);

	/* HEAD: the same head, no body */
	const char *head = "HEAD /metrics HTTP/1.1\r\n\r\n";
	assert_true(exchange(head, strlen(head), page, sizeof page) > 0);
	assert_true(strncmp(page, "HTTP/1.1 200 OK\r\n", 17) == 0);
	cl = strstr(page, "\r\nContent-Length: ");
	assert_non_null(cl);
	assert_true(strtoul(cl + 18, NULL, 10) > 1000);
	assert_string_equal(body_of(page), "");
}

/* The series (name and labels) of a page, in order, one per line. */
static void series_of(const char *text, char *out, size_t outlen)
{
	size_t n = 0;
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		const char *sp = p[0] == '#' ? p + len : memchr(p, ' ', len);
		/* comments whole; samples up to the value, which may move */
		size_t keep = sp ? (size_t)(sp - p) : len;
		assert_true(n + keep + 2 < outlen);
		memcpy(out + n, p, keep);
		n += keep;
		out[n++] = '\n';
		p += len + (eol != NULL);
	}
	out[n] = '\0';
}

static void test_same_as_rmonctl(void **state)
{
	static char out[1 << 20], err[4096], a[1 << 20], b[1 << 20];
	(void)state;
	assert_int_equal(harness_ctl(the_daemon.sock, out, sizeof out, err, sizeof err, "metrics",
	                             NULL), 0);
	get_page("HTTP/1.1");
	series_of(out, a, sizeof a);
	series_of(body_of(page), b, sizeof b);
	assert_string_equal(a, b);
	assert_true(sample(out, "rmon_system_mem_total_bytes") ==
	            sample(body_of(page), "rmon_system_mem_total_bytes"));

	/* the schema list is still there, behind --list */
	assert_int_equal(harness_ctl(the_daemon.sock, out, sizeof out, err, sizeof err, "metrics",
	                             "--list", NULL), 0);
	assert_non_null(strstr(out, "system.load1"));
	assert_null(strstr(out, "# TYPE"));
}

static void test_error_answers(void **state)
{
	char out[4096];
	(void)state;
	assert_int_equal(status_of("GET / HTTP/1.1\r\n\r\n"), 404);
	assert_int_equal(status_of("GET /metricsx HTTP/1.1\r\n\r\n"), 404);
	assert_int_equal(status_of("POST /metrics HTTP/1.1\r\n\r\n"), 405);
	const char *del = "DELETE /metrics HTTP/1.1\r\n\r\n";
	assert_true(exchange(del, strlen(del), out, sizeof out) > 0);
	assert_non_null(strstr(out, "\r\nAllow: GET, HEAD\r\n"));
	assert_int_equal(status_of("GET /metrics\r\n\r\n"), 400);
	assert_int_equal(status_of("\x16\x03\x01\x00\xa5\x01\x00\x00"), 400);
	assert_int_equal(status_of("GET /metrics HTTP/2.0\r\n\r\n"), 505);
	assert_int_equal(status_of("GET /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"), 413);

	/* a head over 8 KiB: 431, and the answer arrives whole even though
	 * more was sent than rmond read */
	static char big[20000];
	int n = snprintf(big, sizeof big, "GET /metrics HTTP/1.1\r\nX-Big: ");
	memset(big + n, 'a', sizeof big - (size_t)n - 4);
	memcpy(big + sizeof big - 4, "\r\n\r\n", 4);
	int fd = connect_port(the_port);
	assert_int_equal(write(fd, big, sizeof big), (ssize_t)sizeof big);
	assert_true(read_all(fd, out, sizeof out, 5000) > 0);
	close(fd);
	assert_true(strncmp(out, "HTTP/1.1 431 ", 13) == 0);
}

static void test_connection_limit_and_deadline(void **state)
{
	int idle[MAX_CONNS];
	char out[4096];
	(void)state;
	/* MAX_CONNS idle connections, each one kept by rmond (not answered
	 * at once); a connection of an earlier test that rmond has not closed
	 * yet may still count for a moment, so a refused one is tried again */
	for (int i = 0; i < MAX_CONNS; i++) {
		for (int tries = 0;; tries++) {
			idle[i] = connect_port(the_port);
			struct pollfd p = { idle[i], POLLIN, 0 };
			if (poll(&p, 1, 150) == 0)
				break;
			close(idle[i]);
			assert_true(tries < 20);
			usleep(50000);
		}
	}
	/* one more: answered 503 (or closed) at once */
	int extra = connect_port(the_port);
	const char *get = "GET /metrics HTTP/1.1\r\n\r\n";
	ssize_t w = write(extra, get, strlen(get));
	(void)w;
	ssize_t n = read_all(extra, out, sizeof out, 500);
	close(extra);
	assert_true(n >= 0);
	if (n > 0 && strncmp(out, "HTTP/1.1 503 ", 13) != 0)
		fail_msg("the connection over the limit got: %.200s", out);

	/* the idle ones meet the 1 s deadline: 408, then closed */
	uint64_t t0 = clock_mono_ns();
	assert_true(read_all(idle[0], out, sizeof out, 3000) >= 0);
	double waited = (double)(clock_mono_ns() - t0) / 1e9;
	assert_true(waited < 2.5);
	assert_true(strncmp(out, "HTTP/1.1 408 ", 13) == 0);
	for (int i = 0; i < MAX_CONNS; i++)
		close(idle[i]);
	usleep(100000);
	/* and the listener serves again */
	get_page("HTTP/1.1");
	assert_true(strncmp(page, "HTTP/1.1 200 OK\r\n", 17) == 0);
}

/* A command's exit status and everything it printed. */
static int run_shell(const char *cmd, char *out, size_t outlen)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void require(const char *tool)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
	if (system(cmd) != 0)
		fail_msg("%s not found: install the Debian packages prometheus and curl (make deps)",
		         tool);
}

static void test_promtool_accepts_the_page(void **state)
{
	char path[600], cmd[700], out[8192];
	(void)state;
	require("promtool");
	get_page("HTTP/1.1");
	snprintf(path, sizeof path, "%s/page.txt", the_daemon.dir);
	write_file(path, body_of(page));
	snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
	int rc = run_shell(cmd, out, sizeof out);
	if (rc != 0 || out[0])
		fail_msg("promtool check metrics: exit %d: %s", rc, out);
}

/* ---- a real Prometheus server ---- */

struct prom_server {
	pid_t pid;
	char dir[300];
	unsigned port;
};

static void prom_stop(struct prom_server *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		int st;
		for (int i = 0; i < 100 && waitpid(p->pid, &st, WNOHANG) == 0; i++)
			usleep(50000);
		if (waitpid(p->pid, &st, WNOHANG) == 0) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &st, 0);
		}
		p->pid = 0;
	}
	if (p->dir[0]) {
		char cmd[400];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", p->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", p->dir);
		p->dir[0] = '\0';
	}
}

static struct prom_server the_prom;

static int prom_teardown(void **state)
{
	(void)state;
	prom_stop(&the_prom);
	return 0;
}

static void prom_start(struct prom_server *p)
{
	char cfg[400], text[512], arg_cfg[420], arg_data[420], arg_listen[64], log[400];
	snprintf(p->dir, sizeof p->dir, "/tmp/rmon-prom-XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	p->port = free_port();
	snprintf(cfg, sizeof cfg, "%s/prom.yml", p->dir);
	snprintf(text, sizeof text,
	         "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
	         "scrape_configs:\n  - job_name: rmon\n    static_configs:\n"
	         "      - targets: ['127.0.0.1:%u']\n", the_port);
	write_file(cfg, text);
	snprintf(arg_cfg, sizeof arg_cfg, "--config.file=%s", cfg);
	snprintf(arg_data, sizeof arg_data, "--storage.tsdb.path=%s/data", p->dir);
	snprintf(arg_listen, sizeof arg_listen, "--web.listen-address=127.0.0.1:%u", p->port);
	snprintf(log, sizeof log, "%s/prometheus.log", p->dir);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("prometheus", "prometheus", arg_cfg, arg_data, arg_listen, (char *)NULL);
		_exit(127);
	}
}

/* The value of the first result of an instant query, or NAN while there
 * is none. */
static double prom_query(const struct prom_server *p, const char *query)
{
	char cmd[512], out[8192];
	snprintf(cmd, sizeof cmd,
	         "curl -s --max-time 2 -G 'http://127.0.0.1:%u/api/v1/query' --data-urlencode '%s'",
	         p->port, query);
	if (run_shell(cmd, out, sizeof out) != 0 || !strstr(out, "\"status\":\"success\""))
		return NAN;
	const char *v = strstr(out, "\"value\":[");
	if (!v)
		return NAN;
	v = strchr(v, ',');
	if (!v || v[1] != '"')
		return NAN;
	return strtod(v + 2, NULL);
}

static void test_prometheus_scrapes_rmond(void **state)
{
	char out[256], err[4096];
	(void)state;
	require("prometheus");
	require("curl");
	prom_start(&the_prom);
	double mem = NAN;
	uint64_t end = clock_mono_ns() + 25000000000ull;
	while (isnan(mem) && clock_mono_ns() < end) {
		int st;
		if (waitpid(the_prom.pid, &st, WNOHANG) == the_prom.pid) {
			the_prom.pid = 0;
			fail_msg("prometheus exited early; see its log in %s", the_prom.dir);
		}
		usleep(300000);
		mem = prom_query(&the_prom, "query=rmon_system_mem_total_bytes{job=\"rmon\"}");
	}
	if (isnan(mem))
		fail_msg("Prometheus found no rmon_system_mem_total_bytes within 25 s");
	assert_int_equal(harness_ctl(the_daemon.sock, out, sizeof out, err, sizeof err, "get",
	                             "system.mem_total_bytes", NULL), 0);
	assert_true(mem > 0);
	assert_true(mem == strtod(out, NULL));
	double busy = prom_query(&the_prom, "query=rmon_cpu_busy_pct{cpu=\"all\"}");
	assert_false(isnan(busy));
	assert_true(busy >= 0 && busy <= 100);
	assert_true(prom_query(&the_prom, "query=up{job=\"rmon\"}") == 1);
	assert_true(prom_query(&the_prom, "query=rmon_up") == 1);
	prom_stop(&the_prom);
}

/* ---- configuration ---- */

static void test_config_checks(void **state)
{
	char yaml[600], out[65536], err[4096];
	(void)state;
	snprintf(yaml, sizeof yaml, "%s/bad.yaml", the_daemon.dir);
	/* a bare port without the colon, a port out of range, IPv6 without
	 * brackets, limits out of range: refused, naming the key */
	static const char *const bad[] = {
		"prometheus:\n  listen: \"9464\"\n",
		"prometheus:\n  listen: \":70000\"\n",
		"prometheus:\n  listen: \"::1:9464\"\n",
		"prometheus:\n  max_connections: 0\n",
		"prometheus:\n  timeout: 10ms\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_file(yaml, bad[i]);
		const char *argv[] = { "rmond", "-n", "-c", yaml, NULL };
		assert_int_not_equal(harness_run(argv, out, sizeof out, err, sizeof err), 0);
		assert_non_null(strstr(err, "prometheus."));
	}
	/* off by default */
	const char *argv[] = { "rmond", "-n", NULL };
	assert_int_equal(harness_run(argv, out, sizeof out, err, sizeof err), 0);
	assert_non_null(strstr(out, "prometheus:\n  listen: \"\"\n"));
}

/* A port already taken: rmond does not start, and says why. */
static void test_address_in_use(void **state)
{
	struct daemon_proc d;
	char yaml[600], text[128], log[65536] = "";
	(void)state;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	harness_init(&d);
	snprintf(yaml, sizeof yaml, "%s/rmond.yaml", d.dir);
	snprintf(text, sizeof text, "prometheus:\n  listen: \":%u\"\n", ntohs(a.sin_port));
	write_file(yaml, text);
	const char *extra[] = { "-c", yaml, NULL };
	assert_int_equal(harness_start(&d, extra), -1);
	FILE *f = fopen(d.log, "r");
	if (f) {
		size_t n = fread(log, 1, sizeof log - 1, f);
		log[n] = '\0';
		fclose(f);
	}
	close(fd);
	harness_cleanup(&d);
	assert_non_null(strstr(log, "prometheus.listen"));
	assert_non_null(strstr(log, "address already in use"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_metrics),
		cmocka_unit_test(test_same_as_rmonctl),
		cmocka_unit_test(test_error_answers),
		cmocka_unit_test(test_connection_limit_and_deadline),
		cmocka_unit_test(test_promtool_accepts_the_page),
		cmocka_unit_test_teardown(test_prometheus_scrapes_rmond, prom_teardown),
		cmocka_unit_test(test_config_checks),
		cmocka_unit_test(test_address_in_use),
	};
	return cmocka_run_group_tests_name("prometheus", tests, start_daemon, stop_daemon);
}
