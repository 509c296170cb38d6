/*
 * GPU figures with our fake NVML (tests/fakenvml/fake-nvml.c, built here):
 *
 *  (a) the cost of a GPU tick: thread CPU time of nvml_sample() over every
 *      device, per device, with 1, 2 and 8 devices, PCIe throughput read
 *      on every 10th tick as the GPU thread does; median and p99 over many
 *      ticks.  Next to it the fake's own cost per NVML call, so that what
 *      is rmon's and what is the fake's can be told apart.
 *  (b) the host sampler's tick lateness, with the GPU thread running and
 *      with it stalled (every NVML call sleeping 2 s): a real rmond with
 *      the fake, BENCH_GPU_SECONDS (default 20) in each state.  Lateness
 *      is read from the ring itself: each system record's timestamp is
 *      CLOCK_REALTIME taken as the tick starts, and the sampler's
 *      deadlines are the multiples of its interval on CLOCK_MONOTONIC, so
 *      (ts - (realtime - monotonic)) mod interval is how late that tick
 *      started.  A deadline without a record is a missed tick.
 */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nvml.h"

#define TICKS 3000
#define IV_NS 100000000ull   /* the host sampler's default interval */

static char dir[] = "/tmp/rmon-bench-gpu-XXXXXX";
static char lib[128], cfg[128];

static const char *build_dir(void)
{
	const char *b = getenv("BUILD");
	return b && *b ? b : "build";
}

static uint64_t clock_of(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The p-quantile of v (sorted here). */
static uint64_t quantile(uint64_t *v, size_t n, double p)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof *v, cmp_u64);
	return v[(size_t)(p * (double)(n - 1) + 0.5)];
}

/* The fake re-reads its config when the file changes: replace it whole. */
static void write_config(int ngpus, const char *extra)
{
	char tmp[160];
	snprintf(tmp, sizeof tmp, "%s.tmp", cfg);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		perror(tmp);
		exit(1);
	}
	fprintf(f, "gpus %d\n", ngpus);
	for (int i = 0; i < ngpus; i++)
		fprintf(f, "gpu %d name \"Fake GPU %d\" uuid GPU-%04d util 50 memutil 20 "
			"memused 1073741824 memtotal 85899345920 temp 60 power 300000 "
			"powerlimit 700000 sm 1980 mem 2619 gen 4 width 16 maxgen 4 maxwidth 16 "
			"tx 1000 rx 2000 replay 0 throttle 0\n", i, i, i);
	fputs(extra, f);
	fclose(f);
	if (rename(tmp, cfg) != 0) {
		perror(cfg);
		exit(1);
	}
}

/* The fake alone: thread CPU per call of a cheap getter. */
static double fake_call_us(void)
{
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	int (*init)(void) = h ? (int (*)(void))dlsym(h, "nvmlInit_v2") : NULL;
	int (*shutdown)(void) = h ? (int (*)(void))dlsym(h, "nvmlShutdown") : NULL;
	int (*handle)(unsigned, void **) =
		h ? (int (*)(unsigned, void **))dlsym(h, "nvmlDeviceGetHandleByIndex_v2") : NULL;
	int (*temp)(void *, int, unsigned *) =
		h ? (int (*)(void *, int, unsigned *))dlsym(h, "nvmlDeviceGetTemperature") : NULL;
	void *dev;
	unsigned c;
	if (!init || !shutdown || !handle || !temp || init() != 0 || handle(0, &dev) != 0)
		return -1;
	uint64_t t0 = clock_of(CLOCK_THREAD_CPUTIME_ID);
	for (int i = 0; i < 100000; i++)
		temp(dev, 0, &c);
	double us = (double)(clock_of(CLOCK_THREAD_CPUTIME_ID) - t0) / 1e3 / 100000;
	shutdown();
	dlclose(h);
	return us;
}

static void bench_tick_cost(void)
{
	static uint64_t per[TICKS];
	static const int counts[] = { 1, 2, 8 };
	char err[512];
	printf("GPU tick CPU cost (fake NVML; nvml_sample of every device, PCIe throughput every "
	       "10th tick, as the GPU thread does):\n");
	for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
		int n = counts[k];
		struct nvml *nv;
		struct nvml_dev_sample s;
		write_config(n, "");
		if (nvml_open(lib, &nv, err, sizeof err) < 0 || (int)nvml_count(nv) != n) {
			fprintf(stderr, "bench-gpu: %s\n", err);
			exit(1);
		}
		for (int t = -100; t < TICKS; t++) {   /* 100 warm-up ticks (handles, static info) */
			unsigned flags = t % 10 == 0 ? NVML_SAMPLE_PCIE_THROUGHPUT : 0;
			uint64_t c0 = clock_of(CLOCK_THREAD_CPUTIME_ID);
			for (int i = 0; i < n; i++)
				nvml_sample(nv, (unsigned)i, flags, &s);
			if (t >= 0)
				per[t] = (clock_of(CLOCK_THREAD_CPUTIME_ID) - c0) / (uint64_t)n;
		}
		nvml_close(nv);
		uint64_t med = quantile(per, TICKS, 0.5), p99 = quantile(per, TICKS, 0.99);
		printf("  %d device%s: median %6.2f us per device per tick (p99 %6.2f), n=%d ticks\n", n,
		       n == 1 ? " " : "s", (double)med / 1e3, (double)p99 / 1e3, TICKS);
	}
	printf("  the fake alone: %.2f us per NVML call (it stat()s its config file on every call); "
	       "nvml_sample makes 13 calls per device (15 with PCIe throughput)\n", fake_call_us());
}

/* ---- (b) host tick lateness ---- */

static pid_t rmond;
static char sock[160];

static void start_rmond(void)
{
	char exe[512], yaml[160], state[160];
	snprintf(exe, sizeof exe, "%s/rmond", build_dir());
	snprintf(sock, sizeof sock, "%s/s", dir);
	snprintf(state, sizeof state, "%s/state", dir);
	snprintf(yaml, sizeof yaml, "%s/rmond.yaml", dir);
	FILE *f = fopen(yaml, "w");
	if (!f)
		exit(1);
	/* frame_max: status lists every tracked process; on a busy machine
	 * that outgrows the default 1 MiB */
	fprintf(f, "gpu:\n  nvidia:\n    library: '%s'\nprotocol:\n  frame_max: 4MiB\n", lib);
	fclose(f);
	rmond = fork();
	if (rmond == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);   /* a killed bench leaves no rmond */
		execl(exe, exe, "--foreground", "--memory", "--config", yaml, "--socket", sock,
		      "--state-dir", state, "--log-level", "warn", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && access(sock, F_OK) != 0; i++)
		usleep(10000);
	if (access(sock, F_OK) != 0 || waitpid(rmond, NULL, WNOHANG) != 0) {
		fprintf(stderr, "bench-gpu: rmond did not start\n");
		exit(1);
	}
	usleep(500000);
}

/* `rmonctl ARGS` (a format string), its output in buf. */
static size_t ctl(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static size_t ctl(char *buf, size_t len, const char *fmt, ...)
{
	char cmd[1024];
	int off = snprintf(cmd, sizeof cmd, "exec 2>/dev/null; %s/rmonctl --socket %s ", build_dir(), sock);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd + off, sizeof cmd - (size_t)off, fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	size_t n = p ? fread(buf, 1, len - 1, p) : 0;
	buf[n] = '\0';
	if (p)
		pclose(p);
	return n;
}

static unsigned long long json_u64(const char *json, const char *key)
{
	const char *p = strstr(json, key);
	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

/* One state of the GPU thread, measured over several windows. */
struct state {
	const char *name;
	const char *fake_extra;        /* the fake's config besides the GPUs */
	uint64_t late[1 << 16];        /* ns, per tick */
	size_t ticks, missed, gpu_recs;
	int64_t min;                   /* the earliest tick: how good the offset is */
	unsigned long long late_ctr, missed_ctr;   /* the sampler's own counters */
};

/* The timestamps (ns) of a query's CSV rows over [rt0, rt1]. */
static size_t query_ts(uint64_t rt0, uint64_t rt1, const char *sel, uint64_t *ts, size_t max)
{
	static char buf[1 << 21];
	size_t n = 0;
	ctl(buf, sizeof buf, "query %s --since @%.3f --until @%.3f --format csv", sel,
	    (double)rt0 / 1e9, (double)rt1 / 1e9);
	for (char *p = strchr(buf, '\n'); p && p[1] && n < max; p = strchr(p + 1, '\n'))
		ts[n++] = strtoull(p + 1, NULL, 10);
	return n;
}

static void counters(unsigned long long *late, unsigned long long *missed)
{
	static char buf[1 << 18];
	ctl(buf, sizeof buf, "status --json");
	*late = json_u64(buf, "\"late_ticks\":");      /* the sampler's come first */
	*missed = json_u64(buf, "\"missed_ticks\":");
}

/* secs in this state; then each system record's lateness against the
 * monotonic grid, and the deadlines without a record. */
static void window(struct state *st, int secs)
{
	static uint64_t ts[1 << 16];
	unsigned long long l0, m0, l1, m1;
	write_config(2, st->fake_extra);
	counters(&l0, &m0);
	uint64_t rt0 = clock_of(CLOCK_REALTIME);
	sleep((unsigned)secs);
	uint64_t rt1 = clock_of(CLOCK_REALTIME);
	counters(&l1, &m1);
	st->late_ctr += l1 - l0;
	st->missed_ctr += m1 - m0;
	/* realtime - monotonic, the monotonic read between two realtime reads */
	uint64_t a = clock_of(CLOCK_REALTIME), m = clock_of(CLOCK_MONOTONIC);
	uint64_t off = a / 2 + clock_of(CLOCK_REALTIME) / 2 - m;
	size_t n = query_ts(rt0, rt1, "system.uptime_s", ts, sizeof ts / sizeof ts[0]);
	for (size_t i = 0; i < n && st->ticks < sizeof st->late / sizeof st->late[0]; i++) {
		/* a tick never starts before its deadline; within 1 ms below the
		 * next one is the offset's error, not a tick 99 ms late */
		int64_t l = (int64_t)((ts[i] - off) % IV_NS);
		if (l > (int64_t)(IV_NS - 1000000u))
			l -= (int64_t)IV_NS;
		if (l < st->min)
			st->min = l;
		st->late[st->ticks++] = l < 0 ? 0 : (uint64_t)l;
		if (i && ts[i] - ts[i - 1] > IV_NS * 3 / 2)
			st->missed += (ts[i] - ts[i - 1] + IV_NS / 2) / IV_NS - 1;
	}
	st->gpu_recs += query_ts(rt0, rt1, "gpu:0.util_pct", ts, sizeof ts / sizeof ts[0]);
}

static void bench_lateness(void)
{
	static struct state st[2] = {
		{ .name = "GPU thread running", .fake_extra = "", .min = INT64_MAX },
		{ .name = "GPU thread stalled", .fake_extra = "sleep_ms 2000\n", .min = INT64_MAX },
	};
	int secs = getenv("BENCH_GPU_SECONDS") ? atoi(getenv("BENCH_GPU_SECONDS")) : 20;
	int rounds = secs >= 20 ? 4 : 1, per = secs / rounds > 0 ? secs / rounds : 1;
	char load1[64];
	write_config(2, "");
	start_rmond();
	for (int r = 0; r < rounds; r++)   /* interleaved, so that other load hits both alike */
		for (int i = 0; i < 2; i++)
			window(&st[i], per);
	write_config(2, "");   /* so that the stalled tick can finish */
	ctl(load1, sizeof load1, "get system.load1");
	kill(rmond, SIGTERM);
	waitpid(rmond, NULL, 0);
	load1[strcspn(load1, "\n")] = '\0';
	printf("host sampler tick lateness (tick start vs its 100 ms deadline, from the system "
	       "records' timestamps), %d x %d s in each state, interleaved, 2 fake GPUs "
	       "(load1 at the end: %s):\n", rounds, per, load1);
	printf("  %-20s %6s %6s %8s %8s %8s %8s %8s %6s %6s %8s\n", "", "ticks", "missed", "p50 us",
	       "p90 us", "p99 us", "max us", "min us", "late+", "miss+", "gpu recs");
	uint64_t p99[2];
	for (int i = 0; i < 2; i++) {
		uint64_t p50 = quantile(st[i].late, st[i].ticks, 0.5);
		uint64_t p90 = quantile(st[i].late, st[i].ticks, 0.9);
		p99[i] = quantile(st[i].late, st[i].ticks, 0.99);
		uint64_t max = quantile(st[i].late, st[i].ticks, 1.0);
		printf("  %-20s %6zu %6zu %8.1f %8.1f %8.1f %8.1f %8.1f %6llu %6llu %8zu\n", st[i].name,
		       st[i].ticks, st[i].missed, (double)p50 / 1e3, (double)p90 / 1e3,
		       (double)p99[i] / 1e3,
		       (double)max / 1e3, (double)st[i].min / 1e3, st[i].late_ctr, st[i].missed_ctr,
		       st[i].gpu_recs);
	}
	printf("  p99 stalled / running: %.2f   (late+, miss+: the sampler's own late_ticks and "
	       "missed_ticks counters; gpu recs: gpu:0 records written)\n",
	       p99[0] ? (double)p99[1] / (double)p99[0] : 0.0);
}

int main(void)
{
	char cmd[600];
	const char *src = getenv("RMON_SRCDIR") ? getenv("RMON_SRCDIR") : ".";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(dir))
		return 1;
	snprintf(lib, sizeof lib, "%s/libnvidia-ml-fake.so", dir);
	snprintf(cfg, sizeof cfg, "%s/fake-nvml.cfg", dir);
	snprintf(cmd, sizeof cmd, "cc -O2 -shared -fPIC -o '%s' '%s/tests/fakenvml/fake-nvml.c'", lib, src);
	if (system(cmd) != 0) {
		fprintf(stderr, "bench-gpu: cannot build the fake NVML\n");
		return 1;
	}
	setenv("FAKE_NVML_CONFIG", cfg, 1);
	bench_tick_cost();
	bench_lateness();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}
