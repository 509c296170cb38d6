#!/bin/sh
# Fuzz smoke test: run every $BUILD/fuzz/fuzz-* target for a short, bounded
# time on a copy of its seed corpus (tests/fuzz/corpus/NAME, NAME being the
# target without "fuzz-"), so the checked-in corpus is never modified.
#
#   BUILD=build tests/fuzz/run-smoke.sh      (make fuzz first)
#   FUZZ_TIME=60 ... for a longer run
#
# Prints one line per target ("fuzz-request: 123456 runs, 0 crashes") and a
# final "fuzz: N passed, M failed"; exits 1 if any target crashed, leaked,
# hung, ran out of memory (any single allocation over the RSS limit counts),
# or if there is no target at all.  A failing input is kept in
# $BUILD/fuzz/artifacts/ and the end of the log is printed.
set -u
BUILD=${BUILD:-build}
FUZZ_TIME=${FUZZ_TIME:-15}
here=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rmon-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

for bin in "$BUILD"/fuzz/fuzz-*; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	name=$(basename "$bin")
	corpus="$tmp/$name/corpus"
	mkdir -p "$corpus" "$tmp/$name/artifacts"
	seeds="$here/corpus/${name#fuzz-}"
	[ -d "$seeds" ] && cp "$seeds"/* "$corpus"/ 2>/dev/null
	log="$tmp/$name/log"
	# -timeout: one input over 10 s is a hang; outer timeout: a stuck run.
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
	timeout -k 10 $((FUZZ_TIME + 120)) "$bin" \
		-max_total_time="$FUZZ_TIME" -rss_limit_mb=1024 -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$tmp/$name/artifacts/" \
		"$corpus" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	[ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "$name: ${runs:-0} runs, 0 crashes"
	else
		failed=$((failed + 1))
		echo "$name: ${runs:-0} runs, 1 crash (exit $rc)"
		tail -n 40 "$log" | sed 's/^/    /'
		if ls "$tmp/$name/artifacts/"* >/dev/null 2>&1; then
			mkdir -p "$BUILD/fuzz/artifacts"
			cp "$tmp/$name/artifacts/"* "$BUILD/fuzz/artifacts/"
			echo "    input kept in $BUILD/fuzz/artifacts/"
		fi
	fi
done

if [ $((passed + failed)) -eq 0 ]; then
	echo "fuzz: no targets in $BUILD/fuzz (run make fuzz)" >&2
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
