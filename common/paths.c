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

/* The first entry of a directory list systemd exports ($RUNTIME_DIRECTORY,
 * $STATE_DIRECTORY: absolute paths joined by ':'), into out; 0 when the
 * variable is unset, empty or not absolute. */
static int systemd_dir(const char *var, char *out, size_t len)
{
	const char *v = getenv(var);
	if (!v || *v != '/')
		return 0;
	size_t n = strcspn(v, ":");
	if (n >= len)
		return 0;
	memcpy(out, v, n);
	out[n] = '\0';
	return 1;
}

int paths_per_user(void)
{
	char dir[4096];
	return geteuid() != 0 && !systemd_dir("RUNTIME_DIRECTORY", dir, sizeof dir);
}

static int per_user_socket(char *out, size_t cap)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && *xdg == '/')
		return fits(snprintf(out, cap, "%s/rmon/rmond.sock", xdg), cap);
	return fits(snprintf(out, cap, "/tmp/rmon-%u/rmond.sock", (unsigned)geteuid()), cap);
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

int paths_socket(const char *explicit_path, enum paths_role role, char *out, size_t len)
{
	size_t cap = len < PATHS_SOCKET_MAX ? len : PATHS_SOCKET_MAX;
	const char *env = role == PATHS_CLIENT ? getenv("RMON_SOCKET") : NULL;
	char dir[4096];

	if (explicit_path && *explicit_path)
		return fits(snprintf(out, cap, "%s", explicit_path), cap);
	if (env && *env)
		return fits(snprintf(out, cap, "%s", env), cap);
	if (role == PATHS_DAEMON && systemd_dir("RUNTIME_DIRECTORY", dir, sizeof dir))
		return fits(snprintf(out, cap, "%s/rmond.sock", dir), cap);
	if (geteuid() == 0)
		return fits(snprintf(out, cap, PATHS_SYSTEM_SOCKET), cap);
	int rc = per_user_socket(out, cap);
	/* A user without a daemon of their own talks to the system one. */
	if (role == PATHS_CLIENT && (rc < 0 || !exists(out)) && exists(PATHS_SYSTEM_SOCKET))
		return fits(snprintf(out, cap, PATHS_SYSTEM_SOCKET), cap);
	return rc;
}

int paths_state_dir(char *out, size_t len)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	if (systemd_dir("STATE_DIRECTORY", out, len))
		return 0;
	if (geteuid() == 0)
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
