#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

static const char *log_prog = "rmon";
/* Atomic: a reload changes them on the loop thread while the sampling
 * threads log. */
static _Atomic enum log_level log_level = LOG_LVL_INFO;
static _Atomic int log_syslog;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_init(const char *prog, enum log_level level, int use_syslog)
{
	log_prog = prog;
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Switching to syslog opens it (once: openlog keeps the ident pointer);
 * back to stderr closes it. */
void log_set_syslog(int use_syslog)
{
	if (use_syslog && !log_syslog)
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!use_syslog && log_syslog)
		closelog();
	log_syslog = use_syslog;
}

int log_get_syslog(void) { return log_syslog; }

void log_set_level(enum log_level level) { log_level = level; }
enum log_level log_get_level(void) { return log_level; }

int log_level_parse(const char *s)
{
	for (int i = 0; i <= LOG_LVL_DEBUG; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	if (strcmp(s, "warning") == 0)
		return LOG_LVL_WARN;
	return -1;
}

void log_msg(enum log_level lvl, int with_errno, const char *fmt, ...)
{
	if (lvl > log_level)
		return;
	int saved = errno;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (with_errno && (size_t)n < sizeof msg)
		snprintf(msg + n, sizeof msg - (size_t)n, ": %s", strerror(saved));
	if (log_syslog) {
		static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
		syslog(prio[lvl], "%s", msg);
	} else {
		if (lvl == LOG_LVL_INFO)
			fprintf(stderr, "%s: %s\n", log_prog, msg);
		else
			fprintf(stderr, "%s: %s: %s\n", log_prog, level_names[lvl], msg);
	}
	errno = saved;
}
