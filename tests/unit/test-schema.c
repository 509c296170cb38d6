/* The schema table and what derives from it: names, sizes, hash, selectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "schema.h"
#include "selector.h"

static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

static void test_names_unique_and_valid(void **state)
{
	(void)state;
	for (int k = 0; k < RM_KIND__COUNT; k++) {
		const struct rm_kind_desc *kd = &rm_kinds[k];
		assert_true(valid_name(kd->name));
		assert_true(kd->nfields > 0 && kd->nfields <= RM_FIELDS_MAX);
		assert_true(strlen(kd->help) > 0);
		for (int j = 0; j < k; j++)
			assert_string_not_equal(kd->name, rm_kinds[j].name);
		for (unsigned i = 0; i < kd->nfields; i++) {
			assert_true(valid_name(kd->fields[i].name));
			assert_true(strlen(kd->fields[i].help) > 0);
			assert_non_null(kd->fields[i].unit);
			for (unsigned j = 0; j < i; j++)
				assert_string_not_equal(kd->fields[i].name, kd->fields[j].name);
			assert_int_equal(schema_field_find((enum rm_kind)k, kd->fields[i].name,
			                                   strlen(kd->fields[i].name)), (int)i);
		}
		assert_int_equal(schema_kind_find(kd->name, strlen(kd->name)), k);
	}
	assert_int_equal(schema_kind_find("nope", 4), -1);
	assert_int_equal(schema_field_find(RM_KIND_CPU, "nope", 4), -1);
}

static void test_enums_match_table(void **state)
{
	(void)state;
	assert_int_equal(rm_kinds[RM_KIND_SYSTEM].nfields, RM_SYS__COUNT);
	assert_int_equal(rm_kinds[RM_KIND_CPU].nfields, RM_CPU__COUNT);
	assert_string_equal(rm_kinds[RM_KIND_SYSTEM].fields[RM_SYS_LOAD1].name, "load1");
	assert_string_equal(rm_kinds[RM_KIND_CPU].fields[RM_CPU_BUSY].name, "busy_pct");
	assert_string_equal(rm_kinds[RM_KIND_NET].fields[RM_NET_RX_BPS].name, "rx_bps");
	assert_string_equal(rm_kinds[RM_KIND_NET].fields[RM_NET_RX_BPS].unit, "B/s");
}

static void test_rec_size_and_hash(void **state)
{
	(void)state;
	assert_int_equal(schema_rec_size(RM_KIND_CPU),
	                 offsetof(struct rm_rec, v) + RM_CPU__COUNT * sizeof(double));
	assert_true(schema_rec_size(RM_KIND_SYSTEM) <= sizeof(struct rm_rec));
	assert_true(schema_hash() == schema_hash());
	assert_true(schema_hash() != 0);
}

static void test_rec_presence(void **state)
{
	struct rm_rec r;
	(void)state;
	rec_init(&r, 42, "a-key-that-is-far-too-long-for-the-record-key-field");
	assert_int_equal(r.ts_ns, 42);
	assert_int_equal(strlen(r.key), RM_KEY_MAX - 1);
	assert_false(rec_has(&r, 3));
	rec_set(&r, 3, 0.0);
	assert_true(rec_has(&r, 3));
	assert_false(rec_has(&r, 2));
}

static void test_selectors(void **state)
{
	struct selector s;
	char err[256], name[128];
	(void)state;
	assert_int_equal(selector_parse("system.load1", &s, err, sizeof err), 0);
	assert_int_equal(s.kind, RM_KIND_SYSTEM);
	assert_int_equal(s.field, RM_SYS_LOAD1);

	assert_int_equal(selector_parse("cpu:3.busy_pct", &s, err, sizeof err), 0);
	assert_string_equal(s.key, "3");
	assert_false(s.key_any);
	assert_true(selector_match_key(&s, "3"));
	assert_false(selector_match_key(&s, "30"));

	/* split at the last dot, first colon: keys may hold dots */
	assert_int_equal(selector_parse("net:eth0.100.rx_bps", &s, err, sizeof err), 0);
	assert_string_equal(s.key, "eth0.100");
	assert_int_equal(s.field, RM_NET_RX_BPS);

	assert_int_equal(selector_parse("net:*.*", &s, err, sizeof err), 0);
	assert_true(s.key_any);
	assert_int_equal(s.field, -1);

	/* a trailing * in a key: a prefix */
	assert_int_equal(selector_parse("thread:1234/*.cpu_pct", &s, err, sizeof err), 0);
	assert_true(s.key_prefix);
	assert_true(selector_match_key(&s, "1234/1240"));
	assert_false(selector_match_key(&s, "12345/1"));
	assert_int_equal(selector_parse("thread:1*4/*.cpu_pct", &s, err, sizeof err), -1);

	selector_name(RM_KIND_NET, "eth0.100", RM_NET_TX_BPS, name, sizeof name);
	assert_string_equal(name, "net:eth0.100.tx_bps");
	selector_name(RM_KIND_SYSTEM, "", RM_SYS_LOAD5, name, sizeof name);
	assert_string_equal(name, "system.load5");

	const char *bad[] = { "", "system", "system.", ".load1", "nokind.x", "system:1.load1",
	                      "cpu:0.nofield", "cpu:.busy_pct" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(selector_parse(bad[i], &s, err, sizeof err), -1);
		assert_true(strlen(err) > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_unique_and_valid),
		cmocka_unit_test(test_enums_match_table),
		cmocka_unit_test(test_rec_size_and_hash),
		cmocka_unit_test(test_rec_presence),
		cmocka_unit_test(test_selectors),
	};
	return cmocka_run_group_tests_name("schema", tests, NULL, NULL);
}
