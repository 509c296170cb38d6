/*
 * The human screen of `rmonctl status` (cmd_status_render), split from
 * cmd-status.c so that the command stays a small table entry and watch/top
 * can reuse the sections.  Every section renders what the result holds
 * and skips what it lacks: a value without a reading prints "-", never 0.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "duration.h"
#include "msg.h"
#include "out.h"
#include "paths.h"

struct scr {
	FILE *f;
	const struct status_view *v;
};

typedef char cell[32];

enum fk { FK_PCT, FK_PCT2, FK_BYTES, FK_SI, FK_NUM, FK_INT };

/* A reading: present, numeric, not NaN. */
static bool fv(const msgpack_object *rec, const char *field, double *v)
{
	return rec && msg_get_f64(rec, field, v) && !isnan(*v);
}

static const char *fmt(cell c, const msgpack_object *rec, const char *field, enum fk k)
{
	double v;
	if (!fv(rec, field, &v))
		return "-";
	switch (k) {
	case FK_PCT: snprintf(c, sizeof(cell), "%.1f", v); break;
	case FK_PCT2: snprintf(c, sizeof(cell), "%.2f", v); break;
	case FK_BYTES: out_bytes(c, sizeof(cell), v); break;
	case FK_SI: out_si(c, sizeof(cell), v); break;
	case FK_INT: snprintf(c, sizeof(cell), "%.0f", v); break;
	default: out_num(c, sizeof(cell), v); break;
	}
	return c;
}

/* "  label value", only when the value has a reading. */
static void opt_kv(struct scr *s, const char *label, const char *val, const char *suffix)
{
	if (strcmp(val, "-") != 0)
		fprintf(s->f, "  %s%s%s%s", label, *label ? " " : "", val, suffix);
}

static void heading(struct scr *s, const char *title)
{
	fprintf(s->f, s->v->color ? OUT_BOLD "%s" OUT_RESET : "%s", title);
}

static void bar(struct scr *s, double pct, int width)
{
	char b[128];
	out_bar(b, sizeof b, pct, width);
	if (s->v->color)
		fprintf(s->f, "%s%s" OUT_RESET, out_level_color(pct), b);
	else
		fputs(b, s->f);
}

static void header(struct scr *s, const msgpack_object *srv)
{
	char ver[64], sock[PATHS_SOCKET_MAX], up[32];
	double d;
	uint64_t pid;

	if (!srv)
		return;
	if (!msg_get_str(srv, "version", ver, sizeof ver))
		snprintf(ver, sizeof ver, "?");
	heading(s, "rmond ");
	fputs(out_clean(ver), s->f);
	if (fv(srv, "uptime_s", &d)) {
		out_secs(up, sizeof up, d);
		fprintf(s->f, "  up %s", up);
	}
	if (msg_get_u64(srv, "pid", &pid))
		fprintf(s->f, "  pid %" PRIu64, pid);
	if (msg_get_str(srv, "socket", sock, sizeof sock))
		fprintf(s->f, "  socket %s", out_clean(sock));
	fputc('\n', s->f);
}

/* "23.1%", or "-" without a reading. */
static const char *pct_cell(cell c, const msgpack_object *rec, const char *field)
{
	double v;
	if (!fv(rec, field, &v))
		return "-";
	snprintf(c, sizeof(cell), "%.1f%%", v);
	return c;
}

static void cpu_row(struct scr *s, const msgpack_object *rec, const char *key)
{
	cell a, b, c, d, e, g, h;
	double busy = NAN;
	(void)fv(rec, "busy_pct", &busy);
	fprintf(s->f, "%-4s ", key);
	bar(s, busy, 20);
	fprintf(s->f, " %6s %5s %5s %5s %5s %5s %4s\n", pct_cell(a, rec, "busy_pct"),
		fmt(b, rec, "user_pct", FK_PCT), fmt(c, rec, "system_pct", FK_PCT),
		fmt(d, rec, "iowait_pct", FK_PCT), fmt(e, rec, "steal_pct", FK_PCT),
		fmt(g, rec, "freq_mhz", FK_INT), fmt(h, rec, "temp_c", FK_INT));
}

/* Many cores: compact cells "  3 [|||     ]  45.0%", several per line. */
static void cpu_grid(struct scr *s, const msgpack_object *cpus)
{
	int cols = (s->v->width + 2) / 24, col = 0;
	if (cols < 1)
		cols = 1;
	for (uint32_t i = 0; i < cpus->via.array.size; i++) {
		const msgpack_object *rec = &cpus->via.array.ptr[i];
		char key[16];
		cell p;
		double busy = NAN;
		if (!msg_get_str(rec, "key", key, sizeof key) || strcmp(key, "all") == 0)
			continue;
		(void)fv(rec, "busy_pct", &busy);
		fprintf(s->f, "%s%4s ", col ? "  " : "", out_clean(key));
		bar(s, busy, 10);
		fprintf(s->f, " %6s", pct_cell(p, rec, "busy_pct"));
		if (++col == cols) {
			fputc('\n', s->f);
			col = 0;
		}
	}
	if (col)
		fputc('\n', s->f);
}

static void cpu(struct scr *s, const msgpack_object *cpus)
{
	const msgpack_object *all = NULL;
	uint32_t ncores = 0;
	char key[16];

	if (!cpus || cpus->via.array.size == 0)
		return;
	for (uint32_t i = 0; i < cpus->via.array.size; i++) {
		if (!msg_get_str(&cpus->via.array.ptr[i], "key", key, sizeof key))
			continue;
		if (strcmp(key, "all") == 0)
			all = &cpus->via.array.ptr[i];
		else
			ncores++;
	}
	fputc('\n', s->f);
	fprintf(s->f, s->v->color ? OUT_BOLD "%-27s %6s %5s %5s %5s %5s %5s %4s" OUT_RESET "\n"
				  : "%-27s %6s %5s %5s %5s %5s %5s %4s\n",
		"CPU", "busy", "user", "sys", "wait", "steal", "MHz", "temp");
	if (all)
		cpu_row(s, all, "all");
	if (ncores > 4) {
		cpu_grid(s, cpus);
		return;
	}
	for (uint32_t i = 0; i < cpus->via.array.size; i++)
		if (msg_get_str(&cpus->via.array.ptr[i], "key", key, sizeof key) && strcmp(key, "all"))
			cpu_row(s, &cpus->via.array.ptr[i], out_clean(key));
}

static void mem_line(struct scr *s, const char *label, double used, double total, double pct)
{
	char u[32], t[32];
	if (isnan(pct) && total > 0)
		pct = used / total * 100;
	fprintf(s->f, "%-4s ", label);
	bar(s, pct, 20);
	out_bytes(u, sizeof u, used);
	out_bytes(t, sizeof t, total);
	if (isnan(pct))
		fprintf(s->f, "     -  %s of %s", u, t);
	else
		fprintf(s->f, " %5.1f%%  %s of %s", pct, u, t);
}

static void memory(struct scr *s, const msgpack_object *sys)
{
	double used = NAN, total = NAN, pct = NAN;
	cell a, b, c, d;

	if (!sys)
		return;
	bool any = fv(sys, "mem_total_bytes", &total);
	any = fv(sys, "mem_used_bytes", &used) || any;
	any = fv(sys, "mem_used_pct", &pct) || any;
	if (!any)
		return;
	fputc('\n', s->f);
	mem_line(s, "Mem", used, total, pct);
	opt_kv(s, "avail", fmt(a, sys, "mem_avail_bytes", FK_BYTES), "");
	fputc('\n', s->f);
	if (fv(sys, "mem_buffers_bytes", &used) || fv(sys, "mem_cached_bytes", &used) ||
	    fv(sys, "mem_dirty_bytes", &used)) {
		fputs("   ", s->f);
		opt_kv(s, "buffers", fmt(b, sys, "mem_buffers_bytes", FK_BYTES), "");
		opt_kv(s, "cached", fmt(c, sys, "mem_cached_bytes", FK_BYTES), "");
		opt_kv(s, "dirty", fmt(d, sys, "mem_dirty_bytes", FK_BYTES), "");
		fputc('\n', s->f);
	}
	used = total = NAN;
	if (fv(sys, "swap_total_bytes", &total) && total == 0) {
		fputs("Swap none\n", s->f);
	} else if (fv(sys, "swap_used_bytes", &used) || !isnan(total)) {
		mem_line(s, "Swap", used, total, NAN);
		fputc('\n', s->f);
	}
}

static void load(struct scr *s, const msgpack_object *sys)
{
	cell a, b, c, d, e, g, h;
	double v;

	if (!sys || !(fv(sys, "load1", &v) || fv(sys, "procs_running", &v) || fv(sys, "ctxt_ps", &v)))
		return;
	heading(s, "Load");
	fprintf(s->f, " %s %s %s   tasks %s running, %s blocked   ctxt %s/s  intr %s/s\n",
		fmt(a, sys, "load1", FK_PCT2), fmt(b, sys, "load5", FK_PCT2), fmt(c, sys, "load15", FK_PCT2),
		fmt(d, sys, "procs_running", FK_INT), fmt(e, sys, "procs_blocked", FK_INT),
		fmt(g, sys, "ctxt_ps", FK_SI), fmt(h, sys, "intr_ps", FK_SI));
}

static void pressure(struct scr *s, const msgpack_object *sys, const msgpack_object *caps)
{
	static const char *const res[][2] = { { "cpu", "cpu" }, { "memory", "mem" }, { "io", "io" } };
	bool have = false;
	double v;

	if (caps && msg_get_bool(caps, "psi", &have) && !have) {
		fputs("\nPressure: not available on this machine\n", s->f);
		return;
	}
	if (!sys || !fv(sys, "psi_cpu_some_avg10", &v))
		return;
	fputc('\n', s->f);
	heading(s, "Pressure (% stalled)  some avg10  avg60   full avg10  avg60");
	fputc('\n', s->f);
	for (size_t i = 0; i < 3; i++) {
		char k[4][48];
		cell c[4];
		static const char *const f[] = { "some_avg10", "some_avg60", "full_avg10", "full_avg60" };
		for (int j = 0; j < 4; j++)
			snprintf(k[j], sizeof k[j], "psi_%s_%s", res[i][1], f[j]);
		fprintf(s->f, "  %-19s %10s %6s %12s %6s\n", res[i][0], fmt(c[0], sys, k[0], FK_PCT2),
			fmt(c[1], sys, k[1], FK_PCT2), fmt(c[2], sys, k[2], FK_PCT2),
			fmt(c[3], sys, k[3], FK_PCT2));
	}
}

static size_t key_width(const msgpack_object *arr, size_t min)
{
	char key[64];
	for (uint32_t i = 0; i < arr->via.array.size; i++)
		if (msg_get_str(&arr->via.array.ptr[i], "key", key, sizeof key) && strlen(key) > min)
			min = strlen(key);
	return min;
}

static void disks(struct scr *s, const msgpack_object *arr)
{
	if (!arr || arr->via.array.size == 0)
		return;
	int w = (int)key_width(arr, 8);
	fputc('\n', s->f);
	fprintf(s->f, s->v->color ? OUT_BOLD "%-*s %10s %10s %7s %7s %6s %8s" OUT_RESET "\n"
				  : "%-*s %10s %10s %7s %7s %6s %8s\n",
		w, "Disk", "read/s", "write/s", "r/s", "w/s", "busy%", "await ms");
	for (uint32_t i = 0; i < arr->via.array.size; i++) {
		const msgpack_object *r = &arr->via.array.ptr[i];
		char key[64];
		cell a, b, c, d, e, g;
		if (!msg_get_str(r, "key", key, sizeof key))
			snprintf(key, sizeof key, "?");
		fprintf(s->f, "%-*s %10s %10s %7s %7s %6s %8s\n", w, out_clean(key),
			fmt(a, r, "read_bps", FK_BYTES), fmt(b, r, "write_bps", FK_BYTES),
			fmt(c, r, "read_iops", FK_SI), fmt(d, r, "write_iops", FK_SI),
			fmt(e, r, "busy_pct", FK_PCT), fmt(g, r, "await_ms", FK_NUM));
	}
}

/* rx + tx of a per-second pair, "-" when neither has a reading. */
static const char *sum2(cell c, const msgpack_object *r, const char *f1, const char *f2)
{
	double a = 0, b = 0;
	bool ha = fv(r, f1, &a), hb = fv(r, f2, &b);
	if (!ha && !hb)
		return "-";
	out_si(c, sizeof(cell), (ha ? a : 0) + (hb ? b : 0));
	return c;
}

static void nets(struct scr *s, const msgpack_object *arr)
{
	if (!arr || arr->via.array.size == 0)
		return;
	int w = (int)key_width(arr, 8);
	fputc('\n', s->f);
	fprintf(s->f, s->v->color ? OUT_BOLD "%-*s %10s %10s %8s %8s %6s %6s" OUT_RESET "\n"
				  : "%-*s %10s %10s %8s %8s %6s %6s\n",
		w, "Net", "rx/s", "tx/s", "rx pkt/s", "tx pkt/s", "err/s", "drop/s");
	for (uint32_t i = 0; i < arr->via.array.size; i++) {
		const msgpack_object *r = &arr->via.array.ptr[i];
		char key[64];
		cell a, b, c, d, e, g;
		if (!msg_get_str(r, "key", key, sizeof key))
			snprintf(key, sizeof key, "?");
		fprintf(s->f, "%-*s %10s %10s %8s %8s %6s %6s\n", w, out_clean(key),
			fmt(a, r, "rx_bps", FK_BYTES), fmt(b, r, "tx_bps", FK_BYTES),
			fmt(c, r, "rx_pps", FK_SI), fmt(d, r, "tx_pps", FK_SI),
			sum2(e, r, "rx_errs_ps", "tx_errs_ps"), sum2(g, r, "rx_drop_ps", "tx_drop_ps"));
	}
}

/* GPUs: utilisation, memory, temperature, power, PCIe link now vs max. */
static void gpus(struct scr *s, const msgpack_object *arr)
{
	if (!arr || arr->via.array.size == 0)
		return;
	fputc('\n', s->f);
	fprintf(s->f, s->v->color ? OUT_BOLD "%-3s %-22s %5s %21s %5s %15s %s" OUT_RESET "\n"
				  : "%-3s %-22s %5s %21s %5s %15s %s\n",
		"GPU", "", "util%", "memory", "temp", "power W", "PCIe now/max");
	for (uint32_t i = 0; i < arr->via.array.size; i++) {
		const msgpack_object *r = &arr->via.array.ptr[i];
		char key[16], name[64], mem[80], pw[80], link[160];
		cell a, b, c, d, e, f, g, h, k;
		if (!msg_get_str(r, "key", key, sizeof key))
			snprintf(key, sizeof key, "?");
		if (!msg_get_str(r, "label", name, sizeof name))
			name[0] = '\0';
		snprintf(mem, sizeof mem, "%s / %s", fmt(a, r, "mem_used_bytes", FK_BYTES),
			 fmt(b, r, "mem_total_bytes", FK_BYTES));
		snprintf(pw, sizeof pw, "%s / %s", fmt(c, r, "power_w", FK_INT),
			 fmt(d, r, "power_limit_w", FK_INT));
		snprintf(link, sizeof link, "gen%s x%s / gen%s x%s", fmt(e, r, "pcie_gen", FK_INT),
			 fmt(f, r, "pcie_width", FK_INT), fmt(g, r, "pcie_gen_max", FK_INT),
			 fmt(h, r, "pcie_width_max", FK_INT));
		fprintf(s->f, "%-3s %-22.22s %5s %21s %5s %15s %s\n", out_clean(key), out_clean(name),
			fmt(k, r, "util_pct", FK_INT), mem, fmt(a, r, "temp_c", FK_INT), pw, link);
	}
}

static void temps(struct scr *s, const msgpack_object *arr)
{
	int col = 4;
	if (!arr || arr->via.array.size == 0)
		return;
	fputc('\n', s->f);
	heading(s, "Temp");
	for (uint32_t i = 0; i < arr->via.array.size; i++) {
		const msgpack_object *r = &arr->via.array.ptr[i];
		char key[64], item[128];
		double t, crit;
		if (!msg_get_str(r, "key", key, sizeof key) || !fv(r, "temp_c", &t))
			continue;
		int n = fv(r, "crit_c", &crit)
				? snprintf(item, sizeof item, "%s %.0fC (crit %.0fC)", out_clean(key), t, crit)
				: snprintf(item, sizeof item, "%s %.0fC", out_clean(key), t);
		if (col + 2 + n > s->v->width && col > 4) {
			fputs("\n    ", s->f);
			col = 4;
		}
		fprintf(s->f, "  %s", item);
		col += 2 + n;
	}
	fputc('\n', s->f);
}

static void sampler(struct scr *s, const msgpack_object *sm)
{
	char iv[32];
	cell a, b, c, d, e;
	uint64_t ns;

	if (!sm)
		return;
	if (msg_get_u64(sm, "interval_ns", &ns))
		duration_format(ns, iv, sizeof iv);
	else
		snprintf(iv, sizeof iv, "-");
	fputc('\n', s->f);
	heading(s, "Sampler");
	fprintf(s->f, " every %s", iv);
	opt_kv(s, "ticks", fmt(a, sm, "ticks", FK_INT), "");
	opt_kv(s, "missed", fmt(b, sm, "missed_ticks", FK_INT), "");
	opt_kv(s, "late", fmt(c, sm, "late_ticks", FK_INT), "");
	const char *cpu = fmt(d, sm, "tick_cpu_us", FK_INT), *wall = fmt(e, sm, "tick_wall_us", FK_INT);
	if (strcmp(cpu, "-") || strcmp(wall, "-"))
		fprintf(s->f, "  tick %sus cpu, %sus wall", cpu, wall);
	fputc('\n', s->f);
}

/* The process thread's health: table size, tracked set, its own cost. */
static void procs_line(struct scr *s, const msgpack_object *pm)
{
	cell a, b, c, d, e, f;
	bool events = false;
	if (!pm)
		return;
	heading(s, "Procs");
	fprintf(s->f, "   %s processes", fmt(a, pm, "processes", FK_INT));
	opt_kv(s, "tracked", fmt(b, pm, "tracked", FK_INT), "");
	opt_kv(s, "watches", fmt(c, pm, "watches", FK_INT), "");
	opt_kv(s, "missed", fmt(d, pm, "missed_ticks", FK_INT), "");
	fprintf(s->f, "  scan %sus, tick %sus cpu", fmt(e, pm, "scan_cpu_us", FK_INT),
	        fmt(f, pm, "tick_cpu_us", FK_INT));
	if (msg_get_bool(pm, "events", &events))
		fprintf(s->f, "  %s", events ? "kernel events" : "polling (no kernel events)");
	fputc('\n', s->f);
}

static void ring(struct scr *s, const msgpack_object *rg)
{
	char mode[16], path[256], ret[32];
	cell a, b;
	uint64_t ns, records = 0, v;
	const msgpack_object *lanes = rg ? msg_get_array(rg, "lanes") : NULL;

	if (!rg)
		return;
	if (!msg_get_str(rg, "mode", mode, sizeof mode))
		snprintf(mode, sizeof mode, "?");
	if (!msg_get_str(rg, "path", path, sizeof path))
		path[0] = '\0';
	heading(s, "Ring");
	fprintf(s->f, "    %s%s%s", out_clean(mode), path[0] ? " " : "", out_clean(path));
	const char *size = fmt(a, rg, "bytes", FK_BYTES), *budget = fmt(b, rg, "budget_bytes", FK_BYTES);
	if (strcmp(size, "-") && strcmp(budget, "-"))
		fprintf(s->f, "  %s of %s", size, budget);
	else
		opt_kv(s, "", size, "");
	if (msg_get_u64(rg, "retention_ns", &ns)) {
		duration_format(ns, ret, sizeof ret);
		fprintf(s->f, "  keeps %s", ret);
	}
	for (uint32_t i = 0; lanes && i < lanes->via.array.size; i++)
		if (msg_get_u64(&lanes->via.array.ptr[i], "records", &v))
			records += v;
	if (lanes)
		fprintf(s->f, "  records %" PRIu64, records);
	if (msg_get_u64(rg, "torn", &v) && v)
		fprintf(s->f, "  torn %" PRIu64, v);
	fputc('\n', s->f);
}

static void missing(struct scr *s, const msgpack_object *caps)
{
	bool first = true;
	for (uint32_t i = 0; caps && i < caps->via.map.size; i++) {
		const msgpack_object_kv *kv = &caps->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR || kv->val.type != MSGPACK_OBJECT_BOOLEAN ||
		    kv->val.via.boolean)
			continue;
		char name[64];
		snprintf(name, sizeof name, "%.*s", (int)kv->key.via.str.size, kv->key.via.str.ptr);
		fprintf(s->f, "%s%s", first ? "\nMissing on this machine: " : ", ", out_clean(name));
		first = false;
	}
	if (!first)
		fputc('\n', s->f);
}

void cmd_status_render(FILE *f, const msgpack_object *result, const struct status_view *v)
{
	struct scr s = { f, v };
	const msgpack_object *latest, *sys, *caps;

	if (!result || result->type != MSGPACK_OBJECT_MAP)
		return;
	latest = msg_get_map(result, "latest");
	sys = latest ? msg_get_map(latest, "system") : NULL;
	caps = msg_get_map(result, "capabilities");
	header(&s, msg_get_map(result, "server"));
	cpu(&s, latest ? msg_get_array(latest, "cpu") : NULL);
	memory(&s, sys);
	load(&s, sys);
	pressure(&s, sys, caps);
	disks(&s, latest ? msg_get_array(latest, "disk") : NULL);
	nets(&s, latest ? msg_get_array(latest, "net") : NULL);
	temps(&s, latest ? msg_get_array(latest, "temp") : NULL);
	gpus(&s, latest ? msg_get_array(latest, "gpu") : NULL);
	sampler(&s, msg_get_map(result, "sampler"));
	procs_line(&s, msg_get_map(result, "procs"));
	ring(&s, msg_get_map(result, "ring"));
	missing(&s, caps);
}
