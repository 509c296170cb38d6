/* The bounded HTTP request parser, the response head, and listen address
 * parsing: every status the listener answers with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hostport.h"
#include "http.h"

static int parse(const char *s, struct http_request *req)
{
	return http_parse(s, strlen(s), HTTP_HEAD_MAX, "/metrics", req);
}

static int status_of(const char *s)
{
	struct http_request req;
	return parse(s, &req);
}

static void test_valid_requests(void **state)
{
	struct http_request req = { 0 };
	(void)state;
	const char *get = "GET /metrics HTTP/1.1\r\nHost: localhost:9464\r\n"
	                  "Accept: text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"
	                  "User-Agent: Prometheus/2.42.0\r\n\r\n";
	assert_int_equal(parse(get, &req), 200);
	assert_int_equal(req.head_only, 0);
	assert_int_equal(req.head_len, strlen(get));

	assert_int_equal(parse("HEAD /metrics HTTP/1.0\r\n\r\n", &req), 200);
	assert_int_equal(req.head_only, 1);
	/* bare LF line ends, a query string, the absolute form, an empty
	 * Content-Length body, trailing bytes after the head */
	assert_int_equal(parse("GET /metrics HTTP/1.0\n\n", &req), 200);
	assert_int_equal(req.head_len, 23);
	assert_int_equal(status_of("GET /metrics?name[]=up HTTP/1.1\r\n\r\n"), 200);
	assert_int_equal(status_of("GET http://h:9464/metrics HTTP/1.1\r\n\r\n"), 200);
	assert_int_equal(status_of("GET /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), 200);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\n\r\nGET /x", &req), 200);
	assert_int_equal(req.head_len, 25);
}

static void test_incomplete_until_the_limit(void **state)
{
	(void)state;
	assert_int_equal(status_of(""), 0);
	assert_int_equal(status_of("GE"), 0);
	assert_int_equal(status_of("GET /metrics HTTP/1.1\r\n"), 0);
	assert_int_equal(status_of("GET /metrics HTTP/1.1\r\nHost: x\r\n\r"), 0);

	/* no blank line within the limit: 431, whether the limit falls in a
	 * header or the head is one byte too long */
	char *big = malloc(HTTP_HEAD_MAX + 64);
	assert_non_null(big);
	strcpy(big, "GET /metrics HTTP/1.1\r\nX-Long: ");
	size_t n = strlen(big);
	memset(big + n, 'a', HTTP_HEAD_MAX + 60 - n);
	struct http_request req;
	assert_int_equal(http_parse(big, HTTP_HEAD_MAX - 1, HTTP_HEAD_MAX, "/metrics", &req), 0);
	assert_int_equal(http_parse(big, HTTP_HEAD_MAX, HTTP_HEAD_MAX, "/metrics", &req), 431);
	/* a head of exactly the limit is fine, one byte more is not */
	memcpy(big + HTTP_HEAD_MAX - 4, "\r\n\r\n", 4);
	assert_int_equal(http_parse(big, HTTP_HEAD_MAX, HTTP_HEAD_MAX, "/metrics", &req), 200);
	assert_int_equal(req.head_len, HTTP_HEAD_MAX);
	memset(big + HTTP_HEAD_MAX - 4, 'a', 4);
	memcpy(big + HTTP_HEAD_MAX - 3, "\r\n\r\n", 4);
	assert_int_equal(http_parse(big, HTTP_HEAD_MAX + 1, HTTP_HEAD_MAX, "/metrics", &req), 431);
	free(big);
}

static void test_errors(void **state)
{
	(void)state;
	/* 400: the request line */
	assert_int_equal(status_of("\x16\x03\x01\x02"), 400);   /* TLS, refused at once */
	assert_int_equal(status_of("\r\nGET /metrics HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(status_of("GET /metrics\r\n\r\n"), 400);
	assert_int_equal(status_of("GET  /metrics HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(status_of("GET /metrics  HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(status_of("GET /metrics http/1.1\r\n\r\n"), 400);
	assert_int_equal(status_of("GET /metrics HTTP/1.1x\r\n\r\n"), 400);
	assert_int_equal(status_of("GET /met\x01rics HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(status_of("G(T /metrics HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(status_of("GET /metrics HTTP/1.1\r\n"), 0);   /* still fine */
	assert_int_equal(status_of("GET /metrics HTTP/1.1 extra\r\n"), 400);  /* at once */
	/* 400: headers */
	assert_int_equal(status_of("GET /metrics HTTP/1.1\r\nNoColon\r\n\r\n"), 400);
	assert_int_equal(status_of("GET /metrics HTTP/1.1\r\nBad Name: x\r\n\r\n"), 400);
	assert_int_equal(status_of("GET /metrics HTTP/1.1\r\nA: b\r\n folded\r\n\r\n"), 400);
	assert_int_equal(status_of("GET /metrics HTTP/1.1\r\nA: b\x01\r\n\r\n"), 400);
	assert_int_equal(status_of("GET /metrics HTTP/1.1\r\nA: b\rc\r\n\r\n"), 400);
	assert_int_equal(status_of("GET /metrics HTTP/1.1\r\nContent-Length: x\r\n\r\n"), 400);
	assert_int_equal(status_of("GET /metrics HTTP/1.1\r\nContent-Length:\r\n\r\n"), 400);
	/* 505 */
	assert_int_equal(status_of("GET /metrics HTTP/2.0\r\n\r\n"), 505);
	assert_int_equal(status_of("GET /metrics HTTP/1.2\r\n\r\n"), 505);
	/* 413: we take no body */
	assert_int_equal(status_of("GET /metrics HTTP/1.1\r\ncontent-length: 5\r\n\r\n"), 413);
	assert_int_equal(status_of("POST /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
	                 413);
	/* 404, 405 */
	assert_int_equal(status_of("GET / HTTP/1.1\r\n\r\n"), 404);
	assert_int_equal(status_of("GET /metricsx HTTP/1.1\r\n\r\n"), 404);
	assert_int_equal(status_of("GET /metrics/ HTTP/1.1\r\n\r\n"), 404);
	assert_int_equal(status_of("POST /other HTTP/1.1\r\n\r\n"), 404);
	assert_int_equal(status_of("POST /metrics HTTP/1.1\r\n\r\n"), 405);
	assert_int_equal(status_of("get /metrics HTTP/1.1\r\n\r\n"), 405);   /* case matters */
	assert_int_equal(status_of("OPTIONS /metrics HTTP/1.1\r\n\r\n"), 405);
}

static void test_response_head(void **state)
{
	char buf[512];
	(void)state;
	size_t n = http_response_head(buf, sizeof buf, 200, "text/plain; version=0.0.4", 1234);
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
	                         "Content-Length: 1234\r\nConnection: close\r\n\r\n");
	http_response_head(buf, sizeof buf, 405, "text/plain", 0);
	assert_non_null(strstr(buf, "HTTP/1.1 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(buf, "\r\nAllow: GET, HEAD\r\n"));
	http_response_head(buf, sizeof buf, 431, "text/plain", 0);
	assert_non_null(strstr(buf, "HTTP/1.1 431 Request Header Fields Too Large\r\n"));
	assert_null(strstr(buf, "Allow"));
	assert_int_equal(http_response_head(buf, 20, 200, "text/plain", 0), 0);
	static const int used[] = { 200, 400, 404, 405, 408, 413, 431, 500, 503, 505 };
	for (size_t i = 0; i < sizeof used / sizeof used[0]; i++)
		assert_true(strlen(http_reason(used[i])) > 0);
}

static void expect_split(const char *spec, const char *host, unsigned port)
{
	char h[HOSTPORT_HOST_MAX], err[256];
	uint16_t p = 0;
	assert_int_equal(hostport_split(spec, h, sizeof h, &p, err, sizeof err), 0);
	assert_string_equal(h, host);
	assert_int_equal(p, port);
}

static void expect_bad(const char *spec)
{
	char h[HOSTPORT_HOST_MAX], err[256] = "";
	uint16_t p = 0;
	if (hostport_split(spec, h, sizeof h, &p, err, sizeof err) != -EINVAL)
		fail_msg("\"%s\" accepted", spec);
	assert_non_null(strstr(err, spec));
}

static void test_listen_addresses(void **state)
{
	(void)state;
	expect_split(":9464", "127.0.0.1", 9464);   /* loopback, never everything */
	expect_split("127.0.0.1:9464", "127.0.0.1", 9464);
	expect_split("localhost:1", "localhost", 1);
	expect_split("0.0.0.0:65535", "0.0.0.0", 65535);
	expect_split("[::1]:9464", "::1", 9464);
	expect_split("[::]:9464", "::", 9464);
	expect_bad("9464");
	expect_bad("");
	expect_bad("::1:9464");
	expect_bad("host:");
	expect_bad("host:0");
	expect_bad("host:65536");
	expect_bad("host:99999999999999999999");
	expect_bad("host:12a");
	expect_bad(":-1");
	expect_bad("[::1]9464");
	expect_bad("[]:9464");
	expect_bad("[::1:9464");
	expect_bad("ho st:9464");
}

/* ---- the server on a loop of our own ---- */

static unsigned free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static int renders;

static char *render(void *arg, size_t *len)
{
	renders++;
	if (arg)
		return NULL;   /* a render that fails: 500 */
	*len = 6;
	return strdup("hello\n");
}

/* Send req to the listener and run the loop until the answer is whole. */
static void ask(uv_loop_t *loop, unsigned port, const char *req, char *out, size_t outlen)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);   /* the backlog takes it */
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	size_t got = 0;
	for (int i = 0; i < 2000; i++) {
		uv_run(loop, UV_RUN_NOWAIT);
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 1) == 1) {
			ssize_t n = read(fd, out + got, outlen - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
		}
	}
	out[got] = '\0';
	close(fd);
	for (int i = 0; i < 10; i++)
		uv_run(loop, UV_RUN_NOWAIT);   /* rmond sees the close */
}

static void test_server_serves_closes_and_reopens(void **state)
{
	uv_loop_t loop;
	char spec[32], err[256], out[1024];
	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	unsigned port = free_port();
	snprintf(spec, sizeof spec, "127.0.0.1:%u", port);
	struct http_opts o = { spec, 2, 2000000000ull, "/metrics", "text/plain", render, NULL };
	struct http_server *srv = http_open(&loop, &o, err, sizeof err);
	assert_non_null(srv);
	assert_string_equal(http_address(srv), spec);
	ask(&loop, port, "GET /metrics HTTP/1.1\r\n\r\n", out, sizeof out);
	assert_string_equal(out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	                         "Content-Length: 6\r\nConnection: close\r\n\r\nhello\n");
	ask(&loop, port, "GET /nope HTTP/1.1\r\n\r\n", out, sizeof out);
	assert_true(strncmp(out, "HTTP/1.1 404 Not Found\r\n", 24) == 0);
	assert_non_null(strstr(out, "\r\n\r\n404 Not Found\n"));
	assert_int_equal(renders, 1);

	/* a second listener on the same address is refused while this one
	 * runs; after http_close the address is free at once (a reload) */
	assert_null(http_open(&loop, &o, err, sizeof err));
	assert_non_null(strstr(err, "address already in use"));
	http_close(srv);
	o.arg = &port;   /* now the render fails */
	srv = http_open(&loop, &o, err, sizeof err);
	assert_non_null(srv);
	ask(&loop, port, "GET /metrics HTTP/1.0\r\n\r\n", out, sizeof out);
	assert_true(strncmp(out, "HTTP/1.1 500 Internal Server Error\r\n", 36) == 0);
	http_close(srv);
	http_close(NULL);

	/* every handle closed and everything freed: the loop closes */
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_requests),
		cmocka_unit_test(test_incomplete_until_the_limit),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_response_head),
		cmocka_unit_test(test_listen_addresses),
		cmocka_unit_test(test_server_serves_closes_and_reopens),
	};
	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
