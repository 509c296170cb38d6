/*
 * The command table, lookup by unique prefix, option parsing and help,
 * all generated from the entries of client/cmd-*.c.
 */
#include "cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

extern const struct cmd_entry cmd_config_entry;
extern const struct cmd_entry cmd_get_entry;
extern const struct cmd_entry cmd_mark_entry;
extern const struct cmd_entry cmd_metrics_entry;
extern const struct cmd_entry cmd_query_entry;
extern const struct cmd_entry cmd_run_entry;
extern const struct cmd_entry cmd_shutdown_entry;
extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_top_entry;
extern const struct cmd_entry cmd_version_entry;
extern const struct cmd_entry cmd_watch_entry;

const struct cmd_entry *const cmd_table[] = {
	&cmd_status_entry,
	&cmd_get_entry,
	&cmd_query_entry,
	&cmd_watch_entry,
	&cmd_top_entry,
	&cmd_run_entry,
	&cmd_mark_entry,
	&cmd_metrics_entry,
	&cmd_config_entry,
	&cmd_shutdown_entry,
	&cmd_version_entry,
	NULL
};

/* Abbreviations that named a command before a newer one made them
 * ambiguous; kept so that scripts written then still work.  Only
 * cmd_find (the real table) uses them. */
static const struct {
	const char *abbrev, *name;
} cmd_kept_abbrevs[] = {
	{ "m", "metrics" },   /* before mark */
	{ "s", "status" },    /* before shutdown */
};

/* Options every command takes. */
static const struct cmd_opt common_opts[] = {
	{ "socket", CMD_OPT_SOCKET, "PATH", "rmond's socket (default: $RMON_SOCKET, or see --help)", false },
	{ "no-color", CMD_OPT_NO_COLOR, NULL, "no colour (NO_COLOR=1 does the same)", false },
	{ "help", 'h', NULL, "this help", false },
	{ NULL, 0, NULL, NULL, false }
};

const struct cmd_entry *cmd_find_in(const struct cmd_entry *const *table, const char *name,
				    char *err, size_t errlen)
{
	const struct cmd_entry *found = NULL;
	size_t len = strlen(name), nfound = 0;

	for (size_t i = 0; table[i]; i++) {
		const struct cmd_entry *e = table[i];
		if (strcmp(e->name, name) == 0 || (e->alias && strcmp(e->alias, name) == 0))
			return e;
	}
	for (size_t i = 0; len > 0 && table[i]; i++)
		if (strncmp(table[i]->name, name, len) == 0) {
			found = table[i];
			nfound++;
		}
	if (nfound == 1)
		return found;
	if (nfound == 0) {
		snprintf(err, errlen, "unknown command '%s' (see 'rmonctl --help')", name);
		return NULL;
	}
	int off = snprintf(err, errlen, "ambiguous command '%s', could be:", name);
	for (size_t i = 0; table[i] && off >= 0 && (size_t)off < errlen; i++)
		if (strncmp(table[i]->name, name, len) == 0)
			off += snprintf(err + off, errlen - (size_t)off, " %s", table[i]->name);
	return NULL;
}

const struct cmd_entry *cmd_find(const char *name, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof cmd_kept_abbrevs / sizeof cmd_kept_abbrevs[0]; i++)
		if (strcmp(name, cmd_kept_abbrevs[i].abbrev) == 0)
			name = cmd_kept_abbrevs[i].name;
	return cmd_find_in(cmd_table, name, err, errlen);
}

static void add_opts(struct cmd_ctx *ctx, const struct cmd_opt *o, size_t *nl, size_t *ns)
{
	for (; o && o->name && *nl + 1 < CMD_OPTS_MAX; o++) {
		ctx->lopts[(*nl)++] = (struct option){ o->name, o->arg ? required_argument : no_argument,
						       NULL, o->val };
		if (o->val < 256 && *ns + 3 < sizeof ctx->sopts) {
			ctx->sopts[(*ns)++] = (char)o->val;
			if (o->arg)
				ctx->sopts[(*ns)++] = ':';
		}
	}
}

int cmd_run(const struct cmd_entry *e, struct cmd_ctx *ctx, int argc, char **argv)
{
	size_t nl = 0, ns = 0;

	ctx->entry = e;
	ctx->rc = 0;
	memset(ctx->lopts, 0, sizeof ctx->lopts);
	memset(ctx->sopts, 0, sizeof ctx->sopts);
	ctx->sopts[ns++] = ':';   /* report a missing value as ':' */
	add_opts(ctx, e->opts, &nl, &ns);
	add_opts(ctx, common_opts, &nl, &ns);
	optind = 0;               /* glibc: full reset, parsing starts at argv[1] */
	opterr = 0;
	return e->exec(ctx, argc, argv);
}

int cmd_getopt(struct cmd_ctx *ctx, int argc, char **argv)
{
	for (;;) {
		int c = getopt_long(argc, argv, ctx->sopts, ctx->lopts, NULL);
		switch (c) {
		case CMD_OPT_SOCKET:
			ctx->socket = optarg;
			continue;
		case CMD_OPT_NO_COLOR:
			ctx->no_color = true;
			continue;
		case 'h':
			cmd_print_help(stdout, ctx->entry);
			ctx->rc = CMD_EXIT_OK;
			return CMD_OPT_DONE;
		case ':':
			ctx->rc = cmd_usage_error(ctx, "option '%s' needs a value", argv[optind - 1]);
			return CMD_OPT_DONE;
		case '?':
			if (optopt && optopt < 256)
				ctx->rc = cmd_usage_error(ctx, "unknown option '-%c'", optopt);
			else
				ctx->rc = cmd_usage_error(ctx, "unknown option '%s'", argv[optind - 1]);
			return CMD_OPT_DONE;
		case -1: {
			int n = argc - optind;
			const struct cmd_entry *e = ctx->entry;
			if (n < e->min_args)
				ctx->rc = cmd_usage_error(ctx, "missing argument %s", e->args_usage);
			else if (e->max_args >= 0 && n > e->max_args)
				ctx->rc = cmd_usage_error(ctx, "unexpected argument '%s'",
							  argv[optind + e->max_args]);
			else
				return -1;
			return CMD_OPT_DONE;
		}
		default:
			return c;
		}
	}
}

/* Appends one word of the usage line, wrapping before column 78. */
static void usage_word(FILE *f, int *col, int indent, const char *w)
{
	int n = (int)strlen(w);
	if (*col + 1 + n > 78) {
		fprintf(f, "\n%*s", indent, "");
		*col = indent;
	}
	fprintf(f, " %s", w);
	*col += 1 + n;
}

static void print_usage_line(FILE *f, const struct cmd_entry *e)
{
	char w[64];
	int col = fprintf(f, "usage: rmonctl %s", e->name);
	int indent = col;

	for (const struct cmd_opt *o = e->opts; o && o->name; o++) {
		snprintf(w, sizeof w, "%s--%s%s%s%s", o->required ? "" : "[", o->name,
			 o->arg ? " " : "", o->arg ? o->arg : "", o->required ? "" : "]");
		usage_word(f, &col, indent, w);
	}
	if (e->args_usage && *e->args_usage)
		usage_word(f, &col, indent, e->args_usage);
	fputc('\n', f);
}

int cmd_usage_error(const struct cmd_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "rmonctl %s: ", ctx->entry->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	print_usage_line(stderr, ctx->entry);
	return CMD_EXIT_USAGE;
}

int cmd_fail(int rc, const char *fmt, ...)
{
	va_list ap;
	fputs("rmonctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return rc;
}

int cmd_exit_for_error(const char *code)
{
	if (strcmp(code, "not_found") == 0)
		return CMD_EXIT_NOT_FOUND;
	if (strcmp(code, "bad_args") == 0)
		return CMD_EXIT_USAGE;
	return CMD_EXIT_ERROR;
}

static void print_opts(FILE *f, const struct cmd_opt *o)
{
	for (; o && o->name; o++) {
		char left[64];
		if (o->val < 256)
			snprintf(left, sizeof left, "-%c, --%s%s%s", o->val, o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof left, "    --%s%s%s", o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-22s %s\n", left, o->help);
	}
}

void cmd_print_help(FILE *f, const struct cmd_entry *e)
{
	print_usage_line(f, e);
	fprintf(f, "\n%s\n", e->help);
	if (e->details)
		fprintf(f, "\n%s", e->details);
	fputs("\noptions:\n", f);
	print_opts(f, e->opts);
	print_opts(f, common_opts);
}

void cmd_print_usage(FILE *f)
{
	fputs("usage: rmonctl [--socket PATH] [--no-color] COMMAND [ARGS...]\n"
	      "\nrmonctl talks to rmond, the resource monitor daemon.\n"
	      "\ncommands:\n", f);
	for (size_t i = 0; cmd_table[i]; i++)
		fprintf(f, "  %-9s %s\n", cmd_table[i]->name, cmd_table[i]->help);
	fprintf(f, "  %-9s %s\n", "help", "help on a command: rmonctl help COMMAND");
	fputs("\nA unique prefix names a command too ('st' for status).\n"
	      "Every command takes --help; most take --json.\n"
	      "\nglobal options:\n"
	      "      --socket PATH      rmond's socket; default: $RMON_SOCKET, else\n"
	      "                         /run/rmon/rmond.sock for root, else your own\n"
	      "                         $XDG_RUNTIME_DIR/rmon/rmond.sock (without\n"
	      "                         XDG_RUNTIME_DIR: /tmp/rmon-$UID/rmond.sock)\n"
	      "                         if it exists, else the service's\n"
	      "                         /run/rmon/rmond.sock if that exists\n"
	      "      --no-color         no ANSI colour (NO_COLOR=1 does the same)\n"
	      "  -h, --help             this help\n"
	      "  -V, --version          print rmonctl's version\n"
	      "\nexit codes:\n"
	      "  0  success\n"
	      "  1  error (the daemon refused or failed, bad reply, I/O)\n"
	      "  2  usage: bad option, argument or selector\n"
	      "  3  rmond unreachable: not running or not answering\n"
	      "  4  not found: no such metric or instance, or no reading\n", f);
}
