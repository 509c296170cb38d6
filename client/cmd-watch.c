/*
 * rmonctl watch --pid N: follow processes live (the `watch` stream); with
 * --gpu LIST or --egpu, GPUs or their links instead.  On a terminal, a
 * screen redrawn at each sample (watch-view.c, dev-view.c); otherwise, or
 * with --json, one JSON object per event.  Ends when the processes have
 * exited, on Ctrl-C or after --duration (both send `cancel`), then prints
 * the summary from the stream's reply.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "ctl.h"
#include "dev-view.h"
#include "duration.h"
#include "msg.h"
#include "out.h"
#include "thread-merge.h"
#include "timearg.h"
#include "watch-view.h"

enum { OPT_JSON = 0x100, OPT_COMPACT, OPT_EGPU };

static const struct cmd_opt watch_opts[] = {
	{ "pid", 'p', "N[,M...]", "the processes to watch (or give PIDs as arguments)", false },
	{ "gpu", 'g', "LIST", "GPUs instead: indices 0,1 or all", false },
	{ "egpu", OPT_EGPU, NULL, "GPU links instead: indices as arguments (default all)", false },
	{ "children", 'c', NULL, "also follow their descendants, present and future", false },
	{ "threads", 't', NULL, "per-thread rows, busiest first", false },
	{ "interval", 'i', "D", "time between samples: 500ms, 2s (default 1s, at least 100ms)", false },
	{ "duration", 'd', "D", "stop after D (10s, 5m)", false },
	{ "json", OPT_JSON, NULL, "one JSON object per event (the default when not a terminal)", false },
	{ "compact", OPT_COMPACT, NULL, "a 2-3 line view for small terminals", false },
	{ NULL, 0, NULL, NULL, false }
};

enum watch_mode { WATCH_PIDS, WATCH_GPU, WATCH_EGPU };

#define WATCH_DEVS_MAX 64

struct watch {
	enum watch_mode mode;
	uint64_t pids[WATCH_PIDS_MAX];
	size_t npids;
	uint64_t devs[WATCH_DEVS_MAX];   /* --gpu/--egpu indices; none: all */
	size_t ndevs;
	struct dev_view *dv;             /* the device screen (--gpu/--egpu) */
	struct thread_merge *tm;         /* --threads: samples carry thread changes */
	bool children, threads, json, compact, view;
	uint64_t interval_ns, duration_ns;
	int64_t stop_at_ms;        /* --duration, CLOCK_MONOTONIC ms; -1: none */
	bool cancelled;
	uint64_t id;
	struct ctl_conn c;
	struct watch_view v;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "123,456" or "123 456" (from $(pgrep ...)), each in min..max:
 * appended to v (n of cap used). */
static int add_numbers(struct cmd_ctx *ctx, const char *s, uint64_t *v, size_t *n, size_t cap,
		       unsigned long long min, unsigned long long max, const char *what)
{
	const char *p = s;
	while (*p) {
		char *end;
		if (*p == ',' || isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		errno = 0;
		unsigned long long x = strtoull(p, &end, 10);
		if (errno || end == p || *p == '-' || x < min || x > max ||
		    (*end && *end != ',' && !isspace((unsigned char)*end)))
			return cmd_usage_error(ctx, "'%s' is not a list of %s", s, what);
		if (*n == cap)
			return cmd_usage_error(ctx, "at most %zu %s", cap, what);
		v[(*n)++] = x;
		p = end;
	}
	return 0;
}

static int add_pids(struct cmd_ctx *ctx, struct watch *w, const char *s)
{
	return add_numbers(ctx, s, w->pids, &w->npids, WATCH_PIDS_MAX, 1, 0x7fffffff, "process ids");
}

/* GPU indices, "all" (or nothing) for every one. */
static int add_devs(struct cmd_ctx *ctx, struct watch *w, const char *s)
{
	if (strcmp(s, "all") == 0)
		return 0;
	return add_numbers(ctx, s, w->devs, &w->ndevs, WATCH_DEVS_MAX, 0, WATCH_DEVS_MAX - 1,
			   "GPU indices (0 to 63)");
}

/* --pid, --gpu and --egpu choose what to watch: one of them. */
static int set_mode(struct cmd_ctx *ctx, struct watch *w, enum watch_mode m)
{
	if (w->mode != WATCH_PIDS && w->mode != m)
		return cmd_usage_error(ctx, "--gpu and --egpu exclude each other");
	w->mode = m;
	return 0;
}

/* What the options say, checked together. */
static int check_mode(struct cmd_ctx *ctx, const struct watch *w)
{
	if (w->mode == WATCH_PIDS) {
		if (w->npids == 0)
			return cmd_usage_error(ctx, "which processes? --pid N (for example --pid "
					       "$(pgrep -d, make)), or --gpu LIST, or --egpu");
		return 0;
	}
	if (w->npids)
		return cmd_usage_error(ctx, "--pid and --%s exclude each other",
				       w->mode == WATCH_GPU ? "gpu" : "egpu");
	if (w->children || w->threads)
		return cmd_usage_error(ctx, "--children and --threads are for processes");
	return 0;
}

static int parse(struct cmd_ctx *ctx, struct watch *w, int argc, char **argv)
{
	int o, rc = 0;
	while (rc == 0 && (o = cmd_getopt(ctx, argc, argv)) != -1) {
		switch (o) {
		case CMD_OPT_DONE: return CMD_OPT_DONE;   /* --help or a usage error: ctx->rc */
		case 'p': rc = add_pids(ctx, w, optarg); break;
		case 'g':
			rc = set_mode(ctx, w, WATCH_GPU);
			if (rc == 0)
				rc = add_devs(ctx, w, optarg);
			break;
		case OPT_EGPU: rc = set_mode(ctx, w, WATCH_EGPU); break;
		case 'c': w->children = true; break;
		case 't': w->threads = true; break;
		case OPT_JSON: w->json = true; break;
		case OPT_COMPACT: w->compact = true; break;
		case 'i':
			if (duration_parse(optarg, &w->interval_ns) < 0 || w->interval_ns < 100000000u)
				return cmd_usage_error(ctx, "--interval: '%s' is not a duration of 100ms or more",
						       optarg);
			break;
		case 'd':
			if (duration_parse(optarg, &w->duration_ns) < 0 || w->duration_ns == 0)
				return cmd_usage_error(ctx, "--duration: '%s' is not a duration", optarg);
			break;
		}
	}
	for (int i = optind; rc == 0 && i < argc; i++)
		rc = w->mode == WATCH_PIDS ? add_pids(ctx, w, argv[i]) : add_devs(ctx, w, argv[i]);
	return rc ? rc : check_mode(ctx, w);
}

/* Ctrl-C or the end of --duration: cancel the stream, once.  Called on
 * every wake-up and every event. */
static int check_stop(void *arg)
{
	struct watch *w = arg;
	if (w->cancelled || (!interrupted && (w->stop_at_ms < 0 || mono_ms() < w->stop_at_ms)))
		return 0;
	w->cancelled = true;
	return ctl_cancel(&w->c, w->id);
}

/* One frame: home, the lines each ending in clear-to-end-of-line, then
 * clear the rest; built in memory and written at once (no flicker). */
static void draw(struct watch *w, const msgpack_object *sample)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return;
	if (w->dv) {
		w->dv->width = out_term_width(stdout);
		w->dv->height = out_term_height(stdout);
		dev_view_render(m, w->dv, sample);
	} else {
		w->v.width = out_term_width(stdout);
		w->v.height = out_term_height(stdout);
		watch_view_render(m, &w->v, sample);
	}
	fclose(m);
	fputs("\033[H", stdout);
	for (char *p = buf, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
		fwrite(p, 1, (size_t)(nl - p), stdout);
		fputs("\033[K\n", stdout);
	}
	fputs("\033[J", stdout);
	fflush(stdout);
	free(buf);
}

static void exit_note(struct watch *w, const msgpack_object *d)
{
	char comm[64] = "";
	uint64_t pid = 0;
	int64_t st;

	(void)msg_get_u64(d, "pid", &pid);
	(void)msg_get_str(d, "comm", comm, sizeof comm);
	out_clean(comm);
	int n = snprintf(w->v.note, sizeof w->v.note, "%" PRIu64 " %s exited", pid, comm[0] ? comm : "?");
	if (n < 0 || (size_t)n >= sizeof w->v.note || !msg_get_i64(d, "status", &st))
		return;
	int s = (int)st;
	if (WIFEXITED(s))
		snprintf(w->v.note + n, sizeof w->v.note - (size_t)n, " with status %d", WEXITSTATUS(s));
	else if (WIFSIGNALED(s))
		snprintf(w->v.note + n, sizeof w->v.note - (size_t)n, ", killed by signal %d", WTERMSIG(s));
}

/* The device screen's events: samples, events and lost samples. */
static void dev_event(struct watch *w, const struct msg_reply *ev)
{
	uint64_t lost;
	if (strcmp(ev->ev, "sample") == 0) {
		dev_view_add(w->dv, ev->data);
		draw(w, ev->data);
	} else if (strcmp(ev->ev, "event") == 0) {
		dev_view_event(w->dv, ev->data);
	} else if (strcmp(ev->ev, "lagged") == 0 && msg_get_u64(ev->data, "lost", &lost)) {
		dev_view_lost(w->dv, lost);
	}
}

static int on_event(void *arg, const struct msg_reply *ev)
{
	struct watch *w = arg;
	uint64_t lost;

	if (strcmp(ev->ev, "started") == 0 && w->v.start_ns == 0)
		w->v.start_ns = timearg_now();
	const msgpack_object *data = ev->data;
	uint64_t pid;
	if (w->tm && strcmp(ev->ev, "sample") == 0)
		data = thread_merge_sample(w->tm, ev->data);   /* every thread, not the changes */
	else if (w->tm && strcmp(ev->ev, "exit") == 0 && msg_get_u64(ev->data, "pid", &pid))
		thread_merge_forget_pid(w->tm, pid);
	if (w->json) {
		out_json_tagged(stdout, "ev", ev->ev, data);
		fputc('\n', stdout);
		fflush(stdout);
	} else if (w->dv) {
		dev_event(w, ev);
	} else if (strcmp(ev->ev, "sample") == 0) {
		draw(w, data);
	} else if (strcmp(ev->ev, "exit") == 0) {
		exit_note(w, ev->data);
	} else if (strcmp(ev->ev, "lagged") == 0 && msg_get_u64(ev->data, "lost", &lost)) {
		snprintf(w->v.note, sizeof w->v.note, "%" PRIu64 " samples lost (output too slow)", lost);
	}
	return check_stop(w);
}

static void pack_request(struct watch *w)
{
	msgpack_packer *pk = ctl_request(&w->c, "watch", &w->id);
	if (w->mode != WATCH_PIDS) {
		msgpack_pack_map(pk, 1u + (w->interval_ns != 0));
		msg_pack_str(pk, w->mode == WATCH_GPU ? "gpu" : "egpu");
		msgpack_pack_array(pk, w->ndevs);
		for (size_t i = 0; i < w->ndevs; i++)
			msgpack_pack_uint64(pk, w->devs[i]);
		if (w->interval_ns)
			msg_pack_kv_u64(pk, "interval", w->interval_ns);
		return;
	}
	msgpack_pack_map(pk, 3u + (w->interval_ns != 0));
	msg_pack_str(pk, "pids");
	msgpack_pack_array(pk, w->npids);
	for (size_t i = 0; i < w->npids; i++)
		msgpack_pack_uint64(pk, w->pids[i]);
	msg_pack_kv_bool(pk, "children", w->children);
	msg_pack_kv_bool(pk, "threads", w->threads);
	if (w->interval_ns)
		msg_pack_kv_u64(pk, "interval", w->interval_ns);
}

static void catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = (int)SA_RESETHAND;   /* a second Ctrl-C ends rmonctl at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void print_summary(const struct watch *w, const struct cmd_ctx *ctx, const msgpack_object *res)
{
	if (w->json) {
		out_json_tagged(stdout, "ev", "summary", res);
		fputc('\n', stdout);
		return;
	}
	if (w->view)
		fputc('\n', stdout);
	if (w->dv)
		dev_summary_print(stdout, res);
	else
		watch_summary_print(stdout, res, out_want_color(stdout, ctx->no_color));
}

static int watch_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct watch *w = calloc(1, sizeof *w);
	struct ctl_reply r = { 0 };
	int rc;

	if (!w)
		return cmd_fail(CMD_EXIT_ERROR, "out of memory");
	if ((rc = parse(ctx, w, argc, argv)) != 0) {
		free(w);
		return rc == CMD_OPT_DONE ? ctx->rc : rc;
	}
	w->json = w->json || !isatty(STDOUT_FILENO);
	w->view = !w->json;
	watch_view_init(&w->v);
	w->v.color = out_want_color(stdout, ctx->no_color);
	w->v.compact = w->compact;
	w->v.threads = w->threads;
	if (w->threads && !(w->tm = thread_merge_new())) {
		free(w);
		return cmd_fail(CMD_EXIT_ERROR, "out of memory");
	}
	w->v.pids = w->pids;
	w->v.npids = w->npids;
	w->v.interval_ns = w->interval_ns ? w->interval_ns : 1000000000u;
	if (w->mode != WATCH_PIDS && w->view) {
		if (!(w->dv = malloc(sizeof *w->dv))) {
			free(w);
			return cmd_fail(CMD_EXIT_ERROR, "out of memory");
		}
		dev_view_init(w->dv, w->mode == WATCH_EGPU, w->v.interval_ns);
		w->dv->color = w->v.color;
		w->dv->compact = w->compact;
	}
	rc = ctl_open(&w->c, ctx->socket);
	if (rc == 0) {
		/* Frames come every interval; a daemon silent for much longer is wedged. */
		uint64_t iv_ms = w->v.interval_ns / 1000000u;
		w->c.timeout_ms = CTL_TIMEOUT_MS + (int)(iv_ms < 100000000u ? iv_ms * 2 : 200000000u);
		w->c.wake = check_stop;
		w->c.wake_arg = w;
		w->c.wake_ms = 100;
		w->stop_at_ms = w->duration_ns ? mono_ms() + (int64_t)(w->duration_ns / 1000000u) : -1;
		catch_signals();
		pack_request(w);
		rc = ctl_send(&w->c);
	}
	if (rc == 0)
		rc = ctl_wait(&w->c, w->id, on_event, w, &r);
	if (rc)
		cmd_fail(rc, "%s", w->c.err);
	else
		print_summary(w, ctx, r.rep.result);
	ctl_reply_free(&r);
	ctl_close(&w->c);
	thread_merge_free(w->tm);
	free(w->dv);
	free(w);
	return rc;
}

const struct cmd_entry cmd_watch_entry = {
	.name = "watch",
	.args_usage = "[PID... | GPU...]",
	.min_args = 0,
	.max_args = WATCH_PIDS_MAX,
	.opts = watch_opts,
	.help = "follow processes (or GPUs, GPU links) live, with trends and graphs",
	.details =
		"On a terminal: a screen redrawn at each sample with the processes summed\n"
		"(CPU with a bar, 100% = one core; RSS, PSS, read and write per second,\n"
		"threads), each with a trend arrow against the previous sample; then one\n"
		"row per process when there are several, and with --threads the busiest\n"
		"threads (up to 20, fewer on a short terminal).\n"
		"Not a terminal, or --json: one JSON object per line, {\"ev\":\"sample\",...}\n"
		"(also \"started\", \"exit\", \"lagged\"), and last {\"ev\":\"summary\",...}.\n"
		"\nIt ends when every watched process has exited, on Ctrl-C or after\n"
		"--duration, and prints a summary: duration, peak and average CPU, peak\n"
		"RSS and PSS, bytes read and written, the thread count range.\n"
		"\nWith --gpu LIST (0,1 or all) or --egpu [N...]: GPUs or their PCIe and\n"
		"Thunderbolt links instead.  Per device, its state (a GPU: utilisation,\n"
		"memory, temperature, power; a link: generation and width against the\n"
		"maximum, Thunderbolt, AER errors) and a graph of the last 60 s of TX and\n"
		"RX throughput (and DMA latency for links), one column per sample, scaled\n"
		"to its largest value; error counters in red when not zero; link events\n"
		"(down, disconnected...) as they come.  NDJSON: {\"ev\":\"sample\",\"ts\":...,\n"
		"\"kind\":\"gpu\",\"devices\":[{schema fields}...]}, \"event\", \"lagged\".\n"
		"These end on Ctrl-C or after --duration.  A GPU index that does not exist\n"
		"exits 4.\n"
		"\nExamples:\n"
		"  rmonctl watch --pid $(pgrep -d, -f train.py) --threads\n"
		"  rmonctl watch -p 4242 --children --duration 5m --json > trace.ndjson\n"
		"  rmonctl watch --gpu 0,1\n"
		"  rmonctl watch --egpu 0 --interval 500ms\n",
	.exec = watch_exec,
};
