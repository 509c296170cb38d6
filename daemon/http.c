#include "http.h"

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "hostport.h"
#include "log.h"

/* ---- the request parser ---- */

static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool all_tchars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return n > 0;
}

struct req_line {
	const char *method, *target;
	size_t method_len, target_len;
};

/* METHOD SP TARGET SP HTTP/1.x, single spaces.  0, or the error status. */
static int parse_request_line(const char *s, size_t n, struct req_line *rl)
{
	const char *sp1 = memchr(s, ' ', n);
	if (!sp1)
		return 400;
	const char *t = sp1 + 1, *end = s + n;
	const char *sp2 = memchr(t, ' ', (size_t)(end - t));
	if (!sp2)
		return 400;
	const char *v = sp2 + 1;
	rl->method = s;
	rl->method_len = (size_t)(sp1 - s);
	rl->target = t;
	rl->target_len = (size_t)(sp2 - t);
	if (!all_tchars(rl->method, rl->method_len) || rl->target_len == 0)
		return 400;
	for (size_t i = 0; i < rl->target_len; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return 400;
	if (end - v != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' ||
	    v[6] != '.' || v[7] < '0' || v[7] > '9')
		return 400;
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return 505;
	return 0;
}

static bool name_is(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

/* NAME ":" VALUE; a request with a body is refused (we take none).
 * 0, or the error status. */
static int parse_header(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	if (!colon || !all_tchars(s, (size_t)(colon - s)))
		return 400;   /* also catches obsolete line folding (a leading space) */
	size_t nlen = (size_t)(colon - s);
	const char *v = colon + 1, *end = s + n;
	for (const char *p = v; p < end; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return 400;
	if (name_is(s, nlen, "transfer-encoding"))
		return 413;
	if (name_is(s, nlen, "content-length")) {
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (v == end)
			return 400;
		bool zero = true;
		for (const char *p = v; p < end; p++) {
			if (*p < '0' || *p > '9')
				return 400;
			zero = zero && *p == '0';
		}
		if (!zero)
			return 413;
	}
	return 0;
}

/* The path of an origin-form ("/metrics?x") or absolute-form
 * ("http://host/metrics") target, without the query. */
static void target_path(const char *t, size_t n, const char **path, size_t *len)
{
	const char *end = t + n, *p = t;
	const char *scheme = n > 3 ? memchr(t, ':', n) : NULL;
	if (t[0] != '/' && scheme && end - scheme > 3 && memcmp(scheme, "://", 3) == 0) {
		p = memchr(scheme + 3, '/', (size_t)(end - scheme - 3));
		if (!p) {
			*path = "/";
			*len = 1;
			return;
		}
	}
	const char *q = memchr(p, '?', (size_t)(end - p));
	*path = p;
	*len = (size_t)((q ? q : end) - p);
}

int http_parse(const char *buf, size_t len, size_t max, const char *path,
               struct http_request *req)
{
	/* The method must be a token: junk (a TLS hello) is refused at once
	 * rather than after the deadline. */
	for (size_t i = 0; i < len && buf[i] != ' '; i++)
		if (!is_tchar((unsigned char)buf[i]))
			return 400;
	struct req_line rl = { 0 };
	int body = 0;
	size_t pos = 0;
	for (unsigned line = 0;; line++) {
		const char *nl = pos < len ? memchr(buf + pos, '\n', len - pos) : NULL;
		if (!nl)
			return len >= max ? 431 : 0;
		if ((size_t)(nl - buf) + 1 > max)
			return 431;
		size_t n = (size_t)(nl - (buf + pos));
		if (n > 0 && buf[pos + n - 1] == '\r')
			n--;
		if (memchr(buf + pos, '\r', n))
			return 400;   /* a bare CR inside a line */
		if (n == 0) {
			if (line == 0)
				return 400;
			req->head_len = (size_t)(nl - buf) + 1;
			break;
		}
		int st = line == 0 ? parse_request_line(buf + pos, n, &rl) : parse_header(buf + pos, n);
		if (st == 413)
			body = 1;   /* answered once the head is complete and valid */
		else if (st)
			return st;
		pos = (size_t)(nl - buf) + 1;
	}
	if (body)
		return 413;
	const char *p;
	size_t plen;
	target_path(rl.target, rl.target_len, &p, &plen);
	if (plen != strlen(path) || memcmp(p, path, plen) != 0)
		return 404;
	bool get = rl.method_len == 3 && memcmp(rl.method, "GET", 3) == 0;
	bool head = rl.method_len == 4 && memcmp(rl.method, "HEAD", 4) == 0;
	if (!get && !head)
		return 405;
	req->head_only = head;
	return 200;
}

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "";
	}
}

size_t http_response_head(char *buf, size_t len, int status, const char *content_type,
                          size_t content_length)
{
	int n = snprintf(buf, len,
	                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	                 "%sConnection: close\r\n\r\n",
	                 status, http_reason(status), content_type, content_length,
	                 status == 405 ? "Allow: GET, HEAD\r\n" : "");
	return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

/* ---- the server ---- */

enum conn_state { ST_READING, ST_WRITING, ST_DRAINING };

struct http_conn {
	uv_tcp_t tcp;
	uv_timer_t deadline;
	uv_write_t wr;
	uv_shutdown_t sd;
	struct http_server *srv;
	struct http_conn *next, *prev;
	enum conn_state state;
	int open_handles;            /* tcp and deadline: freed when both closed */
	int closing;
	size_t len;                  /* bytes of `in` used while reading */
	char *body;                  /* the 200 body, owned */
	char out[512];               /* the response head, or a whole error answer */
	char in[HTTP_HEAD_MAX];      /* the request head; scratch once answered */
};

struct http_server {
	uv_tcp_t listener;
	uv_loop_t *loop;
	struct http_conn *conns;
	unsigned nconns, max_conns;
	uint64_t timeout_ms;
	int closed;                  /* http_close was called */
	int listener_open;
	char path[64];
	char content_type[96];
	char address[HOSTPORT_HOST_MAX + 16];
	http_render_fn render;
	void *arg;
};

/* Freed when the listener is closed and the last connection is gone. */
static void server_maybe_free(struct http_server *srv)
{
	if (srv->closed && !srv->listener_open && !srv->conns)
		free(srv);
}

static void on_conn_handle_closed(uv_handle_t *h)
{
	struct http_conn *c = h->data;
	if (--c->open_handles > 0)
		return;
	struct http_server *srv = c->srv;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nconns--;
	free(c->body);
	free(c);
	server_maybe_free(srv);
}

static void conn_close(struct http_conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	uv_timer_stop(&c->deadline);
	uv_close((uv_handle_t *)&c->deadline, on_conn_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void on_shutdown(uv_shutdown_t *sd, int status)
{
	struct http_conn *c = sd->data;
	if (status < 0)
		conn_close(c);
	/* else: drain what the client still sends until it closes (or the
	 * deadline), so the kernel does not reset the connection under an
	 * answer the client has not read yet */
}

static void on_written(uv_write_t *wr, int status)
{
	struct http_conn *c = wr->data;
	if (c->closing)
		return;
	c->state = ST_DRAINING;
	if (status < 0 || uv_shutdown(&c->sd, (uv_stream_t *)&c->tcp, on_shutdown) < 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
		conn_close(c);
}

/* The answer goes out in one write: the head, then the body (if any). */
static void respond(struct http_conn *c, int status, const char *type, char *body, size_t len,
                    int head_only)
{
	char text[64];
	if (!body) {
		snprintf(text, sizeof text, "%d %s\n", status, http_reason(status));
		len = strlen(text);
		type = "text/plain; charset=utf-8";
	}
	size_t hl = http_response_head(c->out, sizeof c->out, status, type, len);
	uv_buf_t bufs[2] = { uv_buf_init(c->out, (unsigned)hl),
	                     uv_buf_init(body ? body : text, (unsigned)len) };
	unsigned nbufs = head_only ? 1 : 2;
	if (!body) {   /* the error text must outlive this frame: put it after the head */
		memcpy(c->out + hl, text, len);
		bufs[0].len = (unsigned)(hl + len);
		nbufs = 1;
	}
	c->body = body;
	c->state = ST_WRITING;
	uv_read_stop((uv_stream_t *)&c->tcp);
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, bufs, nbufs, on_written) < 0)
		conn_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct http_conn *c = h->data;
	(void)suggested;
	if (c->state == ST_READING)
		*buf = uv_buf_init(c->in + c->len, (unsigned)(sizeof c->in - c->len));
	else
		*buf = uv_buf_init(c->in, sizeof c->in);   /* draining: scratch */
}

static void answer(struct http_conn *c, int status, const struct http_request *req)
{
	struct http_server *srv = c->srv;
	if (status != 200) {
		respond(c, status, NULL, NULL, 0, 0);
		return;
	}
	size_t len = 0;
	char *body = srv->render(srv->arg, &len);
	if (!body) {
		respond(c, 500, NULL, NULL, 0, 0);
		return;
	}
	respond(c, 200, srv->content_type, body, len, req->head_only);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct http_conn *c = s->data;
	(void)buf;
	if (n == 0)
		return;
	if (n < 0) {   /* EOF or error: nobody is left to answer */
		conn_close(c);
		return;
	}
	if (c->state != ST_READING)
		return;   /* bytes after the request head: dropped */
	c->len += (size_t)n;
	struct http_request req = { 0 };
	int status = http_parse(c->in, c->len, sizeof c->in, c->srv->path, &req);
	if (status)
		answer(c, status, &req);
}

static void on_deadline(uv_timer_t *t)
{
	struct http_conn *c = t->data;
	if (c->state == ST_READING) {
		/* one last try to say why; then close either way */
		char msg[256];
		size_t hl = http_response_head(msg, sizeof msg, 408, "text/plain; charset=utf-8", 0);
		uv_buf_t b = uv_buf_init(msg, (unsigned)hl);
		uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	}
	conn_close(c);
}

static void on_refused_closed(uv_handle_t *h)
{
	free(h);
}

/* Over the limit: accept, say 503 if the socket takes it at once, close.
 * Nothing is kept past this loop iteration. */
static void refuse(struct http_server *srv)
{
	uv_tcp_t *t = malloc(sizeof *t);
	if (!t)
		return;   /* the connection waits in the backlog */
	uv_tcp_init(srv->loop, t);
	if (uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)t) == 0) {
		char msg[256];
		static const char text[] = "503 Service Unavailable\n";
		size_t hl = http_response_head(msg, sizeof msg - sizeof text, 503,
		                               "text/plain; charset=utf-8", sizeof text - 1);
		memcpy(msg + hl, text, sizeof text - 1);
		uv_buf_t b = uv_buf_init(msg, (unsigned)(hl + sizeof text - 1));
		uv_try_write((uv_stream_t *)t, &b, 1);
	}
	uv_close((uv_handle_t *)t, on_refused_closed);
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct http_server *srv = listener->data;
	if (status < 0) {
		log_warnx("prometheus listener: accept: %s", uv_strerror(status));
		return;
	}
	if (srv->nconns >= srv->max_conns) {
		refuse(srv);
		return;
	}
	struct http_conn *c = calloc(1, sizeof *c);
	if (!c) {
		refuse(srv);
		return;
	}
	c->srv = srv;
	uv_tcp_init(srv->loop, &c->tcp);
	uv_timer_init(srv->loop, &c->deadline);
	c->tcp.data = c->deadline.data = c->sd.data = c;
	c->open_handles = 2;
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	if (uv_accept(listener, (uv_stream_t *)&c->tcp) < 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
		conn_close(c);
		return;
	}
	uv_timer_start(&c->deadline, on_deadline, srv->timeout_ms, 0);
}

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss,
                   char *err, size_t errlen)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char portstr[8];
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
	int rc = getaddrinfo(host, portstr, &hints, &ai);
	if (rc != 0 || !ai) {
		snprintf(err, errlen, "%s: %s", host, rc ? gai_strerror(rc) : "no address");
		return -EINVAL;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

static void on_listener_closed(uv_handle_t *h)
{
	struct http_server *srv = h->data;
	srv->listener_open = 0;
	server_maybe_free(srv);
}

struct http_server *http_open(uv_loop_t *loop, const struct http_opts *o, char *err,
                              size_t errlen)
{
	char host[HOSTPORT_HOST_MAX];
	uint16_t port;
	struct sockaddr_storage ss;
	if (hostport_split(o->listen, host, sizeof host, &port, err, errlen) < 0 ||
	    resolve(host, port, &ss, err, errlen) < 0)
		return NULL;
	struct http_server *srv = calloc(1, sizeof *srv);
	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->loop = loop;
	srv->max_conns = o->max_connections ? o->max_connections : 1;
	srv->timeout_ms = o->timeout_ns / 1000000u ? o->timeout_ns / 1000000u : 1;
	srv->render = o->render;
	srv->arg = o->arg;
	snprintf(srv->path, sizeof srv->path, "%s", o->path);
	snprintf(srv->content_type, sizeof srv->content_type, "%s", o->content_type);
	char ip[INET6_ADDRSTRLEN] = "?";
	if (ss.ss_family == AF_INET6)
		uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
	else
		uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
	snprintf(srv->address, sizeof srv->address, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
	         ip, (unsigned)port);
	uv_tcp_init(loop, &srv->listener);
	srv->listener.data = srv;
	srv->listener_open = 1;
	int rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&ss, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&srv->listener, 128, on_connection);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", srv->address, uv_strerror(rc));
		srv->closed = 1;
		uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
		return NULL;
	}
	return srv;
}

void http_close(struct http_server *srv)
{
	if (!srv || srv->closed)
		return;
	srv->closed = 1;
	for (struct http_conn *c = srv->conns; c; c = c->next)
		conn_close(c);
	uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
}

const char *http_address(const struct http_server *srv)
{
	return srv->address;
}
