/*
 * Config reload (SIGHUP, the config op): re-read the file rmond was
 * started with and apply what can change live, on the loop thread.  A bad
 * file changes nothing.  Keys that need a restart (paths, the ring, the
 * frame cap, the NVML library; any key this file does not know how to
 * apply) keep their running value and are named in the notes.
 */
#ifndef RMON_RELOAD_H
#define RMON_RELOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct rmond;

/* At start: the config as the file gave it (before command-line flags),
 * whether --log-level was given (it then wins over log.level on reload
 * too) and whether rmond runs in the foreground (in the background,
 * stderr is /dev/null and rmond logs to syslog whatever log.target says). */
void reload_init(const struct config *file_cfg, bool log_level_flag, bool foreground);

/* log.level and log.target of c (and the flags above) to the logger. */
void reload_apply_log(const struct config *c);

#define RELOAD_NOTES_MAX 32
#define RELOAD_NOTE_LEN 256

struct reload_result {
	bool applied;                 /* false: rejected, error says why */
	char error[1100];             /* "file:line:col: ..." */
	char notes[RELOAD_NOTES_MAX][RELOAD_NOTE_LEN];   /* changes, restart-only keys */
	unsigned nnotes;
};

/* Re-read and apply; who is for the log ("SIGHUP", "uid 1000 pid 42").
 * Everything goes to the log as well. */
void reload_run(struct rmond *d, const char *who, struct reload_result *out);

struct reload_stats {
	uint64_t reloads;             /* applied */
	uint64_t failed;              /* rejected */
	uint64_t last_ns;             /* CLOCK_REALTIME of the last attempt, 0: none */
	char last_result[300];        /* "applied", "applied, 1 key needs a restart", or the error */
};
void reload_get_stats(struct reload_stats *out);

#endif
