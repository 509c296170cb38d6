/*
 * Selectors: KIND[:KEY].FIELD, split at the last dot and the first colon,
 * so keys may hold dots ("net:eth0.100.rx_bps").  KEY and FIELD may be "*";
 * a KEY ending in "*" matches the keys that start with the rest
 * ("thread:1234/" then "*", then ".cpu_pct": every thread of process 1234).
 */
#ifndef RMON_SELECTOR_H
#define RMON_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "schema.h"

struct selector {
	enum rm_kind kind;
	char key[RM_KEY_MAX];  /* "" for unkeyed kinds */
	bool key_any;          /* KEY was "*" (or omitted on a keyed kind) */
	bool key_prefix;       /* KEY ended in "*": key holds the prefix ("1234/") */
	int field;             /* field index, or -1 for "*" */
};

/* Parse; on error returns -1 with a message naming the selector. */
int selector_parse(const char *s, struct selector *out, char *err, size_t errlen);

bool selector_match_key(const struct selector *sel, const char *key);

/* "cpu:3.busy_pct", "system.load1" */
void selector_name(enum rm_kind kind, const char *key, int field, char *buf, size_t len);

#endif
