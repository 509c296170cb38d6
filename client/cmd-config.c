/*
 * rmonctl config show|reload.  show prints the daemon's effective config
 * as YAML (what `rmond -n` prints for a file, and what rmond reads back);
 * reload asks rmond to re-read its config file (admins only): what changed
 * and which keys need a restart go to stdout; a rejected file's reason
 * (file:line:col: ...) goes to stderr and the exit code is 1.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "ctl.h"
#include "msg.h"
#include "out.h"

enum { OPT_JSON = 0x100 };

static const struct cmd_opt config_opts[] = {
	{ "json", OPT_JSON, NULL, "print the reply as JSON", false },
	{ NULL, 0, NULL, NULL, false }
};

/* show: the YAML as is (it is rmond's own output, escaped by config_dump). */
static int print_show(const msgpack_object *res)
{
	const msgpack_object *text = msg_map_get(res, "config");
	if (!text || text->type != MSGPACK_OBJECT_STR)
		return cmd_fail(CMD_EXIT_ERROR, "config show: the reply has no config text");
	fwrite(text->via.str.ptr, 1, text->via.str.size, stdout);
	return CMD_EXIT_OK;
}

static int print_reload(const msgpack_object *res)
{
	char path[4096] = "", err[2048];
	bool applied = false;
	const msgpack_object *notes = msg_get_array(res, "notes");
	(void)msg_get_str(res, "path", path, sizeof path);
	(void)msg_get_bool(res, "applied", &applied);
	for (uint32_t i = 0; notes && i < notes->via.array.size; i++) {
		const msgpack_object *n = &notes->via.array.ptr[i];
		if (n->type == MSGPACK_OBJECT_STR)
			printf("%.*s\n", (int)n->via.str.size, n->via.str.ptr);
	}
	if (!applied) {
		if (!msg_get_str(res, "error", err, sizeof err))
			snprintf(err, sizeof err, "rejected (no reason given)");
		return cmd_fail(CMD_EXIT_ERROR, "config reload rejected, rmond keeps its running "
		                "config: %s", out_clean(err));
	}
	printf("reloaded %s\n", path[0] ? out_clean(path) : "(no config file: built-in defaults)");
	return CMD_EXIT_OK;
}

static int config_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	bool json = false;
	uint64_t id;
	struct ctl_conn c;
	struct ctl_reply r = { 0 };
	int o;

	while ((o = cmd_getopt(ctx, argc, argv)) != -1) {
		if (o == CMD_OPT_DONE)
			return ctx->rc;
		if (o == OPT_JSON)
			json = true;
	}
	const char *action = argv[optind];
	if (strcmp(action, "show") != 0 && strcmp(action, "reload") != 0)
		return cmd_usage_error(ctx, "expected show or reload, not '%s'", action);
	int rc = ctl_open(&c, ctx->socket);
	if (rc == 0) {
		msgpack_packer *pk = ctl_request(&c, "config", &id);
		msgpack_pack_map(pk, 1);
		msg_pack_kv_str(pk, "action", action);
		rc = ctl_send(&c);
	}
	if (rc == 0)
		rc = ctl_wait(&c, id, NULL, NULL, &r);
	if (rc) {
		cmd_fail(rc, "%s", c.err);
	} else if (json) {
		out_json(stdout, r.rep.result);
		fputc('\n', stdout);
		bool applied = true;
		if (strcmp(action, "reload") == 0 && msg_get_bool(r.rep.result, "applied", &applied) &&
		    !applied)
			rc = CMD_EXIT_ERROR;
	} else {
		rc = strcmp(action, "show") == 0 ? print_show(r.rep.result) : print_reload(r.rep.result);
	}
	ctl_reply_free(&r);
	ctl_close(&c);
	return rc;
}

const struct cmd_entry cmd_config_entry = {
	.name = "config",
	.args_usage = "show|reload",
	.min_args = 1,
	.max_args = 1,
	.opts = config_opts,
	.help = "print rmond's effective config, or make it re-read its config file",
	.details =
		"show: the config rmond runs with, as YAML that rmond -c reads back\n"
		"(anyone may read it; it holds paths, intervals and uids, no secrets).\n"
		"\n"
		"reload: rmond re-reads the file it was started with (-c; without one,\n"
		"the built-in defaults), as on SIGHUP. For root and access.admins /\n"
		"access.admin_groups only. A valid file is applied without losing\n"
		"history or dropping clients; what changed is printed, and each key\n"
		"that needs a restart (socket, state_dir, procfs, sysfs, ring.*,\n"
		"protocol.frame_max, gpu.nvidia.library) is named and keeps its value.\n"
		"An invalid file is rejected: the reason (file:line:col: ...) goes to\n"
		"stderr, rmond keeps its running config, and the exit code is 1.\n"
		"\nExamples:\n"
		"  rmonctl config show\n"
		"  sudo rmonctl config reload\n",
	.exec = config_exec,
};
