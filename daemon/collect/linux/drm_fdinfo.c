/*
 * The DRM fdinfo parser and the engine busy share (drm_fdinfo.h).  Bounded
 * scanners over the buffer (readfile.h), no sscanf: a hostile or truncated
 * file gives skipped lines, never a crash or a half-read number.
 */
#include "drm_fdinfo.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "readfile.h"

/* The keys we use; the order matters where one prefix starts another
 * ("drm-engine-capacity-" before "drm-engine-", "drm-total-cycles-"
 * before "drm-total-"). */
enum key_kind {
	K_DRIVER, K_PDEV, K_CLIENT_ID,
	K_CAPACITY, K_ENGINE, K_TOTAL_CYCLES, K_CYCLES,
	K_MEMORY, K_TOTAL, K_RESIDENT,
};

static const struct {
	const char *s;
	unsigned char len;
	unsigned char kind;
	bool prefix;       /* a name follows */
} keys[] = {
#define KEY(str, kind, prefix) { str, (unsigned char)(sizeof(str) - 1), kind, prefix }
	KEY("drm-driver", K_DRIVER, false),
	KEY("drm-pdev", K_PDEV, false),
	KEY("drm-client-id", K_CLIENT_ID, false),
	KEY("drm-engine-capacity-", K_CAPACITY, true),
	KEY("drm-engine-", K_ENGINE, true),
	KEY("drm-total-cycles-", K_TOTAL_CYCLES, true),
	KEY("drm-cycles-", K_CYCLES, true),
	KEY("drm-memory-", K_MEMORY, true),
	KEY("drm-total-", K_TOTAL, true),
	KEY("drm-resident-", K_RESIDENT, true),
#undef KEY
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* A number, then an optional unit word, then only blanks to le.  The unit
 * is [*u, *u + *ulen), empty when there is none. */
static bool read_num(const char *p, const char *le, uint64_t *v, const char **u, size_t *ulen)
{
	const char *q = scan_u64(scan_blank(p, le), le, v);
	if (!q || (q < le && !is_blank(*q)))
		return false;
	q = scan_blank(q, le);
	*u = q;
	while (q < le && !is_blank(*q))
		q++;
	*ulen = (size_t)(q - *u);
	return scan_blank(q, le) == le;
}

static bool unit_is(const char *u, size_t ulen, const char *want)
{
	return ulen == strlen(want) && memcmp(u, want, ulen) == 0;
}

/* A memory value: bytes, KiB or MiB (GiB too, should a driver print it). */
static bool read_bytes(const char *p, const char *le, uint64_t *bytes)
{
	const char *u;
	size_t ulen;
	uint64_t v, mul;
	if (!read_num(p, le, &v, &u, &ulen))
		return false;
	if (ulen == 0)
		mul = 1;
	else if (unit_is(u, ulen, "KiB"))
		mul = UINT64_C(1) << 10;
	else if (unit_is(u, ulen, "MiB"))
		mul = UINT64_C(1) << 20;
	else if (unit_is(u, ulen, "GiB"))
		mul = UINT64_C(1) << 30;
	else
		return false;
	*bytes = v > UINT64_MAX / mul ? UINT64_MAX : v * mul;
	return true;
}

/* One word (no blanks) filling the rest of the line, into buf. */
static bool read_word(const char *p, const char *le, char *buf, size_t cap)
{
	p = scan_blank(p, le);
	const char *e = p;
	while (e < le && !is_blank(*e))
		e++;
	size_t n = (size_t)(e - p);
	if (n == 0 || n >= cap || scan_blank(e, le) != le)
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return true;
}

static bool pdev_chars(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f') ||
		      *s == ':' || *s == '.'))
			return false;
	return true;
}

/* The entry called name[0..len) among v[0..*n), entries of esize bytes
 * that begin with their name; added zeroed when absent, NULL (and counted)
 * when the array is full. */
static void *named(void *v, unsigned *n, unsigned max, size_t esize, const char *name,
                   size_t len, unsigned *overflow)
{
	unsigned char *p = v;
	for (unsigned i = 0; i < *n; i++, p += esize)
		if (strnlen((const char *)p, DRM_NAME_MAX) == len && memcmp(p, name, len) == 0)
			return p;
	if (*n == max) {
		(*overflow)++;
		return NULL;
	}
	(*n)++;
	memset(p, 0, esize);
	memcpy(p, name, len);
	return p;
}

static_assert(offsetof(struct drm_engine, name) == 0, "named() needs the name first");
static_assert(offsetof(struct drm_region, name) == 0, "named() needs the name first");

static struct drm_engine *engine_get(struct drm_fdinfo *f, const char *name, size_t len)
{
	struct drm_engine *e = named(f->eng, &f->neng, DRM_ENGINES_MAX, sizeof *e, name, len,
	                             &f->overflow);
	if (e && !e->capacity)
		e->capacity = 1;   /* new: one engine unless drm-engine-capacity- says more */
	return e;
}

static struct drm_region *region_get(struct drm_fdinfo *f, const char *name, size_t len)
{
	return named(f->reg, &f->nreg, DRM_REGIONS_MAX, sizeof f->reg[0], name, len, &f->overflow);
}

/* An engine key's value: busy ns ("ns"), capacity, cycles (no unit). */
static bool engine_value(unsigned kind, const char *p, const char *le, uint64_t *v)
{
	const char *u;
	size_t ulen;
	if (!read_num(p, le, v, &u, &ulen))
		return false;
	if (kind == K_ENGINE)
		return unit_is(u, ulen, "ns");   /* old amdgpu printed "%": not a time */
	if (kind == K_CAPACITY)              /* "Zero capacity is not allowed." */
		return ulen == 0 && *v > 0 && *v <= UINT32_MAX;
	return ulen == 0;
}

static void engine_set(struct drm_engine *e, unsigned kind, uint64_t v)
{
	switch (kind) {
	case K_ENGINE:
		e->busy_ns = v;
		e->have |= DRM_ENG_BUSY;
		break;
	case K_CAPACITY:
		e->capacity = (uint32_t)v;
		break;
	case K_CYCLES:
		e->cycles = v;
		e->have |= DRM_ENG_CYCLES;
		break;
	default:   /* K_TOTAL_CYCLES */
		e->total_cycles = v;
		e->have |= DRM_ENG_TOTAL_CYCLES;
		break;
	}
}

static void region_set(struct drm_region *r, unsigned kind, uint64_t b)
{
	if (kind == K_MEMORY) {
		r->memory = b;
		r->have |= DRM_REG_MEMORY;
	} else if (kind == K_TOTAL) {
		r->total = b;
		r->have |= DRM_REG_TOTAL;
	} else {
		r->resident = b;
		r->have |= DRM_REG_RESIDENT;
	}
}

/* One key we use, its value at [p, le).  false when malformed. */
static bool apply(struct drm_fdinfo *f, unsigned kind, const char *name, size_t nlen,
                  const char *p, const char *le)
{
	switch (kind) {
	case K_DRIVER:
		if (!read_word(p, le, f->driver, sizeof f->driver))
			return false;
		f->have |= DRM_HAVE_DRIVER;
		return true;
	case K_PDEV:
		if (!read_word(p, le, f->pdev, sizeof f->pdev) || !pdev_chars(f->pdev)) {
			f->pdev[0] = '\0';
			return false;
		}
		f->have |= DRM_HAVE_PDEV;
		return true;
	case K_CLIENT_ID: {
		const char *u;
		size_t ulen;
		if (!read_num(p, le, &f->client_id, &u, &ulen) || ulen)
			return false;
		f->have |= DRM_HAVE_CLIENT_ID;
		return true;
	}
	default:
		break;
	}
	uint64_t v;
	if (nlen == 0 || nlen >= DRM_NAME_MAX)
		return false;
	if (kind == K_MEMORY || kind == K_TOTAL || kind == K_RESIDENT) {
		if (!read_bytes(p, le, &v))
			return false;
		struct drm_region *r = region_get(f, name, nlen);
		if (r)
			region_set(r, kind, v);
		return true;
	}
	if (!engine_value(kind, p, le, &v))
		return false;
	struct drm_engine *e = engine_get(f, name, nlen);
	if (e)
		engine_set(e, kind, v);
	return true;
}

/* One line [ls, le). */
static void parse_line(struct drm_fdinfo *f, const char *ls, const char *le)
{
	if (le - ls < 4 || memcmp(ls, "drm-", 4) != 0)
		return;
	const char *colon = memchr(ls, ':', (size_t)(le - ls));
	if (!colon) {
		f->malformed++;
		return;
	}
	size_t klen = (size_t)(colon - ls);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		size_t n = keys[i].len;
		if (keys[i].prefix ? klen < n : klen != n)
			continue;
		if (memcmp(ls, keys[i].s, n) != 0)
			continue;
		const char *name = ls + n;
		size_t nlen = klen - n;
		for (size_t j = 0; j < nlen; j++)
			if (is_blank(name[j]) || (unsigned char)name[j] < 0x20) {
				f->malformed++;
				return;
			}
		if (!apply(f, keys[i].kind, name, nlen, colon + 1, le))
			f->malformed++;
		return;
	}
}

int drm_fdinfo_parse(const char *buf, size_t len, struct drm_fdinfo *f)
{
	const char *p = buf, *end = buf + len, *ls;
	memset(f, 0, sizeof *f);
	while (p < end) {
		const char *le = scan_line(&p, end, &ls);
		parse_line(f, ls, le);
	}
	return (f->have & DRM_HAVE_DRIVER) ? 0 : -ENOENT;
}

bool drm_fdinfo_mem(const struct drm_fdinfo *f, uint64_t *bytes)
{
	uint64_t sum = 0;
	bool any = false;
	for (unsigned i = 0; i < f->nreg; i++) {
		const struct drm_region *r = &f->reg[i];
		uint64_t v;
		if (r->have & DRM_REG_RESIDENT)
			v = r->resident;
		else if (r->have & DRM_REG_MEMORY)
			v = r->memory;
		else if (r->have & DRM_REG_TOTAL)
			v = r->total;
		else
			continue;
		sum = v > UINT64_MAX - sum ? UINT64_MAX : sum + v;
		any = true;
	}
	*bytes = sum;
	return any;
}

const struct drm_engine *drm_fdinfo_engine(const struct drm_fdinfo *f, const char *name)
{
	for (unsigned i = 0; i < f->neng; i++)
		if (strcmp(f->eng[i].name, name) == 0)
			return &f->eng[i];
	return NULL;
}

bool drm_engine_pct(const struct drm_engine *prev, const struct drm_engine *cur, uint64_t dt_ns,
                    double *pct)
{
	const uint32_t cyc = DRM_ENG_CYCLES | DRM_ENG_TOTAL_CYCLES;
	uint32_t both = prev->have & cur->have;
	double share;
	if ((both & cyc) == cyc) {
		if (cur->cycles < prev->cycles || cur->total_cycles <= prev->total_cycles)
			return false;
		share = (double)(cur->cycles - prev->cycles) /
		        (double)(cur->total_cycles - prev->total_cycles);
	} else if (both & DRM_ENG_BUSY) {
		if (cur->busy_ns < prev->busy_ns || dt_ns == 0)
			return false;
		share = (double)(cur->busy_ns - prev->busy_ns) / (double)dt_ns;
	} else {
		return false;
	}
	share = share * 100.0 / (double)(cur->capacity ? cur->capacity : 1);
	*pct = share > 100.0 ? 100.0 : share;
	return true;
}

static uint64_t keep_max(uint32_t bhave, uint32_t chave, uint32_t bit, uint64_t b, uint64_t c)
{
	if ((bhave & bit) && (chave & bit))
		return c > b ? c : b;
	return (chave & bit) ? c : b;
}

void drm_engine_advance(struct drm_engine *base, const struct drm_engine *cur)
{
	uint32_t bh = base->have, ch = cur->have;
	base->busy_ns = keep_max(bh, ch, DRM_ENG_BUSY, base->busy_ns, cur->busy_ns);
	base->cycles = keep_max(bh, ch, DRM_ENG_CYCLES, base->cycles, cur->cycles);
	base->total_cycles = keep_max(bh, ch, DRM_ENG_TOTAL_CYCLES, base->total_cycles,
	                              cur->total_cycles);
	base->capacity = cur->capacity;
	base->have = ch;
	memcpy(base->name, cur->name, sizeof base->name);
}
