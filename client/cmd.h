/*
 * rmonctl's command table.  Each client/cmd-*.c exports one
 * `const struct cmd_entry`; cmd.c lists them, finds a command by name,
 * alias or unique prefix, parses options (the command's own plus the
 * common ones) and generates every help text from the same entries.
 */
#ifndef RMON_CLIENT_CMD_H
#define RMON_CLIENT_CMD_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <msgpack.h>

/* Documented exit codes (rmonctl --help, docs/cli.md). */
enum cmd_exit {
	CMD_EXIT_OK = 0,
	CMD_EXIT_ERROR = 1,
	CMD_EXIT_USAGE = 2,
	CMD_EXIT_UNREACHABLE = 3,
	CMD_EXIT_NOT_FOUND = 4,
};

/* One option of a command.  val < 256 is also the short option -val;
 * larger values are long-only.  arg names the value (NULL: a flag). */
struct cmd_opt {
	const char *name;
	int val;
	const char *arg;
	const char *help;
	bool required;   /* shown without brackets in the usage line */
};

struct cmd_ctx;

struct cmd_entry {
	const char *name;
	const char *alias;          /* or NULL */
	const char *args_usage;     /* positional arguments: "SELECTOR..." or "" */
	int min_args, max_args;     /* positional count; max -1: unbounded */
	const struct cmd_opt *opts; /* the command's own, ended by { NULL } */
	const char *help;           /* one line for the command list */
	const char *details;        /* more text for `COMMAND --help`, or NULL */
	int (*exec)(struct cmd_ctx *ctx, int argc, char **argv);
};

#define CMD_OPTS_MAX 24
/* cmd_getopt: --help was printed or a usage error reported; see ctx->rc. */
#define CMD_OPT_DONE (-2)

/* Values of the common options. */
enum {
	CMD_OPT_SOCKET = 0x1000,
	CMD_OPT_NO_COLOR,
};

struct cmd_ctx {
	const struct cmd_entry *entry;
	const char *socket;         /* --socket; NULL: paths_socket default */
	bool no_color;              /* --no-color */
	int rc;                     /* exit code when cmd_getopt gives CMD_OPT_DONE */
	struct option lopts[CMD_OPTS_MAX];
	char sopts[2 * CMD_OPTS_MAX + 4];
};

extern const struct cmd_entry *const cmd_table[];

/* Name, alias or unique prefix; NULL with the reason in err (an
 * ambiguous prefix lists the candidates). */
const struct cmd_entry *cmd_find_in(const struct cmd_entry *const *table, const char *name,
				    char *err, size_t errlen);
const struct cmd_entry *cmd_find(const char *name, char *err, size_t errlen);

/* Run a command: resets getopt and calls its exec with argv[0] = name. */
int cmd_run(const struct cmd_entry *e, struct cmd_ctx *ctx, int argc, char **argv);

/* getopt_long over the command's options and the common ones.  Returns
 * the next command option (its val), -1 when options are done and the
 * positional count (argc - optind) is within bounds, or CMD_OPT_DONE with
 * ctx->rc set (0 after --help, 2 after a usage error, already reported). */
int cmd_getopt(struct cmd_ctx *ctx, int argc, char **argv);

/* Usage error: "rmonctl CMD: <msg>" and the usage line on stderr; 2. */
int cmd_usage_error(const struct cmd_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "rmonctl: <msg>" on stderr, returning rc. */
int cmd_fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void cmd_print_usage(FILE *f);                     /* rmonctl --help */
void cmd_print_help(FILE *f, const struct cmd_entry *e); /* COMMAND --help */

/* Exit code for a server error code: not_found 4, bad_args 2, else 1. */
int cmd_exit_for_error(const char *code);

/* Pieces the commands export for the tests (and for watch/top later). */

/* status-view.c: the human screen for a `status` result.  Renders what the
 * map holds; absent keys are skipped, never shown as zero. */
struct status_view {
	bool color;
	int width;   /* columns available */
};
void cmd_status_render(FILE *f, const msgpack_object *result, const struct status_view *v);

/* cmd-metrics.c: the schema as a list, as JSON and as docs/metrics.md. */
void cmd_metrics_list(FILE *f);
void cmd_metrics_json(FILE *f);
void cmd_metrics_markdown(FILE *f);

/* cmd-get.c: print a `get` result's values array.  single: one concrete
 * selector was asked (print the bare value).  Returns the exit code. */
int cmd_get_print(FILE *out, FILE *err, const msgpack_object *values, bool single);

#endif
