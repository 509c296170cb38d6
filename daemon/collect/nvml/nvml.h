/*
 * NVIDIA NVML, loaded at run time with dlopen (no link-time dependency, no
 * NVIDIA header).  The few ABI types we need are declared here in our own
 * words; sizes are for LP64 and are checked with static_assert in nvml.c.
 *
 *   util      {u32 gpu %, u32 memory %}                                   8
 *   mem_v1    {u64 total, free, used} (bytes; used includes reserved)    24
 *   pci_v3    {char busIdLegacy[16]; u32 domain, bus, device, pciDeviceId,
 *              pciSubSystemId; char busId[32]}                           68
 *   procinfo  {u32 pid; pad; u64 usedGpuMemory; u32 gpuInstanceId;
 *              u32 computeInstanceId}                                    24
 *   procinfo (drivers 535.43..535.86 only, same _v3 symbol!) the above plus
 *              u64 usedGpuCcProtectedMemory                              32
 *   procinfo v1 (unversioned symbol) {u32 pid; u64 usedGpuMemory}        16
 *
 * Threading: one struct nvml belongs to one thread (the GPU thread).  The
 * calls block: GetPcieThroughput about 20 ms per counter, and any call may
 * stall on a sick driver, so never call this from the event loop.
 *
 * Runtime PM: every NVML query wakes a runtime-suspended GPU and an open
 * handle keeps it in D0.  The caller should check
 * /sys/bus/pci/devices/BDF/power/runtime_status before nvml_sample() and
 * skip a "suspended" device (the PCI bus id from the first sample, or
 * nvml_static(), gives the BDF).
 */
#ifndef RMON_NVML_H
#define RMON_NVML_H

#include <stddef.h>
#include <stdint.h>

/* nvmlReturn_t values (our own names). */
enum nvml_rc {
	NVML_RC_SUCCESS = 0,
	NVML_RC_UNINITIALIZED = 1,
	NVML_RC_INVALID_ARGUMENT = 2,
	NVML_RC_NOT_SUPPORTED = 3,
	NVML_RC_NO_PERMISSION = 4,
	NVML_RC_NOT_FOUND = 6,
	NVML_RC_INSUFFICIENT_SIZE = 7,
	NVML_RC_DRIVER_NOT_LOADED = 9,
	NVML_RC_TIMEOUT = 10,
	NVML_RC_LIBRARY_NOT_FOUND = 12,
	NVML_RC_FUNCTION_NOT_FOUND = 13,
	NVML_RC_GPU_IS_LOST = 15,
	NVML_RC_RESET_REQUIRED = 16,
	NVML_RC_OPERATING_SYSTEM = 17,
	NVML_RC_LIB_RM_VERSION_MISMATCH = 18,
	NVML_RC_ARGUMENT_VERSION_MISMATCH = 25,
	NVML_RC_GPU_NOT_FOUND = 28,
	NVML_RC_UNKNOWN = 999,
};

/* ABI structs (our declarations; see the table above). */
struct nvml_abi_util {
	uint32_t gpu;
	uint32_t memory;
};

struct nvml_abi_mem_v1 {
	uint64_t total;
	uint64_t free;
	uint64_t used;
};

struct nvml_abi_pci_v3 {
	char bus_id_legacy[16];
	uint32_t domain;
	uint32_t bus;
	uint32_t device;
	uint32_t pci_device_id;
	uint32_t pci_subsystem_id;
	char bus_id[32];
};

struct nvml_abi_proc24 {
	uint32_t pid;
	uint64_t used_gpu_memory;      /* bytes; all-ones = not available */
	uint32_t gpu_instance_id;
	uint32_t compute_instance_id;  /* 0xFFFFFFFF when not MIG */
};

struct nvml_abi_proc32 {
	uint32_t pid;
	uint64_t used_gpu_memory;
	uint32_t gpu_instance_id;
	uint32_t compute_instance_id;
	uint64_t used_gpu_cc_protected_memory;
};

struct nvml_abi_proc16 {
	uint32_t pid;
	uint64_t used_gpu_memory;
};

/* Enum arguments, passed as int. */
#define NVML_TEMP_GPU        0
#define NVML_CLOCK_GRAPHICS  0
#define NVML_CLOCK_SM        1
#define NVML_CLOCK_MEM       2
#define NVML_PCIE_TX_BYTES   0
#define NVML_PCIE_RX_BYTES   1

#define NVML_NAME_LEN   96   /* NAME_V2 buffer size, incl. NUL */
#define NVML_UUID_LEN   96   /* UUID_V2 buffer size, incl. NUL */
#define NVML_BUSID_LEN  32
#define NVML_DRIVER_LEN 80

/* ---- our API ---- */

struct nvml;

/* Presence flags in nvml_dev_sample.present. */
enum {
	NVML_HAS_NAME        = 1u << 0,
	NVML_HAS_UUID        = 1u << 1,
	NVML_HAS_BUSID       = 1u << 2,
	NVML_HAS_UTIL        = 1u << 3,   /* gpu_util_pct and mem_util_pct */
	NVML_HAS_MEM         = 1u << 4,   /* mem_used/total_bytes */
	NVML_HAS_TEMP        = 1u << 5,
	NVML_HAS_POWER       = 1u << 6,
	NVML_HAS_POWER_LIMIT = 1u << 7,
	NVML_HAS_SM_CLOCK    = 1u << 8,
	NVML_HAS_MEM_CLOCK   = 1u << 9,
	NVML_HAS_LINK_GEN    = 1u << 10,
	NVML_HAS_LINK_WIDTH  = 1u << 11,
	NVML_HAS_LINK_GEN_MAX   = 1u << 12,
	NVML_HAS_LINK_WIDTH_MAX = 1u << 13,
	NVML_HAS_PCIE_TX     = 1u << 14,
	NVML_HAS_PCIE_RX     = 1u << 15,
	NVML_HAS_PCIE_REPLAY = 1u << 16,
	NVML_HAS_THROTTLE    = 1u << 17,
};

/* Flags for nvml_sample(). */
#define NVML_SAMPLE_PCIE_THROUGHPUT 0x1u  /* also read TX/RX (blocks ~40 ms) */

struct nvml_dev_sample {
	uint32_t present;               /* NVML_HAS_* */
	char name[NVML_NAME_LEN];       /* static: read once per handle */
	char uuid[NVML_UUID_LEN];       /* static: "GPU-…" */
	char pci_bus_id[NVML_BUSID_LEN]; /* static: "00000000:3B:00.0" as NVML gives it */
	unsigned gpu_util_pct;
	unsigned mem_util_pct;
	uint64_t mem_used_bytes;
	uint64_t mem_total_bytes;
	unsigned temp_c;
	double power_w;
	double power_limit_w;           /* enforced limit */
	unsigned sm_clock_mhz;
	unsigned mem_clock_mhz;
	unsigned link_gen, link_width;          /* current (idle GPUs downtrain) */
	unsigned link_gen_max, link_width_max;  /* given device and slot */
	unsigned pcie_tx_kbps, pcie_rx_kbps;    /* KB/s over NVML's 20 ms window */
	unsigned pcie_replay;           /* raw cumulative counter */
	uint64_t throttle_reasons;      /* NVML clocks-event/throttle bitmask */
	unsigned errors;                /* unexpected NVML errors in this call */
};

#define NVML_PROC_COMPUTE  0x1u
#define NVML_PROC_GRAPHICS 0x2u
#define NVML_PROC_MEM_UNKNOWN UINT64_MAX

struct nvml_proc {
	uint32_t pid;             /* host pid namespace */
	unsigned kind;            /* NVML_PROC_COMPUTE | NVML_PROC_GRAPHICS */
	uint64_t used_bytes;      /* NVML_PROC_MEM_UNKNOWN when not available */
};

/*
 * Load the library at libpath (NULL → "libnvidia-ml.so.1"), resolve its
 * symbols, nvmlInit_v2 and count devices.  0 and *out on success; on failure
 * -errno-style code (-ENOENT library/mandatory symbol missing, -EIO init
 * failed) with a message naming the path in err.
 */
int nvml_open(const char *libpath, struct nvml **out, char *err, size_t errlen);
void nvml_close(struct nvml *n);

unsigned nvml_count(const struct nvml *n);
const char *nvml_driver_version(const struct nvml *n);  /* "" if unknown */
/* Bytes per _v3 process entry this driver uses (24 or 32; 16/24 on fallbacks). */
unsigned nvml_proc_stride(const struct nvml *n);
/* Unexpected (not NOT_SUPPORTED, not lost) errors seen on a device so far. */
unsigned long nvml_error_count(const struct nvml *n, unsigned idx);

/*
 * Sample device idx.  Returns 0 (metrics that failed are simply absent from
 * out->present), -ENODEV when the GPU is lost (the handle is dropped and
 * re-acquired on a later call), -EINVAL for a bad index, -EIO when no handle
 * could be obtained for another reason.  One device's errors never affect
 * another.  NOT_SUPPORTED is remembered per device: that metric is not asked
 * again until the handle is re-acquired.
 */
int nvml_sample(struct nvml *n, unsigned idx, unsigned flags, struct nvml_dev_sample *out);

/*
 * Processes using device idx (compute and graphics lists merged by pid).
 * Writes up to max entries; returns the number written (>= 0), or -ENODEV
 * (lost), -EINVAL, -EIO, -ENOTSUP (no process symbol / not supported),
 * -ENOMEM.
 */
int nvml_processes(struct nvml *n, unsigned idx, struct nvml_proc *out, unsigned max);

/* Stride for a driver version string: 32 for 535.43..535.86, else 24. */
unsigned nvml_stride_for_driver(const char *version);

/* NVML's description of a return code (or ours when unavailable). */
const char *nvml_strerror(const struct nvml *n, int rc);

#endif
