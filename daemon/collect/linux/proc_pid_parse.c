/*
 * Parsers of /proc/PID/{stat,statm,status,io,smaps_rollup,schedstat,cmdline}
 * and task/TID/{stat,schedstat,io}: pure functions of a buffer, no I/O, no
 * allocation, no sscanf.  Whatever the kernel (or a hostile fixture) wrote
 * is bounded by len; a malformed file gives -EINVAL, never a half reading.
 */
#include "proctab_linux.h"

#include <errno.h>
#include <string.h>

/* Past the next space (fields are separated by exactly one). */
static const char *stat_skip(const char *p, const char *end)
{
	const char *sp = memchr(p, ' ', (size_t)(end - p));
	return sp ? sp + 1 : end;
}

static const char *stat_i32(const char *p, const char *end, int32_t *v)
{
	int64_t x;
	const char *q = scan_i64(p, end, &x);
	if (q)
		*v = x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : (int32_t)x;
	return q;
}

/* A signed field that is a count (rss may be printed negative by a racing
 * per-CPU counter on old kernels): clamped at 0. */
static const char *stat_count(const char *p, const char *end, uint64_t *v)
{
	int64_t x;
	const char *q = scan_i64(p, end, &x);
	if (q)
		*v = x < 0 ? 0 : (uint64_t)x;
	return q;
}

int proc_pid_parse_stat(const char *buf, size_t len, struct pid_stat *s)
{
	const char *p = buf, *end = buf + len;
	uint64_t pid;
	memset(s, 0, sizeof *s);
	s->processor = -1;
	p = scan_u64(p, end, &pid);
	if (!p || pid == 0 || pid > INT32_MAX || end - p < 2 || p[0] != ' ' || p[1] != '(')
		return -EINVAL;
	s->pid = (int32_t)pid;
	/* The comm runs to the LAST ')': nothing after it can hold one. */
	const char *cs = p + 2;
	const char *ce = memrchr(cs, ')', (size_t)(end - cs));
	if (!ce)
		return -EINVAL;
	size_t n = (size_t)(ce - cs);
	if (n > PROC_COMM_MAX - 1)
		n = PROC_COMM_MAX - 1;
	memcpy(s->comm, cs, n);
	s->comm[n] = '\0';
	p = ce + 1;
	if (end - p < 3 || p[0] != ' ' || p[2] != ' ' || (unsigned)((p[1] | 0x20) - 'a') > 25)
		return -EINVAL;
	s->state = p[1];
	p += 3;
	int field = 4;
	for (; field <= 39 && p < end; field++) {
		const char *q = p;
		switch (field) {
		case 4: q = stat_i32(p, end, &s->ppid); break;
		case 9: q = scan_u64(p, end, &s->flags); break;
		case 10: q = scan_u64(p, end, &s->minflt); break;
		case 12: q = scan_u64(p, end, &s->majflt); break;
		case 14: q = scan_u64(p, end, &s->utime); break;
		case 15: q = scan_u64(p, end, &s->stime); break;
		case 20: q = stat_count(p, end, &s->num_threads); break;
		case 22: q = scan_u64(p, end, &s->starttime); break;
		case 23: q = scan_u64(p, end, &s->vsize); break;
		case 24: q = stat_count(p, end, &s->rss); break;
		case 39: q = stat_i32(p, end, &s->processor); break;
		default: break;
		}
		if (!q)
			return -EINVAL;
		p = stat_skip(q, end);
	}
	return field > 24 ? 0 : -EINVAL;
}

int proc_pid_parse_statm(const char *buf, size_t len, uint64_t *size, uint64_t *resident)
{
	const char *end = buf + len;
	const char *p = scan_next_u64(buf, end, size);
	if (!p || !scan_next_u64(p, end, resident))
		return -EINVAL;
	return 0;
}

enum { ST_UID, ST_TGID, ST_VCTX, ST_NVCTX };

void proc_pid_parse_status(const char *buf, size_t len, struct pid_status *st)
{
	static const struct kv_key keys[] = {
		KV_KEY("Uid", ST_UID),
		KV_KEY("Tgid", ST_TGID),
		KV_KEY("voluntary_ctxt_switches", ST_VCTX),
		KV_KEY("nonvoluntary_ctxt_switches", ST_NVCTX),
	};
	uint64_t v[4] = { 0 }, found;
	kv_parse(buf, len, keys, 4, v, &found);
	memset(st, 0, sizeof *st);
	if ((found & (1u << ST_UID)) && v[ST_UID] <= UINT32_MAX) {
		st->uid = (uint32_t)v[ST_UID];
		st->has |= PID_STATUS_UID;
	}
	if ((found & (1u << ST_TGID)) && v[ST_TGID] <= INT32_MAX) {
		st->tgid = (int32_t)v[ST_TGID];
		st->has |= PID_STATUS_TGID;
	}
	if ((found & (1u << ST_VCTX)) && (found & (1u << ST_NVCTX))) {
		st->vctx = v[ST_VCTX];
		st->nvctx = v[ST_NVCTX];
		st->has |= PID_STATUS_CTX;
	}
}

int proc_pid_parse_io(const char *buf, size_t len, uint64_t *rd, uint64_t *wr)
{
	static const struct kv_key keys[] = {
		KV_KEY("read_bytes", 0),
		KV_KEY("write_bytes", 1),
	};
	uint64_t v[2], found;
	kv_parse(buf, len, keys, 2, v, &found);
	if (found != 3)
		return -EINVAL;
	*rd = v[0];
	*wr = v[1];
	return 0;
}

int proc_pid_parse_pss(const char *buf, size_t len, uint64_t *pss)
{
	static const struct kv_key keys[] = { KV_KEY("Pss", 0) };
	uint64_t v, found;
	kv_parse(buf, len, keys, 1, &v, &found);
	if (!found || v > UINT64_MAX / 1024)
		return -EINVAL;
	*pss = v * 1024;
	return 0;
}

int proc_pid_parse_schedstat(const char *buf, size_t len, uint64_t *run_ns, uint64_t *wait_ns,
			     uint64_t *slices)
{
	const char *end = buf + len, *p;
	if (!(p = scan_next_u64(buf, end, run_ns)) || !(p = scan_next_u64(p, end, wait_ns)) ||
	    !scan_next_u64(p, end, slices))
		return -EINVAL;
	return 0;
}

size_t proc_pid_parse_cmdline(char *buf, size_t len)
{
	while (len > 0 && buf[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[len] = '\0';
	return len;
}
