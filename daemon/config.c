/*
 * rmond.yaml, parsed with libyaml's event parser against one table of
 * keys.  The file is hostile input: anything not in the table, of the
 * wrong shape or out of range is refused with file:line:col, and nothing
 * is applied unless the whole file is good (we fill a copy).
 */
#include "config.h"

#include "duration.h"
#include "hostport.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

/* CT_UINT: a whole number (uint32_t).  CT_UIDS / CT_GIDS: a list of users
 * / groups, by number or by name (resolved at load time; uint32_t array,
 * count at off_n).  CT_STATS: egpu.stats_files (struct
 * config_stats_file array, count at off_n).  CT_RULES: the classify list
 * (struct config_rule array, count at off_n).  For lists, max is the
 * array's capacity. */
enum cfg_type { CT_STR, CT_DURATION, CT_SIZE, CT_SIZE32, CT_ENUM, CT_UINT, CT_UIDS, CT_GIDS,
		CT_RULES, CT_STATS };

struct cfg_key {
	const char *path;           /* "ring.budget": section.name */
	enum cfg_type type;
	size_t off;                 /* into struct config */
	size_t size;                /* of the field */
	size_t off_n;               /* lists: their count (unsigned) */
	uint64_t min, max;          /* numbers: range; strings: length */
	uint64_t def;               /* numbers and enums */
	const char *def_str;        /* strings */
	const char *const *names;   /* enums: names[value], NULL-terminated */
	int (*parse)(const char *); /* enums: name → value or -1; NULL: names */
};

/* The offset of field f, which must have type T (else _Generic fails to
 * compile): a table line cannot point at the wrong kind of field. */
#define CFG_OFF(f, T) (offsetof(struct config, f) + _Generic(((struct config *)0)->f, T: 0))
#define CFG_SIZE(f) sizeof(((struct config *)0)->f)

#define STR(p, f, minlen, d) { .path = p, .type = CT_STR, .off = CFG_OFF(f, char *), \
	.size = CFG_SIZE(f), .min = minlen, .max = CFG_SIZE(f) - 1, .def_str = d }
#define DUR(p, f, d, lo, hi) { .path = p, .type = CT_DURATION, .off = CFG_OFF(f, uint64_t), \
	.size = CFG_SIZE(f), .min = lo, .max = hi, .def = d }
#define SIZE(p, f, d, lo, hi) { .path = p, .type = CT_SIZE, .off = CFG_OFF(f, uint64_t), \
	.size = CFG_SIZE(f), .min = lo, .max = hi, .def = d }
#define SIZE32(p, f, d, lo, hi) { .path = p, .type = CT_SIZE32, .off = CFG_OFF(f, uint32_t), \
	.size = CFG_SIZE(f), .min = lo, .max = hi, .def = d }
#define ENUM(p, f, d, n, fn) { .path = p, .type = CT_ENUM, .off = CFG_OFF(f, int), \
	.size = CFG_SIZE(f), .def = d, .names = n, .parse = fn }
#define UINT(p, f, d, lo, hi) { .path = p, .type = CT_UINT, .off = CFG_OFF(f, uint32_t), \
	.size = CFG_SIZE(f), .min = lo, .max = hi, .def = d }
#define UIDS(p, f, nf) { .path = p, .type = CT_UIDS, .off = CFG_OFF(f, uint32_t *), \
	.size = CFG_SIZE(f), .off_n = CFG_OFF(nf, unsigned), .max = CFG_SIZE(f) / sizeof(uint32_t) }
#define GIDS(p, f, nf) { .path = p, .type = CT_GIDS, .off = CFG_OFF(f, uint32_t *), \
	.size = CFG_SIZE(f), .off_n = CFG_OFF(nf, unsigned), .max = CFG_SIZE(f) / sizeof(uint32_t) }
#define STATS(p, f, nf) { .path = p, .type = CT_STATS, \
	.off = CFG_OFF(f, struct config_stats_file *), .size = CFG_SIZE(f), \
	.off_n = CFG_OFF(nf, unsigned), .max = CFG_SIZE(f) / sizeof(struct config_stats_file) }
#define RULES(p, f, nf) { .path = p, .type = CT_RULES, .off = CFG_OFF(f, struct config_rule *), \
	.size = CFG_SIZE(f), .off_n = CFG_OFF(nf, unsigned), \
	.max = CFG_SIZE(f) / sizeof(struct config_rule) }

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define MS  UINT64_C(1000000)
#define SEC (1000 * MS)
#define HOUR (3600 * SEC)
#define DAY (24 * HOUR)

static const char *const ring_modes[] = { "file", "memory", NULL };
static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };
static const char *const log_targets[] = { "stderr", "syslog", NULL };

/* One line per key.  Keys of a section must be adjacent (config_dump
 * prints a section header when the prefix changes). */
static const struct cfg_key cfg_keys[] = {
	STR("socket", socket, 0, ""),
	STR("socket_group", socket_group, 0, ""),
	STR("socket_mode", socket_mode, 0, ""),
	STR("state_dir", state_dir, 0, ""),
	STR("procfs", procfs, 1, "/proc"),
	STR("sysfs", sysfs, 1, "/sys"),
	ENUM("ring.mode", ring_memory, CONFIG_RING_FILE, ring_modes, NULL),
	SIZE("ring.budget", ring_budget_bytes, 128 * MIB, 1 * MIB, 64 * GIB),
	DUR("ring.retention", ring_retention_ns, 1 * HOUR, 10 * SEC, 366 * DAY),
	DUR("sampling.system", system_interval_ns, 100 * MS, 10 * MS, 60 * SEC),
	DUR("procs.scan_interval", procs_scan_interval_ns, 1 * SEC, 100 * MS, 60 * SEC),
	DUR("procs.tracked_interval", procs_tracked_interval_ns, 100 * MS, 50 * MS, 10 * SEC),
	DUR("procs.pss_interval", procs_pss_interval_ns, 5 * SEC, 1 * SEC, 1 * HOUR),
	UINT("procs.top_n", procs_top_n, 5, 0, 100),
	UINT("procs.max_watches", procs_max_watches, 4096, 1, 65536),
	UINT("procs.quiet_thread_pct", procs_quiet_thread_pct, 1, 0, 100),
	DUR("gpu.interval", gpu_interval_ns, 100 * MS, 10 * MS, 60 * SEC),
	STR("gpu.nvidia.library", gpu_nvidia_library, 0, "libnvidia-ml.so.1"),
	DUR("egpu.interval", egpu_interval_ns, 1 * SEC, 100 * MS, 60 * SEC),
	STATS("egpu.stats_files", egpu_stats_files, egpu_nstats_files),
	SIZE32("protocol.frame_max", frame_max, 1 * MIB, 4 * KIB, 64 * MIB),
	SIZE("protocol.session_budget", session_budget_bytes, 4 * MIB, 64 * KIB, 1 * GIB),
	DUR("protocol.stuck_timeout", stuck_timeout_ns, 30 * SEC, 1 * SEC, 1 * HOUR),
	STR("prometheus.listen", prom_listen, 0, ""),
	UINT("prometheus.max_connections", prom_max_connections, 16, 1, 1024),
	DUR("prometheus.timeout", prom_timeout_ns, 5 * SEC, 100 * MS, 60 * SEC),
	UIDS("access.cmdline_uids", access_cmdline_uids, access_ncmdline_uids),
	GIDS("access.cmdline_groups", access_cmdline_gids, access_ncmdline_gids),
	UIDS("access.admins", access_admins, access_nadmins),
	GIDS("access.admin_groups", access_admin_gids, access_nadmin_gids),
	ENUM("log.level", log_level, LOG_LVL_INFO, log_levels, log_level_parse),
	ENUM("log.target", log_target, CONFIG_LOG_STDERR, log_targets, NULL),
	RULES("classify", classify, nclassify),
};

#define NKEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))
_Static_assert(NKEYS <= 64, "seen masks are 64 bits");

/* Keys are short names; anything longer is unknown anyway. */
#define KEY_MAX  64
#define PATH_MAX_LEN 160

struct cfg_parser {
	yaml_parser_t yp;
	const char *file;
	const unsigned char *buf;
	size_t len;
	struct config *cfg;          /* the copy being filled */
	uint64_t seen_keys;          /* bit i: cfg_keys[i] was set */
	uint64_t seen_sections;      /* bit i: section starting at key i */
	yaml_mark_t marks[NKEYS];    /* where each key was set */
	char *err;
	size_t errlen;
};

static int cfg_error(struct cfg_parser *P, yaml_mark_t mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int cfg_error(struct cfg_parser *P, yaml_mark_t mark, const char *fmt, ...)
{
	va_list ap;
	if (P->errlen == 0)
		return -EINVAL;
	int n = snprintf(P->err, P->errlen, "%s:%zu:%zu: ", P->file, mark.line + 1, mark.column + 1);
	if (n >= 0 && (size_t)n < P->errlen) {
		va_start(ap, fmt);
		vsnprintf(P->err + n, P->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Reader errors carry a byte offset, not a mark: count lines ourselves. */
static yaml_mark_t cfg_offset_mark(const struct cfg_parser *P, size_t off)
{
	yaml_mark_t m = { off, 0, 0 };
	size_t bol = 0;
	for (size_t i = 0; i < off && i < P->len; i++)
		if (P->buf[i] == '\n') {
			m.line++;
			bol = i + 1;
		}
	m.column = off - bol;
	return m;
}

static int cfg_syntax_error(struct cfg_parser *P)
{
	const yaml_parser_t *yp = &P->yp;
	const char *problem = yp->problem ? yp->problem : "unknown error";
	switch (yp->error) {
	case YAML_MEMORY_ERROR:
		snprintf(P->err, P->errlen, "%s: out of memory", P->file);
		return -ENOMEM;
	case YAML_READER_ERROR:
		return cfg_error(P, cfg_offset_mark(P, yp->problem_offset),
				 "syntax error: %s (byte 0x%02X)", problem,
				 (unsigned)yp->problem_value & 0xFFu);
	default:
		if (yp->context == NULL)
			return cfg_error(P, yp->problem_mark, "syntax error: %s", problem);
		return cfg_error(P, yp->problem_mark, "syntax error: %s (%s started at %zu:%zu)",
				 problem, yp->context, yp->context_mark.line + 1,
				 yp->context_mark.column + 1);
	}
}

/* Every event taken with cfg_next must be given to yaml_event_delete. */
static int cfg_next(struct cfg_parser *P, yaml_event_t *ev)
{
	if (yaml_parser_parse(&P->yp, ev))
		return 0;
	return cfg_syntax_error(P);
}

static const char *event_what(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT: return "a scalar";
	case YAML_SEQUENCE_START_EVENT: return "a list";
	case YAML_MAPPING_START_EVENT: return "a mapping";
	case YAML_ALIAS_EVENT: return "an alias (aliases are not supported)";
	default: return "something else";
	}
}

/* An unquoted empty, ~ or null scalar: YAML's null. */
static bool scalar_is_null(const yaml_event_t *ev)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp((const char *)ev->data.scalar.value, nulls[i]) == 0)
			return true;
	return false;
}

/* The value as the user wrote it, safe to print: quoted, escaped, cut. */
static const char *cfg_quote(const char *v, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	out[o++] = '"';
	for (size_t i = 0; i < len && o + 8 < outlen; i++) {
		unsigned char ch = (unsigned char)v[i];
		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		} else {
			out[o++] = (char)ch;
		}
		if (i + 1 < len && o + 8 >= outlen) {
			memcpy(out + o, "...", 3);
			o += 3;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

/* What a key expects, for error messages: "a size like 64MiB". */
static const char *key_expect(const struct cfg_key *k, char *buf, size_t len)
{
	size_t o;
	switch (k->type) {
	case CT_STR: return "a string";
	case CT_DURATION: return "a duration like 30s or 1h30m";
	case CT_SIZE:
	case CT_SIZE32: return "a size like 64MiB";
	case CT_UINT: return "a whole number";
	case CT_UIDS: return "a list of users like [alice, 1001]";
	case CT_GIDS: return "a list of groups like [adm, 27]";
	case CT_RULES: return "a list of rules, each with name, match and category";
	case CT_STATS: return "a list of {path, gpu} entries";
	case CT_ENUM:
		o = (size_t)snprintf(buf, len, "one of");
		for (size_t i = 0; k->names[i] && o < len; i++)
			o += (size_t)snprintf(buf + o, len - o, "%s %s", i ? "," : "", k->names[i]);
		return buf;
	}
	return "a value";
}

static void key_format(const struct cfg_key *k, uint64_t v, char *buf, size_t len)
{
	if (k->type == CT_DURATION)
		duration_format(v, buf, len);
	else if (k->type == CT_UINT)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		size_format(v, buf, len);
}

/* A whole number in decimal and nothing else (no sign, space or 0x);
 * saturates, so that a huge one reads as out of range. */
static int parse_uint(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (*s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		unsigned d = (unsigned)(*s - '0');
		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Durations, sizes and whole numbers: parse, range-check, store. */
static int cfg_set_number(struct cfg_parser *P, const struct cfg_key *k,
			  const yaml_event_t *ev, void *field)
{
	const char *v = (const char *)ev->data.scalar.value;
	char lo[DURATION_STR_MAX], hi[DURATION_STR_MAX], got[128], ex[64];
	uint64_t n;
	int rc = k->type == CT_DURATION ? duration_parse(v, &n) :
		 k->type == CT_UINT ? parse_uint(v, &n) : size_parse(v, &n);
	if (rc < 0 || scalar_is_null(ev))
		return cfg_error(P, ev->start_mark, "%s: expected %s, got %s", k->path,
				 key_expect(k, ex, sizeof ex),
				 cfg_quote(v, ev->data.scalar.length, got, sizeof got));
	if (n < k->min || n > k->max) {
		key_format(k, n < k->min ? k->min : k->max, lo, sizeof lo);
		key_format(k, n, hi, sizeof hi);
		return cfg_error(P, ev->start_mark, "%s: %s is %s the %s %s", k->path, hi,
				 n < k->min ? "below" : "above",
				 n < k->min ? "minimum" : "maximum", lo);
	}
	if (k->type == CT_SIZE32 || k->type == CT_UINT) {
		uint32_t n32 = (uint32_t)n;   /* the table's max keeps it in range */
		memcpy(field, &n32, sizeof n32);
	} else {
		memcpy(field, &n, sizeof n);
	}
	return 0;
}

static int cfg_set_enum(struct cfg_parser *P, const struct cfg_key *k,
			const yaml_event_t *ev, void *field)
{
	const char *v = (const char *)ev->data.scalar.value;
	char got[128], ex[128];
	int val = -1;
	if (k->parse)
		val = k->parse(v);
	else
		for (int i = 0; k->names[i]; i++)
			if (strcmp(v, k->names[i]) == 0)
				val = i;
	if (val < 0)
		return cfg_error(P, ev->start_mark, "%s: expected %s, got %s", k->path,
				 key_expect(k, ex, sizeof ex),
				 cfg_quote(v, ev->data.scalar.length, got, sizeof got));
	memcpy(field, &val, sizeof val);
	return 0;
}

static int cfg_set_string(struct cfg_parser *P, const struct cfg_key *k,
			  const yaml_event_t *ev, void *field)
{
	size_t len = scalar_is_null(ev) ? 0 : ev->data.scalar.length;
	if (len < k->min)
		return cfg_error(P, ev->start_mark, "%s: must not be empty", k->path);
	if (len > k->max)
		return cfg_error(P, ev->start_mark, "%s: too long (%zu bytes, at most %zu)",
				 k->path, len, (size_t)k->max);
	memcpy(field, ev->data.scalar.value, len);
	((char *)field)[len] = '\0';
	return 0;
}

static int cfg_set(struct cfg_parser *P, const struct cfg_key *k, const yaml_event_t *ev)
{
	void *field = (char *)P->cfg + k->off;
	/* "\0" in a double-quoted scalar would silently cut C strings. */
	if (strlen((const char *)ev->data.scalar.value) != ev->data.scalar.length)
		return cfg_error(P, ev->start_mark, "%s: contains a NUL byte", k->path);
	switch (k->type) {
	case CT_STR: return cfg_set_string(P, k, ev, field);
	case CT_ENUM: return cfg_set_enum(P, k, ev, field);
	case CT_DURATION:
	case CT_SIZE:
	case CT_SIZE32:
	case CT_UINT: return cfg_set_number(P, k, ev, field);
	case CT_UIDS:
	case CT_GIDS:
	case CT_RULES:
	case CT_STATS: break;   /* lists: cfg_parse_list */
	}
	return -EINVAL;
}

static int cfg_parse_list(struct cfg_parser *P, const struct cfg_key *k, const yaml_event_t *ev);

/* The value of leaf key i: a scalar, or for lists a sequence. */
static int cfg_parse_value(struct cfg_parser *P, size_t i)
{
	const struct cfg_key *k = &cfg_keys[i];
	yaml_event_t ev;
	char ex[128];
	int rc = cfg_next(P, &ev);
	if (rc < 0)
		return rc;
	if (k->type == CT_UIDS || k->type == CT_GIDS || k->type == CT_RULES || k->type == CT_STATS)
		rc = cfg_parse_list(P, k, &ev);
	else if (ev.type != YAML_SCALAR_EVENT)
		rc = cfg_error(P, ev.start_mark, "%s: expected %s, got %s", k->path,
			       key_expect(k, ex, sizeof ex), event_what(&ev));
	else
		rc = cfg_set(P, k, &ev);
	P->marks[i] = ev.start_mark;
	P->seen_keys |= UINT64_C(1) << i;
	yaml_event_delete(&ev);
	return rc;
}

/* Index of the leaf key named path, or -1. */
static int key_find(const char *path)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(cfg_keys[i].path, path) == 0)
			return (int)i;
	return -1;
}

/* Index of the first key under section path ("ring" → "ring.mode"), or -1. */
static int section_find(const char *path)
{
	size_t n = strlen(path);
	for (size_t i = 0; i < NKEYS; i++)
		if (strncmp(cfg_keys[i].path, path, n) == 0 && cfg_keys[i].path[n] == '.')
			return (int)i;
	return -1;
}

/* "mode, budget, retention": the names allowed directly under prefix. */
static void section_children(const char *prefix, char *buf, size_t len)
{
	size_t plen = strlen(prefix), o = 0;
	const char *last = NULL;
	size_t last_len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < NKEYS && o < len; i++) {
		const char *p = cfg_keys[i].path;
		if (plen && (strncmp(p, prefix, plen) != 0 || p[plen] != '.'))
			continue;
		const char *name = plen ? p + plen + 1 : p;
		size_t nlen = strcspn(name, ".");
		if (last && nlen == last_len && strncmp(name, last, nlen) == 0)
			continue;   /* further keys of the same section */
		o += (size_t)snprintf(buf + o, len - o, "%s%.*s", last ? ", " : "", (int)nlen, name);
		last = name;
		last_len = nlen;
	}
}

static int cfg_parse_mapping(struct cfg_parser *P, const char *prefix);

/* A section's value: a mapping of its keys, or null (all commented out). */
static int cfg_parse_section(struct cfg_parser *P, const char *path)
{
	yaml_event_t ev;
	char names[256];
	int rc = cfg_next(P, &ev);
	if (rc < 0)
		return rc;
	if (ev.type == YAML_MAPPING_START_EVENT) {
		rc = cfg_parse_mapping(P, path);
	} else if (ev.type != YAML_SCALAR_EVENT || !scalar_is_null(&ev)) {
		section_children(path, names, sizeof names);
		rc = cfg_error(P, ev.start_mark, "%s: expected a mapping with keys %s, got %s",
			       path, names, event_what(&ev));
	}
	yaml_event_delete(&ev);
	return rc;
}

/* names: what is allowed under prefix, "a, b, c". */
static int cfg_unknown_name(struct cfg_parser *P, const char *prefix, const yaml_event_t *key,
			    const char *names)
{
	char got[128];
	char full[PATH_MAX_LEN + 2];
	snprintf(full, sizeof full, "%s%s", prefix, *prefix ? "." : "");
	/* got is the key quoted and escaped: splice the prefix in after its
	 * opening quote, so the message names the full dotted path. */
	cfg_quote((const char *)key->data.scalar.value, key->data.scalar.length, got, sizeof got);
	return cfg_error(P, key->start_mark, "unknown key \"%s%s (expected one of: %s)",
			 full, got + 1, names);
}

static int cfg_unknown_key(struct cfg_parser *P, const char *prefix, const yaml_event_t *key)
{
	char names[256];
	section_children(prefix, names, sizeof names);
	return cfg_unknown_name(P, prefix, key, names);
}

/* --- lists: access uids, classify rules --- */

/* A user (groups: a group) by number, or by name through the system's
 * user database now, at load time: a name that does not resolve is an
 * error, not a list entry that silently never matches. */
static int cfg_resolve_id(struct cfg_parser *P, const struct cfg_key *k, unsigned idx,
			  const yaml_event_t *ev, uint32_t *out)
{
	const char *s = (const char *)ev->data.scalar.value;
	const char *what = k->type == CT_GIDS ? "group" : "user";
	char got[128];
	uint64_t v = 0;
	if (strlen(s) != ev->data.scalar.length || scalar_is_null(ev))
		return cfg_error(P, ev->start_mark, "%s[%u]: expected a %s name or number, got %s",
				 k->path, idx, what, cfg_quote(s, ev->data.scalar.length, got, sizeof got));
	if (parse_uint(s, &v) == 0) {
		if (v >= UINT32_MAX)   /* (uid_t)-1 means "no uid" */
			return cfg_error(P, ev->start_mark, "%s[%u]: %s is above the maximum %s %lu",
					 k->path, idx, s, k->type == CT_GIDS ? "gid" : "uid",
					 (unsigned long)UINT32_MAX - 1);
		*out = (uint32_t)v;
		return 0;
	}
	if (k->type == CT_GIDS) {
		const struct group *gr = getgrnam(s);
		if (gr) {
			*out = (uint32_t)gr->gr_gid;
			return 0;
		}
	} else {
		const struct passwd *pw = getpwnam(s);
		if (pw) {
			*out = (uint32_t)pw->pw_uid;
			return 0;
		}
	}
	return cfg_error(P, ev->start_mark, "%s[%u]: no such %s %s", k->path, idx, what,
			 cfg_quote(s, ev->data.scalar.length, got, sizeof got));
}

/* After SEQUENCE-START: users or groups up to SEQUENCE-END. */
static int cfg_parse_uids(struct cfg_parser *P, const struct cfg_key *k, uint32_t *uids,
			  unsigned *n)
{
	unsigned count = 0;
	for (;;) {
		yaml_event_t ev;
		uint32_t id = 0;
		int rc = cfg_next(P, &ev);
		if (rc < 0)
			return rc;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type != YAML_SCALAR_EVENT)
			rc = cfg_error(P, ev.start_mark, "%s[%u]: expected a %s name or number, got %s",
				       k->path, count, k->type == CT_GIDS ? "group" : "user",
				       event_what(&ev));
		else if ((rc = cfg_resolve_id(P, k, count, &ev, &id)) < 0)
			;
		else if (count == k->max)
			rc = cfg_error(P, ev.start_mark, "%s: more than %u %s", k->path,
				       (unsigned)k->max, k->type == CT_GIDS ? "groups" : "users");
		else
			uids[count++] = id;
		yaml_event_delete(&ev);
		if (rc < 0)
			return rc;
	}
	memset(uids + count, 0, (k->max - count) * sizeof *uids);
	*n = count;
	return 0;
}

enum { RULE_NAME, RULE_MATCH, RULE_CATEGORY, RULE_NKEYS };
static const char *const rule_keys[] = { "name", "match", "category", NULL };
static const char *const match_fields[] = { "comm", "exe", "cmdline", NULL };
_Static_assert(CLASSIFY_COMM == 0 && CLASSIFY_EXE == 1 && CLASSIFY_CMDLINE == 2,
	       "match_fields[] is indexed by enum classify_field");
_Static_assert(sizeof(((struct config_rule *)0)->pattern) ==
	       sizeof(((struct classify_rule *)0)->pattern), "a loaded pattern fits a classifier's");

/* Index of scalar key in names, or -1. */
static int names_find(const char *const *names, const yaml_event_t *key)
{
	const char *v = (const char *)key->data.scalar.value;
	if (strlen(v) != key->data.scalar.length)
		return -1;
	for (int i = 0; names[i]; i++)
		if (strcmp(v, names[i]) == 0)
			return i;
	return -1;
}

/* A rule's string: a non-empty scalar of at most len - 1 bytes. */
static int rule_string(struct cfg_parser *P, const char *path, const yaml_event_t *ev,
		       char *dst, size_t len)
{
	if (ev->type != YAML_SCALAR_EVENT)
		return cfg_error(P, ev->start_mark, "%s: expected a string, got %s", path,
				 event_what(ev));
	if (strlen((const char *)ev->data.scalar.value) != ev->data.scalar.length)
		return cfg_error(P, ev->start_mark, "%s: contains a NUL byte", path);
	size_t n = scalar_is_null(ev) ? 0 : ev->data.scalar.length;
	if (n == 0)
		return cfg_error(P, ev->start_mark, "%s: must not be empty", path);
	if (n >= len)
		return cfg_error(P, ev->start_mark, "%s: too long (%zu bytes, at most %zu)",
				 path, n, len - 1);
	memcpy(dst, ev->data.scalar.value, n);
	dst[n] = '\0';
	return 0;
}

static bool has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

/* The same rule as classify.c's: "major/minor", each part [a-z0-9_.+-]+,
 * or "other" (a rule that keeps processes out of a default category). */
static bool category_valid(const char *s)
{
	if (strcmp(s, "other") == 0)
		return true;
	const char *slash = strchr(s, '/');
	if (slash == NULL || slash == s || slash[1] == '\0')
		return false;
	for (const char *p = s; *p; p++) {
		char ch = *p;
		if (p != slash && !((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
				    ch == '_' || ch == '.' || ch == '+' || ch == '-'))
			return false;
	}
	return true;
}

/* Most parts a pattern may expand to (see regex_parts). */
#define REGEX_PARTS_MAX 2000

static uint64_t parts_mul(uint64_t a, uint64_t b)
{
	return a && b > UINT64_MAX / 4 / a ? UINT64_MAX / 4 : a * b;
}

/* Past the bracket expression starting at p[i] == '[' ([:alpha:] and
 * the like inside included). */
static size_t bracket_end(const char *p, size_t i)
{
	i++;
	if (p[i] == '^')
		i++;
	if (p[i] == ']')
		i++;
	while (p[i] && p[i] != ']') {
		if (p[i] == '[' && (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '=')) {
			const char *close = strchr(p + i + 2, p[i + 1]);
			while (close && close[1] != ']')
				close = strchr(close + 1, p[i + 1]);
			if (!close)
				return strlen(p);
			i = (size_t)(close - p) + 2;
		} else {
			i++;
		}
	}
	return p[i] ? i + 1 : i;
}

/* How many parts glibc's regcomp builds for an ERE: it copies the
 * repeated part for "+" (once) and for "{n,m}" (m times), so stacked or
 * nested repetitions ("a+++++...", "((a{99}){99}){99}") grow
 * exponentially and can take gigabytes before regcomp returns.  An
 * estimate (saturating), to refuse such patterns before compiling.
 * Adjacent repetition operators ("a?+", "a*{2}": undefined in POSIX ERE)
 * make glibc's epsilon closures take minutes: *adjacent is set. */
static uint64_t regex_parts(const char *p, bool *adjacent)
{
	uint64_t size[CONFIG_PATTERN_MAX + 1], last[CONFIG_PATTERN_MAX + 1];
	unsigned depth = 0;
	bool repeated = false;   /* the last token was a repetition */
	size[0] = last[0] = 0;
	*adjacent = false;
	for (size_t i = 0; p[i];) {
		char ch = p[i];
		uint64_t copies = 0;
		bool is_rep = ch == '+' || ch == '*' || ch == '?' ||
			      (ch == '{' && isdigit((unsigned char)p[i + 1]));
		if (is_rep && repeated)
			*adjacent = true;
		repeated = is_rep;
		if (ch == '(' && depth < CONFIG_PATTERN_MAX) {
			size[++depth] = 0;
			last[depth] = 0;
			i++;
			continue;
		}
		if (ch == ')' && depth > 0) {
			uint64_t g = size[depth--] + 1;
			size[depth] += g;
			last[depth] = g;
			i++;
			continue;
		}
		if (ch == '+') {
			copies = 2;
			i++;
		} else if (ch == '{' && isdigit((unsigned char)p[i + 1])) {
			char *end;
			unsigned long n = strtoul(p + i + 1, &end, 10), m = n;
			if (*end == ',' && isdigit((unsigned char)end[1])) {
				m = strtoul(end + 1, &end, 10);
			} else if (*end == ',') {   /* {n,}: n copies and a star */
				m = n + 1;
				end++;
			}
			copies = m > n ? m : n;
			i = *end == '}' ? (size_t)(end - p) + 1 : i + 1;
		} else if (ch == '*' || ch == '?' || ch == '|') {
			size[depth]++;
			i++;
			continue;
		} else {
			i = ch == '[' ? bracket_end(p, i) : ch == '\\' && p[i + 1] ? i + 2 : i + 1;
			size[depth]++;
			last[depth] = 1;
			continue;
		}
		/* a repetition of the last part: that many copies of it */
		uint64_t grown = parts_mul(last[depth], copies ? copies : 1);
		size[depth] += grown - last[depth] + 1;
		last[depth] = grown;
		if (size[depth] > UINT64_MAX / 8)
			return UINT64_MAX / 8;
	}
	while (depth > 0) {
		uint64_t g = size[depth--];
		size[depth] += g;
	}
	return size[0];
}

/* Compiles pattern with classify.c's flags, only to check it. */
static int rule_regex_check(struct cfg_parser *P, const char *path, const yaml_event_t *ev,
			    const char *pattern)
{
	regex_t re;
	char msg[160], got[128];
	bool adjacent;
	if (regex_parts(pattern, &adjacent) > REGEX_PARTS_MAX)
		return cfg_error(P, ev->start_mark, "%s: regex %s repeats too much: its "
				 "repetitions (+, {n,m}) expand to over %d parts", path,
				 cfg_quote(pattern, strlen(pattern), got, sizeof got),
				 REGEX_PARTS_MAX);
	if (adjacent)
		return cfg_error(P, ev->start_mark, "%s: regex %s has two repetitions in a row "
				 "(undefined in POSIX; group the first: (a+)?)", path,
				 cfg_quote(pattern, strlen(pattern), got, sizeof got));
	int rc = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);
	if (rc == 0) {
		regfree(&re);
		return 0;
	}
	regerror(rc, &re, msg, sizeof msg);   /* a failed regcomp holds no memory */
	return cfg_error(P, ev->start_mark, "%s: bad regex %s: %s", path,
			 cfg_quote(pattern, strlen(pattern), got, sizeof got), msg);
}

/* match: {comm|exe|cmdline: REGEX}, exactly one key; start is its first
 * event. */
static int cfg_parse_match(struct cfg_parser *P, const char *rpath, const yaml_event_t *start,
			   struct config_rule *r)
{
	char path[PATH_MAX_LEN + 8], fpath[PATH_MAX_LEN + 24];
	int have = -1;
	snprintf(path, sizeof path, "%s.match", rpath);
	if (start->type != YAML_MAPPING_START_EVENT)
		return cfg_error(P, start->start_mark, "%s: expected a mapping with one of comm, "
				 "exe, cmdline, got %s", path, event_what(start));
	for (;;) {
		yaml_event_t key, val;
		int rc = cfg_next(P, &key);
		if (rc < 0)
			return rc;
		if (key.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&key);
			break;
		}
		int f = key.type == YAML_SCALAR_EVENT ? names_find(match_fields, &key) : -1;
		if (key.type != YAML_SCALAR_EVENT)
			rc = cfg_error(P, key.start_mark, "%s: keys must be names, got %s", path,
				       event_what(&key));
		else if (f < 0)
			rc = cfg_unknown_name(P, path, &key, "comm, exe, cmdline");
		else if (f == have)
			rc = cfg_error(P, key.start_mark, "%s.%s: duplicate key", path, match_fields[f]);
		else if (have >= 0)
			rc = cfg_error(P, key.start_mark, "%s: expected exactly one of comm, exe, "
				       "cmdline, got %s and %s", path, match_fields[have], match_fields[f]);
		yaml_event_delete(&key);
		if (rc < 0)
			return rc;
		snprintf(fpath, sizeof fpath, "%s.%s", path, match_fields[f]);
		if ((rc = cfg_next(P, &val)) < 0)
			return rc;
		rc = rule_string(P, fpath, &val, r->pattern, sizeof r->pattern);
		if (rc == 0)
			rc = rule_regex_check(P, fpath, &val, r->pattern);
		yaml_event_delete(&val);
		if (rc < 0)
			return rc;
		have = f;
	}
	if (have < 0)
		return cfg_error(P, start->start_mark, "%s: expected one of comm, exe, cmdline", path);
	r->field = (enum classify_field)have;
	return 0;
}

/* names joined with ", " into out: the key list of an error message. */
static void names_join(const char *const *names, char *out, size_t cap)
{
	size_t at = 0;
	out[0] = '\0';
	for (unsigned i = 0; names[i] && at < cap; i++) {
		int n = snprintf(out + at, cap - at, "%s%s", i ? ", " : "", names[i]);
		if (n < 0)
			break;
		at += (size_t)n;
	}
}

/* Entry idx of the list at kpath starts with event start: its path
 * ("kpath[idx]") into path, and a mapping with keys from names is
 * expected.  *line and *col: where it is.  0 or -EINVAL. */
static int cfg_entry_begin(struct cfg_parser *P, const char *kpath, unsigned idx,
			   const yaml_event_t *start, const char *const *names, char *path,
			   size_t cap, unsigned *line, unsigned *col)
{
	char expect[128];
	snprintf(path, cap, "%s[%u]", kpath, idx);
	*line = (unsigned)start->start_mark.line + 1;
	*col = (unsigned)start->start_mark.column + 1;
	if (start->type == YAML_MAPPING_START_EVENT)
		return 0;
	names_join(names, expect, sizeof expect);
	return cfg_error(P, start->start_mark, "%s: expected a mapping with keys %s, got %s", path,
			 expect, event_what(start));
}

/* The next key of a list entry's mapping at path (keys from names; seen:
 * the keys so far, a bit each): 1 and *idx, 0 at the mapping's end, or
 * -EINVAL (unknown, duplicate, not a name). */
static int cfg_entry_key(struct cfg_parser *P, const char *path, const char *const *names,
			 unsigned *seen, int *idx)
{
	yaml_event_t key;
	int rc = cfg_next(P, &key);
	if (rc < 0)
		return rc;
	if (key.type == YAML_MAPPING_END_EVENT) {
		yaml_event_delete(&key);
		return 0;
	}
	int i = key.type == YAML_SCALAR_EVENT ? names_find(names, &key) : -1;
	if (key.type != YAML_SCALAR_EVENT)
		rc = cfg_error(P, key.start_mark, "%s: keys must be names, got %s", path,
			       event_what(&key));
	else if (i < 0) {
		char expect[128];
		names_join(names, expect, sizeof expect);
		rc = cfg_unknown_name(P, path, &key, expect);
	} else if (*seen & (1u << i))
		rc = cfg_error(P, key.start_mark, "%s.%s: duplicate key", path, names[i]);
	yaml_event_delete(&key);
	if (rc < 0)
		return rc;
	*seen |= 1u << i;
	*idx = i;
	return 1;
}

/* Rule idx of the list at kpath; start is its first event.  Earlier rules
 * are in rules[0..idx). */
static int cfg_parse_rule(struct cfg_parser *P, const char *kpath, unsigned idx,
			  const yaml_event_t *start, void *entries)
{
	struct config_rule *rules = entries, *r = &rules[idx];
	char path[PATH_MAX_LEN], kp[PATH_MAX_LEN + 16], got[128];
	yaml_mark_t name_mark = start->start_mark;
	unsigned seen = 0;
	memset(r, 0, sizeof *r);
	if (cfg_entry_begin(P, kpath, idx, start, rule_keys, path, sizeof path, &r->line, &r->col))
		return -EINVAL;
	for (;;) {
		yaml_event_t val;
		int i, rc = cfg_entry_key(P, path, rule_keys, &seen, &i);
		if (rc <= 0) {
			if (rc < 0)
				return rc;
			break;
		}
		snprintf(kp, sizeof kp, "%s.%s", path, rule_keys[i]);
		if ((rc = cfg_next(P, &val)) < 0)
			return rc;
		switch (i) {
		case RULE_NAME:
			name_mark = val.start_mark;
			rc = rule_string(P, kp, &val, r->name, sizeof r->name);
			if (rc == 0 && has_control(r->name))
				rc = cfg_error(P, val.start_mark, "%s: must not contain control "
					       "characters", kp);
			break;
		case RULE_CATEGORY:
			rc = rule_string(P, kp, &val, r->category, sizeof r->category);
			if (rc == 0 && !category_valid(r->category))
				rc = cfg_error(P, val.start_mark, "%s: expected major/minor (each part "
					       "[a-z0-9_.+-]+) or other, got %s", kp,
					       cfg_quote(r->category, strlen(r->category), got, sizeof got));
			break;
		default:
			rc = cfg_parse_match(P, path, &val, r);
			break;
		}
		yaml_event_delete(&val);
		if (rc < 0)
			return rc;
	}
	for (int i = 0; i < RULE_NKEYS; i++)
		if (!(seen & (1u << i)))
			return cfg_error(P, start->start_mark, "%s: missing key \"%s\"", path,
					 rule_keys[i]);
	for (unsigned j = 0; j < idx; j++)
		if (strcmp(rules[j].name, r->name) == 0)
			return cfg_error(P, name_mark, "%s.name: duplicate rule name %s (first at %u:%u)",
					 path, cfg_quote(r->name, strlen(r->name), got, sizeof got),
					 rules[j].line, rules[j].col);
	return 0;
}

/* After SEQUENCE-START: the entries of a list of mappings (classify,
 * egpu.stats_files) up to SEQUENCE-END, entry i parsed by one() into
 * entries[i] (earlier ones are there to check against); unused slots are
 * zeroed. */
static int cfg_parse_entries(struct cfg_parser *P, const struct cfg_key *k, const char *what,
			     int (*one)(struct cfg_parser *, const char *, unsigned,
					const yaml_event_t *, void *),
			     void *entries, size_t size, unsigned *n)
{
	unsigned count = 0;
	for (;;) {
		yaml_event_t ev;
		int rc = cfg_next(P, &ev);
		if (rc < 0)
			return rc;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (count == k->max)
			rc = cfg_error(P, ev.start_mark, "%s: more than %u %s", k->path,
				       (unsigned)k->max, what);
		else
			rc = one(P, k->path, count, &ev, entries);
		yaml_event_delete(&ev);
		if (rc < 0)
			return rc;
		count++;
	}
	memset((char *)entries + count * size, 0, (k->max - count) * size);
	*n = count;
	return 0;
}

/* --- egpu.stats_files --- */

enum { SF_PATH, SF_GPU, SF_NKEYS };
static const char *const stats_file_keys[] = { "path", "gpu", NULL };

/* [DDDD:]BB:DD.F in hex, either case, into "dddd:bb:dd.f". */
static bool pci_address_parse(const char *s, char *out, size_t len)
{
	unsigned dom = 0, bus, dev, fn;
	int n = 0;
	size_t sl = strlen(s);
	for (const char *p = s; *p; p++)
		if (!strchr("0123456789abcdefABCDEF:.", *p))
			return false;
	if (!((sl == 12 && sscanf(s, "%4x:%2x:%2x.%1x%n", &dom, &bus, &dev, &fn, &n) == 4) ||
	      (sl == 7 && sscanf(s, "%2x:%2x.%1x%n", &bus, &dev, &fn, &n) == 3)) ||
	    (size_t)n != sl || dev > 0x1f || fn > 7)
		return false;
	snprintf(out, len, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return true;
}

/* gpu: a PCI address, or an egpu index (a whole number below 32). */
static int stats_file_gpu(struct cfg_parser *P, const char *path, const yaml_event_t *ev,
			  struct config_stats_file *f)
{
	char got[128], v[32];
	uint64_t idx;
	int rc = rule_string(P, path, ev, v, sizeof v);
	if (rc < 0)
		return rc;
	f->gpu_index = -1;
	f->gpu_pci[0] = '\0';
	if (parse_uint(v, &idx) == 0 && idx < 32)
		f->gpu_index = (int32_t)idx;
	else if (!pci_address_parse(v, f->gpu_pci, sizeof f->gpu_pci))
		return cfg_error(P, ev->start_mark, "%s: expected a PCI address like 0000:05:00.0 "
				 "or an egpu index below 32, got %s", path,
				 cfg_quote(v, strlen(v), got, sizeof got));
	return 0;
}

/* Entry idx of egpu.stats_files; start is its first event. */
static int cfg_parse_stats_file(struct cfg_parser *P, const char *kpath, unsigned idx,
				const yaml_event_t *start, void *entries)
{
	struct config_stats_file *files = entries, *f = &files[idx];
	char path[PATH_MAX_LEN], kp[PATH_MAX_LEN + 16];
	yaml_mark_t gpu_mark = start->start_mark;
	unsigned seen = 0;
	memset(f, 0, sizeof *f);
	if (cfg_entry_begin(P, kpath, idx, start, stats_file_keys, path, sizeof path, &f->line,
			    &f->col))
		return -EINVAL;
	for (;;) {
		yaml_event_t val;
		int i, rc = cfg_entry_key(P, path, stats_file_keys, &seen, &i);
		if (rc <= 0) {
			if (rc < 0)
				return rc;
			break;
		}
		snprintf(kp, sizeof kp, "%s.%s", path, stats_file_keys[i]);
		if ((rc = cfg_next(P, &val)) < 0)
			return rc;
		if (i == SF_PATH) {
			rc = rule_string(P, kp, &val, f->path, sizeof f->path);
			if (rc == 0 && f->path[0] != '/')
				rc = cfg_error(P, val.start_mark, "%s: must be an absolute path", kp);
		} else {
			gpu_mark = val.start_mark;
			rc = stats_file_gpu(P, kp, &val, f);
		}
		yaml_event_delete(&val);
		if (rc < 0)
			return rc;
	}
	for (int i = 0; i < SF_NKEYS; i++)
		if (!(seen & (1u << i)))
			return cfg_error(P, start->start_mark, "%s: missing key \"%s\"", path,
					 stats_file_keys[i]);
	for (unsigned j = 0; j < idx; j++)
		if (files[j].gpu_index == f->gpu_index && strcmp(files[j].gpu_pci, f->gpu_pci) == 0)
			return cfg_error(P, gpu_mark, "%s.gpu: that GPU already has a stats file "
					 "(%s[%u], at %u:%u)", path, kpath, j, files[j].line, files[j].col);
	return 0;
}

/* A list key's value (ev, its first event): a sequence, or null for an
 * empty list.  The list replaces what was there; unused slots are zeroed
 * so that equal lists are equal bytes. */
static int cfg_parse_list(struct cfg_parser *P, const struct cfg_key *k, const yaml_event_t *ev)
{
	char *field = (char *)P->cfg + k->off;
	unsigned n = 0;
	char ex[128];
	int rc = 0;
	if (ev->type == YAML_SCALAR_EVENT && scalar_is_null(ev))
		memset(field, 0, k->size);
	else if (ev->type != YAML_SEQUENCE_START_EVENT)
		return cfg_error(P, ev->start_mark, "%s: expected %s, got %s", k->path,
				 key_expect(k, ex, sizeof ex), event_what(ev));
	else if (k->type == CT_UIDS || k->type == CT_GIDS)
		rc = cfg_parse_uids(P, k, (uint32_t *)(void *)field, &n);
	else if (k->type == CT_STATS)
		rc = cfg_parse_entries(P, k, "files", cfg_parse_stats_file, field,
				       sizeof(struct config_stats_file), &n);
	else
		rc = cfg_parse_entries(P, k, "rules", cfg_parse_rule, field, sizeof(struct config_rule),
				       &n);
	if (rc == 0)
		memcpy((char *)P->cfg + k->off_n, &n, sizeof n);
	return rc;
}

/* One "key: value" pair of the mapping at prefix; key is its first event. */
static int cfg_parse_pair(struct cfg_parser *P, const char *prefix, const yaml_event_t *key)
{
	char path[PATH_MAX_LEN];
	if (key->type != YAML_SCALAR_EVENT)
		return cfg_error(P, key->start_mark, "%s%skeys must be names, got %s",
				 prefix, *prefix ? ": " : "", event_what(key));
	const char *name = (const char *)key->data.scalar.value;
	size_t len = key->data.scalar.length;
	/* Dotted keys ("ring.budget: 1G") would be a second spelling. */
	if (len == 0 || len > KEY_MAX || strlen(name) != len || strchr(name, '.'))
		return cfg_unknown_key(P, prefix, key);
	snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", name);
	int i = key_find(path);
	if (i >= 0) {
		if (P->seen_keys & (UINT64_C(1) << i))
			return cfg_error(P, key->start_mark, "%s: duplicate key", path);
		return cfg_parse_value(P, (size_t)i);
	}
	i = section_find(path);
	if (i < 0)
		return cfg_unknown_key(P, prefix, key);
	if (P->seen_sections & (UINT64_C(1) << i))
		return cfg_error(P, key->start_mark, "%s: duplicate key", path);
	P->seen_sections |= UINT64_C(1) << i;
	return cfg_parse_section(P, path);
}

/* After MAPPING-START: pairs up to MAPPING-END.  Recursion only follows
 * sections in the table, so its depth is bounded by the table. */
static int cfg_parse_mapping(struct cfg_parser *P, const char *prefix)
{
	for (;;) {
		yaml_event_t ev;
		int rc = cfg_next(P, &ev);
		if (rc < 0)
			return rc;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		rc = cfg_parse_pair(P, prefix, &ev);
		yaml_event_delete(&ev);
		if (rc < 0)
			return rc;
	}
}

/* After DOCUMENT-START: a top-level mapping (or nothing), DOCUMENT-END. */
static int cfg_parse_document(struct cfg_parser *P)
{
	yaml_event_t ev;
	int rc = cfg_next(P, &ev);
	if (rc < 0)
		return rc;
	if (ev.type == YAML_MAPPING_START_EVENT)
		rc = cfg_parse_mapping(P, "");
	else if (ev.type != YAML_SCALAR_EVENT || !scalar_is_null(&ev))
		rc = cfg_error(P, ev.start_mark, "expected a mapping of keys, got %s",
			       event_what(&ev));
	yaml_event_delete(&ev);
	if (rc < 0)
		return rc;
	if ((rc = cfg_next(P, &ev)) < 0)
		return rc;
	yaml_event_delete(&ev);    /* DOCUMENT-END: the grammar guarantees it */
	return 0;
}

static int cfg_parse_stream(struct cfg_parser *P)
{
	yaml_event_t ev;
	int rc = cfg_next(P, &ev);          /* STREAM-START */
	if (rc < 0)
		return rc;
	yaml_event_delete(&ev);
	if ((rc = cfg_next(P, &ev)) < 0)
		return rc;
	yaml_event_type_t type = ev.type;
	yaml_event_delete(&ev);
	if (type == YAML_STREAM_END_EVENT)  /* empty, or only comments */
		return 0;
	if ((rc = cfg_parse_document(P)) < 0)
		return rc;
	if ((rc = cfg_next(P, &ev)) < 0)
		return rc;
	if (ev.type != YAML_STREAM_END_EVENT)
		rc = cfg_error(P, ev.start_mark, "only one YAML document is allowed");
	yaml_event_delete(&ev);
	return rc;
}

/* Rules between keys, checked once the whole file is read. */
static int cfg_check(struct cfg_parser *P)
{
	const struct config *c = P->cfg;
	if (c->socket_mode[0] && config_parse_mode(c->socket_mode) < 0) {
		char got[128];
		return cfg_error(P, P->marks[key_find("socket_mode")], "socket_mode: expected an octal "
				 "mode like \"0660\" (at most 0777), got %s",
				 cfg_quote(c->socket_mode, strlen(c->socket_mode), got, sizeof got));
	}
	if (c->prom_listen[0]) {
		char host[HOSTPORT_HOST_MAX], why[512];
		uint16_t port;
		if (hostport_split(c->prom_listen, host, sizeof host, &port, why, sizeof why) < 0)
			return cfg_error(P, P->marks[key_find("prometheus.listen")],
					 "prometheus.listen: %s", why);
	}
	if (c->session_budget_bytes < c->frame_max) {
		int sb = key_find("protocol.session_budget"), fm = key_find("protocol.frame_max");
		bool sb_set = P->seen_keys & (UINT64_C(1) << sb);
		yaml_mark_t m = P->marks[sb_set ? sb : fm];
		char a[DURATION_STR_MAX], b[DURATION_STR_MAX];
		size_format(c->session_budget_bytes, a, sizeof a);
		size_format(c->frame_max, b, sizeof b);
		return cfg_error(P, m, "protocol.session_budget (%s) must be at least "
				 "protocol.frame_max (%s)", a, b);
	}
	if (c->procs_tracked_interval_ns > c->procs_scan_interval_ns) {
		int ti = key_find("procs.tracked_interval"), si = key_find("procs.scan_interval");
		bool ti_set = P->seen_keys & (UINT64_C(1) << ti);
		yaml_mark_t m = P->marks[ti_set ? ti : si];
		char a[DURATION_STR_MAX], b[DURATION_STR_MAX];
		duration_format(c->procs_tracked_interval_ns, a, sizeof a);
		duration_format(c->procs_scan_interval_ns, b, sizeof b);
		return cfg_error(P, m, "procs.tracked_interval (%s) must not be longer than "
				 "procs.scan_interval (%s)", a, b);
	}
	return 0;
}

static int cfg_read_file(const char *path, unsigned char **out, size_t *outlen,
			 char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
		return -e;
	}
	size_t cap = 4096, len = 0;
	unsigned char *buf = malloc(cap);
	int rc = buf ? 0 : -ENOMEM;
	while (rc == 0) {
		if (len == cap) {
			unsigned char *nb = cap > CONFIG_FILE_MAX ? NULL : realloc(buf, cap * 2);
			if (nb == NULL) {
				rc = cap > CONFIG_FILE_MAX ? -EFBIG : -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno != EINTR)
			rc = -errno;
		else if (n == 0)
			break;
		else if (n > 0)
			len += (size_t)n;
	}
	close(fd);
	if (rc == 0 && len > CONFIG_FILE_MAX)
		rc = -EFBIG;
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
			 rc == -EFBIG ? "file too large (over 1MiB)" : strerror(-rc));
		free(buf);
		return rc;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		char *field = (char *)c + k->off;
		uint32_t v32 = (uint32_t)k->def;
		int vi = (int)k->def;
		switch (k->type) {
		case CT_STR: snprintf(field, k->size, "%s", k->def_str); break;
		case CT_DURATION:
		case CT_SIZE: memcpy(field, &k->def, sizeof k->def); break;
		case CT_SIZE32:
		case CT_UINT: memcpy(field, &v32, sizeof v32); break;
		case CT_ENUM: memcpy(field, &vi, sizeof vi); break;
		case CT_UIDS:
		case CT_GIDS:
		case CT_RULES:
		case CT_STATS:   /* empty lists */
			memset(field, 0, k->size);
			memset((char *)c + k->off_n, 0, sizeof(unsigned));
			break;
		}
	}
}

int config_parse(const char *name, const char *text, size_t len, struct config *c,
		 char *err, size_t errlen)
{
	char dummy[1];
	struct cfg_parser P = { .file = name, .err = errlen ? err : dummy,
				.errlen = errlen ? errlen : sizeof dummy };
	struct config tmp = *c;
	int rc;
	P.err[0] = '\0';
	if (len > CONFIG_FILE_MAX) {
		snprintf(P.err, P.errlen, "%s: cannot read: file too large (over 1MiB)", name);
		return -EFBIG;
	}
	if (!yaml_parser_initialize(&P.yp)) {
		snprintf(P.err, P.errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	P.buf = (const unsigned char *)text;
	P.len = len;
	P.cfg = &tmp;
	yaml_parser_set_input_string(&P.yp, P.buf, P.len);
	rc = cfg_parse_stream(&P);
	if (rc == 0)
		rc = cfg_check(&P);
	yaml_parser_delete(&P.yp);
	if (rc == 0)
		*c = tmp;
	return rc;
}

int config_load(const char *path, struct config *c, char *err, size_t errlen)
{
	char dummy[1];
	unsigned char *buf = NULL;
	size_t len = 0;
	if (!errlen) {
		err = dummy;
		errlen = sizeof dummy;
	}
	err[0] = '\0';
	int rc = cfg_read_file(path, &buf, &len, err, errlen);
	if (rc < 0)
		return rc;
	rc = config_parse(path, (const char *)buf, len, c, err, errlen);
	free(buf);
	return rc;
}

/* A YAML double-quoted scalar: reads back byte for byte (valid UTF-8;
 * a byte that is not cannot be said in YAML and is written as \xNN).
 * What YAML takes as a line break or refuses raw (controls, DEL, C1,
 * U+2028/2029, U+FEFF, U+FFFE/FFFF) is escaped. */
static void dump_string(const char *s, FILE *out)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; ) {
		unsigned len = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2
			     : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t cp = len == 1 ? *p : len == 2 ? *p & 0x1fu
			    : len == 3 ? *p & 0x0fu : *p & 0x07u;
		for (unsigned i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				len = 0;
				break;
			}
			cp = cp << 6 | (p[i] & 0x3fu);
		}
		if (len == 0) {
			fprintf(out, "\\x%02x", *p++);
			continue;
		}
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (cp < 0x20 || cp == 0x7f)
			fprintf(out, "\\x%02x", (unsigned)cp);
		else if ((cp >= 0x80 && cp < 0xa0) || cp == 0x2028 || cp == 0x2029 ||
			 cp == 0xfeff || cp == 0xfffe || cp == 0xffff)
			fprintf(out, "\\u%04x", (unsigned)cp);
		else
			fwrite(p, 1, len, out);
		p += len;
	}
	fputc('"', out);
}

/* classify: one block per rule, or [] */
static void dump_rules(const struct config_rule *rules, unsigned n, FILE *out)
{
	if (n == 0) {
		fputs(" []", out);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct config_rule *r = &rules[i];
		fputs("\n  - name: ", out);
		dump_string(r->name, out);
		fprintf(out, "\n    match: {%s: ", match_fields[r->field]);
		dump_string(r->pattern, out);
		fputs("}\n    category: ", out);
		dump_string(r->category, out);
	}
}

/* egpu.stats_files: a flow sequence, or [] */
static void dump_stats_files(const struct config_stats_file *files, unsigned n, FILE *out)
{
	fputs(" [", out);
	for (unsigned i = 0; i < n; i++) {
		fputs(i ? ", {path: " : "{path: ", out);
		dump_string(files[i].path, out);
		if (files[i].gpu_pci[0]) {
			fputs(", gpu: ", out);
			dump_string(files[i].gpu_pci, out);
		} else {
			fprintf(out, ", gpu: %d", (int)files[i].gpu_index);
		}
		fputc('}', out);
	}
	fputc(']', out);
}

/* The value of key k, with the space after the colon (none before a block). */
static void dump_value(const struct cfg_key *k, const struct config *c, FILE *out)
{
	const char *field = (const char *)c + k->off;
	char buf[DURATION_STR_MAX];
	uint64_t v = 0;
	uint32_t v32;
	unsigned n;
	int vi;
	if (k->type == CT_UIDS || k->type == CT_GIDS || k->type == CT_RULES || k->type == CT_STATS) {
		memcpy(&n, (const char *)c + k->off_n, sizeof n);
		if (n > k->max)
			n = (unsigned)k->max;
		if (k->type == CT_RULES) {
			dump_rules((const struct config_rule *)(const void *)field, n, out);
			return;
		}
		if (k->type == CT_STATS) {
			dump_stats_files((const struct config_stats_file *)(const void *)field, n, out);
			return;
		}
		fputs(" [", out);
		for (unsigned i = 0; i < n; i++) {
			memcpy(&v32, field + i * sizeof v32, sizeof v32);
			fprintf(out, "%s%lu", i ? ", " : "", (unsigned long)v32);
		}
		fputc(']', out);
		return;
	}
	fputc(' ', out);
	switch (k->type) {
	case CT_STR: dump_string(field, out); return;
	case CT_ENUM:
		memcpy(&vi, field, sizeof vi);
		for (int i = 0; k->names[i]; i++)
			if (i == vi) {
				fputs(k->names[i], out);
				return;
			}
		fprintf(out, "%d", vi);   /* not a valid name: load will say so */
		return;
	case CT_SIZE32:
	case CT_UINT: memcpy(&v32, field, sizeof v32); v = v32; break;
	case CT_DURATION:
	case CT_SIZE: memcpy(&v, field, sizeof v); break;
	case CT_UIDS:
	case CT_GIDS:
	case CT_RULES:
	case CT_STATS: return;   /* above */
	}
	key_format(k, v, buf, sizeof buf);
	fputs(buf, out);
}

/* Section components ("gpu", "nvidia") the path shares with prev. */
static size_t shared_sections(const char *path, const char *prev)
{
	size_t n = 0;
	for (;;) {
		const char *a = strchr(path, '.'), *b = strchr(prev, '.');
		if (!a || !b || a - path != b - prev || strncmp(path, prev, (size_t)(a - path)) != 0)
			return n;
		n++;
		path = a + 1;
		prev = b + 1;
	}
}

void config_dump(const struct config *c, FILE *out)
{
	const char *prev = "";
	fputs("# rmond effective configuration\n", out);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		size_t shared = shared_sections(k->path, prev), level = 0;
		const char *p = k->path, *dot;
		if (shared == 0 && i > 0 && (strchr(k->path, '.') || strchr(prev, '.')))
			fputc('\n', out);   /* sections apart from each other and from top-level keys */
		for (; (dot = strchr(p, '.')); p = dot + 1, level++)
			if (level >= shared)   /* a section header this key opens */
				fprintf(out, "%*s%.*s:\n", (int)(2 * level), "", (int)(dot - p), p);
		fprintf(out, "%*s%s:", (int)(2 * level), "", p);
		dump_value(k, c, out);
		fputc('\n', out);
		prev = k->path;
	}
}

bool config_uid_listed(const uint32_t *uids, unsigned n, uint32_t uid)
{
	for (unsigned i = 0; i < n; i++)
		if (uids[i] == uid)
			return true;
	return false;
}

int config_parse_mode(const char *s)
{
	size_t len = strlen(s);
	unsigned v = 0;
	if (len < 3 || len > 4)
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '7')
			return -1;
		v = v * 8 + (unsigned)(*p - '0');
	}
	return v > 0777 ? -1 : (int)v;
}

unsigned config_socket_mode(const struct config *c, bool per_user)
{
	int m = c->socket_mode[0] ? config_parse_mode(c->socket_mode) : -1;
	return m >= 0 ? (unsigned)m : per_user ? 0600u : 0660u;
}

int config_copy_key(struct config *dst, const struct config *src, const char *path)
{
	int i = key_find(path);
	if (i < 0)
		return -1;
	const struct cfg_key *k = &cfg_keys[i];
	memcpy((char *)dst + k->off, (const char *)src + k->off, k->size);
	if (k->type == CT_UIDS || k->type == CT_GIDS || k->type == CT_RULES || k->type == CT_STATS)
		memcpy((char *)dst + k->off_n, (const char *)src + k->off_n, sizeof(unsigned));
	return 0;
}

const char *config_key_path(unsigned i)
{
	return i < NKEYS ? cfg_keys[i].path : NULL;
}

int config_value_text(const struct config *c, const char *path, char *buf, size_t len)
{
	int i = key_find(path);
	if (i < 0 || len == 0)
		return -1;
	FILE *f = fmemopen(buf, len, "w");
	if (!f)
		return -1;
	dump_value(&cfg_keys[i], c, f);
	fclose(f);   /* NUL-terminates within len */
	memmove(buf, buf + (buf[0] == ' '), strlen(buf + (buf[0] == ' ')) + 1);
	return 0;
}
