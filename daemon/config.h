/*
 * rmond's configuration: a YAML file of nested mappings, parsed strictly
 * (unknown keys, wrong types and out-of-range values are errors that name
 * file:line:col).  The daemon treats a loaded config as a const snapshot
 * and swaps it as a whole on reload.
 */
#ifndef RMON_CONFIG_H
#define RMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "classify.h"   /* enum classify_field, CLASSIFY_NAME_MAX */

enum config_ring_mode { CONFIG_RING_FILE = 0, CONFIG_RING_MEMORY = 1 };
enum config_log_target { CONFIG_LOG_STDERR = 0, CONFIG_LOG_SYSLOG = 1 };

/* Largest config file we read; anything bigger is a mistake. */
#define CONFIG_FILE_MAX (1024 * 1024)

/* Most users (or groups) in one access list, most classify rules. */
#define CONFIG_UIDS_MAX 64
#define CONFIG_RULES_MAX 64
#define CONFIG_PATTERN_MAX 256

/* Most vendor stats files (egpu.stats_files). */
#define CONFIG_STATS_FILES_MAX 16

/* One egpu.stats_files entry: a vendor driver's stats file and the GPU it
 * describes, by PCI address or by rmon's egpu index. */
struct config_stats_file {
	char path[256];                    /* absolute */
	char gpu_pci[16];                  /* "0000:05:00.0", or "" when by index */
	int32_t gpu_index;                 /* the egpu index, or -1 when by address */
	unsigned line, col;                /* where the entry starts, 1-based */
};

/* One classify rule, validated by config_load exactly as classifier_add
 * validates it (so adding a loaded rule cannot fail but for memory). */
struct config_rule {
	char name[CLASSIFY_NAME_MAX];      /* 1..63 bytes, no control characters */
	char category[CLASSIFY_NAME_MAX];  /* "major/minor" (each [a-z0-9_.+-]+) or "other" */
	enum classify_field field;         /* which of comm, exe, cmdline */
	char pattern[CONFIG_PATTERN_MAX];  /* POSIX ERE, compiles with REG_EXTENDED|REG_NOSUB */
	unsigned line, col;                /* where the rule starts in the file, 1-based */
};

struct config {
	char socket[108];              /* socket; "" = daemon's default */
	char socket_group[64];         /* socket_group; "" = primary group */
	char socket_mode[8];           /* socket_mode, octal; "" = 0660 (system), 0600 (per-user) */
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
	char prom_listen[128];         /* prometheus.listen, "" = off; "host:port", ":port" = loopback */
	uint32_t prom_max_connections; /* prometheus.max_connections, 16, 1..1024 */
	uint64_t prom_timeout_ns;      /* prometheus.timeout, 5s, 100ms..60s */
	int log_level;                 /* log.level, enum log_level, info */
	uint64_t procs_scan_interval_ns;    /* procs.scan_interval, 1s, 100ms..60s */
	uint64_t procs_tracked_interval_ns; /* procs.tracked_interval, 100ms, 50ms..10s, <= scan */
	uint64_t procs_pss_interval_ns;     /* procs.pss_interval, 5s, 1s..1h */
	uint32_t procs_top_n;               /* procs.top_n, 5, 0..100 */
	uint32_t procs_quiet_thread_pct;    /* procs.quiet_thread_pct, 1, 0..100 */
	uint32_t procs_max_watches;         /* procs.max_watches, 4096, 1..65536 */
	uint64_t gpu_interval_ns;           /* gpu.interval, 100ms, 10ms..60s */
	char gpu_nvidia_library[4096];      /* gpu.nvidia.library, "libnvidia-ml.so.1"; "" = no NVML */
	uint64_t egpu_interval_ns;          /* egpu.interval, 1s, 100ms..60s */
	/* egpu.stats_files: vendor stats files, at most one per GPU; default none */
	struct config_stats_file egpu_stats_files[CONFIG_STATS_FILES_MAX];
	unsigned egpu_nstats_files;
	/* access.cmdline_uids: may see every process's cmdline and exe
	 * (besides root and the process's owner); default none. */
	uint32_t access_cmdline_uids[CONFIG_UIDS_MAX];
	unsigned access_ncmdline_uids;
	/* access.cmdline_groups: the same for members of these groups. */
	uint32_t access_cmdline_gids[CONFIG_UIDS_MAX];
	unsigned access_ncmdline_gids;
	/* access.admins: may reload / shut down rmond (besides root). */
	uint32_t access_admins[CONFIG_UIDS_MAX];
	unsigned access_nadmins;
	/* access.admin_groups: the same for members of these groups. */
	uint32_t access_admin_gids[CONFIG_UIDS_MAX];
	unsigned access_nadmin_gids;
	int log_target;                /* log.target, enum config_log_target, stderr */
	/* classify: rules in file order, ahead of the built-in ones. */
	struct config_rule classify[CONFIG_RULES_MAX];
	unsigned nclassify;
};

/* Every field to its built-in default. */
void config_defaults(struct config *c);

/* Overlays the file at path onto *c (call config_defaults first for a
 * fresh config).  Returns 0; or -errno (cannot open/read), -EINVAL (bad
 * content), with a one-line message "path:line:col: key: what" in err.
 * On error *c is unchanged.  An empty or comments-only file is valid.
 * A list the file sets (classify, access.*) replaces the caller's. */
int config_load(const char *path, struct config *c, char *err, size_t errlen);

/* The same from memory: text[0..len) named name in messages (no NUL
 * needed).  config_load reads the file and calls this; the config fuzz
 * target calls it directly. */
int config_parse(const char *name, const char *text, size_t len, struct config *c,
                 char *err, size_t errlen);

/* Writes *c as YAML that config_load reads back to the same values. */
void config_dump(const struct config *c, FILE *out);

/* Is uid in the list (access_cmdline_uids / access_admins and count)?
 * Also for gids in the group lists. */
bool config_uid_listed(const uint32_t *uids, unsigned n, uint32_t uid);

/* An octal mode "0660" / "660" (at most 0777), or -1. */
int config_parse_mode(const char *s);
/* The socket's mode: socket_mode, else 0660 (system) or 0600 (per-user). */
unsigned config_socket_mode(const struct config *c, bool per_user);

/* Copies the value of the key at path (a list with its count) from src
 * to dst; 0, or -1 for an unknown key. */
int config_copy_key(struct config *dst, const struct config *src, const char *path);

/* The path of key i ("ring.budget"), in file order; NULL past the last. */
const char *config_key_path(unsigned i);

/* The value of the key at path ("ring.budget") as config_dump writes it
 * ("128MiB", "\"/run/rmon\"", "[0, 1000]") into buf; 0, or -1 for an
 * unknown key.  For messages about a key. */
int config_value_text(const struct config *c, const char *path, char *buf, size_t len);

#endif
