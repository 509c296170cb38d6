/*
 * Where the ring's history goes: its file in the state directory, or, when
 * that directory cannot take the file (unwritable, read-only, full, over
 * quota), anonymous memory while a timer on the loop retries the file and
 * switches the live ring over to it (ring_persist) once it can.
 * docs/ring.md, "When the state directory cannot take the file".
 */
#ifndef RMON_PERSIST_H
#define RMON_PERSIST_H

#include "ring.h"

struct rmond;

/* How often the file is tried again while the ring is in memory. */
#define PERSIST_RETRY_MS 5000

/* Open d->ring with ro (ro->path set unless the config asks for memory;
 * set to NULL when falling back to memory), log what happened.  Loop
 * thread, before the writer threads start.  0, or -1 when no ring at all
 * could be had (logged). */
int persist_open(struct rmond *d, struct ring_opts *ro);

/* "file", or "memory: <why>" (status's ring.persistence).  Loop thread. */
const char *persist_state(void);

#endif
