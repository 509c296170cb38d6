/*
 * Record kinds and their fields, derived from schema.def.
 *
 * Every record is a struct rm_rec: a timestamp, a presence bitmap, an
 * instance key and up to RM_FIELDS_MAX values stored as doubles.  A field
 * whose bit in `present` is clear has no reading (a missing source, or the
 * first sample of a rate) and must never be shown as zero.
 */
#ifndef RMON_SCHEMA_H
#define RMON_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "schema.def"

#define RM_KEY_MAX 32    /* instance key incl. NUL: "3", "all", "eth0" */
#define RM_LABEL_MAX 64  /* comm, thread name, mark text (kernel names reach 63) */
#define RM_FIELDS_MAX 64 /* fits the presence bitmap */

enum rm_kind {
#define RM_KIND_ENUM(ID, name, keyed, help) RM_KIND_##ID,
	RM_KINDS(RM_KIND_ENUM)
#undef RM_KIND_ENUM
	RM_KIND__COUNT
};

enum rm_system_field {
#define RM_F_SYS(ID, n, t, u, h) RM_SYS_##ID,
	RM_FIELDS_SYSTEM(RM_F_SYS)
#undef RM_F_SYS
	RM_SYS__COUNT };
enum rm_cpu_field {
#define RM_F_CPU(ID, n, t, u, h) RM_CPU_##ID,
	RM_FIELDS_CPU(RM_F_CPU)
#undef RM_F_CPU
	RM_CPU__COUNT };
enum rm_disk_field {
#define RM_F_DISK(ID, n, t, u, h) RM_DISK_##ID,
	RM_FIELDS_DISK(RM_F_DISK)
#undef RM_F_DISK
	RM_DISK__COUNT };
enum rm_net_field {
#define RM_F_NET(ID, n, t, u, h) RM_NET_##ID,
	RM_FIELDS_NET(RM_F_NET)
#undef RM_F_NET
	RM_NET__COUNT };
enum rm_proc_field {
#define RM_F_PROC(ID, n, t, u, h) RM_PROC_##ID,
	RM_FIELDS_PROC(RM_F_PROC)
#undef RM_F_PROC
	RM_PROC__COUNT };
enum rm_thread_field {
#define RM_F_THREAD(ID, n, t, u, h) RM_THREAD_##ID,
	RM_FIELDS_THREAD(RM_F_THREAD)
#undef RM_F_THREAD
	RM_THREAD__COUNT };
enum rm_mark_field {
#define RM_F_MARK(ID, n, t, u, h) RM_MARK_##ID,
	RM_FIELDS_MARK(RM_F_MARK)
#undef RM_F_MARK
	RM_MARK__COUNT };
enum rm_gpu_field {
#define RM_F_GPU(ID, n, t, u, h) RM_GPU_##ID,
	RM_FIELDS_GPU(RM_F_GPU)
#undef RM_F_GPU
	RM_GPU__COUNT };
enum rm_egpu_field {
#define RM_F_EGPU(ID, n, t, u, h) RM_EGPU_##ID,
	RM_FIELDS_EGPU(RM_F_EGPU)
#undef RM_F_EGPU
	RM_EGPU__COUNT };
enum rm_event_field {
#define RM_F_EVENT(ID, n, t, u, h) RM_EVENT_##ID,
	RM_FIELDS_EVENT(RM_F_EVENT)
#undef RM_F_EVENT
	RM_EVENT__COUNT };
enum rm_temp_field {
#define RM_F_TEMP(ID, n, t, u, h) RM_TEMP_##ID,
	RM_FIELDS_TEMP(RM_F_TEMP)
#undef RM_F_TEMP
	RM_TEMP__COUNT };

enum rm_type { RM_U64, RM_F64, RM_CHAR };

struct rm_field {
	const char *name;
	enum rm_type type;
	const char *unit;
	const char *help;
};

struct rm_kind_desc {
	const char *name;
	int keyed; /* 0: one record per tick (system); 1: one per instance */
	const char *help;
	const struct rm_field *fields;
	unsigned nfields;
};

/* The record as stored in the ring.  Only the first nfields values of a
 * kind are stored (schema_rec_size), so a small kind costs little. */
struct rm_rec {
	uint64_t ts_ns;        /* CLOCK_REALTIME, ns; must stay first */
	uint64_t present;      /* bit i set: v[i] is a reading */
	char key[RM_KEY_MAX];  /* instance key, "" for unkeyed kinds */
	char label[RM_LABEL_MAX]; /* a name that is not a number: comm, mark text; or "" */
	double v[RM_FIELDS_MAX];
};

extern const struct rm_kind_desc rm_kinds[RM_KIND__COUNT];

/* "u64", "f64", "char" */
const char *schema_type_name(enum rm_type t);

/* Bytes of a stored record of this kind (header + its values). */
size_t schema_rec_size(enum rm_kind kind);

/* Kind by name ("cpu"), or -1. */
int schema_kind_find(const char *name, size_t len);

/* Field index within a kind by name ("busy_pct"), or -1. */
int schema_field_find(enum rm_kind kind, const char *name, size_t len);

/* A hash of every kind, field name, type and record size: the ring file
 * stores it and refuses a file written under another schema. */
uint64_t schema_hash(void);

/* Record helpers: clear (ts, key, presence), set a value, test one. */
void rec_init(struct rm_rec *r, uint64_t ts_ns, const char *key);
void rec_set_label(struct rm_rec *r, const char *label, size_t len);
static inline void rec_set(struct rm_rec *r, int field, double v)
{
	r->v[field] = v;
	r->present |= (uint64_t)1 << field;
}
static inline int rec_has(const struct rm_rec *r, int field)
{
	return (int)((r->present >> field) & 1u);
}

#endif
