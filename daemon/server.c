#include "server.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"

unsigned server_session_cap(void)
{
	struct rlimit rl;
	rlim_t half;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return SERVER_SESSIONS_MAX;
	half = rl.rlim_cur / 2;
	if (half < 8)
		return 8;
	return half < SERVER_SESSIONS_MAX ? (unsigned)half : SERVER_SESSIONS_MAX;
}

/* Something that can happen once per connection attempt (a flood) logs
 * one line per 10 s with a count, not one line per attempt. */
static void warn_limited(struct server *srv, const char *what)
{
	uint64_t now = clock_mono_ns();

	srv->unlogged++;
	if (srv->warned_ns && now - srv->warned_ns < 10000000000u)
		return;
	log_warnx("%s (%lu time%s since the last such line)", what, srv->unlogged,
	          srv->unlogged == 1 ? "" : "s");
	srv->warned_ns = now;
	srv->unlogged = 0;
}

/* A session ended (or the cap rose): take the connection libuv holds. */
static void on_resume(uv_timer_t *t)
{
	struct server *srv = t->data;

	if (!srv->accept_paused || !srv->listening || srv->nconns >= server_session_cap())
		return;
	srv->accept_paused = 0;
	conn_accept(srv);
}

/* The session just accepted (the newest, first in the list) took one of
 * the last SERVER_FD_RESERVE fds under the limit: close it, so the
 * daemon's own work (sampling reads files, a reload opens the config)
 * still has fds.  fds are handed out lowest first, so the number is
 * about how many are open. */
static void refuse_without_reserve(struct server *srv)
{
	struct conn *c = srv->conns;
	struct rlimit rl;
	uv_os_fd_t fd;
	char msg[160];

	if (!c || c->closing || uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    (rlim_t)fd + SERVER_FD_RESERVE < rl.rlim_cur)
		return;
	snprintf(msg, sizeof msg, "fd %d of a limit of %llu (RLIMIT_NOFILE): connection refused "
	         "with %u sessions", fd, (unsigned long long)rl.rlim_cur, srv->nconns - 1);
	warn_limited(srv, msg);
	conn_close(c);
}

/* EMFILE/ENFILE anyway (the process table took the reserve): libuv has already accepted and closed the pending
 * connections with its reserve fd (so the listener does not stay readable
 * and spin the loop); the clients see the connection closed.  At the cap
 * the connection is not taken: libuv stops polling the listener while one
 * is pending, later clients wait in the backlog, and the first session to
 * end lets the next one in. */
static void on_connection(uv_stream_t *listener, int status)
{
	struct server *srv = listener->data;
	char msg[160];

	if (status < 0) {
		snprintf(msg, sizeof msg, "accept: %s; connection dropped", uv_strerror(status));
		warn_limited(srv, msg);
		return;
	}
	if (srv->nconns >= server_session_cap()) {
		snprintf(msg, sizeof msg, "%u sessions, the most at once; new connections wait",
		         srv->nconns);
		warn_limited(srv, msg);
		srv->accept_paused = 1;
		return;
	}
	conn_accept(srv);
	refuse_without_reserve(srv);
}

/* Take the lock beside the socket: whoever holds it owns the socket. */
static int take_lock(struct server *srv, char *err, size_t errlen)
{
	snprintf(srv->lock_path, sizeof srv->lock_path, "%s.lock", srv->path);
	srv->lock_fd = open(srv->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (srv->lock_fd < 0) {
		snprintf(err, errlen, "%s: %s", srv->lock_path, strerror(errno));
		return -errno;
	}
	if (flock(srv->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		char pid[32] = "";
		ssize_t n = pread(srv->lock_fd, pid, sizeof pid - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		if (*pid)
			snprintf(err, errlen, "another rmond (pid %s) is already serving %s",
			         pid, srv->path);
		else
			snprintf(err, errlen, "another rmond is already serving %s", srv->path);
		close(srv->lock_fd);
		srv->lock_fd = -1;
		return e == EWOULDBLOCK ? -EADDRINUSE : -e;
	}
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(srv->lock_fd, 0) == 0 && write(srv->lock_fd, pid, (size_t)n) < 0)
		log_warn("%s", srv->lock_path);
	return 0;
}

/* A socket file left behind by a dead daemon is replaced; anything else
 * at that path is not ours to remove. */
static int clear_stale(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket; not touching it", path);
		return -EEXIST;
	}
	log_info("replacing stale socket %s", path);
	return unlink(path) < 0 ? -errno : 0;
}

static int set_owner_mode(const char *path, const struct server_opts *o, char *err, size_t errlen)
{
	mode_t mode = o->mode ? o->mode : o->per_user ? 0600 : 0660;
	if (o->group && *o->group && !o->per_user) {
		struct group *gr = getgrnam(o->group);
		if (!gr) {
			snprintf(err, errlen, "socket_group %s: no such group", o->group);
			return -ENOENT;
		}
		if (chown(path, (uid_t)-1, gr->gr_gid) < 0) {
			snprintf(err, errlen, "chown %s: %s", path, strerror(errno));
			return -errno;
		}
	}
	if (chmod(path, mode) < 0) {
		snprintf(err, errlen, "chmod %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int listen_socket(struct server *srv, const struct server_opts *o, char *err, size_t errlen)
{
	int rc = clear_stale(srv->path, err, errlen);
	if (rc < 0) {
		if (!*err)
			snprintf(err, errlen, "%s: %s", srv->path, strerror(-rc));
		return rc;
	}
	uv_pipe_init(srv->loop, &srv->listener, 0);
	srv->listener.data = srv;
	mode_t old = umask(o->per_user ? 0177 : 0117);
	rc = uv_pipe_bind(&srv->listener, srv->path);
	umask(old);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&srv->listener, 128, on_connection);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", srv->path, uv_strerror(rc));
		uv_close((uv_handle_t *)&srv->listener, NULL);
		return rc;
	}
	srv->listening = 1;
	return set_owner_mode(srv->path, o, err, errlen);
}

/* After a burst of sessions has gone (an attack, many clients at once),
 * give the freed heap back: glibc keeps free memory inside the heap, and
 * the daemon's RSS would stay at the burst's peak. */
static void trim_after_burst(struct server *srv)
{
#ifdef __GLIBC__
	if (srv->peak_conns >= srv->nconns + 64) {
		malloc_trim(0);
		srv->peak_conns = srv->nconns;
	}
#else
	(void)srv;
#endif
}

static void housekeeping(uv_timer_t *t)
{
	struct server *srv = t->data;
	trim_after_burst(srv);
	uint64_t now = clock_mono_ns();
	for (struct conn *c = srv->conns, *next; c; c = next) {
		next = c->next;
		if (c->full_since && now - c->full_since > srv->stuck_timeout_ns) {
			log_info("session of pid %ld: output stuck for %llu s, closing",
			         (long)c->pid, (unsigned long long)(srv->stuck_timeout_ns / 1000000000u));
			conn_close(c);
		}
	}
}

int server_open(struct server *srv, uv_loop_t *loop, const struct server_opts *o,
                char *err, size_t errlen)
{
	srv->loop = loop;
	srv->lock_fd = -1;
	srv->frame_max = o->frame_max;
	srv->session_budget = o->session_budget;
	srv->stuck_timeout_ns = o->stuck_timeout_ns;
	srv->per_user = o->per_user;
	srv->mode = o->mode ? o->mode : o->per_user ? 0600 : 0660;
	snprintf(srv->group, sizeof srv->group, "%s", o->group ? o->group : "");
	uv_timer_init(loop, &srv->housekeeping);
	srv->housekeeping.data = srv;
	uv_timer_init(loop, &srv->resume);
	srv->resume.data = srv;
	*err = '\0';
	if (snprintf(srv->path, sizeof srv->path, "%s", o->path) >= (int)sizeof srv->path) {
		snprintf(err, errlen, "socket path too long: %s", o->path);
		return -ENAMETOOLONG;
	}
	return take_lock(srv, err, errlen);
}

int server_listen(struct server *srv, char *err, size_t errlen)
{
	struct server_opts o = { srv->path, srv->per_user, srv->group, srv->frame_max,
	                         srv->session_budget, srv->stuck_timeout_ns, srv->mode };
	*err = '\0';
	int rc = listen_socket(srv, &o, err, errlen);
	if (rc < 0)
		return rc;
	uv_timer_start(&srv->housekeeping, housekeeping, 1000, 1000);
	return 0;
}

void server_close(struct server *srv)
{
	while (srv->conns)
		conn_close(srv->conns);
	if (srv->listening) {
		uv_close((uv_handle_t *)&srv->listener, NULL);
		unlink(srv->path);
		srv->listening = 0;
	}
	if (srv->loop && !uv_is_closing((uv_handle_t *)&srv->housekeeping)) {
		uv_timer_stop(&srv->housekeeping);
		uv_close((uv_handle_t *)&srv->housekeeping, NULL);
	}
	if (srv->loop && !uv_is_closing((uv_handle_t *)&srv->resume)) {
		uv_timer_stop(&srv->resume);
		uv_close((uv_handle_t *)&srv->resume, NULL);
	}
	if (srv->lock_fd >= 0) {
		unlink(srv->lock_path);
		close(srv->lock_fd);
		srv->lock_fd = -1;
	}
}

void server_set_limits(struct server *srv, size_t session_budget, uint64_t stuck_timeout_ns)
{
	srv->session_budget = session_budget;
	srv->stuck_timeout_ns = stuck_timeout_ns;
}

int server_set_access(struct server *srv, const char *group, unsigned mode, char *err,
                      size_t errlen)
{
	struct server_opts o = { srv->path, srv->per_user, group, srv->frame_max,
	                         srv->session_budget, srv->stuck_timeout_ns, mode };
	*err = '\0';
	if (!srv->listening)
		return 0;
	int rc = set_owner_mode(srv->path, &o, err, errlen);
	/* socket_group removed: back to the daemon's own group */
	if (rc == 0 && !*group && *srv->group && chown(srv->path, (uid_t)-1, getegid()) < 0) {
		rc = -errno;
		snprintf(err, errlen, "chown %s: %s", srv->path, strerror(errno));
	}
	if (rc == 0) {
		snprintf(srv->group, sizeof srv->group, "%s", group);
		srv->mode = mode;
	}
	return rc;
}

void server_on_tick(struct server *srv)
{
	for (struct conn *c = srv->conns, *next; c; c = next) {
		next = c->next;
		for (struct stream *st = c->streams; st; st = st->next)
			if (st->ops->on_tick)
				st->ops->on_tick(st, c);
		conn_pump(c);
	}
}

void server__link(struct server *srv, struct conn *c)
{
	c->next = srv->conns;
	srv->conns = c;
	srv->nconns++;
	if (srv->nconns > srv->peak_conns)
		srv->peak_conns = srv->nconns;
}

void server__unlink(struct server *srv, struct conn *c)
{
	for (struct conn **pp = &srv->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			srv->nconns--;
			if (srv->accept_paused && !uv_is_closing((uv_handle_t *)&srv->resume))
				uv_timer_start(&srv->resume, on_resume, 0, 0);
			return;
		}
}
