/*
 * Faults: rmond killed with SIGKILL while it writes at full rate, then
 * restarted on the same state directory.  History up to the kill must be
 * there, and no torn record may be served: every mark acknowledged before
 * the kill comes back with its exact text, no mark comes back garbled, and
 * each lane's timestamps only go forward.
 *
 * The daemon samples every 10 ms (the minimum) and scans processes fast,
 * and a client writes marks in a tight loop; the kill falls at a random
 * moment (the seed is printed; RMON_FAULTS_SEED repeats a run).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "harness.h"
#include "msg.h"

#define ROUNDS 5
#define MARKS_MAX 1000000   /* per round: a bound, never reached in the time */
#define MARK_LANE 8192       /* the daemon's mark lane (main.c MARK_CAPACITY) */
#define OUT_MAX (8u << 20)

static struct daemon_proc D;
static char cfg_path[400];

static uint64_t now_rt_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The mark text of round r, number i: long (63 is the most), so a torn
 * copy would show. */
static void mark_text(char *buf, size_t len, unsigned r, unsigned i)
{
	snprintf(buf, len, "r%u-%06u-abcdefghijklmnopqrstuvwxyz-0123456789-ABCDEFGHIJKLM", r, i);
}

static int send_mark(int fd, uint64_t id, const char *text)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	size_t start = frame_begin(&sb);
	msg_pack_request(&pk, id, "mark");
	msgpack_pack_map(&pk, 1);
	msg_pack_kv_str(&pk, "text", text);
	frame_end(&sb, start, 1u << 20);
	int rc = harness_send(fd, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

/* The marker: marks as fast as the daemon answers; *acked counts the
 * ones it confirmed (so they were in the ring before the reply left). */
static pid_t start_marker(unsigned round, _Atomic unsigned *acked)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	int fd = harness_hello(D.sock);
	if (fd < 0)
		_exit(1);
	for (unsigned i = 0; i < MARKS_MAX; i++) {
		char text[64];
		msgpack_zone z;
		struct msg_reply rep;
		mark_text(text, sizeof text, round, i);
		if (send_mark(fd, i + 10, text) < 0)
			_exit(0);
		msgpack_zone_init(&z, 1024);
		int rc = harness_recv(fd, &z, &rep, 5000);
		msgpack_zone_destroy(&z);
		if (rc < 0 || !rep.ok)
			_exit(0);
		atomic_store(acked, i + 1);
	}
	pause();   /* until killed: the daemon sees an idle client */
	_exit(0);
}

/* ---- the query's JSON: {"series":[{"name":N,"unit":U,"t":[..],"v":[..],"labels":[..]}]} ---- */

static const char *series(const char *json, const char *name)
{
	char key[128];
	snprintf(key, sizeof key, "{\"name\":\"%s\"", name);
	return strstr(json, key);
}

/* The numbers of array key in the series at s (null as NAN); count. */
static size_t numbers(const char *s, const char *key, double *out, size_t max)
{
	char k[32];
	snprintf(k, sizeof k, "\"%s\":[", key);
	const char *p = strstr(s, k);
	size_t n = 0;
	assert_non_null(p);
	p += strlen(k);
	while (*p && *p != ']' && n < max) {
		char *end;
		if (strncmp(p, "null", 4) == 0) {
			out[n++] = NAN;
			p += 4;
		} else {
			out[n++] = strtod(p, &end);
			assert_true(end != p);
			p = end;
		}
		if (*p == ',')
			p++;
	}
	return n;
}

/* Timestamps exactly (a double loses nanoseconds). */
static size_t stamps(const char *s, uint64_t *out, size_t max)
{
	const char *p = strstr(s, "\"t\":[");
	size_t n = 0;
	assert_non_null(p);
	p += 5;
	while (*p && *p != ']' && n < max) {
		char *end;
		out[n++] = strtoull(p, &end, 10);
		assert_true(end != p);
		p = *end == ',' ? end + 1 : end;
	}
	return n;
}

/* The labels (strings without escapes: ours have none) into one buffer. */
static size_t labels(const char *s, char (*out)[64], size_t max)
{
	const char *p = strstr(s, "\"labels\":[");
	size_t n = 0;
	assert_non_null(p);
	p += 10;
	while (*p == '"' && n < max) {
		const char *q = strchr(p + 1, '"');
		assert_non_null(q);
		assert_true(q - p - 1 < 64);
		memcpy(out[n], p + 1, (size_t)(q - p - 1));
		out[n][q - p - 1] = '\0';
		n++;
		p = q + 1;
		if (*p == ',')
			p++;
	}
	return n;
}

/* rmonctl query --json; sel2 may be NULL. */
static char *query(const char *since, const char *sel1, const char *sel2)
{
	static char out[OUT_MAX];
	char err[4096];
	int rc = harness_ctl(D.sock, out, OUT_MAX, err, sizeof err, "query", "--json", "--since",
	                     since, sel1, sel2, NULL);
	if (rc != 0)
		fprintf(stderr, "query: %s\n", err);
	assert_int_equal(rc, 0);
	return out;
}

/* The marks of this round: each at most once, its text exact, all from
 * the marker, in time order; the newest is the last acknowledged one or
 * the one in flight; and every one the lane still holds (the newest
 * MARK_LANE - 1: the slot being overwritten at the kill may be dropped)
 * is there. */
static void check_marks(const char *json, unsigned round, uint64_t since_ns, unsigned acked,
                        pid_t marker)
{
	static uint64_t t[16384];
	static double from[16384];
	static char text[16384][64];
	static unsigned char seen[MARKS_MAX];
	const char *st = series(json, "mark.text"), *sf = series(json, "mark.from_pid");
	assert_non_null(st);
	assert_non_null(sf);
	size_t n = stamps(st, t, 16384);
	assert_int_equal(labels(st, text, 16384), n);
	assert_int_equal(numbers(sf, "v", from, 16384), n);
	memset(seen, 0, sizeof seen);
	unsigned got = 0, top = 0;
	char prefix[16];
	snprintf(prefix, sizeof prefix, "r%u-", round);
	for (size_t i = 0; i < n; i++) {
		if (t[i] < since_ns || strncmp(text[i], prefix, strlen(prefix)) != 0)
			continue;   /* an earlier round's */
		unsigned seq = (unsigned)strtoul(text[i] + strlen(prefix), NULL, 10);
		char want[64];
		assert_true(seq < MARKS_MAX);
		mark_text(want, sizeof want, round, seq);
		if (strcmp(text[i], want) != 0)
			fail_msg("mark %zu is torn: \"%s\", expected \"%s\"", i, text[i], want);
		if (seen[seq])
			fail_msg("mark %u served twice", seq);
		assert_true(from[i] == (double)marker);
		if (i > 0)
			assert_true(t[i] >= t[i - 1]);
		seen[seq] = 1;
		got++;
		if (seq + 1 > top)
			top = seq + 1;
	}
	if (top < acked || top > acked + 1)
		fail_msg("round %u: %u marks acknowledged before the kill, the newest back is %u",
		         round, acked, top);
	unsigned first = top > MARK_LANE - 1 ? top - (MARK_LANE - 1) : 0;
	for (unsigned q = first; q < top; q++)
		if (!seen[q])
			fail_msg("round %u: mark %u (of %u) is missing", round, q, top);
	printf("    marks: %u acknowledged, %u back\n", acked, got);
}

/* A host series: timestamps strictly increasing, values in [lo, hi],
 * records up to the kill, and new ones after the restart. */
static void check_host(const char *json, const char *name, double lo, double hi,
                       uint64_t since_ns, uint64_t kill_ns, uint64_t restart_ns)
{
	static uint64_t t[65536];
	static double v[65536];
	const char *s = series(json, name);
	assert_non_null(s);
	size_t n = stamps(s, t, 65536);
	assert_int_equal(numbers(s, "v", v, 65536), n);
	uint64_t last_before = 0, after = 0;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && t[i] <= t[i - 1])
			fail_msg("%s: sample %zu at %" PRIu64 " after one at %" PRIu64, name, i, t[i],
			         t[i - 1]);
		if (!isnan(v[i]) && (v[i] < lo || v[i] > hi))
			fail_msg("%s: sample %zu is %g, outside [%g, %g]", name, i, v[i], lo, hi);
		if (t[i] >= since_ns && t[i] <= kill_ns)
			last_before = t[i];
		if (t[i] >= restart_ns)
			after++;
	}
	/* Sampling every 10 ms: the newest record before the kill is recent
	 * (generous: the machine is shared and may stall the sampler). */
	if (last_before == 0 || kill_ns - last_before > 1000000000u)
		fail_msg("%s: newest sample before the kill is %.3f s older than it", name,
		         last_before ? (double)(kill_ns - last_before) / 1e9 : -1.0);
	assert_true(after > 0);
	printf("    %s: %zu samples, the newest %.0f ms before the kill\n", name, n,
	       (double)(kill_ns - last_before) / 1e6);
}

static uint64_t status_torn(void)
{
	char *out = malloc(1 << 20), err[1024];
	assert_non_null(out);
	assert_int_equal(harness_ctl(D.sock, out, 1 << 20, err, sizeof err, "status", "--json",
	                             NULL), 0);
	const char *p = strstr(out, "\"torn\":");
	assert_non_null(p);
	uint64_t torn = strtoull(p + 7, NULL, 10);
	free(out);
	return torn;
}

static void test_kill9_while_writing(void **state)
{
	(void)state;
	const char *seed_env = getenv("RMON_FAULTS_SEED");
	unsigned seed = seed_env ? (unsigned)strtoul(seed_env, NULL, 10) : (unsigned)time(NULL);
	const char *args[] = { "--config", cfg_path, NULL };
	_Atomic unsigned *acked = mmap(NULL, sizeof *acked, PROT_READ | PROT_WRITE,
	                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(acked != MAP_FAILED);
	printf("    seed %u (RMON_FAULTS_SEED repeats it)\n", seed);
	srand(seed);
	assert_int_equal(harness_start(&D, args), 0);
	for (unsigned round = 0; round < ROUNDS; round++) {
		uint64_t since = now_rt_ns();
		char since_arg[32];
		snprintf(since_arg, sizeof since_arg, "@%" PRIu64, since / 1000000000u);
		atomic_store(acked, 0);
		pid_t marker = start_marker(round, acked);
		assert_true(marker > 0);
		usleep((useconds_t)(150000 + rand() % 600000));
		uint64_t kill_ns = now_rt_ns();
		assert_int_equal(kill(D.pid, SIGKILL), 0);
		waitpid(D.pid, NULL, 0);
		D.pid = 0;
		unsigned n_acked = atomic_load(acked);
		kill(marker, SIGKILL);
		waitpid(marker, NULL, 0);
		uint64_t restart = now_rt_ns();
		assert_int_equal(harness_start(&D, args), 0);
		usleep(100000);   /* some samples after the restart */
		uint64_t torn = status_torn();
		printf("    round %u: killed after %u marks; %" PRIu64 " torn slot(s) dropped on "
		       "restart\n", round, n_acked, torn);
		/* SIGKILL leaves at most the slot each lane's writer was on. */
		assert_true(torn <= 16);
		char *json = query(since_arg, "mark.*", NULL);
		check_marks(json, round, since, n_acked, marker);
		json = query(since_arg, "cpu:all.busy_pct", "system.mem_used_bytes");
		check_host(json, "cpu:all.busy_pct", 0, 100.0001, since, kill_ns, restart);
		check_host(json, "system.mem_used_bytes", 1, 1e15, since, kill_ns, restart);
	}
	assert_int_equal(harness_stop(&D), 0);
	munmap((void *)acked, sizeof *acked);
}

/* ---- the state directory cannot take the ring file ---- */

/* status --json's ring.persistence, into buf. */
static const char *persistence(const struct daemon_proc *d, char *buf, size_t len)
{
	static char out[1 << 20];
	char err[1024];
	assert_int_equal(harness_ctl(d->sock, out, sizeof out, err, sizeof err, "status", "--json",
	                             NULL), 0);
	const char *p = strstr(out, "\"persistence\":\"");
	assert_non_null(p);
	p += 15;
	size_t n = strcspn(p, "\"");
	snprintf(buf, len, "%.*s", (int)n, p);
	return buf;
}

/* The daemon samples and serves while its ring is in memory. */
static void expect_serving(const struct daemon_proc *d, const char *mark)
{
	static char out[1 << 20];
	char err[1024];
	assert_int_equal(harness_ctl(d->sock, out, sizeof out, err, sizeof err, "get", "--json",
	                             "system.uptime_s", NULL), 0);
	assert_non_null(strstr(out, "\"value\":"));
	assert_int_equal(harness_ctl(d->sock, out, sizeof out, err, sizeof err, "query", "--since",
	                             "1m", "--csv", "system.load1", NULL), 0);
	assert_true(strchr(strchr(out, '\n') ? strchr(out, '\n') : out, ',') != NULL);
	assert_int_equal(harness_ctl(d->sock, NULL, 0, err, sizeof err, "mark", mark, NULL), 0);
}

/* Both marks come back from the ring (file or memory). */
static void expect_marks(const struct daemon_proc *d, const char *a, const char *b)
{
	static char out[1 << 20];
	char err[1024];
	assert_int_equal(harness_ctl(d->sock, out, sizeof out, err, sizeof err, "query", "--json",
	                             "--since", "10m", "mark.*", NULL), 0);
	if (!strstr(out, a) || (b && !strstr(out, b)))
		fail_msg("marks %s, %s not both in %s", a, b ? b : "-", out);
}

/* The daemon of the persistence tests: the group's teardown stops it and
 * unmounts its state directory even when a test failed half-way. */
static struct daemon_proc P;

static void p_cleanup(void)
{
	if (!P.dir[0])
		return;
	if (P.pid > 0)
		harness_stop(&P);
	umount2(P.state, MNT_DETACH);
	harness_cleanup(&P);
	memset(&P, 0, sizeof P);
}

static void wait_persisting(const struct daemon_proc *d)
{
	char st[700] = "";
	/* retried every 5 s (persist.h) */
	for (int i = 0; i < 150 && strcmp(persistence(d, st, sizeof st), "file") != 0; i++)
		usleep(100000);
	assert_string_equal(st, "file");
}

static void write_small_config(const struct daemon_proc *d, char *path, size_t len)
{
	snprintf(path, len, "%s/small.yaml", d->dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "ring:\n  budget: 4MiB\n  retention: 10m\n");
	assert_int_equal(fclose(f), 0);
}

static void mount_tmpfs(const char *dir, const char *opts)
{
	assert_int_equal(mkdir(dir, 0755), 0);
	if (mount("tmpfs", dir, "tmpfs", 0, opts) != 0)
		fail_msg("root, but cannot mount a tmpfs on %s: %s", dir, strerror(errno));
}

/* Fill the file system under dir: its last byte is taken. */
static void fill(const char *dir, char *path, size_t len)
{
	static char block[1 << 16];
	snprintf(path, len, "%s/fill", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	while (write(fd, block, sizeof block) > 0)
		;
	while (write(fd, block, 1) > 0)
		;
	assert_int_equal(errno, ENOSPC);
	close(fd);
}

static void log_has(const struct daemon_proc *d, const char *what)
{
	static char text[1 << 20];
	FILE *f = fopen(d->log, "r");
	assert_non_null(f);
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	if (!strstr(text, what))
		fail_msg("the log has no \"%s\":\n%s", what, text);
}

/* Full (a tmpfs filled up before start): memory, then the file once
 * space is freed, and a restart keeps what was written after the switch. */
static void test_state_dir_full(void **state)
{
	(void)state;
	struct daemon_proc *dp = &P;
	char cfg[700], fillpath[700], st[700];
	p_cleanup();
	harness_init(dp);
#define d (*dp)
	if (geteuid() != 0) {
		print_message("    not root: no tmpfs to fill; the unwritable test covers memory mode\n");
		p_cleanup();
		return;
	}
	write_small_config(&d, cfg, sizeof cfg);
	mount_tmpfs(d.state, "size=8m");
	fill(d.state, fillpath, sizeof fillpath);
	const char *args[] = { "--config", cfg, NULL };
	assert_int_equal(harness_start(&d, args), 0);
	persistence(&d, st, sizeof st);
	print_message("    full: %s\n", st);
	assert_true(strncmp(st, "memory: ", 8) == 0);
	assert_non_null(strstr(st, strerror(ENOSPC)));
	log_has(&d, "keeping history in memory");
	expect_serving(&d, "before-the-switch");
	assert_int_equal(unlink(fillpath), 0);
	wait_persisting(&d);
	log_has(&d, "can take the file again");
	char ring[700];
	struct stat sb;
	snprintf(ring, sizeof ring, "%s/rmon.ring", d.state);
	assert_int_equal(stat(ring, &sb), 0);
	expect_serving(&d, "after-the-switch");
	expect_marks(&d, "before-the-switch", "after-the-switch");
	assert_int_equal(harness_stop(&d), 0);
	assert_int_equal(harness_start(&d, args), 0);
	assert_string_equal(persistence(&d, st, sizeof st), "file");
	expect_marks(&d, "before-the-switch", "after-the-switch");
	assert_int_equal(harness_stop(&d), 0);
	p_cleanup();
#undef d
}

/* Unwritable: a read-only tmpfs as root (root ignores permission bits),
 * a directory without write permission otherwise; then writable again. */
static void test_state_dir_unwritable(void **state)
{
	(void)state;
	struct daemon_proc *dp = &P;
	char cfg[700], st[700];
	int root = geteuid() == 0;
	p_cleanup();
	harness_init(dp);
#define d (*dp)
	write_small_config(&d, cfg, sizeof cfg);
	if (root) {
		mount_tmpfs(d.state, "size=8m");
		assert_int_equal(mount(NULL, d.state, NULL, MS_REMOUNT | MS_RDONLY, "size=8m"), 0);
	} else {
		assert_int_equal(mkdir(d.state, 0555), 0);
	}
	const char *args[] = { "--config", cfg, NULL };
	assert_int_equal(harness_start(&d, args), 0);
	persistence(&d, st, sizeof st);
	print_message("    unwritable: %s\n", st);
	assert_true(strncmp(st, "memory: ", 8) == 0);
	assert_non_null(strstr(st, strerror(root ? EROFS : EACCES)));
	expect_serving(&d, "while-read-only");
	if (root)
		assert_int_equal(mount(NULL, d.state, NULL, MS_REMOUNT, "size=8m"), 0);
	else
		assert_int_equal(chmod(d.state, 0755), 0);
	wait_persisting(&d);
	expect_marks(&d, "while-read-only", NULL);
	assert_int_equal(harness_stop(&d), 0);
	assert_int_equal(harness_start(&d, args), 0);
	expect_marks(&d, "while-read-only", NULL);
	assert_int_equal(harness_stop(&d), 0);
	p_cleanup();
#undef d
}

static int setup(void **state)
{
	(void)state;
	harness_init(&D);
	snprintf(cfg_path, sizeof cfg_path, "%s/rmond.yaml", D.dir);
	FILE *f = fopen(cfg_path, "w");
	if (!f)
		return -1;
	/* Everything at its fastest: the most writes in flight at the kill. */
	fprintf(f, "ring:\n  budget: 16MiB\n  retention: 5m\n"
	           "sampling:\n  system: 10ms\n"
	           "procs:\n  scan_interval: 100ms\n  tracked_interval: 50ms\n  top_n: 20\n"
	           "  quiet_thread_pct: 0\n");
	return fclose(f) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	p_cleanup();
	harness_cleanup(&D);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill9_while_writing),
		cmocka_unit_test(test_state_dir_full),
		cmocka_unit_test(test_state_dir_unwritable),
	};
	return cmocka_run_group_tests_name("faults", tests, setup, teardown);
}
