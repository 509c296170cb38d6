/* The request handlers, one file each, and what they share. */
#ifndef RMON_REQ_H
#define RMON_REQ_H

#include "dispatch.h"
#include "schema.h"
#include "selector.h"

extern const struct req_entry req_hello, req_status, req_get, req_query,
	req_schema, req_cancel, req_watch, req_top, req_mark, req_metrics;
extern const struct req_entry req_config, req_shutdown;

#define REQ_SELECTORS_MAX 256

/* Parse args.selectors (an array of 1..256 strings) into sels; on error
 * sends bad_args and returns -1. */
int req_parse_selectors(struct conn *c, const struct msg_request *req,
                        struct selector *sels, unsigned *nsels);

/* Pack one record as a map: ts, key (keyed kinds), each present field. */
void req_pack_record(msgpack_packer *pk, enum rm_kind kind, const struct rm_rec *r);

/* A stream's `lagged` event: *lost samples were skipped (the session's
 * queue was full); *lost is reset. */
void req_send_lagged(struct conn *c, uint64_t id, uint64_t *lost);

/* A new stream of size bytes (zeroed; struct stream first) for req, its id
 * and ops set, not yet added; NULL when a stream with that id already runs
 * on c or memory ran out (the error is sent). */
void *req_stream_new(struct conn *c, const struct msg_request *req, size_t size,
                     const struct stream_ops *ops);

/* The records of a kind from its newest committed tick, in ring order, in
 * a malloc'd array the caller frees.  Returns how many (0, *out NULL, when
 * the lane is empty or absent).  Threads: the newest record of each
 * thread within REQ_THREAD_WINDOW_NS (a quiet thread is read every 5 s,
 * not every tick), those that ended left out, sorted by key. */
unsigned req_latest(enum rm_kind kind, struct rm_rec **out);

#define REQ_THREAD_WINDOW_NS 6500000000ull   /* quiet threads: a record every 5 s */

/* The newest record of each key among a lane's records of the last
 * window_ns up to committed_ns, sorted by key; *next (may be NULL) is set
 * past the newest of them, for req_lane_since. */
unsigned req_latest_window(int lane, uint64_t committed_ns, uint64_t window_ns,
                           struct rm_rec **out, uint64_t *next);

/* A lane's records from number *next on, up to the newest with a
 * timestamp <= committed_ns, in ring order (malloc'd); *next moves past
 * them (and up to the tail when the ring overwrote what it pointed at). */
unsigned req_lane_since(int lane, uint64_t *next, uint64_t committed_ns, struct rm_rec **out);

/* Keep the newest record of each key of recs[0..n): sorted by key, the
 * new count. */
unsigned req_newest_per_key(struct rm_rec *recs, unsigned n);

/* The same for any lane, given the newest tick its writer has committed. */
unsigned req_latest_lane(int lane, uint64_t committed_ns, struct rm_rec **out);

/* Pack a record as req_pack_record does, leaving room for `extra` more
 * key/value pairs that the caller packs right after. */
void req_pack_record_extra(msgpack_packer *pk, enum rm_kind kind, const struct rm_rec *r,
                           uint32_t extra);

struct proc_snap;
/* A proc record plus its category, and its cmdline and exe when this
 * peer may see them (root, the owner, or a uid the config allows). */
void req_pack_proc(msgpack_packer *pk, const struct conn *c, const struct rm_rec *r,
                   const struct proc_snap *s);

/* A process table entry as a proc record (top rows, get of an untracked
 * process). */
void req_snap_record(const struct proc_snap *s, uint64_t ts, struct rm_rec *r);

/* The sources this daemon has: the host sampler's, NVML. */
uint32_t req_caps(void);

/* The ring lane of a kind, or -1. */
int req_lane(enum rm_kind kind);

/* The Prometheus exposition of the newest records and of rmond itself
 * (req-metrics.c): malloc'd text of *len bytes, or NULL (out of memory). */
char *req_metrics_text(size_t *len);

#endif
