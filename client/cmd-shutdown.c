/*
 * rmonctl shutdown: rmond stops cleanly, as on SIGTERM (the tick in
 * progress finishes, the ring is synced, the socket removed).  Root and
 * access.admins / access.admin_groups only.  Silent on success.
 */
#include <stdio.h>

#include "cmd.h"
#include "ctl.h"

static const struct cmd_opt shutdown_opts[] = {
	{ NULL, 0, NULL, NULL, false }
};

static int shutdown_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct ctl_conn c;
	struct ctl_reply r = { 0 };
	int o;
	while ((o = cmd_getopt(ctx, argc, argv)) != -1)
		if (o == CMD_OPT_DONE)
			return ctx->rc;
	int rc = ctl_open(&c, ctx->socket);
	if (rc == 0)
		rc = ctl_call(&c, "shutdown", NULL, NULL, &r);
	if (rc)
		cmd_fail(rc, "%s", c.err);
	ctl_reply_free(&r);
	ctl_close(&c);
	return rc;
}

const struct cmd_entry cmd_shutdown_entry = {
	.name = "shutdown",
	.args_usage = "",
	.min_args = 0,
	.max_args = 0,
	.opts = shutdown_opts,
	.help = "stop rmond cleanly, as SIGTERM does (admins)",
	.details =
		"For root and access.admins / access.admin_groups only; others get\n"
		"permission_denied (exit 1). Prints nothing and exits 0 once rmond has\n"
		"accepted; it then stops after the tick in progress, syncs the ring and\n"
		"removes its socket. Under systemd, prefer systemctl stop rmond (with\n"
		"Restart=on-failure a clean exit stays stopped).\n",
	.exec = shutdown_exec,
};
