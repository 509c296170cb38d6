/*
 * rmonctl run -- CMD ARGS...: run a command with its whole process tree
 * followed by rmond from its first instruction, then print the run's
 * summary.
 *
 * The order matters: fork; the child blocks reading a pipe; the parent
 * sends `watch {pids: [child], children, run}` and waits for `started`;
 * only then does it write one byte, and the child execs CMD.  So nothing
 * CMD does happens before rmond follows it.  The child keeps the
 * caller's stdin, stdout, stderr and terminal; like system(3), rmonctl
 * ignores SIGINT and SIGQUIT while it runs, so Ctrl-C reaches CMD.
 *
 * Nothing is printed while CMD runs.  The summary goes to stderr, so
 * CMD's stdout stays clean for pipes; --json prints it on stdout instead.
 * rmonctl exits with CMD's status (128 + N when signal N killed it).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
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

enum { OPT_JSON = 0x100 };

static const struct cmd_opt run_opts[] = {
	{ "interval", 'i', "D", "time between samples: 500ms, 2s (default: rmond's, 1s)", false },
	{ "threads", 't', NULL, "keep per-thread history too", false },
	{ "json", OPT_JSON, NULL, "the summary as one JSON object on stdout, after CMD", false },
	{ NULL, 0, NULL, NULL, false }
};

#define RUN_LABEL_MAX 256

struct run {
	struct ctl_conn c;
	uint64_t id, interval_ns;
	bool threads, json;
	char label[RUN_LABEL_MAX];
	pid_t pid;
	int go_fd;                 /* the pipe's write end; -1 once used */
	bool started;              /* the child was let go */
	bool exited;               /* the child has ended */
	bool reaped;               /* and wstatus holds its status */
	int wstatus;
	bool cancelled;
	int64_t grace_at_ms;       /* after the child ended: cancel then */
	int64_t grace_ms;
	uint64_t start_ns, end_ns;
};

/* ---- pure helpers (tested) ---- */

int run_exit_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return CMD_EXIT_ERROR;
}

static bool shell_safe(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_@%+=:,./-", *s))
			return false;
	return true;
}

char *run_label(char *buf, size_t len, int argc, char *const *argv)
{
	char *full = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&full, &n);

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (!m)
		return buf;
	for (int i = 0; i < argc; i++) {
		if (i)
			fputc(' ', m);
		if (shell_safe(argv[i])) {
			fputs(argv[i], m);
			continue;
		}
		fputc('\'', m);
		for (const char *p = argv[i]; *p; p++)
			if (*p == '\'')
				fputs("'\\''", m);
			else
				fputc(*p, m);
		fputc('\'', m);
	}
	if (fclose(m) == 0 && full)
		out_clean(out_fit(buf, len, full, 0));
	free(full);
	return buf;
}

/* ---- the child ---- */

static struct sigaction saved_int, saved_quit, saved_pipe;

/* Waits for the go byte, then execs.  EOF instead: rmonctl gave up (rmond
 * refused the watch), so the command never runs. */
static void child(int go_rd, int go_wr, char **argv)
{
	char b;
	ssize_t n;

	close(go_wr);
	sigaction(SIGINT, &saved_int, NULL);
	sigaction(SIGQUIT, &saved_quit, NULL);
	sigaction(SIGPIPE, &saved_pipe, NULL);
	do
		n = read(go_rd, &b, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(127);
	execvp(argv[0], argv);
	int e = errno;
	dprintf(STDERR_FILENO, "rmonctl run: %s: %s\n", argv[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

/* ---- the parent ---- */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_sigchld(int sig)
{
	(void)sig;   /* only to interrupt poll */
}

/* Ignore SIGINT, SIGQUIT (as system(3) does) and SIGPIPE (the go byte
 * to a child killed early); catch SIGCHLD to wake from poll. */
static void parent_signals(bool set)
{
	struct sigaction ign, chld;

	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	memset(&chld, 0, sizeof chld);
	chld.sa_handler = on_sigchld;
	chld.sa_flags = SA_NOCLDSTOP;
	sigemptyset(&chld.sa_mask);
	if (set) {
		sigaction(SIGINT, &ign, &saved_int);
		sigaction(SIGQUIT, &ign, &saved_quit);
		sigaction(SIGPIPE, &ign, &saved_pipe);
		sigaction(SIGCHLD, &chld, NULL);
	} else {
		sigaction(SIGINT, &saved_int, NULL);
		sigaction(SIGQUIT, &saved_quit, NULL);
		sigaction(SIGPIPE, &saved_pipe, NULL);
	}
}

static void let_go(struct run *r, bool go)
{
	if (r->go_fd < 0)
		return;
	if (go) {
		ssize_t n;
		do
			n = write(r->go_fd, "g", 1);
		while (n < 0 && errno == EINTR);
		r->started = true;
	}
	close(r->go_fd);
	r->go_fd = -1;
}

static void reap(struct run *r)
{
	pid_t p;
	if (r->reaped)
		return;
	do
		p = waitpid(r->pid, &r->wstatus, 0);
	while (p < 0 && errno == EINTR);
	r->reaped = p == r->pid;
	r->exited = true;
}

/* Called on every wake-up and event.  The child is reaped as soon as it
 * ends (a polling rmond sees a zombie as alive); if the reply has not
 * come a grace period later (CMD left processes running), cancel: the
 * reply then carries the summary so far. */
static int check_child(void *arg)
{
	struct run *r = arg;

	if (!r->exited) {
		pid_t p = waitpid(r->pid, &r->wstatus, WNOHANG);
		if (p == r->pid) {
			r->exited = r->reaped = true;
			r->grace_at_ms = mono_ms() + r->grace_ms;
		}
		return 0;
	}
	if (r->cancelled || mono_ms() < r->grace_at_ms)
		return 0;
	r->cancelled = true;
	return ctl_cancel(&r->c, r->id);
}

static int on_event(void *arg, const struct msg_reply *ev)
{
	struct run *r = arg;
	if (strcmp(ev->ev, "started") == 0 && !r->started) {
		r->start_ns = timearg_now();
		let_go(r, true);
	}
	return check_child(r);
}

static void pack_request(struct run *r)
{
	msgpack_packer *pk = ctl_request(&r->c, "watch", &r->id);
	msgpack_pack_map(pk, 5u + (r->interval_ns != 0));
	msg_pack_str(pk, "pids");
	msgpack_pack_array(pk, 1);
	msgpack_pack_uint64(pk, (uint64_t)r->pid);
	msg_pack_kv_bool(pk, "children", true);
	msg_pack_kv_bool(pk, "threads", r->threads);
	msg_pack_kv_bool(pk, "run", true);
	msg_pack_kv_str(pk, "label", r->label);
	if (r->interval_ns)
		msg_pack_kv_u64(pk, "interval", r->interval_ns);
}

/* getopt stops at the command's name ('+'), so `run make -j16` leaves
 * -j16 to make; "--" works too. */
static void stop_at_command(struct cmd_ctx *ctx)
{
	size_t n = strlen(ctx->sopts);
	if (n + 2 <= sizeof ctx->sopts && ctx->sopts[0] != '+') {
		memmove(ctx->sopts + 1, ctx->sopts, n + 1);
		ctx->sopts[0] = '+';
	}
}

static int parse(struct cmd_ctx *ctx, struct run *r, int argc, char **argv)
{
	int o;
	stop_at_command(ctx);
	while ((o = cmd_getopt(ctx, argc, argv)) != -1) {
		switch (o) {
		case CMD_OPT_DONE:
			return CMD_OPT_DONE;   /* --help, or a usage error: ctx->rc */
		case 't':
			r->threads = true;
			break;
		case OPT_JSON:
			r->json = true;
			break;
		case 'i':
			if (duration_parse(optarg, &r->interval_ns) < 0 || r->interval_ns < 100000000u)
				return cmd_usage_error(ctx, "--interval: '%s' is not a duration of 100ms or more",
						       optarg);
			break;
		}
	}
	return 0;
}

static void print_json(const struct run *r, const msgpack_object *res)
{
	int code = run_exit_code(r->wstatus);
	printf("{\"ev\":\"summary\",\"exit_code\":%d,\"signal\":", code);
	if (WIFSIGNALED(r->wstatus))
		printf("%d", WTERMSIG(r->wstatus));
	else
		fputs("null", stdout);
	printf(",\"started_ns\":%" PRIu64 ",\"ended_ns\":%" PRIu64, r->start_ns, r->end_ns);
	if (res && res->type == MSGPACK_OBJECT_MAP)
		out_json_entries(stdout, res);
	fputs("}\n", stdout);
}

/* Fork the child, blocked on the go pipe.  0, or an exit code. */
static int spawn(struct run *r, char **cmdv)
{
	int go[2];

	if (pipe2(go, O_CLOEXEC) < 0)
		return cmd_fail(CMD_EXIT_ERROR, "pipe: %s", strerror(errno));
	fflush(NULL);
	parent_signals(true);   /* before fork: no window where Ctrl-C kills rmonctl */
	r->pid = fork();
	if (r->pid < 0) {
		int e = errno;
		parent_signals(false);
		close(go[0]);
		close(go[1]);
		return cmd_fail(CMD_EXIT_ERROR, "fork: %s", strerror(e));
	}
	if (r->pid == 0)
		child(go[0], go[1], cmdv);
	close(go[0]);
	r->go_fd = go[1];
	return 0;
}

static int finish(struct run *r, struct cmd_ctx *ctx, int rc, const struct ctl_reply *rep)
{
	let_go(r, false);   /* not started: the child exits without running CMD */
	reap(r);
	r->end_ns = timearg_now();
	parent_signals(false);
	if (!r->started) {
		cmd_fail(rc ? rc : CMD_EXIT_ERROR, "%s", rc ? r->c.err : "rmond did not start the watch");
		return rc ? rc : CMD_EXIT_ERROR;
	}
	if (rc)
		cmd_fail(rc, "%s; no run summary", r->c.err);
	if (r->json) {
		print_json(r, rc ? NULL : rep->rep.result);
	} else {
		struct run_end e = { r->label, r->reaped, r->wstatus, r->start_ns, r->end_ns };
		fflush(stdout);
		watch_run_summary_print(stderr, rc ? NULL : rep->rep.result, &e,
					out_want_color(stderr, ctx->no_color));
	}
	return r->reaped ? run_exit_code(r->wstatus) : CMD_EXIT_ERROR;
}

static int run_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct run *r = calloc(1, sizeof *r);
	struct ctl_reply rep = { 0 };
	int rc;

	if (!r)
		return cmd_fail(CMD_EXIT_ERROR, "out of memory");
	r->go_fd = -1;
	if ((rc = parse(ctx, r, argc, argv)) != 0) {
		free(r);
		return rc == CMD_OPT_DONE ? ctx->rc : rc;
	}
	run_label(r->label, sizeof r->label, argc - optind, argv + optind);
	rc = ctl_open(&r->c, ctx->socket);
	if (rc) {   /* no daemon: the command does not run */
		cmd_fail(rc, "%s", r->c.err);
		ctl_close(&r->c);
		free(r);
		return rc;
	}
	uint64_t iv_ms = (r->interval_ns ? r->interval_ns : 1000000000u) / 1000000u;
	iv_ms = iv_ms < 100000000u ? iv_ms : 100000000u;
	r->c.timeout_ms = CTL_TIMEOUT_MS + (int)iv_ms * 2;
	r->grace_ms = 2000 + (int64_t)iv_ms * 2;
	r->c.wake = check_child;
	r->c.wake_arg = r;
	r->c.wake_ms = 200;
	if ((rc = spawn(r, argv + optind)) == 0) {
		pack_request(r);
		rc = ctl_send(&r->c);
		if (rc == 0)
			rc = ctl_wait(&r->c, r->id, on_event, r, &rep);
		rc = finish(r, ctx, rc, &rep);
	}
	ctl_reply_free(&rep);
	ctl_close(&r->c);
	free(r);
	return rc;
}

const struct cmd_entry cmd_run_entry = {
	.name = "run",
	.args_usage = "[--] CMD [ARGS...]",
	.min_args = 1,
	.max_args = -1,
	.opts = run_opts,
	.help = "run a command, follow its whole process tree, summarise it",
	.details =
		"CMD starts only once rmond follows it, so even its first, shortest\n"
		"children are counted. It keeps your terminal, stdin, stdout and stderr;\n"
		"Ctrl-C goes to CMD. Nothing is printed while it runs. Afterwards the\n"
		"summary goes to stderr: exit status, duration, CPU seconds, peak RSS and\n"
		"PSS, processes, the verdict (cpu-, io-, memory-, gpu-bound, mixed or\n"
		"idle) with its evidence, the processes by category, and the run's id\n"
		"and time range for `rmonctl query`. --json: the summary as one JSON\n"
		"object on stdout instead. rmonctl exits with CMD's status (128+N when\n"
		"killed by signal N; 127 when CMD is not found, 126 when it cannot be\n"
		"executed). Without rmond, CMD is not run (exit 3).\n"
		"\nExamples:\n"
		"  rmonctl run -- make -j16\n"
		"  rmonctl run --json -- make -s -j16 | tail -n 1 | jq .run.verdict\n",
	.exec = run_exec,
};
