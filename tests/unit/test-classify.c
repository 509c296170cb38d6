/* Process classification: the built-in rules against what real processes
 * show in comm, exe and cmdline; config rules ahead of the defaults; bad
 * rules refused with a message; the defaults table in docs/classify.md. */
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "classify.h"

struct proc_case {
	const char *comm, *exe, *cmdline;
	const char *want;
};

/* What ps would show.  exe is "" where rmond may not read it. */
static const struct proc_case cases[] = {
	/* gcc and its helpers */
	{ "cc1plus", "/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus",
	  "/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus -quiet -imultiarch x86_64-linux-gnu "
	  "-D_GNU_SOURCE src/foo.cc -quiet -dumpdir CMakeFiles/foo.dir/ -dumpbase foo.cc.cc "
	  "-mtune=generic -march=x86-64 -O2 -o /tmp/ccQ2x1aB.s", "compile/cc1plus" },
	{ "cc1", "/usr/lib/gcc/x86_64-linux-gnu/12/cc1",
	  "/usr/lib/gcc/x86_64-linux-gnu/12/cc1 -quiet main.c -O2 -o /tmp/ccA.s", "compile/cc1" },
	{ "cc1obj", "", "/usr/lib/gcc/x86_64-linux-gnu/12/cc1obj -quiet x.m", "compile/cc1obj" },
	{ "f951", "", "/usr/lib/gcc/x86_64-linux-gnu/12/f951 solver.f90", "compile/f951" },
	{ "gcc", "/usr/bin/x86_64-linux-gnu-gcc-12", "gcc -O2 -c foo.c -o foo.o", "compile/driver" },
	{ "c++", "/usr/bin/x86_64-linux-gnu-g++-12", "/usr/bin/c++ -O2 -c a.cc", "compile/driver" },
	{ "g++-12", "", "g++-12 -c a.cc", "compile/driver" },
	/* A cross gcc: comm is cut to 15 bytes, exe tells. */
	{ "x86_64-linux-gn", "/usr/bin/x86_64-linux-gnu-gcc-12",
	  "x86_64-linux-gnu-gcc -c a.c", "compile/driver" },
	{ "aarch64-linux-g", "/usr/bin/aarch64-linux-gnu-gcc-12", "", "compile/driver" },
	{ "x86_64-linux-gn", "", "x86_64-linux-gnu-gcc -c a.c", "other" },
	{ "as", "/usr/bin/x86_64-linux-gnu-as", "as --64 -o /tmp/ccB.o /tmp/ccA.s", "compile/as" },
	{ "nasm", "/usr/bin/nasm", "nasm -f elf64 x.asm", "compile/as" },
	{ "x86_64-linux-gn", "/usr/bin/x86_64-linux-gnu-as", "", "compile/as" },
	/* ccache in masquerade mode: a "gcc" that is ccache */
	{ "gcc", "/usr/bin/ccache", "/usr/lib/ccache/gcc -c a.c", "compile/ccache" },
	{ "sccache", "/home/u/.cargo/bin/sccache", "sccache rustc -", "compile/ccache" },
	/* clang, also behind "cc" */
	{ "clang", "/usr/lib/llvm-14/bin/clang", "/usr/bin/clang -cc1 -triple x86_64-pc-linux-gnu",
	  "compile/clang" },
	{ "clang++-14", "/usr/lib/llvm-14/bin/clang", "/usr/bin/clang++-14 -O2 -c x.cpp",
	  "compile/clang" },
	{ "cc", "/usr/lib/llvm-14/bin/clang", "cc -c foo.c", "compile/clang" },
	{ "clang-tidy", "/usr/lib/llvm-14/bin/clang-tidy", "clang-tidy a.c", "other" },
	{ "rustc", "/home/u/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/bin/rustc",
	  "/home/u/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/bin/rustc --crate-name "
	  "serde --edition=2018 src/lib.rs --crate-type lib", "compile/rustc" },
	/* javac, as its launcher or as a JVM running the compiler */
	{ "javac", "/usr/lib/jvm/java-17-openjdk-amd64/bin/javac", "javac -d out Foo.java",
	  "compile/javac" },
	{ "java", "/usr/lib/jvm/java-17-openjdk-amd64/bin/java",
	  "/usr/lib/jvm/java-17-openjdk-amd64/bin/java -Xmx1g -m jdk.compiler/com.sun.tools.javac.Main "
	  "-d out Foo.java", "compile/javac" },
	{ "java", "", "java -cp lib/tools.jar com.sun.tools.javac.Main Foo.java", "compile/javac" },
	{ "java", "", "java -jar app.jar --port 8080", "other" },
	{ "grep", "/usr/bin/grep", "grep -r com.sun.tools.javac.Main .", "other" },
	/* go: the toolchain's compile and link, by exe or (exe unreadable) cmdline */
	{ "compile", "/usr/lib/go-1.19/pkg/tool/linux_amd64/compile",
	  "/usr/lib/go-1.19/pkg/tool/linux_amd64/compile -o /tmp/go-build1/b001/_pkg_.a -trimpath "
	  "-p main -complete ./main.go", "compile/go" },
	{ "compile", "", "/usr/local/go/pkg/tool/linux_amd64/compile -o b001/_pkg_.a -p fmt",
	  "compile/go" },
	{ "asm", "/usr/local/go/pkg/tool/linux_amd64/asm", "", "compile/go" },
	{ "compile", "/usr/local/bin/compile", "compile report.tex", "other" },
	{ "link", "/usr/local/go/pkg/tool/linux_amd64/link",
	  "/usr/local/go/pkg/tool/linux_amd64/link -o a.out -importcfg cfg", "link/go" },
	{ "link", "", "/home/u/sdk/go1.21.0/pkg/tool/linux_arm64/link -o x", "link/go" },
	{ "go", "/usr/lib/go-1.19/bin/go", "go build ./...", "build/go" },
	/* linkers */
	{ "collect2", "/usr/lib/gcc/x86_64-linux-gnu/12/collect2",
	  "/usr/lib/gcc/x86_64-linux-gnu/12/collect2 -plugin liblto_plugin.so -o app", "link/collect2" },
	{ "ld", "/usr/bin/x86_64-linux-gnu-ld.bfd", "/usr/bin/ld -plugin x -o app a.o", "link/ld" },
	{ "x86_64-linux-gn", "/usr/bin/x86_64-linux-gnu-ld.bfd", "", "link/ld" },
	{ "ld.gold", "/usr/bin/x86_64-linux-gnu-ld.gold", "/usr/bin/ld.gold -o app", "link/gold" },
	{ "ld.lld", "/usr/lib/llvm-14/bin/lld", "ld.lld -o app a.o", "link/lld" },
	{ "ld.lld-14", "/usr/lib/llvm-14/bin/lld", "", "link/lld" },
	{ "rust-lld", "", "rust-lld -flavor gnu", "link/lld" },
	{ "mold", "/usr/bin/mold", "mold -run make", "link/mold" },
	{ "ld.mold", "/usr/libexec/mold/ld", "", "link/mold" },
	{ "lto1", "", "/usr/lib/gcc/x86_64-linux-gnu/12/lto1 -quiet -fltrans", "link/lto" },
	{ "lto-wrapper", "", "", "link/lto" },
	{ "ar", "/usr/bin/x86_64-linux-gnu-ar", "/usr/bin/ar qc libfoo.a a.o b.o", "link/ar" },
	/* build drivers */
	{ "make", "/usr/bin/make", "make -j16", "build/make" },
	{ "ninja", "/usr/bin/ninja", "ninja -C build", "build/ninja" },
	{ "cmake", "/usr/bin/cmake", "cmake --build build -j 8", "build/cmake" },
	{ "cargo", "/home/u/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/bin/cargo",
	  "/home/u/.cargo/bin/cargo build --release", "build/cargo" },
	{ "build-script-bu", "/src/target/release/build/ring-3a1b/build-script-build",
	  "/src/target/release/build/ring-3a1b/build-script-build", "build/cargo" },
	{ "meson", "/usr/bin/python3.11", "/usr/bin/python3 /usr/bin/meson compile -C build",
	  "build/meson" },
	{ "bazel", "/usr/bin/bazel", "bazel build //...", "build/bazel" },
	/* The Bazel server: a JVM that renamed itself. */
	{ "java", "/home/u/.cache/bazel/_bazel_u/install/3b1c/embedded_tools/jdk/bin/java",
	  "bazel(myproj) -XX:+HeapDumpOnOutOfMemoryError -Xverify:none "
	  "-Djava.util.logging.config.file=/home/u/.cache/bazel/_bazel_u/5f/javalog.properties",
	  "build/bazel" },
	/* ML: launchers, and python naming the framework */
	{ "python", "/usr/bin/python3.11",
	  "python -m torch.distributed.run --nproc_per_node=8 train.py --epochs 3", "ml/pytorch" },
	{ "python3", "/opt/conda/bin/python3.10",
	  "/opt/conda/bin/python3 -u -m torch.distributed.launch --use_env train.py", "ml/pytorch" },
	{ "torchrun", "/usr/bin/python3.11",
	  "/usr/bin/python3 /usr/local/bin/torchrun --standalone --nproc_per_node=4 train.py",
	  "ml/pytorch" },
	{ "deepspeed", "/usr/bin/python3.11", "/usr/bin/python3 /usr/local/bin/deepspeed train.py",
	  "ml/pytorch" },
	{ "python3", "", "/usr/bin/python3 -u -m deepspeed.launcher.launch --world_info=eyJ9",
	  "ml/pytorch" },
	{ "accelerate", "/usr/bin/python3.11",
	  "/usr/bin/python3 /home/u/.local/bin/accelerate launch --multi_gpu train.py", "ml/pytorch" },
	{ "accelerate", "/usr/bin/python3.11",
	  "/usr/bin/python3 /home/u/.local/bin/accelerate config", "other" },
	{ "python3", "", "python3 -c import torch; print(torch.cuda.is_available())", "ml/pytorch" },
	{ "python3", "", "python3 -c import numpy as np, torch", "ml/pytorch" },
	{ "python3", "", "python3 -m torch._inductor.compile_worker --workers=16", "ml/pytorch" },
	{ "python3", "",
	  "/usr/bin/python3 /opt/venv/lib/python3.11/site-packages/torch/distributed/run.py train.py",
	  "ml/pytorch" },
	{ "python3", "", "python3 -m tensorflow.python.tools.saved_model_cli show --dir m",
	  "ml/tensorflow" },
	{ "python", "", "python -c from jax import numpy as jnp", "ml/jax" },
	{ "python3.11", "", "python3.11 -c import flax.linen as nn", "ml/jax" },
	/* ... and what does not say which framework it uses */
	{ "python3", "/usr/bin/python3.11", "python3 train.py --config x", "other" },
	{ "python3", "", "python3 train_torch.py --torch-compile", "other" },
	{ "pip", "/usr/bin/python3.11", "/usr/bin/python3 /usr/bin/pip install torch", "other" },
	{ "python3", "", "python3 -m pip install torch torchvision", "other" },
	{ "tensorboard", "", "/usr/bin/python3 /usr/local/bin/tensorboard --logdir runs", "other" },
	{ "vim", "/usr/bin/vim.basic", "vim torch.py", "other" },
	/* everything else */
	{ "bash", "/usr/bin/bash", "-bash", "other" },
	{ "kworker/3:1", "", "", "other" },
	{ "systemd", "/usr/lib/systemd/systemd", "/sbin/init", "other" },
	{ "firefox-esr", "/usr/lib/firefox-esr/firefox-esr", "/usr/lib/firefox-esr/firefox-esr",
	  "other" },
	{ "", "", "", "other" },
};

static char err[1024];

static void test_defaults(void **state)
{
	struct classifier c;
	unsigned bad = 0;
	(void)state;
	assert_int_equal(classifier_init(&c), 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct proc_case *k = &cases[i];
		const char *got = classify(&c, k->comm, k->exe, k->cmdline);
		if (strcmp(got, k->want) != 0) {
			print_error("case %zu: comm \"%s\" exe \"%s\" cmdline \"%s\": got %s, want %s\n",
				    i, k->comm, k->exe, k->cmdline, got, k->want);
			bad++;
		}
	}
	classifier_free(&c);
	assert_int_equal(bad, 0);
}

/* Unknown fields (NULL or ""): no rule on them matches, nothing crashes. */
static void test_missing_fields(void **state)
{
	struct classifier c;
	const struct classify_spec any = { "any-exe", "x/y", CLASSIFY_EXE, ".*" };
	(void)state;
	assert_int_equal(classifier_init(&c), 0);
	assert_string_equal(classify(&c, NULL, NULL, NULL), "other");
	assert_string_equal(classify(&c, "make", NULL, NULL), "build/make");
	assert_string_equal(classify(&c, NULL, NULL, "python -m torch.distributed.run"), "ml/pytorch");
	assert_int_equal(classifier_add(&c, &any, err, sizeof err), 0);
	assert_string_equal(classify(&c, "bash", "", "bash"), "other");
	assert_string_equal(classify(&c, "bash", "/bin/bash", "bash"), "x/y");
	classifier_free(&c);
	assert_string_equal(classify(NULL, "make", "", ""), "other");
}

/* Config rules come before the defaults, in the order they were added. */
static void test_config_rules_first(void **state)
{
	struct classifier c;
	static const struct classify_spec specs[] = {
		{ "my-make", "build/mymake", CLASSIFY_COMM, "^make$" },
		{ "train", "ml/mine", CLASSIFY_CMDLINE, "(^| )train\\.py( |$)" },
		{ "train-again", "ml/second", CLASSIFY_CMDLINE, "train" },
		/* "other" keeps a process out of a default category */
		{ "not-cc1", "other", CLASSIFY_EXE, "^/opt/weird/cc1$" },
	};
	(void)state;
	assert_int_equal(classifier_init(&c), 0);
	unsigned ndef = c.nrules;
	assert_string_equal(classify(&c, "make", "/usr/bin/make", "make"), "build/make");
	for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
		assert_int_equal(classifier_add(&c, &specs[i], err, sizeof err), 0);
	assert_int_equal(c.nrules, ndef + 4);
	/* in order, ahead of the defaults */
	for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
		assert_string_equal(c.rules[i].name, specs[i].name);
	assert_string_equal(classify(&c, "make", "/usr/bin/make", "make -j8"), "build/mymake");
	assert_string_equal(classify(&c, "gmake", "", "gmake"), "build/make");
	/* both match: the first added wins */
	assert_string_equal(classify(&c, "python3", "", "python3 train.py --lr 1e-3"), "ml/mine");
	assert_string_equal(classify(&c, "python3", "", "python3 pretrain.py"), "ml/second");
	/* and a config rule beats a default that would match too */
	assert_string_equal(classify(&c, "python3", "",
				     "python3 -m torch.distributed.run train.py"), "ml/mine");
	assert_string_equal(classify(&c, "cc1", "/opt/weird/cc1", "cc1 x"), "other");
	assert_string_equal(classify(&c, "cc1", "/usr/lib/gcc/x86_64-linux-gnu/12/cc1", ""),
			    "compile/cc1");
	classifier_free(&c);
	assert_null(c.rules);
	assert_int_equal(c.nrules, 0);
	classifier_free(&c);   /* twice is harmless */
}

/* The message a failed regcomp gives for pattern, as this libc words it. */
static void regerror_text(const char *pattern, char *buf, size_t len)
{
	regex_t re;
	int rc = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);
	assert_int_not_equal(rc, 0);
	regerror(rc, &re, buf, len);
}

static void expect_add_error(struct classifier *c, const struct classify_spec *spec,
			     const char *want)
{
	unsigned n = c->nrules;
	memset(err, 'x', sizeof err);
	err[sizeof err - 1] = '\0';
	assert_int_equal(classifier_add(c, spec, err, sizeof err), -EINVAL);
	assert_string_equal(err, want);
	assert_int_equal(c->nrules, n);
}

static void test_bad_rules(void **state)
{
	struct classifier c;
	char want[512], re_msg[160];
	char long_name[80], long_pattern[300];
	(void)state;
	assert_int_equal(classifier_init(&c), 0);

	static const char *const bad_regexes[] = { "(cc1", "[a-", "a{2,1}", "*x", "x)" };
	for (size_t i = 0; i < sizeof bad_regexes / sizeof bad_regexes[0]; i++) {
		regex_t re;
		if (regcomp(&re, bad_regexes[i], REG_EXTENDED | REG_NOSUB) == 0) {
			regfree(&re);   /* this libc accepts it: not a bad regex here */
			continue;
		}
		const struct classify_spec s = { "broken", "compile/x", CLASSIFY_COMM, bad_regexes[i] };
		regerror_text(bad_regexes[i], re_msg, sizeof re_msg);
		snprintf(want, sizeof want, "rule \"broken\": bad regex \"%s\": %s", bad_regexes[i],
			 re_msg);
		expect_add_error(&c, &s, want);
	}

	static const char *const bad_categories[] = {
		"compile", "Compile/cc1", "compile/", "/cc1", "compile/cc1/x", "compile/c c",
		"ml/pyTorch", "", "other/", "others", "ml\\x/y", "compile/cc\xc3\xa9",
	};
	for (size_t i = 0; i < sizeof bad_categories / sizeof bad_categories[0]; i++) {
		const struct classify_spec s = { "r", bad_categories[i], CLASSIFY_COMM, "^x$" };
		snprintf(want, sizeof want, "rule \"r\": category \"%s\" is not major/minor "
			 "(each part [a-z0-9_.+-]+)", bad_categories[i]);
		expect_add_error(&c, &s, want);
	}
	const struct classify_spec no_cat = { "r", NULL, CLASSIFY_COMM, "^x$" };
	expect_add_error(&c, &no_cat, "rule \"r\": category \"\" is not major/minor "
			 "(each part [a-z0-9_.+-]+)");

	static const char *const good_categories[] = {
		"a/b", "ml/py-torch", "compile/c++", "x.y/z_1", "other", "other/script",
	};
	for (size_t i = 0; i < sizeof good_categories / sizeof good_categories[0]; i++) {
		const struct classify_spec s = { "ok", good_categories[i], CLASSIFY_COMM, "^x$" };
		assert_int_equal(classifier_add(&c, &s, err, sizeof err), 0);
	}

	const struct classify_spec no_name = { "", "a/b", CLASSIFY_COMM, "x" };
	expect_add_error(&c, &no_name,
			 "rule name must be 1 to 63 bytes without control characters");
	const struct classify_spec ctl_name = { "a\nb", "a/b", CLASSIFY_COMM, "x" };
	expect_add_error(&c, &ctl_name,
			 "rule name must be 1 to 63 bytes without control characters");
	memset(long_name, 'n', 64);
	long_name[64] = '\0';
	const struct classify_spec big_name = { long_name, "a/b", CLASSIFY_COMM, "x" };
	expect_add_error(&c, &big_name,
			 "rule name must be 1 to 63 bytes without control characters");
	const struct classify_spec bad_field = { "f", "a/b", (enum classify_field)7, "x" };
	expect_add_error(&c, &bad_field, "rule \"f\": match must be comm, exe or cmdline");
	const struct classify_spec empty = { "e", "a/b", CLASSIFY_CMDLINE, "" };
	expect_add_error(&c, &empty, "rule \"e\": pattern must be 1 to 255 bytes");
	memset(long_pattern, 'p', 256);
	long_pattern[256] = '\0';
	const struct classify_spec big = { "e", "a/b", CLASSIFY_CMDLINE, long_pattern };
	expect_add_error(&c, &big, "rule \"e\": pattern must be 1 to 255 bytes");
	long_pattern[255] = '\0';
	assert_int_equal(classifier_add(&c, &big, err, sizeof err), 0);

	/* No room for a message: still refused, nothing written. */
	const struct classify_spec s = { "broken", "compile/x", CLASSIFY_COMM, "(" };
	assert_int_equal(classifier_add(&c, &s, NULL, 0), -EINVAL);
	classifier_free(&c);

	/* Not initialised: refused, not crashed. */
	struct classifier z = { NULL, 0 };
	const struct classify_spec ok = { "ok", "a/b", CLASSIFY_COMM, "x" };
	assert_int_equal(classifier_add(&z, &ok, err, sizeof err), -EINVAL);
	assert_string_equal(err, "classifier not initialised");
}

/* The config allows 64 rules: adding them all and freeing leaks nothing
 * (LeakSanitizer in make test) and keeps them in order. */
static void test_many_rules(void **state)
{
	struct classifier c;
	char name[32], pattern[64], comm[32];
	(void)state;
	assert_int_equal(classifier_init(&c), 0);
	for (unsigned i = 0; i < 64; i++) {
		snprintf(name, sizeof name, "r%u", i);
		snprintf(pattern, sizeof pattern, "^tool%u$", i);
		const struct classify_spec s = { name, i % 2 ? "odd/tool" : "even/tool",
						 CLASSIFY_COMM, pattern };
		assert_int_equal(classifier_add(&c, &s, err, sizeof err), 0);
	}
	for (unsigned i = 0; i < 64; i++) {
		snprintf(comm, sizeof comm, "tool%u", i);
		assert_string_equal(classify(&c, comm, "", ""), i % 2 ? "odd/tool" : "even/tool");
	}
	assert_string_equal(classify(&c, "ninja", "", ""), "build/ninja");
	assert_string_equal(classify(&c, "tool64", "", ""), "other");
	classifier_free(&c);
}

static char *read_doc(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	char *buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* docs/classify.md lists the built-in rules one per line,
 * "CATEGORY MATCH PATTERN", in order, between the header line below and
 * the closing fence: it must be exactly the table in classify.c. */
static void test_docs_table(void **state)
{
	static const char *const fields[] = { "comm", "exe", "cmdline" };
	static const char header[] = "\ncategory         match    pattern\n";
	const char *src = getenv("RMON_SRCDIR");
	char path[4096], line[512];
	struct classifier c;
	(void)state;
	snprintf(path, sizeof path, "%s/docs/classify.md", src ? src : ".");
	char *doc = read_doc(path);
	if (doc == NULL)
		skip();   /* not run from the source tree */
	const char *p = strstr(doc, header);
	if (p == NULL) {
		free(doc);
		fail_msg("%s: no line \"%s\"", path, header + 1);
	}
	p += strlen(header);
	assert_int_equal(classifier_init(&c), 0);
	for (unsigned i = 0; i < c.nrules; i++) {
		const struct classify_rule *r = &c.rules[i];
		int n = snprintf(line, sizeof line, "%-16s %-8s %s\n", r->category, fields[r->field],
				 r->pattern);
		if (strncmp(p, line, (size_t)n) != 0) {
			const char *eol = strchr(p, '\n');
			print_error("docs/classify.md, rule %u:\n  want: %s  have: %.*s\n", i, line,
				    eol ? (int)(eol - p) : 80, p);
			classifier_free(&c);
			free(doc);
			fail();
		}
		p += n;
	}
	classifier_free(&c);
	bool end = strncmp(p, "```\n", 4) == 0;
	free(doc);
	if (!end)
		fail_msg("docs/classify.md lists more rules than classify.c");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_missing_fields),
		cmocka_unit_test(test_config_rules_first),
		cmocka_unit_test(test_bad_rules),
		cmocka_unit_test(test_many_rules),
		cmocka_unit_test(test_docs_table),
	};
	return cmocka_run_group_tests_name("classify", tests, NULL, NULL);
}
