#include "sampler.h"
#include "clock.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "log.h"

int sampler_open(struct sampler *s, const struct collect_env *env, uint64_t interval_ns)
{
	memset(s, 0, sizeof *s);
	s->env = *env;
	s->interval_ns = interval_ns;
	for (int k = 0; k < RM_KIND__COUNT; k++)
		s->lane[k] = -1;
	s->ncoll = collect_platform_count;
	if (s->ncoll > sizeof s->state / sizeof s->state[0])
		s->ncoll = sizeof s->state / sizeof s->state[0];
	for (unsigned i = 0; i < s->ncoll; i++) {
		const struct collector *c = collect_platform[i];
		int rc = c->open(&s->env, &s->state[i]);
		if (rc == 0) {
			s->stats.caps |= 1u << c->cap;
			continue;
		}
		s->state[i] = NULL;
		if (rc == -ENOENT)
			log_info("%s: not available on this machine (%s)", c->name,
			         collect_caps[c->cap].help);
		else
			log_warnx("%s: cannot open: %s", c->name, strerror(-rc));
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	return 0;
}

static void emit_count(struct collect_tick *t, enum rm_kind kind, const struct rm_rec *r)
{
	unsigned *counts = t->emit_ctx;
	(void)r;
	counts[kind]++;
}

static void emit_push(struct collect_tick *t, enum rm_kind kind, const struct rm_rec *r)
{
	struct sampler *s = t->emit_ctx;
	if (s->lane[kind] >= 0)
		ring_push(s->ring, (unsigned)s->lane[kind], r);
}

/* Run every open collector once.  A collector that starts or stops
 * failing is logged once per change, not once per tick. */
static void run_collectors(struct sampler *s, struct collect_tick *t)
{
	for (unsigned i = 0; i < s->ncoll; i++) {
		if (!s->state[i])
			continue;
		const struct collector *c = collect_platform[i];
		int rc = c->sample(s->state[i], t);
		uint64_t bit = (uint64_t)1 << i;
		if (rc < 0 && !(s->failing & bit)) {
			s->failing |= bit;
			log_warnx("%s: sampling failed: %s (logged once until it recovers)",
			          c->name, strerror(-rc));
		} else if (rc == 0 && (s->failing & bit)) {
			s->failing &= ~bit;
			log_info("%s: sampling recovered", c->name);
		}
	}
}

void sampler_count(struct sampler *s, unsigned counts[RM_KIND__COUNT])
{
	struct rm_rec sys;
	struct collect_tick t = { clock_ns(CLOCK_MONOTONIC), clock_ns(CLOCK_REALTIME),
	                          &sys, emit_count, counts };
	memset(counts, 0, sizeof(unsigned) * RM_KIND__COUNT);
	rec_init(&sys, t.rt_ns, "");
	run_collectors(s, &t);
	counts[RM_KIND_SYSTEM] = 1;
}

static void record_cost(struct sampler *s, uint64_t cpu, uint64_t wall, uint64_t rt)
{
	pthread_mutex_lock(&s->lock);
	unsigned slot = (unsigned)(s->stats.ticks % 100);
	s->cpu_hist[slot] = cpu;
	s->wall_hist[slot] = wall;
	s->stats.ticks++;
	s->stats.last_tick_ns = rt;
	uint64_t n = s->stats.ticks < 100 ? s->stats.ticks : 100, csum = 0, wsum = 0;
	for (unsigned i = 0; i < n; i++) {
		csum += s->cpu_hist[i];
		wsum += s->wall_hist[i];
	}
	s->stats.tick_cpu_ns = csum / n;
	s->stats.tick_wall_ns = wsum / n;
	pthread_mutex_unlock(&s->lock);
}

void sampler_tick(struct sampler *s)
{
	uint64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t mono = clock_ns(CLOCK_MONOTONIC);
	struct rm_rec sys;
	struct collect_tick t = { mono, clock_ns(CLOCK_REALTIME), &sys, emit_push, s };

	rec_init(&sys, t.rt_ns, "");
	run_collectors(s, &t);
	if (sys.present && s->lane[RM_KIND_SYSTEM] >= 0)
		ring_push(s->ring, (unsigned)s->lane[RM_KIND_SYSTEM], &sys);
	record_cost(s, clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0,
	            clock_ns(CLOCK_MONOTONIC) - mono, t.rt_ns);
	if (s->on_tick)
		s->on_tick(s->on_tick_arg);
}

/* Sleep until the deadline, a stop request or a new interval.  Returns 1
 * when stopping; on a new interval, *iv and *next are on the new grid. */
static int wait_until(struct sampler *s, uint64_t *next, uint64_t *iv)
{
	struct timespec ts = { (time_t)(*next / 1000000000u), (long)(*next % 1000000000u) };
	int stop;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->stop && !s->regrid &&
		       pthread_cond_timedwait(&s->cond, &s->lock, &ts) != ETIMEDOUT)
			;
		if (s->stop || !s->regrid)
			break;
		s->regrid = 0;
		*iv = s->interval_ns;
		*next = (clock_ns(CLOCK_MONOTONIC) / *iv + 1) * *iv;
		ts = (struct timespec){ (time_t)(*next / 1000000000u), (long)(*next % 1000000000u) };
	}
	stop = s->stop;
	pthread_mutex_unlock(&s->lock);
	return stop;
}

static void *sampler_main(void *arg)
{
	struct sampler *s = arg;
	uint64_t iv = s->interval_ns;
	uint64_t next = (clock_ns(CLOCK_MONOTONIC) / iv + 1) * iv;

	while (!wait_until(s, &next, &iv)) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		if (now - next > iv / 2) {
			pthread_mutex_lock(&s->lock);
			s->stats.late++;
			pthread_mutex_unlock(&s->lock);
		}
		sampler_tick(s);
		next += iv;
		now = clock_ns(CLOCK_MONOTONIC);
		if (now >= next) {
			uint64_t skipped = (now - next) / iv + 1;
			pthread_mutex_lock(&s->lock);
			s->stats.missed += skipped;
			pthread_mutex_unlock(&s->lock);
			next += skipped * iv;
		}
	}
	return NULL;
}

int sampler_start(struct sampler *s, struct ring *ring, void (*on_tick)(void *), void *arg)
{
	s->ring = ring;
	for (int k = 0; k < RM_KIND__COUNT; k++)
		s->lane[k] = ring_lane(ring, (uint32_t)k);
	s->on_tick = on_tick;
	s->on_tick_arg = arg;
	int rc = pthread_create(&s->thread, NULL, sampler_main, s);
	if (rc != 0)
		return -rc;
	pthread_setname_np(s->thread, "rmond-sampler");   /* top -H, ps -L, perf */
	s->started = 1;
	return 0;
}

void sampler_stop(struct sampler *s)
{
	if (!s->started)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	s->started = 0;
}

void sampler_close(struct sampler *s)
{
	sampler_stop(s);
	for (unsigned i = 0; i < s->ncoll; i++)
		if (s->state[i])
			collect_platform[i]->close(s->state[i]);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
}

void sampler_set_interval(struct sampler *s, uint64_t interval_ns)
{
	pthread_mutex_lock(&s->lock);
	if (s->interval_ns != interval_ns) {
		s->interval_ns = interval_ns;
		s->regrid = 1;
		pthread_cond_signal(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
}

void sampler_get_stats(struct sampler *s, struct sampler_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}
