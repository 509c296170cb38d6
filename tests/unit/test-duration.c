/* Durations and sizes: what people write, and what must be refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "duration.h"

#define NS_S   UINT64_C(1000000000)
#define NS_MIN (60 * NS_S)
#define NS_H   (60 * NS_MIN)
#define NS_D   (24 * NS_H)

struct dcase {
	const char *in;
	uint64_t ns;
};

static void test_duration_good(void **state)
{
	static const struct dcase cases[] = {
		{ "0", 0 }, { "0s", 0 }, { "10", 10 * NS_S }, { "1ns", 1 },
		{ "250ms", 250000000 }, { "10s", 10 * NS_S }, { "5m", 5 * NS_MIN },
		{ "2h", 2 * NS_H }, { "2d", 2 * NS_D }, { "1h30m", NS_H + 30 * NS_MIN },
		{ "1m30s", 90 * NS_S }, { "1s500ms", 1500000000 }, { "1.5s", 1500000000 },
		{ "0.5h", 30 * NS_MIN }, { "1.5", 1500000000 }, { "3us", 3000 },
		{ "3\xc2\xb5s", 3000 }, { "1d2h3m4s5ms6us7ns", NS_D + 2 * NS_H + 3 * NS_MIN + 4 * NS_S + 5006007 },
		{ "0.0000000019s", 1 }, /* digits past nanoseconds are cut */
		{ "18446744073709551615ns", UINT64_MAX },
		{ "30m1h", NS_H + 30 * NS_MIN },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t ns = 42;
		int rc = duration_parse(cases[i].in, &ns);
		if (rc != 0 || ns != cases[i].ns)
			fail_msg("duration_parse(\"%s\") = %d, %llu; want %llu", cases[i].in, rc,
				 (unsigned long long)ns, (unsigned long long)cases[i].ns);
	}
}

static void test_duration_bad(void **state)
{
	static const char *const bad[] = {
		"", "s", "ms", "-1s", "+1s", "1x", "1 s", " 1s", "1s ", "1h30", "1.s", ".5s",
		"1..5s", "1e3s", "1S", "1M", "lots", "1s-", "0x10s", "1sec",
		"18446744073709551616ns", "18446744073709551615ns1ns", "213504d", "1h\n",
		"99999999999999999999999s",
	};
	(void)state;
	assert_int_equal(duration_parse(NULL, &(uint64_t){ 0 }), -EINVAL);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t ns = 42;
		int rc = duration_parse(bad[i], &ns);
		if (rc != -EINVAL || ns != 42)
			fail_msg("duration_parse(\"%s\") = %d, want -EINVAL, untouched", bad[i], rc);
	}
}

static void test_duration_format(void **state)
{
	static const struct { uint64_t ns; const char *out; } cases[] = {
		{ 0, "0s" }, { 1, "1ns" }, { 250000000, "250ms" }, { 10 * NS_S, "10s" },
		{ NS_H + 30 * NS_MIN, "1h30m" }, { 90 * NS_S, "1m30s" }, { NS_D, "1d" },
		{ 1500000000, "1s500ms" }, { 3000, "3us" }, { NS_D + 1, "1d1ns" },
		{ UINT64_MAX, "213503d23h34m33s709ms551us615ns" },
	};
	char buf[DURATION_STR_MAX];
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t back = 0;
		duration_format(cases[i].ns, buf, sizeof buf);
		assert_string_equal(buf, cases[i].out);
		assert_int_equal(duration_parse(buf, &back), 0);
		assert_true(back == cases[i].ns);
	}
	duration_format(NS_H + 30 * NS_MIN, buf, 4);   /* cut, terminated */
	assert_true(strlen(buf) < 4);
	buf[0] = 'x';
	duration_format(1, buf, 0);                    /* writes nothing */
	assert_int_equal(buf[0], 'x');
}

static void test_size_good(void **state)
{
	static const struct { const char *in; uint64_t b; } cases[] = {
		{ "0", 0 }, { "4096", 4096 }, { "100B", 100 }, { "1k", 1024 }, { "1K", 1024 },
		{ "4KiB", 4096 }, { "4KB", 4096 }, { "512M", 512ull << 20 }, { "64MiB", 64ull << 20 },
		{ "64mib", 64ull << 20 }, { "1G", 1ull << 30 }, { "1GiB", 1ull << 30 },
		{ "1.5G", 3ull << 29 }, { "2T", 2ull << 40 }, { "0.5KiB", 512 },
		{ "18446744073709551615", UINT64_MAX },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t b = 42;
		int rc = size_parse(cases[i].in, &b);
		if (rc != 0 || b != cases[i].b)
			fail_msg("size_parse(\"%s\") = %d, %llu", cases[i].in, rc, (unsigned long long)b);
	}
}

static void test_size_bad(void **state)
{
	static const char *const bad[] = {
		"", "M", "lots", "-1M", "1 M", " 1M", "1M ", "1X", "1MiBB", "1Mi", "1e6",
		"1.M", "16777216T", "18446744073709551616", "1P", "64MiB\n",
	};
	(void)state;
	assert_int_equal(size_parse(NULL, &(uint64_t){ 0 }), -EINVAL);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t b = 42;
		int rc = size_parse(bad[i], &b);
		if (rc != -EINVAL || b != 42)
			fail_msg("size_parse(\"%s\") = %d, want -EINVAL, untouched", bad[i], rc);
	}
}

static void test_size_format(void **state)
{
	static const struct { uint64_t b; const char *out; } cases[] = {
		{ 0, "0B" }, { 1000, "1000B" }, { 4096, "4KiB" }, { 128ull << 20, "128MiB" },
		{ 1ull << 30, "1GiB" }, { 3ull << 29, "1536MiB" }, { 5ull << 40, "5TiB" },
		{ UINT64_MAX, "18446744073709551615B" },
	};
	char buf[DURATION_STR_MAX];
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t back = 0;
		size_format(cases[i].b, buf, sizeof buf);
		assert_string_equal(buf, cases[i].out);
		assert_int_equal(size_parse(buf, &back), 0);
		assert_true(back == cases[i].b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_good),
		cmocka_unit_test(test_duration_bad),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_size_good),
		cmocka_unit_test(test_size_bad),
		cmocka_unit_test(test_size_format),
	};
	return cmocka_run_group_tests_name("duration", tests, NULL, NULL);
}
