/*
 * Watch samples carry thread changes, not every thread (docs/protocol.md,
 * watch): the first sample has every thread, later ones what was read
 * since the previous sample, and a thread that ended once more with state
 * 'X'.  This keeps the newest record of each thread and gives the views
 * and the NDJSON output whole samples: every live thread, busiest first.
 */
#ifndef RMON_THREAD_MERGE_H
#define RMON_THREAD_MERGE_H

#include <msgpack.h>
#include <stdint.h>

struct thread_merge;

struct thread_merge *thread_merge_new(void);
void thread_merge_free(struct thread_merge *m);

/* The sample with "threads" replaced by every live thread (valid until the
 * next call), or the sample itself when it has no "threads" or memory ran
 * out. */
const msgpack_object *thread_merge_sample(struct thread_merge *m, const msgpack_object *sample);

/* A process exited: forget its threads. */
void thread_merge_forget_pid(struct thread_merge *m, uint64_t pid);

#endif
