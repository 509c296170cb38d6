/* /proc/loadavg: the 1, 5 and 15 minute load averages (gauges).  A
 * single_open seq_file: one pread returns all of it. */
#include "linux.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "readfile.h"

struct proc_loadavg {
	int fd;
};

int proc_loadavg_parse(const char *buf, size_t len, struct loadavg *la)
{
	const char *p = buf, *end = buf + len;
	struct loadavg v;
	/* Commit only a complete parse: three numbers or nothing. */
	for (int i = 0; i < 3; i++) {
		p = scan_f64(scan_blank(p, end), end, &v.avg[i]);
		if (!p)
			return -EINVAL;
	}
	*la = v;
	return 0;
}

static int loadavg_open(const struct collect_env *env, void **state)
{
	int fd = readfile_open(env->procfd, "loadavg");
	if (fd < 0)
		return fd;
	struct proc_loadavg *st = malloc(sizeof *st);
	if (!st) {
		close(fd);
		return -ENOMEM;
	}
	st->fd = fd;
	*state = st;
	return 0;
}

static int loadavg_sample(void *state, struct collect_tick *t)
{
	struct proc_loadavg *st = state;
	char buf[256];
	struct loadavg la;
	ssize_t n = readfile_pread_single(st->fd, buf, sizeof buf);
	if (n < 0)
		return (int)n;
	if (proc_loadavg_parse(buf, (size_t)n, &la))
		return -EINVAL;
	rec_set(t->sys, RM_SYS_LOAD1, la.avg[0]);
	rec_set(t->sys, RM_SYS_LOAD5, la.avg[1]);
	rec_set(t->sys, RM_SYS_LOAD15, la.avg[2]);
	return 0;
}

static void loadavg_close(void *state)
{
	struct proc_loadavg *st = state;
	if (!st)
		return;
	close(st->fd);
	free(st);
}

const struct collector proc_loadavg_collector = {
	.name = "proc_loadavg",
	.cap = COLLECT_CAP_LOADAVG,
	.open = loadavg_open,
	.sample = loadavg_sample,
	.close = loadavg_close,
};
