/* A vendor stats file for the eGPU link thread: see vstats.h. */
#include "vstats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "readfile.h"

void vstats_init(struct vstats_file *f, const char *path)
{
	memset(f, 0, sizeof *f);
	snprintf(f->path, sizeof f->path, "%s", path);
}

void vstats_skip(struct vstats_file *f)
{
	f->read = f->rated = false;
	f->have_prev = false;
}

/* Drivers may name the connection and error counters plainly
 * ("connections", "errors", as docs/egpu.md allows): move them from the
 * extras to the format's keys (tb_connections, tb_errors) unless those are
 * there too, so rates and reset detection treat them alike. */
static void alias_keys(struct kvstats *k)
{
	static const struct { const char *name; enum kvstats_key key; } alias[] = {
		{ "connections", KVS_TB_CONNECTIONS }, { "errors", KVS_TB_ERRORS },
	};
	for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++) {
		if (kvstats_has(k, alias[i].key))
			continue;
		for (unsigned j = 0; j < k->nextra; j++) {
			if (strcmp(k->extra[j].name, alias[i].name) != 0)
				continue;
			k->v[alias[i].key] = k->extra[j].value;
			k->present |= 1u << (unsigned)alias[i].key;
			memmove(&k->extra[j], &k->extra[j + 1], (k->nextra - j - 1) * sizeof k->extra[0]);
			k->nextra--;
			break;
		}
	}
}

/* Once per change of state, not once per tick. */
static void log_state(struct vstats_file *f, int rc)
{
	if (f->logged && rc == f->error)
		return;
	if (rc == -EPROTONOSUPPORT)
		log_warnx("egpu: stats file %s: format_version %llu is newer than this rmond reads (%u)",
			  f->path, (unsigned long long)f->cur.v[KVS_FORMAT_VERSION], KVSTATS_FORMAT_MAX);
	else if (rc < 0)
		log_warnx("egpu: stats file %s: %s%s", f->path, strerror(-rc),
			  rc == -EACCES ? " (debugfs is usually root-only)" : "");
	else if (f->logged)
		log_info("egpu: stats file %s: readable again", f->path);
	f->error = rc;
	f->logged = true;
}

void vstats_read(struct vstats_file *f, char *buf, size_t cap)
{
	ssize_t n = readfile_at(AT_FDCWD, f->path, buf, cap);
	uint64_t mono = clock_mono_ns();
	int rc = n < 0 ? (int)n : kvstats_parse(buf, (size_t)n, &f->cur);
	f->read = f->rated = false;
	log_state(f, rc);
	if (rc < 0) {
		f->have_prev = false;
		return;
	}
	alias_keys(&f->cur);
	f->read = true;
	if (f->have_prev && mono > f->prev_mono &&
	    kvstats_rates(&f->prev, &f->cur, (double)(mono - f->prev_mono) / 1e9, &f->rates) == 0) {
		f->rated = true;
		if (f->rates.reset)
			log_debug("egpu: stats file %s: counters reset, no rates this tick", f->path);
	}
	f->prev = f->cur;
	f->prev_mono = mono;
	f->have_prev = true;
}

void vstats_fill(const struct vstats_file *f, struct rm_rec *r)
{
	const struct kvstats_rates *k = &f->rates;
	if (!f->read)
		return;
	rec_set(r, RM_EGPU_STATS_MALFORMED, f->cur.malformed);
	if (kvstats_has(&f->cur, KVS_TB_CONNECTIONS))
		rec_set(r, RM_EGPU_CONNECTIONS, (double)f->cur.v[KVS_TB_CONNECTIONS]);
	/* the interval mean when the driver gives sum and count, else its gauge */
	if (f->rated && (k->present & KVR_DMA_MEAN))
		rec_set(r, RM_EGPU_DMA_LAT, k->dma_latency_mean_ns);
	else if (kvstats_has(&f->cur, KVS_DMA_LATENCY_NS))
		rec_set(r, RM_EGPU_DMA_LAT, (double)f->cur.v[KVS_DMA_LATENCY_NS]);
	if (!f->rated)
		return;
	if (k->present & KVR_TX_BPS)
		rec_set(r, RM_EGPU_TX_BPS, k->tx_Bps);
	if (k->present & KVR_RX_BPS)
		rec_set(r, RM_EGPU_RX_BPS, k->rx_Bps);
	if (k->present & KVR_ERRORS_PER_S)
		rec_set(r, RM_EGPU_ERRORS_PS, k->errors_per_s);
}
