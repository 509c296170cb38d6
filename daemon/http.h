/*
 * A small, bounded HTTP/1.x server on the daemon's libuv loop that serves
 * one resource (GET or HEAD of one path) and nothing else.  Every request
 * is bounded: its head (HTTP_HEAD_MAX bytes, else 431), its time (one
 * deadline for reading the request and writing the answer), and the
 * number of connections (one over the limit gets 503 and is closed).  Each
 * answer carries `Connection: close`.
 *
 * The parser and the response head are plain functions (no libuv), so the
 * tests drive them directly.
 */
#ifndef RMON_HTTP_H
#define RMON_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define HTTP_HEAD_MAX 8192       /* request line + headers + blank line */

/* What the parser found in a complete, valid request head. */
struct http_request {
	int head_only;               /* HEAD: the headers, no body */
	size_t head_len;             /* bytes up to and including the blank line */
};

/* Parse buf[0..len), the bytes received so far, as a request for `path`.
 * Returns 0 while the head is incomplete and could still become valid,
 * else the status to answer: 200 (a GET or HEAD of path; *req filled),
 * 400 malformed, 404 another path, 405 another method, 413 a request with
 * a body, 431 no complete head within max bytes, 505 an HTTP version other
 * than 1.0 and 1.1.  The query string is ignored. */
int http_parse(const char *buf, size_t len, size_t max, const char *path,
               struct http_request *req);

/* "Not Found" for 404, ...; "" for a status we never send. */
const char *http_reason(int status);

/* The response head (status line, Content-Type, Content-Length, Allow for
 * 405, Connection: close, blank line) into buf.  Returns its length, or 0
 * when it does not fit. */
size_t http_response_head(char *buf, size_t len, int status, const char *content_type,
                          size_t content_length);

/* The body for a 200: a malloc'd buffer (the server frees it) of *len
 * bytes, or NULL (the request gets a 500). */
typedef char *(*http_render_fn)(void *arg, size_t *len);

struct http_opts {
	const char *listen;          /* as hostport_split takes it */
	unsigned max_connections;    /* open at once; more get 503 */
	uint64_t timeout_ns;         /* per connection: read the request, write the answer */
	const char *path;            /* the one resource, "/metrics" */
	const char *content_type;    /* of its body */
	http_render_fn render;
	void *arg;
};

struct http_server;

/* Resolve the address, bind and listen.  NULL with a message in err on
 * failure (bad address, name not found, address in use, ...). */
struct http_server *http_open(uv_loop_t *loop, const struct http_opts *o, char *err,
                              size_t errlen);

/* Stop listening and drop every connection; the memory goes once libuv
 * has closed the handles.  The port is free when this returns, so a
 * listener may be opened again on the same address at once.  NULL is a
 * no-op. */
void http_close(struct http_server *srv);

/* "127.0.0.1:9464": the address actually bound, for the log. */
const char *http_address(const struct http_server *srv);

#endif
