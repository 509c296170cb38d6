/*
 * Where the socket and the state live, resolved the same way by rmond and
 * rmonctl so that both find each other without configuration.
 */
#ifndef RMON_PATHS_H
#define RMON_PATHS_H

#include <stddef.h>

#define PATHS_SOCKET_MAX 108  /* sizeof(sockaddr_un.sun_path) */

/* The system-wide socket: where a service (systemd, launchd, root) listens. */
#define PATHS_SYSTEM_SOCKET "/run/rmon/rmond.sock"

/* Who asks: the daemon binds the path, a client connects to it. */
enum paths_role { PATHS_DAEMON = 0, PATHS_CLIENT = 1 };

/* The socket.  Both roles: the explicit path (flag or config) if
 * non-empty.  Then, for the daemon: $RUNTIME_DIRECTORY/rmond.sock (set by
 * systemd's RuntimeDirectory=, its first entry), /run/rmon/rmond.sock for
 * root, else the per-user socket ($XDG_RUNTIME_DIR/rmon/rmond.sock, else
 * /tmp/rmon-$UID/rmond.sock).  For a client: $RMON_SOCKET,
 * /run/rmon/rmond.sock for root, else the per-user socket if it exists,
 * else /run/rmon/rmond.sock if that exists (the service's), else the
 * per-user path.  A client ignores $RUNTIME_DIRECTORY: that would be the
 * directory of whichever service runs it.
 * Returns 0, or -ENAMETOOLONG when the path does not fit a sockaddr_un. */
int paths_socket(const char *explicit_path, enum paths_role role, char *out, size_t len);

/* The state directory for a daemon with no configured one:
 * $STATE_DIRECTORY (systemd's StateDirectory=, its first entry), else
 * /var/lib/rmon for root, else $XDG_STATE_HOME/rmon, else
 * ~/.local/state/rmon. */
int paths_state_dir(char *out, size_t len);

/* True when the daemon's defaults are per-user: not root and not a
 * systemd service with a RuntimeDirectory (there the socket is shared with
 * a group: mode 0660, not 0600). */
int paths_per_user(void);

/* mkdir -p with the given mode for each missing component. 0 or -errno. */
int paths_mkdirs(const char *dir, unsigned mode);

#endif
