/* Durations as people write them: "250ms", "10s", "5m", "1h30m", "2d". */
#ifndef RMON_DURATION_H
#define RMON_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Units: ns us ms s m h d; a bare number is seconds; components add up
 * ("1h30m").  Returns 0, or -EINVAL (empty, unknown unit, overflow). */
int duration_parse(const char *s, uint64_t *ns);

/* Shortest exact form: "1h30m", "250ms", "0s". */
void duration_format(uint64_t ns, char *buf, size_t len);

#endif
