/*
 * rmonctl version: this client's version, protocol and schema hash, and
 * the daemon's as told in hello.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "ctl.h"
#include "out.h"
#include "proto.h"
#include "schema.h"

enum { OPT_JSON = 0x100 };

static const struct cmd_opt version_opts[] = {
	{ "json", OPT_JSON, NULL, "print one JSON object", false },
	{ NULL, 0, NULL, NULL, false }
};

/* Hashes compare as numbers, so letter case and leading zeros don't matter. */
static bool hash_match(const char *theirs, uint64_t ours)
{
	char *end;
	unsigned long long v = strtoull(theirs, &end, 16);
	return *theirs && *end == '\0' && v == ours;
}

static const char *daemon_state(const struct ctl_conn *c, int rc)
{
	if (rc == CMD_EXIT_UNREACHABLE)
		return c->connected ? "not answering" : "not running";
	return c->connected ? "refused the connection" : "cannot connect";
}

static void print_json(const struct ctl_conn *c, bool up, const char *ours)
{
	printf("{\"client\":{\"version\":\"%s\",\"protocol\":%d,\"protocol_minor\":%d,"
	       "\"schema_hash\":\"%s\"},\"server\":", RMON_VERSION, PROTO_VERSION,
	       PROTO_VERSION_MINOR, ours);
	if (!up) {
		fputs("null,\"schema_match\":null}\n", stdout);
		return;
	}
	fputs("{\"version\":", stdout);
	out_json_str(stdout, c->server, strlen(c->server));
	printf(",\"protocol\":%" PRIu64 ",\"protocol_minor\":%" PRIu64 ",\"schema_hash\":",
	       c->protocol, c->protocol_minor);
	out_json_str(stdout, c->schema_hash, strlen(c->schema_hash));
	fputs(",\"socket\":", stdout);
	out_json_str(stdout, c->path, strlen(c->path));
	printf("},\"schema_match\":%s}\n",
	       hash_match(c->schema_hash, schema_hash()) ? "true" : "false");
}

static int version_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	bool json = false;
	char ours[20];
	struct ctl_conn c;
	int o;

	while ((o = cmd_getopt(ctx, argc, argv)) != -1) {
		if (o == CMD_OPT_DONE)
			return ctx->rc;
		json = json || o == OPT_JSON;
	}
	snprintf(ours, sizeof ours, "%016" PRIx64, schema_hash());
	int rc = ctl_open(&c, ctx->socket);
	if (json) {
		print_json(&c, rc == 0, ours);
	} else {
		printf("rmonctl %s (protocol %d.%d, schema %s)\n", RMON_VERSION, PROTO_VERSION,
		       PROTO_VERSION_MINOR, ours);
		if (rc)
			printf("rmond: %s (socket %s)\n", daemon_state(&c, rc), c.path);
		else
			printf("%s (protocol %" PRIu64 ".%" PRIu64 ", schema %s) at %s\nschema: %s\n",
			       c.server[0] ? c.server : "rmond (unnamed)", c.protocol, c.protocol_minor,
			       c.schema_hash[0] ? c.schema_hash : "?", c.path,
			       hash_match(c.schema_hash, schema_hash())
				       ? "match"
				       : "DIFFERENT: rmonctl and rmond were built from different schemas");
	}
	if (rc)
		cmd_fail(rc, "%s", c.err);
	ctl_close(&c);
	return rc;
}

const struct cmd_entry cmd_version_entry = {
	.name = "version",
	.args_usage = "",
	.min_args = 0,
	.max_args = 0,
	.opts = version_opts,
	.help = "client and daemon versions, protocol versions, schema match",
	.details = "Works without a daemon: then rmond is reported as not running (exit 3).\n",
	.exec = version_exec,
};
