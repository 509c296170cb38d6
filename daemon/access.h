/*
 * Who may do what, from the peer's credentials (conn.h) and the config's
 * access lists: root always; admins (access.admins, access.admin_groups)
 * may reload and shut down rmond; a process's command line and exe are
 * shown to root, its owner, and access.cmdline_uids/cmdline_groups.
 * Group membership is the peer's primary gid plus its supplementary
 * groups (SO_PEERGROUPS, else getgrouplist of the uid's name).
 * Process environments are never collected, so never served.
 */
#ifndef RMON_ACCESS_H
#define RMON_ACCESS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "conn.h"

/* At accept, when SO_PEERGROUPS gave nothing: the groups of the uid's
 * name (getgrouplist; none when the uid has no name: then only the
 * primary gid counts). */
void access_read_groups(struct conn *c);
/* Is the peer in one of gids[0..n)? */
bool access_in_groups(const struct conn *c, const uint32_t *gids, unsigned n);
/* Root, access.admins or a member of access.admin_groups. */
bool access_is_admin(const struct conn *c, const struct config *cfg);
/* May the peer see the cmdline and exe of a process owned by owner? */
bool access_may_see_cmdline(const struct conn *c, const struct config *cfg, uint32_t owner);

#endif
