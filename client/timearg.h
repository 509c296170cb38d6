/*
 * --since / --until values: "now"; a duration meaning that long ago
 * ("5m", "1h30m", "-5m" alike); epoch seconds "@1763720000[.5]"; or a
 * date and time: RFC 3339 ("2026-11-21T11:20:00Z", "...+01:00") or
 * "YYYY-MM-DD[ HH:MM[:SS[.frac]]]" and "HH:MM[:SS]" (today) in local time.
 */
#ifndef RMON_TIMEARG_H
#define RMON_TIMEARG_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_REALTIME now, in ns. */
uint64_t timearg_now(void);

/* Parse s relative to now_ns into ns since the epoch.  Returns 0, or
 * -EINVAL with a message in err. */
int timearg_parse(const char *s, uint64_t now_ns, uint64_t *out, char *err, size_t errlen);

#endif
