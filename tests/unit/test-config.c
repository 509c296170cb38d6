/* rmond.yaml: defaults, a full file, and every kind of error with the
 * exact file:line:col it must name.  Each case writes its own temp file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"

#define MIB (UINT64_C(1) << 20)
#define MS  UINT64_C(1000000)
#define SEC (1000 * MS)

static char tmp_path[256];
static char err[1024];

/* Writes yaml (len bytes; -1 = strlen) to a fresh temp file and loads it. */
static int load_n(const char *yaml, ssize_t len, struct config *c)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(tmp_path, sizeof tmp_path, "%s/rmon-test-config-XXXXXX", dir);
	int fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	size_t n = len < 0 ? strlen(yaml) : (size_t)len;
	assert_int_equal(write(fd, yaml, n), (ssize_t)n);
	close(fd);
	memset(err, 'x', sizeof err);
	err[sizeof err - 1] = '\0';
	int rc = config_load(tmp_path, c, err, sizeof err);
	unlink(tmp_path);
	return rc;
}

static int load(const char *yaml, struct config *c)
{
	return load_n(yaml, -1, c);
}

/* err must be "<tmp_path><suffix>" (suffix starts with ":line:col: "). */
static void assert_err(const char *suffix)
{
	char want[1024];
	snprintf(want, sizeof want, "%s%s", tmp_path, suffix);
	assert_string_equal(err, want);
}

/* A load that fails must leave the config exactly as it was. */
static void expect_error(const char *yaml, const char *suffix)
{
	struct config c, before;
	config_defaults(&c);
	memcpy(&before, &c, sizeof c);
	assert_int_equal(load(yaml, &c), -EINVAL);
	assert_err(suffix);
	assert_memory_equal(&c, &before, sizeof c);
}

static void test_defaults(void **state)
{
	struct config c;
	(void)state;
	config_defaults(&c);
	assert_string_equal(c.socket, "");
	assert_string_equal(c.socket_group, "");
	assert_string_equal(c.state_dir, "");
	assert_string_equal(c.procfs, "/proc");
	assert_string_equal(c.sysfs, "/sys");
	assert_int_equal(c.ring_memory, CONFIG_RING_FILE);
	assert_true(c.ring_budget_bytes == 128 * MIB);
	assert_true(c.ring_retention_ns == 3600 * SEC);
	assert_true(c.system_interval_ns == 100 * MS);
	assert_int_equal(c.frame_max, 1 * MIB);
	assert_true(c.session_budget_bytes == 4 * MIB);
	assert_true(c.stuck_timeout_ns == 30 * SEC);
	assert_int_equal(c.log_level, LOG_LVL_INFO);
}

static const char full_yaml[] =
	"# every key, none at its default\n"
	"socket: /run/rmon/test.sock\n"
	"socket_group: 'adm'\n"
	"state_dir: \"/var/lib/rmon-test\"\n"
	"procfs: /host/proc\n"
	"sysfs: /host/sys\n"
	"ring:\n"
	"  mode: memory\n"
	"  budget: 64MiB\n"
	"  retention: 1h30m\n"
	"sampling: {system: 250ms}\n"
	"protocol:\n"
	"  frame_max: 512K\n"
	"  session_budget: 8M\n"
	"  stuck_timeout: 1m\n"
	"log:\n"
	"  level: warning\n";

static void test_full_file(void **state)
{
	struct config c;
	(void)state;
	config_defaults(&c);
	assert_int_equal(load(full_yaml, &c), 0);
	assert_string_equal(err, "");
	assert_string_equal(c.socket, "/run/rmon/test.sock");
	assert_string_equal(c.socket_group, "adm");
	assert_string_equal(c.state_dir, "/var/lib/rmon-test");
	assert_string_equal(c.procfs, "/host/proc");
	assert_string_equal(c.sysfs, "/host/sys");
	assert_int_equal(c.ring_memory, CONFIG_RING_MEMORY);
	assert_true(c.ring_budget_bytes == 64 * MIB);
	assert_true(c.ring_retention_ns == 5400 * SEC);
	assert_true(c.system_interval_ns == 250 * MS);
	assert_int_equal(c.frame_max, 512 * 1024);
	assert_true(c.session_budget_bytes == 8 * MIB);
	assert_true(c.stuck_timeout_ns == 60 * SEC);
	assert_int_equal(c.log_level, LOG_LVL_WARN);
}

/* Files that say nothing leave every default in place. */
static void test_empty_files(void **state)
{
	static const char *const empties[] = {
		"", "\n\n", "# only a comment\n  # and another\n", "---\n", "--- ~\n...\n",
		"ring:\nsampling: ~\nlog: null\n", "{}\n",
	};
	struct config c, def;
	(void)state;
	config_defaults(&def);
	for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
		config_defaults(&c);
		if (load(empties[i], &c) != 0)
			fail_msg("\"%s\": %s", empties[i], err);
		assert_memory_equal(&c, &def, sizeof c);
	}
}

/* config_load overlays: keys not in the file keep the caller's values. */
static void test_overlay(void **state)
{
	struct config c;
	(void)state;
	config_defaults(&c);
	strcpy(c.sysfs, "/elsewhere");
	assert_int_equal(load("procfs: /p\nsocket: ''\nsocket_group:\n", &c), 0);
	assert_string_equal(c.procfs, "/p");
	assert_string_equal(c.sysfs, "/elsewhere");
	assert_string_equal(c.socket_group, "");
}

static void test_unknown_keys(void **state)
{
	(void)state;
	expect_error("procfs: /p\nfoo: 1\n",
		     ":2:1: unknown key \"foo\" (expected one of: socket, socket_group, "
		     "state_dir, procfs, sysfs, ring, sampling, protocol, log)");
	expect_error("ring:\n  mode: file\n  budgte: 1G\n",
		     ":3:3: unknown key \"ring.budgte\" (expected one of: mode, budget, retention)");
	/* A dotted key is not a second spelling of a nested one. */
	expect_error("ring.budget: 1G\n",
		     ":1:1: unknown key \"ring.budget\" (expected one of: socket, socket_group, "
		     "state_dir, procfs, sysfs, ring, sampling, protocol, log)");
	expect_error("log:\n  \"le\\tvel\": info\n",
		     ":2:3: unknown key \"log.le\\x09vel\" (expected one of: level)");
	expect_error("? [a]\n: 1\n", ":1:3: keys must be names, got a list");
	expect_error("ring:\n  ? {a: 1}\n  : 1\n", ":2:5: ring: keys must be names, got a mapping");
}

static void test_wrong_types(void **state)
{
	(void)state;
	expect_error("procfs:\n  a: b\n", ":2:3: procfs: expected a string, got a mapping");
	expect_error("sampling:\n  system: [1s]\n",
		     ":2:11: sampling.system: expected a duration like 30s or 1h30m, got a list");
	expect_error("ring: 5\n",
		     ":1:7: ring: expected a mapping with keys mode, budget, retention, got a scalar");
	expect_error("log: [debug]\n",
		     ":1:6: log: expected a mapping with keys level, got a list");
	expect_error("- procfs\n", ":1:1: expected a mapping of keys, got a list");
	expect_error("just text\n", ":1:1: expected a mapping of keys, got a scalar");
	expect_error("procfs: &p /x\nsysfs: *p\n",
		     ":2:8: sysfs: expected a string, got an alias (aliases are not supported)");
}

static void test_bad_values(void **state)
{
	(void)state;
	/* Seven lines, the bad value on the last: line and column are exact. */
	expect_error("# rmond\n"
		     "socket: /run/rmon.sock\n"
		     "\n"
		     "ring:\n"
		     "  mode: file\n"
		     "  # the budget\n"
		     "  budget:  lots\n",
		     ":7:12: ring.budget: expected a size like 64MiB, got \"lots\"");
	expect_error("ring:\n  retention: 10 minutes\n",
		     ":2:14: ring.retention: expected a duration like 30s or 1h30m, "
		     "got \"10 minutes\"");
	expect_error("ring:\n  retention:\n",
		     ":2:13: ring.retention: expected a duration like 30s or 1h30m, got \"\"");
	expect_error("ring:\n  mode: disk\n",
		     ":2:9: ring.mode: expected one of file, memory, got \"disk\"");
	expect_error("log: {level: loud}\n",
		     ":1:14: log.level: expected one of error, warn, info, debug, got \"loud\"");
	expect_error("procfs: \"\"\n", ":1:9: procfs: must not be empty");
	expect_error("sysfs:\n", ":1:7: sysfs: must not be empty");
	expect_error("procfs: \"a\\0b\"\n", ":1:9: procfs: contains a NUL byte");
	char yaml[200] = "socket: /";
	memset(yaml + strlen(yaml), 'a', 127);   /* a 128-byte path */
	strcat(yaml, "\n");
	expect_error(yaml, ":1:9: socket: too long (128 bytes, at most 107)");
	expect_error("procfs: /a\nprocfs: /b\n", ":2:1: procfs: duplicate key");
	expect_error("ring: {mode: file}\nring: {budget: 1G}\n", ":2:1: ring: duplicate key");
}

static void test_out_of_range(void **state)
{
	(void)state;
	expect_error("ring:\n  budget: 512KiB\n",
		     ":2:11: ring.budget: 512KiB is below the minimum 1MiB");
	expect_error("ring:\n  budget: 65G\n",
		     ":2:11: ring.budget: 65GiB is above the maximum 64GiB");
	expect_error("ring:\n  retention: 9s\n",
		     ":2:14: ring.retention: 9s is below the minimum 10s");
	expect_error("sampling:\n  system: 5ms\n",
		     ":2:11: sampling.system: 5ms is below the minimum 10ms");
	expect_error("sampling:\n  system: 61s\n",
		     ":2:11: sampling.system: 1m1s is above the maximum 1m");
	expect_error("protocol:\n  frame_max: 128M\n",
		     ":2:14: protocol.frame_max: 128MiB is above the maximum 64MiB");
	/* Between keys: a session must be able to hold one whole frame. */
	expect_error("protocol:\n  frame_max: 8MiB\n",
		     ":2:14: protocol.session_budget (4MiB) must be at least "
		     "protocol.frame_max (8MiB)");
	expect_error("protocol:\n  frame_max: 8MiB\n  session_budget: 2MiB\n",
		     ":3:19: protocol.session_budget (2MiB) must be at least "
		     "protocol.frame_max (8MiB)");
}

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_error("ring: {mode: file\n",
		     ":2:1: syntax error: did not find expected ',' or '}' "
		     "(while parsing a flow mapping started at 1:7)");
	expect_error("procfs: /p\nring: {mode: file, budget: 1G]\n",
		     ":2:30: syntax error: did not find expected ',' or '}' "
		     "(while parsing a flow mapping started at 2:7)");
	expect_error("ring:\n  budget: 64MiB\n retention: 1h\n",
		     ":3:2: syntax error: did not find expected key "
		     "(while parsing a block mapping started at 1:1)");
	expect_error("procfs: \"/p\n",
		     ":2:1: syntax error: found unexpected end of stream "
		     "(while scanning a quoted scalar started at 1:9)");
	expect_error("procfs: /p\nsysfs: \"/s\xff\"\n",
		     ":2:11: syntax error: invalid leading UTF-8 octet (byte 0xFF)");
	expect_error("procfs: /x\n---\nsysfs: /y\n", ":2:1: only one YAML document is allowed");
}

static void test_missing_file(void **state)
{
	struct config c, before;
	(void)state;
	config_defaults(&c);
	before = c;
	assert_int_equal(config_load("/nonexistent/rmond.yaml", &c, err, sizeof err), -ENOENT);
	assert_string_equal(err, "/nonexistent/rmond.yaml: cannot open: No such file or directory");
	assert_memory_equal(&c, &before, sizeof c);
	assert_int_equal(config_load("/nonexistent/rmond.yaml", &c, NULL, 0), -ENOENT);
}

/* Good keys before the bad one must not leak into the caller's config. */
static void test_unchanged_after_error(void **state)
{
	struct config c, before;
	(void)state;
	config_defaults(&c);
	strcpy(c.state_dir, "/keep");
	memcpy(&before, &c, sizeof c);
	assert_int_equal(load("procfs: /changed\nring:\n  mode: memory\n  budget: lots\n", &c),
			 -EINVAL);
	assert_memory_equal(&c, &before, sizeof c);
	assert_int_equal(load("procfs: /changed\nlog: {level: debug\n", &c), -EINVAL);
	assert_memory_equal(&c, &before, sizeof c);
}

static char *dump_to_string(const struct config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	config_dump(c, f);
	fclose(f);
	return buf;
}

/* What config_dump writes, config_load reads back to the same values. */
static void test_dump_roundtrip(void **state)
{
	struct config c, back;
	(void)state;
	config_defaults(&c);
	assert_int_equal(load(full_yaml, &c), 0);
	strcpy(c.socket_group, "we\"ird\\\x01 \xc3\xa9");
	char *text = dump_to_string(&c);
	assert_non_null(strstr(text, "\nring:\n  mode: memory\n  budget: 64MiB\n"));
	config_defaults(&back);
	if (load(text, &back) != 0)
		fail_msg("%s\n%s", err, text);
	assert_string_equal(back.socket_group, c.socket_group);
	char *again = dump_to_string(&back);
	assert_string_equal(text, again);
	free(text);
	free(again);
}

/* etc/rmond.yaml lists every key at its default: loading it must change
 * nothing, so the example cannot drift from the code. */
static void test_example_file(void **state)
{
	const char *src = getenv("RMON_SRCDIR");   /* set by tests/run.sh */
	char path[4096];
	struct config c, def;
	(void)state;
	snprintf(path, sizeof path, "%s/etc/rmond.yaml", src ? src : ".");
	if (access(path, R_OK) != 0)
		skip();   /* not run from the source tree */
	config_defaults(&def);
	config_defaults(&c);
	if (config_load(path, &c, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_memory_equal(&c, &def, sizeof c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_empty_files),
		cmocka_unit_test(test_overlay),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_unchanged_after_error),
		cmocka_unit_test(test_dump_roundtrip),
		cmocka_unit_test(test_example_file),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
