/*
 * rmonctl mark TEXT: an annotation in rmond's timeline ("epoch 3"), for
 * scripts.  Silent on success.  The text is checked here first, so a
 * long one is a usage error before any round trip.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "ctl.h"
#include "msg.h"
#include "out.h"

#define MARK_TEXT_MAX 63   /* bytes; protocol.md, mark */

enum { OPT_JSON = 0x100, OPT_PID };

static const struct cmd_opt mark_opts[] = {
	{ "pid", OPT_PID, "N", "the process the mark is about", false },
	{ "json", OPT_JSON, NULL, "print the result ({\"ts\":...}) instead of nothing", false },
	{ NULL, 0, NULL, NULL, false }
};

/* The words joined by single spaces; -1 when over MARK_TEXT_MAX bytes. */
static int join(char *buf, size_t len, int argc, char **argv)
{
	size_t off = 0;
	buf[0] = '\0';
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);
		if (off + (i > 0) + n > MARK_TEXT_MAX || off + (i > 0) + n >= len)
			return -1;
		if (i > 0)
			buf[off++] = ' ';
		memcpy(buf + off, argv[i], n + 1);
		off += n;
	}
	return 0;
}

static int mark_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	char text[MARK_TEXT_MAX + 1];
	bool json = false, has_pid = false;
	uint64_t pid = 0, id;
	struct ctl_conn c;
	struct ctl_reply r = { 0 };
	int o;

	while ((o = cmd_getopt(ctx, argc, argv)) != -1) {
		if (o == CMD_OPT_DONE)
			return ctx->rc;
		if (o == OPT_JSON)
			json = true;
		if (o == OPT_PID) {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || *optarg == '-' || v == 0 || v > 0x7fffffff)
				return cmd_usage_error(ctx, "--pid must be a process id, not '%s'", optarg);
			pid = v;
			has_pid = true;
		}
	}
	if (join(text, sizeof text, argc - optind, argv + optind) < 0)
		return cmd_usage_error(ctx, "the text is longer than %d bytes", MARK_TEXT_MAX);
	if (text[0] == '\0')
		return cmd_usage_error(ctx, "the text is empty");
	int rc = ctl_open(&c, ctx->socket);
	if (rc == 0) {
		msgpack_packer *pk = ctl_request(&c, "mark", &id);
		msgpack_pack_map(pk, has_pid ? 2 : 1);
		msg_pack_kv_str(pk, "text", text);
		if (has_pid)
			msg_pack_kv_u64(pk, "pid", pid);
		rc = ctl_send(&c);
	}
	if (rc == 0)
		rc = ctl_wait(&c, id, NULL, NULL, &r);
	if (rc) {
		cmd_fail(rc, "%s", c.err);
	} else if (json) {
		out_json(stdout, r.rep.result);
		fputc('\n', stdout);
	}
	ctl_reply_free(&r);
	ctl_close(&c);
	return rc;
}

const struct cmd_entry cmd_mark_entry = {
	.name = "mark",
	.args_usage = "TEXT...",
	.min_args = 1,
	.max_args = -1,
	.opts = mark_opts,
	.help = "write an annotation (\"epoch 3\") into rmond's timeline",
	.details =
		"The words of TEXT are joined by spaces; 1 to 63 bytes. rmond records\n"
		"it in its mark lane with the time, the sender's pid and uid and --pid.\n"
		"Prints nothing and exits 0 once rmond has recorded it.\n"
		"\nExamples:\n"
		"  rmonctl mark \"epoch 3\"\n"
		"  rmonctl mark --pid $$ checkpoint saved\n",
	.exec = mark_exec,
};
