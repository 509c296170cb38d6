/* Keyed instances (disks, interfaces) in the order the kernel lists them. */
#include "linux.h"

#include <stdlib.h>
#include <string.h>

void instab_init(struct instab *t, size_t esize)
{
	memset(t, 0, sizeof *t);
	t->esize = esize;
}

void instab_free(struct instab *t)
{
	free(t->v);
	t->v = NULL;
	t->n = t->cap = t->hint = 0;
}

static struct inst *instab_at(const struct instab *t, unsigned i)
{
	return (struct inst *)(void *)(t->v + (size_t)i * t->esize);
}

static int instab_match(const struct inst *e, const char *name, size_t len)
{
	return memcmp(e->name, name, len) == 0 && e->name[len] == '\0';
}

static int instab_find(const struct instab *t, const char *name, size_t len)
{
	/* The likely slot first: the kernel keeps its order between ticks. */
	if (t->hint < t->n && instab_match(instab_at(t, t->hint), name, len))
		return (int)t->hint;
	for (unsigned i = 0; i < t->n; i++)
		if (instab_match(instab_at(t, i), name, len))
			return (int)i;
	return -1;
}

static struct inst *instab_add(struct instab *t, const char *name, size_t len)
{
	if (t->n == t->cap) {
		unsigned cap = t->cap ? t->cap * 2 : 8;
		unsigned char *v = realloc(t->v, (size_t)cap * t->esize);
		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	struct inst *e = instab_at(t, t->n++);
	memset(e, 0, t->esize);
	memcpy(e->name, name, len);
	return e;
}

void *instab_get(struct instab *t, const char *name, size_t len, uint32_t gen, int *fresh)
{
	if (len >= RM_KEY_MAX)
		len = RM_KEY_MAX - 1;
	int i = instab_find(t, name, len);
	struct inst *e;
	*fresh = i < 0;
	if (i < 0) {
		e = instab_add(t, name, len);
		if (!e)
			return NULL;
		i = (int)t->n - 1;
	} else {
		e = instab_at(t, (unsigned)i);
	}
	e->gen = gen;
	t->hint = (unsigned)i + 1;
	return e;
}

void instab_sweep(struct instab *t, uint32_t gen)
{
	unsigned keep = 0;
	for (unsigned i = 0; i < t->n; i++) {
		if (instab_at(t, i)->gen != gen)
			continue;
		if (keep != i)
			memcpy(instab_at(t, keep), instab_at(t, i), t->esize);
		keep++;
	}
	t->n = keep;
	t->hint = 0;
}
