/*
 * The process table (proctab.h) on Linux: the table itself (pointers to
 * entries, sorted by pid), the fd budget, directory listings, and the three
 * entry points (scan, sample, read_pss).  What one process's files say is
 * proc_pid.c's business, its threads proc_threads.c's.
 *
 * The fd budget.  Every entry keeps an O_PATH dirfd and up to four file fds;
 * a tracked process's threads keep up to three more each.  At open the soft
 * RLIMIT_NOFILE is raised to the hard one and the table may keep
 * (limit - PT_FD_RESERVE) fds.  Past that, an entry reads its files by path
 * (open, read, close: slower, still correct, identity by starttime).  A
 * tracked process (proctab_sample called for it lately) that needs fds takes
 * them from an untracked one, which falls back to paths.  An EMFILE anyway
 * (other threads of the daemon opened more than the reserve) lowers the
 * budget to what is kept now.
 */
#include "proctab_linux.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "linux.h"

/* ---- fds -------------------------------------------------------------- */

int proctab__tracked(const struct pt_proc *p, uint64_t mono)
{
	return p->track_mono && mono - p->track_mono < PT_TRACK_NS;
}

void proctab__close_fd(struct proctab *pt, int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		pt->nfds--;
	}
	*fd = PT_FD_NONE;
}

/* Turn an entry that keeps fds into one that reads by path. */
static void pt_demote(struct proctab *pt, struct pt_proc *p)
{
	proc_pid_close(pt, p);
}

/* Demote untracked entries (highest pids first) until want fds are free
 * under the budget.  Not while a scan is merging (the old array may hold
 * entries it is about to free).  1 when they are. */
static int pt_make_room(struct proctab *pt, const struct pt_proc *self, unsigned want,
			uint64_t mono)
{
	for (unsigned i = pt->n; i-- > 0 && !pt->scanning && pt->nfds + want > pt->budget;) {
		struct pt_proc *q = pt->tab[i];
		if (q != self && (q->flags & PT_KEEP) && !(q->flags & PT_GONE) &&
		    !proctab__tracked(q, mono))
			pt_demote(pt, q);
	}
	return pt->nfds + want <= pt->budget;
}

/* EMFILE/ENFILE: other parts of the daemon took more than the reserve. */
static void pt_squeeze(struct proctab *pt)
{
	pt->budget = pt->nfds > 64 ? pt->nfds - 64 : 0;
	pt_make_room(pt, NULL, 0, pt->now);
}

const char *proctab__path(const struct proctab *pt, const struct pt_proc *p, const char *rel,
			  char *buf, size_t cap, int *dfd)
{
	*dfd = p->dirfd;
	if (p->dirfd >= 0)
		return rel;
	char num[16];
	linux_key_uint(num, (unsigned)p->info.pid);
	size_t a = strlen(num), b = strlen(rel);
	if (a + 1 + b >= cap)
		return NULL;
	memcpy(buf, num, a);
	buf[a] = '/';
	memcpy(buf + a + 1, rel, b + 1);
	*dfd = pt->procfd;
	return buf;
}

int proctab__open(struct proctab *pt, const struct pt_proc *p, const char *rel, int flags)
{
	char buf[96];
	int dfd;
	const char *path = proctab__path(pt, p, rel, buf, sizeof buf, &dfd);
	if (!path)
		return -ENAMETOOLONG;
	for (int retry = 0;; retry++) {
		int fd = openat(dfd, path, flags | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0)
			return fd;
		int err = -errno;
		if ((err != -EMFILE && err != -ENFILE) || retry)
			return err;
		pt_squeeze(pt);
	}
}

int proctab__may_keep(struct proctab *pt, struct pt_proc *p, uint64_t mono)
{
	if (!(p->flags & PT_KEEP))
		return 0;
	if (pt->nfds < pt->budget)
		return 1;
	return proctab__tracked(p, mono) && pt_make_room(pt, p, 1, mono);
}

/* Give p a dirfd (so its files may be kept) when the budget allows, or when
 * it is tracked and fds can be taken from untracked entries.  Opening by
 * path pins whatever process has the pid now: the caller checks starttime
 * on the next read.  0, or -errno from open (ENOENT: gone). */
int proctab__keep_dir(struct proctab *pt, struct pt_proc *p, uint64_t mono)
{
	if (p->flags & PT_KEEP)
		return 0;
	if (pt->nfds + PT_PROC_FDS > pt->budget &&
	    !(proctab__tracked(p, mono) && pt_make_room(pt, p, PT_PROC_FDS, mono)))
		return 0;
	int fd = proctab__open(pt, p, ".", O_PATH | O_DIRECTORY);
	if (fd < 0)
		return fd;
	p->dirfd = fd;
	pt->nfds++;
	p->flags |= PT_KEEP;
	return 0;
}

/* The whole file at fd.  Every file read here is a single_open seq_file,
 * which produces all of itself on a read at offset 0 when the buffer is
 * large enough: one pread is the file when it comes back short of buf.
 * When it fills buf, readfile_buf_fill grows and re-reads from 0. */
static ssize_t pt_pread(struct proctab *pt, int fd, const char **out)
{
	ssize_t n;
	do
		n = pread(fd, pt->buf, sizeof pt->buf - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof pt->buf - 1) {
		pt->buf[n] = '\0';
		*out = pt->buf;
		return n;
	}
	n = readfile_buf_fill(&pt->big, fd);
	*out = pt->big.p;
	return n;
}

ssize_t proctab__read(struct proctab *pt, struct pt_proc *p, int *fd, const char *rel,
		      uint64_t mono, const char **out)
{
	if (*fd >= 0)
		return pt_pread(pt, *fd, out);
	if (*fd == PT_FD_NA)
		return -ENOENT;
	int f = proctab__open(pt, p, rel, O_RDONLY);
	if (f < 0)
		return f;
	ssize_t n = pt_pread(pt, f, out);
	if (n > 0 && proctab__may_keep(pt, p, mono)) {
		*fd = f;
		pt->nfds++;
	} else {
		close(f);
	}
	return n;
}

ssize_t proctab__prefix(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	while (len < cap - 1) {
		ssize_t r = pread(fd, buf + len, cap - 1 - len, (off_t)len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

/* ---- listings --------------------------------------------------------- */

static int pt_cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

int proctab__listed(const struct proctab *pt, int32_t pid)
{
	if (!pt->npids || pid <= 0)
		return 1;
	return bsearch(&pid, pt->pids, pt->npids, sizeof *pt->pids, pt_cmp_i32) != NULL;
}

/* A decimal name (a pid or tid), or -1. */
static int32_t pt_name_id(const char *name)
{
	uint64_t v;
	const char *end = name + strnlen(name, 12);
	const char *q = scan_u64(name, end, &v);
	return q && q == end && *end == '\0' && v > 0 && v <= INT32_MAX ? (int32_t)v : -1;
}

int proctab__list(struct proctab *pt, int fd, int32_t **ids, unsigned *cap)
{
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	unsigned n = 0;
	int sorted = 1;
	for (;;) {
		ssize_t r = getdents64(fd, pt->dents, sizeof pt->dents);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		for (ssize_t off = 0; off < r;) {
			const struct dirent64 *d = (const struct dirent64 *)(pt->dents + off);
			off += d->d_reclen;
			int32_t id = pt_name_id(d->d_name);
			if (id < 0)
				continue;
			if (n == *cap) {
				unsigned c = *cap ? *cap * 2 : 256;
				int32_t *v = realloc(*ids, c * sizeof *v);
				if (!v)
					return -ENOMEM;
				*ids = v;
				*cap = c;
			}
			if (n && (*ids)[n - 1] > id)
				sorted = 0;
			(*ids)[n++] = id;
		}
	}
	if (!sorted)
		qsort(*ids, n, sizeof **ids, pt_cmp_i32);
	return (int)n;
}

/* ---- entries ---------------------------------------------------------- */

static struct pt_proc *pt_new(int32_t pid)
{
	struct pt_proc *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->info.pid = pid;
	p->dirfd = p->fd_stat = p->fd_statm = p->fd_status = p->fd_io = p->fd_task = PT_FD_NONE;
	return p;
}

static void pt_free(struct proctab *pt, struct pt_proc *p)
{
	proc_pid_close(pt, p);
	free(p);
}

/* Index of pid, or of where it would go (*found clear). */
static unsigned pt_search(const struct proctab *pt, int32_t pid, int *found)
{
	unsigned lo = 0, hi = pt->n;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		int32_t x = pt->tab[mid]->info.pid;
		if (x == pid) {
			*found = 1;
			return mid;
		}
		if (x < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

static int pt_grow(struct pt_proc ***v, unsigned *cap, unsigned want)
{
	if (want <= *cap)
		return 0;
	unsigned c = *cap ? *cap : 256;
	while (c < want)
		c *= 2;
	struct pt_proc **nv = realloc(*v, c * sizeof *nv);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

/* ---- open, close ------------------------------------------------------ */

static double pt_btime(int procfd, struct readfile_buf *b)
{
	int fd = readfile_open(procfd, "stat");
	if (fd < 0)
		return NAN;
	ssize_t n = readfile_buf_fill(b, fd);
	close(fd);
	struct stat_snap s = { 0 };   /* no CPU array: btime only */
	if (n <= 0)
		return NAN;
	proc_stat_parse(b->p, (size_t)n, &s);
	return s.has & STAT_HAS_BTIME ? (double)s.btime : NAN;
}

/* Is procfd the /proc of our own pid namespace (its "self" is our pid)?
 * Then a pid in it names a process clock_gettime can ask about
 * (proc_pid_idle); a fixture tree, or another namespace's /proc, is not. */
static int pt_own_proc(int procfd)
{
	char buf[24];
	ssize_t n = readlinkat(procfd, "self", buf, sizeof buf - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *end;
	long pid = strtol(buf, &end, 10);
	return *end == '\0' && pid == (long)getpid();
}

int proctab__open_loadavg(int procfd)
{
	int fd = readfile_open(procfd, "loadavg");
	struct statfs sf;
	if (fd >= 0 && (fstatfs(fd, &sf) != 0 || sf.f_type != PROC_SUPER_MAGIC)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Raise the soft fd limit to the hard one; what the table may keep. */
static unsigned pt_fd_budget(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit want = { rl.rlim_max, rl.rlim_max };
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl.rlim_cur = rl.rlim_max;
	}
	rlim_t lim = rl.rlim_cur;
	if (lim == RLIM_INFINITY || lim > (1u << 24))
		lim = 1u << 24;
	return lim > PT_FD_RESERVE ? (unsigned)(lim - PT_FD_RESERVE) : 0;
}

int proctab_open(const struct collect_env *env, struct proctab **out)
{
	struct proctab *pt = calloc(1, sizeof *pt);
	if (!pt)
		return -ENOMEM;
	pt->procfd = env->procfd;
	pt->listfd = openat(env->procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pt->listfd < 0) {
		int err = -errno;
		free(pt);
		return err;
	}
	if (readfile_buf_init(&pt->big, 16384, 64u << 20)) {
		close(pt->listfd);
		free(pt);
		return -ENOMEM;
	}
	pt->clk_tck = env->clk_tck > 0 ? (uint64_t)env->clk_tck : 100;
	pt->quiet_pct = PT_QUIET_PCT;
	long ps = sysconf(_SC_PAGESIZE);
	pt->pagesize = ps > 0 ? (uint64_t)ps : 4096;
	pt->btime = pt_btime(env->procfd, &pt->big);
	pt->budget = pt_fd_budget();
	pt->cpuclock = pt_own_proc(env->procfd);
	pt->loadfd = pt->cpuclock ? proctab__open_loadavg(env->procfd) : -1;
	*out = pt;
	return 0;
}

void proctab_close(struct proctab *pt)
{
	if (!pt)
		return;
	for (unsigned i = 0; i < pt->n; i++)
		pt_free(pt, pt->tab[i]);
	free(pt->tab);
	free(pt->tmp);
	free(pt->pids);
	free(pt->tids);
	free(pt->tscratch);
	readfile_buf_free(&pt->big);
	if (pt->loadfd >= 0)
		close(pt->loadfd);
	close(pt->listfd);
	free(pt);
}

/* ---- scan ------------------------------------------------------------- */

/* Refresh an entry whose pid is listed.  0, or -ESRCH: drop it. */
static int pt_scan_one(struct proctab *pt, struct pt_proc *p, uint64_t mono)
{
	if (p->flags & PT_DEAD)          /* sample saw it go; the pid lives again */
		proc_pid_reset(pt, p);
	if (p->thr && !proctab__tracked(p, mono))
		proc_threads_free(pt, p);
	if ((p->flags & PT_KNOWN) && !(p->flags & PT_KEEP) && proctab__keep_dir(pt, p, mono) < 0)
		return -ESRCH;
	/* Sampled by the tracked ticks within the last full pass (on kept
	 * fds, so it is the same process): they read it fresher than this
	 * would, and a big one's stat and clock each walk its threads. */
	if ((p->flags & (PT_KEEP | PT_T_PREV | PT_DEAD)) == (PT_KEEP | PT_T_PREV) &&
	    p->track_mono && mono >= p->track_mono && mono - p->track_mono < PT_TFULL_NS)
		return proc_pid_scan_tracked(pt, p, mono);
	int err = proc_pid_read(pt, p, mono, PP_SCAN);
	if (err == -ESRCH && (p->flags & PT_KNOWN)) {
		/* Our process is gone but the pid is listed: someone else's. */
		proc_pid_reset(pt, p);
		err = proc_pid_read(pt, p, mono, PP_SCAN);
	}
	return err;
}

/* The kernel's task count and the last pid it handed out, from
 * /proc/loadavg ("0.41 0.45 0.51 2/2731 8349\n": "2731 8349").  While
 * neither has moved no task was born (every pid, in this namespace or a
 * nested one, moves the cursor) and none was released (the count would
 * fall), so /proc lists what it listed: listing it again would step over
 * every task, threads included, to find the same processes.  loadavg is
 * one short line.  0, or -1 when b is malformed, too long for cap, or
 * zeros. */
int proctab__loadavg_sig(const char *b, size_t n, char *sig, size_t cap, uint64_t *tasks)
{
	const char *end = b + n, *q = memchr(b, '/', n);
	if (!q)
		return -1;
	q++;
	uint64_t last;
	const char *r = scan_u64(q, end, tasks);
	r = r && r < end && *r == ' ' ? scan_u64(r + 1, end, &last) : NULL;
	/* a stand-in that never moves (0/0 0) would hide every fork */
	if (!r || (r < end && *r != '\n') || *tasks == 0 || last == 0 || (size_t)(r - q) >= cap)
		return -1;
	memcpy(sig, q, (size_t)(r - q));
	sig[r - q] = '\0';
	return 0;
}

static int pt_tasks_sig(struct proctab *pt, char *sig, size_t cap, uint64_t *tasks)
{
	char b[128];
	ssize_t n = pt->loadfd >= 0 ? readfile_pread_single(pt->loadfd, b, sizeof b) : -1;
	return n > 0 ? proctab__loadavg_sig(b, (size_t)n, sig, cap, tasks) : -1;
}

/* The pids to scan: the last listing when nothing was born or released
 * since it was made, else a new one.  The count, or -errno. */
static int pt_listing(struct proctab *pt, uint64_t mono)
{
	char sig[sizeof pt->tasks_sig];
	uint64_t tasks;
	int have = pt_tasks_sig(pt, sig, sizeof sig, &tasks) == 0;
	if (have && pt->tasks_sig[0] && strcmp(sig, pt->tasks_sig) == 0 &&
	    mono >= pt->list_mono && mono - pt->list_mono < PT_LIST_MAX_NS)
		return (int)pt->npids;
	int got = proctab__list(pt, pt->listfd, &pt->pids, &pt->pidcap);
	pt->tasks_sig[0] = '\0';
	if (got < 0)
		return got;
	if (have && tasks < (uint64_t)got) {
		/* fewer tasks than processes listed: not this kernel's count */
		close(pt->loadfd);
		pt->loadfd = -1;
	} else if (have) {   /* read before listing: a birth after it moves it again */
		memcpy(pt->tasks_sig, sig, sizeof sig);
	}
	pt->list_mono = mono;
	pt->lists++;
	return got;
}

unsigned proctab_lists(const struct proctab *pt)
{
	return pt->lists;
}

int proctab_scan(struct proctab *pt, uint64_t mono)
{
	int got = pt_listing(pt, mono);
	if (got < 0)
		return got;
	pt->now = mono;
	pt->scan_read = 0;
	pt->npids = (unsigned)got;
	unsigned np = (unsigned)got, old = pt->n, i = 0, j = 0, m = 0;
	if (pt_grow(&pt->tmp, &pt->tmpcap, old + np + 1))
		return -ENOMEM;
	pt->scanning = 1;
	while (i < old || j < np) {
		struct pt_proc *p;
		if (j == np || (i < old && pt->tab[i]->info.pid < pt->pids[j])) {
			p = pt->tab[i++];
			proc_pid_close(pt, p);   /* not listed: gone */
			p->flags |= PT_GONE;
			continue;
		}
		int fresh = i == old || pt->tab[i]->info.pid > pt->pids[j];
		p = fresh ? pt_new(pt->pids[j]) : pt->tab[i++];
		j++;
		if (!p)
			continue;                /* ENOMEM: seen next time */
		if (pt_scan_one(pt, p, mono) == 0) {
			pt->tmp[m++] = p;
		} else if (fresh) {
			pt_free(pt, p);
		} else {
			proc_pid_close(pt, p);
			p->flags |= PT_GONE;
		}
	}
	pt->scanning = 0;
	for (i = 0; i < old; i++)
		if (pt->tab[i]->flags & PT_GONE)
			free(pt->tab[i]);
	struct pt_proc **t = pt->tab;
	unsigned c = pt->cap;
	pt->tab = pt->tmp;
	pt->cap = pt->tmpcap;
	pt->tmp = t;
	pt->tmpcap = c;
	pt->n = m;
	if (pt->nfds > pt->budget)
		pt_make_room(pt, NULL, 0, mono);
	return (int)m;
}

unsigned proctab_scan_read(const struct proctab *pt)
{
	return pt->scan_read;
}

unsigned proctab_count(const struct proctab *pt)
{
	return pt->n;
}

const struct proc_info *proctab_at(const struct proctab *pt, unsigned i)
{
	return i < pt->n ? &pt->tab[i]->info : NULL;
}

const struct proc_info *proctab_find(const struct proctab *pt, int32_t pid)
{
	int found;
	unsigned i = pt_search(pt, pid, &found);
	return found ? &pt->tab[i]->info : NULL;
}

/* ---- sample ----------------------------------------------------------- */

/* Gone: fds closed, threads forgotten, last state kept with state 'X'. */
static void pt_dead(struct proctab *pt, struct pt_proc *p)
{
	proc_pid_close(pt, p);
	p->info.state = 'X';
	p->flags |= PT_DEAD;
}

/* A pid the table does not have yet (just forked): read it and insert it. */
static struct pt_proc *pt_add(struct proctab *pt, int32_t pid, unsigned at, uint64_t mono)
{
	if (pt_grow(&pt->tab, &pt->cap, pt->n + 1))
		return NULL;
	struct pt_proc *p = pt_new(pid);
	if (!p)
		return NULL;
	p->track_mono = mono ? mono : 1;
	if (proc_pid_read(pt, p, mono, PP_SAMPLE) != 0) {
		pt_free(pt, p);
		return NULL;
	}
	memmove(pt->tab + at + 1, pt->tab + at, (pt->n - at) * sizeof *pt->tab);
	pt->tab[at] = p;
	pt->n++;
	return p;
}

int proctab_sample(struct proctab *pt, int32_t pid, uint64_t mono,
		   const struct proc_info **out,
		   void (*thread_cb)(void *arg, const struct thread_info *ti), void *arg)
{
	int found, err = 0;
	unsigned at = pt_search(pt, pid, &found);
	struct pt_proc *p;
	*out = NULL;
	if (pid <= 0)
		return -ESRCH;
	pt->now = mono;
	if (!found) {
		p = pt_add(pt, pid, at, mono);
		if (!p)
			return -ESRCH;
		if (thread_cb)
			err = proc_threads_pass(pt, p, mono, 0, NULL, thread_cb, arg);
	} else {
		p = pt->tab[at];
		*out = &p->info;
		if (p->flags & PT_DEAD)
			return -ESRCH;
		p->track_mono = mono ? mono : 1;
		if (!(p->flags & PT_KEEP))
			err = proctab__keep_dir(pt, p, mono);
		/* With threads and a thread baseline, the process's own
		 * figures are the sum of its threads': no O(threads) read of
		 * /proc/PID/stat or io.  Otherwise read it whole (the first
		 * two reads also read status, for the switch rates). */
		int from_threads = thread_cb && (p->flags & PT_T_PREV) && p->s_reads >= 2;
		/* Idle since its last reading (proc_pid.c): nothing to read,
		 * once its thread baselines exist; not when every thread is
		 * to be read every tick (quiet_pct 0).  A big process's clock
		 * (a walk of its threads) waits for its next full pass. */
		uint64_t clk = 0;
		int big = from_threads && p->nthr > PT_WS_THREADS && (p->flags & PT_T_CLK) &&
			  mono >= p->tf_mono && mono - p->tf_mono < PT_TFULL_NS;
		int gate = err || big ? -1 : proc_pid_idle(pt, p, mono, &clk);
		if (gate == 1 && from_threads && pt->quiet_pct > 0) {
			proc_threads_idle(pt, p, mono, thread_cb, arg);
			*out = &p->info;
			if (proc_pid_idle_mem(pt, p, mono) == -ESRCH) {
				pt_dead(pt, p);
				return -ESRCH;
			}
			return 0;
		}
		if (!err && !from_threads)
			err = proc_pid_read(pt, p, mono, PP_SAMPLE);
		if (!err && thread_cb)
			err = proc_threads_pass(pt, p, mono, from_threads, gate >= 0 ? &clk : NULL,
						thread_cb, arg);
		if (!err && gate >= 0)
			proc_pid_clock_read(p, clk, mono);
	}
	*out = &p->info;
	if (err) {
		pt_dead(pt, p);
		return -ESRCH;
	}
	return 0;
}

void proctab_set_quiet_pct(struct proctab *pt, unsigned pct)
{
	pt->quiet_pct = pct;
}

/* ---- PSS -------------------------------------------------------------- */

int proctab_read_pss(struct proctab *pt, int32_t pid)
{
	int found;
	unsigned i = pt_search(pt, pid, &found);
	if (!found || (pt->tab[i]->flags & PT_DEAD))
		return -ESRCH;
	struct pt_proc *p = pt->tab[i];
	/* Not run since the last reading (its CPU clock, recorded by the
	 * samples): its PSS moves only as other processes map or unmap what
	 * it shares, so it is read every PT_PSS_IDLE_NS instead. */
	uint64_t mono = pt->now;
	if ((p->info.have & PROC_HAVE_PSS) && (p->flags & PT_CLK) && p->clk_ns == p->pss_clk &&
	    mono >= p->pss_mono && mono - p->pss_mono < PT_PSS_IDLE_NS)
		return 0;
	p->pss_clk = p->clk_ns;
	p->pss_mono = mono;
	/* Read rarely and slowly (a page-table walk): no fd is kept. */
	int fd = proctab__open(pt, p, "smaps_rollup", O_RDONLY);
	if (fd < 0)
		return fd;
	const char *buf;
	ssize_t n = pt_pread(pt, fd, &buf);
	close(fd);
	if (n < 0)
		return (int)n;
	uint64_t pss;
	if (n == 0)
		return -ENODATA;                    /* no memory map: kernel thread, zombie */
	if (proc_pid_parse_pss(buf, (size_t)n, &pss) < 0)
		return -EINVAL;
	p->info.pss = pss;
	p->info.have |= PROC_HAVE_PSS;
	return 0;
}
