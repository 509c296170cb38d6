/* The Linux collectors, in the order a tick runs them. */
#include "linux.h"

const struct collector *const collect_platform[] = {
	/* cpufreq and thermal first: they leave per-CPU values on the
	 * cpuboard for proc_stat's cpu records of the same tick. */
	&sys_cpufreq_collector,
	&sys_thermal_collector,
	&proc_stat_collector,
	&proc_loadavg_collector,
	&proc_meminfo_collector,
	&proc_vmstat_collector,
	&proc_pressure_collector,
	&proc_diskstats_collector,
	&proc_net_dev_collector,
};

const unsigned collect_platform_count =
	sizeof collect_platform / sizeof collect_platform[0];
