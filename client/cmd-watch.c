/*
 * rmonctl watch --pid N: follow processes live (the `watch` stream).  On
 * a terminal, a screen redrawn at each sample (watch-view.c); otherwise,
 * or with --json, one JSON object per event.  Ends when the processes
 * have exited, on Ctrl-C or after --duration (both send `cancel`), then
 * prints the summary from the stream's reply.
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
#include "duration.h"
#include "msg.h"
#include "out.h"
#include "timearg.h"
#include "watch-view.h"

enum { OPT_JSON = 0x100, OPT_COMPACT };

static const struct cmd_opt watch_opts[] = {
	{ "pid", 'p', "N[,M...]", "the processes to watch (or give PIDs as arguments)", true },
	{ "children", 'c', NULL, "also follow their descendants, present and future", false },
	{ "threads", 't', NULL, "per-thread rows, busiest first", false },
	{ "interval", 'i', "D", "time between samples: 500ms, 2s (default 1s, at least 100ms)", false },
	{ "duration", 'd', "D", "stop after D (10s, 5m)", false },
	{ "json", OPT_JSON, NULL, "one JSON object per event (the default when not a terminal)", false },
	{ "compact", OPT_COMPACT, NULL, "a 2-3 line view for small terminals", false },
	{ NULL, 0, NULL, NULL, false }
};

struct watch {
	uint64_t pids[WATCH_PIDS_MAX];
	size_t npids;
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

/* "123,456" or "123 456" (from $(pgrep ...)): appended to w->pids. */
static int add_pids(struct cmd_ctx *ctx, struct watch *w, const char *s)
{
	const char *p = s;
	while (*p) {
		char *end;
		if (*p == ',' || isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		errno = 0;
		unsigned long long v = strtoull(p, &end, 10);
		if (errno || end == p || *p == '-' || v == 0 || v > 0x7fffffff ||
		    (*end && *end != ',' && !isspace((unsigned char)*end)))
			return cmd_usage_error(ctx, "'%s' is not a list of process ids", s);
		if (w->npids == WATCH_PIDS_MAX)
			return cmd_usage_error(ctx, "at most %d processes", WATCH_PIDS_MAX);
		w->pids[w->npids++] = v;
		p = end;
	}
	return 0;
}

static int parse(struct cmd_ctx *ctx, struct watch *w, int argc, char **argv)
{
	int o, rc = 0;
	while (rc == 0 && (o = cmd_getopt(ctx, argc, argv)) != -1) {
		switch (o) {
		case CMD_OPT_DONE: return CMD_OPT_DONE;   /* --help or a usage error: ctx->rc */
		case 'p': rc = add_pids(ctx, w, optarg); break;
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
		rc = add_pids(ctx, w, argv[i]);
	if (rc == 0 && w->npids == 0)
		rc = cmd_usage_error(ctx, "which processes? --pid N (for example --pid $(pgrep -d, make))");
	return rc;
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
	w->v.width = out_term_width(stdout);
	w->v.height = out_term_height(stdout);
	watch_view_render(m, &w->v, sample);
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

static int on_event(void *arg, const struct msg_reply *ev)
{
	struct watch *w = arg;
	uint64_t lost;

	if (strcmp(ev->ev, "started") == 0 && w->v.start_ns == 0)
		w->v.start_ns = timearg_now();
	if (w->json) {
		out_json_tagged(stdout, "ev", ev->ev, ev->data);
		fputc('\n', stdout);
		fflush(stdout);
	} else if (strcmp(ev->ev, "sample") == 0) {
		draw(w, ev->data);
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
	w->v.pids = w->pids;
	w->v.npids = w->npids;
	w->v.interval_ns = w->interval_ns ? w->interval_ns : 1000000000u;
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
	free(w);
	return rc;
}

const struct cmd_entry cmd_watch_entry = {
	.name = "watch",
	.args_usage = "[PID...]",
	.min_args = 0,
	.max_args = WATCH_PIDS_MAX,
	.opts = watch_opts,
	.help = "follow processes live: CPU, memory, IO, threads, with trends",
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
		"\nExamples:\n"
		"  rmonctl watch --pid $(pgrep -d, -f train.py) --threads\n"
		"  rmonctl watch -p 4242 --children --duration 5m --json > trace.ndjson\n",
	.exec = watch_exec,
};
