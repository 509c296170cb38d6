/*
 * Blocking client connection.  The socket is non-blocking underneath so
 * that every wait (connect, write, the next frame) goes through poll with
 * a timeout: a wedged daemon makes rmonctl fail with a message, never
 * hang.
 */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "out.h"
#include "proto.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0   /* then SO_NOSIGPIPE is set on the socket */
#endif

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline (-1: none), for poll. */
static int left_ms(int64_t deadline)
{
	if (deadline < 0)
		return -1;
	int64_t left = deadline - now_ms();
	return left < 0 ? 0 : (int)(left > 1000000 ? 1000000 : left);
}

static int64_t deadline_in(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Wait for events on the socket; 1 ready, 0 timed out, -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	for (;;) {
		int n = poll(&pfd, 1, left_ms(deadline));
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

static void describe_denied(struct ctl_conn *c)
{
	struct stat st;
	struct group *gr = stat(c->path, &st) == 0 ? getgrgid(st.st_gid) : NULL;
	if (gr)
		snprintf(c->err, sizeof c->err,
			 "cannot connect to %s: permission denied: ask to join the socket's group '%s'",
			 c->path, gr->gr_name);
	else
		snprintf(c->err, sizeof c->err,
			 "cannot connect to %s: permission denied: ask to join the socket's group",
			 c->path);
}

static int connect_error(struct ctl_conn *c, int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		snprintf(c->err, sizeof c->err,
			 "rmond is not running (no socket at %s); start it with 'make run' or 'systemctl start rmond'",
			 c->path);
		return CMD_EXIT_UNREACHABLE;
	case ECONNREFUSED:
		snprintf(c->err, sizeof c->err,
			 "rmond is not running (nothing listens on %s); start it with 'make run' or 'systemctl start rmond'",
			 c->path);
		return CMD_EXIT_UNREACHABLE;
	case EACCES:
	case EPERM:
		describe_denied(c);
		return CMD_EXIT_ERROR;
	case ETIMEDOUT:
		snprintf(c->err, sizeof c->err, "rmond at %s did not accept the connection within %.1f s",
			 c->path, c->timeout_ms / 1000.0);
		return CMD_EXIT_UNREACHABLE;
	default:
		snprintf(c->err, sizeof c->err, "cannot connect to %s: %s", c->path, strerror(err));
		return CMD_EXIT_UNREACHABLE;
	}
}

/* Non-blocking connect: EINPROGRESS (BSD) waits for writability; EAGAIN
 * (Linux, listen backlog full) retries until the deadline. */
static int do_connect(struct ctl_conn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = deadline_in(c->timeout_ms);

	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c->fd < 0)
		return connect_error(c, errno);
	(void)fcntl(c->fd, F_SETFD, FD_CLOEXEC);
	(void)fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
#ifdef SO_NOSIGPIPE
	int one = 1;
	(void)setsockopt(c->fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
	for (;;) {
		if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			if (left_ms(deadline) == 0)
				return connect_error(c, ETIMEDOUT);
			(void)poll(NULL, 0, 10);
			continue;
		}
		if (errno != EINPROGRESS)
			return connect_error(c, errno);
		int r = wait_fd(c->fd, POLLOUT, deadline), soerr = 0;
		socklen_t sl = sizeof soerr;
		if (r == 0)
			return connect_error(c, ETIMEDOUT);
		if (r < 0)
			return connect_error(c, -r);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		return soerr ? connect_error(c, soerr) : 0;
	}
}

msgpack_packer *ctl_request(struct ctl_conn *c, const char *op, uint64_t *id)
{
	msgpack_sbuffer_clear(&c->sb);
	*id = c->next_id++;
	c->frame_start = frame_begin(&c->sb);
	msg_pack_request(&c->pk, *id, op);
	return &c->pk;
}

int ctl_send(struct ctl_conn *c)
{
	int64_t deadline = deadline_in(c->timeout_ms);
	size_t max = c->frame_max ? c->frame_max : PROTO_FRAME_MAX;
	size_t off = 0;

	if (frame_end(&c->sb, c->frame_start, max) < 0) {
		snprintf(c->err, sizeof c->err, "request too large for rmond (over %zu bytes)", max);
		return CMD_EXIT_ERROR;
	}
	while (off < c->sb.size) {
		ssize_t n = send(c->fd, c->sb.data + off, c->sb.size - off, MSG_NOSIGNAL);
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (wait_fd(c->fd, POLLOUT, deadline) > 0)
				continue;
			snprintf(c->err, sizeof c->err, "rmond at %s stopped reading our request", c->path);
			return CMD_EXIT_UNREACHABLE;
		}
		snprintf(c->err, sizeof c->err, "sending to rmond: %s", strerror(errno));
		return CMD_EXIT_ERROR;
	}
	return 0;
}

/* Wait for input like wait_fd, calling c->wake on a signal and every
 * c->wake_ms.  1 ready, 0 timed out, -errno, or 1 + the nonzero value
 * wake returned. */
static int wait_readable(struct ctl_conn *c, int64_t deadline)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	if (!c->wake)
		return wait_fd(c->fd, POLLIN, deadline);
	for (;;) {
		int t = left_ms(deadline);
		if (c->wake_ms > 0 && (t < 0 || t > c->wake_ms))
			t = c->wake_ms;
		int n = poll(&pfd, 1, t);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -errno;
		int rc = c->wake(c->wake_arg);
		if (rc)
			return rc < 0 ? 1 + CMD_EXIT_ERROR : 1 + rc;
		if (n == 0 && left_ms(deadline) == 0)
			return 0;
	}
}

/* The next whole frame, waiting at most timeout_ms for it. */
static int read_frame(struct ctl_conn *c, const uint8_t **p, size_t *n)
{
	int64_t deadline = deadline_in(c->timeout_ms);
	uint8_t buf[65536];

	for (;;) {
		int r = frame_reader_next(&c->fr, p, n);
		if (r == 1)
			return 0;
		if (r < 0) {
			snprintf(c->err, sizeof c->err, "rmond sent a bad frame header (over %u MiB?)",
				 CTL_FRAME_MAX >> 20);
			return CMD_EXIT_ERROR;
		}
		ssize_t got = read(c->fd, buf, sizeof buf);
		if (got > 0) {
			r = frame_reader_feed(&c->fr, buf, (size_t)got);
			if (r == -ENOMEM) {
				snprintf(c->err, sizeof c->err, "out of memory reading from rmond");
				return CMD_EXIT_ERROR;
			}
			continue;   /* other errors: frame_reader_next reports them */
		}
		if (got == 0) {
			snprintf(c->err, sizeof c->err, "rmond closed the connection%s",
				 frame_reader_pending(&c->fr) ? " in the middle of a frame" : "");
			return CMD_EXIT_ERROR;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			snprintf(c->err, sizeof c->err, "reading from rmond: %s", strerror(errno));
			return CMD_EXIT_ERROR;
		}
		r = wait_readable(c, deadline);
		if (r > 1)
			return r - 1;   /* wake asked to stop */
		if (r == 0) {
			snprintf(c->err, sizeof c->err, "rmond at %s did not answer within %.1f s",
				 c->path, c->timeout_ms / 1000.0);
			return CMD_EXIT_UNREACHABLE;
		}
		if (r < 0) {
			snprintf(c->err, sizeof c->err, "waiting for rmond: %s", strerror(-r));
			return CMD_EXIT_ERROR;
		}
	}
}

/* Parse one frame into z.  The payload is copied into the zone first, so
 * the objects outlive the reader's buffer. */
static int parse_frame(struct ctl_conn *c, const uint8_t *p, size_t n, msgpack_zone *z,
		       struct msg_reply *rep)
{
	char perr[200];
	uint8_t *copy = msgpack_zone_malloc(z, n);

	if (!copy) {
		snprintf(c->err, sizeof c->err, "out of memory reading from rmond");
		return CMD_EXIT_ERROR;
	}
	memcpy(copy, p, n);
	memset(rep, 0, sizeof *rep);
	if (msg_parse_reply(copy, n, z, rep, perr, sizeof perr) != PROTO_OK) {
		snprintf(c->err, sizeof c->err, "rmond sent a bad reply: %s", perr);
		return CMD_EXIT_ERROR;
	}
	return 0;
}

int ctl_wait(struct ctl_conn *c, uint64_t id, ctl_event_fn fn, void *arg, struct ctl_reply *out)
{
	msgpack_zone *z = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);

	memset(out, 0, sizeof *out);
	if (!z) {
		snprintf(c->err, sizeof c->err, "out of memory");
		return CMD_EXIT_ERROR;
	}
	for (;;) {
		const uint8_t *p;
		size_t n;
		struct msg_reply rep;
		int rc = read_frame(c, &p, &n);
		if (rc == 0)
			rc = parse_frame(c, p, n, z, &rep);
		if (rc) {
			msgpack_zone_free(z);
			return rc;
		}
		bool end = rep.is_event && strcmp(rep.ev, "end") == 0;
		if (rep.is_event && rep.id == id && !end) {
			rc = fn ? fn(arg, &rep) : 0;
			msgpack_zone_clear(z);
			if (rc) {
				msgpack_zone_free(z);
				return rc;
			}
			continue;
		}
		/* A reply to another request is stray; id 0 is a connection-level error. */
		if (rep.id != id && (rep.is_event || rep.id != 0)) {
			msgpack_zone_clear(z);
			continue;
		}
		out->zone = z;
		out->rep = rep;
		if (rep.is_event || rep.ok)
			return 0;
		snprintf(c->err, sizeof c->err, "%s: %s", rep.err_code, rep.err_msg);
		return cmd_exit_for_error(rep.err_code);
	}
}

int ctl_call(struct ctl_conn *c, const char *op, ctl_event_fn fn, void *arg, struct ctl_reply *out)
{
	uint64_t id;
	msgpack_packer *pk = ctl_request(c, op, &id);
	msgpack_pack_map(pk, 0);
	int rc = ctl_send(c);
	if (rc) {
		memset(out, 0, sizeof *out);
		return rc;
	}
	return ctl_wait(c, id, fn, arg, out);
}

void ctl_reply_free(struct ctl_reply *r)
{
	if (r->zone)
		msgpack_zone_free(r->zone);
	r->zone = NULL;
}

int ctl_cancel(struct ctl_conn *c, uint64_t stream)
{
	uint64_t id;
	msgpack_packer *pk = ctl_request(c, "cancel", &id);
	msgpack_pack_map(pk, 1);
	msg_pack_kv_u64(pk, "stream", stream);
	return ctl_send(c);
}

static int hello(struct ctl_conn *c)
{
	char client[64];
	struct ctl_reply r;
	uint64_t id;

	memset(&r, 0, sizeof r);
	snprintf(client, sizeof client, "rmonctl %s", RMON_VERSION);
	msgpack_packer *pk = ctl_request(c, "hello", &id);
	msgpack_pack_map(pk, 2);
	msg_pack_kv_u64(pk, "version", PROTO_VERSION);
	msg_pack_kv_str(pk, "client", client);
	int rc = ctl_send(c);
	if (rc == 0)
		rc = ctl_wait(c, id, NULL, NULL, &r);
	if (rc && r.rep.err_code[0] == '\0') {
		ctl_reply_free(&r);
		return rc == CMD_EXIT_ERROR ? CMD_EXIT_UNREACHABLE : rc;
	}
	if (rc) {
		if (strcmp(r.rep.err_code, "version") == 0)
			snprintf(c->err, sizeof c->err,
				 "protocol version mismatch: rmonctl %s speaks protocol %d.%d, rmond refused it: %s",
				 RMON_VERSION, PROTO_VERSION, PROTO_VERSION_MINOR, r.rep.err_msg);
		else
			snprintf(c->err, sizeof c->err, "hello refused: %s: %s", r.rep.err_code,
				 r.rep.err_msg);
		ctl_reply_free(&r);
		return CMD_EXIT_ERROR;
	}
	c->hello_zone = r.zone;
	c->hello = r.rep.result;
	if (!c->hello || c->hello->type != MSGPACK_OBJECT_MAP) {
		snprintf(c->err, sizeof c->err, "rmond's hello reply has no result map");
		return CMD_EXIT_ERROR;
	}
	(void)msg_get_str(c->hello, "server", c->server, sizeof c->server);
	(void)msg_get_u64(c->hello, "protocol", &c->protocol);
	(void)msg_get_u64(c->hello, "protocol_minor", &c->protocol_minor);
	(void)msg_get_str(c->hello, "schema_hash", c->schema_hash, sizeof c->schema_hash);
	out_clean(c->server);
	out_clean(c->schema_hash);
	if (!msg_get_u64(c->hello, "frame_max", &c->frame_max) || c->frame_max == 0)
		c->frame_max = PROTO_FRAME_MAX;
	return 0;
}

void ctl_attach(struct ctl_conn *c, int fd)
{
	memset(c, 0, sizeof *c);
	c->fd = fd;
	c->timeout_ms = CTL_TIMEOUT_MS;
	c->next_id = 1;
	frame_reader_init(&c->fr, CTL_FRAME_MAX);
	msgpack_sbuffer_init(&c->sb);
	msgpack_packer_init(&c->pk, &c->sb, msgpack_sbuffer_write);
	if (fd >= 0)
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

int ctl_open(struct ctl_conn *c, const char *explicit_socket)
{
	ctl_attach(c, -1);
	if (paths_socket(explicit_socket, PATHS_CLIENT, c->path, sizeof c->path) < 0) {
		snprintf(c->err, sizeof c->err, "socket path too long (at most %d bytes): %s",
			 PATHS_SOCKET_MAX - 1, explicit_socket ? explicit_socket : "$RMON_SOCKET");
		return CMD_EXIT_ERROR;
	}
	int rc = do_connect(c);
	if (rc)
		return rc;
	c->connected = true;
	return hello(c);
}

void ctl_close(struct ctl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->hello_zone)
		msgpack_zone_free(c->hello_zone);
	c->hello_zone = NULL;
	c->hello = NULL;
	frame_reader_free(&c->fr);
	msgpack_sbuffer_destroy(&c->sb);
}

bool ctl_has_capability(const struct ctl_conn *c, const char *name)
{
	const msgpack_object *caps = c->hello ? msg_get_array(c->hello, "capabilities") : NULL;
	for (uint32_t i = 0; caps && i < caps->via.array.size; i++)
		if (msg_str_eq(&caps->via.array.ptr[i], name))
			return true;
	return false;
}
