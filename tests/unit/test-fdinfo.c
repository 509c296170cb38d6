/*
 * DRM fdinfo: the parser (drm_fdinfo.c) on the fixture files and on
 * literal buffers, the engine busy share, and the per-process reader
 * (procgpu.c) on the fixture tree tests/fixtures/linux/fdinfo (see its
 * README for what each process holds).  Rates, a counter that went back
 * and a vanished fd are made by rewriting a temporary copy between
 * readings.  Every expected number is worked out from the fixture files.
 */
#include "test-collect.h"

#include <sys/wait.h>

#include "collect/linux/drm_fdinfo.h"
#include "procgpu.h"

#define S(x) ((uint64_t)(x) * FX_SEC)
#define KIB 1024ull
#define MIB (1024ull * 1024ull)

/* The fixture file rel parsed into f; returns drm_fdinfo_parse's result. */
static int parse_file(const char *rel, struct drm_fdinfo *f)
{
	char path[PATH_MAX + 64], buf[8192];
	fx_fmt(path, sizeof path, "%s/fdinfo/%s", fx_base(), rel);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, sizeof buf);
	close(fd);
	assert_true(n > 0 && (size_t)n < sizeof buf);
	return drm_fdinfo_parse(buf, (size_t)n, f);
}

static int parse_str(const char *s, struct drm_fdinfo *f)
{
	return drm_fdinfo_parse(s, strlen(s), f);
}

static const struct drm_region *region(const struct drm_fdinfo *f, const char *name)
{
	for (unsigned i = 0; i < f->nreg; i++)
		if (strcmp(f->reg[i].name, name) == 0)
			return &f->reg[i];
	return NULL;
}

static const struct drm_engine *must_engine(const struct drm_fdinfo *f, const char *name)
{
	const struct drm_engine *e = drm_fdinfo_engine(f, name);
	if (!e)
		fail_msg("no engine %s", name);
	return e;
}

/* ---- the parser ---------------------------------------------------------- */

static void test_parse_amdgpu(void **state)
{
	(void)state;
	struct drm_fdinfo f;
	uint64_t mem;
	assert_int_equal(parse_file("proc/1000/fdinfo/5", &f), 0);
	assert_string_equal(f.driver, "amdgpu");
	assert_string_equal(f.pdev, "0000:03:00.0");
	assert_int_equal(f.have, DRM_HAVE_DRIVER | DRM_HAVE_PDEV | DRM_HAVE_CLIENT_ID);
	assert_int_equal(f.client_id, 17);
	assert_int_equal(f.malformed, 0);
	assert_int_equal(f.nreg, 3);   /* vram, gtt, cpu; amd-* keys are not drm- keys */
	assert_int_equal(region(&f, "gtt")->memory, 8192 * KIB);   /* "drm-memory-gtt: \t" */
	assert_int_equal(region(&f, "gtt")->have, DRM_REG_MEMORY);
	assert_true(drm_fdinfo_mem(&f, &mem));
	assert_int_equal(mem, (262144 + 8192) * KIB);
	assert_int_equal(f.neng, 2);
	assert_int_equal(must_engine(&f, "gfx")->busy_ns, 5000000000ull);
	assert_int_equal(must_engine(&f, "gfx")->capacity, 1);
	assert_int_equal(must_engine(&f, "compute")->have, DRM_ENG_BUSY);

	/* the newer keys: resident wins over the legacy alias and the total */
	assert_int_equal(parse_file("proc/1000/fdinfo/7", &f), 0);
	assert_int_equal(f.client_id, 18);
	const struct drm_region *vram = region(&f, "vram");
	assert_int_equal(vram->have, DRM_REG_MEMORY | DRM_REG_TOTAL | DRM_REG_RESIDENT);
	assert_int_equal(vram->total, 98304 * KIB);
	assert_int_equal(region(&f, "gtt")->resident, 2 * MIB);
	assert_true(drm_fdinfo_mem(&f, &mem));
	assert_int_equal(mem, 65536 * KIB + 2 * MIB);
}

static void test_parse_i915_xe(void **state)
{
	(void)state;
	struct drm_fdinfo f;
	uint64_t mem;
	assert_int_equal(parse_file("proc/2000/fdinfo/3", &f), 0);
	assert_string_equal(f.driver, "i915");
	assert_int_equal(f.client_id, 39);
	assert_int_equal(f.neng, 4);
	assert_int_equal(must_engine(&f, "video")->capacity, 2);
	assert_int_equal(must_engine(&f, "video-enhance")->busy_ns, 0);
	assert_int_equal(must_engine(&f, "render")->busy_ns, 346249);
	assert_non_null(region(&f, "stolen-system0"));
	assert_true(drm_fdinfo_mem(&f, &mem));
	assert_int_equal(mem, 6044 * KIB);

	assert_int_equal(parse_file("proc/3000/fdinfo/4", &f), 0);
	assert_string_equal(f.driver, "xe");
	const struct drm_engine *rcs = must_engine(&f, "rcs");
	assert_int_equal(rcs->have, DRM_ENG_CYCLES | DRM_ENG_TOTAL_CYCLES);
	assert_int_equal(rcs->cycles, 28257900);
	assert_int_equal(rcs->total_cycles, 7655183225ull);
	assert_int_equal(must_engine(&f, "ccs")->capacity, 4);
	assert_int_equal(f.neng, 5);
	assert_true(drm_fdinfo_mem(&f, &mem));
	assert_int_equal(mem, (192 + 23992) * KIB);   /* drm-shared-vram0 is not held memory */
	assert_int_equal(f.malformed, 0);
}

static void test_parse_malformed(void **state)
{
	(void)state;
	struct drm_fdinfo f;
	uint64_t mem;
	assert_int_equal(parse_file("proc/5000/fdinfo/3", &f), 0);
	/* no colon, "lots", "GB", "12%", "ms", empty name, capacity 0,
	 * client id -3, trailing "extra", a name with a space */
	assert_int_equal(f.malformed, 10);
	assert_int_equal(f.client_id, 99);          /* the bad one did not replace it */
	assert_int_equal(f.nreg, 1);
	assert_true(drm_fdinfo_mem(&f, &mem));
	assert_int_equal(mem, UINT64_MAX);          /* 2^64-1 MiB saturates */
	assert_int_equal(f.neng, 3);                /* jpeg, enc, dec (no newline at the end) */
	assert_int_equal(must_engine(&f, "jpeg")->busy_ns, UINT64_MAX);
	assert_int_equal(must_engine(&f, "dec")->busy_ns, 700);
	assert_null(drm_fdinfo_engine(&f, "gfx"));
	assert_null(drm_fdinfo_engine(&f, "dma"));
}

static void test_parse_not_drm(void **state)
{
	(void)state;
	struct drm_fdinfo f;
	uint64_t mem;
	assert_int_equal(parse_file("proc/6000/fdinfo/3", &f), -ENOENT);
	assert_int_equal(parse_str("", &f), -ENOENT);
	assert_int_equal(parse_str("drm-driver:\n", &f), -ENOENT);            /* no value */
	assert_int_equal(f.malformed, 1);
	assert_int_equal(parse_str("drm-engine-gfx: 5 ns\n", &f), -ENOENT);   /* no driver */
	assert_int_equal(parse_str("drm-driver: v3d\n", &f), 0);
	assert_false(drm_fdinfo_mem(&f, &mem));                               /* no memory key */
	assert_int_equal(mem, 0);
}

static void test_parse_edges(void **state)
{
	(void)state;
	struct drm_fdinfo f;
	uint64_t mem;
	assert_int_equal(parse_str("drm-driver:panfrost\n"
	                           "drm-pdev:  0000:03:00.0;x\n"           /* not an address */
	                           "drm-total-memory:\t290 MiB\n"
	                           "drm-resident-memory: 36496 KiB  \n"   /* trailing blanks */
	                           "drm-total-big: 3 GiB\n"
	                           "drm-total-small: 17\n"                 /* bytes */
	                           "drm-engine-fragment: 10 ns\n"
	                           "drm-engine-fragment: 12 ns\n"          /* the last one counts */
	                           "drm-engine-abcdefghijklmnopqrstuvwxyz: 1 ns\n"
	                           "drm-engine-capacity-fragment: 4294967296\n", &f), 0);
	assert_string_equal(f.driver, "panfrost");
	assert_false(f.have & DRM_HAVE_PDEV);
	assert_string_equal(f.pdev, "");
	assert_int_equal(f.malformed, 3);   /* pdev, the long name, capacity > 2^32-1 */
	assert_int_equal(must_engine(&f, "fragment")->busy_ns, 12);
	assert_true(drm_fdinfo_mem(&f, &mem));
	assert_int_equal(mem, 36496 * KIB + 3 * 1024 * MIB + 17);

	/* more engines than fit: counted, not stored, no overrun */
	char buf[4096];
	size_t off = (size_t)snprintf(buf, sizeof buf, "drm-driver: x\n");
	for (int i = 0; i < DRM_ENGINES_MAX + 3; i++)
		off += (size_t)snprintf(buf + off, sizeof buf - off, "drm-engine-e%d: %d ns\n", i, i);
	for (int i = 0; i < DRM_REGIONS_MAX + 2; i++)
		off += (size_t)snprintf(buf + off, sizeof buf - off, "drm-memory-r%d: 1 KiB\n", i);
	assert_true(off < sizeof buf);
	assert_int_equal(drm_fdinfo_parse(buf, off, &f), 0);
	assert_int_equal(f.neng, DRM_ENGINES_MAX);
	assert_int_equal(f.nreg, DRM_REGIONS_MAX);
	assert_int_equal(f.overflow, 5);
	assert_int_equal(f.malformed, 0);

	/* a NUL inside a line and a truncated last line: bounded by len */
	static const char nul[] = "drm-driver: i915\ndrm-engine-render: 4\0 ns\ndrm-engine-copy: 12";
	assert_int_equal(drm_fdinfo_parse(nul, sizeof nul - 1, &f), 0);
	assert_int_equal(f.malformed, 2);   /* "4\0 ns" and "12" without ns */
	assert_int_equal(f.neng, 0);
}

static void test_engine_pct(void **state)
{
	(void)state;
	struct drm_engine a = { "gfx", 1000000000, 0, 0, 1, DRM_ENG_BUSY }, b = a;
	double pct;
	b.busy_ns += 250000000;
	assert_true(drm_engine_pct(&a, &b, S(1), &pct));
	assert_near(pct, 25, 1e-9);
	b.capacity = 2;                                     /* two engines: half as busy */
	assert_true(drm_engine_pct(&a, &b, S(1), &pct));
	assert_near(pct, 12.5, 1e-9);
	b.capacity = 1;
	b.busy_ns = a.busy_ns + S(3);                       /* jitter: clamped */
	assert_true(drm_engine_pct(&a, &b, S(2), &pct));
	assert_near(pct, 100, 1e-9);
	assert_false(drm_engine_pct(&a, &b, 0, &pct));      /* no time */
	b.busy_ns = a.busy_ns - 1;                          /* went back */
	assert_false(drm_engine_pct(&a, &b, S(1), &pct));

	/* cycles win over time, no wall clock needed */
	struct drm_engine c = { "rcs", 0, 100, 1000, 4, DRM_ENG_CYCLES | DRM_ENG_TOTAL_CYCLES }, d = c;
	d.cycles = 900;
	d.total_cycles = 2000;
	assert_true(drm_engine_pct(&c, &d, 0, &pct));
	assert_near(pct, 80.0 / 4, 1e-9);
	d.total_cycles = 1000;                              /* the clock stood still */
	assert_false(drm_engine_pct(&c, &d, S(1), &pct));
	assert_false(drm_engine_pct(&a, &c, S(1), &pct));   /* no counter in common */

	/* the baseline keeps the larger of two readings until it is passed */
	struct drm_engine base = a, back = a;
	back.busy_ns = a.busy_ns - 500;
	drm_engine_advance(&base, &back);
	assert_int_equal(base.busy_ns, a.busy_ns);
	back.busy_ns = a.busy_ns + 7;
	drm_engine_advance(&base, &back);
	assert_int_equal(base.busy_ns, a.busy_ns + 7);
}

/* ---- the reader ------------------------------------------------------------- */

static struct procgpu *pg_open(struct fx_root *r)
{
	struct procgpu *pg = NULL;
	int rc = procgpu_open(&r->env, &pg);
	if (rc)
		fail_msg("procgpu_open: %s", strerror(-rc));
	return pg;
}

static void test_open(void **state)
{
	(void)state;
	struct fx_root r;
	struct procgpu *pg = NULL;
	fx_root_open(&r, "fdinfo");
	pg = pg_open(&r);
	assert_non_null(strstr(procgpu_drivers(pg), "amdgpu"));
	assert_non_null(strstr(procgpu_drivers(pg), "i915"));
	assert_int_equal(strlen(procgpu_drivers(pg)), strlen("amdgpu,i915"));
	procgpu_close(pg);
	fx_root_close(&r);

	fx_root_open(&r, "fdinfo-nvidia");   /* NVIDIA only: nothing to read */
	assert_int_equal(procgpu_open(&r.env, &pg), -ENOENT);
	fx_root_close(&r);
	fx_root_open(&r, "normal");          /* no DRM device at all */
	assert_int_equal(procgpu_open(&r.env, &pg), -ENOENT);
	fx_root_close(&r);
}

static const struct procgpu_dev *find_dev(const struct procgpu_usage *u, const char *id)
{
	for (unsigned i = 0; i < u->ndev; i++)
		if (strcmp(u->dev[i].id, id) == 0)
			return &u->dev[i];
	fail_msg("no device %s", id);
	return NULL;
}

static const struct procgpu_dev *one_dev(const struct procgpu_usage *u, const char *id)
{
	assert_int_equal(u->ndev, 1);
	return find_dev(u, id);
}

static void test_read_fixture(void **state)
{
	(void)state;
	struct fx_root r;
	struct procgpu_usage u;
	struct procgpu_stats st;
	fx_root_open(&r, "fdinfo");
	struct procgpu *pg = pg_open(&r);

	assert_int_equal(procgpu_read(pg, 1000, 5000, S(1), &u), 0);
	const struct procgpu_dev *d = one_dev(&u, "0000:03:00.0");
	assert_string_equal(d->driver, "amdgpu");
	assert_true(d->have_mem);
	assert_int_equal(d->mem_bytes, 346030080ull);   /* clients 17 (once) and 18 */
	assert_false(d->have_busy);                     /* one reading: no rate */
	procgpu_get_stats(pg, &st);
	assert_int_equal(st.listings, 1);
	assert_int_equal(st.reads, 3);                  /* fds 5, 6, 7 only */

	assert_int_equal(procgpu_read(pg, 2000, 6000, S(1), &u), 0);
	assert_int_equal(one_dev(&u, "0000:00:02.0")->mem_bytes, 6044 * KIB);
	assert_int_equal(procgpu_read(pg, 3000, 7000, S(1), &u), 0);
	assert_int_equal(one_dev(&u, "0000:03:00.0")->mem_bytes, (192 + 23992) * KIB);
	assert_int_equal(procgpu_read(pg, 4000, 8000, S(1), &u), 0);
	assert_int_equal(u.ndev, 0);
	assert_int_equal(procgpu_read(pg, 5000, 9000, S(1), &u), 0);
	assert_int_equal(one_dev(&u, "0000:03:00.0")->mem_bytes, UINT64_MAX);
	assert_int_equal(procgpu_read(pg, 6000, 9500, S(1), &u), 0);
	assert_int_equal(u.ndev, 0);
	assert_int_equal(procgpu_read(pg, 7777, 1, S(1), &u), -ESRCH);
	procgpu_get_stats(pg, &st);
	assert_int_equal(st.malformed, 10);
	procgpu_close(pg);
	fx_root_close(&r);
}

/* client 17 (fds 5 and 6) and 18 (fd 7) of pid 1000 with these gfx times */
static void amd_gfx(struct fx_root *r, const char *gfx17, const char *gfx18)
{
	char path[PATH_MAX + 64], buf[8192], *p;
	for (int fd = 5; fd <= 7; fd++) {
		fx_fmt(path, sizeof path, "%s/fdinfo/proc/1000/fdinfo/%d", fx_base(), fd);
		FILE *f = fopen(path, "r");
		assert_non_null(f);
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = '\0';
		assert_non_null(p = strstr(buf, "drm-engine-gfx:\t"));
		char out[8192];
		fx_fmt(out, sizeof out, "%.*sdrm-engine-gfx:\t%s ns\n%s", (int)(p - buf), buf,
		       fd == 7 ? gfx18 : gfx17, strchr(p, '\n') + 1);
		fx_fmt(path, sizeof path, "proc/1000/fdinfo/%d", fd);
		fx_write(r, path, out);
	}
}

static void test_rates(void **state)
{
	(void)state;
	struct fx_root r;
	struct procgpu_usage u;
	struct procgpu_stats st;
	fx_root_tmp(&r, "fdinfo");
	struct procgpu *pg = pg_open(&r);
	assert_int_equal(procgpu_read(pg, 1000, 5000, S(1), &u), 0);
	assert_int_equal(procgpu_read(pg, 2000, 6000, S(1), &u), 0);
	assert_int_equal(procgpu_read(pg, 3000, 7000, S(1), &u), 0);

	/* a second later: gfx +0.5 s for client 17 and +0.1 s for 18 (60 %);
	 * i915 render +0.2 s (20 %), video +1 s of two engines (50 %); xe rcs
	 * a quarter of the clock, ccs 2 of 4 engines' worth (50 %) */
	amd_gfx(&r, "5500000000", "350000000");
	fx_write(&r, "proc/2000/fdinfo/3", "drm-driver:\ti915\ndrm-client-id:\t39\n"
	         "drm-pdev:\t0000:00:02.0\ndrm-resident-system0:\t6044 KiB\n"
	         "drm-engine-render:\t200346249 ns\ndrm-engine-video:\t1000000000 ns\n"
	         "drm-engine-capacity-video:\t2\n");
	fx_write(&r, "proc/3000/fdinfo/4", "drm-driver:\txe\ndrm-client-id:\t3\n"
	         "drm-pdev:\t0000:03:00.0\n"
	         "drm-cycles-rcs:\t278257900\ndrm-total-cycles-rcs:\t8655183225\n"
	         "drm-cycles-ccs:\t2000000000\ndrm-total-cycles-ccs:\t8655183225\n"
	         "drm-engine-capacity-ccs:\t4\n");
	assert_int_equal(procgpu_read(pg, 1000, 5000, S(2), &u), 0);
	assert_true(u.dev[0].have_busy);
	assert_near(u.dev[0].busy_pct, 60, 1e-9);
	assert_int_equal(procgpu_read(pg, 2000, 6000, S(2), &u), 0);
	assert_near(u.dev[0].busy_pct, 50, 1e-9);
	assert_int_equal(procgpu_read(pg, 3000, 7000, S(2), &u), 0);
	assert_near(u.dev[0].busy_pct, 50, 1e-9);
	assert_false(u.dev[0].have_mem);                 /* this time no memory key */
	procgpu_get_stats(pg, &st);
	assert_int_equal(st.listings, 3);               /* kept fds: no new listing */

	/* client 17's counter goes back: no rate (not 0 %, not 10 %) */
	amd_gfx(&r, "5400000000", "350000000");
	assert_int_equal(procgpu_read(pg, 1000, 5000, S(3), &u), 0);
	assert_false(u.dev[0].have_busy);
	/* ... and the larger value stays the baseline until it is passed:
	 * 5.5 s -> 6.0 s of gfx in the last second */
	amd_gfx(&r, "6000000000", "350000000");
	assert_int_equal(procgpu_read(pg, 1000, 5000, S(4), &u), 0);
	assert_near(u.dev[0].busy_pct, 50, 1e-9);

	/* the pid reused by another process: no baseline, no rate */
	amd_gfx(&r, "6900000000", "350000000");
	assert_int_equal(procgpu_read(pg, 1000, 5001, S(5), &u), 0);
	assert_false(u.dev[0].have_busy);
	procgpu_close(pg);
	fx_root_close(&r);
}

static void test_vanished_and_new_fds(void **state)
{
	(void)state;
	struct fx_root r;
	struct procgpu_usage u;
	struct procgpu_stats st;
	char path[PATH_MAX + 64];
	fx_root_tmp(&r, "fdinfo");
	struct procgpu *pg = pg_open(&r);
	assert_int_equal(procgpu_read(pg, 1000, 5000, S(1), &u), 0);

	/* fd 7 closed: its fdinfo is gone, so the fds are listed again now */
	fx_fmt(path, sizeof path, "%s/proc/1000/fdinfo/7", r.dir);
	assert_int_equal(unlink(path), 0);
	fx_fmt(path, sizeof path, "%s/proc/1000/fd/7", r.dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(procgpu_read(pg, 1000, 5000, S(2), &u), 0);
	assert_int_equal(one_dev(&u, "0000:03:00.0")->mem_bytes, (262144 + 8192) * KIB);
	procgpu_get_stats(pg, &st);
	assert_int_equal(st.listings, 2);

	/* a new DRM fd is found at the next listing, five seconds later */
	assert_int_equal(symlink("/dev/dri/renderD129", path), 0);
	fx_write(&r, "proc/1000/fdinfo/7", "drm-driver: i915\ndrm-pdev: 0000:00:02.0\n"
	         "drm-client-id: 4\ndrm-total-system0: 1 MiB\n");
	assert_int_equal(procgpu_read(pg, 1000, 5000, S(6), &u), 0);
	assert_int_equal(u.ndev, 1);
	assert_int_equal(procgpu_read(pg, 1000, 5000, S(7), &u), 0);
	assert_int_equal(u.ndev, 2);   /* one process on two GPUs */
	assert_int_equal(find_dev(&u, "0000:00:02.0")->mem_bytes, MIB);
	assert_int_equal(find_dev(&u, "0000:03:00.0")->mem_bytes, (262144 + 8192) * KIB);
	procgpu_get_stats(pg, &st);
	assert_int_equal(st.listings, 3);

	/* the process exits */
	fx_fmt(path, sizeof path, "%s/proc/1000/fd", r.dir);
	nftw(path, fx_rm_one, 8, FTW_DEPTH | FTW_PHYS);
	assert_int_equal(procgpu_read(pg, 1000, 5000, S(13), &u), -ESRCH);
	procgpu_close(pg);
	fx_root_close(&r);
}

/* A runtime-suspended GPU's fds are not read (that could wake it). */
static void test_asleep(void **state)
{
	(void)state;
	struct fx_root r;
	struct procgpu_usage u;
	struct procgpu_stats st;
	fx_root_tmp(&r, "fdinfo");
	struct procgpu *pg = pg_open(&r);
	fx_write(&r, "sys/class/drm/renderD128/device/power/runtime_status", "suspended\n");
	assert_int_equal(procgpu_read(pg, 1000, 5000, S(1), &u), 0);
	assert_int_equal(u.ndev, 0);
	procgpu_get_stats(pg, &st);
	assert_int_equal(st.asleep, 3);
	assert_int_equal(st.reads, 0);
	assert_int_equal(procgpu_read(pg, 2000, 6000, S(1), &u), 0);   /* renderD129: awake */
	assert_int_equal(u.ndev, 1);
	fx_write(&r, "sys/class/drm/renderD128/device/power/runtime_status", "active\n");
	assert_int_equal(procgpu_read(pg, 1000, 5000, S(2), &u), 0);
	assert_int_equal(u.ndev, 1);
	procgpu_close(pg);
	fx_root_close(&r);
}

/* A process not read in a round is forgotten at the sweep: no baseline. */
static void test_sweep(void **state)
{
	(void)state;
	struct fx_root r;
	struct procgpu_usage u;
	fx_root_tmp(&r, "fdinfo");
	struct procgpu *pg = pg_open(&r);
	assert_int_equal(procgpu_read(pg, 1000, 5000, S(1), &u), 0);
	assert_int_equal(procgpu_read(pg, 2000, 6000, S(1), &u), 0);
	procgpu_sweep(pg);
	assert_int_equal(procgpu_read(pg, 2000, 6000, S(2), &u), 0);
	procgpu_sweep(pg);   /* 1000 was not read: forgotten */
	amd_gfx(&r, "5500000000", "350000000");
	assert_int_equal(procgpu_read(pg, 1000, 5000, S(3), &u), 0);
	assert_false(u.dev[0].have_busy);
	assert_int_equal(procgpu_read(pg, 2000, 6000, S(3), &u), 0);
	assert_true(u.dev[0].have_busy);   /* kept: read in both rounds, 0 % */
	assert_near(u.dev[0].busy_pct, 0, 1e-9);
	procgpu_close(pg);
	fx_root_close(&r);
}

/* Another user's process: its fd directory cannot be listed. */
static void test_no_access(void **state)
{
	(void)state;
	struct fx_root r;
	char path[PATH_MAX + 64];
	fx_root_tmp(&r, "fdinfo");
	fx_fmt(path, sizeof path, "%s/proc/2000/fd", r.dir);
	assert_int_equal(chmod(path, 0), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(3);
		struct procgpu *pg = NULL;
		struct procgpu_usage u;
		if (procgpu_open(&r.env, &pg) < 0)
			_exit(4);
		int rc = procgpu_read(pg, 2000, 6000, S(1), &u);
		int rc2 = procgpu_read(pg, 2000, 6000, S(2), &u);   /* not listed again yet */
		procgpu_close(pg);
		_exit(rc == -EACCES && rc2 == 0 && u.ndev == 0 ? 0 : 1);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	chmod(path, 0755);
	fx_root_close(&r);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
		skip();
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_start_ticks(void **state)
{
	(void)state;
	struct fx_root r;
	uint64_t start = 0;
	fx_root_open(&r, "fdinfo");
	assert_int_equal(procgpu_start_ticks(r.env.procfd, 1000, &start), 0);
	assert_int_equal(start, 5000);
	assert_int_equal(procgpu_start_ticks(r.env.procfd, 7777, &start), -ESRCH);
	fx_root_close(&r);

	/* this machine: our own process, whose fds include no DRM file */
	int procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(procfd >= 0);
	assert_int_equal(procgpu_start_ticks(procfd, getpid(), &start), 0);
	assert_true(start > 0);
	fx_root_open(&r, "fdinfo");
	struct collect_env env = { procfd, r.env.sysfd, 100 };
	struct procgpu *pg = NULL;
	struct procgpu_usage u;
	assert_int_equal(procgpu_open(&env, &pg), 0);
	assert_int_equal(procgpu_read(pg, getpid(), start, S(1), &u), 0);
	assert_int_equal(u.ndev, 0);
	procgpu_close(pg);
	close(procfd);
	fx_root_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_amdgpu),
		cmocka_unit_test(test_parse_i915_xe),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_not_drm),
		cmocka_unit_test(test_parse_edges),
		cmocka_unit_test(test_engine_pct),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_read_fixture),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_vanished_and_new_fds),
		cmocka_unit_test(test_asleep),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_no_access),
		cmocka_unit_test(test_start_ticks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
