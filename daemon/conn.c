#include "conn.h"
#include "clock.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "access.h"
#include "dispatch.h"
#include "log.h"
#include "msg.h"
#include "server.h"

struct write_req {
	uv_write_t req;
	struct conn *conn;
	char *data;
	size_t len;
};

/* Who is on the other end: SO_PEERCRED where the OS has it, else
 * getpeereid (BSD, macOS), which gives no pid. */
static void read_peer(struct conn *c)
{
	uv_os_fd_t fd;
	c->uid = (uid_t)-1;
	c->gid = (gid_t)-1;
	c->pid = 0;
	c->ngroups = -1;
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0)
		return;
#ifdef SO_PEERGROUPS
	socklen_t glen = sizeof c->groups;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, c->groups, &glen) == 0)
		c->ngroups = (int)(glen / sizeof c->groups[0]);
#endif
#ifdef SO_PEERCRED
	struct ucred cr;
	socklen_t len = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0) {
		c->uid = cr.uid;
		c->gid = cr.gid;
		c->pid = cr.pid;
	}
#else
	getpeereid(fd, &c->uid, &c->gid);
#endif
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;
	(void)suggested;
	buf->base = c->srv->readbuf;
	buf->len = sizeof c->srv->readbuf;
}

/* Open streams following each source's ticks (loop thread), and the
 * resulting mask the sampling threads read. */
static unsigned tick_streams[CONN_TICK__N];
static _Atomic unsigned ticks_wanted;

unsigned conn_ticks_wanted(void)
{
	return atomic_load_explicit(&ticks_wanted, memory_order_relaxed);
}

static void count_ticks(const struct stream *st, int delta)
{
	unsigned want = 0;
	for (unsigned i = 0; i < CONN_TICK__N; i++) {
		if (st->ops->ticks & (1u << i))
			tick_streams[i] = (unsigned)((int)tick_streams[i] + delta);
		if (tick_streams[i])
			want |= 1u << i;
	}
	atomic_store_explicit(&ticks_wanted, want, memory_order_relaxed);
}

static void free_stream(struct stream *st)
{
	count_ticks(st, -1);
	st->ops->free(st);
}

static void on_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	while (c->streams) {
		struct stream *st = c->streams;
		c->streams = st->next;
		free_stream(st);
	}
	frame_reader_free(&c->fr);
	free(c);
}

void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	server__unlink(c->srv, c);
	uv_close((uv_handle_t *)&c->pipe, on_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct conn *c = req->data;
	(void)status;
	free(req);
	conn_close(c);
}

void conn_close_after_flush(struct conn *c)
{
	if (c->closing || c->shutting_down)
		return;
	c->shutting_down = true;
	uv_read_stop((uv_stream_t *)&c->pipe);
	uv_shutdown_t *req = malloc(sizeof *req);
	if (!req || uv_shutdown(req, (uv_stream_t *)&c->pipe, on_shutdown) != 0) {
		free(req);
		conn_close(c);
		return;
	}
	req->data = c;
}

bool conn_has_room(const struct conn *c)
{
	return c->queued < c->srv->session_budget;
}

static void on_written(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct conn *c = w->conn;
	c->queued -= w->len;
	free(w->data);
	free(w);
	if (status < 0) {
		if (status != UV_ECANCELED)
			conn_close(c);
		return;
	}
	if (conn_has_room(c))
		c->full_since = 0;
	conn_pump(c);
}

/* Queue one finished frame; the buffer becomes the write request's. */
static void conn_write(struct conn *c, char *data, size_t len)
{
	struct write_req *w = malloc(sizeof *w);
	if (c->closing || c->shutting_down || !w) {
		free(w);
		free(data);
		return;
	}
	w->conn = c;
	w->data = data;
	w->len = len;
	uv_buf_t buf = uv_buf_init(data, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, on_written) != 0) {
		free(data);
		free(w);
		conn_close(c);
		return;
	}
	c->queued += len;
	if (!conn_has_room(c) && !c->full_since) {
		c->full_since = clock_mono_ns();
		log_debug("session of pid %ld: %zu bytes queued, over its budget", (long)c->pid, c->queued);
	}
}

void reply_begin(struct reply *r)
{
	msgpack_sbuffer_init(&r->sb);
	msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
	r->start = frame_begin(&r->sb);
}

void reply_free(struct reply *r)
{
	msgpack_sbuffer_destroy(&r->sb);
}

void reply_send(struct conn *c, struct reply *r, uint64_t id)
{
	if (frame_end(&r->sb, r->start, c->srv->frame_max) < 0) {
		log_warnx("reply to request %llu exceeds the frame cap; sending an error",
		          (unsigned long long)id);
		reply_free(r);
		conn_send_error(c, id, PROTO_ERR_INTERNAL, "reply too large; narrow the request");
		return;
	}
	size_t len = r->sb.size;
	conn_write(c, msgpack_sbuffer_release(&r->sb), len);
}

void conn_send_error(struct conn *c, uint64_t id, enum proto_err code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct reply r;
	reply_begin(&r);
	msg_pack_error(&r.pk, id, code, msg);
	if (frame_end(&r.sb, r.start, c->srv->frame_max) < 0) {
		reply_free(&r);
		return;
	}
	size_t len = r.sb.size;
	conn_write(c, msgpack_sbuffer_release(&r.sb), len);
}

void conn_add_stream(struct conn *c, struct stream *st)
{
	st->next = c->streams;
	c->streams = st;
	c->nstreams++;
	count_ticks(st, +1);
}

struct stream *conn_find_stream(struct conn *c, uint64_t id)
{
	for (struct stream *st = c->streams; st; st = st->next)
		if (st->id == id)
			return st;
	return NULL;
}

void conn_remove_stream(struct conn *c, struct stream *st)
{
	for (struct stream **pp = &c->streams; *pp; pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			c->nstreams--;
			free_stream(st);
			return;
		}
}

void conn_pump(struct conn *c)
{
	bool progress = true;
	while (progress && !c->closing && conn_has_room(c)) {
		progress = false;
		for (struct stream *st = c->streams, *next; st && !c->closing; st = next) {
			next = st->next;
			if (!conn_has_room(c))
				break;
			int rc = st->ops->pump(st, c);
			if (rc == STREAM_DONE)
				conn_remove_stream(c, st);
			else if (rc == STREAM_MORE)
				progress = true;
		}
	}
}

static void handle_frame(struct conn *c, const uint8_t *p, size_t n)
{
	msgpack_zone z;
	struct msg_request req;
	char err[256];

	msgpack_zone_init(&z, 2048);
	enum proto_err e = msg_parse_request(p, n, &z, &req, err, sizeof err);
	if (e == PROTO_ERR_BAD_FRAME) {
		conn_send_error(c, 0, e, "%s", err);
		conn_close_after_flush(c);
	} else if (e != PROTO_OK) {
		conn_send_error(c, req.has_id ? req.id : 0, e, "%s", err);
	} else {
		dispatch_request(c, &req);
	}
	msgpack_zone_destroy(&z);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	if (nread < 0) {
		if (frame_reader_pending(&c->fr))
			log_debug("pid %ld disconnected mid-frame; dropped", (long)c->pid);
		conn_close(c);
		return;
	}
	int rc = frame_reader_feed(&c->fr, buf->base, (size_t)nread);
	const uint8_t *p;
	size_t n;
	while (rc == 0 && !c->closing && !c->shutting_down &&
	       (rc = frame_reader_next(&c->fr, &p, &n)) == 1) {
		handle_frame(c, p, n);
		rc = 0;
	}
	if (rc == -EMSGSIZE) {
		conn_send_error(c, 0, PROTO_ERR_TOO_LARGE, "frame longer than %zu bytes",
		                c->srv->frame_max);
		conn_close_after_flush(c);
	} else if (rc < 0 && !c->closing) {
		conn_send_error(c, 0, PROTO_ERR_BAD_FRAME, "bad frame header");
		conn_close_after_flush(c);
	}
}

void conn_accept(struct server *srv)
{
	struct conn *c = calloc(1, sizeof *c);
	if (!c) {
		log_errx("out of memory accepting a session");
		return;
	}
	c->srv = srv;
	uv_pipe_init(srv->loop, &c->pipe, 0);
	c->pipe.data = c;
	frame_reader_init(&c->fr, srv->frame_max);
	server__link(srv, c);
	if (uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)&c->pipe) != 0) {
		conn_close(c);
		return;
	}
	read_peer(c);
	if (c->ngroups < 0 && c->uid != (uid_t)-1)
		access_read_groups(c);
	uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
	log_debug("session from pid %ld uid %ld", (long)c->pid, (long)c->uid);
}
