/*
 * The protocol is small enough to carry ourselves (systemd documents it
 * in man/notify-selfcontained-example.c), and a libsystemd dependency
 * would not exist on macOS anyway.
 */
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* "/run/systemd/notify" or "@abstract": the address and its length. */
static int notify_addr(const char *name, struct sockaddr_un *sa, socklen_t *salen)
{
	size_t len = strlen(name);
	if (name[0] != '/' && name[0] != '@')
		return -EAFNOSUPPORT;   /* e.g. vsock:..., not for a local daemon */
	if (len > sizeof sa->sun_path - 1)
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, name, len);
	if (name[0] == '@')
		sa->sun_path[0] = '\0';  /* abstract: no NUL terminator counted */
	*salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (name[0] == '/'));
	return 0;
}

int notify_send(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t salen;
	if (name == NULL || name[0] == '\0')
		return 0;
	int rc = notify_addr(name, &sa, &salen);
	if (rc < 0)
		return rc;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	size_t len = strlen(state);
	ssize_t n;
	do
		n = sendto(fd, state, len, MSG_NOSIGNAL, (const struct sockaddr *)&sa, salen);
	while (n < 0 && errno == EINTR);
	rc = n < 0 ? -errno : (size_t)n != len ? -EPROTO : 1;
	close(fd);
	return rc;
}

int notify_sendf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	return notify_send(buf);   /* a long STATUS is cut, not refused */
}
