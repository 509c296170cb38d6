/* status's "gpu_processes": who is using each GPU (gpuprocs.h). */
#ifndef RMON_REQ_GPUPROCS_H
#define RMON_REQ_GPUPROCS_H

#include <msgpack.h>

#define REQ_GPU_PROCS_PER_GPU 5

/* The key "gpu_processes" and its value: per GPU, its top processes by
 * memory (at most per_gpu), GPUs in index order, then those rmon only
 * knows by PCI address (DRM fdinfo of an i915/xe GPU). */
void req_pack_gpu_processes(msgpack_packer *pk, unsigned per_gpu);

#endif
