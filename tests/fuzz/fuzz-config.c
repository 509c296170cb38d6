/*
 * libFuzzer target: config text → config_parse, as `rmond -c FILE` and a
 * reload would run it.  Besides sanitizer findings, it aborts when the
 * parser breaks its contract: an error without a message, a message that
 * is not one NUL-terminated line naming the file, a failed parse that
 * changed the config, or an accepted config whose dump does not parse back
 * to the same values.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",   \
			        __FILE__, __LINE__, #cond);                \
			abort();                                           \
		}                                                          \
	} while (0)

static char *dump(const struct config *c, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	CHECK(f != NULL);
	config_dump(c, f);
	CHECK(fclose(f) == 0);
	return text;
}

/* What config_dump writes for c must parse back to a config that dumps
 * the same (compared as text: bytes after a string's NUL do not count). */
static void check_round_trip(const struct config *c)
{
	char err[1024];
	size_t len, len2;
	char *text = dump(c, &len), *again;
	struct config back;

	config_defaults(&back);
	if (config_parse("dump", text, len, &back, err, sizeof err) != 0) {
		fprintf(stderr, "dump does not parse back: %s\n---\n%s---\n", err, text);
		abort();
	}
	again = dump(&back, &len2);
	CHECK(len == len2 && memcmp(text, again, len) == 0);
	free(again);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c, before;
	char err[512];
	int rc;

	config_defaults(&c);
	before = c;
	memset(err, 'x', sizeof err);
	rc = config_parse("fuzz.yaml", (const char *)data, size, &c, err, sizeof err);
	CHECK(memchr(err, '\0', sizeof err) != NULL);
	if (rc != 0) {
		CHECK(rc < 0);
		CHECK(err[0] != '\0');
		CHECK(strncmp(err, "fuzz.yaml", 9) == 0);
		CHECK(strchr(err, '\n') == NULL);
		CHECK(memcmp(&c, &before, sizeof c) == 0);
		return 0;
	}
	check_round_trip(&c);
	return 0;
}
