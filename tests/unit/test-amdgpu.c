/* AMD GPUs through amdgpu sysfs, over tests/fixtures/linux/amdgpu. */
#include "test-collect.h"

#include "linux/sys_amdgpu.h"

#define GPU_DIR "sys/devices/pci0000:00/0000:00:01.1/0000:01:00.0/0000:02:00.0/0000:03:00.0"
#define GPU_ATTR(name) GPU_DIR "/" name

/* The cards of fixture case name (tmp: of a copy to change). */
static struct amdgpu *open_on(struct fx_root *r, const char *name, int tmp)
{
	struct amdgpu *a = NULL;
	if (tmp)
		fx_root_tmp(r, name);
	else
		fx_root_open(r, name);
	assert_int_equal(amdgpu_open(r->env.sysfd, &a), 0);
	assert_non_null(a);
	return a;
}

static void test_parse_dpm(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int rc;
		double mhz;
	} cases[] = {
		{ "0: 500Mhz \n1: 2215Mhz *\n2: 2495Mhz \n", 0, 2215 },
		{ "0: 96Mhz *\n1: 456Mhz \n", 0, 96 },
		{ "0: 300Mhz\n1: 1200Mhz *", 0, 1200 },          /* no final newline */
		{ "S: 19Mhz *\n0: 500Mhz \n1: 2500Mhz \n", 0, 19 },  /* deep sleep level */
		{ "0: 0Mhz *\n1: 0Mhz *", 0, 0 },                 /* gfxoff: the first '*' */
		{ "0: 500Mhz \n1: 2500Mhz \n", -ENODATA, 0 },     /* no current level */
		{ "", -ENODATA, 0 },
		{ "1: xMhz *\n", -EINVAL, 0 },
		{ "*\n", -EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		double mhz = -1;
		int rc = amdgpu_parse_dpm(cases[i].in, strlen(cases[i].in), &mhz);
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d, want %d", i, rc, cases[i].rc);
		if (rc == 0)
			assert_near(mhz, cases[i].mhz, 0);
	}
}

static void test_parse_small(void **state)
{
	(void)state;
	uint64_t v = 0;
	assert_int_equal(amdgpu_parse_u64("37\n", 3, &v), 0);
	assert_int_equal(v, 37);
	assert_int_equal(amdgpu_parse_u64("51522830336", 11, &v), 0);
	assert_int_equal(v, 51522830336ull);
	assert_int_equal(amdgpu_parse_u64("", 0, &v), -EINVAL);
	assert_int_equal(amdgpu_parse_u64("12 %\n", 5, &v), -EINVAL);
	assert_int_equal(amdgpu_parse_u64("-1\n", 3, &v), -EINVAL);
	assert_int_equal(amdgpu_parse_suspended("suspended\n", 10), 1);
	assert_int_equal(amdgpu_parse_suspended("suspending\n", 11), 1);
	assert_int_equal(amdgpu_parse_suspended("active\n", 7), 0);
	assert_int_equal(amdgpu_parse_suspended("resuming\n", 9), 0);
	assert_int_equal(amdgpu_parse_suspended("unsupported\n", 12), 0);
	assert_int_equal(amdgpu_parse_suspended("", 0), 0);
}

static void test_discovery(void **state)
{
	(void)state;
	struct fx_root r;
	struct amdgpu *a = open_on(&r, "amdgpu", 0);
	/* card0, card1; not card0-DP-1, card1-eDP-1 or renderD128 */
	assert_int_equal(amdgpu_count(a), 2);
	const struct amdgpu_info *i0 = amdgpu_info(a, 0), *i1 = amdgpu_info(a, 1);
	assert_non_null(i0);
	assert_non_null(i1);
	assert_null(amdgpu_info(a, 2));
	assert_int_equal(i0->card, 0);
	assert_string_equal(i0->name, "AMD Radeon PRO W7900");
	assert_string_equal(i0->pci, "0000:03:00.0");
	assert_string_equal(i0->unique_id, "5c2e4a1b3f0d9e87");
	assert_true(i0->has_temp_crit);
	assert_near(i0->temp_crit_c, 100, 1e-9);
	assert_int_equal(i1->card, 1);
	assert_string_equal(i1->name, "AMD GPU 1002:15bf");   /* no product_name */
	assert_string_equal(i1->pci, "0000:c1:00.0");
	assert_string_equal(i1->unique_id, "");
	assert_false(i1->has_temp_crit);
	amdgpu_close(a);
	fx_root_close(&r);
}

static void test_sample_dgpu(void **state)
{
	(void)state;
	struct fx_root r;
	struct amdgpu_sample s;
	struct amdgpu *a = open_on(&r, "amdgpu", 0);
	assert_int_equal(amdgpu_sample(a, 0, AMDGPU_SAMPLE_SLOW, &s), AMDGPU_ACTIVE);
	assert_near(s.busy_pct, 37, 0);
	assert_near(s.mem_busy_pct, 12, 0);
	assert_int_equal(s.vram_used, 6442450944ull);
	assert_int_equal(s.vram_total, 51522830336ull);
	assert_int_equal(s.gtt_used, 125829120ull);
	assert_int_equal(s.gtt_total, 33336713216ull);
	assert_near(s.temp_c, 52, 1e-9);
	assert_near(s.power_w, 212, 1e-9);
	assert_near(s.power_cap_w, 295, 1e-9);
	assert_near(s.sclk_mhz, 2215, 0);
	assert_near(s.mclk_mhz, 1249, 0);
	/* the link of the card's switch upstream port (0000:01:00.0), not the
	 * GPU function's internal 16 GT/s one */
	assert_int_equal(s.link_gen, 1);
	assert_int_equal(s.link_width, 16);
	assert_int_equal(s.link_gen_max, 4);
	assert_int_equal(s.link_width_max, 16);
	assert_int_equal(s.replay, 0);
	unsigned all = AMDGPU_HAS_BUSY | AMDGPU_HAS_MEM_BUSY | AMDGPU_HAS_VRAM_USED |
	               AMDGPU_HAS_VRAM_TOTAL | AMDGPU_HAS_GTT_USED | AMDGPU_HAS_GTT_TOTAL |
	               AMDGPU_HAS_TEMP | AMDGPU_HAS_POWER | AMDGPU_HAS_POWER_CAP |
	               AMDGPU_HAS_SCLK | AMDGPU_HAS_MCLK | AMDGPU_HAS_LINK_GEN |
	               AMDGPU_HAS_LINK_WIDTH | AMDGPU_HAS_LINK_GEN_MAX |
	               AMDGPU_HAS_LINK_WIDTH_MAX | AMDGPU_HAS_REPLAY;
	assert_int_equal(s.has, all);
	/* without the slow flag: no link, replay or cap */
	assert_int_equal(amdgpu_sample(a, 0, 0, &s), AMDGPU_ACTIVE);
	assert_int_equal(s.has, all & ~(unsigned)(AMDGPU_HAS_POWER_CAP | AMDGPU_HAS_LINK_GEN |
	                 AMDGPU_HAS_LINK_WIDTH | AMDGPU_HAS_LINK_GEN_MAX |
	                 AMDGPU_HAS_LINK_WIDTH_MAX | AMDGPU_HAS_REPLAY));
	assert_int_equal(amdgpu_sample(a, 2, 0, &s), -EINVAL);
	amdgpu_close(a);
	fx_root_close(&r);
}

/* The APU: no hwmon power, no mem_busy_percent: absent, not zero. */
static void test_sample_apu_absent(void **state)
{
	(void)state;
	struct fx_root r;
	struct amdgpu_sample s;
	struct amdgpu *a = open_on(&r, "amdgpu", 0);
	assert_int_equal(amdgpu_sample(a, 1, AMDGPU_SAMPLE_SLOW, &s), AMDGPU_ACTIVE);
	assert_false(s.has & AMDGPU_HAS_POWER);
	assert_false(s.has & AMDGPU_HAS_POWER_CAP);
	assert_false(s.has & AMDGPU_HAS_MEM_BUSY);
	assert_false(s.has & AMDGPU_HAS_REPLAY);
	assert_true(s.has & AMDGPU_HAS_BUSY);
	assert_near(s.busy_pct, 4, 0);
	assert_near(s.temp_c, 45, 1e-9);
	assert_int_equal(s.vram_total, 536870912ull);
	assert_int_equal(s.gtt_used, 201326592ull);
	assert_near(s.sclk_mhz, 1048, 0);
	assert_near(s.mclk_mhz, 400, 0);
	/* no AMD bridge above it: its own link */
	assert_int_equal(s.link_gen, 4);
	assert_int_equal(s.link_gen_max, 4);
	amdgpu_close(a);
	fx_root_close(&r);
}

/* Kept fds see new values; junk is absent; a sleeping card is not read. */
static void test_changes_and_sleep(void **state)
{
	(void)state;
	struct fx_root r;
	struct amdgpu_sample s;
	struct amdgpu *a = open_on(&r, "amdgpu", 1);
	fx_write(&r, GPU_ATTR("gpu_busy_percent"), "81\n");
	fx_write(&r, GPU_ATTR("pp_dpm_sclk"), "0: 500Mhz *\n1: 2215Mhz \n2: 2495Mhz \n");
	assert_int_equal(amdgpu_sample(a, 0, 0, &s), AMDGPU_ACTIVE);
	assert_near(s.busy_pct, 81, 0);
	assert_near(s.sclk_mhz, 500, 0);

	fx_write(&r, GPU_ATTR("gpu_busy_percent"), "garbage\n");
	fx_write(&r, GPU_ATTR("mem_busy_percent"), "250\n");     /* not a percentage */
	fx_write(&r, GPU_ATTR("pp_dpm_sclk"), "0: 500Mhz \n1: 2215Mhz \n");
	fx_write(&r, GPU_ATTR("hwmon/hwmon2/temp1_input"), "");
	assert_int_equal(amdgpu_sample(a, 0, 0, &s), AMDGPU_ACTIVE);
	assert_false(s.has & (AMDGPU_HAS_BUSY | AMDGPU_HAS_MEM_BUSY | AMDGPU_HAS_SCLK |
	                      AMDGPU_HAS_TEMP));
	assert_true(s.has & AMDGPU_HAS_VRAM_USED);

	fx_write(&r, GPU_ATTR("gpu_busy_percent"), "99\n");
	fx_write(&r, GPU_ATTR("power/runtime_status"), "suspended\n");
	assert_int_equal(amdgpu_sample(a, 0, AMDGPU_SAMPLE_SLOW, &s), AMDGPU_SLEEPING);
	assert_int_equal(s.has, 0);
	assert_int_equal(amdgpu_sample(a, 1, 0, &s), AMDGPU_ACTIVE);   /* the other one */
	fx_write(&r, GPU_ATTR("power/runtime_status"), "active\n");
	assert_int_equal(amdgpu_sample(a, 0, 0, &s), AMDGPU_ACTIVE);
	assert_near(s.busy_pct, 99, 0);
	amdgpu_close(a);
	fx_root_close(&r);
}

static void rename_in(struct fx_root *r, const char *from, const char *to)
{
	char a[PATH_MAX + 300], b[PATH_MAX + 300];
	fx_fmt(a, sizeof a, "%s/%s", r->dir, from);
	fx_fmt(b, sizeof b, "%s/%s", r->dir, to);
	assert_int_equal(rename(a, b), 0);
}

/* A card that goes away is gone until a rescan finds it; it keeps its
 * slot, even when it comes back as another cardN. */
static void test_gone_and_back(void **state)
{
	(void)state;
	struct fx_root r;
	struct amdgpu_sample s;
	struct amdgpu *a = open_on(&r, "amdgpu", 1);
	rename_in(&r, GPU_DIR, GPU_DIR ".away");
	assert_int_equal(amdgpu_sample(a, 0, 0, &s), -ENODEV);
	assert_int_equal(s.has, 0);
	assert_int_equal(amdgpu_sample(a, 1, 0, &s), AMDGPU_ACTIVE);
	assert_int_equal(amdgpu_rescan(a), 2);
	assert_int_equal(amdgpu_sample(a, 0, 0, &s), -ENODEV);
	assert_string_equal(amdgpu_info(a, 0)->pci, "0000:03:00.0");   /* still named */

	rename_in(&r, GPU_DIR ".away", GPU_DIR);
	assert_int_equal(amdgpu_sample(a, 0, 0, &s), -ENODEV);   /* until a rescan */
	assert_int_equal(amdgpu_rescan(a), 2);
	assert_int_equal(amdgpu_sample(a, 0, 0, &s), AMDGPU_ACTIVE);
	assert_near(s.busy_pct, 37, 0);

	/* re-plugged as card2: same PCI address, same slot */
	rename_in(&r, "sys/class/drm/card0", "sys/class/drm/card2");
	assert_int_equal(amdgpu_sample(a, 0, 0, &s), -ENODEV);
	assert_int_equal(amdgpu_rescan(a), 2);
	assert_int_equal(amdgpu_sample(a, 0, 0, &s), AMDGPU_ACTIVE);
	assert_int_equal(amdgpu_info(a, 0)->card, 2);
	amdgpu_close(a);
	fx_root_close(&r);
}

/* mkdir -p of rel's parent under the root, then rel with content. */
static void put(struct fx_root *r, const char *rel, const char *content)
{
	char p[PATH_MAX + 300];
	fx_fmt(p, sizeof p, "%s/%s", r->dir, rel);
	for (char *s = p + strlen(r->dir) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	fx_write(r, rel, content);
}

static void relink(struct fx_root *r, const char *rel, const char *target)
{
	char p[PATH_MAX + 300];
	fx_fmt(p, sizeof p, "%s/%s", r->dir, rel);
	unlink(p);
	assert_int_equal(symlink(target, p), 0);
}

/* Cards of other drivers are not ours; a new amdgpu card gets a new slot. */
static void test_other_drivers_and_new_cards(void **state)
{
	(void)state;
	struct fx_root r;
	struct amdgpu_sample s;
	struct amdgpu *a = open_on(&r, "amdgpu", 1);
	/* an Intel iGPU as card3 */
	put(&r, "sys/bus/pci/drivers/i915/uevent", "");
	put(&r, "sys/devices/pci0000:00/0000:00:02.0/drm/card3/dev", "226:3\n");
	relink(&r, "sys/devices/pci0000:00/0000:00:02.0/driver", "../../../bus/pci/drivers/i915");
	relink(&r, "sys/devices/pci0000:00/0000:00:02.0/drm/card3/device", "../../../0000:00:02.0");
	relink(&r, "sys/class/drm/card3", "../../devices/pci0000:00/0000:00:02.0/drm/card3");
	assert_int_equal(amdgpu_rescan(a), 2);

	/* a second W7900 at 0000:43:00.0, straight under its host bridge */
	char src[PATH_MAX + 300], dst[PATH_MAX + 300];
	put(&r, "sys/devices/pci0000:40/uevent", "");
	fx_fmt(src, sizeof src, "%s/" GPU_DIR, r.dir);
	fx_fmt(dst, sizeof dst, "%s/sys/devices/pci0000:40/0000:43:00.0", r.dir);
	fx_copy(src, dst);
	relink(&r, "sys/devices/pci0000:40/0000:43:00.0/driver", "../../../bus/pci/drivers/amdgpu");
	relink(&r, "sys/devices/pci0000:40/0000:43:00.0/drm/card0/device", "../../../0000:43:00.0");
	relink(&r, "sys/class/drm/card4", "../../devices/pci0000:40/0000:43:00.0/drm/card0");
	fx_write(&r, "sys/devices/pci0000:40/0000:43:00.0/gpu_busy_percent", "64\n");
	assert_int_equal(amdgpu_rescan(a), 3);
	assert_string_equal(amdgpu_info(a, 2)->pci, "0000:43:00.0");
	assert_int_equal(amdgpu_info(a, 2)->card, 4);
	assert_int_equal(amdgpu_sample(a, 2, AMDGPU_SAMPLE_SLOW, &s), AMDGPU_ACTIVE);
	assert_near(s.busy_pct, 64, 0);
	assert_int_equal(s.link_gen, 4);   /* no AMD bridge above: its own link */
	assert_int_equal(amdgpu_sample(a, 0, 0, &s), AMDGPU_ACTIVE);
	assert_near(s.busy_pct, 37, 0);    /* the first one is still itself */
	assert_int_equal(amdgpu_rescan(a), 3);   /* nothing new twice */
	amdgpu_close(a);
	fx_root_close(&r);
}

/* No class/drm at all: no card, no error. */
static void test_no_cards(void **state)
{
	(void)state;
	struct fx_root r;
	struct amdgpu_sample s;
	struct amdgpu *a = open_on(&r, "normal", 0);
	assert_int_equal(amdgpu_count(a), 0);
	assert_int_equal(amdgpu_sample(a, 0, 0, &s), -EINVAL);
	assert_int_equal(amdgpu_rescan(a), 0);
	amdgpu_close(a);
	fx_root_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_dpm),
		cmocka_unit_test(test_parse_small),
		cmocka_unit_test(test_discovery),
		cmocka_unit_test(test_sample_dgpu),
		cmocka_unit_test(test_sample_apu_absent),
		cmocka_unit_test(test_changes_and_sleep),
		cmocka_unit_test(test_gone_and_back),
		cmocka_unit_test(test_other_drivers_and_new_cards),
		cmocka_unit_test(test_no_cards),
	};
	return cmocka_run_group_tests_name("amdgpu", tests, NULL, NULL);
}
