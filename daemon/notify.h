/*
 * sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET.
 * Used for READY=1 once the socket listens, STOPPING=1 on shutdown and
 * STATUS=... for `systemctl status`.  Harmless when not under systemd.
 */
#ifndef RMON_NOTIFY_H
#define RMON_NOTIFY_H

/* Sends state ("READY=1", "STATUS=...", newline-separated assignments).
 * Returns 0 when NOTIFY_SOCKET is unset or empty, 1 when sent, -errno on
 * error (-EAFNOSUPPORT for a NOTIFY_SOCKET that is neither a path nor an
 * '@' abstract name). */
int notify_send(const char *state);

/* notify_send with a printf format, e.g. notify_sendf("STATUS=%u clients", n). */
int notify_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
