/*
 * Integration test harness: start a real rmond on a temporary socket and
 * state directory, run the real rmonctl, and talk raw frames to the daemon.
 * Binaries come from $RMON_BUILD (default "build").
 */
#ifndef RMON_HARNESS_H
#define RMON_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#include <msgpack.h>

#include "msg.h"

struct daemon_proc {
	pid_t pid;
	char dir[256];      /* temp dir holding everything */
	char sock[300];
	char state[300];
	char log[300];      /* the daemon's stderr */
};

/* Make a temp dir with a socket path and state dir in it. */
void harness_init(struct daemon_proc *d);
/* Start rmond in the foreground with extra args (NULL-terminated); wait
 * until its socket answers.  0 or -1. */
int harness_start(struct daemon_proc *d, const char *const *extra);
/* SIGTERM, wait; returns the exit status (or 128+signal). */
int harness_stop(struct daemon_proc *d);
/* Remove the temp dir. */
void harness_cleanup(struct daemon_proc *d);

/* Run a binary from the build dir (argv[0] is "rmond" or "rmonctl"),
 * capturing stdout and stderr.  Returns the exit status. */
int harness_run(const char *const *argv, char *out, size_t outlen, char *err, size_t errlen);

/* rmonctl --socket sock ARGS... (NULL-terminated), captured. */
int harness_ctl(const char *sock, char *out, size_t outlen, char *err, size_t errlen, ...);

/* The same as another user (uid/gid), for access tests. */
int harness_run_as(uid_t uid, gid_t gid, const char *const *argv, char *out, size_t outlen,
                   char *err, size_t errlen);

/* Does the daemon's log (its stderr, the first 1 MiB) hold what? */
int harness_log_has(const struct daemon_proc *d, const char *what);

/* The unprivileged user "rmontest" for access tests, created when missing
 * (as root); NULL when not root or it cannot be created. */
struct passwd *harness_test_user(void);

/* Start a helper from the build's tests/helpers/ (argv[0] is its name);
 * returns its pid once it printed its first line. */
pid_t harness_spawn_helper(const char *const *argv);

/* Anonymous resident memory (RssAnon) of a process, kB: without the
 * pages of mapped files such as the ring. */
long harness_rss_kb(pid_t pid);

/* pid's open fds but those on /proc files (a daemon's process table keeps
 * them for the machine's processes, which come and go); -1 if unreadable. */
int harness_count_fds(pid_t pid);

/* False when rmond's RSS says nothing about its own allocations: it runs
 * under valgrind (RMON_VALGRIND), or it and this test were built with
 * AddressSanitizer (make check), whose quarantine keeps freed memory.
 * Memory-growth bounds apply only when true. */
int harness_rss_meaningful(void);

/* Raw protocol. */
int harness_connect(const char *sock);
int harness_send(int fd, const void *buf, size_t n);
int harness_send_request(int fd, uint64_t id, const char *op, const char *unused);
/* A watch request: pids[0..n), interval ns, threads. */
int harness_send_watch(int fd, uint64_t id, const int32_t *pids, unsigned n, uint64_t interval,
                       int threads);
/* Read one frame and parse it as a reply into z.  0, -1 on EOF/timeout. */
int harness_recv(int fd, msgpack_zone *z, struct msg_reply *rep, int timeout_ms);
/* hello on a fresh connection; returns the fd or -1. */
int harness_hello(const char *sock);

const char *harness_build_dir(void);

/* Our fake NVML (tests/fakenvml/fake-nvml.c) built into d->dir; its config
 * file there, holding cfg_text and exported as FAKE_NVML_CONFIG; and
 * d->dir/rmond.yaml pointing gpu.nvidia.library at it, then yaml_extra
 * (top-level YAML, or NULL).  The two paths go to cfg and yaml.  0 or -1. */
int harness_fake_nvml(const struct daemon_proc *d, const char *cfg_text, const char *yaml_extra,
                      char *cfg, size_t cfglen, char *yaml, size_t yamllen);
/* Replace a file whole: write PATH.tmp, rename it over PATH (the fake NVML
 * re-reads its config when the file changes).  0 or -1. */
int harness_replace_file(const char *path, const char *text);

#endif
