/* Descriptor tables expanded from schema.def. */
#include "schema.h"

#include <string.h>

#define RM_FIELD_DESC(ID, n, t, u, h) { n, RM_##t, u, h },
static const struct rm_field system_fields[] = { RM_FIELDS_SYSTEM(RM_FIELD_DESC) };
static const struct rm_field cpu_fields[] = { RM_FIELDS_CPU(RM_FIELD_DESC) };
static const struct rm_field disk_fields[] = { RM_FIELDS_DISK(RM_FIELD_DESC) };
static const struct rm_field net_fields[] = { RM_FIELDS_NET(RM_FIELD_DESC) };
static const struct rm_field temp_fields[] = { RM_FIELDS_TEMP(RM_FIELD_DESC) };
static const struct rm_field proc_fields[] = { RM_FIELDS_PROC(RM_FIELD_DESC) };
static const struct rm_field thread_fields[] = { RM_FIELDS_THREAD(RM_FIELD_DESC) };
static const struct rm_field mark_fields[] = { RM_FIELDS_MARK(RM_FIELD_DESC) };
static const struct rm_field gpu_fields[] = { RM_FIELDS_GPU(RM_FIELD_DESC) };
static const struct rm_field egpu_fields[] = { RM_FIELDS_EGPU(RM_FIELD_DESC) };
static const struct rm_field event_fields[] = { RM_FIELDS_EVENT(RM_FIELD_DESC) };
#undef RM_FIELD_DESC

#define NELEM(a) (unsigned)(sizeof(a) / sizeof((a)[0]))

/* Each kind's field table is named after the kind: system_fields, ... */
#define RM_KIND_DESC(ID, n, keyed, help) \
	[RM_KIND_##ID] = { n, keyed, help, ID##_fields, NELEM(ID##_fields) },
#define SYSTEM_fields system_fields
#define CPU_fields cpu_fields
#define DISK_fields disk_fields
#define NET_fields net_fields
#define TEMP_fields temp_fields
#define PROC_fields proc_fields
#define THREAD_fields thread_fields
#define MARK_fields mark_fields
#define GPU_fields gpu_fields
#define EGPU_fields egpu_fields
#define EVENT_fields event_fields
const struct rm_kind_desc rm_kinds[RM_KIND__COUNT] = { RM_KINDS(RM_KIND_DESC) };
#undef RM_KIND_DESC

/* Every kind must fit the presence bitmap. */
_Static_assert(RM_SYS__COUNT <= RM_FIELDS_MAX, "system kind too wide");
_Static_assert(RM_CPU__COUNT <= RM_FIELDS_MAX, "cpu kind too wide");
_Static_assert(RM_DISK__COUNT <= RM_FIELDS_MAX, "disk kind too wide");
_Static_assert(RM_NET__COUNT <= RM_FIELDS_MAX, "net kind too wide");
_Static_assert(RM_TEMP__COUNT <= RM_FIELDS_MAX, "temp kind too wide");
_Static_assert(RM_PROC__COUNT <= RM_FIELDS_MAX, "proc kind too wide");
_Static_assert(RM_THREAD__COUNT <= RM_FIELDS_MAX, "thread kind too wide");
_Static_assert(RM_MARK__COUNT <= RM_FIELDS_MAX, "mark kind too wide");
_Static_assert(RM_GPU__COUNT <= RM_FIELDS_MAX, "gpu kind too wide");
_Static_assert(RM_EGPU__COUNT <= RM_FIELDS_MAX, "egpu kind too wide");
_Static_assert(RM_EVENT__COUNT <= RM_FIELDS_MAX, "event kind too wide");
_Static_assert(offsetof(struct rm_rec, ts_ns) == 0, "ring relies on ts first");

const char *schema_type_name(enum rm_type t)
{
	static const char *const names[] = { "u64", "f64", "char" };
	return names[t];
}

size_t schema_rec_size(enum rm_kind kind)
{
	return offsetof(struct rm_rec, v) + rm_kinds[kind].nfields * sizeof(double);
}

int schema_kind_find(const char *name, size_t len)
{
	for (int k = 0; k < RM_KIND__COUNT; k++)
		if (strlen(rm_kinds[k].name) == len && memcmp(rm_kinds[k].name, name, len) == 0)
			return k;
	return -1;
}

int schema_field_find(enum rm_kind kind, const char *name, size_t len)
{
	const struct rm_kind_desc *kd = &rm_kinds[kind];
	for (unsigned i = 0; i < kd->nfields; i++)
		if (strlen(kd->fields[i].name) == len && memcmp(kd->fields[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	while (n--) {
		h ^= *s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t schema_hash(void)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (int k = 0; k < RM_KIND__COUNT; k++) {
		const struct rm_kind_desc *kd = &rm_kinds[k];
		uint64_t size = schema_rec_size((enum rm_kind)k);
		h = fnv1a(h, kd->name, strlen(kd->name) + 1);
		h = fnv1a(h, &size, sizeof size);
		for (unsigned i = 0; i < kd->nfields; i++) {
			h = fnv1a(h, kd->fields[i].name, strlen(kd->fields[i].name) + 1);
			h = fnv1a(h, &kd->fields[i].type, sizeof kd->fields[i].type);
		}
	}
	return h;
}

/* The whole record is zeroed, absent values included: records go to a
 * file that other users may read, and stack garbage must never reach it. */
void rec_init(struct rm_rec *r, uint64_t ts_ns, const char *key)
{
	memset(r, 0, sizeof *r);
	r->ts_ns = ts_ns;
	if (key) {
		size_t n = strlen(key);
		if (n >= sizeof r->key)
			n = sizeof r->key - 1;
		memcpy(r->key, key, n);
	}
}

void rec_set_label(struct rm_rec *r, const char *label, size_t len)
{
	if (len >= sizeof r->label)
		len = sizeof r->label - 1;
	memcpy(r->label, label, len);
	r->label[len] = '\0';
}
