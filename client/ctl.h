/*
 * rmonctl's connection to rmond: blocking, one request at a time (or one
 * stream), every wait bounded by poll.  ctl_open connects and says hello;
 * ctl_request + ctl_send send a request; ctl_wait hands each stream
 * event of that request to a callback and returns with the final reply.
 *
 * Functions return an rmonctl exit code (enum cmd_exit: 0 ok, 1 error,
 * 3 unreachable, ...) and leave a one-line message in c->err.
 *
 * The prefix is ctl_, not conn_: daemon/conn.c owns conn_*, and the unit
 * tests link both libraries.
 */
#ifndef RMON_CLIENT_CONN_H
#define RMON_CLIENT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "frame.h"
#include "msg.h"
#include "paths.h"

#define CTL_FRAME_MAX (64u << 20)   /* largest frame we accept from rmond */
#define CTL_TIMEOUT_MS 10000        /* default wait for connect and each frame */

struct ctl_conn {
	int fd;
	bool connected;                  /* the socket accepted us (rmond runs) */
	int timeout_ms;                  /* wait for the next frame; -1: forever */
	uint64_t next_id;
	char path[PATHS_SOCKET_MAX];
	struct frame_reader fr;
	msgpack_sbuffer sb;              /* the request being built */
	msgpack_packer pk;
	size_t frame_start;

	/* From hello. */
	msgpack_zone *hello_zone;
	const msgpack_object *hello;     /* the hello result map */
	char server[64];                 /* "rmond 0.1.0" */
	uint64_t protocol, protocol_minor, frame_max;
	char schema_hash[40];

	char err[512];

	/* Wake-ups while waiting for a frame (watch, run): wake(wake_arg) is
	 * called when poll is interrupted by a signal and every wake_ms
	 * (when > 0) without a frame.  It may send requests (ctl_cancel).
	 * A nonzero return ends ctl_wait with that value.  NULL: none. */
	int (*wake)(void *arg);
	void *wake_arg;
	int wake_ms;
};

/* The final reply of a request (or the `end` event of a stream): rep's
 * objects live in zone until ctl_reply_free. */
struct ctl_reply {
	msgpack_zone *zone;
	struct msg_reply rep;
};

/* Called for each event of the awaited request; the event's objects are
 * valid during the call only.  Return 0 to go on; anything else stops
 * ctl_wait, which then returns that value. */
typedef int (*ctl_event_fn)(void *arg, const struct msg_reply *ev);

/* Resolve the socket (explicit path, else paths_socket with RMON_SOCKET),
 * connect within c->timeout_ms and exchange hello.  Returns 0; 3 when
 * rmond is not running or not answering; 1 on permission or version
 * trouble.  c is usable for ctl_close in every case. */
int ctl_open(struct ctl_conn *c, const char *explicit_socket);
void ctl_close(struct ctl_conn *c);

/* Wrap an already connected stream fd (non-blocking is best), without
 * hello: for tests and for a transport set up elsewhere.  ctl_close
 * closes fd. */
void ctl_attach(struct ctl_conn *c, int fd);

/* Start a request: packs {id, op, args: ...} up to the args value, which
 * the caller packs next (a map, or use conn_send_simple). */
msgpack_packer *ctl_request(struct ctl_conn *c, const char *op, uint64_t *id);
int ctl_send(struct ctl_conn *c);

/* Wait for the reply to id.  Events of id go to fn (may be NULL).  On 0,
 * out holds an ok reply.  A server error is returned as its exit code
 * (cmd_exit_for_error) with out holding the error and c->err
 * "code: msg"; a transport failure returns 1 or 3 with
 * out->rep.err_code empty.  Always ctl_reply_free(out) afterwards. */
int ctl_wait(struct ctl_conn *c, uint64_t id, ctl_event_fn fn, void *arg, struct ctl_reply *out);

/* Request with no args, then ctl_wait. */
int ctl_call(struct ctl_conn *c, const char *op, ctl_event_fn fn, void *arg, struct ctl_reply *out);

void ctl_reply_free(struct ctl_reply *r);

/* Send `cancel` for the stream started by request id, without waiting:
 * the stream's own reply follows, and ctl_wait skips the cancel's reply
 * (its id differs).  Returns 0 or an exit code with c->err set. */
int ctl_cancel(struct ctl_conn *c, uint64_t stream);

/* hello listed this capability (a metric source the machine has). */
bool ctl_has_capability(const struct ctl_conn *c, const char *name);

#endif
