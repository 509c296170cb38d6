#include "access.h"

#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

void access_read_groups(struct conn *c)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int n = CONN_GROUPS_MAX;
	c->ngroups = 0;
	if (getpwuid_r(c->uid, &pw, buf, sizeof buf, &res) != 0 || !res)
		return;
	if (getgrouplist(res->pw_name, c->gid, c->groups, &n) < 0)
		n = CONN_GROUPS_MAX;   /* more than fit: the first ones */
	c->ngroups = n;
}

bool access_in_groups(const struct conn *c, const uint32_t *gids, unsigned n)
{
	if (n == 0)
		return false;
	if (c->gid != (gid_t)-1 && config_uid_listed(gids, n, (uint32_t)c->gid))
		return true;
	for (int i = 0; i < c->ngroups; i++)
		if (config_uid_listed(gids, n, (uint32_t)c->groups[i]))
			return true;
	return false;
}

bool access_is_admin(const struct conn *c, const struct config *cfg)
{
	return c->uid == 0 || config_uid_listed(cfg->access_admins, cfg->access_nadmins, c->uid) ||
	       access_in_groups(c, cfg->access_admin_gids, cfg->access_nadmin_gids);
}

bool access_may_see_cmdline(const struct conn *c, const struct config *cfg, uint32_t owner)
{
	return c->uid == 0 || c->uid == owner ||
	       config_uid_listed(cfg->access_cmdline_uids, cfg->access_ncmdline_uids, c->uid) ||
	       access_in_groups(c, cfg->access_cmdline_gids, cfg->access_ncmdline_gids);
}
