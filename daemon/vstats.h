/*
 * One vendor stats file for the eGPU link thread (docs/egpu.md): read and
 * parse it (common/kvstats), keep the previous reading for rates, log
 * when it becomes unreadable or readable again, and put what it says into
 * an egpu record.  Used by one thread only; nothing here locks.
 */
#ifndef RMON_VSTATS_H
#define RMON_VSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvstats.h"
#include "schema.h"

#define VSTATS_PATH_MAX 256
#define VSTATS_FILE_MAX 16384   /* the format asks for <= 4 KiB */

struct vstats_file {
	char path[VSTATS_PATH_MAX];
	/* this tick's reading */
	bool read;                    /* parsed: cur holds it */
	bool rated;                   /* there was a previous reading: rates holds them */
	struct kvstats cur;
	struct kvstats_rates rates;
	/* across ticks */
	bool have_prev;
	uint64_t prev_mono;
	struct kvstats prev;
	int error;                    /* the last read's -errno (0 fine), logged on change */
	bool logged;
};

void vstats_init(struct vstats_file *f, const char *path);

/* The file's GPU is not present: no reading this tick, and the next one
 * only baselines (counters restart with the device). */
void vstats_skip(struct vstats_file *f);

/* Read and parse the file (buf is scratch space of cap bytes), and rate
 * it against the previous reading.  A changed epoch or a counter that
 * went down gives no rates this tick (kvstats_rates). */
void vstats_read(struct vstats_file *f, char *buf, size_t cap);

/* This tick's reading into an egpu record (nothing unless read). */
void vstats_fill(const struct vstats_file *f, struct rm_rec *r);

#endif
