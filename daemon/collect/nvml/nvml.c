/*
 * NVML binding through dlopen.  See nvml.h for the ABI notes and the rules.
 *
 * Symbol names are the versioned ones the NVML header #defines the plain
 * names to (nvmlInit → nvmlInit_v2 …).  Mandatory: nvmlInit_v2,
 * nvmlShutdown, nvmlDeviceGetCount_v2, nvmlDeviceGetHandleByIndex_v2,
 * nvmlErrorString.  Everything else is optional: a missing symbol makes its
 * metric absent.
 *
 * Process-info stride trap: drivers 535.43..535.86 write 32-byte entries
 * through the *same* _v3 symbols that every other driver uses with 24-byte
 * entries.  We size the buffer for 32-byte entries (so an unexpected wider
 * write never overruns), pick the stride from nvmlSystemGetDriverVersion,
 * and cross-check it with a sentinel probe: the buffer is filled with 0xAA
 * and, for k returned entries, a 24-byte driver leaves bytes [24k, 32k)
 * untouched while a 32-byte driver writes them.  If the probe disagrees
 * with the version, the probe wins (logged once).
 */
#include "nvml.h"

#include <assert.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static_assert(sizeof(struct nvml_abi_util) == 8, "util");
static_assert(sizeof(struct nvml_abi_mem_v1) == 24, "mem_v1");
static_assert(sizeof(struct nvml_abi_pci_v3) == 68, "pci_v3");
static_assert(sizeof(struct nvml_abi_proc24) == 24, "procinfo");
static_assert(sizeof(struct nvml_abi_proc32) == 32, "procinfo 535.43-86");
static_assert(sizeof(struct nvml_abi_proc16) == 16, "procinfo v1");
static_assert(offsetof(struct nvml_abi_proc24, used_gpu_memory) == 8, "procinfo mem");
static_assert(offsetof(struct nvml_abi_pci_v3, bus_id) == 36, "pci busId");

typedef struct nvml_opaque_dev *nvml_dev_t;

typedef int (*fn_void)(void);
typedef const char *(*fn_errstr)(int);
typedef int (*fn_count)(unsigned *);
typedef int (*fn_handle)(unsigned, nvml_dev_t *);
typedef int (*fn_str)(nvml_dev_t, char *, unsigned);
typedef int (*fn_pci)(nvml_dev_t, struct nvml_abi_pci_v3 *);
typedef int (*fn_util)(nvml_dev_t, struct nvml_abi_util *);
typedef int (*fn_mem)(nvml_dev_t, struct nvml_abi_mem_v1 *);
typedef int (*fn_uint)(nvml_dev_t, unsigned *);
typedef int (*fn_int_uint)(nvml_dev_t, int, unsigned *);
typedef int (*fn_ull)(nvml_dev_t, unsigned long long *);
typedef int (*fn_procs)(nvml_dev_t, unsigned *, void *);
typedef int (*fn_sysstr)(char *, unsigned);

/* Metric bits for the per-device NOT_SUPPORTED / warned-once masks. */
enum {
	M_NAME, M_UUID, M_PCI, M_UTIL, M_MEM, M_TEMP, M_POWER, M_PLIMIT,
	M_SMCLK, M_MEMCLK, M_GEN, M_WIDTH, M_GENMAX, M_WIDTHMAX, M_TX, M_RX,
	M_REPLAY, M_THROTTLE, M_PROC_C, M_PROC_G, M_COUNT
};

static const char *const metric_names[M_COUNT] = {
	"name", "uuid", "pci info", "utilization", "memory", "temperature",
	"power", "power limit", "SM clock", "memory clock", "link gen",
	"link width", "max link gen", "max link width", "PCIe TX", "PCIe RX",
	"replay counter", "throttle reasons", "compute processes",
	"graphics processes",
};

struct nvml_devstate {
	nvml_dev_t h;
	int have_handle;
	int static_done;
	uint32_t unsupported;     /* 1u << M_* */
	uint32_t warned;
	unsigned long errors;
	char name[NVML_NAME_LEN];
	char uuid[NVML_UUID_LEN];
	char busid[NVML_BUSID_LEN];
	uint32_t static_present;
};

struct nvml {
	void *dl;
	char path[256];
	int inited;
	unsigned count;
	struct nvml_devstate *dev;
	char driver[NVML_DRIVER_LEN];
	unsigned stride;        /* bytes per entry of the resolved proc function */
	int stride_checked;     /* probe confirmed (or corrected) the stride */
	unsigned char *pbuf;    /* process buffer, sized for 32-byte entries */
	size_t pbuf_len;

	fn_void init, shutdown;
	fn_errstr errstr;
	fn_count get_count;
	fn_handle get_handle;
	fn_str get_name, get_uuid;
	fn_pci get_pci;
	fn_util get_util;
	fn_mem get_mem;
	fn_int_uint get_temp, get_clock, get_pcie_tput;
	fn_uint get_power, get_plimit, get_gen, get_width, get_genmax, get_widthmax,
		get_replay;
	fn_ull get_throttle;
	fn_procs get_cprocs, get_gprocs;
	fn_sysstr get_driver;
};

static void *sym(void *dl, const char *name)
{
	return dlsym(dl, name);
}

/* dlsym returns void *; converting to a function pointer goes through memcpy
 * to stay clean under -Wpedantic. */
#define LOAD(dst, name) do { void *p_ = sym(n->dl, name); \
	if (p_) memcpy(&(dst), &p_, sizeof(dst)); } while (0)

const char *nvml_strerror(const struct nvml *n, int rc)
{
	if (n && n->errstr) {
		const char *s = n->errstr(rc);
		if (s)
			return s;
	}
	switch (rc) {
	case NVML_RC_SUCCESS: return "success";
	case NVML_RC_NOT_SUPPORTED: return "not supported";
	case NVML_RC_NO_PERMISSION: return "no permission";
	case NVML_RC_DRIVER_NOT_LOADED: return "driver not loaded";
	case NVML_RC_GPU_IS_LOST: return "GPU is lost";
	default: return "NVML error";
	}
}

unsigned nvml_stride_for_driver(const char *v)
{
	unsigned major, minor;
	if (!v || sscanf(v, "%u.%u", &major, &minor) != 2)
		return 24;
	if (major == 535 && minor >= 43 && minor <= 86)
		return 32;
	return 24;
}

int nvml_open(const char *libpath, struct nvml **out, char *err, size_t errlen)
{
	struct nvml *n;
	int rc;

	*out = NULL;
	if (!libpath || !*libpath)
		libpath = "libnvidia-ml.so.1";
	if (errlen)
		err[0] = '\0';
	n = calloc(1, sizeof *n);
	if (!n) {
		snprintf(err, errlen, "%s: out of memory", libpath);
		return -ENOMEM;
	}
	snprintf(n->path, sizeof n->path, "%s", libpath);
	n->dl = dlopen(libpath, RTLD_NOW | RTLD_LOCAL);
	if (!n->dl) {
		const char *e = dlerror();
		/* dlerror usually names the path already; name it anyway */
		snprintf(err, errlen, "cannot load NVML library %s: %s", libpath,
			 e ? e : "unknown error");
		free(n);
		return -ENOENT;
	}

	LOAD(n->init, "nvmlInit_v2");
	LOAD(n->shutdown, "nvmlShutdown");
	LOAD(n->errstr, "nvmlErrorString");
	LOAD(n->get_count, "nvmlDeviceGetCount_v2");
	LOAD(n->get_handle, "nvmlDeviceGetHandleByIndex_v2");
	{
		const char *missing = !n->init ? "nvmlInit_v2"
			: !n->shutdown ? "nvmlShutdown"
			: !n->errstr ? "nvmlErrorString"
			: !n->get_count ? "nvmlDeviceGetCount_v2"
			: !n->get_handle ? "nvmlDeviceGetHandleByIndex_v2" : NULL;
		if (missing) {
			snprintf(err, errlen, "%s: mandatory symbol %s missing", libpath, missing);
			dlclose(n->dl);
			free(n);
			return -ENOENT;
		}
	}
	LOAD(n->get_name, "nvmlDeviceGetName");
	LOAD(n->get_uuid, "nvmlDeviceGetUUID");
	LOAD(n->get_pci, "nvmlDeviceGetPciInfo_v3");
	LOAD(n->get_util, "nvmlDeviceGetUtilizationRates");
	LOAD(n->get_mem, "nvmlDeviceGetMemoryInfo");
	LOAD(n->get_temp, "nvmlDeviceGetTemperature");
	LOAD(n->get_power, "nvmlDeviceGetPowerUsage");
	LOAD(n->get_plimit, "nvmlDeviceGetEnforcedPowerLimit");
	if (!n->get_plimit)
		LOAD(n->get_plimit, "nvmlDeviceGetPowerManagementLimit");
	LOAD(n->get_clock, "nvmlDeviceGetClockInfo");
	LOAD(n->get_gen, "nvmlDeviceGetCurrPcieLinkGeneration");
	LOAD(n->get_width, "nvmlDeviceGetCurrPcieLinkWidth");
	LOAD(n->get_genmax, "nvmlDeviceGetMaxPcieLinkGeneration");
	LOAD(n->get_widthmax, "nvmlDeviceGetMaxPcieLinkWidth");
	LOAD(n->get_pcie_tput, "nvmlDeviceGetPcieThroughput");
	LOAD(n->get_replay, "nvmlDeviceGetPcieReplayCounter");
	LOAD(n->get_throttle, "nvmlDeviceGetCurrentClocksEventReasons");
	if (!n->get_throttle)
		LOAD(n->get_throttle, "nvmlDeviceGetCurrentClocksThrottleReasons");
	LOAD(n->get_driver, "nvmlSystemGetDriverVersion");

	/* Process lists: _v3, then _v2 (24-byte), then v1 (16-byte). */
	n->stride = 0;
	LOAD(n->get_cprocs, "nvmlDeviceGetComputeRunningProcesses_v3");
	LOAD(n->get_gprocs, "nvmlDeviceGetGraphicsRunningProcesses_v3");
	if (n->get_cprocs || n->get_gprocs) {
		n->stride = 24;   /* refined below from the driver version */
	} else {
		LOAD(n->get_cprocs, "nvmlDeviceGetComputeRunningProcesses_v2");
		LOAD(n->get_gprocs, "nvmlDeviceGetGraphicsRunningProcesses_v2");
		if (n->get_cprocs || n->get_gprocs) {
			n->stride = 24;
			n->stride_checked = 1;
		} else {
			LOAD(n->get_cprocs, "nvmlDeviceGetComputeRunningProcesses");
			LOAD(n->get_gprocs, "nvmlDeviceGetGraphicsRunningProcesses");
			n->stride = 16;
			n->stride_checked = 1;
		}
	}

	rc = n->init();
	if (rc != NVML_RC_SUCCESS) {
		snprintf(err, errlen, "%s: nvmlInit_v2 failed: %s (%d)", libpath,
			 nvml_strerror(n, rc), rc);
		dlclose(n->dl);
		free(n);
		return -EIO;
	}
	n->inited = 1;

	rc = n->get_count(&n->count);
	if (rc != NVML_RC_SUCCESS) {
		snprintf(err, errlen, "%s: nvmlDeviceGetCount_v2 failed: %s (%d)", libpath,
			 nvml_strerror(n, rc), rc);
		nvml_close(n);
		return -EIO;
	}
	if (n->count > 1024)
		n->count = 1024;   /* sanity: a broken library must not make us allocate GBs */
	n->dev = calloc(n->count ? n->count : 1, sizeof *n->dev);
	if (!n->dev) {
		snprintf(err, errlen, "%s: out of memory", libpath);
		nvml_close(n);
		return -ENOMEM;
	}

	if (n->get_driver) {
		char v[NVML_DRIVER_LEN] = "";
		if (n->get_driver(v, sizeof v) == NVML_RC_SUCCESS) {
			v[sizeof v - 1] = '\0';
			memcpy(n->driver, v, sizeof n->driver);
		}
	}
	if (n->stride == 24 && !n->stride_checked)
		n->stride = nvml_stride_for_driver(n->driver);

	*out = n;
	return 0;
}

void nvml_close(struct nvml *n)
{
	if (!n)
		return;
	if (n->inited && n->shutdown)
		n->shutdown();
	if (n->dl)
		dlclose(n->dl);
	free(n->dev);
	free(n->pbuf);
	free(n);
}

unsigned nvml_count(const struct nvml *n) { return n ? n->count : 0; }
const char *nvml_driver_version(const struct nvml *n) { return n ? n->driver : ""; }
unsigned nvml_proc_stride(const struct nvml *n) { return n ? n->stride : 0; }

unsigned long nvml_error_count(const struct nvml *n, unsigned idx)
{
	return n && idx < n->count ? n->dev[idx].errors : 0;
}

static void drop_handle(struct nvml_devstate *d)
{
	d->have_handle = 0;
	d->static_done = 0;
	d->unsupported = 0;
	d->static_present = 0;
}

/* Get (or reuse) the handle.  0, -ENODEV, -EIO. */
static int dev_handle(struct nvml *n, unsigned idx, struct nvml_devstate *d)
{
	int rc;
	if (d->have_handle)
		return 0;
	rc = n->get_handle(idx, &d->h);
	if (rc == NVML_RC_SUCCESS) {
		d->have_handle = 1;
		return 0;
	}
	if (rc == NVML_RC_GPU_IS_LOST)
		return -ENODEV;
	d->errors++;
	if (!(d->warned & (1u << 31))) {
		d->warned |= 1u << 31;
		log_warnx("nvml: GPU %u: no handle: %s (%d)", idx, nvml_strerror(n, rc), rc);
	}
	return -EIO;
}

/*
 * Classify one call's result.  1: value valid; 0: absent; -1: GPU lost.
 */
static int check(struct nvml *n, unsigned idx, struct nvml_devstate *d, int m, int rc,
		 unsigned *errs)
{
	if (rc == NVML_RC_SUCCESS)
		return 1;
	if (rc == NVML_RC_GPU_IS_LOST)
		return -1;
	if (rc == NVML_RC_NOT_SUPPORTED) {
		d->unsupported |= 1u << m;
		return 0;
	}
	d->errors++;
	if (errs)
		(*errs)++;
	if (!(d->warned & (1u << m))) {
		d->warned |= 1u << m;
		log_debug("nvml: GPU %u: %s: %s (%d)", idx, metric_names[m],
			  nvml_strerror(n, rc), rc);
	}
	return 0;
}

#define WANT(fn, m) ((fn) && !(d->unsupported & (1u << (m))))

/* Run one getter: returns -ENODEV from the enclosing function on loss. */
#define STEP(fn, m, flag, call) do { \
	if (WANT(fn, m)) { \
		int c_ = check(n, idx, d, (m), (call), &out->errors); \
		if (c_ < 0) goto lost; \
		if (c_ > 0) out->present |= (flag); \
	} } while (0)

/* A string getter (name, UUID) into dst, NUL-terminated whatever NVML
 * wrote.  0, or -ENODEV when the device is lost. */
static int read_string(struct nvml *n, unsigned idx, struct nvml_devstate *d, int m, fn_str get,
		       char *dst, size_t cap, unsigned flag)
{
	char buf[NVML_NAME_LEN > NVML_UUID_LEN ? NVML_NAME_LEN : NVML_UUID_LEN];
	if (!WANT(get, m))
		return 0;
	memset(buf, 0, sizeof buf);
	int c = check(n, idx, d, m, get(d->h, buf, (unsigned)sizeof buf), NULL);
	if (c < 0)
		return -ENODEV;
	if (c > 0) {
		buf[sizeof buf - 1] = '\0';
		snprintf(dst, cap, "%s", buf);
		d->static_present |= flag;
	}
	return 0;
}

static int read_static(struct nvml *n, unsigned idx, struct nvml_devstate *d)
{
	int c;

	d->static_present = 0;
	if (read_string(n, idx, d, M_NAME, n->get_name, d->name, sizeof d->name, NVML_HAS_NAME) < 0 ||
	    read_string(n, idx, d, M_UUID, n->get_uuid, d->uuid, sizeof d->uuid, NVML_HAS_UUID) < 0)
		return -ENODEV;
	if (WANT(n->get_pci, M_PCI)) {
		struct nvml_abi_pci_v3 pci;
		memset(&pci, 0, sizeof pci);
		c = check(n, idx, d, M_PCI, n->get_pci(d->h, &pci), NULL);
		if (c < 0)
			return -ENODEV;
		if (c > 0) {
			pci.bus_id[sizeof pci.bus_id - 1] = '\0';
			memcpy(d->busid, pci.bus_id, sizeof d->busid);
			d->static_present |= NVML_HAS_BUSID;
		}
	}
	/* Read once: done when each string succeeded or is unsupported; one
	 * that failed for a transient reason makes the next sample retry. */
	d->static_done = (!n->get_name || (d->static_present & NVML_HAS_NAME) ||
			  (d->unsupported & (1u << M_NAME))) &&
			 (!n->get_uuid || (d->static_present & NVML_HAS_UUID) ||
			  (d->unsupported & (1u << M_UUID))) &&
			 (!n->get_pci || (d->static_present & NVML_HAS_BUSID) ||
			  (d->unsupported & (1u << M_PCI)));
	return 0;
}

int nvml_sample(struct nvml *n, unsigned idx, unsigned flags, struct nvml_dev_sample *out)
{
	struct nvml_devstate *d;
	int rc;

	if (!n || !out || idx >= n->count)
		return -EINVAL;
	memset(out, 0, sizeof *out);
	d = &n->dev[idx];
	rc = dev_handle(n, idx, d);
	if (rc < 0)
		return rc;
	if (!d->static_done && read_static(n, idx, d) < 0)
		goto lost;
	out->present = d->static_present;
	memcpy(out->name, d->name, sizeof out->name);
	memcpy(out->uuid, d->uuid, sizeof out->uuid);
	memcpy(out->pci_bus_id, d->busid, sizeof out->pci_bus_id);

	{
		struct nvml_abi_util u = { 0, 0 };
		STEP(n->get_util, M_UTIL, NVML_HAS_UTIL, n->get_util(d->h, &u));
		out->gpu_util_pct = u.gpu;
		out->mem_util_pct = u.memory;
	}
	{
		struct nvml_abi_mem_v1 m = { 0, 0, 0 };
		STEP(n->get_mem, M_MEM, NVML_HAS_MEM, n->get_mem(d->h, &m));
		out->mem_used_bytes = m.used;
		out->mem_total_bytes = m.total;
	}
	STEP(n->get_temp, M_TEMP, NVML_HAS_TEMP, n->get_temp(d->h, NVML_TEMP_GPU, &out->temp_c));
	{
		unsigned mw = 0;
		STEP(n->get_power, M_POWER, NVML_HAS_POWER, n->get_power(d->h, &mw));
		out->power_w = mw / 1000.0;
		mw = 0;
		STEP(n->get_plimit, M_PLIMIT, NVML_HAS_POWER_LIMIT, n->get_plimit(d->h, &mw));
		out->power_limit_w = mw / 1000.0;
	}
	STEP(n->get_clock, M_SMCLK, NVML_HAS_SM_CLOCK,
	     n->get_clock(d->h, NVML_CLOCK_SM, &out->sm_clock_mhz));
	STEP(n->get_clock, M_MEMCLK, NVML_HAS_MEM_CLOCK,
	     n->get_clock(d->h, NVML_CLOCK_MEM, &out->mem_clock_mhz));
	STEP(n->get_gen, M_GEN, NVML_HAS_LINK_GEN, n->get_gen(d->h, &out->link_gen));
	STEP(n->get_width, M_WIDTH, NVML_HAS_LINK_WIDTH, n->get_width(d->h, &out->link_width));
	STEP(n->get_genmax, M_GENMAX, NVML_HAS_LINK_GEN_MAX,
	     n->get_genmax(d->h, &out->link_gen_max));
	STEP(n->get_widthmax, M_WIDTHMAX, NVML_HAS_LINK_WIDTH_MAX,
	     n->get_widthmax(d->h, &out->link_width_max));
	if (flags & NVML_SAMPLE_PCIE_THROUGHPUT) {
		STEP(n->get_pcie_tput, M_TX, NVML_HAS_PCIE_TX,
		     n->get_pcie_tput(d->h, NVML_PCIE_TX_BYTES, &out->pcie_tx_kbps));
		STEP(n->get_pcie_tput, M_RX, NVML_HAS_PCIE_RX,
		     n->get_pcie_tput(d->h, NVML_PCIE_RX_BYTES, &out->pcie_rx_kbps));
	}
	STEP(n->get_replay, M_REPLAY, NVML_HAS_PCIE_REPLAY, n->get_replay(d->h, &out->pcie_replay));
	{
		unsigned long long t = 0;
		STEP(n->get_throttle, M_THROTTLE, NVML_HAS_THROTTLE, n->get_throttle(d->h, &t));
		out->throttle_reasons = t;
	}
	/* zero what is absent, so no stale value can be mistaken for a reading */
	if (!(out->present & NVML_HAS_TEMP)) out->temp_c = 0;
	if (!(out->present & NVML_HAS_SM_CLOCK)) out->sm_clock_mhz = 0;
	if (!(out->present & NVML_HAS_MEM_CLOCK)) out->mem_clock_mhz = 0;
	return 0;

lost:
	drop_handle(d);
	out->present = 0;
	return -ENODEV;
}

/* Is any byte in [from, to) different from the 0xAA fill? */
static int touched(const unsigned char *b, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (b[i] != 0xAA)
			return 1;
	return 0;
}

static void add_proc(struct nvml_proc *out, unsigned *cnt, unsigned max, uint32_t pid,
		     uint64_t bytes, unsigned kind)
{
	for (unsigned i = 0; i < *cnt; i++) {
		if (out[i].pid == pid) {
			out[i].kind |= kind;
			/* the same process in both lists: keep the larger known figure */
			if (out[i].used_bytes == NVML_PROC_MEM_UNKNOWN ||
			    (bytes != NVML_PROC_MEM_UNKNOWN && bytes > out[i].used_bytes))
				out[i].used_bytes = bytes;
			return;
		}
	}
	if (*cnt >= max)
		return;
	out[*cnt].pid = pid;
	out[*cnt].kind = kind;
	out[*cnt].used_bytes = bytes;
	(*cnt)++;
}

/* One list.  0, -ENODEV, -ENOTSUP, -EIO, -ENOMEM. */
static int list_procs(struct nvml *n, unsigned idx, struct nvml_devstate *d, fn_procs fn,
		      int m, unsigned kind, struct nvml_proc *out, unsigned *cnt, unsigned max)
{
	unsigned want = 0;
	int rc = -EIO, c;

	if (!WANT(fn, m))
		return -ENOTSUP;
	c = fn(d->h, &want, NULL);
	if (c == NVML_RC_SUCCESS)
		return 0;                 /* no processes */
	for (int attempt = 0; attempt < 4; attempt++) {
		unsigned cap, got, stride;
		size_t need;

		if (c != NVML_RC_INSUFFICIENT_SIZE) {
			c = check(n, idx, d, m, c, NULL);
			return c < 0 ? -ENODEV : (d->unsupported & (1u << m)) ? -ENOTSUP : -EIO;
		}
		if (want > 65536)
			want = 65536;
		cap = want + 8 + (unsigned)attempt * 16;   /* the list is dynamic */
		need = (size_t)cap * 32;                   /* room for 32-byte entries */
		if (n->pbuf_len < need) {
			unsigned char *nb = realloc(n->pbuf, need);
			if (!nb)
				return -ENOMEM;
			n->pbuf = nb;
			n->pbuf_len = need;
		}
		memset(n->pbuf, 0xAA, need);
		got = cap;
		c = fn(d->h, &got, n->pbuf);
		if (c == NVML_RC_INSUFFICIENT_SIZE) {
			want = got > want ? got : want + 16;
			continue;
		}
		if (c != NVML_RC_SUCCESS)
			continue;   /* classified at the top of the loop */
		if (got > cap)
			got = cap;
		stride = n->stride;
		if (stride == 24 || stride == 32) {
			/* sentinel probe: did the driver write past 24 bytes per entry? */
			int wide = got > 0 && touched(n->pbuf, (size_t)got * 24, (size_t)got * 32);
			unsigned probed = wide ? 32 : 24;
			if (got > 0 && probed != stride) {
				log_warnx("nvml: driver %s writes %u-byte process entries, not %u",
					  n->driver[0] ? n->driver : "(unknown)", probed, stride);
				n->stride = stride = probed;
			}
			if (got > 0)
				n->stride_checked = 1;
		}
		for (unsigned i = 0; i < got; i++) {
			const unsigned char *e = n->pbuf + (size_t)i * stride;
			uint32_t pid;
			uint64_t bytes;
			memcpy(&pid, e, sizeof pid);
			memcpy(&bytes, e + 8, sizeof bytes);
			add_proc(out, cnt, max, pid, bytes, kind);
		}
		return 0;
	}
	if (c == NVML_RC_SUCCESS || c == NVML_RC_INSUFFICIENT_SIZE)
		return -EIO;  /* kept growing: give up this round */
	c = check(n, idx, d, m, c, NULL);
	if (c < 0)
		return -ENODEV;
	return rc;
}

int nvml_processes(struct nvml *n, unsigned idx, struct nvml_proc *out, unsigned max)
{
	struct nvml_devstate *d;
	unsigned cnt = 0;
	int rc, rc1, rc2;

	if (!n || idx >= n->count || (!out && max))
		return -EINVAL;
	d = &n->dev[idx];
	rc = dev_handle(n, idx, d);
	if (rc < 0)
		return rc;
	rc1 = list_procs(n, idx, d, n->get_cprocs, M_PROC_C, NVML_PROC_COMPUTE, out, &cnt, max);
	if (rc1 == -ENODEV)
		goto lost;
	rc2 = list_procs(n, idx, d, n->get_gprocs, M_PROC_G, NVML_PROC_GRAPHICS, out, &cnt, max);
	if (rc2 == -ENODEV)
		goto lost;
	if (rc1 < 0 && rc2 < 0)
		return rc1 == -ENOTSUP && rc2 == -ENOTSUP ? -ENOTSUP
			: rc1 != -ENOTSUP ? rc1 : rc2;
	return (int)cnt;
lost:
	drop_handle(d);
	return -ENODEV;
}
