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
	unsigned mode;             /* the socket's permission bits */
	int per_user;
	char readbuf[64 * 1024];   /* the loop reads into this, one read at a time */
	/* Accept guard (server.c): at the session cap a connection waits in
	 * the backlog until a session ends; accept errors log once a while. */
	uv_timer_t resume;
	int accept_paused;
	uint64_t warned_ns;        /* last rate-limited accept warning */
	unsigned long unlogged;    /* accept errors and waits since then */
	unsigned peak_conns;       /* most sessions since the last heap trim */
};

struct server_opts {
	const char *path;
	int per_user;              /* 0600 instead of 0660 */
	const char *group;         /* socket group, "" for the default */
	size_t frame_max;
	size_t session_budget;
	uint64_t stuck_timeout_ns;
	unsigned mode;             /* permission bits; 0: 0660, or 0600 per-user */
};

/* Take the lock beside the socket (a second rmond fails here, before it
 * does any costly work), then, once the daemon can answer, listen. */
int server_open(struct server *srv, uv_loop_t *loop, const struct server_opts *o,
                char *err, size_t errlen);
int server_listen(struct server *srv, char *err, size_t errlen);
/* Close every session and the listener, unlink the socket and lock. */
void server_close(struct server *srv);
/* Reload: the output budget and stuck timeout, for every session from
 * now on (conn.c reads them from the server). */
void server_set_limits(struct server *srv, size_t session_budget, uint64_t stuck_timeout_ns);
/* Reload: chown/chmod the socket to group ("" keeps it) and mode.  0, or
 * -errno with the reason in err (the socket keeps what it had). */
int server_set_access(struct server *srv, const char *group, unsigned mode, char *err,
                      size_t errlen);
/* New samples were committed: let the sessions' streams follow. */
void server_on_tick(struct server *srv);

/* Most sessions at once: SERVER_SESSIONS_MAX, or half the soft
 * RLIMIT_NOFILE when that is lower (the daemon's own files need fds too). */
#define SERVER_SESSIONS_MAX 4096
/* fds under RLIMIT_NOFILE a new session may not take. */
#define SERVER_FD_RESERVE 32
unsigned server_session_cap(void);

void server__link(struct server *srv, struct conn *c);
void server__unlink(struct server *srv, struct conn *c);

#endif
