/*
 * Logging: stderr (foreground, systemd, launchd) or syslog.  The level is
 * checked before anything is formatted.  log_warn/log_err append
 * strerror(errno); the *x variants don't.
 */
#ifndef RMON_LOG_H
#define RMON_LOG_H

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_init(const char *prog, enum log_level level, int use_syslog);
/* Log to syslog (LOG_DAEMON; error..debug as LOG_ERR..LOG_DEBUG) or to
 * stderr from now on: log.target, at start and on reload. */
void log_set_syslog(int use_syslog);
int log_get_syslog(void);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
int log_level_parse(const char *s);   /* "error".."debug" → level, or -1 */

void log_msg(enum log_level lvl, int with_errno, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_errx(...)  log_msg(LOG_LVL_ERR, 0, __VA_ARGS__)
#define log_err(...)   log_msg(LOG_LVL_ERR, 1, __VA_ARGS__)
#define log_warnx(...) log_msg(LOG_LVL_WARN, 0, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, 1, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, 0, __VA_ARGS__)

#endif
