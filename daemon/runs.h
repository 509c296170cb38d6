/*
 * Finished runs (rmonctl run), so that a run's samples stay queryable by
 * its id: the time it spans and every process it had.  Kept in memory and
 * appended to <state_dir>/runs, one line per run, so they survive a
 * restart along with the ring.  Loop thread only.
 */
#ifndef RMON_RUNS_H
#define RMON_RUNS_H

#include <stdint.h>

struct run_rec {
	uint64_t id, start_ns, end_ns;
	char label[256];
	int32_t *pids;      /* every process of the run */
	unsigned npids;
};

/* Load path (NULL: in memory only).  A malformed line is skipped and
 * logged once; a missing file is an empty table. */
int runs_open(const char *path);
void runs_close(void);
/* Record a finished run (copies pids). */
int runs_add(const struct run_rec *r);
const struct run_rec *runs_find(uint64_t id);

#endif
