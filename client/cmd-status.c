/*
 * rmonctl status: one screen for a person, from the `status` op (drawn by
 * status-view.c), or the raw result with --json.
 */
#include <stdio.h>

#include "cmd.h"
#include "ctl.h"
#include "out.h"

enum { OPT_JSON = 0x100 };

static const struct cmd_opt status_opts[] = {
	{ "json", OPT_JSON, NULL, "print the raw status result as one JSON object", false },
	{ NULL, 0, NULL, NULL, false }
};

static int status_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	bool json = false;
	struct ctl_conn c;
	struct ctl_reply r = { 0 };
	int o;

	while ((o = cmd_getopt(ctx, argc, argv)) != -1) {
		if (o == CMD_OPT_DONE)
			return ctx->rc;
		json = json || o == OPT_JSON;
	}
	int rc = ctl_open(&c, ctx->socket);
	if (rc == 0)
		rc = ctl_call(&c, "status", NULL, NULL, &r);
	if (rc) {
		cmd_fail(rc, "%s", c.err);
	} else if (json) {
		out_json(stdout, r.rep.result);
		fputc('\n', stdout);
	} else {
		struct status_view v = { out_want_color(stdout, ctx->no_color), out_term_width(stdout) };
		cmd_status_render(stdout, r.rep.result, &v);
	}
	ctl_reply_free(&r);
	ctl_close(&c);
	return rc;
}

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.args_usage = "",
	.min_args = 0,
	.max_args = 0,
	.opts = status_opts,
	.help = "one screen: daemon health and the latest sample of everything",
	.details =
		"Shows rmond's version, uptime and socket; CPU per core (busy bar, user,\n"
		"system, iowait, steal, MHz, temperature); memory and swap; load, tasks,\n"
		"context switches and interrupts; pressure (PSI); disks; network\n"
		"interfaces; temperatures; the sampler's health and the history ring.\n"
		"'-' marks a value without a reading. Colour only on a terminal.\n",
	.exec = status_exec,
};
