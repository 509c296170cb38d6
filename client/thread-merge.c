#include "thread-merge.h"

#include <stdlib.h>
#include <string.h>

#include "msg.h"

#define KEY_MAX 48

struct entry {
	char key[KEY_MAX];           /* "pid/tid" */
	uint64_t pid;
	double cpu;                  /* cpu_pct, -1 without one: sorts last */
	char *buf;                   /* the record, packed */
	size_t len;
};

struct thread_merge {
	struct entry *e;             /* sorted by key */
	size_t n, cap;
	msgpack_sbuffer out;
	msgpack_unpacked result;
};

struct thread_merge *thread_merge_new(void)
{
	struct thread_merge *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	msgpack_sbuffer_init(&m->out);
	msgpack_unpacked_init(&m->result);
	return m;
}

void thread_merge_free(struct thread_merge *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->e[i].buf);
	free(m->e);
	msgpack_sbuffer_destroy(&m->out);
	msgpack_unpacked_destroy(&m->result);
	free(m);
}

/* The index of key, or where it would go (*found 0). */
static size_t find(const struct thread_merge *m, const char *key, int *found)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->e[mid].key, key);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

static void drop(struct thread_merge *m, size_t i)
{
	free(m->e[i].buf);
	memmove(&m->e[i], &m->e[i + 1], (m->n - i - 1) * sizeof *m->e);
	m->n--;
}

/* Keep rec as the newest of its thread (or forget the thread: state 'X'). */
static void update(struct thread_merge *m, const msgpack_object *rec)
{
	struct entry ne = { .cpu = -1 };
	uint64_t state = 0;
	if (!msg_get_str(rec, "key", ne.key, sizeof ne.key))
		return;
	(void)msg_get_u64(rec, "pid", &ne.pid);
	(void)msg_get_f64(rec, "cpu_pct", &ne.cpu);
	int found;
	size_t at = find(m, ne.key, &found);
	if (msg_get_u64(rec, "state", &state) && state == 'X') {
		if (found)
			drop(m, at);
		return;
	}
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (msgpack_pack_object(&pk, *rec) != 0 || !sb.data) {
		msgpack_sbuffer_destroy(&sb);
		return;
	}
	ne.buf = sb.data;
	ne.len = sb.size;
	if (found) {
		free(m->e[at].buf);
		m->e[at] = ne;
		return;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct entry *e = realloc(m->e, cap * sizeof *e);
		if (!e) {
			free(ne.buf);
			return;
		}
		m->e = e;
		m->cap = cap;
	}
	memmove(&m->e[at + 1], &m->e[at], (m->n - at) * sizeof *m->e);
	m->e[at] = ne;
	m->n++;
}

void thread_merge_forget_pid(struct thread_merge *m, uint64_t pid)
{
	for (size_t i = m->n; i-- > 0;)
		if (m->e[i].pid == pid)
			drop(m, i);
}

static int cmp_cpu_desc(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;
	if (x->cpu != y->cpu)
		return (x->cpu < y->cpu) - (x->cpu > y->cpu);
	return strcmp(x->key, y->key);
}

const msgpack_object *thread_merge_sample(struct thread_merge *m, const msgpack_object *sample)
{
	const msgpack_object *th = msg_get_array(sample, "threads");
	if (!th)
		return sample;
	for (uint32_t i = 0; i < th->via.array.size; i++)
		if (th->via.array.ptr[i].type == MSGPACK_OBJECT_MAP)
			update(m, &th->via.array.ptr[i]);
	const struct entry **order = malloc((m->n ? m->n : 1) * sizeof *order);
	if (!order)
		return sample;
	for (size_t i = 0; i < m->n; i++)
		order[i] = &m->e[i];
	qsort(order, m->n, sizeof *order, cmp_cpu_desc);

	msgpack_packer pk;
	msgpack_sbuffer_clear(&m->out);
	msgpack_packer_init(&pk, &m->out, msgpack_sbuffer_write);
	const msgpack_object_map *map = &sample->via.map;
	msgpack_pack_map(&pk, map->size);
	for (uint32_t i = 0; i < map->size; i++) {
		const msgpack_object_kv *kv = &map->ptr[i];
		msgpack_pack_object(&pk, kv->key);
		if (!msg_str_eq(&kv->key, "threads")) {
			msgpack_pack_object(&pk, kv->val);
			continue;
		}
		msgpack_pack_array(&pk, (uint32_t)m->n);
		for (size_t j = 0; j < m->n; j++)
			msgpack_sbuffer_write(&m->out, order[j]->buf, order[j]->len);
	}
	free(order);
	size_t off = 0;
	if (msgpack_unpack_next(&m->result, m->out.data, m->out.size, &off) != MSGPACK_UNPACK_SUCCESS)
		return sample;
	return &m->result.data;
}
