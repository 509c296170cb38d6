#include "paths.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fits(int n, size_t len)
{
	return n >= 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

int paths_per_user(void)
{
	return geteuid() != 0;
}

int paths_socket(const char *explicit_path, int use_env, char *out, size_t len)
{
	size_t cap = len < PATHS_SOCKET_MAX ? len : PATHS_SOCKET_MAX;
	const char *env = use_env ? getenv("RMON_SOCKET") : NULL;
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (explicit_path && *explicit_path)
		return fits(snprintf(out, cap, "%s", explicit_path), cap);
	if (env && *env)
		return fits(snprintf(out, cap, "%s", env), cap);
	if (!paths_per_user())
		return fits(snprintf(out, cap, "/run/rmon/rmond.sock"), cap);
	if (xdg && *xdg == '/')
		return fits(snprintf(out, cap, "%s/rmon/rmond.sock", xdg), cap);
	return fits(snprintf(out, cap, "/tmp/rmon-%u/rmond.sock", (unsigned)geteuid()), cap);
}

int paths_state_dir(char *out, size_t len)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	if (!paths_per_user())
		return fits(snprintf(out, len, "/var/lib/rmon"), len);
	if (xdg && *xdg == '/')
		return fits(snprintf(out, len, "%s/rmon", xdg), len);
	if (!home || *home != '/') {
		struct passwd *pw = getpwuid(geteuid());
		home = pw ? pw->pw_dir : "/tmp";
	}
	return fits(snprintf(out, len, "%s/.local/state/rmon", home), len);
}

int paths_mkdirs(const char *dir, unsigned mode)
{
	char buf[4096];
	if (fits(snprintf(buf, sizeof buf, "%s", dir), sizeof buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, (mode_t)mode) < 0 && errno != EEXIST)
			return -errno;
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}
