/*
 * What rmonctl shows of processes: the refreshing screen of `watch`
 * (full and compact), the end-of-watch and end-of-run summaries, and the
 * process table shared by watch's per-process rows and `top`.  Pure
 * renderers over msgpack objects from the daemon: a missing key prints
 * "-", never 0, and never crashes.
 *
 * The small pure helpers of cmd-top.c and cmd-run.c are declared here
 * too, for the unit tests (tests/unit/test-client-watch.c).
 */
#ifndef RMON_CLIENT_WATCH_VIEW_H
#define RMON_CLIENT_WATCH_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <msgpack.h>

/* ---- trends ---- */

enum watch_trend {
	WATCH_TREND_NONE,   /* no reading now or before: no arrow */
	WATCH_TREND_FLAT,
	WATCH_TREND_UP,
	WATCH_TREND_DOWN,
};

/* cur against prev: a change within the dead band (the larger of
 * abs_band and rel_band × |prev|) is FLAT, so noise shows "→".
 * NaN on either side: NONE. */
enum watch_trend watch_trend(double prev, double cur, double abs_band, double rel_band);
/* "↑", "↓", "→", or " " for NONE (always one column). */
const char *watch_trend_arrow(enum watch_trend t);

/* The values of a sample's `total` that get trend arrows. */
enum watch_metric {
	WM_CPU, WM_RSS, WM_PSS, WM_READ, WM_WRITE, WM_THREADS,
	WM__COUNT
};
/* Trend of metric m between two values, with that metric's dead band
 * (CPU 2 points or 5 %; memory 256 KiB or 1 %; IO 4 KiB/s or 10 %;
 * threads: any change). */
enum watch_trend watch_metric_trend(enum watch_metric m, double prev, double cur);

/* ---- the refreshing view ---- */

#define WATCH_PIDS_MAX 64
#define WATCH_THREAD_ROWS 20   /* per-thread rows at most, fewer if the terminal is short */

struct watch_view {
	bool color;
	bool compact;                  /* 2-3 lines */
	bool threads;                  /* per-thread rows */
	int width, height;             /* the terminal's size */
	const uint64_t *pids;          /* the pids asked for (header) */
	size_t npids;
	uint64_t start_ns;             /* elapsed counts from here; 0: the first sample */
	uint64_t interval_ns;          /* shown in the header; 0: not shown */
	char note[128];                /* last exit / lagged message, or "" */
	char mark[128];                /* the newest mark: "HH:MM:SS text", or "" */

	/* state across samples */
	double cpu_scale;              /* the CPU bar's full scale, %: 100 per core, only grows */
	bool have_prev;
	double prev[WM__COUNT];
	int lines;                     /* lines the last render wrote */
};

/* Defaults: no colour, 80×24, no pids. */
void watch_view_init(struct watch_view *v);
/* Draw one sample (the `sample` event's data) and remember its totals
 * for the next trend arrows.  Writes lines only: the caller clears the
 * screen first.  Never more than v->height - 1 lines, none wider than
 * v->width columns (colour sequences aside). */
void watch_view_render(FILE *f, struct watch_view *v, const msgpack_object *sample);

/* The colour of a CPU bar filled to fill % of its scale: green below
 * 50, yellow up to 90, red above. */
const char *watch_cpu_color(double fill);

/* ---- summaries ---- */

/* After a watch: duration, samples, why it ended, peak and average
 * CPU, peak RSS and PSS, IO totals, thread count range (the reply's
 * result). */
void watch_summary_print(FILE *f, const msgpack_object *result, bool color);

/* How the command of a run ended, and when the run was. */
struct run_end {
	const char *label;             /* the command as shown ("make -j16") */
	bool have_status;              /* wstatus is valid */
	int wstatus;                   /* from waitpid */
	uint64_t start_ns, end_ns;     /* realtime, for the query hint; 0: unknown */
};

/* After a run: the command, exit status, duration, CPU seconds, peak
 * RSS and PSS, processes, verdict with evidence, pressure, the
 * categories grouped by major (before the '/'), and the run id with a
 * `rmonctl query ... --since @T --until @T` line.  result may be NULL
 * (rmond gave no summary): then only what the client knows. */
void watch_run_summary_print(FILE *f, const msgpack_object *result, const struct run_end *e,
			     bool color);

/* ---- process table (top, and watch's per-process rows) ---- */

struct proc_table {
	int width;          /* columns; 0: no limit (not a terminal) */
	bool user;          /* USER column (top) */
	bool color;
	int max_rows;       /* 0: all */
};

/* Header and one row per proc record: PID [USER] S CPU% RSS READ/s
 * WRITE/s THR CATEGORY COMMAND (cmdline, else "[comm]"), in the order
 * given.  Columns are narrowed or dropped to fit width (COMMAND is cut
 * first, then CATEGORY narrowed, then READ/s and WRITE/s, then USER
 * dropped).  More records than max_rows end in a "... N more" line.
 * Returns the lines written. */
int proc_table_print(FILE *f, const msgpack_object *procs, const struct proc_table *t);

/* A record's command for display: cmdline (a string, or an array of
 * strings joined by spaces) when present and not empty, else "[label]",
 * else "?".  Control characters become '?'. */
void proc_command(char *buf, size_t len, const msgpack_object *rec);

/* cmd-top.c: the `top` result as a table ("N processes" first when
 * header is set). */
void cmd_top_render(FILE *f, const msgpack_object *result, const struct proc_table *t, bool header);

/* ---- run (cmd-run.c) ---- */

/* rmonctl's exit code for the command's wait status: its exit code, or
 * 128 + the signal that killed it; 1 for anything else. */
int run_exit_code(int wstatus);

/* The command as a shell would read it back: arguments joined by
 * spaces, those with spaces, quotes or shell specials in single quotes
 * ('it'\''s').  Cut with "…" to fit len.  Returns buf. */
char *run_label(char *buf, size_t len, int argc, char *const *argv);

#endif
