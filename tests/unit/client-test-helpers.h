/*
 * Helpers shared by the client's unit tests: msgpack objects built by
 * packing (struct obj), and output captured in memory (struct mem).
 * Include after <cmocka.h>.
 */
#ifndef RMON_CLIENT_TEST_HELPERS_H
#define RMON_CLIENT_TEST_HELPERS_H

#include <stdio.h>

#include <msgpack.h>

struct obj {
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
};

static inline msgpack_packer *obj_begin(struct obj *o)
{
	msgpack_sbuffer_init(&o->sb);
	msgpack_packer_init(&o->pk, &o->sb, msgpack_sbuffer_write);
	msgpack_unpacked_init(&o->u);
	return &o->pk;
}

/* The packed object, unpacked (valid until obj_free). */
static inline const msgpack_object *obj_end(struct obj *o)
{
	size_t off = 0;
	assert_int_equal(msgpack_unpack_next(&o->u, o->sb.data, o->sb.size, &off),
			 MSGPACK_UNPACK_SUCCESS);
	return &o->u.data;
}

static inline void obj_free(struct obj *o)
{
	msgpack_unpacked_destroy(&o->u);
	msgpack_sbuffer_destroy(&o->sb);
}

struct mem {
	char *buf;
	size_t len;
	FILE *f;
};

static inline FILE *mem_open(struct mem *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
	return m->f;
}

/* The text written so far; free it with free(). */
static inline char *mem_close(struct mem *m)
{
	fclose(m->f);
	return m->buf;
}

#endif
