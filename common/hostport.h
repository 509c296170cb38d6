/*
 * A TCP listen address as the config spells it: "host:port",
 * "[v6addr]:port", or ":port", which means loopback (127.0.0.1), never
 * every interface (binding 0.0.0.0 must be written out).  Syntax only, no
 * name lookup: the config checks it on load, the listener resolves it.
 */
#ifndef RMON_HOSTPORT_H
#define RMON_HOSTPORT_H

#include <stddef.h>
#include <stdint.h>

#define HOSTPORT_HOST_MAX 256

/* The host (brackets removed) into host[hostlen] and the port (1..65535).
 * 0, or -EINVAL with a message in err. */
int hostport_split(const char *spec, char *host, size_t hostlen, uint16_t *port,
                   char *err, size_t errlen);

#endif
