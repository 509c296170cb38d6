/*
 * The device screens of `rmonctl watch --gpu` / `--egpu` (see dev-view.h).
 *
 * The history is one ring of columns shared by every device: each sample
 * adds a column to all of them (NaN for a device it lacks), and each lost
 * sample a NaN column, so the graphs of all devices stay in step and a
 * gap in the data shows as a gap on the screen.  Field names come from
 * the schema table, never spelled here.
 */
#include "dev-view.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "out.h"
#include "schema.h"
#include "term.h"

#define GF(f) (rm_kinds[RM_KIND_GPU].fields[RM_GPU_##f].name)
#define EF(f) (rm_kinds[RM_KIND_EGPU].fields[RM_EGPU_##f].name)
#define VF(f) (rm_kinds[RM_KIND_EVENT].fields[RM_EVENT_##f].name)

#define GRAPH_PREFIX 7    /* "  DMA │" */
#define GRAPH_LABEL 22    /* "│ max 1023.99 MiB/s" and a little room */

/* ---- values ---- */

/* A reading of rec's field, or NaN: absent, not a number. */
static double val(const msgpack_object *rec, const char *field)
{
	double v;
	return rec && msg_get_f64(rec, field, &v) ? v : NAN;
}

typedef char cell[48];

enum unit { U_PCT, U_BYTES, U_RATE, U_NS, U_COUNT, U_PER_S };

/* A value for people, "-" when there is no reading. */
static const char *fmt(cell c, double v, enum unit u)
{
	if (isnan(v))
		return "-";
	switch (u) {
	case U_PCT: snprintf(c, sizeof(cell), "%.1f%%", v); break;
	case U_BYTES: out_bytes(c, sizeof(cell), v); break;
	case U_RATE:
		out_bytes(c, sizeof(cell), v);
		strncat(c, "/s", sizeof(cell) - strlen(c) - 1);
		break;
	case U_NS: dev_fmt_ns(c, sizeof(cell), v); break;
	case U_COUNT: out_num(c, sizeof(cell), v); break;
	case U_PER_S:
		out_num(c, sizeof(cell), v);
		strncat(c, "/s", sizeof(cell) - strlen(c) - 1);
		break;
	}
	return c;
}

void dev_fmt_ns(char *buf, size_t len, double ns)
{
	if (isnan(ns))
		snprintf(buf, len, "-");
	else if (ns < 1000)
		snprintf(buf, len, "%.0f ns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.1f µs", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.2f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", ns / 1e9);
}

/* A string field (key, label), cleaned for the terminal. */
static void str_of(char *buf, size_t len, const msgpack_object *rec, const char *key)
{
	if (!msg_get_str(rec, key, buf, len))
		buf[0] = '\0';
	out_clean(buf);
}

/* ---- history ---- */

void dev_view_init(struct dev_view *v, bool egpu, uint64_t interval_ns)
{
	memset(v, 0, sizeof *v);
	v->egpu = egpu;
	v->width = 80;
	v->height = 24;
	v->interval_ns = interval_ns;
}

static struct dev_hist *hist_of(struct dev_view *v, const char *key)
{
	for (unsigned i = 0; i < v->ndev; i++)
		if (strcmp(v->dev[i].key, key) == 0)
			return &v->dev[i];
	if (v->ndev == DEV_VIEW_DEVICES)
		return NULL;
	struct dev_hist *h = &v->dev[v->ndev++];
	snprintf(h->key, sizeof h->key, "%s", key);
	for (int s = 0; s < DEV__SERIES; s++)
		for (int i = 0; i < DEV_VIEW_COLS; i++)
			h->v[s][i] = NAN;   /* no reading before it appeared */
	return h;
}

/* A new column, NaN for every device until filled. */
static unsigned push_col(struct dev_view *v)
{
	unsigned c = v->head;
	for (unsigned d = 0; d < v->ndev; d++)
		for (int s = 0; s < DEV__SERIES; s++)
			v->dev[d].v[s][c] = NAN;
	v->head = (v->head + 1) % DEV_VIEW_COLS;
	if (v->ncols < DEV_VIEW_COLS)
		v->ncols++;
	return c;
}

/* The value i columns back from the newest (0: the newest). */
static double hist_at(const struct dev_view *v, const struct dev_hist *h, enum dev_series s,
		      unsigned i)
{
	return h->v[s][(v->head + DEV_VIEW_COLS - 1 - i % DEV_VIEW_COLS) % DEV_VIEW_COLS];
}

void dev_view_lost(struct dev_view *v, uint64_t n)
{
	v->lost = n > DEV_VIEW_COLS ? DEV_VIEW_COLS : (unsigned)n;
	snprintf(v->note, sizeof v->note, "%" PRIu64 " samples lost (output too slow)", n);
}

void dev_view_add(struct dev_view *v, const msgpack_object *sample)
{
	uint64_t ts = 0;
	(void)msg_get_u64(sample, "ts", &ts);
	if (v->last_ts && ts > v->last_ts) {
		/* the spacing of samples: the daemon sends at the interval asked,
		 * or at the device's own tick when that is slower */
		uint64_t dt = (ts - v->last_ts) / (v->lost + 1u);
		if (v->nsamples == 1 || dt < v->spacing_ns)
			v->spacing_ns = dt;
	}
	for (; v->lost; v->lost--)
		push_col(v);
	v->last_ts = ts;
	v->nsamples++;
	unsigned c = push_col(v);
	const msgpack_object *devs = msg_get_array(sample, "devices");
	for (uint32_t i = 0; devs && i < devs->via.array.size; i++) {
		const msgpack_object *rec = &devs->via.array.ptr[i];
		char key[32];
		str_of(key, sizeof key, rec, "key");
		struct dev_hist *h = key[0] ? hist_of(v, key) : NULL;
		if (!h)
			continue;
		h->v[DEV_TX][c] = val(rec, v->egpu ? EF(TX_BPS) : GF(PCIE_TX));
		h->v[DEV_RX][c] = val(rec, v->egpu ? EF(RX_BPS) : GF(PCIE_RX));
		h->v[DEV_LAT][c] = v->egpu ? val(rec, EF(DMA_LAT)) : NAN;
	}
}

void dev_view_event(struct dev_view *v, const msgpack_object *ev)
{
	char label[80], when[32];
	uint64_t ts = 0;
	double code = val(ev, VF(CODE));
	(void)msg_get_u64(ev, "ts", &ts);
	str_of(label, sizeof label, ev, "label");
	out_time_local(when, sizeof when, ts, false);
	if (v->nevents == DEV_VIEW_EVENTS) {
		memmove(&v->events[0], &v->events[1], sizeof v->events[0] * (DEV_VIEW_EVENTS - 1));
		v->nevents--;
	}
	/* the label says it all: "egpu 1 disconnected: 0000:05:00.0" */
	struct dev_event *e = &v->events[v->nevents++];
	snprintf(e->text, sizeof e->text, "%s  %s", when, label[0] ? label : "?");
	e->bad = code == 2 || code == 3 || code == 5;   /* down, disconnected, degraded */
}

/* ---- the graph ---- */

int dev_graph_level(double x, double max, int rows)
{
	if (isnan(x))
		return -1;
	if (!(max > 0) || !(x > 0))
		return 0;
	int cells = rows * 8;
	double l = ceil(x / max * cells - 1e-9);
	return l > cells ? cells : (int)l;
}

const char *dev_graph_glyph(int level, int row)
{
	static const char *const eighths[9] = { " ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
	if (level < 0)
		return row == 0 ? "·" : " ";
	int fill = level - row * 8;
	return eighths[fill < 0 ? 0 : fill > 8 ? 8 : fill];
}

/* Columns the 60-second window spans at the samples' spacing. */
static unsigned window_cols(const struct dev_view *v)
{
	uint64_t sp = v->spacing_ns ? v->spacing_ns : v->interval_ns ? v->interval_ns : 1000000000u;
	uint64_t n = DEV_VIEW_WINDOW_NS / sp;
	return n < 1 ? 1 : n > DEV_VIEW_COLS ? DEV_VIEW_COLS : (unsigned)n;
}

struct series_stats {
	unsigned n;       /* columns with data in the window (drawn) */
	bool any;         /* a reading among them */
	double max, now;
};

static struct series_stats stats_of(const struct dev_view *v, const struct dev_hist *h,
				    enum dev_series s, unsigned w)
{
	struct series_stats st = { v->ncols < w ? v->ncols : w, false, 0, NAN };
	for (unsigned i = 0; i < st.n; i++) {
		double x = hist_at(v, h, s, i);
		if (isnan(x))
			continue;
		st.any = true;
		if (x > st.max)
			st.max = x;
	}
	if (st.n)
		st.now = hist_at(v, h, s, 0);
	return st;
}

/* rows lines: the newest column at the right edge, the scale's maximum
 * on the top line, the newest value on the bottom one. */
static void graph(struct term_scr *s, const struct dev_view *v, const struct dev_hist *h,
		  enum dev_series ser, const char *name, int rows)
{
	enum unit u = ser == DEV_LAT ? U_NS : U_RATE;
	unsigned span = window_cols(v);
	int room = s->width - GRAPH_PREFIX - GRAPH_LABEL;
	unsigned w = room < 8 ? 0 : (unsigned)room < span ? (unsigned)room : span;
	struct series_stats st = stats_of(v, h, ser, w ? w : span);
	struct term_line l;
	cell now, max;

	fmt(now, st.now, u);
	fmt(max, st.any ? st.max : NAN, u);
	if (!w || !st.any) {
		term_line_init(&l, s->width);
		term_addf(&l, "  %-4s ", name);
		if (st.any)
			term_addf(&l, "now %s  max %s", now, max);
		else
			term_add(&l, "no reading");
		term_emit(s, &l);
		return;
	}
	for (int r = rows - 1; r >= 0; r--) {
		term_line_init(&l, s->width);
		term_addf(&l, "  %-4s│", r == rows - 1 ? name : "");
		for (unsigned c = 0; c < w; c++) {
			unsigned i = w - 1 - c;   /* columns back from the newest */
			term_add(&l, i >= st.n ? " " :
				 dev_graph_glyph(dev_graph_level(hist_at(v, h, ser, i), st.max, rows), r));
		}
		term_add(&l, "│");
		if (rows == 1)
			term_addf(&l, " now %s  max %s", now, max);
		else if (r == rows - 1)
			term_addf(&l, " max %s", max);
		else if (r == 0)
			term_addf(&l, " now %s", now);
		term_emit(s, &l);
	}
}

/* One line: the newest columns that fit in w cells (compact view). */
static void spark(struct term_line *l, const struct dev_view *v, const struct dev_hist *h,
		  enum dev_series ser, unsigned w)
{
	struct series_stats st = stats_of(v, h, ser, w < window_cols(v) ? w : window_cols(v));
	if (!st.any)
		return;   /* no reading to draw: the value says "-" */
	for (unsigned c = 0; c < w; c++) {
		unsigned i = w - 1 - c;
		term_add(l, i >= st.n ? " " :
			 dev_graph_glyph(dev_graph_level(hist_at(v, h, ser, i), st.max, 1), 0));
	}
}

/* ---- device blocks ---- */

/* label value, red when the value is a reading above zero. */
static void add_err(struct term_line *l, bool color, const char *label, double v, enum unit u)
{
	cell c;
	bool bad = v > 0;
	term_addf(l, "%s", label);
	if (bad)
		term_esc(l, color, OUT_RED);
	term_add(l, fmt(c, v, u));
	if (bad)
		term_esc(l, color, OUT_RESET);
}

/* "[|||   ] " in the level's colour. */
static void add_bar(struct term_line *l, bool color, double pct, int width)
{
	char bar[64];
	out_bar(bar, sizeof bar, pct, width);
	if (!isnan(pct))
		term_esc(l, color, out_level_color(pct));
	term_add(l, bar);
	if (!isnan(pct))
		term_esc(l, color, OUT_RESET);
}

static void title(struct term_line *l, bool color, const char *kind, const msgpack_object *rec)
{
	char key[32], name[80];
	str_of(key, sizeof key, rec, "key");
	str_of(name, sizeof name, rec, "label");
	term_esc(l, color, OUT_BOLD);
	term_addf(l, "%s %s", kind, key);
	term_esc(l, color, OUT_RESET);
	if (name[0])
		term_addf(l, "  %s", name);
}

/* "gen 4 x16" from two fields; "" when neither is there. */
static void link_text(char *buf, size_t len, double gen, double width)
{
	cell g, w;
	if (isnan(gen) && isnan(width))
		buf[0] = '\0';
	else
		snprintf(buf, len, "gen %s x%s", fmt(g, gen, U_COUNT), fmt(w, width, U_COUNT));
}

static void gpu_lines(struct term_scr *s, const msgpack_object *r)
{
	struct term_line l;
	cell a, b, c, d, e;
	char now[112], max[112];
	int bw = (s->width - 44) / 2;
	bw = bw < 5 ? 5 : bw > 20 ? 20 : bw;

	term_line_init(&l, s->width);
	title(&l, s->color, "gpu", r);
	link_text(now, sizeof now, val(r, GF(PCIE_GEN)), val(r, GF(PCIE_WIDTH)));
	link_text(max, sizeof max, val(r, GF(PCIE_GEN_MAX)), val(r, GF(PCIE_WIDTH_MAX)));
	if (now[0])
		term_addf(&l, "   PCIe %s (max %s)", now, max[0] ? max : "-");
	term_emit(s, &l);

	term_line_init(&l, s->width);
	term_addf(&l, "  util %6s ", fmt(a, val(r, GF(UTIL)), U_PCT));
	add_bar(&l, s->color, val(r, GF(UTIL)), bw);
	term_addf(&l, "   mem %6s ", fmt(a, val(r, GF(MEM_USED_PCT)), U_PCT));
	add_bar(&l, s->color, val(r, GF(MEM_USED_PCT)), bw);
	term_addf(&l, " %s of %s", fmt(b, val(r, GF(MEM_USED)), U_BYTES),
		  fmt(c, val(r, GF(MEM_TOTAL)), U_BYTES));
	term_emit(s, &l);

	term_line_init(&l, s->width);
	term_addf(&l, "  temp %s C   power %s W of %s W   SM %s MHz   mem %s MHz",
		  fmt(a, val(r, GF(TEMP)), U_COUNT), fmt(b, val(r, GF(POWER)), U_COUNT),
		  fmt(c, val(r, GF(POWER_LIMIT)), U_COUNT), fmt(d, val(r, GF(SM_CLOCK)), U_COUNT),
		  fmt(e, val(r, GF(MEM_CLOCK)), U_COUNT));
	term_emit(s, &l);

	term_line_init(&l, s->width);
	add_err(&l, s->color, "  PCIe replays ", val(r, GF(REPLAY_PS)), U_PER_S);
	double thr = val(r, GF(THROTTLE));
	if (thr == 0)
		term_add(&l, "   throttle reasons none");
	else if (thr > 0)
		term_addf(&l, "   throttle reasons 0x%" PRIx64, (uint64_t)thr);
	term_emit(s, &l);
}

static void egpu_lines(struct term_scr *s, const msgpack_object *r)
{
	struct term_line l;
	cell a, b, c;
	char now[112], max[112];
	double conn = val(r, EF(CONNECTED)), tb = val(r, EF(TB_GEN));

	term_line_init(&l, s->width);
	title(&l, s->color, "egpu", r);
	if (conn == 0) {
		term_add(&l, "   ");
		term_esc(&l, s->color, OUT_RED);
		term_add(&l, "disconnected");
		term_esc(&l, s->color, OUT_RESET);
	} else if (conn > 0) {
		term_add(&l, "   connected");
	}
	if (!isnan(tb)) {
		char gen[24];
		snprintf(gen, sizeof gen, tb >= 4 ? "USB4" : "Thunderbolt %.0f", tb);
		term_addf(&l, "   %s %s/%s Gb/s x%s", gen, fmt(a, val(r, EF(TB_TX_GBPS)), U_COUNT),
			  fmt(b, val(r, EF(TB_RX_GBPS)), U_COUNT), fmt(c, val(r, EF(TB_LANES)), U_COUNT));
		if (val(r, EF(TB_AUTHORIZED)) == 0)
			term_add(&l, " (not authorized)");
	}
	term_emit(s, &l);

	term_line_init(&l, s->width);
	link_text(now, sizeof now, val(r, EF(LINK_GEN)), val(r, EF(LINK_WIDTH)));
	link_text(max, sizeof max, val(r, EF(LINK_GEN_MAX)), val(r, EF(LINK_WIDTH_MAX)));
	term_addf(&l, "  link PCIe %s (max %s)   %s of %s GT/s", now[0] ? now : "-",
		  max[0] ? max : "-", fmt(a, val(r, EF(LINK_GTS)), U_COUNT),
		  fmt(b, val(r, EF(LINK_GTS_MAX)), U_COUNT));
	if (val(r, EF(DEGRADED)) > 0) {
		term_add(&l, "   ");
		term_esc(&l, s->color, OUT_YELLOW);
		term_add(&l, "degraded");
		term_esc(&l, s->color, OUT_RESET);
	}
	term_emit(s, &l);

	/* AER counters where the device reports them; the vendor's error rate
	 * where a stats file gives it */
	static const struct { const char *label; int total, ps; } aer[] = {
		{ "  AER correctable ", RM_EGPU_AER_COR, RM_EGPU_AER_COR_PS },
		{ "  non-fatal ", RM_EGPU_AER_NONFATAL, RM_EGPU_AER_NONFATAL_PS },
		{ "  fatal ", RM_EGPU_AER_FATAL, RM_EGPU_AER_FATAL_PS },
	};
	const struct rm_field *ef = rm_kinds[RM_KIND_EGPU].fields;
	double errs = val(r, EF(ERRORS_PS));
	bool any = !isnan(errs);
	term_line_init(&l, s->width);
	for (size_t i = 0; i < sizeof aer / sizeof aer[0]; i++) {
		double total = val(r, ef[aer[i].total].name), ps = val(r, ef[aer[i].ps].name);
		if (isnan(total) && isnan(ps))
			continue;
		any = true;
		add_err(&l, s->color, aer[i].label, total, U_COUNT);
		add_err(&l, s->color, " (", ps, U_PER_S);
		term_add(&l, ")");
	}
	if (!isnan(errs))
		add_err(&l, s->color, "  link errors ", errs, U_PER_S);
	if (!any)
		term_add(&l, "  errors: no counters (no AER, no vendor stats)");
	term_emit(s, &l);
}

/* The lines of one device in the full view, graphs rows tall. */
static int block_lines(bool egpu, int rows)
{
	return 4 + (egpu ? 3 : 2) * rows;
}

static void full_block(struct term_scr *s, const struct dev_view *v, const msgpack_object *r,
		       const struct dev_hist *h, int rows)
{
	if (v->egpu)
		egpu_lines(s, r);
	else
		gpu_lines(s, r);
	if (!h)
		return;
	int nser = v->egpu ? 3 : 2;
	bool any = false;
	for (int i = 0; i < nser; i++)
		any = any || stats_of(v, h, (enum dev_series)i, window_cols(v)).any;
	if (!any) {   /* one line rather than a "no reading" per series */
		struct term_line l;
		term_line_init(&l, s->width);
		term_add(&l, v->egpu ? "  TX, RX, DMA latency: no reading" : "  TX, RX: no reading");
		term_emit(s, &l);
		return;
	}
	graph(s, v, h, DEV_TX, "TX", rows);
	graph(s, v, h, DEV_RX, "RX", rows);
	if (v->egpu)
		graph(s, v, h, DEV_LAT, "DMA", rows);
}

/* One line a device: the key figures, the error rate, then sparklines. */
static void compact_line(struct term_scr *s, const struct dev_view *v, const msgpack_object *r,
			 const struct dev_hist *h)
{
	struct term_line l;
	cell a, b, c, d;
	char key[32];
	str_of(key, sizeof key, r, "key");
	term_line_init(&l, s->width);
	if (v->egpu) {
		double conn = val(r, EF(CONNECTED));
		term_addf(&l, "egpu %s ", key);
		if (conn == 0) {
			term_esc(&l, s->color, OUT_RED);
			term_add(&l, "gone ");
			term_esc(&l, s->color, OUT_RESET);
		}
		term_addf(&l, "gen %s x%s ", fmt(a, val(r, EF(LINK_GEN)), U_COUNT),
			  fmt(b, val(r, EF(LINK_WIDTH)), U_COUNT));
		add_err(&l, s->color, "AER ", val(r, EF(AER_COR_PS)) + val(r, EF(AER_NONFATAL_PS)) +
			val(r, EF(AER_FATAL_PS)), U_PER_S);
		add_err(&l, s->color, " err ", val(r, EF(ERRORS_PS)), U_PER_S);
	} else {
		term_addf(&l, "gpu %s util %s mem %s %sC %sW ", key, fmt(a, val(r, GF(UTIL)), U_PCT),
			  fmt(b, val(r, GF(MEM_USED_PCT)), U_PCT), fmt(c, val(r, GF(TEMP)), U_COUNT),
			  fmt(d, val(r, GF(POWER)), U_COUNT));
		add_err(&l, s->color, "replays ", val(r, GF(REPLAY_PS)), U_PER_S);
	}
	if (h) {
		/* sparklines from the same column on every line, when it fits */
		int nser = v->egpu ? 3 : 2, col = v->egpu ? 40 : 50;
		if (l.w < col && col + nser * 24 <= s->width)
			term_pad_to(&l, col);
		int w = (s->width - l.w) / nser - 16;
		static const char *const names[] = { "TX", "RX", "lat" };
		for (int i = 0; i < nser && w >= 4; i++) {
			double now = hist_at(v, h, (enum dev_series)i, 0);
			term_addf(&l, "  %s ", names[i]);
			spark(&l, v, h, (enum dev_series)i, (unsigned)w);
			term_addf(&l, " %s", fmt(a, now, i == DEV_LAT ? U_NS : U_RATE));
		}
	}
	term_emit(s, &l);
}

/* ---- the screen ---- */

static const msgpack_object *find_dev(const msgpack_object *devs, const char *key)
{
	for (uint32_t i = 0; devs && i < devs->via.array.size; i++) {
		char k[32];
		str_of(k, sizeof k, &devs->via.array.ptr[i], "key");
		if (strcmp(k, key) == 0)
			return &devs->via.array.ptr[i];
	}
	return NULL;
}

static void header(struct term_scr *s, const struct dev_view *v, const msgpack_object *sample)
{
	struct term_line l;
	char when[32], every[32];
	uint64_t ts = 0, iv = v->interval_ns;
	(void)msg_get_u64(sample, "ts", &ts);
	out_time_local(when, sizeof when, ts, false);
	if (iv % 1000000000u == 0)
		snprintf(every, sizeof every, "%" PRIu64 "s", iv / 1000000000u);
	else
		snprintf(every, sizeof every, "%" PRIu64 "ms", iv / 1000000u);
	term_line_init(&l, s->width);
	term_esc(&l, s->color, OUT_BOLD);
	term_add(&l, v->egpu ? "GPU links" : "GPUs");
	term_esc(&l, s->color, OUT_RESET);
	term_addf(&l, "  %s  every %s  graphs: last 60 s, scaled to their max", when, every);
	term_emit(s, &l);
	for (unsigned i = 0; i < v->nevents; i++) {
		term_line_init(&l, s->width);
		if (v->events[i].bad)
			term_esc(&l, s->color, OUT_RED);
		term_add(&l, v->events[i].text);
		term_emit(s, &l);
	}
	if (v->note[0]) {
		term_line_init(&l, s->width);
		term_add(&l, v->note);
		term_emit(s, &l);
	}
}

/* Graph height that lets every device fit: 3, 2 or 1 rows; 0: none fits
 * (then the compact view). */
static int fit_rows(const struct term_scr *s, const struct dev_view *v, unsigned ndev)
{
	int avail = s->max_lines - s->lines;
	for (int rows = 3; rows >= 1; rows--)
		if ((int)ndev * (block_lines(v->egpu, rows) + 1) - 1 <= avail)
			return rows;
	return 0;
}

void dev_view_render(FILE *f, const struct dev_view *v, const msgpack_object *sample)
{
	struct term_scr s = { f, v->color, v->width, v->height > 1 ? v->height - 1 : 1, 0 };
	const msgpack_object *devs = msg_get_array(sample, "devices");
	unsigned n = devs ? devs->via.array.size : 0;

	header(&s, v, sample);
	/* devices seen before but not in this sample: lost, or gone */
	unsigned missing = 0;
	for (unsigned d = 0; d < v->ndev; d++)
		missing += find_dev(devs, v->dev[d].key) == NULL;
	int rows = v->compact ? 0 : fit_rows(&s, v, n);
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *r = &devs->via.array.ptr[i];
		char key[32];
		str_of(key, sizeof key, r, "key");
		const struct dev_hist *h = NULL;
		for (unsigned d = 0; d < v->ndev && !h; d++)
			if (strcmp(v->dev[d].key, key) == 0)
				h = &v->dev[d];
		if (!rows) {
			compact_line(&s, v, r, h);
			continue;
		}
		if (i)
			term_blank(&s);
		full_block(&s, v, r, h, rows);
	}
	for (unsigned d = 0; missing && d < v->ndev; d++) {
		if (find_dev(devs, v->dev[d].key))
			continue;
		struct term_line l;
		term_line_init(&l, s.width);
		term_addf(&l, "%s %s  no reading in this sample (lost or gone)", v->egpu ? "egpu" : "gpu",
			  v->dev[d].key);
		term_emit(&s, &l);
	}
	if (!n && !missing) {
		struct term_line l;
		term_line_init(&l, s.width);
		term_add(&l, "no device records yet");
		term_emit(&s, &l);
	}
}

void dev_summary_print(FILE *f, const msgpack_object *result)
{
	double secs = NAN;
	uint64_t samples = 0, lost = 0;
	char dur[32];
	(void)msg_get_f64(result, "duration_s", &secs);
	(void)msg_get_u64(result, "samples", &samples);
	(void)msg_get_u64(result, "lost", &lost);
	out_secs(dur, sizeof dur, secs);
	fprintf(f, "Watch summary: %s, %" PRIu64 " samples", dur, samples);
	if (lost)
		fprintf(f, ", %" PRIu64 " lost (output too slow)", lost);
	fputc('\n', f);
}
