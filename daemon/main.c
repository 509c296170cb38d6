/*
 * rmond: the collector daemon.  Startup is a chain of steps that each
 * either work or stop the daemon with one clear line; shutdown undoes them
 * in reverse (stop sampling after the tick in progress, sync the ring,
 * remove the socket, exit 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "conn.h"
#include "gpuprocs.h"
#include "proto.h"
#include "log.h"
#include "reload.h"
#include "notify.h"
#include "paths.h"
#include "persist.h"
#include "prom-serve.h"
#include "rmond.h"
#include "runs.h"
#include "watchdog.h"

struct rmond the_rmond;

struct options {
	int foreground;
	int check_only;
	const char *config;
	const char *socket;
	const char *state_dir;
	const char *procfs;
	const char *sysfs;
	const char *log_level;
	int memory;
};

static void usage(FILE *out)
{
	fprintf(out,
	"usage: rmond [options]\n"
	"       rmond --check-config [FILE]\n"
	"\n"
	"Collects system metrics into a ring that survives restarts and serves\n"
	"them to rmonctl over a Unix socket.\n"
	"\n"
	"  -f, --foreground       stay in the foreground, log to stderr\n"
	"  -c, --config FILE      YAML config (default: none, built-in defaults)\n"
	"  -n, --check-config [FILE]\n"
	"                         check FILE (or the -c file, or the defaults),\n"
	"                         print the effective config; exit 0 when valid,\n"
	"                         1 with file:line:col and the reason when not\n"
	"  -s, --socket PATH      socket (default: $RUNTIME_DIRECTORY/rmond.sock\n"
	"                         under systemd, /run/rmon/rmond.sock as root,\n"
	"                         else $XDG_RUNTIME_DIR/rmon/rmond.sock, else\n"
	"                         /tmp/rmon-$UID/rmond.sock)\n"
	"      --state-dir DIR    where the ring file lives (default:\n"
	"                         $STATE_DIRECTORY under systemd, /var/lib/rmon\n"
	"                         as root, else ~/.local/state/rmon); while it is\n"
	"                         unwritable or full the ring stays in memory\n"
	"                         and the file is retried every 5 s\n"
	"      --memory           keep the ring in memory only (no history file)\n"
	"      --procfs DIR       procfs root (default /proc)\n"
	"      --sysfs DIR        sysfs root (default /sys)\n"
	"      --log-level L      error, warn, info or debug\n"
	"  -V, --version          print the version and exit\n"
	"  -h, --help             this text\n"
	"\n"
	"Signals: SIGTERM/SIGINT stop cleanly (as `rmonctl shutdown` does); SIGHUP\n"
	"re-reads the config file (as `rmonctl config reload` does).  Docs: README.md,\n"
	"docs/, man rmond.\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_STATE = 256, OPT_PROCFS, OPT_SYSFS, OPT_LOG, OPT_MEMORY };
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, OPT_STATE },
		{ "memory", no_argument, NULL, OPT_MEMORY },
		{ "procfs", required_argument, NULL, OPT_PROCFS },
		{ "sysfs", required_argument, NULL, OPT_SYSFS },
		{ "log-level", required_argument, NULL, OPT_LOG },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "fc:ns:Vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': o->foreground = 1; break;
		case 'c': o->config = optarg; break;
		case 'n': o->check_only = 1; break;
		case 's': o->socket = optarg; break;
		case OPT_STATE: o->state_dir = optarg; break;
		case OPT_MEMORY: o->memory = 1; break;
		case OPT_PROCFS: o->procfs = optarg; break;
		case OPT_SYSFS: o->sysfs = optarg; break;
		case OPT_LOG: o->log_level = optarg; break;
		case 'V': printf("rmond %s (protocol %d)\n", RMON_VERSION, PROTO_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	/* rmond --check-config FILE: the file to check, as -c FILE */
	if (o->check_only && optind == argc - 1) {
		if (o->config && strcmp(o->config, argv[optind]) != 0) {
			fprintf(stderr, "rmond: two config files: -c %s and %s\n", o->config, argv[optind]);
			return -1;
		}
		o->config = argv[optind++];
	}
	if (optind < argc) {
		fprintf(stderr, "rmond: unexpected argument: %s\n", argv[optind]);
		return -1;
	}
	return 0;
}

static void copy_opt(char *dst, size_t len, const char *src)
{
	if (src)
		snprintf(dst, len, "%s", src);
}

/* Config file, then flags over it.  Exits on a bad config. */
static int load_config(struct rmond *d, const struct options *o)
{
	char err[1024];
	config_defaults(&d->cfg);
	if (o->config) {
		if (config_load(o->config, &d->cfg, err, sizeof err) != 0) {
			fprintf(stderr, "rmond: %s\n", err);
			return -1;
		}
		if (!realpath(o->config, d->config_path))
			copy_opt(d->config_path, sizeof d->config_path, o->config);
	}
	reload_init(&d->cfg, o->log_level != NULL, o->foreground);   /* the file, before the flags */
	copy_opt(d->cfg.socket, sizeof d->cfg.socket, o->socket);
	copy_opt(d->cfg.state_dir, sizeof d->cfg.state_dir, o->state_dir);
	copy_opt(d->cfg.procfs, sizeof d->cfg.procfs, o->procfs);
	copy_opt(d->cfg.sysfs, sizeof d->cfg.sysfs, o->sysfs);
	if (o->memory)
		d->cfg.ring_memory = 1;
	if (o->log_level) {
		int lvl = log_level_parse(o->log_level);
		if (lvl < 0) {
			fprintf(stderr, "rmond: --log-level: expected error, warn, info or debug\n");
			return -1;
		}
		d->cfg.log_level = lvl;
	}
	char given[sizeof d->cfg.socket];
	memcpy(given, d->cfg.socket, sizeof given);
	if (paths_socket(given, PATHS_DAEMON, d->cfg.socket, sizeof d->cfg.socket) < 0) {
		fprintf(stderr, "rmond: socket path too long (max %d bytes)\n", PATHS_SOCKET_MAX - 1);
		return -1;
	}
	if (!*d->cfg.state_dir)
		paths_state_dir(d->cfg.state_dir, sizeof d->cfg.state_dir);
	return 0;
}

/* Host lanes (system, cpu, disk, net, temp) hold retention x rate x
 * instances, instances counted by a baseline sample (plus headroom for
 * devices that appear later), within half the budget.  Process history
 * varies with what is tracked, so the proc and thread lanes share what is
 * left (a third and two thirds); marks get a fixed lane. */
#define MARK_CAPACITY 8192
/* eGPU events (link up/down, unplug, degraded) are rare: a fixed lane.
 * The egpu lane runs on the eGPU thread's slower clock, with room for a
 * GPU plugged in later even when there is none at start. */
#define EVENT_CAPACITY 4096

static int is_process_kind(int k)
{
	return k == RM_KIND_PROC || k == RM_KIND_THREAD;
}

static unsigned lane_specs(const struct config *cfg, const unsigned counts[RM_KIND__COUNT],
                           struct ring_lane_spec *specs)
{
	uint64_t ticks = cfg->ring_retention_ns / cfg->system_interval_ns;
	uint64_t host = 0, budget = cfg->ring_budget_bytes;
	for (int k = 0; k < RM_KIND__COUNT; k++) {
		uint64_t per_tick = counts[k] + (rm_kinds[k].keyed ? counts[k] / 4 + 1 : 0);
		if (rm_kinds[k].keyed && counts[k] == 0 && !is_process_kind(k))
			per_tick = 0;   /* nothing of this kind here (no GPU, no sensor): a token lane */
		specs[k] = (struct ring_lane_spec){ (uint32_t)k, (uint32_t)schema_rec_size((enum rm_kind)k),
		                                    (per_tick ? per_tick : 1) * (ticks ? ticks : 1) };
		if (k == RM_KIND_MARK)
			specs[k].capacity = MARK_CAPACITY;
		if (k == RM_KIND_EVENT)
			specs[k].capacity = EVENT_CAPACITY;
		if (k == RM_KIND_EGPU)
			specs[k].capacity = (counts[k] + counts[k] / 4 + 1) *
			                    (cfg->ring_retention_ns / cfg->egpu_interval_ns + 1);
		if (!is_process_kind(k))
			host += specs[k].capacity * ring_slot_bytes(specs[k].rec_size);
	}
	if (host > budget / 2) {
		double scale = (double)(budget / 2) / (double)host;
		host = 0;
		for (int k = 0; k < RM_KIND__COUNT; k++) {
			if (is_process_kind(k) || k == RM_KIND_MARK || k == RM_KIND_EVENT)
				continue;
			uint64_t cap = (uint64_t)((double)specs[k].capacity * scale);
			specs[k].capacity = cap < 64 ? 64 : cap;
		}
		for (int k = 0; k < RM_KIND__COUNT; k++)
			if (!is_process_kind(k))
				host += specs[k].capacity * ring_slot_bytes(specs[k].rec_size);
	}
	/* what is left, less a little for the file's and lanes' headers */
	uint64_t rest = budget > host + 65536 ? budget - host - 65536 : 0;
	specs[RM_KIND_PROC].capacity = rest / 3 / ring_slot_bytes(specs[RM_KIND_PROC].rec_size);
	specs[RM_KIND_THREAD].capacity = rest / 3 * 2 / ring_slot_bytes(specs[RM_KIND_THREAD].rec_size);
	for (int k = 0; k < RM_KIND__COUNT; k++)
		if (specs[k].capacity < 64)
			specs[k].capacity = 64;
	return RM_KIND__COUNT;
}

static int open_ring(struct rmond *d, const unsigned counts[RM_KIND__COUNT])
{
	struct ring_lane_spec specs[RM_KIND__COUNT];
	struct ring_opts ro = { .schema_hash = schema_hash(), .lanes = specs,
	                        .nlanes = lane_specs(&d->cfg, counts, specs) };

	snprintf(d->ring_path, sizeof d->ring_path, "%s/rmon.ring", d->cfg.state_dir);
	if (persist_open(d, &ro) < 0)   /* the file, or memory while the state dir cannot take it */
		return -1;
	char runs_path[4300];
	snprintf(runs_path, sizeof runs_path, "%s/runs", d->cfg.state_dir);
	if (runs_open(d->cfg.ring_memory ? NULL : runs_path) < 0)
		log_warn("%s", runs_path);
	log_info("ring: %s, %.1f MiB, %llu records recovered%s",
	         ro.path ? ro.path : "in memory", (double)ring_bytes(d->ring) / 1048576.0,
	         (unsigned long long)d->ring_info.recovered,
	         d->ring_info.migrated ? " (migrated to a new layout)" : "");
	if (d->ring_info.torn)
		log_warnx("ring: %llu torn records discarded", (unsigned long long)d->ring_info.torn);
	return 0;
}

static int open_root(const char *path)
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		log_err("%s", path);
	return fd;
}

static void on_tick_async(uv_async_t *h)
{
	server_on_tick(&((struct rmond *)h->data)->server);
}

/* A sampling thread committed a tick: wake the loop for the streams that
 * follow it, if any (with none, the loop sleeps through the ticks). */
static void wake_loop(void *arg, unsigned source)
{
	if (conn_ticks_wanted() & source)
		uv_async_send(&((struct rmond *)arg)->tick_async);
}

static void on_host_tick(void *arg)
{
	struct rmond *d = arg;
	wake_loop(arg, CONN_TICK_HOST);
	if (d->procs)
		procs_kick(d->procs);
}

static void on_procs_tick(void *arg)
{
	wake_loop(arg, CONN_TICK_PROCS);
}

static void on_gpu_tick(void *arg)
{
	wake_loop(arg, CONN_TICK_GPU);
}

static void on_egpu_tick(void *arg)
{
	wake_loop(arg, CONN_TICK_EGPU);
}

static void stop_daemon(struct rmond *d, const char *why)
{
	log_info("%s: stopping", why);
	notify_send("STOPPING=1");
	watchdog_stop();
	sampler_stop(&d->sampler);
	procs_stop(d->procs);
	gpu_stop(d->gpu);
	egpu_stop(d->egpu);
	ring_sync(d->ring);
	prom_serve_close(d);
	server_close(&d->server);
	uv_close((uv_handle_t *)&d->tick_async, NULL);
	uv_close((uv_handle_t *)&d->sig_term, NULL);
	uv_close((uv_handle_t *)&d->sig_int, NULL);
	uv_close((uv_handle_t *)&d->sig_hup, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct rmond *d = h->data;
	if (signum == SIGHUP) {
		static struct reload_result res;   /* large: off the loop's stack */
		reload_run(d, "SIGHUP", &res);     /* logs what it did */
		return;
	}
	stop_daemon(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void watch_signal(struct rmond *d, uv_signal_t *h, int signum)
{
	uv_signal_init(d->loop, h);
	h->data = d;
	uv_signal_start(h, on_signal, signum);
}

/* In the background, the parent waits for the child to say it is up (or
 * why not) over a pipe, so start-up errors still reach the terminal. */
static int daemonize(int *report_fd)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		char buf[1024];
		close(p[1]);
		ssize_t n = read(p[0], buf, sizeof buf - 1);
		if (n > 0 && buf[0] == '+')
			_exit(0);
		if (n > 0) {
			buf[n] = '\0';
			fprintf(stderr, "rmond: %s\n", buf + 1);
		}
		_exit(1);
	}
	close(p[0]);
	setsid();
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	*report_fd = p[1];
	return 0;
}

static void report(int fd, const char *msg)
{
	if (fd < 0)
		return;
	ssize_t rc = write(fd, msg, strlen(msg));
	(void)rc;
	close(fd);
}

/* GPUs are optional: no NVML (or no library configured) and no amdgpu
 * card means no gpu records and capability notes, never an error. */
static void open_gpu(struct rmond *d, const struct collect_env *env)
{
	char err[1024];
	struct gpu_opts o = { d->cfg.gpu_nvidia_library, env->sysfd, d->cfg.gpu_interval_ns };
	if (gpu_open(&d->gpu, &o, err, sizeof err) < 0) {
		d->gpu = NULL;
		log_info("gpu: %s: no GPU records", err);
		return;
	}
	log_info("gpu: %u GPU%s, sampled every %.0f ms on the GPU thread", gpu_devices(d->gpu),
	         gpu_devices(d->gpu) == 1 ? "" : "s", (double)d->cfg.gpu_interval_ns / 1e6);
}

/* The GPU link thread always runs: a machine without a PCI bus or GPU
 * gets no egpu records (and status says so), a GPU plugged in later is
 * picked up.  Its baseline sample numbers the GPUs present now. */
static int open_egpu(struct rmond *d, const struct collect_env *env)
{
	const struct config *c = &d->cfg;
	struct egpu_stats_spec files[CONFIG_STATS_FILES_MAX];
	for (unsigned i = 0; i < c->egpu_nstats_files; i++)
		files[i] = (struct egpu_stats_spec){ c->egpu_stats_files[i].path,
		                                     c->egpu_stats_files[i].gpu_pci,
		                                     c->egpu_stats_files[i].gpu_index };
	struct egpu_opts o = { env->sysfd, c->egpu_interval_ns, files, c->egpu_nstats_files };
	if (egpu_open(&d->egpu, &o) < 0)
		return -1;
	log_info("egpu: %u GPU%s on the PCI bus, links read every %.0f ms", egpu_count(d->egpu),
	         egpu_count(d->egpu) == 1 ? "" : "s", (double)c->egpu_interval_ns / 1e6);
	return 0;
}

/* Process tracking is optional: without a process table rmond still
 * serves system metrics, and status says so. */
static int start_procs(struct rmond *d, const struct collect_env *env)
{
	const struct config *c = &d->cfg;
	struct procs_opts po = { c->procs_scan_interval_ns, c->procs_tracked_interval_ns,
	                         c->procs_pss_interval_ns, c->procs_top_n, c->procs_max_watches,
	                         c->procs_quiet_thread_pct };
	char err[512];
	if (classifier_init(&d->cls) < 0) {
		log_errx("cannot set up the built-in classification rules");
		return -1;
	}
	for (unsigned i = 0; i < c->nclassify; i++) {
		const struct config_rule *r = &c->classify[i];
		struct classify_spec spec = { r->name, r->category, r->field, r->pattern };
		if (classifier_add(&d->cls, &spec, err, sizeof err) < 0) {
			log_errx("%s:%u:%u: %s", d->config_path, r->line, r->col, err);
			return -1;
		}
	}
	if (procs_open(&d->procs, env, &po, &d->cls) < 0) {
		d->procs = NULL;
		return 0;
	}
	procs_set_chained(d->procs, procs_chainable(c));
	if (procs_start(d->procs, d->ring, on_procs_tick, d) < 0) {
		procs_close(d->procs);
		d->procs = NULL;
		return -1;
	}
	return 0;
}

static int start(struct rmond *d, int report_fd)
{
	unsigned counts[RM_KIND__COUNT];
	char err[1024];
	struct collect_env env = { -1, -1, sysconf(_SC_CLK_TCK) };
	int per_user = paths_per_user();
	char sockdir[PATHS_SOCKET_MAX];

	snprintf(sockdir, sizeof sockdir, "%s", d->cfg.socket);
	char *slash = strrchr(sockdir, '/');
	if (slash && slash != sockdir) {
		*slash = '\0';
		paths_mkdirs(sockdir, per_user ? 0700 : 0755);
	}
	struct server_opts so = { d->cfg.socket, per_user, d->cfg.socket_group, d->cfg.frame_max,
	                          d->cfg.session_budget_bytes, d->cfg.stuck_timeout_ns,
	                          config_socket_mode(&d->cfg, per_user) };
	d->loop = uv_default_loop();
	if (server_open(&d->server, d->loop, &so, err, sizeof err) < 0) {
		char msg[1100];
		snprintf(msg, sizeof msg, "-%s", err);
		report(report_fd, msg);
		log_errx("%s", err);
		return -1;
	}
	env.procfd = open_root(d->cfg.procfs);
	env.sysfd = open_root(d->cfg.sysfs);
	if (env.procfd < 0 || env.sysfd < 0) {
		report(report_fd, "-cannot open the procfs or sysfs root");
		if (env.procfd >= 0)
			close(env.procfd);
		if (env.sysfd >= 0)
			close(env.sysfd);
		return -1;
	}
	sampler_open(&d->sampler, &env, d->cfg.system_interval_ns);
	gpuprocs_init(&env);   /* before the GPU and procs threads write to it */
	sampler_count(&d->sampler, counts);
	open_gpu(d, &env);
	counts[RM_KIND_GPU] = gpu_devices(d->gpu);
	if (open_egpu(d, &env) < 0) {
		report(report_fd, "-out of memory");
		return -1;
	}
	counts[RM_KIND_EGPU] = egpu_count(d->egpu);
	if (open_ring(d, counts) < 0) {
		report(report_fd, "-cannot open the ring (see the log)");
		return -1;
	}
	uv_async_init(d->loop, &d->tick_async, on_tick_async);
	d->tick_async.data = d;
	watch_signal(d, &d->sig_term, SIGTERM);
	watch_signal(d, &d->sig_int, SIGINT);
	watch_signal(d, &d->sig_hup, SIGHUP);
	if (sampler_start(&d->sampler, d->ring, on_host_tick, d) < 0) {
		report(report_fd, "-cannot start the sampler thread");
		return -1;
	}
	if (start_procs(d, &env) < 0) {
		report(report_fd, "-cannot start the process thread");
		return -1;
	}
	if (d->gpu && gpu_start(d->gpu, d->ring, on_gpu_tick, d) < 0) {
		report(report_fd, "-cannot start the GPU thread");
		return -1;
	}
	if (egpu_start(d->egpu, d->ring, on_egpu_tick, d) < 0) {
		report(report_fd, "-cannot start the eGPU link thread");
		return -1;
	}
	if (server_listen(&d->server, err, sizeof err) < 0) {
		char msg[1100];
		snprintf(msg, sizeof msg, "-%s", err);
		report(report_fd, msg);
		log_errx("%s", err);
		return -1;
	}
	if (prom_serve_open(d, &d->cfg, err, sizeof err) < 0) {
		char msg[1100];
		snprintf(msg, sizeof msg, "-%s", err);
		report(report_fd, msg);
		log_errx("%s", err);
		return -1;
	}
	log_info("rmond %s listening on %s, sampling every %.0f ms", RMON_VERSION,
	         d->cfg.socket, (double)d->cfg.system_interval_ns / 1e6);
	report(report_fd, "+");
	notify_send("READY=1");
	watchdog_start(d);   /* STATUS= lines, WATCHDOG=1 when WatchdogSec= */
	return 0;
}

int main(int argc, char **argv)
{
	struct rmond *d = &the_rmond;
	struct options o = { 0 };
	int report_fd = -1;

	signal(SIGPIPE, SIG_IGN);
	d->sampler.env.procfd = d->sampler.env.sysfd = -1;
	if (parse_options(argc, argv, &o) < 0)
		return 2;
	if (load_config(d, &o) < 0)
		return 1;
	if (o.check_only) {
		config_dump(&d->cfg, stdout);
		return 0;
	}
	log_init("rmond", (enum log_level)d->cfg.log_level, !o.foreground);
	reload_apply_log(&d->cfg);   /* log.target: syslog in the foreground too */
	if (!o.foreground && daemonize(&report_fd) < 0) {
		perror("rmond: fork");
		return 1;
	}
	d->started_rt_ns = clock_rt_ns();
	d->started_mono_ns = clock_mono_ns();
	int rc = start(d, report_fd);
	if (rc == 0)
		uv_run(d->loop, UV_RUN_DEFAULT);
	else
		server_close(&d->server);
	sampler_close(&d->sampler);
	procs_close(d->procs);
	gpu_close(d->gpu);
	egpu_close(d->egpu);
	gpuprocs_shutdown();   /* both of its writers have stopped */
	classifier_free(&d->cls);
	runs_close();
	uv_run(d->loop, UV_RUN_NOWAIT);
	uv_loop_close(d->loop);
	ring_close(d->ring);
	if (d->sampler.env.procfd >= 0)
		close(d->sampler.env.procfd);
	if (d->sampler.env.sysfd >= 0)
		close(d->sampler.env.sysfd);
	return rc == 0 ? 0 : 1;
}
