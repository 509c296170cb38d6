#!/usr/bin/env bash
# rmond's CPU while the machine starts processes as fast as it can, the
# shape of a parallel build: every fork, exec and exit reaches rmond's
# process thread as a kernel event (docs/procevents.md).  Prints rmond's
# CPU by thread, its cost per process started, and how many processes the
# storm started with rmond running against a baseline run without it in
# the same invocation (the slowdown rmond causes).  bench/RESULTS.md
# quotes it.
#
#   bench/fork-storm.sh [SECONDS [JOBS]]     default 10 s, 2 parallel loops
#
# Two runs with rmond: nobody watching (kernel events paused), and a
# watch of this shell with --children, as `rmonctl run` makes.
#
# RMOND_ARGS adds rmond options.  Needs `make`.
set -eu
secs=${1:-10} jobs=${2:-2}
B=${BUILD:-build}
dir=$(mktemp -d /tmp/rmon-storm-XXXXXX)
rm_pid=
cleanup() {
	[ -n "$rm_pid" ] && kill "$rm_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

# JOBS loops of /bin/true for SECONDS; prints how many processes they started.
storm() {
	local i
	for ((i = 0; i < jobs; i++)); do
		( n=0; end=$((SECONDS + secs))
		  while [ $SECONDS -lt $end ]; do
			/bin/true; /bin/true; /bin/true; /bin/true; /bin/true
			/bin/true; /bin/true; /bin/true; /bin/true; /bin/true
			n=$((n + 10))
		  done
		  echo "$n" > "$dir/n.$i" ) &
	done
	wait
	cat "$dir"/n.* | awk '{ s += $1 } END { print s }'
	rm -f "$dir"/n.*
}

# Each thread's CPU time in ns (schedstat's first field).
snap() {
	for t in /proc/"$rm_pid"/task/*; do
		echo "$(cat "$t/comm") $(cut -d' ' -f1 "$t/schedstat")"
	done
}

measure() {   # $1: what; runs the storm and prints rmond's cost
	local a b with
	a=$(snap)
	with=$(storm)
	b=$(snap)
	echo "$1: rmond by thread (% of one core)"
	paste <(echo "$a") <(echo "$b") | awk -v s="$secs" -v n="$with" '
		{ d = ($4 - $2) / 1e9 / s * 100; t += $4 - $2; printf "  %-14s %6.3f %%\n", $1, d }
		END { printf "  %-14s %6.3f %%   %.1f us per process started\n", "total", t / 1e9 / s * 100, t / 1e3 / n }'
	awk -v a="$base" -v b="$with" 'BEGIN { printf "  processes started: %d (%.3f of the %d without rmond)\n", b, b / a, a }'
	"$B"/rmonctl --socket "$dir/s" status | grep -E '^Procs' | sed 's/^/  /' || true
}

echo "fork storm: $jobs loops of /bin/true for $secs s each run"
base=$(storm)
# shellcheck disable=SC2086
"$B"/rmond --foreground --socket "$dir/s" --state-dir "$dir/state" --log-level warn ${RMOND_ARGS:-} &
rm_pid=$!
for _ in $(seq 50); do [ -S "$dir/s" ] && break; sleep 0.1; done
sleep 12   # past the 10 s after which kernel events pause without a watch
measure "no watch"
# What `rmonctl run` does: this shell and every descendant watched.
"$B"/rmonctl --socket "$dir/s" watch --pid $$ --children --json > /dev/null &
w_pid=$!
sleep 1
measure "watch --pid \$\$ --children (as rmonctl run)"
kill "$w_pid" 2>/dev/null || true
