/*
 * Names of operations and error codes, generated from the X-macros in
 * proto.h so that the enum and the wire names cannot drift apart.
 */
#include <string.h>

#include "proto.h"

static const char *const proto_op_names[PROTO_OP__COUNT] = {
#define PROTO_OP_NAME(ID, name, help) [PROTO_OP_##ID] = name,
	PROTO_OPS(PROTO_OP_NAME)
#undef PROTO_OP_NAME
};

static const char *const proto_err_names[PROTO_ERR__COUNT] = {
	[PROTO_OK] = "ok",
#define PROTO_ERR_NAME(ID, name, help) [PROTO_ERR_##ID] = name,
	PROTO_ERRS(PROTO_ERR_NAME)
#undef PROTO_ERR_NAME
};

const char *proto_op_name(enum proto_op op)
{
	/* Compare as unsigned: an out-of-range value from a cast int may be
	 * negative. */
	if ((unsigned)op >= PROTO_OP__COUNT)
		return NULL;
	return proto_op_names[op];
}

/* Exact match on (name, len): name comes off the wire, so it is not
 * NUL-terminated and may contain NUL bytes. */
static int proto_find(const char *const *names, int count, int first,
                      const char *name, unsigned len)
{
	if (!name)
		return -1;
	for (int i = first; i < count; i++) {
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return i;
	}
	return -1;
}

int proto_op_find(const char *name, unsigned len)
{
	return proto_find(proto_op_names, PROTO_OP__COUNT, 0, name, len);
}

const char *proto_err_name(enum proto_err e)
{
	if ((unsigned)e >= PROTO_ERR__COUNT)
		return NULL;
	return proto_err_names[e];
}

int proto_err_find(const char *name, unsigned len)
{
	/* "ok" is not an error code on the wire: start after PROTO_OK. */
	return proto_find(proto_err_names, PROTO_ERR__COUNT, PROTO_OK + 1, name, len);
}
