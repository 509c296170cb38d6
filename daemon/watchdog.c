/*
 * Two loop timers: the status line every STATUS_CHECK_MS (sent only when
 * its text changed), and the keepalive at half the watchdog period, as
 * sd_watchdog_enabled(3) advises.  Keepalives come from the loop, so a
 * stuck loop stops them by itself; a stuck sampler thread would not, so
 * its tick counter is checked too.
 */
#include "watchdog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "notify.h"
#include "rmond.h"

#define STATUS_CHECK_MS 2000

static struct {
	int started;
	struct rmond *d;
	uv_timer_t status_timer, pet_timer;
	uint64_t period_ns;
	struct watchdog_pulse pulse;
	int stalled;                  /* keepalives stopped (logged once) until it ticks again */
	char last_status[256];
} wd;

/* A whole positive decimal number, nothing else. */
static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

uint64_t watchdog_period_ns(void)
{
	uint64_t usec, pid;
	const char *p = getenv("WATCHDOG_PID");
	if (parse_u64(getenv("WATCHDOG_USEC"), &usec) < 0 || usec == 0 || usec > UINT64_MAX / 1000)
		return 0;
	if (p && *p && (parse_u64(p, &pid) < 0 || pid != (uint64_t)getpid()))
		return 0;   /* meant for another process (we were forked or exec'd by it) */
	return usec * 1000;
}

void watchdog_pulse_interval(struct watchdog_pulse *p, uint64_t period_ns, uint64_t interval_ns)
{
	p->stall_ns = period_ns > 3 * interval_ns ? period_ns : 3 * interval_ns;
}

void watchdog_pulse_init(struct watchdog_pulse *p, uint64_t period_ns, uint64_t interval_ns,
                         uint64_t ticks, uint64_t now_ns)
{
	watchdog_pulse_interval(p, period_ns, interval_ns);
	p->last_ticks = ticks;
	p->last_advance_ns = now_ns;
}

int watchdog_pulse_alive(struct watchdog_pulse *p, uint64_t ticks, uint64_t now_ns)
{
	if (ticks != p->last_ticks) {
		p->last_ticks = ticks;
		p->last_advance_ns = now_ns;
		return 1;
	}
	return now_ns - p->last_advance_ns <= p->stall_ns;
}

int watchdog_status_text(char *buf, size_t len, uint64_t interval_ns, unsigned clients,
                         int ring_pct, int ring_in_file)
{
	return snprintf(buf, len, "sampling every %llu ms, %u client%s, ring %d%% full%s",
	                (unsigned long long)(interval_ns / 1000000u), clients,
	                clients == 1 ? "" : "s", ring_pct, ring_in_file ? "" : " (in memory)");
}

/* How much of the ring's record space holds records, in whole percent. */
static int ring_fill_pct(const struct ring *r)
{
	uint64_t held = 0, cap = 0;
	for (int k = 0; k < RM_KIND__COUNT; k++) {
		int lane = ring_lane(r, (uint32_t)k);
		if (lane < 0)
			continue;
		uint64_t slot = ring_slot_bytes(ring_rec_size(r, (unsigned)lane));
		held += (ring_head(r, (unsigned)lane) - ring_tail(r, (unsigned)lane)) * slot;
		cap += ring_capacity(r, (unsigned)lane) * slot;
	}
	return cap ? (int)(held * 100 / cap) : 0;
}

static uint64_t sampler_ticks(struct rmond *d)
{
	struct sampler_stats st;
	sampler_get_stats(&d->sampler, &st);
	return st.ticks;
}

static void send_status(void)
{
	char text[sizeof wd.last_status];
	struct rmond *d = wd.d;
	if (wd.stalled)
		return;   /* the stall message stays up */
	watchdog_status_text(text, sizeof text, d->cfg.system_interval_ns, d->server.nconns,
	                     ring_fill_pct(d->ring), ring_is_file(d->ring));
	if (strcmp(text, wd.last_status) == 0)
		return;
	memcpy(wd.last_status, text, sizeof text);
	notify_sendf("STATUS=%s", text);
}

static void on_status_timer(uv_timer_t *t)
{
	(void)t;
	send_status();
}

static void on_pet_timer(uv_timer_t *t)
{
	(void)t;
	uint64_t now = clock_mono_ns();
	/* sampling.system may have changed since (a reload): a sampler that
	 * now ticks once a minute is not hung after the 30 s period */
	watchdog_pulse_interval(&wd.pulse, wd.period_ns, wd.d->cfg.system_interval_ns);
	if (watchdog_pulse_alive(&wd.pulse, sampler_ticks(wd.d), now)) {
		if (wd.stalled) {   /* it came back before systemd acted */
			log_info("watchdog: the sampler ticks again; keepalives resume");
			wd.stalled = 0;
			wd.last_status[0] = '\0';
			send_status();
		}
		notify_send("WATCHDOG=1");
		return;
	}
	if (!wd.stalled) {
		unsigned secs = (unsigned)((now - wd.pulse.last_advance_ns) / 1000000000u);
		log_errx("watchdog: the sampler has not ticked for %u s; no more keepalives, "
		         "systemd will restart rmond", secs);
		notify_sendf("STATUS=sampler hung for %u s, waiting for the watchdog", secs);
		wd.stalled = 1;
	}
}

void watchdog_start(struct rmond *d)
{
	memset(&wd, 0, sizeof wd);
	wd.d = d;
	wd.started = 1;
	wd.period_ns = watchdog_period_ns();
	send_status();
	uv_timer_init(d->loop, &wd.status_timer);
	uv_timer_start(&wd.status_timer, on_status_timer, STATUS_CHECK_MS, STATUS_CHECK_MS);
	uv_timer_init(d->loop, &wd.pet_timer);
	if (wd.period_ns) {
		uint64_t half_ms = wd.period_ns / 2 / 1000000u;
		watchdog_pulse_init(&wd.pulse, wd.period_ns, d->cfg.system_interval_ns,
		                    sampler_ticks(d), clock_mono_ns());
		uv_timer_start(&wd.pet_timer, on_pet_timer, 0, half_ms ? half_ms : 1);
		log_info("watchdog: keepalive every %llu ms", (unsigned long long)(half_ms ? half_ms : 1));
	}
}

void watchdog_stop(void)
{
	if (!wd.started)
		return;
	wd.started = 0;
	uv_close((uv_handle_t *)&wd.status_timer, NULL);
	uv_close((uv_handle_t *)&wd.pet_timer, NULL);
}
