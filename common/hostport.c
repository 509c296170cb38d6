#include "hostport.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int hostport_split(const char *spec, char *host, size_t hostlen, uint16_t *port,
                   char *err, size_t errlen)
{
	const char *colon = strrchr(spec, ':');
	const char *h = spec, *hend = colon;
	if (!colon) {
		snprintf(err, errlen, "\"%s\": expected HOST:PORT, [IPV6]:PORT or :PORT", spec);
		return -EINVAL;
	}
	if (*spec == '[') {
		const char *close = strchr(spec, ']');
		if (!close || close + 1 != colon || close == spec + 1) {
			snprintf(err, errlen, "\"%s\": expected [IPV6]:PORT", spec);
			return -EINVAL;
		}
		h = spec + 1;
		hend = close;
	} else if (memchr(spec, ':', (size_t)(colon - spec))) {
		snprintf(err, errlen, "\"%s\": an IPv6 address goes in brackets: [::1]:9464", spec);
		return -EINVAL;
	}
	unsigned long p = 0;
	const char *d = colon + 1;
	for (; *d >= '0' && *d <= '9' && p <= 65535; d++)
		p = p * 10 + (unsigned long)(*d - '0');
	if (d == colon + 1 || *d || p == 0 || p > 65535) {
		snprintf(err, errlen, "\"%s\": the port must be a number from 1 to 65535", spec);
		return -EINVAL;
	}
	size_t n = (size_t)(hend - h);
	if (n == 0) {
		h = "127.0.0.1";   /* a bare :PORT is loopback, never every interface */
		n = strlen(h);
	}
	if (n >= hostlen) {
		snprintf(err, errlen, "\"%s\": the host name is too long", spec);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)h[i] <= 0x20 || (unsigned char)h[i] >= 0x7f) {
			snprintf(err, errlen, "\"%s\": bad character in the host", spec);
			return -EINVAL;
		}
	memcpy(host, h, n);
	host[n] = '\0';
	*port = (uint16_t)p;
	return 0;
}
