/*
 * Where the socket and the state live, resolved the same way by rmond and
 * rmonctl so that both find each other without configuration.
 */
#ifndef RMON_PATHS_H
#define RMON_PATHS_H

#include <stddef.h>

#define PATHS_SOCKET_MAX 108  /* sizeof(sockaddr_un.sun_path) */

/* The socket: explicit (flag or config) if non-empty, else $RMON_SOCKET
 * (when use_env), else /run/rmon/rmond.sock for root, else
 * $XDG_RUNTIME_DIR/rmon/rmond.sock, else /tmp/rmon-$UID/rmond.sock.
 * Returns 0, or -ENAMETOOLONG when the path does not fit a sockaddr_un. */
int paths_socket(const char *explicit_path, int use_env, char *out, size_t len);

/* The state directory for a daemon with no configured one:
 * /var/lib/rmon for root, else $XDG_STATE_HOME/rmon, else
 * ~/.local/state/rmon. */
int paths_state_dir(char *out, size_t len);

/* True when the defaults are per-user (not root): mode 0600 sockets. */
int paths_per_user(void);

/* mkdir -p with the given mode for each missing component. 0 or -errno. */
int paths_mkdirs(const char *dir, unsigned mode);

#endif
