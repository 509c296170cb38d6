/*
 * rmond.yaml, parsed with libyaml's event parser against one table of
 * keys.  The file is hostile input: anything not in the table, of the
 * wrong shape or out of range is refused with file:line:col, and nothing
 * is applied unless the whole file is good (we fill a copy).
 */
#include "config.h"

#include "duration.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

enum cfg_type { CT_STR, CT_DURATION, CT_SIZE, CT_SIZE32, CT_ENUM };

struct cfg_key {
	const char *path;           /* "ring.budget": section.name */
	enum cfg_type type;
	size_t off;                 /* into struct config */
	size_t size;                /* of the field */
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

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define MS  UINT64_C(1000000)
#define SEC (1000 * MS)
#define HOUR (3600 * SEC)
#define DAY (24 * HOUR)

static const char *const ring_modes[] = { "file", "memory", NULL };
static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };

/* One line per key.  Keys of a section must be adjacent (config_dump
 * prints a section header when the prefix changes). */
static const struct cfg_key cfg_keys[] = {
	STR("socket", socket, 0, ""),
	STR("socket_group", socket_group, 0, ""),
	STR("state_dir", state_dir, 0, ""),
	STR("procfs", procfs, 1, "/proc"),
	STR("sysfs", sysfs, 1, "/sys"),
	ENUM("ring.mode", ring_memory, CONFIG_RING_FILE, ring_modes, NULL),
	SIZE("ring.budget", ring_budget_bytes, 128 * MIB, 1 * MIB, 64 * GIB),
	DUR("ring.retention", ring_retention_ns, 1 * HOUR, 10 * SEC, 366 * DAY),
	DUR("sampling.system", system_interval_ns, 100 * MS, 10 * MS, 60 * SEC),
	SIZE32("protocol.frame_max", frame_max, 1 * MIB, 4 * KIB, 64 * MIB),
	SIZE("protocol.session_budget", session_budget_bytes, 4 * MIB, 64 * KIB, 1 * GIB),
	DUR("protocol.stuck_timeout", stuck_timeout_ns, 30 * SEC, 1 * SEC, 1 * HOUR),
	ENUM("log.level", log_level, LOG_LVL_INFO, log_levels, log_level_parse),
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
	else
		size_format(v, buf, len);
}

/* Durations and sizes: parse, range-check, store. */
static int cfg_set_number(struct cfg_parser *P, const struct cfg_key *k,
			  const yaml_event_t *ev, void *field)
{
	const char *v = (const char *)ev->data.scalar.value;
	char lo[DURATION_STR_MAX], hi[DURATION_STR_MAX], got[128], ex[64];
	uint64_t n;
	int rc = k->type == CT_DURATION ? duration_parse(v, &n) : size_parse(v, &n);
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
	if (k->type == CT_SIZE32) {
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
	case CT_SIZE32: return cfg_set_number(P, k, ev, field);
	}
	return -EINVAL;
}

/* The value of leaf key i: must be a scalar. */
static int cfg_parse_value(struct cfg_parser *P, size_t i)
{
	const struct cfg_key *k = &cfg_keys[i];
	yaml_event_t ev;
	char ex[128];
	int rc = cfg_next(P, &ev);
	if (rc < 0)
		return rc;
	if (ev.type != YAML_SCALAR_EVENT)
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

static int cfg_unknown_key(struct cfg_parser *P, const char *prefix, const yaml_event_t *key)
{
	char names[256], got[128];
	char full[PATH_MAX_LEN + 2];
	section_children(prefix, names, sizeof names);
	snprintf(full, sizeof full, "%s%s", prefix, *prefix ? "." : "");
	/* got is the key quoted and escaped: splice the prefix in after its
	 * opening quote, so the message names the full dotted path. */
	cfg_quote((const char *)key->data.scalar.value, key->data.scalar.length, got, sizeof got);
	return cfg_error(P, key->start_mark, "unknown key \"%s%s (expected one of: %s)",
			 full, got + 1, names);
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
		case CT_SIZE32: memcpy(field, &v32, sizeof v32); break;
		case CT_ENUM: memcpy(field, &vi, sizeof vi); break;
		}
	}
}

int config_load(const char *path, struct config *c, char *err, size_t errlen)
{
	char dummy[1];
	struct cfg_parser P = { .file = path, .err = errlen ? err : dummy,
				.errlen = errlen ? errlen : sizeof dummy };
	unsigned char *buf = NULL;
	struct config tmp = *c;
	P.err[0] = '\0';
	int rc = cfg_read_file(path, &buf, &P.len, P.err, P.errlen);
	if (rc < 0)
		return rc;
	if (!yaml_parser_initialize(&P.yp)) {
		snprintf(P.err, P.errlen, "%s: out of memory", path);
		free(buf);
		return -ENOMEM;
	}
	P.buf = buf;
	P.cfg = &tmp;
	yaml_parser_set_input_string(&P.yp, buf, P.len);
	rc = cfg_parse_stream(&P);
	if (rc == 0)
		rc = cfg_check(&P);
	yaml_parser_delete(&P.yp);
	free(buf);
	if (rc == 0)
		*c = tmp;
	return rc;
}

/* A YAML double-quoted scalar: reads back byte for byte. */
static void dump_string(const char *s, FILE *out)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void dump_value(const struct cfg_key *k, const struct config *c, FILE *out)
{
	const char *field = (const char *)c + k->off;
	char buf[DURATION_STR_MAX];
	uint64_t v = 0;
	uint32_t v32;
	int vi;
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
	case CT_SIZE32: memcpy(&v32, field, sizeof v32); v = v32; break;
	case CT_DURATION:
	case CT_SIZE: memcpy(&v, field, sizeof v); break;
	}
	key_format(k, v, buf, sizeof buf);
	fputs(buf, out);
}

void config_dump(const struct config *c, FILE *out)
{
	const char *section = "";
	size_t section_len = 0;
	fputs("# rmond effective configuration\n", out);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		const char *dot = strrchr(k->path, '.');
		size_t len = dot ? (size_t)(dot - k->path) : 0;
		if (len != section_len || strncmp(k->path, section, len) != 0) {
			if (len)
				fprintf(out, "\n%.*s:\n", (int)len, k->path);
			section = k->path;
			section_len = len;
		}
		fprintf(out, "%s%s: ", len ? "  " : "", dot ? dot + 1 : k->path);
		dump_value(k, c, out);
		fputc('\n', out);
	}
}
