/*
 * rmonctl metrics: the Prometheus exposition rmond serves (the `metrics`
 * op, the same text as its HTTP /metrics).  --list, --json and --markdown
 * print the compiled-in schema (common/schema.def) instead, with no
 * daemon needed; --markdown is docs/metrics.md.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "ctl.h"
#include "msg.h"
#include "out.h"
#include "schema.h"

enum { OPT_JSON = 0x100, OPT_MARKDOWN, OPT_LIST };

static const struct cmd_opt metrics_opts[] = {
	{ "list", OPT_LIST, NULL, "list the schema: selector, type, unit, help (no daemon)", false },
	{ "json", OPT_JSON, NULL, "the schema as {\"kinds\":[...]}, as the schema op (no daemon)",
	  false },
	{ "markdown", OPT_MARKDOWN, NULL, "the schema as docs/metrics.md (no daemon)", false },
	{ NULL, 0, NULL, NULL, false }
};

/* "system.load1" or "cpu:*.busy_pct": a selector that matches the field. */
static void pattern(char *buf, size_t len, const struct rm_kind_desc *k, const struct rm_field *f)
{
	snprintf(buf, len, "%s%s.%s", k->name, k->keyed ? ":*" : "", f->name);
}

void cmd_metrics_list(FILE *f)
{
	char sel[96];
	for (int i = 0; i < RM_KIND__COUNT; i++) {
		const struct rm_kind_desc *k = &rm_kinds[i];
		fprintf(f, "%s%s: %s\n", i ? "\n" : "", k->name, k->help);
		for (unsigned j = 0; j < k->nfields; j++) {
			pattern(sel, sizeof sel, k, &k->fields[j]);
			fprintf(f, "  %-30s %s %-5s %s\n", sel, schema_type_name(k->fields[j].type),
				k->fields[j].unit, k->fields[j].help);
		}
	}
}

static void json_kv(FILE *f, const char *key, const char *val, bool comma)
{
	fprintf(f, "%s\"%s\":", comma ? "," : "", key);
	out_json_str(f, val, strlen(val));
}

void cmd_metrics_json(FILE *f)
{
	fputs("{\"kinds\":[", f);
	for (int i = 0; i < RM_KIND__COUNT; i++) {
		const struct rm_kind_desc *k = &rm_kinds[i];
		fputs(i ? ",{" : "{", f);
		json_kv(f, "name", k->name, false);
		fprintf(f, ",\"keyed\":%s", k->keyed ? "true" : "false");
		json_kv(f, "help", k->help, true);
		fputs(",\"fields\":[", f);
		for (unsigned j = 0; j < k->nfields; j++) {
			fputs(j ? ",{" : "{", f);
			json_kv(f, "name", k->fields[j].name, false);
			json_kv(f, "type", schema_type_name(k->fields[j].type), true);
			json_kv(f, "unit", k->fields[j].unit, true);
			json_kv(f, "help", k->fields[j].help, true);
			fputc('}', f);
		}
		fputs("]}", f);
	}
	fputs("]}\n", f);
}

/* Table cell text: a '|' would end the cell. */
static void md_cell(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', f);
		fputc(*s, f);
	}
}

/* The units the schema uses, each once, in order of first use. */
static void md_units(FILE *f)
{
	static const char *const words[][2] = {
		{ "bytes", "bytes" }, { "B/s", "bytes per second" }, { "%", "percent" },
		{ "/s", "events per second" }, { "MHz", "megahertz" }, { "C", "degrees Celsius" },
		{ "ms", "milliseconds" }, { "s", "seconds" },
	};
	const char *seen[64];
	size_t n = 0;

	for (int i = 0; i < RM_KIND__COUNT; i++)
		for (unsigned j = 0; j < rm_kinds[i].nfields; j++) {
			const char *u = rm_kinds[i].fields[j].unit;
			size_t k = 0;
			while (k < n && strcmp(seen[k], u) != 0)
				k++;
			if (!*u || k < n || n == 64)
				continue;
			seen[n++] = u;
			const char *w = NULL;
			for (size_t x = 0; x < sizeof words / sizeof words[0]; x++)
				if (strcmp(words[x][0], u) == 0)
					w = words[x][1];
			if (w && strcmp(w, u) == 0)
				w = NULL;
			fprintf(f, "- `%s`%s%s\n", u, w ? ": " : "", w ? w : "");
		}
}

void cmd_metrics_markdown(FILE *f)
{
	char sel[96];

	fputs("# rmon metrics\n\n"
	      "<!-- Generated from common/schema.def by `rmonctl metrics --markdown`\n"
	      "     (`make docs`); edit the schema, not this file. -->\n\n"
	      "Every metric is named by a **selector** `KIND[:KEY].FIELD`, split at the\n"
	      "last dot and the first colon, so keys may contain dots\n"
	      "(`net:eth0.100.rx_bps`). `KEY` names an instance (a core, a disk, an\n"
	      "interface, a sensor) and may be `*` for every instance; `FIELD` may be `*`\n"
	      "for every field. Kinds without instances (`system`) take no key.\n"
	      "Examples: `system.load1`, `cpu:3.busy_pct`, `net:eth0.rx_bps`,\n"
	      "`disk:vda.busy_pct`, `cpu:*.busy_pct`.\n\n"
	      "```\n"
	      "rmonctl get system.mem_used_pct\n"
	      "rmonctl query 'net:*.rx_bps' --since 10m --format csv\n"
	      "```\n\n"
	      "Types: `u64` values are whole numbers and print as integers, `f64` values\n"
	      "print as decimals. Rates (`/s`, `B/s`, CPU `%`) are computed by rmond\n"
	      "between two samples, so the first sample of a rate has no reading. A value\n"
	      "without a reading (a source this machine lacks) is `nil` on the wire,\n"
	      "`null` in JSON and `-` in tables, never a zero.\n\n"
	      "Units (an empty unit is a plain count or ratio):\n\n", f);
	md_units(f);
	for (int i = 0; i < RM_KIND__COUNT; i++) {
		const struct rm_kind_desc *k = &rm_kinds[i];
		fprintf(f, "\n## %s\n\n%c", k->name, toupper((unsigned char)k->help[0]));
		md_cell(f, k->help + 1);
		fprintf(f, ".%s\n\n| selector | type | unit | help |\n|---|---|---|---|\n",
			k->keyed ? " One record per instance (`KEY`)." : "");
		for (unsigned j = 0; j < k->nfields; j++) {
			pattern(sel, sizeof sel, k, &k->fields[j]);
			fprintf(f, "| `%s` | %s | ", sel, schema_type_name(k->fields[j].type));
			md_cell(f, k->fields[j].unit);
			fputs(" | ", f);
			md_cell(f, k->fields[j].help);
			fputs(" |\n", f);
		}
	}
}

/* The daemon's exposition, as is. */
static int print_exposition(const struct cmd_ctx *ctx)
{
	struct ctl_conn c;
	struct ctl_reply r = { 0 };
	int rc = ctl_open(&c, ctx->socket);
	if (rc == 0)
		rc = ctl_call(&c, "metrics", NULL, NULL, &r);
	if (rc == 0) {
		const msgpack_object *text = r.rep.result ? msg_map_get(r.rep.result, "text") : NULL;
		if (text && text->type != MSGPACK_OBJECT_STR)
			text = NULL;
		if (text)
			fwrite(text->via.str.ptr, 1, text->via.str.size, stdout);
		else
			rc = cmd_fail(CMD_EXIT_ERROR, "metrics: the reply has no text");
	} else {
		cmd_fail(rc, "%s", c.err);
	}
	ctl_reply_free(&r);
	ctl_close(&c);
	return rc;
}

static int metrics_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	int o, mode = 0;

	while ((o = cmd_getopt(ctx, argc, argv)) != -1) {
		if (o == CMD_OPT_DONE)
			return ctx->rc;
		if (mode && mode != o)
			return cmd_usage_error(ctx, "--list, --json and --markdown exclude each other");
		mode = o;
	}
	if (mode == OPT_JSON)
		cmd_metrics_json(stdout);
	else if (mode == OPT_MARKDOWN)
		cmd_metrics_markdown(stdout);
	else if (mode == OPT_LIST)
		cmd_metrics_list(stdout);
	else
		return print_exposition(ctx);
	return CMD_EXIT_OK;
}

const struct cmd_entry cmd_metrics_entry = {
	.name = "metrics",
	.args_usage = "",
	.min_args = 0,
	.max_args = 0,
	.opts = metrics_opts,
	.help = "the Prometheus exposition rmond serves; --list: every metric of the schema",
	.details = "Without an option: the text rmond serves at http://ADDRESS/metrics when\n"
		   "prometheus.listen is set (docs/prometheus.md), fetched over the socket, so\n"
		   "it works with the listener off too.  --list, --json and --markdown need no\n"
		   "daemon: they print the schema compiled into rmonctl; `rmonctl version`\n"
		   "tells whether the running rmond was built from the same schema.\n",
	.exec = metrics_exec,
};
