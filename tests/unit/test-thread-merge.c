/*
 * thread_merge: watch samples carry thread changes; the client keeps the
 * newest record of each thread and shows every live one, busiest first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "msg.h"
#include "thread-merge.h"

struct thr {
	unsigned pid, tid;
	double cpu;                  /* < 0: none */
	char state;
};

/* A sample {ts, procs: [], threads: [...]} unpacked into z. */
static msgpack_object sample(msgpack_zone *z, msgpack_sbuffer *sb, const struct thr *t, unsigned n)
{
	msgpack_packer pk;
	msgpack_sbuffer_clear(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	msg_pack_kv_u64(&pk, "ts", 1);
	msg_pack_str(&pk, "procs");
	msgpack_pack_array(&pk, 0);
	msg_pack_str(&pk, "threads");
	msgpack_pack_array(&pk, n);
	for (unsigned i = 0; i < n; i++) {
		char key[32];
		snprintf(key, sizeof key, "%u/%u", t[i].pid, t[i].tid);
		msgpack_pack_map(&pk, 4u + (t[i].cpu >= 0));
		msg_pack_kv_str(&pk, "key", key);
		msg_pack_kv_u64(&pk, "pid", t[i].pid);
		msg_pack_kv_u64(&pk, "tid", t[i].tid);
		msg_pack_kv_u64(&pk, "state", (unsigned char)t[i].state);
		if (t[i].cpu >= 0)
			msg_pack_kv_f64(&pk, "cpu_pct", t[i].cpu);
	}
	msgpack_object o;
	assert_int_equal(msgpack_unpack(sb->data, sb->size, NULL, z, &o), MSGPACK_UNPACK_SUCCESS);
	return o;
}

/* The merged sample's threads as "tid:cpu" joined by spaces. */
static void threads_of(const msgpack_object *s, char *out, size_t cap)
{
	const msgpack_object *th = msg_get_array(s, "threads");
	assert_non_null(th);
	out[0] = '\0';
	for (uint32_t i = 0; i < th->via.array.size; i++) {
		uint64_t tid = 0;
		double cpu = -1;
		assert_true(msg_get_u64(&th->via.array.ptr[i], "tid", &tid));
		(void)msg_get_f64(&th->via.array.ptr[i], "cpu_pct", &cpu);
		size_t l = strlen(out);
		snprintf(out + l, cap - l, "%s%u:%.0f", l ? " " : "", (unsigned)tid, cpu);
	}
}

static void test_merge(void **state)
{
	(void)state;
	msgpack_zone z;
	msgpack_sbuffer sb;
	char got[256];
	msgpack_zone_init(&z, 4096);
	msgpack_sbuffer_init(&sb);
	struct thread_merge *m = thread_merge_new();
	assert_non_null(m);

	/* first sample: every thread */
	const struct thr s1[] = { { 10, 10, 1, 'S' }, { 10, 11, 90, 'R' }, { 10, 12, 0, 'S' },
				  { 20, 20, 5, 'S' } };
	msgpack_object o = sample(&z, &sb, s1, 4);
	const msgpack_object *r = thread_merge_sample(m, &o);
	threads_of(r, got, sizeof got);
	assert_string_equal(got, "11:90 20:5 10:1 12:0");
	/* the other keys pass through */
	uint64_t ts;
	assert_true(msg_get_u64(r, "ts", &ts));
	assert_non_null(msg_get_array(r, "procs"));

	/* changes only: 12 got busy, 11 ended, 13 is new (no rate yet) */
	const struct thr s2[] = { { 10, 12, 70, 'R' }, { 10, 11, -1, 'X' }, { 10, 13, -1, 'S' } };
	o = sample(&z, &sb, s2, 3);
	threads_of(thread_merge_sample(m, &o), got, sizeof got);
	assert_string_equal(got, "12:70 20:5 10:1 13:-1");

	/* nothing changed: the same threads */
	o = sample(&z, &sb, NULL, 0);
	threads_of(thread_merge_sample(m, &o), got, sizeof got);
	assert_string_equal(got, "12:70 20:5 10:1 13:-1");

	/* process 10 exited */
	thread_merge_forget_pid(m, 10);
	o = sample(&z, &sb, NULL, 0);
	threads_of(thread_merge_sample(m, &o), got, sizeof got);
	assert_string_equal(got, "20:5");

	/* a sample without "threads" is passed as it is */
	msgpack_packer pk;
	msgpack_sbuffer_clear(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	msg_pack_kv_u64(&pk, "ts", 2);
	assert_int_equal(msgpack_unpack(sb.data, sb.size, NULL, &z, &o), MSGPACK_UNPACK_SUCCESS);
	assert_ptr_equal(thread_merge_sample(m, &o), &o);

	thread_merge_free(m);
	msgpack_sbuffer_destroy(&sb);
	msgpack_zone_destroy(&z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
