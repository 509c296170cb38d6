#include "prom-serve.h"

#include <stdio.h>

#include "http.h"
#include "log.h"
#include "prom.h"
#include "req/req.h"
#include "rmond.h"

static char *render(void *arg, size_t *len)
{
	(void)arg;
	return req_metrics_text(len);
}

int prom_serve_open(struct rmond *d, const struct config *c, char *err, size_t errlen)
{
	if (d->prom_http || !c->prom_listen[0])
		return 0;
	struct http_opts o = { c->prom_listen, c->prom_max_connections, c->prom_timeout_ns,
	                       "/metrics", PROM_CONTENT_TYPE, render, d };
	char why[512];
	d->prom_http = http_open(d->loop, &o, why, sizeof why);
	if (!d->prom_http) {
		snprintf(err, errlen, "prometheus.listen: %s", why);   /* why names the address */
		return -1;
	}
	log_info("prometheus: serving http://%s/metrics", http_address(d->prom_http));
	return 0;
}

void prom_serve_close(struct rmond *d)
{
	http_close(d->prom_http);
	d->prom_http = NULL;
}
