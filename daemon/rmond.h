/*
 * The daemon's one owner of its subsystems.  Everything here is touched by
 * the loop thread only, except the sampler (its own thread, its own lock)
 * and the ring (one writer per lane, lock-free readers).
 */
#ifndef RMON_RMOND_H
#define RMON_RMOND_H

#include <stdint.h>

#include <uv.h>

#include "classify.h"
#include "config.h"
#include "egpu.h"
#include "gpu.h"
#include "http.h"
#include "procs.h"
#include "ring.h"
#include "sampler.h"
#include "server.h"

struct rmond {
	struct config cfg;
	char config_path[4096];       /* "" when running on defaults */
	char state_dir[4096];
	char ring_path[4200];
	struct ring *ring;
	struct ring_open_info ring_info;
	struct sampler sampler;
	struct classifier cls;
	struct procs *procs;          /* NULL: no process table on this machine */
	struct gpu *gpu;              /* NULL: no NVML and no amdgpu card */
	struct egpu *egpu;            /* the GPU link thread; NULL only if it could not start */
	struct server server;
	struct http_server *prom_http; /* the Prometheus listener; NULL: off */
	uv_loop_t *loop;
	uv_async_t tick_async;
	uv_signal_t sig_term, sig_int, sig_hup;
	uint64_t started_rt_ns;
	uint64_t started_mono_ns;
};

extern struct rmond the_rmond;

#endif
