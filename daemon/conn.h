/*
 * A client session: bytes in through the frame reader, requests out to
 * their handlers, replies and stream events back through a write queue
 * with an output budget.
 *
 * Streams (query today, watch next) are objects with a pump callback: the
 * session calls pump only while its queue is under budget, so a slow
 * reader slows only its own streams, and the daemon's memory per session
 * stays bounded.  A session whose queue stays over budget longer than the
 * stuck timeout is closed.
 */
#ifndef RMON_CONN_H
#define RMON_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <msgpack.h>
#include <uv.h>

#include "frame.h"
#include "proto.h"

struct conn;
struct server;
struct stream;

enum { STREAM_DONE = 0, STREAM_MORE = 1, STREAM_IDLE = 2 };

struct stream_ops {
	/* Produce a bounded amount of output.  Return STREAM_MORE when it
	 * produced some and has more, STREAM_IDLE when it waits for new
	 * samples, STREAM_DONE when it has ended (its final reply is sent). */
	int (*pump)(struct stream *st, struct conn *c);
	/* New samples were committed (streams that follow the live ring). */
	void (*on_tick)(struct stream *st, struct conn *c);
	void (*free)(struct stream *st);
	/* Called by cancel: send the final reply; the stream is then freed. */
	void (*cancel)(struct stream *st, struct conn *c);
	/* Whose ticks on_tick follows (CONN_TICK_*): a sampling thread wakes
	 * the loop only while some open stream follows it. */
	unsigned ticks;
};

enum { CONN_TICK_HOST = 1u << 0, CONN_TICK_PROCS = 1u << 1, CONN_TICK_GPU = 1u << 2,
       CONN_TICK_EGPU = 1u << 3, CONN_TICK__N = 4 };

/* The CONN_TICK_* bits some open stream follows.  Any thread. */
unsigned conn_ticks_wanted(void);

struct stream {
	struct stream *next;
	uint64_t id;
	const struct stream_ops *ops;
};

struct conn {
	uv_pipe_t pipe;
	struct server *srv;
	struct conn *next;
	struct frame_reader fr;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	/* The peer's supplementary groups from SO_PEERGROUPS; ngroups -1 when
	 * the kernel did not say (or there were more): access.c then asks
	 * getgrouplist for the uid's name. */
#define CONN_GROUPS_MAX 64
	gid_t groups[CONN_GROUPS_MAX];
	int ngroups;
	bool hello;
	bool closing;
	bool shutting_down;
	size_t queued;          /* bytes handed to uv_write, not yet written */
	uint64_t full_since;    /* CLOCK_MONOTONIC ns when over budget, or 0 */
	struct stream *streams;
	unsigned nstreams;
};

/* A reply under construction: one frame in its own buffer. */
struct reply {
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t start;
};

void conn_accept(struct server *srv);
void conn_close(struct conn *c);
/* Stop reading; close once everything queued has been written. */
void conn_close_after_flush(struct conn *c);

void reply_begin(struct reply *r);
/* Finish the frame and queue it (the buffer is handed over).  A reply
 * over the frame cap is replaced by an `internal` error. */
void reply_send(struct conn *c, struct reply *r, uint64_t id);
void reply_free(struct reply *r);

void conn_send_error(struct conn *c, uint64_t id, enum proto_err code,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

bool conn_has_room(const struct conn *c);
void conn_add_stream(struct conn *c, struct stream *st);
struct stream *conn_find_stream(struct conn *c, uint64_t id);
void conn_remove_stream(struct conn *c, struct stream *st);
/* Run the session's streams while its queue has room. */
void conn_pump(struct conn *c);

#endif
