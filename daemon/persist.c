/* Ring persistence with a fallback to memory (persist.h). */
#include "persist.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "paths.h"
#include "rmond.h"

static struct {
	uv_timer_t retry;
	char state[640];   /* "file" or "memory: <why>" */
} P = { .state = "file" };

const char *persist_state(void)
{
	return P.state;
}

/* The state directory cannot take the file now, but may later: the
 * errors of a read-only, unwritable, full or over-quota directory. */
static int may_heal(int e)
{
	return e == EACCES || e == EPERM || e == EROFS || e == ENOSPC || e == EDQUOT ||
	       e == EFBIG;
}

/* mkdir -p the state directory, then the ring (open, or make the memory
 * ring a file).  0 or -errno with err set. */
static int try_file(struct rmond *d, struct ring_opts *ro, char *aside, size_t asidelen,
                    char *err, size_t errlen)
{
	int rc = paths_mkdirs(d->cfg.state_dir, 0750);

	if (rc < 0) {
		snprintf(err, errlen, "state directory %.400s: %s", d->cfg.state_dir, strerror(-rc));
		return rc;
	}
	if (ro)
		return ring_open(ro, &d->ring, &d->ring_info, err, errlen);
	return ring_persist(d->ring, d->ring_path, aside, asidelen, err, errlen);
}

static void on_retry(uv_timer_t *t)
{
	struct rmond *d = t->data;
	char err[512], aside[512];
	int rc = try_file(d, NULL, aside, sizeof aside, err, sizeof err);

	if (rc < 0) {
		/* Say it again only when the reason changes. */
		if (strcmp(P.state + strlen("memory: "), err) != 0) {
			log_warnx("ring: still in memory: %s", err);
			snprintf(P.state, sizeof P.state, "memory: %s", err);
		}
		return;
	}
	uv_timer_stop(t);
	uv_close((uv_handle_t *)t, NULL);
	snprintf(P.state, sizeof P.state, "file");
	if (*aside)
		snprintf(d->ring_info.moved_aside, sizeof d->ring_info.moved_aside, "%s", aside);
	log_info("ring: %s can take the file again: history kept in memory since start is "
	         "now in %s, and persists from here on", d->cfg.state_dir, d->ring_path);
}

int persist_open(struct rmond *d, struct ring_opts *ro)
{
	char err[512];
	int rc;

	if (d->cfg.ring_memory) {
		ro->path = NULL;
		snprintf(P.state, sizeof P.state, "memory: ring.mode is memory");
	} else {
		ro->path = d->ring_path;
		rc = try_file(d, ro, NULL, 0, err, sizeof err);
		if (rc == 0)
			return 0;
		if (!may_heal(-rc)) {
			log_errx("%s", err);
			return -1;
		}
		log_warnx("%s; keeping history in memory, and trying the file again every %d s",
		          err, PERSIST_RETRY_MS / 1000);
		snprintf(P.state, sizeof P.state, "memory: %s", err);
		ro->path = NULL;
		ro->may_persist = 1;
	}
	if (ring_open(ro, &d->ring, &d->ring_info, err, sizeof err) < 0) {
		log_errx("%s", err);
		return -1;
	}
	if (d->cfg.ring_memory)
		return 0;
	/* Unreferenced: the retry never keeps a stopping daemon's loop alive. */
	uv_timer_init(d->loop, &P.retry);
	P.retry.data = d;
	uv_timer_start(&P.retry, on_retry, PERSIST_RETRY_MS, PERSIST_RETRY_MS);
	uv_unref((uv_handle_t *)&P.retry);
	return 0;
}
