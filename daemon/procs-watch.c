/*
 * Watches: who is watched (members: the pids asked for, and with
 * `children` every descendant), what exited, and for runs the accounting
 * per category.  Everything here runs with p->lock held.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "clock.h"
#include "gpuprocs.h"
#include "log.h"
#include "procs-int.h"

static struct watch *watch_find(struct procs *p, uint32_t id)
{
	for (unsigned i = 0; i < p->nwatches; i++)
		if (p->watches[i].id == id && id)
			return &p->watches[i];
	return NULL;
}

static struct member *member_find(struct watch *w, int32_t pid)
{
	for (unsigned i = w->nm; i > 0; i--)   /* newest first: a reused pid is the newest */
		if (w->m[i - 1].pid == pid)
			return &w->m[i - 1];
	return NULL;
}

static struct member *member_add(struct watch *w, int32_t pid)
{
	if (w->nm == w->capm) {
		unsigned cap = w->capm ? w->capm * 2 : 16;
		struct member *m = realloc(w->m, cap * sizeof *m);
		if (!m)
			return NULL;
		w->m = m;
		w->capm = cap;
	}
	struct member *m = &w->m[w->nm++];
	memset(m, 0, sizeof *m);
	m->pid = pid;
	m->alive = true;
	w->run.processes++;
	return m;
}

static void check_ended(struct watch *w)
{
	for (unsigned i = 0; i < w->nm; i++)
		if (w->m[i].alive)
			return;
	if (!w->ended)
		w->run.end_rt_ns = clock_rt_ns();
	w->ended = true;
}

static void add_exit(struct watch *w, int32_t pid, int32_t status, const char *comm)
{
	if (w->nexits == w->capexits) {
		unsigned cap = w->capexits ? w->capexits * 2 : 8;
		struct watch_exit *e = realloc(w->exits, cap * sizeof *e);
		if (!e)
			return;
		w->exits = e;
		w->capexits = cap;
	}
	struct watch_exit *e = &w->exits[w->nexits++];
	e->pid = pid;
	e->status = status;
	snprintf(e->comm, sizeof e->comm, "%s", comm ? comm : "");
}

/* A member ended: record it (once), with its exact CPU time when the
 * kernel's accounting came with the exit. */
static void member_exit(struct procs *p, struct watch *w, struct member *m,
                        const struct proc_ev *ev)
{
	const struct proc_snap *s = procs__snap_find(p, m->pid);
	const char *comm = ev && ev->have_acct ? ev->comm : s ? s->info.comm : "";
	m->alive = false;
	if (ev && ev->have_acct) {
		m->cpu_s = ev->utime_s + ev->stime_s;
		if (ev->hiwater_rss > m->rss)
			m->rss = ev->hiwater_rss;
	}
	if (!m->classified) {
		snprintf(m->category, sizeof m->category, "%s",
		         s ? s->category : classify(p->cls, comm, "", ""));
		m->classified = true;
	}
	add_exit(w, m->pid, ev ? ev->exit_code : -1, comm);
	check_ended(w);
}

void procs__on_event(struct procs *p, const struct proc_ev *ev)
{
	for (unsigned i = 0; i < p->nwatches; i++) {
		struct watch *w = &p->watches[i];
		if (!w->id || w->ended)
			continue;
		struct member *m;
		switch (ev->type) {
		case PROC_EV_FORK:
			m = member_find(w, ev->ppid);
			if (w->spec.children && m && m->alive && !member_find(w, ev->pid))
				member_add(w, ev->pid);
			break;
		case PROC_EV_EXEC:
			if ((m = member_find(w, ev->pid)))
				m->classified = false;
			break;
		case PROC_EV_EXIT:
			if ((m = member_find(w, ev->pid)) && m->alive)
				member_exit(p, w, m, ev);
			break;
		}
	}
}

/* Kernel events cost a message per fork, exec and exit on the whole
 * machine (a parallel build: thousands a second, docs/procevents.md), and
 * only watches use them (children seen at fork, exit statuses).  So they
 * are paused once no watch has existed for PROCS_EVENTS_IDLE_NS (not at
 * once: `rmonctl get`-style one-shot watches would flap them), and
 * resumed by procs_watch_add before it returns (events_resume). */
void procs__events_idle(struct procs *p, uint64_t now)
{
	if (!p->pe || !procevents_listening(p->pe))
		return;
	for (unsigned i = 0; i < p->nwatches; i++)
		if (p->watches[i].id) {
			p->events_idle_since = 0;
			return;
		}
	if (!p->events_idle_since)
		p->events_idle_since = now;
	else if (now - p->events_idle_since >= PROCS_EVENTS_IDLE_NS)
		p->stats.events_paused = procevents_listen(p->pe, 0) == 0;
}

/* With the lock held, before a new watch is confirmed: a `run` child
 * execs only after that, so none of its forks can come before the
 * kernel sends them again. */
static void events_resume(struct procs *p)
{
	p->events_idle_since = 0;
	if (!p->pe || procevents_listening(p->pe))
		return;
	int err = procevents_listen(p->pe, 1);
	p->stats.events_paused = !procevents_listening(p->pe);
	if (err)
		log_warn("process events: cannot resume them (%s); watches poll instead",
		         strerror(-err));
}

void procs__member_gone(struct procs *p, int32_t pid)
{
	for (unsigned i = 0; i < p->nwatches; i++) {
		struct watch *w = &p->watches[i];
		struct member *m;
		if (w->id && (m = member_find(w, pid)) && m->alive)
			member_exit(p, w, m, NULL);
	}
}

/* True when pid descends from a live member of w (ppid chain in the
 * snapshot, at most 64 levels). */
static bool descends(struct procs *p, struct watch *w, int32_t pid)
{
	for (int depth = 0; depth < 64 && pid > 1; depth++) {
		const struct proc_snap *s = procs__snap_find(p, pid);
		if (!s)
			return false;
		struct member *m = member_find(w, s->info.ppid);
		if (m && m->alive)
			return true;
		pid = s->info.ppid;
	}
	return false;
}

/* After a scan: descendants that no fork event told us about (polling, or
 * processes forked before the watch began) become members. */
void procs__adopt_children(struct procs *p)
{
	for (unsigned i = 0; i < p->nwatches; i++) {
		struct watch *w = &p->watches[i];
		if (!w->id || w->ended || !w->spec.children)
			continue;
		for (unsigned j = 0; j < p->nsnap; j++) {
			int32_t pid = p->snap[j].info.pid;
			if (p->snap[j].info.state != 'Z' && !member_find(w, pid) && descends(p, w, pid))
				member_add(w, pid);
		}
	}
}

void procs__watched_pids(struct procs *p)
{
	for (unsigned i = 0; i < p->nwatches; i++) {
		struct watch *w = &p->watches[i];
		for (unsigned j = 0; w->id && j < w->nm; j++)
			if (w->m[j].alive)
				procs__track_add(p, w->m[j].pid);
	}
}

static struct run_category *run_cat(struct run_acct *r, const char *name)
{
	for (unsigned i = 0; i < r->ncats; i++)
		if (strcmp(r->cats[i].name, name) == 0)
			return &r->cats[i];
	if (r->ncats == RUN_CATEGORIES_MAX)
		return &r->cats[RUN_CATEGORIES_MAX - 1];   /* the last one absorbs overflow */
	struct run_category *c = &r->cats[r->ncats++];
	memset(c, 0, sizeof *c);
	snprintf(c->name, sizeof c->name, "%s", name);
	return c;
}

/* A live member's GPU memory now (gpuprocs: NVML or DRM fdinfo). */
static void member_gpu(struct member *m, const struct proc_snap *s, uint64_t now)
{
	struct gpuprocs_usage u;
	m->have_gpu = gpuprocs_lookup(m->pid, s->info.start_ticks, now, &u) && u.have_mem;
	m->gpu_mem = m->have_gpu ? u.mem_bytes : 0;
}

/* The peaks of summed GPU memory, kept apart from RSS: most runs have none,
 * and then the summary says nothing of GPUs rather than "0". */
static void peak_gpu(uint64_t *peak, bool *have, uint64_t now)
{
	if (now > *peak)
		*peak = now;
	*have = true;
}

/* Refresh members from the snapshot (updated by this tick's samples), and
 * the run's totals: CPU seconds and process counts per category, and the
 * peaks of summed RSS/PSS and GPU memory (overall and per category). */
static void account_watch(struct procs *p, struct watch *w)
{
	uint64_t rss = 0, pss = 0, gpu = 0, now = clock_mono_ns();
	bool any_gpu = false;
	struct run_acct *r = &w->run;
	for (unsigned i = 0; i < r->ncats; i++) {
		r->cats[i].processes = 0;
		r->cats[i].cpu_s = 0;
	}
	uint64_t cat_rss[RUN_CATEGORIES_MAX] = { 0 }, cat_gpu[RUN_CATEGORIES_MAX] = { 0 };
	bool cat_any_gpu[RUN_CATEGORIES_MAX] = { false };
	r->cpu_s = 0;
	for (unsigned i = 0; i < w->nm; i++) {
		struct member *m = &w->m[i];
		const struct proc_snap *s = m->alive ? procs__snap_find(p, m->pid) : NULL;
		if (s) {
			m->cpu_s = s->info.cpu_time_s;
			m->rss = s->info.rss;
			m->pss = s->info.pss;
			member_gpu(m, s, now);
			if (!m->classified) {
				memcpy(m->category, s->category, sizeof m->category);
				m->classified = true;
			}
		}
		struct run_category *c = run_cat(r, m->classified ? m->category : "other");
		c->processes++;
		c->cpu_s += m->cpu_s;
		r->cpu_s += m->cpu_s;
		if (m->alive) {
			cat_rss[c - r->cats] += m->rss;
			rss += m->rss;
			pss += m->pss;
			if (m->have_gpu) {
				cat_gpu[c - r->cats] += m->gpu_mem;
				cat_any_gpu[c - r->cats] = any_gpu = true;
				gpu += m->gpu_mem;
			}
		} else {
			if (m->rss > c->peak_rss)
				c->peak_rss = m->rss;   /* a short-lived process's own peak */
			if (m->have_gpu)
				peak_gpu(&c->peak_gpu_mem, &c->have_gpu_mem, m->gpu_mem);
		}
	}
	for (unsigned i = 0; i < r->ncats; i++) {
		if (cat_rss[i] > r->cats[i].peak_rss)
			r->cats[i].peak_rss = cat_rss[i];
		if (cat_any_gpu[i])
			peak_gpu(&r->cats[i].peak_gpu_mem, &r->cats[i].have_gpu_mem, cat_gpu[i]);
	}
	if (any_gpu)
		peak_gpu(&r->peak_gpu_mem, &r->have_gpu_mem, gpu);
	if (rss > r->peak_rss)
		r->peak_rss = rss;
	if (pss > r->peak_pss)
		r->peak_pss = pss;
}

void procs__account(struct procs *p)
{
	for (unsigned i = 0; i < p->nwatches; i++)
		if (p->watches[i].id && !p->watches[i].ended)
			account_watch(p, &p->watches[i]);
}

static bool pid_exists(int32_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

int procs_watch_add(struct procs *p, const struct watch_spec *spec, uint32_t *id, uint64_t *run_id)
{
	unsigned live = 0, slot;
	for (unsigned i = 0; i < spec->npids; i++)
		live += pid_exists(spec->pids[i]);
	if (!live)
		return -ENOENT;
	pthread_mutex_lock(&p->lock);
	for (slot = 0; slot < p->nwatches && p->watches[slot].id; slot++)
		;
	if (slot == p->nwatches) {
		if (p->nwatches >= p->o.max_watches) {
			pthread_mutex_unlock(&p->lock);
			return -EBUSY;
		}
		if (p->nwatches == p->capwatches) {
			unsigned cap = p->capwatches ? p->capwatches * 2 : 16;
			struct watch *nw = realloc(p->watches, cap * sizeof *nw);
			if (!nw) {
				pthread_mutex_unlock(&p->lock);
				return -ENOMEM;
			}
			p->watches = nw;
			p->capwatches = cap;
		}
		p->nwatches++;
	}
	struct watch *w = &p->watches[slot];
	memset(w, 0, sizeof *w);
	w->id = p->next_watch_id++;
	w->spec = *spec;
	w->run.run_id = spec->run ? p->next_run_id++ : 0;
	w->run.start_rt_ns = clock_rt_ns();
	for (unsigned i = 0; i < spec->npids; i++)
		if (pid_exists(spec->pids[i]) && !member_find(w, spec->pids[i]))
			member_add(w, spec->pids[i]);
	*id = w->id;
	*run_id = w->run.run_id;
	events_resume(p);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void procs_watch_remove(struct procs *p, uint32_t id)
{
	pthread_mutex_lock(&p->lock);
	struct watch *w = watch_find(p, id);
	if (w) {
		free(w->m);
		free(w->exits);
		memset(w, 0, sizeof *w);
	}
	pthread_mutex_unlock(&p->lock);
}

int procs_watch_view(struct procs *p, uint32_t id, struct watch_view *out)
{
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&p->lock);
	struct watch *w = watch_find(p, id);
	if (!w) {
		pthread_mutex_unlock(&p->lock);
		return -ENOENT;
	}
	out->members = malloc((w->nm ? w->nm : 1) * sizeof *out->members);
	for (unsigned i = 0; out->members && i < w->nm; i++)
		if (w->m[i].alive)
			out->members[out->nmembers++] = w->m[i].pid;
	if (w->nexits) {
		out->exits = malloc(w->nexits * sizeof *out->exits);
		if (out->exits) {
			memcpy(out->exits, w->exits, w->nexits * sizeof *out->exits);
			out->nexits = w->nexits;
		}
		w->nexits = 0;
	}
	if (w->spec.run) {
		out->all = malloc((w->nm ? w->nm : 1) * sizeof *out->all);
		for (unsigned i = 0; out->all && i < w->nm; i++)
			out->all[out->nall++] = w->m[i].pid;
	}
	out->ended = w->ended;
	out->events = p->pe != NULL;
	out->run = w->run;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void watch_view_free(struct watch_view *v)
{
	free(v->members);
	free(v->exits);
	free(v->all);
	v->members = NULL;
	v->exits = NULL;
	v->all = NULL;
}
