/*
 * rmonctl top: the daemon's process table, sorted by CPU, memory, IO or GPU memory,
 * as one table (drawn by watch-view.c) or the raw result with --json.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "ctl.h"
#include "msg.h"
#include "out.h"
#include "watch-view.h"

enum { OPT_JSON = 0x100, OPT_SORT };

static const struct cmd_opt top_opts[] = {
	{ "sort", OPT_SORT, "KEY", "cpu (default), mem, io or gpu (GPU memory)", false },
	{ "rows", 'n', "N", "show N processes, 1 to 1000 (default 20)", false },
	{ "json", OPT_JSON, NULL, "print the raw top result as one JSON object", false },
	{ NULL, 0, NULL, NULL, false }
};

void cmd_top_render(FILE *f, const msgpack_object *result, const struct proc_table *t, bool header)
{
	uint64_t total, ts;
	const msgpack_object *procs = msg_get_array(result, "procs");

	if (header && msg_get_u64(result, "processes", &total)) {
		char when[40] = "";
		if (msg_get_u64(result, "ts", &ts))
			out_time_local(when, sizeof when, ts, false);
		fprintf(f, "%" PRIu64 " processes%s%s\n", total, when[0] ? " at " : "", when);
	}
	proc_table_print(f, procs, t);
}

static int parse_rows(const char *s, uint64_t *n)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < 1 || v > 1000)
		return -1;
	*n = v;
	return 0;
}

static int top_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *sort = "cpu";
	uint64_t rows = 20, id;
	bool json = false;
	struct ctl_conn c;
	struct ctl_reply r = { 0 };
	int o;

	while ((o = cmd_getopt(ctx, argc, argv)) != -1) {
		switch (o) {
		case CMD_OPT_DONE:
			return ctx->rc;
		case OPT_JSON:
			json = true;
			break;
		case OPT_SORT:
			if (strcmp(optarg, "cpu") && strcmp(optarg, "mem") && strcmp(optarg, "io") &&
			    strcmp(optarg, "gpu"))
				return cmd_usage_error(ctx, "--sort must be cpu, mem, io or gpu, not '%s'",
						       optarg);
			sort = optarg;
			break;
		case 'n':
			if (parse_rows(optarg, &rows) < 0)
				return cmd_usage_error(ctx, "-n must be a number from 1 to 1000, not '%s'",
						       optarg);
			break;
		}
	}
	int rc = ctl_open(&c, ctx->socket);
	if (rc == 0) {
		msgpack_packer *pk = ctl_request(&c, "top", &id);
		msgpack_pack_map(pk, 2);
		msg_pack_kv_str(pk, "sort", sort);
		msg_pack_kv_u64(pk, "n", rows);
		rc = ctl_send(&c);
	}
	if (rc == 0)
		rc = ctl_wait(&c, id, NULL, NULL, &r);
	if (rc) {
		cmd_fail(rc, "%s", c.err);
	} else if (json) {
		out_json(stdout, r.rep.result);
		fputc('\n', stdout);
	} else {
		bool tty = isatty(STDOUT_FILENO);
		struct proc_table t = { tty ? out_term_width(stdout) : 0, true,
					out_want_color(stdout, ctx->no_color), 0 };
		cmd_top_render(stdout, r.rep.result, &t, tty);
	}
	ctl_reply_free(&r);
	ctl_close(&c);
	return rc;
}

const struct cmd_entry cmd_top_entry = {
	.name = "top",
	.args_usage = "",
	.min_args = 0,
	.max_args = 0,
	.opts = top_opts,
	.help = "the busiest processes: CPU, memory, IO, GPU memory, category, command",
	.details =
		"One table from rmond's process table: PID USER S CPU% RSS READ/s WRITE/s\n"
		"THR CATEGORY COMMAND, and GPUMEM after RSS when a process holds GPU memory\n"
		"(NVML for NVIDIA, DRM fdinfo for amdgpu/i915/xe; --sort gpu puts those\n"
		"first). CPU% counts one core as 100, so a process using\n"
		"several cores shows more. COMMAND is the command line, or [comm] when\n"
		"rmond may not show it to you. On a terminal the table fits its width\n"
		"(the command is cut, then columns are dropped); piped, nothing is cut.\n"
		"\nExamples:\n"
		"  rmonctl top\n"
		"  rmonctl top --sort mem -n 5\n"
		"  rmonctl top --sort gpu\n"
		"  rmonctl top --json | jq '.procs[0]'\n",
	.exec = top_exec,
};
