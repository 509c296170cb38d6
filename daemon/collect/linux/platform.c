/* The Linux collectors, in the order a tick runs them. */
#include "linux.h"

#include <stdio.h>
#include <string.h>

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

int collect_pci_suspended(int sysfd, const char *bdf)
{
	char dev[64];
	if (sysfd < 0 || !bdf[0] || strchr(bdf, '/') || strstr(bdf, ".."))
		return 0;
	snprintf(dev, sizeof dev, "bus/pci/devices/%s", bdf);
	return linux_runtime_suspended(sysfd, dev);
}
