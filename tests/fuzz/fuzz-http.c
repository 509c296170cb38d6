/*
 * libFuzzer target: bytes from a TCP peer → http_parse, as the Prometheus
 * listener runs it on what has arrived so far.  Besides sanitizer
 * findings, it aborts when the parser breaks its contract: a status it
 * never answers, "incomplete" (0) for a buffer already at the head limit,
 * a 200 whose head length is not inside the buffer or does not end with
 * the blank line, or an answer that a longer arrival of the same bytes
 * contradicts (a decided status must not depend on what comes after the
 * head, and an incomplete head must stay undecided or decide later).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",   \
			        __FILE__, __LINE__, #cond);                \
			abort();                                           \
		}                                                          \
	} while (0)

static int known_status(int s)
{
	static const int ok[] = { 0, 200, 400, 404, 405, 413, 431, 505 };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (s == ok[i])
			return 1;
	return 0;
}

static int parse(const char *buf, size_t len, struct http_request *req)
{
	memset(req, 0xa5, sizeof *req);
	int s = http_parse(buf, len, HTTP_HEAD_MAX, "/metrics", req);
	CHECK(known_status(s));
	CHECK(s != 0 || len < HTTP_HEAD_MAX);
	if (s == 200) {
		CHECK(req->head_len >= 4 && req->head_len <= len);
		CHECK(req->head_only == 0 || req->head_only == 1);
		CHECK(buf[req->head_len - 1] == '\n');
	}
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 2 * HTTP_HEAD_MAX)
		return 0;
	/* a copy of exactly size bytes: any read past it is ASan's to see */
	char *buf = malloc(size ? size : 1);
	CHECK(buf != NULL);
	memcpy(buf, data, size);
	struct http_request whole, part;
	int s = parse(buf, size, &whole);
	/* The same bytes arriving in two pieces: the first piece alone is
	 * undecided, or already says what the whole says. */
	size_t cut = size ? data[0] % (size + 1) : 0;
	int p = parse(buf, cut, &part);
	if (p != 0) {
		CHECK(p == s);
		if (p == 200)
			CHECK(part.head_len == whole.head_len && part.head_only == whole.head_only);
	}
	free(buf);
	return 0;
}
