/* rmond.yaml: defaults, a full file, and every kind of error with the
 * exact file:line:col it must name.  Each case writes its own temp file. */
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "classify.h"
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
	assert_true(c.procs_scan_interval_ns == 1 * SEC);
	assert_true(c.procs_tracked_interval_ns == 100 * MS);
	assert_true(c.procs_pss_interval_ns == 5 * SEC);
	assert_int_equal(c.procs_top_n, 5);
	assert_int_equal(c.procs_max_watches, 4096);
	assert_int_equal(c.procs_quiet_thread_pct, 1);
	assert_int_equal(c.access_ncmdline_uids, 0);
	assert_int_equal(c.access_nadmins, 0);
	assert_int_equal(c.nclassify, 0);
	assert_true(c.egpu_interval_ns == 1 * SEC);
	assert_int_equal(c.egpu_nstats_files, 0);
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
	"  level: warning\n"
	"procs:\n"
	"  scan_interval: 2s\n"
	"  tracked_interval: 250ms\n"
	"  pss_interval: 10s\n"
	"  top_n: 0\n"
	"  max_watches: 100\n"
	"  quiet_thread_pct: 0\n"
	"access:\n"
	"  cmdline_uids: [1000, 1001]\n"
	"  admins:\n"
	"    - 0\n"
	"    - 4294967294\n"
	"classify:\n"
	"  - name: gradle\n"
	"    match: {cmdline: '^([^ ]*/)?java .*org\\.gradle\\.'}\n"
	"    category: build/gradle\n"
	"  - {name: \"not cc1\", category: other, match: {exe: \"/opt/weird/cc1\"}}\n"
	"  -\n"
	"    category: \"ml/my-trainer\"\n"
	"    match:\n"
	"      comm: ^trainer$\n"
	"    name: trainer\n"
	"egpu:\n"
	"  interval: 500ms\n"
	"  stats_files:\n"
	"    - path: /sys/kernel/debug/acme_tb/0000:05:00.0/stats\n"
	"      gpu: 05:00.0\n"
	"    - {gpu: 2, path: \"/run/acme/1\"}\n";

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
	assert_true(c.procs_scan_interval_ns == 2 * SEC);
	assert_true(c.procs_tracked_interval_ns == 250 * MS);
	assert_true(c.procs_pss_interval_ns == 10 * SEC);
	assert_int_equal(c.procs_top_n, 0);
	assert_int_equal(c.procs_max_watches, 100);
	assert_int_equal(c.procs_quiet_thread_pct, 0);
	assert_int_equal(c.access_ncmdline_uids, 2);
	assert_int_equal(c.access_cmdline_uids[0], 1000);
	assert_int_equal(c.access_cmdline_uids[1], 1001);
	assert_int_equal(c.access_nadmins, 2);
	assert_int_equal(c.access_admins[0], 0);
	assert_int_equal(c.access_admins[1], 4294967294u);
	assert_true(config_uid_listed(c.access_cmdline_uids, c.access_ncmdline_uids, 1001));
	assert_false(config_uid_listed(c.access_cmdline_uids, c.access_ncmdline_uids, 0));
	assert_false(config_uid_listed(c.access_cmdline_uids, 1, 1001));
	assert_int_equal(c.nclassify, 3);
	const struct config_rule *r = c.classify;
	assert_string_equal(r[0].name, "gradle");
	assert_int_equal(r[0].field, CLASSIFY_CMDLINE);
	assert_string_equal(r[0].pattern, "^([^ ]*/)?java .*org\\.gradle\\.");
	assert_string_equal(r[0].category, "build/gradle");
	assert_int_equal(r[0].line, 31);
	assert_int_equal(r[0].col, 5);
	assert_string_equal(r[1].name, "not cc1");
	assert_int_equal(r[1].field, CLASSIFY_EXE);
	assert_string_equal(r[1].pattern, "/opt/weird/cc1");
	assert_string_equal(r[1].category, "other");
	assert_int_equal(r[1].line, 34);
	assert_int_equal(r[1].col, 5);
	assert_string_equal(r[2].name, "trainer");
	assert_int_equal(r[2].field, CLASSIFY_COMM);
	assert_string_equal(r[2].pattern, "^trainer$");
	assert_string_equal(r[2].category, "ml/my-trainer");
	assert_int_equal(r[2].line, 36);
	assert_int_equal(r[2].col, 5);
	assert_true(c.egpu_interval_ns == 500 * MS);
	assert_int_equal(c.egpu_nstats_files, 2);
	assert_string_equal(c.egpu_stats_files[0].path, "/sys/kernel/debug/acme_tb/0000:05:00.0/stats");
	assert_string_equal(c.egpu_stats_files[0].gpu_pci, "0000:05:00.0");   /* domain added */
	assert_int_equal(c.egpu_stats_files[0].gpu_index, -1);
	assert_int_equal(c.egpu_stats_files[0].line, 43);
	assert_string_equal(c.egpu_stats_files[1].path, "/run/acme/1");
	assert_string_equal(c.egpu_stats_files[1].gpu_pci, "");
	assert_int_equal(c.egpu_stats_files[1].gpu_index, 2);
}

/* egpu.stats_files: every way an entry can be wrong. */
static void test_stats_file_errors(void **state)
{
	(void)state;
	expect_error("egpu:\n  stats_files: /x\n",
		     ":2:16: egpu.stats_files: expected a list of {path, gpu} entries, got a scalar");
	expect_error("egpu:\n  stats_files: [/x]\n",
		     ":2:17: egpu.stats_files[0]: expected a mapping with keys path, gpu, got a scalar");
	expect_error("egpu:\n  stats_files: [{path: /x}]\n",
		     ":2:17: egpu.stats_files[0]: missing key \"gpu\"");
	expect_error("egpu:\n  stats_files: [{path: x, gpu: 0}]\n",
		     ":2:24: egpu.stats_files[0].path: must be an absolute path");
	expect_error("egpu:\n  stats_files: [{path: /x, gpu: 0, gpus: 1}]\n",
		     ":2:36: unknown key \"egpu.stats_files[0].gpus\" (expected one of: path, gpu)");
	expect_error("egpu:\n  stats_files: [{path: /x, path: /y, gpu: 0}]\n",
		     ":2:28: egpu.stats_files[0].path: duplicate key");
	expect_error("egpu:\n  stats_files: [{path: /x, gpu: 32}]\n",
		     ":2:33: egpu.stats_files[0].gpu: expected a PCI address like 0000:05:00.0 or an "
		     "egpu index below 32, got \"32\"");
	expect_error("egpu:\n  stats_files: [{path: /x, gpu: 0000:05:20.0}]\n",
		     ":2:33: egpu.stats_files[0].gpu: expected a PCI address like 0000:05:00.0 or an "
		     "egpu index below 32, got \"0000:05:20.0\"");
	expect_error("egpu:\n  stats_files: [{path: /x, gpu: \" 05:00.0\"}]\n",
		     ":2:33: egpu.stats_files[0].gpu: expected a PCI address like 0000:05:00.0 or an "
		     "egpu index below 32, got \" 05:00.0\"");
	expect_error("egpu:\n  stats_files:\n    - {path: /x, gpu: 0000:0A:00.0}\n"
		     "    - {path: /y, gpu: 0a:00.0}\n",
		     ":4:23: egpu.stats_files[1].gpu: that GPU already has a stats file "
		     "(egpu.stats_files[0], at 3:7)");
	char many[2048] = "egpu:\n  stats_files:\n";
	for (int i = 0; i <= 16; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many),
			 "    - {path: /x, gpu: %d}\n", i);
	expect_error(many, ":19:7: egpu.stats_files: more than 16 files");
	expect_error("egpu:\n  interval: 50ms\n",
		     ":2:13: egpu.interval: 50ms is below the minimum 100ms");
	expect_error("egpu:\n  interval: 61s\n",
		     ":2:13: egpu.interval: 1m1s is above the maximum 1m");
}

/* Loaded rules go into a classifier as they are, ahead of the defaults. */
static void test_rules_classify(void **state)
{
	struct config c;
	struct classifier cls;
	(void)state;
	config_defaults(&c);
	assert_int_equal(load(full_yaml, &c), 0);
	assert_int_equal(classifier_init(&cls), 0);
	for (unsigned i = 0; i < c.nclassify; i++) {
		const struct config_rule *r = &c.classify[i];
		const struct classify_spec spec = { r->name, r->category, r->field, r->pattern };
		if (classifier_add(&cls, &spec, err, sizeof err) != 0)
			fail_msg("rule %u: %s", i, err);
	}
	assert_string_equal(classify(&cls, "java", "", "/usr/lib/jvm/java-17/bin/java -Xmx2g "
				     "org.gradle.launcher.daemon.bootstrap.GradleDaemon 8.4"),
			    "build/gradle");
	assert_string_equal(classify(&cls, "cc1", "/opt/weird/cc1", "cc1"), "other");
	assert_string_equal(classify(&cls, "cc1", "/usr/lib/gcc/x86_64-linux-gnu/12/cc1", "cc1"),
			    "compile/cc1");
	assert_string_equal(classify(&cls, "trainer", "", ""), "ml/my-trainer");
	classifier_free(&cls);
}

/* config_load and classifier_add must agree on what a category is. */
static void test_categories_agree(void **state)
{
	static const char *const cats[] = {
		"a/b", "compile/c++", "x.y/z_1", "ml/py-torch", "other", "other/x",
		"compile", "Compile/x", "a/", "/b", "a/b/c", "a b/c", "others", "ml/\xc3\xa9",
	};
	char yaml[256];
	struct config c;
	struct classifier cls;
	(void)state;
	assert_int_equal(classifier_init(&cls), 0);
	for (size_t i = 0; i < sizeof cats / sizeof cats[0]; i++) {
		snprintf(yaml, sizeof yaml, "classify:\n  - {name: r%zu, match: {comm: x}, "
			 "category: \"%s\"}\n", i, cats[i]);
		config_defaults(&c);
		int by_config = load(yaml, &c);
		char name[16];
		snprintf(name, sizeof name, "r%zu", i);
		if (by_config == 0)
			assert_string_equal(c.classify[0].category, cats[i]);
		const struct classify_spec spec = { name, cats[i], CLASSIFY_COMM, "x" };
		int by_classifier = classifier_add(&cls, &spec, err, sizeof err);
		if ((by_config == 0) != (by_classifier == 0))
			fail_msg("category \"%s\": config says %d, classifier says %d", cats[i],
				 by_config, by_classifier);
	}
	classifier_free(&cls);
}

/* Files that say nothing leave every default in place. */
static void test_empty_files(void **state)
{
	static const char *const empties[] = {
		"", "\n\n", "# only a comment\n  # and another\n", "---\n", "--- ~\n...\n",
		"ring:\nsampling: ~\nlog: null\n", "{}\n",
		"classify:\nprocs:\naccess: {cmdline_uids: [], admins: ~}\n", "classify: []\n",
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

/* A list in the file replaces the caller's whole list; one not in the file
 * is kept; an emptied list is the same bytes as a fresh one. */
static void test_list_overlay(void **state)
{
	struct config c, def;
	(void)state;
	config_defaults(&def);
	config_defaults(&c);
	assert_int_equal(load("access: {cmdline_uids: [1, 2, 3], admins: [7]}\n"
			      "classify:\n  - {name: a, match: {comm: a}, category: a/a}\n"
			      "  - {name: b, match: {comm: b}, category: b/b}\n", &c), 0);
	assert_int_equal(c.access_ncmdline_uids, 3);
	assert_int_equal(c.nclassify, 2);
	assert_int_equal(load("access:\n  cmdline_uids: [9]\n"
			      "classify:\n  - {name: c, match: {exe: c}, category: c/c}\n", &c), 0);
	assert_int_equal(c.access_ncmdline_uids, 1);
	assert_int_equal(c.access_cmdline_uids[0], 9);
	assert_int_equal(c.access_cmdline_uids[1], 0);
	assert_int_equal(c.access_nadmins, 1);
	assert_int_equal(c.access_admins[0], 7);
	assert_int_equal(c.nclassify, 1);
	assert_string_equal(c.classify[0].name, "c");
	assert_string_equal(c.classify[1].name, "");
	assert_int_equal(load("procs: {top_n: 3}\n", &c), 0);
	assert_int_equal(c.nclassify, 1);
	assert_int_equal(load("access: {cmdline_uids: [], admins: ~}\nclassify:\nprocs: {top_n: 5}\n",
			      &c), 0);
	assert_memory_equal(&c, &def, sizeof c);
}

static void test_unknown_keys(void **state)
{
	(void)state;
	expect_error("procfs: /p\nfoo: 1\n",
		     ":2:1: unknown key \"foo\" (expected one of: socket, socket_group, "
		     "socket_mode, state_dir, procfs, sysfs, ring, sampling, procs, gpu, egpu, protocol, "
		     "prometheus, access, log, classify)");
	expect_error("ring:\n  mode: file\n  budgte: 1G\n",
		     ":3:3: unknown key \"ring.budgte\" (expected one of: mode, budget, retention)");
	/* A dotted key is not a second spelling of a nested one. */
	expect_error("ring.budget: 1G\n",
		     ":1:1: unknown key \"ring.budget\" (expected one of: socket, socket_group, "
		     "socket_mode, state_dir, procfs, sysfs, ring, sampling, procs, gpu, egpu, protocol, "
		     "prometheus, access, log, classify)");
	expect_error("procs:\n  scan: 1s\n",
		     ":2:3: unknown key \"procs.scan\" (expected one of: scan_interval, "
		     "tracked_interval, pss_interval, top_n, max_watches, quiet_thread_pct)");
	expect_error("access:\n  cmdline_gids: [adm]\n",
		     ":2:3: unknown key \"access.cmdline_gids\" (expected one of: cmdline_uids, "
		     "cmdline_groups, admins, admin_groups)");
	expect_error("classify:\n  - name: x\n    regex: y\n",
		     ":3:5: unknown key \"classify[0].regex\" (expected one of: name, match, "
		     "category)");
	expect_error("classify:\n  - {name: x, match: {args: y}, category: a/b}\n",
		     ":2:23: unknown key \"classify[0].match.args\" (expected one of: comm, exe, "
		     "cmdline)");
	expect_error("classify:\n  - {name: x, \"ca\\0t\": a/b}\n",
		     ":2:15: unknown key \"classify[0].ca\\x00t\" (expected one of: name, match, "
		     "category)");
	expect_error("classify:\n  - {[a]: x}\n", ":2:6: classify[0]: keys must be names, got a list");
	expect_error("classify:\n  - {match: {{a: 1}: x}}\n",
		     ":2:14: classify[0].match: keys must be names, got a mapping");
	expect_error("log:\n  \"le\\tvel\": info\n",
		     ":2:3: unknown key \"log.le\\x09vel\" (expected one of: level, target)");
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
		     ":1:6: log: expected a mapping with keys level, target, got a list");
	expect_error("- procfs\n", ":1:1: expected a mapping of keys, got a list");
	expect_error("just text\n", ":1:1: expected a mapping of keys, got a scalar");
	expect_error("procfs: &p /x\nsysfs: *p\n",
		     ":2:8: sysfs: expected a string, got an alias (aliases are not supported)");
	expect_error("procs:\n  top_n: [1]\n", ":2:10: procs.top_n: expected a whole number, got a list");
	expect_error("procs: 5\n", ":1:8: procs: expected a mapping with keys scan_interval, "
		     "tracked_interval, pss_interval, top_n, max_watches, quiet_thread_pct, got a scalar");
	expect_error("access:\n  cmdline_uids: 1000\n",
		     ":2:17: access.cmdline_uids: expected a list of users like [alice, 1001], "
		     "got a scalar");
	expect_error("access:\n  admins: {root: 0}\n",
		     ":2:11: access.admins: expected a list of users like [alice, 1001], "
		     "got a mapping");
	expect_error("access:\n  admins: [[0]]\n",
		     ":2:12: access.admins[0]: expected a user name or number, got a list");
	expect_error("classify: 5\n", ":1:11: classify: expected a list of rules, each with name, "
		     "match and category, got a scalar");
	expect_error("classify:\n  name: x\n", ":2:3: classify: expected a list of rules, each "
		     "with name, match and category, got a mapping");
	expect_error("classify:\n  - gcc\n",
		     ":2:5: classify[0]: expected a mapping with keys name, match, category, "
		     "got a scalar");
	expect_error("classify:\n  - {name: x, match: x, category: a/b}\n",
		     ":2:22: classify[0].match: expected a mapping with one of comm, exe, cmdline, "
		     "got a scalar");
	expect_error("classify:\n  - {name: [x]}\n", ":2:12: classify[0].name: expected a string, "
		     "got a list");
	expect_error("classify:\n  - {match: {comm: {a: b}}}\n",
		     ":2:20: classify[0].match.comm: expected a string, got a mapping");
	expect_error("classify: &r []\nsocket: *r\n",
		     ":2:9: socket: expected a string, got an alias (aliases are not supported)");
	expect_error("classify:\n  - &r {name: a, match: {comm: a}, category: a/b}\n  - *r\n",
		     ":3:5: classify[1]: expected a mapping with keys name, match, category, "
		     "got an alias (aliases are not supported)");
}

/* The classify list: every mistake with the position of its cause. */
static void test_rule_errors(void **state)
{
	char want[512], re_msg[160], yaml[8192];
	regex_t re;
	(void)state;
	/* missing keys: at the rule */
	expect_error("classify:\n  - name: x\n    match: {comm: '^x$'}\n",
		     ":2:5: classify[0]: missing key \"category\"");
	expect_error("classify:\n  - {category: a/b, match: {comm: x}}\n",
		     ":2:5: classify[0]: missing key \"name\"");
	expect_error("classify:\n  - {name: a, match: {comm: x}, category: a/b}\n"
		     "  - name: b\n    category: a/b\n",
		     ":3:5: classify[1]: missing key \"match\"");
	expect_error("classify:\n  - {}\n", ":2:5: classify[0]: missing key \"name\"");
	/* match: exactly one field */
	expect_error("classify:\n- name: x\n  match:\n    comm: a\n    exe: b\n  category: a/b\n",
		     ":5:5: classify[0].match: expected exactly one of comm, exe, cmdline, "
		     "got comm and exe");
	expect_error("classify:\n  - {name: x, match: {}, category: a/b}\n",
		     ":2:22: classify[0].match: expected one of comm, exe, cmdline");
	expect_error("classify:\n  - {name: x, match: {comm: a, comm: b}}\n",
		     ":2:32: classify[0].match.comm: duplicate key");
	expect_error("classify:\n  - {name: a, name: b}\n", ":2:15: classify[0].name: duplicate key");
	/* bad regex: regerror's own words, as this libc has them */
	int rc = regcomp(&re, "(torch", REG_EXTENDED | REG_NOSUB);
	assert_int_not_equal(rc, 0);
	regerror(rc, &re, re_msg, sizeof re_msg);
	snprintf(want, sizeof want, ":2:32: classify[0].match.cmdline: bad regex \"(torch\": %s", re_msg);
	expect_error("classify:\n  - {name: x, match: {cmdline: '(torch'}, category: ml/x}\n", want);
	rc = regcomp(&re, "[a-", REG_EXTENDED | REG_NOSUB);
	assert_int_not_equal(rc, 0);
	regerror(rc, &re, re_msg, sizeof re_msg);
	/* The pattern is \\[a-, a backslash and an open bracket; the message
	 * escapes each backslash. */
	snprintf(want, sizeof want, ":3:18: classify[0].match.exe: bad regex \"\\\\\\\\[a-\": %s",
		 re_msg);
	expect_error("classify:\n  - name: x\n    match: {exe: '\\\\[a-'}\n", want);
	/* repetitions glibc's regcomp would copy into gigabytes: refused first */
	expect_error("classify:\n  - {name: x, match: {cmdline: 'a++++++++++++++++++++++++++++++'}, "
		     "category: ml/x}\n", ":2:32: classify[0].match.cmdline: regex "
		     "\"a++++++++++++++++++++++++++++++\" repeats too much: its repetitions (+, {n,m}) "
		     "expand to over 2000 parts");
	expect_error("classify:\n  - {name: x, match: {cmdline: '((a{99}){99}){99}'}, category: ml/x}\n",
		     ":2:32: classify[0].match.cmdline: regex \"((a{99}){99}){99}\" repeats too much: "
		     "its repetitions (+, {n,m}) expand to over 2000 parts");
	/* bad category */
	expect_error("classify:\n  - name: x\n    match: {comm: x}\n    category: Compile/X\n",
		     ":4:15: classify[0].category: expected major/minor (each part [a-z0-9_.+-]+) "
		     "or other, got \"Compile/X\"");
	expect_error("classify:\n  - {name: x, match: {comm: x}, category: compile}\n",
		     ":2:43: classify[0].category: expected major/minor (each part [a-z0-9_.+-]+) "
		     "or other, got \"compile\"");
	expect_error("classify:\n  - {name: x, match: {comm: x}, category: a/b/c}\n",
		     ":2:43: classify[0].category: expected major/minor (each part [a-z0-9_.+-]+) "
		     "or other, got \"a/b/c\"");
	expect_error("classify:\n  - {name: x, match: {comm: x}, category: }\n",
		     ":2:43: classify[0].category: must not be empty");
	/* names */
	expect_error("classify:\n  - {name: '', match: {comm: x}, category: a/b}\n",
		     ":2:12: classify[0].name: must not be empty");
	expect_error("classify:\n  - {name: \"a\\tb\", match: {comm: x}, category: a/b}\n",
		     ":2:12: classify[0].name: must not contain control characters");
	expect_error("classify:\n  - {name: cc, match: {comm: a}, category: a/b}\n"
		     "  - {name: cc, match: {comm: b}, category: a/c}\n",
		     ":3:12: classify[1].name: duplicate rule name \"cc\" (first at 2:5)");
	/* sizes */
	strcpy(yaml, "classify:\n  - {name: n, category: a/b, match: {comm: ");
	size_t n = strlen(yaml);
	memset(yaml + n, 'p', 256);
	strcpy(yaml + n + 256, "}}\n");
	expect_error(yaml, ":2:44: classify[0].match.comm: too long (256 bytes, at most 255)");
	strcpy(yaml, "classify:\n  - {name: ");
	n = strlen(yaml);
	memset(yaml + n, 'n', 64);
	strcpy(yaml + n + 64, ", category: a/b, match: {comm: x}}\n");
	expect_error(yaml, ":2:12: classify[0].name: too long (64 bytes, at most 63)");
	strcpy(yaml, "classify:\n");
	for (int i = 0; i < 65; i++)
		snprintf(yaml + strlen(yaml), sizeof yaml - strlen(yaml),
			 "  - {name: r%d, match: {comm: x}, category: a/b}\n", i);
	expect_error(yaml, ":66:5: classify: more than 64 rules");
	/* 64 is fine */
	*strstr(yaml, "  - {name: r64") = '\0';
	struct config c;
	config_defaults(&c);
	assert_int_equal(load(yaml, &c), 0);
	assert_int_equal(c.nclassify, 64);
	assert_string_equal(c.classify[63].name, "r63");
	assert_int_equal(c.classify[63].line, 65);
}

static void test_uid_errors(void **state)
{
	char yaml[1024];
	(void)state;
	expect_error("access:\n  cmdline_uids: [1000, no-such-user-rmon]\n",
		     ":2:24: access.cmdline_uids[1]: no such user \"no-such-user-rmon\"");
	expect_error("access:\n  cmdline_uids: [-1]\n",
		     ":2:18: access.cmdline_uids[0]: no such user \"-1\"");
	expect_error("access:\n  cmdline_uids: [~]\n",
		     ":2:18: access.cmdline_uids[0]: expected a user name or number, got \"~\"");
	expect_error("access:\n  admin_groups: [0, no-such-group-rmon]\n",
		     ":2:21: access.admin_groups[1]: no such group \"no-such-group-rmon\"");
	expect_error("access:\n  cmdline_groups: [[1]]\n",
		     ":2:20: access.cmdline_groups[0]: expected a group name or number, got a list");
	expect_error("access:\n  admin_groups: [4294967295]\n",
		     ":2:18: access.admin_groups[0]: 4294967295 is above the maximum gid 4294967294");
	expect_error("access:\n  admins: [4294967295]\n",
		     ":2:12: access.admins[0]: 4294967295 is above the maximum uid 4294967294");
	expect_error("access:\n  admins: [99999999999999999999999]\n",
		     ":2:12: access.admins[0]: 99999999999999999999999 is above the maximum uid "
		     "4294967294");
	strcpy(yaml, "access:\n  admins: [0");
	for (int i = 1; i < 65; i++)
		snprintf(yaml + strlen(yaml), sizeof yaml - strlen(yaml), ",%d", i);
	strcat(yaml, "]\n");
	/* uid 64 is the 65th: "0" at col 12, then ",1".. ",9" (2 columns
	 * each), ",10".. ",63" (3 each), and ",64": 12 + 18 + 162 + 2 */
	expect_error(yaml, ":2:194: access.admins: more than 64 users");
	expect_error("access:\n  admins: [1]\naccess: {}\n", ":3:1: access: duplicate key");
	expect_error("access:\n  admins: [1]\n  admins: [2]\n", ":3:3: access.admins: duplicate key");
}

/* Users and groups by name resolve at load time (root and its group exist
 * everywhere); numbers stay numbers. */
static void test_access_names(void **state)
{
	struct config c;
	(void)state;
	config_defaults(&c);
	assert_int_equal(load("access:\n  admins: [root, 1234]\n  admin_groups: [root, 27]\n"
			      "  cmdline_uids: [root]\n  cmdline_groups: [\"0\", root]\n", &c), 0);
	assert_int_equal(c.access_nadmins, 2);
	assert_int_equal(c.access_admins[0], 0);
	assert_int_equal(c.access_admins[1], 1234);
	assert_int_equal(c.access_nadmin_gids, 2);
	assert_int_equal(c.access_admin_gids[0], 0);
	assert_int_equal(c.access_admin_gids[1], 27);
	assert_int_equal(c.access_ncmdline_uids, 1);
	assert_int_equal(c.access_ncmdline_gids, 2);
	assert_int_equal(c.access_cmdline_gids[1], 0);
	/* a list the file sets replaces the old one; the others stay */
	assert_int_equal(load("access:\n  admin_groups: []\n", &c), 0);
	assert_int_equal(c.access_nadmin_gids, 0);
	assert_int_equal(c.access_nadmins, 2);
}

/* socket_mode: octal, 3 or 4 digits, at most 0777; the default depends on
 * the socket (0660 system, 0600 per-user).  log.target: stderr | syslog. */
static void test_socket_mode_log_target(void **state)
{
	struct config c;
	(void)state;
	config_defaults(&c);
	assert_string_equal(c.socket_mode, "");
	assert_int_equal(config_socket_mode(&c, false), 0660);
	assert_int_equal(config_socket_mode(&c, true), 0600);
	assert_int_equal(c.log_target, CONFIG_LOG_STDERR);
	assert_int_equal(load("socket_mode: \"0640\"\nlog:\n  target: syslog\n", &c), 0);
	assert_int_equal(config_socket_mode(&c, false), 0640);
	assert_int_equal(config_socket_mode(&c, true), 0640);
	assert_int_equal(c.log_target, CONFIG_LOG_SYSLOG);
	assert_int_equal(load("socket_mode: 660\n", &c), 0);
	assert_int_equal(config_socket_mode(&c, false), 0660);
	expect_error("socket_mode: \"0888\"\n", ":1:14: socket_mode: expected an octal mode like "
		     "\"0660\" (at most 0777), got \"0888\"");
	expect_error("procfs: /p\nsocket_mode: 1777\n", ":2:14: socket_mode: expected an octal mode "
		     "like \"0660\" (at most 0777), got \"1777\"");
	expect_error("socket_mode: rw\n", ":1:14: socket_mode: expected an octal mode like "
		     "\"0660\" (at most 0777), got \"rw\"");
	expect_error("log:\n  target: journal\n",
		     ":2:11: log.target: expected one of stderr, syslog, got \"journal\"");
	assert_int_equal(config_parse_mode("77"), -1);
	assert_int_equal(config_parse_mode("00777"), -1);
	assert_int_equal(config_parse_mode("0600"), 0600);
	char buf[64];
	assert_int_equal(config_value_text(&c, "socket_mode", buf, sizeof buf), 0);
	assert_string_equal(buf, "\"660\"");
	assert_int_equal(config_value_text(&c, "ring.budget", buf, sizeof buf), 0);
	assert_string_equal(buf, "128MiB");
	assert_int_equal(config_value_text(&c, "ring.nope", buf, sizeof buf), -1);
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
	expect_error("procs:\n  scan_interval: 50ms\n",
		     ":2:18: procs.scan_interval: 50ms is below the minimum 100ms");
	expect_error("procs:\n  scan_interval: 2m\n",
		     ":2:18: procs.scan_interval: 2m is above the maximum 1m");
	expect_error("procs:\n  tracked_interval: 10ms\n",
		     ":2:21: procs.tracked_interval: 10ms is below the minimum 50ms");
	expect_error("procs:\n  pss_interval: 500ms\n",
		     ":2:17: procs.pss_interval: 500ms is below the minimum 1s");
	expect_error("procs:\n  pss_interval: 2h\n",
		     ":2:17: procs.pss_interval: 2h is above the maximum 1h");
	expect_error("procs:\n  top_n: 101\n", ":2:10: procs.top_n: 101 is above the maximum 100");
	expect_error("procs:\n  top_n: five\n",
		     ":2:10: procs.top_n: expected a whole number, got \"five\"");
	expect_error("procs:\n  top_n: -1\n", ":2:10: procs.top_n: expected a whole number, got \"-1\"");
	expect_error("procs:\n  top_n: 1.5\n",
		     ":2:10: procs.top_n: expected a whole number, got \"1.5\"");
	expect_error("procs:\n  top_n: 0x10\n",
		     ":2:10: procs.top_n: expected a whole number, got \"0x10\"");
	expect_error("procs:\n  top_n:\n", ":2:9: procs.top_n: expected a whole number, got \"\"");
	expect_error("procs:\n  max_watches: 0\n",
		     ":2:16: procs.max_watches: 0 is below the minimum 1");
	expect_error("procs:\n  max_watches: 99999999999999999999\n",
		     ":2:16: procs.max_watches: 18446744073709551615 is above the maximum 65536");
	/* Between keys: tracked processes are sampled at least as often as
	 * the scan.  The message points at what the file set. */
	expect_error("procs:\n  tracked_interval: 2s\n",
		     ":2:21: procs.tracked_interval (2s) must not be longer than "
		     "procs.scan_interval (1s)");
	expect_error("procs:\n  tracked_interval: 500ms\n  scan_interval: 200ms\n",
		     ":2:21: procs.tracked_interval (500ms) must not be longer than "
		     "procs.scan_interval (200ms)");
	struct config c;
	config_defaults(&c);
	c.procs_tracked_interval_ns = 5 * SEC;   /* say, from an earlier file */
	assert_int_equal(load("procs:\n  scan_interval: 2s\n", &c), -EINVAL);
	assert_err(":2:18: procs.tracked_interval (5s) must not be longer than "
		   "procs.scan_interval (2s)");
	config_defaults(&c);
	assert_int_equal(load("procs: {scan_interval: 100ms, tracked_interval: 100ms, top_n: 0, "
			      "max_watches: 65536, pss_interval: 1h}\n", &c), 0);
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
/* config_copy_key copies one key, a list with its count, and nothing
 * else; an unknown key is -1 and copies nothing. */
static void test_copy_key(void **state)
{
	static struct config full, c, before;
	(void)state;
	config_defaults(&full);
	assert_int_equal(load(full_yaml, &full), 0);
	config_defaults(&c);
	assert_int_equal(config_copy_key(&c, &full, "access.admins"), 0);
	assert_int_equal(c.access_nadmins, full.access_nadmins);
	assert_true(c.access_nadmins > 0);
	assert_memory_equal(c.access_admins, full.access_admins, sizeof c.access_admins);
	assert_int_equal(config_copy_key(&c, &full, "procs.scan_interval"), 0);
	assert_int_equal(c.procs_scan_interval_ns, full.procs_scan_interval_ns);
	assert_int_equal(config_copy_key(&c, &full, "classify"), 0);
	assert_int_equal(c.nclassify, full.nclassify);
	assert_string_equal(c.classify[0].pattern, full.classify[0].pattern);
	/* the rest is still the defaults */
	assert_int_equal(c.ring_budget_bytes, 128u << 20);
	assert_int_equal(c.access_ncmdline_uids, 0);
	before = c;
	assert_int_equal(config_copy_key(&c, &full, "ring.bogus"), -1);
	assert_memory_equal(&c, &before, sizeof c);
}

static void test_dump_roundtrip(void **state)
{
	struct config c, back;
	(void)state;
	config_defaults(&c);
	assert_int_equal(load(full_yaml, &c), 0);
	strcpy(c.socket_group, "we\"ird\\\x01 \xc3\xa9");
	strcpy(c.classify[1].pattern, "a\\.\"b\" 'c'");
	char *text = dump_to_string(&c);
	assert_non_null(strstr(text, "\nring:\n  mode: memory\n  budget: 64MiB\n"));
	assert_non_null(strstr(text, "\nprocs:\n  scan_interval: 2s\n  tracked_interval: 250ms\n"
				     "  pss_interval: 10s\n  top_n: 0\n  max_watches: 100\n"
				     "  quiet_thread_pct: 0\n"));
	assert_non_null(strstr(text, "\naccess:\n  cmdline_uids: [1000, 1001]\n"
				     "  cmdline_groups: []\n  admins: [0, 4294967294]\n  admin_groups: []\n"));
	assert_non_null(strstr(text, "\n\nclassify:\n"
				     "  - name: \"gradle\"\n"
				     "    match: {cmdline: \"^([^ ]*/)?java .*org\\\\.gradle\\\\.\"}\n"
				     "    category: \"build/gradle\"\n"
				     "  - name: \"not cc1\"\n"
				     "    match: {exe: \"a\\\\.\\\"b\\\" 'c'\"}\n"));
	config_defaults(&back);
	if (load(text, &back) != 0)
		fail_msg("%s\n%s", err, text);
	assert_string_equal(back.socket_group, c.socket_group);
	assert_int_equal(back.nclassify, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_string_equal(back.classify[i].name, c.classify[i].name);
		assert_string_equal(back.classify[i].pattern, c.classify[i].pattern);
		assert_string_equal(back.classify[i].category, c.classify[i].category);
		assert_int_equal(back.classify[i].field, c.classify[i].field);
	}
	assert_memory_equal(back.access_admins, c.access_admins, sizeof c.access_admins);
	assert_non_null(strstr(text, "\negpu:\n  interval: 500ms\n  stats_files: [{path: "
				     "\"/sys/kernel/debug/acme_tb/0000:05:00.0/stats\", gpu: "
				     "\"0000:05:00.0\"}, {path: \"/run/acme/1\", gpu: 2}]\n"));
	assert_int_equal(back.egpu_nstats_files, 2);
	assert_string_equal(back.egpu_stats_files[0].gpu_pci, "0000:05:00.0");
	assert_int_equal(back.egpu_stats_files[1].gpu_index, 2);
	char *again = dump_to_string(&back);
	assert_string_equal(text, again);
	free(text);
	free(again);

	/* Defaults: empty lists as [] */
	config_defaults(&c);
	text = dump_to_string(&c);
	assert_non_null(strstr(text, "\naccess:\n  cmdline_uids: []\n  cmdline_groups: []\n"
				     "  admins: []\n  admin_groups: []\n"));
	assert_non_null(strstr(text, "\n\nclassify: []\n"));
	config_defaults(&back);
	if (load(text, &back) != 0)
		fail_msg("%s\n%s", err, text);
	assert_memory_equal(&back, &c, sizeof c);
	free(text);
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

/* The commented-out classify examples in etc/rmond.yaml, uncommented,
 * load and do what they say. */
static void test_example_rules(void **state)
{
	const char *src = getenv("RMON_SRCDIR");
	char path[4096], line[1024], yaml[8192] = "classify:\n";
	struct config c;
	struct classifier cls;
	bool in = false;
	(void)state;
	snprintf(path, sizeof path, "%s/etc/rmond.yaml", src ? src : ".");
	FILE *f = fopen(path, "r");
	if (f == NULL)
		skip();
	while (fgets(line, sizeof line, f)) {
		if (strcmp(line, "classify: []\n") == 0)
			in = true;
		else if (in && strncmp(line, "#  ", 3) == 0)
			strncat(yaml, line + 1, sizeof yaml - strlen(yaml) - 1);
		else if (in)
			break;
	}
	fclose(f);
	assert_true(in);
	config_defaults(&c);
	if (load(yaml, &c) != 0)
		fail_msg("%s\n%s", err, yaml);
	assert_int_equal(c.nclassify, 2);
	assert_int_equal(classifier_init(&cls), 0);
	for (unsigned i = 0; i < c.nclassify; i++) {
		const struct config_rule *r = &c.classify[i];
		const struct classify_spec spec = { r->name, r->category, r->field, r->pattern };
		assert_int_equal(classifier_add(&cls, &spec, err, sizeof err), 0);
	}
	assert_string_equal(classify(&cls, "java", "", "/usr/lib/jvm/java-17-openjdk-amd64/bin/java "
				     "-Xmx512m -cp gradle-launcher-8.4.jar "
				     "org.gradle.launcher.daemon.bootstrap.GradleDaemon 8.4"),
			    "build/gradle");
	assert_string_equal(classify(&cls, "python3", "", "/usr/bin/python3 train.py --epochs 3"),
			    "ml/pytorch");
	assert_string_equal(classify(&cls, "python3", "", "python3 scripts/train.py"), "ml/pytorch");
	assert_string_equal(classify(&cls, "python3", "", "python3 pretrain.py"), "other");
	classifier_free(&cls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_empty_files),
		cmocka_unit_test(test_overlay),
		cmocka_unit_test(test_list_overlay),
		cmocka_unit_test(test_rules_classify),
		cmocka_unit_test(test_categories_agree),
		cmocka_unit_test(test_rule_errors),
		cmocka_unit_test(test_uid_errors),
		cmocka_unit_test(test_access_names),
		cmocka_unit_test(test_socket_mode_log_target),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_stats_file_errors),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_unchanged_after_error),
		cmocka_unit_test(test_dump_roundtrip),
		cmocka_unit_test(test_copy_key),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_example_rules),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
