/*
 * Shared harness of the collector tests (tests/unit/test-collect-*.c):
 * fixture roots, temporary copies to change between samples, and a fake
 * emit that captures records.  Header-only (static inline) because every
 * test file is its own binary.
 *
 * Fixtures live in tests/fixtures/linux/<case>/{proc,sys}; they are found
 * through $RMON_FIXTURES, else $RMON_SRCDIR (tests/run.sh sets it), else
 * the working directory, else upwards from the test binary.
 */
#ifndef RMON_TEST_COLLECT_H
#define RMON_TEST_COLLECT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect.h"
#include "collect/linux/linux.h"
#include "schema.h"

#define FX_SEC 1000000000ull
#define FX_RT0 (1700000100ull * FX_SEC)   /* 100 s after the fixtures' btime */
#define FX_RECS_MAX 1024

/* ---- captured records ------------------------------------------------- */

struct fx_cap {
	struct collect_tick tick;
	struct rm_rec sys;
	unsigned n;
	enum rm_kind kind[FX_RECS_MAX];
	struct rm_rec rec[FX_RECS_MAX];
};

static inline void fx_emit(struct collect_tick *t, enum rm_kind kind, const struct rm_rec *r)
{
	struct fx_cap *c = t->emit_ctx;
	assert_true(c->n < FX_RECS_MAX);
	c->kind[c->n] = kind;
	c->rec[c->n++] = *r;
}

/* A fresh tick at mono_ns (records and system record cleared). */
static inline struct collect_tick *fx_tick(struct fx_cap *c, uint64_t mono_ns)
{
	c->n = 0;
	rec_init(&c->sys, FX_RT0 + mono_ns, NULL);
	c->tick.mono_ns = mono_ns;
	c->tick.rt_ns = FX_RT0 + mono_ns;
	c->tick.sys = &c->sys;
	c->tick.emit = fx_emit;
	c->tick.emit_ctx = c;
	return &c->tick;
}

static inline const struct rm_rec *fx_find(const struct fx_cap *c, enum rm_kind kind,
					   const char *key)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->kind[i] == kind && strcmp(c->rec[i].key, key) == 0)
			return &c->rec[i];
	return NULL;
}

static inline unsigned fx_count(const struct fx_cap *c, enum rm_kind kind)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->n; i++)
		n += c->kind[i] == kind;
	return n;
}

/* ---- assertions ------------------------------------------------------- */

static inline void fx_near_at(double got, double want, double eps, const char *what,
			      const char *file, int line)
{
	if (fabs(got - want) <= eps)
		return;
	print_error("%s:%d: %s = %.9g, want %.9g (±%g)\n", file, line, what, got, want, eps);
	fail();
}
#define assert_near(got, want, eps) fx_near_at((got), (want), (eps), #got, __FILE__, __LINE__)

/* Field f of r is present and about want (relative 1e-9). */
static inline void fx_field_at(const struct rm_rec *r, int f, double want, const char *file,
			       int line)
{
	if (!r) {
		print_error("%s:%d: no such record\n", file, line);
		fail();
	}
	if (!rec_has(r, f)) {
		print_error("%s:%d: record '%s' field %d absent, want %.9g\n", file, line, r->key,
			    f, want);
		fail();
	}
	double eps = 1e-9 * (fabs(want) > 1 ? fabs(want) : 1);
	fx_near_at(r->v[f], want, eps, r->key, file, line);
}
#define assert_field(r, f, want) fx_field_at((r), (f), (double)(want), __FILE__, __LINE__)
static inline void fx_no_field_at(const struct rm_rec *r, int f, const char *file, int line)
{
	if (!r) {
		print_error("%s:%d: no such record\n", file, line);
		fail();
	}
	if (rec_has(r, f)) {
		print_error("%s:%d: record '%s' field %d = %.9g, want absent\n", file, line,
			    r->key, f, r->v[f]);
		fail();
	}
}
#define assert_no_field(r, f) fx_no_field_at((r), (f), __FILE__, __LINE__)

/* r exists (the instance is there) but has no reading at all. */
static inline void fx_empty_at(const struct rm_rec *r, const char *file, int line)
{
	if (!r || r->present) {
		print_error("%s:%d: want an empty record, got %s\n", file, line,
			    r ? "fields" : "none");
		fail();
	}
}
#define assert_empty(r) fx_empty_at((r), __FILE__, __LINE__)

/* ---- fixture roots ---------------------------------------------------- */

/* snprintf that fails the test rather than truncate a path. */
static inline void fx_fmt(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline void fx_fmt(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < cap);
}

struct fx_root {
	char dir[PATH_MAX];
	int tmp;                    /* dir is a copy to delete */
	struct collect_env env;
};

static inline int fx_isdir(const char *p)
{
	struct stat sb;
	return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* tests/fixtures/linux, absolute. */
static inline const char *fx_base(void)
{
	static char base[PATH_MAX];
	if (base[0])
		return base;
	const char *env = getenv("RMON_FIXTURES"), *src = getenv("RMON_SRCDIR");
	if (env && fx_isdir(env)) {
		fx_fmt(base, sizeof base, "%s", env);
		return base;
	}
	if (src) {
		fx_fmt(base, sizeof base, "%s/tests/fixtures/linux", src);
		if (fx_isdir(base))
			return base;
	}
	char dir[PATH_MAX];
	if (fx_isdir("tests/fixtures/linux") && realpath("tests/fixtures/linux", base))
		return base;
	ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
	assert_true(n > 0);
	dir[n] = '\0';
	for (int up = 0; up < 8; up++) {
		char *slash = strrchr(dir, '/');
		if (!slash)
			break;
		*slash = '\0';
		fx_fmt(base, sizeof base, "%s/tests/fixtures/linux", dir);
		if (fx_isdir(base))
			return base;
	}
	fail_msg("fixtures not found: set RMON_FIXTURES");
	return NULL;
}

static inline void fx_root_fds(struct fx_root *r)
{
	char p[PATH_MAX + 8];
	fx_fmt(p, sizeof p, "%s/proc", r->dir);
	r->env.procfd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	fx_fmt(p, sizeof p, "%s/sys", r->dir);
	r->env.sysfd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	r->env.clk_tck = 100;
}

/* A root on the fixture case itself (read-only use). */
static inline void fx_root_open(struct fx_root *r, const char *name)
{
	memset(r, 0, sizeof *r);
	fx_fmt(r->dir, sizeof r->dir, "%s/%s", fx_base(), name);
	assert_true(fx_isdir(r->dir));
	fx_root_fds(r);
}

/* Copy the tree src over dst: new files are created, existing ones are
 * rewritten in place (same inode), so collectors' kept fds see the new
 * content, as they would in /proc. */
static inline void fx_copy(const char *src, const char *dst)
{
	DIR *d = opendir(src);
	assert_non_null(d);
	mkdir(dst, 0755);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char s[PATH_MAX], t[PATH_MAX];
		fx_fmt(s, sizeof s, "%s/%s", src, de->d_name);
		fx_fmt(t, sizeof t, "%s/%s", dst, de->d_name);
		struct stat sb;
		assert_int_equal(lstat(s, &sb), 0);
		if (S_ISDIR(sb.st_mode)) {
			fx_copy(s, t);
			continue;
		}
		if (S_ISLNK(sb.st_mode)) {   /* sysfs-style links, maybe dangling */
			char link[PATH_MAX];
			ssize_t n = readlink(s, link, sizeof link - 1);
			assert_true(n > 0);
			link[n] = '\0';
			unlink(t);
			assert_int_equal(symlink(link, t), 0);
			continue;
		}
		int in = open(s, O_RDONLY), out = open(t, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		assert_true(in >= 0 && out >= 0);
		char buf[8192];
		ssize_t n;
		while ((n = read(in, buf, sizeof buf)) > 0)
			assert_int_equal(write(out, buf, (size_t)n), n);
		close(in);
		close(out);
	}
	closedir(d);
}

static inline int fx_rm_one(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(p);
}

/* Temporary roots not closed yet: a failed assertion skips the test's
 * own cleanup, so whatever is left is removed at exit. */
#define FX_TMP_MAX 8
static char fx_tmp_dirs[FX_TMP_MAX][PATH_MAX];

static inline void fx_tmp_cleanup(void)
{
	for (int i = 0; i < FX_TMP_MAX; i++)
		if (fx_tmp_dirs[i][0]) {
			nftw(fx_tmp_dirs[i], fx_rm_one, 16, FTW_DEPTH | FTW_PHYS);
			fx_tmp_dirs[i][0] = '\0';
		}
}

static inline void fx_tmp_track(const char *dir, int add)
{
	static int registered;
	if (!registered && atexit(fx_tmp_cleanup) == 0)
		registered = 1;
	for (int i = 0; i < FX_TMP_MAX; i++) {
		if (add && !fx_tmp_dirs[i][0]) {
			fx_fmt(fx_tmp_dirs[i], PATH_MAX, "%s", dir);
			return;
		}
		if (!add && strcmp(fx_tmp_dirs[i], dir) == 0) {
			fx_tmp_dirs[i][0] = '\0';
			return;
		}
	}
}

/* A temporary copy of a fixture case, to change between samples. */
static inline void fx_root_tmp(struct fx_root *r, const char *name)
{
	memset(r, 0, sizeof *r);
	fx_fmt(r->dir, sizeof r->dir, "/tmp/rmon-fx-XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	r->tmp = 1;
	fx_tmp_track(r->dir, 1);
	char src[PATH_MAX];
	fx_fmt(src, sizeof src, "%s/%s", fx_base(), name);
	fx_copy(src, r->dir);
	fx_root_fds(r);
}

/* Lay the fixture case name over the temporary root. */
static inline void fx_overlay(struct fx_root *r, const char *name)
{
	char src[PATH_MAX];
	fx_fmt(src, sizeof src, "%s/%s", fx_base(), name);
	fx_copy(src, r->dir);
}

/* Rewrite rel (relative to the root) in place with content. */
static inline void fx_write(struct fx_root *r, const char *rel, const char *content)
{
	char p[PATH_MAX + 64];
	fx_fmt(p, sizeof p, "%s/%s", r->dir, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	size_t n = strlen(content);
	assert_int_equal(write(fd, content, n), (ssize_t)n);
	close(fd);
}

static inline void fx_root_close(struct fx_root *r)
{
	if (r->env.procfd >= 0)
		close(r->env.procfd);
	if (r->env.sysfd >= 0)
		close(r->env.sysfd);
	if (r->tmp) {
		nftw(r->dir, fx_rm_one, 16, FTW_DEPTH | FTW_PHYS);
		fx_tmp_track(r->dir, 0);
	}
	r->tmp = 0;
}

/* ---- driving a collector ---------------------------------------------- */

static inline void *fx_open(const struct collector *c, const struct fx_root *r)
{
	void *st = NULL;
	int err = c->open(&r->env, &st);
	if (err)
		fail_msg("%s open: %s", c->name, strerror(-err));
	assert_non_null(st);
	return st;
}

static inline int fx_sample(const struct collector *c, void *st, struct fx_cap *cap,
			    uint64_t mono_ns)
{
	return c->sample(st, fx_tick(cap, mono_ns));
}

#endif
