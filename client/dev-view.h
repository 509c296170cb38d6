/*
 * What rmonctl shows of devices: the refreshing screen of
 * `watch --gpu` / `watch --egpu`.  Per device, its state on a few lines
 * (utilisation, memory, temperature and power for a GPU; link, Thunderbolt
 * and AER errors for a GPU link) and a rolling graph of the last 60
 * seconds of TX and RX throughput (and DMA latency for links), one column
 * per sample, scaled to the largest value shown.  Error counters are red
 * when they are not zero.  A pure renderer over the daemon's msgpack
 * samples: a missing field prints "-", never 0, and never crashes.
 */
#ifndef RMON_CLIENT_DEV_VIEW_H
#define RMON_CLIENT_DEV_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <msgpack.h>

#define DEV_VIEW_DEVICES 16                 /* devices with a history (more: no graph) */
#define DEV_VIEW_COLS 600                   /* columns kept: 60 s at 100 ms */
#define DEV_VIEW_WINDOW_NS 60000000000ull   /* what the graphs span */
#define DEV_VIEW_EVENTS 3                   /* newest event lines shown */

enum dev_series { DEV_TX, DEV_RX, DEV_LAT, DEV__SERIES };

struct dev_hist {
	char key[32];
	double v[DEV__SERIES][DEV_VIEW_COLS];  /* a ring in step with dev_view.head; NaN: none */
};

struct dev_view {
	bool color;
	bool compact;                  /* one line per device */
	bool egpu;                     /* links (egpu records), else GPUs */
	int width, height;             /* the terminal's size */
	uint64_t interval_ns;          /* asked for: the first guess of the spacing */
	char note[128];                /* lost samples, or "" */
	struct dev_event {
		char text[160];            /* "12:00:01.250  egpu 0 disconnected: 0000:05:00.0" */
		bool bad;                  /* down, disconnected, degraded */
	} events[DEV_VIEW_EVENTS];     /* newest last */
	unsigned nevents;

	/* history: one column per sample, and one per sample lost */
	unsigned head, ncols;          /* next column, columns kept */
	uint64_t last_ts, spacing_ns;  /* the last sample; the time between samples */
	unsigned nsamples, lost;       /* samples seen; lost not yet drawn as gaps */
	struct dev_hist dev[DEV_VIEW_DEVICES];
	unsigned ndev;
};

/* Defaults: no colour, 80×24, no history. */
void dev_view_init(struct dev_view *v, bool egpu, uint64_t interval_ns);
/* Take a `sample` event's data into the history (one column). */
void dev_view_add(struct dev_view *v, const msgpack_object *sample);
/* n samples were lost (a `lagged` event): gaps in the graphs. */
void dev_view_lost(struct dev_view *v, uint64_t n);
/* An `event` event's data ({ts, label, code, index}): the newest lines. */
void dev_view_event(struct dev_view *v, const msgpack_object *ev);
/* Draw the screen for the newest sample (already added).  Lines only:
 * never more than v->height - 1, none wider than v->width columns
 * (colour sequences aside). */
void dev_view_render(FILE *f, const struct dev_view *v, const msgpack_object *sample);
/* After the watch: how long, how many samples, how many lost. */
void dev_summary_print(FILE *f, const msgpack_object *result);

/* ---- the graph, exposed for the tests ---- */

/* Eighths of a cell filled by value x on a graph rows cells tall scaled
 * to max: 0 .. rows × 8, rounded up so that any reading above zero shows;
 * -1 for no reading (NaN). */
int dev_graph_level(double x, double max, int rows);
/* The character of row (0: bottom) for a column at that level: " ",
 * "▁" … "█"; a column without a reading is "·" on the bottom row. */
const char *dev_graph_glyph(int level, int row);
/* Latency for people: "850 ns", "12.3 µs", "1.20 ms"; NaN: "-". */
void dev_fmt_ns(char *buf, size_t len, double ns);

#endif
