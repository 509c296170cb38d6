/*
 * The per-tick board where cpufreq and thermal leave per-CPU values for
 * proc_stat (see linux.h).  A value counts only for the tick it was put
 * in: stamps are tick_ns + 1 so that the zeroed board never matches.
 *
 * Static storage sized for CONFIG_NR_CPUS' maximum on x86: it is .bss,
 * so only the pages of CPUs that exist are ever touched.
 */
#include "linux.h"

struct cpuboard_slot {
	double freq_mhz;
	double temp_c;
	uint64_t freq_stamp;
	uint64_t temp_stamp;
};

static struct cpuboard_slot cpuboard[CPUBOARD_MAX];
static unsigned cpuboard_hi;        /* slots [0, hi) have been written */
static double cpuboard_pkg;
static uint64_t cpuboard_pkg_stamp;

static void cpuboard_touch(unsigned cpu)
{
	if (cpu >= cpuboard_hi)
		cpuboard_hi = cpu + 1;
}

void cpuboard_put_freq(unsigned cpu, uint64_t tick_ns, double mhz)
{
	if (cpu >= CPUBOARD_MAX)
		return;
	cpuboard_touch(cpu);
	cpuboard[cpu].freq_mhz = mhz;
	cpuboard[cpu].freq_stamp = tick_ns + 1;
}

void cpuboard_put_temp(unsigned cpu, uint64_t tick_ns, double c)
{
	if (cpu >= CPUBOARD_MAX)
		return;
	cpuboard_touch(cpu);
	cpuboard[cpu].temp_c = c;
	cpuboard[cpu].temp_stamp = tick_ns + 1;
}

void cpuboard_put_pkg_temp(uint64_t tick_ns, double c)
{
	if (cpuboard_pkg_stamp == tick_ns + 1 && cpuboard_pkg >= c)
		return;
	cpuboard_pkg = c;
	cpuboard_pkg_stamp = tick_ns + 1;
}

int cpuboard_freq(unsigned cpu, uint64_t tick_ns, double *mhz)
{
	if (cpu >= CPUBOARD_MAX || cpuboard[cpu].freq_stamp != tick_ns + 1)
		return 0;
	*mhz = cpuboard[cpu].freq_mhz;
	return 1;
}

int cpuboard_temp(unsigned cpu, uint64_t tick_ns, double *c)
{
	if (cpu >= CPUBOARD_MAX || cpuboard[cpu].temp_stamp != tick_ns + 1)
		return 0;
	*c = cpuboard[cpu].temp_c;
	return 1;
}

int cpuboard_pkg_temp(uint64_t tick_ns, double *c)
{
	if (cpuboard_pkg_stamp != tick_ns + 1)
		return 0;
	*c = cpuboard_pkg;
	return 1;
}

void cpuboard_forget_freq(void)
{
	for (unsigned i = 0; i < cpuboard_hi; i++)
		cpuboard[i].freq_stamp = 0;
}

void cpuboard_forget_temp(void)
{
	for (unsigned i = 0; i < cpuboard_hi; i++)
		cpuboard[i].temp_stamp = 0;
	cpuboard_pkg_stamp = 0;
}
