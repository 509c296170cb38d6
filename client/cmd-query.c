/*
 * rmonctl query SELECTOR... --since T: history from the ring, as a table
 * (default), CSV or JSON.  The arguments are checked here first, so a typo
 * is a usage error (2) that names the option, not a round trip.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "ctl.h"
#include "duration.h"
#include "msg.h"
#include "out.h"
#include "timearg.h"

enum { OPT_SINCE = 0x100, OPT_UNTIL, OPT_STEP, OPT_AGG, OPT_FORMAT, OPT_JSON, OPT_CSV, OPT_RUN };

static const struct cmd_opt query_opts[] = {
	{ "since", OPT_SINCE, "T", "start (required unless --run): 5m (ago), @EPOCH, 'YYYY-MM-DD HH:MM'", false },
	{ "run", OPT_RUN, "ID", "a finished run (the id rmonctl run prints): its time span, and for proc:/thread: only its processes", false },
	{ "until", OPT_UNTIL, "T", "end, same forms (default: now)", false },
	{ "step", OPT_STEP, "D", "bucket width (1s, 1m); default: raw samples", false },
	{ "agg", OPT_AGG, "F", "with --step: avg (default), min, max, last, p95", false },
	{ "format", OPT_FORMAT, "F", "table (default), csv or json", false },
	{ "json", OPT_JSON, NULL, "same as --format json", false },
	{ "csv", OPT_CSV, NULL, "same as --format csv", false },
	{ NULL, 0, NULL, NULL, false }
};

struct query {
	const char *since_s, *until_s, *step_s, *agg, *format, *run_s;
	uint64_t run;
	uint64_t since, until, step;
	bool has_until;
	struct out_series_set ss;
	char err[256];
};

static bool one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

static int set_format(struct cmd_ctx *ctx, struct query *q, const char *f)
{
	static const char *const formats[] = { "table", "csv", "json", NULL };
	if (!one_of(f, formats))
		return cmd_usage_error(ctx, "--format must be table, csv or json, not '%s'", f);
	if (q->format && strcmp(q->format, f) != 0)
		return cmd_usage_error(ctx, "two output formats given: %s and %s", q->format, f);
	q->format = f;
	return 0;
}

/* Everything checkable without the daemon. */
static int check(struct cmd_ctx *ctx, struct query *q)
{
	static const char *const aggs[] = { "avg", "min", "max", "last", "p95", NULL };
	uint64_t now = timearg_now();

	if (q->run_s) {
		char *end;
		q->run = strtoull(q->run_s, &end, 10);
		if (!*q->run_s || *end)
			return cmd_usage_error(ctx, "--run: '%s' is not a run id", q->run_s);
	}
	if (!q->since_s && !q->run_s)
		return cmd_usage_error(ctx, "--since is required (for example --since 5m), or --run ID");
	q->since = now;
	if (q->since_s && timearg_parse(q->since_s, now, &q->since, q->err, sizeof q->err) < 0)
		return cmd_usage_error(ctx, "--since: %s", q->err);
	q->has_until = q->until_s != NULL;
	q->until = now;
	if (q->has_until && timearg_parse(q->until_s, now, &q->until, q->err, sizeof q->err) < 0)
		return cmd_usage_error(ctx, "--until: %s", q->err);
	if (q->since_s && q->since > q->until)
		return cmd_usage_error(ctx, "--since %s is after --until %s", q->since_s,
				       q->until_s ? q->until_s : "now");
	if (q->step_s && (duration_parse(q->step_s, &q->step) < 0 || q->step < 1000000))
		return cmd_usage_error(ctx, "--step: '%s' is not a duration of 1ms or more", q->step_s);
	if (q->agg && !q->step_s)
		return cmd_usage_error(ctx, "--agg needs --step");
	if (q->agg && !one_of(q->agg, aggs))
		return cmd_usage_error(ctx, "--agg must be avg, min, max, last or p95, not '%s'", q->agg);
	return 0;
}

static void pack_args(msgpack_packer *pk, const struct query *q, int nsel, char **sel)
{
	msgpack_pack_map(pk, 1u + (q->since_s != NULL) + (q->run_s != NULL) + q->has_until +
	                     (q->step_s != NULL) + (q->agg != NULL));
	msg_pack_str(pk, "selectors");
	msgpack_pack_array(pk, (size_t)nsel);
	for (int i = 0; i < nsel; i++)
		msg_pack_str(pk, sel[i]);
	if (q->since_s)
		msg_pack_kv_u64(pk, "since", q->since);
	if (q->run_s)
		msg_pack_kv_u64(pk, "run", q->run);
	if (q->has_until)
		msg_pack_kv_u64(pk, "until", q->until);
	if (q->step_s)
		msg_pack_kv_u64(pk, "step", q->step);
	if (q->agg)
		msg_pack_kv_str(pk, "agg", q->agg);
}

static int on_event(void *arg, const struct msg_reply *ev)
{
	struct query *q = arg;
	if (strcmp(ev->ev, "series") != 0)
		return 0;
	return out_series_add(&q->ss, ev->data, q->err, sizeof q->err) < 0 ? CMD_EXIT_ERROR : 0;
}

static int run(struct cmd_ctx *ctx, struct query *q, int nsel, char **sel)
{
	struct ctl_conn c;
	struct ctl_reply r = { 0 };
	uint64_t id;

	int rc = ctl_open(&c, ctx->socket);
	if (rc == 0) {
		pack_args(ctl_request(&c, "query", &id), q, nsel, sel);
		rc = ctl_send(&c);
	}
	if (rc == 0)
		rc = ctl_wait(&c, id, on_event, q, &r);
	if (rc && q->err[0])
		cmd_fail(rc, "bad series from rmond: %s", q->err);
	else if (rc)
		cmd_fail(rc, "%s", c.err);
	ctl_reply_free(&r);
	ctl_close(&c);
	return rc;
}

static int query_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct query q = { 0 };
	int o, rc = 0;

	while (rc == 0 && (o = cmd_getopt(ctx, argc, argv)) != -1) {
		switch (o) {
		case CMD_OPT_DONE: return ctx->rc;
		case OPT_SINCE: q.since_s = optarg; break;
		case OPT_RUN: q.run_s = optarg; break;
		case OPT_UNTIL: q.until_s = optarg; break;
		case OPT_STEP: q.step_s = optarg; break;
		case OPT_AGG: q.agg = optarg; break;
		case OPT_FORMAT: rc = set_format(ctx, &q, optarg); break;
		case OPT_JSON: rc = set_format(ctx, &q, "json"); break;
		case OPT_CSV: rc = set_format(ctx, &q, "csv"); break;
		}
	}
	if (rc || (rc = check(ctx, &q)) != 0)
		return rc;
	rc = run(ctx, &q, argc - optind, argv + optind);
	if (rc == 0) {
		out_series_finish(&q.ss);
		if (q.format && strcmp(q.format, "json") == 0)
			out_series_json(stdout, &q.ss);
		else if (q.format && strcmp(q.format, "csv") == 0)
			out_series_csv(stdout, &q.ss);
		else
			out_series_table(stdout, &q.ss, q.until - q.since > UINT64_C(86400000000000));
	}
	out_series_free(&q.ss);
	return rc;
}

const struct cmd_entry cmd_query_entry = {
	.name = "query",
	.args_usage = "SELECTOR...",
	.min_args = 1,
	.max_args = 256,
	.opts = query_opts,
	.help = "print history from the ring as a table, CSV or JSON",
	.details =
		"Examples:\n"
		"  rmonctl query system.load1 --since 10m\n"
		"  rmonctl query 'cpu:*.busy_pct' --since 1h --step 1m --agg max\n"
		"  rmonctl query 'net:*.rx_bps' --since 09:00 --until 10:30 --csv\n"
		"\nTimes: a duration ago (5m, 1h30m), now, @EPOCH_SECONDS, local\n"
		"'YYYY-MM-DD[ HH:MM[:SS]]', 'HH:MM[:SS]' (the latest such time past),\n"
		"or RFC 3339 (2026-11-21T11:20:00Z, 2026-11-21T12:20:00+01:00).\n"
		"\nTable: local time (with the date over ranges of more than a day), one\n"
		"column per series, '-' where a series has no point. CSV: ts_ns,time,...\n"
		"with ISO 8601 UTC times, empty where no point. JSON: {\"series\":[{name,\n"
		"unit, t, v}]} with nanosecond times and null for no reading.\n",
	.exec = query_exec,
};
