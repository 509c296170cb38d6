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
#include <time.h>

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

/* "config /etc/rmon/rmond.yaml  reloads 2 (1 rejected)  last 3m ago: applied" */
static void config_line(struct scr *s, const msgpack_object *srv)
{
	char path[4096], last[320], ago[32];
	uint64_t reloads = 0, failed = 0, last_ns = 0;
	if (!msg_get_str(srv, "config", path, sizeof path))
		return;
	fprintf(s->f, "config %s", path[0] ? out_clean(path) : "(none: built-in defaults)");
	if (msg_get_u64(srv, "reloads", &reloads) && msg_get_u64(srv, "reloads_failed", &failed)) {
		fprintf(s->f, "  reloads %" PRIu64, reloads);
		if (failed)
			fprintf(s->f, " (%" PRIu64 " rejected)", failed);
	}
	if (msg_get_u64(srv, "last_reload_ns", &last_ns) && last_ns &&
	    msg_get_str(srv, "last_reload", last, sizeof last)) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		double d = (double)now.tv_sec - (double)last_ns / 1e9 + (double)now.tv_nsec / 1e9;
		out_secs(ago, sizeof ago, d > 0 ? d : 0);
		fprintf(s->f, "  last %s ago: %s", ago, out_clean(last));
	}
	fputc('\n', s->f);
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
	config_line(s, srv);
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

/* The record of GPU key in latest's gpu array, or NULL (none this tick). */
static const msgpack_object *gpu_rec(const msgpack_object *arr, const char *key)
{
	for (uint32_t i = 0; arr && i < arr->via.array.size; i++) {
		char k[16];
		if (msg_get_str(&arr->via.array.ptr[i], "key", k, sizeof k) && !strcmp(k, key))
			return &arr->via.array.ptr[i];
	}
	return NULL;
}

/* One GPU: utilisation, memory, temperature, power, PCIe link now vs max;
 * GTT (system memory the GPU maps: amdgpu) on a line of its own.  A GPU
 * that is not sampled (sleeping, lost) shows its state instead. */
static void gpu_row(struct scr *s, char *key, const char *drv, char *name, const char *state,
		    const msgpack_object *r)
{
	char mem[80], pw[80], link[160];
	cell a, b, c, d, e, f, g, h, k;
	if (strcmp(state, "ok") != 0) {
		fprintf(s->f, "%-3s %-6s %-22.22s %s\n", out_clean(key), drv, out_clean(name), state);
		return;
	}
	snprintf(mem, sizeof mem, "%s / %s", fmt(a, r, "mem_used_bytes", FK_BYTES),
		 fmt(b, r, "mem_total_bytes", FK_BYTES));
	snprintf(pw, sizeof pw, "%s / %s", fmt(c, r, "power_w", FK_INT),
		 fmt(d, r, "power_limit_w", FK_INT));
	snprintf(link, sizeof link, "gen%s x%s / gen%s x%s", fmt(e, r, "pcie_gen", FK_INT),
		 fmt(f, r, "pcie_width", FK_INT), fmt(g, r, "pcie_gen_max", FK_INT),
		 fmt(h, r, "pcie_width_max", FK_INT));
	fprintf(s->f, "%-3s %-6s %-22.22s %5s %21s %5s %15s %s\n", out_clean(key), drv,
		out_clean(name), fmt(k, r, "util_pct", FK_INT), mem, fmt(a, r, "temp_c", FK_INT),
		pw, link);
	double v;
	if (fv(r, "gtt_used_bytes", &v) || fv(r, "gtt_total_bytes", &v)) {
		snprintf(mem, sizeof mem, "%s / %s", fmt(a, r, "gtt_used_bytes", FK_BYTES),
			 fmt(b, r, "gtt_total_bytes", FK_BYTES));
		fprintf(s->f, "%*s %5s %21s\n", 3 + 1 + 6 + 1 + 22, "", "GTT", mem);
	}
}

/* GPUs: every device the GPU thread has (status' gpu.devices, with its
 * driver and state), else the records of the newest tick. */
static void gpus(struct scr *s, const msgpack_object *arr, const msgpack_object *gm)
{
	const msgpack_object *devs = gm ? msg_get_array(gm, "devices") : NULL;
	uint32_t n = devs ? devs->via.array.size : arr ? arr->via.array.size : 0;
	if (n == 0)
		return;
	fputc('\n', s->f);
	fprintf(s->f, s->v->color ? OUT_BOLD "%-3s %-6s %-22s %5s %21s %5s %15s %s" OUT_RESET "\n"
				  : "%-3s %-6s %-22s %5s %21s %5s %15s %s\n",
		"GPU", "driver", "", "util%", "memory", "temp", "power W", "PCIe now/max");
	for (uint32_t i = 0; i < n; i++) {
		char key[16], name[64], drv[16], state[16];
		uint64_t idx;
		const msgpack_object *r = devs ? NULL : &arr->via.array.ptr[i];
		if (devs) {
			const msgpack_object *dv = &devs->via.array.ptr[i];
			if (!msg_get_u64(dv, "index", &idx))
				continue;
			snprintf(key, sizeof key, "%" PRIu64, idx);
			r = gpu_rec(arr, key);
			if (!msg_get_str(dv, "driver", drv, sizeof drv))
				snprintf(drv, sizeof drv, "-");
			if (!msg_get_str(dv, "state", state, sizeof state))
				snprintf(state, sizeof state, "ok");
		} else {
			if (!msg_get_str(r, "key", key, sizeof key))
				snprintf(key, sizeof key, "?");
			snprintf(drv, sizeof drv, "-");
			snprintf(state, sizeof state, "ok");
		}
		if (!msg_get_str(r, "label", name, sizeof name) &&
		    !(devs && msg_get_str(&devs->via.array.ptr[i], "name", name, sizeof name)))
			name[0] = '\0';
		gpu_row(s, key, out_clean(drv), name, out_clean(state), r);
	}
}

/* Who uses the GPUs (status' gpu_processes: the daemon sends each GPU's
 * top processes by memory): GPU index, else its PCI address. */
static void gpu_procs(struct scr *s, const msgpack_object *arr)
{
	if (!arr || arr->via.array.size == 0)
		return;
	fprintf(s->f, s->v->color ? "\n" OUT_BOLD "%-12s %7s %-16s %10s %6s %s" OUT_RESET "\n"
				  : "\n%-12s %7s %-16s %10s %6s %s\n",
		"GPU process", "PID", "COMM", "GPU mem", "busy%", "driver");
	for (uint32_t i = 0; i < arr->via.array.size; i++) {
		const msgpack_object *r = &arr->via.array.ptr[i];
		char gpu[40], comm[64], drv[24];
		cell a, b, c;
		uint64_t idx;
		if (msg_get_u64(r, "gpu", &idx))
			snprintf(gpu, sizeof gpu, "%" PRIu64, idx);
		else if (!msg_get_str(r, "pci", gpu, sizeof gpu))
			snprintf(gpu, sizeof gpu, "?");
		if (!msg_get_str(r, "comm", comm, sizeof comm) || !comm[0])
			snprintf(comm, sizeof comm, "-");
		if (!msg_get_str(r, "driver", drv, sizeof drv))
			snprintf(drv, sizeof drv, "-");
		fprintf(s->f, "%-12s %7s %-16.16s %10s %6s %s\n", out_clean(gpu),
			fmt(a, r, "pid", FK_INT), out_clean(comm), fmt(b, r, "gpu_mem_bytes", FK_BYTES),
			fmt(c, r, "gpu_busy_pct", FK_PCT), out_clean(drv));
	}
}

/* ---- eGPU links: every GPU's PCIe link, Thunderbolt, vendor stats ---- */

/* "gen3 x4 / gen4 x16": the link now against what it could do. */
static void egpu_link_cell(char *buf, size_t len, const msgpack_object *r)
{
	cell a, b, c, d;
	snprintf(buf, len, "gen%s x%s / gen%s x%s", fmt(a, r, "link_gen", FK_INT),
		 fmt(b, r, "link_width", FK_INT), fmt(c, r, "link_gen_max", FK_INT),
		 fmt(d, r, "link_width_max", FK_INT));
}

/* "TB3 40 Gb/s 0-1", "USB4 80 Gb/s 1-3", or "" when not behind one. */
static void egpu_tb_cell(char *buf, size_t len, const msgpack_object *r, const char *router)
{
	double gen, gbps;
	cell g;
	buf[0] = '\0';
	if (!fv(r, "tb_gen", &gen))
		return;
	if (gen >= 4)
		snprintf(g, sizeof g, "USB4");
	else
		snprintf(g, sizeof g, "TB%.0f", gen);
	if (fv(r, "tb_rx_gbps", &gbps))
		snprintf(buf, len, "%s %.0f Gb/s %s", g, gbps, router);
	else
		snprintf(buf, len, "%s %s", g, router);
}

/* The link's state: gone, asleep, running below its maximum, or fine. */
static const char *egpu_state(const msgpack_object *r, const msgpack_object *li)
{
	bool b;
	double deg;
	if (li && msg_get_bool(li, "connected", &b) && !b)
		return "disconnected";
	if (li && msg_get_bool(li, "suspended", &b) && b)
		return "suspended";
	if (fv(r, "degraded", &deg))
		return deg > 0 ? "DEGRADED" : "ok";
	return "-";
}

/* The second line of a link: where it is and what its record's columns
 * leave out (speeds, AER totals, the vendor stats file). */
static void egpu_details(struct scr *s, const msgpack_object *r, const msgpack_object *li)
{
	char pci[32] = "", via[32] = "", path[256], err[128];
	cell a, b, c;
	double v;
	const msgpack_object *sf = li ? msg_get_map(li, "stats_file") : NULL;
	if (li && !msg_get_str(li, "pci", pci, sizeof pci))
		pci[0] = '\0';
	if (li && !msg_get_str(li, "tb_via", via, sizeof via))
		via[0] = '\0';
	fprintf(s->f, "     %s", out_clean(pci));
	if (via[0])
		fprintf(s->f, "  behind Thunderbolt (%s)", out_clean(via));
	if (fv(r, "link_gts", &v) || fv(r, "link_gts_max", &v))
		fprintf(s->f, "  %s of %s GT/s", fmt(a, r, "link_gts", FK_NUM), fmt(b, r, "link_gts_max", FK_NUM));
	if (fv(r, "aer_cor_total", &v) || fv(r, "aer_nonfatal_total", &v) || fv(r, "aer_fatal_total", &v))
		fprintf(s->f, "  AER total %s/%s/%s", fmt(a, r, "aer_cor_total", FK_INT),
			fmt(b, r, "aer_nonfatal_total", FK_INT), fmt(c, r, "aer_fatal_total", FK_INT));
	opt_kv(s, "dma", fmt(a, r, "dma_latency_ns", FK_NUM), " ns");
	opt_kv(s, "connections", fmt(a, r, "connections", FK_INT), "");
	opt_kv(s, "errors", fmt(a, r, "errors_ps", FK_NUM), "/s");
	if (sf && msg_get_str(sf, "path", path, sizeof path)) {
		const msgpack_object *ex = msg_get_map(sf, "extra");
		uint64_t bad = 0;
		fprintf(s->f, "\n     stats %s", out_clean(path));
		if (msg_get_str(sf, "error", err, sizeof err) && err[0])
			fprintf(s->f, ": %s", out_clean(err));
		if (msg_get_u64(sf, "malformed", &bad) && bad)
			fprintf(s->f, "  %" PRIu64 " malformed line%s", bad, bad == 1 ? "" : "s");
		for (uint32_t i = 0; ex && i < ex->via.map.size; i++) {
			const msgpack_object_kv *kv = &ex->via.map.ptr[i];
			if (kv->key.type == MSGPACK_OBJECT_STR && kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
				char k[72];
				snprintf(k, sizeof k, "%.*s", (int)kv->key.via.str.size, kv->key.via.str.ptr);
				fprintf(s->f, "  %s %" PRIu64, out_clean(k), kv->val.via.u64);
			}
		}
	}
	fputc('\n', s->f);
}

static void egpu_row(struct scr *s, const char *key, const msgpack_object *r,
		     const msgpack_object *li)
{
	char name[64] = "", router[32] = "", link[160], aer[112], tb[80];
	const char *state = egpu_state(r, li);
	cell a, b, c, d, e;
	if (!msg_get_str(r, "label", name, sizeof name) && li)
		(void)msg_get_str(li, "name", name, sizeof name);
	if (li)
		(void)msg_get_str(li, "router", router, sizeof router);
	egpu_link_cell(link, sizeof link, r);
	snprintf(aer, sizeof aer, "%s/%s/%s", fmt(a, r, "aer_cor_ps", FK_NUM),
		 fmt(b, r, "aer_nonfatal_ps", FK_NUM), fmt(c, r, "aer_fatal_ps", FK_NUM));
	egpu_tb_cell(tb, sizeof tb, r, out_clean(router));
	fprintf(s->f, "%-4s %-22.22s %-19s ", key, out_clean(name),
		strcmp(state, "disconnected") && strcmp(state, "suspended") ? link : "");
	if (s->v->color && strcmp(state, "ok"))
		fprintf(s->f, "%s%-12s" OUT_RESET, strcmp(state, "DEGRADED") ? OUT_DIM : OUT_RED, state);
	else
		fprintf(s->f, "%-12s", state);
	fprintf(s->f, " %-14s %9s %9s  %s\n", aer, fmt(d, r, "tx_bps", FK_BYTES),
		fmt(e, r, "rx_bps", FK_BYTES), tb);
	egpu_details(s, r, li);
}

/* Thunderbolt/USB4 routers with no GPU tied to them (a dock, a drive, an
 * enclosure whose GPU has not shown up): one line each. */
static void egpu_routers(struct scr *s, const msgpack_object *routers)
{
	for (uint32_t i = 0; routers && i < routers->via.array.size; i++) {
		const msgpack_object *r = &routers->via.array.ptr[i];
		char id[32], name[64];
		double gen, gbps, auth, gpu;
		if (fv(r, "gpu", &gpu) || !msg_get_str(r, "id", id, sizeof id))
			continue;
		if (!msg_get_str(r, "name", name, sizeof name))
			name[0] = '\0';
		fprintf(s->f, "     Thunderbolt %s %s:", out_clean(id), out_clean(name));
		if (fv(r, "generation", &gen) && gen >= 4)
			fputs(" USB4", s->f);
		else if (fv(r, "generation", &gen))
			fprintf(s->f, " TB%.0f", gen);
		if (fv(r, "rx_gbps", &gbps))
			fprintf(s->f, " %.0f Gb/s", gbps);
		if (fv(r, "authorized", &auth))
			fprintf(s->f, auth > 0 ? " authorized" : " not authorized");
		fputs(", no GPU behind it\n", s->f);
	}
}

/* Every link the eGPU thread has numbered (status' egpu.links: one that
 * went away is listed as disconnected), else the newest records; then
 * routers without a GPU and the newest event. */
static void egpus(struct scr *s, const msgpack_object *arr, const msgpack_object *em,
		  const msgpack_object *ev)
{
	const msgpack_object *links = em ? msg_get_array(em, "links") : NULL;
	const msgpack_object *routers = em ? msg_get_array(em, "routers") : NULL;
	uint32_t n = links ? links->via.array.size : arr ? arr->via.array.size : 0;
	char key[16], text[80], when[40];
	if (n == 0 && (!routers || routers->via.array.size == 0))
		return;
	fputc('\n', s->f);
	fprintf(s->f, s->v->color ? OUT_BOLD "%-4s %-22s %-19s %-12s %-14s %9s %9s  %s" OUT_RESET "\n"
				  : "%-4s %-22s %-19s %-12s %-14s %9s %9s  %s\n",
		"eGPU", "link", "PCIe now / max", "state", "AER/s c/nf/f", "tx/s", "rx/s", "Thunderbolt");
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *li = links ? &links->via.array.ptr[i] : NULL;
		const msgpack_object *r = links ? NULL : &arr->via.array.ptr[i];
		uint64_t idx;
		if (li && msg_get_u64(li, "index", &idx)) {
			snprintf(key, sizeof key, "%" PRIu64, idx);
			r = gpu_rec(arr, key);
		} else if (!r || !msg_get_str(r, "key", key, sizeof key)) {
			snprintf(key, sizeof key, "?");
		}
		egpu_row(s, key, r, li);
	}
	egpu_routers(s, routers);
	uint64_t ts;
	if (ev && msg_get_str(ev, "label", text, sizeof text) && msg_get_u64(ev, "ts", &ts)) {
		out_time_local(when, sizeof when, ts, true);
		fprintf(s->f, "     last event %s: %s\n", when, out_clean(text));
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
	cell a, b, c, d, e, f, g;
	bool events = false;
	if (!pm)
		return;
	heading(s, "Procs");
	fprintf(s->f, "   %s processes", fmt(a, pm, "processes", FK_INT));
	opt_kv(s, "tracked", fmt(b, pm, "tracked", FK_INT), "");
	opt_kv(s, "watches", fmt(c, pm, "watches", FK_INT), "");
	opt_kv(s, "missed", fmt(d, pm, "missed_ticks", FK_INT), "");
	fprintf(s->f, "  scan %sus", fmt(e, pm, "scan_cpu_us", FK_INT));
	if (msg_map_get(pm, "scan_read"))   /* older daemons do not say */
		fprintf(s->f, " (%s read, the rest idle or tracked)", fmt(g, pm, "scan_read", FK_INT));
	fprintf(s->f, ", tick %sus cpu", fmt(f, pm, "tick_cpu_us", FK_INT));
	bool paused = false;
	(void)msg_get_bool(pm, "events_paused", &paused);
	if (msg_get_bool(pm, "events", &events))
		fprintf(s->f, "  %s", !events ? "polling (no kernel events)"
		                      : paused ? "kernel events (paused: no watch)" : "kernel events");
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
	/* Only news is shown: a ring that should be a file but is in memory. */
	char persist[640];
	char *why = persist + 8;   /* past "memory: " */
	if (msg_get_str(rg, "persistence", persist, sizeof persist) &&
	    strncmp(persist, "memory: ", 8) == 0 && strcmp(why, "ring.mode is memory") != 0)
		fprintf(s->f, "    not persisted: %s\n", out_clean(why));
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
	gpus(&s, latest ? msg_get_array(latest, "gpu") : NULL, msg_get_map(result, "gpu"));
	gpu_procs(&s, msg_get_array(result, "gpu_processes"));
	egpus(&s, latest ? msg_get_array(latest, "egpu") : NULL, msg_get_map(result, "egpu"),
	      latest ? msg_get_map(latest, "event") : NULL);
	sampler(&s, msg_get_map(result, "sampler"));
	procs_line(&s, msg_get_map(result, "procs"));
	ring(&s, msg_get_map(result, "ring"));
	missing(&s, caps);
}
