/*
 * Reload: the new file is loaded into a copy, the classifier built, and
 * only then is anything applied, so a file that fails anywhere changes
 * nothing.  Each thread takes its new settings through its own setter
 * (sampler, procs, gpu, egpu: a new interval re-aligns their grids at
 * once); the session limits, socket access and access lists take effect
 * for the next request, since the loop thread (this one) reads them.
 */
#include "reload.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "prom-serve.h"
#include "rmond.h"

static struct {
	struct config file_cfg;       /* the file as last applied (before flags) */
	bool log_level_flag, foreground;
	struct reload_stats stats;
} R;

/* The keys applied live (apply_live copies exactly these); every other
 * key needs a restart. */
static const char *const live_keys[] = {
	"socket_group", "socket_mode", "sampling.system",
	"procs.scan_interval", "procs.tracked_interval", "procs.pss_interval", "procs.top_n",
	"procs.max_watches", "procs.quiet_thread_pct", "gpu.interval", "egpu.interval",
	"egpu.stats_files", "protocol.session_budget", "protocol.stuck_timeout",
	"access.cmdline_uids", "access.cmdline_groups", "access.admins", "access.admin_groups",
	"log.level", "log.target", "classify",
	"prometheus.listen", "prometheus.max_connections", "prometheus.timeout",
};

static bool is_live(const char *path)
{
	for (size_t i = 0; i < sizeof live_keys / sizeof live_keys[0]; i++)
		if (strcmp(live_keys[i], path) == 0)
			return true;
	return false;
}

/* Copies the live keys from the new file into the config being built;
 * --log-level on the command line keeps winning over log.level. */
static void apply_live(struct config *dst, const struct config *src)
{
	int level = dst->log_level;
	for (size_t i = 0; i < sizeof live_keys / sizeof live_keys[0]; i++)
		(void)config_copy_key(dst, src, live_keys[i]);
	if (R.log_level_flag)
		dst->log_level = level;
}

void reload_init(const struct config *file_cfg, bool log_level_flag, bool foreground)
{
	R.file_cfg = *file_cfg;
	R.log_level_flag = log_level_flag;
	R.foreground = foreground;
}

void reload_apply_log(const struct config *c)
{
	log_set_level((enum log_level)c->log_level);
	log_set_syslog(!R.foreground || c->log_target == CONFIG_LOG_SYSLOG);
}

static void note(struct reload_result *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct reload_result *out, const char *fmt, ...)
{
	char line[RELOAD_NOTE_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	log_info("config reload: %s", line);
	if (out->nnotes < RELOAD_NOTES_MAX)
		memcpy(out->notes[out->nnotes++], line, sizeof line);
}

/* The text of a key's value, cut for a message ("" for a long list). */
static void value_text(const struct config *c, const char *path, char *buf, size_t len)
{
	if (config_value_text(c, path, buf, len) < 0)
		buf[0] = '\0';
}

/* What changed between the old and the new file: the live keys' changes
 * are noted, the others are named as needing a restart, with the value
 * that keeps running.  Returns how many need a restart. */
static unsigned diff_keys(const struct config *old_file, const struct config *new_file,
                          const struct config *running, struct reload_result *out)
{
	enum { TEXT = 64 * 1024 };
	char *a = malloc(TEXT), *b = malloc(TEXT), *r = malloc(TEXT);
	unsigned restart = 0;
	for (unsigned i = 0; a && b && r && config_key_path(i); i++) {
		const char *path = config_key_path(i);
		value_text(old_file, path, a, TEXT);
		value_text(new_file, path, b, TEXT);
		if (strcmp(a, b) == 0)
			continue;
		if (!is_live(path)) {
			value_text(running, path, r, TEXT);
			note(out, "%s changed: needs a restart; still %.120s", path, r);
			restart++;
		} else if (strlen(a) + strlen(b) < 160) {
			note(out, "%s: %s -> %s", path, a, b);
		} else {
			note(out, "%s changed", path);
		}
	}
	free(a);
	free(b);
	free(r);
	return restart;
}

/* The new config's rules plus the built-in ones; -1 (err set) on failure. */
static int build_classifier(const char *path, const struct config *c, struct classifier *cls,
                            char *err, size_t errlen)
{
	if (classifier_init(cls) < 0) {
		snprintf(err, errlen, "cannot set up the built-in classification rules");
		return -1;
	}
	for (unsigned i = 0; i < c->nclassify; i++) {
		const struct config_rule *rule = &c->classify[i];
		struct classify_spec spec = { rule->name, rule->category, rule->field, rule->pattern };
		char why[512];
		if (classifier_add(cls, &spec, why, sizeof why) < 0) {
			snprintf(err, errlen, "%.500s:%u:%u: %.500s", path, rule->line, rule->col, why);
			classifier_free(cls);
			return -1;
		}
	}
	return 0;
}

static void apply_threads(struct rmond *d, const struct config *c)
{
	sampler_set_interval(&d->sampler, c->system_interval_ns);
	if (d->procs) {
		struct procs_opts po = { c->procs_scan_interval_ns, c->procs_tracked_interval_ns,
		                         c->procs_pss_interval_ns, c->procs_top_n, c->procs_max_watches,
		                         c->procs_quiet_thread_pct };
		procs_set_opts(d->procs, &po);
		procs_set_chained(d->procs, procs_chainable(c));
	}
	gpu_set_interval(d->gpu, c->gpu_interval_ns);
	if (d->egpu) {
		egpu_set_interval(d->egpu, c->egpu_interval_ns);
		if (c->egpu_nstats_files != d->cfg.egpu_nstats_files ||
		    memcmp(c->egpu_stats_files, d->cfg.egpu_stats_files, sizeof c->egpu_stats_files)) {
			struct egpu_stats_spec files[CONFIG_STATS_FILES_MAX];
			for (unsigned i = 0; i < c->egpu_nstats_files; i++)
				files[i] = (struct egpu_stats_spec){ c->egpu_stats_files[i].path,
				                                     c->egpu_stats_files[i].gpu_pci,
				                                     c->egpu_stats_files[i].gpu_index };
			if (egpu_set_stats_files(d->egpu, files, c->egpu_nstats_files) < 0)
				log_warnx("config reload: egpu.stats_files: out of memory; kept the old ones");
		}
	}
	server_set_limits(&d->server, c->session_budget_bytes, c->stuck_timeout_ns);
}

static const char *const prom_keys[] = {
	"prometheus.listen", "prometheus.max_connections", "prometheus.timeout",
};

/* New prometheus.* settings in next: the listener is closed (its open
 * requests dropped) and opened on them.  When that fails (the port is
 * taken, the host is unknown) next gets the running settings back, the
 * listener reopens on them, and the note says so; the rest of the file
 * still applies. */
static void apply_prometheus(struct rmond *d, struct config *next, struct reload_result *out)
{
	const struct config *cur = &d->cfg;
	char err[256];
	if (strcmp(cur->prom_listen, next->prom_listen) == 0 &&
	    cur->prom_max_connections == next->prom_max_connections &&
	    cur->prom_timeout_ns == next->prom_timeout_ns)
		return;
	prom_serve_close(d);
	if (prom_serve_open(d, next, err, sizeof err) == 0)
		return;
	note(out, "%s; kept \"%s\"", err, cur->prom_listen);
	for (size_t i = 0; i < sizeof prom_keys / sizeof prom_keys[0]; i++)
		(void)config_copy_key(next, cur, prom_keys[i]);
	if (prom_serve_open(d, next, err, sizeof err) < 0)
		note(out, "prometheus listener off: %s", err);
}

static void reject(struct reload_result *out, const char *who)
{
	out->applied = false;
	log_errx("config reload (%s) rejected, the running config is unchanged: %s", who, out->error);
	R.stats.failed++;
	snprintf(R.stats.last_result, sizeof R.stats.last_result, "rejected: %.280s", out->error);
}

void reload_run(struct rmond *d, const char *who, struct reload_result *out)
{
	static struct config new_file, next;   /* large: off the loop's stack */
	struct classifier cls;
	const char *path = d->config_path;

	memset(out, 0, sizeof *out);
	R.stats.last_ns = clock_rt_ns();
	config_defaults(&new_file);
	if (*path && config_load(path, &new_file, out->error, sizeof out->error) != 0) {
		reject(out, who);
		return;
	}
	if (new_file.session_budget_bytes < d->cfg.frame_max) {
		char a[32], b[32];
		value_text(&new_file, "protocol.session_budget", a, sizeof a);
		value_text(&d->cfg, "protocol.frame_max", b, sizeof b);
		snprintf(out->error, sizeof out->error, "%.900s: protocol.session_budget (%s) must be at "
		         "least the running protocol.frame_max (%s)", *path ? path : "defaults", a, b);
		reject(out, who);
		return;
	}
	if (build_classifier(*path ? path : "defaults", &new_file, &cls, out->error,
	                     sizeof out->error) < 0) {
		reject(out, who);
		return;
	}
	log_info("config reload (%s): %s", who, *path ? path : "no config file");
	if (!*path)
		note(out, "rmond was started without -c: re-applied the built-in defaults");
	unsigned restart = diff_keys(&R.file_cfg, &new_file, &d->cfg, out);

	next = d->cfg;
	apply_live(&next, &new_file);
	unsigned mode = config_socket_mode(&next, d->server.per_user != 0);
	if (strcmp(next.socket_group, d->cfg.socket_group) != 0 || mode != d->server.mode) {
		char err[300];
		if (server_set_access(&d->server, next.socket_group, mode, err, sizeof err) < 0) {
			note(out, "%s; the socket keeps its group and mode", err);
			memcpy(next.socket_group, d->cfg.socket_group, sizeof next.socket_group);
			memcpy(next.socket_mode, d->cfg.socket_mode, sizeof next.socket_mode);
		}
	}
	apply_threads(d, &next);
	apply_prometheus(d, &next, out);
	if (d->procs)
		procs_swap_classifier(d->procs, &cls);   /* cls now holds the old rules */
	else {
		struct classifier old = d->cls;
		d->cls = cls;
		cls = old;
	}
	classifier_free(&cls);
	reload_apply_log(&next);
	d->cfg = next;
	R.file_cfg = new_file;
	R.stats.reloads++;
	out->applied = true;
	if (restart)
		snprintf(R.stats.last_result, sizeof R.stats.last_result,
		         "applied; %u changed key%s need%s a restart", restart, restart == 1 ? "" : "s",
		         restart == 1 ? "s" : "");
	else
		snprintf(R.stats.last_result, sizeof R.stats.last_result, "applied");
	log_info("config reload (%s): %s", who, R.stats.last_result);
}

void reload_get_stats(struct reload_stats *out)
{
	*out = R.stats;
}
