/*
 * The listening socket and the set of sessions.  One rmond per socket: a
 * lock file beside the socket is held for the daemon's life, so a second
 * rmond refuses to start with a clear message, and a socket left by a
 * crashed daemon (no lock holder) is replaced.
 */
#ifndef RMON_SERVER_H
#define RMON_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "paths.h"

struct conn;

struct server {
	uv_loop_t *loop;
	uv_pipe_t listener;
	uv_timer_t housekeeping;
	char path[PATHS_SOCKET_MAX];
	char lock_path[PATHS_SOCKET_MAX + 8];
	int lock_fd;
	int listening;
	struct conn *conns;
	unsigned nconns;
	size_t frame_max;
	size_t session_budget;
	uint64_t stuck_timeout_ns;
	char group[64];
	int per_user;
	char readbuf[64 * 1024];   /* the loop reads into this, one read at a time */
};

struct server_opts {
	const char *path;
	int per_user;              /* 0600 instead of 0660 */
	const char *group;         /* socket group, "" for the default */
	size_t frame_max;
	size_t session_budget;
	uint64_t stuck_timeout_ns;
};

/* Take the lock beside the socket (a second rmond fails here, before it
 * does any costly work), then, once the daemon can answer, listen. */
int server_open(struct server *srv, uv_loop_t *loop, const struct server_opts *o,
                char *err, size_t errlen);
int server_listen(struct server *srv, char *err, size_t errlen);
/* Close every session and the listener, unlink the socket and lock. */
void server_close(struct server *srv);
/* New samples were committed: let the sessions' streams follow. */
void server_on_tick(struct server *srv);

void server__link(struct server *srv, struct conn *c);
void server__unlink(struct server *srv, struct conn *c);

#endif
