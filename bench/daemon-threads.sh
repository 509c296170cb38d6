#!/usr/bin/env bash
# rmond's CPU by thread (loop, rmond-sampler, rmond-procs, ...) while
# `rmonctl watch --pid P --threads --interval 100ms --json` follows a
# process with N threads (tests/helpers/spinner N 0: all asleep, each
# waking once a second).  bench/RESULTS.md quotes it.
#
#   bench/daemon-threads.sh [N [SECONDS [watch|nowatch]]]
#
# RMOND_ARGS adds rmond options (e.g. "--config my.yaml").  POPULATION=1
# first starts issue 3's benchmark population around it: 200 idle
# processes and a process of 2000 threads (200 when N is 2000).  Needs
# `make` and build/tests/helpers/spinner (`make tests`).
set -eu
n=${1:-200} secs=${2:-40} mode=${3:-watch}
B=${BUILD:-build}
dir=$(mktemp -d /tmp/rmon-threads-XXXXXX)
pids=()
cleanup() {   # the watcher first, rmond last
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
# shellcheck disable=SC2086
"$B"/rmond --foreground --socket "$dir/s" --state-dir "$dir/state" --log-level warn ${RMOND_ARGS:-} &
rm_pid=$!
pids+=("$rm_pid")
for _ in $(seq 50); do [ -S "$dir/s" ] && break; sleep 0.1; done
"$B"/tests/helpers/spinner "$n" 0 600 > /dev/null &
pids+=($!)
if [ "${POPULATION:-0}" = 1 ]; then
	for _ in $(seq 200); do sleep 600 & pids+=($!); done
	other=2000; [ "$n" = 2000 ] && other=200
	"$B"/tests/helpers/spinner "$other" 0 600 > /dev/null &
	pids+=($!)
fi
sleep 1
if [ "$mode" = watch ]; then
	"$B"/rmonctl --socket "$dir/s" watch --pid "${pids[1]}" --threads --interval 100ms --json > /dev/null &
	pids+=($!)
fi
sleep 2
snap() {   # each thread's name and ns on a CPU (schedstat's first field)
	for t in /proc/"$rm_pid"/task/*; do
		echo "$(cat "$t/comm") $(cut -d' ' -f1 "$t/schedstat")"
	done
}
a=$(snap)
sleep "$secs"
b=$(snap)
echo "rmond by thread over $secs s, $mode a $n-thread process (% of one core):"
paste <(echo "$a") <(echo "$b") | awk -v s="$secs" \
	'{ d = ($4 - $2) / 1e9 / s * 100; t += d; printf "  %-14s %6.3f %%\n", $1, d } END { printf "  %-14s %6.3f %%\n", "total", t }'
"$B"/rmonctl --socket "$dir/s" status | grep -E '^(Sampler|Procs)' || true
