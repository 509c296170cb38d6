/*
 * Durations and sizes as people write them in a config file:
 * "250ms", "10s", "5m", "1h30m", "2d"; "64MiB", "512M", "4096".
 */
#ifndef RMON_DURATION_H
#define RMON_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Longest string duration_format/size_format produce, NUL included. */
#define DURATION_STR_MAX 40

/* Units: ns us ms s m h d; a bare number is seconds; components add up
 * ("1h30m"), each may have a decimal fraction ("1.5s"), truncated to
 * whole nanoseconds.  Returns 0, or -EINVAL (empty, unknown unit,
 * negative, overflow, garbage); *ns is set only on success. */
int duration_parse(const char *s, uint64_t *ns);

/* Canonical exact form, largest units first: "1h30m", "250ms", "0s".
 * Truncated (still NUL-terminated) if len is too small. */
void duration_format(uint64_t ns, char *buf, size_t len);

/* Byte sizes, all units powers of 1024: bare number or B = bytes;
 * k K KB KiB, M MB MiB, G GB GiB, T TB TiB (case-insensitive).  A
 * fraction is allowed ("1.5G") and truncated to whole bytes.  Returns 0,
 * or -EINVAL; *bytes is set only on success. */
int size_parse(const char *s, uint64_t *bytes);

/* Largest unit that divides exactly: "128MiB", "4KiB", "1000B". */
void size_format(uint64_t bytes, char *buf, size_t len);

#endif
