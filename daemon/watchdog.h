/*
 * rmond's side of a systemd service beyond READY=1: a STATUS= line for
 * `systemctl status` (sampling interval, clients, how full the ring is),
 * sent when it changes and at most every few seconds, and WATCHDOG=1
 * keepalives when the unit sets WatchdogSec= -- sent from the loop, and
 * only while the host sampler makes progress, so systemd restarts a
 * daemon whose loop or sampler hangs.  Harmless without systemd.
 */
#ifndef RMON_WATCHDOG_H
#define RMON_WATCHDOG_H

#include <stddef.h>
#include <stdint.h>

struct rmond;

/* Whether the sampler is alive, from its tick counter: it is hung when
 * the counter has not moved for stall_ns. */
struct watchdog_pulse {
	uint64_t stall_ns;
	uint64_t last_ticks;
	uint64_t last_advance_ns;   /* CLOCK_MONOTONIC */
};

/* The keepalive period systemd asks for, in ns: $WATCHDOG_USEC when set,
 * a positive number and $WATCHDOG_PID is unset or ours; else 0 (off). */
uint64_t watchdog_period_ns(void);

/* A hung sampler is one whose ticks stop for longer than the watchdog
 * period, or three sampling intervals when those are longer (a slow
 * sampler is not a hung one).  _interval sets that limit again for a new
 * interval: the daemon calls it at every check, since a reload can
 * change sampling.system. */
void watchdog_pulse_interval(struct watchdog_pulse *p, uint64_t period_ns, uint64_t interval_ns);
void watchdog_pulse_init(struct watchdog_pulse *p, uint64_t period_ns, uint64_t interval_ns,
                         uint64_t ticks, uint64_t now_ns);

/* 1 while ticks keep advancing (0: stalled for longer than stall_ns). */
int watchdog_pulse_alive(struct watchdog_pulse *p, uint64_t ticks, uint64_t now_ns);

/* "sampling every 100 ms, 3 clients, ring 42% full", with " (in memory)"
 * after the ring when it has no file.  Returns what snprintf returns. */
int watchdog_status_text(char *buf, size_t len, uint64_t interval_ns, unsigned clients,
                         int ring_pct, int ring_in_file);

/* Start the STATUS= and WATCHDOG=1 timers on d's loop (after READY=1);
 * stop them (on shutdown, before the loop ends). */
void watchdog_start(struct rmond *d);
void watchdog_stop(void);

#endif
