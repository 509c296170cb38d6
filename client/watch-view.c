/*
 * The process screens of rmonctl: watch's refreshing view, the watch and
 * run summaries, and the process table of top (and of watch's rows).
 *
 * Every line goes through a line builder that knows its visible width,
 * so a line never wraps on the terminal whatever the daemon sends, and
 * the view never writes more lines than the terminal has.
 */
#include "watch-view.h"

#include <inttypes.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "msg.h"
#include "out.h"
#include "term.h"

/* ---- trends ---- */

enum watch_trend watch_trend(double prev, double cur, double abs_band, double rel_band)
{
	if (isnan(prev) || isnan(cur))
		return WATCH_TREND_NONE;
	double band = fmax(abs_band, rel_band * fabs(prev));
	if (fabs(cur - prev) <= band)
		return WATCH_TREND_FLAT;
	return cur > prev ? WATCH_TREND_UP : WATCH_TREND_DOWN;
}

const char *watch_trend_arrow(enum watch_trend t)
{
	switch (t) {
	case WATCH_TREND_FLAT: return "\u2192";
	case WATCH_TREND_UP: return "\u2191";
	case WATCH_TREND_DOWN: return "\u2193";
	default: return " ";
	}
}

static const struct {
	const char *field;   /* in the sample's total */
	double abs, rel;     /* dead band */
} metric[WM__COUNT] = {
	[WM_CPU] = { "cpu_pct", 2.0, 0.05 },
	[WM_RSS] = { "rss_bytes", 256.0 * 1024, 0.01 },
	[WM_PSS] = { "pss_bytes", 256.0 * 1024, 0.01 },
	[WM_READ] = { "read_bps", 4096.0, 0.10 },
	[WM_WRITE] = { "write_bps", 4096.0, 0.10 },
	[WM_THREADS] = { "threads", 0.5, 0.0 },
};

enum watch_trend watch_metric_trend(enum watch_metric m, double prev, double cur)
{
	if ((unsigned)m >= WM__COUNT)
		return WATCH_TREND_NONE;
	return watch_trend(prev, cur, metric[m].abs, metric[m].rel);
}

const char *watch_cpu_color(double fill)
{
	return !(fill >= 50) ? OUT_GREEN : fill <= 90 ? OUT_YELLOW : OUT_RED;
}

/* ---- values ---- */

/* A reading: present, numeric, not NaN. */
static bool num(const msgpack_object *rec, const char *field, double *v)
{
	return rec && msg_get_f64(rec, field, v) && !isnan(*v);
}

static double num_or_nan(const msgpack_object *rec, const char *field)
{
	double v;
	return num(rec, field, &v) ? v : NAN;
}

typedef char cell[48];

static const char *c_pct(cell c, double v)
{
	if (isnan(v))
		return "-";
	snprintf(c, sizeof(cell), "%.1f%%", v);
	return c;
}

static const char *c_bytes(cell c, double v)
{
	if (isnan(v))
		return "-";
	out_bytes(c, sizeof(cell), v);
	return c;
}

static const char *c_rate(cell c, double v)
{
	if (isnan(v))
		return "-";
	out_bytes(c, sizeof(cell), v);
	strncat(c, "/s", sizeof(cell) - strlen(c) - 1);
	return c;
}

static const char *c_dec1(cell c, double v)
{
	if (isnan(v))
		return "-";
	snprintf(c, sizeof(cell), "%.1f", v);
	return c;
}

static const char *c_int(cell c, double v)
{
	if (isnan(v))
		return "-";
	snprintf(c, sizeof(cell), "%.0f", v);
	return c;
}

/* A msgpack string into buf: cut at a character boundary, NULs as
 * spaces, control characters as '?'. */
static void copy_str(char *buf, size_t len, const msgpack_object *o)
{
	size_t n = 0;
	if (len == 0)
		return;
	if (o && o->type == MSGPACK_OBJECT_STR) {
		n = o->via.str.size < len - 1 ? o->via.str.size : len - 1;
		/* cut inside a character: back to its first byte */
		while (n > 0 && n < o->via.str.size && ((unsigned char)o->via.str.ptr[n] & 0xc0) == 0x80)
			n--;
		memcpy(buf, o->via.str.ptr, n);
	}
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	out_clean(buf);
}

static void str_field(char *buf, size_t len, const msgpack_object *rec, const char *key)
{
	copy_str(buf, len, msg_map_get(rec, key));
}

/* The process state letter: the schema sends its character code. */
static char state_char(const msgpack_object *rec)
{
	const msgpack_object *o = msg_map_get(rec, "state");
	double v;
	if (o && o->type == MSGPACK_OBJECT_STR && o->via.str.size > 0)
		return o->via.str.ptr[0] > 32 && o->via.str.ptr[0] < 127 ? o->via.str.ptr[0] : '?';
	if (num(rec, "state", &v) && v >= 33 && v < 127)
		return (char)v;
	return '-';
}

void proc_command(char *buf, size_t len, const msgpack_object *rec)
{
	const msgpack_object *cl = msg_map_get(rec, "cmdline");
	char label[80];
	size_t off = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (cl && cl->type == MSGPACK_OBJECT_STR) {
		copy_str(buf, len, cl);
	} else if (cl && cl->type == MSGPACK_OBJECT_ARRAY) {
		for (uint32_t i = 0; i < cl->via.array.size && off + 1 < len; i++) {
			if (off)
				buf[off++] = ' ';
			copy_str(buf + off, len - off, &cl->via.array.ptr[i]);
			off += strlen(buf + off);
		}
		buf[off < len ? off : len - 1] = '\0';
	}
	if (strspn(buf, " ") < strlen(buf))
		return;
	str_field(label, sizeof label, rec, "label");
	if (label[0])
		snprintf(buf, len, "[%s]", label);
	else
		snprintf(buf, len, "?");
}

/* ---- process table ---- */

enum pcol {
	PC_PID, PC_USER, PC_S, PC_CPU, PC_RSS, PC_GPU, PC_READ, PC_WRITE, PC_THR, PC_CAT, PC_CMD, PC__N
};

static const struct {
	const char *head;
	int w;
	bool left;
} pcol[PC__N] = {
	[PC_PID] = { "PID", 7, false },     [PC_USER] = { "USER", 8, true },
	[PC_S] = { "S", 1, true },          [PC_CPU] = { "CPU%", 6, false },
	[PC_RSS] = { "RSS", 9, false },     [PC_READ] = { "READ/s", 9, false },
	[PC_WRITE] = { "WRITE/s", 9, false }, [PC_THR] = { "THR", 4, false },
	[PC_CAT] = { "CATEGORY", 8, true }, [PC_CMD] = { "COMMAND", 7, true },
	[PC_GPU] = { "GPUMEM", 9, false },
};

#define CMD_MIN 12   /* COMMAND keeps at least this much before columns go */

struct playout {
	bool on[PC__N];
	int w[PC__N];
};

static int fixed_width(const struct playout *p)
{
	int sum = 0;
	for (int i = 0; i < PC_CMD; i++)
		if (p->on[i])
			sum += p->w[i] + 1;
	return sum;
}

static void layout(struct playout *p, const msgpack_object *procs, const struct proc_table *t)
{
	int cat = pcol[PC_CAT].w;
	char buf[64];

	for (int i = 0; i < PC__N; i++) {
		p->on[i] = true;
		p->w[i] = pcol[i].w;
	}
	p->on[PC_USER] = t->user;
	p->on[PC_GPU] = false;   /* only when a process holds GPU memory */
	for (uint32_t i = 0; procs && i < procs->via.array.size; i++) {
		p->on[PC_GPU] |= msg_map_get(&procs->via.array.ptr[i], "gpu_mem_bytes") != NULL;
		str_field(buf, sizeof buf, &procs->via.array.ptr[i], "category");
		if (out_text_width(buf) > cat)
			cat = out_text_width(buf);
	}
	p->w[PC_CAT] = cat;
	if (t->width <= 0)
		return;
	p->w[PC_CAT] = cat < 16 ? cat : 16;
	/* Too wide: narrow CATEGORY, then drop READ/s and WRITE/s together,
	 * then USER, then CATEGORY, then GPUMEM. */
	static const enum pcol drop[][2] = {
		{ PC_READ, PC_WRITE }, { PC_USER, PC_USER }, { PC_CAT, PC_CAT }, { PC_GPU, PC_GPU },
	};
	if (fixed_width(p) + CMD_MIN > t->width)
		p->w[PC_CAT] = p->w[PC_CAT] < 10 ? p->w[PC_CAT] : 10;
	for (size_t i = 0; i < sizeof drop / sizeof drop[0] && fixed_width(p) + CMD_MIN > t->width; i++)
		p->on[drop[i][0]] = p->on[drop[i][1]] = false;
}

static const char *user_name(cell c, const msgpack_object *rec)
{
	double uid;
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (!num(rec, "uid", &uid) || uid < 0 || uid > 4294967295.0)
		return "-";
	if (getpwuid_r((uid_t)uid, &pw, buf, sizeof buf, &res) == 0 && res && res->pw_name)
		snprintf(c, sizeof(cell), "%s", res->pw_name);
	else
		snprintf(c, sizeof(cell), "%.0f", uid);
	return out_clean(c);
}

static void proc_row(struct term_line *l, const msgpack_object *r, const struct playout *p,
		    bool color)
{
	cell c[PC__N];
	char cmd[1024];
	const char *txt[PC__N];
	double pid = num_or_nan(r, "pid"), cpu = num_or_nan(r, "cpu_pct");

	if (isnan(pid)) {   /* the key is the pid too */
		char key[32];
		str_field(key, sizeof key, r, "key");
		pid = key[0] ? strtod(key, NULL) : NAN;
	}
	txt[PC_PID] = c_int(c[PC_PID], pid);
	txt[PC_USER] = p->on[PC_USER] ? user_name(c[PC_USER], r) : "";
	snprintf(c[PC_S], sizeof(cell), "%c", state_char(r));
	txt[PC_S] = c[PC_S];
	txt[PC_CPU] = c_dec1(c[PC_CPU], cpu);
	txt[PC_RSS] = c_bytes(c[PC_RSS], num_or_nan(r, "rss_bytes"));
	txt[PC_GPU] = c_bytes(c[PC_GPU], num_or_nan(r, "gpu_mem_bytes"));
	txt[PC_READ] = c_bytes(c[PC_READ], num_or_nan(r, "read_bps"));
	txt[PC_WRITE] = c_bytes(c[PC_WRITE], num_or_nan(r, "write_bps"));
	txt[PC_THR] = c_int(c[PC_THR], num_or_nan(r, "threads"));
	str_field(c[PC_CAT], sizeof(cell), r, "category");
	txt[PC_CAT] = c[PC_CAT][0] ? c[PC_CAT] : "-";
	proc_command(cmd, sizeof cmd, r);
	txt[PC_CMD] = cmd;
	for (int i = 0; i < PC__N; i++) {
		if (!p->on[i])
			continue;
		if (i == PC_CMD) {
			term_add(l, txt[i]);
			break;
		}
		if (i == PC_CPU && !isnan(cpu))
			term_esc(l, color, watch_cpu_color(cpu));
		term_col(l, txt[i], p->w[i], pcol[i].left);
		if (i == PC_CPU && !isnan(cpu))
			term_esc(l, color, OUT_RESET);
		term_add(l, " ");
	}
}

static int proc_table(struct term_scr *s, const msgpack_object *procs, const struct proc_table *t,
		      const uint32_t *order)
{
	struct playout p;
	struct term_line l;
	uint32_t n = procs && procs->type == MSGPACK_OBJECT_ARRAY ? procs->via.array.size : 0;
	uint32_t show = n;
	int start = s->lines;

	layout(&p, n ? procs : NULL, t);
	term_line_init(&l, t->width);
	term_esc(&l, t->color, OUT_BOLD);
	for (int i = 0; i < PC__N; i++)
		if (p.on[i]) {
			if (i == PC_CMD)
				term_add(&l, pcol[i].head);
			else
				term_col(&l, pcol[i].head, p.w[i], pcol[i].left), term_add(&l, " ");
		}
	term_esc(&l, t->color, OUT_RESET);
	term_emit(s, &l);
	if (t->max_rows > 0 && n > (uint32_t)t->max_rows)   /* room for the "more" line */
		show = t->max_rows > 1 ? (uint32_t)t->max_rows - 1 : 1;
	for (uint32_t i = 0; i < show; i++) {
		term_line_init(&l, t->width);
		proc_row(&l, &procs->via.array.ptr[order ? order[i] : i], &p, t->color);
		term_emit(s, &l);
	}
	if (show < n && (t->max_rows == 0 || t->max_rows > 1)) {
		term_line_init(&l, t->width);
		term_col(&l, "\u2026", p.w[PC_PID], false);
		term_addf(&l, " %" PRIu32 " more", n - show);
		term_emit(s, &l);
	}
	return s->lines - start;
}

int proc_table_print(FILE *f, const msgpack_object *procs, const struct proc_table *t)
{
	struct term_scr s = { f, t->color, t->width, 0, 0 };
	return proc_table(&s, procs, t, NULL);
}

/* Indices of an array of records, highest cpu_pct first (stable).  NULL
 * when there is nothing to sort or no memory: then the given order. */
static const msgpack_object *sort_arr;
static int cpu_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	double cx = num_or_nan(&sort_arr->via.array.ptr[x], "cpu_pct");
	double cy = num_or_nan(&sort_arr->via.array.ptr[y], "cpu_pct");
	if (isnan(cx))
		cx = -1;
	if (isnan(cy))
		cy = -1;
	return cx > cy ? -1 : cx < cy ? 1 : (x > y) - (x < y);
}

static uint32_t *by_cpu(const msgpack_object *arr)
{
	uint32_t n = arr ? arr->via.array.size : 0;
	uint32_t *idx = n ? malloc(n * sizeof *idx) : NULL;
	if (!idx)
		return NULL;
	for (uint32_t i = 0; i < n; i++)
		idx[i] = i;
	sort_arr = arr;
	qsort(idx, n, sizeof *idx, cpu_cmp);
	sort_arr = NULL;
	return idx;
}

/* ---- the watch view ---- */

void watch_view_init(struct watch_view *v)
{
	memset(v, 0, sizeof *v);
	v->width = 80;
	v->height = 24;
	v->cpu_scale = 100;
	for (int i = 0; i < WM__COUNT; i++)
		v->prev[i] = NAN;
}

/* The record of pid in procs, or NULL. */
static const msgpack_object *find_proc(const msgpack_object *procs, uint64_t pid)
{
	for (uint32_t i = 0; procs && i < procs->via.array.size; i++) {
		double p;
		if (num(&procs->via.array.ptr[i], "pid", &p) && p == (double)pid)
			return &procs->via.array.ptr[i];
	}
	return NULL;
}

static void elapsed(cell c, const struct watch_view *v, const msgpack_object *sample)
{
	uint64_t ts = 0;
	if (!msg_get_u64(sample, "ts", &ts) || v->start_ns == 0 || ts < v->start_ns)
		snprintf(c, sizeof(cell), "-");
	else
		out_secs(c, sizeof(cell), (double)(ts - v->start_ns) / 1e9);
}

/* "4242 train.py (ml/pytorch), 4300 (gone)  +3 more" */
static void who(char *buf, size_t len, const struct watch_view *v, const msgpack_object *procs,
		double nprocs)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < v->npids && off + 1 < len; i++) {
		const msgpack_object *r = find_proc(procs, v->pids[i]);
		char comm[80], cat[64];
		str_field(comm, sizeof comm, r, "label");
		str_field(cat, sizeof cat, r, "category");
		int n = !r ? snprintf(buf + off, len - off, "%s%" PRIu64 " (gone)", off ? ", " : "", v->pids[i])
			   : snprintf(buf + off, len - off, "%s%" PRIu64 " %s%s%s%s", off ? ", " : "",
				      v->pids[i], comm[0] ? comm : "?", cat[0] ? " (" : "", cat,
				      cat[0] ? ")" : "");
		off += n > 0 ? (size_t)n : 0;
	}
	double roots = 0;
	for (size_t i = 0; i < v->npids; i++)
		roots += find_proc(procs, v->pids[i]) != NULL;
	if (!isnan(nprocs) && nprocs > roots && off + 1 < len)
		snprintf(buf + off, len - off, "  +%.0f more", nprocs - roots);
}

static void header(struct term_scr *s, const struct watch_view *v, const msgpack_object *sample,
		   double nprocs)
{
	struct term_line l;
	char names[1024], right[96], iv[32];
	cell el;

	elapsed(el, v, sample);
	if (v->interval_ns) {
		out_secs(iv, sizeof iv, (double)v->interval_ns / 1e9);
		snprintf(right, sizeof right, "elapsed %s  every %s", el, iv);
	} else {
		snprintf(right, sizeof right, "elapsed %s", el);
	}
	who(names, sizeof names, v, msg_get_array(sample, "procs"), nprocs);
	term_line_init(&l, s->width);
	term_esc(&l, s->color, OUT_BOLD);
	int room = s->width - out_text_width(right) - 2;
	if (room < 10)
		room = 10;
	char cut[1024];
	term_add(&l, out_fit(cut, sizeof cut, names, room));
	term_esc(&l, s->color, OUT_RESET);
	term_pad_to(&l, s->width - out_text_width(right) - 2);
	term_add(&l, "  ");
	term_add(&l, right);
	term_emit(s, &l);
}

/* "RSS 1.52 GiB ↑" */
static void l_metric(struct term_line *l, const char *label, const char *val,
		     const struct watch_view *v, enum watch_metric m, double cur)
{
	term_addf(l, "%s%s%s %s", label, *label ? " " : "", val,
	       watch_trend_arrow(watch_metric_trend(m, v->have_prev ? v->prev[m] : NAN, cur)));
}

static void cpu_bar(struct term_line *l, const struct watch_view *v, double cpu, int bw)
{
	char bar[160];
	double fill = isnan(cpu) ? NAN : cpu * 100 / v->cpu_scale;
	out_bar(bar, sizeof bar, fill, bw);
	term_esc(l, v->color, watch_cpu_color(fill));
	term_add(l, bar);
	term_esc(l, v->color, OUT_RESET);
}

static void full_view(struct term_scr *s, const struct watch_view *v, const msgpack_object *sample,
		      const double *cur)
{
	const msgpack_object *tot = msg_get_map(sample, "total");
	struct term_line l;
	cell a, b;
	int bw = s->width - 50;

	bw = bw < 10 ? 10 : bw > 40 ? 40 : bw;
	term_line_init(&l, s->width);
	term_add(&l, "CPU      ");
	l_metric(&l, "", c_pct(a, cur[WM_CPU]), v, WM_CPU, cur[WM_CPU]);
	term_pad_to(&l, 19);
	cpu_bar(&l, v, cur[WM_CPU], bw);
	if (v->cpu_scale > 100)
		term_addf(&l, " of %.0f%%", v->cpu_scale);
	term_addf(&l, "  user %s  sys %s", c_pct(a, num_or_nan(tot, "user_pct")),
	       c_pct(b, num_or_nan(tot, "system_pct")));
	term_emit(s, &l);

	term_line_init(&l, s->width);
	term_add(&l, "Memory   ");
	l_metric(&l, "RSS", c_bytes(a, cur[WM_RSS]), v, WM_RSS, cur[WM_RSS]);
	term_add(&l, "   ");
	l_metric(&l, "PSS", c_bytes(a, cur[WM_PSS]), v, WM_PSS, cur[WM_PSS]);
	if (msg_map_get(tot, "gpu_mem_bytes"))   /* only when a process holds some */
		term_addf(&l, "   GPU %s", c_bytes(a, num_or_nan(tot, "gpu_mem_bytes")));
	term_emit(s, &l);

	term_line_init(&l, s->width);
	term_add(&l, "IO       ");
	l_metric(&l, "read", c_rate(a, cur[WM_READ]), v, WM_READ, cur[WM_READ]);
	term_add(&l, "   ");
	l_metric(&l, "write", c_rate(a, cur[WM_WRITE]), v, WM_WRITE, cur[WM_WRITE]);
	term_emit(s, &l);

	term_line_init(&l, s->width);
	term_add(&l, "Tasks    ");
	l_metric(&l, "threads", c_int(a, cur[WM_THREADS]), v, WM_THREADS, cur[WM_THREADS]);
	term_addf(&l, "   processes %s", c_int(b, num_or_nan(tot, "processes")));
	term_emit(s, &l);
	if (v->note[0]) {
		term_line_init(&l, s->width);
		term_add(&l, v->note);
		term_emit(s, &l);
	}
	if (v->mark[0]) {
		term_line_init(&l, s->width);
		term_add(&l, "Mark     ");
		term_add(&l, v->mark);
		term_emit(s, &l);
	}
}

/* Remember the newest mark a sample brought (rmonctl mark). */
static void take_mark(struct watch_view *v, const msgpack_object *sample)
{
	const msgpack_object *marks = msg_get_array(sample, "marks");
	char text[RM_LABEL_MAX], when[32];
	uint64_t ts;
	if (!marks || marks->via.array.size == 0)
		return;
	const msgpack_object *m = &marks->via.array.ptr[marks->via.array.size - 1];
	str_field(text, sizeof text, m, "label");
	if (!msg_get_u64(m, "ts", &ts))
		ts = 0;
	out_time_local(when, sizeof when, ts, false);
	snprintf(v->mark, sizeof v->mark, "%.8s %s", when, text);
}

static void compact_view(struct term_scr *s, const struct watch_view *v,
			 const msgpack_object *sample, const double *cur, double nprocs)
{
	struct term_line l;
	char names[256], cut[256];
	cell a, el;

	who(names, sizeof names, v, msg_get_array(sample, "procs"), nprocs);
	elapsed(el, v, sample);
	term_line_init(&l, s->width);
	term_add(&l, out_fit(cut, sizeof cut, names, 22));
	term_addf(&l, " %s  ", el);
	l_metric(&l, "CPU", c_pct(a, cur[WM_CPU]), v, WM_CPU, cur[WM_CPU]);
	term_add(&l, " ");
	cpu_bar(&l, v, cur[WM_CPU], 10);
	term_add(&l, "  ");
	l_metric(&l, "RSS", c_bytes(a, cur[WM_RSS]), v, WM_RSS, cur[WM_RSS]);
	double gpu = num_or_nan(msg_get_map(sample, "total"), "gpu_mem_bytes");
	if (!isnan(gpu))   /* only when a process holds GPU memory */
		term_addf(&l, "  GPU %s", c_bytes(a, gpu));
	term_emit(s, &l);

	term_line_init(&l, s->width);
	l_metric(&l, "PSS", c_bytes(a, cur[WM_PSS]), v, WM_PSS, cur[WM_PSS]);
	term_add(&l, "  ");
	l_metric(&l, "read", c_rate(a, cur[WM_READ]), v, WM_READ, cur[WM_READ]);
	term_add(&l, "  ");
	l_metric(&l, "write", c_rate(a, cur[WM_WRITE]), v, WM_WRITE, cur[WM_WRITE]);
	term_add(&l, "  ");
	l_metric(&l, "threads", c_int(a, cur[WM_THREADS]), v, WM_THREADS, cur[WM_THREADS]);
	term_addf(&l, "  procs %s", c_int(a, nprocs));
	term_emit(s, &l);

	const msgpack_object *th = v->threads ? msg_get_array(sample, "threads") : NULL;
	uint32_t *order = by_cpu(th);
	if (order || v->note[0]) {
		term_line_init(&l, s->width);
		if (order) {
			const msgpack_object *t = &th->via.array.ptr[order[0]];
			char name[80];
			str_field(name, sizeof name, t, "label");
			term_addf(&l, "top thread %s %s %s", c_int(a, num_or_nan(t, "tid")),
			       name[0] ? name : "?", c_pct(el, num_or_nan(t, "cpu_pct")));
		}
		if (v->note[0])
			term_addf(&l, "%s%s", order ? "  " : "", v->note);
		term_emit(s, &l);
	}
	free(order);
}

static void thread_rows(struct term_scr *s, const msgpack_object *th, int rows)
{
	struct term_line l;
	uint32_t *order = by_cpu(th);
	uint32_t n = th ? th->via.array.size : 0;

	term_line_init(&l, s->width);
	term_esc(&l, s->color, OUT_BOLD);
	term_addf(&l, "%7s %s %6s %6s %6s %6s %4s  %s", "TID", "S", "CPU%", "USER%", "SYS%", "WAIT%",
	       "CPU#", "THREAD");
	term_esc(&l, s->color, OUT_RESET);
	term_emit(s, &l);
	for (uint32_t i = 0; i < n && (int)i < rows; i++) {
		const msgpack_object *t = &th->via.array.ptr[order ? order[i] : i];
		cell c[6];
		char name[80];
		double cpu = num_or_nan(t, "cpu_pct");
		str_field(name, sizeof name, t, "label");
		term_line_init(&l, s->width);
		term_addf(&l, "%7s %c ", c_int(c[0], num_or_nan(t, "tid")), state_char(t));
		if (!isnan(cpu))
			term_esc(&l, s->color, watch_cpu_color(cpu));
		term_addf(&l, "%6s", c_dec1(c[1], cpu));
		term_esc(&l, s->color, OUT_RESET);
		term_addf(&l, " %6s %6s %6s %4s  %s", c_dec1(c[2], num_or_nan(t, "user_pct")),
		       c_dec1(c[3], num_or_nan(t, "system_pct")), c_dec1(c[4], num_or_nan(t, "runq_wait_pct")),
		       c_int(c[5], num_or_nan(t, "last_cpu")), name[0] ? name : "?");
		term_emit(s, &l);
	}
	free(order);
}

/* Rows for the process and thread tables in avail lines: each table
 * takes a blank line and a header, the process table one more for its
 * "more" line; threads get up to WATCH_THREAD_ROWS, processes the rest
 * but at least a third when both are there. */
static void fit_rows(int avail, int nprocs, int nthreads, bool threads, int *prow, int *trow)
{
	int tover = threads ? 2 : 0, pover = nprocs > 1 ? 2 : 0;
	int room = avail - tover - pover;
	int t = threads ? (nthreads < WATCH_THREAD_ROWS ? nthreads : WATCH_THREAD_ROWS) : 0;
	int p = nprocs > 1 ? nprocs : 0;

	if (room < 0)
		room = 0;
	if (p + t > room) {
		int pmin = p ? (room / 3 > 1 ? room / 3 : 1) : 0;
		if (p < pmin)
			pmin = p;
		if (t > room - pmin)
			t = room - pmin > 0 ? room - pmin : 0;
		p = room - t < p ? room - t : p;
	}
	*prow = p;
	*trow = t;
}

void watch_view_render(FILE *f, struct watch_view *v, const msgpack_object *sample)
{
	struct term_scr s = { f, v->color, v->width, v->height > 1 ? v->height - 1 : 1, 0 };
	const msgpack_object *tot = msg_get_map(sample, "total");
	const msgpack_object *procs = msg_get_array(sample, "procs");
	const msgpack_object *th = v->threads ? msg_get_array(sample, "threads") : NULL;
	double cur[WM__COUNT];
	double nprocs = num_or_nan(tot, "processes");

	if (isnan(nprocs) && procs)
		nprocs = procs->via.array.size;
	for (int i = 0; i < WM__COUNT; i++)
		cur[i] = num_or_nan(tot, metric[i].field);
	while (!isnan(cur[WM_CPU]) && cur[WM_CPU] > v->cpu_scale)
		v->cpu_scale += 100;
	take_mark(v, sample);
	if (v->compact) {
		compact_view(&s, v, sample, cur, nprocs);
	} else {
		header(&s, v, sample, nprocs);
		full_view(&s, v, sample, cur);
		int prow, trow, np = procs ? (int)procs->via.array.size : 0;
		fit_rows(s.max_lines - s.lines, np, th ? (int)th->via.array.size : 0, v->threads,
			 &prow, &trow);
		if (prow > 0) {
			uint32_t *order = by_cpu(procs);
			struct proc_table t = { v->width, false, v->color, prow };
			term_blank(&s);
			proc_table(&s, procs, &t, order);
			free(order);
		}
		if (v->threads) {
			term_blank(&s);
			thread_rows(&s, th, trow);
		}
	}
	memcpy(v->prev, cur, sizeof cur);
	v->have_prev = true;
	v->lines = s.lines;
}

/* ---- summaries ---- */

static void kv_line(struct term_scr *s, const char *label, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void kv_line(struct term_scr *s, const char *label, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (s->color)
		fprintf(s->f, "  " OUT_BOLD "%-11s" OUT_RESET "%s\n", label, buf);
	else
		fprintf(s->f, "  %-11s%s\n", label, buf);
	s->lines++;
}

void watch_summary_print(FILE *f, const msgpack_object *result, bool color)
{
	struct term_scr s = { f, color, 0, 0, 0 };
	const msgpack_object *peak = msg_get_map(result, "peak"), *avg = msg_get_map(result, "avg");
	const msgpack_object *io = msg_get_map(result, "io");
	char reason[64], dur[32];
	cell a, b;
	double tmin, tmax;

	if (!msg_get_str(result, "reason", reason, sizeof reason))
		snprintf(reason, sizeof reason, "-");
	out_clean(reason);
	out_secs(dur, sizeof dur, num_or_nan(result, "duration_s"));
	fputs(color ? OUT_BOLD "Watch summary" OUT_RESET : "Watch summary", f);
	fprintf(f, ": %s, %s samples, %s\n", dur, c_int(a, num_or_nan(result, "samples")),
		strcmp(reason, "exited") == 0 ? "all watched processes exited"
		: strcmp(reason, "cancelled") == 0 ? "stopped" : reason);
	kv_line(&s, "CPU", "peak %s   average %s", c_pct(a, num_or_nan(peak, "cpu_pct")),
		c_pct(b, num_or_nan(avg, "cpu_pct")));
	kv_line(&s, "memory", "peak RSS %s   peak PSS %s", c_bytes(a, num_or_nan(peak, "rss_bytes")),
		c_bytes(b, num_or_nan(peak, "pss_bytes")));
	if (msg_map_get(peak, "gpu_mem_bytes"))
		kv_line(&s, "GPU", "peak memory %s", c_bytes(a, num_or_nan(peak, "gpu_mem_bytes")));
	kv_line(&s, "IO", "read %s   written %s", c_bytes(a, num_or_nan(io, "read_bytes")),
		c_bytes(b, num_or_nan(io, "write_bytes")));
	if (num(result, "threads_min", &tmin) && num(result, "threads_max", &tmax) && tmin != tmax)
		kv_line(&s, "threads", "%.0f to %.0f", tmin, tmax);
	else if (num(result, "threads_max", &tmax) || num(peak, "threads", &tmax))
		kv_line(&s, "threads", "%.0f", tmax);
	else
		kv_line(&s, "threads", "-");
}

struct cat {
	char major[48], minor[48];
	double procs, cpu, rss, gpu, major_cpu;
};

static int cat_cmp(const void *pa, const void *pb)
{
	const struct cat *a = pa, *b = pb;
	if (a->major_cpu != b->major_cpu)
		return a->major_cpu > b->major_cpu ? -1 : 1;
	int c = strcmp(a->major, b->major);
	if (c)
		return c;
	if (a->cpu != b->cpu)
		return a->cpu > b->cpu ? -1 : 1;
	return strcmp(a->minor, b->minor);
}

#define CATS_MAX 48

/* gpu: the peak GPU memory column, NULL when no category has one. */
static void cat_row(struct term_scr *s, const char *name, int indent, const char *procs,
		    const char *cpu, const char *rss, const char *gpu)
{
	char cut[64];
	out_fit(cut, sizeof cut, name, 20 - indent);
	int pad = 20 - indent - out_text_width(cut);
	fprintf(s->f, "  %*s%s%*s %6s %9s", indent, "", cut, pad > 0 ? pad : 0, "", procs, cpu);
	if (*rss)
		fprintf(s->f, " %10s", rss);
	if (gpu)
		fprintf(s->f, " %10s", gpu);
	fputc('\n', s->f);
	s->lines++;
}

static void categories(struct term_scr *s, const msgpack_object *arr)
{
	struct cat cats[CATS_MAX];
	size_t n = 0;
	char name[96];
	cell a, b, c, d;
	bool gpu = false;

	for (uint32_t i = 0; arr && i < arr->via.array.size && n < CATS_MAX; i++) {
		const msgpack_object *r = &arr->via.array.ptr[i];
		struct cat *k = &cats[n++];
		str_field(name, sizeof name, r, "name");
		char *slash = strchr(name, '/');
		if (slash)
			*slash = '\0';
		out_fit(k->major, sizeof k->major, name[0] ? name : "?", 0);
		out_fit(k->minor, sizeof k->minor, slash ? slash + 1 : "", 0);
		k->procs = num_or_nan(r, "processes");
		k->cpu = num_or_nan(r, "cpu_s");
		k->rss = num_or_nan(r, "peak_rss_bytes");
		k->gpu = num_or_nan(r, "peak_gpu_mem_bytes");
		gpu |= !isnan(k->gpu);
	}
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		cats[i].major_cpu = 0;
		for (size_t j = 0; j < n; j++)
			if (strcmp(cats[i].major, cats[j].major) == 0 && !isnan(cats[j].cpu))
				cats[i].major_cpu += cats[j].cpu;
	}
	qsort(cats, n, sizeof cats[0], cat_cmp);
	fprintf(s->f, s->color ? "  " OUT_BOLD "%-20s %6s %9s %10s%s" OUT_RESET "\n" : "  %-20s %6s %9s %10s%s\n",
		"category", "procs", "CPU s", "peak RSS", gpu ? "   peak GPU" : "");
	s->lines++;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		double procs = 0;
		for (; j < n && strcmp(cats[j].major, cats[i].major) == 0; j++)
			procs += isnan(cats[j].procs) ? 0 : cats[j].procs;
		if (j - i == 1) {   /* one kind in this group: one row */
			snprintf(name, sizeof name, "%s%s%s", cats[i].major, cats[i].minor[0] ? "/" : "",
				 cats[i].minor);
			cat_row(s, name, 0, c_int(a, cats[i].procs), c_dec1(c, cats[i].cpu),
				c_bytes(b, cats[i].rss), gpu ? c_bytes(d, cats[i].gpu) : NULL);
			i = j;
			continue;
		}
		cat_row(s, cats[i].major, 0, c_int(a, procs), c_dec1(c, cats[i].major_cpu), "", NULL);
		for (; i < j; i++)
			cat_row(s, cats[i].minor[0] ? cats[i].minor : "(other)", 2, c_int(a, cats[i].procs),
				c_dec1(c, cats[i].cpu), c_bytes(b, cats[i].rss),
				gpu ? c_bytes(d, cats[i].gpu) : NULL);
	}
	if (arr->via.array.size > n)
		fprintf(s->f, "  \u2026 %" PRIu32 " more categories\n", arr->via.array.size - (uint32_t)n);
}

static void exit_line(struct term_scr *s, const struct run_end *e)
{
	if (!e->have_status)
		kv_line(s, "exit", "unknown");
	else if (WIFEXITED(e->wstatus))
		kv_line(s, "exit", "status %d", WEXITSTATUS(e->wstatus));
	else if (WIFSIGNALED(e->wstatus))
		kv_line(s, "exit", "killed by signal %d (%s)%s; exit code %d", WTERMSIG(e->wstatus),
			strsignal(WTERMSIG(e->wstatus)), WCOREDUMP(e->wstatus) ? ", core dumped" : "",
			128 + WTERMSIG(e->wstatus));
	else
		kv_line(s, "exit", "wait status 0x%x", (unsigned)e->wstatus);
}

static void time_of(char *buf, size_t len, uint64_t ns, bool with_date)
{
	out_time_local(buf, len, ns, with_date);
	char *dot = strrchr(buf, '.');
	if (dot)
		*dot = '\0';
}

static void run_when(struct term_scr *s, const msgpack_object *result, const struct run_end *e)
{
	double d = num_or_nan(result, "duration_s");
	char dur[32], from[40], to[40];

	if (isnan(d) && e->start_ns && e->end_ns > e->start_ns)
		d = (double)(e->end_ns - e->start_ns) / 1e9;
	out_secs(dur, sizeof dur, d);
	if (e->start_ns && e->end_ns >= e->start_ns) {
		bool day = e->end_ns - e->start_ns > UINT64_C(86400000000000);
		time_of(from, sizeof from, e->start_ns, day);
		time_of(to, sizeof to, e->end_ns, day);
		kv_line(s, "duration", "%s (%s to %s)", dur, from, to);
	} else {
		kv_line(s, "duration", "%s", dur);
	}
}

static void run_verdict(struct term_scr *s, const msgpack_object *run)
{
	const msgpack_object *pr = msg_get_map(run, "pressure");
	char verdict[48], evidence[512];
	cell a, b, c, d;

	if (msg_get_str(run, "verdict", verdict, sizeof verdict)) {
		str_field(evidence, sizeof evidence, run, "evidence");
		if (s->color)
			kv_line(s, "verdict", OUT_BOLD "%s" OUT_RESET "%s%s", out_clean(verdict),
				evidence[0] ? ": " : "", evidence);
		else
			kv_line(s, "verdict", "%s%s%s", out_clean(verdict), evidence[0] ? ": " : "", evidence);
	}
	if (pr || msg_map_get(run, "iowait_pct"))
		kv_line(s, "pressure", "cpu %s  io %s  memory %s (some, average)   iowait %s",
			c_pct(a, num_or_nan(pr, "cpu_some_avg")), c_pct(b, num_or_nan(pr, "io_some_avg")),
			c_pct(c, num_or_nan(pr, "mem_some_avg")), c_pct(d, num_or_nan(run, "iowait_pct")));
}

void watch_run_summary_print(FILE *f, const msgpack_object *result, const struct run_end *e,
			     bool color)
{
	struct term_scr s = { f, color, 0, 0, 0 };
	const msgpack_object *run = msg_get_map(result, "run"), *peak = msg_get_map(result, "peak");
	char label[512];
	cell a, b;
	double cpu, util, rss, pss;
	uint64_t run_id;

	str_field(label, sizeof label, run, "label");
	if (!label[0] && e->label)
		snprintf(label, sizeof label, "%s", e->label);
	fprintf(f, color ? OUT_BOLD "rmonctl run" OUT_RESET ": %s\n" : "rmonctl run: %s\n",
		label[0] ? out_clean(label) : "?");
	exit_line(&s, e);
	run_when(&s, result, e);
	if (!result) {
		kv_line(&s, "summary", "none: rmond did not send one");
		return;
	}
	cpu = num_or_nan(run, "cpu_s");
	util = num_or_nan(run, "cpu_util_pct");
	snprintf(b, sizeof b, "%.1f s", cpu);
	if (!isnan(util))
		kv_line(&s, "CPU", "%s (%.1f%% of all CPUs)", isnan(cpu) ? "-" : b, util);
	else
		kv_line(&s, "CPU", "%s", isnan(cpu) ? "-" : b);
	rss = num_or_nan(run, "peak_rss_bytes");
	pss = num_or_nan(run, "peak_pss_bytes");
	if (isnan(rss))
		rss = num_or_nan(peak, "rss_bytes");
	if (isnan(pss))
		pss = num_or_nan(peak, "pss_bytes");
	kv_line(&s, "memory", "peak RSS %s   peak PSS %s", c_bytes(a, rss), c_bytes(b, pss));
	if (msg_map_get(run, "peak_gpu_mem_bytes"))   /* only when a process held GPU memory */
		kv_line(&s, "GPU", "peak memory %s", c_bytes(a, num_or_nan(run, "peak_gpu_mem_bytes")));
	kv_line(&s, "processes", "%s", c_int(a, num_or_nan(run, "processes")));
	run_verdict(&s, run);
	categories(&s, msg_get_array(run, "categories"));
	if (msg_get_u64(run, "run_id", &run_id))
		kv_line(&s, "history", "run %" PRIu64 "; for example: rmonctl query 'proc:*.rss_bytes' "
			"--run %" PRIu64, run_id, run_id);
}
