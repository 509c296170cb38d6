/*
 * rmonctl get SELECTOR...: the newest value of each matching metric.
 * One concrete selector prints the bare value (for $(...) in scripts);
 * anything else prints "name value" lines.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "ctl.h"
#include "msg.h"
#include "out.h"

enum { OPT_JSON = 0x100 };

static const struct cmd_opt get_opts[] = {
	{ "json", OPT_JSON, NULL, "print the values array: [{name, value, unit, ts}...]", false },
	{ NULL, 0, NULL, NULL, false }
};

/* The value of one element of values; false when nil (no reading). */
static bool value_of(const msgpack_object *e, char *name, size_t nlen, double *v)
{
	const msgpack_object *val = msg_map_get(e, "value");

	if (!msg_get_str(e, "name", name, nlen))
		snprintf(name, nlen, "?");
	out_clean(name);
	if (!val || val->type == MSGPACK_OBJECT_NIL || !msg_get_f64(e, "value", v))
		return false;
	return !isnan(*v);
}

int cmd_get_print(FILE *out, FILE *err, const msgpack_object *values, bool single)
{
	char name[256], buf[64];
	double v;

	if (values->type != MSGPACK_OBJECT_ARRAY)
		return CMD_EXIT_ERROR;
	if (single && values->via.array.size == 1) {
		if (!value_of(&values->via.array.ptr[0], name, sizeof name, &v)) {
			fprintf(err, "rmonctl: %s: no reading (source not available, or no sample yet)\n",
				name);
			return CMD_EXIT_NOT_FOUND;
		}
		out_metric_value(buf, sizeof buf, name, v);
		fprintf(out, "%s\n", buf);
		return CMD_EXIT_OK;
	}
	for (uint32_t i = 0; i < values->via.array.size; i++) {
		if (value_of(&values->via.array.ptr[i], name, sizeof name, &v))
			out_metric_value(buf, sizeof buf, name, v);
		else
			snprintf(buf, sizeof buf, "-");
		fprintf(out, "%s %s\n", name, buf);
	}
	return CMD_EXIT_OK;
}

static int get_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	bool json = false;
	struct ctl_conn c;
	struct ctl_reply r = { 0 };
	uint64_t id;
	int o;

	while ((o = cmd_getopt(ctx, argc, argv)) != -1) {
		if (o == CMD_OPT_DONE)
			return ctx->rc;
		json = json || o == OPT_JSON;
	}
	int nsel = argc - optind;
	char **sel = argv + optind;
	bool single = nsel == 1 && !strchr(sel[0], '*');

	int rc = ctl_open(&c, ctx->socket);
	if (rc == 0) {
		msgpack_packer *pk = ctl_request(&c, "get", &id);
		msgpack_pack_map(pk, 1);
		msg_pack_str(pk, "selectors");
		msgpack_pack_array(pk, (size_t)nsel);
		for (int i = 0; i < nsel; i++)
			msg_pack_str(pk, sel[i]);
		rc = ctl_send(&c);
	}
	if (rc == 0)
		rc = ctl_wait(&c, id, NULL, NULL, &r);
	if (rc == 0) {
		const msgpack_object *values = r.rep.result ? msg_get_array(r.rep.result, "values") : NULL;
		if (!values) {
			rc = cmd_fail(CMD_EXIT_ERROR, "rmond's get reply has no values array");
		} else if (json) {
			out_json(stdout, values);
			fputc('\n', stdout);
		} else {
			rc = cmd_get_print(stdout, stderr, values, single);
		}
	} else {
		cmd_fail(rc, "%s", c.err);
	}
	ctl_reply_free(&r);
	ctl_close(&c);
	return rc;
}

const struct cmd_entry cmd_get_entry = {
	.name = "get",
	.args_usage = "SELECTOR...",
	.min_args = 1,
	.max_args = 256,
	.opts = get_opts,
	.help = "print the newest value of metrics (system.load1, 'cpu:*.busy_pct')",
	.details =
		"A selector is KIND[:KEY].FIELD; KEY may be '*'. `rmonctl metrics` lists them.\n"
		"With one selector and no '*', prints the bare value; otherwise one\n"
		"'name value' line per metric, '-' where a metric has no reading.\n"
		"Integers print as integers, decimals with up to 6 significant digits, no unit.\n"
		"\nexit: 4 when the single value has no reading or nothing matches,\n"
		"2 for a malformed selector or an unknown metric.\n",
	.exec = get_exec,
};
