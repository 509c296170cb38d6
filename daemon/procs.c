/*
 * The procs thread: scans, tracked sampling, the proc and thread lanes.
 * Watches, membership and run accounting are in procs-watch.c.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "clock.h"
#include "gpuprocs.h"
#include "log.h"
#include "procs-int.h"

static int cmp_snap_pid(const void *a, const void *b)
{
	const struct proc_snap *x = a, *y = b;
	return (x->info.pid > y->info.pid) - (x->info.pid < y->info.pid);
}

struct proc_snap *procs__snap_find(struct procs *p, int32_t pid)
{
	struct proc_snap key;
	if (!p->nsnap)
		return NULL;   /* bsearch's base may not be NULL */
	key.info.pid = pid;
	return bsearch(&key, p->snap, p->nsnap, sizeof *p->snap, cmp_snap_pid);
}

/* Category of a table entry: reuse the old snapshot's when the process is
 * the same one and has not exec'd since, else classify.  Lock held. */
static void snap_classify(struct procs *p, struct proc_snap *s)
{
	const struct proc_snap *old = procs__snap_find(p, s->info.pid);
	if (old && !p->reclassify && old->info.start_ticks == s->info.start_ticks &&
	    old->info.generation == s->info.generation) {
		memcpy(s->category, old->category, sizeof s->category);
		return;
	}
	snprintf(s->category, sizeof s->category, "%s",
	         classify(p->cls, s->info.comm, s->info.exe, s->info.cmdline));
}

static int cmp_cpu_desc(const void *a, const void *b)
{
	const struct proc_snap *x = *(const struct proc_snap *const *)a;
	const struct proc_snap *y = *(const struct proc_snap *const *)b;
	return (x->info.cpu_pct < y->info.cpu_pct) - (x->info.cpu_pct > y->info.cpu_pct);
}

static int cmp_rss_desc(const void *a, const void *b)
{
	const struct proc_snap *x = *(const struct proc_snap *const *)a;
	const struct proc_snap *y = *(const struct proc_snap *const *)b;
	return (x->info.rss < y->info.rss) - (x->info.rss > y->info.rss);
}

void procs__track_add(struct procs *p, int32_t pid)
{
	for (unsigned i = 0; i < p->ntracked; i++)
		if (p->tracked[i] == pid)
			return;
	if (p->ntracked == p->captracked) {
		unsigned cap = p->captracked ? p->captracked * 2 : 64;
		int32_t *t = realloc(p->tracked, cap * sizeof *t);
		if (!t)
			return;
		p->tracked = t;
		p->captracked = cap;
	}
	p->tracked[p->ntracked++] = pid;
}

/* Automatic tracking: rule-matched processes, then the top N by CPU and
 * by memory.  Marks them in the snapshot.  Lock held. */
static void mark_auto_tracked(struct procs *p)
{
	struct proc_snap **v = malloc((p->nsnap ? p->nsnap : 1) * sizeof *v);
	if (!v)
		return;
	unsigned n = 0;
	for (unsigned i = 0; i < p->nsnap; i++) {
		struct proc_snap *s = &p->snap[i];
		s->tracked = strcmp(s->category, "other") != 0 && !s->info.kthread;
		if (!s->info.kthread && s->info.state != 'Z')
			v[n++] = s;
	}
	unsigned top = p->o.top_n < n ? p->o.top_n : n;
	qsort(v, n, sizeof *v, cmp_cpu_desc);
	for (unsigned i = 0; i < top; i++)
		v[i]->tracked |= v[i]->info.cpu_pct > 0;
	qsort(v, n, sizeof *v, cmp_rss_desc);
	for (unsigned i = 0; i < top; i++)
		v[i]->tracked = true;
	free(v);
}

/* A full scan, and a new snapshot built from it. */
static void do_scan(struct procs *p, uint64_t mono)
{
	uint64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	int n = proctab_scan(p->pt, mono);
	if (n < 0) {
		log_warnx("process scan failed: %s", strerror(-n));
		return;
	}
	unsigned count = proctab_count(p->pt);
	struct proc_snap *snap = calloc(count ? count : 1, sizeof *snap);
	if (!snap)
		return;
	for (unsigned i = 0; i < count; i++)
		snap[i].info = *proctab_at(p->pt, i);
	qsort(snap, count, sizeof *snap, cmp_snap_pid);
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < count; i++)
		snap_classify(p, &snap[i]);
	p->reclassify = false;
	free(p->snap);
	p->snap = snap;
	p->nsnap = count;
	p->snap_ts = clock_rt_ns();
	mark_auto_tracked(p);
	procs__adopt_children(p);
	p->stats.scans++;
	p->stats.processes = count;
	p->stats.scan_read = proctab_scan_read(p->pt);
	p->stats.scan_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	pthread_mutex_unlock(&p->lock);
}

static void on_event(void *arg, const struct proc_ev *ev)
{
	procs__on_event(arg, ev);
}

static void drain_events(struct procs *p)
{
	if (!p->pe)
		return;
	pthread_mutex_lock(&p->lock);
	int rc = procevents_read(p->pe, on_event, p);
	if (rc == -ENOBUFS)
		p->stats.events_lost++;
	procs__events_idle(p, clock_mono_ns());
	pthread_mutex_unlock(&p->lock);
}

static void push_thread(void *arg, const struct thread_info *ti)
{
	struct procs *p = arg;
	struct rm_rec *r = &p->rec;
	char key[RM_KEY_MAX];
	snprintf(key, sizeof key, "%d/%d", (int)ti->pid, (int)ti->tid);
	rec_init(r, p->tick_rt_ns, key);
	rec_set_label(r, ti->name, strnlen(ti->name, sizeof ti->name));
	rec_set(r, RM_THREAD_TID, ti->tid);
	rec_set(r, RM_THREAD_PID, ti->pid);
	rec_set(r, RM_THREAD_STATE, (unsigned char)ti->state);
	if (ti->state != 'X')   /* 'X': it ended, the record says when */
		rec_set(r, RM_THREAD_LAST_CPU, ti->last_cpu);
	if (ti->have & THREAD_HAVE_RATES) {
		rec_set(r, RM_THREAD_CPU, ti->cpu_pct);
		rec_set(r, RM_THREAD_USER, ti->user_pct);
		rec_set(r, RM_THREAD_SYSTEM, ti->sys_pct);
	}
	if ((ti->have & THREAD_HAVE_SCHED) && (ti->have & THREAD_HAVE_RATES)) {
		rec_set(r, RM_THREAD_CTXSW_PS, ti->ctxsw_ps);
		rec_set(r, RM_THREAD_WAIT_PCT, ti->runq_wait_pct);
	}
	if ((ti->have & THREAD_HAVE_IO) && (ti->have & THREAD_HAVE_RATES)) {
		rec_set(r, RM_THREAD_READ_BPS, ti->read_bps);
		rec_set(r, RM_THREAD_WRITE_BPS, ti->write_bps);
	}
	if (p->lane_thread >= 0)
		ring_push(p->ring, (unsigned)p->lane_thread, r);
}

void procs_fill_record(struct rm_rec *r, const struct proc_info *in, uint64_t ts)
{
	char key[RM_KEY_MAX];
	snprintf(key, sizeof key, "%d", (int)in->pid);
	rec_init(r, ts, key);
	rec_set_label(r, in->comm, strnlen(in->comm, sizeof in->comm));
	rec_set(r, RM_PROC_PID, in->pid);
	rec_set(r, RM_PROC_PPID, in->ppid);
	rec_set(r, RM_PROC_STATE, (unsigned char)in->state);
	rec_set(r, RM_PROC_THREADS, in->threads);
	rec_set(r, RM_PROC_START, in->start_time);
	rec_set(r, RM_PROC_CPU_TIME, in->cpu_time_s);
	if (in->have & PROC_HAVE_CTX)
		rec_set(r, RM_PROC_UID, in->uid);
	if (in->have & PROC_HAVE_MEM) {
		rec_set(r, RM_PROC_RSS, (double)in->rss);
		rec_set(r, RM_PROC_VMS, (double)in->vms);
	}
	if (in->have & PROC_HAVE_PSS)
		rec_set(r, RM_PROC_PSS, (double)in->pss);
	if (in->have & PROC_HAVE_RATES) {
		rec_set(r, RM_PROC_CPU, in->cpu_pct);
		rec_set(r, RM_PROC_USER, in->user_pct);
		rec_set(r, RM_PROC_SYSTEM, in->sys_pct);
		rec_set(r, RM_PROC_MAJFLT_PS, in->majflt_ps);
		rec_set(r, RM_PROC_MINFLT_PS, in->minflt_ps);
		if (in->have & PROC_HAVE_CTX) {
			rec_set(r, RM_PROC_VCTX_PS, in->vctx_ps);
			rec_set(r, RM_PROC_NVCTX_PS, in->nvctx_ps);
		}
	}
	if (in->have & PROC_HAVE_IO_RATES) {
		rec_set(r, RM_PROC_READ_BPS, in->read_bps);
		rec_set(r, RM_PROC_WRITE_BPS, in->write_bps);
	}
	gpuprocs_fill_record(r, in->pid, in->start_ticks);
}

/* Put a freshly sampled process into the snapshot: a process forked
 * since the last scan is added (and classified) now, not a second later. */
static void snap_upsert(struct procs *p, const struct proc_info *in)
{
	pthread_mutex_lock(&p->lock);
	struct proc_snap *s = procs__snap_find(p, in->pid);
	bool same = s && s->info.start_ticks == in->start_ticks &&
	            s->info.generation == in->generation;
	if (!same) {
		struct proc_snap fresh = { .info = *in, .tracked = true };
		snprintf(fresh.category, sizeof fresh.category, "%s",
		         classify(p->cls, in->comm, in->exe, in->cmdline));
		if (s) {
			*s = fresh;
		} else {
			struct proc_snap *ns = realloc(p->snap, (p->nsnap + 1) * sizeof *ns);
			if (ns) {
				p->snap = ns;
				unsigned at = 0;
				while (at < p->nsnap && p->snap[at].info.pid < in->pid)
					at++;
				memmove(&p->snap[at + 1], &p->snap[at], (p->nsnap - at) * sizeof *ns);
				p->snap[at] = fresh;
				p->nsnap++;
			}
		}
	} else {
		s->info = *in;
	}
	pthread_mutex_unlock(&p->lock);
}

/* Sample one tracked process and its threads into the ring; update its
 * snapshot entry.  Returns -ESRCH when it is gone. */
int procs__push_tracked(struct procs *p, int32_t pid)
{
	const struct proc_info *in;
	int rc = proctab_sample(p->pt, pid, clock_mono_ns(), &in, push_thread, p);
	if (rc < 0 && rc != -ESRCH)
		return rc;
	if (rc == -ESRCH || !in)
		return -ESRCH;
	procs_fill_record(&p->rec, in, p->tick_rt_ns);
	if (p->lane_proc >= 0)
		ring_push(p->ring, (unsigned)p->lane_proc, &p->rec);
	snap_upsert(p, in);
	return 0;
}

static void tracked_tick(struct procs *p, bool pss_due)
{
	uint64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	p->tick_rt_ns = clock_rt_ns();
	p->ntracked = 0;
	pthread_mutex_lock(&p->lock);
	procs__watched_pids(p);
	for (unsigned i = 0; i < p->nsnap; i++)
		if (p->snap[i].tracked)
			procs__track_add(p, p->snap[i].info.pid);
	pthread_mutex_unlock(&p->lock);

	for (unsigned i = 0; i < p->ntracked; i++) {
		if (pss_due)
			proctab_read_pss(p->pt, p->tracked[i]);
		if (procs__push_tracked(p, p->tracked[i]) == -ESRCH && !p->pe) {
			pthread_mutex_lock(&p->lock);
			procs__member_gone(p, p->tracked[i]);   /* polling: no exit event */
			pthread_mutex_unlock(&p->lock);
		}
	}
	gpuprocs_drm_tick(p->pt, p->tracked, p->ntracked, clock_mono_ns());   /* ~1/s */
	pthread_mutex_lock(&p->lock);
	procs__account(p);
	p->stats.tracked_ticks++;
	p->stats.last_tick_rt_ns = p->tick_rt_ns;
	p->stats.tracked = p->ntracked;
	uint64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	/* the mean of the last PROCS_COST_TICKS ticks: the 1 s full passes and
	 * the 5 s thread sweeps weigh what they cost (an average that decays
	 * fast would show a sweep's spike or hide it, by the moment) */
	p->cost_sum += cpu - p->cost[p->cost_at];
	p->cost[p->cost_at] = cpu;
	p->cost_at = (p->cost_at + 1) % PROCS_COST_TICKS;
	if (p->cost_n < PROCS_COST_TICKS)
		p->cost_n++;
	p->stats.tick_cpu_ns = p->cost_sum / p->cost_n;
	pthread_mutex_unlock(&p->lock);
}

/* Sleep until the deadline, draining process events as they come (so
 * forks are adopted promptly) and waking at once when procs_stop writes
 * to the self-pipe.  Chained to the sampler (procs_kick), the deadline
 * has passed when the sampler's tick on the same grid ends, and the
 * kick ends the wait; the grace is for a sampler that does not come
 * (stalled, or on another grid).  Returns true when stopping.  Events are drained at
 * most every PROCS_EVENT_BATCH_NS: under a parallel build they come by
 * thousands a second, and a wake-up for each cost more than reading them
 * (bench/fork-storm.sh); the socket holds far more than a batch. */
static bool wait_tick(struct procs *p, uint64_t deadline, bool on_grid)
{
	uint64_t quiet_until = 0;   /* events wait until then */
	bool chained = on_grid && atomic_load_explicit(&p->chained, memory_order_relaxed);
	uint64_t until_due = chained ? deadline + PROCS_CHAIN_GRACE_NS : deadline;
	bool stop = false;
	atomic_store(&p->kicked, false);
	atomic_store(&p->due_ns, deadline);
	for (;;) {
		pthread_mutex_lock(&p->lock);
		stop = p->stop;
		bool new_opts = p->new_opts;
		pthread_mutex_unlock(&p->lock);
		if (stop || new_opts)
			break;
		uint64_t now = clock_mono_ns();
		if (now >= until_due || (now >= deadline && atomic_load(&p->kicked)))
			break;
		bool batching = now < quiet_until;
		uint64_t until = batching && quiet_until < until_due ? quiet_until : until_due;
		int ms = (int)((until - now + 999999) / 1000000);
		struct pollfd pf[2] = { { p->pe && !batching ? procevents_fd(p->pe) : -1, POLLIN, 0 },
		                        { p->wake[0], POLLIN, 0 } };
		char junk[16];
		if (poll(pf, 2, ms) > 0 && (pf[0].revents & POLLIN)) {
			drain_events(p);
			quiet_until = clock_mono_ns() + PROCS_EVENT_BATCH_NS;
		}
		if ((pf[1].revents & POLLIN) && read(p->wake[0], junk, sizeof junk) < 0)
			log_warn("procs wake pipe");
	}
	atomic_store(&p->due_ns, 0);
	return stop;
}

void procs_kick(struct procs *p)
{
	uint64_t due = atomic_load(&p->due_ns);
	if (!due || !atomic_load_explicit(&p->chained, memory_order_relaxed) ||
	    clock_mono_ns() < due || atomic_exchange(&p->kicked, true))
		return;
	if (write(p->wake[1], "k", 1) < 0 && errno != EAGAIN)
		log_warn("waking the procs thread");
}

void procs_set_chained(struct procs *p, bool on)
{
	atomic_store(&p->chained, on);
}

/* Adopt the options procs_set_opts left, if any.  True when it did. */
static bool take_new_opts(struct procs *p)
{
	pthread_mutex_lock(&p->lock);
	bool took = p->new_opts;
	if (took) {
		p->o = p->new_o;
		p->new_opts = false;
		proctab_set_quiet_pct(p->pt, p->o.quiet_thread_pct);
	}
	pthread_mutex_unlock(&p->lock);
	return took;
}

void procs_set_opts(struct procs *p, const struct procs_opts *o)
{
	pthread_mutex_lock(&p->lock);
	p->new_o = *o;
	p->new_opts = true;
	pthread_mutex_unlock(&p->lock);
	if (!p->started)
		take_new_opts(p);
	else if (write(p->wake[1], "o", 1) < 0)
		log_warn("waking the procs thread");
}

void procs_swap_classifier(struct procs *p, struct classifier *cls)
{
	/* p->cls is const for the thread; the object is the caller's own */
	struct classifier *live = (struct classifier *)(uintptr_t)p->cls;
	pthread_mutex_lock(&p->lock);
	struct classifier tmp = *live;
	*live = *cls;
	*cls = tmp;
	p->reclassify = true;
	pthread_mutex_unlock(&p->lock);
}

static void *procs_main(void *arg)
{
	struct procs *p = arg;
	uint64_t iv = p->o.tracked_ns, next = clock_mono_ns();
	uint64_t next_scan = next, next_pss = next;
	bool on_grid = false;   /* the first tick (and a reload's) comes at once */

	while (!wait_tick(p, next, on_grid)) {
		on_grid = true;
		uint64_t now = clock_mono_ns();
		if (take_new_opts(p)) {   /* a reload: the new grid starts now */
			iv = p->o.tracked_ns;
			next = now;
			on_grid = false;
			if (next_scan > now + p->o.scan_ns)
				next_scan = now + p->o.scan_ns;
			if (next_pss > now + p->o.pss_ns)
				next_pss = now + p->o.pss_ns;
			continue;
		}
		drain_events(p);
		if (now >= next_scan) {
			do_scan(p, now);
			next_scan = now + p->o.scan_ns;
		}
		bool pss_due = now >= next_pss;
		if (pss_due)
			next_pss = now + p->o.pss_ns;
		tracked_tick(p, pss_due);
		if (p->on_tick)
			p->on_tick(p->on_tick_arg);
		/* on the multiples of iv, as the sampler's ticks are: chained
		 * (procs_kick), both run on the one wake-up */
		next = (next / iv + 1) * iv;
		now = clock_mono_ns();
		if (now >= next) {
			uint64_t skipped = (now - next) / iv + 1;
			pthread_mutex_lock(&p->lock);
			p->stats.missed += skipped;
			pthread_mutex_unlock(&p->lock);
			next += skipped * iv;
		}
	}
	return NULL;
}

int procs_open(struct procs **out, const struct collect_env *env, const struct procs_opts *o,
               const struct classifier *cls)
{
	struct procs *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	p->o = *o;
	p->env = *env;
	p->cls = cls;
	p->lane_proc = p->lane_thread = -1;
	p->next_watch_id = 1;
	p->wake[0] = p->wake[1] = -1;
	if (pipe(p->wake) == 0) {
		for (int i = 0; i < 2; i++)
			fcntl(p->wake[i], F_SETFD, FD_CLOEXEC);
		/* the sampler kicks through it and must never block: when
		 * it is full, the thread has wake-ups waiting anyway */
		fcntl(p->wake[1], F_SETFL, O_NONBLOCK);
	}
	p->next_run_id = clock_rt_ns() / 1000000000u * 1000;   /* unique across restarts */
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (p->wake[0] < 0) {
		int e = errno;
		procs_close(p);
		return -e;
	}
	int rc = proctab_open(&p->env, &p->pt);
	if (rc < 0) {
		log_warnx("process table: %s", strerror(-rc));
		procs_close(p);
		return rc;
	}
	proctab_set_quiet_pct(p->pt, o->quiet_thread_pct);
	rc = procevents_open(&p->pe);
	if (rc < 0) {
		p->pe = NULL;
		log_info("process events unavailable (%s): runs and watches with children poll instead",
		         strerror(-rc));
	}
	p->stats.events = p->pe != NULL;
	*out = p;
	return 0;
}

int procs_start(struct procs *p, struct ring *ring, void (*on_tick)(void *), void *arg)
{
	p->ring = ring;
	p->lane_proc = ring_lane(ring, RM_KIND_PROC);
	p->lane_thread = ring_lane(ring, RM_KIND_THREAD);
	p->on_tick = on_tick;
	p->on_tick_arg = arg;
	int rc = pthread_create(&p->thread, NULL, procs_main, p);
	if (rc)
		return -rc;
	pthread_setname_np(p->thread, "rmond-procs");   /* top -H, ps -L, perf */
	p->started = true;
	return 0;
}

void procs_stop(struct procs *p)
{
	if (!p || !p->started)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_mutex_unlock(&p->lock);
	if (write(p->wake[1], "x", 1) < 0)
		log_warn("waking the procs thread");
	pthread_join(p->thread, NULL);
	p->started = false;
}

void procs_close(struct procs *p)
{
	if (!p)
		return;
	procs_stop(p);
	if (p->pe)
		procevents_close(p->pe);
	if (p->pt)
		proctab_close(p->pt);
	for (int i = 0; i < 2; i++)
		if (p->wake[i] >= 0)
			close(p->wake[i]);
	for (unsigned i = 0; i < p->nwatches; i++) {
		free(p->watches[i].m);
		free(p->watches[i].exits);
	}
	free(p->watches);
	free(p->snap);
	free(p->tracked);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p);
}

unsigned procs_snapshot(struct procs *p, struct proc_snap **out, uint64_t *ts_ns)
{
	pthread_mutex_lock(&p->lock);
	unsigned n = p->nsnap;
	*out = malloc((n ? n : 1) * sizeof **out);
	if (!*out)
		n = 0;
	else if (n)   /* before the first scan there is no snapshot at all */
		memcpy(*out, p->snap, n * sizeof **out);
	*ts_ns = p->snap_ts;
	pthread_mutex_unlock(&p->lock);
	return n;
}

uint64_t procs_snapshot_time(struct procs *p)
{
	pthread_mutex_lock(&p->lock);
	uint64_t ts = p->snap_ts;
	pthread_mutex_unlock(&p->lock);
	return ts;
}

bool procs_lookup(struct procs *p, int32_t pid, struct proc_snap *out)
{
	pthread_mutex_lock(&p->lock);
	const struct proc_snap *s = procs__snap_find(p, pid);
	if (s)
		*out = *s;
	pthread_mutex_unlock(&p->lock);
	return s != NULL;
}

void procs_get_stats(struct procs *p, struct procs_stats *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->stats;
	out->watches = 0;
	for (unsigned i = 0; i < p->nwatches; i++)
		out->watches += p->watches[i].id != 0;
	pthread_mutex_unlock(&p->lock);
}
