/*
 * rmond's configuration: a YAML file of nested mappings, parsed strictly
 * (unknown keys, wrong types and out-of-range values are errors that name
 * file:line:col).  The daemon treats a loaded config as a const snapshot
 * and swaps it as a whole on reload.
 */
#ifndef RMON_CONFIG_H
#define RMON_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum config_ring_mode { CONFIG_RING_FILE = 0, CONFIG_RING_MEMORY = 1 };

/* Largest config file we read; anything bigger is a mistake. */
#define CONFIG_FILE_MAX (1024 * 1024)

struct config {
	char socket[108];              /* socket; "" = daemon's default */
	char socket_group[64];         /* socket_group; "" = primary group */
	char state_dir[4096];          /* state_dir; "" = daemon's default */
	char procfs[4096];             /* procfs, default "/proc" */
	char sysfs[4096];              /* sysfs, default "/sys" */
	int ring_memory;               /* ring.mode: file (0) | memory (1) */
	uint64_t ring_budget_bytes;    /* ring.budget, 128MiB, 1MiB..64GiB */
	uint64_t ring_retention_ns;    /* ring.retention, 1h, 10s..366d */
	uint64_t system_interval_ns;   /* sampling.system, 100ms, 10ms..60s */
	uint32_t frame_max;            /* protocol.frame_max, 1MiB, 4KiB..64MiB */
	uint64_t session_budget_bytes; /* protocol.session_budget, 4MiB, >= frame_max */
	uint64_t stuck_timeout_ns;     /* protocol.stuck_timeout, 30s, 1s..1h */
	int log_level;                 /* log.level, enum log_level, info */
};

/* Every field to its built-in default. */
void config_defaults(struct config *c);

/* Overlays the file at path onto *c (call config_defaults first for a
 * fresh config).  Returns 0; or -errno (cannot open/read), -EINVAL (bad
 * content), with a one-line message "path:line:col: key: what" in err.
 * On error *c is unchanged.  An empty or comments-only file is valid. */
int config_load(const char *path, struct config *c, char *err, size_t errlen);

/* Writes *c as YAML that config_load reads back to the same values. */
void config_dump(const struct config *c, FILE *out);

#endif
