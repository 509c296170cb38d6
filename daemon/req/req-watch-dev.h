/* watch of devices (args gpu or egpu): see req-watch-dev.c. */
#ifndef RMON_REQ_WATCH_DEV_H
#define RMON_REQ_WATCH_DEV_H

#include <stdbool.h>

#include "conn.h"
#include "msg.h"

/* The request asks for a device stream (it has a `gpu` or `egpu` arg). */
bool req_watch_dev_wanted(const struct msg_request *req);
/* Start it: the `started` event, or an error reply. */
void req_watch_dev_exec(struct conn *c, const struct msg_request *req);

#endif
