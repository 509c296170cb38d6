#!/usr/bin/env bash
# Prints the benchmark figures for this machine (see bench/RESULTS.md).
set -eu
BUILD=${BUILD:-build}
export BUILD
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
for b in "$BUILD"/bench/bench-*; do
	[ -x "$b" ] || continue
	[ "$(basename "$b")" = bench-daemon ] && continue
	echo "== $(basename "$b")"
	"$b"
done
echo "== bench-daemon (takes ${BENCH_SECONDS:-60} s)"
"$BUILD"/bench/bench-daemon
