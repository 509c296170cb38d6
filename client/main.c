/*
 * rmonctl: the thin client of rmond.
 *
 *   rmonctl [--socket PATH] [--no-color] COMMAND [ARGS...]
 *
 * Global options come before the command; the command's own options (and
 * the common ones again) after it.  Commands live in client/cmd-*.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

enum { OPT_SOCKET = 0x100, OPT_NO_COLOR };

static const struct option global_opts[] = {
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "rmonctl: %s '%s'\n"
			"usage: rmonctl [--socket PATH] [--no-color] COMMAND [ARGS...] "
			"(rmonctl --help lists the commands)\n", what, arg);
	return CMD_EXIT_USAGE;
}

static int help(int argc, char **argv)
{
	char err[256];
	const struct cmd_entry *e;

	if (argc < 2) {
		cmd_print_usage(stdout);
		return CMD_EXIT_OK;
	}
	if (!(e = cmd_find(argv[1], err, sizeof err)))
		return cmd_fail(CMD_EXIT_USAGE, "%s", err);
	cmd_print_help(stdout, e);
	return CMD_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct cmd_ctx ctx = { 0 };
	const struct cmd_entry *e;
	char err[256];
	int c;

	opterr = 0;
	/* '+': stop at the command name; ':': report a missing value. */
	while ((c = getopt_long(argc, argv, "+:hV", global_opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET:
			ctx.socket = optarg;
			break;
		case OPT_NO_COLOR:
			ctx.no_color = true;
			break;
		case 'h':
			cmd_print_usage(stdout);
			return CMD_EXIT_OK;
		case 'V':
			printf("rmonctl %s\n", RMON_VERSION);
			return CMD_EXIT_OK;
		case ':':
			return usage_error("option needs a value:", argv[optind - 1]);
		default:
			if (optopt > 0 && optopt < 256) {
				char opt[3] = { '-', (char)optopt, '\0' };
				return usage_error("unknown option", opt);
			}
			return usage_error("unknown option", argv[optind - 1]);
		}
	}
	if (optind >= argc) {
		cmd_print_usage(stderr);
		return CMD_EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0)
		return help(argc - optind, argv + optind);
	if (!(e = cmd_find(argv[optind], err, sizeof err)))
		return cmd_fail(CMD_EXIT_USAGE, "%s", err);
	return cmd_run(e, &ctx, argc - optind, argv + optind);
}
