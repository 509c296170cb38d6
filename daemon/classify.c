/*
 * Process classification: an ordered list of rules, each a POSIX extended
 * regex on one of comm, exe or cmdline, compiled once.  The list is the
 * config's rules (in file order) followed by the built-in defaults below;
 * classify() returns the category of the first rule that matches.
 *
 * The defaults are documented, pattern for pattern, in docs/classify.md
 * (test-classify checks that the two agree).
 *
 * What the fields hold (Linux):
 *   comm     the kernel's task name: the basename of the file that was
 *            executed (for a script, the script's name, not the
 *            interpreter's), cut to 15 bytes ("x86_64-linux-gnu-gcc-12"
 *            shows as "x86_64-linux-gn").
 *   exe      readlink of /proc/PID/exe: the real binary, symlinks resolved
 *            ("cc" → "/usr/bin/x86_64-linux-gnu-gcc-12"); "" when not
 *            permitted (another user's process, rmond not root).
 *   cmdline  the arguments joined by spaces, cut to 255 bytes.
 * A rule on a field that is empty (unknown) never matches.
 */
#include "classify.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every regex, defaults and config rules alike, is compiled with these. */
#define CLASSIFY_REGFLAGS (REG_EXTENDED | REG_NOSUB)

struct default_rule {
	const char *name;
	const char *category;
	enum classify_field field;
	const char *pattern;
};

#define COMM(n, c, p)    { n, c, CLASSIFY_COMM, p }
#define EXE(n, c, p)     { n, c, CLASSIFY_EXE, p }
#define CMDLINE(n, c, p) { n, c, CLASSIFY_CMDLINE, p }

/* A python interpreter at the start of the command line ("python3",
 * "/opt/conda/bin/python3.11"), then its options and arguments. */
#define PY "^([^ ]*/)?python[0-9.]* (.* )?"

/* Python running framework M: "-m M" / "-m M.sub", or "-c" code that
 * imports it ("import M", "from M.x import y", "import numpy, M"). */
#define PY_USES(M) PY "(-m " M "([. ]|$)|-c .*(import|from) (.*, *)?" M "([. ,;]|$))"

/* Order matters: first match wins.  Mostly exact comm names; an exe rule
 * backs a comm rule up where comm is cut or is a symlink's name (a "cc"
 * that is really clang, "x86_64-linux-gn" for a cross gcc); command-line
 * rules are the heuristics and come last in their group. */
static const struct default_rule defaults[] = {
	/* compile: caches first, so that a "gcc" that is ccache says so */
	COMM("ccache", "compile/ccache", "^(ccache|sccache|distcc)$"),
	EXE("ccache", "compile/ccache", "/(ccache|sccache|distcc)$"),
	/* compile: the compilers proper */
	COMM("cc1", "compile/cc1", "^cc1$"),
	COMM("cc1plus", "compile/cc1plus", "^cc1plus$"),
	COMM("cc1obj", "compile/cc1obj", "^cc1obj(plus)?$"),
	COMM("f951", "compile/f951", "^f951$"),
	COMM("clang", "compile/clang", "^clang(\\+\\+)?(-[0-9]+)?$"),
	EXE("clang", "compile/clang", "/clang(\\+\\+)?(-[0-9]+)?$"),
	COMM("rustc", "compile/rustc", "^rustc$"),
	COMM("javac", "compile/javac", "^javac$"),
	CMDLINE("javac", "compile/javac",
		"^([^ ]*/)?java( [^ ]+)* (jdk\\.compiler/)?com\\.sun\\.tools\\.javac\\.Main( |$)"),
	EXE("go-compile", "compile/go", "/pkg/tool/[a-z0-9_]+/(compile|asm|cgo)$"),
	CMDLINE("go-compile", "compile/go", "^[^ ]*/pkg/tool/[a-z0-9_]+/(compile|asm|cgo)( |$)"),
	EXE("go-link", "link/go", "/pkg/tool/[a-z0-9_]+/link$"),
	CMDLINE("go-link", "link/go", "^[^ ]*/pkg/tool/[a-z0-9_]+/link( |$)"),
	COMM("as", "compile/as", "^(as|nasm|yasm)$"),
	EXE("as", "compile/as", "/([a-z0-9_]+-)*as$"),
	/* compile: drivers (gcc forks cc1, as and collect2) */
	COMM("driver", "compile/driver", "^(gcc|g\\+\\+|cc|c\\+\\+|gfortran)(-[0-9]+)?$"),
	EXE("driver", "compile/driver", "/([a-z0-9_]+-)*(gcc|g\\+\\+|gfortran)(-[0-9]+)?$"),
	/* link */
	COMM("collect2", "link/collect2", "^collect2$"),
	COMM("ld", "link/ld", "^ld(\\.bfd)?$"),
	COMM("gold", "link/gold", "^(ld\\.)?gold$"),
	COMM("lld", "link/lld", "^(lld|ld\\.lld|ld64\\.lld|lld-link|wasm-ld|rust-lld)(-[0-9]+)?$"),
	COMM("mold", "link/mold", "^(ld\\.)?mold$"),
	COMM("lto", "link/lto", "^(lto1|lto-wrapper)$"),
	EXE("ld", "link/ld", "/([a-z0-9_]+-)*ld(\\.bfd)?$"),
	EXE("gold", "link/gold", "/([a-z0-9_]+-)*ld\\.gold$"),
	COMM("ar", "link/ar", "^(ar|ranlib|gcc-ar|llvm-ar)(-[0-9]+)?$"),
	/* build drivers */
	COMM("make", "build/make", "^(make|gmake)$"),
	COMM("ninja", "build/ninja", "^(ninja|samu)$"),
	COMM("cmake", "build/cmake", "^(cmake|ctest)$"),
	COMM("meson", "build/meson", "^meson$"),
	/* A build script is "build-script-build", cut to 15 bytes. */
	COMM("cargo", "build/cargo", "^(cargo|build-script-bu)$"),
	COMM("go", "build/go", "^go$"),
	COMM("bazel", "build/bazel", "^(bazel|bazelisk|bazel-real|linux-sandbox|process-wrapper)$"),
	/* The Bazel server is a JVM that renames itself "bazel(workspace)". */
	CMDLINE("bazel", "build/bazel", "^bazel\\("),
	/* ML frameworks: launchers, then python naming the framework. */
	COMM("torchrun", "ml/pytorch", "^(torchrun|deepspeed)$"),
	CMDLINE("accelerate", "ml/pytorch", "(^|[ /])accelerate launch( |$)"),
	CMDLINE("pytorch", "ml/pytorch", PY_USES("(torch|deepspeed)")),
	CMDLINE("pytorch", "ml/pytorch", PY "[^ ]*/(site|dist)-packages/torch/"),
	CMDLINE("tensorflow", "ml/tensorflow", PY_USES("tensorflow")),
	CMDLINE("jax", "ml/jax", PY_USES("(jax|flax)")),
};

#define NDEFAULTS (sizeof defaults / sizeof defaults[0])

static bool category_part_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '.' || ch == '+' || ch == '-';
}

/* "major/minor", each part [a-z0-9_.+-]+; or "other" itself, so that a
 * config rule can keep a process out of a default category. */
static bool category_valid(const char *s)
{
	if (strcmp(s, "other") == 0)
		return true;
	const char *slash = strchr(s, '/');
	if (slash == NULL || slash == s || slash[1] == '\0')
		return false;
	for (const char *p = s; *p; p++)
		if (p != slash && !category_part_char(*p))
			return false;
	return true;
}

static bool has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

/* Validates spec and compiles it into *r.  On error nothing is left to
 * free: a failed regcomp owns no memory. */
static int rule_compile(struct classify_rule *r, const struct classify_spec *spec,
			char *err, size_t errlen)
{
	const char *name = spec->name ? spec->name : "";
	memset(r, 0, sizeof *r);
	if (*name == '\0' || strlen(name) >= sizeof r->name || has_control(name)) {
		snprintf(err, errlen, "rule name must be 1 to %zu bytes without control characters",
			 sizeof r->name - 1);
		return -EINVAL;
	}
	if (spec->category == NULL || strlen(spec->category) >= sizeof r->category ||
	    !category_valid(spec->category)) {
		snprintf(err, errlen, "rule \"%s\": category \"%.*s\" is not major/minor "
			 "(each part [a-z0-9_.+-]+)", name, (int)sizeof r->category,
			 spec->category ? spec->category : "");
		return -EINVAL;
	}
	if (spec->field != CLASSIFY_COMM && spec->field != CLASSIFY_EXE &&
	    spec->field != CLASSIFY_CMDLINE) {
		snprintf(err, errlen, "rule \"%s\": match must be comm, exe or cmdline", name);
		return -EINVAL;
	}
	if (spec->pattern == NULL || spec->pattern[0] == '\0' ||
	    strlen(spec->pattern) >= sizeof r->pattern) {
		snprintf(err, errlen, "rule \"%s\": pattern must be 1 to %zu bytes", name,
			 sizeof r->pattern - 1);
		return -EINVAL;
	}
	int rc = regcomp(&r->re, spec->pattern, CLASSIFY_REGFLAGS);
	if (rc != 0) {
		char msg[160];
		regerror(rc, &r->re, msg, sizeof msg);
		snprintf(err, errlen, "rule \"%s\": bad regex \"%s\": %s", name, spec->pattern, msg);
		return -EINVAL;
	}
	snprintf(r->name, sizeof r->name, "%s", name);
	snprintf(r->category, sizeof r->category, "%s", spec->category);
	snprintf(r->pattern, sizeof r->pattern, "%s", spec->pattern);
	r->field = spec->field;
	return 0;
}

void classifier_free(struct classifier *c)
{
	if (c == NULL)
		return;
	for (unsigned i = 0; i < c->nrules; i++)
		regfree(&c->rules[i].re);
	free(c->rules);
	c->rules = NULL;
	c->nrules = 0;
}

int classifier_init(struct classifier *c)
{
	char err[256];
	c->rules = calloc(NDEFAULTS, sizeof *c->rules);
	c->nrules = 0;
	if (c->rules == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < NDEFAULTS; i++) {
		const struct classify_spec spec = { defaults[i].name, defaults[i].category,
						    defaults[i].field, defaults[i].pattern };
		int rc = rule_compile(&c->rules[i], &spec, err, sizeof err);
		if (rc < 0) {   /* a bad built-in rule: test-classify catches it */
			classifier_free(c);
			return rc;
		}
		c->nrules++;
	}
	return 0;
}

/*
 * Config rules go after the config rules added before them and ahead of
 * the defaults, which stay the last NDEFAULTS entries.  Growing the array
 * moves compiled regex_t values: they hold pointers to their own heap
 * state, never to themselves, in every libc we build on (glibc, musl,
 * the BSDs and macOS), as GNU grep's own arrays of patterns rely on.
 */
int classifier_add(struct classifier *c, const struct classify_spec *spec, char *err, size_t errlen)
{
	struct classify_rule r;
	if (c == NULL || spec == NULL || c->rules == NULL || c->nrules < NDEFAULTS) {
		snprintf(err, errlen, "classifier not initialised");
		return -EINVAL;
	}
	int rc = rule_compile(&r, spec, err, errlen);
	if (rc < 0)
		return rc;
	struct classify_rule *nr = realloc(c->rules, (c->nrules + 1) * sizeof *nr);
	if (nr == NULL) {
		regfree(&r.re);
		snprintf(err, errlen, "rule \"%s\": out of memory", r.name);
		return -ENOMEM;
	}
	unsigned at = c->nrules - (unsigned)NDEFAULTS;
	memmove(&nr[at + 1], &nr[at], NDEFAULTS * sizeof *nr);
	nr[at] = r;
	c->rules = nr;
	c->nrules++;
	return 0;
}

const char *classify(const struct classifier *c, const char *comm, const char *exe,
		     const char *cmdline)
{
	if (c == NULL)
		return "other";
	for (unsigned i = 0; i < c->nrules; i++) {
		const struct classify_rule *r = &c->rules[i];
		const char *s = r->field == CLASSIFY_COMM ? comm :
				r->field == CLASSIFY_EXE ? exe : cmdline;
		if (s == NULL || *s == '\0')
			continue;
		if (regexec(&r->re, s, 0, NULL, 0) == 0)
			return r->category;
	}
	return "other";
}
