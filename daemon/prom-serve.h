/*
 * rmond's Prometheus endpoint: the HTTP listener the config asks for
 * (prometheus.listen, .max_connections, .timeout), serving GET /metrics
 * with the text of req_metrics_text.  Off when prometheus.listen is "".
 */
#ifndef RMON_PROM_SERVE_H
#define RMON_PROM_SERVE_H

#include <stddef.h>

struct config;
struct rmond;

/* Listen as c's prometheus.* keys say (nothing when the listener is off):
 * d->cfg, or the config a reload is about to apply.  Call on the loop
 * thread.  0, or -1 with the reason in err (address in use, host not
 * found, ...); the listener is then off. */
int prom_serve_open(struct rmond *d, const struct config *c, char *err, size_t errlen);

/* Stop listening and drop the open requests; the port is free on return.
 * A no-op when the listener is off.  A reload with new prometheus.*
 * settings: prom_serve_close, then prom_serve_open on the new config. */
void prom_serve_close(struct rmond *d);

#endif
